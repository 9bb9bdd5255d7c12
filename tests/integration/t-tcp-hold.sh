#!/bin/bash
# tcp-hold: a checkpoint that leaves the process running holds its TCP
# connections for a while (ckpt --tcp-hold, default 10 s): a server
# (tests/progs/tcpecho) with a client connected is checkpointed, then
# killed (a crash), then restarted from the image; the client sees no FIN
# and no reset meanwhile, and the same connection goes on (the server's
# line counter continues).  restart ends the hold (no element left).
# With --tcp-hold 0 the same kill reaches the client as the end of the
# connection: what the hold is for.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
command -v nft > /dev/null || skip "nft (nftables) is not installed"

cat > "$T/client.py" <<'PY'
import os, select, socket, sys
port, tdir = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
def ask(text):
    s.sendall(text.encode())
    return s.recv(4096).decode().strip()
print(ask("one\n"), flush=True)
open(os.path.join(tdir, "connected"), "w").close()
while not os.path.exists(os.path.join(tdir, "restarted")):
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        print("ENDED the server closed or reset: %r" % s.recv(100), flush=True)
        raise SystemExit(3)
print(ask("two\n"), flush=True)
print(ask("three\n"), flush=True)
PY

# run_case NAME [CKPT OPTIONS]: the client's exit status in CLIENT_RC.
run_case() {
	local name=$1 port pid client
	shift
	rm -f "$T/connected" "$T/restarted"
	port=$(free_port)
	start_bg "$PROGS/tcpecho" "$port" > "$T/$name.server.log" 2>&1
	pid=$BG_PID
	wait_for_line "$T/$name.server.log" '^listening$' 10
	/usr/bin/python3 "$T/client.py" "$port" "$T" > "$T/$name.client.log" 2>&1 &
	client=$!
	track_pid "$client"
	wait_until 10 test -e "$T/connected" || fail "client did not connect: $(cat "$T/$name.client.log")"
	wait_tcp_acked "$port"
	ckpt_ok "$pid" "$T/$name.tar.zst" "$@"
	kill -KILL "$pid"
	wait_gone "$pid"
	sleep 0.5	# the client would see the end by now
	if ! proc_alive "$client"; then
		CLIENT_RC=ended
		return
	fi
	restart_detach "$T/$name.tar.zst"
	touch "$T/restarted"
	CLIENT_RC=0
	wait "$client" || CLIENT_RC=$?
	HELD_PORT=$port
	kill_wait "$RESTORED_PID"
}

run_case held
[ "$CLIENT_RC" = 0 ] || fail "the client saw the connection end ($CLIENT_RC): $(cat "$T/held.client.log")"
grep -qx "2 two" "$T/held.client.log" && grep -qx "3 three" "$T/held.client.log" ||
	fail "the connection did not continue: $(cat "$T/held.client.log")"
if nft list table inet ckpt_lock 2> /dev/null | grep -q "\. $HELD_PORT "; then
	fail "restart left the hold in place: $(nft list table inet ckpt_lock)"
fi
say "ok: checkpoint, crash, restart: the connection goes on"

run_case unheld --tcp-hold 0
[ "$CLIENT_RC" = ended ] || fail "without a hold the client should have seen the end (got: $CLIENT_RC)"
grep -q "^ENDED" "$T/unheld.client.log" || fail "client log: $(cat "$T/unheld.client.log")"
say "ok: with --tcp-hold 0 the kill ends the connection for the client"

expect_fail_msg "tcp-hold takes seconds" "$CKPT" 1 -o "$T/x.tar.zst" --tcp-hold -1
pass
