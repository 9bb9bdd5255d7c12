#!/bin/bash
# ckpt merge: a chain full <- inc1 <- inc2 <- inc3 of a process whose memory
# changes a little every tick (dirtier checks every page itself and prints a
# checksum of all of it) is folded into one full image.  With every parent
# deleted, the merged image restarts exactly as the chain does: both copies
# print the same checksum at the same tick.  The merged image keeps inc3's
# image_id, so inc4 (taken with inc3 as parent) restarts against it alone;
# merged in place over inc3 (-o inc3), the parents can go.  A damaged or
# missing parent: merge refuses clearly and writes nothing.  ckpt snapshot
# --merge-old folds a kept snapshot whose parents the policy drops.  A tree
# image merges too (each process from its own pages in the parents).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog dirtier

"$CKPT" merge --help | grep -q 'image_id' || fail "ckpt merge --help says nothing of the image id"
rc=0; "$CKPT" merge 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "ckpt merge without IMAGE exits $rc, not 2 (usage)"

mkdir "$T/chain"
C=$T/chain
start_bg "$PROGS/dirtier" 32 -i 50 -d 16 > "$T/d.log" 2> "$T/d.err"
pid=$BG_PID
wait_tick "$T/d.log" 3
ckpt_ok "$pid" "$C/full.tar.zst"
prev=full
for i in 1 2; do
	wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
	ckpt_ok "$pid" "$C/inc$i.tar.zst" --parent "$C/$prev.tar.zst"
	prev=inc$i
done
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
# Stopped: inc3 and inc4 are of the same instant.
kill -STOP "$pid"
ckpt_ok "$pid" "$C/inc3.tar.zst" --parent "$C/inc2.tar.zst"
ckpt_ok "$pid" "$C/inc4.tar.zst" --parent "$C/inc3.tar.zst"
kill -KILL "$pid"
wait_gone "$pid"
at=$(last_tick "$T/d.log")
log_size=$(stat -c %s "$T/d.log")

# Merge inc3 into a directory of its own: no parent beside it.
mkdir "$T/solo"
timeout 120 "$CKPT" merge "$C/inc3.tar.zst" -o "$T/solo/merged.tar.zst" -v > "$T/merge.out" 2> "$T/merge.err" ||
	fail "ckpt merge failed: $(cat "$T/merge.err")"
grep -q '3 parent images' "$T/merge.err" || fail "merge did not follow 3 parents: $(cat "$T/merge.err")"
"$CKPT" info --json "$T/solo/merged.tar.zst" > "$T/info.m" 2>&1 || fail "ckpt info of the merged image: $(cat "$T/info.m")"
"$CKPT" info --json "$C/inc3.tar.zst" > "$T/info.3" 2>&1 || fail "ckpt info of inc3: $(cat "$T/info.3")"
grep -qE '"parent_id": "[0-9a-f]{32}"' "$T/info.3" || fail "ckpt info does not show inc3's parent_id"
grep -qE '"parent_id": "[0-9a-f]+"' "$T/info.m" && fail "the merged image still names a parent"
grep -m1 -oE '"image_id": "[0-9a-f]{32}"' "$T/info.3" > "$T/id.3"
grep -m1 -oE '"image_id": "[0-9a-f]{32}"' "$T/info.m" > "$T/id.m"
{ [ -s "$T/id.3" ] && cmp -s "$T/id.3" "$T/id.m"; } || fail "merged image_id differs: $(cat "$T/id.3") vs $(cat "$T/id.m")"
# No version 2 chunk left: a chunk parse against no parent would fail.
timeout 60 "$CKPT" check "$T/solo/merged.tar.zst" > "$T/check.out" 2>&1
grep -q '^OK.*image complete and undamaged' "$T/check.out" || fail "ckpt check of the merged image: $(cat "$T/check.out")"

