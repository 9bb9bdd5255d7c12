#!/bin/bash
# Clocks across restarts: a process printing CLOCK_MONOTONIC and
# CLOCK_BOOTTIME every 50 ms is checkpointed (--kill), left dead for 1.5 s
# and restarted: in its time namespace both clocks go on from where they
# were (they move less than 1 s across the restart), also from a "host"
# whose uptime is 100000 s longer (restart inside `unshare -T` with those
# offsets); they never go back (the program checks).  With --no-timens the
# host's clocks show: the jump includes the 1.5 s.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog clocks
[ -e /proc/self/ns/time ] || skip "no time namespaces (Linux 5.6+)"
unshare -T true 2> /dev/null || skip "cannot make a time namespace here"

# value FILES... N FIELD: FIELD (mono, boot) of "tick N" in the FILES.
value() {
	local n=${*: -2:1} f=${*: -1} files=("${@:1:$#-2}")
	cat "${files[@]}" 2> /dev/null |
		awk -v n="$n" -v f="$f" '$1 == "tick" && $2 == n { for (i = 3; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'
}

# round NAME RESTART-PREFIX... -- RESTART-OPTIONS...: checkpoint the
# running clocks (PID in $pid), restart; the jumps of both clocks across it
# in $mono and $boot.  Its stdout: the first restart gives it a file, which
# it then keeps (a regular file is reopened as it is).
round() {
	local name=$1 prefix=() ropts=() out before
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do prefix+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	ropts=("$@")
	ckpt_ok "$pid" "$T/$name.tar.zst" --kill
	wait_gone "$pid"
	before=$(cat "$T"/*.log | last_tick /dev/stdin)
	sleep 1.5
	timeout -k 5 "$CKPT_TIMEOUT" "${prefix[@]}" "$RESTART" "$T/$name.tar.zst" --detach \
		--stdout "$T/restarted.log" "${ropts[@]}" > "$T/$name.out" 2> "$T/$name.err" ||
		fail "restart ($name) failed: $(cat "$T/$name.err")"
	out=$(grep -m1 -E '^[0-9]+$' "$T/$name.out")
	track_pid "$out"
	[ "$out" = "$pid" ] || fail "$name: restored as PID '$out', expected $pid"
	wait_tick "$T/restarted.log" $((before + 5))
	assert_no_corrupt "$T/restarted.log"
	mono=$(($(value "$T"/*.log $((before + 1)) mono) - $(value "$T"/*.log "$before" mono)))
	boot=$(($(value "$T"/*.log $((before + 1)) boot) - $(value "$T"/*.log "$before" boot)))
	say "$name: CLOCK_MONOTONIC moved $mono ms, CLOCK_BOOTTIME $boot ms across the restart"
}

start_bg "$PROGS/clocks" > >(exec cat > "$T/orig.log") 2> "$T/clocks.err"
pid=$BG_PID
wait_tick "$T/orig.log" 5

ckpt_ok "$pid" "$T/live.tar.zst"
"$CKPT" check "$T/live.tar.zst" --any-pid > "$T/check.out" 2>&1
grep -q "^OK      clocks: CLOCK_MONOTONIC goes on from" "$T/check.out" ||
	fail "ckpt check IMAGE says nothing of the clocks: $(cat "$T/check.out")"
round same
[ "$mono" -ge 0 ] && [ "$mono" -lt 1000 ] || fail "same host: CLOCK_MONOTONIC moved $mono ms"
[ "$boot" -ge 0 ] && [ "$boot" -lt 1000 ] || fail "same host: CLOCK_BOOTTIME moved $boot ms"
[ "$(readlink "/proc/$pid/ns/time")" != "$(readlink /proc/self/ns/time)" ] ||
	fail "the restored process is in this host's time namespace"

round longer-uptime unshare -T --fork --monotonic 100000 --boottime 100000 --
[ "$mono" -ge 0 ] && [ "$mono" -lt 1000 ] || fail "other uptime: CLOCK_MONOTONIC moved $mono ms"
[ "$boot" -ge 0 ] && [ "$boot" -lt 1000 ] || fail "other uptime: CLOCK_BOOTTIME moved $boot ms"

round plain -- --no-timens
[ "$mono" -ge 1400 ] || fail "--no-timens: CLOCK_MONOTONIC moved only $mono ms in 1.5 s"
[ "$(readlink "/proc/$pid/ns/time")" = "$(readlink /proc/self/ns/time)" ] ||
	fail "--no-timens: the restored process has a time namespace of its own"
pass
