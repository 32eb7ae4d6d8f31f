#!/bin/bash
# memcached mode: host A killed with kill -9 (master and workers) while
# sends and listeners run on both hosts; listeners move to B with since
# and miss nothing, see nothing twice (cases: memcached_kill.py).
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-120}
fc_init
fc_need memcached
read -r MCPORT WA WB < <(fc_free_ports 3)
memcached -l 127.0.0.1 -p "$MCPORT" -U 0 -u nobody >>"$T/memcached.log" 2>&1 </dev/null &
FC_PIDS+=("$!")
fc_wait_for 50 fc_port_open "$MCPORT" || { fail "start memcached"; exit 1; }
fc_spawn "$T/a.sock" "$FC_NAME-a" --rate 0 --workers 2 --rooms 16 \
    --memcached "127.0.0.1:$MCPORT" --wake-listen "127.0.0.1:$WA" \
    --peers "127.0.0.1:$WB"
PID_A=$FC_SPAWNED
fc_spawn "$T/b.sock" "$FC_NAME-b" --rate 0 --workers 2 --rooms 16 \
    --memcached "127.0.0.1:$MCPORT" --wake-listen "127.0.0.1:$WB" \
    --peers "127.0.0.1:$WA"
for h in a b; do
	fc_location "/$h/chat/" "$T/$h.sock"
done
fc_web
/usr/bin/python3 "$top/tests/integration/memcached_kill.py" "$BASE/a/chat" \
    "$BASE/b/chat" "kill -KILL $PID_A \$(pgrep -P $PID_A)" || FC_FAILED=1
fc_done
