#!/bin/bash
# Signed tokens, private rooms and cross-site writes through a private
# nginx (cases: auth.py, setup: auth.inc).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth.inc"
fc_init
fc_auth nginx
fc_done
