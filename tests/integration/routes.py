#!/usr/bin/env python3
"""routes.py BASE SERVER: every route, status, header and error of
PROTOCOL.md through a real web server (SERVER is nginx or apache).

Set up by routes.inc:
  /chat/, /x/y/chat/  the main responder: --rate 0 --window 8 --grace 2
                      --ping 2 --timeout-max 3
  /trust/chat/        a --trust-remote-user --rate 1/2 responder, no auth
  /auth/chat/         the same responder behind Basic auth (ana:pw)
Each case prints "PASS: name" or "FAIL: name - why". Exit 1 if any failed.
"""

import base64
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

BASE = sys.argv[1]
SERVER = sys.argv[2]
U = urllib.parse.urlsplit(BASE)
HOST, PORT = U.hostname, U.port
AUTH = {"Authorization": "Basic " + base64.b64encode(b"ana:pw").decode()}
FORM = "application/x-www-form-urlencoded"
JSONT = "application/json"
WINDOW = 8
failed = 0
RUN = str(int(time.time() * 1000) % 100000)  # room names unique per run


def room(tag):
    return "r%s-%s" % (RUN, tag)


def ok(name, cond, why=""):
    global failed
    if cond:
        print("PASS: %s: %s" % (SERVER, name))
    else:
        failed += 1
        print("FAIL: %s: %s - %s" % (SERVER, name, why))
    sys.stdout.flush()
    return cond


class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers      # lower-case name -> list of values
        self.body = body
        self.elapsed = elapsed

    def h(self, name):
        v = self.headers.get(name.lower())
        return v[-1] if v else None

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:
            return None

    def __repr__(self):
        return "%d %r %r" % (self.status, self.headers, self.body[:300])


def req(method, path, body=None, headers=None, timeout=30):
    if isinstance(body, str):
        body = body.encode("utf-8")
    hdrs = dict(headers or {})
    c = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    t0 = time.monotonic()
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        hd = {}
        for k, v in r.getheaders():
            hd.setdefault(k.lower(), []).append(v)
        return Resp(r.status, hd, data, time.monotonic() - t0)
    finally:
        c.close()


def get(path, **kw):
    return req("GET", path, **kw)


def q(**kw):
    return urllib.parse.urlencode(kw)


def send(r, nick, text, prefix="/chat/", ctype=FORM, headers=None, raw=None):
    if raw is not None:
        body = raw
    elif ctype.lower().startswith("application/json"):
        body = json.dumps({"room": r, "nick": nick, "text": text})
    else:
        body = q(room=r, nick=nick, text=text)
    h = {"Content-Type": ctype} if ctype else {}
    h.update(headers or {})
    return req("POST", prefix + "send", body=body, headers=h)


def listen(r, prefix="/chat/", **params):
    """GET /listen; params are its query (timeout= is the long-poll's)."""
    params["room"] = r
    return get(prefix + "listen?" + q(**params), timeout=30)


def events_of(r, since=0, prefix="/chat/"):
    j = listen(r, prefix=prefix, since=since, timeout=0).json()
    return j.get("events") if isinstance(j, dict) else None


def common_ok(resp):
    """The rules every answer of the responder follows."""
    if resp.h("Cache-Control") != "no-store":
        return "Cache-Control %r" % resp.h("Cache-Control")
    return None


def is_json_ok(name, resp, status=200):
    why = common_ok(resp)
    if resp.status != status:
        why = "status %d, want %d: %r" % (resp.status, status, resp.body[:200])
    elif resp.h("Content-Type") != "application/json; charset=utf-8":
        why = "Content-Type %r" % resp.h("Content-Type")
    elif resp.json() is None:
        why = "body is not JSON: %r" % resp.body[:200]
    return ok(name, why is None, why)


CODES = {400: "bad_request", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "payload_too_large",
         415: "unsupported_media_type", 429: "rate_limited",
         503: "unavailable"}


def is_error(name, resp, status, head=False):
    why = None
    if resp.status != status:
        why = "status %d, want %d: %r" % (resp.status, status, resp.body[:200])
    else:
        why = common_ok(resp)
    if why is None and not head:
        j = resp.json()
        if resp.h("Content-Type") != "application/json; charset=utf-8":
            why = "Content-Type %r" % resp.h("Content-Type")
        elif not isinstance(j, dict) or j.get("error") != CODES[status] or \
                not isinstance(j.get("message"), str) or not j["message"]:
            why = "body %r" % resp.body[:200]
    return ok(name, why is None, why)


# ---------------------------------------------------------------- routing

