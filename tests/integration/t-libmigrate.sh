#!/bin/bash
# libmigrate: a program checkpoints itself with migrate_checkpoint(...,
# MIGRATE_EXIT) at tick 5 and ends; restarted from that image, the call
# returns MIGRATE_RESTORED ("restored at tick 5") and counting goes on from
# tick 6 to 10, under the original PID.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog selfckpt

CKPT_BIN=$CKPT start_bg "$PROGS/selfckpt" "$T/self.tar.zst" 5 > "$T/self.log" 2> "$T/self.err"
pid=$BG_PID
export CKPT_BIN
wait_gone "$pid" 10
[ -s "$T/self.tar.zst" ] || fail "no image written: $(cat "$T/self.err")"
grep -q FAILED "$T/self.log" && fail "migrate_checkpoint failed: $(cat "$T/self.log" "$T/self.err")"
[ "$(last_tick "$T/self.log")" = 5 ] || fail "expected to stop at tick 5, log: $(cat "$T/self.log")"

restart_detach "$T/self.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_for_line "$T/self.log" '^restored at tick 5$' 10
wait_for_line "$T/self.log" '^tick 10$' 10
assert_no_corrupt "$T/self.log"
assert_ticks_consecutive "$T/self.log"
pass
