#!/bin/bash
# tcp-tree: a TCP connection over loopback between two processes of one
# tree (a Python server and the child it forked as its client) comes back
# connected at both ends: the root asks, the child answers, every tick,
# each checking the other's numbers.  Both ends are rebuilt in repair mode;
# restart lets them leave it only once every process of the tree holds
# its fds (leaving repair mode sends a probe, which a peer not made yet
# would answer with a reset).  Twice: with ckpt --kill, and the way a
# crashed or preempted job is restored (the tree keeps running after the
# checkpoint and is then killed, so both old ends close).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

cat > "$T/tree.py" <<'PY'
import os, socket, sys, time
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
addr = ls.getsockname()
if os.fork() == 0:
    ls.close()
    c = socket.create_connection(addr)
    n = 0
    while True:
        m = c.recv(64)
        if m != b"ask %08d\n" % n:
            print("CORRUPT child got %r, expected ask %d" % (m, n), flush=True)
            os._exit(3)
        c.sendall(b"answer %08d\n" % n)
        n += 1
s, _ = ls.accept()
n = 0
while True:
    s.sendall(b"ask %08d\n" % n)
    m = s.recv(64)
    if m != b"answer %08d\n" % n:
        print("CORRUPT root got %r, expected answer %d" % (m, n), flush=True)
        sys.exit(3)
    n += 1
    print("tick %d" % n, flush=True)
    time.sleep(0.05)
PY

run_case() {	# run_case NAME [CKPT OPTIONS]
	local name=$1 pid all p before
	shift
	start_bg /usr/bin/python3 "$T/tree.py" < /dev/null > "$T/$name.out" 2>&1
	pid=$BG_PID
	wait_tick "$T/$name.out" 10
	all="$pid $(cat /proc/"$pid"/task/*/children)"
	[ "$(echo "$all" | wc -w)" = 2 ] || fail "expected a root and its child, got: $all"
	ckpt_ok "$pid" "$T/$name.tar.zst" "$@"
	# Without --kill the tree runs on: kill it (both ends close, their
	# FINs cross), as a crash or a preemption would.
	for p in $all; do kill -KILL "$p" 2>/dev/null; done
	for p in $all; do wait_gone "$p"; done
	before=$(last_tick "$T/$name.out")
	restart_detach "$T/$name.tar.zst"
	wait_tick "$T/$name.out" $((before + 30)) 20
	assert_ticks_consecutive "$T/$name.out"
	kill_wait "$RESTORED_PID"
}

run_case killed --kill
say "ok: ckpt --kill, then restart: the connection goes on"
run_case crashed
say "ok: checkpoint, the tree killed afterwards, then restart: the connection goes on"
pass