def t_routing():
    r = get("/chat/status")
    if is_json_ok("GET /status is 200 JSON", r):
        j = r.json()
        want = {"version": str, "store": str, "uptime_s": int, "workers": int,
                "listeners": int, "rooms": int, "events": int}
        bad = [k for k, t in want.items() if not isinstance(j.get(k), t)]
        ok("/status has version, store, uptime_s, workers, listeners, rooms, events",
           not bad, "missing or mistyped %r in %r" % (bad, j))
        ok("/status store is shm", j.get("store") == "shm", repr(j.get("store")))
        ok("/status workers > 0", isinstance(j.get("workers"), int) and j["workers"] > 0,
           repr(j.get("workers")))
    r = get("/chat/rooms")
    if is_json_ok("GET /rooms is 200 JSON", r):
        ok("/rooms has a rooms list", isinstance(r.json().get("rooms"), list), repr(r.json()))
    is_json_ok("GET /status?unknown=1&x ignores unknown parameters",
               get("/chat/status?unknown=1&x&unknown=2"))
    is_json_ok("routing under another prefix: /x/y/chat/status", get("/x/y/chat/status"))
    for p in ("/chat/", "/chat/nope", "/chat/listen/", "/chat/SEND", "/chat/sendx",
              "/chat/xsend", "/chat/status/", "/chat/send/x", "/x/y/chat/"):
        is_error("GET %s is 404" % p, get(p), 404)
    is_error("POST /chat/nope is 404", req("POST", "/chat/nope", body="a=b",
                                           headers={"Content-Type": FORM}), 404)
    is_error("HEAD /chat/nope is 404", req("HEAD", "/chat/nope"), 404, head=True)


def t_methods():
    allowed = {"send": "POST", "listen": "GET", "stream": "GET", "who": "GET",
               "rooms": "GET", "status": "GET"}
    for ep, allow in allowed.items():
        others = ["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS",
                  "GET" if allow == "POST" else "POST"]
        for m in others:
            body = "room=a&nick=b&text=c" if m in ("POST", "PUT", "PATCH") else None
            hdr = {"Content-Type": FORM} if body else {}
            r = req(m, "/chat/%s?room=a" % ep, body=body, headers=hdr)
            if is_error("%s /%s is 405" % (m, ep), r, 405, head=(m == "HEAD")):
                ok("%s /%s names Allow: %s" % (m, ep, allow), r.h("Allow") == allow,
                   "Allow %r" % r.h("Allow"))


# ---------------------------------------------------------------- /send

def t_send_ok():
    R = room("send")
    now = time.time() * 1000
    r = send(R, "ana", "hola")
    if is_json_ok("form /send stores an event", r):
        j = r.json()
        ok("first event of a room has id 1", j.get("id") == 1, repr(j))
        ok("/send answers ts in ms near now",
           isinstance(j.get("ts"), int) and abs(j["ts"] - now) < 60000, repr(j))
    r = send(R, "bo", "qué tal", ctype=JSONT)
    if is_json_ok("JSON /send stores an event", r):
        ok("ids increase by exactly 1", r.json().get("id") == 2, repr(r.json()))
    for i, ct in enumerate([FORM + "; charset=UTF-8", "APPLICATION/X-WWW-FORM-URLENCODED",
                            FORM + '; charset="utf-8"', FORM + "; foo=bar",
                            "Application/Json; Charset=UTF-8",
                            JSONT + '; charset="UTF-8"; x=y']):
        r = send(R, "ana", "ct %d" % i, ctype=ct)
        ok("Content-Type %r accepted" % ct, r.status == 200, repr(r))
    ev = events_of(R)
    ok("/send events come back in order with contiguous ids",
       ev is not None and [e["id"] for e in ev] == list(range(1, 9)), repr(ev))
    if ev:
        e = ev[0]
        ok("event has id, ts, room, type message, nick, text",
           e.get("room") == R and e.get("type") == "message" and e.get("nick") == "ana"
           and e.get("text") == "hola" and isinstance(e.get("ts"), int), repr(e))
        ok("JSON body text stored as sent", ev[1].get("text") == "qué tal", repr(ev[1]))
    # Stored exactly: not trimmed, not HTML-escaped, tab/LF/CR kept, + is space.
    R2 = room("exact")
    cases = [("  lead and trail  ", "  lead and trail  "),
             ("<b>&amp;</b>\"'", "<b>&amp;</b>\"'"),
             ("tab\there\nlf\r\ncr", "tab\there\nlf\r\ncr"),
             ("é" * 1000, "é" * 1000), ("x" * 2000, "x" * 2000)]
    for sent, want in cases:
        r = send(R2, "ana", sent)
        ok("text stored exactly: %r" % sent[:20], r.status == 200, repr(r))
    # The window is 8: the rest goes to a second room.
    R3 = room("exact2")
    r = req("POST", "/chat/send", body="room=%s&nick=a+b&text=1+2%%2B3" % R3,
            headers={"Content-Type": FORM})
    ok("form + decodes to space, %2B to +", r.status == 200, repr(r))
    r = send(R3, "  bo  ", "trimmed nick")
    ok("nick with spaces around accepted", r.status == 200, repr(r))
    r = send(R3, "é" * 32, "32 code point nick")
    ok("nick of 32 code points accepted", r.status == 200, repr(r))
    r = send(R3, "ana", "😀 pair", ctype=JSONT,
             raw='{"room":"%s","nick":"ana","text":"\\ud83d\\ude00 pair","x":[1,{"y":null}]}' % R3)
    ok("JSON surrogate pair and unknown members accepted", r.status == 200, repr(r))
    r = req("POST", "/chat/send", body="room=%s&nick=ana&text=u&z=1&z=2" % R3,
            headers={"Content-Type": FORM})
    ok("repeated unknown form field ignored", r.status == 200, repr(r))
    r = send("a" * 64, "ana", "room 64")
    ok("room of 64 characters accepted", r.status == 200, repr(r))
    r = send("A-z_0.9-" + RUN, "ana", "room charset")
    ok("room of A-Z a-z 0-9 _ . - accepted", r.status == 200, repr(r))
    ev = (events_of(R2) or []) + (events_of(R3) or [])
    want = [c[1] for c in cases] + ["1 2+3", "trimmed nick", "32 code point nick",
                                    "😀 pair", "u"]
    ok("texts stored byte for byte", ev is not None and [e.get("text") for e in ev] == want,
       repr([e.get("text")[:30] for e in ev or []]))
    if ev and len(ev) == len(want):
        ok("nick is trimmed of spaces", ev[6]["nick"] == "bo", repr(ev[6]))
        ok("+ in nick decodes to space", ev[5]["nick"] == "a b", repr(ev[5]))


