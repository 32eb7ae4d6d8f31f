#!/usr/bin/env python3
"""tests/integration/chatclient.py: load client for the integration tests.

Python 3 standard library only (asyncio). It speaks plain HTTP/1.1 to the
web server in front of fcomet (nginx or Apache on loopback) and checks the
delivery promise of PROTOCOL.md: every listener of a room gets every event
exactly once and in order.

    chatclient.py fanout --base http://127.0.0.1:PORT --room R \\
        --lp 2000 --sse 500 --messages 100 --tag nginx

  * N long-poll listeners park on /listen and poll again with since=last;
  * N SSE listeners read /stream, parsing id:/event:/data: lines;
  * once /status counts them all as parked (--park-wait), K senders POST
    the messages (unique texts of --text-bytes bytes);
  * the room's stored events are read back (/listen?since=0&timeout=0):
    ids must be contiguous from 1, every acknowledged send must be there
    with its text, and every listener must hold exactly those ids, in
    order, once each, with the same texts.

Results are "PASS: TAG: what" / "FAIL: TAG: what - why" lines; the exit
status is 1 if any failed. Options for the other scripts: --retry (clients
retry with their cursor after an error, as the web client does), --strict
(every request must be a 200, for signals.sh), --stuck K (K SSE readers
that never read, for slow_reader.sh), --linger (listeners stay parked at
the end so /status can be checked: --expect-listeners N), --send-for S
and --stop-file F (send until then, so the shell can kill or signal
during the load), --max-send-failures N (sends a killed worker may lose).

Every send uses a connection of its own; a long-poll GET that a web server
closes on a reused keep-alive connection the moment it went out is sent
again once (as browsers do); everything else that is not a 200 counts.

    chatclient.py wait-status --base B --key listeners --eq N --within S

polls /status every 20 ms until KEY == N; prints the seconds it took and
exits 0, or prints the last value and exits 1. With --kill PID it sends
PID a SIGKILL first and times from then (a client hanging up).
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time
import urllib.parse

PATH = "/chat/"


def now():
    return time.monotonic()


class HTTPError(Exception):
    pass


class Conn:
    """One HTTP/1.1 keep-alive connection to host:port."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.r = self.w = None
        self.reused = False	# a request was answered on it before
        self.got_status = False	# the current request's status line came

    async def open(self):
        self.r, self.w = await asyncio.open_connection(
            self.host, self.port, limit=1 << 22)

    def close(self):
        if self.w is not None:
            try:
                self.w.close()
            except RuntimeError:	# its event loop is already gone
                pass
        self.r = self.w = None
        self.reused = False

    async def send_head(self, method, path, headers=None, body=None):
        if self.w is None:
            await self.open()
        self.got_status = False
        self.sent_at = now()
        h = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for k, v in (headers or {}).items():
            h.append(f"{k}: {v}")
        if body is not None:
            h.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(h) + "\r\n\r\n").encode()
        if body is not None:
            data += body
        self.w.write(data)
        await self.w.drain()

    async def read_head(self):
        line = await self.r.readline()
        if not line:
            raise HTTPError("connection closed before the status line")
        parts = line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HTTPError(f"bad status line {line!r}")
        status = int(parts[1])
        self.got_status = True
        headers = {}
        while True:
            line = await self.r.readline()
            if not line:
                raise HTTPError("connection closed in the headers")
            if line in (b"\r\n", b"\n"):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    async def pieces(self, headers):
        """The body, piece by piece, as it arrives."""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                line = await self.r.readline()
                if not line:
                    raise HTTPError("connection closed in a chunked body")
                n = int(line.split(b";")[0].strip() or b"x", 16)
                if n == 0:
                    while (await self.r.readline()) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return
                yield await self.r.readexactly(n)
                await self.r.readexactly(2)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if n:
                yield await self.r.readexactly(n)
        else:
            while True:
                b = await self.r.read(65536)
                if not b:
                    self.close()
                    return
                yield b

    async def request(self, method, path, headers=None, body=None):
        """(status, headers, body bytes); the connection stays open unless
        the server said close."""
        await self.send_head(method, path, headers, body)
        status, h = await self.read_head()
        out = b"".join([p async for p in self.pieces(h)])
        if h.get("connection", "").lower() == "close":
            self.close()
        return status, h, out


def parse_base(base):
    u = urllib.parse.urlsplit(base)
    return u.hostname, u.port or 80


