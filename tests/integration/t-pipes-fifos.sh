#!/bin/bash
# Pipes and FIFOs as programs hold them (tests/progs/pipefifo): a pipe whose
# ends are each open twice (dup and a reopen through /proc/self/fd), with
# its own flags per open file, a 256 KiB size and 100000 queued bytes that
# must come out exactly once; a packet-mode pipe whose packets are read one
# by one; a FIFO open read-write with queued data; a FIFO open write-only
# with no reader (its reopen must not fail with ENXIO); a FIFO deleted while
# open, with its mode and queued data; a FIFO held open by another process,
# whose data outlives the program and must not come back twice; FIFO readers with and without
# POLLHUP; pipes whose other side is closed (data then end of file, EPIPE).
# The program checks flags, sizes and queue lengths every tick, and on
# SIGUSR1 reads every queue.  Then: a pipe on stdin whose writer has exited,
# reopened at fd 5, keeps its data at fd 5 (fd 0 is restart's stdin); a pipe
# to another process is saved as an external end, and its holder keeps running.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog pipefifo

# A FIFO another process holds open: its data outlives the program.
hold_fifo "$T/held"
start_bg "$PROGS/pipefifo" "$T" > "$T/p.log" 2> "$T/p.err"
pid=$BG_PID
wait_tick "$T/p.log" 3
ckpt_ok "$pid" "$T/p.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/p.tar.zst"
last=$(last_tick "$T/p.log")
wait_tick "$T/p.log" $((last + 3))
kill -USR1 "$pid"
wait_for_line "$T/p.log" '^data ok$' 10
assert_no_corrupt "$T/p.log"
[ -p "$T/fifo" ] && [ -p "$T/fifo-w" ] || fail "the named pipes are gone from $T"
[ -e "$T/ghost" ] && fail "the deleted FIFO came back under its name"
ls -A "$T" | grep -q '^\.ckpt-fifo' && fail "a temporary FIFO was left in $T"

printf 'stdin data' > "$T/in.txt"
start_bg bash -c 'exec 5</proc/self/fd/0; exec sleep 100000' < <(exec cat "$T/in.txt")
spid=$BG_PID
# shellcheck disable=SC2317 # called through wait_until
fd5_ready() { [ -e "/proc/$spid/fd/5" ] && [ "$(proc_comm "$spid")" = sleep ]; }
wait_until 5 fd5_ready || fail "the stdin test process did not start"
sleep 0.3	# cat has written and exited
ckpt_ok "$spid" "$T/s.tar.zst" --kill
wait_gone "$spid"
restart_detach "$T/s.tar.zst" < /dev/null
got=$(timeout 5 cat "/proc/$spid/fd/5")
[ "$got" = "stdin data" ] || fail "fd 5 holds '$got' after restart, not 'stdin data'"

# fd 5 of the target is the write end of a pipe read by cat, which is not
# its child (a child's end would be saved with it, as part of the tree).
start_bg bash -c 'exec 5> >(cat <&0 > /dev/null & exit); while :; do echo tick; sleep 0.2; done' \
	> "$T/w.log"
wpid=$BG_PID
wait_for_line "$T/w.log" '^tick$' 5
# Saved as an external end (t-extfd.sh), the target unharmed.
ckpt_ok "$wpid" "$T/w.tar.zst"
"$CKPT" info "$T/w.tar.zst" | grep -Eq '^ +5 extpipe .*its reader was outside the checkpoint' ||
	fail "fd 5 is not an external end: $("$CKPT" info "$T/w.tar.zst" | grep -E '^ +5 ')"
assert_running "$wpid" "the target"
assert_progress "$T/w.log" '^tick$' 5
pass
