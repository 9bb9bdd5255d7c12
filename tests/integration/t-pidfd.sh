#!/bin/bash
# pidfds: of the process itself (PIDFD_NONBLOCK, PIDFD_THREAD) and of its
# second thread (and a dup of that one) they reach the restored process; of dead children (reaped before the checkpoint)
# they are dead again, one inode per child, a dup sharing its file.
# pidfds of processes of the tree (a child, a grandchild, the parent in the
# child, inherited by the grandchild) name them again and reach them;
# pidfds of one dead process in two processes are of one inode again.
# tests/progs/miscfd checks them itself after restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog miscfd

start_bg "$PROGS/miscfd" pidfd > "$T/m.log" 2> "$T/m.err"
pid=$BG_PID
wait_for_line "$T/m.log" '^ready$' 5
ckpt_ok "$pid" "$T/m.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/m.tar.zst"
kill -USR1 "$pid"
wait_for_line "$T/m.log" '^ok$' 5

start_bg "$PROGS/miscfd" pidfd-tree > "$T/t.log" 2> "$T/t.err"
pid=$BG_PID
wait_for_line "$T/t.log" '^ready$' 5
ckpt_ok "$pid" "$T/t.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/t.tar.zst"
kill -USR1 "$pid"
wait_for_line "$T/t.log" '^ok$' 5
pass
