#!/bin/bash
# tests/browser/restart.sh: the responder restarted during a conversation:
# the page reconnects by itself (SSE and long-poll) and loses nothing stored.
FC_TIMEOUT=${FC_TIMEOUT:-400}
BT_TIMEOUT=${BT_TIMEOUT:-380}
. "$(dirname "$0")/common.bash"
bt_init
bt_start --grace 1 --rate 0
bt_run restart.test.js
fc_done