# The chain and the merged image restore alike.
truncate -s "$log_size" "$T/d.log"
restart_detach "$C/inc3.tar.zst"
kill -CONT "$RESTORED_PID"
wait_tick "$T/d.log" $((at + 5))
kill_wait "$RESTORED_PID"
cp "$T/d.log" "$T/r1.log"
truncate -s "$log_size" "$T/d.log"
restart_detach "$T/solo/merged.tar.zst" -v
grep -q 'parent image' "$T/restart.$_RESTART_N.err" && fail "restart of the merged image looked for parents: $(cat "$T/restart.$_RESTART_N.err")"
kill -CONT "$RESTORED_PID"
wait_tick "$T/d.log" $((at + 5))
kill_wait "$RESTORED_PID"
cp "$T/d.log" "$T/r2.log"
assert_ticks_consecutive "$T/r2.log" $((at + 5))
for f in r1 r2; do
	assert_no_corrupt "$T/$f.log"
	grep -E "^tick $((at + 5)) " "$T/$f.log" > "$T/$f.tick"
done
{ [ -s "$T/r1.tick" ] && cmp -s "$T/r1.tick" "$T/r2.tick"; } ||
	fail "the chain and the merged image differ: '$(cat "$T/r1.tick")' vs '$(cat "$T/r2.tick")'"
say "chain and merged image both at: $(cat "$T/r1.tick")"

# A child of inc3 restarts against the merged image alone.
cp "$C/inc4.tar.zst" "$T/solo/"
truncate -s "$log_size" "$T/d.log"
restart_detach "$T/solo/inc4.tar.zst" -v
grep -q '1 parent image' "$T/restart.$_RESTART_N.err" || fail "inc4 did not restart against the merged parent: $(cat "$T/restart.$_RESTART_N.err")"
kill -CONT "$RESTORED_PID"
wait_tick "$T/d.log" $((at + 5))
kill_wait "$RESTORED_PID"
assert_no_corrupt "$T/d.log"
grep -E "^tick $((at + 5)) " "$T/d.log" > "$T/r3.tick"
cmp -s "$T/r1.tick" "$T/r3.tick" || fail "inc4 on the merged parent differs: '$(cat "$T/r3.tick")'"

