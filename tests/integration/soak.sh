#!/bin/bash
# tests/soak for 60 s in CI (SOAK_SECONDS=600 by hand for the full run):
# mixed load, zero errors, RSS and fds of every fcomet process flat after
# the warm-up, no sanitizer report. See tests/soak.
SOAK_SECONDS=${SOAK_SECONDS:-60} exec "$(dirname "$0")/../soak"
