#!/bin/bash
# migrate-tcp: a server moves to another "host" with its address (a
# floating IP) and its connected client keeps its connection.  Three
# network namespaces: A and B (the hosts) and C (the client), veth pairs
# C-A and C-B.  10.9.0.1 is the service address, on A; the client
# (10.9.2.1, in C) sends request after request to tests/progs/tcpecho
# there.  scripts/ckpt-migrate, run in A, checkpoints the server (--kill:
# the network lock in A drops the connection's packets from before it is
# frozen) and streams it to B through --via, which brings 10.9.0.1 up on B,
# restarts the server there (restart takes the lock in B while it rebuilds
# the connection) and only then switches the client's route to B, as a
# failover would.  The client sees no reset, no lost or repeated answer.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog tcpecho
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
command -v nft > /dev/null || skip "nft (nftables) is not installed"
for c in unshare nsenter ip; do
	command -v "$c" > /dev/null || skip "$c is not installed"
done
unshare -n true 2> /dev/null || skip "cannot make a network namespace here"

MIGRATE=$ROOT/scripts/ckpt-migrate
export XDG_CACHE_HOME=$T/cache
port=7341

# One process holds each namespace (they go with it at the end).
netns_holder() {	# netns_holder: a new namespace's holder PID on stdout
	unshare -n sh -c 'ip link set lo up && exec sleep 600' < /dev/null > /dev/null 2>&1 &
	echo $!
}
A=$(netns_holder)
B=$(netns_holder)
track_pid "$A" "$B"
in_ns() { local p=$1; shift; nsenter -t "$p" -n "$@"; }
own_netns() { [ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }
wait_until 5 own_netns "$A" || fail "no namespace for A"
wait_until 5 own_netns "$B" || fail "no namespace for B"

CLIENT=$ROOT/tests/integration/tcpclient.py
unshare -n /usr/bin/python3 "$CLIENT" 10.9.0.1 "$port" "$T" moved net-ready 0.01 < /dev/null > "$T/client.log" 2>&1 &
C=$!
track_pid "$C"
wait_until 5 own_netns "$C" || fail "no namespace for the client"

# C-A and C-B: point-to-point links, /32 routes.
ip link add "ca$$" type veth peer name "ac$$" || fail "cannot make a veth pair"
ip link set "ca$$" netns "$C" && ip link set "ac$$" netns "$A" || fail "cannot move the veths"
ip link add "cb$$" type veth peer name "bc$$" || fail "cannot make a veth pair"
ip link set "cb$$" netns "$C" && ip link set "bc$$" netns "$B" || fail "cannot move the veths"
in_ns "$C" ip link set lo up
in_ns "$C" ip addr add 10.9.2.1/32 dev lo
in_ns "$C" ip link set "ca$$" up
in_ns "$C" ip link set "cb$$" up
in_ns "$C" ip route add 10.9.0.1/32 dev "ca$$" src 10.9.2.1
in_ns "$A" ip link set "ac$$" up
in_ns "$A" ip addr add 10.9.0.1/32 dev "ac$$"
in_ns "$A" ip route add 10.9.2.1/32 dev "ac$$"
in_ns "$B" ip link set "bc$$" up
in_ns "$B" ip route add 10.9.2.1/32 dev "bc$$"

nsenter -t "$A" -n "$PROGS/tcpecho" "$port" 10.9.0.1 > "$T/server.log" 2>&1 < /dev/null &
server=$!
track_pid "$server"
wait_for_line "$T/server.log" '^listening$' 10
touch "$T/net-ready"
wait_until 10 test -e "$T/connected" || fail "the client did not connect: $(cat "$T/client.log")"

# The "other host": the address comes up on B, the server is restarted
# there, then the client's traffic goes to B.
cat > "$T/via.sh" <<SH
#!/bin/sh
nsenter -t $A -n ip addr del 10.9.0.1/32 dev ac$$ || exit 1
nsenter -t $B -n ip addr add 10.9.0.1/32 dev bc$$ || exit 1
nsenter -t $B -n $RESTART - --detach --any-pid --stdout $T/moved.log || exit 1
nsenter -t $C -n ip route replace 10.9.0.1/32 dev cb$$ src 10.9.2.1
SH
chmod +x "$T/via.sh"
timeout -k 5 60 nsenter -t "$A" -n "$MIGRATE" --ckpt "$CKPT" --via "$T/via.sh" "$server" hostb \
	> "$T/migrate.out" 2> "$T/migrate.err" || fail "ckpt-migrate failed: $(cat "$T/migrate.err")"
grep -q "moved PID $server" "$T/migrate.out" || fail "unexpected output: $(cat "$T/migrate.out")"
moved=$(sed -n 's/.*: PID \([0-9]*\) there.*/\1/p' "$T/migrate.out")
track_pid "$moved"
wait_gone "$server"
[ "$(readlink /proc/"$moved"/ns/net)" = "$(readlink /proc/"$B"/ns/net)" ] ||
	fail "the moved server is not in B's network namespace"
touch "$T/moved"
wait "$C" || fail "the client lost its connection: $(cat "$T/client.log")"
grep -q "^OK " "$T/client.log" || fail "client: $(cat "$T/client.log")"
say "moved with its address: $(grep downtime "$T/migrate.out"); client: $(cat "$T/client.log")"
pass
