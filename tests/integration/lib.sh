# shellcheck shell=bash
# tests/integration/lib.sh: sourced by every integration test.
#
#	. "$(dirname "$0")/lib.sh"
#	fc_init
#	fc_start --rate 0
#	fc_nginx			# or fc_apache; sets BASE
#	[ "$(http_status "$BASE/chat/status")" = 200 ] && pass status || fail status
#	fc_done
#
# fc_init makes a private directory $T, name $FC_NAME, ports $PORT and
# $PORT2, and a trap that stops everything started and unlinks the segment.
# FCOMET_BUILD=/tmp/build-x runs the binaries of an out-of-tree build.
# FC_TIMEOUT (default 300) bounds the whole script; FC_KEEP=1 keeps $T.
#
# Functions: fc_init, fc_start [opts], fc_stop, fc_spawn SOCK NAME [opts]
# (a second responder, stopped and unlinked at exit), fc_nginx (extra
# server{} directives in FC_NGINX_EXTRA, http{} ones in
# FC_NGINX_HTTP_EXTRA; FC_NGINX_NOKEEP=1: one FastCGI connection a request
# instead of the shipped kept ones), fc_nginx_location PREFIX SOCK
# [DIRECTIVES] (nginx/fcomet.conf moved, its upstream in $T/upstreams/),
# fc_location PREFIX SOCK (a responder at PREFIX of whichever server),
# fc_apache (extra config in
# FC_APACHE_EXTRA), fc_need BINARY, fc_wait_for TENTHS CMD..., fc_wait_gone
# PID TENTHS, fc_port_open PORT; results: pass, fail, check NAME WANT GOT,
# fc_done; HTTP: http_status, http_body, http_send ROOM NICK TEXT, json_get.

. "$(dirname "${BASH_SOURCE[0]}")/../webconf.sh"

FC_FAILED=0
FC_PIDS=()		# everything to stop at exit, in order
FC_NAMES=()		# segments to unlink at exit

fc_init() {
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	T=$(mktemp -d /tmp/fcomet-test.XXXXXX) || exit 1
	chmod 755 "$T"		# web server workers reach the socket in here
	FC_NAME=test-$$
	FC_NAMES+=("$FC_NAME")
	FCOMET=${FCOMET_BUILD:-$top}/fcgi/fcomet
	FCOMETCTL=${FCOMET_BUILD:-$top}/ctl/fcometctl
	read -r PORT PORT2 < <(fc_free_ports 2)
	trap fc_cleanup EXIT
	trap 'exit 143' TERM INT HUP
	# The watchdog's sleep keeps no pipe open; killed at cleanup.
	( sleep "${FC_TIMEOUT:-300}" >/dev/null 2>&1 </dev/null
	  echo "FAIL: $(basename "$0") - hard timeout ${FC_TIMEOUT:-300}s"
	  kill -TERM $$ ) &
	FC_WATCHDOG=$!
	local b
	for b in "$FCOMET" "$FCOMETCTL"; do
		[ -x "$b" ] && continue
		fail setup "$b is not built (tests/build, or FCOMET_BUILD=dir)"
		exit 1
	done
}

# fc_free_ports N: N distinct loopback ports free for TCP and UDP.
# Below the kernel's ephemeral range (32768-60999): a port the kernel
# handed out for bind(0) may meanwhile be the local port of some outgoing
# connection, and a server started on it fails with EADDRINUSE.
fc_free_ports() {
	# shellcheck disable=SC2086
	python3 - "$1" ${FC_PORT_RANGE:-20000 32000} <<-'EOF'
	import random, socket, sys
	got = []
	lo, hi = (int(p) for p in sys.argv[2:4])
	for port in random.sample(range(lo, hi), 200):
	    if len(got) == int(sys.argv[1]):
	        break
	    t, u = socket.socket(), socket.socket(type=socket.SOCK_DGRAM)
	    try:
	        t.bind(("127.0.0.1", port))
	        u.bind(("127.0.0.1", port))
	        got.append(port)
	    except OSError:
	        pass
	    t.close()
	    u.close()
	print(" ".join(map(str, got)))
	EOF
}

