#!/bin/bash
# tcp-hold: a checkpoint that leaves the process running holds its TCP
# connections for a while (ckpt --tcp-hold, default 10 s): a server
# (tests/progs/tcpecho) with a client connected is checkpointed, then
# killed (a crash), then restarted from the image; the client sees no FIN
# and no reset meanwhile, and the same connection goes on (the server's
# line counter continues).  restart ends the hold (no element left).
# "busy": the client sends a line after the checkpoint, before the kill:
# the hold keeps it from the running server (whose answer the image could
# not know of: the restored server would wait for bytes the client had
# seen acknowledged, and the connection would hang), and the restored
# server answers it.  "paused": a server that goes on running answers
# that line once the hold ends by itself.  "failed": a checkpoint whose
# image cannot be written (-o /dev/full) fails after the hold was taken,
# and lifts it at once: the server, running, answers.  With --tcp-hold 0
# the same kill reaches the client as the end of the connection: what the
# hold is for.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
command -v nft > /dev/null || skip "nft (nftables) is not installed"

cat > "$T/client.py" <<'PY'
import os, select, socket, sys
port, tdir, busy = int(sys.argv[1]), sys.argv[2], sys.argv[3:] == ["busy"]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
def ask(text):
    s.sendall(text.encode())
    return s.recv(4096).decode().strip()
def wait_for(name):
    while not os.path.exists(os.path.join(tdir, name)):
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            print("ENDED the server closed or reset: %r" % s.recv(100), flush=True)
            raise SystemExit(3)
print(ask("one\n"), flush=True)
open(os.path.join(tdir, "connected"), "w").close()
if busy:
    wait_for("checkpointed")
    s.sendall(b"two\n")
    open(os.path.join(tdir, "sent"), "w").close()
    print(s.recv(4096).decode().strip(), flush=True)
else:
    wait_for("restarted")
    print(ask("two\n"), flush=True)
print(ask("three\n"), flush=True)
PY

# run_case NAME MODE [CKPT OPTIONS]: the client's exit status in CLIENT_RC.
# MODE kill: killed after the checkpoint, restarted; run: it goes on.
run_case() {
	local name=$1 mode=$2 port pid client
	shift 2
	rm -f "$T/connected" "$T/checkpointed" "$T/sent" "$T/restarted"
	port=$(free_port)
	start_bg "$PROGS/tcpecho" "$port" > "$T/$name.server.log" 2>&1
	pid=$BG_PID
	wait_for_line "$T/$name.server.log" '^listening$' 10
	/usr/bin/python3 "$T/client.py" "$port" "$T" "$([ "$name" = held ] || [ "$name" = unheld ] ||
		[ "$name" = failed ] || echo busy)" > "$T/$name.client.log" 2>&1 &
	client=$!
	track_pid "$client"
	wait_until 10 test -e "$T/connected" || fail "client did not connect: $(cat "$T/$name.client.log")"
	wait_tcp_acked "$port"
	HELD_PORT=$port
	if [ "$mode" = fail ]; then
		# The hold is taken at the freeze; the write fails after it.
		expect_fail_msg "No space left on device" "$CKPT" "$pid" -o /dev/full "$@"
		no_hold_left "the failed checkpoint"
		touch "$T/restarted"
		wait_until 3 proc_dead "$client" ||
			fail "the connection is still held after the failed checkpoint: $(cat "$T/$name.client.log")"
		CLIENT_RC=0
		wait "$client" || CLIENT_RC=$?
		kill_wait "$pid"
		return
	fi
	ckpt_ok "$pid" "$T/$name.tar.zst" "$@"
	touch "$T/checkpointed"
	if [ "$mode" = run ]; then
		CLIENT_RC=0
		wait "$client" || CLIENT_RC=$?
		kill_wait "$pid"
		return
	fi
	if [ "$name" = busy ]; then
		wait_until 10 test -e "$T/sent" || fail "the client did not send: $(cat "$T/$name.client.log")"
		sleep 0.3	# what the running server would answer by now
	fi
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
	kill_wait "$RESTORED_PID"
}

# no_hold_left: restart (or the hold's end) left no element of the port.
no_hold_left() {
	if nft list table inet ckpt_lock 2> /dev/null | grep -q "\. $HELD_PORT "; then
		fail "$1 left the hold in place: $(nft list table inet ckpt_lock)"
	fi
}

# went_on NAME WHAT: the client of case NAME got its answers "2 two" and
# "3 three" on its one connection, and no hold is left.
went_on() {
	local log=$T/$1.client.log
	[ "$CLIENT_RC" = 0 ] || fail "$1: the connection did not go on ($CLIENT_RC): $(cat "$log")"
	grep -qx "2 two" "$log" && grep -qx "3 three" "$log" ||
		fail "$1: the server did not answer every line: $(cat "$log")"
	no_hold_left "$2"
}

run_case held kill
went_on held restart
say "ok: checkpoint, crash, restart: the connection goes on"

run_case busy kill
went_on busy restart
say "ok: a line sent after the checkpoint is answered by the restored server"

run_case paused run --tcp-hold 2
went_on paused "the end of the hold"
say "ok: a server that goes on running answers once the hold ends"

if [ -c /dev/full ]; then
	run_case failed fail
	went_on failed "the failed checkpoint"
	say "ok: a checkpoint that fails after the freeze lets the connection go on at once"
fi

run_case unheld kill --tcp-hold 0
[ "$CLIENT_RC" = ended ] || fail "without a hold the client should have seen the end (got: $CLIENT_RC)"
grep -q "^ENDED" "$T/unheld.client.log" || fail "client log: $(cat "$T/unheld.client.log")"
say "ok: with --tcp-hold 0 the kill ends the connection for the client"

expect_fail_msg "tcp-hold takes seconds" "$CKPT" 1 -o "$T/x.tar.zst" --tcp-hold -1
pass
