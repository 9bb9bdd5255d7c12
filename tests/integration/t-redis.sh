#!/bin/bash
# Debian's redis-server (threads, epoll, a self-pipe, listening sockets on
# IPv4 and IPv6-only) is loaded with 100 keys by a client that stays
# connected, checkpointed with --kill and restarted: on the same
# connection GET and DBSIZE answer as before, and redis-cli connects anew.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
REDIS=$(command -v redis-server) || skip "redis-server is not installed"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

port=$(free_port)
start_bg "$REDIS" --port "$port" --save '' --appendonly no --daemonize no \
	--dir "$T" > "$T/redis.log" 2>&1
pid=$BG_PID
cat > "$T/client.py" <<'PY'
import os, socket, sys, time
port, tdir = int(sys.argv[1]), sys.argv[2]
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        break
    except OSError:
        time.sleep(0.05)
def cmd(*a):
    s.sendall(("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x), x) for x in a)).encode())
    got = b""
    while not got.endswith(b"\r\n") or (got.startswith(b"$") and got.count(b"\r\n") < 2):
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed by the server")
        got += chunk
    return got
for i in range(100):
    assert cmd("SET", "k%d" % i, "v%d" % i) == b"+OK\r\n"
print("loaded", flush=True)
open(os.path.join(tdir, "loaded"), "w").close()
while not os.path.exists(os.path.join(tdir, "restarted")):
    time.sleep(0.05)
assert cmd("GET", "k42") == b"$3\r\nv42\r\n", "GET k42"
assert cmd("DBSIZE") == b":100\r\n", "DBSIZE"
print("same connection ok", flush=True)
PY
/usr/bin/python3 "$T/client.py" "$port" "$T" > "$T/client.log" 2>&1 &
client=$!
track_pid "$client"
wait_for_line "$T/client.log" '^loaded$' 20
wait_tcp_acked "$port"
ckpt_ok "$pid" "$T/redis.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/redis.tar.zst"
touch "$T/restarted"
wait "$client" || fail "client failed: $(cat "$T/client.log")"
if command -v redis-cli > /dev/null; then
	[ "$(redis-cli -p "$port" DBSIZE)" = 100 ] || fail "a new client does not see the 100 keys"
fi
pass
