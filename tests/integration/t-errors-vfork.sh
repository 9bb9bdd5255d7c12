#!/bin/bash
# A vfork parent (waiting in vfork) and its child (running on the parent's
# memory) are refused by name once ckpt has waited a second for the child
# to exec; both are left running as they were.  A child that execs within
# that second (as most do) is waited for: the checkpoint succeeds.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog vforker

start_bg "$PROGS/vforker" 20 > "$T/v.log" 2> "$T/v.err"
wait_for_line "$T/v.log" '^parent [0-9]+ child [0-9]+$' 10
read -r _ parent _ child < "$T/v.log"
track_pid "$child"
expect_fail_msg "in vfork" "$CKPT" "$parent" -o "$T/p.tar.zst"
expect_fail_msg "vfork child" "$CKPT" "$child" -o "$T/c.tar.zst"
if [ -e "$T/p.tar.zst" ] || [ -e "$T/c.tar.zst" ]; then fail "an image was left behind"; fi
assert_not_stopped "$parent"
assert_not_stopped "$child"

# The child execs 0.5 s after vfork: ckpt, started at once, waits for it.
start_bg "$PROGS/vforker" 5 exec > "$T/e.log" 2> "$T/e.err"
wait_for_line "$T/e.log" '^parent [0-9]+ child [0-9]+$' 10
read -r _ parent _ child < "$T/e.log"
track_pid "$child"
ckpt_ok "$parent" "$T/e.tar.zst"
assert_not_stopped "$parent"
[ "$(proc_comm "$child")" = sleep ] || fail "the vfork child did not exec"
pass
