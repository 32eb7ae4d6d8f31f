#!/usr/bin/env python3
"""tests/integration/mcload.py: two hosts sharing memcached (memcached.sh).

Python 3 standard library only (asyncio, HTTP/1.0 to each host's nginx, so
bodies end at EOF and streams are never chunked). Each subcommand runs one
case against hosts A and B (--hosts http://127.0.0.1:PA,http://127.0.0.1:PB)
and prints "PASS: mc: ..." / "FAIL: mc: ... - why" lines; exit status 1 if
any failed.

  cross   --room R              a message sent on A reaches a long-poll and
                                an SSE listener on B, and the reverse
  fanout  --room R [--lp N --sse N --senders N --messages N]
                                senders spread over both hosts: ids exactly
                                1..senders*messages; every listener on each
                                host gets them all, in order, once
  outage  --room R --mc-stop CMD --mc-start CMD
                                memcached stopped and started under load
  takeid  --room R --take-cmd CMD [--rounds N]
                                an id taken and never stored: a gap on both
                                hosts within the bound, later events arrive
  evict   --room R --pause-cmd CMD --resume-cmd CMD --mc-port P
                                a memcached that evicts events a slow relay
                                has not read: gaps, never a hang

The listeners record every event (id, type, text), every gap or reset they
were told of, when they got each, and any error; the checks read those.
"""

import argparse
import asyncio
import json
import re
import socket
import sys
import time
import urllib.parse

FAILED = False
PHASE = "start"		# what the case is doing, for a timeout's report
SLACK = 2.0		# a long-poll may answer this late after its timeout


def now():
    return time.monotonic()


def ok(what):
    print(f"PASS: mc: {what}", flush=True)


def bad(what, why):
    global FAILED
    FAILED = True
    print(f"FAIL: mc: {what} - {why}", flush=True)


def phase(what):
    global PHASE
    PHASE = f"{what} ({time.strftime('%H:%M:%S')})"


def check(cond, what, why):
    ok(what) if cond else bad(what, why)
    return cond


class Host:
    def __init__(self, label, base):
        u = urllib.parse.urlsplit(base)
        self.label, self.host, self.port = label, u.hostname, u.port

    async def request(self, method, path, body=None, ctype=None,
                      timeout=10.0):
        """(status, headers, body) over a fresh HTTP/1.0 connection."""
        async def go():
            r, w = await asyncio.open_connection(self.host, self.port)
            try:
                h = [f"{method} /chat/{path} HTTP/1.0",
                     f"Host: {self.host}:{self.port}"]
                if body is not None:
                    h += [f"Content-Type: {ctype}",
                          f"Content-Length: {len(body)}"]
                w.write(("\r\n".join(h) + "\r\n\r\n").encode() +
                        (body or b""))
                await w.drain()
                data = await r.read()
            finally:
                w.close()
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            hdrs = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            return status, hdrs, rest
        return await asyncio.wait_for(go(), timeout)

    async def send(self, room, nick, text, timeout=10.0):
        body = urllib.parse.urlencode(
            {"room": room, "nick": nick, "text": text}).encode()
        st, _, b = await self.request(
            "POST", "send", body, "application/x-www-form-urlencoded",
            timeout)
        try:
            j = json.loads(b)
        except ValueError:
            j = {"raw": b[:200].decode("latin-1")}
        return st, j

    async def status(self, timeout=5.0):
        st, _, b = await self.request("GET", "status", timeout=timeout)
        return st, json.loads(b)

    async def last(self, room):
        st, _, b = await self.request(
            "GET", f"listen?room={room}&timeout=0")
        if st != 200:
            raise RuntimeError(f"{self.label}: /listen timeout=0: {st}")
        return json.loads(b)["last"]

    async def dump(self, room):
        st, _, b = await self.request(
            "GET", f"listen?room={room}&since=0&timeout=0")
        return st, json.loads(b) if st == 200 else None


