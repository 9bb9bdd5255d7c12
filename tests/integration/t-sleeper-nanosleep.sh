#!/bin/bash
# A process blocked in nanosleep(1 s): checkpointed in the middle of the
# sleep (once leaving it running, once with --kill) it goes on sleeping and
# ticking; no sleep is cut short (sleeper checks that itself).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sleeper

start_bg "$PROGS/sleeper" nanosleep > "$T/sleeper.log" 2> "$T/sleeper.err"
pid=$BG_PID
wait_tick "$T/sleeper.log" 2
sleep 0.3	# well inside the next sleep

ckpt_ok "$pid" "$T/live.tar.zst"
assert_not_stopped "$pid"
assert_progress "$T/sleeper.log" '^tick ' 3

sleep 0.4
ckpt_ok "$pid" "$T/sleeper.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/sleeper.log")
say "checkpointed at tick $before"

restart_detach "$T/sleeper.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$T/sleeper.log" $((before + 3)) 8
assert_ticks_consecutive "$T/sleeper.log" $((before + 3))
say "EINTR seen by the program: $(count_lines "$T/sleeper.log" '^note: nanosleep EINTR') time(s)"
pass
