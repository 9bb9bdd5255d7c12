#!/bin/bash
# Process-wide kernel state comes back: membarrier registrations (every
# expedited command still works, GET_REGISTRATIONS lists them), each
# thread's timer slack, PR_SET_MEMORY_MERGE, THP disable, child subreaper,
# the parent-death signal and the personality.  tests/progs/procattrs
# checks them itself every tick.  The audit login uid (/proc/PID/loginuid)
# of a process whose session set one is its own again, not restart's.
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

if [ -w /proc/self/loginuid ] && (echo 4321 > /proc/self/loginuid) 2> /dev/null; then
	start_bg sh -c 'echo 4321 > /proc/self/loginuid && exec sleep 1000' < /dev/null
	lpid=$BG_PID
	wait_until 5 grep -qx 4321 /proc/"$lpid"/loginuid || fail "cannot set a login uid"
	wait_until 5 test "$(proc_comm "$lpid")" = sleep || fail "sleep did not start"
	ckpt_ok "$lpid" "$T/l.tar.zst" --kill
	wait_gone "$lpid"
	restart_detach "$T/l.tar.zst"
	got=$(cat /proc/"$RESTORED_PID"/loginuid)
	[ "$got" = 4321 ] || fail "the restored process's login uid is $got, not 4321"
	say "ok: login uid 4321"
fi
pass
