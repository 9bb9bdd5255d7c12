#!/bin/bash
# Live migration through a pipe: `ckpt PID -o - --kill | restart - --detach`
# moves the process without any image file, keeping its PID.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

start_bg "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 10

pipe_migrate "$pid"
before=$(last_tick "$T/counter.log")

wait_tick "$T/counter.log" $((before + 10))
assert_ticks_consecutive "$T/counter.log" $((before + 10))
# The image came on restart's stdin: the process's stdin is not that pipe.
case $(readlink "/proc/$pid/fd/0") in
pipe:*) fail "restored process has a pipe as stdin" ;;
esac
pass
