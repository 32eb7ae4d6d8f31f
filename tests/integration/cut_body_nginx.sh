#!/bin/bash
# A client that hangs up mid-upload stores nothing, through nginx
# (cases: cut_body.py).
. "$(dirname "$0")/lib.sh"
fc_init
fc_start --rate 0 --workers 2
fc_nginx
/usr/bin/python3 "$top/tests/integration/cut_body.py" "$BASE" nginx || FC_FAILED=1
fc_done
