#!/bin/bash
# A pty whose fds several processes of a tree hold (tests/progs/miscfd
# pty-tree): the master only in a child (inherited, and a dup), the slave in
# the parent (its controlling terminal) and the child; raw settings, window
# size, data the child wrote for the slave to read.  Restored as one pty,
# made by the parent before the child exists: the parent reads the data
# and its window size, /dev/tty is its slave, and what it writes reaches
# the child's master.  Then controlling terminals that no fd holds
# (pty-ctty): a session leader's whose master it holds, and its child's
# (a session leader too) whose master only the parent holds: both are the
# terminal again (the child is hung up when the parent closes the master).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog miscfd

start_bg "$PROGS/miscfd" pty-tree > "$T/a.log" 2> "$T/a.err" < /dev/null
pid=$BG_PID
wait_for_line "$T/a.log" '^ready$' 5
ckpt_ok "$pid" "$T/m.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/m.tar.zst"
kill -USR1 "$pid"
wait_for_line "$T/a.log" '^ok$' 5

start_bg "$PROGS/miscfd" pty-ctty > "$T/c.log" 2> "$T/c.err" < /dev/null
pid=$BG_PID
wait_for_line "$T/c.log" '^ready$' 5
ckpt_ok "$pid" "$T/c.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/c.tar.zst"
kill -USR1 "$pid"
wait_for_line "$T/c.log" '^ok$' 5
pass
