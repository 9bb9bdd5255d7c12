#!/bin/bash
# A tree in a PID namespace of its own (`unshare -pf --mount-proc proctree`):
# ckpt of its init saves it with the PIDs seen in that namespace, restart
# --new-pid brings it back in a new PID namespace with every PID, parent,
# group and session as seen there before, its init (proctree) PID 1 again;
# proctree checks its ids every tick and counts on.  ckpt of the unshare
# process (a tree spanning two PID namespaces) is refused by name; restart
# without --new-pid refuses the image, and `ckpt check` agrees.  In the
# foreground, restart exits as the namespace's init does (SIGKILL: 137).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree
command -v unshare > /dev/null && command -v nsenter > /dev/null || skip "no unshare/nsenter"
unshare -pf --mount-proc true 2> /dev/null || skip "cannot create PID namespaces here"

start_bg unshare -pf --mount-proc "$PROGS/proctree" -d "$T" -w 2 -g -s -z 7 < /dev/null > "$T/proctree.out" 2> "$T/proctree.err"
ush=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready: $(cat "$T/proctree.err")"
init=$(cat /proc/"$ush"/task/*/children)
init=${init%% *}
track_pid "$init"
[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$init/status")" = 1 ] || fail "proctree is not PID 1 of its namespace"
wait_tick "$T/root.log" 5

# pid ppid pgid sid state, as the namespace sees them (ps run inside it).
ids() {
	nsenter -t "$1" -m -p ps -e -o pid=,ppid=,pgid=,sid=,stat=,comm= |
		awk '$6 != "ps" { $5 = substr($5, 1, 1); if ($5 != "T" && $5 != "Z") $5 = "-"
			print $1, $2, $3, $4, $5 }'
}
ids_before=$(ids "$init")
n=$(echo "$ids_before" | wc -l)
say "tree of $n processes in its namespace: $(echo "$ids_before" | awk '{ print $1 }' | tr '\n' ' ')"

expect_fail_msg "PID namespace below ckpt's" "$CKPT" "$ush" -o "$T/unshare.tar.zst"
ckpt_ok "$init" "$T/tree.tar.zst" --kill
wait_gone "$init"
wait_gone "$ush"
declare -A before
for f in "$T"/*.log; do before[$f]=$(last_tick "$f"); done
"$CKPT" info "$T/tree.tar.zst" > "$T/info.out" 2>&1 || fail "ckpt info failed: $(cat "$T/info.out")"
grep -q "^PID: *1 " "$T/info.out" || fail "the image's root is not PID 1: $(head -5 "$T/info.out")"

expect_fail_msg "restart it with --new-pid" "$RESTART" "$T/tree.tar.zst" --detach
timeout 60 "$CKPT" check "$T/tree.tar.zst" > "$T/check.out" 2>&1 &&
	fail "ckpt check passed the image without --new-pid"
timeout 60 "$CKPT" check "$T/tree.tar.zst" --new-pid > "$T/check-newpid.out" 2>&1 ||
	fail "ckpt check --new-pid failed: $(cat "$T/check-newpid.out")"
grep -q "^OK.*the root as its init" "$T/check-newpid.out" ||
	fail "ckpt check --new-pid: $(cat "$T/check-newpid.out")"

restart_detach "$T/tree.tar.zst" --new-pid
root=$RESTORED_PID
[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$root/status")" = 1 ] ||
	fail "the restored root is not PID 1 of its namespace: $(grep NSpid "/proc/$root/status")"
[ "$(cat /proc/"$root"/comm)" = proctree ] || fail "PID $root is not proctree"
for f in "$T"/*.log; do
	[ "$f" = "$T/zombie.log" ] && continue
	wait_tick "$f" $((${before[$f]} + 10))
	assert_ticks_consecutive "$f"
done
ids_after=$(ids "$root")
[ "$ids_before" = "$ids_after" ] || fail "ids in the namespace differ: before
$ids_before
after
$ids_after"
assert_no_corrupt "$T"/*.log
say "restored: proctree is PID 1 of a new namespace (PID $root here), every id as before"
kill -KILL "$root"
wait_gone "$root"

# Foreground: restart exits as the init does.
start_bg "$RESTART" "$T/tree.tar.zst" --new-pid > "$T/restart-fg.out" 2> "$T/restart-fg.err"
rpid=$BG_PID
has_child() { [ -n "$(cat /proc/"$1"/task/*/children 2>/dev/null)" ]; }
wait_until 10 has_child "$rpid" || fail "restart started no init: $(cat "$T/restart-fg.err")"
rinit=$(cat /proc/"$rpid"/task/*/children); rinit=${rinit%% *}
wait_until 10 has_child "$rinit" || fail "the init started no process: $(cat "$T/restart-fg.err")"
wait_tick "$T/root.log" $(($(last_tick "$T/root.log") + 5))
root=$(cat /proc/"$rinit"/task/*/children); root=${root%% *}
[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$root/status")" = 1 ] || fail "foreground: the root is not PID 1"
# (An init ignores signals it has no handler for, but SIGKILL from outside.)
kill -KILL "$root"
wait_until 10 proc_dead "$rpid" || fail "restart did not end with the namespace's init"
wait "$rpid"
rc=$?
[ "$rc" = 137 ] || fail "restart exited $rc, expected 137 (its init killed by SIGKILL): $(cat "$T/restart-fg.err")"
say "foreground: restart exited 137 when the namespace's init was killed"
pass
