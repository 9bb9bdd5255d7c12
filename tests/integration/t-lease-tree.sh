#!/bin/bash
# lease-tree: a write lease being broken, set by a parent that was sent its
# break signal and then closed its fd, held by its child: after restart
# the lease is still being broken in the child, and the parent (the
# file's owner) gets no second break signal.  restart breaks such a lease
# again to make it so, and the owner used to get the signal of that break
# (zdtm file_lease04: "ghost signal").
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog leasetree

start_bg "$PROGS/leasetree" "$T/leased" > "$T/lease.log" 2>&1
pid=$BG_PID
wait_for_line "$T/lease.log" '^ready$' 10
ckpt_ok "$pid" "$T/lease.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/lease.tar.zst"
kill -USR1 "$pid"
wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/lease.log" || fail "no verdict: $(cat "$T/lease.log")"
grep -qx PASS "$T/lease.log" || fail "$(cat "$T/lease.log")"
pass
