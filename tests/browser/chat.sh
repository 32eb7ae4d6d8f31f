#!/bin/bash
# tests/browser/chat.sh: the web chat in Debian's chromium through nginx and Apache:
# two contexts chatting with presence over SSE and over long-poll, message
# text never HTML, reload, room change without reload, remembered nick,
# unread count in the title.
FC_TIMEOUT=${FC_TIMEOUT:-570}
BT_TIMEOUT=${BT_TIMEOUT:-540}
. "$(dirname "$0")/common.bash"
bt_init
# --rate 0: these cases send faster than a person; ratelimit.sh tests the limit.
bt_start --grace 1 --rate 0
bt_run chat.test.js chat
fc_done
