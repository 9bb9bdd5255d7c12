#!/bin/bash
# seccomp: a process whose filter makes uname(2) fail with EPERM keeps its
# filter after restart (the forbidden syscall still fails, Seccomp: 2,
# no_new_privs kept), single-threaded and with two threads (TSYNC).
# ckpt's own injected syscalls are not judged by the filter.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog seccomp

for mode in "" -t; do
	say "seccomp ${mode:-single-threaded}"
	log=$T/seccomp$mode.log
	start_bg "$PROGS/seccomp" $mode > "$log" 2> "$T/seccomp.err"
	pid=$BG_PID
	wait_tick "$log" 3
	ckpt_ok "$pid" "$T/s.tar.zst" --kill
	wait_gone "$pid"
	restart_detach "$T/s.tar.zst"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" || fail "no seccomp filter after restart"
	grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "no_new_privs lost"
	last=$(last_tick "$log")
	wait_tick "$log" $((last + 5))
	assert_ticks_consecutive "$log"
	kill_wait "$pid"
done
pass
