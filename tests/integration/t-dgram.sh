#!/bin/bash
# Datagram sockets: a python3 server with a UDP socket bound to 127.0.0.1
# and a unix datagram socket bound to a path answers datagrams; after
# checkpoint --kill and restart both sockets are bound again and answer.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

port=$(free_port)
cat > "$T/server.py" <<'PY'
import os, select, socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
x.bind(path)
print("ready", flush=True)
n = 0
while True:
    r, _, _ = select.select([u, x], [], [])
    for s in r:
        data, peer = s.recvfrom(100)
        n += 1
        if peer:
            s.sendto(b"%d %s" % (n, data), peer)
        print("got", data.decode(), flush=True)
PY
cat > "$T/client.py" <<'PY'
import os, socket, sys
port, path, tdir, word = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
u.sendto(("udp-" + word).encode(), ("127.0.0.1", port))
print(u.recvfrom(100)[0].decode())
x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
x.bind(os.path.join(tdir, "client-" + word))
x.settimeout(5)
x.sendto(("unix-" + word).encode(), path)
print(x.recvfrom(100)[0].decode())
PY
start_bg /usr/bin/python3 "$T/server.py" "$port" "$T/dgram.sock" > "$T/server.log" 2>&1
pid=$BG_PID
wait_for_line "$T/server.log" '^ready$' 10
/usr/bin/python3 "$T/client.py" "$port" "$T/dgram.sock" "$T" before > "$T/c1.log" 2>&1 ||
	fail "client before: $(cat "$T/c1.log")"
ckpt_ok "$pid" "$T/s.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/s.tar.zst"
/usr/bin/python3 "$T/client.py" "$port" "$T/dgram.sock" "$T" after > "$T/c2.log" 2>&1 ||
	fail "client after restart: $(cat "$T/c2.log")"
grep -qx "3 udp-after" "$T/c2.log" || fail "UDP answer: $(cat "$T/c2.log")"
grep -qx "4 unix-after" "$T/c2.log" || fail "unix datagram answer: $(cat "$T/c2.log")"
pass
