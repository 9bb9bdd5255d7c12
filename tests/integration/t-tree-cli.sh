#!/bin/bash
# tree-cli: ckpt --no-children refuses a process with children (naming
# them) and leaves the tree as it was; ckpt without --kill leaves the whole
# tree running; ckpt info shows the tree; ckpt --kill ends every process
# of it; the image restarts the whole tree.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree

start_bg "$PROGS/proctree" -d "$T" -w 2 -z 3 < /dev/null > "$T/proctree.out" 2> "$T/proctree.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready"
wait_tick "$T/root.log" 3
kids=$(cat /proc/"$pid"/task/*/children)

expect_fail_msg "children that would not be saved" "$CKPT" "$pid" -o "$T/alone.tar.zst" --no-children
grep -q -- "--no-children" "$EXPECT_ERR" || fail "the refusal gives no hint: $(cat "$EXPECT_ERR")"
[ ! -e "$T/alone.tar.zst" ] || fail "a refused ckpt left an image"
for f in "$T"/root.log "$T"/worker-*.log; do assert_progress "$f"; done

# Live: every process goes on.
ckpt_ok "$pid" "$T/live.tar.zst"
for p in $pid $kids; do [ -e "/proc/$p" ] || fail "process $p is gone after ckpt without --kill"; done
for f in "$T"/root.log "$T"/worker-*.log; do assert_progress "$f"; done
assert_no_corrupt "$T"/*.log
"$CKPT" info "$T/live.tar.zst" > "$T/info.out" || fail "ckpt info failed"
grep -q "^Process tree: 4 processes" "$T/info.out" || fail "ckpt info shows no tree: $(head -20 "$T/info.out")"
grep -q "zombie (exit status 3)" "$T/info.out" || fail "ckpt info does not show the zombie"

# --kill: all of them end.
ckpt_ok "$pid" "$T/tree.tar.zst" --kill
for p in $pid $kids; do wait_gone "$p"; done
declare -A before
for f in "$T"/root.log "$T"/worker-*.log; do before[$f]=$(last_tick "$f"); done
restart_detach "$T/tree.tar.zst"
for f in "$T"/root.log "$T"/worker-*.log; do
	wait_tick "$f" $((${before[$f]} + 5))
	assert_ticks_consecutive "$f"
done
pass
