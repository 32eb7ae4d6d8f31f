#!/bin/bash
# kill -9 of a worker under load, through the web server (nginx, then Apache): 4 senders
# sending until both kills are done and 80 listeners (50 long-poll, 30 SSE, retrying with
# their cursor after an error, as the web client does) while each of the 2
# workers is killed in turn. A send may fail only if a killed worker held
# it (at most 4 accept threads x 2 kills). The master brings the worker count back to 2 (children of the
# master and /status workers), no stored event is lost (ids contiguous from
# 1 in fcometctl dump and /listen?since=0, every acknowledged send there
# with its text), and every listener gets every stored event exactly once,
# in order.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-150}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
# The window (ring: --window x 192 bytes) holds every event of the test.
fc_start --rate 0 --workers 2 --rooms 4 --window 4096
fc_web
cc="$top/tests/integration/chatclient.py"

workers() { pgrep -P "$FC_PID" | sort; }

timeout -k 5 120 python3 "$cc" fanout --base "$BASE" --room lobby \
    --tag worker_kill --lp 50 --sse 30 --messages 4000 --senders 4 \
    --send-for 60 --stop-file "$T/stop" --send-interval 0.01 --max-send-failures 8 --retry \
    --park-wait 30 --deadline 30 \
    --ready-file "$T/ready" --acked-out "$T/acked.json" &
client=$!

fc_wait_for 300 test -e "$T/ready" ||
    fail "worker_kill: listeners parked" "the client never got ready"
before=$(workers)
check "worker_kill: 2 workers at the start" 2 "$(echo "$before" | grep -c .)"
for round in 1 2; do
	sleep 1.5
	victim=$(workers | sed -n "${round}p")
	[ -n "$victim" ] || { fail "worker_kill: round $round" "no worker to kill"; break; }
	kill -KILL "$victim"
	name="worker_kill: kill -9 of worker $victim under load: master restarts it"
	if fc_wait_for 50 eval '[ "$(workers | grep -c .)" = 2 ] && ! workers | grep -qx "$victim"'; then
		pass "$name ($(workers | tr '\n' ' '))"
	else
		fail "$name" "children of the master: $(workers | tr '\n' ' ')"
	fi
done
sleep 1
kill -0 "$client" 2>/dev/null ||
    fail "worker_kill: the load lasted past the kills" "the client ended early"
touch "$T/stop"
wait "$client" || FC_FAILED=1

check "worker_kill: /status workers" 2 \
    "$(http_body "$BASE/chat/status" | json_get 'j["workers"]')"
check "worker_kill: the master is still running" yes \
    "$(kill -0 "$FC_PID" 2>/dev/null && echo yes || echo no)"

# The segment itself, read with fcometctl: contiguous, every ack there.
"$FCOMETCTL" --name "$FC_NAME" --json dump lobby >"$T/dump.json" 2>"$T/dump.err" ||
    fail "worker_kill: fcometctl dump" "$(cat "$T/dump.err")"
why=$(python3 - "$T/dump.json" "$T/acked.json" <<-'EOF'
	import json, sys
	evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	acked = json.load(open(sys.argv[2]))
	ids = [e["id"] for e in evs]
	if not ids or ids != list(range(1, len(ids) + 1)):
	    print(f"ids not contiguous from 1: {len(ids)} events, first "
	          f"{ids[:3]}, last {ids[-3:]}")
	texts = {str(e["id"]): e.get("text") for e in evs}
	lost = [i for i, t in acked.items() if texts.get(i) != t]
	if lost:
	    print(f"acknowledged sends missing: {lost[:5]} ({len(lost)})")
	EOF
)
if [ -z "$why" ]; then
	pass "worker_kill: fcometctl dump: ids contiguous from 1, every acknowledged send stored ($(grep -c . "$T/dump.json") events)"
else
	fail "worker_kill: fcometctl dump: ids contiguous from 1, every acknowledged send stored" "$why"
fi
fc_stop
fc_done
