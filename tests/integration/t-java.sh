#!/bin/bash
# A real JVM (Debian's OpenJDK, ~18 threads: GC, JIT compilers, workers) is
# checkpointed with --kill and restarted: all its threads come back under
# their TIDs, and the program's ticks and HashMap continue where they were.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
if ! command -v java > /dev/null || ! command -v javac > /dev/null; then skip "no JDK (javac)"; fi

javac -d "$T" "$ROOT/tests/progs/java/Counter.java" 2> "$T/javac.err" ||
	fail "javac failed: $(cat "$T/javac.err")"
start_bg java -Xmx64m -XX:+UseSerialGC -cp "$T" Counter > "$T/j.log" 2> "$T/j.err"
pid=$BG_PID
wait_tick "$T/j.log" 5 30
threads_before=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
ckpt_ok "$pid" "$T/j.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/j.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
threads_after=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
[ "$threads_after" = "$threads_before" ] || fail "$threads_before threads before, $threads_after after"
last=$(last_tick "$T/j.log")
wait_tick "$T/j.log" $((last + 5)) 20
assert_ticks_consecutive "$T/j.log"
pass