def t_send_errors():
    R = room("bad")
    big = "x" * 2001
    E = []      # (name, response, status)

    def form(name, body, status, ctype=FORM, method="POST", prefix="/chat/", headers=None):
        h = {"Content-Type": ctype} if ctype else {}
        h.update(headers or {})
        E.append((name, req(method, prefix + "send", body=body, headers=h), status))

    def fields(name, status, **kw):
        form(name, q(**kw), status)

    # Content type and size, in check order.
    form("no Content-Type is 415", q(room=R, nick="a", text="b"), 415, ctype=None)
    form("text/plain is 415", q(room=R, nick="a", text="b"), 415, ctype="text/plain")
    form("multipart/form-data is 415", q(room=R, nick="a", text="b"), 415,
         ctype="multipart/form-data; boundary=x")
    form("charset other than utf-8 is 415", q(room=R, nick="a", text="b"), 415,
         ctype=FORM + "; charset=iso-8859-1")
    form("JSON with charset latin1 is 415", json.dumps({"room": R, "nick": "a", "text": "b"}),
         415, ctype=JSONT + "; charset=latin1")
    form("PUT /send with a bad body is 405 (method first)", "x" * 20000, 405,
         ctype="text/plain", method="PUT")
    form("oversized text/plain body is 415 (type before size)", "x" * 20000, 415,
         ctype="text/plain")
    form("form body over 16 KiB is 413", q(room=R, nick="a", text="x" * 17000), 413)
    form("JSON body over 16 KiB is 413",
         json.dumps({"room": R, "nick": "a", "text": "x" * 17000}), 413, ctype=JSONT)
    form("oversized body with bad fields is 413 (size before fields)",
         "room=%%%%&" + "x" * 20000, 413)
    # Field order: room, nick, text; 413 for a long text only after room and nick.
    fields("bad room before long text is 400", 400, room="a b", nick="a", text=big)
    fields("bad nick before long text is 400", 400, room=R, nick="", text=big)
    fields("text over 2000 bytes is 413", 413, room=R, nick="a", text=big)
    fields("text of 1001 é (2002 bytes) is 413", 413, room=R, nick="a", text="é" * 1001)
    fields("missing room is 400", 400, nick="a", text="b")
    fields("missing nick is 400", 400, room=R, text="b")
    fields("missing text is 400", 400, room=R, nick="a")
    fields("empty room is 400", 400, room="", nick="a", text="b")
    fields("room of 65 characters is 400", 400, room="a" * 65, nick="a", text="b")
    for bad in ("a b", "a/b", "é", "a+b", "a%b", "a:b", "a\x00"):
        fields("room %r is 400" % bad, 400, room=bad, nick="a", text="b")
    fields("empty nick is 400", 400, room=R, nick="", text="b")
    fields("all-space nick is 400", 400, room=R, nick="   ", text="b")
    fields("nick of 33 code points is 400", 400, room=R, nick="é" * 33, text="b")
    for c in ("\x00", "\x01", "\t", "\n", "\x1f", "\x7f", "\x85", "\x9f"):
        fields("nick with U+%04X is 400" % ord(c), 400, room=R, nick="a" + c + "b", text="b")
    fields("empty text is 400", 400, room=R, nick="a", text="")
    for c in ("\x00", "\x1b", "\x01", "\x0b", "\x0c", "\x7f"):
        fields("text with U+%04X is 400" % ord(c), 400, room=R, nick="a", text="a" + c)
    raw = [("malformed escape %G1", "room=%s&nick=a&text=%%G1" % R),
           ("truncated escape %4", "room=%s&nick=a&text=ab%%4" % R),
           ("lone % at end", "room=%s&nick=a&text=ab%%" % R),
           ("invalid UTF-8 %FF in text", "room=%s&nick=a&text=%%FF" % R),
           ("invalid UTF-8 %C3%28 in nick", "room=%s&nick=%%C3%%28&text=b" % R),
           ("overlong UTF-8 %C0%AF", "room=%s&nick=a&text=%%C0%%AF" % R),
           ("UTF-8 surrogate %ED%A0%80", "room=%s&nick=a&text=%%ED%%A0%%80" % R),
           ("repeated room", "room=%s&room=%s&nick=a&text=b" % (R, R)),
           ("repeated nick", "room=%s&nick=a&nick=a&text=b" % R),
           ("repeated text", "room=%s&nick=a&text=b&text=b" % R),
           ("empty repeated text", "room=%s&nick=a&text=b&text=" % R)]
    for name, body in raw:
        form("form %s is 400" % name, body, 400)
    js = [("array", '[1]'), ("string", '"x"'), ("not JSON", '{room:'),
          ("empty body", ''),
          ("room a number", '{"room":1,"nick":"a","text":"b"}'),
          ("nick null", '{"room":"%s","nick":null,"text":"b"}' % R),
          ("text an object", '{"room":"%s","nick":"a","text":{}}' % R),
          ("missing text", '{"room":"%s","nick":"a"}' % R),
          ("repeated room", '{"room":"%s","room":"%s","nick":"a","text":"b"}' % (R, R)),
          ("repeated text", '{"room":"%s","nick":"a","text":"b","text":"c"}' % R),
          ("lone surrogate in text", '{"room":"%s","nick":"a","text":"\\ud800"}' % R),
          ("lone low surrogate in nick", '{"room":"%s","nick":"\\udc00","text":"b"}' % R),
          ("lone surrogate in another member",
           '{"room":"%s","nick":"a","text":"b","x":"\\ud800"}' % R),
          ("trailing garbage", '{"room":"%s","nick":"a","text":"b"} x' % R),
          ("two objects", '{"room":"%s","nick":"a","text":"b"}{}' % R),
          ("text with \\u0000", '{"room":"%s","nick":"a","text":"a\\u0000"}' % R),
          ("text with \\u001b", '{"room":"%s","nick":"a","text":"\\u001b[31m"}' % R)]
    for name, body in js:
        form("JSON %s is 400" % name, body, 400, ctype=JSONT)
    E.append(("JSON invalid UTF-8 bytes is 400",
              req("POST", "/chat/send", body=b'{"room":"' + R.encode() +
                  b'","nick":"a","text":"\xff"}', headers={"Content-Type": JSONT}), 400))
    E.append(("JSON text over 2000 bytes is 413",
              send(R, "a", big, ctype=JSONT), 413))
    for name, resp, status in E:
        is_error("/send " + name, resp, status)
    r = listen(R, since=0, timeout=0)
    j = r.json() or {}
    ok("bad requests store nothing", r.status == 200 and j.get("events") == []
       and j.get("last") == 0, repr(r))


