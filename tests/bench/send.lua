-- wrk script of run_peers: every request POSTs one chat message as a form
-- (fcomet /send), or the same text as a plain body (nchan /pub/R).
-- BENCH_BODY and BENCH_TYPE override the body and its content type.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or "room=wrk&nick=wrk&text=hello+from+wrk"
wrk.headers["Content-Type"] = os.getenv("BENCH_TYPE") or
    "application/x-www-form-urlencoded"
