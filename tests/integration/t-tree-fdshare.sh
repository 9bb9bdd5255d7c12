#!/bin/bash
# tree-fdshare: processes made with clone(CLONE_FILES) share one fd table.
# Exec would give a restored process a table of its own: restart forks
# each that shares its parent's from the restored parent with
# clone3(CLONE_FILES) instead, a parent before its children, so an fd one
# opens (dup2) is the others' too after restart, while a forked child
# (its own copy of the table, itself forked from a forked parent) keeps
# its own.  fdshare checks all of it every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog fdshare

mkdir -p "$T/s"
start_bg "$PROGS/fdshare" -d "$T/s" < /dev/null > "$T/s.out" 2> "$T/s.err"
pid=$BG_PID
wait_until 10 test -e "$T/s/ready" || fail "fdshare did not get ready: $(cat "$T/s.err")"
wait_tick "$T/s/grandkid.log" 3
kids=$(cat /proc/"$pid"/task/*/children)
grandkids=$(for k in $kids; do cat /proc/"$k"/task/*/children; done)
all="$pid $kids $grandkids"
[ "$(echo $all | wc -w)" = 4 ] || fail "expected 4 processes, got: $all"

ckpt_ok "$pid" "$T/fd.tar.zst" --kill
grep -q "CLONE_FILES" "$T/ckpt.err" && fail "ckpt warned about the shared table: $(cat "$T/ckpt.err")"
for p in $all; do wait_gone "$p"; done
declare -A before
for f in "$T"/s/*.log; do before[$f]=$(last_tick "$f"); done
restart_detach "$T/fd.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
for f in "$T"/s/*.log; do
	wait_tick "$f" $((${before[$f]} + 10))
	assert_ticks_consecutive "$f"
done
assert_no_corrupt "$T"/s/*.log
grep -q "CLONE_FILES" "$T"/restart.*.err && fail "restart warned: $(cat "$T"/restart.*.err)"
kill_wait $all
say "CLONE_FILES sharing restored through two generations, a child's own copy kept"
pass
