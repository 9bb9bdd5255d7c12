#!/bin/bash
# A real interpreter nobody here wrote: /usr/bin/python3 (not a pyenv shim)
# counting in a loop into a log survives ckpt (live, then --kill) + restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
PY=/usr/bin/python3
[ -x "$PY" ] || skip "$PY is not installed"

script='
import sys, time
n = 0
box = [0]
d = {"n": 0}
while True:
    n += 1
    box[0] += 1
    d["n"] += 1
    if not (n == box[0] == d["n"]):
        print("CORRUPT", n, box, d, flush=True)
        sys.exit(3)
    print("tick", n, flush=True)
    time.sleep(0.05)
'
start_bg "$PY" -c "$script" > "$T/python.log" 2> "$T/python.err"
pid=$BG_PID
wait_tick "$T/python.log" 10 20

ckpt_ok "$pid" "$T/live.tar.zst"
assert_not_stopped "$pid"
assert_progress "$T/python.log"

ckpt_ok "$pid" "$T/python.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/python.log")

restart_detach "$T/python.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$T/python.log" $((before + 20))
assert_ticks_consecutive "$T/python.log" $((before + 20))
[ ! -s "$T/python.err" ] || fail "python wrote on stderr: $(cat "$T/python.err")"
pass
