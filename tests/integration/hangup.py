#!/usr/bin/python3
"""hangup.py PORT N PING: N long-poll and N stream clients with nicks in
room "h" (raw sockets, through the web server on 127.0.0.1:PORT) hang up
together 1 s after they are all parked. Checks, timed from the hang-up:
  - /rooms counts no listener of "h" within DEADLINE = the next ping
    (PING s after parking; 0: no ping is needed) + 2 s;
  - /who of "h" is empty within DEADLINE too (fcomet --grace 1);
  - with --access-log FILE: the web server logged the end of all 2N
    requests (its threads are free) within DEADLINE.
Prints PASS/FAIL lines; exits 1 on a failure."""
import argparse
import json
import socket
import sys
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("n", type=int)
ap.add_argument("ping", type=float)
ap.add_argument("--access-log")
ap.add_argument("--tag", default="hangup")
a = ap.parse_args()
base = "http://127.0.0.1:%d/chat/" % a.port
failed = False


def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)


def room_listeners():
    for r in get("rooms")["rooms"]:
        if r["room"] == "h":
            return r["listeners"]
    return 0


def ended():
    if not a.access_log:
        return 2 * a.n
    with open(a.access_log, errors="replace") as f:
        return sum(1 for line in f if "/chat/listen?room=h&nick=l" in line
                   and "&since=" in line or "/chat/stream?room=h&" in line)


def result(ok, name, why):
    global failed
    print("%s: %s: %s%s" % ("PASS" if ok else "FAIL", a.tag, name,
                            "" if ok else " - " + why))
    failed |= not ok


def request(path):
    s = socket.create_connection(("127.0.0.1", a.port))
    s.sendall(("GET /chat/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
               % path).encode())
    return s


# The streams' joins come first; then each long-poll's nick joins (a
# /listen with a nick answers at once with its own join) and it parks with
# since = the room's last id, well within --grace 1 of its join.
socks = [request("stream?room=h&nick=s%d" % i) for i in range(a.n)]
t = time.monotonic()
while room_listeners() < a.n and time.monotonic() - t < 10:
    time.sleep(0.05)
for i in range(a.n):
    get("listen?room=h&nick=l%d&timeout=0" % i)
last = get("listen?room=h&timeout=0")["last"]
socks += [request("listen?room=h&nick=l%d&since=%d&timeout=100" % (i, last))
          for i in range(a.n)]
while room_listeners() < 2 * a.n and time.monotonic() - t < 10:
    time.sleep(0.05)
n0, who0, e0 = room_listeners(), len(get("who?room=h")["nicks"]), ended()
result(n0 == 2 * a.n and who0 == 2 * a.n,
       "%d long-polls and %d streams parked, their nicks present" % (a.n, a.n),
       "listeners %d, nicks %d" % (n0, who0))
time.sleep(1)
for s in socks:
    s.close()
gone = time.monotonic()
deadline = gone + a.ping + 2
left = {"rooms": None, "who": None, "ended": None}
while time.monotonic() < deadline + 3 and None in left.values():
    now = time.monotonic() - gone
    if left["rooms"] is None and room_listeners() == 0:
        left["rooms"] = now
    if left["who"] is None and not get("who?room=h")["nicks"]:
        left["who"] = now
    if left["ended"] is None and ended() - e0 >= 2 * a.n:
        left["ended"] = now
    time.sleep(0.05)
limit = deadline - gone
for key, what in (("rooms", "gone from /rooms"), ("who", "gone from /who"),
                  ("ended", "their requests ended in the web server")):
    if key == "ended" and not a.access_log:
        continue
    took = left[key]
    ok = took is not None and took <= limit
    result(ok, "%d clients that hung up: %s within %.1f s of the hang-up%s%s"
           % (2 * a.n, what, limit, " (a ping period + 2 s)" if a.ping else "",
              " (%.2f s)" % took if ok else ""),
           "after %s s" % ("%.2f" % took if took is not None else "more than %.1f" % (limit + 3)))
sys.exit(1 if failed else 0)
