#!/usr/bin/python3
"""wake.py CASE BASE...: memcached mode with wake-ups (wake_memcached.sh).

fast A B C   hosts with --peers of each other and --relay-tick 30000: a
             message sent on one reaches long-poll listeners on the others
             within 2 s, three times from each host, so through the
             wake-up, not the poll (30 s)
three A B C  3 senders x 50 over the three hosts: every host's listener
             gets ids 1..150 in order, exactly once
lost X Y     X's --peers is a port nothing reads (the datagram is lost):
             Y (--relay-tick 200) gets the message by its poll, in order
Prints PASS/FAIL lines; exit 1 if any failed."""

import sys
import threading
import time
import urllib.parse

from fchttp import req

CASE, HOSTS = sys.argv[1], sys.argv[2:]
RUN = str(int(time.time() * 1000) % 100000)
failed = 0


def ok(name, cond, why=""):
    global failed
    print(("PASS: wake: %s" if cond else "FAIL: wake: %s - " + why) % name)
    sys.stdout.flush()
    failed += not cond


def send(base, room, text):
    return req(base, "POST", "/send", urllib.parse.urlencode(
        {"room": room, "nick": "w", "text": text}))


def listen(base, room, since, timeout=20):
    return req(base, "GET", "/listen?" + urllib.parse.urlencode(
        {"room": room, "since": since, "timeout": timeout}), timeout=timeout + 10)


def collect(base, room, want, out, deadline):
    since = 0
    while len(out) < want and time.time() < deadline:
        st, j = listen(base, room, since, 5)
        if st != 200:
            return
        for e in j["events"]:
            if e["type"] == "message":
                out.append(e["id"])
        since = j["last"]


if CASE == "fast":
    room = "fast" + RUN
    for k, src in enumerate(HOSTS):
        for rnd in range(3):
            others = [h for h in HOSTS if h != src]
            last = {h: listen(h, room, 0, 0)[1]["last"] for h in others}
            got = {}

            def wait(h):
                t0 = time.time()
                st, j = listen(h, room, last[h], 20)
                got[h] = (time.time() - t0, st,
                          [e["text"] for e in (j or {}).get("events", [])])
            ts = [threading.Thread(target=wait, args=(h,)) for h in others]
            for t in ts:
                t.start()
            time.sleep(0.5)     # parked
            text = "from %d round %d" % (k, rnd)
            t_send = time.time()
            st, _ = send(src, room, text)
            for t in ts:
                t.join()
            for h in others:
                dt, st2, texts = got[h]
                ok("host %d round %d: reaches %s within 2 s of the send "
                   "(poll 30 s)" % (k, rnd, h.split("/")[-2]),
                   st == 200 and st2 == 200 and text in texts and dt < 2.5,
                   "send %s, listen %s after %.2f s: %s" % (st, st2, dt, texts))
elif CASE == "three":
    room = "three" + RUN
    outs = {h: [] for h in HOSTS}
    deadline = time.time() + 60
    ls = [threading.Thread(target=collect, args=(h, room, 150, outs[h],
                                                 deadline)) for h in HOSTS]
    for t in ls:
        t.start()
    time.sleep(0.5)

    def sender(i):
        for n in range(50):
            send(HOSTS[(i + n) % 3], room, "s%d-%d" % (i, n))
    ss = [threading.Thread(target=sender, args=(i,)) for i in range(3)]
    for t in ss:
        t.start()
    for t in ss + ls:
        t.join()
    for h in HOSTS:
        ok("three hosts: %s gets ids 1..150 in order, once" % h.split("/")[-2],
           outs[h] == list(range(1, 151)), str(outs[h][:10]) + "... %d" %
           len(outs[h]))
elif CASE == "lost":
    x, y = HOSTS
    room = "lost" + RUN
    st, _ = send(x, room, "first")
    out = []
    collect(y, room, 1, out, time.time() + 15)
    ok("a lost wake-up: the poll delivers it", out == [1], str(out))
    for i in range(2, 6):
        send(x, room, "m%d" % i)
    out = []
    collect(y, room, 5, out, time.time() + 15)
    ok("and what follows, in order, nothing lost", out == [1, 2, 3, 4, 5],
       str(out))
sys.exit(1 if failed else 0)
