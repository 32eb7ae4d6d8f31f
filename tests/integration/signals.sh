#!/bin/bash
# Signals to the master, through a private nginx.
# SIGTERM with 5 long-polls and 3 streams parked: the master exits 0 within
# 2 s, every long-poll got a 200 with "events":[], every stream ended.
# SIGHUP under load (4 senders, 50 long-polls re-polling every second, 20
# streams, for 5 s, SIGHUP sent twice): no request is dropped (every send
# and every listen a 200, streams ended by a retiring worker reconnect with
# Last-Event-ID and get a 200), every listener gets every event once and in
# order, and the workers are all new ones, 2 of them.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-120}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
fc_start --rate 0 --workers 2
fc_nginx
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
t0=$(date +%s%N)
kill -TERM "$FC_PID"
n=0
while kill -0 "$FC_PID" 2>/dev/null && [ $n -lt 50 ]; do
	case $(ps -o stat= -p "$FC_PID" 2>/dev/null) in Z*) break ;; esac
	sleep 0.05; n=$((n + 1))
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if kill -0 "$FC_PID" 2>/dev/null && ! ps -o stat= -p "$FC_PID" | grep -q Z; then
	fail "signals: SIGTERM: master exits within 2 s" "still running after ${ms} ms"
	kill -KILL "$FC_PID"; wait "$FC_PID"
else
	wait "$FC_PID"; rc=$?
	if [ "$ms" -le 2000 ]; then
		pass "signals: SIGTERM: master exits within 2 s (${ms} ms)"
	else
		fail "signals: SIGTERM: master exits within 2 s" "took ${ms} ms"
	fi
	check "signals: SIGTERM: master exit status" 0 "$rc"
fi
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
fc_start --rate 0 --workers 2
before=$(workers)
timeout -k 5 60 python3 "$cc" fanout --base "$BASE" --room lobby \
    --tag "signals: SIGHUP twice under load" --lp 50 --sse 20 \
    --lp-timeout 1 --messages 4000 --senders 4 --send-for 5 \
    --send-interval 0.005 --strict --park-wait 20 --deadline 20 \
    --ready-file "$T/ready" &
client=$!
fc_wait_for 200 test -e "$T/ready" ||
    fail "signals: SIGHUP: listeners parked" "the client never got ready"
sleep 1
kill -HUP "$FC_PID"
sleep 1.5
kill -HUP "$FC_PID"
sleep 0.5
kill -0 "$client" 2>/dev/null ||
    fail "signals: SIGHUP: the load lasted past both SIGHUPs" "the client ended early"
wait "$client" || FC_FAILED=1
after=$(workers)
common=$(comm -12 <(echo "$before") <(echo "$after") | grep -c .)
if [ "$(echo "$after" | grep -c .)" = 2 ] && [ "$common" = 0 ]; then
	pass "signals: SIGHUP: 2 new workers replaced the old ones ($(echo $after))"
else
	fail "signals: SIGHUP: 2 new workers replaced the old ones" \
	    "before: $(echo $before), after: $(echo $after)"
fi
check "signals: SIGHUP: master still running" yes \
    "$(kill -0 "$FC_PID" 2>/dev/null && echo yes || echo no)"
fc_stop
fc_done
