#!/bin/bash
# tree-sockpair: unix socket pairs between processes of a tree
# (socketpair before fork, each process keeping one end) come back
# connected, with the messages queued on them: stream, seqpacket and
# datagram pairs between the root and a child, and a stream pair between
# two children (made by their common ancestor, the root).  Every process
# sends a numbered record every tick and checks that what it reads follows
# on (none lost, repeated or out of order).  Python multiprocessing's
# Pipe between a parent and its forked worker.  Connections through a
# listener between processes (its file kept, removed, or an abstract name)
# come back with their names, and the listener still takes new ones.
# Datagram clients in children connected to the root's server socket (its
# file removed, as zdtm's sk-unix-dgram-ghost) still reach it.  A named
# datagram client of another process's socket is refused by name.
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

# Connections through a listener between the root (the server) and its
# children: path names (the listener's file kept; another whose file was
# removed, as a server that unlinks its socket once its clients are in),
# and an abstract name.  After restart each answers on the old connection,
# the names are as before (the accepted end's is the listener's, the
# client's peer's too), the removed file stays removed, and the live
# listeners take a new connection.
cat > "$T/named.py" <<'PY'
import os, socket, sys, time
d = sys.argv[1]
names = [os.path.join(d, "kept.sock"), os.path.join(d, "gone.sock"), "\0ckpt-named-%d" % os.getpid()]
ls = []
for n in names:
    l = socket.socket(socket.AF_UNIX)
    l.bind(n)
    l.listen(4)
    ls.append(l)
kids = []
for n in names:
    pid = os.fork()
    if pid == 0:
        c = socket.socket(socket.AF_UNIX)
        c.connect(n)
        while True:
            m = c.recv(64)
            if not m:
                sys.exit(0)
            c.sendall(b"%s peer=%r" % (m, c.getpeername()))
    kids.append(pid)
acc = [l.accept()[0] for l in ls]
ls[1].close()
os.unlink(names[1])
n = 0
while True:
    n += 1
    for i, a in enumerate(acc):
        a.sendall(b"%d" % n)
        r = a.recv(256)
        shown = names[i] if i < 2 else names[i].encode()   # as Python shows it
        want = b"%d peer=%r" % (n, shown)
        if r != want or a.getsockname() != shown:
            print("CORRUPT %d: got %r want %r, name %r" % (i, r, want, a.getsockname()), flush=True)
            sys.exit(3)
    if os.path.exists(names[1]):
        print("CORRUPT the removed socket file is back", flush=True)
        sys.exit(3)
    if os.path.exists(os.path.join(d, "probe")):
        os.unlink(os.path.join(d, "probe"))
        for i in (0, 2):
            p = socket.socket(socket.AF_UNIX)
            p.connect(names[i])
            ls[i].accept()[0].close()
            p.close()
        print("probed", flush=True)
    print("tick %d" % n, flush=True)
    time.sleep(0.05)
PY
mkdir -p "$T/named"
start_bg /usr/bin/python3 "$T/named.py" "$T/named" < /dev/null > "$T/named.out" 2>&1
npid=$BG_PID
wait_tick "$T/named.out" 5
nall="$npid $(cat /proc/"$npid"/task/*/children)"
ckpt_ok "$npid" "$T/named.tar.zst" --kill
for p in $nall; do wait_gone "$p"; done
rm -f "$T/named/kept.sock"	# left by the killed listener: restart binds it again
nbefore=$(last_tick "$T/named.out")
restart_detach "$T/named.tar.zst"
wait_tick "$T/named.out" $((nbefore + 20))
touch "$T/named/probe"
wait_for_line "$T/named.out" '^probed$' 10
wait_tick "$T/named.out" $((nbefore + 30))
assert_ticks_consecutive "$T/named.out"
assert_no_corrupt "$T/named.out"
[ -e "$T/named/gone.sock" ] && fail "restart left the removed socket file gone.sock"
say "ok: connections through listeners between processes go on, with their names"

