#!/bin/bash
# A listener that disconnects is dropped: a parked long-poll and an open
# stream whose clients hang up leave /status "listeners" while the other
# listeners stay counted. Through nginx within 1 s, with no ping needed
# (nginx closes the FastCGI connection at once). Through Apache within 2 s
# of the next ping (--ping 2: a stream's ": ping", a long-poll's space of
# JSON whitespace), since Apache notices a client gone only when it writes
# to it. Then 20 long-polls and 20 streams with nicks hang up together:
# gone from /rooms and /who (--grace 1) and their web-server requests
# ended (the access log), in the same bounds.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-120}
fc_init
ping=30 within=1
[ "$FC_SERVER" = apache ] && ping=2 within=4	# a ping period + 2 s
fc_start --rate 0 --workers 2 --timeout-max 120 --ping "$ping" --grace 1
fc_web
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
	name="disconnect_drops: a $kind client that hangs up leaves within $within s"
	listener "$kind"
	if ! got=$(python3 "$cc" wait-status --base "$BASE" --eq 3 --within 5); then
		fail "$name" "the $kind was never counted (listeners $got)"
		kill "$L" 2>/dev/null; wait "$L" 2>/dev/null
		continue
	fi
	sleep 0.3	# well parked, not just arriving
	# The client hangs up: SIGKILL, timed from the kill.
	took=$(python3 "$cc" wait-status --base "$BASE" --eq 2 --within "$within" --kill "$L")
	rc=$?
	wait "$L" 2>/dev/null
	if [ $rc -eq 0 ]; then
		pass "$name (${took} s)"
	else
		fail "$name" "listeners still $took after $within s"
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

log=$T/nginx/access.log
[ "$FC_SERVER" = apache ] && log=$T/apache/access.log
python3 "$top/tests/integration/hangup.py" "$PORT" 20 \
    "$([ "$FC_SERVER" = apache ] && echo "$ping" || echo 0)" \
    --access-log "$log" --tag "disconnect_drops$FC_TAG" || FC_FAILED=1
fc_stop
fc_done