class Listener:
    """A long-poll ("lp") or SSE ("sse") listener of one room on one host."""

    def __init__(self, host, kind, n, room, cursor, lp_timeout):
        self.host, self.kind, self.room = host, kind, room
        self.name = f"{host.label}/{kind}#{n}"
        self.cursor = cursor
        self.lp_timeout = lp_timeout
        self.events = []	# (id, type, text, time got)
        self.gaps = []		# (time, cursor, last): gap announced
        self.resets = []
        self.errors = []	# (time, what)
        self.longest = 0.0	# longest long-poll request, s
        self.requests = 0
        self.changed = asyncio.Event()
        self.task = None

    def ids(self):
        return [e[0] for e in self.events]

    def got(self, ev):
        self.events.append((ev["id"], ev.get("type"), ev.get("text"), now()))
        self.changed.set()

    def start(self):
        self.task = asyncio.ensure_future(
            self.lp() if self.kind == "lp" else self.sse())

    async def lp(self):
        while True:
            t0 = now()
            path = (f"listen?room={self.room}&since={self.cursor}"
                    f"&timeout={self.lp_timeout}")
            try:
                st, _, b = await self.host.request(
                    "GET", path, timeout=self.lp_timeout + SLACK)
            except asyncio.TimeoutError:
                self.errors.append((now(), f"listen hung over "
                                    f"{self.lp_timeout + SLACK}s"))
                continue
            except (OSError, ValueError, IndexError) as e:
                self.errors.append((now(), f"listen: {e!r}"))
                await asyncio.sleep(0.2)
                continue
            self.requests += 1
            self.longest = max(self.longest, now() - t0)
            if st != 200:
                self.errors.append((now(), f"listen: status {st}"))
                await asyncio.sleep(0.2)
                continue
            try:
                j = json.loads(b)
            except ValueError:
                self.errors.append((now(), f"listen: 200 with a body that "
                                    f"is not JSON ({len(b)} bytes, ends "
                                    f"{b[-40:]!r})"))
                await asyncio.sleep(0.2)
                continue
            if j["gap"]:
                self.gaps.append((now(), self.cursor, j["last"]))
                self.changed.set()
            if j["reset"]:
                self.resets.append((now(), self.cursor, j["last"]))
            for ev in j["events"]:
                self.got(ev)
            self.cursor = j["last"]

    async def sse(self):
        try:
            r, w = await asyncio.open_connection(self.host.host,
                                                 self.host.port)
            w.write((f"GET /chat/stream?room={self.room}&since={self.cursor}"
                     f" HTTP/1.0\r\nHost: x\r\n\r\n").encode())
            await w.drain()
            line = await r.readline()
            if b" 200 " not in line:
                self.errors.append((now(), f"stream: {line!r}"))
                return
            while (await r.readline()) not in (b"\r\n", b""):
                pass
            kind, data = "message", []
            while True:
                line = await r.readline()
                if not line:
                    self.errors.append((now(), "stream closed"))
                    return
                line = line.rstrip(b"\r\n").decode()
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "":
                    if data:
                        d = json.loads("\n".join(data))
                        if kind == "gap":
                            self.gaps.append((now(), d["cursor"], d["last"]))
                            self.changed.set()
                        elif kind == "reset":
                            self.resets.append((now(), d["cursor"],
                                                d["last"]))
                        else:
                            self.got(d)
                            self.cursor = d["id"]
                    kind, data = "message", []
        except (OSError, ValueError) as e:
            self.errors.append((now(), f"stream: {e!r}"))

    async def stop(self):
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass

    async def wait_for(self, pred, deadline):
        """Wait until pred(self) or the monotonic deadline; True if met."""
        while not pred(self):
            self.changed.clear()
            left = deadline - now()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                return pred(self)
        return True


def has_id(i):
    return lambda ls: any(e[0] == i for e in ls.events)


async def listeners(hosts, room, lp, sse, lp_timeout=5, since=None):
    """lp + sse listeners on each host, started, parked before returning."""
    out = []
    for h in hosts:
        cur = since if since is not None else await h.last(room)
        for k, n in (("lp", lp), ("sse", sse)):
            for i in range(n):
                out.append(Listener(h, k, i, room, cur, lp_timeout))
    for ls in out:
        ls.start()
    # parked: each host's /status counts at least its own
    deadline = now() + 10
    for h in hosts:
        want = sum(1 for ls in out if ls.host is h)
        while now() < deadline:
            st, j = await h.status()
            if j.get("listeners", 0) >= want:
                break
            await asyncio.sleep(0.05)
        else:
            bad(f"{h.label}: {want} listeners parked",
                f"/status listeners {j.get('listeners')} after 10 s")
    await asyncio.sleep(0.3)
    return out


async def stop_all(lss):
    for ls in lss:
        await ls.stop()