fc_cleanup() {
	local rc=$? i pid
	kill "$FC_WATCHDOG" 2>/dev/null
	for ((i = ${#FC_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${FC_PIDS[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		fc_wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null
	done
	# Every responder stopped with SIGTERM has run LeakSanitizer: no
	# report (leak, address, undefined behaviour) may be in any log.
	if [ -n "${T:-}" ] && grep -l -E 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' \
	    "$T"/*.log >/dev/null 2>&1; then
		echo "FAIL: no sanitizer report in the logs of this test"
		grep -h -A 12 -E 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' \
		    "$T"/*.log | head -n 40
		rc=1
	fi
	if [ -x "${FCOMETCTL:-}" ]; then
		for i in "${FC_NAMES[@]}"; do
			"$FCOMETCTL" --name "$i" unlink >/dev/null 2>&1
		done
	fi
	if [ "$FC_FAILED" -ne 0 ] && [ -n "${T:-}" ]; then
		# Leave the evidence in the test's output.
		for i in "$T"/*.log "$T"/*/error.log; do
			[ -s "$i" ] || continue
			# warnings first: a worker's death is one line among many
			grep -E 'level=(warn|error)' "$i" | tail -n 10 | sed 's/^/--- warn: /'
			echo "--- $i (last lines)"; tail -n 20 "$i"
		done
	fi
	[ -n "${T:-}" ] && [ -z "${FC_KEEP:-}" ] && rm -rf "$T"
	exit "$rc"
}

# fc_wait_gone PID TENTHS: wait up to TENTHS/10 s for PID to end; sets FC_RC.
fc_wait_gone() {
	local n=0
	while kill -0 "$1" 2>/dev/null; do
		[ "$n" -ge "$2" ] && return 1
		# A child of ours stays a zombie until reaped.
		case $(ps -o stat= -p "$1" 2>/dev/null) in Z*) break ;; esac
		sleep 0.1; n=$((n + 1))
	done
	wait "$1" 2>/dev/null
	FC_RC=$?		# its exit status, if it was our child
	return 0
}

# fc_wait_for TENTHS CMD...: run CMD every 0.1 s until it succeeds.
fc_wait_for() {
	local n=0 max=$1
	shift
	until "$@"; do
		[ "$n" -ge "$max" ] && return 1
		sleep 0.1; n=$((n + 1))
	done
}

fc_port_open() {	# fc_port_open PORT: is 127.0.0.1:PORT accepting?
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# fc_spawn SOCK NAME [fcomet options]: start a responder on unix socket
# SOCK with segment NAME; sets FC_SPAWNED to its pid. Stopped at exit.
fc_spawn() {
	local sock=$1 name=$2 pid
	shift 2
	rm -f "$sock"
	# As root the web server's workers run as www-data: give them the
	# socket's group (fcomet never makes a socket world-accessible).
	local grp=() cap=()
	[ "$(id -u)" = 0 ] && grp=(--user www-data --socket-group www-data)
	# Every client of a test comes from 127.0.0.1: no cap on what one
	# address parks unless the test asks for one (addr_cap.inc does).
	case " $* " in *" --max-listeners-per-addr "*) ;;
	*) cap=(--max-listeners-per-addr 0) ;; esac
	"$FCOMET" --socket "$sock" "${grp[@]}" "${cap[@]}" --name "$name" "$@" \
	    >>"$T/fcomet.log" 2>&1 </dev/null &
	pid=$!
	FC_PIDS+=("$pid")
	case " ${FC_NAMES[*]} " in *" $name "*) ;; *) FC_NAMES+=("$name") ;; esac
	if ! fc_wait_for 50 test -S "$sock"; then
		fail "start fcomet $*" "no socket $sock after 5 s"
		tail -n 20 "$T/fcomet.log"
		exit 1
	fi
	FC_SPAWNED=$pid
}