# A damaged parent: refused, nothing written.  A missing one too.
mkdir "$T/bad"
cp "$C"/*.tar.zst "$T/bad/"
size=$(stat -c %s "$T/bad/inc1.tar.zst")
flip_bytes "$T/bad/inc1.tar.zst" $((size / 2)) 64
expect_fail_msg "parent image $T/bad/inc1.tar.zst" "$CKPT" merge "$T/bad/inc3.tar.zst" -o "$T/bad/out.tar.zst"
[ -e "$T/bad/out.tar.zst" ] && fail "a failed merge left $T/bad/out.tar.zst"
[ -z "$(find "$T/bad" -name '.*' -type f)" ] || fail "a failed merge left a hidden file: $(ls -A "$T/bad")"
rm "$T/bad/inc1.tar.zst"
expect_fail_msg "finding parent image" "$CKPT" merge "$T/bad/inc3.tar.zst" -o "$T/bad/out.tar.zst"
[ -e "$T/bad/out.tar.zst" ] && fail "a failed merge left $T/bad/out.tar.zst"

# In place: merge inc3 over itself, delete its parents, inc4 still restarts.
timeout 120 "$CKPT" merge "$C/inc3.tar.zst" -o "$C/inc3.tar.zst" 2> "$T/merge2.err" ||
	fail "ckpt merge in place failed: $(cat "$T/merge2.err")"
rm "$C/full.tar.zst" "$C/inc1.tar.zst" "$C/inc2.tar.zst"
truncate -s "$log_size" "$T/d.log"
restart_detach "$C/inc4.tar.zst"
kill -CONT "$RESTORED_PID"
wait_tick "$T/d.log" $((at + 5))
kill_wait "$RESTORED_PID"
assert_no_corrupt "$T/d.log"
grep -E "^tick $((at + 5)) " "$T/d.log" > "$T/r4.tick"
cmp -s "$T/r1.tick" "$T/r4.tick" || fail "inc4 after an in-place merge differs: '$(cat "$T/r4.tick")'"

# To standard output.
"$CKPT" merge "$C/inc4.tar.zst" -o - > "$T/stdout.tar.zst" 2> "$T/merge3.err" || fail "merge -o -: $(cat "$T/merge3.err")"
"$CKPT" info "$T/stdout.tar.zst" > /dev/null 2>&1 || fail "merge -o - wrote no valid image"

# ckpt snapshot --merge-old --keep 1: incremental snapshots, each folded so
# that exactly one image remains, full, and the next is incremental on it.
S=$T/snaps
start_bg "$PROGS/dirtier" 16 -i 50 -d 16 > "$T/s.log" 2> "$T/s.err"
spid=$BG_PID
wait_tick "$T/s.log" 3
for i in 1 2 3 4; do
	wait_tick "$T/s.log" $(($(last_tick "$T/s.log") + 2))
	timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" snapshot --pid "$spid" --dir "$S" --keep 1 --full-every 10 \
		--merge-old -v > "$T/snap.out" 2> "$T/snap.err" < /dev/null || fail "snapshot $i failed: $(cat "$T/snap.err")"
	n=$(find "$S" -name '*.tar.zst' | wc -l)
	[ "$n" = 1 ] || fail "after snapshot $i with --merge-old --keep 1, $n images remain: $(ls "$S")"
	if [ "$i" -gt 1 ]; then
		grep -q 'incremental on' "$T/snap.err" || fail "snapshot $i is not incremental: $(cat "$T/snap.err")"
		grep -q 'folded .* into a full image' "$T/snap.err" || fail "snapshot $i was not folded: $(cat "$T/snap.err")"
	fi
	"$CKPT" info --json "$S"/*.tar.zst > "$T/sinfo" 2>&1 || fail "ckpt info: $(cat "$T/sinfo")"
	grep -qE '"parent_id": "[0-9a-f]+"' "$T/sinfo" && fail "the kept snapshot $i still has a parent"
done
kill_wait "$spid"
sat=$(last_tick "$T/s.log")
restart_detach "$S"
wait_tick "$T/s.log" $((sat + 5))
kill_wait "$RESTORED_PID"
assert_no_corrupt "$T/s.log"
say "--merge-old: $(ls "$S")"

# A process tree: each process's pages from its own in the parents.
if [ -x "$PROGS/proctree" ]; then
	mkdir -p "$T/tree/m"
	start_bg "$PROGS/proctree" -d "$T/tree" -w 2 -m < /dev/null > "$T/tree.out" 2>&1
	root=$BG_PID
	wait_until 10 test -e "$T/tree/ready" || fail "proctree did not get ready"
	wait_tick "$T/tree/root.log" 3
	ckpt_ok "$root" "$T/tree/full.tar.zst"
	wait_tick "$T/tree/root.log" $(($(last_tick "$T/tree/root.log") + 3))
	ckpt_ok "$root" "$T/tree/inc.tar.zst" --parent "$T/tree/full.tar.zst" --kill
	wait_gone "$root"
	timeout 120 "$CKPT" merge "$T/tree/inc.tar.zst" -o "$T/tree/m/merged.tar.zst" 2> "$T/tmerge.err" ||
		fail "merge of a tree image failed: $(cat "$T/tmerge.err")"
	declare -A before
	for f in "$T"/tree/*.log; do before[$f]=$(last_tick "$f"); done
	restart_detach "$T/tree/m/merged.tar.zst"
	for f in "$T"/tree/*.log; do
		wait_tick "$f" $((${before[$f]} + 5))
		assert_ticks_consecutive "$f"
	done
	say "tree of $(find "$T"/tree -maxdepth 1 -name '*.log' | wc -l) processes restored from a merged image"
fi
pass
