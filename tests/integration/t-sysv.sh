#!/bin/bash
# sysv: System V IPC of one process comes back whole: a keyed shared memory
# segment attached read-write and read-only at its addresses, a private
# segment already marked for removal, a semaphore set with its values and
# a message queue with its messages, all with their ids, keys and modes
# (the program checks them itself).  A segment also attached by a process
# outside the image is refused.  After --kill the keyed objects are still
# on the host (they outlive their process): while one differs from the
# image (a semaphore value changed) restart refuses before anything is
# made; once it is as in the image again, restart uses them as they are
# (and makes the removed segment again); after they are removed, restart
# makes them all.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sysvipc
[ -w /proc/sys/kernel/shm_next_id ] || skip "needs root and CONFIG_CHECKPOINT_RESTORE"

key=$(( 0x5e000000 + ($$ % 65536) * 4 ))
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

start_bg "$PROGS/sysvipc" -d "$T" -k "$key" < /dev/null > "$T/prog.out" 2> "$T/prog.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "sysvipc did not get ready: $(cat "$T/prog.err")"
ids=$(cat "$T/ids")
wait_tick "$T/main.log" 3

# Another process attaches the keyed segment: refused (it would be split).
read -r a b s q <<< "$ids"
start_bg python3 -c 'import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
if libc.shmat(int(sys.argv[1]), None, 0) in (None, ctypes.c_void_p(-1).value): sys.exit(1)
open(sys.argv[2], "w").close()
time.sleep(60)' "$a" "$T/other" < /dev/null > /dev/null 2> "$T/other.err"
other=$BG_PID
wait_until 10 test -e "$T/other" || fail "could not attach from another process: $(cat "$T/other.err")"
expect_fail_msg "outside the image" "$CKPT" "$pid" -o "$T/split.tar.zst"
kill_wait "$other"
assert_running "$pid"

ckpt_ok "$pid" "$T/img.tar.zst" --kill
wait_gone "$pid"
t0=$(last_tick "$T/main.log")
"$CKPT" info "$T/img.tar.zst" > "$T/info.txt" || fail "ckpt info failed"
grep -q "^  shm $b: .*marked removed" "$T/info.txt" && grep -q "^  sem $s: .*3 semaphores" "$T/info.txt" &&
	grep -q "^  msg $q: .*3 messages" "$T/info.txt" &&
	grep -q "^  shm $a: .*(read-only)" "$T/info.txt" ||
	fail "ckpt info does not show the System V objects: $(grep -A5 'System V' "$T/info.txt")"

# The segment, set and queue are still there (their process was killed,
# they were not removed).  One semaphore changed since the checkpoint:
# restart must refuse, and make nothing.
semval() {	# semval ID NUM [VALUE]: GETVAL, or SETVAL to VALUE
	python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a = [ctypes.c_int(int(x)) for x in sys.argv[1:]]
r = libc.semctl(a[0], a[1], ctypes.c_int(16), a[2]) if len(a) > 2 else libc.semctl(a[0], a[1], ctypes.c_int(12))
if r < 0: sys.exit(1)
print(r)' "$@"
}
v0=$(semval "$s" 0) || fail "cannot read semaphore 0 of set $s"
semval "$s" 0 $((v0 + 1)) > /dev/null || fail "cannot change semaphore 0 of set $s"
expect_fail_msg "key is taken" "$RESTART" "$T/img.tar.zst" --detach
grep -q "ipcrm" "$EXPECT_ERR" || fail "no hint to remove the object: $(cat "$EXPECT_ERR")"
[ -z "$(awk -v b="$b" '$2 == b' /proc/sysvipc/shm)" ] ||
	fail "the removed segment $b exists after a refused restart"

restored_ok() {
	rm -f "$T/check"
	wait_tick "$T/main.log" $((t0 + 5))
	kill -USR1 "$RESTORED_PID"
	wait_until 10 test -e "$T/check" || fail "the restored program did not check"
	[ "$(cat "$T/check")" = ok ] || fail "after restart ($1): $(cat "$T/check")"
	assert_no_corrupt "$T/main.log"
	kill_wait "$RESTORED_PID"
	# The removed segment goes away with its last user, as before.
	wait_until 5 sh -c "! awk -v b=$b '\$2 == b { f = 1 } END { exit !f }' /proc/sysvipc/shm" ||
		fail "the segment marked removed outlives its process ($1)"
}

# As in the image again: restart uses the three objects as they are.
semval "$s" 0 "$v0" > /dev/null || fail "cannot put semaphore 0 of set $s back"
restart_detach "$T/img.tar.zst"
# (the segment's creator is still the first process, not restart)
[ "$(awk -v a="$a" '$2 == a { print $5 }' /proc/sysvipc/shm)" = "$pid" ] ||
	fail "restart made segment $a again instead of using it: $(cat /proc/sysvipc/shm)"
restored_ok "objects still here"
[ -n "$(awk -v a="$a" '$2 == a' /proc/sysvipc/shm)" ] ||
	fail "the segment $a restart used was removed with its process"

# Removed from the host: restart makes them all again.
sysv_rm
t0=$(last_tick "$T/main.log")
restart_detach "$T/img.tar.zst"
restored_ok "objects made again"
pass
