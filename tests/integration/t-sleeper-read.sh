#!/bin/bash
# A process blocked in read(0) on a pipe: checkpointed there with --kill,
# restarted with --stdin FIFO, it reads the new lines from the FIFO and
# numbers them after the ones it had read before.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sleeper

# stdin is an anonymous pipe (fed from a FIFO by cat), as in `x | sleeper`.
hold_fifo "$T/in1"
start_bg "$PROGS/sleeper" read < <(exec cat "$T/in1") > "$T/sleeper.log" 2> "$T/sleeper.err"
pid=$BG_PID
echo one > "$T/in1"
echo two > "$T/in1"
wait_for_line "$T/sleeper.log" '^got 2 two$' 5
# shellcheck disable=SC2317 # called through wait_until
in_read() { [ "$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)" = 0 ]; }
wait_until 5 in_read || fail "sleeper is not blocked in read(2): $(cat "/proc/$pid/syscall")"
case $(readlink "/proc/$pid/fd/0") in
pipe:*) ;;
*) fail "sleeper's stdin is $(readlink "/proc/$pid/fd/0"), not a pipe" ;;
esac

ckpt_ok "$pid" "$T/sleeper.tar.zst" --kill
wait_gone "$pid"

hold_fifo "$T/in2"
restart_detach "$T/sleeper.tar.zst" --stdin "$T/in2"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
echo three > "$T/in2"
wait_for_line "$T/sleeper.log" '^got 3 three$' 5
echo four > "$T/in2"
wait_for_line "$T/sleeper.log" '^got 4 four$' 5
assert_running "$pid"
want=$(printf 'sleeper read pid %s\ngot 1 one\ngot 2 two\ngot 3 three\ngot 4 four' "$pid")
[ "$(cat "$T/sleeper.log")" = "$want" ] ||
	fail "unexpected output:
$(cat "$T/sleeper.log")"
pass
