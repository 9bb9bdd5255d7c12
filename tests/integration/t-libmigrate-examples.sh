#!/bin/bash
# libmigrate's examples (docs/examples), linked with libmigrate.so:
# - agent visits three "hosts" -- each a UTS and mount namespace made by
#   unshare, with its own hostname and its own version of a file bind-mounted
#   on the path the agent reads -- and comes home (nsenter into this
#   test's namespaces) with each host's name and the file's hash; one more
#   host that fails is noted as unreachable and the trip goes on;
# - split counts the primes below 400000 with a clone of itself doing half
#   of the work, and gets the known total (33860).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
EX=$ROOT/docs/examples
[ -x "$EX/agent" ] && [ -x "$EX/split" ] || fail "docs/examples are not built (run make)"
export MIGRATE_CKPT=$CKPT
HERE="$RESTART - --detach --any-pid"

# fnv FILE: FNV-1a 64 of FILE, as the agent prints it.
fnv() {
	/usr/bin/python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$1"
}

# wait_exit PID: until our child PID has exited; its status in RC.
wait_exit() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ -e "/proc/$1" ] && [ "$(proc_state "$1")" != Z ] || break
		sleep 0.05
	done
	wait "$1"
	RC=$?
}

# --- split
rm -f "$T/split.result"
start_bg "$EX/split" 400000 "$HERE" "$T/split.result" >> "$T/split.log" 2> "$T/split.err"
wait_exit "$BG_PID"
[ "$RC" = 0 ] || fail "split exited $RC: $(cat "$T/split.log" "$T/split.err")"
grep -q '^primes below 400000: 33860 (copy on ' "$T/split.log" ||
	fail "split: wrong or no total: $(cat "$T/split.log" "$T/split.err")"
grep -q '^copy: [0-9]* counted \[200000, 400000)' "$T/split.log" || fail "split: no word from the copy"
say "ok: split: $(grep '^primes' "$T/split.log")"

# --- agent
unshare -u -m true 2> /dev/null || skip "unshare -u -m is not allowed here"
command -v nsenter > /dev/null || skip "no nsenter"
echo "the file as home has it" > "$T/data"
hosts=()
for i in 1 2 3; do
	echo "the file on host $i: $RANDOM" > "$T/data.$i"
	hosts+=("unshare -u -m sh -c 'hostname hop$i && mount --bind $T/data.$i $T/data && exec $HERE'")
done
home="nsenter -t $$ -u -m $HERE"
# Between hops 2 and 3, a host that refuses (the PID is in use there).
start_bg "$EX/agent" "$T/data" "$home" "${hosts[0]}" "${hosts[1]}" "$RESTART - --detach" \
	"${hosts[2]}" >> "$T/agent.log" 2> "$T/agent.err"
wait_exit "$BG_PID"
[ "$RC" = 0 ] || fail "the agent's first process exited $RC: $(cat "$T/agent.err")"
wait_for_line "$T/agent.log" '^home: ' 60
assert_no_corrupt "$T/agent.log"
expect="visited 4 hosts
hop 1: hop1 $(fnv "$T/data.1")
hop 2: hop2 $(fnv "$T/data.2")
hop 4: hop3 $(fnv "$T/data.3")
home: $(hostname)"
got=$(grep -v '^hop 3:' "$T/agent.log")
[ "$got" = "$expect" ] || fail "the agent came home with:
$(cat "$T/agent.log")
---- expected:
$expect"
grep -q '^hop 3: unreachable: restart: .*in use' "$T/agent.log" ||
	fail "hop 3 should be unreachable (PID in use): $(cat "$T/agent.log")"
[ "$(cat "$T/data")" = "the file as home has it" ] || fail "the bind mounts leaked home"
say "ok: agent: $(tr '\n' ';' < "$T/agent.log")"
pass
