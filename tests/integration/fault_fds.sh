#!/bin/bash
# File descriptors exhausted: fcomet started with a soft limit of 64 open
# files (2 workers), through the web server (nginx, then Apache), and 300 long-poll listeners
# opened, more than the workers can hold. While exhausted:
#  - new requests (/send, /status, /listen) fail cleanly: each answers
#    within 5 s with a 5xx (from nginx or the responder) or is served,
#    never hangs;
#  - nothing crashes: the worker pids stay the same, the master runs.
# Once the listeners close, the responder recovers by itself within 10 s:
# /send 200 with the next id, /listen serves the room, its fd count goes
# back down. No sanitizer report after a clean SIGTERM stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.inc"
FC_TIMEOUT=${FC_TIMEOUT:-240}
ulimit -n 20000 || ulimit -n "$(ulimit -Hn)"
fc_init
tag=fault_fds
# fcomet raises its soft limit to the hard one unless told (a parked
# listener is an fd).
# Apache notices a client gone only at its next ping: ping often.
ping=()
[ "$FC_SERVER" = apache ] && ping=(--ping 2)
fc_start --rate 0 --workers 2 --rooms 4 --max-fds 64 "${ping[@]}"
fc_web

fds() { ls "/proc/$1/fd" | wc -l; }
before=$(fault_workers)
check "$tag: 2 workers" 2 "$(grep -c . <<<"$before")"
for p in $before; do
	lim=$(awk '/Max open files/ { print $4 }' "/proc/$p/limits")
	check "$tag: worker $p runs with 64 open files at most" 64 "$lim"
	echo "# $tag: worker $p: $(fds "$p") fds at rest"
done
check "$tag: send before" 1 "$(http_send lobby ana before | json_get 'j["id"]')"

timeout -k 5 200 python3 "$top/tests/integration/faultload.py" hold \
    --base "$BASE" --room lobby --n 300 --since 1 --lp-timeout 100 \
    --stop-file "$T/stop" --out "$T/hold.json" &
holder=$!
# Exhausted: the workers' fd counts stop growing near 64.
full() {
	local p
	for p in $before; do [ "$(fds "$p")" -ge 60 ] || return 1; done
}
if fc_wait_for 300 full; then
	pass "$tag: the listeners exhaust both workers' fds ($(for p in $before; do echo -n "$(fds "$p") "; done)open)"
else
	fail "$tag: the listeners exhaust both workers' fds" "$(for p in $before; do echo -n "$(fds "$p") "; done)open"
fi
sleep 1
echo "# $tag: /status while exhausted: $(curl -s --max-time 6 "$BASE/chat/status")"

# clean NAME CURL-ARGS...: answered within 5 s, 5xx or 200.
clean() {
	local name=$1 r code t
	shift
	r=$(curl -s -o "$T/body" -w '%{http_code} %{time_total}' --max-time 10 "$@")
	code=${r%% *} t=${r#* }
	if [ $(( ${t%.*} * 1000000 + 10#${t#*.} )) -le 5000000 ] &&
	    { [ "$code" = 200 ] || [ "${code:0:1}" = 5 ]; }; then
		pass "$tag: exhausted: $name fails cleanly or is served ($code in $t s)"
	else
		fail "$tag: exhausted: $name fails cleanly or is served within 5 s" "$code after $t s: $(head -c 200 "$T/body" 2>/dev/null)"
	fi
}
clean "/send" "$BASE/chat/send" --data-urlencode room=lobby \
    --data-urlencode nick=ana --data-urlencode "text=while exhausted"
clean "/status" "$BASE/chat/status"
clean "/listen timeout=0" "$BASE/chat/listen?room=lobby&since=0&timeout=0"
check "$tag: exhausted: the same workers" "$(echo $before)" "$(echo $(fault_workers))"

touch "$T/stop"
wait "$holder"
echo "# $tag: the 300 listeners: $(cat "$T/hold.json" 2>/dev/null)"
recovered() { [ "$(http_status "$BASE/chat/status" --max-time 2)" = 200 ]; }
if fc_wait_for 100 recovered; then
	pass "$tag: after the listeners close, /status answers 200 again"
else
	fail "$tag: after the listeners close, /status answers 200 again" "$(http_status "$BASE/chat/status" --max-time 2)"
fi
body=$(http_send lobby ana after)
last=$(http_body "$BASE/chat/listen?room=lobby&since=0&timeout=0")
ids=$(json_get '" ".join(str(e["id"]) for e in j["events"])' <<<"$last")
texts=$(json_get '" ".join(e["text"] for e in j["events"])' <<<"$last")
# The send while exhausted may have been stored (if it was served).
case "$texts" in
"before after"|"before while exhausted after")
	id=$(json_get 'j["id"]' <<<"$body")
	check "$tag: recovered: /send answers the next id, ids contiguous" "$ids" \
	    "$(seq -s ' ' 1 "$id")" ;;
*)	fail "$tag: recovered: the room holds what was acknowledged" "texts: $texts, send: $body" ;;
esac
check "$tag: recovered: the same workers, none crashed" "$(echo $before)" "$(echo $(fault_workers))"
settled() {
	local p
	for p in $before; do [ "$(fds "$p")" -le 30 ] || return 1; done
}
if fc_wait_for 100 settled; then
	pass "$tag: recovered: the workers' fds back down ($(for p in $before; do echo -n "$(fds "$p") "; done)open)"
else
	fail "$tag: recovered: the workers' fds back down" "$(for p in $before; do echo -n "$(fds "$p") "; done)open"
fi
fc_stop
fault_sanitizers "$tag"
fc_done
