#!/bin/bash
# ICMP echo ("ping") sockets: tests/progs/inetsock ping binds one to
# 127.0.0.1 with a chosen echo id, connects it and sets IP_TTL; after
# restart the id and TTL are the same and an echo request gets its reply.
# Ping sockets need the group in net.ipv4.ping_group_range: the test
# allows gid 0 while it runs (root only) and puts the old range back.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog inetsock

range=/proc/sys/net/ipv4/ping_group_range
old=$(cat "$range" 2>/dev/null) || skip "no $range"
if [ "$(id -u)" = 0 ] && printf '0 0\n' > "$range" 2>/dev/null; then
	trap 'rc=$?; printf "%s\n" "$old" > "$range"; (exit $rc); _cleanup' EXIT
fi
port=$(( (RANDOM % 20000) + 20000 ))
start_bg "$PROGS/inetsock" ping "$port" > "$T/ping.log" 2>&1
pid=$BG_PID
wait_for_line "$T/ping.log" '^(ready|skip)$' 10
grep -qx skip "$T/ping.log" && skip "ping sockets are not allowed for this group ($range)"
ckpt_ok "$pid" "$T/ping.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/ping.tar.zst"
kill -USR1 "$pid"
wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/ping.log" ||
	fail "no verdict: $(cat "$T/ping.log")"
grep -qx PASS "$T/ping.log" || fail "$(cat "$T/ping.log")"
pass