def t_trust():
    R = room("trust")
    is_error("trust: no REMOTE_USER is 403", send(R, "ana", "x", prefix="/trust/chat/"), 403)
    is_error("trust: bad room before identity is 400",
             send("a b", "ana", "x", prefix="/trust/chat/"), 400)
    is_error("trust: long text before identity is 413",
             send(R, "ana", "x" * 2001, prefix="/trust/chat/"), 413)
    is_error("trust: content type before identity is 415",
             send(R, "ana", "x", prefix="/trust/chat/", ctype="text/plain"), 415)
    is_error("trust: method before identity is 405",
             req("GET", "/trust/chat/send"), 405)
    r = send(R, "mallory", "as ana", prefix="/auth/chat/", headers=AUTH)
    is_json_ok("trust: authenticated send is 200", r)
    ev = events_of(R, prefix="/trust/chat/")
    ok("trust: nick is REMOTE_USER, the nick field is ignored",
       ev is not None and len(ev) == 1 and ev[0]["nick"] == "ana", repr(ev))


def t_rate():
    # The trust responder: --rate 1/2, so a burst of 2 and then 429.
    R = room("rate")
    time.sleep(2.2)     # t_trust took a token; let the bucket fill up
    rs = [send(R, "x", "m%d" % i, prefix="/auth/chat/", headers=AUTH) for i in range(4)]
    codes = [r.status for r in rs]
    ok("rate: burst of 2 passes, then 429", codes == [200, 200, 429, 429], repr(codes))
    r = rs[2]
    if is_error("rate: 429 is rate_limited", r, 429):
        ra = r.h("Retry-After")
        ok("rate: 429 has Retry-After in whole seconds",
           ra is not None and ra.isdigit() and 1 <= int(ra) <= 2, repr(ra))
    is_error("rate: a bad request while limited is 400, not 429",
             send("a b", "x", "y", prefix="/auth/chat/", headers=AUTH), 400)
    is_error("rate: no identity while limited is 403, not 429",
             send(R, "x", "y", prefix="/trust/chat/"), 403)
    r = listen(R, prefix="/trust/chat/", since=0, timeout=0)
    ev = (r.json() or {}).get("events")
    ok("rate: nothing stored over the limit",
       ev is not None and [e["text"] for e in ev] == ["m0", "m1"], repr(r))
    time.sleep(1.2)
    r = send(R, "x", "later", prefix="/auth/chat/", headers=AUTH)
    ok("rate: a send passes again after Retry-After", r.status == 200, repr(r))
    if r.status == 200:
        ok("rate: ids stay contiguous across 429s", r.json().get("id") == 3, repr(r.json()))


