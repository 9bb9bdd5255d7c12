#!/bin/bash
# TCP_REPAIR on our own small server: a client connected to tests/progs/
# tcpecho sends a line, the server is checkpointed with --kill (the client
# sees no FIN or reset meanwhile, and the connection leaves nothing on the
# host: it ended in repair mode), restarted, and the same connection goes
# on: the server's line counter continues (2, 3 ...) and the listening
# socket accepts a second client.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

port=$(free_port)
start_bg "$PROGS/tcpecho" "$port" > "$T/server.log" 2>&1
pid=$BG_PID
wait_for_line "$T/server.log" '^listening$' 10
cat > "$T/client.py" <<'PY'
import os, select, socket, sys, time
port, tdir = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
def ask(text):
    s.sendall(text.encode())
    return s.recv(4096).decode().strip()
print(ask("one\n"), flush=True)
open(os.path.join(tdir, "connected"), "w").close()
while not os.path.exists(os.path.join(tdir, "restarted")):
    # No FIN or reset may arrive while the server is down.
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        print("CORRUPT the server closed or reset: %r" % s.recv(100), flush=True)
        raise SystemExit(3)
print(ask("two\n"), flush=True)
print(ask("three\n"), flush=True)
s.close()	# tcpecho serves one client at a time
s2 = socket.create_connection(("127.0.0.1", port), timeout=10)
s2.sendall(b"four\n")
print("second client:", s2.recv(100).decode().strip(), flush=True)
PY
/usr/bin/python3 "$T/client.py" "$port" "$T" > "$T/client.log" 2>&1 &
client=$!
track_pid "$client"
wait_until 10 test -e "$T/connected" || fail "client did not connect: $(cat "$T/client.log")"
wait_tcp_acked "$port"
ckpt_ok "$pid" "$T/s.tar.zst" --kill
wait_gone "$pid"
# Ended in repair mode, its connection left nothing behind (out of repair
# mode, its close would have left it in FIN_WAIT1, sending FINs).
left=$(ss -tanH "( sport = :$port )" | grep -v LISTEN || true)
[ -z "$left" ] || fail "the killed server left its connection behind: $left"
sleep 0.3
restart_detach "$T/s.tar.zst"
touch "$T/restarted"
wait "$client" || fail "client failed: $(cat "$T/client.log")"
if ! grep -qx "2 two" "$T/client.log" || ! grep -qx "3 three" "$T/client.log"; then
	fail "the connection did not continue: $(cat "$T/client.log")"
fi
grep -qx "second client: 4 four" "$T/client.log" || fail "the listener did not accept: $(cat "$T/client.log")"
pass
