#!/bin/bash
# Every fd kind comes back working: a self-pipe with 200 buffered bytes
# (read on in sequence), an eventfd in semaphore mode (its counter), a
# periodic timerfd (still expiring), a signalfd (receives a SIGUSR1 sent
# after restart), an epoll set watching the pipe with its data, two dup'ed
# fds (one offset), a file deleted while open, a sealed memfd (contents
# and seals), flock/POSIX/OFD locks (another process cannot take them) and
# an inotify watch with a gap before its wd, and a pipe with signal-driven
# I/O (O_ASYNC: a write brings a SIGIO), and an inotify watch on a file
# deleted while open (its fd after the inotify fd).  tests/progs/fdkinds checks each one every tick.
# Queued inotify events: dropped with a warning.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog fdkinds

start_bg "$PROGS/fdkinds" "$T" > "$T/f.log" 2> "$T/f.err"
pid=$BG_PID
wait_tick "$T/f.log" 5
ckpt_ok "$pid" "$T/f.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/f.tar.zst"
last=$(last_tick "$T/f.log")
wait_tick "$T/f.log" $((last + 2))
kill -USR1 "$pid"
wait_for_line "$T/f.log" '^usr1 via signalfd$' 5
wait_tick "$T/f.log" $((last + 6))
assert_ticks_consecutive "$T/f.log"
if flock -n "$T/fdkinds-dup" true; then
	fail "the flock on fdkinds-dup was not taken again"
fi
case $(readlink "/proc/$pid/fd/12") in
/memfd:fdkinds*) ;;
*) fail "fd 12 is not the memfd: $(readlink "/proc/$pid/fd/12")" ;;
esac

# Events queued on an inotify fd and not read yet cannot be kept: the
# checkpoint says how many bytes of them it drops.
if [ -x /usr/bin/python3 ]; then
	touch "$T/watched"
	start_bg /usr/bin/python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), 2) < 0:  # IN_MODIFY
    sys.exit("inotify failed")
with open(sys.argv[1], "a") as f:
    f.write("x")
print("queued", flush=True)
time.sleep(600)' "$T/watched" > "$T/q.log" 2>&1
	wait_for_line "$T/q.log" '^queued$' 10
	ckpt_ok "$BG_PID" "$T/q.tar.zst"
	grep -q "bytes of events not read yet are dropped" "$T/ckpt.err" ||
		fail "no warning about the queued inotify events: $(cat "$T/ckpt.err")"
	say "ok: $(grep -m1 'events not read yet' "$T/ckpt.err")"
fi
pass
