#!/bin/bash
# A unix socket connected to ANOTHER process: saved as an external end by
# default (restart --inherit-fd, t-extfd.sh), the client unharmed; with
# --ext-unix it records the peer's path and restart connects again, so the
# restored client (python3) goes on talking to the same server.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

cat > "$T/server.py" <<'PY'
import os, socket, sys, threading
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(5)
print("listening", flush=True)
def serve(c):
    f = c.makefile("rw")
    for line in f:
        f.write("echo " + line)
        f.flush()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
cat > "$T/client.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
n = 0
while True:
    n += 1
    s.sendall(b"%d\n" % n)
    got = s.recv(100)
    if got != b"echo %d\n" % n:
        print("CORRUPT got %r for %d" % (got, n), flush=True)
        raise SystemExit(3)
    print("tick", n, "ok", flush=True)
    time.sleep(0.1)
PY
start_bg /usr/bin/python3 "$T/server.py" "$T/ext.sock" > "$T/server.log" 2>&1
wait_for_line "$T/server.log" '^listening$' 10
start_bg /usr/bin/python3 "$T/client.py" "$T/ext.sock" > "$T/client.log" 2>&1
pid=$BG_PID
wait_tick "$T/client.log" 3
# Without --ext-unix: an external end (t-extfd.sh), the client unharmed.
ckpt_ok "$pid" "$T/x.tar.zst"
assert_progress "$T/client.log"
"$CKPT" info "$T/x.tar.zst" | grep -q ' extunix .*connected to .*ext.sock outside the checkpoint' ||
	fail "the socket is not an external end: $("$CKPT" info "$T/x.tar.zst" | grep unix)"
ckpt_ok "$pid" "$T/c.tar.zst" --kill --ext-unix
wait_gone "$pid"
restart_detach "$T/c.tar.zst"
last=$(last_tick "$T/client.log")
wait_tick "$T/client.log" $((last + 5))
assert_ticks_consecutive "$T/client.log"
pass
