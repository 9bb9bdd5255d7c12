#!/bin/bash
# The network lock (common/netlock.c): a server under a steady client load
# (a request, its answer, the next one at once, over one connection) is
# checkpointed with --kill into a file, left dead for two seconds, restarted;
# then moved again through a pipe (ckpt --kill -o - | restart -).  The
# client's requests sent while no socket owned the connection are dropped
# by the lock instead of being answered with a reset: the connection goes
# on, every request answered once, in order (tcpecho numbers its lines).
# Without the lock (--no-tcp-lock on both sides) the same run resets the
# connection, which shows the test sees what the lock does.  No lock is
# left behind (nft list ruleset).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
nft=$(command -v nft || echo /usr/sbin/nft)
[ -x "$nft" ] || skip "nft (nftables) is not installed"

CLIENT=$ROOT/tests/integration/tcpclient.py

# run NAME [OPTIONS...]: a server and its client; ckpt --kill to a file,
# a second with no process, restart; with the lock, through a pipe once
# more.  Leaves the client's exit status in CLIENT_RC.
run() {
	local name=$1 port pid client
	shift
	port=$(free_port)
	mkdir -p "$T/$name"
	start_bg "$PROGS/tcpecho" "$port" > "$T/$name/server.log" 2>&1
	pid=$BG_PID
	wait_for_line "$T/$name/server.log" '^listening$' 10
	KEEPALIVE_IDLE=1 /usr/bin/python3 "$CLIENT" 127.0.0.1 "$port" "$T/$name" > "$T/$name/client.log" 2>&1 &
	client=$!
	track_pid "$client"
	wait_until 10 test -e "$T/$name/connected" || fail "client did not connect: $(cat "$T/$name/client.log")"
	ckpt_ok "$pid" "$T/$name/s.tar.zst" --kill "$@"
	wait_gone "$pid"
	if [ $# = 0 ]; then
		"$nft" list table inet ckpt_lock > "$T/$name/locked" 2>&1 ||
			fail "no lock after ckpt --kill: $(cat "$T/$name/locked")"
	fi
	# The client's request meanwhile, or (when the server's host had
	# acknowledged it before the freeze) its keepalive probe after a
	# second of silence, finds no socket.
	sleep 2
	if [ $# = 0 ]; then
		# No nft for restart: refused (it could not lift ckpt's lock),
		# nothing started, ckpt's lock still in place.
		expect_fail_msg "nftables" env CKPT_NFT=/nonexistent/nft "$RESTART" \
			"$T/$name/s.tar.zst" --detach
		proc_alive "$pid" && fail "restart without nft started the process"
		"$nft" list table inet ckpt_lock 2>&1 | grep -q elements ||
			fail "restart without nft removed ckpt's lock"
	fi
	restart_detach "$T/$name/s.tar.zst" "$@"
	if [ $# = 0 ]; then
		pipe_migrate "$pid"
	fi
	touch "$T/$name/done"
	wait "$client"
	CLIENT_RC=$?
	say "$name: client: $(cat "$T/$name/client.log")"
	kill_wait "$RESTORED_PID"
}

# Without the lock: reset (the test would see a missing lock).
run nolock --no-tcp-lock
[ "$CLIENT_RC" != 0 ] || fail "without the lock the connection survived: the test proves nothing"
grep -qE '^(RESET|CLOSED)' "$T/nolock/client.log" || fail "without the lock: $(cat "$T/nolock/client.log")"

# With it: no reset, no request lost or answered twice.
run lock
[ "$CLIENT_RC" = 0 ] || fail "with the lock the connection did not survive: $(cat "$T/lock/client.log")"
grep -q '^OK ' "$T/lock/client.log" || fail "client: $(cat "$T/lock/client.log")"
grep -q 'dport' "$T/lock/locked" || fail "the lock had no rule: $(cat "$T/lock/locked")"
no_table() {
	if "$nft" list table inet ckpt_lock > "$T/left" 2>&1; then
		grep -q 'elements' "$T/left" && fail "$1 left the lock behind: $(cat "$T/left")"
		fail "$1 left the lock's table behind: $(cat "$T/left")"
	fi
}
no_table restart

# A restart that fails after taking the lock (its first ptrace call fails)
# removes it once everything it made is killed: the client then sees the
# reset of a connection nobody owns (the process is gone).
port=$(free_port)
mkdir -p "$T/fail"
start_bg "$PROGS/tcpecho" "$port" > "$T/fail/server.log" 2>&1
pid=$BG_PID
wait_for_line "$T/fail/server.log" '^listening$' 10
/usr/bin/python3 "$CLIENT" 127.0.0.1 "$port" "$T/fail" > "$T/fail/client.log" 2>&1 &
client=$!
track_pid "$client"
wait_until 10 test -e "$T/fail/connected" || fail "client did not connect: $(cat "$T/fail/client.log")"
ckpt_ok "$pid" "$T/fail/s.tar.zst" --kill
wait_gone "$pid"
before=$(candidate_procs)
expect_fail_msg "attaching" env FAIL_CALL=ptrace FAIL_NTH=1 LD_PRELOAD="$ROOT/tests/faults/failnth.so" \
	"$RESTART" "$T/fail/s.tar.zst" --detach -v
grep -q "dropping the packets of 127.0.0.1:$port" "$EXPECT_ERR" || fail "restart took no lock: $(cat "$EXPECT_ERR")"
assert_no_new_procs "$before"
no_table "a failed restart"
wait "$client" && fail "the client went on with no server"
say "fail: client: $(cat "$T/fail/client.log")"
pass