def errors_of(lss):
    return [(ls.name, e[1]) for ls in lss for e in ls.errors]


def order_problems(lss, acked):
    """Listeners whose ids are not strictly increasing, or whose event
    texts differ from what was acknowledged for the id (or from another
    listener's text for it)."""
    seen = {}
    probs = []
    for ls in lss:
        ids = ls.ids()
        for a, b in zip(ids, ids[1:]):
            if b <= a:
                probs.append(f"{ls.name}: id {b} after {a}")
                break
        for i, typ, text, _ in ls.events:
            if i in acked and acked[i] != text:
                probs.append(f"{ls.name}: id {i} text {text!r} but the "
                             f"send acknowledged {acked[i]!r}")
            if seen.setdefault(i, text) != text:
                probs.append(f"{ls.name}: id {i} text {text!r}, another "
                             f"listener got {seen[i]!r}")
    return probs


async def cmd(c):
    p = await asyncio.create_subprocess_shell(
        c, stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"{c}: exit {p.returncode}")
    return out.decode()


# --- cross -----------------------------------------------------------------

async def case_cross(a, A, B):
    for src, dst in ((A, B), (B, A)):
        lss = await listeners([dst], a.room, 1, 1)
        text = f"from {src.label} to {dst.label}"
        t0 = now()
        st, j = await src.send(a.room, "x", text)
        if st != 200:
            bad(f"send on {src.label}", f"status {st} {j}")
            await stop_all(lss)
            continue
        i = j["id"]
        dl = now() + 5	# one deadline for all
        for ls in lss:
            got = await ls.wait_for(has_id(i), dl)
            ev = [e for e in ls.events if e[0] == i]
            check(got and ev[0][2] == text,
                  f"cross: a message sent on {src.label} (id {i}) reaches "
                  f"a {'long-poll' if ls.kind == 'lp' else 'SSE'} listener "
                  f"on {dst.label}" +
                  (f" in {1000 * (ev[0][3] - t0):.0f} ms" if ev else ""),
                  f"got {ls.events} errors {ls.errors}")
        await stop_all(lss)


# --- fanout ----------------------------------------------------------------

async def sender(host, room, tag, count, acked, fails, size=0):
    for k in range(count):
        text = f"{tag}-{k}-".ljust(size, "e")
        try:
            st, j = await host.send(room, tag, text)
        except (OSError, asyncio.TimeoutError, ValueError) as e:
            fails.append((text[:16], repr(e)))
            continue
        if st == 200:
            acked.append((j["id"], text))
        else:
            fails.append((text[:16], f"{st} {j.get('error')}"))


async def case_fanout(a, A, B):
    hosts = [A, B]
    total = a.senders * a.messages
    lss = await listeners(hosts, a.room, a.lp, a.sse, lp_timeout=20,
                          since=0)
    acked, fails = [], []
    t0 = now()
    await asyncio.gather(*[
        sender(hosts[s % 2], a.room, f"{hosts[s % 2].label}{s}", a.messages,
               acked, fails) for s in range(a.senders)])
    dt = now() - t0
    ids = sorted(i for i, _ in acked)
    check(not fails and ids == list(range(1, total + 1)),
          f"fanout: {a.senders} senders x {a.messages} over both hosts: ids "
          f"exactly 1..{total} once each ({len(acked)} sends in {dt:.1f} s)",
          f"{len(fails)} failed (first {fails[:3]}), {len(ids)} ids, "
          f"{len(set(ids))} distinct, min {ids[:1]} max {ids[-1:]}")
    amap = dict(acked)
    deadline = now() + 30
    for ls in lss:
        await ls.wait_for(lambda x: x.cursor >= total, deadline)
    await stop_all(lss)
    want = list(range(1, total + 1))
    for h in hosts:
        for kind, n in (("lp", a.lp), ("sse", a.sse)):
            mine = [ls for ls in lss if ls.host is h and ls.kind == kind]
            probs = []
            for ls in mine:
                got = ls.ids()
                if got != want:
                    dup = len(got) - len(set(got))
                    miss = sorted(set(want) - set(got))
                    probs.append(f"{ls.name}: {len(got)} events, {dup} "
                                 f"repeated, missing {miss[:5]}"
                                 f"{'...' if len(miss) > 5 else ''}, "
                                 f"order ok {got == sorted(got)}")
                bad_text = [i for i, _, t, _ in ls.events
                            if amap.get(i) != t]
                if bad_text:
                    probs.append(f"{ls.name}: texts differ at {bad_text[:5]}")
                if ls.gaps or ls.resets or ls.errors:
                    probs.append(f"{ls.name}: gaps {ls.gaps[:2]} resets "
                                 f"{ls.resets[:2]} errors {ls.errors[:2]}")
            check(not probs,
                  f"fanout: host {h.label}: {n} "
                  f"{'long-poll' if kind == 'lp' else 'SSE'} listeners each "
                  f"got ids 1..{total} in order, exactly once, with the "
                  f"acknowledged texts", "; ".join(probs[:4]))


