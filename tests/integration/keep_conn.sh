#!/bin/bash
# nginx keeps its FastCGI connections to fcomet (fastcgi_keep_conn on and
# the upstream's keepalive, as nginx/fcomet.conf and fcomet-upstream.conf
# ship): requests of every kind are answered over a handful of
# connections, a long-poll parked on a kept connection still wakes, a
# client that hangs up still has its listener dropped at once, and when
# nginx goes fcomet closes its side of every kept connection. The
# alternative fcomet-upstream.conf describes (FC_NGINX_NOKEEP: one
# connection a request) answers the same requests and keeps none.
. "$(dirname "$0")/lib.sh"
fc_nginx_only "fastcgi_keep_conn is nginx's; apache/fcomet.conf keeps no connection (enablereuse=off)"
FC_TIMEOUT=${FC_TIMEOUT:-120}
fc_init
fc_start --rate 0 --workers 2
fc_nginx
cc="$top/tests/integration/chatclient.py"

# Sockets the workers hold besides the listening one: connections.
conns() {
	local n=0 pid
	for pid in $(pgrep -P "$FC_PID"); do
		n=$((n + $(find "/proc/$pid/fd" -lname 'socket:*' 2>/dev/null |
		    wc -l) - 1))
	done
	echo "$n"
}
fc_wait_for 50 test "$(conns)" = 0

# requests N TAG: N rounds of /status, /send (text TAG-i) and /listen;
# prints how many were answered 200.
requests() {
	local ok=0 i
	for i in $(seq "$1"); do
		[ "$(http_status "$BASE/chat/status")" = 200 ] && ok=$((ok + 1))
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/chat/send" \
		    --data "room=k&nick=ana&text=$2-$i")" = 200 ] && ok=$((ok + 1))
		[ "$(http_status "$BASE/chat/listen?room=k&timeout=0")" = 200 ] &&
		    ok=$((ok + 1))
	done
	echo "$ok"
}

check "keep_conn: 60 requests through nginx answered" 60 "$(requests 20 m)"
held=$(conns)
if [ "$held" -ge 1 ] && [ "$held" -le 8 ]; then
	pass "keep_conn: they went over $held kept connection(s)"
else
	fail "keep_conn: they went over 1 to 8 kept connections" "$held held"
fi

# A long-poll parked on a kept connection wakes on a send.
curl -s --max-time 15 "$BASE/chat/listen?room=k&since=20&timeout=10" \
    >"$T/lp.out" &
lp=$!
python3 "$cc" wait-status --base "$BASE" --eq 1 --within 5 >/dev/null
http_send k bo wake >/dev/null
fc_wait_gone "$lp" 50
check "keep_conn: a parked long-poll wakes on a send" '[[21, "wake"]]' \
    "$(json_get '[(e["id"], e["text"]) for e in j["events"]]' <"$T/lp.out" 2>&1)"

# A client that hangs up: nginx closes that connection, kept or not.
curl -s --max-time 30 "$BASE/chat/listen?room=k&timeout=25" >/dev/null &
lp=$!
if python3 "$cc" wait-status --base "$BASE" --eq 1 --within 5 >/dev/null; then
	sleep 0.3
	if took=$(python3 "$cc" wait-status --base "$BASE" --eq 0 --within 1 \
	    --kill "$lp"); then
		pass "keep_conn: a long-poll whose client hangs up leaves (${took} s)"
	else
		fail "keep_conn: a long-poll whose client hangs up leaves" \
		    "listeners still $took after 1 s"
	fi
else
	fail "keep_conn: a long-poll whose client hangs up leaves" "never parked"
fi
wait "$lp" 2>/dev/null

# nginx goes: fcomet closes its side of every kept connection.
http_status "$BASE/chat/status" >/dev/null
before=$(conns)
kill -TERM "$FC_NGINX_PID"
fc_wait_gone "$FC_NGINX_PID" 50
if [ "$before" -ge 1 ] && fc_wait_for 30 test "$(conns)" = 0; then
	pass "keep_conn: nginx gone, its $before kept connection(s) closed"
else
	fail "keep_conn: nginx gone, every kept connection closed" \
	    "$before kept before, $(conns) left"
fi

FC_NGINX_NOKEEP=1 fc_nginx
check "keep_conn: without kept connections, 30 requests answered" 30 \
    "$(requests 10 n)"
if fc_wait_for 30 test "$(conns)" = 0; then
	pass "keep_conn: without kept connections, none held"
else
	fail "keep_conn: without kept connections, none held" "$(conns) held"
fi
fc_done
