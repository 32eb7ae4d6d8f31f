#!/bin/bash
# tests/browser/private.sh: a private room (--private 'dm-*') with tokens
# from fcometctl token: two granted users chat, a third without a grant
# is told so and sees nothing, a token that expires mid-stream ends the
# stream and the page says why, and one renewed through the site's URL
# (data-token-url) goes on.
FC_TIMEOUT=${FC_TIMEOUT:-300}
BT_TIMEOUT=${BT_TIMEOUT:-280}
. "$(dirname "$0")/common.bash"
bt_init
k=$T/token.key
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$k"
chmod 644 "$k"
room=dm-browser
tok() { "$FCOMETCTL" token --key "$k" --sub "$1" --ttl "$2" \
    ${3:+--read "$3" --write "$3"}; }
export TOK_ANA TOK_BO TOK_CY FCOMETCTL TOKEN_KEY=$k PRIVATE_ROOM=$room
TOK_ANA=$(tok ana 600 "dm-*") TOK_BO=$(tok bo 600 "$room")
TOK_CY=$(tok cy 600 lobby)
mkdir -p "$T/tok"
tok eve 600 "$room" >"$T/tok/eve.txt"
chmod -R a+rX "$T/tok"
FC_NGINX_EXTRA="location /tok/ { alias $T/tok/; }"
FC_APACHE_EXTRA="Alias /tok/ $T/tok/
<Directory $T/tok>
	Require all granted
</Directory>"
bt_start --grace 1 --token-key "$k" --private 'dm-*'
bt_run private.test.js
fc_done
