#!/bin/bash
# tests/integration/fcometctl.sh: the admin CLI against a private segment.
# Exercised: usage and exit codes, send's validation (same as POST /send),
# stat/rooms/dump as text and --json, tail woken by a send of another
# process, purge, a segment of another layout, a writer killed holding the
# lock, the mode of the segment and its semaphore.
# Needs only ctl/fcometctl (FCOMET_BUILD=dir for an out-of-tree build).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
FCOMETCTL=${FCOMET_BUILD:-$top}/ctl/fcometctl
NAME=test-ctl-$$
NAME2=test-ctl-$$-b
T=$(mktemp -d /tmp/fcomet-ctl.XXXXXX) || exit 1
FAILED=0
PIDS=()

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 - $2"; FAILED=1; }

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	kill "$WATCHDOG" 2>/dev/null
	"$FCOMETCTL" --name "$NAME" unlink >/dev/null 2>&1
	"$FCOMETCTL" --name "$NAME2" unlink >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
# The watchdog's sleep holds no pipe of ours open.
# shellcheck disable=SC2217
( sleep 240 >/dev/null 2>&1 </dev/null
  echo "FAIL: fcometctl.sh - hard timeout 240 s"; kill -TERM $$ ) &
WATCHDOG=$!

if [ ! -x "$FCOMETCTL" ]; then
	fail setup "$FCOMETCTL is not built (tests/build, or FCOMET_BUILD=dir)"
	exit 1
fi

ctl() { "$FCOMETCTL" --name "$NAME" "$@"; }

