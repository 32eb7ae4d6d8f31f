#!/bin/bash
# tests/browser/layout.sh: send errors in words and the byte counter; no
# horizontal overflow at 360 px; screenshots at phone and desktop width,
# light and dark, in tests/browser/screenshots/.
FC_TIMEOUT=${FC_TIMEOUT:-570}
BT_TIMEOUT=${BT_TIMEOUT:-540}
. "$(dirname "$0")/common.bash"
bt_init
bt_start --grace 1 --rate 0
bt_run chat.test.js layout
fc_done
