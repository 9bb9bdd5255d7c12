#!/bin/bash
# counter: a value kept in a global, the heap, the stack, anonymous private
# and shared mappings and a private file mapping survives `ckpt --kill` +
# `restart --detach`: the process comes back under its original PID and goes
# on counting from exactly where it was, appending to the same log.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 10

ckpt_ok "$pid" "$T/counter.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/counter.log")
say "checkpointed PID $pid at tick $before, image $(stat -c %s "$T/counter.tar.zst") bytes"

restart_detach "$T/counter.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected the original PID $pid"
[ "$(proc_comm "$pid")" = counter ] || fail "restored process is named '$(proc_comm "$pid")', not counter"
grep -qF "$T/counter.map" "/proc/$pid/maps" || fail "restored process does not map counter.map"

wait_tick "$T/counter.log" $((before + 20))
assert_running "$pid" "restored"
# 1..before were written before the checkpoint, before+1... after the restart.
assert_ticks_consecutive "$T/counter.log" $((before + 20))
[ ! -s "$T/counter.err" ] || fail "counter wrote on stderr: $(cat "$T/counter.err")"
say "restored PID $pid went on from tick $((before + 1)) to $(last_tick "$T/counter.log")"
pass
