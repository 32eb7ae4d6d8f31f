#!/usr/bin/env python3
"""tests/integration/faultload.py: load for the fault and soak tests.

Python 3 standard library only (asyncio), plain HTTP/1.1 to the web server
in front of fcomet on loopback.

    faultload.py load --base B --room R --lp 1000 --sse 0 --senders 4 \\
        --stop-file F --ready-file F [--max-send-failures N] --tag T

  Listeners (long-poll re-polling with since=last, SSE reconnecting with
  Last-Event-ID) retry with their cursor after any error, as the web
  client does; senders POST unique texts until the stop file exists (or
  --duration runs out). Then: the room read back with since=0 (the window
  must hold the whole test) has ids contiguous from 1, every acknowledged
  send is there with its text, nothing is there that was not sent, and
  every listener got every stored id exactly once, in order, no gap and no
  reset, within --deadline s. With --ready-file it is created once
  /status counts every listener parked.

    faultload.py soak --base B --master PID --duration S --listeners L \\
        --rooms R --senders K [--warmup-frac 0.2] [--sample-every 3]

  Mixed load for S seconds: L listener slots, each running sessions of a
  few seconds (long-poll or SSE, in a random room, half of them with a
  nick so that joins and leaves are stored) that end cleanly or by
  hanging up while parked, then start again; K senders; /who, /rooms and
  /status now and then. Every request must get its expected status (200)
  and every session must see contiguous ids from its cursor, no gap, no
  reset. Every few seconds the load holds still (sends paused, every slot
  parked, /status listeners == L) and the RSS (VmRSS) and open fds of the
  master and each worker are sampled; after the warm-up (the first
  --warmup-frac of the run) each process's RSS stays within 5% of its
  value at the end of the warm-up, the master's fds stay within 5% of
  theirs and the workers' fds other than FastCGI connections taken
  together too (a listener parks in one worker or another), no worker
  holds a connection whose web server end is closed (ss -x: peer 0; the
  open ones are parked requests and the idle connections the web server
  keeps, as many as its pool), and the worker pids never change.

    faultload.py hold --base B --room R --n N --since S --stop-file F

  Opens N long-polls (one connection each) and keeps those still waiting
  open until the stop file exists; prints (and --out writes) how many got
  which status, and how many were still open.

Results are "PASS: TAG: what" / "FAIL: TAG: what - why" lines; the exit
status is 1 if any failed.
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chatclient import Conn, HTTPError, now  # noqa: E402  the shared client

PATH = "/chat/"


ERRORS = (OSError, HTTPError, asyncio.IncompleteReadError, ValueError,
          asyncio.TimeoutError)


def q(**kw):
    return urllib.parse.urlencode(kw)


def reap(task):
    """Cancels a task still running, or takes its exception."""
    if task is None:
        return
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


def sample(xs, n=3):
    xs = list(xs)
    return "; ".join(str(x) for x in xs[:n]) + \
        (f"; ... ({len(xs)} in all)" if len(xs) > n else "")


class Results:
    def __init__(self, tag):
        self.tag, self.ok = tag, True

    def __call__(self, ok, what, why=""):
        t = f"{self.tag}: " if self.tag else ""
        if ok:
            print(f"PASS: {t}{what}", flush=True)
        else:
            print(f"FAIL: {t}{what} - {why}", flush=True)
            self.ok = False


class SSEParser:
    """Feeds bytes, yields (event, id, data) of complete events."""

    def __init__(self):
        self.buf, self.f = b"", {}

    def feed(self, piece):
        self.buf += piece
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                return
            line, self.buf = self.buf[:i].rstrip(b"\r"), self.buf[i + 1:]
            if line == b"":
                f, self.f = self.f, {}
                if "data" in f:
                    yield f.get("event", "message"), f.get("id"), f["data"]
                continue
            if line.startswith(b":"):
                continue
            k, _, v = line.decode().partition(":")
            if v.startswith(" "):
                v = v[1:]
            self.f[k] = self.f[k] + "\n" + v if k in self.f else v


# --- load: senders + retrying listeners, then verification ---------------

class Listener:
    def __init__(self, kind, n):
        self.kind, self.name = kind, f"{kind}#{n}"
        self.cursor = 0
        self.ids, self.texts = [], {}
        self.gaps = self.resets = self.errors = self.requests = 0
        self.first = asyncio.Event()

    def got(self, ev):
        self.ids.append(ev["id"])
        self.texts[ev["id"]] = ev.get("text")
        self.cursor = ev["id"]


class Load:
    def __init__(self, a):
        self.a = a
        u = urllib.parse.urlsplit(a.base)
        self.host, self.port = u.hostname, u.port or 80
        self.final = None
        self.stop = False
        self.acked, self.unacked, self.send_status = {}, set(), {}
        self.send_errors = []
        self.lerr = []		# (listener, what), a sample
        self.sem = asyncio.Semaphore(a.connect_concurrency)

    def done(self, L):
        return self.final is not None and L.cursor >= self.final

    def lnote(self, L, what):
        L.errors += 1
        if len(self.lerr) < 20:
            self.lerr.append((L.name, what))

    async def lp(self, L):
        a, conn, first = self.a, Conn(self.host, self.port), True
        while not self.stop and not self.done(L):
            path = PATH + "listen?" + q(room=a.room, since=L.cursor,
                                        timeout=a.lp_timeout)
            try:
                if first:
                    async with self.sem:
                        await conn.send_head("GET", path)
                else:
                    await conn.send_head("GET", path)
                L.first.set()
                first = False
                status, h = await conn.read_head()
                body = b"".join([p async for p in conn.pieces(h)])
                if h.get("connection", "").lower() == "close":
                    conn.close()
            except ERRORS as e:
                conn.close()
                L.first.set()
                first = False
                self.lnote(L, f"{type(e).__name__}: {e}")
                await asyncio.sleep(0.1)
                continue
            L.requests += 1
            if status != 200:
                conn.close()
                self.lnote(L, f"status {status}")
                await asyncio.sleep(0.1)
                continue
            j = json.loads(body)
            L.gaps += bool(j["gap"])
            L.resets += bool(j["reset"])
            for ev in j["events"]:
                L.got(ev)
            L.cursor = j["last"]
        conn.close()

    async def sse(self, L):
        a, first = self.a, True
        while not self.stop and not self.done(L):
            conn = Conn(self.host, self.port)
            hdrs = {"Accept": "text/event-stream"}
            if not first:
                hdrs["Last-Event-ID"] = str(L.cursor)
            try:
                path = PATH + "stream?" + q(room=a.room, since=L.cursor)
                if first:
                    async with self.sem:
                        await conn.send_head("GET", path, hdrs)
                else:
                    await conn.send_head("GET", path, hdrs)
                L.first.set()
                first = False
                status, h = await conn.read_head()
                L.requests += 1
                if status != 200:
                    raise HTTPError(f"status {status}")
                p = SSEParser()
                async for piece in conn.pieces(h):
                    for kind, i, data in p.feed(piece):
                        d = json.loads(data)
                        if kind == "gap":
                            L.gaps += 1
                        elif kind == "reset":
                            L.resets += 1
                        else:
                            if str(d["id"]) != i:
                                self.lnote(L, f"id: {i}, data id {d['id']}")
                            L.got(d)
                    if self.stop or self.done(L):
                        break
            except ERRORS as e:
                if not self.stop:
                    self.lnote(L, f"{type(e).__name__}: {e}")
            finally:
                conn.close()
                L.first.set()
                first = False
            await asyncio.sleep(0.1)

    def sending(self, t_end):
        a = self.a
        return not self.stop and (t_end is None or now() < t_end) and \
            not (a.stop_file and os.path.exists(a.stop_file))

    async def sender(self, k):
        a = self.a
        t_end = now() + a.duration if a.duration else None
        i = 0
        while self.sending(t_end):
            i += 1
            head = f"s{k}-{i}-"
            text = head + "x" * max(0, a.text_bytes - len(head))
            body = q(room=a.room, nick=f"sender{k}", text=text).encode()
            conn = Conn(self.host, self.port)
            t0 = now()
            try:
                status, h, out = await asyncio.wait_for(conn.request(
                    "POST", PATH + "send",
                    {"Content-Type": "application/x-www-form-urlencoded",
                     "Connection": "close"}, body), a.send_timeout)
            except ERRORS as e:
                self.unacked.add(text)
                self.send_errors.append(f"send {k}/{i}: {type(e).__name__}"
                                        f": {e} after {now() - t0:.1f} s")
                self.send_status["error"] = \
                    self.send_status.get("error", 0) + 1
                await asyncio.sleep(0.05)
                continue
            finally:
                conn.close()
            self.send_status[status] = self.send_status.get(status, 0) + 1
            if status != 200:
                self.unacked.add(text)
                self.send_errors.append(f"send {k}/{i}: status {status} "
                                        f"{out[:100]!r}")
                await asyncio.sleep(0.05)
                continue
            self.acked[json.loads(out)["id"]] = text
            if a.send_interval:
                await asyncio.sleep(a.send_interval)

    async def get_json(self, path):
        conn = Conn(self.host, self.port)
        try:
            status, h, body = await asyncio.wait_for(
                conn.request("GET", path), 10)
        finally:
            conn.close()
        if status != 200:
            raise HTTPError(f"GET {path}: status {status}: {body[:200]!r}")
        return json.loads(body)

    async def wait_parked(self, n, within):
        t0, v = now(), None
        while now() - t0 < within:
            try:
                v = (await self.get_json(PATH + "status"))["listeners"]
            except ERRORS as e:
                v = f"{type(e).__name__}: {e}"
            if v == n:
                return True, v, now() - t0
            await asyncio.sleep(0.05)
        return False, v, now() - t0


async def load(a):
    R = Results(a.tag)
    run = Load(a)
    lps = [Listener("lp", i) for i in range(a.lp)]
    sses = [Listener("sse", i) for i in range(a.sse)]
    every = lps + sses
    tasks = [asyncio.ensure_future(run.lp(L)) for L in lps] + \
        [asyncio.ensure_future(run.sse(L)) for L in sses]
    t0 = now()
    await asyncio.wait_for(asyncio.gather(*(L.first.wait() for L in every)),
                           120)
    if every:
        ok, v, dt = await run.wait_parked(len(every), a.park_wait)
        R(ok, f"{len(every)} listeners parked ({a.lp} long-poll, {a.sse} "
          f"SSE)", f"/status listeners {v} after {dt:.1f} s")
    if a.ready_file:
        open(a.ready_file, "w").close()
    t_send = now()
    await asyncio.gather(*(run.sender(k) for k in range(a.senders)))
    t_sent = now()
    nsend = sum(run.send_status.values())
    failed = nsend - run.send_status.get(200, 0)
    R(failed <= a.max_send_failures and run.acked,
      f"at most {a.max_send_failures} of the sends failed ({failed} of "
      f"{nsend}, {len(run.acked)} acknowledged)",
      f"{run.send_status}: {sample(run.send_errors, 5)}")
    if failed:
        print(f"# {a.tag}: failed sends: {run.send_status}: "
              f"{sample(run.send_errors, 5)}", flush=True)

    stored = None
    for _ in range(50):		# the responder may be coming back
        try:
            j = await run.get_json(PATH + "listen?" +
                                   q(room=a.room, since=0, timeout=0))
            stored = j
            break
        except ERRORS as e:
            why = f"{type(e).__name__}: {e}"
            await asyncio.sleep(0.2)
    if stored is None:
        R(False, "read back the stored events", why)
        run.stop = True
        j = {"events": [], "last": 0, "gap": True, "reset": False}
    ids = [e["id"] for e in j["events"]]
    texts = {e["id"]: e.get("text") for e in j["events"]}
    R(ids == list(range(1, len(ids) + 1)) and not j["gap"] and
      not j["reset"], f"stored ids contiguous from 1 ({len(ids)} events)",
      f"gap={j['gap']} reset={j['reset']} ids {sample(ids, 6)}")
    lost = sorted(i for i, t in run.acked.items() if texts.get(i) != t)
    R(not lost, f"every acknowledged send stored ({len(run.acked)})",
      f"acknowledged but missing or different: {sample(lost, 6)}")
    sent = set(run.acked.values()) | run.unacked
    foreign = sorted(i for i, t in texts.items() if t not in sent)
    R(not foreign, "nothing stored that was not sent",
      f"ids {sample(foreign)}")
    # A worker SIGKILLed between storing a send and answering it: nginx
    # sends it again (fastcgi_next_upstream non_idempotent, see
    # nginx/fcomet.conf) and it is stored twice. Only that: at most
    # --max-duplicates (one per kill), each a text that was sent.
    seen, dups = set(), []
    for i in ids:
        if texts[i] in seen:
            dups.append(i)
        seen.add(texts[i])
    R(len(dups) <= a.max_duplicates,
      f"at most {a.max_duplicates} sends stored twice ({len(dups)})",
      f"ids {sample(dups)}")
    if a.acked_out:
        with open(a.acked_out, "w") as f:
            json.dump({str(i): t for i, t in sorted(run.acked.items())}, f)
    run.final = ids[-1] if ids else 0

    t_end = now() + a.deadline
    while now() < t_end and not all(run.done(L) for L in every):
        await asyncio.sleep(0.1)
    t_done = now()
    for kind, group in (("long-poll", lps), ("SSE", sses)):
        if not group:
            continue
        bad = []
        for L in group:
            if L.ids == ids and not L.gaps and not L.resets and \
                    all(L.texts[i] == texts[i] for i in ids):
                continue
            seen, dup = set(), []
            for i in L.ids:
                if i in seen:
                    dup.append(i)
                seen.add(i)
            miss = sorted(set(ids) - seen)
            bad.append(f"{L.name}: {len(L.ids)} events, cursor {L.cursor},"
                       f" missing {miss[:4]} ({len(miss)}), duplicates "
                       f"{dup[:4]}, gaps {L.gaps}, resets {L.resets}")
        R(not bad, f"{len(group)} {kind} listeners retrying with their "
          f"cursor got ids 1..{run.final} exactly once, in order",
          f"{len(bad)} did not: {sample(bad)}")
    print(f"# {a.tag}: parked in {t_send - t0:.1f} s, sent {nsend} in "
          f"{t_sent - t_send:.1f} s, delivered {t_done - t_sent:.1f} s "
          f"later; listener requests "
          f"{sum(L.requests for L in every)}, errors retried "
          f"{sum(L.errors for L in every)} ({sample(run.lerr, 2)})",
          flush=True)
    run.stop = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return R.ok


# --- soak -----------------------------------------------------------------

def proc_children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        if int(s[s.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return sorted(out)


def unix_peers():
    """{inode: peer inode} of every connected unix stream socket (ss -x;
    peer 0: the other end is closed)."""
    out = subprocess.run(["ss", "-xaH"], capture_output=True, text=True,
                         check=False).stdout
    peers = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "u_str" and f[1] == "ESTAB":
            peers[int(f[5])] = int(f[7])
    return peers


def proc_sample(pid, peers):
    """(VmRSS kB, open fds, RssAnon kB, RssShmem kB, connections,
    connections whose other end is closed)."""
    v = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssShmem"):
                v[k] = int(rest.split()[0])
    fds = os.listdir(f"/proc/{pid}/fd")
    conns = orphans = 0
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            ino = int(link[8:-1])
            if ino in peers:
                conns += 1
                orphans += peers[ino] == 0
    return (v.get("VmRSS"), len(fds), v.get("RssAnon"), v.get("RssShmem"),
            conns, orphans)


class Soak:
    def __init__(self, a):
        self.a = a
        u = urllib.parse.urlsplit(a.base)
        self.host, self.port = u.hostname, u.port or 80
        self.rooms = [f"soak{i}" for i in range(a.rooms)]
        self.stop = False
        self.quiet = False
        self.active = 0		# slots in a session
        self.count = {}		# what -> requests with the expected status
        self.errors = []
        self.nerrors = 0
        self.sessions = {"lp": 0, "sse": 0, "hangup": 0, "nick": 0}

    def ok(self, what):
        self.count[what] = self.count.get(what, 0) + 1

    def error(self, what):
        self.nerrors += 1
        if len(self.errors) < 30:
            self.errors.append(what)
        print(f"# soak error: {what}", flush=True)

    async def call(self, method, path, body=None, hdrs=None):
        conn = Conn(self.host, self.port)
        try:
            return await asyncio.wait_for(
                conn.request(method, path, hdrs, body), 20)
        finally:
            conn.close()

    async def get(self, what, path):
        try:
            status, h, body = await self.call("GET", path)
        except ERRORS as e:
            self.error(f"{what}: {type(e).__name__}: {e}")
            return None
        if status != 200:
            self.error(f"{what}: status {status} {body[:100]!r}")
            return None
        self.ok(what)
        return json.loads(body)

    async def send(self, room, nick, text):
        body = q(room=room, nick=nick, text=text).encode()
        try:
            status, h, out = await self.call(
                "POST", PATH + "send", body,
                {"Content-Type": "application/x-www-form-urlencoded"})
        except ERRORS as e:
            self.error(f"send: {type(e).__name__}: {e}")
            return
        if status != 200:
            self.error(f"send: status {status} {out[:100]!r}")
        else:
            self.ok("send")

    async def prefill(self):
        """Fill every room's window so the rings are touched from the start."""
        sem = asyncio.Semaphore(16)

        async def one(room, i):
            async with sem:
                await self.send(room, "prefill", f"prefill {i}")
        await asyncio.gather(*(one(r, i) for r in self.rooms
                               for i in range(self.a.prefill)))

    def session_over(self, t_end):
        return self.stop or (not self.quiet and now() >= t_end)

    def check_events(self, tag, cursor, evs):
        for ev in evs:
            if ev["id"] != cursor + 1:
                self.error(f"{tag}: id {ev['id']} after cursor {cursor}")
            cursor = ev["id"]
        return cursor

    async def lp_session(self, n, room, nick, t_end, hangup):
        j = await self.get("listen now", PATH + "listen?" +
                           q(room=room, timeout=0))
        if j is None:
            return
        cursor = j["last"]
        conn = Conn(self.host, self.port)
        rd = None
        try:
            while not self.session_over(t_end):
                kw = dict(room=room, since=cursor, timeout=self.a.lp_timeout)
                if nick:
                    kw["nick"] = nick
                await conn.send_head("GET", PATH + "listen?" + q(**kw))
                rd = asyncio.ensure_future(conn.read_head())
                while not rd.done():
                    await asyncio.wait([rd], timeout=0.2)
                    if hangup and not rd.done() and \
                            self.session_over(t_end):
                        rd.cancel()
                        self.sessions["hangup"] += 1
                        return		# hangs up while parked
                status, h = rd.result()
                body = b"".join([p async for p in conn.pieces(h)])
                if h.get("connection", "").lower() == "close":
                    conn.close()
                if status != 200:
                    self.error(f"lp#{n} {room}: status {status} "
                               f"{body[:100]!r}")
                    return
                self.ok("listen")
                j = json.loads(body)
                if j["gap"] or j["reset"]:
                    self.error(f"lp#{n} {room}: gap {j['gap']} reset "
                               f"{j['reset']} at cursor {cursor}")
                cursor = self.check_events(f"lp#{n} {room}", cursor,
                                           j["events"])
                if j["last"] != cursor:
                    self.error(f"lp#{n} {room}: last {j['last']}, cursor "
                               f"{cursor}")
                cursor = j["last"]
        except ERRORS as e:
            self.error(f"lp#{n} {room}: {type(e).__name__}: {e}")
        finally:
            conn.close()
            reap(rd)

    async def sse_session(self, n, room, nick, t_end):
        j = await self.get("listen now", PATH + "listen?" +
                           q(room=room, timeout=0))
        if j is None:
            return
        cursor = j["last"]
        kw = dict(room=room, since=cursor)
        if nick:
            kw["nick"] = nick
        conn = Conn(self.host, self.port)
        nxt = None
        try:
            await conn.send_head("GET", PATH + "stream?" + q(**kw),
                                 {"Accept": "text/event-stream"})
            status, h = await conn.read_head()
            if status != 200:
                self.error(f"sse#{n} {room}: status {status}")
                return
            self.ok("stream")
            p = SSEParser()
            it = conn.pieces(h).__aiter__()
            nxt = None
            while not self.session_over(t_end):
                # Not wait_for: cancelling __anext__ would end the generator.
                if nxt is None:
                    nxt = asyncio.ensure_future(it.__anext__())
                await asyncio.wait([nxt], timeout=0.2)
                if not nxt.done():
                    continue
                try:
                    piece = nxt.result()
                except StopAsyncIteration:
                    nxt = None
                    self.error(f"sse#{n} {room}: stream ended")
                    return
                nxt = None
                for kind, i, data in p.feed(piece):
                    if kind in ("gap", "reset"):
                        self.error(f"sse#{n} {room}: {kind} {data}")
                        continue
                    d = json.loads(data)
                    cursor = self.check_events(f"sse#{n} {room}", cursor,
                                               [d])
            self.sessions["hangup"] += 1	# a stream ends by hanging up
        except ERRORS as e:
            self.error(f"sse#{n} {room}: {type(e).__name__}: {e}")
        finally:
            conn.close()
            reap(nxt)

    async def slot(self, n):
        rnd = random.Random(n)
        while not self.stop:
            room = rnd.choice(self.rooms)
            nick = f"n{n}" if rnd.random() < 0.5 else None
            t_end = now() + rnd.uniform(1.0, 5.0)
            self.active += 1
            try:
                if rnd.random() < 0.5:
                    self.sessions["lp"] += 1
                    await self.lp_session(n, room, nick, t_end,
                                          rnd.random() < 0.5)
                else:
                    self.sessions["sse"] += 1
                    await self.sse_session(n, room, nick, t_end)
            finally:
                self.active -= 1
            self.sessions["nick"] += bool(nick)
            await asyncio.sleep(rnd.uniform(0, 0.05))

    async def sender(self, k):
        rnd = random.Random(1000 + k)
        i = 0
        while not self.stop:
            if self.quiet:
                await asyncio.sleep(0.05)
                continue
            i += 1
            await self.send(rnd.choice(self.rooms), f"s{k}",
                            f"soak {k} {i} " + "y" * rnd.randrange(200))
            await asyncio.sleep(self.a.send_interval)

    async def reader(self):
        rnd = random.Random(7)
        while not self.stop:
            if not self.quiet:
                r = rnd.choice(self.rooms)
                await self.get("who", PATH + "who?" + q(room=r))
                await self.get("rooms", PATH + "rooms")
                await self.get("status", PATH + "status")
            await asyncio.sleep(0.5)

    async def settle(self):
        """Quiet: every slot in a session and parked. (ok, listeners)."""
        self.quiet = True
        t0, v = now(), None
        while now() - t0 < 10:
            await asyncio.sleep(0.2)
            if self.active != self.a.listeners:
                continue
            try:
                status, h, body = await self.call("GET", PATH + "status")
                v = json.loads(body)["listeners"]
            except ERRORS as e:
                v = f"{type(e).__name__}: {e}"
                continue
            if v == self.a.listeners:
                await asyncio.sleep(0.3)	# answered ones finished
                return True, v
        return False, v


