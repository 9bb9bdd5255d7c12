#!/bin/bash
# CKPT_THREADS=1: ckpt and restart do all (de)compression in their main
# thread (as on a one-CPU machine), with the same image format: an image
# written that way restarts with threads and the other way round.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 3
CKPT_THREADS=1 ckpt_ok "$pid" "$T/one.tar.zst"
ckpt_ok "$pid" "$T/many.tar.zst" --kill
wait_gone "$pid"
end=$(last_tick "$T/counter.log")

CKPT_THREADS=1 restart_detach "$T/many.tar.zst"
wait_tick "$T/counter.log" $((end + 5))
assert_ticks_consecutive "$T/counter.log" $((end + 5))
kill_wait "$RESTORED_PID"

# The image taken with one thread, while the process ran on: it restarts
# at that earlier tick and rewrites the same lines.
end=$(last_tick "$T/counter.log")
restart_detach "$T/one.tar.zst"
wait_tick "$T/counter.log" $((end + 5))
assert_ticks_consecutive "$T/counter.log" $((end + 5))
kill_wait "$RESTORED_PID"
pass
