#!/bin/bash
# Killing ckpt (kill -9) at any moment of a dump of a tree leaves every
# process of it as it was: in particular no process keeps a zombie child.
# A worker's copy-on-write copy is the worker's own child (its parent, the
# root, must not see a child it never made die), so if ckpt dies before
# it reaped it, its guard does (common/state/tcp_guard.c).  The tree
# (tests/progs/proctree: a root, three workers and shared memory) checks
# itself every tick and goes on counting.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree
# shellcheck source=tests/integration/victim.sh
. "$(dirname "$0")/victim.sh"

start_bg "$PROGS/proctree" -d "$T" -w 3 -m < /dev/null > "$T/pt.out" 2>&1
root=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready"
wait_tick "$T/root.log" 5
workers=$(children_of "$root" | tr '\n' ' ')
[ "$(echo "$workers" | wc -w)" -ge 4 ] || fail "proctree has children: $workers"

# The whole dump, once, measured: the kills spread over it.
t0=$(date +%s%N)
ckpt_ok "$root" "$T/full.tar.zst"
full_ms=$((($(date +%s%N) - t0) / 1000000))
rm -f "$T/full.tar.zst"
say "a whole dump takes $full_ms ms"

problems=()
total=0
for frac in 0 1 2 3 5 8 12 20 30 45 60 75 90; do
	d=$(awk -v f="$frac" -v ms="$full_ms" 'BEGIN { printf "%.4f", f * ms / 100000 }')
	"$CKPT" "$root" -o "$T/img" > /dev/null 2>&1 < /dev/null &
	cp=$!
	sleep "$d"
	kill -KILL "$cp" 2>/dev/null
	wait "$cp" 2>/dev/null
	total=$((total + 1))
	rm -f "$T/img" "$T"/.img.*
	# The guard has a moment to reap a copy: up to 3 s.
	for ((i = 0; i < 60; i++)); do
		extra=
		for w in $workers; do
			for c in $(children_of "$w"); do extra="$extra $w:$c"; done
		done
		now=$(children_of "$root" | tr '\n' ' ')
		[ -z "$extra" ] && [ "$now" = "$workers" ] && break
		sleep 0.05
	done
	[ -z "$extra" ] || problems+=("kill after $d s: children left on workers:$extra")
	[ "$now" = "$workers" ] || problems+=("kill after $d s: the root's children are $now, not $workers")
	for p in $root $workers; do
		s=$(proc_state "$p")
		case $s in S | R) ;; *) problems+=("kill after $d s: process $p is in state $s") ;; esac
		grep -q TracerPid:.0 /proc/"$p"/status || problems+=("kill after $d s: process $p is still traced")
	done
done
wait_tick "$T/root.log" $(($(last_tick "$T/root.log") + 5))
assert_no_corrupt "$T"/*.log
[ ${#problems[@]} = 0 ] || fail "${#problems[@]} of $total kills harmed the tree: ${problems[*]}"
say "tree unharmed after $total kills of ckpt"
pass
