#!/usr/bin/env python3
"""malformed.py HOST PORT [N [SERVER]]: N (default 1000) malformed or
random requests over raw sockets, each expecting one exact answer:

  fcomet's own JSON error (400/405/413/415, Cache-Control: no-store), or
  the web server's own answer where it stops the request itself, as its
  documentation says. SERVER nginx (the default): 413 for a body over
  client_max_body_size, 414 for a request line over
  large_client_header_buffers, 400 for a header over it, 400 for a request
  it cannot parse (bad method, bad %-escape in the path, HTTP/1.1 without
  Host), and no answer at all when the client closes before its body is
  complete. SERVER apache: the same, except that a header is over
  LimitRequestFieldSize (8190) one at a time, a lower-case method reaches
  fcomet (405), and a body cut short gets Apache's 400.

Prints one PASS/FAIL line per kind of request (with the first mismatches).
Exit 1 if any request got another answer. Seeded: the same run every time.
"""

import concurrent.futures
import json
import os
import random
import socket
import sys
import time
import urllib.parse

HOST, PORT = sys.argv[1], int(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
SERVER = sys.argv[4] if len(sys.argv) > 4 else "nginx"
rnd = random.Random(20261129)
FORM = "application/x-www-form-urlencoded"
ALLOW = {"send": "POST", "listen": "GET", "stream": "GET", "who": "GET",
         "rooms": "GET", "status": "GET"}
CODES = {400: "bad_request", 405: "method_not_allowed", 413: "payload_too_large",
         415: "unsupported_media_type"}
ROOMCH = "ABCXYZabcxyz0189_.-"


def raw(method, target, headers=(), body=b"", host=True, clen=None):
    h = "%s %s HTTP/1.1\r\n" % (method, target)
    if host:
        h += "Host: 127.0.0.1\r\n"
    h += "Connection: close\r\n"
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    if body or clen is not None:
        h += "Content-Length: %d\r\n" % (len(body) if clen is None else clen)
    b = h.encode("latin1") if isinstance(h, str) else h
    return b + b"\r\n" + body


# ------------------------------------------------------------ generators
# Each returns (kind, request bytes, expect, how) where expect is
# ("fcomet", status[, allow]) or ("server", status) or ("none",), and how is
# "normal" or ("truncate", n) for a client that half-closes after n bytes.

def room():
    return "mal" + "".join(rnd.choice(ROOMCH) for _ in range(rnd.randint(1, 10)))


def bad_room():
    c = rnd.choice(["empty", "long", "char"])
    if c == "empty":
        return ""
    if c == "long":
        return "".join(rnd.choice(ROOMCH) for _ in range(rnd.randint(65, 200)))
    s = list(room())
    s.insert(rnd.randrange(len(s) + 1), rnd.choice(" /:@!~*'()é\x00\x01\x7f+%&=?#\\\"<>"))
    return "".join(s)


def bad_number():
    c = rnd.choice(["sign", "junk", "big", "empty", "space", "float"])
    d = str(rnd.randint(0, 10 ** 6))
    if c == "sign":
        return rnd.choice("+-") + d
    if c == "junk":
        i = rnd.randint(0, len(d))
        return d[:i] + rnd.choice("abcxXeE_/,;:") + d[i:]
    if c == "big":
        return str(rnd.randint(2 ** 53, 10 ** 30))
    if c == "empty":
        return ""
    if c == "space":
        return rnd.choice([" " + d, d + " ", d[:1] + " " + d[1:]])
    return d + "." + str(rnd.randint(0, 9))


BAD_UTF8 = ["%80", "%BF", "%C0%AF", "%C1%BF", "%E0%80%AF", "%ED%A0%80", "%ED%BF%BF",
            "%F4%90%80%80", "%F5%80%80%80", "%FE", "%FF", "%C3", "%E2%82", "%C3%28"]
BAD_ESC = ["%", "%G1", "%1", "%1G", "%%", "%zz", "%-1", "% 1"]


def enc(s):
    return urllib.parse.quote(s, safe="")


def bad_nick_enc():
    c = rnd.choice(["ctl", "utf8", "long", "space", "empty", "c1"])
    if c == "ctl":
        return enc("a" + chr(rnd.choice(list(range(0, 32)) + [127])) + "b")
    if c == "c1":
        return enc("a" + chr(rnd.randint(0x80, 0x9f)))
    if c == "utf8":
        return "a" + rnd.choice(BAD_UTF8) + "b"
    if c == "long":
        return enc("é" * rnd.randint(33, 60))
    if c == "space":
        return "+" * rnd.randint(1, 5)
    return ""


def bad_text_enc():
    c = rnd.choice(["ctl", "utf8", "empty"])
    if c == "ctl":
        return enc("x" + chr(rnd.choice([0, 1, 8, 11, 12, 14, 27, 31, 127])) + "y")
    if c == "utf8":
        return "x" + rnd.choice(BAD_UTF8)
    return ""


def one_bad_query(ep):
    """A query for /listen, /stream or /who that is valid but for one thing."""
    f = {"room": enc(room())}
    if ep == "listen":
        f["timeout"] = "0"
    if ep != "who" and rnd.random() < 0.5:
        f["since"] = str(rnd.randint(0, 50))
    kinds = ["room", "esc", "repeat"]
    if ep != "who":
        kinds += ["since", "nick", "rawutf8"]
    if ep == "listen":
        kinds += ["timeout"]
    k = rnd.choice(kinds)
    extra = ""
    if k == "room":
        f["room"] = enc(bad_room())
    elif k == "since":
        f["since"] = enc(bad_number())
    elif k == "timeout":
        f["timeout"] = enc(bad_number())
    elif k == "nick":
        f["nick"] = bad_nick_enc()
    elif k == "rawutf8":
        f["nick"] = "a" + rnd.choice(["\xff", "\xc3(", "\xed\xa0\x80", "\x80"])
    elif k == "esc":
        key = rnd.choice([x for x in f if x != "timeout"] or ["room"])
        v = f[key]
        i = rnd.randint(0, len(v))
        f[key] = v[:i] + rnd.choice(BAD_ESC).replace(" ", "%20") + v[i:]
    elif k == "repeat":
        key = rnd.choice(list(f))
        extra = "&%s=%s" % (key, f[key])
    parts = ["%s=%s" % kv for kv in f.items()]
    rnd.shuffle(parts)
    if rnd.random() < 0.3:
        parts.insert(rnd.randrange(len(parts) + 1), "zz%d=%d" % (rnd.randint(0, 9), rnd.randint(0, 9)))
    return "&".join(parts) + extra, k


def g_method():
    ep = rnd.choice(list(ALLOW))
    m = rnd.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "FOO", "PROPFIND", "MKCOL",
                    "TRACE_X", "HEAD", "GET" if ALLOW[ep] == "POST" else "POST"])
    q = "?room=" + room() if rnd.random() < 0.5 else ""
    body = b""
    hdr = []
    if m in ("POST", "PUT", "PATCH") and rnd.random() < 0.7:
        body = rnd.randbytes(rnd.randint(1, 300))
        hdr = [("Content-Type", rnd.choice([FORM, "application/json", "text/plain"]))]
    prefix = rnd.choice(["/chat/", "/chat/", "/chat/a/b/"])
    return ("405 wrong method", raw(m, prefix + ep + q, hdr, body),
            ("fcomet", 405, ALLOW[ep], m == "HEAD"), "normal")