# --- outage ----------------------------------------------------------------

class Sends:
    """Continuous senders; every attempt recorded."""

    def __init__(self):
        self.log = []	# (t0, t1, host label, status, id, text, error)
        self.stop = False

    async def run(self, host, room, tag, interval):
        k = 0
        while not self.stop:
            text = f"{tag}-{k}"
            k += 1
            t0 = now()
            try:
                st, j = await host.send(room, tag, text, timeout=5)
            except (OSError, asyncio.TimeoutError, ValueError) as e:
                st, j = 0, {"error": repr(e)}
            self.log.append((t0, now(), host.label, st, j.get("id"),
                             text, j.get("error")))
            await asyncio.sleep(interval)

    def acked(self):
        return {e[4]: e[5] for e in self.log if e[3] == 200}


async def probe_status(hosts, until, out):
    while now() < until:
        for h in hosts:
            t0 = now()
            try:
                st, j = await h.status(timeout=3)
            except (OSError, asyncio.TimeoutError, ValueError) as e:
                st, j = 0, {"error": repr(e)}
            out.append((t0, now() - t0, h.label, st, j))
        await asyncio.sleep(0.2)


async def case_outage(a, A, B):
    hosts = [A, B]
    lss = await listeners(hosts, a.room, 2, 2, lp_timeout=3)
    sends = Sends()
    tasks = [asyncio.ensure_future(sends.run(h, a.room, f"o{h.label}{s}",
                                             0.02))
             for h in hosts for s in range(2)]
    await asyncio.sleep(2)
    await cmd(a.mc_stop)
    t_stop = now()
    probes = []
    await probe_status(hosts, now() + 3, probes)
    t_restart = now()	# memcached is down until some time after this
    await cmd(a.mc_start)
    t_start = now()	# and up (accepting) by this
    await asyncio.sleep(4)
    sends.stop = True
    await asyncio.gather(*tasks)
    t_end = now()

    log = sends.log
    before = [e for e in log if e[1] < t_stop]
    during = [e for e in log if t_stop <= e[0] and e[1] < t_restart]
    after = [e for e in log if e[0] >= t_start]
    # 1. sends while memcached is down: 503 unavailable, quickly
    wrong = [e for e in during if e[3] != 503 or e[6] != "unavailable"]
    slow = [e for e in during if e[1] - e[0] > 1.0]
    check(during and not wrong and not slow,
          f"outage: memcached stopped: all {len(during)} sends get 503 "
          f"unavailable, the slowest in "
          f"{max((e[1] - e[0] for e in during), default=0) * 1000:.0f} ms",
          f"{len(wrong)} others (first {wrong[:2]}), {len(slow)} over 1 s")
    # 2. /status: 503 memcached down, at once
    pd = [p for p in probes if p[0] > t_stop]
    wrong = [p[2:4] + (p[4].get("store"), p[4].get("memcached"))
             for p in pd if p[3] != 503 or p[4].get("memcached") != "down"
             or p[4].get("store") != "memcached"]
    slowest = max((p[1] for p in pd), default=9)
    check(pd and not wrong and slowest < 1.0,
          f"outage: /status on both hosts answers 503 \"store\":\"memcached\","
          f"\"memcached\":\"down\" ({len(pd)} probes, slowest "
          f"{slowest * 1000:.0f} ms)",
          f"wrong {wrong[:3]}, slowest {slowest:.2f} s")
    # 3. sends and deliveries resume by themselves within 2 s
    for h in hosts:
        first = min((e[1] for e in after if e[2] == h.label and e[3] == 200),
                    default=None)
        check(first is not None and first - t_start <= 2.0,
              f"outage: sends on {h.label} succeed again "
              f"{(first - t_start) if first else -1:.2f} s after memcached "
              f"is back (<= 2 s)",
              "no send succeeded" if first is None else
              f"first success after {first - t_start:.2f} s")
    maxpre = max([e[4] for e in before if e[3] == 200] +
                 [ls.ids()[-1] for ls in lss if ls.events
                  and ls.events[-1][3] < t_start] + [0])
    for h in hosts:
        late = []
        for ls in lss:
            if ls.host is not h:
                continue
            t = min((e[3] for e in ls.events if e[0] > maxpre), default=None)
            late.append(None if t is None else t - t_start)
        worst = max((x for x in late if x is not None), default=None)
        check(None not in late and worst <= 2.0,
              f"outage: every listener on {h.label} gets new events again "
              f"within 2 s of memcached being back "
              f"(slowest {worst if worst is not None else -1:.2f} s)",
              f"first new event per listener (s after restart): "
              f"{['none' if x is None else round(x, 2) for x in late]}")
    # 4. no id twice: ids after the restart beyond every id before
    post = [e[4] for e in after if e[3] == 200]
    pre_ids = [e[4] for e in log if e[3] == 200 and e[1] < t_start]
    allids = [e[4] for e in log if e[3] == 200]
    check(post and min(post) > maxpre and len(allids) == len(set(allids)),
          f"outage: no id handed out twice: {len(post)} ids after the "
          f"restart from {min(post, default=0)}, all above {maxpre} (the "
          f"highest before), {len(allids)} acknowledged ids distinct",
          f"post min {min(post, default=None)}, pre max {max(pre_ids)}, "
          f"{len(allids) - len(set(allids))} repeated")
    acked = sends.acked()
    probs = order_problems(lss, acked)
    check(not probs,
          "outage: every listener's ids strictly increase and each id has "
          "one text, the acknowledged one", "; ".join(probs[:4]))
    # 5. nothing not acknowledged is stored
    failed = {e[5] for e in log if e[3] != 200}
    leaked = [(ls.name, i, t) for ls in lss for i, _, t, _ in ls.events
              if t in failed or i not in acked]
    for h in hosts:
        st, j = await h.dump(a.room)
        if st != 200:
            leaked.append((h.label, "dump", st))
            continue
        leaked += [(h.label, e["id"], e.get("text")) for e in j["events"]
                   if e.get("text") in failed or e["id"] not in acked]
    check(failed and not leaked,
          f"outage: none of the {len(failed)} failed sends is stored or "
          f"delivered anywhere, no id nobody acknowledged appears",
          f"{leaked[:4]}")
    # 6. listeners stayed connected, and got everything acknowledged
    final = {}
    for h in hosts:
        st, j = await h.send(a.room, "end", f"end-{h.label}")
        if st == 200:
            acked[j["id"]] = f"end-{h.label}"
            final[h.label] = j["id"]
    top = max(final.values(), default=0)
    dl = now() + 5	# one deadline for all
    for ls in lss:
        await ls.wait_for(lambda x: x.cursor >= top, dl)
    await stop_all(lss)
    errs = errors_of(lss)
    slow = [(ls.name, round(ls.longest, 2)) for ls in lss
            if ls.longest > 3 + SLACK]
    check(len(final) == 2 and not errs and not slow,
          f"outage: {len(lss)} listeners stayed connected through it (SSE "
          f"never closed, every long-poll a 200 within its timeout)",
          f"errors {errs[:4]}, slow {slow}, final sends {final}")
    # acknowledged well before the stop or after the restart: everywhere
    must = [i for i, t in acked.items() if any(
        e[4] == i and (e[1] < t_stop - 0.5 or e[0] >= t_start)
        for e in log)] + list(final.values())
    when = {e[4]: (e[2], round(e[1] - t_stop, 2)) for e in log
            if e[3] == 200}
    lost = [(ls.name, [(i,) + when.get(i, ()) for i in
                       sorted(set(must) - set(ls.ids()))[:4]])
            for ls in lss if set(must) - set(ls.ids())]
    check(not lost,
          f"outage: every listener got all {len(must)} sends acknowledged "
          f"0.5 s before the stop or after the restart",
          f"missing (id, acked on, s after the stop) {lost[:4]}")


