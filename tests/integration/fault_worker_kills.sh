#!/bin/bash
# A random worker killed with SIGKILL every 2 s under load, through the
# web server (nginx, then Apache): 4 senders, 1,000 long-poll listeners
# re-polling with their cursor and 30 SSE streams resuming with theirs
# (retrying after an error, as the web client does).
# The issue asks for 2 minutes of this; CI runs ${FAULT_SECONDS:-40} s
# (FAULT_SECONDS=120 for the full run). Afterwards:
#  - at most 4 sends per kill failed (the sends a killed worker held: 4
#    accept threads), every acknowledged send is stored (fcometctl dump and
#    /listen?since=0 with a window that holds the whole test: --window
#    65536), ids contiguous from 1, nothing stored that was not sent
#    (a send whose worker died between storing and answering it is
#    stored twice: nginx sends it again, see nginx/fcomet.conf; at most
#    one a kill);
#  - every listener got every stored event exactly once, in order;
#  - the master replaced each killed worker within 5 s, still runs and
#    keeps 2 workers (its children, /status);
#  - no sanitizer report after a clean SIGTERM stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.inc"
secs=${FAULT_SECONDS:-40}
FC_TIMEOUT=${FC_TIMEOUT:-$((secs + 150))}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
fc_start --rate 0 --workers 2 --rooms 4 --window 65536
fc_web
tag=fault_worker_kills
kills=$((secs / 2))

timeout -k 5 $((secs + 120)) python3 "$top/tests/integration/faultload.py" load \
    --base "$BASE" --room lobby --tag "$tag$FC_TAG" --lp 1000 --sse 30 --senders 4 \
    --send-interval 0.02 --stop-file "$T/stop" --ready-file "$T/ready" \
    --max-send-failures $((kills * 4)) --max-duplicates "$kills" --park-wait 60 --deadline 40 \
    --acked-out "$T/acked.json" &
client=$!

fc_wait_for 900 test -e "$T/ready" || fail "$tag: listeners parked" "the client never got ready"
before=$(fault_workers)
check "$tag: 2 workers at the start" 2 "$(grep -c . <<<"$before")"
t0=$SECONDS
n=0 late=
replaced() { [ "$(fault_workers | grep -c .)" = 2 ] && ! fault_workers | grep -qx "$victim"; }
while [ "$n" -lt "$kills" ] && kill -0 "$client" 2>/dev/null; do
	sleep 2
	mapfile -t ws < <(fault_workers)
	[ "${#ws[@]}" -gt 0 ] || continue
	victim=${ws[RANDOM % ${#ws[@]}]}
	kill -KILL "$victim" 2>/dev/null || continue
	n=$((n + 1))
	fc_wait_for 50 replaced || late="$late $victim"
done
echo "# $tag: $n workers killed in $((SECONDS - t0)) s"
check "$tag: $kills kills under load" "$kills" "$n"
check "$tag: the master replaced every killed worker within 5 s (not replaced:)" "" "$late"
kill -0 "$client" 2>/dev/null || fail "$tag: the load lasted past the kills" "the client ended early"
touch "$T/stop"
wait "$client" || FC_FAILED=1

name="$tag: the master keeps 2 workers"
if fc_wait_for 50 eval '[ "$(fault_workers | grep -c .)" = 2 ]'; then
	pass "$name ($(fault_workers | tr '\n' ' '))"
else
	fail "$name" "children of the master: $(fault_workers | tr '\n' ' ')"
fi
check "$tag: /status workers" 2 "$(http_body "$BASE/chat/status" | json_get 'j["workers"]')"
check "$tag: the master is still running" yes \
    "$(kill -0 "$FC_PID" 2>/dev/null && echo yes || echo no)"

# The segment itself, read with fcometctl.
fault_ctl --json dump lobby >"$T/dump.json" || fail "$tag: fcometctl dump" "$(tail -n 3 "$T/ctl.log")"
why=$(python3 - "$T/dump.json" "$T/acked.json" <<-'EOF2'
	import json, sys
	evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	acked = json.load(open(sys.argv[2]))
	ids = [e["id"] for e in evs]
	if not ids or ids != list(range(1, len(ids) + 1)):
	    print(f"ids not contiguous from 1: {len(ids)} events, first {ids[:3]}, last {ids[-3:]}")
	texts = {str(e["id"]): e.get("text") for e in evs}
	lost = [i for i, t in acked.items() if texts.get(i) != t]
	if lost:
	    print(f"acknowledged sends missing: {lost[:5]} ({len(lost)})")
	EOF2
)
if [ -z "$why" ]; then
	pass "$tag: fcometctl dump: ids contiguous from 1, every acknowledged send stored ($(grep -c . "$T/dump.json") events)"
else
	fail "$tag: fcometctl dump: ids contiguous from 1, every acknowledged send stored" "$why"
fi
fc_stop
fault_sanitizers "$tag"
fc_done