def g_query():
    ep = rnd.choice(["listen", "stream", "who"])
    qs, k = one_bad_query(ep)
    hdr = []
    return ("400 bad query (%s)" % ep, raw("GET", "/chat/%s?%s" % (ep, qs), hdr),
            ("fcomet", 400), "normal")


def g_last_event_id():
    v = bad_number()
    while v != v.strip(" "):
        v = bad_number()    # HTTP strips spaces around a header's value
    return ("400 bad Last-Event-ID", raw("GET", "/chat/stream?room=%s" % room(),
                                         [("Last-Event-ID", v)]),
            ("fcomet", 400), "normal")


def form_fields():
    return {"room": enc(room()), "nick": enc(rnd.choice(["ana", "bo", " é "])),
            "text": enc(rnd.choice(["hi", "a b", "<x>"]))}


def g_form():
    f = form_fields()
    k = rnd.choice(["room", "nick", "text", "esc", "repeat", "missing"])
    extra = ""
    if k == "room":
        f["room"] = enc(bad_room())
    elif k == "nick":
        f["nick"] = bad_nick_enc()
    elif k == "text":
        f["text"] = bad_text_enc()
    elif k == "esc":
        key = rnd.choice(list(f))
        v = f[key]
        i = rnd.randint(0, len(v))
        f[key] = v[:i] + rnd.choice(BAD_ESC).replace(" ", "%20") + v[i:]
    elif k == "repeat":
        key = rnd.choice(list(f))
        extra = "&%s=%s" % (key, f[key])
    elif k == "missing":
        del f[rnd.choice(list(f))]
    parts = ["%s=%s" % kv for kv in f.items()]
    rnd.shuffle(parts)
    body = ("&".join(parts) + extra).encode("latin1")
    return ("400 bad form /send (%s)" % k,
            raw("POST", "/chat/send", [("Content-Type", FORM)], body),
            ("fcomet", 400), "normal")


