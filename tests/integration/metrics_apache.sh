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
    "$FCOMETCTL" "$FC_NAME" || FC_FAILED=1
for want in 'event=send room="m" id=1 addr="127.0.0.1" status=200' \
    'event=send room="m" id=3 addr="127.0.0.1" status=200' \
    'event=send room="bad room" id=0 addr="127.0.0.1" status=400'; do
	n=$(grep -c "level=info prog=fcomet pid=[0-9]* $want\$" "$T/fcomet.log")
	check "log: one line '$want'" 1 "$n"
done
fc_done
