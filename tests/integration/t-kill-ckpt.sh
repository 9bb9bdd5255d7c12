#!/bin/bash
# Killing ckpt (kill -9) at any moment of a dump leaves the target exactly
# as it was: a victim (tests/progs/victim: registers, signal mask, memory
# pattern and nanosleep results checked every round) keeps counting, is
# neither stopped nor traced, has no child (no zombie copy-on-write copy)
# and no mapping more or less than before (no scratch page left),
# and no image or temporary file is left in the output directory.
# The kill moments: half in the first 4 ms, half spread over the whole
# dump (measured once), for a small and a bigger victim; then a few with
# the victim stopped (it must stay stopped), and with signals pouring in.
#
# At the end the last victim, after all those kills, is checkpointed and
# restarted once more: whatever a kill left in it (nothing, or the return
# stub's bytes in the vDSO's tail, tidied by the next dump) must not
# spoil an image.
#
# Environment: KILL_RUNS (kills per size, default 16), KILL_SIZES (MiB or
# MiB:THREADS, default "4:3 64"); `make faults` runs a longer version.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog victim
# shellcheck source=tests/integration/victim.sh
. "$(dirname "$0")/victim.sh"

runs=${KILL_RUNS:-16}
sizes=${KILL_SIZES:-4:3 64}
total=0 good=0 done_before=0
problems=()

