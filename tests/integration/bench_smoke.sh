#!/bin/bash
# tests/bench/loadgen against fcomet only, as a smoke test (<= 15 s): 100
# long-poll and 100 SSE listeners on one room each, 10 messages at 20/s,
# through a private nginx (fc_start --rate 0 --workers 2, fc_nginx). Every
# listener must get every message exactly once: 0 missed, 0 duplicated, all
# parked. Builds loadgen itself in FCOMET_BUILD (default: the repository
# root) with `make tests/bench/loadgen`.
# tests/run: alone (its load takes the machine)
. "$(dirname "$0")/lib.sh"
fc_nginx_only "the benches are nginx-shaped (tests/bench/README); run_apache measures Apache"
FC_TIMEOUT=${FC_TIMEOUT:-30}
fc_init
build=${FCOMET_BUILD:-$top}
if ! make -s -C "$build" tests/bench/loadgen >"$T/make.log" 2>&1; then
	fail "bench_smoke: make tests/bench/loadgen in $build" \
	    "$(tail -n 3 "$T/make.log")"
	fc_done
fi
LOADGEN=$build/tests/bench/loadgen
fc_start --rate 0 --workers 2
fc_nginx

# smoke MODE: one loadgen run; checks its RESULT line.
smoke() {
	local mode=$1 out=$T/loadgen-$1.out rc line v k
	timeout -k 2 8 "$LOADGEN" --url "$BASE/chat" --mode "$mode" \
	    --listeners 100 --messages 10 --rate 20 --room "smoke-$mode-$$" \
	    --max-seconds 6 --drain 3 --settle 0.2 \
	    >"$out" 2>&1
	rc=$?
	line=$(grep '^RESULT ' "$out")
	if [ -z "$line" ]; then
		fail "bench_smoke $mode: loadgen result" \
		    "exit $rc: $(tail -n 3 "$out" | tr '\n' ' ')"
		return
	fi
	for k in missed dup id_mismatch; do
		v=$(sed -n "s/.* $k=\([^ ]*\).*/\1/p" <<<" ${line#RESULT }")
		check "bench_smoke $mode: $k" 0 "$v"
	done
	v=$(sed -n 's/.* delivered=\([^ ]*\).*/\1/p' <<<" ${line#RESULT }")
	check "bench_smoke $mode: delivered" 1000 "$v"
	v=$(sed -n 's/.* all_parked=\([^ ]*\).*/\1/p' <<<" ${line#RESULT }")
	check "bench_smoke $mode: all 100 parked" 1 "$v"
	check "bench_smoke $mode: loadgen exit" 0 "$rc"
	[ "$rc" = 0 ] || sed 's/^/  /' "$out"
}
# loadgen counts its listeners as /status's less those before it began:
# the long-polls' must be gone before the SSE run.
no_listeners() {
	http_body "$BASE/chat/status" | grep -q '"listeners":0[,}]'
}
smoke lp
fc_wait_for 30 no_listeners ||
    fail "bench_smoke: the long-poll listeners are gone after 3 s"
smoke sse
fc_stop
fc_done
