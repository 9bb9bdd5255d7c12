#!/bin/bash
# Debian's python3 running four threads (the GIL, time.sleep, a shared
# list) is checkpointed and restarted: every thread keeps counting and the
# main loop's ticks continue.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

cat > "$T/threads.py" <<'PY'
import threading, time
counts = [0] * 4
def work(i):
    while True:
        counts[i] += 1
        time.sleep(0.02)
for i in range(4):
    threading.Thread(target=work, args=(i,), daemon=True).start()
last = list(counts)
n = 0
while True:
    time.sleep(0.2)
    n += 1
    if n > 1 and any(c == l for c, l in zip(counts, last)):
        print("CORRUPT a thread is stuck", counts, last, flush=True)
        raise SystemExit(3)
    last = list(counts)
    print("tick", n, min(counts), flush=True)
PY
start_bg /usr/bin/python3 "$T/threads.py" > "$T/py.log" 2> "$T/py.err"
pid=$BG_PID
wait_tick "$T/py.log" 3
ckpt_ok "$pid" "$T/py.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/py.tar.zst"
[ "$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)" = 5 ] || fail "not 5 threads after restart"
last=$(last_tick "$T/py.log")
wait_tick "$T/py.log" $((last + 5))
assert_ticks_consecutive "$T/py.log"
pass
