#!/bin/bash
# tests/browser/rooms_flood.sh: after 20,000 GETs of distinct new rooms
# from one address (the defaults: only its --room-rate burst creates
# rooms, the rest get 429), the page chats in a new room between two
# users at another address, and a room written before the flood shows
# its history with its ids.
FC_TIMEOUT=${FC_TIMEOUT:-400}
BT_TIMEOUT=${BT_TIMEOUT:-300}
. "$(dirname "$0")/common.bash"
bt_init
bt_start --grace 1 --trust-proxy 127.0.0.1
tag="browser: rooms flood"
check "$tag: a room with a message before the flood" 1 \
    "$(http_send before ana "written before" | json_get 'j["id"]')"
awk -v b="$BASE" 'BEGIN { for (i = 0; i < 20000; i++)
    printf "url = \"%s/chat/listen?room=F%d&timeout=0\"\noutput = /dev/null\n", b, i }' >"$T/urls"
curl -s -K "$T/urls" -w '%{http_code}\n' --max-time 300 \
    -H 'X-Forwarded-For: 10.9.9.9' >"$T/codes"
echo "# 20,000 GETs from 10.9.9.9: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
check "$tag: the flood got 429 past its burst" yes \
    "$([ "$(grep -c '^429$' "$T/codes")" -ge 19900 ] && echo yes || echo no)"
bt_run rooms_flood.test.js
fc_done
