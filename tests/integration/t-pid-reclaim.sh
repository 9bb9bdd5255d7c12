#!/bin/bash
# Without --any-pid, restart reclaims the original PID, and does so again
# when the same image is restarted a second time after the first copy died.
# With --any-pid it takes another PID while the original PID is busy.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 5
ckpt_ok "$pid" "$T/counter.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/counter.log")

for round in 1 2; do
	restart_detach "$T/counter.tar.zst"
	[ "$RESTORED_PID" = "$pid" ] || fail "round $round: restored as PID $RESTORED_PID, expected $pid"
	wait_tick "$T/counter.log" $((before + 5))
	# Each round rewrites the same lines from the same offset.
	assert_ticks_consecutive "$T/counter.log" $((before + 5))
	if [ "$round" = 1 ]; then
		kill_wait "$pid"
	fi
done

# The original PID is in use now: --any-pid goes elsewhere.
# (Both copies now write into counter.log; it is not checked any more.)
restart_detach "$T/counter.tar.zst" --any-pid
[ "$RESTORED_PID" != "$pid" ] || fail "--any-pid restored under the busy PID $pid"
assert_running "$pid" "the copy holding the original PID"
say "--any-pid copy is PID $RESTORED_PID"
pass
