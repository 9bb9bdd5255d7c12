#!/bin/bash
# What ckpt refuses among namespace fds, pidfds, ptys and epoll watches,
# by name, leaving the process running: a pty whose slave a process outside
# the tree holds, a pidfd of its parent (outside the tree), a namespace fd of a
# namespace no longer the process's own, an epoll watching a pipe that only
# a child still holds; two children sharing their cwd and umask (CLONE_FS)
# without their parent; a pty's queues when ckpt lacks CAP_SYS_ADMIN.
# Said in a warning, not refused: an fd table (CLONE_FILES) two children
# share without their parent (t-tree-fdshare: with the parent).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog miscfd

n=0
while read -r mode msg; do
	n=$((n + 1))
	start_bg "$PROGS/miscfd" "refuse-$mode" > "$T/$n.log" 2> "$T/$n.err"
	pid=$BG_PID
	wait_for_line "$T/$n.log" '^ready$' 5
	expect_fail_msg "$msg" "$CKPT" "$pid" -o "$T/$n.tar.zst"
	[ -e "$T/$n.tar.zst" ] && fail "the refused ckpt left an image ($mode)"
	kill -USR1 "$pid"
	wait_for_line "$T/$n.log" '^ok$' 5
done <<'LIST'
pty its slave is open in a process outside the tree
pidfd pidfd of another process
ns not one of the process's own namespaces
epoll holds by no fd
clonefs shares its cwd, root and umask
LIST
# Siblings sharing an fd table (CLONE_FILES), their parent not, are not
# refused: one warning line says each comes back with a table of its own.
start_bg "$PROGS/miscfd" refuse-clonefiles > "$T/cf.log" 2> "$T/cf.err2"
pid=$BG_PID
wait_for_line "$T/cf.log" '^ready$' 5
"$CKPT" "$pid" -o "$T/cf.tar.zst" 2> "$T/cf.err" || fail "ckpt refused a CLONE_FILES child: $(cat "$T/cf.err")"
grep -q "shares its fd table with process" "$T/cf.err" || fail "no warning about the shared fd table"
kill -USR1 "$pid"
wait_for_line "$T/cf.log" '^ok$' 5
# Without CAP_SYS_ADMIN ckpt cannot give a pty's queues back (TIOCSTI):
# refused before they are read, the process finds them as they were.
if command -v setpriv > /dev/null && [ "$(id -u)" = 0 ]; then
	start_bg "$PROGS/miscfd" pty > "$T/q.log" 2> "$T/q.err" < /dev/null
	pid=$BG_PID
	wait_for_line "$T/q.log" '^ready$' 5
	expect_fail_msg "needs CAP_SYS_ADMIN" setpriv --inh-caps=-sys_admin \
		--bounding-set=-sys_admin "$CKPT" "$pid" -o "$T/q.tar.zst"
	kill -USR1 "$pid"
	wait_for_line "$T/q.log" '^ok$' 5
fi
pass
