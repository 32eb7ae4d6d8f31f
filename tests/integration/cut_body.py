#!/usr/bin/python3
"""cut_body.py BASE SERVER: a POST /send whose client hangs up before its
Content-Length is sent stores nothing (through nginx and Apache); a whole
one is stored; a 4 MiB body, with Expect: 100-continue or without, gets
the protocol's JSON 413 payload_too_large, not the web server's page, and
the server goes on serving. Prints PASS/FAIL lines; exit 1 if any failed."""

import json
import socket
import sys
import time
import urllib.parse
import urllib.request

BASE, SERVER = sys.argv[1], sys.argv[2]
U = urllib.parse.urlsplit(BASE)
RUN = str(int(time.time() * 1000) % 100000)
failed = 0


def ok(name, cond, why=""):
    global failed
    print(("PASS: %s: cut body: %s" if cond else "FAIL: %s: cut body: %s - "
           + why) % (SERVER, name))
    sys.stdout.flush()
    failed += not cond


def raw_post(body, declared):
    s = socket.create_connection((U.hostname, U.port), timeout=10)
    s.sendall(("POST /chat/send HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: "
               "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
               "\r\n" % (U.hostname, U.port, declared)).encode() + body)
    return s


def events(room):
    with urllib.request.urlopen("%s/chat/listen?room=%s&since=0&timeout=0"
                                % (BASE, room), timeout=10) as r:
        return [e["text"] for e in json.load(r)["events"]]


room = "cut" + RUN
s = raw_post(b"room=%s&nick=a&text=trun" % room.encode(), 129)
time.sleep(0.3)
s.close()                       # the client hangs up mid-upload
s = raw_post(b"room=%s&nick=a&text=cut2" % room.encode(), 4000)
time.sleep(0.3)
s.shutdown(socket.SHUT_WR)      # or half-closes
time.sleep(1.5)
s.close()
time.sleep(1)
body = b"room=%s&nick=a&text=whole" % room.encode()
s = raw_post(body, len(body))
resp = s.recv(4096)
s.close()
ok("a whole body is stored", b" 200 " in resp.split(b"\r\n")[0], repr(resp[:80]))
got = events(room)
ok("bodies cut before their Content-Length are not stored",
   got == ["whole"], str(got))

def big(expect):
    """A 4 MiB form body: the status, Content-Type and body of the answer."""
    size = 4 << 20
    s = socket.create_connection((U.hostname, U.port), timeout=20)
    s.sendall(("POST /chat/send HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: "
               "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
               "%s\r\n" % (U.hostname, U.port, size,
                            "Expect: 100-continue\r\n" if expect else ""))
              .encode())
    resp = b""
    if expect:
        resp = s.recv(65536)
    if not expect or b" 100 " in resp.split(b"\r\n")[0]:
        resp = b""
        chunk = b"a" * 65536
        try:
            for _ in range(size // len(chunk)):
                s.sendall(chunk)
        except OSError:
            pass            # the server answered and closed: fine
    try:
        while b"\r\n\r\n" not in resp or len(resp.split(b"\r\n\r\n", 1)[1]) < 40:
            d = s.recv(65536)
            if not d:
                break
            resp += d
    except OSError:
        pass
    s.close()
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    ctype = [l for l in lines if l.lower().startswith(b"content-type:")]
    return lines[0], ctype, body


for expect in (False, True):
    status, ctype, body = big(expect)
    ok("a 4 MiB body%s: 413 payload_too_large in JSON" % (
        " with Expect: 100-continue" if expect else ""),
       b" 413 " in status and b"application/json" in b"".join(ctype) and
       b'"payload_too_large"' in body, "%r %r %r" % (status, ctype, body[:120]))
with urllib.request.urlopen(BASE + "/chat/status", timeout=10) as r:
    ok("and the server goes on serving", r.status == 200, str(r.status))
sys.exit(1 if failed else 0)
