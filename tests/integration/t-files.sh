#!/bin/bash
# Regular files open for reading, writing and appending are reopened at
# their offsets: after ckpt --kill + restart the program reads the next line
# of its input and both output files hold 1..N with no gap or duplicate.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog files

seq -f 'input %g' 1 100000 > "$T/in.txt"
echo "written before the program started" > "$T/app.txt"
start_bg "$PROGS/files" "$T/in.txt" "$T/out.txt" "$T/app.txt" > "$T/files.log" 2> "$T/files.err"
pid=$BG_PID
wait_tick "$T/files.log" 10

ckpt_ok "$pid" "$T/files.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/files.log")

restart_detach "$T/files.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$T/files.log" $((before + 10))
kill_wait "$pid"

log=$T/files.log
assert_ticks_consecutive "$log" $((before + 10))
last=$(last_tick "$log")
# Every tick N read "input N": the read offset went on at the next line.
bad=$(awk '/^tick/ && $5 != $2 { print; exit }' "$log")
[ -z "$bad" ] || fail "read went wrong: '$bad'"
# The killed program may have written line N+1 without logging tick N+1.
check_seq() {	# FILE PREFIX FIRST_LINE_TO_SKIP
	awk -v p="$2" -v skip="$3" -v last="$last" '
		NR <= skip { next }
		{ n++; if ($0 != p " " n) { printf "line %d is \"%s\", expected \"%s %d\"", NR, $0, p, n; bad = 1; exit } }
		END { if (!bad && n != last && n != last + 1) printf "%d lines, expected %d", n, last }
	' "$1"
}
err=$(check_seq "$T/out.txt" line 0)
[ -z "$err" ] || fail "out.txt: $err"
err=$(check_seq "$T/app.txt" append 1)
[ -z "$err" ] || fail "app.txt: $err"
head -n1 "$T/app.txt" | grep -q '^written before' || fail "app.txt lost its first line"
say "read, write and append offsets continued across the restart (tick $before -> $last)"
pass
