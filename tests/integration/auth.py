#!/usr/bin/python3
"""auth.py BASE SERVER KEYDIR: tokens, private rooms and cross-site
writes through a real web server (SERVER nginx or apache), as a hostile
client tries them. Tokens are made with PyJWT (Debian's python3-jwt).

Set up by auth.inc:
  /chat/     --token-key KEYDIR/hs.key (HS256) --private dm-*,team-*
             --allow-origin http://allowed.example --rate 0
  /rs/chat/  --auth token --token-key KEYDIR/rsa.pub --token-alg RS256
  /es/chat/  --auth token --token-key KEYDIR/ec.pub --token-alg ES256
Each case prints "PASS: name" or "FAIL: name - why". Exit 1 if any failed.
"""

import base64
import hashlib
import hmac
import http.client
import json
import sys
import time
import urllib.parse

import jwt

BASE, SERVER, KEYS = sys.argv[1], sys.argv[2], sys.argv[3]
U = urllib.parse.urlsplit(BASE)
FORM = "application/x-www-form-urlencoded"
RUN = str(int(time.time() * 1000) % 100000)
HS = open(KEYS + "/hs.key", "rb").read().rstrip(b"\n")
RSA = open(KEYS + "/rsa.pem", "rb").read()
EC = open(KEYS + "/ec.pem", "rb").read()
OTHER_HS = b"another-secret-of-at-least-32-bytes-long!"
failed = 0


def ok(name, cond, why=""):
    global failed
    if cond:
        print("PASS: %s: auth: %s" % (SERVER, name))
    else:
        failed += 1
        print("FAIL: %s: auth: %s - %s" % (SERVER, name, why))
    sys.stdout.flush()
    return cond


def token(sub="ana", read=(), write=(), ttl=300, key=HS, alg="HS256",
          **extra):
    claims = {"sub": sub, "exp": int(time.time()) + ttl,
              "rooms": {"read": list(read), "write": list(write)}}
    claims.update(extra)
    return jwt.encode(claims, key, algorithm=alg)


