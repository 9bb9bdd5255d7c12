#!/bin/bash
# A process holding a file of its child's /proc directory open (its
# /proc/CHILD/stat, as a supervisor watching a worker does): the child's
# PID is the same after restart, which opens the file late, once the child
# exists (fd_rec.proc_of_tree); before, restart looked for it before
# making anything and refused the image.  The restored parent goes on
# reading its child's stat through the same fd.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
cat > "$T/watch.py" <<'PY'
import os, sys, time
child = os.fork()
if child == 0:
    while True:
        time.sleep(1)
fd = os.open("/proc/%d/stat" % child, os.O_RDONLY)
n = 0
while True:
    n += 1
    stat = os.pread(fd, 4096, 0).decode()
    if not stat.startswith("%d (" % child):
        print("CORRUPT tick %d: the child's stat reads %r" % (n, stat[:40]), flush=True)
        raise SystemExit(3)
    print("tick %d child %d" % (n, child), flush=True)
    time.sleep(0.1)
PY
start_bg /usr/bin/python3 "$T/watch.py" > "$T/watch.log" 2>&1
pid=$BG_PID
wait_tick "$T/watch.log" 3
kid=$(awk '/^tick/ { print $4; exit }' "$T/watch.log")
track_pid "$kid"
ckpt_ok "$pid" "$T/w.tar.zst" --kill
wait_gone "$pid"
wait_gone "$kid"
before=$(last_tick "$T/watch.log")
restart_detach "$T/w.tar.zst"
wait_tick "$T/watch.log" $((before + 5))
assert_ticks_consecutive "$T/watch.log"
assert_running "$kid" "the child"
pass
