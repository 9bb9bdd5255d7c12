#!/bin/bash
# seccomp: a process whose filter makes uname(2) fail with EPERM keeps its
# filter after restart (the forbidden syscall still fails, Seccomp: 2,
# no_new_privs kept), single-threaded and with two threads (TSYNC); and
# with the filter and no_new_privs of the second thread only (-p): after
# restart the main thread still has neither, the second thread both (ckpt
# read only the main thread's mode, and restart set no_new_privs in the
# main thread only).
# ckpt's own injected syscalls are not judged by the filter.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog seccomp

for mode in "" -t -p; do
	say "seccomp ${mode:-single-threaded}"
	log=$T/seccomp$mode.log
	start_bg "$PROGS/seccomp" $mode > "$log" 2> "$T/seccomp.err"
	pid=$BG_PID
	wait_tick "$log" 3
	ckpt_ok "$pid" "$T/s.tar.zst" --kill
	wait_gone "$pid"
	restart_detach "$T/s.tar.zst"
	if [ "$mode" = -p ]; then
		grep -q '^Seccomp:[[:space:]]*0' "/proc/$pid/status" || fail "the main thread has a seccomp filter after restart"
		grep -q '^NoNewPrivs:[[:space:]]*0' "/proc/$pid/status" || fail "the main thread has no_new_privs after restart"
		own=$(grep -ls '^Seccomp:[[:space:]]*2' /proc/"$pid"/task/*/status) || fail "no thread has its seccomp filter after restart"
		grep -q '^NoNewPrivs:[[:space:]]*1' $own || fail "the second thread lost its no_new_privs"
	else
		grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" || fail "no seccomp filter after restart"
		grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "no_new_privs lost"
	fi
	last=$(last_tick "$log")
	wait_tick "$log" $((last + 5))
	assert_ticks_consecutive "$log"
	kill_wait "$pid"
done
pass
