#!/bin/bash
# Linux native AIO contexts (io_setup) come back: each ring at its address
# with its size, head and tail, the completions waiting in it reaped after
# restart with their data, and the contexts go on taking requests
# (tests/progs/aioring checks all of it itself).  Once with --kill, once
# from a checkpoint the process survived (then killed), once in a tree
# whose child has a context of its own.  A child that
# inherited the rings through fork, without the contexts, is refused by
# name, and the process is unharmed.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog aioring

selfcheck aio "$PROGS/aioring" "$T/aio.dat"

start_bg "$PROGS/aioring" "$T/live.dat" > "$T/live.log" 2>&1
pid=$BG_PID
wait_for_line "$T/live.log" '^ready$' 10
ckpt_ok "$pid" "$T/live.tar.zst"
assert_running "$pid" "the process after its checkpoint"
kill_wait "$pid"
restart_detach "$T/live.tar.zst"
selfcheck_verdict live "$pid"
grep -qx PASS "$T/live.log" || fail "live: $(cat "$T/live.log")"
say "ok: from a checkpoint the process survived"

# A tree: a child with a context of its own, forked before the parent's.
selfcheck tree "$PROGS/aioring" "$T/tree.dat" tree

selfcheck_refused fork "has the ring mapped but not the context" \
	"$PROGS/aioring" "$T/fork.dat" fork
pass
