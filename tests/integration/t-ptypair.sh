#!/bin/bash
# Pty pairs the process holds itself (tests/progs/miscfd pty): a pair whose
# slave is the controlling terminal of the session the process leads (with
# /dev/tty open), its settings, window size and both queues (an unfinished
# line too); a pair in packet mode, locked; a master alone, never unlocked;
# a slave whose master was closed.  Checkpointed live first: the process
# must find all of it as it was (the queues are read and given back), then
# killed and restarted from that image: the same again.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog miscfd

# Its stdout a pipe: restart gives it another one (--stdout).
start_bg "$PROGS/miscfd" pty > >(cat > "$T/a.log") 2> "$T/a.err" < /dev/null
pid=$BG_PID
wait_for_line "$T/a.log" '^ready$' 5
ckpt_ok "$pid" "$T/m.tar.zst"
kill -USR1 "$pid"
wait_for_line "$T/a.log" '^ok$' 5
wait_gone "$pid"
restart_detach "$T/m.tar.zst" --stdout "$T/b.log"
kill -USR1 "$pid"
wait_for_line "$T/b.log" '^ok$' 5
pass
