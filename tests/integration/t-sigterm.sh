#!/bin/bash
# restart in the foreground forwards SIGTERM and SIGINT to the restored
# process (whose handler prints "signal N at tick M" and exits 5) and exits
# with its status; a process killed by SIGTERM makes restart exit 128+15.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

# run_and_signal IMAGE LOG SIGNAL: restart IMAGE in the foreground (as a
# background job of this shell), wait until it counts, send SIGNAL to
# restart; leaves restart's exit status in RC.
run_and_signal() {
	local img=$1 log=$2 sig=$3 from rpid
	from=$(last_tick "$log")
	start_bg "$RESTART" "$img" > "$T/restart-$sig.out" 2> "$T/restart-$sig.err"
	rpid=$BG_PID
	wait_tick "$log" $((from + 5))
	assert_running "$pid" "restored"
	kill -"$sig" "$rpid"
	wait_until 10 proc_dead "$rpid" || fail "restart did not end after SIG$sig"
	wait "$rpid"
	RC=$?
	wait_gone "$pid"
}

start_bg "$PROGS/counter" -f "$T/counter.map" -T 5 > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 5
ckpt_ok "$pid" "$T/handler.tar.zst" --kill
wait_gone "$pid"

run_and_signal "$T/handler.tar.zst" "$T/counter.log" TERM
[ "$RC" = 5 ] || fail "after SIGTERM restart exited $RC, expected the handler's 5: $(cat "$T/restart-TERM.err")"
grep -q '^signal 15 at tick ' "$T/counter.log" || fail "the restored process's SIGTERM handler did not run"

# Same image again (the PID is free again): SIGINT.
run_and_signal "$T/handler.tar.zst" "$T/counter.log" INT
[ "$RC" = 5 ] || fail "after SIGINT restart exited $RC, expected the handler's 5: $(cat "$T/restart-INT.err")"
grep -q '^signal 2 at tick ' "$T/counter.log" || fail "the restored process's SIGINT handler did not run"

# No handler: the process dies of SIGTERM, restart reports 128+15.
start_bg "$PROGS/counter" -f "$T/plain.map" > "$T/plain.log" 2> "$T/plain.err"
pid=$BG_PID
wait_tick "$T/plain.log" 5
ckpt_ok "$pid" "$T/plain.tar.zst" --kill
wait_gone "$pid"
run_and_signal "$T/plain.tar.zst" "$T/plain.log" TERM
[ "$RC" = 143 ] || fail "process killed by SIGTERM: restart exited $RC, expected 143"
pass
