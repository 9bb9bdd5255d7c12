#!/bin/bash
# One image restarted twice with --any-pid: two independent copies run side
# by side, each going on from the tick of the checkpoint.  The original's
# stdout is a pipe, so each copy gets the file given with --stdout.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" -f "$T/counter.map" > >(exec cat > "$T/orig.log") 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/orig.log" 10
case $(readlink "/proc/$pid/fd/1") in
pipe:*) ;;
*) fail "counter's stdout is $(readlink "/proc/$pid/fd/1"), not a pipe" ;;
esac

ckpt_ok "$pid" "$T/counter.tar.zst" --kill
wait_gone "$pid"
# shellcheck disable=SC2317 # called through wait_until
cat_done() { ! find /proc/[0-9]*/fd -lname "$T/orig.log" 2>/dev/null | grep -q .; }
wait_until 5 cat_done || fail "the cat copying counter's pipe did not finish"
before=$(last_tick "$T/orig.log")
assert_ticks_consecutive "$T/orig.log" "$before"

: > "$T/copy1.log"
: > "$T/copy2.log"
restart_detach "$T/counter.tar.zst" --any-pid --stdout "$T/copy1.log"
p1=$RESTORED_PID
restart_detach "$T/counter.tar.zst" --any-pid --stdout "$T/copy2.log"
p2=$RESTORED_PID
[ "$p1" != "$p2" ] || fail "both copies have PID $p1"
say "copies running as PIDs $p1 and $p2 (original $pid), from tick $((before + 1))"

wait_tick "$T/copy1.log" $((before + 10))
wait_tick "$T/copy2.log" $((before + 10))
assert_running "$p1" "first copy"
assert_running "$p2" "second copy"
assert_ticks_from "$T/copy1.log" $((before + 1)) $((before + 10))
assert_ticks_from "$T/copy2.log" $((before + 1)) $((before + 10))
pass
