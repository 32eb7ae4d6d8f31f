#!/usr/bin/python3
"""parked_cost.py PORT N WEB_PID FC_PID: parks N long-poll listeners (room
"pc", raw sockets through the web server on 127.0.0.1:PORT) and prints
what the web server (WEB_PID and its children) and fcomet (FC_PID and its
children) hold idle and parked: threads and resident memory without
shared pages (RssAnon + RssFile, KB), as one line of key=value. Then one
message ends every long-poll; exit 1 unless all N got it."""
import json
import os
import resource
import socket
import sys
import time
import urllib.request

port, n, web, fc = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
base = "http://127.0.0.1:%d/chat/" % port


def tree(pid):
    out = [pid]
    try:
        with open("/proc/%s/task/%s/children" % (pid, pid)) as f:
            for c in f.read().split():
                out += tree(c)
    except OSError:
        pass
    return out


def held(top):
    threads = kb = 0
    for p in tree(top):
        try:
            with open("/proc/%s/status" % p) as f:
                st = dict(l.split(":", 1) for l in f if ":" in l)
        except OSError:
            continue
        threads += int(st["Threads"])
        kb += int(st["RssAnon"].split()[0]) + int(st["RssFile"].split()[0])
    return threads, kb


def listeners():
    with urllib.request.urlopen(base + "status", timeout=10) as r:
        return json.load(r)["listeners"]


idle = held(web) + held(fc)
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /chat/listen?room=pc&timeout=60 HTTP/1.1\r\n"
              b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
    socks.append(s)
t0 = time.monotonic()
while listeners() < n and time.monotonic() - t0 < 30:
    time.sleep(0.1)
time.sleep(1)
parked = listeners()
busy = held(web) + held(fc)
body = b"room=pc&nick=b&text=wake"
req = urllib.request.Request(base + "send", data=body, headers={
    "Content-Type": "application/x-www-form-urlencoded"})
urllib.request.urlopen(req, timeout=10).read()
got = 0
for s in socks:
    s.settimeout(10)
    data = b""
    try:
        while b'"text":"wake"' not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    got += b'"text":"wake"' in data
    s.close()
print("parked=%d got=%d web_threads=%d web_thr_lst=%.3f web_kb_lst=%.2f "
      "fc_threads=%d fc_kb_lst=%.2f" % (parked, got, busy[0],
      (busy[0] - idle[0]) / n, (busy[1] - idle[1]) / n, busy[2],
      (busy[3] - idle[3]) / n))
sys.exit(0 if parked == n and got == n else 1)
