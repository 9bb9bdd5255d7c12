#!/bin/bash
# A schedule: a process whose memory keeps changing (dirtier, which checks
# every page itself) snapshotted 11 times with --full-every 11 --keep 3:
# one full image and a chain of 10 incrementals.  Rotation keeps the 3
# newest and every image they depend on (here all 11), never an orphan;
# the newest (a chain of 10 parents) restores to exactly the state a full
# image of the same instant gives; every kept snapshot restarts, and the
# ticks they start from grow with their age.  A second schedule with
# --full-every 3 shows rotation freeing a chain once a newer full image
# exists.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog dirtier

start_bg "$PROGS/dirtier" 16 -i 20 -d 8 > "$T/d.log" 2> "$T/d.err"
pid=$BG_PID
wait_tick "$T/d.log" 3
D=$T/snaps
for i in $(seq 1 11); do
	[ "$i" = 11 ] && kill -STOP "$pid"	# the last one and a full image: one instant
	timeout 30 "$CKPT" snapshot --pid "$pid" --dir "$D" --keep 3 --full-every 11 \
		2>> "$T/snap.log" < /dev/null || fail "snapshot $i failed: $(tail -3 "$T/snap.log")"
	[ "$i" = 11 ] || wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 2))
done
ckpt_ok "$pid" "$T/full.tar.zst"
kill -KILL "$pid"
wait_gone "$pid"
at=$(last_tick "$T/d.log")
log_size=$(stat -c %s "$T/d.log")
n=$(ls "$D"/dirtier-*.tar.zst | wc -l)
[ "$n" = 11 ] || fail "rotation left $n images, but the 3 newest depend on all 11: $(ls "$D")"
[ "$(grep -c ': full,' "$T/snap.log")" = 1 ] || fail "expected exactly one full snapshot: $(cat "$T/snap.log")"
[ "$(grep -c ': incremental on ' "$T/snap.log")" = 10 ] || fail "expected 10 incremental ones: $(cat "$T/snap.log")"

# The newest, through its 10 parents, against the full image of that instant.
truncate -s "$log_size" "$T/d.log"
restart_detach "$D" -v
grep -q '10 parent images' "$T/restart.$_RESTART_N.err" || fail "restart DIR did not follow 10 parents: $(grep -i parent "$T/restart.$_RESTART_N.err")"
kill -CONT "$pid"
wait_tick "$T/d.log" $((at + 3))
kill_wait "$pid"
grep -E "^tick $((at + 3)) " "$T/d.log" > "$T/chain.tick"
truncate -s "$log_size" "$T/d.log"
restart_detach "$T/full.tar.zst"
kill -CONT "$pid"
wait_tick "$T/d.log" $((at + 3))
kill_wait "$pid"
grep -E "^tick $((at + 3)) " "$T/d.log" > "$T/full.tick"
[ -s "$T/chain.tick" ] && cmp -s "$T/chain.tick" "$T/full.tick" ||
	fail "a chain of 10 and the full image differ: '$(cat "$T/chain.tick")' vs '$(cat "$T/full.tick")'"
say "chain of 10 = full image: $(cat "$T/chain.tick")"

# Every kept snapshot restarts; older ones start from earlier ticks.
prev=0
for img in $(ls "$D"/dirtier-*.tar.zst | sort); do
	: > "$T/d.log"
	restart_detach "$img"
	kill -CONT "$pid" 2> /dev/null
	# (it writes at its old offset: the emptied log has a hole before it)
	wait_until 10 sh -c "tr -d '\\000' < '$T/d.log' | grep -q '^tick '" ||
		fail "no tick after restarting $(basename "$img")"
	first=$(tr -d '\000' < "$T/d.log" | awk '/^tick / { print $2; exit }')
	kill_wait "$pid"
	assert_no_corrupt "$T/d.log"
	[ "$first" -ge "$prev" ] || fail "$(basename "$img") starts at tick $first, before the older one ($prev)"
	prev=$first
done
say "all 11 snapshots restart; first ticks grow with their age (last $prev)"

# --full-every 3 --keep 2: full, inc, inc, full, inc: the first chain goes.
start_bg "$PROGS/dirtier" 4 -i 20 > "$T/e.log" 2> "$T/e.err"
wait_tick "$T/e.log" 2
E=$T/snaps2
for i in 1 2 3 4 5; do
	timeout 30 "$CKPT" snapshot --pid "$BG_PID" --dir "$E" --keep 2 --full-every 3 \
		2>> "$T/snap2.log" < /dev/null || fail "snapshot $i failed: $(tail -3 "$T/snap2.log")"
	wait_tick "$T/e.log" $(($(last_tick "$T/e.log") + 2))
done
n=$(ls "$E"/dirtier-*.tar.zst | wc -l)
[ "$n" = 2 ] || fail "after full, inc, inc, full, inc with --keep 2: $n images: $(ls "$E")"
timeout 60 "$CKPT" check "$(ls "$E"/dirtier-*.tar.zst | sort | tail -1)" --any-pid > "$T/check.out" 2>&1 ||
	fail "the newest of the second schedule does not check: $(cat "$T/check.out")"
pass
