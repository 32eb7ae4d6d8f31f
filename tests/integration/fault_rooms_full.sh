#!/bin/bash
# Every room in use (--rooms 4, a listener parked in each), through a
# private nginx: a new room gets 503 "unavailable" from /send, /listen and
# /stream (and fcometctl send fails), nothing is stored for it and /status
# room_full counts the refusals; the existing rooms keep working: sends
# 200 with contiguous ids, a parked listener gets its event. As soon as one
# room has no listener left, a new room opens in its place (the least
# recently used room nobody listens to is reclaimed) and starts at id 1;
# a client with an old cursor of the reclaimed room gets "reset". No
# sanitizer report after a clean SIGTERM stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.inc"
FC_TIMEOUT=${FC_TIMEOUT:-240}
fc_init
fc_start --rate 0 --workers 2 --rooms 4
fc_web
tag=fault_rooms_full

for r in r1 r2 r3 r4; do
	check "$tag: send to new room $r while there is room" 1 \
	    "$(http_send "$r" ana "first in $r" | json_get 'j["id"]')"
done
for r in r1 r2 r3 r4; do
	curl -s -o "$T/lp.$r" -w '%{http_code}' --max-time 200 \
	    "$BASE/chat/listen?room=$r&since=1&timeout=110" >"$T/lp.$r.code" &
	eval "lp_$r=$!"
done
fc_wait_for 100 eval '[ "$(http_body "$BASE/chat/status" | json_get "j[\"listeners\"]")" = 4 ]' ||
    fail "$tag: a listener parked in each room" "$(http_body "$BASE/chat/status")"

for r in r5 other.room; do
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$BASE/chat/send" \
	    --data-urlencode "room=$r" --data-urlencode nick=ana --data-urlencode text=x)
	err=$(json_get 'j["error"]' <"$T/body" 2>/dev/null)
	check "$tag: all rooms heard: /send to new room $r answers 503 unavailable" "503 unavailable" "$code $err"
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$BASE/chat/listen?room=$r&timeout=0")
	err=$(json_get 'j["error"]' <"$T/body" 2>/dev/null)
	check "$tag: all rooms heard: /listen of new room $r answers 503 unavailable" "503 unavailable" "$code $err"
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$BASE/chat/stream?room=$r")
	check "$tag: all rooms heard: /stream of new room $r answers 503" 503 "$code"
done
if fault_ctl send r6 ana x >/dev/null; then
	fail "$tag: all rooms heard: fcometctl send to a new room fails" "it succeeded"
else
	pass "$tag: all rooms heard: fcometctl send to a new room fails"
fi
full=$(http_body "$BASE/chat/status" | json_get 'j["room_full"]')
[ "${full:-0}" -ge 6 ] && pass "$tag: /status room_full counts the refusals ($full)" ||
    fail "$tag: /status room_full counts the refusals" "room_full $full"

for r in r1 r2 r4 r3; do	# r3 last: it is then the one used least
	check "$tag: all rooms heard: existing room $r: send answers id 2" 2 \
	    "$(http_send "$r" bo "second in $r" | json_get 'j["id"]')"
	eval "pid=\$lp_$r"
	fc_wait_gone "$pid" 100 || { kill "$pid"; fail "$tag: the listener of $r answered" "still waiting"; }
	check "$tag: the listener parked on $r got id 2" "200 [2]" \
	    "$(cat "$T/lp.$r.code") $(json_get '[e["id"] for e in j["events"]]' <"$T/lp.$r" 2>/dev/null)"
	[ "$r" = r3 ] && break
	curl -s -o /dev/null --max-time 200 "$BASE/chat/listen?room=$r&since=2&timeout=110" &
	eval "lp_$r=$!"
done
fc_wait_for 100 eval '[ "$(http_body "$BASE/chat/status" | json_get "j[\"listeners\"]")" = 3 ]' ||
    fail "$tag: listeners back in r1 r2 r4" "$(http_body "$BASE/chat/status")"
check "$tag: r3 has no listener: a new room r5 opens, at id 1" 1 \
    "$(http_send r5 ana "first in r5" | json_get 'j["id"]')"
check "$tag: /rooms lists r1 r2 r4 r5 (r3 was reclaimed)" "r1 r2 r4 r5" \
    "$(http_body "$BASE/chat/rooms" | json_get '" ".join(r["room"] for r in j["rooms"])')"
check "$tag: an old cursor of reclaimed r3 gets reset" "true 0" \
    "$(http_body "$BASE/chat/listen?room=r3&since=2&timeout=0" | json_get '"%s %d" % (str(j["reset"]).lower(), len(j["events"]))')"
for r in r1 r2 r4; do
	eval "kill \$lp_$r" 2>/dev/null
done
fc_stop
fault_sanitizers "$tag"
fc_done
