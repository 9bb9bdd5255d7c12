# shellcheck shell=bash
# Helpers for the tests that hurt ckpt while it dumps tests/progs/victim
# (t-kill-ckpt, t-faults-ckpt): is the victim exactly as it was?
# Sourced after lib.sh; the caller keeps the victim's layout in $maps0.

children_of() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr -d '\n' | sed 's/ *$//'
}

# The victim's mappings (a leftover scratch page would show).
layout() {
	awk '{ print $1, $2, $6 }' /proc/"$1"/maps 2>/dev/null
}

# What is wrong with the victim $1 (log $2) now, or nothing.
victim_problem() {
	local pid=$1 log=$2 s tracer kids n i
	if ! proc_alive "$pid"; then
		echo "died ($(grep -m1 '^BAD' "$log" || echo "state $(proc_state "$pid")"))"
		return
	fi
	grep -q '^BAD' "$log" && { grep -m1 '^BAD' "$log"; return; }
	grep -q '^EINTR' "$log" && { echo "a nanosleep returned EINTR"; return; }
	# Released by a dead tracer: not traced at once; give it 2 s anyway.
	for ((n = 0; n < 40; n++)); do
		tracer=$(awk '/^TracerPid:/ { print $2 }' /proc/"$pid"/status 2>/dev/null)
		[ "$tracer" = 0 ] && break
		sleep 0.05
	done
	[ "$tracer" = 0 ] || { echo "still traced by $tracer"; return; }
	s=$(proc_state "$pid")
	case $s in T | t) echo "left stopped (state $s)"; return ;; esac
	[ "$(layout "$pid")" = "$maps0" ] ||
		{ echo "mappings changed: $(diff <(echo "$maps0") <(layout "$pid") | grep '^[<>]' | tr '\n' ' ')"; return; }
	kids=$(children_of "$pid")
	[ -z "$kids" ] || { echo "has children: $kids"; return; }
	n=$(last_tick "$log")
	for ((i = 0; i < 100; i++)); do
		[ "$(last_tick "$log")" -ge $((${n:-0} + 3)) ] 2>/dev/null && break
		sleep 0.05
	done
	[ "$i" -lt 100 ] || { echo "stopped counting at tick ${n:-none}"; return; }
	grep -q '^BAD' "$log" && { grep -m1 '^BAD' "$log"; return; }
	return 0
}

