#!/bin/bash
# libmigrate: a program checkpoints itself with migrate_checkpoint(...,
# MIGRATE_EXIT) at tick 5 and ends; restarted from that image, the call
# returns MIGRATE_RESTORED ("restored at tick 5") and counting goes on from
# tick 6 to 10, under the original PID.  With MIGRATE_BUNDLE the image
# carries the program, and the restart works once it is deleted.
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

# MIGRATE_BUNDLE: the image carries the program, which may be gone then.
cp "$PROGS/selfckpt" "$T/selfckpt"
CKPT_BIN=$CKPT start_bg "$T/selfckpt" "$T/b.tar.zst" 5 bundle > "$T/b.log" 2> "$T/b.err"
pid=$BG_PID
wait_gone "$pid" 10
grep -q FAILED "$T/b.log" && fail "migrate_checkpoint(MIGRATE_BUNDLE) failed: $(cat "$T/b.log" "$T/b.err")"
tar --zstd -tf "$T/b.tar.zst" | grep -qx "files/$(sha256sum < "$T/selfckpt" | cut -d' ' -f1)" ||
	fail "MIGRATE_BUNDLE: the program is not in the image"
rm -f "$T/selfckpt"
XDG_CACHE_HOME=$T/cache restart_detach "$T/b.tar.zst"
wait_for_line "$T/b.log" '^tick 10$' 10
assert_ticks_consecutive "$T/b.log"
pass
