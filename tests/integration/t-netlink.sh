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

selfcheck state "$PROGS/nlsock" state
selfcheck_refused queued "a message is waiting on it" "$PROGS/nlsock" queued
pass
