#!/bin/bash
# A client that hangs up mid-upload stores nothing, and a 4 MiB body gets
# the protocol's JSON 413, through apache
# (cases: cut_body.py).
. "$(dirname "$0")/lib.sh"
fc_init
fc_start --rate 0 --workers 2
fc_apache
/usr/bin/python3 "$top/tests/integration/cut_body.py" "$BASE" apache || FC_FAILED=1
fc_done
