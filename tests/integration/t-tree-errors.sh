#!/bin/bash
# tree-errors: a restart of a tree that fails leaves no process behind,
# even when it fails late (damaged memory of the last process, found after
# every process was created), and the undamaged image restores the tree.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree

start_bg "$PROGS/proctree" -d "$T" -w 3 -z 1 < /dev/null > "$T/proctree.out" 2> "$T/proctree.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready"
kids=$(cat /proc/"$pid"/task/*/children)
last=$(for k in $kids; do [ "$(proc_state "$k")" != Z ] && echo "$k"; done | sort -n | tail -1)

ckpt_ok "$pid" "$T/tree.tar.zst" --kill
for p in $pid $kids; do wait_gone "$p"; done
before=$(procs_in_test)

# Damage the last process's memory: restart finds it when all exist.
zstd -dcq "$T/tree.tar.zst" > "$T/plain.tar"
block=$(member_block "$T/tree.tar.zst" "proc/$last/pages/00000000")
[ -n "$block" ] || fail "no proc/$last/pages/00000000 member in the image"
flip_bytes "$T/plain.tar" $(((block + 1) * 512 + 3000)) 4
zstd_frames < "$T/plain.tar" > "$T/bad-pages.tar.zst"
expect_fail_msg "corrupt" "$RESTART" "$T/bad-pages.tar.zst" --detach
grep -q "proc/$last/pages/00000000" "$EXPECT_ERR" || fail "the error does not name the member: $(cat "$EXPECT_ERR")"
sleep 0.5
assert_no_new_procs "$before"
for p in $pid $kids; do
	proc_alive "$p" && fail "process $p of the tree is left after a failed restart"
done

# The undamaged image still restarts the whole tree.
for p in $pid $kids; do wait_gone "$p" 10; done
restart_detach "$T/tree.tar.zst"
for f in "$T"/root.log "$T"/worker-*.log; do assert_progress "$f"; done
pass