# Datagram clients in children connected to the root's server socket,
# whose file was then removed: after restart each child's datagrams (one
# per tick, numbered) still reach the server, none lost or repeated, and
# the file stays removed.
cat > "$T/dgs.py" <<'PY'
import os, socket, sys, time
d = sys.argv[1]
path = os.path.join(d, "srv.sock")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
srv.bind(path)
r, w = os.pipe()
for k in range(3):
    if os.fork() == 0:
        srv.close()
        os.close(r)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.connect(path)
        os.write(w, b"c")
        os.close(w)
        n = 0
        while True:
            n += 1
            c.send(b"%d %d" % (k, n))
            time.sleep(0.05)
os.close(w)
got = 0
while got < 3:
    b = os.read(r, 3)
    if not b:
        break   # a client died: it is missed below
    got += len(b)
os.close(r)
os.unlink(path)   # once every client is connected
last = {}
n = 0
while True:
    m = srv.recv(64).split()
    k, v = int(m[0]), int(m[1])
    if k in last and v != last[k] + 1:
        print("CORRUPT client %d: %d after %d" % (k, v, last[k]), flush=True)
        sys.exit(3)
    last[k] = v
    if os.path.exists(path):
        print("CORRUPT the removed socket file is back", flush=True)
        sys.exit(3)
    if k == 0:
        n += 1
        print("tick %d %s" % (n, sorted(last.items())), flush=True)
PY
mkdir -p "$T/dgs"
start_bg /usr/bin/python3 "$T/dgs.py" "$T/dgs" < /dev/null > "$T/dgs.out" 2>&1
dpid=$BG_PID
wait_tick "$T/dgs.out" 5
dall="$dpid $(cat /proc/"$dpid"/task/*/children)"
ckpt_ok "$dpid" "$T/dgs.tar.zst" --kill
for p in $dall; do wait_gone "$p"; done
dbefore=$(last_tick "$T/dgs.out")
dlast=$(tail -1 "$T/dgs.out")
restart_detach "$T/dgs.tar.zst"
wait_tick "$T/dgs.out" $((dbefore + 20))
assert_ticks_consecutive "$T/dgs.out"
assert_no_corrupt "$T/dgs.out"
# every client goes on: its count grew by about as much as client 0's
last_line=$(tail -1 "$T/dgs.out")
python3 - "$dlast" "$last_line" <<'PY' || fail "a datagram client did not go on: $dlast -> $last_line"
import ast, sys
a = dict(ast.literal_eval(sys.argv[1].split(" ", 2)[2]))
b = dict(ast.literal_eval(sys.argv[2].split(" ", 2)[2]))
sys.exit(0 if len(b) == 3 and all(b[k] - a.get(k, 0) >= 15 for k in b) else 1)
PY
[ -e "$T/dgs/srv.sock" ] && fail "restart left the removed socket file srv.sock"
say "ok: datagram clients of a server socket of the root go on"

# Refused by name, and the tree keeps running: a named datagram socket of
# a child connected to the root's; a pair between processes with a
# message carrying an fd queued on it.
cat > "$T/refused.py" <<'PY'
import os, socket, sys, time
kind, d = sys.argv[1], sys.argv[2]
if kind == "dgram":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(os.path.join(d, "d.sock"))
    if os.fork() == 0:
        s.close()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.bind(os.path.join(d, "c.sock"))
        c.connect(os.path.join(d, "d.sock"))
        while True:
            time.sleep(0.1)
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
for kind in dgram fds; do
	mkdir -p "$T/$kind"
	start_bg /usr/bin/python3 "$T/refused.py" "$kind" "$T/$kind" > "$T/$kind.out" 2>&1
	rpid=$BG_PID
	wait_for_line "$T/$kind.out" '^tick 3$' 10
	case $kind in
	dgram) want='named datagram socket connected' ;;
	fds) want='carries fds' ;;
	esac
	expect_fail_msg "$want" "$CKPT" "$rpid" -o "$T/$kind.tar.zst"
	assert_target_unharmed "$rpid" "$T/$kind.out" "$T/$kind.tar.zst"
done
pass