# run NAME: ctl with the remaining words; sets RC, OUT (stdout), ERR.
run() {
	"$FCOMETCTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# expect TEST WANT_RC WANT_IN_STDERR ARGS...: exit code and stderr text.
expect() {
	local t=$1 rc=$2 msg=$3
	shift 3
	run "$@"
	if [ "$RC" != "$rc" ]; then
		fail "$t" "exit $RC, not $rc (stderr: $ERR)"
	elif ! grep -qF -- "$msg" "$T/err"; then
		fail "$t" "stderr lacks '$msg': $ERR"
	else
		pass "$t"
	fi
}

# held ROOM: events the room holds, by dump --json (0 if none or no room).
held() { ctl --json dump "$1" 2>/dev/null | grep -c '^{'; }

# pyjson SCRIPT: run python3 on stdin with SCRIPT; 0 if it printed "ok".
pyjson() { [ "$(python3 -c "$1" 2>&1)" = ok ]; }

# --- usage ---
expect "no command is bad usage (exit 2)" 2 "usage:" --name "$NAME"
expect "unknown command exits 2 with usage" 2 "usage:" --name "$NAME" frobnicate
expect "unknown option exits 2 with usage" 2 "usage:" --frob stat
expect "send with two words exits 2" 2 "usage:" --name "$NAME" send lobby ana
expect "bad --window number exits 2" 2 "usage:" --window 12x stat
expect "--since outside dump exits 2" 2 "usage:" --since 3 stat
run --help
[ "$RC" = 0 ] && grep -q '^usage: fcometctl' "$T/out" && [ -z "$ERR" ] &&
    pass "--help prints usage on stdout, exit 0" ||
    fail "--help prints usage on stdout, exit 0" "exit $RC, stdout $OUT"
run --version
[ "$RC" = 0 ] && [ "$OUT" = "fcometctl 1.0.0" ] &&
    pass "--version prints fcometctl 1.0.0" ||
    fail "--version prints fcometctl 1.0.0" "exit $RC: $OUT"
expect "stat of a missing segment exits 1" 1 "no segment" --name "$NAME" stat

# --- send, and what it refuses ---
run --name "$NAME" --window 64 send lobby "  ana  " "hola"
if [ "$RC" = 0 ] && echo "$OUT" | pyjson 'import json,sys
d = json.loads(sys.stdin.read()); assert set(d) == {"id", "ts"}
assert d["id"] == 1 and d["ts"] > 1.5e12; print("ok")'; then
	pass "send creates the segment and prints {id, ts}"
else
	fail "send creates the segment and prints {id, ts}" "exit $RC: $OUT $ERR"
fi
ctl send lobby bo "$(printf 'two\nlines\tand "quotes" <b>x</b> ñ')" >/dev/null &&
    ctl send lobby ana "-- dashes" >/dev/null && ctl send lobby ana -x >/dev/null &&
    pass "send stores texts with line breaks, quotes, dashes" ||
    fail "send stores texts with line breaks, quotes, dashes" "send failed"
before=$(held lobby)
expect "send refuses an empty nick" 1 "(400)" --name "$NAME" send lobby "" hi
expect "send refuses an all-space nick" 1 "(400)" --name "$NAME" send lobby "   " hi
expect "send refuses a 33-character nick" 1 "(400)" --name "$NAME" send lobby \
    "$(printf 'n%.0s' $(seq 33))" hi
expect "send refuses a nick with a control" 1 "(400)" --name "$NAME" send lobby \
    "$(printf 'a\tb')" hi
expect "send refuses an ESC in the text" 1 "(400)" --name "$NAME" send lobby ana \
    "$(printf 'x\033[31m')"
expect "send refuses invalid UTF-8" 1 "(400)" --name "$NAME" send lobby ana \
    "$(printf 'x\xff')"
expect "send refuses a text over --max-text" 1 "(413)" --name "$NAME" send lobby \
    ana "$(head -c 2001 /dev/zero | tr '\0' x)"
expect "send refuses a bad room" 1 "(400)" --name "$NAME" send "lob by" ana hi
[ "$(held lobby)" = "$before" ] && [ "$before" = 4 ] &&
    pass "a refused send stores nothing" ||
    fail "a refused send stores nothing" "held $(held lobby), before $before"
run --name "$NAME" send lobby " ana " "$(head -c 2000 /dev/zero | tr '\0' y)"
[ "$RC" = 0 ] && pass "send takes a text of exactly --max-text bytes" ||
    fail "send takes a text of exactly --max-text bytes" "exit $RC: $ERR"
ctl send other ana hi >/dev/null

# --- stat, rooms, dump ---
run --name "$NAME" stat
grep -q "^segment  *\/fcomet-$NAME\$" "$T/out" &&
    grep -q '^events  *6 stored' "$T/out" &&
    grep -q '^rooms  *2 used of 100000' "$T/out" &&
    grep -q '^arena  *4 events, ring  *768 bytes: 2 of 100000 regions used' "$T/out" &&
    grep -q '^window  *64 events' "$T/out" && grep -q '^lock  *free' "$T/out" &&
    pass "stat shows name, events, rooms, window, lock" ||
    fail "stat shows name, events, rooms, window, lock" "$OUT"
run --name "$NAME" --json stat
echo "$OUT" | pyjson "import json,sys
d = json.loads(sys.stdin.read())
assert d['segment'] == '/fcomet-$NAME' and d['events'] == 6, d
assert d['rooms_used'] == 2 and d['rooms'] == 100000 and d['window'] == 64
assert d['version'] == 3 and d['lock_owner'] == 0 and d['max_text'] == 2000
assert [a['window'] for a in d['arena']] == [4, 32, 64], d['arena']
assert d['arena'][0]['used'] == 2 and d['arena'][1]['used'] == 1
assert d['size'] < 256 << 20 and d['counters']['moves'] == 1
assert d['counters']['sends'] == 6 and d['epoch'] > 1.5e12
print('ok')" && pass "stat --json is one object with the same figures" ||
    fail "stat --json is one object with the same figures" "$OUT"
run --name "$NAME" rooms
grep -Eq '^lobby +1 +5 +5 +0 +[0-9]+$' "$T/out" && grep -Eq '^other +1 +1 +1 +0 +[0-9]+$' "$T/out" &&
    pass "rooms shows first, last and held per room" ||
    fail "rooms shows first, last and held per room" "$OUT"
run --name "$NAME" --json rooms
echo "$OUT" | pyjson 'import json,sys
rs = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert [r["room"] for r in rs] == ["lobby", "other"], rs
assert rs[0]["first"] == 1 and rs[0]["last"] == 5 and rs[0]["held"] == 5
print("ok")' && pass "rooms --json is one object a room, sorted" ||
    fail "rooms --json is one object a room, sorted" "$OUT"
run --name "$NAME" --json rooms --top 1
echo "$OUT" | pyjson 'import json,sys
rs = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert [r["room"] for r in rs] == ["lobby"], rs
print("ok")' && pass "rooms --top 1: the room with most events" ||
    fail "rooms --top 1: the room with most events" "$OUT"
run --name "$NAME" --json rooms --idle
[ "$RC" = 0 ] && [ "$(grep -c '"idle_s"' "$T/out")" = 2 ] &&
    pass "rooms --idle: rooms nobody listens to, with their idle time" ||
    fail "rooms --idle: rooms nobody listens to, with their idle time" "$OUT $ERR"
ctl send gone ana "x" >/dev/null
run --name "$NAME" rm gone
rmrc=$RC rmout=$OUT
run --name "$NAME" dump gone
[ "$rmrc" = 0 ] && [ "$rmout" = "removed gone" ] && [ "$RC" = 1 ] &&
    [ "$(held lobby)" = 5 ] && pass "rm removes one room, the others stay" ||
    fail "rm removes one room, the others stay" "rm $rmrc $rmout; dump $RC $ERR"
expect "rm of a room not there fails (exit 1)" 1 "no room" --name "$NAME" rm gone
ctl send gone ana again | grep -q '^{"id":1,' &&
    pass "rm: the room's name starts again at id 1" ||
    fail "rm: the room's name starts again at id 1" "$(ctl --json dump gone)"
ctl rm gone >/dev/null
run --name "$NAME" dump lobby
[ "$(wc -l <"$T/out")" = 5 ] && grep -q '<ana> hola$' "$T/out" &&
    grep -qF '<bo> two\nlines\tand "quotes" <b>x</b> ñ' "$T/out" &&
    pass "dump shows one readable line an event" ||
    fail "dump shows one readable line an event" "$OUT"
run --name "$NAME" --json dump lobby
echo "$OUT" | pyjson 'import json,sys
ls = sys.stdin.read().splitlines(); es = [json.loads(l) for l in ls]
assert [e["id"] for e in es] == [1, 2, 3, 4, 5], es
assert list(es[0]) == ["id", "ts", "room", "type", "nick", "text"], es[0]
assert es[0]["nick"] == "ana" and es[0]["text"] == "hola"
assert es[1]["text"] == "two\nlines\tand \"quotes\" <b>x</b> \u00f1"
assert es[3]["text"] == "-x" and len(es[4]["text"]) == 2000
assert all(e["room"] == "lobby" and e["type"] == "message" for e in es)
assert ls[0] == json.dumps(es[0], separators=(",", ":"), ensure_ascii=False)
print("ok")' && pass "dump --json prints the exact event JSON a line" ||
    fail "dump --json prints the exact event JSON a line" "$OUT"
run --name "$NAME" --json dump lobby --since 3
[ "$(echo "$OUT" | cut -c1-8 | tr '\n' ' ')" = '{"id":4, {"id":5, ' ] &&
    pass "dump --since N prints the events after N" ||
    fail "dump --since N prints the events after N" "$OUT"
expect "dump of a missing room exits 1" 1 "no room" --name "$NAME" dump nowhere

# --- tail: woken by a send of another process, ended by SIGINT ---
"$FCOMETCTL" --name "$NAME" --json tail lobby >"$T/tail" 2>"$T/tail.err" &
tailpid=$!
PIDS+=("$tailpid")
for _ in $(seq 50); do	# wait until it sleeps on the futex
	case $(cat "/proc/$tailpid/wchan" 2>/dev/null) in *futex*) break ;; esac
	sleep 0.1
