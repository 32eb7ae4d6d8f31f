#!/bin/bash
# Rooms against a stranger, through nginx and Apache. (1) Defaults: 20,000 GETs
# (/listen?timeout=0) to distinct new rooms from one address: only the
# --room-rate burst creates rooms, the rest get 429 with Retry-After; a
# send to a new room from another address answers 200, the page is
# served, listen and send work in that room. (2) --room-rate 0 and
# --rooms 1000: the same 20,000 GETs cycle through the index, yet the
# rooms that hold messages keep their events and ids, and new rooms from
# others still open: rooms read but never written are reclaimed first.
. "$(dirname "$0")/lib.sh"
FC_TIMEOUT=${FC_TIMEOUT:-400}
fc_init
tag=rooms_abuse

# gets N PREFIX [curl options]: N GETs of new rooms PREFIX0..; the codes
# counted by kind, one line "200 n / 429 n / other n".
gets() {
	local n=$1 prefix=$2
	shift 2
	awk -v n="$n" -v p="$prefix" -v b="$BASE" 'BEGIN {
	    for (i = 0; i < n; i++)
		printf "url = \"%s/chat/listen?room=%s%d&timeout=0\"\noutput = /dev/null\n", b, p, i }' \
	    >"$T/urls"
	curl -s -K "$T/urls" -w '%{http_code}\n' --max-time 300 "$@" >"$T/codes"
	awk '{ c[$1 == 200 ? "200" : $1 == 429 ? "429" : "other"]++ }
	    END { printf "%d %d %d\n", c["200"], c["429"], c["other"] }' "$T/codes"
}

fc_start --workers 2 --trust-proxy 127.0.0.1
fc_web
check "$tag: a room with a message before the flood" 1 \
    "$(http_send keep ana "before" | json_get 'j["id"]')"
read -r ok limited other < <(gets 20000 L -H 'X-Forwarded-For: 10.9.9.9')
echo "# defaults: 20,000 GETs from one address: $ok created, $limited 429, $other other"
[ "$ok" -ge 60 ] && [ "$ok" -le 100 ] && [ "$limited" -eq $((20000 - ok)) ] &&
    pass "$tag: one address creates only its --room-rate burst of rooms ($ok), the rest 429" ||
    fail "$tag: one address creates only its --room-rate burst of rooms" "$ok 200, $limited 429, $other other"
# Two more new rooms, back to back: the bucket refills one room a second,
# so the first may find a token that came back since the flood's last
# request, but the second, a few ms later, cannot.
curl -s -H 'X-Forwarded-For: 10.9.9.9' -w '%{http_code} %header{retry-after}\n' \
    -o "$T/b1" "$BASE/chat/listen?room=onemore1&timeout=0" \
    -o "$T/b2" "$BASE/chat/listen?room=onemore2&timeout=0" >"$T/next"
read -r code1 _ <"$T/next"
read -r code2 retry2 < <(sed -n 2p "$T/next")
check "$tag: the flooder's next new rooms: at most one a second, then 429 rate_limited with Retry-After" \
    "429 rate_limited yes" \
    "$code2 $(json_get 'j["error"]' <"$T/b2") $([ "${retry2:-0}" -ge 1 ] && echo yes || echo "'$retry2'")"
echo "# the first of the two answered $code1"
check "$tag: a send to a new room from another address answers 200" 1 \
    "$(http_body "$BASE/chat/send" -H 'X-Forwarded-For: 10.1.1.1' \
    --data-urlencode room=fresh --data-urlencode nick=bo \
    --data-urlencode text=hello | json_get 'j["id"]')"
check "$tag: the page is served" 200 "$(http_status "$BASE/?room=fresh")"
check "$tag: the new room listens and sends" "1 hello" \
    "$(http_body "$BASE/chat/listen?room=fresh&since=0&timeout=0" -H 'X-Forwarded-For: 10.1.1.1' |
    json_get '" ".join(str(e.get(k)) for e in j["events"] for k in ("id", "text"))')"
check "$tag: the room written before the flood is untouched" "1 before" \
    "$(http_body "$BASE/chat/listen?room=keep&since=0&timeout=0" |
    json_get '" ".join(str(e.get(k)) for e in j["events"] for k in ("id", "text"))')"
check "$tag: /status counts the refused new rooms" yes \
    "$(http_body "$BASE/chat/status" | json_get '"yes" if j["rooms_limited"] >= 19000 else j["rooms_limited"]')"
fc_stop

# (2) no room rate limit, a small index: the flood churns it.
FC_NAME=$FC_NAME-b
FC_NAMES+=("$FC_NAME")
fc_start --workers 2 --rooms 1000 --room-rate 0 --rate 0
for r in k1 k2 k3; do
	for i in 1 2 3; do http_send "$r" ana "$r-$i" >/dev/null; done
done
read -r ok limited other < <(gets 20000 G)
echo "# --rooms 1000 --room-rate 0: 20,000 GETs: $ok 200, $limited 429, $other other"
check "$tag: small index: every one of 20,000 GETs of new rooms answers 200" "20000 0 0" \
    "$ok $limited $other"
for r in k1 k2 k3; do
	check "$tag: small index: room $r kept its events and ids" "1 2 3 $r-1 $r-2 $r-3" \
	    "$(http_body "$BASE/chat/listen?room=$r&since=0&timeout=0" |
	    json_get '" ".join([str(e["id"]) for e in j["events"]] + [e["text"] for e in j["events"]])')"
done
check "$tag: small index: a send to a new room answers 200 with id 1" 1 \
    "$(http_send after bo "new" | json_get 'j["id"]')"
check "$tag: small index: and room k1 goes on at id 4" 4 \
    "$(http_send k1 bo "next" | json_get 'j["id"]')"
rec=$("$FCOMETCTL" --name "$FC_NAME" --json stat | json_get 'j["counters"]["reclaims"]')
[ "${rec:-0}" -ge 19000 ] && pass "$tag: small index: the read-only rooms were reclaimed ($rec)" ||
    fail "$tag: small index: the read-only rooms were reclaimed" "reclaims $rec"
fc_stop
fc_done
