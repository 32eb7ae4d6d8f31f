#!/usr/bin/python3
"""addr_cap.py BASE SERVER CAP: one address may hold CAP parked listeners
and streams (fcomet --max-listeners-per-addr CAP --trust-proxy 127.0.0.1,
the address from X-Forwarded-For), over both workers; past it 429 with
Retry-After; other addresses are not affected; a listener that goes frees
its place. Prints PASS/FAIL lines; exit 1 if any failed."""

import http.client
import json
import socket
import sys
import time
import urllib.parse

BASE, SERVER, CAP = sys.argv[1], sys.argv[2], int(sys.argv[3])
U = urllib.parse.urlsplit(BASE)
RUN = str(int(time.time() * 1000) % 100000)
failed = 0


def ok(name, cond, why=""):
    global failed
    print(("PASS: %s: addr cap: %s" if cond else "FAIL: %s: addr cap: %s - " +
           why) % (SERVER, name))
    sys.stdout.flush()
    failed += not cond


def open_wait(path, addr):
    """A raw request left open: the socket, once its head is back (stream)
    or after a moment (a long-poll parks without answering)."""
    s = socket.create_connection((U.hostname, U.port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nX-Forwarded-For: %s\r\n\r\n"
               % (path, U.hostname, U.port, addr)).encode())
    return s


def status_now(path, addr):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=10)
    c.request("GET", path, headers={"X-Forwarded-For": addr})
    r = c.getresponse()
    # a stream let in would never end: its status is the answer
    body = r.read() if r.status != 200 or "/stream" not in path else b""
    c.close()
    return r.status, r.getheader("Retry-After"), body


def listeners():
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=10)
    c.request("GET", "/chat/status")
    n = json.loads(c.getresponse().read())["listeners"]
    c.close()
    return n


held = []
for i in range(CAP):
    path = ("/chat/stream?room=cap%s" % RUN if i % 2 else
            "/chat/listen?room=cap%s&timeout=60" % RUN)
    held.append(open_wait(path, "10.1.1.1"))
deadline = time.time() + 10
while listeners() < CAP and time.time() < deadline:
    time.sleep(0.1)
ok("%d listeners and streams of one address park" % CAP, listeners() == CAP,
   "listeners %d" % listeners())
st, retry, body = status_now("/chat/listen?room=cap%s&timeout=5" % RUN,
                             "10.1.1.1")
ok("the next long-poll of that address: 429 rate_limited with Retry-After",
   st == 429 and retry is not None and b"rate_limited" in body,
   "%s %s" % (st, body[:120]))
st, _, body = status_now("/chat/stream?room=cap%s" % RUN, "10.1.1.1")
ok("and the next stream: 429", st == 429, "%s %s" % (st, body[:120]))
s = open_wait("/chat/listen?room=cap%s&timeout=60" % RUN, "10.2.2.2")
time.sleep(0.5)
ok("another address still parks", listeners() == CAP + 1,
   "listeners %d" % listeners())
s.close()
held.pop().close()
deadline = time.time() + 10
while listeners() > CAP - 1 and time.time() < deadline:
    time.sleep(0.1)
st, _, _ = status_now("/chat/listen?room=cap%s&timeout=0" % RUN, "10.1.1.1")
ok("a listener that hung up frees its place", st == 200, str(st))
for h in held:
    h.close()
sys.exit(1 if failed else 0)