done
ctl send lobby carla "tail me" >/dev/null
for _ in $(seq 30); do grep -q 'tail me' "$T/tail" && break; sleep 0.1; done
if [ "$(wc -l <"$T/tail")" = 1 ] &&
    [ "$(cat "$T/tail")" = "$(ctl --json dump lobby --since 5)" ]; then
	pass "tail prints a send of another process as stored"
else
	fail "tail prints a send of another process as stored" \
	    "tail: $(cat "$T/tail") $(cat "$T/tail.err")"
fi

# --- purge (tail still running) ---
run --name "$NAME" purge lobby
n=$(held lobby)
[ "$RC" = 0 ] && [ "$n" = 0 ] && pass "purge empties the room" ||
    fail "purge empties the room" "exit $RC, $n held: $ERR"
run --name "$NAME" send lobby ana again
echo "$OUT" | pyjson 'import json,sys
assert json.loads(sys.stdin.read())["id"] == 1; print("ok")' &&
    pass "a send after purge gets id 1" ||
    fail "a send after purge gets id 1" "$OUT $ERR"
[ "$(held other)" = 1 ] && pass "purge leaves other rooms alone" ||
    fail "purge leaves other rooms alone" "other holds $(held other)"
for _ in $(seq 30); do grep -q '"again"' "$T/tail" && break; sleep 0.1; done
if [ "$(wc -l <"$T/tail")" = 2 ] &&
    [ "$(tail -n 1 "$T/tail")" = "$(ctl --json dump lobby)" ] &&
    grep -q 'purged' "$T/tail.err"; then
	pass "tail follows a purge: says so, prints the new id 1"
