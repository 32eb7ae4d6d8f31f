#!/usr/bin/python3
"""memcached_kill.py A B KILLCMD: host A killed with kill -9 mid-send.
Senders post to A and B; long-poll listeners on A follow the room; A is
killed (KILLCMD) in the middle; then every send goes to B. Each listener
on A, once its request fails, goes on from B with since = the last id it
got, as the web page does, and must end with every id sent, in order,
exactly once; B's own listener too. Sends A answered 200 before it died
are all delivered (none of them lost with it). Prints PASS/FAIL lines."""

import subprocess
import sys
import threading
import time
import urllib.parse

from fchttp import req

A, B, KILL = sys.argv[1], sys.argv[2], sys.argv[3]
ROOM = "kill%d" % (int(time.time() * 1000) % 100000)
failed = 0
acked = []            # ids answered 200
lock = threading.Lock()
dead = threading.Event()


def ok(name, cond, why=""):
    global failed
    print(("PASS: memcached kill: %s" if cond else
           "FAIL: memcached kill: %s - " + why) % name)
    sys.stdout.flush()
    failed += not cond


def sender(i):
    for n in range(60):
        base = B if dead.is_set() or n % 2 else A
        try:
            st, j = req(base, "POST", "/send", urllib.parse.urlencode(
                {"room": ROOM, "nick": "s", "text": "s%d-%d" % (i, n)}),
                timeout=5)
        except OSError:
            st, j = 0, None
        if st == 200:
            with lock:
                acked.append(j["id"])
        time.sleep(0.02)


def listener(start, out, stop):
    base, since = start, 0
    while not stop.is_set():
        try:
            st, j = req(base, "GET", "/listen?" + urllib.parse.urlencode(
                {"room": ROOM, "since": since, "timeout": 2}), timeout=10)
        except OSError:
            st = 0
        # Through Apache a long-poll's 200 went out when it parked: its
        # host's death shows as a cut or empty body, as the web page
        # (res.json() failing) takes it.
        if st != 200 or j is None:
            base = B          # its host is gone: the other one, same since
            time.sleep(0.1)
            continue
        for e in j["events"]:
            if e["type"] == "message":
                out.append(e["id"])
        since = j["last"]


req(B, "POST", "/send", urllib.parse.urlencode(
    {"room": ROOM, "nick": "s", "text": "first"}))
stop = threading.Event()
outs = [[] for _ in range(4)]
ls = [threading.Thread(target=listener, args=(A if k < 3 else B, outs[k],
                                              stop)) for k in range(4)]
for t in ls:
    t.start()
time.sleep(1)
ss = [threading.Thread(target=sender, args=(i,)) for i in range(3)]
for t in ss:
    t.start()
time.sleep(0.6)
subprocess.run(KILL, shell=True, check=False)
dead.set()
for t in ss:
    t.join()
want = sorted(set(acked) | {1})
# Through Apache a long-poll on A learns of A's death when Apache closes
# the cut answer, after its KeepAliveTimeout (5 s): 12 s for everyone.
end = time.time() + 12
while time.time() < end and not all(set(want) <= set(o) for o in outs):
    time.sleep(0.2)
stop.set()
for t in ls:
    t.join()
for k, o in enumerate(outs):
    where = "A then B" if k < 3 else "B"
    ok("listener %d (%s) got ids in order, each once" % (k, where),
       o == sorted(set(o)), str(o[:20]))
    ok("listener %d (%s) got every send answered 200 (%d)" % (
        k, where, len(want)), set(want) <= set(o),
       "missing %s; got %s" % (sorted(set(want) - set(o))[:10], o[:12]))
ok("sends went on after A died", len(acked) > 90, "%d acked" % len(acked))
sys.exit(1 if failed else 0)
