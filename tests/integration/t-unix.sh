#!/bin/bash
# Unix sockets: a socketpair with 100 records queued each way (read on in
# sequence after restart), and listening sockets bound to a path and to an
# abstract name that accept new clients after restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog unixsock
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

start_bg "$PROGS/unixsock" "$T" > "$T/u.log" 2> "$T/u.err"
pid=$BG_PID
wait_tick "$T/u.log" 5
ckpt_ok "$pid" "$T/u.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/u.tar.zst"
last=$(last_tick "$T/u.log")
wait_tick "$T/u.log" $((last + 3))
/usr/bin/python3 - "$T/sock" "ckpt-unixsock-$pid" > "$T/client.log" 2>&1 <<'PY' || fail "client: $(cat "$T/client.log")"
import socket, sys
for addr in (sys.argv[1], "\0" + sys.argv[2]):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(addr)
    print(s.recv(100).decode().strip())
PY
grep -q "hello from path" "$T/client.log" || fail "no answer on the path socket: $(cat "$T/client.log")"
grep -q "hello from abstract" "$T/client.log" || fail "no answer on the abstract socket"
wait_tick "$T/u.log" $((last + 6))
assert_ticks_consecutive "$T/u.log"
pass
