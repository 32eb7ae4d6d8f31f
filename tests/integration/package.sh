#!/bin/bash
# The Debian package: dpkg-buildpackage -us -uc -b builds fcomet_*.deb
# from the tracked files, lintian finds no error; installed on this
# machine (root only), fcomet starts as fcomet.socket + fcomet.service
# start it (systemd's socket on fd 0, user fcomet), the system nginx with
# the installed snippets chats, so does the system Apache with the
# installed conf-available/fcomet.conf, and purge leaves none of its
# files, its segment or anything world-writable behind.
# tests/run: alone (it installs into the system and uses its nginx and Apache)
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-300}
fc_init
fc_need dpkg-buildpackage
fc_need dh
fc_need lintian
fc_need nginx
fc_need /usr/sbin/apache2
src=$T/src/fcomet
mkdir -p "$src"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$src") ||
    { fail "package: copy the tracked files"; fc_done; }
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1; then
	pass "package: dpkg-buildpackage -us -uc -b"
else
	tail -n 30 "$T/build.log"; fail "package: dpkg-buildpackage -us -uc -b"
	fc_done
fi
deb=$(ls "$T"/src/fcomet_*_*.deb 2>/dev/null | head -1)
check "package: builds fcomet_*.deb" yes "$([ -s "$deb" ] && echo yes)"
for f in ./usr/bin/fcomet ./usr/bin/fcometctl \
    ./usr/share/man/man8/fcomet.8.gz ./usr/share/man/man8/fcometctl.8.gz \
    ./lib/systemd/system/fcomet.socket ./lib/systemd/system/fcomet.service \
    ./usr/lib/sysusers.d/fcomet.conf ./etc/nginx/snippets/fcomet.conf \
    ./etc/nginx/conf.d/fcomet-upstream.conf \
    ./etc/apache2/conf-available/fcomet.conf \
    ./usr/share/fcomet/web/index.html ./usr/share/fcomet/web/chat.js; do
	dpkg -c "$deb" | awk '{print $6}' | grep -qx "$f" &&
	    pass "package: holds $f" || fail "package: holds $f"
done
lintian "$deb" >"$T/lintian.log" 2>&1
errors=$(grep -c '^E: ' "$T/lintian.log")
check "package: lintian finds no error" 0 "$errors"
[ "$errors" = 0 ] || cat "$T/lintian.log"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: package: install, chat, purge (needs root)"
	fc_done
fi
# Installed on this machine; removed at the end, also on failure.
purge() { DEBIAN_FRONTEND=noninteractive dpkg --purge fcomet >>"$T/dpkg.log" 2>&1; }
stop_srv() {
	[ -n "${SRV_PID:-}" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}
trap 'stop_srv; purge; fc_cleanup' EXIT
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" \
    >"$T/dpkg.log" 2>&1; then
	pass "package: installs (apt-get install ./fcomet_*.deb)"
else
	tail -n 20 "$T/dpkg.log"; fail "package: installs"; fc_done
fi
files=$(dpkg -L fcomet)
check "package: postinst made the system user fcomet" yes \
    "$(getent passwd fcomet >/dev/null && echo yes)"
ww=$(for f in $files; do [ -e "$f" ] && find "$f" -maxdepth 0 -perm -o+w \
    ! -type l; done)
check "package: nothing it installed is world-writable" "" "$ww"
check "package: /usr/bin/fcomet --version" "fcomet 1.0.0" \
    "$(/usr/bin/fcomet --version)"

# What fcomet.socket and fcomet.service do: systemd's listening socket
# (/run/fcomet/fcomet.sock, fcomet:www-data 0660) on fd 0 of ExecStart,
# run as User=fcomet. With systemd as PID 1 the units themselves.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/fcomet.service)
check "package: the service starts /usr/bin/fcomet --name default" \
    "/usr/bin/fcomet --name default" "$exec_start"
if [ -d /run/systemd/system ]; then
	systemctl start fcomet.socket
	SRV_PID=
else
	install -d -m 0755 /run/fcomet
	rm -f /run/fcomet/fcomet.sock
	/usr/bin/python3 - "$exec_start" >>"$T/fcomet.log" 2>&1 <<-'PY' &
	import grp, os, pwd, socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.bind("/run/fcomet/fcomet.sock")
	os.chown("/run/fcomet/fcomet.sock", pwd.getpwnam("fcomet").pw_uid,
	         grp.getgrnam("www-data").gr_gid)
	os.chmod("/run/fcomet/fcomet.sock", 0o660)
	s.listen(4096)
	os.dup2(s.fileno(), 0)
	u = pwd.getpwnam("fcomet")
	os.setgroups([])
	os.setgid(u.pw_gid)
	os.setuid(u.pw_uid)
	os.umask(0o077)
	argv = sys.argv[1].split()
	os.execv(argv[0], argv)
	PY
	SRV_PID=$!
fi
fc_wait_for 50 test -S /run/fcomet/fcomet.sock ||
    { fail "package: the socket is there"; fc_done; }

# The system nginx binary, its fastcgi_params and mime.types, the
# installed upstream (conf.d) and snippet, the installed web client.
p=$T/nginx
mkdir -p "$p/tmp"
cp /etc/nginx/fastcgi_params "$p/"	# the snippet includes it relatively
cat >"$p/nginx.conf" <<EOF
user www-data www-data;
worker_processes 1;
daemon off;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections 512; }
http {
	include /etc/nginx/mime.types;
	access_log $p/access.log;
	client_body_temp_path $p/tmp/body;
	fastcgi_temp_path $p/tmp/fastcgi;
	proxy_temp_path $p/tmp/proxy;
	uwsgi_temp_path $p/tmp/uwsgi;
	scgi_temp_path $p/tmp/scgi;
	include /etc/nginx/conf.d/fcomet-upstream.conf;
	server {
		listen 127.0.0.1:$PORT;
		root /usr/share/fcomet/web;
		index index.html;
		include /etc/nginx/snippets/fcomet.conf;
	}
}
EOF
nginx -p "$p/" -c "$p/nginx.conf" -e "$p/error.log" >>"$p/error.log" 2>&1 \
    </dev/null &
