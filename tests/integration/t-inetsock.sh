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

one() { selfcheck "$1" "$PROGS/inetsock" "$1" "$(free_port)"; }

one opts
one shutdown
one tcpbuf
one closewait
one finwait
one ended
one raw
one filter

refused() { selfcheck_refused "$1" "$2" "$PROGS/inetsock" "$1" "$(free_port)"; }

refused udpqueue "datagrams are queued on it"
refused udpcork "data is corked on it"
pass
