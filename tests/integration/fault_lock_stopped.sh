#!/bin/bash
# A writer stopped (SIGSTOP) while it holds the segment's write lock
# (fcometctl hold-lock), through a private nginx or Apache, 12 listeners parked
# (10 long-poll, 2 SSE) on a room that holds ids 1..3:
#  - /send answers 503 within 3 s each (one at a time, and 4 at once; to an
#    existing room and to a new one), /listen of a new room 503 within 3 s;
#  - nothing hangs: /status answers within 1 s, a /listen of the room with
#    timeout=1 answers 200 within 2 s (with a nick, whose join needs the
#    lock, within 4 s), and the 12 listeners keep their connections
#    (/status listeners 12, the clients still waiting); lock_timeouts counts;
# after SIGCONT and a normal kill of the holder (it dies holding the lock):
#  - sends answer 200 again with ids 4, 5, 6 (nothing stored meanwhile),
#    /status recoveries counts the takeover, every parked listener gets
#    id 4; no sanitizer report after a clean SIGTERM stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.inc"
FC_TIMEOUT=${FC_TIMEOUT:-240}
fc_init
fc_start --rate 0 --workers 2 --rooms 8
# A second responder, one worker, own segment: its dispatcher is the one
# every parked request of it depends on.
fc_spawn "$T/one.sock" "$FC_NAME-one" --rate 0 --workers 1 --rooms 8
one=$FC_SPAWNED
fc_location /one/chat/ "$T/one.sock"
fc_web
tag=fault_lock_stopped

