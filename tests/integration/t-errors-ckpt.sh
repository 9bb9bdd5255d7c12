#!/bin/bash
# shellcheck disable=SC2016 # bash -c scripts take their arguments as $0, $1...
# Every ckpt failure is one clear line "ckpt: ...", a non-zero exit, no file
# at the -o path, and the target (when there is one) still running, not left
# stopped and still making progress: no such PID, a kernel thread, ckpt's own
# PID or its parent, a process already traced (by tracer and by strace), a
# zombie, a pipe above fd 2, a missing output
# directory, a full disk, a broken pipe on stdout.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter tracer bigmem

# start_counter NAME: a fresh target; PID in pid, log in log.
start_counter() {
	log=$T/$1.log
	start_bg "$PROGS/counter" -f "$T/$1.map" > "$log" 2> "$T/$1.err"
	pid=$BG_PID
	wait_tick "$log" 3
}

say "no such process"
nopid=$(($(cat /proc/sys/kernel/pid_max) - 1))
while [ -e "/proc/$nopid" ]; do nopid=$((nopid - 1)); done
expect_fail_msg "no such process" "$CKPT" "$nopid" -o "$T/nopid.tar.zst"
[ ! -e "$T/nopid.tar.zst" ] || fail "ckpt of a missing PID left a file"

say "kernel thread"
expect_fail_msg "kernel thread" "$CKPT" 2 -o "$T/kthread.tar.zst"
[ ! -e "$T/kthread.tar.zst" ] || fail "ckpt of a kernel thread left a file"
assert_not_stopped 2 kthreadd

say "itself and its parent"
expect_fail_msg "itself|parent" bash -c 'exec "$0" $$ -o "$1"' "$CKPT" "$T/self.tar.zst"
[ ! -e "$T/self.tar.zst" ] || fail "ckpt of itself left a file"
expect_fail_msg "itself|parent" bash -c '"$0" $$ -o "$1"; exit $?' "$CKPT" "$T/parent.tar.zst"
[ ! -e "$T/parent.tar.zst" ] || fail "ckpt of its parent left a file"

say "already traced (tests/progs/tracer)"
start_counter traced
start_bg "$PROGS/tracer" "$pid" > "$T/tracer.out" 2>&1
tracer=$BG_PID
wait_for_line "$T/tracer.out" "^tracing $pid\$" 5
expect_fail_msg "already traced" "$CKPT" "$pid" -o "$T/traced.tar.zst"
assert_target_unharmed "$pid" "$log" "$T/traced.tar.zst"
grep -q "^TracerPid:[[:space:]]*$tracer\$" "/proc/$pid/status" || fail "ckpt disturbed the existing tracer"
kill_wait "$tracer" "$pid"

if command -v strace > /dev/null; then
	say "already traced (strace -f)"
	start_bg strace -f -o /dev/null "$PROGS/counter" -f "$T/strace.map" > "$T/strace.log" 2> "$T/strace.err"
	strace_pid=$BG_PID
	wait_tick "$T/strace.log" 3
	pid=$(pgrep -P "$strace_pid" -x counter)
	[ -n "$pid" ] || fail "cannot find the counter started by strace"
	track_pid "$pid"
	expect_fail_msg "already traced" "$CKPT" "$pid" -o "$T/strace.tar.zst"
	# (not assert_target_unharmed: under strace, state t at a syscall stop is normal)
	assert_running "$pid" "target of the failed ckpt"
	assert_progress "$T/strace.log" '^tick ' 5
	[ ! -e "$T/strace.tar.zst" ] || fail "the failed ckpt left a file at $T/strace.tar.zst"
	kill_wait "$strace_pid" "$pid"
else
	say "strace not installed: strace case skipped"
fi

say "zombie"
start_bg sh -c '/bin/true & exec sleep 100000'
parent=$BG_PID
# shellcheck disable=SC2317 # called through wait_until
zombie_child() { zpid=$(pgrep -P "$parent"); [ -n "$zpid" ] && [ "$(proc_state "$zpid")" = Z ]; }
wait_until 5 zombie_child || fail "could not make a zombie"
expect_fail_msg "zombie" "$CKPT" "$zpid" -o "$T/zombie.tar.zst"
[ ! -e "$T/zombie.tar.zst" ] || fail "ckpt of a zombie left a file"
kill_wait "$parent"

say "a pipe at fd 3 to a process outside the tree (a sibling): saved as an external end"
hold_fifo "$T/fd3"
start_bg bash -c 'exec 3< <(exec cat "$1"); shift; "$@"; wait' _ "$T/fd3" \
	"$PROGS/counter" -f "$T/fd3.map" > "$T/fd3.log" 2> "$T/fd3.err"
wait_tick "$T/fd3.log" 3
pid=
for c in $(cat /proc/"$BG_PID"/task/*/children); do
	[ "$(proc_comm "$c")" = counter ] && pid=$c
done
[ -n "$pid" ] || fail "no counter child of $BG_PID"
track_pid "$pid"
case $(readlink "/proc/$pid/fd/3") in
pipe:*) ;;
*) fail "fd 3 of the target is $(readlink "/proc/$pid/fd/3"), not a pipe" ;;
esac
ckpt_ok "$pid" "$T/fd3.tar.zst"
"$CKPT" info "$T/fd3.tar.zst" | grep -q extpipe || fail "ckpt info shows no external pipe end: $("$CKPT" info "$T/fd3.tar.zst")"
assert_running "$pid" "the target after its checkpoint"
assert_progress "$T/fd3.log"
kill_wait "$pid"

say "output directory does not exist"
start_counter nodir
expect_fail_msg "no such file or directory" "$CKPT" "$pid" -o "$T/nodir/x.tar.zst"
assert_target_unharmed "$pid" "$log" "$T/nodir/x.tar.zst"
kill_wait "$pid"

# The two next cases need an image bigger than 256 KiB and than a pipe
# buffer: 16 MiB of random memory.
start_bg "$PROGS/bigmem" 16 -i 100 > "$T/bigmem.log" 2> "$T/bigmem.err"
big=$BG_PID
wait_for_line "$T/bigmem.log" '^sum ' 20

say "no space left on the device"
mkdir "$T/small"
if mount -t tmpfs -o size=256k tmpfs "$T/small" 2> "$T/mount.err"; then
	MOUNTS+=("$T/small")
	expect_fail_msg "no space left" "$CKPT" "$big" -o "$T/small/full.tar.zst"
	assert_target_unharmed "$big" "$T/bigmem.log" "$T/small/full.tar.zst" '^sum '
	leftover=$(ls -A "$T/small")
	[ -z "$leftover" ] || fail "ckpt left files on the full disk: $leftover"
	umount "$T/small" && MOUNTS=()
else
	say "cannot mount a tmpfs ($(cat "$T/mount.err")): disk-full case skipped"
fi

say "broken pipe"
expect_fail_msg "broken pipe" bash -c '"$0" "$1" -o - | head -c 10 > /dev/null; exit "${PIPESTATUS[0]}"' \
	"$CKPT" "$big"
assert_target_unharmed "$big" "$T/bigmem.log" - '^sum '
assert_no_corrupt "$T/bigmem.log"
pass
