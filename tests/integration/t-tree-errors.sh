#!/bin/bash
# tree-errors: a restart of a tree that fails leaves no process behind,
# even when it fails late (damaged memory of the last process, found after
# every process was created), and the undamaged image restores the tree.
# A PID taken as the session of a process outside the image is named.
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

# A zombie of the tree that led a session a process outside the tree is
# still in (reparented when the leader exited): its PID names that session
# and is taken until it is empty.  restart says so, naming that process.
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
cat > "$T/zleader.py" <<'PY'
import os, sys, time
leader = os.fork()
if leader == 0:
    os.setsid()
    member = os.fork()
    if member == 0:
        time.sleep(100000)
    print(member, flush=True)
    os._exit(0)
open(sys.argv[1], "w").write("%d\n" % leader)
time.sleep(100000)	# the leader stays a zombie
PY
/usr/bin/python3 "$T/zleader.py" "$T/leader.pid" > "$T/zleader.out" 2>&1 &
zroot=$!
track_pid "$zroot"
wait_until 10 test -s "$T/zleader.out" || fail "zleader.py did not start"
wait_until 10 test -s "$T/leader.pid" || fail "zleader.py did not start"
member=$(cat "$T/zleader.out")
track_pid "$member"
ckpt_ok "$zroot" "$T/zleader.tar.zst" --kill
wait_gone "$zroot"
wait_gone "$(cat "$T/leader.pid")"	# (the zombie, reaped by init)
before=$(candidate_procs)
expect_fail_msg "the PID is in use, as the session of process $member" \
	"$RESTART" "$T/zleader.tar.zst" --detach
assert_no_new_procs "$before"
kill_wait "$member"
pass
