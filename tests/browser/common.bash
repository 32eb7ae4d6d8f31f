# shellcheck shell=bash
# tests/browser/common.bash: sourced by every tests/browser/*.sh entry.
#
#	. "$(dirname "$0")/common.bash"
#	bt_init				# chromium, node, npm deps, fc_init
#	bt_start --grace 1 --rate 0	# responder (options remembered) + web server
#	bt_run chat.test.js		# node test; serves its restart requests
#	fc_done
#
# The node test prints the PASS:/FAIL: lines itself. It may ask the shell
# to restart the responder (lib.js control('restart')): bt_run answers
# through files in $T/ctl.

bt_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
. "$bt_dir/../integration/lib.sh"

bt_init() {
	fc_init
	fc_need /usr/bin/chromium
	fc_need node
	fc_need npm
	if [ ! -d "$bt_dir/node_modules/playwright-core" ]; then
		( cd "$bt_dir" && npm install --no-audit --no-fund ) >"$T/npm.log" 2>&1 || {
			cat "$T/npm.log"
			fail "npm install playwright-core" "see npm.log above"
			exit 1
		}
	fi
	BT_SHOTS=${BT_SHOTS:-$bt_dir/screenshots}
	mkdir -p "$T/ctl" "$BT_SHOTS"
}

# bt_start [fcomet options]: the responder and the web server (fc_web:
# tests/run runs every browser test through nginx and through Apache); the
# options are kept for restarts.
bt_start() {
	BT_OPTS=("$@")
	[ "$FC_SERVER" = apache ] && BT_OPTS+=(--ping 5)	# as apache/serve
	fc_start "${BT_OPTS[@]}"
	fc_web
}

# bt_restart: stop the responder (SIGTERM) and start it again with the same
# options; the segment, and so the stored events, stay.
bt_restart() {
	fc_stop || return 1
	fc_start "${BT_OPTS[@]}"
}

# bt_run SCRIPT.js [ARGS]: run a node test, serving its requests, bounded
# by BT_TIMEOUT seconds (default 420). A non-zero exit marks the test failed.
bt_run() {
	local js=$1 pid rc req res n=0 max=$(( ${BT_TIMEOUT:-420} * 20 ))
	shift
	FC_TAG=$FC_TAG BASE=$BASE CTL=$T/ctl SHOTS=$BT_SHOTS NODE_PATH=$bt_dir/node_modules \
	    node "$bt_dir/$js" "$@" </dev/null &
	pid=$!
	FC_PIDS+=("$pid")
	while kill -0 "$pid" 2>/dev/null; do
		if [ -f "$T/ctl/request" ]; then
			req=$(cat "$T/ctl/request"); rm -f "$T/ctl/request"
			case $req in
			restart) if bt_restart; then res=ok; else res="restart failed"; fi ;;
			*) res="unknown request '$req'" ;;
			esac
			echo "$res" >"$T/ctl/done.tmp"
			mv "$T/ctl/done.tmp" "$T/ctl/done"
		fi
		n=$((n + 1))
		if [ "$n" -ge "$max" ]; then
			fail "$js" "still running after ${BT_TIMEOUT:-420} s"
			kill -TERM "$pid" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || FC_FAILED=1
	return "$rc"
}