# ---------------------------------------------------------------- /listen

def t_listen_args():
    R = room("largs")
    E = [("missing room", "/chat/listen", 400),
         ("empty room", "/chat/listen?room=", 400),
         ("bad room", "/chat/listen?room=a%20b", 400),
         ("repeated room", "/chat/listen?room=a&room=a", 400),
         ("repeated since", "/chat/listen?room=a&since=1&since=1", 400),
         ("bad escape", "/chat/listen?room=a%zz", 400),
         ("bad nick", "/chat/listen?room=a&timeout=0&nick=%01", 400),
         ("empty nick", "/chat/listen?room=a&timeout=0&nick=", 400),
         ("invalid UTF-8 nick", "/chat/listen?room=a&timeout=0&nick=%FF", 400)]
    for v in ("-1", "+1", "1.5", "", "abc", " 1", "1 ", "0x10", "9007199254740992",
              "99999999999999999999", "１"):
        E.append(("since=%r" % v, "/chat/listen?room=a&timeout=0&since=" +
                  urllib.parse.quote(v), 400))
    for v in ("-1", "", "abc", "1.5", "9007199254740992"):
        E.append(("timeout=%r" % v, "/chat/listen?room=a&since=0&timeout=" +
                  urllib.parse.quote(v), 400))
    for name, path, status in E:
        is_error("/listen %s is %d" % (name, status), get(path), status)
    r = get("/chat/listen?room=%s&since=0000&timeout=0&foo=1&foo=2" % R)
    is_json_ok("/listen leading zeros and repeated unknown params", r)
    r = get("/chat/listen?room=%s&since=9007199254740991&timeout=0" % R)
    if is_json_ok("/listen since=2^53-1 accepted", r):
        ok("/listen since beyond last is a reset", r.json().get("reset") is True, repr(r.json()))


def shape(j, room_):
    return isinstance(j, dict) and j.get("room") == room_ and \
        isinstance(j.get("events"), list) and isinstance(j.get("last"), int) and \
        isinstance(j.get("gap"), bool) and isinstance(j.get("reset"), bool)


def t_listen():
    R = room("listen")
    r = listen(R, timeout=1)
    j = r.json()
    if is_json_ok("/listen on an empty room times out with 200", r):
        ok("/listen timeout answer shape room/events/last/gap/reset",
           shape(j, R) and j["events"] == [] and j["last"] == 0 and not j["gap"]
           and not j["reset"], repr(j))
        ok("/listen timeout=1 waits about 1 s", 0.8 <= r.elapsed < 3, "%.2f s" % r.elapsed)
    r = listen(R, timeout=0)
    ok("/listen timeout=0 answers at once", r.status == 200 and r.elapsed < 1,
       "%r %.2f s" % (r, r.elapsed))
    r = listen(R, timeout=100)
    ok("/listen timeout above --timeout-max (3) is clamped",
       r.status == 200 and 2.5 <= r.elapsed < 6, "%r %.2f s" % (r.status, r.elapsed))
    for i in range(3):
        send(R, "ana", "m%d" % i)
    r = listen(R, since=0)
    j = r.json()
    ok("/listen since=0 returns all events at once, oldest first",
       shape(j, R) and [e["id"] for e in j["events"]] == [1, 2, 3] and j["last"] == 3
       and not j["gap"] and not j["reset"] and r.elapsed < 1, repr(j))
    j = listen(R, since=1).json()
    ok("/listen since=1 returns ids 2, 3 and last 3",
       shape(j, R) and [e["id"] for e in j["events"]] == [2, 3] and j["last"] == 3, repr(j))
    j = listen(R, since=3, timeout=0).json()
    ok("/listen with nothing new: events [] and last = cursor",
       shape(j, R) and j["events"] == [] and j["last"] == 3, repr(j))
    # No since: only new events; wakes as soon as one arrives.
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", listen(R, timeout=3)))
    th.start()
    time.sleep(0.7)
    t0 = time.monotonic()
    send(R, "bo", "wake")
    th.join(10)
    r = out.get("r")
    j = r.json() if r else None
    ok("/listen without since waits and wakes on a new event",
       j is not None and [e["id"] for e in j["events"]] == [4] and j["last"] == 4
       and j["events"][0]["text"] == "wake", repr(r))
    ok("/listen wakes within 1 s of the send", r is not None and
       time.monotonic() - t0 < 1.5 and r.elapsed < 2.5, repr(r and r.elapsed))


