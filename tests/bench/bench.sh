# shellcheck shell=bash disable=SC2034,SC2154
# tests/bench/bench.sh: sourced by run_listeners and run_peers.
#
# bench_build: sets $build (FCOMET_BUILD, or the tree through tests/build),
#   makes fcomet, loadgen and trivial there, refuses a sanitizer build.
# bench_nginx_start EXTRA_HTTP EXTRA_SERVER [LOAD_MODULE]: a private nginx on
#   127.0.0.1:$port (tests/webconf.sh's: 2 workers, worker_connections
#   20000, nginx/fcomet.conf at /chat/ on $T/fcomet.sock through the
#   upstream of fcomet-upstream.conf, keepalive BENCH_KEEPALIVE (1024);
#   BENCH_KEEPALIVE=0: one FastCGI connection a request).
# bench_fcomet_start [fcomet options]: fcomet on $T/fcomet.sock.
# bench_stop: everything this script started; trap it on EXIT.
# Everything lives in $T=/tmp/fcomet-bench-$$ on 127.0.0.1.

. "$(dirname "${BASH_SOURCE[0]}")/../webconf.sh"

T=/tmp/fcomet-bench-$$
port=${BENCH_PORT:-$((20000 + $$ % 20000))}
url=http://127.0.0.1:$port
fc_pid='' ng_pid='' tr_pid=''
name=bench-$$

bench_say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
bench_die() { bench_say "$*"; exit 2; }

bench_build() {
	if [ -n "${FCOMET_BUILD:-}" ]; then
		build=$FCOMET_BUILD
		[ -f "$build/Makefile" ] ||
		    bench_die "FCOMET_BUILD=$build has no Makefile (configure there first)"
	else
		build=$top
		"$top/tests/build" || bench_die "tests/build failed"
	fi
	if grep -q '^SAN_CFLAGS = .*sanitize' "$build/Makefile"; then
		bench_die "$build is a sanitizer build: benchmarks need a plain one, e.g.
  mkdir -p /tmp/build-bench && cd /tmp/build-bench && $top/configure -q && make -j2
  FCOMET_BUILD=/tmp/build-bench $0"
	fi
	make -s -C "$build" -j2 fcgi/fcomet ctl/fcometctl \
	    tests/bench/loadgen tests/bench/trivial >/dev/null ||
	    bench_die "make in $build failed"
	fcomet=$build/fcgi/fcomet
	loadgen=$build/tests/bench/loadgen
	trivial=$build/tests/bench/trivial
	fcometctl=$build/ctl/fcometctl
}

# Kills one process we started: TERM, then KILL after 5 s.
bench_kill() {
	local pid=$1 n
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((n = 0; n < 50; n++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

bench_stop() {
	trap '' INT TERM
	bench_kill "$ng_pid"; ng_pid=
	bench_kill "$fc_pid"; fc_pid=
	bench_kill "$tr_pid"; tr_pid=
	[ -n "${fcometctl:-}" ] && "$fcometctl" --name "$name" unlink >/dev/null 2>&1
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$T"
}

bench_wait_socket() {
	local path=$1 pid=$2 n
	for ((n = 0; n < 100; n++)); do
		[ -S "$path" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

bench_fcomet_start() {
	local as=()
	[ "$(id -u)" = 0 ] && as=(--user www-data)
	rm -f "$T/fcomet.sock"
	# loadgen's listeners all come from 127.0.0.1: no per-address cap
	"$fcomet" --socket "$T/fcomet.sock" --socket-mode 0666 --name "$name" \
	    --max-listeners-per-addr 0 "${as[@]}" "$@" </dev/null \
	    2>>"$T/fcomet.log" &
	fc_pid=$!
	bench_wait_socket "$T/fcomet.sock" "$fc_pid" ||
	    bench_die "fcomet did not start: $(tail -n 3 "$T/fcomet.log")"
	sleep 0.5		# the workers attach
	kill -0 "$fc_pid" 2>/dev/null ||
	    bench_die "fcomet exited: $(tail -n 3 "$T/fcomet.log")"
}

bench_fcomet_stop() { bench_kill "$fc_pid"; fc_pid=; }

bench_trivial_start() {
	"$trivial" --socket "$T/trivial.sock" "$@" </dev/null \
	    2>>"$T/trivial.log" &
	tr_pid=$!
	bench_wait_socket "$T/trivial.sock" "$tr_pid" ||
	    bench_die "trivial did not start"
}

# The master and its children, comma-separated.
bench_pids() {
	local pid=$1
	echo "$pid $(pgrep -P "$pid" | tr '\n' ' ')" | tr -s ' ' ',' |
	    sed 's/,$//'
}

bench_nginx_start() {
	local extra_http=$1 extra_server=$2 modules=${3:-} n
	# fcomet as nginx/fcomet.conf and fcomet-upstream.conf ship it, with
	# BENCH_KEEPALIVE (1024) idle kept connections per nginx worker;
	# BENCH_KEEPALIVE=0: one connection a request, the alternative they
	# describe.
	WEB_KEEPALIVE=${BENCH_KEEPALIVE:-1024} nginx_location /chat/ \
	    "$T/fcomet.sock" "$T/upstreams" >"$T/fcomet.conf"
	# reuseport: the kernel spreads the clients over both workers, so
	# neither holds more than its 20,000 descriptors.
	WEB_CONNECTIONS=20000 WEB_MODULES=$modules \
	    WEB_HTTP="keepalive_requests 1000000; keepalive_timeout 300s;
	$extra_http" nginx_conf "$T" "$T/upstreams" >"$T/nginx.conf" <<-EOF
	server {
		listen 127.0.0.1:$port backlog=8192 reuseport;
		server_name localhost;
		include fcomet.conf;
		$extra_server
	}
	EOF
	nginx_run "$T" ||
	    bench_die "nginx config: $(tail -n 5 "$T/error.log")"
	ng_pid=$WEB_PID
	for ((n = 0; n < 50; n++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		kill -0 "$ng_pid" 2>/dev/null || break
		sleep 0.1
	done
	bench_die "nginx did not start: $(tail -n 5 "$T/error.log")"
}

bench_setup() {
	command -v nginx >/dev/null || "$top/tests/deps" run ||
	    bench_die "nginx is missing (tests/deps run)"
	rm -rf "$T"
	mkdir -p "$T/tmp" || exit 2
	chmod 755 "$T"
	# Each parked listener holds a descriptor in nginx (two), fcomet and
	# loadgen: take the hard limit (20,000 here) for all of them.
	ulimit -n "$(ulimit -Hn)" || bench_die "cannot raise the fd limit"
	trap 'bench_stop' EXIT
	trap 'exit 130' INT TERM
}

# The value of KEY in a RESULT line.
bench_get() {
	local line=$1 key=$2
	sed -n "s/.* $key=\([^ ]*\).*/\1/p" <<<" ${line#RESULT }"
}
