#!/bin/bash
# libmigrate and process trees: migrate_checkpoint() of a process with a
# child is refused without MIGRATE_TREE (the child would be lost: ckpt
# --no-children), and with it saves both (the library's own helper left
# out: ckpt --from-inside); restarted, the parent finds its child still its
# child and both go on counting.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog migtree
export CKPT_BIN=$CKPT

start_bg "$PROGS/migtree" "$T/alone.tar.zst" alone > "$T/alone.log" 2> "$T/alone.err"
wait_gone "$BG_PID" 20
grep -q '^refused: .*children' "$T/alone.log" || fail "alone: not refused for its child: $(cat "$T/alone.log" "$T/alone.err")"
[ ! -e "$T/alone.tar.zst" ] || fail "alone: an image was left"
say "without MIGRATE_TREE: $(grep '^refused' "$T/alone.log")"

start_bg "$PROGS/migtree" "$T/tree.tar.zst" tree > "$T/tree.log" 2> "$T/tree.err"
pid=$BG_PID
wait_gone "$pid" 20
[ -s "$T/tree.tar.zst" ] || fail "tree: no image: $(cat "$T/tree.log" "$T/tree.err")"
timeout 30 "$CKPT" info "$T/tree.tar.zst" > "$T/info.out" 2>&1 || fail "ckpt info failed: $(cat "$T/info.out")"
grep -qi 'tree of 2 processes\|2 processes' "$T/info.out" || fail "the image is not a tree of 2: $(head -20 "$T/info.out")"
before=$(count_lines "$T/tree.log" '^child ')
restart_detach "$T/tree.tar.zst"
wait_for_line "$T/tree.log" '^restored$' 10
wait_for_line "$T/tree.log" '^tick 8$' 10
assert_no_corrupt "$T/tree.log"
[ "$(count_lines "$T/tree.log" '^child ')" -gt "$before" ] || fail "the child did not go on counting"
say "with MIGRATE_TREE: parent and child restored, $(grep -c '^child ' "$T/tree.log") child lines"
pass
