#!/bin/bash
# The responder as spawn-fcgi starts it (the listening socket on fd 0, no
# --socket), through the web server, taking 1,000 malformed or random
# requests (malformed.py: bad methods, garbage queries, bad %-escapes and
# UTF-8, bad bodies, truncated, oversized bodies and headers): each gets
# the right 4xx, fcomet's or the web server's own where it refuses a
# request itself. Afterwards nothing was stored and the same 2 workers
# serve (none crashed and was restarted); send stores contiguous ids,
# listen returns them, a parked long-poll wakes on a send within 2 s,
# fcometctl dump sees the segment, connections that send nothing are
# dropped, and SIGTERM ends it with exit 0 and no sanitizer report.
. "$(dirname "$0")/lib.sh"
fc_init
fc_need spawn-fcgi

sock=$T/fcomet.sock
grp=()
[ "$(id -u)" = 0 ] && grp=(-G www-data -u www-data -g www-data)	# nginx's workers are www-data; never run requests as root
# -n: no fork, spawn-fcgi execs fcomet with the bound socket as fd 0.
spawn-fcgi -s "$sock" -M 0660 "${grp[@]}" -n -- \
    "$FCOMET" --name "$FC_NAME" --rate 0 --workers 2 >>"$T/fcomet.log" 2>&1 </dev/null &
FC_PID=$!
FC_PIDS+=("$FC_PID")
if ! fc_wait_for 50 test -S "$sock"; then
	fail "spawn-fcgi creates the socket" "no $sock after 5 s"
	exit 1
fi
pass "spawn-fcgi creates the socket"
fc_web

# The workers come up after the socket; give them a moment.
fc_wait_for 50 test "$(http_status "$BASE/chat/status")" = 200
status=$(http_body "$BASE/chat/status")
check "status through the spawn-fcgi socket: 2 workers" 2 \
    "$(json_get 'j["workers"]' <<<"$status" 2>&1)"
workers() { ps -o pid= --ppid "$FC_PID" | sort | tr -d ' ' | tr '\n' ' '; }
before=$(workers)
events0=$(json_get 'j["events"]' <<<"$status" 2>&1)

python3 "$top/tests/integration/malformed.py" 127.0.0.1 "$PORT" 1000 "$FC_SERVER" ||
    FC_FAILED=1

status=$(http_body "$BASE/chat/status")
check "responder still has its 2 workers" 2 "$(json_get 'j["workers"]' <<<"$status" 2>&1)"
check "no worker was replaced" "$before" "$(workers)"
check "malformed requests stored nothing" "$events0" \
    "$(json_get 'j["events"]' <<<"$status" 2>&1)"

room=after
ids=
for t in one two three; do
	ids="$ids $(http_send "$room" ana "$t" | json_get 'j["id"]' 2>&1)"
done
check "send stores contiguous ids" " 1 2 3" "$ids"

body=$(http_body "$BASE/chat/listen?room=$room&since=1&timeout=0")
check "listen since=1 returns ids 2, 3" "[2, 3]" \
    "$(json_get '[e["id"] for e in j["events"]]' <<<"$body" 2>&1)"

# A long-poll parked in the responder wakes on a send.
http_body "$BASE/chat/listen?room=$room&timeout=10" >"$T/poll.out" &
poll=$!
sleep 0.7
http_send "$room" bo wake >/dev/null
start=$(date +%s%N)
fc_wait_gone "$poll" 50
took=$(( ($(date +%s%N) - start) / 1000000 ))
got=$(json_get '[(e["id"], e["text"]) for e in j["events"]]' <"$T/poll.out" 2>&1)
check "parked long-poll wakes on a send" '[[4, "wake"]]' "$got"
if [ "$took" -lt 2000 ]; then pass "long-poll answers within 2 s of the send"
else fail "long-poll answers within 2 s of the send" "${took} ms"; fi

if "$FCOMETCTL" --name "$FC_NAME" dump "$room" 2>&1 | grep -q wake; then
	pass "fcometctl dump sees the spawn-fcgi responder's segment"
else
	fail "fcometctl dump sees the spawn-fcgi responder's segment" \
	    "$("$FCOMETCTL" --name "$FC_NAME" dump "$room" 2>&1 | tail -n 3)"
fi

# Connections that never send a request (8: every accept thread of both
# workers) are dropped by the responder, and it goes on answering.
python3 - "$sock" >"$T/silent.out" 2>&1 <<'PY' &
import socket, sys, time
conns = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.settimeout(20)
    conns.append(s)
t0 = time.monotonic()
closed = 0
for s in conns:
    try:
        if s.recv(1) == b"":
            closed += 1
    except OSError:
        pass
print("closed", closed, "in", round(time.monotonic() - t0), "s")
PY
silent=$!
sleep 0.5
check "a request is answered beside 8 silent connections" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$BASE/chat/status")"
fc_wait_gone "$silent" 250
check "the responder drops connections that send nothing" "closed 8" \
    "$(cut -d' ' -f1-2 "$T/silent.out")"

kill -TERM "$FC_PID"
FC_RC=none
if fc_wait_gone "$FC_PID" 30; then
	pass "SIGTERM ends the spawn-fcgi responder within 3 s"
else
	fail "SIGTERM ends the spawn-fcgi responder within 3 s" "still running"
fi
check "responder exits 0 on SIGTERM" 0 "$FC_RC"
if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$T/fcomet.log"; then
	fail "no sanitizer report in the responder's log" \
	    "$(grep -m3 -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$T/fcomet.log")"
else
	pass "no sanitizer report in the responder's log"
fi
fc_done