async def soak(a):
    R = Results(a.tag)
    s = Soak(a)
    t0 = now()
    await s.prefill()
    print(f"# {a.tag}: prefilled {a.rooms} rooms x {a.prefill} in "
          f"{now() - t0:.1f} s", flush=True)
    tasks = [asyncio.ensure_future(s.slot(n)) for n in range(a.listeners)]
    tasks += [asyncio.ensure_future(s.sender(k)) for k in range(a.senders)]
    tasks.append(asyncio.ensure_future(s.reader()))
    t0 = now()
    t_end = t0 + a.duration
    samples = []		# (t, {pid: proc_sample()})
    workers0 = proc_children(a.master)
    print(f"# {a.tag}: master {a.master}, workers {workers0}", flush=True)
    print(f"# {'t':>5} {'pid':>8} {'role':>6} {'rss_kB':>8} {'fds':>5} "
          f"{'anon_kB':>8} {'shmem_kB':>8} {'conns':>5} {'closed':>6}",
          flush=True)
    unsettled = 0
    while now() < t_end:
        await asyncio.sleep(min(a.sample_every, max(0, t_end - now())))
        ok, v = await s.settle()
        if not ok:
            unsettled += 1
            s.error(f"settle at {now() - t0:.0f} s: /status listeners {v},"
                    f" {s.active} of {a.listeners} slots in a session")
            s.quiet = False
            continue
        t = now() - t0
        pids = [a.master] + proc_children(a.master)
        # A connection nginx closed a moment ago (a client that hung up)
        # is closed by its worker within milliseconds: look again for 1 s.
        for _ in range(10):
            peers = unix_peers()
            snap = {}
            for pid in pids:
                try:
                    snap[pid] = proc_sample(pid, peers)
                except OSError:
                    continue
            if not any(v[5] for v in snap.values()):
                break
            await asyncio.sleep(0.1)
        for pid, v in snap.items():
            role = "master" if pid == a.master else "worker"
            print(f"# {t:5.1f} {pid:8d} {role:>6} {v[0]:8d} {v[1]:5d} "
                  f"{v[2]:8d} {v[3]:8d} {v[4]:5d} {v[5]:6d}", flush=True)
        samples.append((t, snap))
        s.quiet = False
    s.stop = True
    await asyncio.sleep(0.5)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    print(f"# {a.tag}: {a.duration} s: requests {s.count}, sessions "
          f"{s.sessions}, errors {s.nerrors}", flush=True)
    R(s.nerrors == 0 and s.count.get("send", 0) > 0 and
      s.count.get("listen", 0) > 0 and s.count.get("stream", 0) > 0,
      f"every request got its expected status and every session saw "
      f"contiguous ids ({sum(s.count.values())} requests, "
      f"{s.sessions['lp'] + s.sessions['sse']} sessions)",
      f"{s.nerrors} errors: {sample(s.errors, 5)}")
    workers1 = proc_children(a.master)
    R(workers1 == workers0 and len(workers0) == a.workers,
      f"the same {a.workers} workers all along",
      f"at the start {workers0}, at the end {workers1}")

    # The room's stored ids, read back: contiguous, no hole.
    bad = []
    for room in s.rooms:
        j = await s.get("final", PATH + "listen?" +
                        q(room=room, since=0, timeout=0))
        if j is None:
            bad.append(f"{room}: unreadable")
            continue
        ids = [e["id"] for e in j["events"]]
        if not ids or ids != list(range(ids[0], ids[0] + len(ids))):
            bad.append(f"{room}: ids {sample(ids)}")
    R(not bad, f"each of the {a.rooms} rooms holds contiguous ids",
      sample(bad))

    warm = [x for x in samples if x[0] <= a.duration * a.warmup_frac]
    after = [x for x in samples if x[0] > a.duration * a.warmup_frac]
    if not warm or len(after) < 3:
        R(False, "enough samples", f"{len(warm)} in the warm-up, "
          f"{len(after)} after ({unsettled} moments not settled)")
        return R.ok
    base = warm[-1][1]
    for pid in [a.master] + workers0:
        if pid not in base:
            continue
        role = "master" if pid == a.master else "worker"
        r0 = base[pid][0]
        r1 = max(x[1][pid][0] for x in after if pid in x[1])
        R(r1 <= r0 * 1.05, f"{role} {pid}: RSS flat after the warm-up "
          f"(max {r1} kB vs {r0} kB at {warm[-1][0]:.0f} s, "
          f"{(r1 - r0) * 100 / r0:+.1f}%)",
          f"grew {(r1 - r0) * 100 / r0:+.1f}% (more than 5%)")
    f0 = base[a.master][1]
    f1 = max(x[1][a.master][1] for x in after)
    R(f1 <= f0 * 1.05, f"master: fds flat (max {f1} vs {f0})",
      f"max {f1} vs {f0} at the end of the warm-up")

    def wfds(snap):	# fds other than FastCGI connections
        return sum(v[1] - v[4] for p, v in snap.items() if p != a.master)
    f0 = wfds(base)
    f1 = max(wfds(x[1]) for x in after)
    R(f1 <= f0 * 1.05, f"workers: open fds other than connections taken "
      f"together flat at {a.listeners} parked listeners (max {f1} vs {f0})",
      f"max {f1} vs {f0} at the end of the warm-up: "
      f"{[wfds(x[1]) for x in samples]}")
    orphans = [(round(x[0]), p, v[5]) for x in after
               for p, v in x[1].items() if p != a.master and v[5]]
    conns = [sum(v[4] for p, v in x[1].items() if p != a.master)
             for x in samples]
    R(not orphans and min(conns) >= a.listeners,
      f"workers: every connection they hold is open at nginx's end "
      f"({min(conns)} to {max(conns)} connections: {a.listeners} parked, "
      f"the rest kept idle by nginx)",
      f"closed at nginx's end (t, worker, how many): {sample(orphans)}; "
      f"connections {conns}")
    return R.ok


