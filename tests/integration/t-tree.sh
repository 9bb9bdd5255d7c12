#!/bin/bash
# tree: `ckpt PID` saves the process and all its descendants, `restart`
# brings the whole tree back: the same PIDs, parents, process groups (one
# led by a child, joined by another) and sessions (one led by a child),
# every process counting on from where it was; zombies stay zombies with
# their exit status (or signal), a stopped child stays stopped until
# SIGCONT, by the signal that had stopped it (SIGTSTP: its parent's wait
# says so).  proctree checks all of this itself every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree

start_bg "$PROGS/proctree" -d "$T" -w 3 -g -s -o -z 7 -k 10 -t < /dev/null > "$T/proctree.out" 2> "$T/proctree.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready"
wait_tick "$T/root.log" 5
kids=$(cat /proc/"$pid"/task/*/children)
grandkids=$(for k in $kids; do cat /proc/"$k"/task/*/children; done)
all="$pid $kids $grandkids"
say "tree: $(echo $all | wc -w) processes ($all)"
# pid ppid pgid sid state (T, Z or running) name; the root's parent is
# restart.
ids() {
	for p in $all; do ps -o pid=,ppid=,pgid=,sid=,stat=,comm= -p "$p"; done |
		awk -v root="$pid" '{ $5 = substr($5, 1, 1); if ($5 != "T" && $5 != "Z") $5 = "-"
			if ($1 == root) $2 = "-"; print }'
}
ids_before=$(ids)

ckpt_ok "$pid" "$T/tree.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
declare -A before
for f in "$T"/*.log; do before[$f]=$(last_tick "$f"); done

restart_detach "$T/tree.tar.zst" ${TREE_RESTART_ARGS:-}
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
for f in "$T"/root.log "$T"/worker-*.log "$T"/grp*.log "$T"/joiner.log "$T"/sess*.log "$T"/member.log; do
	wait_tick "$f" $((${before[$f]} + 10))
	assert_ticks_consecutive "$f"
done
ids_after=$(ids)
# The root's session is restart's (the test's) as before; pgid/sid as before.
[ "$ids_before" = "$ids_after" ] || fail "ids differ: before
$ids_before
after
$ids_after"
# The stopped child goes on when told.
stopped=$(awk '$5 == "T" { print $1 }' <<< "$ids_after")
[ -n "$stopped" ] || fail "no stopped process after restart"
kill -CONT "$stopped"
wait_for_line "$T/stopped.log" '^continued'
wait_tick "$T/stopped.log" 5
assert_no_corrupt "$T"/*.log
say "restored $(echo $all | wc -w) processes, all counting on"
pass
