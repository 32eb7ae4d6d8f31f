#!/bin/bash
# memcached flushed while hosts run (memcached_restart.py): no id is ever
# handed out twice, however far a host lags. B's relay is stopped while A
# stores 1,000 events (B lags by 1,000 ids), then memcached forgets every
# counter: B, making the counter again, asks A (wake_ask) and starts past
# A's ids; A, whose peer B cannot answer, starts past the clock. With
# every peer answering, the windows keep their history.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-120}
fc_init
fc_need memcached
fc_need fuser
read -r MCPORT WA WB < <(fc_free_ports 3)
memcached -l 127.0.0.1 -p "$MCPORT" -U 0 -u nobody >>"$T/memcached.log" 2>&1 </dev/null &
FC_PIDS+=("$!")
fc_wait_for 50 fc_port_open "$MCPORT" || { fail "start memcached"; exit 1; }
host() {	# host NAME WAKEPORT PEERPORT
	fc_spawn "$T/$1.sock" "$FC_NAME-$1" --rate 0 --workers 2 --rooms 16 \
	    --memcached "127.0.0.1:$MCPORT" --wake-listen "127.0.0.1:$2" \
	    --peers "127.0.0.1:$3"
	fc_location "/$1/chat/" "$T/$1.sock"
}
host a "$WA" "$WB"
host b "$WB" "$WA"
fc_web
# B's relay: the process that reads B's wake-up port.
relay_up() { fuser -s -n udp "$WB" 2>/dev/null; }
fc_wait_for 50 relay_up || { fail "B's relay"; exit 1; }
RELAY_B=$(fuser -n udp "$WB" 2>/dev/null | tr -s ' ' | sed 's/^ //')
/usr/bin/python3 "$top/tests/integration/memcached_restart.py" \
    "$BASE/a/chat" "$BASE/b/chat" "$MCPORT" "$RELAY_B" || FC_FAILED=1
kill -CONT "$RELAY_B" 2>/dev/null
fc_done
