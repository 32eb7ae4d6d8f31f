#!/bin/bash
# The room table full (--rooms 4), through a private nginx: with rooms
# r1..r4 holding events, a new room gets 503 "unavailable" from /send,
# /listen and /stream (and fcometctl send fails), nothing is stored for it
# and /status room_full counts the refusals; the existing rooms keep
# working: sends 200 with contiguous ids, a listener parked before the
# refusals gets its event, /rooms lists exactly r1..r4. No sanitizer
# report after a clean SIGTERM stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.inc"
FC_TIMEOUT=${FC_TIMEOUT:-240}
fc_init
fc_start --rate 0 --workers 2 --rooms 4
fc_nginx
tag=fault_rooms_full

for r in r1 r2 r3 r4; do
	check "$tag: send to new room $r while there is room" 1 \
	    "$(http_send "$r" ana "first in $r" | json_get 'j["id"]')"
done
curl -s -o "$T/lp.body" -w '%{http_code}' --max-time 200 \
    "$BASE/chat/listen?room=r3&since=1&timeout=110" >"$T/lp.code" &
lp=$!
fc_wait_for 100 eval '[ "$(http_body "$BASE/chat/status" | json_get "j[\"listeners\"]")" = 1 ]' ||
    fail "$tag: a listener parked on r3" "$(http_body "$BASE/chat/status")"

for r in r5 other.room; do
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$BASE/chat/send" \
	    --data-urlencode "room=$r" --data-urlencode nick=ana --data-urlencode text=x)
	err=$(json_get 'j["error"]' <"$T/body" 2>/dev/null)
	check "$tag: table full: /send to new room $r answers 503 unavailable" "503 unavailable" "$code $err"
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$BASE/chat/listen?room=$r&timeout=0")
	err=$(json_get 'j["error"]' <"$T/body" 2>/dev/null)
	check "$tag: table full: /listen of new room $r answers 503 unavailable" "503 unavailable" "$code $err"
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$BASE/chat/stream?room=$r")
	check "$tag: table full: /stream of new room $r answers 503" 503 "$code"
done
if fault_ctl send r6 ana x >/dev/null; then
	fail "$tag: table full: fcometctl send to a new room fails" "it succeeded"
else
	pass "$tag: table full: fcometctl send to a new room fails"
fi
full=$(http_body "$BASE/chat/status" | json_get 'j["room_full"]')
[ "${full:-0}" -ge 6 ] && pass "$tag: /status room_full counts the refusals ($full)" ||
    fail "$tag: /status room_full counts the refusals" "room_full $full"

for r in r1 r2 r3 r4; do
	check "$tag: table full: existing room $r: send answers id 2" 2 \
	    "$(http_send "$r" bo "second in $r" | json_get 'j["id"]')"
	check "$tag: table full: existing room $r: /listen since=0" "1 2" \
	    "$(http_body "$BASE/chat/listen?room=$r&since=0&timeout=0" | json_get '" ".join(str(e["id"]) for e in j["events"])')"
done
fc_wait_gone "$lp" 100 || { kill "$lp"; fail "$tag: the parked listener answered" "still waiting"; }
check "$tag: table full: the listener parked on r3 got id 2" "200 [2]" \
    "$(cat "$T/lp.code") $(json_get '[e["id"] for e in j["events"]]' <"$T/lp.body" 2>/dev/null)"
check "$tag: table full: /rooms lists r1..r4" "r1 r2 r3 r4" \
    "$(http_body "$BASE/chat/rooms" | json_get '" ".join(r["room"] for r in j["rooms"])')"
check "$tag: table full: /status rooms" 4 "$(http_body "$BASE/chat/status" | json_get 'j["rooms"]')"
fc_stop
fault_sanitizers "$tag"
fc_done
