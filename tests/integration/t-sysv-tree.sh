#!/bin/bash
# sysv-tree: a parent and its child sharing System V segments (one keyed,
# one marked for removal) are restored sharing one segment each again:
# the parent sees the child count in the removed one after restart, and
# checks everything else it made (ids, contents, semaphores, messages).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sysvipc
[ -w /proc/sys/kernel/shm_next_id ] || skip "needs root and CONFIG_CHECKPOINT_RESTORE"

key=$(( 0x5f000000 + ($$ % 65536) * 4 ))
ids=
sysv_rm() {
	local a b s q
	[ -n "$ids" ] || return 0
	read -r a b s q <<< "$ids"
	ipcrm -m "$a" -s "$s" -q "$q" 2>/dev/null
	ipcrm -m "$b" 2>/dev/null
	return 0
}
trap 'rc=$?; sysv_rm; (exit $rc); _cleanup' EXIT
shm_seen() { awk '/^shm / { n = $2 } END { print n + 0 }' "$T/main.log"; }

start_bg "$PROGS/sysvipc" -d "$T" -k "$key" -c < /dev/null > "$T/prog.out" 2> "$T/prog.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "sysvipc did not get ready: $(cat "$T/prog.err")"
ids=$(cat "$T/ids")
wait_tick "$T/main.log" 3
wait_until 10 test -n "$(cat /proc/"$pid"/task/*/children)" || fail "no child"
child=$(cat /proc/"$pid"/task/*/children)

ckpt_ok "$pid" "$T/img.tar.zst" --kill
wait_gone "$pid"
wait_gone "$child"
before=$(shm_seen)
t0=$(last_tick "$T/main.log")
sysv_rm	# as on another host

restart_detach "$T/img.tar.zst"
wait_tick "$T/main.log" $((t0 + 10))
after=$(shm_seen)
[ "$after" -gt "$before" ] ||
	fail "the parent does not see the child count in their segment ($before, then $after)"
say "child's count seen by the parent: $before before, $after after restart"
[ "$(awk -v b="$(echo "$ids" | cut -d' ' -f2)" '$2 == b { print $7 }' /proc/sysvipc/shm)" = 2 ] ||
	fail "the removed segment is not attached by both: $(cat /proc/sysvipc/shm)"
kill -USR1 "$RESTORED_PID"
wait_until 10 test -e "$T/check" || fail "the restored program did not check"
[ "$(cat "$T/check")" = ok ] || fail "after restart: $(cat "$T/check")"
assert_no_corrupt "$T/main.log"
pass
