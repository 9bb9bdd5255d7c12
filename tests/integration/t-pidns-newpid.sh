#!/bin/bash
# restart --new-pid: a process tree whose PIDs are all held by other
# processes (pidhold) comes back in a new PID namespace where every process
# has its own PID again: proctree checks every tick that getpid(),
# getppid(), its group and session are what they were, and its counters go
# on; the namespace has a /proc of its own naming them by those PIDs.
# Without an option restart refuses, naming the PID taken and --new-pid;
# `ckpt check --new-pid` agrees.  In the foreground restart --new-pid exits
# with the restored root's status and forwards SIGTERM to it.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree
need_prog pidhold
need_prog counter

# The root leads its session (a daemon): its session is then its own PID,
# which the namespace holds too.
start_bg setsid "$PROGS/proctree" -d "$T" -w 2 -g -s -z 7 < /dev/null > "$T/proctree.out" 2> "$T/proctree.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready"
wait_tick "$T/root.log" 5
kids=$(cat /proc/"$pid"/task/*/children)
grandkids=$(for k in $kids; do cat /proc/"$k"/task/*/children; done)
all=$(echo $pid $kids $grandkids)
n=$(echo $all | wc -w)
say "tree: $n processes ($all)"

ckpt_ok "$pid" "$T/tree.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
declare -A before
for f in "$T"/*.log; do before[$f]=$(last_tick "$f"); done

# Every PID of the tree taken by another process.
start_bg "$PROGS/pidhold" $all > "$T/pidhold.out" 2> "$T/pidhold.err"
wait_until 10 grep -q "^held $n" "$T/pidhold.out" || fail "pidhold: $(cat "$T/pidhold.err")"

expect_fail_msg "reclaiming PID $pid: held by" "$RESTART" "$T/tree.tar.zst" --detach
grep -q -- "in use.*--new-pid" "$EXPECT_ERR" || fail "the refusal does not say the PID is in use and suggest --new-pid: $(cat "$EXPECT_ERR")"
timeout 60 "$CKPT" check "$T/tree.tar.zst" > "$T/check.out" 2>&1 &&
	fail "ckpt check passed an image whose PIDs are taken"
timeout 60 "$CKPT" check "$T/tree.tar.zst" --new-pid > "$T/check-newpid.out" 2>&1 ||
	fail "ckpt check --new-pid failed: $(cat "$T/check-newpid.out")"
grep -q "^OK.*PID namespace" "$T/check-newpid.out" ||
	fail "ckpt check --new-pid does not mention the PID namespace: $(cat "$T/check-newpid.out")"
expect_fail_msg "any-pid is for a single process" "$RESTART" "$T/tree.tar.zst" --any-pid --detach

restart_detach "$T/tree.tar.zst" --new-pid
root=$RESTORED_PID
[ "$root" != "$pid" ] || fail "restored as PID $root on the host, which pidhold holds"
nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$root/status")
[ "$nspid" = "$pid" ] || fail "the restored root is PID $nspid in its namespace, expected $pid"
init=$(awk '/^PPid:/ { print $2 }' "/proc/$root/status")
[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$init/status")" = 1 ] ||
	fail "the root's parent $init is not PID 1 of the namespace"
[ "$(readlink /proc/$init/ns/pid_for_children)" = "$(readlink /proc/$root/ns/pid)" ] ||
	fail "the root is not in the namespace its parent made"

for f in "$T"/*.log; do
	[ "$f" = "$T/zombie.log" ] && continue
	wait_tick "$f" $((${before[$f]} + 10))
	assert_ticks_consecutive "$f"
done
# Each process of the tree, under its PID in the namespace.
ns=$(readlink /proc/$root/ns/pid)
inner=$(for s in /proc/[0-9]*/status; do
	p=${s#/proc/}; p=${p%/status}
	[ "$(readlink /proc/$p/ns/pid 2>/dev/null)" = "$ns" ] || continue
	awk '/^NSpid:/ { print $NF }' "$s" 2>/dev/null
done | sort -n | tr '\n' ' ')
want=$(echo 1 $all | tr ' ' '\n' | sort -n | tr '\n' ' ')
[ "$inner" = "$want" ] || fail "PIDs in the namespace: $inner, expected $want"
# Its own /proc: the root under its PID.
[ "$(nsenter -t "$root" -m cat /proc/"$pid"/comm)" = proctree ] ||
	fail "the namespace's /proc does not show the root as PID $pid"
assert_no_corrupt "$T"/*.log
say "tree of $n restored in a new PID namespace (root $pid is $root on the host), all counting on"
kill -KILL "$init"
wait_gone "$root"

# Exit status and signals in the foreground, with the PID held.
start_bg "$PROGS/counter" -f "$T/counter.map" -n 40 -s 7 > "$T/counter.log" 2> "$T/counter.err"
cpid=$BG_PID
wait_tick "$T/counter.log" 5
ckpt_ok "$cpid" "$T/counter.tar.zst" --kill
wait_gone "$cpid"
start_bg "$PROGS/pidhold" "$cpid" > "$T/pidhold2.out" 2> "$T/pidhold2.err"
wait_until 10 grep -q "^held 1" "$T/pidhold2.out" || fail "pidhold: $(cat "$T/pidhold2.err")"
timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" "$T/counter.tar.zst" --new-pid > "$T/restart-fg.out" 2> "$T/restart-fg.err"
rc=$?
[ "$rc" = 7 ] || fail "restart --new-pid exited $rc, expected the program's 7: $(cat "$T/restart-fg.err")"
assert_ticks_consecutive "$T/counter.log" 40
start_bg "$PROGS/counter" -f "$T/counter2.map" -T 5 > "$T/counter2.log" 2> "$T/counter2.err"
cpid=$BG_PID
wait_tick "$T/counter2.log" 5
ckpt_ok "$cpid" "$T/counter2.tar.zst" --kill
wait_gone "$cpid"
from=$(last_tick "$T/counter2.log")
start_bg "$RESTART" "$T/counter2.tar.zst" --new-pid > "$T/restart-sig.out" 2> "$T/restart-sig.err"
rpid=$BG_PID
wait_tick "$T/counter2.log" $((from + 5))
kill -TERM "$rpid"
wait_until 10 proc_dead "$rpid" || fail "restart --new-pid did not end after SIGTERM"
wait "$rpid"
rc=$?
[ "$rc" = 5 ] || fail "after SIGTERM restart --new-pid exited $rc, expected the handler's 5: $(cat "$T/restart-sig.err")"
grep -q '^signal 15 at tick ' "$T/counter2.log" || fail "the SIGTERM did not reach the restored process"
say "foreground: exit status 7 passed through, SIGTERM forwarded (handler's 5)"
pass
