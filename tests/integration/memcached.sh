#!/bin/bash
# memcached mode, two hosts: two responders with their own segments
# (test-PID-a, test-PID-b), each behind its own private nginx or Apache (ports $PORT
# and $PORT2), sharing one real memcached on a free loopback port, all with
# --rate 0. The cases (tests/integration/mcload.py does the HTTP):
#   cross   a message sent on A reaches a listener on B, and the reverse
#   fanout  4 senders x 1,000 over both hosts: ids exactly 1..4000, every
#           long-poll and SSE listener on each host gets all, in order, once
#   outage  memcached stopped under load: 503 unavailable, nothing stored,
#           /status 503 "memcached":"down" at once, listeners stay; started
#           again: sends and deliveries resume within 2 s, no id twice
#   takeid  an id taken and never stored (fcometctl take-id): a gap on both
#           hosts within 2 s + a relay tick, later events arrive
#   evict   memcached -m 1 evicting what B's (paused) relay has not read:
#           gaps, never a hang, deliveries continue
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-240}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fc_init
fc_need memcached
read -r MCPORT < <(fc_free_ports 1)
MC=127.0.0.1:$MCPORT
NA=$FC_NAME-a
NB=$FC_NAME-b
load=$top/tests/integration/mcload.py

# $T/mc.sh start [memcached options] | stop: the one memcached, its pid in
# $T/mc.pid; start waits for the port, stop for the process to end.
cat >"$T/mc.sh" <<EOF
#!/bin/bash
gone() { ! kill -0 "\$1" 2>/dev/null ||
    case \$(ps -o stat= -p "\$1") in Z*) true ;; *) false ;; esac; }
case \$1 in
start)
	shift
	memcached -l 127.0.0.1 -p $MCPORT -U 0 -u nobody "\$@" \\
	    >>"$T/memcached.log" 2>&1 </dev/null &
	echo \$! >"$T/mc.pid"
	for _ in \$(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/$MCPORT) 2>/dev/null && exit 0
		sleep 0.1
	done
	echo "memcached not listening on $MCPORT" >&2; exit 1 ;;
stop)
	[ -s "$T/mc.pid" ] || exit 0
	pid=\$(cat "$T/mc.pid"); rm -f "$T/mc.pid"
	kill -TERM "\$pid" 2>/dev/null
	for _ in \$(seq 50); do gone "\$pid" && exit 0; sleep 0.1; done
	kill -KILL "\$pid" 2>/dev/null; exit 0 ;;
esac
EOF
chmod +x "$T/mc.sh"
trap 'rc=$?; "$T/mc.sh" stop; (exit $rc); fc_cleanup' EXIT

"$T/mc.sh" start || { fail "start memcached on $MCPORT"; exit 1; }
opts=(--rate 0 --workers 2 --rooms 16 --window 4096 --memcached "$MC" ${MC_DEBUG:+--debug})
fc_spawn "$T/a.sock" "$NA" "${opts[@]}"; PID_A=$FC_SPAWNED
fc_spawn "$T/b.sock" "$NB" "${opts[@]}"; PID_B=$FC_SPAWNED
fc_web "$T/web-a" "$PORT" "$T/a.sock"
fc_web "$T/web-b" "$PORT2" "$T/b.sock"
A=http://127.0.0.1:$PORT
B=http://127.0.0.1:$PORT2
HOSTS=$A,$B

for b in "$A" "$B"; do
	body=$(http_body "$b/chat/status")
	check "memcached: /status of $b says store memcached, memcached up" \
	    "memcached up" "$(json_get 'j["store"] + " " + j["memcached"]' <<<"$body")"
done

# run CASE SECONDS [mcload options]: one case, bounded; MC_CASES="a b"
# runs only those.
MC_CASES=${MC_CASES:-cross fanout outage takeid evict}
run() {
	local c=$1 s=$2
	shift 2
	case " $MC_CASES " in *" $c "*) ;; *) return 0 ;; esac
	timeout -k 5 "$s" python3 "$load" "$c" --hosts "$HOSTS" \
	    --deadline "$((s - 10))" "$@"
	case $? in
	0) ;;
	124|137) fail "memcached: $c" "did not end within $s s" ;;
	*) FC_FAILED=1 ;;
	esac
}

run cross 30 --room cross
run fanout 90 --room fanout --senders 4 --messages 1000 --lp 3 --sse 3
run outage 40 --room outage --mc-stop "$T/mc.sh stop" --mc-start "$T/mc.sh start"
run takeid 40 --room takeid --rounds 3 \
    --take-cmd "$FCOMETCTL --name $NA --memcached $MC take-id takeid"

# evict: a memcached that holds ~450 events of 2 KB; B's relay is paused
# while A stores 1,500, so what B has not read yet is evicted.
"$T/mc.sh" stop
"$T/mc.sh" start -m 1 -I 512k || fail "memcached -m 1 starts"
relay_b=
for c in $(pgrep -P "$PID_B"); do	# the relay: the one single-threaded child
	grep -q '^Threads:[[:space:]]*1$' "/proc/$c/status" 2>/dev/null && relay_b=$c
done
if [ -z "$relay_b" ]; then
	fail "memcached: evict: find B's relay" "children: $(pgrep -P "$PID_B" | tr '\n' ' ')"
else
	run evict 60 --room evict --senders 8 --messages 1500 --text-bytes 1900 \
	    --mc-port "$MCPORT" --pause-cmd "kill -STOP $relay_b" \
	    --resume-cmd "kill -CONT $relay_b"
fi

# MC_HOLD=S: keep everything running S seconds more, to look at it.
[ -n "${MC_HOLD:-}" ] && { echo "holding: $T A=$PID_A B=$PID_B memcached $MC"; sleep "$MC_HOLD"; }
for p in "$PID_A" "$PID_B"; do
	check "memcached: responder $p still running" yes \
	    "$(kill -0 "$p" 2>/dev/null && echo yes || echo no)"
done
fc_done