# fc_start [fcomet options]: the test's responder on $T/fcomet.sock.
fc_start() {
	fc_spawn "$T/fcomet.sock" "$FC_NAME" "$@"
	FC_PID=$FC_SPAWNED
}

# fc_stop: SIGTERM the responder and wait for it (fails after 5 s).
fc_stop() {
	[ -n "${FC_PID:-}" ] || return 0
	kill -TERM "$FC_PID" 2>/dev/null
	if ! fc_wait_gone "$FC_PID" 50; then
		fail "fcomet stops on SIGTERM" "pid $FC_PID still running after 5 s"
		kill -KILL "$FC_PID" 2>/dev/null
		wait "$FC_PID" 2>/dev/null
		FC_PID=
		return 1
	fi
	FC_PID=
}

# fc_nginx_location PREFIX SOCK [DIRECTIVES]: webconf.sh's nginx_location,
# its upstream in $T/upstreams/ (every nginx of these tests includes
# that). FC_NGINX_NOKEEP=1: straight to SOCK, one connection a request.
fc_nginx_location() {
	WEB_KEEPALIVE=${FC_NGINX_NOKEEP:+0} nginx_location "$1" "$2" \
	    "$T/upstreams" "${3:-}"
}

# fc_location PREFIX SOCK [NGINX_DIRECTIVES]: one more responder, on SOCK,
# at PREFIX (e.g. /b/chat/) of the web server started next, whichever it
# is: nginx/fcomet.conf and apache/fcomet.conf moved there.
fc_location() {
	mkdir -p "$T/locations"
	fc_nginx_location "$1" "$2" "${3:-}" >>"$T/locations/all.nginx"
	apache_prefix "$1" "$2" >>"$T/locations/all.apache"
}

fc_need() {	# fc_need BINARY: install the test packages if it is missing
	command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || "$top/tests/deps" test ||
	    { fail "install $1" "tests/deps test failed"; exit 1; }
	command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] ||
	    { fail "install $1" "$1 still missing"; exit 1; }
}

