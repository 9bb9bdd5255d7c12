#!/bin/bash
# Incremental images: `ckpt --parent PREV` stores only the pages that changed
# (content hashes), so a chain full <- inc1 <- inc2 of a 64 MiB process that
# rewrites a few pages per tick is small after the first; restart of the
# last image follows the chain (parents found by id in the same directory),
# and the process comes back byte-identical to a full image of the same
# instant: both restored copies print the same checksums from then on, and
# the program checks every page itself.  A missing parent is refused before
# anything starts; ckpt check follows the chain.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog dirtier

start_bg "$PROGS/dirtier" 64 -i 50 -d 16 > "$T/d.log" 2> "$T/d.err"
pid=$BG_PID
wait_tick "$T/d.log" 3
ckpt_ok "$pid" "$T/full.tar.zst"
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
ckpt_ok "$pid" "$T/inc1.tar.zst" --parent "$T/full.tar.zst"
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
# Stopped, the process cannot change between the last two images.
kill -STOP "$pid"
ckpt_ok "$pid" "$T/inc2.tar.zst" --parent "$T/inc1.tar.zst" -v
grep -q 'unchanged since the parent' "$T/ckpt.err" || fail "ckpt -v says nothing of the parent: $(cat "$T/ckpt.err")"
ckpt_ok "$pid" "$T/same.tar.zst"
kill -KILL "$pid"
wait_gone "$pid"
at=$(last_tick "$T/d.log")
log_size=$(stat -c %s "$T/d.log")
full=$(stat -c %s "$T/full.tar.zst") inc1=$(stat -c %s "$T/inc1.tar.zst") inc2=$(stat -c %s "$T/inc2.tar.zst")
say "full $full bytes, inc1 $inc1, inc2 $inc2 (stopped at tick $at)"
[ $((inc1 * 8)) -lt "$full" ] || fail "inc1 ($inc1 bytes) is not much smaller than the full image ($full)"
[ $((inc2 * 8)) -lt "$full" ] || fail "inc2 ($inc2 bytes) is not much smaller than the full image ($full)"

timeout 60 "$CKPT" check "$T/inc2.tar.zst" > "$T/check.out" 2>&1 || fail "ckpt check of the chain failed: $(cat "$T/check.out")"

# The chain and the full image of the same instant restore alike.
# (its stdout, d.log, is reopened at its offset: each copy goes on from there)
truncate -s "$log_size" "$T/d.log"
restart_detach "$T/inc2.tar.zst" -v
grep -q '2 parent images' "$T/restart.$_RESTART_N.err" || fail "restart did not follow 2 parents: $(cat "$T/restart.$_RESTART_N.err")"
kill -CONT "$pid"	# it was stopped when checkpointed
wait_tick "$T/d.log" $((at + 5))
kill_wait "$pid"
cp "$T/d.log" "$T/r1.log"
truncate -s "$log_size" "$T/d.log"
restart_detach "$T/same.tar.zst"
kill -CONT "$pid"
wait_tick "$T/d.log" $((at + 5))
kill_wait "$pid"
cp "$T/d.log" "$T/r2.log"
assert_ticks_consecutive "$T/r2.log" $((at + 5))
for f in r1 r2; do
	assert_no_corrupt "$T/$f.log"
	grep -E "^tick $((at + 5)) " "$T/$f.log" > "$T/$f.tick"
done
[ -s "$T/r1.tick" ] && cmp -s "$T/r1.tick" "$T/r2.tick" ||
	fail "the chain and the full image differ: '$(cat "$T/r1.tick")' vs '$(cat "$T/r2.tick")'"
say "chain and full image both at: $(cat "$T/r1.tick")"

# A missing parent: refused before anything starts.
mkdir "$T/away"
mv "$T/inc1.tar.zst" "$T/away/"
before=$(candidate_procs)
expect_fail_msg "finding parent image" "$RESTART" "$T/inc2.tar.zst" --detach
assert_no_new_procs "$before"
timeout 60 "$CKPT" check "$T/inc2.tar.zst" > "$T/check2.out" 2>&1 && fail "ckpt check passed without a parent"
grep -q '^FAIL.*parent image' "$T/check2.out" || fail "ckpt check does not name the missing parent: $(cat "$T/check2.out")"
# A parent of another process is refused at dump.
start_bg "$PROGS/dirtier" 4 -i 50 > "$T/o.log" 2>&1
expect_fail_msg "another process" "$CKPT" "$BG_PID" -o "$T/x.tar.zst" --parent "$T/full.tar.zst"
kill_wait "$BG_PID"

# A process tree: each process's pages against its own in the parent image.
if [ -x "$PROGS/proctree" ]; then
	mkdir "$T/tree"
	start_bg "$PROGS/proctree" -d "$T/tree" -w 2 -m < /dev/null > "$T/tree.out" 2>&1
	root=$BG_PID
	wait_until 10 test -e "$T/tree/ready" || fail "proctree did not get ready"
	wait_tick "$T/tree/root.log" 3
	ckpt_ok "$root" "$T/tree/full.tar.zst"
	wait_tick "$T/tree/root.log" $(($(last_tick "$T/tree/root.log") + 3))
	ckpt_ok "$root" "$T/tree/inc.tar.zst" --parent "$T/tree/full.tar.zst" --kill -v
	grep -q 'unchanged since the parent' "$T/ckpt.err" || fail "tree: nothing taken from the parent: $(cat "$T/ckpt.err")"
	wait_gone "$root"
	declare -A before
	for f in "$T"/tree/*.log; do before[$f]=$(last_tick "$f"); done
	restart_detach "$T/tree/inc.tar.zst"
	for f in "$T"/tree/*.log; do
		wait_tick "$f" $((${before[$f]} + 5))
		assert_ticks_consecutive "$f"
	done
	say "tree of $(ls "$T"/tree/*.log | wc -l) processes restored from an incremental image"
fi
pass
