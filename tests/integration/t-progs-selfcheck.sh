#!/bin/bash
# The test programs themselves: they run, and their self-checks really catch
# corrupted state (memory changed behind their back through /proc/PID/mem),
# so that a CORRUPT-free run after a restart means something.  Needs no ckpt.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_prog counter sleeper signals avx files bigmem tracer

# poke PID ADDR: overwrite one byte of PID's memory at ADDR.
poke() {
	printf '\x77' | dd of="/proc/$1/mem" bs=1 seek="$(($2))" oflag=seek_bytes \
		conv=notrunc status=none || fail "cannot write /proc/$1/mem at $2"
}

# counter: every copy of the counter is checked.
for region in global heap anon shared file; do
	start_bg "$PROGS/counter" -v -f "$T/c-$region.map" > "$T/c-$region.log" 2> "$T/c-$region.err"
	pid=$BG_PID
	wait_tick "$T/c-$region.log" 3
	addr=$(grep -o "$region=0x[0-9a-f]*" "$T/c-$region.err" | cut -d= -f2)
	[ -n "$addr" ] || fail "counter -v printed no address for $region"
	poke "$pid" $((addr + 8))	# slot.v
	wait_until 5 grep -q '^CORRUPT' "$T/c-$region.log" ||
		fail "counter did not notice its $region copy was changed"
	wait "$pid"
	rc=$?
	[ "$rc" = 3 ] || fail "counter exited $rc after detecting corruption, expected 3"
	say "counter caught: $(grep -m1 '^CORRUPT' "$T/c-$region.log")"
done

# counter -n/-s: exit status after a count (used by t-exit-status).
"$PROGS/counter" -f "$T/c-exit.map" -i 1 -n 5 -s 7 > "$T/c-exit.log"
rc=$?
[ "$rc" = 7 ] || fail "counter -n 5 -s 7 exited $rc"
assert_ticks_consecutive "$T/c-exit.log" 5
[ "$(last_tick "$T/c-exit.log")" = 5 ] || fail "counter -n 5 went past tick 5"

# bigmem: a changed byte is caught by the checksum.
start_bg "$PROGS/bigmem" 16 -i 100 > "$T/bigmem.log"
pid=$BG_PID
wait_for_line "$T/bigmem.log" '^sum ' 20
range=$(awk '$2 == "rw-p" && NF == 5 { split($1, a, "-"); print a[1], a[2] }' "/proc/$pid/maps" |
	while read -r a b; do
		[ $((0x$b - 0x$a)) -ge $((16 << 20)) ] && { echo "$a"; break; }
	done)
[ -n "$range" ] || fail "cannot find bigmem's 16 MiB mapping"
poke "$pid" $((0x$range + 5 * 4096 + 100))
wait_until 5 grep -q '^CORRUPT' "$T/bigmem.log" || fail "bigmem did not notice a changed byte"
say "bigmem caught: $(grep -m1 '^CORRUPT' "$T/bigmem.log")"

# sleeper read: lines in, numbered lines out, eof at the end.
printf 'one\ntwo\nthree' | "$PROGS/sleeper" read > "$T/sleeper.log"
if [ "$(grep -c '^got ' "$T/sleeper.log")" != 3 ] || ! grep -q '^got 3 three$' "$T/sleeper.log" ||
	! grep -q '^eof$' "$T/sleeper.log"; then
	fail "sleeper read: unexpected output: $(cat "$T/sleeper.log")"
fi

# signals: the pending SIGUSR2 stays pending, then is delivered once on unblock.
start_bg "$PROGS/signals" -m pending -u 1 -i 50 > "$T/signals.log"
pid=$BG_PID
wait_tick "$T/signals.log" 2
grep -q '^tick 2 .*sigblk=0000000000000800 sigpnd=0000000000000800' "$T/signals.log" ||
	fail "signals: SIGUSR2 not blocked+pending: $(grep -m2 '^tick' "$T/signals.log")"
kill -USR1 "$pid"
wait_for_line "$T/signals.log" '^usr2 delivered code=-6$' 5
assert_progress "$T/signals.log"
assert_no_corrupt "$T/signals.log"

# files: offsets and contents.
seq -f 'input %g' 1 1000 > "$T/in.txt"
start_bg "$PROGS/files" "$T/in.txt" "$T/out.txt" "$T/app.txt" -i 10 > "$T/files.log"
pid=$BG_PID
wait_tick "$T/files.log" 20
kill_wait "$pid"
awk '/^tick/ && $5 != $2 { print "bad: " $0; exit 1 }' "$T/files.log" || fail "files read wrong lines"
assert_no_corrupt "$T/files.log"

# tracer: attaches, and the tracee keeps running.
start_bg "$PROGS/counter" -f "$T/traced.map" > "$T/traced.log"
pid=$BG_PID
start_bg "$PROGS/tracer" "$pid" > "$T/tracer.log"
wait_for_line "$T/tracer.log" "^tracing $pid\$" 5
grep -q "^TracerPid:[[:space:]]*$BG_PID\$" "/proc/$pid/status" || fail "tracer is not the tracer of $pid"
assert_progress "$T/traced.log"

# avx: a register changed from outside (with ptrace: gdb 13 cannot write
# the xstate of a CPU with AMX) must be noticed.
start_bg "$PROGS/avx" -i 300 > "$T/avx.log"
pid=$BG_PID
wait_tick "$T/avx.log" 2
timeout 30 "$PROGS/setymm" "$pid" > "$T/setymm.out" 2>&1 || fail "setymm failed: $(cat "$T/setymm.out")"
wait_until 5 grep -q '^CORRUPT' "$T/avx.log" || fail "avx did not notice a changed upper ymm3 half"
say "avx caught: $(grep -m1 '^CORRUPT' "$T/avx.log")"

pass