def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def hs_by_hand(secret, claims):
    """HS256 with any bytes as the secret (PyJWT will not take a PEM key):
    the algorithm-confusion forgery."""
    head = b64({"alg": "HS256", "typ": "JWT"}) + "." + b64(claims)
    sig = hmac.new(secret, head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def unsigned(claims):
    """alg none, with an empty signature."""
    return b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "."


def req(method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=timeout)
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", FORM)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        j = json.loads(data)
    except ValueError:
        j = None
    return r.status, {k.lower(): v for k, v in r.getheaders()}, j, data


def send(room, text, nick="ana", tok=None, prefix="/chat", headers=None,
         query=""):
    h = dict(headers or {})
    if tok:
        h["Authorization"] = "Bearer " + tok
    body = urllib.parse.urlencode(
        {k: v for k, v in (("room", room), ("nick", nick), ("text", text))
         if v is not None})
    return req("POST", prefix + "/send" + query, body, h)


def listen(room, tok=None, prefix="/chat", how="header", extra=""):
    h, q = {}, "room=%s&since=0&timeout=0%s" % (room, extra)
    if tok and how == "header":
        h["Authorization"] = "Bearer " + tok
    elif tok:
        q += "&token=" + tok
    return req("GET", "%s/listen?%s" % (prefix, q), headers=h)


def texts(room, tok=None, prefix="/chat"):
    st, _, j, _ = listen(room, tok, prefix)
    return [e.get("text") for e in (j or {}).get("events", [])
            if e.get("type") == "message"] if st == 200 else None


def refused(name, resp, status, code, words=""):
    st, h, j, raw = resp
    good = st == status and j is not None and j.get("error") == code and \
        words.lower() in j.get("message", "").lower()
    if status == 401:
        good = good and h.get("www-authenticate", "").startswith("Bearer")
    ok(name, good, "%s %s" % (st, raw[:200]))


pub, dm, team = "pub" + RUN, "dm-" + RUN, "team-" + RUN
ab = "dm-ab" + RUN

# Public rooms stay open; a valid token there says who sends.
st, _, j, _ = send(pub, "open to all")
ok("a public room takes a send without a token", st == 200, str(st))
st, _, j, _ = send(pub, "as bo", nick=None, tok=token("bo", write=[pub]))
ok("a token's sub is the nick, no nick field needed", st == 200, str(st))
st, _, j, _ = listen(pub)
ok("and the event carries the sub", st == 200 and
   [e["nick"] for e in j["events"]][-1:] == ["bo"], str(j))

# Private rooms.
refused("a private room without a token: 401 unauthorized",
        send(dm, "x"), 401, "unauthorized", "needs a token")
refused("reading a private room without a token: 401",
        listen(dm), 401, "unauthorized", "needs a token")
refused("/who of a private room without a token: 401",
        req("GET", "/chat/who?room=" + dm), 401, "unauthorized")
t_ana = token("ana", read=[dm, "team-*"], write=[dm])
st, _, j, _ = send(dm, "secret", nick=None, tok=t_ana)
ok("a granted writer stores in the private room", st == 200, str(st))
ok("a granted reader reads it (header)",
   texts(dm, t_ana) == ["secret"], str(texts(dm, t_ana)))
st, _, j, _ = listen(dm, t_ana, how="query")
ok("and with ?token= (EventSource cannot set headers)",
   st == 200 and len(j["events"]) == 1, str(st))
refused("a token for room A reading room B: 403",
        listen("dm-other" + RUN, t_ana), 403, "forbidden", "reading")
refused("a token that grants read only, writing: 403",
        send(team, "x", nick=None, tok=t_ana), 403, "forbidden", "writing")
ok("a wildcard grant reads team-*", listen(team, t_ana)[0] == 200)
refused("nick differing from the token's sub: 403",
        send(dm, "x", nick="mallory", tok=t_ana), 403, "forbidden", "sub")
refused("listen with a presence nick not the sub: 403",
        listen(dm, t_ana, extra="&nick=mallory"), 403, "forbidden", "sub")
ok("/rooms does not list private rooms",
   all(r["room"] != dm for r in req("GET", "/chat/rooms")[2]["rooms"]))

# Bad tokens: each refused, nothing stored.
bad = [
    ("expired", token("ana", read=[dm], write=[dm], ttl=-10), "expired"),
    ("not valid yet (nbf)", token("ana", read=[dm], write=[dm],
                                  nbf=int(time.time()) + 600), "not valid"),
    ("signed with another key", token("ana", read=[dm], write=[dm],
                                      key=OTHER_HS), "signature"),
    ("alg none", unsigned({"sub": "ana", "exp": int(time.time()) + 300,
                           "rooms": {"read": [dm], "write": [dm]}}),
     "algorithm"),
    ("RS256 where the key is HS256", token("ana", read=[dm], write=[dm],
                                           key=RSA, alg="RS256"),
     "algorithm"),
    ("no exp", jwt.encode({"sub": "ana", "rooms": {"write": [dm]}}, HS,
                          algorithm="HS256"), "exp"),
    ("not a JWT", "garbage.token", "not a jwt"),
    ("sub not a valid nick", token("", write=[dm]), "sub"),
    ("grants of the wrong type", jwt.encode(
        {"sub": "ana", "exp": int(time.time()) + 300,
         "rooms": {"write": dm}}, HS, algorithm="HS256"), "grants"),
    ("a tampered payload", t_ana.split(".")[0] + "." + base64.urlsafe_b64encode(
        json.dumps({"sub": "ana", "exp": int(time.time()) + 300,
                    "rooms": {"write": ["*"]}}).encode()).rstrip(b"=").decode()
     + "." + t_ana.split(".")[2], "signature"),
    ("a token of 5,000 bytes", token("ana", write=[dm], pad="x" * 5000),
     "not a jwt"),
]
for name, tok, words in bad:
    refused("token %s: 401 (%s)" % (name, words), send(dm, "bad " + name,
            nick=None, tok=tok), 401, "unauthorized", words)
ok("no refused send was stored", texts(dm, t_ana) == ["secret"],
   str(texts(dm, t_ana)))

# An expired token mid-stream: the stream ends at exp; the reconnect is 401.
t_short = token("ana", read=[dm], ttl=3)
c = http.client.HTTPConnection(U.hostname, U.port, timeout=20)
t0 = time.time()
c.request("GET", "/chat/stream?room=%s&token=%s" % (dm, t_short))
r = c.getresponse()
ok("a stream with a token opens", r.status == 200, str(r.status))
try:
    while r.read1(4096):
        pass
    ended = time.time() - t0
except (OSError, http.client.HTTPException):
    ended = time.time() - t0
c.close()
ok("the stream ends when its token expires (3 s)", 2 <= ended <= 8,
   "ended after %.1f s" % ended)
time.sleep(max(0, 3.2 - (time.time() - t0)))
refused("its reconnect with the expired token: 401",
        req("GET", "/chat/stream?room=%s&token=%s" % (dm, t_short)), 401,
        "unauthorized", "expired")

# Cross-site writes.
evil = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
refused("a cross-site POST (Origin of another site): 403",
        send(pub, "csrf", headers=evil), 403, "forbidden", "another site")
refused("Sec-Fetch-Site cross-site without Origin: 403",
        send(pub, "csrf2", headers={"Sec-Fetch-Site": "cross-site"}), 403,
        "forbidden")
refused("an Origin that starts with this host's name: 403",
        send(pub, "csrf4", headers={"Origin": "http://%s.evil.example:%d" % (
            U.hostname, U.port)}), 403, "forbidden")
refused("Origin null: 403", send(pub, "csrf3", headers={"Origin": "null"}),
        403, "forbidden")
ok("nothing cross-site was stored",
   not any(t.startswith("csrf") for t in texts(pub)), str(texts(pub)))
same = {"Origin": "http://%s:%d" % (U.hostname, U.port),
        "Sec-Fetch-Site": "same-origin"}
r = send(pub, "same", headers=same)
ok("a same-origin page sends", r[0] == 200, "%s %s" % (r[0], r[3][:200]))
ok("an --allow-origin page sends", send(pub, "allowed", headers={
    "Origin": "http://allowed.example", "Sec-Fetch-Site": "cross-site"})[0]
   == 200)
ok("curl without Origin sends", send(pub, "curl")[0] == 200)

# --auth token with public keys: every room needs a token.
for prefix, key, alg in (("/rs/chat", RSA, "RS256"), ("/es/chat", EC, "ES256")):
    room = "any" + RUN
    refused("%s: no token: 401" % alg, send(room, "x", prefix=prefix), 401,
            "unauthorized")
    tk = token("cy", read=[room], write=[room], key=key, alg=alg)
    ok("%s: a PyJWT token is accepted" % alg, send(room, "signed", nick=None,
       tok=tk, prefix=prefix)[0] == 200)
    ok("%s: and reads back" % alg, texts(room, tk, prefix) == ["signed"])
    pubkey = open(KEYS + ("/rsa.pub" if alg == "RS256" else "/ec.pub"),
                  "rb").read()
    refused("%s: an HS256 token signed with the public key as secret: 401"
            % alg, send(room, "x", nick=None, prefix=prefix, tok=hs_by_hand(
                pubkey, {"sub": "cy", "exp": int(time.time()) + 60,
                         "rooms": {"write": [room]}})),
            401, "unauthorized", "algorithm")
    refused("%s: alg none: 401" % alg, send(room, "x", nick=None,
            prefix=prefix, tok=unsigned({"sub": "cy", "exp": int(
                time.time()) + 60, "rooms": {"write": [room]}})),
            401, "unauthorized", "algorithm")
    ok("%s: nothing refused was stored" % alg,
       texts(room, tk, prefix) == ["signed"])

sys.exit(1 if failed else 0)
