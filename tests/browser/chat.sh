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
# --grace 3: a long-poll page is gone between an answer and its re-poll,
# and on a loaded machine Chromium (through Apache) took over a second to
# re-poll, so a 1 s grace showed a leave of a page that was open; 3 s
# still shows a closed page leave well inside the test's 20 s wait.
bt_start --grace 3 --rate 0
bt_run chat.test.js chat
fc_done
