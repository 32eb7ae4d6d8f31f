#!/bin/bash
# memcached mode over two memcached servers (--memcached A,B): keys are
# spread by libmemcached's consistent hashing, so with B stopped the rooms
# whose keys B held answer 503 unavailable and store nothing, the others
# keep working, and once B is back every room works again. Through nginx and Apache.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-120}
fc_init
fc_need memcached
read -r P1 P2 < <(fc_free_ports 2)
mc() {	# mc PORT: a memcached on it; its pid in MC_PID
	memcached -l 127.0.0.1 -p "$1" -U 0 -u nobody >>"$T/memcached.log" 2>&1 </dev/null &
	MC_PID=$!
	FC_PIDS+=("$MC_PID")
	fc_wait_for 50 fc_port_open "$1" || { fail "start memcached on $1"; exit 1; }
}
mc "$P1"
mc "$P2"; B=$MC_PID
fc_start --rate 0 --workers 2 --rooms 64 --memcached "127.0.0.1:$P1,127.0.0.1:$P2"
fc_web
codes() {	# codes TAG: one send to each of 24 rooms, their codes
	local i
	for i in $(seq 24); do
		curl -s -o /dev/null -w '%{http_code} ' -d "room=k$i&nick=a&text=$1" \
		    "$BASE/chat/send"
	done
}
all=$(codes before)
check "two servers: every room takes a send" 24 "$(grep -o 200 <<<"$all" | wc -l)"
kill "$B"; fc_wait_gone "$B" 50
down=$(codes down)
n200=$(grep -o 200 <<<"$down" | wc -l) n503=$(grep -o 503 <<<"$down" | wc -l)
echo "# with B stopped: $n200 rooms 200, $n503 rooms 503 ($down)"
check "B down: some rooms answer 503, the others 200, nothing else" yes \
    "$([ "$n200" -gt 0 ] && [ "$n503" -gt 0 ] && [ $((n200 + n503)) -eq 24 ] && echo yes || echo "$down")"
ok_room=$(awk '{ for (i = 1; i <= NF; i++) if ($i == 200) { print "k" i; exit } }' <<<"$down")
check "a room on A goes on: its ids 1, 2" "1 2" \
    "$(curl -s "$BASE/chat/listen?room=$ok_room&since=0&timeout=0" |
    json_get '" ".join(str(e["id"]) for e in j["events"])')"
mc "$P2"
sleep 1
again=$(codes again)
check "B back: every room takes a send again" 24 "$(grep -o 200 <<<"$again" | wc -l)"
fc_done