FC_PIDS+=("$!")
fc_wait_for 50 fc_port_open "$PORT" || { fail "package: nginx starts"; fc_done; }
B=http://127.0.0.1:$PORT
check "package: the installed chat page" 200 "$(http_status "$B/")"
room=pkg$$
sent=$(curl -s -d "room=$room&nick=pkg&text=hello+from+the+package" \
    "$B/chat/send")
check "package: a send through the system nginx: id 1" 1 \
    "$(/usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$sent")"
out=$(curl -s "$B/chat/listen?room=$room&since=0&timeout=0")
check "package: and it is there to read" 1 "$(/usr/bin/python3 -c '
import json, sys
e = json.loads(sys.argv[1])["events"]
print(sum(x.get("text") == "hello from the package" for x in e))' "$out")"
check "package: segment and semaphore, 0600 and owned by fcomet" \
    "600 fcomet 600 fcomet" "$(stat -c '%a %U' /dev/shm/fcomet-default \
    /dev/shm/sem.fcomet-default.lock | tr '\n' ' ' | sed 's/ $//')"
check "package: /metrics to 127.0.0.1" 200 "$(http_status "$B/chat/metrics")"

# The system Apache binary with the installed conf, as a2enconf would
# include it, on 127.0.0.1:$PORT2.
a=$T/apache
mkdir -p "$a/run"
cp /etc/apache2/conf-available/fcomet.conf "$a/fcomet.conf"
apache_conf "$a" "$PORT2" /usr/share/fcomet/web "User www-data
Group www-data" >"$a/httpd.conf"
fc_apache_start "$a" "$PORT2"
A=$BASE
check "package: the installed chat page through the system Apache" 200 \
    "$(http_status "$A/")"
sent=$(curl -s -d "room=$room&nick=pkg&text=hello+through+apache" "$A/chat/send")
check "package: a send through the system Apache: id 2" 2 \
    "$(/usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$sent")"
out=$(curl -s "$A/chat/listen?room=$room&since=1&timeout=0")
check "package: and Apache reads it back" "hello through apache" \
    "$(/usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])["events"][0]["text"])' "$out")"

if [ -n "$SRV_PID" ]; then
	stop_srv
else
	systemctl stop fcomet.service fcomet.socket
fi
purge && pass "package: dpkg --purge fcomet" || fail "package: dpkg --purge fcomet"
left=$(for f in $files; do [ -e "$f" ] && [ ! -d "$f" ] && echo "$f"; done)
check "package: purge leaves none of its files" "" "$left"
left=$(ls -d /dev/shm/fcomet-default /dev/shm/sem.fcomet-default.lock \
    /run/fcomet /etc/systemd/system/sockets.target.wants/fcomet.socket \
    2>/dev/null)
check "package: nor its segment, semaphore, /run/fcomet or enabled units" \
    "" "$left"
fc_done
