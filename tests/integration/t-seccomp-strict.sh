#!/bin/bash
# Strict seccomp mode (common/state/seccomp.c), per thread: a process one
# of whose threads runs in SECCOMP_MODE_STRICT is checkpointed (ckpt
# suspends seccomp while it injects, or such a thread would be killed by
# the first syscall), goes on unharmed, and comes back with that thread in
# strict mode and the main thread not: its ticks continue.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog seccompstrict
[ "$(id -u)" = 0 ] || skip "needs root (PTRACE_O_SUSPEND_SECCOMP)"
start_bg "$PROGS/seccompstrict" > "$T/s.log" 2>&1
pid=$BG_PID
wait_tick "$T/s.log" 3
ckpt_ok "$pid" "$T/run.tar.zst"
assert_progress "$T/s.log"
ckpt_ok "$pid" "$T/s.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/s.log")
restart_detach "$T/s.tar.zst"
wait_tick "$T/s.log" $((before + 5))
assert_ticks_consecutive "$T/s.log"
pass
