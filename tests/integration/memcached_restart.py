"""memcached_restart.py A B MCPORT RELAY_B: memcached forgets every
counter (flush_all) while two hosts run; no id is handed out twice.

1. Both relays up: the host making the counter again asks its peer and
   starts right past the highest id either holds or is taking, so every
   window keeps its history.
2. B's relay stopped while A stores 1,000 events: B lags by 1,000 ids.
   Flushed, B makes the counter: A answers, B starts past A's ids.
3. Flushed again, A makes it: B cannot answer, so A starts past the clock
   in microseconds, beyond any id before.
Then on each host every id in the window has one text, the one its send
was acknowledged with, and ids only grow."""

import os
import signal
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fchttp import req  # noqa: E402

A, B, MCPORT, RELAY_B = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
ROOM = "restart"
failed = False
acked = {}		# id -> text


def check(ok, what, why=""):
    global failed
    print(("PASS: " if ok else "FAIL: ") + "mc restart: " + what +
          ("" if ok else f" - {why}"), flush=True)
    failed |= not ok


def send(base, text):
    st, j = req(base, "POST", "/send", urllib.parse.urlencode(
        {"room": ROOM, "nick": "r", "text": text}))
    if st != 200:
        raise SystemExit(f"FAIL: mc restart: send {text} - {st} {j}")
    acked[j["id"]] = text
    return j["id"]


def window(base):
    st, j = req(base, "GET", f"/listen?room={ROOM}&since=0&timeout=0")
    return j if st == 200 else {"events": [], "last": -1}


def flush():
    with socket.create_connection(("127.0.0.1", MCPORT), timeout=5) as s:
        s.sendall(b"flush_all\r\n")
        check(s.recv(64).startswith(b"OK"), "memcached flush_all")


def wait_last(base, want, secs=5):
    end = time.time() + secs
    while time.time() < end:
        if window(base)["last"] >= want:
            return True
        time.sleep(0.05)
    return False


# 1. every peer answers: history kept
first = send(A, "before-1")
check(wait_last(B, first), f"B has id {first} from A")
flush()
i1 = send(A, "after-1")
check(i1 == first + 1, f"flushed, both relays up: A's next id is "
      f"{first} + 1 = {i1} (right past the highest either holds or takes)",
      f"got {i1}")
check(wait_last(B, i1), f"B gets id {i1}")
held = [e["id"] for e in window(A)["events"]]
check(first in held and i1 in held, f"A's window still holds id {first} "
      f"from before the flush, next to {i1}", f"holds {held}")

# 2. B lags by 1,000 ids; B makes the counter
os.kill(RELAY_B, signal.SIGSTOP)
for n in range(1000):
    top = send(A, f"lag-{n}")
b_last = window(B)["last"]
check(top - b_last == 1000, f"B's relay stopped: B lags by 1,000 ids "
      f"(A {top}, B {b_last})", f"lag {top - b_last}")
flush()
i2 = send(B, "after-2")
check(i2 > top, f"flushed, B lagging makes the counter: its id {i2} is past "
      f"A's {top} (A answered)", f"id {i2} <= {top}")

# 3. B cannot answer; A makes the counter
flush()
t0 = time.time()
i3 = send(A, "after-3")
check(i3 > max(acked) - 1 and i3 >= int(t0 * 1e6) - 10**7 and
      i3 < 2**53, f"flushed, B's relay silent, A makes the counter: "
      f"its id {i3} is past the clock in microseconds, past every id before",
      f"id {i3}, clock {int(t0 * 1e6)}")
os.kill(RELAY_B, signal.SIGCONT)
i4 = send(B, "after-4")
i5 = send(A, "after-5")
check(i3 < i4 < i5, f"B's relay back: the next ids follow ({i4}, {i5})",
      f"{i3}, {i4}, {i5}")
check(len(acked) == 1 + 1 + 1000 + 4, f"{len(acked)} acknowledged ids, all "
      "distinct", f"{len(acked)} distinct")
for name, base in (("A", A), ("B", B)):
    check(wait_last(base, i5), f"{name} gets id {i5}")
    evs = window(base)["events"]
    ids = [e["id"] for e in evs]
    wrong = [(e["id"], e.get("text"), acked.get(e["id"])) for e in evs
             if acked.get(e["id"]) != e.get("text")]
    check(evs and not wrong and ids == sorted(set(ids)),
          f"{name}: {len(evs)} events held, each id with the text its send "
          "was acknowledged with, ids only growing",
          f"wrong {wrong[:4]}, ids {ids[:8]}")
sys.exit(1 if failed else 0)