for spec in $sizes; do
	mib=${spec%%:*}
	threads=1
	[ "$spec" = "$mib" ] || threads=${spec#*:}
	log=$T/victim-$mib.log
	start_bg "$PROGS/victim" "$mib" "$threads" > "$log"
	pid=$BG_PID
	wait_for_line "$log" '^tick 2$' 30
	maps0=$(layout "$pid")
	# How long one whole dump takes here, now.
	t0=$(date +%s%N)
	ckpt_ok "$pid" "$T/full.img"
	dur_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	rm -f "$T/full.img"
	say "$mib MiB, $threads threads: a whole dump takes $dur_ms ms; $runs kills over 0..4 and 0..$((dur_ms + 5)) ms"
	for ((i = 0; i < runs; i++)); do
		# Half the kills in the first 4 ms (seizing, the first injected
		# calls), half over the whole dump.
		if ((i % 2 == 0)); then
			delay_us=$(( i * 4000 / (runs > 1 ? runs : 1) ))
		else
			delay_us=$(( i * (dur_ms + 5) * 1000 / (runs > 1 ? runs : 1) ))
		fi
		"$CKPT" "$pid" -o "$T/img.$i" > /dev/null 2> "$T/kill.err" < /dev/null &
		cp=$!
		if [ "$delay_us" -gt 0 ]; then
			sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
		fi
		kill -KILL "$cp" 2>/dev/null
		wait "$cp" 2>/dev/null
		rc=$?
		total=$((total + 1))
		# Finished (or named) before the kill: a complete image is no
		# leftover; a partial one is.
		if [ -e "$T/img.$i" ] && "$CKPT" info "$T/img.$i" > /dev/null 2>&1; then
			done_before=$((done_before + 1))
			rm -f "$T/img.$i"
		fi
		why=$(victim_problem "$pid" "$log")
		left=$(find "$T" -maxdepth 1 \( -name "img.$i" -o -name ".img.$i.*" \) -printf '%f ' 2>/dev/null)
		[ -z "$left" ] || why="${why:+$why; }left behind: $left"
		rm -f "$T/img.$i" "$T/.img.$i".*
		if [ -z "$why" ]; then
			good=$((good + 1))
			continue
		fi
		problems+=("$mib MiB, kill after $((delay_us / 1000)) ms: $why")
		say "$mib MiB, kill after $((delay_us / 1000)) ms: $why"
		# A fresh victim, so that each kill is judged on its own.
		kill -KILL "$pid" 2>/dev/null
		start_bg "$PROGS/victim" "$mib" "$threads" > "$log"
		pid=$BG_PID
		wait_for_line "$log" '^tick 2$' 30
		maps0=$(layout "$pid")
	done
	last=$spec
	[ "$spec" = "${sizes##* }" ] || kill_wait "$pid"
done

# The last victim, stopped (SIGSTOP): it stays stopped through every
# kill, then goes on unharmed once continued.  Then with signals pouring
# in (SIGUSR1 has a handler, SIGCONT none) while ckpt dies.
kill -STOP "$pid"
for ((n = 0; n < 40; n++)); do [ "$(proc_state "$pid")" = T ] && break; sleep 0.05; done
for d in 0 0.0005 0.001 0.002 0.004 0.008 0.016 0.03; do
	"$CKPT" "$pid" -o "$T/img.s" > /dev/null 2>&1 < /dev/null &
	cp=$!
	sleep "$d"
	kill -KILL "$cp" 2>/dev/null
	wait "$cp" 2>/dev/null
	total=$((total + 1))
	sleep 0.05
	s=$(proc_state "$pid")
	rm -f "$T/img.s" "$T"/.img.s.*
	if [ "$s" = T ]; then
		good=$((good + 1))
	else
		problems+=("stopped victim, kill after $d s: state $s")
	fi
done
kill -CONT "$pid"
why=$(victim_problem "$pid" "$log")
[ -z "$why" ] || problems+=("stopped victim, once continued: $why")
for d in 0 0.0005 0.001 0.002 0.004 0.008 0.016 0.03; do
	(for ((k = 0; k < 100; k++)); do kill -USR1 "$pid"; kill -CONT "$pid"; done 2>/dev/null) &
	flood=$!
	"$CKPT" "$pid" -o "$T/img.f" > /dev/null 2>&1 < /dev/null &
	cp=$!
	sleep "$d"
	kill -KILL "$cp" 2>/dev/null
	wait "$cp" 2>/dev/null
	wait "$flood"
	total=$((total + 1))
	why=$(victim_problem "$pid" "$log")
	[ -e "$T/img.f" ] && "$CKPT" info "$T/img.f" > /dev/null 2>&1 && rm -f "$T/img.f"
	left=$(find "$T" -maxdepth 1 \( -name img.f -o -name ".img.f.*" \) -printf '%f ')
	rm -f "$T/img.f" "$T"/.img.f.*
	[ -z "$left" ] || why="${why:+$why; }left behind: $left"
	if [ -z "$why" ]; then
		good=$((good + 1))
	else
		problems+=("signals pouring in, kill after $d s: $why")
	fi
done

# The last victim once more, through a whole checkpoint and restart.
ckpt_ok "$pid" "$T/final.img"
kill_wait "$pid"
n=$(last_tick "$log")
restart_detach "$T/final.img"
for ((i = 0; i < 100; i++)); do
	[ "$(last_tick "$log")" -ge $((${n:-0} + 3)) ] 2>/dev/null && break
	grep -q '^BAD' "$log" && break
	sleep 0.05
done
grep -q '^BAD' "$log" && fail "the restored victim ($last) found: $(grep -m1 '^BAD' "$log")"
[ "$i" -lt 100 ] || fail "the restored victim ($last) does not count (last tick ${n:-none})"
kill_wait "$RESTORED_PID"

# Nothing the dumps created may stay a zombie of anyone: the copies are
# reparented to this shell (the victim's parent), which reaps them.
for ((n = 0; n < 40; n++)); do
	zombies=$(for c in $(children_of $$); do [ "$(proc_state "$c")" = Z ] && echo "$c"; done)
	[ -z "$zombies" ] && break
	sleep 0.05
done
say "victim unharmed after $good of $total kills of ckpt ($done_before dumps had finished)"
[ ${#problems[@]} = 0 ] || fail "${#problems[@]} of $total kills harmed the victim: ${problems[*]}"
[ -z "$zombies" ] || fail "zombies left on the test shell: $zombies"
pass