else
	fail "tail follows a purge: says so, prints the new id 1" \
	    "tail: $(cat "$T/tail") $(cat "$T/tail.err")"
fi
kill -INT "$tailpid"
for _ in $(seq 30); do kill -0 "$tailpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$tailpid" 2>/dev/null; then
	fail "tail ends on SIGINT" "still running after 3 s"
else
	wait "$tailpid"
	rc=$?
	[ "$rc" = 0 ] && pass "tail ends on SIGINT" ||
	    fail "tail ends on SIGINT" "exit $rc: $(cat "$T/tail.err")"
fi

# --- a segment of another layout ---
"$FCOMETCTL" --name "$NAME2" --window 64 send r ana first >/dev/null
expect "a segment of another layout: error naming fcometctl unlink" 1 \
    "fcometctl --name $NAME2 unlink" --name "$NAME2" --window 128 send r ana second
[ "$(echo "$ERR" | wc -l)" = 1 ] && pass "the layout error is one line" ||
    fail "the layout error is one line" "$ERR"
n=$("$FCOMETCTL" --name "$NAME2" --json dump r | grep -c first)
m=$("$FCOMETCTL" --name "$NAME2" --json dump r | grep -c second)
[ "$n" = 1 ] && [ "$m" = 0 ] &&
    pass "a segment of another layout is left untouched" ||
    fail "a segment of another layout is left untouched" "first $n, second $m"
run --name "$NAME2" unlink
[ "$RC" = 0 ] && [ ! -e "/dev/shm/fcomet-$NAME2" ] &&
    [ ! -e "/dev/shm/sem.fcomet-$NAME2.lock" ] &&
    pass "unlink removes the segment and its lock" ||
    fail "unlink removes the segment and its lock" "exit $RC: $ERR"
expect "unlink of a missing segment exits 1" 1 "fcomet-$NAME2" --name "$NAME2" unlink

# --- a writer killed while it holds the lock ---
"$FCOMETCTL" --name "$NAME" hold-lock 60000 >"$T/hold" 2>&1 &
holdpid=$!
PIDS+=("$holdpid")
for _ in $(seq 50); do grep -q '^locked' "$T/hold" && break; sleep 0.1; done
run --name "$NAME" --json stat
echo "$OUT" | pyjson "import json,sys
d = json.loads(sys.stdin.read())
assert d['lock_owner'] == $holdpid and d['lock_owner_alive']; print('ok')" &&
    pass "stat names the lock owner" || fail "stat names the lock owner" "$OUT"
kill -KILL "$holdpid"
wait "$holdpid" 2>/dev/null	# reaped: a zombie would still look alive
start=$(date +%s%N)
run --name "$NAME" send lobby ana "after the crash"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$RC" = 0 ] && [ "$ms" -lt 2000 ] &&
    pass "a send after a writer died holding the lock succeeds in ${ms} ms" ||
    fail "a send after a writer died holding the lock succeeds within 2 s" \
    "exit $RC after $ms ms: $ERR"
ctl --json dump lobby | pyjson 'import json,sys
es = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert [(e["id"], e["text"]) for e in es] == [(1, "again"),
    (2, "after the crash")], es; print("ok")' &&
    pass "events stored before the crash are intact" ||
    fail "events stored before the crash are intact" "$(ctl --json dump lobby)"
run --name "$NAME" --json stat
echo "$OUT" | pyjson 'import json,sys
d = json.loads(sys.stdin.read())
assert d["lock_owner"] == 0 and d["counters"]["recoveries"] >= 1, d
print("ok")' && pass "stat counts the recovery, lock free again" ||
    fail "stat counts the recovery, lock free again" "$OUT"

# --- modes ---
m1=$(stat -c %a "/dev/shm/fcomet-$NAME" 2>&1)
m2=$(stat -c %a "/dev/shm/sem.fcomet-$NAME.lock" 2>&1)
[ "$m1" = 600 ] && [ "$m2" = 600 ] &&
    pass "segment and semaphore are mode 0600" ||
    fail "segment and semaphore are mode 0600" "segment $m1, semaphore $m2"

exit "$FAILED"
