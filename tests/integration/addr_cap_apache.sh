#!/bin/bash
# Parked listeners and streams an address may hold, through a private
# apache (cases: addr_cap.py, setup: addr_cap.inc).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/addr_cap.inc"
fc_init
fc_addr_cap apache
fc_done