# --- takeid ----------------------------------------------------------------

async def case_takeid(a, A, B):
    hosts = [A, B]
    st, j = await A.send(a.room, "x", "before")
    if st != 200:
        return bad("takeid: first send", f"{st} {j}")
    first = j["id"]
    lss = await listeners(hosts, a.room, 1, 1, lp_timeout=10,
                          since=first - 1)
    dl = now() + 5	# one deadline for all
    for ls in lss:
        await ls.wait_for(has_id(first), dl)
    bound = 2.0 + 0.03
    for rnd in range(a.rounds):
        t0 = now()
        out = await cmd(a.take_cmd)
        m = re.search(r"\d+", out)
        if not m:
            return bad("takeid: take-id prints the id", repr(out))
        x = int(m.group())
        for ls in lss:
            got = await ls.wait_for(
                lambda l: any(g[1] < x <= g[2] for g in l.gaps),
                t0 + 6)
            t = min((g[0] for g in ls.gaps if g[1] < x <= g[2]),
                    default=None)
            dt = t - t0 if t else None
            check(got and dt <= bound,
                  f"takeid: round {rnd + 1}: id {x} taken, never stored: "
                  f"{ls.name} gets a gap in {dt if dt else -1:.2f} s "
                  f"(<= {bound:.2f} s)",
                  "no gap within 6 s" if not got else f"after {dt:.2f} s")
        ids = []
        for h in hosts:
            st, j = await h.send(a.room, "x", f"after {x} on {h.label}")
            if st != 200:
                bad(f"takeid: send after the gap on {h.label}", f"{st} {j}")
            else:
                ids.append(j["id"])
        miss = []
        dl = now() + 5	# one deadline for all
        for ls in lss:
            if ids and not await ls.wait_for(has_id(max(ids)), dl):
                miss.append(ls.name)
            elif [i for i in ls.ids() if i > x] != ids:
                miss.append(f"{ls.name}: {ls.ids()[-4:]}")
        check(ids == [x + 1, x + 2] and not miss,
              f"takeid: round {rnd + 1}: later events {ids} arrive on both "
              f"hosts, in order", f"ids {ids}, listeners {miss}")
    await stop_all(lss)
    errs = errors_of(lss)
    check(not errs and not order_problems(lss, {}),
          "takeid: listeners without errors, ids increasing", f"{errs[:3]}")


