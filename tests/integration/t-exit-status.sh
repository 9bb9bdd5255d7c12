#!/bin/bash
# restart in the foreground waits for the restored process and exits with
# its exit status: counter exits 7 after tick 30.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" -f "$T/counter.map" -n 30 -s 7 > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 5
ckpt_ok "$pid" "$T/counter.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/counter.log")
[ "$before" -lt 30 ] || fail "counter reached 30 before the checkpoint"

timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" "$T/counter.tar.zst" > "$T/restart.out" 2> "$T/restart.err"
rc=$?
track_pid "$pid"
[ "$rc" != 124 ] || fail "restart did not return within ${CKPT_TIMEOUT}s"
[ "$rc" = 7 ] || fail "restart exited $rc, expected the program's 7: $(cat "$T/restart.err")"
assert_ticks_consecutive "$T/counter.log" 30
[ "$(last_tick "$T/counter.log")" = 30 ] || fail "last tick is $(last_tick "$T/counter.log"), expected 30"
wait_gone "$pid"
say "resumed at tick $((before + 1)), exited 7 at tick 30"
pass
