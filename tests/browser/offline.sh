#!/bin/bash
# tests/browser/offline.sh: a page offline for 5 s while the other side
# sends 20 messages gets all 20 once, in order, over SSE and long-poll.
FC_TIMEOUT=${FC_TIMEOUT:-570}
BT_TIMEOUT=${BT_TIMEOUT:-540}
. "$(dirname "$0")/common.bash"
bt_init
bt_start --grace 1 --rate 0
bt_run chat.test.js offline
fc_done