# fc_nginx [DIR PORT SOCK]: private nginx in DIR ($T/nginx) on
# 127.0.0.1:PORT ($PORT), web/ at /, nginx/fcomet.conf at /chat/ on SOCK
# ($T/fcomet.sock), the fc_location ones beside it; FC_NGINX_EXTRA is
# added to server {}. Sets BASE.
fc_nginx() {
	local p=${1:-$T/nginx} port=${2:-$PORT} sock=${3:-$T/fcomet.sock}
	fc_need nginx
	mkdir -p "$p" "$T/locations"
	fc_nginx_location /chat/ "$sock" >"$p/fcomet.conf"
	WEB_ACCESS_LOG=$p/access.log \
	    WEB_HTTP=${FC_NGINX_HTTP_EXTRA:-} nginx_conf "$p" "$T/upstreams" \
	    >"$p/nginx.conf" <<-EOF
	server {
		listen 127.0.0.1:$port backlog=4096;
		server_name localhost;
		root $top/web;
		index index.html;
		include fcomet.conf;
		include $T/locations/*.nginx;
		${FC_NGINX_EXTRA:-}
	}
	EOF
	if ! nginx_run "$p"; then
		fail "start nginx" "configuration refused"
		cat "$p/error.log"
		exit 1
	fi
	FC_NGINX_PID=$WEB_PID
	FC_PIDS+=("$FC_NGINX_PID")
	if ! fc_wait_for 50 fc_port_open "$port"; then
		fail "start nginx" "not listening on $port"
		cat "$p/error.log"
		exit 1
	fi
	BASE=http://127.0.0.1:$port
}

# fc_apache [DIR PORT SOCK]: private Apache (event MPM, mod_proxy_fcgi) in
# DIR ($T/apache) on 127.0.0.1:PORT ($PORT), web/ at /, apache/fcomet.conf
# at /chat/ on SOCK ($T/fcomet.sock), the fc_location ones beside it;
# FC_APACHE_EXTRA is added at the end of its configuration. Sets BASE.
fc_apache() {
	local p=${1:-$T/apache} port=${2:-$PORT} sock=${3:-$T/fcomet.sock} user=
	fc_need /usr/sbin/apache2
	mkdir -p "$p/run"
	apache_prefix /chat/ "$sock" >"$p/fcomet.conf"
	[ "$(id -u)" = 0 ] && user="User www-data
Group www-data"
	apache_conf "$p" "$port" "$top/web" "$user" "$T/locations/*.apache" \
	    >"$p/httpd.conf"
	printf '%s\n' "${FC_APACHE_EXTRA:-}" >>"$p/httpd.conf"
	fc_apache_start "$p" "$port"
}

# fc_apache_start DIR PORT: Apache of DIR/httpd.conf, waited for on PORT
# (exit if it does not listen); stopped at exit. Sets BASE.
fc_apache_start() {
	/usr/sbin/apache2 -f "$1/httpd.conf" -DFOREGROUND \
	    >>"$1/error.log" 2>&1 </dev/null &
	FC_APACHE_PID=$!
	FC_PIDS+=("$FC_APACHE_PID")
	if ! fc_wait_for 100 fc_port_open "$2"; then
		fail "start apache" "not listening on $2"
		cat "$1/error.log"
		exit 1
	fi
	BASE=http://127.0.0.1:$2
}

# fc_web [DIR PORT SOCK]: the web server of a test that runs through both: FC_SERVER=nginx
# (the default) or apache (tests/run runs every script that calls fc_web
# once with each); its results are named with " (apache)" after them.
FC_SERVER=${FC_SERVER:-nginx}
fc_web() {
	case $FC_SERVER in
	nginx) fc_nginx "$@" ;;
	apache) fc_apache "$@" ;;
	*) fail "FC_SERVER" "nginx or apache, not $FC_SERVER"; exit 1 ;;
	esac
}
FC_TAG=
[ "$FC_SERVER" = nginx ] || FC_TAG=" ($FC_SERVER)"

# fc_nginx_only WHY: a test of what only nginx does; through Apache it
# says why it skips, and ends.
fc_nginx_only() {
	[ "$FC_SERVER" = nginx ] && return 0
	echo "SKIP: $(basename "$0" .sh)$FC_TAG - nginx only: $1"
	exit 0
}

# Results.
pass() { echo "PASS: $1$FC_TAG"; }
fail() { echo "FAIL: $1$FC_TAG${2:+ - $2}"; FC_FAILED=1; }
fc_done() { [ "$FC_FAILED" -eq 0 ] && exit 0; exit 1; }

# check NAME EXPECTED GOT: pass when equal.
check() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# http_status URL [curl options]: the status code (000 if none).
http_status() {
	local u=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time "${FC_HTTP_TIMEOUT:-30}" "$@" "$u"
}

# http_body URL [curl options]: the body.
http_body() {
	local u=$1
	shift
	curl -s --max-time "${FC_HTTP_TIMEOUT:-30}" "$@" "$u"
}

# http_send ROOM NICK TEXT [BASE]: POST a form /send; prints the body.
http_send() {
	http_body "${4:-$BASE}/chat/send" --data-urlencode "room=$1" \
	    --data-urlencode "nick=$2" --data-urlencode "text=$3"
}

# json_get EXPR <<<JSON: python expression over the parsed document j,
# e.g. json_get 'j["last"]', json_get 'len(j["events"])'. Prints JSON for
# lists/dicts/booleans, plain text for strings and numbers.
json_get() {
	python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
v = eval(sys.argv[1], {"j": j})
print(v if isinstance(v, (str, int)) and not isinstance(v, bool) else json.dumps(v))
' "$1"
}
