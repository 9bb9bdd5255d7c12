#!/bin/bash
# Multi-threaded processes: 1 (+4 helpers), 64 and 500 counting threads,
# a producer/consumer pair on a mutex+condvar, a thread blocked in
# pthread_join and threads in nanosleep are checkpointed with --kill and
# restarted.  Every thread comes back under its original TID, every worker
# keeps counting (the program itself checks that none is stuck), and
# sched_getcpu() (rseq) still works.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog threads

tids_of() { find "/proc/$1/task" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -n | tr "\n" " "; }

for n in 0 64 500; do
	say "$n workers"
	log=$T/threads-$n.log
	start_bg "$PROGS/threads" -n "$n" -i 100 > "$log" 2> "$T/threads-$n.err"
	pid=$BG_PID
	wait_for_line "$log" '^tick 2 ' 20
	before=$(tids_of "$pid")
	[ "$(echo "$before" | wc -w)" = $((n + 5)) ] || fail "expected $((n + 5)) threads, got: $before"
	last=$(grep -c '^tick' "$log")
	ckpt_ok "$pid" "$T/threads-$n.tar.zst" --kill
	wait_gone "$pid"
	restart_detach "$T/threads-$n.tar.zst"
	[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
	after=$(tids_of "$pid")
	[ "$after" = "$before" ] || fail "TIDs differ after restart: before '$before' after '$after'"
	wait_for_line "$log" "^tick $((last + 3)) " 20
	assert_no_corrupt "$log"
	kill_wait "$pid"
done
pass
