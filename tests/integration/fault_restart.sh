#!/bin/bash
# The responder restarted twice (SIGTERM, then started again on the same
# socket and segment) under load, through the web server (nginx, then Apache): 4 senders, 200
# long-poll and 20 SSE listeners retrying with their cursor after an error
# (as the web client does). Sends may fail only while it is down (bounded
# below); afterwards:
#  - history kept: the events stored before each restart are served after
#    it unchanged (fcometctl dump before = the same ids of /listen since=0
#    after); ids contiguous from 1; every acknowledged send stored;
#  - every listener got every stored event exactly once, in order, with no
#    gap and no reset (the segment outlives the responder);
#  - each SIGTERM stop is clean (exit within 5 s) and leaves no sanitizer
#    report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.inc"
FC_TIMEOUT=${FC_TIMEOUT:-240}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
opts=(--rate 0 --workers 2 --rooms 4 --window 65536)
fc_start "${opts[@]}"
fc_web
tag=fault_restart

# A sender retries 20 times a second while the responder is down (at most
# ~5 s a restart): 4 senders x 2 restarts x 5 s x 20.
timeout -k 5 200 python3 "$top/tests/integration/faultload.py" load \
    --base "$BASE" --room lobby --tag "$tag$FC_TAG" --lp 200 --sse 20 --senders 4 \
    --send-interval 0.02 --stop-file "$T/stop" --ready-file "$T/ready" \
    --max-send-failures 800 --park-wait 60 --deadline 40 &
client=$!
fc_wait_for 900 test -e "$T/ready" || fail "$tag: listeners parked" "the client never got ready"

for round in 1 2; do
	sleep 4
	fault_ctl --json dump lobby >"$T/before$round.json"
	n=$(grep -c . "$T/before$round.json")
	t0=$EPOCHREALTIME
	fc_stop && pass "$tag: restart $round: SIGTERM stop under load within 5 s ($n events stored)"
	fc_start "${opts[@]}"
	t1=$EPOCHREALTIME
	echo "# $tag: restart $round: down $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$t1") s"
	[ "$n" -gt 0 ] || fail "$tag: restart $round: events stored before it" "none"
done
sleep 4
kill -0 "$client" 2>/dev/null || fail "$tag: the load lasted past the restarts" "the client ended early"
touch "$T/stop"
wait "$client" || FC_FAILED=1

http_body "$BASE/chat/listen?room=lobby&since=0&timeout=0" >"$T/after.json"
for round in 1 2; do
	why=$(python3 - "$T/before$round.json" "$T/after.json" <<-'EOF2'
	import json, sys
	before = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	after = {e["id"]: e for e in json.load(open(sys.argv[2]))["events"]}
	bad = [e["id"] for e in before if after.get(e["id"]) != e]
	if bad:
	    print(f"{len(bad)} of {len(before)} differ or are gone: {bad[:5]}")
	EOF2
	)
	if [ -z "$why" ]; then
		pass "$tag: the $(grep -c . "$T/before$round.json") events stored before restart $round are served unchanged after"
	else
		fail "$tag: the events stored before restart $round are served unchanged after" "$why"
	fi
done
check "$tag: /status workers" 2 "$(http_body "$BASE/chat/status" | json_get 'j["workers"]')"
fc_stop
fault_sanitizers "$tag"
fc_done