# --- hold: many parked long-polls, until a stop file ---------------------

async def hold(a):
    u = urllib.parse.urlsplit(a.base)
    host, port = u.hostname, u.port or 80
    status = {}
    sem = asyncio.Semaphore(50)

    async def one(i):
        conn, rd = Conn(host, port), None
        try:
            async with sem:
                await conn.send_head("GET", PATH + "listen?" + q(
                    room=a.room, since=a.since, timeout=a.lp_timeout),
                    {"Connection": "close"})
            rd = asyncio.ensure_future(conn.read_head())
            while not rd.done() and not os.path.exists(a.stop_file):
                await asyncio.wait([rd], timeout=0.1)
            if rd.done():
                st, h = rd.result()
                status[st] = status.get(st, 0) + 1
            else:
                status["open"] = status.get("open", 0) + 1
        except ERRORS as e:
            k = type(e).__name__
            status[k] = status.get(k, 0) + 1
        finally:
            conn.close()
            reap(rd)
    await asyncio.gather(*(one(i) for i in range(a.n)))
    print(f"# hold: {a.n} long-polls: {status}", flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(status, f)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("load")
    f.add_argument("--base", required=True)
    f.add_argument("--room", required=True)
    f.add_argument("--tag", default="")
    f.add_argument("--lp", type=int, default=0)
    f.add_argument("--sse", type=int, default=0)
    f.add_argument("--senders", type=int, default=1)
    f.add_argument("--send-interval", type=float, default=0.02)
    f.add_argument("--send-timeout", type=float, default=20)
    f.add_argument("--text-bytes", type=int, default=40)
    f.add_argument("--duration", type=float, default=0,
                   help="seconds of sending (0: until --stop-file)")
    f.add_argument("--stop-file")
    f.add_argument("--ready-file")
    f.add_argument("--max-send-failures", type=int, default=0)
    f.add_argument("--max-duplicates", type=int, default=0,
                   help="sends a killed worker may have stored twice")
    f.add_argument("--lp-timeout", type=int, default=30)
    f.add_argument("--park-wait", type=float, default=60)
    f.add_argument("--deadline", type=float, default=30)
    f.add_argument("--connect-concurrency", type=int, default=100)
    f.add_argument("--acked-out")
    s = sub.add_parser("soak")
    s.add_argument("--base", required=True)
    s.add_argument("--tag", default="soak")
    s.add_argument("--master", type=int, required=True)
    s.add_argument("--workers", type=int, required=True)
    s.add_argument("--duration", type=float, default=600)
    s.add_argument("--listeners", type=int, default=40)
    s.add_argument("--rooms", type=int, default=4)
    s.add_argument("--prefill", type=int, default=0,
                   help="messages sent to each room first (the window)")
    s.add_argument("--senders", type=int, default=3)
    s.add_argument("--send-interval", type=float, default=0.05)
    s.add_argument("--lp-timeout", type=int, default=20)
    s.add_argument("--sample-every", type=float, default=3)
    s.add_argument("--warmup-frac", type=float, default=0.2)
    h = sub.add_parser("hold")
    h.add_argument("--base", required=True)
    h.add_argument("--room", required=True)
    h.add_argument("--n", type=int, required=True)
    h.add_argument("--since", type=int, default=0)
    h.add_argument("--lp-timeout", type=int, default=100)
    h.add_argument("--stop-file", required=True)
    h.add_argument("--out", help="statuses seen (JSON), at the end")
    a = p.parse_args()
    ok = asyncio.run({"load": load, "soak": soak, "hold": hold}[a.cmd](a))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
