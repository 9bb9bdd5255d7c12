#!/bin/bash
# Netlink sockets, checked by tests/progs/nlsock itself after restart: a
# NETLINK_ROUTE socket keeps the port id it was bound to, its multicast
# groups (one above 32, joined with NETLINK_ADD_MEMBERSHIP) and options,
# and gets the kernel's reply to a request; an autobound one keeps the
# port id the kernel gave it; a NETLINK_USERSOCK socket connected to
# another of the process still reaches it.  Refused by name, the target
# going on unharmed: a socket with a reply of the kernel waiting.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog nlsock

start_bg "$PROGS/nlsock" state > "$T/state.log" 2>&1
pid=$BG_PID
wait_for_line "$T/state.log" '^ready$' 10
ckpt_ok "$pid" "$T/state.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/state.tar.zst"
kill -USR1 "$pid"
wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/state.log" || fail "no verdict: $(cat "$T/state.log")"
grep -qx PASS "$T/state.log" || fail "$(cat "$T/state.log")"
say "ok: state"

start_bg "$PROGS/nlsock" queued > "$T/queued.log" 2>&1
pid=$BG_PID
wait_for_line "$T/queued.log" '^ready$' 10
expect_fail_msg "a message is waiting on it" "$CKPT" "$pid" -o "$T/queued.tar.zst"
assert_running "$pid" "target of the refused ckpt"
[ -e "$T/queued.tar.zst" ] && fail "the refused ckpt left an image"
kill -USR1 "$pid"
wait_until 10 grep -qx PASS "$T/queued.log" || fail "queued: the target was harmed: $(cat "$T/queued.log")"
pass
