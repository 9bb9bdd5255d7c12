#!/bin/bash
# tree-share: what processes of a tree share is shared again after
# restart, not duplicated: a pipe from the root to a child with lines in
# flight (the child checks their order), a file both write through one
# inherited fd (one offset: no line overwrites another), a listening TCP
# socket the root opened before forking its workers, each accepting on it;
# shared anonymous memory a child counts in and the root reads.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree

port=$(free_port)
start_bg "$PROGS/proctree" -d "$T" -w 3 -l "$port" -p -f -m < /dev/null > "$T/proctree.out" 2> "$T/proctree.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready"
wait_tick "$T/reader.log" 5
ask() { timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && cat <&3"; }
answer=$(ask) || fail "no answer on port $port before the checkpoint"
say "before: $answer"
all="$pid $(cat /proc/"$pid"/task/*/children)"

ckpt_ok "$pid" "$T/tree.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
declare -A before
for f in "$T"/*.log; do before[$f]=$(last_tick "$f"); done

restart_detach "$T/tree.tar.zst"
for f in "$T"/*.log; do
	wait_tick "$f" $((${before[$f]} + 10))
	assert_ticks_consecutive "$f"
done
# Every worker answers on the listening socket they share.
declare -A seen
for i in $(seq 1 30); do
	answer=$(ask) || fail "no answer on port $port after restart: $(cat "$T/restart.1.err")"
	seen[${answer%% *}]=1
	[ "${#seen[@]}" -ge 2 ] && break
	sleep 0.05
done
[ "${#seen[@]}" -ge 2 ] || fail "only ${!seen[*]} answered after restart"
say "after: answers from ${!seen[*]}"
# One offset: every line whole, each writer's numbers consecutive.
err=$(awk '!/^(root|writer) [0-9]+$/ { printf "line %d: \"%s\"", NR, $0; exit }
	{ if (last[$1] && $2 != last[$1] + 1) { printf "line %d: %s after %d", NR, $0, last[$1]; exit }
	  last[$1] = $2 }' "$T/shared.out")
[ -z "$err" ] || fail "shared.out was not written through one offset: $err"
lines=$(wc -l < "$T/shared.out")
sleep 0.3
[ "$(wc -l < "$T/shared.out")" -gt "$lines" ] || fail "shared.out does not grow after restart"
# The root sees what the child writes in the memory they share.
shm_before=$(awk '/^shm / { n = $2 } END { print n }' "$T/root.log")
sleep 0.5
shm_after=$(awk '/^shm / { n = $2 } END { print n }' "$T/root.log")
[ "$shm_after" -gt "$shm_before" ] ||
	fail "the root does not see the child count in shared memory ($shm_before, then $shm_after)"
assert_no_corrupt "$T"/*.log
pass
