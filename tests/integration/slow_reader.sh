#!/bin/bash
# One SSE reader that never reads (it connects with a 4 KiB SO_RCVBUF,
# sends its request and never calls recv) must not hold up the others and
# is dropped: through a private nginx, 100 normal listeners (50 long-poll,
# 50 SSE) get all of 1,000 events of 1,500-byte texts, sent as fast as
# fcomet takes them (--rate 0, 10 senders), within 30 s of the last send;
# /status listeners then falls to 100 (the stuck one gone, the others still
# parked), and when the stuck reader finally reads, its stream has been
# ended after a contiguous prefix of the events (fcomet closes the FastCGI
# connection; nginx ends the chunked response).
. "$(dirname "$0")/lib.sh"
fc_nginx_only "it sizes nginx's sockets to hold a reader back; Apache's thread per request blocks differently"
FC_TIMEOUT=${FC_TIMEOUT:-150}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
# The window holds all 1,000 events (its ring is --window x 192 bytes):
# the check reads them back, and a long-poll a little behind gets no gap.
fc_start --rate 0 --workers 2 --rooms 4 --window 16384
# The stuck reader comes in on $PORT2, where nginx's socket to it has a
# 32 KiB send buffer: with Linux's send buffer autotuning (up to 4 MiB on
# loopback) nginx's kernel would otherwise swallow all 1.5 MB and fcomet
# would never see a slow reader. A browser that stops reading over a real
# network fills its buffers the same way, only later.
FC_NGINX_EXTRA="listen 127.0.0.1:$PORT2 sndbuf=32k;"
fc_nginx
timeout -k 5 130 python3 "$top/tests/integration/chatclient.py" fanout \
    --base "$BASE" --room lobby --tag slow_reader \
    --lp 50 --sse 50 --stuck 1 --stuck-base http://127.0.0.1:$PORT2 --messages 1000 --senders 10 \
    --text-bytes 1500 --park-wait 30 --deadline 30 --linger \
    --expect-listeners 100 --expect-within 10 || FC_FAILED=1
[ "$(http_status "$BASE/chat/status")" = 200 ] &&
    pass "slow_reader: fcomet answers after the slow reader" ||
    fail "slow_reader: fcomet answers after the slow reader" "/status is not 200"
fc_stop
fc_done
