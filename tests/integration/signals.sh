#!/bin/bash
# Signals to the master, through the web server (nginx, then Apache).
# SIGTERM with 5 long-polls and 3 streams parked: the master exits 0 within
# 2 s, every long-poll got a 200 with "events":[], every stream ended.
# SIGHUP under load (4 senders, 50 long-polls re-polling every second, 20
# streams, SIGHUP sent twice 1.5 s apart, load until 1 s after): no request is dropped (every send
# and every listen a 200, streams ended by a retiring worker reconnect with
# Last-Event-ID and get a 200), every listener gets every event once and in
# order, and the workers are all new ones, 2 of them.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-120}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
fc_start --rate 0 --workers 2 --rooms 4 --window 8192
fc_web
cc="$top/tests/integration/chatclient.py"
workers() { pgrep -P "$FC_PID" | sort; }

# --- SIGTERM -------------------------------------------------------------
lp=() sse=()
for i in 1 2 3 4 5; do
	curl -s -o "$T/lp$i.body" -w '%{http_code}' --max-time 60 \
	    "$BASE/chat/listen?room=r&timeout=50" >"$T/lp$i.code" 2>/dev/null &
	lp+=($!)
done
for i in 1 2 3; do
	curl -s -N -o "$T/sse$i.body" --max-time 60 "$BASE/chat/stream?room=r" &
	sse+=($!)
done
if ! got=$(python3 "$cc" wait-status --base "$BASE" --eq 8 --within 10); then
	fail "signals: 8 listeners parked before SIGTERM" "listeners $got"
fi
# Timed with wait (no polling); a watchdog SIGKILLs it after 10 s.
( sleep 10; kill -KILL "$FC_PID" 2>/dev/null ) >/dev/null 2>&1 &
dog=$!
t0=$EPOCHREALTIME
kill -TERM "$FC_PID"
wait "$FC_PID"
rc=$?
t1=$EPOCHREALTIME
kill "$dog" 2>/dev/null
ms=$(python3 -c 'import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))' "$t0" "$t1")
if [ "$ms" -le 2000 ]; then
	pass "signals: SIGTERM: master exits within 2 s (${ms} ms)"
else
	fail "signals: SIGTERM: master exits within 2 s" "took ${ms} ms"
fi
check "signals: SIGTERM: master exit status" 0 "$rc"
FC_PID=
for p in "${lp[@]}" "${sse[@]}"; do
	fc_wait_gone "$p" 30 || { fail "signals: SIGTERM: client $p done" "still waiting 3 s after"; kill "$p"; }
done
ok=0
for i in 1 2 3 4 5; do
	code=$(cat "$T/lp$i.code") body=$(cat "$T/lp$i.body")
	if [ "$code" = 200 ] && [ "$(json_get 'j["events"]' <<<"$body" 2>/dev/null)" = "[]" ]; then
		ok=$((ok + 1))
	else
		echo "# long-poll $i: $code $body"
	fi
done
check "signals: SIGTERM: parked long-polls answered 200 with \"events\":[]" 5 "$ok"
ok=0
for i in 1 2 3; do
	grep -q '^retry: 2000' "$T/sse$i.body" && ok=$((ok + 1))
done
check "signals: SIGTERM: the 3 streams were open and ended" 3 "$ok"

# --- SIGHUP under load ---------------------------------------------------
fc_start --rate 0 --workers 2 --rooms 4 --window 8192
before=$(workers)
timeout -k 5 60 python3 "$cc" fanout --base "$BASE" --room lobby \
    --tag "signals: SIGHUP twice under load$FC_TAG" --lp 50 --sse 20 \
    --lp-timeout 1 --messages 4000 --senders 4 --send-for 60 \
    --stop-file "$T/stop" \
    --send-interval 0.005 --strict --park-wait 20 --deadline 20 \
    --ready-file "$T/ready" &
client=$!
fc_wait_for 200 test -e "$T/ready" ||
    fail "signals: SIGHUP: listeners parked" "the client never got ready"
sleep 1
kill -HUP "$FC_PID"
sleep 1.5
kill -HUP "$FC_PID"
sleep 1
kill -0 "$client" 2>/dev/null ||
    fail "signals: SIGHUP: the load lasted past both SIGHUPs" "the client ended early"
touch "$T/stop"
wait "$client" || FC_FAILED=1
# The retired workers finish their parked requests and leave (no time is
# promised; 10 s is plenty).
replaced() {
	after=$(workers)
	[ "$(echo "$after" | grep -c .)" = 2 ] &&
	    [ "$(comm -12 <(echo "$before") <(echo "$after") | grep -c .)" = 0 ]
}
if fc_wait_for 100 replaced; then
	pass "signals: SIGHUP: 2 new workers replaced the old ones ($(echo $after))"
else
	fail "signals: SIGHUP: 2 new workers replaced the old ones" \
	    "before: $(echo $before), after: $(echo $after)"
fi
check "signals: SIGHUP: master still running" yes \
    "$(kill -0 "$FC_PID" 2>/dev/null && echo yes || echo no)"
fc_stop
fc_done
