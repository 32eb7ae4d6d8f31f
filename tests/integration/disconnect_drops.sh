#!/bin/bash
# A listener that disconnects is dropped at once: through a private nginx,
# a parked long-poll and an open stream whose clients hang up leave
# /status "listeners" within 1 s, while the other listeners stay counted.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-120}
fc_init
fc_start --rate 0 --workers 2 --timeout-max 120 --ping 30
fc_nginx
cc="$top/tests/integration/chatclient.py"

listeners() { http_body "$BASE/chat/status" | json_get 'j["listeners"]'; }
# listener KIND: a curl parked on /listen or /stream of room r; its pid in L.
listener() {
	local path="listen?room=r&timeout=100"
	[ "$1" = stream ] && path="stream?room=r"
	curl -s -N --max-time 110 "$BASE/chat/$path" >"$T/$1.$RANDOM.out" 2>&1 &
	L=$!
}

# Two listeners that stay: a long-poll and a stream.
listener listen; stay1=$L
listener stream; stay2=$L
if got=$(python3 "$cc" wait-status --base "$BASE" --eq 2 --within 5); then
	pass "disconnect_drops: two staying listeners counted"
else
	fail "disconnect_drops: two staying listeners counted" "listeners is $got"
fi

for kind in listen stream; do
	name="disconnect_drops: a $kind client that hangs up leaves within 1 s"
	listener "$kind"
	if ! got=$(python3 "$cc" wait-status --base "$BASE" --eq 3 --within 5); then
		fail "$name" "the $kind was never counted (listeners $got)"
		kill "$L" 2>/dev/null; wait "$L" 2>/dev/null
		continue
	fi
	sleep 0.3	# well parked, not just arriving
	# The client hangs up: SIGKILL, timed from the kill.
	took=$(python3 "$cc" wait-status --base "$BASE" --eq 2 --within 1 --kill "$L")
	rc=$?
	wait "$L" 2>/dev/null
	if [ $rc -eq 0 ]; then
		pass "$name (${took} s)"
	else
		fail "$name" "listeners still $took after 1 s"
	fi
done

for p in "$stay1" "$stay2"; do
	kill -0 "$p" 2>/dev/null || fail "disconnect_drops: staying listener $p still open" "it ended"
done
check "disconnect_drops: the staying two are still counted" 2 "$(listeners)"
# And they still get events: one message ends the long-poll with it.
http_send r ana hello >/dev/null
if fc_wait_for 50 eval '! kill -0 $stay1 2>/dev/null'; then
	wait "$stay1"
	if grep -q '"text":"hello"' "$T"/listen.*.out; then
		pass "disconnect_drops: the staying long-poll still gets the message"
	else
		fail "disconnect_drops: the staying long-poll still gets the message" "$(cat "$T"/listen.*.out)"
	fi
else
	fail "disconnect_drops: the staying long-poll still gets the message" "still waiting after 5 s"
fi
kill "$stay2" 2>/dev/null; wait "$stay2" 2>/dev/null
fc_stop
fc_done
