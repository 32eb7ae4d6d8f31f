#!/bin/bash
# Every route, status code, header and error of PROTOCOL.md through a
# private apache (case table: routes.py, setup: routes.inc).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/routes.inc"
fc_init
fc_routes apache
fc_done
