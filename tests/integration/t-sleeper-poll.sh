#!/bin/bash
# A process blocked in poll() with a 1 s timeout keeps polling and ticking
# after ckpt --kill + restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sleeper

start_bg "$PROGS/sleeper" poll > "$T/sleeper.log" 2> "$T/sleeper.err"
pid=$BG_PID
wait_tick "$T/sleeper.log" 2
sleep 0.4

ckpt_ok "$pid" "$T/sleeper.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/sleeper.log")

restart_detach "$T/sleeper.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$T/sleeper.log" $((before + 3)) 8
assert_ticks_consecutive "$T/sleeper.log" $((before + 3))
say "EINTR seen by the program: $(count_lines "$T/sleeper.log" '^note: poll EINTR') time(s)"
pass