class Stats:
    """What happened to the requests of one kind, over all clients."""

    def __init__(self):
        self.requests = 0
        self.stale = 0		# GETs resent after a keep-alive close
        self.status = {}
        self.errors = []	# (client, what)

    def note(self, status):
        self.requests += 1
        self.status[status] = self.status.get(status, 0) + 1

    def error(self, who, what):
        self.errors.append((who, what))


class Listener:
    def __init__(self, run, kind, n):
        self.run, self.kind, self.n = run, kind, n
        self.name = f"{kind}#{n}"
        self.cursor = run.start
        self.events = []	# (id, text)
        self.gaps = 0
        self.resets = 0
        self.reconnects = 0
        self.sent_first = asyncio.Event()	# its first request is out
        self.done = asyncio.Event()		# cursor reached the end

    def got(self, ev):
        if ev.get("type") != "message":
            return
        self.events.append((ev["id"], ev.get("text")))

    def advance(self, cursor):
        self.cursor = cursor
        if self.run.final is not None and cursor >= self.run.final:
            self.done.set()

    def finished(self):
        return self.run.final is not None and self.cursor >= self.run.final


class Run:
    def __init__(self, a):
        self.a = a
        self.host, self.port = parse_base(a.base)
        self.start = 0
        self.final = None		# last id, once the senders are done
        self.stop = False
        self.lp_stats, self.sse_stats, self.send_stats = \
            Stats(), Stats(), Stats()
        self.acked = {}			# id -> text
        self.unacked = []		# texts whose send failed
        self.sent_texts = set()
        self.attempted = 0		# sends tried
        self.connect_sem = asyncio.Semaphore(
            getattr(a, "connect_concurrency", 200))
        self.results = []

    def q(self, **kw):
        return urllib.parse.urlencode(kw)

    def result(self, ok, what, why=""):
        tag = f"{self.a.tag}: " if self.a.tag else ""
        if ok:
            print(f"PASS: {tag}{what}", flush=True)
        else:
            print(f"FAIL: {tag}{what} - {why}", flush=True)
        self.results.append(ok)

    def all_done(self):
        return self.final is not None

    # --- long-poll -------------------------------------------------------
    async def lp_client(self, L):
        a, st = self.a, self.lp_stats
        conn = Conn(self.host, self.port)
        first = True
        while not self.stop:
            if L.finished() and not a.linger:
                break
            path = PATH + "listen?" + self.q(room=a.room, since=L.cursor,
                                               timeout=a.lp_timeout)
            try:
                if first:
                    async with self.connect_sem:
                        await conn.send_head("GET", path)
                    L.sent_first.set()
                    first = False
                else:
                    await conn.send_head("GET", path)
                status, h = await conn.read_head()
                body = b"".join([p async for p in conn.pieces(h)])
                if h.get("connection", "").lower() == "close":
                    conn.close()
                else:
                    conn.reused = True
            except (OSError, HTTPError, asyncio.IncompleteReadError,
                    ValueError) as e:
                stale = conn.reused and not conn.got_status and \
                    now() - conn.sent_at < 1
                conn.close()
                L.sent_first.set()
                first = False
                if self.stop:
                    break
                if stale:
                    # The server closed an idle keep-alive connection as
                    # the request went out (at once: not a parked request
                    # that was dropped) (Apache's event MPM does when
                    # it retires a spare child): like a browser, send the
                    # GET again once on a new connection.
                    st.stale += 1
                    continue
                st.error(L.name, f"{type(e).__name__}: {e}")
                if not a.retry:
                    break
                L.reconnects += 1
                await asyncio.sleep(0.1)
                continue
            st.note(status)
            if status != 200:
                st.error(L.name, f"status {status}: {body[:80]!r}")
                if not a.retry:
                    break
                conn.close()
                await asyncio.sleep(0.1)
                continue
            try:
                j = json.loads(body)
            except ValueError as e:
                st.error(L.name, f"bad JSON {e}: {body[:200]!r}")
                break
            L.gaps += bool(j.get("gap"))
            L.resets += bool(j.get("reset"))
            for ev in j["events"]:
                L.got(ev)
            L.advance(j["last"])
        conn.close()

    # --- SSE -------------------------------------------------------------
    async def sse_client(self, L):
        a, st = self.a, self.sse_stats
        first = True
        while not self.stop:
            if L.finished() and not a.linger:
                break
            conn = Conn(self.host, self.port)
            path = PATH + "stream?" + self.q(room=a.room, since=L.cursor)
            hdrs = {"Accept": "text/event-stream"}
            if not first:
                hdrs["Last-Event-ID"] = str(L.cursor)
            clean = False
            try:
                if first:
                    async with self.connect_sem:
                        await conn.send_head("GET", path, hdrs)
                else:
                    await conn.send_head("GET", path, hdrs)
                status, h = await conn.read_head()
                st.note(status)
                if status != 200:
                    body = b"".join([p async for p in conn.pieces(h)])
                    raise HTTPError(f"status {status}: {body[:80]!r}")
                ct = h.get("content-type", "")
                if not ct.startswith("text/event-stream"):
                    raise HTTPError(f"content-type {ct!r}")
                L.sent_first.set()
                first = False
                await self.sse_read(L, conn, h)
                clean = True
            except (OSError, HTTPError, asyncio.IncompleteReadError,
                    ValueError) as e:
                if not self.stop:
                    st.error(L.name, f"{type(e).__name__}: {e}")
            finally:
                conn.close()
                L.sent_first.set()
                first = False
            if self.stop or (L.finished() and not a.linger):
                break
            # The server ended the stream (lifetime, SIGHUP, SIGTERM): an
            # EventSource reconnects with Last-Event-ID. After an error
            # only with --retry.
            if not clean and not a.retry:
                break
            L.reconnects += 1
            await asyncio.sleep(0.1)

    async def sse_read(self, L, conn, h):
        buf = b""
        fields = {}
        async for piece in conn.pieces(h):
            buf += piece
            while True:
                i = buf.find(b"\n")
                if i < 0:
                    break
                line, buf = buf[:i].rstrip(b"\r"), buf[i + 1:]
                if line == b"":
                    self.sse_dispatch(L, fields)
                    fields = {}
                    if L.finished() and not self.a.linger:
                        return
                    continue
                if line.startswith(b":"):
                    continue
                k, _, v = line.decode().partition(":")
                if v.startswith(" "):
                    v = v[1:]
                if k == "data" and "data" in fields:
                    fields["data"] += "\n" + v
                else:
                    fields[k] = v
            if self.stop:
                return

    def sse_dispatch(self, L, f):
        kind = f.get("event", "message")
        if "data" not in f:
            return
        d = json.loads(f["data"])
        if kind == "gap":
            L.gaps += 1
            return
        if kind == "reset":
            L.resets += 1
            return
        if str(d.get("id")) != f.get("id"):
            self.sse_stats.error(L.name, f"id: {f.get('id')} but data id "
                                 f"{d.get('id')}")
        L.got(d)
        L.advance(d["id"])

    # --- senders ---------------------------------------------------------
    async def sender(self, k, count):
        a, st = self.a, self.send_stats
        conn = Conn(self.host, self.port)
        t_end = now() + a.send_for if a.send_for else None
        for i in range(count):
            if self.stop or (t_end is not None and now() >= t_end) or \
                    (a.stop_file and os.path.exists(a.stop_file)):
                break
            self.attempted += 1
            head = f"s{k}-{i}-"
            text = head + "x" * max(0, a.text_bytes - len(head))
            self.sent_texts.add(text)
            body = self.q(room=a.room, nick=f"sender{k}", text=text).encode()
            try:
                # A new connection per send: a POST is not resent, so it
                # never races a server closing an idle keep-alive one.
                status, h, out = await conn.request(
                    "POST", PATH + "send",
                    {"Content-Type": "application/x-www-form-urlencoded",
                     "Connection": "close"}, body)
                conn.close()
            except (OSError, HTTPError, asyncio.IncompleteReadError,
                    ValueError) as e:
                conn.close()
                st.error(f"sender{k}", f"send {i}: {type(e).__name__}: {e}")
                self.unacked.append(text)
                await asyncio.sleep(0.05)
                continue
            st.note(status)
            if status != 200:
                st.error(f"sender{k}", f"send {i}: status {status}: "
                         f"{out[:200]!r}")
                self.unacked.append(text)
                conn.close()
                await asyncio.sleep(0.05)
                continue
            j = json.loads(out)
            self.acked[j["id"]] = text
            if a.send_interval:
                await asyncio.sleep(a.send_interval)
        conn.close()

    # --- helpers ---------------------------------------------------------
    async def get_json(self, path):
        conn = Conn(self.host, self.port)
        try:
            status, h, body = await conn.request("GET", path)
        finally:
            conn.close()
        if status != 200:
            raise HTTPError(f"GET {path}: status {status}: {body[:200]!r}")
        return json.loads(body)

    async def status_value(self, key):
        return (await self.get_json(PATH + "status"))[key]

    async def wait_listeners(self, n, within):
        """Until /status listeners == n; (ok, last value, seconds)."""
        t0 = now()
        v = None
        while True:
            try:
                v = await self.status_value("listeners")
            except (OSError, HTTPError, ValueError) as e:
                v = f"{type(e).__name__}: {e}"
            if v == n:
                return True, v, now() - t0
            if now() - t0 > within:
                return False, v, now() - t0
            await asyncio.sleep(0.02)

    def stuck_open(self):
        """An SSE reader that sends its request and never reads."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        host, port = parse_base(self.a.stuck_base or self.a.base)
        s.connect((host, port))
        path = PATH + "stream?" + self.q(room=self.a.room, since=self.start)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                  f"Accept: text/event-stream\r\n\r\n".encode())
        return s

    def stuck_drain(self, s, within):
        """Reads what the stuck reader was sent until its response ends
        (EOF, or the last chunk: nginx ends a chunked response cleanly
        when fcomet drops the stream). (ended, bytes, ids of the complete
        events in it)."""
        s.settimeout(0.5)
        raw, t0, ended = b"", now(), False
        while now() - t0 < within and not ended:
            try:
                b = s.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                ended = True
                break
            if not b:
                ended = True
                break
            raw += b
            ended = dechunk(raw)[1]
        s.close()
        body = dechunk(raw)[0]
        ids = []
        for ev in body.split(b"\n\n")[:-1]:	# the complete events
            for line in ev.split(b"\n"):
                if line.startswith(b"id: "):
                    ids.append(int(line[4:]))
        return ended, len(raw), ids


def dechunk(raw):
    """(body so far, whether it ended) of a raw chunked HTTP response."""
    i = raw.find(b"\r\n\r\n")
    if i < 0:
        return b"", False
    pos, out = i + 4, []
    while True:
        j = raw.find(b"\r\n", pos)
        if j < 0:
            return b"".join(out), False
        n = int(raw[pos:j].split(b";")[0] or b"0", 16)
        if n == 0:
            return b"".join(out), True
        out.append(raw[j + 2:j + 2 + n])
        if len(raw) < j + 2 + n + 2:
            return b"".join(out), False
        pos = j + 2 + n + 2


def sample(xs, n=3):
    xs = list(xs)
    return "; ".join(str(x) for x in xs[:n]) + \
        (f"; ... ({len(xs)} in all)" if len(xs) > n else "")


def check_ids(L, expect, texts):
    """Why L's events differ from the ids expect (None if they do not)."""
    got = [i for i, _ in L.events]
    if got == expect:
        bad = [i for i, t in L.events if texts.get(i) != t]
        if bad:
            return f"{L.name}: wrong text for ids {bad[:5]}"
        if L.gaps or L.resets:
            return f"{L.name}: {L.gaps} gaps, {L.resets} resets"
        return None
    seen, dup = set(), []
    for i in got:
        if i in seen:
            dup.append(i)
        seen.add(i)
    missing = sorted(set(expect) - seen)
    order = any(b <= a for a, b in zip(got, got[1:]))
    return (f"{L.name}: {len(got)} events, cursor {L.cursor}, missing "
            f"{missing[:5]}{'...' if len(missing) > 5 else ''} "
            f"({len(missing)}), duplicates {dup[:5]}, "
            f"{'out of order, ' if order else ''}"
            f"first {got[:3]}, last {got[-3:]}")


