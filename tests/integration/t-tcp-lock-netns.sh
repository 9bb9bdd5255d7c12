#!/bin/bash
# The network lock in a network namespace of its own: a tcpecho server and
# its client (requests without pause) in a namespace made with unshare -n,
# ckpt --kill and restart run there (nsenter -n: ckpt reads inet sockets
# through sock_diag of its own namespace): the lock is in that namespace,
# none in the host's; restart takes it over and removes it, and the
# connection goes on.  Before, a ckpt from outside the namespace, refused,
# locks and unlocks the connection there.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
nft=$(command -v nft || echo /usr/sbin/nft)
[ -x "$nft" ] || skip "nft (nftables) is not installed"
command -v unshare > /dev/null && command -v nsenter > /dev/null && command -v ip > /dev/null ||
	skip "unshare, nsenter or ip missing"

CLIENT=$ROOT/tests/integration/tcpclient.py

port=$(free_port)
# The client is the namespace's first process (it keeps it while the
# server is gone); the server is started in it.
unshare -n sh -c 'ip link set lo up && exec /usr/bin/python3 "$1" 127.0.0.1 "$2" "$3"' sh \
	"$CLIENT" "$port" "$T" > "$T/client.log" 2>&1 < /dev/null &
client=$!
track_pid "$client"
own_netns() { [ "$(readlink "/proc/$client/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }
wait_until 10 own_netns || fail "no network namespace"
start_bg nsenter -t "$client" -n "$PROGS/tcpecho" "$port" > "$T/server.log" 2>&1
pid=$BG_PID
wait_for_line "$T/server.log" '^listening$' 10
wait_until 10 test -e "$T/connected" || fail "client did not connect: $(cat "$T/client.log")"
[ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/$client/ns/net)" ] || fail "the server is elsewhere"

# From outside the namespace ckpt is refused (sock_diag), but only after
# it has locked the connection there (its nft child entered the
# namespace): the lock is removed there, and the server goes on.
expect_fail_msg "network namespace of ckpt" "$CKPT" "$pid" -o "$T/out.img" --kill -v
grep -q "dropping the packets of 127.0.0.1:$port" "$EXPECT_ERR" || fail "no lock was taken: $(cat "$EXPECT_ERR")"
grep -q "let through again" "$EXPECT_ERR" || fail "the lock was not removed: $(cat "$EXPECT_ERR")"
"$nft" list ruleset 2>&1 | grep -q "127.0.0.1 . $port " && fail "the lock went to ckpt's namespace"
if nsenter -t "$client" -n "$nft" list table inet ckpt_lock > "$T/left" 2>&1; then
	fail "the failed ckpt left the lock behind: $(cat "$T/left")"
fi
assert_running "$pid" "server after the failed ckpt"

timeout -k 5 "$CKPT_TIMEOUT" nsenter -t "$client" -n "$CKPT" "$pid" -o "$T/s.tar.zst" --kill \
	> "$T/ckpt.out" 2> "$T/ckpt.err" < /dev/null || fail "ckpt failed: $(cat "$T/ckpt.err")"
wait_gone "$pid"
nsenter -t "$client" -n "$nft" list table inet ckpt_lock > "$T/locked" 2>&1 ||
	fail "no lock in the target's namespace: $(cat "$T/locked")"
grep -q "127.0.0.1 . $port . 127.0.0.1" "$T/locked" || fail "not its connection: $(cat "$T/locked")"
"$nft" list ruleset 2>&1 | grep -q "127.0.0.1 . $port " && fail "the lock is in the host's namespace"
sleep 1
timeout -k 5 "$CKPT_TIMEOUT" nsenter -t "$client" -n "$RESTART" "$T/s.tar.zst" --detach \
	> "$T/restart.out" 2> "$T/restart.err" || fail "restart failed: $(cat "$T/restart.err")"
RESTORED_PID=$(grep -m1 -E '^[0-9]+$' "$T/restart.out")
track_pid "$RESTORED_PID"
if nsenter -t "$client" -n "$nft" list table inet ckpt_lock > "$T/left" 2>&1; then
	fail "restart left the lock behind: $(cat "$T/left")"
fi
touch "$T/done"
wait "$client" || fail "the connection did not survive: $(cat "$T/client.log")"
say "client: $(cat "$T/client.log")"
pass
