#!/usr/bin/env python3
"""fill_nchan.py URL N: publish one message to each of N nchan channels
idle0 ... (POST URL/pub/idleI) over four kept connections, so that nchan
holds N idle channels as fcomet's segment holds N idle rooms
(tests/bench/run --rooms). Prints what it stored; exit 1 on any error."""
import http.client
import sys
import threading
import urllib.parse

url, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlsplit(url)
errors = []


def publish(first, step):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    for i in range(first, n, step):
        c.request("POST", "/pub/idle%d" % i, body=b"hello",
                  headers={"Content-Type": "text/plain"})
        r = c.getresponse()
        r.read()
        if r.status not in (201, 202):
            errors.append("idle%d: %d" % (i, r.status))
            return


threads = [threading.Thread(target=publish, args=(k, 4)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    sys.exit("fill_nchan: " + errors[0])
print("# nchan: %d idle channels published" % n)