def t_gap_reset():
    R = room("gap")
    for i in range(12):
        send(R, "ana", "g%d" % i)
    j = listen(R, since=0).json()
    ok("/listen gap: since=0 after 12 events in a window of 8 -> gap, ids 5..12",
       shape(j, R) and j["gap"] is True and [e["id"] for e in j["events"]] == list(range(5, 13))
       and j["last"] == 12 and not j["reset"], repr(j))
    j = listen(R, since=3).json()
    ok("/listen gap: since=3 (4 is gone)", shape(j, R) and j["gap"] is True
       and [e["id"] for e in j["events"]] == list(range(5, 13)), repr(j))
    j = listen(R, since=4).json()
    ok("/listen no gap: since=4 (5 is the oldest)", shape(j, R) and j["gap"] is False
       and [e["id"] for e in j["events"]] == list(range(5, 13)), repr(j))
    r = listen(R, since=100, timeout=3)
    j = r.json()
    ok("/listen reset: since beyond last -> reset, whole window, last = room's last, at once",
       shape(j, R) and j["reset"] is True and [e["id"] for e in j["events"]] == list(range(5, 13))
       and j["last"] == 12 and r.elapsed < 1, repr(j))
    r = listen(room("empty"), since=5, timeout=3)
    j = r.json()
    ok("/listen reset on an empty room: events [], last 0, at once",
       shape(j, room("empty")) and j["reset"] is True and j["events"] == [] and j["last"] == 0
       and r.elapsed < 1, repr(j))


# ---------------------------------------------------------------- presence

def t_presence():
    R = room("who")
    r = get("/chat/who?" + q(room=R))
    if is_json_ok("/who on a quiet room is 200", r):
        ok("/who on a quiet room: nicks []", r.json() == {"room": R, "nicks": []}, repr(r.json()))
    for p, name in (("/chat/who", "missing room"), ("/chat/who?room=a%20b", "bad room"),
                    ("/chat/who?room=a&room=b", "repeated room")):
        is_error("/who %s is 400" % name, get(p), 400)
    j = listen(R, nick="ana", timeout=2).json()
    ok("/listen with nick: the joining client receives its own join",
       j is not None and len(j["events"]) == 1 and j["events"][0]["type"] == "join"
       and j["events"][0]["nick"] == "ana" and "text" not in j["events"][0]
       and j["events"][0]["id"] == 1 and j["last"] == 1, repr(j))
    # Poll again at once: still present, no second join.
    j = listen(R, since=1, nick="ana", timeout=0).json()
    ok("/listen again within grace: no second join", j is not None and j["events"] == [],
       repr(j))
    listen(R, since=1, nick="  bo ", timeout=0)
    listen(R, since=1, nick="Émile", timeout=0)
    listen(R, since=1, nick="zed", timeout=0)
    r = get("/chat/who?" + q(room=R))
    ok("/who lists present nicks sorted by bytes (trimmed)",
       r.json() == {"room": R, "nicks": ["ana", "bo", "zed", "Émile"]}, repr(r))
    # --grace 2: all leave within ~2 s of their last request ending.
    deadline = time.monotonic() + 8
    nicks = None
    while time.monotonic() < deadline:
        nicks = (get("/chat/who?" + q(room=R)).json() or {}).get("nicks")
        if nicks == []:
            break
        time.sleep(0.2)
    ok("/who empties after the grace period", nicks == [], repr(nicks))
    ev = events_of(R)
    kinds = sorted((e["type"], e["nick"]) for e in ev or [])
    ok("presence: one join and one leave per nick",
       kinds == sorted([("join", n) for n in ("ana", "bo", "zed", "Émile")] +
                       [("leave", n) for n in ("ana", "bo", "zed", "Émile")]), repr(kinds))
    ok("presence events are contiguous", ev and [e["id"] for e in ev] == list(range(1, 9)),
       repr(ev))


