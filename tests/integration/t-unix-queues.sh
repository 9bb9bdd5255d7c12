#!/bin/bash
# What is queued on unix sockets (tests/progs/unixq): seqpacket messages
# with their boundaries (an empty one too), a pipe with data and a file at
# offset 5 in flight (SCM_RIGHTS) and credentials (SCM_CREDENTIALS);
# datagrams, one carrying a unix socket with a queue of its own; a stream
# whose writer shut down (data, then end of file); a chmod'ed listener with
# a client waiting to be accepted; a datagram socket whose file was removed,
# with a datagram from a named sender; a datagram from a socket of another
# process (gone since), whose name the receiver sees.  After checkpoint --kill and restart
# the program reads it all on SIGUSR1 and checks it.  Without restart, ckpt
# leaves every queue as it was (the program checks them the same way).
# Refused by name, the target left running: urgent data (MSG_OOB) queued,
# a connection waiting in an accept queue that holds data, a timerfd in
# flight.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog unixq
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

# A datagram to DIR/srv from a socket of this (other) process bound to DIR/ext.
send_external() {
	/usr/bin/python3 - "$1" <<'PY' || fail "sending the external datagram"
import os, socket, sys
d = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(os.path.join(d, "ext"))
s.sendto(b"external", os.path.join(d, "srv"))
s.close()
os.unlink(os.path.join(d, "ext"))
PY
}

mkdir "$T/a" "$T/b"
start_bg "$PROGS/unixq" "$T/a" > "$T/q.log" 2> "$T/q.err"
pid=$BG_PID
wait_tick "$T/q.log" 3
send_external "$T/a"
ckpt_ok "$pid" "$T/q.tar.zst" --kill
wait_gone "$pid"
"$CKPT" info "$T/q.tar.zst" > "$T/info.txt" 2>&1 || fail "ckpt info: $(cat "$T/info.txt")"
grep -q 'queued: 3 messages, 3005 bytes, 2 fds, 3 with credentials' "$T/info.txt" ||
	fail "ckpt info does not show the seqpacket queue: $(grep -A2 unix "$T/info.txt")"
grep -q '(in flight)' "$T/info.txt" || fail "ckpt info does not show the files in flight"
restart_detach "$T/q.tar.zst"
last=$(last_tick "$T/q.log")
wait_tick "$T/q.log" $((last + 2))
kill -USR1 "$pid"
wait_for_line "$T/q.log" '^queues ok$' 10
assert_no_corrupt "$T/q.log"
[ -e "$T/a/gone" ] && fail "the removed socket file is back"
ls -A "$T/a" | grep -q '~' && fail "a socket file moved aside was left: $(ls -A "$T/a")"

# A checkpoint that lets the program go on must not consume anything.
start_bg "$PROGS/unixq" "$T/b" > "$T/r.log" 2> "$T/r.err"
pid2=$BG_PID
wait_tick "$T/r.log" 3
send_external "$T/b"
ckpt_ok "$pid2" "$T/r.tar.zst"
kill -USR1 "$pid2"
wait_for_line "$T/r.log" '^queues ok$' 10
assert_no_corrupt "$T/r.log"

cat > "$T/refused.py" <<'PY'
import os, socket, sys, time
kind, d = sys.argv[1], sys.argv[2]
if kind == "oob":
    a, b = socket.socketpair()
    a.send(b"abc")
    a.send(b"!", socket.MSG_OOB)
elif kind == "embryo":
    l = socket.socket(socket.AF_UNIX)
    l.bind(os.path.join(d, "emb"))
    l.listen(4)
    c = socket.socket(socket.AF_UNIX)
    c.connect(os.path.join(d, "emb"))
    c.send(b"data before accept")
else:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    tfd = libc.timerfd_create(1, 0)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    socket.send_fds(a, [b"t"], [tfd])
    os.close(tfd)
n = 0
while True:
    n += 1
    print("tick %d" % n, flush=True)
    time.sleep(0.1)
PY
for kind in oob embryo timerfd; do
	mkdir -p "$T/$kind"
	start_bg /usr/bin/python3 "$T/refused.py" "$kind" "$T/$kind" > "$T/$kind.log" 2>&1
	rpid=$BG_PID
	wait_for_line "$T/$kind.log" '^tick 3$' 10
	case $kind in
	oob) want='urgent data (MSG_OOB)' ;;
	embryo) want='waiting in its accept queue holds data' ;;
	timerfd) want='in flight in a unix socket queue' ;;
	esac
	expect_fail_msg "$want" "$CKPT" "$rpid" -o "$T/$kind.tar.zst"
	assert_target_unharmed "$rpid" "$T/$kind.log" "$T/$kind.tar.zst"
	kill "$rpid"
done
pass