# --- evict -----------------------------------------------------------------

def mc_stats(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            b = s.recv(65536)
            if not b:
                break
            data += b
    st = {}
    for ln in data.decode().splitlines():
        p = ln.split()
        if len(p) == 3 and p[0] == "STAT":
            st[p[1]] = p[2]
    return st


async def case_evict(a, A, B):
    hosts = [A, B]
    lpt = 5
    phase("evict: parking listeners")
    lss = await listeners(hosts, a.room, 2, 2, lp_timeout=lpt, since=0)
    acked, fails = [], []
    phase("evict: first sends")
    for h in hosts:
        await sender(h, a.room, f"hello{h.label}", 1, acked, fails)
    dl = now() + 5	# one deadline for all
    for ls in lss:
        await ls.wait_for(lambda x: x.cursor >= 2, dl)
    ev0 = int(mc_stats(a.mc_port)["evictions"])
    # B's relay falls behind (paused) while A stores far more than
    # memcached holds: what B has not read yet is evicted.
    phase("evict: pausing B's relay")
    await cmd(a.pause_cmd)
    phase("evict: big sends on A")
    n = a.messages // a.senders
    t0 = now()
    try:
        await asyncio.gather(*[
            sender(A, a.room, f"big{s}", n, acked, fails, a.text_bytes)
            for s in range(a.senders)])
    finally:
        await cmd(a.resume_cmd)
    dt = now() - t0
    st = mc_stats(a.mc_port)
    evs = int(st["evictions"]) - ev0
    # memcached may refuse a set when it cannot evict in time
    # ("SERVER_ERROR out of memory"): a 503 then, never another answer
    other = [f for f in fails if f[1] != "503 unavailable"]
    check(not other and evs > 0,
          f"evict: {len(acked) - 2} sends of {a.text_bytes}-byte texts on A "
          f"in {dt:.1f} s while B's relay was paused ({len(fails)} refused "
          f"with 503); "
          f"memcached evicted {evs} items",
          f"{len(other)} sends failed otherwise ({other[:2]}), "
          f"evictions {evs}")
    phase("evict: waiting for the relay")
    await asyncio.sleep(2.5)	# the relay's bounded wait for missing ids
    phase("evict: final sends")
    final = []
    for h in hosts:
        await sender(h, a.room, f"final{h.label}", 1, final, fails)
    top = max((i for i, _ in final), default=0)
    dl = now() + 8	# one deadline for all
    for ls in lss:
        await ls.wait_for(lambda x: x.cursor >= top, dl)
    phase("evict: stopping listeners")
    await stop_all(lss)
    phase("evict: checks")
    for ls_h in hosts:
        mine = [ls for ls in lss if ls.host is ls_h]
        nogap = [ls.name for ls in mine if not ls.gaps]
        if ls_h is B:
            check(not nogap,
                  f"evict: every listener on B is told of a gap "
                  f"({', '.join(str(len(ls.gaps)) for ls in mine)} gap "
                  f"announcements)", f"no gap for {nogap}")
    amap = dict(acked + final)
    probs = order_problems(lss, amap)
    check(not probs, "evict: every listener's ids strictly increase, each "
          "with its acknowledged text", "; ".join(probs[:4]))
    errs = errors_of(lss)
    longest = max(ls.longest for ls in lss if ls.kind == "lp")
    check(not errs and longest <= lpt + SLACK,
          f"evict: never a hang: every long-poll answered within its "
          f"{lpt} s timeout (longest {longest:.2f} s), no stream closed",
          f"errors {errs[:4]}, longest {longest:.2f} s")
    miss = [f"{ls.name} (cursor {ls.cursor}, last ids {ls.ids()[-3:]}, "
            f"last gap {ls.gaps[-1:]}, {ls.requests} polls)" for ls in lss
            if not {i for i, _ in final} <= set(ls.ids())]
    for ls in lss:		# what a fresh poll from its cursor gets
        if f"{ls.name} (" in " ".join(miss) and ls.kind == "lp":
            st, _, b = await ls.host.request(
                "GET", f"listen?room={a.room}&since={ls.cursor}&timeout=0")
            try:
                j = json.loads(b)
                got = (f"{len(j['events'])} events "
                       f"{[e['id'] for e in j['events']][:3]}, last "
                       f"{j['last']}, gap {j['gap']}")
            except ValueError:
                got = repr(b[:100])
            miss.append(f"[{ls.host.label} /listen?since={ls.cursor}"
                        f"&timeout=0 now: {st} {got}]")
    check(len(final) == 2 and not miss,
          f"evict: deliveries continue: sends {[i for i, _ in final]} after "
          f"it reach all {len(lss)} listeners",
          f"final {final}, missing on {miss}, last failed sends "
          f"{fails[-2:]}")
    holes = []
    for h in hosts:
        st, j = await h.status()
        holes.append(j.get("holes"))
        check(st == 200 and j.get("memcached") == "up",
              f"evict: /status on {h.label} 200, memcached up", f"{st} {j}")
    check((holes[1] or 0) > 0, f"evict: /status holes on B: {holes[1]}",
          f"holes {holes}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=["cross", "fanout", "outage", "takeid",
                                    "evict"])
    p.add_argument("--hosts", required=True)
    p.add_argument("--room", required=True)
    p.add_argument("--lp", type=int, default=3)
    p.add_argument("--sse", type=int, default=3)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--text-bytes", type=int, default=1900)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--deadline", type=float, default=50)
    p.add_argument("--mc-stop")
    p.add_argument("--mc-start")
    p.add_argument("--mc-port", type=int)
    p.add_argument("--take-cmd")
    p.add_argument("--pause-cmd")
    p.add_argument("--resume-cmd")
    a = p.parse_args()
    ha, hb = a.hosts.split(",")
    A, B = Host("A", ha), Host("B", hb)
    fn = {"cross": case_cross, "fanout": case_fanout, "outage": case_outage,
          "takeid": case_takeid, "evict": case_evict}[a.case]
    async def bounded():
        try:
            await asyncio.wait_for(fn(a, A, B), a.deadline)
        except asyncio.TimeoutError:
            bad(f"{a.case}: ends within {a.deadline} s",
                f"still at: {PHASE}")
    try:
        asyncio.run(bounded())
    except Exception as e:		# a crash of the client is a failure
        bad(f"{a.case}: the client ran to its end", repr(e))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