def t_rooms():
    R = room("rooms")
    send(R, "ana", "a")
    send(R, "ana", "b")
    out = {}
    c = socket.create_connection((HOST, PORT), 5)
    c.sendall(("GET /chat/listen?room=%s&timeout=3 HTTP/1.1\r\nHost: x\r\n\r\n" % R).encode())
    j = None
    for _ in range(20):
        time.sleep(0.1)
        j = get("/chat/rooms").json()
        ent = [x for x in (j or {}).get("rooms", []) if x.get("room") == R]
        if ent and ent[0].get("listeners") == 1:
            break
    ent = [x for x in (j or {}).get("rooms", []) if x.get("room") == R]
    ok("/rooms lists the room with last and its waiting listener",
       ent == [{"room": R, "last": 2, "listeners": 1}], repr(ent))
    names = [x.get("room") for x in (j or {}).get("rooms", [])]
    ok("/rooms sorted by room", names == sorted(names, key=lambda s: s.encode()), repr(names))
    st = get("/chat/status").json() or {}
    ok("/status counts the waiting listener", st.get("listeners", 0) >= 1, repr(st))
    c.close()
    # nginx closes the FastCGI connection at once; Apache only when it next
    # writes, i.e. after the 3 s long-poll timeout.
    limit = 1.5 if SERVER == "nginx" else 5
    t0 = time.monotonic()
    n = None
    while time.monotonic() - t0 < limit:
        ent = [x for x in (get("/chat/rooms").json() or {}).get("rooms", []) if x.get("room") == R]
        n = ent[0].get("listeners") if ent else None
        if n == 0:
            break
        time.sleep(0.1)
    ok("/rooms: a listener that hangs up leaves the count (%s, within %.1f s)" % (SERVER, limit),
       n == 0, "listeners %r" % n)


# ---------------------------------------------------------------- /stream

class Stream:
    """A raw HTTP/1.1 GET whose chunked body is read as it arrives."""

    def __init__(self, path, headers=None):
        self.s = socket.create_connection((HOST, PORT), 5)
        h = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, h)).encode())
        self.raw = b""
        self.body = b""
        self.status = None
        self.headers = {}
        self.t0 = time.monotonic()
        self.first_at = None
        self.chunked = False
        self.eof = False

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return False
        if not d:
            self.eof = True
            return False
        self.raw += d
        self._parse()
        return True

    def _parse(self):
        if self.status is None:
            if b"\r\n\r\n" not in self.raw:
                return
            head, self.raw = self.raw.split(b"\r\n\r\n", 1)
            lines = head.decode("latin1").split("\r\n")
            self.status = int(lines[0].split()[1])
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                self.headers.setdefault(k.strip().lower(), []).append(v.strip())
            self.chunked = "chunked" in ",".join(self.headers.get("transfer-encoding", []))
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
        while self.chunked and b"\r\n" in self.raw:
            size_s, rest = self.raw.split(b"\r\n", 1)
            size = int(size_s.split(b";")[0], 16)
            if len(rest) < size + 2:
                break
            self.body += rest[:size]
            self.raw = rest[size + 2:]
            if size == 0:
                self.eof = True
        if self.body and self.first_at is None:
            self.first_at = time.monotonic() - self.t0

    def until(self, pred, secs):
        deadline = time.monotonic() + secs
        while not pred(self):
            if not self._read(deadline):
                return pred(self)
        return True

    def h(self, name):
        v = self.headers.get(name.lower())
        return v[-1] if v else None

    def text(self):
        return self.body.decode("utf-8", "replace")

    def blocks(self):
        """The SSE blocks received so far: list of {field: value} (comments as ':')."""
        out = []
        for blk in self.text().split("\n\n")[:-1]:
            d = {}
            for ln in blk.split("\n"):
                if ln.startswith(":"):
                    d.setdefault(":", []).append(ln)
                else:
                    k, _, v = ln.partition(":")
                    d[k] = v[1:] if v.startswith(" ") else v
            out.append(d)
        return out

    def events(self):
        return [b for b in self.blocks() if "id" in b or "event" in b]

    def close(self):
        self.s.close()


