#!/bin/bash
# tree-orphansess: a session and its group whose leader has exited, the
# members reparented to the root (a subreaper), as CRIU's zombie_leader:
# restart lends the session a leader under its PID for a moment (or, with
# the leader a zombie of the root, the zombie makes them before it dies),
# so the members come back in their session and groups, children of the
# root, the session without a leader as before.  With the leader's PID
# taken on the host, restart refuses, naming it.  orphansess checks its
# sid, pgid and parent itself every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog orphansess
need_prog pidhold

ids() {
	for p in "$@"; do ps -o pid=,ppid=,pgid=,sid=,stat= -p "$p"; done |
		awk '{ $5 = substr($5, 1, 1); if ($5 != "Z") $5 = "-"; print }'
}

run_case() {
	local mode=$1 d=$T/$2 pid lead kid own before_ids after_ids f
	declare -A before
	mkdir -p "$d"
	start_bg "$PROGS/orphansess" -d "$d" $mode < /dev/null > "$d/out" 2> "$d/err"
	pid=$BG_PID
	wait_until 10 test -e "$d/ready" || fail "orphansess $mode did not get ready: $(cat "$d/err")"
	read -r lead kid own < "$d/ids"
	wait_tick "$d/kid.log" 3
	wait_tick "$d/own.log" 3
	if [ -n "$mode" ]; then all="$pid $lead $kid $own"; else all="$pid $kid $own"; fi
	before_ids=$(ids $kid $own $lead)
	say "$2: root $pid, leader $lead, members $kid $own: $(echo "$before_ids" | tr '\n' ';')"
	[ "$(ps -o sid= -p "$kid" | tr -d ' ')" = "$lead" ] || fail "kid is not in the session of $lead"

	ckpt_ok "$pid" "$d/img.tar.zst" --kill
	for p in $all; do wait_gone "$p"; done
	for f in "$d"/*.log; do before[$f]=$(last_tick "$f"); done

	if [ -z "$mode" ]; then
		# The session's PID taken: refused by name before anything runs.
		start_bg "$PROGS/pidhold" "$lead" > "$d/pidhold.out" 2> "$d/pidhold.err"
		hold=$BG_PID
		wait_until 10 grep -q "^held 1" "$d/pidhold.out" || fail "pidhold: $(cat "$d/pidhold.err")"
		expect_fail_msg "reclaiming PID $lead: held by" "$RESTART" "$d/img.tar.zst" --detach
		for p in $pid $kid $own; do [ -e /proc/$p ] && fail "process $p left by a failed restart"; done
		kill "$hold"
		wait_gone "$hold"
		wait_gone "$lead"
	fi

	restart_detach "$d/img.tar.zst"
	[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
	for f in "$d"/*.log; do
		wait_tick "$f" $((${before[$f]} + 10))
		assert_ticks_consecutive "$f"
	done
	assert_no_corrupt "$d"/*.log
	after_ids=$(ids $kid $own $lead)
	[ "$before_ids" = "$after_ids" ] || fail "$2: ids differ: before
$before_ids
after
$after_ids"
	kill_wait $pid $kid $own
}

run_case "" gone
run_case -z zombie
say "members of a leaderless session restored in it, with the leader gone and as a zombie"
pass
