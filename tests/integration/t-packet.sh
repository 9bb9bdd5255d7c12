#!/bin/bash
# Packet sockets, checked by tests/progs/pktsock itself after restart: one
# bound to lo for IP packets, with options and a membership added twice;
# one in a fanout group; an unbound one with PACKET_VERSION: the same
# bindings, options and memberships (lo's allmulti count) after restart,
# and the first still
# receives the IP packets of lo.  Rings not mapped (TPACKET_V2 receive and
# transmit, TPACKET_V3 receive with a private area): of the same shape
# after restart, and frames land in them once mapped.  Mapped rings: the
# mapping of the socket where it was, frames landing in it; refused by
# name, the target unharmed: rings mapped only in part.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog pktsock
[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_RAW)"

# A packet socket's all-multicast membership counts once in its
# interface's allmulti, however many times it was added.
allmulti() { ip -d link show lo | grep -o 'allmulti [0-9]*' | cut -d' ' -f2; }
base=$(allmulti)
[ -n "$base" ] || skip "ip does not show the allmulti count of lo"

port=$(free_port)
start_bg "$PROGS/pktsock" state "$port" > "$T/state.log" 2>&1
pid=$BG_PID
wait_for_line "$T/state.log" '^ready$' 10
[ "$(allmulti)" = $((base + 1)) ] || fail "lo's allmulti is $(allmulti) with pktsock, not $((base + 1))"
ckpt_ok "$pid" "$T/state.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/state.tar.zst"
[ "$(allmulti)" = $((base + 1)) ] || fail "after restart lo's allmulti count is $(allmulti), not $((base + 1)): the membership was not added again"
kill -USR1 "$pid"
wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/state.log" || fail "no verdict: $(cat "$T/state.log")"
grep -qx PASS "$T/state.log" || fail "$(cat "$T/state.log")"
say "ok: state"

selfcheck rings "$PROGS/pktsock" ring "$port"
selfcheck mapped "$PROGS/pktsock" mapped "$port"
selfcheck_refused partial "only a part of the socket's rings is mapped there" \
	"$PROGS/pktsock" partial "$port"
pass