def g_json():
    good = json.dumps({"room": room(), "nick": "ana", "text": "hi"})
    k = rnd.choice(["truncated", "random", "types", "garbage"])
    if k == "truncated":
        body = good[:rnd.randint(0, len(good) - 1)].encode()
    elif k == "random":
        body = rnd.randbytes(rnd.randint(1, 400))
    elif k == "types":
        o = {"room": room(), "nick": "ana", "text": "hi"}
        key = rnd.choice(list(o))
        if rnd.random() < 0.3:
            del o[key]
        else:
            o[key] = rnd.choice([1, None, True, [], {}, ["x"], 2.5])
        body = json.dumps(o).encode()
    else:
        body = (good + rnd.choice(["x", "}", ",", "{}", "[]", "\x00"])).encode()
    return ("400 bad JSON /send (%s)" % k,
            raw("POST", "/chat/send", [("Content-Type", "application/json")], body),
            ("fcomet", 400), "normal")


def g_ctype():
    ct = rnd.choice(["text/plain", "application/xml", "multipart/form-data; boundary=x",
                     "application/jsonx", "application/x-www-form-urlencodedx", "json",
                     "application/json; charset=latin1", FORM + "; charset=utf-16",
                     "application/octet-stream", "x/" + "".join(rnd.choice("abc") for _ in range(5)),
                     None])
    body = ("room=%s&nick=a&text=b" % room()).encode()
    hdr = [("Content-Type", ct)] if ct is not None else []
    return ("415 bad Content-Type", raw("POST", "/chat/send", hdr, body),
            ("fcomet", 415), "normal")


def g_big_body():
    n = rnd.randint(16 * 1024 + 1, 64 * 1024)
    body = b"room=a&nick=b&text=" + b"x" * n
    return ("413 body over 16 KiB (fcomet)",
            raw("POST", "/chat/send", [("Content-Type", FORM)], body),
            ("fcomet", 413), "normal")


def g_huge_body():
    # Only the headers: nginx answers 413 from Content-Length alone.
    n = rnd.randint(1024 * 1024 + 1, 100 * 1024 * 1024)
    return ("413 body over client_max_body_size (%s)" % SERVER,
            raw("POST", "/chat/send", [("Content-Type", FORM)], clen=n),
            ("server", 413), "normal")


def g_truncated():
    body = ("room=%s&nick=a&text=" % room()).encode() + b"x" * rnd.randint(10, 1000)
    req = raw("POST", "/chat/send", [("Content-Type", FORM)], body,
              clen=len(body) + rnd.randint(1, 5000))
    cut = ("truncate", len(req) - rnd.randint(0, len(body) - 1))
    if SERVER == "apache":  # it answers what it could not read in full
        return ("400 from apache to a body cut short by the client", req,
                ("server", 400), cut)
    return ("no answer to a body cut short by the client", req, ("none",), cut)


def g_big_header():
    n = rnd.randint(9 * 1024, 30 * 1024)
    # Apache limits each header, not their sum.
    k = rnd.choice(["one", "many"] if SERVER == "nginx" else ["one"])
    if k == "one":
        hdr = [("X-Big", "a" * n)]
    else:
        hdr = [("X-H%d" % i, "b" * 4000) for i in range(rnd.randint(10, 20))]
    return ("400 header over the header limit (%s)" % SERVER,
            raw("GET", "/chat/status", hdr), ("server", 400), "normal")


def g_long_uri():
    n = rnd.randint(9 * 1024, 30 * 1024)
    return ("414 request line over the line limit (%s)" % SERVER,
            raw("GET", "/chat/listen?room=a&x=" + "a" * n), ("server", 414), "normal")


def g_garbage_line():
    k = rnd.choice(["lower", "binary", "nohost", "ctl"])
    if k == "lower":
        req = raw(rnd.choice(["get", "post", "Get"]), "/chat/status")
    elif k == "binary":
        req = bytes([rnd.randint(0x80, 0xff)]) + rnd.randbytes(rnd.randint(5, 200)) + b"\r\n\r\n"
    elif k == "nohost":
        req = raw("GET", "/chat/status", host=False)
    else:
        req = b"GET /chat/status\x01x HTTP/1.1\r\nHost: a\r\n\r\n"
    if k == "lower" and SERVER == "apache":     # a method it passes on
        return ("405 from fcomet to a lower-case method (apache)", req,
                ("fcomet", 405, "GET"), "normal")
    return ("400 unparsable request (%s, %s)" % (SERVER, k), req,
            ("server", 400), "normal")