def t_stream():
    R = room("stream")
    s = Stream("/chat/stream?" + q(room=R))
    s.until(lambda s: s.body.count(b"\n\n") >= 1, 3)
    ok("/stream is 200 text/event-stream with no-store",
       s.status == 200 and (s.h("Content-Type") or "").startswith("text/event-stream")
       and s.h("Cache-Control") == "no-store", "%r %r" % (s.status, s.headers))
    if SERVER == "nginx":
        ok("/stream X-Accel-Buffering is consumed by nginx",
           s.h("X-Accel-Buffering") is None, repr(s.headers))
    else:
        ok("/stream sends X-Accel-Buffering: no", s.h("X-Accel-Buffering") == "no",
           repr(s.headers))
    lines = s.text().split("\n")
    ok("/stream first bytes: retry: 2000, a comment line, an empty line",
       len(lines) >= 3 and lines[0] == "retry: 2000" and lines[1].startswith(":")
       and lines[2] == "", repr(s.body[:100]))
    ok("/stream first bytes arrive at once", s.first_at is not None and s.first_at < 1,
       repr(s.first_at))
    t0 = time.monotonic()
    send(R, "ana", "live")
    got = s.until(lambda s: len(s.events()) >= 1, 3)
    ev = s.events()
    ok("/stream delivers a new event within 1 s", got and time.monotonic() - t0 < 1.5,
       repr(s.body[-200:]))
    if ev:
        e = ev[0]
        data = json.loads(e.get("data", "null"))
        ok("/stream event block: id, event: message, data = event JSON",
           e.get("id") == "1" and e.get("event") == "message" and isinstance(data, dict)
           and data.get("id") == 1 and data.get("text") == "live" and data.get("room") == R,
           repr(e))
        lj = events_of(R)
        ok("/stream data equals the /listen event", lj and lj[0] == data, "%r %r" % (lj, data))
    # --ping 2: a comment after 2 s without events.
    n = s.text().count("\n: ping\n") + s.text().count("\n:ping\n")
    got = s.until(lambda s: s.text().count("\n: ping\n") + s.text().count("\n:ping\n") > n, 4)
    ok("/stream sends ': ping' after --ping seconds without events", got, repr(s.body[-100:]))
    s.close()
    for p, name in (("/chat/stream", "missing room"),
                    ("/chat/stream?room=a%%20b", "bad room"),
                    ("/chat/stream?room=%s&since=-1" % R, "since=-1"),
                    ("/chat/stream?room=%s&since=x" % R, "since=x")):
        is_error("/stream %s is 400" % name, get(p), 400)
    for v in ("abc", "-1", "1.0", "9007199254740992", ""):
        is_error("/stream Last-Event-ID %r is 400" % v,
                 get("/chat/stream?room=%s" % R, headers={"Last-Event-ID": v}), 400)


def t_stream_cursor():
    R = room("scur")
    for i in range(12):
        send(R, "ana", "s%d" % i)

    def opened(path, hdr=None, n=8):
        s = Stream(path, hdr)
        s.until(lambda s: len(s.events()) >= n, 3)
        s.close()
        return s

    s = opened("/chat/stream?" + q(room=R, since=0), n=9)
    ev = s.events()
    ok("/stream gap: 'event: gap' with cursor and last, then ids 5..12",
       len(ev) == 9 and ev[0].get("event") == "gap"
       and json.loads(ev[0].get("data", "null")) == {"cursor": 0, "last": 12}
       and [b.get("id") for b in ev[1:]] == [str(i) for i in range(5, 13)], repr(s.text()[:600]))
    s = opened("/chat/stream?" + q(room=R, since=100), n=9)
    ev = s.events()
    ok("/stream reset: 'event: reset' with cursor and last, then the window",
       len(ev) == 9 and ev[0].get("event") == "reset"
       and json.loads(ev[0].get("data", "null")) == {"cursor": 100, "last": 12}
       and [b.get("id") for b in ev[1:]] == [str(i) for i in range(5, 13)], repr(s.text()[:600]))
    s = opened("/chat/stream?" + q(room=R, since=0), {"Last-Event-ID": "10"}, n=2)
    ev = s.events()
    ok("/stream Last-Event-ID wins over since: ids 11, 12, no gap",
       [b.get("id") for b in ev] == ["11", "12"] and all(b.get("event") == "message" for b in ev),
       repr(s.text()[:600]))
    s = opened("/chat/stream?" + q(room=R, since=6), n=6)
    ev = s.events()
    ok("/stream since=6: ids 7..12, no announcement",
       [b.get("id") for b in ev] == [str(i) for i in range(7, 13)], repr(s.text()[:600]))
    s = opened("/chat/stream?" + q(room=R, nick="sam"), n=1)
    ev = s.events()
    d = json.loads(ev[0]["data"]) if ev else {}
    ok("/stream with nick: the stream receives its own join",
       len(ev) == 1 and ev[0].get("event") == "join" and ev[0].get("id") == "13"
       and d.get("type") == "join" and d.get("nick") == "sam", repr(s.text()[:600]))


def main():
    for t in (t_routing, t_methods, t_send_ok, t_send_errors, t_trust, t_rate,
              t_listen_args, t_listen, t_gap_reset, t_presence, t_rooms, t_stream,
              t_stream_cursor):
        try:
            t()
        except Exception as e:     # one broken case must not hide the rest
            ok(t.__name__ + " ran to the end", False, "%s: %s" % (type(e).__name__, e))
    sys.exit(1 if failed else 0)


main()
