#!/bin/bash
# 500 parked long-poll listeners and 200 SSE listeners on one room, through
# a private Apache (event MPM, mod_proxy_fcgi), all receive 100 messages
# exactly once and in order (client: chatclient.py fanout). Every waiting
# request holds an Apache worker thread: lib.sh's MaxRequestWorkers (1024)
# covers the 700 plus the senders. 20 senders, 5 messages each, at once.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-150}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
fc_start --rate 0 --workers 2
fc_apache
timeout -k 5 130 python3 "$top/tests/integration/chatclient.py" fanout \
    --base "$BASE" --room lobby --tag many_listeners_apache \
    --lp 500 --sse 200 --messages 100 --senders 20 --park-wait 60 \
    --deadline 60 || FC_FAILED=1
[ "$(http_status "$BASE/chat/status")" = 200 ] &&
    pass "many_listeners_apache: fcomet answers after the fan-out" ||
    fail "many_listeners_apache: fcomet answers after the fan-out" "/status is not 200"
fc_stop
fc_done