def g_bad_path():
    ep = rnd.choice(list(ALLOW))
    esc = rnd.choice(["%", "%G1", "%1", "%zz", "%%"])
    target = rnd.choice(["/chat/%s%s" % (ep, esc), "/chat/%s/%s" % (esc, ep)])
    return ("400 bad %%-escape in the path (%s)" % SERVER, raw("GET", target),
            ("server", 400), "normal")


MIX = [(g_method, 150), (g_query, 220), (g_last_event_id, 30), (g_form, 150),
       (g_json, 100), (g_ctype, 80), (g_big_body, 50), (g_huge_body, 40),
       (g_truncated, 50), (g_big_header, 40), (g_long_uri, 30), (g_garbage_line, 40),
       (g_bad_path, 20)]


# ------------------------------------------------------------ client

def parse(data):
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return {"status": -1, "first": lines[0][:80]}
    hd = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hd[k.strip().lower()] = v.strip()
    if "chunked" in hd.get("transfer-encoding", ""):
        out = b""
        while b"\r\n" in body:
            sz, rest = body.split(b"\r\n", 1)
            try:
                n = int(sz.split(b";")[0], 16)
            except ValueError:
                break
            if n == 0:
                break
            out += rest[:n]
            body = rest[n + 2:]
        body = out
    return {"status": status, "headers": hd, "body": body}


def complete(data):
    """Is data a whole response with a Content-Length?"""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for ln in head.split(b"\r\n")[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            return v.strip().isdigit() and len(body) >= int(v.strip())
    return False


def run(case):
    t0 = time.monotonic()
    kind, why = run1(case)
    return kind, why, time.monotonic() - t0


def run1(case):
    kind, req, expect, how = case
    s = socket.create_connection((HOST, PORT), 10)
    s.settimeout(15)
    data = b""
    try:
        if how == "normal":
            try:
                s.sendall(req)
            except (BrokenPipeError, ConnectionResetError):
                pass        # nginx may answer and close before all is sent
        else:
            s.sendall(req[:how[1]])
            s.shutdown(socket.SHUT_WR)
        while True:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                break
            if not d:
                break
            data += d
            if complete(data):
                break       # nginx lingers on a connection it answered early
    except socket.timeout:
        return kind, "timed out after %r" % data[:100]
    finally:
        s.close()
    return kind, judge(expect, parse(data), data)


def judge(expect, r, data):
    """None if the answer is the one expected, else why not."""
    if expect[0] == "none":
        return None if r is None else "answered %r" % data[:120]
    if r is None:
        return "no answer"
    if r["status"] != expect[1]:
        return "status %r, want %d: %r" % (r["status"], expect[1], data[:200])
    if expect[0] == "server":
        return None
    h = r["headers"]
    if h.get("cache-control") != "no-store":
        return "Cache-Control %r" % h.get("cache-control")
    if len(expect) > 2 and h.get("allow") != expect[2]:
        return "Allow %r, want %r" % (h.get("allow"), expect[2])
    if len(expect) > 3 and expect[3]:
        return None     # HEAD: no body
    if h.get("content-type") != "application/json; charset=utf-8":
        return "Content-Type %r (not fcomet's answer?): %r" % (h.get("content-type"), data[:200])
    try:
        j = json.loads(r["body"])
    except ValueError:
        return "body not JSON: %r" % r["body"][:100]
    if j.get("error") != CODES[expect[1]]:
        return "error %r, want %r" % (j.get("error"), CODES[expect[1]])
    return None


def main():
    total = sum(n for _, n in MIX)
    cases = []
    for g, n in MIX:
        cases += [g() for _ in range(round(n * N / total))]
    rnd.shuffle(cases)
    results = {}
    slow = {}
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        for kind, why, took in ex.map(run, cases):
            results.setdefault(kind, []).append(why)
            slow.setdefault(kind, []).append(took)
    bad = 0
    for kind in sorted(results):
        whys = [w for w in results[kind] if w]
        if whys:
            bad += 1
            print("FAIL: malformed: %s - %d of %d wrong, e.g. %s" %
                  (kind, len(whys), len(results[kind]), " | ".join(whys[:3])))
        else:
            print("PASS: malformed: %s (%d requests)" % (kind, len(results[kind])))
        if os.environ.get("FC_VERBOSE"):
            print("  %s: max %.2f s, mean %.2f s" % (kind, max(slow[kind]),
                                                  sum(slow[kind]) / len(slow[kind])))
    print("malformed: %d requests sent" % len(cases))
    sys.exit(1 if bad else 0)


main()
