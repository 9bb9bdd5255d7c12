#!/bin/bash
# A real server: Debian's memcached (8 threads, epoll, eventfds, pipes, a
# listening socket) is loaded with 200 keys by a client that stays
# connected; it is checkpointed with --kill and restarted.  On the SAME
# connection the client reads every key back and stores more (TCP_REPAIR:
# no reset, no byte lost), and a new client can connect to the listener.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
MEMCACHED=$(command -v memcached) || skip "memcached is not installed"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

port=$(free_port)
start_bg "$MEMCACHED" -u root -l 127.0.0.1 -p "$port" -t 4 > "$T/mc.log" 2>&1
pid=$BG_PID

cat > "$T/client.py" <<'PY'
import os, socket, sys, time
port, tdir = int(sys.argv[1]), sys.argv[2]
def connect():
    for _ in range(100):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            time.sleep(0.05)
    raise SystemExit("cannot connect")
def cmd(s, text, until):
    s.sendall(text.encode())
    got = b""
    while not got.endswith(until):
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed by the server: %r" % got[-100:])
        got += chunk
    return got.decode()
s = connect()
for i in range(200):
    v = ("value-%d-" % i) * 10
    assert cmd(s, "set key%d 0 0 %d\r\n%s\r\n" % (i, len(v), v), b"\r\n") == "STORED\r\n"
print("loaded", flush=True)
open(os.path.join(tdir, "loaded"), "w").close()
while not os.path.exists(os.path.join(tdir, "restarted")):
    time.sleep(0.05)
for i in range(200):
    v = ("value-%d-" % i) * 10
    got = cmd(s, "get key%d\r\n" % i, b"END\r\n")
    if v not in got:
        raise SystemExit("key%d lost: %r" % (i, got))
assert cmd(s, "set after 0 0 2\r\nok\r\n", b"\r\n") == "STORED\r\n"
print("same connection ok", flush=True)
s2 = connect()
assert "ok" in cmd(s2, "get after\r\n", b"END\r\n")
print("new connection ok", flush=True)
PY
/usr/bin/python3 "$T/client.py" "$port" "$T" > "$T/client.log" 2>&1 &
client=$!
track_pid "$client"
wait_for_line "$T/client.log" '^loaded$' 20
wait_tcp_acked "$port"
ckpt_ok "$pid" "$T/mc.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/mc.tar.zst"
touch "$T/restarted"
wait_for_line "$T/client.log" '^new connection ok$' 20
wait "$client" || fail "client failed: $(cat "$T/client.log")"
pass