# send ROOM TEXT: "CODE SECONDS" of a POST /send.
send() {
	curl -s -o "$T/send.body" -w '%{http_code} %{time_total}' --max-time 20 \
	    "$BASE/chat/send" --data-urlencode "room=$1" \
	    --data-urlencode "nick=ana" --data-urlencode "text=$2"
}
# within LIMIT "CODE SECONDS": is SECONDS <= LIMIT?
within() {
	local t=${2#* }
	[ $(( ${t%.*} * 1000000 + 10#${t#*.} )) -le $(( $1 * 1000000 )) ]
}
# expect NAME CODE LIMIT "CODE SECONDS"
expect() {
	if [ "${4%% *}" = "$2" ] && within "$3" "$4"; then
		pass "$1 ($2 in ${4#* } s)"
	else
		fail "$1" "expected $2 within $3 s, got ${4%% *} in ${4#* } s"
	fi
}

for i in 1 2 3; do http_send lobby ana "before $i" >/dev/null; done
lps=() sses=()
for i in $(seq 1 10); do
	curl -s -o "$T/lp$i.body" -w '%{http_code}' --max-time 200 \
	    "$BASE/chat/listen?room=lobby&since=3&timeout=110" >"$T/lp$i.code" &
	lps+=($!)
done
for i in 1 2; do
	curl -s -N -o "$T/sse$i.body" --max-time 200 \
	    "$BASE/chat/stream?room=lobby&since=3" &
	sses+=($!)
done
parked() { [ "$(http_body "$BASE/chat/status" | json_get 'j["listeners"]')" = 12 ]; }
fc_wait_for 100 parked || fail "$tag: 12 listeners parked" "$(http_body "$BASE/chat/status")"

# The holder, stopped once it holds the lock.
"$FCOMETCTL" --name "$FC_NAME" hold-lock 60000 >"$T/hold.out" 2>>"$T/ctl.log" &
holder=$!
if fc_wait_for 50 grep -q '^locked ' "$T/hold.out"; then
	kill -STOP "$holder"
	pass "$tag: fcometctl hold-lock holds the lock ($(cat "$T/hold.out")), stopped"
else
	fail "$tag: fcometctl hold-lock holds the lock" "$(cat "$T/hold.out" "$T/ctl.log")"
fi
sleep 0.5

for i in 1 2 3 4 5; do
	expect "$tag: stopped holder: send $i answers 503" 503 3 "$(send lobby "during $i")"
done
grep -q '"error":"unavailable"' "$T/send.body" && pass "$tag: the 503 says unavailable" ||
    fail "$tag: the 503 says unavailable" "$(cat "$T/send.body")"
together=()
for i in 1 2 3 4; do
	send lobby "during together $i" >"$T/together$i" &
	together+=($!)
done
wait "${together[@]}"
for i in 1 2 3 4; do
	expect "$tag: stopped holder: 4 sends at once: send $i answers 503" 503 3 "$(cat "$T/together$i")"
done
expect "$tag: stopped holder: send to a new room answers 503" 503 3 "$(send newroom x)"
expect "$tag: stopped holder: /listen of a new room answers 503" 503 3 \
    "$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 "$BASE/chat/listen?room=newroom2&timeout=0")"
expect "$tag: stopped holder: /status answers" 200 1 \
    "$(curl -s -o "$T/status.json" -w '%{http_code} %{time_total}' --max-time 20 "$BASE/chat/status")"
expect "$tag: stopped holder: /listen of the room with timeout=1 answers" 200 2 \
    "$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 "$BASE/chat/listen?room=lobby&timeout=1")"
expect "$tag: stopped holder: /listen with a new nick (its join needs the lock) answers" 200 4 \
    "$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 "$BASE/chat/listen?room=lobby&timeout=1&nick=zed")"
st=$(http_body "$BASE/chat/status")
check "$tag: stopped holder: the 12 listeners keep their connections (/status listeners)" 12 \
    "$(json_get 'j["listeners"]' <<<"$st")"
alive=0
for p in "${lps[@]}" "${sses[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "$tag: stopped holder: the 12 listener clients are still waiting" 12 "$alive"
lt=$(json_get 'j["lock_timeouts"]' <<<"$st")
[ "${lt:-0}" -gt 0 ] && pass "$tag: /status lock_timeouts counts the lock waits ($lt)" ||
    fail "$tag: /status lock_timeouts counts the lock waits" "$st"

# Resume the holder and end it normally: it dies holding the lock.
kill -CONT "$holder"
kill -TERM "$holder"
fc_wait_gone "$holder" 50 || fail "$tag: the holder ends on SIGTERM" "still running"
for i in 4 5 6; do
	r=$(send lobby "after $i")
	expect "$tag: after the holder is gone: send answers 200" 200 3 "$r"
	check "$tag: after the holder is gone: id" "$i" "$(json_get 'j["id"]' <"$T/send.body" 2>/dev/null)"
done
rec=$(http_body "$BASE/chat/status" | json_get 'j["recoveries"]')
[ "${rec:-0}" -ge 1 ] && pass "$tag: /status recoveries counts the takeover ($rec)" ||
    fail "$tag: /status recoveries counts the takeover" "recoveries $rec"
body=$(http_body "$BASE/chat/listen?room=lobby&since=0&timeout=0")
check "$tag: the room holds ids 1..6, messages before 1..3 and after 4..6" \
    "1:before 1 2:before 2 3:before 3 4:after 4 5:after 5 6:after 6" \
    "$(json_get '" ".join("%d:%s" % (e["id"], e.get("text", e["type"])) for e in j["events"])' <<<"$body")"

for p in "${lps[@]}"; do fc_wait_gone "$p" 50 || kill "$p" 2>/dev/null; done
ok=0
for i in $(seq 1 10); do
	[ "$(cat "$T/lp$i.code")" = 200 ] &&
	    [ "$(json_get '[e["id"] for e in j["events"]][:1]' <"$T/lp$i.body" 2>/dev/null)" = "[4]" ] &&
	    ok=$((ok + 1))
done
check "$tag: the 10 parked long-polls got id 4" 10 "$ok"
sleep 0.5
ok=0
for i in 1 2; do
	grep -q '^id: 4$' "$T/sse$i.body" && ! grep -q '^event: \(gap\|reset\)' "$T/sse$i.body" && ok=$((ok + 1))
done
check "$tag: the 2 streams got id 4" 2 "$ok"
for p in "${sses[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done

# One worker, the lock held by a stopped process, a listener parked with a
# nick whose join could not be stored: the worker's other parked requests
# are still answered on time (the dispatcher never waits for the lock).
check "$tag: one worker: send" 1 "$(http_send lobby ana x "$BASE/one" | json_get 'j["id"]')"
"$FCOMETCTL" --name "$FC_NAME-one" hold-lock 60000 >"$T/hold1.out" 2>>"$T/ctl.log" &
holder=$!
fc_wait_for 50 grep -q '^locked ' "$T/hold1.out" || fail "$tag: one worker: hold-lock" "$(cat "$T/hold1.out")"
kill -STOP "$holder"
curl -s -o /dev/null --max-time 100 "$BASE/one/chat/listen?room=lobby&nick=stuck&timeout=60" &
nick=$!
sleep 2.5
for i in 1 2 3; do
	expect "$tag: one worker, stopped holder, a nick parked: /listen timeout=1 answers on time ($i)" 200 2 \
	    "$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 "$BASE/one/chat/listen?room=lobby&timeout=1")"
done
kill -CONT "$holder"; kill -TERM "$holder"; fc_wait_gone "$holder" 50
kill "$nick" 2>/dev/null; wait "$nick" 2>/dev/null
kill -TERM "$one"
fc_wait_gone "$one" 50 || fail "$tag: one worker: stops on SIGTERM" "still running"
fc_stop
fault_sanitizers "$tag"
fc_done
