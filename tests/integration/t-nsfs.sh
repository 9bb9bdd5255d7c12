#!/bin/bash
# Namespace fds: /proc/self/ns/net, uts and pid_for_children held open
# come back on the process's own namespaces (restart runs in the same
# ones), with their close-on-exec flags.  tests/progs/miscfd checks them
# itself after restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog miscfd

start_bg "$PROGS/miscfd" nsfs > "$T/m.log" 2> "$T/m.err"
pid=$BG_PID
wait_for_line "$T/m.log" '^ready$' 5
ckpt_ok "$pid" "$T/m.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/m.tar.zst"
kill -USR1 "$pid"
wait_for_line "$T/m.log" '^ok$' 5
pass
