#!/bin/bash
# The libFuzzer harnesses of tests/fuzz (form, query and JSON decoding,
# numbers, event validation and encoding, the window ring, the rooms of a
# segment with writers dead mid-operation, tokens, attaching to a
# corrupt segment, Content-Type): built with clang, ASan, UBSan and
# LeakSanitizer, each run from its seed corpus (reproducers of past bugs
# included) for FUZZ_SECONDS (default 60) of wall time, five at a time
# (two rounds for the nine; the rest of the test run waits). One PASS or FAIL line per harness.
# tests/run: alone (five fuzzers take both cores)
export FUZZ_JOBS=${FUZZ_JOBS:-5}
exec "$(dirname "$0")/../fuzz/run" "$@"
