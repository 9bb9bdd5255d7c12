#!/bin/bash
# Inet socket state, checked by tests/progs/inetsock itself after restart:
# socket options of TCP, UDP, UDP-Lite, IPv6 and unix sockets (priority,
# mark, keepalive timers, linger, timeouts, buffer sizes, TOS/TTL, v6only,
# bound device, congestion control, SO_PASSCRED ...); shutdown(SHUT_RD /
# SHUT_WR) of UDP and TCP sockets; a TCP connection with both ends in the
# process and every queue full, sharing its port with a listener of a
# higher fd (binds with SO_REUSEADDR, repair mode left once both ends
# exist); an accepted connection whose peer closed (CLOSE_WAIT) reads
# its last bytes, then end of file; a connection of the process with one
# end shut down for writing (FIN_WAIT2 / CLOSE_WAIT) half-open as it was;
# connections that ended (both FINs, a reset) while held, TCP_CLOSE with
# their addresses, as they were (ckpt refused them before); raw IP
# sockets (ICMP with ICMP_FILTER, bound and connected; UDP with
# IP_HDRINCL; IPv6 with IPV6_CHECKSUM) keep their options and addresses,
# and the ICMP one still gets the reply to an echo request it sends.
# A classic BPF socket filter, locked, filters the same after restart.
# Refused by name, the target going on
# unharmed: a UDP socket with a datagram waiting, one with corked data.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog inetsock

one() {
	local mode=$1 port pid
	port=$(free_port)
	start_bg "$PROGS/inetsock" "$mode" "$port" > "$T/$mode.log" 2>&1
	pid=$BG_PID
	wait_for_line "$T/$mode.log" '^ready$' 10
	ckpt_ok "$pid" "$T/$mode.tar.zst" --kill
	wait_gone "$pid"
	restart_detach "$T/$mode.tar.zst"
	kill -USR1 "$pid"
	wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/$mode.log" ||
		fail "$mode: no verdict: $(cat "$T/$mode.log")"
	grep -qx PASS "$T/$mode.log" || fail "$mode: $(cat "$T/$mode.log")"
	say "ok: $mode"
}

one opts
one shutdown
one tcpbuf
one closewait
one finwait
one ended
one raw
one filter

refused() {
	local mode=$1 msg=$2 port pid
	port=$(free_port)
	start_bg "$PROGS/inetsock" "$mode" "$port" > "$T/$mode.log" 2>&1
	pid=$BG_PID
	wait_for_line "$T/$mode.log" '^ready$' 10
	expect_fail_msg "$msg" "$CKPT" "$pid" -o "$T/$mode.tar.zst"
	assert_running "$pid" "target of the refused ckpt"
	[ -e "$T/$mode.tar.zst" ] && fail "the refused ckpt left an image"
	kill -USR1 "$pid"
	wait_until 10 grep -qx PASS "$T/$mode.log" || fail "$mode: the target was harmed: $(cat "$T/$mode.log")"
}

refused udpqueue "datagrams are queued on it"
refused udpcork "data is corked on it"
pass
