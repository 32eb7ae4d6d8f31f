#!/bin/bash
# 2,000 parked long-poll listeners and 500 SSE listeners on one room, through
# a private nginx, all receive 100 messages exactly once and in order
# (client: chatclient.py fanout). fcomet runs with --rate 0 and 2 workers.
# 20 senders send 5 messages each at once: with one sender waiting for
# each answer, every message would wake all 2,000 long-polls separately
# (200,000 re-polls); a chat with many people sends in bursts like this.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-150}
# 2,500 client sockets here, 5,000 in nginx (worker_rlimit_nofile and
# worker_connections come from lib.sh), ~2,500 in fcomet: 20,000 is the
# hard limit of a process on these machines.
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
fc_start --rate 0 --workers 2
fc_nginx
timeout -k 5 130 python3 "$top/tests/integration/chatclient.py" fanout \
    --base "$BASE" --room lobby --tag many_listeners_nginx \
    --lp 2000 --sse 500 --messages 100 --senders 20 --park-wait 60 --deadline 60 ||
    FC_FAILED=1
[ "$(http_status "$BASE/chat/status")" = 200 ] &&
    pass "many_listeners_nginx: fcomet answers after the fan-out" ||
    fail "many_listeners_nginx: fcomet answers after the fan-out" "/status is not 200"
fc_stop
fc_done
