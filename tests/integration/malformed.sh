#!/bin/bash
# 1,000 malformed or random requests through the web server (malformed.py: bad
# methods, garbage queries, bad %-escapes and UTF-8, bad bodies, truncated,
# oversized bodies and headers) each get the right 4xx, fcomet's or the
# web server's own where it refuses a request itself; afterwards nothing
# was stored, send/listen still work with contiguous ids, the responder has
# the same workers (none crashed and was restarted) and no sanitizer report.
. "$(dirname "$0")/lib.sh"
fc_init
fc_start --rate 0 --workers 2
fc_web

workers() { ps -o pid= --ppid "$FC_PID" | sort | tr -d ' ' | tr '\n' ' '; }
fc_wait_for 50 test "$(http_status "$BASE/chat/status")" = 200
before=$(workers)
events0=$(http_body "$BASE/chat/status" | json_get 'j["events"]' 2>&1)

python3 "$top/tests/integration/malformed.py" 127.0.0.1 "$PORT" 1000 "$FC_SERVER" ||
    FC_FAILED=1

status=$(http_body "$BASE/chat/status")
check "responder still has its 2 workers" 2 "$(json_get 'j["workers"]' <<<"$status" 2>&1)"
check "no worker was replaced" "$before" "$(workers)"
check "malformed requests stored nothing" "$events0" \
    "$(json_get 'j["events"]' <<<"$status" 2>&1)"

ids=
for i in 1 2 3 4 5; do
	ids="$ids $(http_send after ana "m$i" | json_get 'j["id"]' 2>&1)"
done
check "send still works with contiguous ids" " 1 2 3 4 5" "$ids"
body=$(http_body "$BASE/chat/listen?room=after&since=0&timeout=0")
check "listen still returns them in order" "[1, 2, 3, 4, 5]" \
    "$(json_get '[e["id"] for e in j["events"]]' <<<"$body" 2>&1)"
http_body "$BASE/chat/listen?room=after&timeout=10" >"$T/poll.out" &
poll=$!
sleep 0.5
http_send after bo wake >/dev/null
fc_wait_gone "$poll" 50
check "a long-poll still wakes on a send" "[6]" \
    "$(json_get '[e["id"] for e in j["events"]]' <"$T/poll.out" 2>&1)"

if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$T/fcomet.log"; then
	fail "no sanitizer report in the responder's log" \
	    "$(grep -m3 -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$T/fcomet.log")"
else
	pass "no sanitizer report in the responder's log"
fi
fc_stop
fc_done
