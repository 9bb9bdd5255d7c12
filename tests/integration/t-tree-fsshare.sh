#!/bin/bash
# tree-fsshare: processes made with clone(CLONE_FS) share one cwd, root and
# umask; restart creates each that shares it with its parent with
# clone3(CLONE_FS) (exec keeps the sharing), so a chdir or umask of one
# is seen by the others after restart too, while a forked child keeps
# its own.  Two siblings sharing it without their parent are refused by
# name, the tree left running.  fsshare checks all of it every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog fsshare

mkdir -p "$T/s"
start_bg "$PROGS/fsshare" -d "$T/s" < /dev/null > "$T/s.out" 2> "$T/s.err"
pid=$BG_PID
wait_until 10 test -e "$T/s/ready" || fail "fsshare did not get ready: $(cat "$T/s.err")"
wait_tick "$T/s/grandkid.log" 3
kids=$(cat /proc/"$pid"/task/*/children)
grandkids=$(for k in $kids; do cat /proc/"$k"/task/*/children; done)
all="$pid $kids $grandkids"
[ "$(echo $all | wc -w)" = 4 ] || fail "expected 4 processes, got: $all"

ckpt_ok "$pid" "$T/fs.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
declare -A before
for f in "$T"/s/*.log; do before[$f]=$(last_tick "$f"); done
restart_detach "$T/fs.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
for f in "$T"/s/*.log; do
	wait_tick "$f" $((${before[$f]} + 10))
	assert_ticks_consecutive "$f"
done
assert_no_corrupt "$T"/s/*.log
kill_wait $all

# Siblings sharing it, their parent not: refused, nothing harmed.
mkdir -p "$T/u"
start_bg "$PROGS/fsshare" -d "$T/u" -u < /dev/null > "$T/u.out" 2> "$T/u.err"
upid=$BG_PID
wait_until 10 test -e "$T/u/ready" || fail "fsshare -u did not get ready: $(cat "$T/u.err")"
expect_fail_msg "CLONE_FS) but not with its parent" "$CKPT" "$upid" -o "$T/u.tar.zst"
[ -e "$T/u.tar.zst" ] && fail "a refused checkpoint left an image"
assert_running "$upid"
say "CLONE_FS sharing restored between parents and children, refused between siblings"
pass
