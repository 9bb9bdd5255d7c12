#!/bin/bash
# tree-sockpair: unix socket pairs between processes of a tree
# (socketpair before fork, each process keeping one end) come back
# connected, with the messages queued on them: stream, seqpacket and
# datagram pairs between the root and a child, and a stream pair between
# two children (made by their common ancestor, the root).  Every process
# sends a numbered record every tick and checks that what it reads follows
# on (none lost, repeated or out of order).  A connection between
# processes through a listener is refused by name.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sockpair

start_bg "$PROGS/sockpair" -d "$T" < /dev/null > "$T/sockpair.out" 2> "$T/sockpair.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "sockpair did not get ready"
for n in root child left right; do wait_tick "$T/$n.log" 10; done
all="$pid $(cat /proc/"$pid"/task/*/children)"

ckpt_ok "$pid" "$T/tree.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
declare -A before
for f in "$T"/*.log; do before[$f]=$(last_tick "$f"); done

restart_detach "$T/tree.tar.zst"
for f in "$T"/*.log; do
	wait_tick "$f" $((${before[$f]} + 60))
	assert_ticks_consecutive "$f"
done
assert_no_corrupt "$T"/*.log
pass
