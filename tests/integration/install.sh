#!/bin/bash
# install.sh: `make install` puts the programs, man pages, web server
# snippets, web client and systemd units in place; the units pass
# `systemd-analyze verify`; `make distcheck` passes.
# tests/run: alone (make dist and a build take the machine)
source "$(dirname "$0")/lib.sh"
fc_init
# From the tarball `make dist` makes: what a packager gets.
pfx=$T/pfx
if (cd "${FCOMET_BUILD:-$top}" && make -s dist-gzip &&
    tar -xzf fcomet-1.0.0.tar.gz -C "$T" && rm -f fcomet-1.0.0.tar.gz) \
    >"$T/dist.log" 2>&1; then
	pass "install: make dist"
else
	tail -n 20 "$T/dist.log"; fail "install: make dist"; fc_done
fi
b=$T/fcomet-1.0.0
if (cd "$b" && ./configure -q --prefix="$pfx" && make -s -j"$(nproc)" &&
    make -s install) >"$T/install.log" 2>&1; then
	pass "install: configure --prefix, make install"
else
	tail -n 20 "$T/install.log"; fail "install: configure --prefix, make install"
fi
for f in bin/fcomet bin/fcometctl share/man/man8/fcomet.8 \
    share/man/man8/fcometctl.8 share/fcomet/nginx/fcomet.conf \
    share/fcomet/nginx/fcomet-upstream.conf \
    share/fcomet/apache/fcomet.conf share/fcomet/web/index.html \
    share/fcomet/web/chat.js share/fcomet/web/chat.css \
    lib/systemd/system/fcomet.socket lib/systemd/system/fcomet.service \
    lib/sysusers.d/fcomet.conf; do
	[ -s "$pfx/$f" ] && pass "install: $f" || fail "install: $f" "missing"
done
"$pfx/bin/fcomet" --version | grep -qx 'fcomet 1.0.0' &&
    pass "install: installed fcomet runs" || fail "install: installed fcomet runs"
grep -q "ExecStart=$pfx/bin/fcomet" "$pfx/lib/systemd/system/fcomet.service" &&
    pass "install: service runs the installed binary" ||
    fail "install: service runs the installed binary"
grep -q '^StandardInput=socket' "$pfx/lib/systemd/system/fcomet.service" &&
    pass "install: the socket unit hands the listening socket on fd 0" ||
    fail "install: the socket unit hands the listening socket on fd 0"
fc_need systemd-analyze
if systemd-analyze verify --man=no "$pfx/lib/systemd/system/fcomet.socket" \
    "$pfx/lib/systemd/system/fcomet.service" >"$T/verify.log" 2>&1; then
	pass "install: systemd-analyze verify fcomet.socket fcomet.service"
else
	cat "$T/verify.log"; fail "install: systemd-analyze verify"
fi
# Every option of fcomet --help is in the man page.
missing=$("$pfx/bin/fcomet" --help | grep -o -- '--[a-z-]*' | sort -u |
    while read -r o; do
	grep -q -- "${o//-/\\\\-}" "$pfx/share/man/man8/fcomet.8" || echo "$o"
    done)
[ -z "$missing" ] && pass "install: fcomet(8) documents every option" ||
    fail "install: fcomet(8) documents every option" "missing: $missing"
if (cd "$b" && make -s distcheck -j"$(nproc)") >"$T/distcheck.log" 2>&1; then
	pass "install: make distcheck"
else
	tail -n 30 "$T/distcheck.log"; fail "install: make distcheck"
fi
fc_done
