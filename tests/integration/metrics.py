"""metrics.py BASE SERVER FCOMETCTL NAME LOG: GET /metrics through the web
server, read with Prometheus' own parser (python3-prometheus-client):

- 3 sends, one refused (bad room), a stream open and a long-poll answered:
  the counters, gauges and the delivery histogram say so;
- from an address other than 127.0.0.1 (127.0.0.2) the web server refuses
  it (403), and a forged X-Forwarded-For changes nothing;
- fcometctl stat --prometheus parses and agrees;
- each send left one key=value access line in LOG, the refused one too."""

import http.client
import re
import socket
import subprocess
import sys
import time
import urllib.parse

from prometheus_client.parser import text_string_to_metric_families

BASE, SERVER, CTL, NAME, LOG = sys.argv[1:6]
U = urllib.parse.urlsplit(BASE)
failed = False


def check(ok, what, why=""):
    global failed
    print(("PASS: " if ok else "FAIL: ") + f"metrics ({SERVER}): {what}" +
          ("" if ok else f" - {why}"), flush=True)
    failed |= not ok


def req(method, path, body=None, src="127.0.0.1", headers=None):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=10,
                                   source_address=(src, 0))
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, "/chat/" + path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type", ""), data.decode()


def samples(text):
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def val(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))))


# A stream open on room m, then sends to it, and one refused.
st = socket.create_connection((U.hostname, U.port))
st.sendall(b"GET /chat/stream?room=m HTTP/1.1\r\nHost: x\r\n\r\n")
st.settimeout(5)
head = st.recv(4096)
check(b" 200 " in head.split(b"\r\n")[0], "a stream opens",
      head[:80])
for i in range(3):
    s, _, b = req("POST", "send", f"room=m&nick=n&text=t{i}")
    check(s == 200, f"send {i}: 200", f"{s} {b}")
s, _, _ = req("POST", "send", "room=bad%20room&nick=n&text=x")
check(s == 400, "a send to an invalid room: 400", s)
s, _, b = req("GET", "listen?room=m&since=0&timeout=0")
check(s == 200, "a long-poll answered", s)
time.sleep(0.3)

s, ctype, text = req("GET", "metrics")
check(s == 200 and ctype.startswith("text/plain") and "version=0.0.4" in
      ctype, f"GET /metrics from 127.0.0.1: 200 {ctype}", f"{s} {ctype}")
try:
    m = samples(text)
    check(True, f"Prometheus' parser reads it: {len(m)} samples")
except Exception as e:	# noqa: BLE001 - any parse error fails the test
    m = {}
    check(False, "Prometheus' parser reads it", repr(e))
want = {
    ("fcomet_sends_total", ()): 3,
    ("fcomet_requests_total", (("route", "send"), ("status", "200"))): 3,
    ("fcomet_requests_total", (("route", "send"), ("status", "400"))): 1,
    ("fcomet_requests_total", (("route", "stream"), ("status", "200"))): 1,
    ("fcomet_requests_total", (("route", "listen"), ("status", "200"))): 1,
    ("fcomet_streams", ()): 1,
    ("fcomet_listeners", ()): 1,
    ("fcomet_rooms", ()): 1,
    ("fcomet_events_held", ()): 3,
    ("fcomet_workers", ()): 2,
}
for k, v in want.items():
    check(m.get(k) == v, f"{k[0]}{dict(k[1]) or ''} = {v}", m.get(k))
dl = val(m, "fcomet_deliveries_total")
check(dl is not None and dl >= 3, f"deliveries_total {dl} >= 3 (the "
      "stream got the 3 sends)", dl)
cnt = val(m, "fcomet_delivery_seconds_count")
inf = val(m, "fcomet_delivery_seconds_bucket", le="+Inf")
check(cnt is not None and cnt >= 1 and inf == cnt,
      f"delivery_seconds histogram: {cnt} samples, +Inf bucket equal", m)
check(val(m, "fcomet_segment_bytes", ) and
      val(m, "fcomet_segment_bytes") > 0, "segment_bytes > 0")

s, _, b = req("GET", "metrics", src="127.0.0.2")
check(s == 403, "GET /metrics from 127.0.0.2: 403 from the web server",
      f"{s} {b[:80]}")
s, _, b = req("GET", "metrics", src="127.0.0.2",
              headers={"X-Forwarded-For": "127.0.0.1"})
check(s == 403, "and with a forged X-Forwarded-For: 127.0.0.1: 403", s)
st.close()

out = subprocess.run([CTL, "--name", NAME, "stat", "--prometheus"],
                     capture_output=True, text=True)
try:
    c = samples(out.stdout)
except Exception as e:	# noqa: BLE001
    c = {}
    check(False, "fcometctl stat --prometheus parses", repr(e))
check(out.returncode == 0 and c.get(("fcomet_sends_total", ())) == 3 and
      ("fcomet_requests_total", (("route", "send"), ("status", "200")))
      in c, "fcometctl stat --prometheus: parses, sends_total 3",
      f"rc {out.returncode} {out.stderr[:200]}")
with open(LOG, encoding="utf-8", errors="replace") as f:
    log = f.read().splitlines()
for want in ('event=send room="m" id=1 addr="127.0.0.1" status=200',
             'event=send room="m" id=3 addr="127.0.0.1" status=200',
             'event=send room="bad room" id=0 addr="127.0.0.1" '
             'status=400'):
    pat = re.compile(r"ts=\S+ level=info prog=fcomet pid=\d+ " +
                     re.escape(want) + "$")
    n = sum(bool(pat.match(line)) for line in log)
    check(n == 1, f"log: one line '{want}'", f"{n} lines")
sys.exit(1 if failed else 0)
