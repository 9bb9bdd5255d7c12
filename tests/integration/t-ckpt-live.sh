#!/bin/bash
# Default ckpt (no --kill) leaves the process running, not stopped, still
# counting; the image it wrote restores that process as it was at the
# checkpoint (after the original is gone), under the same PID.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 5

ckpt_ok "$pid" "$T/live.tar.zst"
at=$(last_tick "$T/counter.log")
assert_running "$pid" "checkpointed without --kill"
assert_not_stopped "$pid" "checkpointed without --kill"
assert_progress "$T/counter.log"
# A second checkpoint of the same process works too.
ckpt_ok "$pid" "$T/live2.tar.zst"
assert_not_stopped "$pid"
wait_tick "$T/counter.log" $((at + 10))
assert_running "$pid"
assert_ticks_consecutive "$T/counter.log"

kill_wait "$pid"
end=$(last_tick "$T/counter.log")
say "original stopped at tick $end; image taken near tick $at"

# The restored process reopens counter.log at the offset it had at the
# checkpoint and writes the same lines again over the original's: the file
# stays 1, 2, 3... only if both its counter and its file offset are right.
restart_detach "$T/live.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$T/counter.log" $((end + 10))
assert_ticks_consecutive "$T/counter.log" $((end + 10))
pass
