#!/bin/bash
# POSIX timers: a periodic timer with a signal and sigev_value keeps firing
# after restart, and a one-shot timer keeps its time left (not reset to its
# full 60 s); both keep their kernel ids, which the program holds as timer_t.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog ptimer

start_bg "$PROGS/ptimer" > "$T/t.log" 2> "$T/t.err"
pid=$BG_PID
wait_tick "$T/t.log" 5
sleep 1
ckpt_ok "$pid" "$T/t.tar.zst" --kill
left_before=$(awk '/^tick/ { sub("oneshot_left_ms=", "", $4); v = $4 } END { print v }' "$T/t.log")
wait_gone "$pid"
restart_detach "$T/t.tar.zst"
last=$(last_tick "$T/t.log")
wait_tick "$T/t.log" $((last + 5))
assert_ticks_consecutive "$T/t.log"
left_after=$(awk -v n=$((last + 1)) '$1 == "tick" && $2 == n { sub("oneshot_left_ms=", "", $4); print $4 }' "$T/t.log")
say "one-shot time left: $left_before ms before, $left_after ms after"
if [ -z "$left_after" ] || [ "$left_after" -gt "$left_before" ]; then
	fail "one-shot timer reset or lost: $left_before ms before, '$left_after' after"
fi
pass
