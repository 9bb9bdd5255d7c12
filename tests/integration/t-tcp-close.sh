#!/bin/bash
# restart --tcp-close: an established connection comes back closed; the
# server (tests/progs/tcpecho) sees an ordinary error on it, drops it and
# serves the next client on its restored listening socket.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

port=$(free_port)
start_bg "$PROGS/tcpecho" "$port" > "$T/server.log" 2>&1
pid=$BG_PID
wait_for_line "$T/server.log" '^listening$' 10
exec 3<> "/dev/tcp/127.0.0.1/$port" || fail "cannot connect"
echo one >&3
read -r -t 5 answer <&3 || fail "no answer"
[ "$answer" = "1 one" ] || fail "unexpected answer '$answer'"
ckpt_ok "$pid" "$T/s.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/s.tar.zst" --tcp-close
wait_for_line "$T/server.log" '^CLOSED ' 10
exec 3>&-
/usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"two\n")
print(s.recv(100).decode().strip())' "$port" > "$T/client.log" 2>&1 || fail "new client: $(cat "$T/client.log")"
grep -qx "2 two" "$T/client.log" || fail "the listener did not serve a new client: $(cat "$T/client.log")"
pass
