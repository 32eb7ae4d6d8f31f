#!/bin/bash
# memcached mode with wake-ups (--peers, --wake-listen): three hosts (A,
# B, C: responders with their own segments, one real memcached, one
# private nginx or Apache with a location per host), then two more with a lost
# wake-up; cases in wake.py. A datagram from an address not in --peers,
# or naming a room memcached does not know, makes nothing.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-240}
fc_init
fc_need memcached
read -r MCPORT WA WB WC WY DEAD < <(fc_free_ports 6)
MC=127.0.0.1:$MCPORT
memcached -l 127.0.0.1 -p "$MCPORT" -U 0 -u nobody >>"$T/memcached.log" 2>&1 </dev/null &
FC_PIDS+=("$!")
fc_wait_for 50 fc_port_open "$MCPORT" || { fail "start memcached"; exit 1; }

opts=(--rate 0 --workers 2 --rooms 64 --memcached "$MC")
host() {	# host NAME WAKEPORT PEERPORTS TICK
	local peers=() p
	for p in $3; do peers+=("127.0.0.1:$p"); done
	fc_spawn "$T/$1.sock" "$FC_NAME-$1" "${opts[@]}" --relay-tick "$4" \
	    --wake-listen "127.0.0.1:$2" \
	    --peers "$(IFS=,; echo "${peers[*]}")"
	fc_location "/$1/chat/" "$T/$1.sock"
}
host a "$WA" "$WB $WC" 30000
host b "$WB" "$WA $WC" 30000
host c "$WC" "$WA $WB" 30000
host x "$DEAD" "$DEAD" 200	# its wake-ups go where nothing reads
host y "$WY" "$DEAD" 200
fc_web
H="$BASE/a/chat $BASE/b/chat $BASE/c/chat"
# shellcheck disable=SC2086
/usr/bin/python3 "$top/tests/integration/wake.py" fast $H || FC_FAILED=1
# shellcheck disable=SC2086
/usr/bin/python3 "$top/tests/integration/wake.py" three $H || FC_FAILED=1
/usr/bin/python3 "$top/tests/integration/wake.py" lost "$BASE/x/chat" \
    "$BASE/y/chat" || FC_FAILED=1

# Forged wake-ups: from 127.0.0.2 (not a peer), and from a peer's address
# for a room memcached has no counter for: neither makes a room on B. One
# naming a room B has with an id far ahead ("ROOM ID") costs B nothing:
# the ids it names are not there, so B marks none of them as never coming,
# and the next real send arrives in order.
send_a() {
	curl -s -o /dev/null -w '%{http_code}' --data-urlencode "room=known" \
	    --data-urlencode nick=n --data-urlencode "text=$1" \
	    "$BASE/a/chat/send"
}
check "wake: a send on A for the forged-id case" 200 "$(send_a first)"
sleep 0.3
/usr/bin/python3 - "$WB" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 0))
s.sendto(b"forged-far 1", ("127.0.0.1", port))
t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t.sendto(b"forged-near 1", ("127.0.0.1", port))
t.sendto(b"not a room! 1", ("127.0.0.1", port))
t.sendto(b"known 200", ("127.0.0.1", port))
t.sendto(b"known", ("127.0.0.1", port))
PY
sleep 1.5
rooms=$("$FCOMETCTL" --name "$FC_NAME-b" rooms)
check "wake: a datagram from an address not in --peers makes nothing" no \
    "$(grep -q forged-far <<<"$rooms" && echo yes || echo no)"
check "wake: nor one for a room memcached does not know" no \
    "$(grep -q forged-near <<<"$rooms" && echo yes || echo no)"
check "wake: a send on A after the forged id" 200 "$(send_a second)"
got=$(curl -s "$BASE/b/chat/listen?room=known&since=1&timeout=3")
check "wake: a forged id ahead costs B nothing: id 2 arrives, no gap" \
    '[2] second False' "$(/usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print([e["id"] for e in j["events"]], j["events"][0]["text"] if j["events"]
      else "", j["gap"])' "$got")"
check "wake: B still serves" 200 "$(http_status "$BASE/b/chat/status")"
fc_done