async def fanout(a):
    run = Run(a)
    R = run.result
    tasks = []
    lps = [Listener(run, "lp", i) for i in range(a.lp)]
    sses = [Listener(run, "sse", i) for i in range(a.sse)]
    stuck = []
    t0 = now()
    for L in lps:
        tasks.append(asyncio.ensure_future(run.lp_client(L)))
    for L in sses:
        tasks.append(asyncio.ensure_future(run.sse_client(L)))
    everyone = lps + sses
    await asyncio.wait_for(asyncio.gather(*(L.sent_first.wait()
                                            for L in everyone)), 120)
    for _ in range(a.stuck):
        stuck.append(run.stuck_open())
    n = a.lp + a.sse + a.stuck
    if a.park_wait:
        ok, v, dt = await run.wait_listeners(n, a.park_wait)
        R(ok, f"{n} listeners parked ({a.lp} long-poll, {a.sse} SSE"
              f"{f', {a.stuck} stuck' if a.stuck else ''})",
          f"/status listeners is {v} after {dt:.1f} s")
        if not ok:
            run.stop = True
    parked_at = now()
    if a.ready_file:
        open(a.ready_file, "w").close()

    # Send.
    if not run.stop:
        per = [a.messages // a.senders + (k < a.messages % a.senders)
               for k in range(a.senders)]
        await asyncio.gather(*(run.sender(k, c) for k, c in enumerate(per)))
    sent_at = now()
    st = run.send_stats
    if a.max_send_failures is None:
        R(not st.errors and st.status.get(200, 0) == run.attempted,
          f"{run.attempted} sends answered 200",
          f"{st.status}, errors: {sample(st.errors)}")
    else:
        R(len(st.errors) <= a.max_send_failures and run.acked,
          f"at most {a.max_send_failures} sends failed ({len(st.errors)} "
          f"of {run.attempted}: {len(run.acked)} acknowledged)",
          f"{st.status}, errors: {sample(st.errors)}")

    # What the room holds: the truth listeners are checked against.
    try:
        j = await run.get_json(PATH + "listen?" +
                               run.q(room=a.room, since=run.start, timeout=0))
    except (OSError, HTTPError, ValueError) as e:
        R(False, "read back the stored events", str(e))
        run.stop = True
        j = {"events": [], "last": run.start, "gap": True}
    stored = [e for e in j["events"] if e.get("type") == "message"]
    ids = [e["id"] for e in stored]
    texts = {e["id"]: e.get("text") for e in stored}
    expect = list(range(run.start + 1, run.start + 1 + len(ids)))
    ok = ids == expect and not j["gap"] and not j["reset"] and \
        j["last"] == (ids[-1] if ids else run.start)
    R(ok, f"stored ids contiguous from {run.start + 1}",
      f"gap={j['gap']} last={j['last']} ids {sample(ids, 10)}"
      f"{' (the window is smaller than the test: raise --window)' if j['gap'] else ''}")
    lost = [i for i, t in run.acked.items() if texts.get(i) != t]
    R(not lost, f"every acknowledged send stored ({len(run.acked)})",
      f"acknowledged but missing or different: {sample(sorted(lost))}")
    foreign = [i for i, t in texts.items()
               if i not in run.acked and t not in run.unacked]
    R(not foreign, "nothing stored that was not sent",
      f"ids {sample(sorted(foreign))}")
    run.final = ids[-1] if ids else run.start
    if a.acked_out:
        with open(a.acked_out, "w") as f:
            json.dump({str(i): t for i, t in sorted(run.acked.items())}, f)
    for L in everyone:
        L.advance(L.cursor)

    # Every listener gets every stored id, once, in order.
    pending = [L.done.wait() for L in everyone if not L.done.is_set()]
    if pending:
        try:
            await asyncio.wait_for(asyncio.gather(*pending), a.deadline)
        except asyncio.TimeoutError:
            pass
    done_at = now()
    for kind, group, stats in (("long-poll", lps, run.lp_stats),
                               ("SSE", sses, run.sse_stats)):
        if not group:
            continue
        bad = [w for w in (check_ids(L, ids, texts) for L in group) if w]
        R(not bad, f"{len(group)} {kind} listeners got ids "
          f"{run.start + 1}..{run.final} exactly once, in order, within "
          f"{a.deadline} s", f"{len(bad)} did not: {sample(bad)}")
        if a.strict:
            R(not stats.errors and set(stats.status) <= {200},
              f"every {kind} request answered 200 ({stats.requests})",
              f"{stats.status}, errors: {sample(stats.errors)}")
        elif not a.retry:
            R(not stats.errors, f"no {kind} request failed "
              f"({stats.requests})", f"errors: {sample(stats.errors)}")
    print(f"# {a.tag}: parked after {parked_at - t0:.1f} s, sent "
          f"{run.attempted} in {sent_at - parked_at:.2f} s, delivered "
          f"{done_at - sent_at:.2f} s later; requests: long-poll "
          f"{run.lp_stats.requests} {run.lp_stats.status} (resent after a "
          f"keep-alive close: {run.lp_stats.stale}), SSE "
          f"{run.sse_stats.requests} {run.sse_stats.status}, reconnects "
          f"{sum(L.reconnects for L in everyone)}, errors "
          f"{len(run.lp_stats.errors) + len(run.sse_stats.errors)} "
          f"{sample(run.lp_stats.errors + run.sse_stats.errors, 2)}",
          flush=True)

    # The stuck readers are dropped while the others stay.
    if a.expect_listeners is not None:
        ok, v, dt = await run.wait_listeners(a.expect_listeners,
                                             a.expect_within)
        R(ok, f"/status listeners falls to {a.expect_listeners}"
              f" (the stuck readers dropped, the others parked)",
          f"still {v} after {dt:.1f} s")
    for i, s in enumerate(stuck):
        ended, n, sids = run.stuck_drain(s, 15)
        contiguous = sids == list(range(run.start + 1,
                                        run.start + 1 + len(sids)))
        R(ended and contiguous and len(sids) < len(ids),
          f"stuck reader {i}: its stream was ended by the server after "
          f"a contiguous prefix of the events",
          f"ended={ended}, got {n} bytes, {len(sids)} of {len(ids)} "
          f"events, contiguous={contiguous}")

    run.stop = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return all(run.results)


