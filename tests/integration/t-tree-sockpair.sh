#!/bin/bash
# tree-sockpair: unix socket pairs between processes of a tree
# (socketpair before fork, each process keeping one end) come back
# connected, with the messages queued on them: stream, seqpacket and
# datagram pairs between the root and a child, and a stream pair between
# two children (made by their common ancestor, the root).  Every process
# sends a numbered record every tick and checks that what it reads follows
# on (none lost, repeated or out of order).  Python multiprocessing's
# Pipe between a parent and its forked worker.  A connection between
# processes through a listener is refused by name.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sockpair

start_bg "$PROGS/sockpair" -d "$T" < /dev/null > "$T/sockpair.out" 2> "$T/sockpair.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "sockpair did not get ready"
for n in root child left right; do wait_tick "$T/$n.log" 10; done
all="$pid $(cat /proc/"$pid"/task/*/children)"

ckpt_ok "$pid" "$T/tree.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
declare -A before
for f in "$T"/*.log; do before[$f]=$(last_tick "$f"); done

restart_detach "$T/tree.tar.zst"
for f in "$T"/*.log; do
	wait_tick "$f" $((${before[$f]} + 60))
	assert_ticks_consecutive "$f"
done
assert_no_corrupt "$T"/*.log
say "ok: pairs between processes of the tree go on"

# A real program: Python multiprocessing's Pipe (a socketpair) between the
# parent and a forked worker, request and answer every tick.
cat > "$T/mp.py" <<'PY'
import multiprocessing as mp, sys, time
def child(conn):
    n = 0
    while True:
        m = conn.recv()
        if m != n:
            print("CORRUPT worker got %r, expected %d" % (m, n), flush=True)
            sys.exit(3)
        conn.send(("ack", n))
        n += 1
if __name__ == "__main__":
    mp.set_start_method("fork")
    a, b = mp.Pipe()
    mp.Process(target=child, args=(b,)).start()
    n = 0
    while True:
        a.send(n)
        r = a.recv()
        if r != ("ack", n):
            print("CORRUPT root got %r, expected ack %d" % (r, n), flush=True)
            sys.exit(3)
        n += 1
        print("tick %d" % n, flush=True)
        time.sleep(0.05)
PY
start_bg /usr/bin/python3 "$T/mp.py" < /dev/null > "$T/mp.out" 2>&1
mpid=$BG_PID
wait_tick "$T/mp.out" 10
mall="$mpid $(cat /proc/"$mpid"/task/*/children)"
ckpt_ok "$mpid" "$T/mp.tar.zst" --kill
for p in $mall; do wait_gone "$p"; done
mbefore=$(last_tick "$T/mp.out")
restart_detach "$T/mp.tar.zst"
wait_tick "$T/mp.out" $((mbefore + 30))
assert_ticks_consecutive "$T/mp.out"
say "ok: multiprocessing.Pipe goes on"

# Refused by name, and the tree keeps running: a connection through a
# listener between two processes of the tree; a pair between processes
# with a message carrying an fd queued on it.
cat > "$T/refused.py" <<'PY'
import os, socket, sys, time
kind, d = sys.argv[1], sys.argv[2]
if kind == "listener":
    l = socket.socket(socket.AF_UNIX)
    l.bind(os.path.join(d, "l.sock"))
    l.listen(4)
    if os.fork() == 0:
        c = socket.socket(socket.AF_UNIX)
        c.connect(os.path.join(d, "l.sock"))
        while True:
            time.sleep(0.1)
    a = l.accept()[0]
else:
    a, b = socket.socketpair()
    r, w = os.pipe()
    if os.fork() == 0:
        a.close()
        while True:
            time.sleep(0.1)
    b.close()
    socket.send_fds(a, [b"f"], [r])
n = 0
while True:
    n += 1
    print("tick %d" % n, flush=True)
    time.sleep(0.1)
PY
for kind in listener fds; do
	mkdir -p "$T/$kind"
	start_bg /usr/bin/python3 "$T/refused.py" "$kind" "$T/$kind" > "$T/$kind.out" 2>&1
	rpid=$BG_PID
	wait_for_line "$T/$kind.out" '^tick 3$' 10
	case $kind in
	listener) want='through a listener' ;;
	fds) want='carries fds' ;;
	esac
	expect_fail_msg "$want" "$CKPT" "$rpid" -o "$T/$kind.tar.zst"
	assert_target_unharmed "$rpid" "$T/$kind.out" "$T/$kind.tar.zst"
done
pass
