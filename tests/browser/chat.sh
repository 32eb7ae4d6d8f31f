#!/bin/bash
# tests/browser/chat.sh: the web chat in Debian's chromium through nginx:
# conversation and presence over SSE and long-poll, text never HTML, reload,
# offline, errors in words, layout at 360 px and desktop (screenshots in
# tests/browser/screenshots/).
FC_TIMEOUT=${FC_TIMEOUT:-480}
. "$(dirname "$0")/common.bash"
bt_init
# --rate 0: these cases send faster than a person; ratelimit.sh tests the limit.
bt_start --grace 1 --rate 0
bt_run chat.test.js
fc_done
