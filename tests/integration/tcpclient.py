"""A TCP client for the network tests (t-tcp-lock*, t-migrate-tcp): asks
tests/progs/tcpecho "req N" without pause, checks every answer "N req N".

usage: tcpclient.py HOST PORT DIR [DONE [START [PAUSE]]]
Waits for DIR/START (if given) before connecting (connection refused is
retried for 5 s: the server may still be starting), touches DIR/connected
after the first answer, and ends 20 requests after DIR/DONE (default
"done") appears: "OK N requests, longest wait S s", exit 0.  Otherwise one
line and exit 3 (end of file), 4 (a wrong answer), 5 (reset), 6 (timeout).
With KEEPALIVE_IDLE=S in the environment the connection sends TCP
keepalive probes after S idle seconds, one a second: a client waiting for
an answer then still sends a segment that meets the server's host while
no socket owns the connection, even when its request was already
acknowledged (t-tcp-lock's run without the lock must see that reset).
"""
import os, socket, sys, time

host, port, tdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
done = os.path.join(tdir, sys.argv[4] if len(sys.argv) > 4 else "done")
start = sys.argv[5] if len(sys.argv) > 5 else ""
pause = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
while start and not os.path.exists(os.path.join(tdir, start)):
    time.sleep(0.02)
for i in range(100):
    try:
        s = socket.create_connection((host, port), timeout=60)
        break
    except ConnectionRefusedError:
        if i == 99:
            raise
        time.sleep(0.05)
if os.environ.get("KEEPALIVE_IDLE"):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, int(os.environ["KEEPALIVE_IDLE"]))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 120)
f = s.makefile("r")
n, done_at, longest = 0, None, 0.0
try:
    while True:
        n += 1
        t0 = time.monotonic()
        s.sendall(b"req %d\n" % n)
        line = f.readline()
        longest = max(longest, time.monotonic() - t0)
        if not line:
            print("CLOSED (end of file) at request %d" % n, flush=True)
            raise SystemExit(3)
        if line.strip() != "%d req %d" % (n, n):
            print("MISMATCH at request %d: %r" % (n, line), flush=True)
            raise SystemExit(4)
        if n == 1:
            open(os.path.join(tdir, "connected"), "w").close()
        if done_at is None and os.path.exists(done):
            done_at = n
        if done_at is not None and n >= done_at + 20:
            break
        if pause:
            time.sleep(pause)
except ConnectionResetError:
    print("RESET at request %d" % n, flush=True)
    raise SystemExit(5)
except socket.timeout:
    print("TIMEOUT at request %d" % n, flush=True)
    raise SystemExit(6)
print("OK %d requests, longest wait %.2f s" % (n, longest), flush=True)