async def wait_status(a):
    run = Run(a)
    if a.kill:
        await run.status_value(a.key)	# warm up; time from the kill
        os.kill(a.kill, signal.SIGKILL)
    t0 = now()
    while True:
        try:
            v = await run.status_value(a.key)
        except (OSError, HTTPError, ValueError) as e:
            v = f"{type(e).__name__}: {e}"
        if v == a.eq or now() - t0 > a.within:
            break
        await asyncio.sleep(0.02)
    print(f"{now() - t0:.3f}" if v == a.eq else f"{v}")
    return v == a.eq


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fanout")
    f.add_argument("--base", required=True)
    f.add_argument("--room", required=True)
    f.add_argument("--tag", default="")
    f.add_argument("--lp", type=int, default=0)
    f.add_argument("--sse", type=int, default=0)
    f.add_argument("--stuck", type=int, default=0)
    f.add_argument("--stuck-base", help="where the stuck readers connect "
                   "(default --base)")
    f.add_argument("--messages", type=int, default=100)
    f.add_argument("--senders", type=int, default=1)
    f.add_argument("--send-interval", type=float, default=0,
                   help="seconds each sender waits after an answer")
    f.add_argument("--send-for", type=float, default=0,
                   help="stop sending after this many seconds "
                   "(--messages stays the most)")
    f.add_argument("--stop-file", help="stop sending once this file "
                   "exists (--send-for and --messages stay the most)")
    f.add_argument("--max-send-failures", type=int,
                   help="sends that may fail (default: none)")
    f.add_argument("--text-bytes", type=int, default=40)
    f.add_argument("--lp-timeout", type=int, default=60)
    f.add_argument("--park-wait", type=float, default=60,
                   help="seconds for /status to count every listener "
                   "(0: do not wait)")
    f.add_argument("--deadline", type=float, default=60,
                   help="seconds after the sends for every delivery")
    f.add_argument("--connect-concurrency", type=int, default=200)
    f.add_argument("--retry", action="store_true")
    f.add_argument("--strict", action="store_true")
    f.add_argument("--linger", action="store_true")
    f.add_argument("--expect-listeners", type=int)
    f.add_argument("--expect-within", type=float, default=10)
    f.add_argument("--ready-file", help="created once the listeners are "
                   "parked, as the sends start")
    f.add_argument("--acked-out", help="write the acknowledged sends there "
                   "(JSON: id -> text)")
    w = sub.add_parser("wait-status")
    w.add_argument("--base", required=True)
    w.add_argument("--key", default="listeners")
    w.add_argument("--eq", type=int, required=True)
    w.add_argument("--within", type=float, default=5)
    w.add_argument("--kill", type=int, metavar="PID",
                   help="SIGKILL PID first and time from there")
    a = p.parse_args()
    fn = fanout if a.cmd == "fanout" else wait_status
    ok = asyncio.run(fn(a))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
