#!/bin/bash
# stopped: a single process (no children) stopped by SIGSTOP when it is
# checkpointed comes back stopped (it came back running: only a tree's
# image said which of its processes were stopped), and stays so after
# restart --detach exits (restart runs in a process group of its own here,
# timeout's: had the process joined it, the kernel would have sent it
# SIGHUP when the group was orphaned with a stopped member, as it did);
# it does not count while stopped, and goes on from the next tick after
# SIGCONT.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 5
is_stopped() { [ "$(proc_state "$1")" = T ]; }
kill -STOP "$pid"
wait_until 5 is_stopped "$pid" || fail "counter did not stop"

ckpt_ok "$pid" "$T/stopped.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/counter.log")
"$CKPT" info "$T/stopped.tar.zst" > "$T/info.out" 2>&1 || fail "ckpt info failed: $(cat "$T/info.out")"
grep -q "stopped (by SIGSTOP)" "$T/info.out" || fail "ckpt info does not say the process was stopped: $(cat "$T/info.out")"

restart_detach "$T/stopped.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
sleep 1
[ "$(proc_state "$pid")" = T ] || fail "the restored process is not stopped (state $(proc_state "$pid"))"
[ "$(last_tick "$T/counter.log")" = "$before" ] || fail "the restored process counted while it should be stopped"
kill -CONT "$pid"
wait_tick "$T/counter.log" $((before + 10))
assert_ticks_consecutive "$T/counter.log" $((before + 10))
say "restored PID $pid stopped at tick $before, went on after SIGCONT to $(last_tick "$T/counter.log")"
pass
