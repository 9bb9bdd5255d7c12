#!/bin/bash
# A failed ckpt --kill leaves no network lock behind and the server keeps
# serving its client on the same connection: ckpt refused because nft is
# missing (the error names the connection and what to install), a dump
# that fails after the lock was taken (--confirm-fd answered with end of
# file, the image's write failing under tests/faults/failnth.so).  After
# each, `nft list ruleset` holds no ckpt_lock element.  A hold (no --kill)
# nft cannot take: a warning, the image written.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
nft=$(command -v nft || echo /usr/sbin/nft)
[ -x "$nft" ] || skip "nft (nftables) is not installed"
SHIM=$ROOT/tests/faults/failnth.so
[ -f "$SHIM" ] || fail "$SHIM is not built (run make)"

CLIENT=$ROOT/tests/integration/tcpclient.py

no_lock_left() {
	if "$nft" list table inet ckpt_lock > "$T/left" 2>&1 && grep -q elements "$T/left"; then
		fail "$1 left the lock behind: $(cat "$T/left")"
	fi
	"$nft" list ruleset > "$T/ruleset" 2>&1
	grep -q 'elements' "$T/ruleset" && fail "$1 left set elements: $(cat "$T/ruleset")"
	assert_running "$pid" "server after $1"
	assert_not_stopped "$pid" "server after $1"
}

port=$(free_port)
start_bg "$PROGS/tcpecho" "$port" > "$T/server.log" 2>&1
pid=$BG_PID
wait_for_line "$T/server.log" '^listening$' 10
/usr/bin/python3 "$CLIENT" 127.0.0.1 "$port" "$T" > "$T/client.log" 2>&1 &
client=$!
track_pid "$client"
wait_until 10 test -e "$T/connected" || fail "client did not connect: $(cat "$T/client.log")"

# No nft: refused, naming the connection and nftables.
expect_fail_msg "nftables" env CKPT_NFT=/nonexistent/nft "$CKPT" "$pid" -o "$T/a.img" --kill
grep -q "127.0.0.1:$port -> 127.0.0.1:" "$EXPECT_ERR" || fail "the error names no connection: $(cat "$EXPECT_ERR")"
grep -q -- "--no-tcp-lock" "$EXPECT_ERR" || fail "the error names no way on: $(cat "$EXPECT_ERR")"
no_lock_left "ckpt without nft"

# The lock taken, then no confirmation: the process goes on.
expect_fail_msg "no confirmation" "$CKPT" "$pid" -o "$T/b.img" --kill --confirm-fd 3 -v 3< /dev/null
grep -q "dropping the packets of 127.0.0.1:$port" "$EXPECT_ERR" || fail "no lock was taken: $(cat "$EXPECT_ERR")"
tail -n1 "$EXPECT_ERR" | grep -q "no confirmation" || fail "failed otherwise: $(tail -n1 "$EXPECT_ERR")"
no_lock_left "ckpt --confirm-fd refused"

# The lock taken, then the image cannot be written (the first write is
# image's first writev).
expect_fail_msg "writ" env FAIL_CALL=writev FAIL_NTH=1 LD_PRELOAD="$SHIM" \
	"$CKPT" "$pid" -o "$T/c.img" --kill -v
grep -q "dropping the packets of 127.0.0.1:$port" "$EXPECT_ERR" || fail "no lock was taken: $(cat "$EXPECT_ERR")"
say "failed with: $(tail -n1 "$EXPECT_ERR")"
tail -n1 "$EXPECT_ERR" | grep -qi "writ" || fail "failed otherwise: $(tail -n1 "$EXPECT_ERR")"
no_lock_left "ckpt failing to write"

# A checkpoint the process survives, whose hold nft cannot take: the image
# is written (exit 0), with a warning that the connections are not held,
# saying why and not what --kill's lock would want.
printf '#!/bin/sh\necho "nft: netlink: Operation not permitted" >&2\nexit 1\n' > "$T/nft"
chmod +x "$T/nft"
CKPT_NFT=$T/nft ckpt_ok "$pid" "$T/d.img"
grep -q "not held (.*Operation not permitted" "$T/ckpt.err" ||
	fail "no warning that the connections are not held: $(cat "$T/ckpt.err")"
grep -q -- "--no-tcp-lock" "$T/ckpt.err" && fail "the warning names --kill's option: $(cat "$T/ckpt.err")"
say "warns: $(grep -m1 'not held' "$T/ckpt.err")"
no_lock_left "a hold nft could not take"

touch "$T/done"
wait "$client" || fail "the connection did not survive the failed dumps: $(cat "$T/client.log")"
say "client: $(cat "$T/client.log")"
pass
