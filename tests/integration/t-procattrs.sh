#!/bin/bash
# Process-wide kernel state comes back: membarrier registrations (every
# expedited command still works, GET_REGISTRATIONS lists them), each
# thread's timer slack, PR_SET_MEMORY_MERGE, THP disable, child subreaper,
# the parent-death signal and the personality.  tests/progs/procattrs
# checks them itself every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog procattrs

start_bg "$PROGS/procattrs" > "$T/p.log" 2> "$T/p.err"
pid=$BG_PID
wait_tick "$T/p.log" 2
grep -q 'membarrier registered 0x' "$T/p.log" || fail "no membarrier registration: $(cat "$T/p.log")"
ckpt_ok "$pid" "$T/p.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/p.tar.zst"
last=$(last_tick "$T/p.log")
wait_tick "$T/p.log" $((last + 3))
assert_no_corrupt "$T/p.log"
pass
