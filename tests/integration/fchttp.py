"""fchttp.py: the one HTTP call the Python test clients of several hosts
share (wake.py, memcached_kill.py)."""

import http.client
import json
import urllib.parse


def req(base, method, path, body=None, timeout=30):
    """METHOD base+path (a form body if given): (status, JSON or None);
    OSError if there is no whole answer."""
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    c.request(method, u.path + path, body=body, headers=h)
    r = c.getresponse()
    try:
        data = r.read()
    except http.client.HTTPException as e:   # cut: its host died mid-answer
        raise OSError(str(e)) from e
    finally:
        c.close()
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, None
