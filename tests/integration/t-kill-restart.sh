#!/bin/bash
# Killing restart (kill -9) at any moment of a restore leaves no
# half-restored process: restart --any-pid --detach of a victim image
# (tests/progs/victim, 16 MiB, 2 threads) is killed after 0..N ms (N: one
# whole restore, measured, denser at first); afterwards either nothing of it is left, or a
# fully restored victim that runs on: not traced, not stopped, still alive
# (the victim checks its registers, mask and memory and exits on any
# damage).  Environment: KILL_RUNS (default 16).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog victim

runs=${KILL_RUNS:-16}
start_bg "$PROGS/victim" 16 2 > "$T/victim.log"
pid=$BG_PID
wait_for_line "$T/victim.log" '^tick 2$' 30
ckpt_ok "$pid" "$T/v.img"
kill_wait "$pid"

# The victims of this test now (restored or half-restored).
victims() {
	local p
	for p in $(procs_in_test); do
		[ "$(proc_comm "$p")" = victim ] && proc_alive "$p" && echo "$p"
	done
}

t0=$(date +%s%N)
restart_detach "$T/v.img" --any-pid
dur_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -KILL "$RESTORED_PID"
say "a whole restore takes $dur_ms ms; $runs kills over 0..$((dur_ms + 5)) ms"

total=0 whole=0 none=0
problems=()
for ((i = 0; i < runs; i++)); do
	# Denser at first: restart's own start takes part of the measured time.
	delay_us=$(( i * i * (dur_ms + 5) * 1000 / ((runs - 1) * (runs - 1) > 0 ? (runs - 1) * (runs - 1) : 1) ))
	"$RESTART" "$T/v.img" --any-pid --detach > "$T/r.out" 2> "$T/r.err" < /dev/null &
	rp=$!
	[ "$delay_us" -gt 0 ] && sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
	kill -KILL "$rp" 2>/dev/null
	wait "$rp" 2>/dev/null
	total=$((total + 1))
	sleep 0.3	# a half-restored process dies with restart (EXITKILL)
	why=
	left=$(victims)
	for p in $left; do
		tracer=$(awk '/^TracerPid:/ { print $2 }' /proc/"$p"/status 2>/dev/null)
		s=$(proc_state "$p")
		[ "$tracer" = 0 ] || why="${why:+$why; }$p traced by $tracer"
		case $s in T | t) why="${why:+$why; }$p stopped ($s)" ;; esac
	done
	if [ -n "$left" ] && [ -z "$why" ]; then
		sleep 0.3
		for p in $left; do
			proc_alive "$p" || why="${why:+$why; }$p died after its restore"
		done
	fi
	[ "$(echo "$left" | wc -w)" -le 1 ] || why="${why:+$why; }several victims: $left"
	if [ -n "$why" ]; then
		problems+=("kill after $((delay_us / 1000)) ms: $why")
		say "kill after $((delay_us / 1000)) ms: $why"
	elif [ -n "$left" ]; then
		whole=$((whole + 1))
	else
		none=$((none + 1))
	fi
	for p in $left; do kill -KILL "$p"; done	# a zombie is no victim: no wait
done
say "$total kills of restart: $none left nothing, $whole a whole victim, ${#problems[@]} anything else"
[ ${#problems[@]} = 0 ] || fail "${#problems[@]} of $total kills of restart left a half-restored process: ${problems[*]}"
pass
