#!/bin/bash
# GET /metrics through apache: Prometheus text format read by Prometheus'
# own parser, only from 127.0.0.1; fcometctl stat --prometheus agrees
# (cases: metrics.py); each send leaves one key=value access line in the
# log, refused ones too.
. "$(dirname "$0")/lib.sh"
fc_init
fc_start --rate 0 --workers 2
fc_apache
/usr/bin/python3 "$top/tests/integration/metrics.py" "$BASE" apache \
    "$FCOMETCTL" "$FC_NAME" "$T/fcomet.log" || FC_FAILED=1
fc_done
