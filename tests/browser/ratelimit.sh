#!/bin/bash
# tests/browser/ratelimit.sh: sending 12 messages fast at the default rate
# limit (5/s, burst 10) shows the notice and keeps the unsent text.
# tests/run: alone (its 12 sends must fit in 0.4 s to cross the limit)
FC_TIMEOUT=${FC_TIMEOUT:-300}
BT_TIMEOUT=${BT_TIMEOUT:-280}
. "$(dirname "$0")/common.bash"
bt_init
bt_start --grace 1
bt_run ratelimit.test.js
fc_done
