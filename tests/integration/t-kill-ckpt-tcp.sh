#!/bin/bash
# ckpt killed while a process's TCP connection is in repair mode leaves it
# as it was (common/state/tcp_guard.c): the connection leaves repair mode,
# keeps its SO_REUSEADDR, is unlocked (--kill), and the server goes on
# answering its client on the same connection.  Killed at that exact
# point (tests/faults/failnth.so: FAIL_CALL=tcp_repair_on FAIL_ACTION=kill),
# once in a dump that leaves the process running and once with --kill,
# then at spread moments of whole dumps; and with --kill after the
# connection was read (out of repair mode until the image is committed),
# and after the commit (the guard ends the process; the image restores it).  A dump that ends normally also
# gives the connection its SO_REUSEADDR back (leaving repair mode clears it).
# The connection's state is read through a pidfd_getfd copy (python3).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
[ "$(id -u)" = 0 ] || skip "needs root (TCP_REPAIR)"
SHIM=$ROOT/tests/faults/failnth.so
[ -e "$SHIM" ] || fail "$SHIM is not built (run make)"

# sockstate PID: "repair=R reuse=U others=N" of the process's connected TCP
# socket (N: how many fds of other processes hold it).
cat > "$T/sockstate.py" <<'PY'
import ctypes, os, socket, sys
pid = int(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
for name in os.listdir("/proc/%d/fd" % pid):
    if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
        continue
    fd = libc.syscall(438, pidfd, int(name), 0)	# pidfd_getfd
    if fd < 0:
        raise SystemExit("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
    s = socket.socket(fileno=fd)
    try:
        s.getpeername()
    except OSError:
        s.close()
        continue
    link, others = os.readlink("/proc/%d/fd/%s" % (pid, name)), 0
    for p in filter(str.isdigit, os.listdir("/proc")):
        if int(p) in (pid, os.getpid()):
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % p)
        except OSError:
            continue
        for f in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (p, f)) == link:
                    others += 1
            except OSError:
                pass
    print("repair=%d reuse=%d others=%d" % (s.getsockopt(socket.SOL_TCP, 19),	# TCP_REPAIR
          s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR), others))
    break
PY
sockstate() { /usr/bin/python3 "$T/sockstate.py" "$1"; }

port=$(free_port)
# The server waits in poll, as most do, and reads only what arrives: the
# guard's race with a read of a socket still in repair mode (tcp_guard.h)
# is not what this test measures.
cat > "$T/server.py" <<'PY'
import select, socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(1)
print("listening", flush=True)
c, _ = ls.accept()
n, buf = 0, b""
while True:
    select.select([c], [], [])
    data = c.recv(4096)
    if not data:
        print("CLOSED by the client", flush=True)
        break
    buf += data
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        n += 1
        c.sendall(b"%d %s\n" % (n, line))
PY
start_bg /usr/bin/python3 "$T/server.py" "$port" > "$T/server.log" 2>&1
pid=$BG_PID
wait_for_line "$T/server.log" '^listening$' 10
exec 7<>"/dev/tcp/127.0.0.1/$port"
n=0
ask() {	# ask WHAT: the server answers on the same connection
	local line
	n=$((n + 1))
	echo "$1" >&7
	read -r -t 5 line <&7 || fail "$1: the server did not answer on its connection ($(sockstate "$pid" 2>&1))"
	[ "$line" = "$n $1" ] || fail "$1: the server answered \"$line\", expected \"$n $1\""
}
ask first
[ "$(sockstate "$pid")" = "repair=0 reuse=1 others=0" ] || fail "before any dump: $(sockstate "$pid")"

# A dump that ends normally (without the hold after it, which would pause
# the connection: t-tcp-hold).
ckpt_ok "$pid" "$T/ok.tar.zst" --tcp-hold 0
[ "$(sockstate "$pid")" = "repair=0 reuse=1 others=0" ] ||
	fail "after a dump the process survives: $(sockstate "$pid") (SO_REUSEADDR lost?)"
ask after-dump
rm -f "$T/ok.tar.zst"

# undone IMG WHAT: ckpt is dead; the guard has put everything back (and
# gone: no other process holds the socket), nothing left at IMG.
undone() {
	wait_until 5 sh -c '[ "$(/usr/bin/python3 "$1" "$2")" = "repair=0 reuse=1 others=0" ]' sh \
		"$T/sockstate.py" "$pid" ||
		fail "$2: the connection was left as '$(sockstate "$pid" 2>&1)' after ckpt died"
	wait_until 5 grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" ||
		fail "$2: the server is still traced"
	assert_running "$pid" "server ($2)"
	assert_not_stopped "$pid" "server ($2)"
	ask "$2"
	[ -z "$1" ] || [ ! -e "$1" ] || fail "$2: the dead ckpt left $1"
	# (the lock's set: with --kill the lock, else the hold, lifted by the guard)
	if command -v nft > /dev/null && nft list set inet ckpt_lock v4 > "$T/nft.out" 2>/dev/null &&
		grep -q "\\. $port \\." "$T/nft.out"; then
		fail "$2: port $port is still locked: $(cat "$T/nft.out")"
	fi
	[ -z "$(cat "/proc/$pid/task/"*/children)" ] || fail "$2: the server has a child now"
}

for mode in keep-running kill; do
	opts=()
	[ "$mode" = kill ] && opts=(--kill)
	rc=0
	env FAIL_CALL=tcp_repair_on FAIL_NTH=1 FAIL_ACTION=kill LD_PRELOAD="$SHIM" \
		"$CKPT" "$pid" -o "$T/$mode.tar.zst" "${opts[@]}" > /dev/null 2> "$T/$mode.err" < /dev/null || rc=$?
	[ "$rc" = 137 ] || fail "$mode: ckpt was not killed in repair mode (exit $rc): $(cat "$T/$mode.err")"
	undone "$T/$mode.tar.zst" "killed-in-repair-$mode"
	grep -q "taken out of repair mode" "$T/$mode.err" ||
		fail "$mode: the guard said nothing: $(cat "$T/$mode.err")"
	say "ok: $mode: $(grep -m1 "repair mode" "$T/$mode.err")"
done

# Kills at spread moments of whole dumps (the connection is in repair
# mode for a part of each).  Without the hold: a kill after the commit
# would rightly leave it (the connection paused for its 10 s).
t0=$(date +%s%N)
ckpt_ok "$pid" "$T/timing.tar.zst" --tcp-hold 0
dur_us=$(( ($(date +%s%N) - t0) / 1000 ))
rm -f "$T/timing.tar.zst"
for ((i = 0; i < 8; i++)); do
	delay_us=$(( i * dur_us / 8 ))
	"$CKPT" "$pid" -o "$T/r$i.tar.zst" --tcp-hold 0 > /dev/null 2> "$T/r$i.err" < /dev/null &
	cp=$!
	sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
	kill -KILL "$cp" 2>/dev/null
	wait "$cp" 2>/dev/null
	rm -f "$T/r$i.tar.zst"	# (t-kill-ckpt checks what a kill leaves of an image)
	undone "" "kill-at-${delay_us}us"
done
exec 7>&-

# --kill: a connection is in repair mode only while it is read, and again
# once the image is committed, right before the process is killed.  ckpt
# stopped (failnth.so: FAIL_ACTION=stop) just after the connection left
# repair mode, the process still frozen: it is out of repair mode.  ckpt
# killed then: this server, blocked in read() (which fails with EPERM on a
# socket in repair mode, so a race with the guard would show), reads its
# next line on the same connection.
port2=$(free_port)
cat > "$T/reader.py" <<'PY'
import socket, sys
ls = socket.socket()
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(1)
print("listening", flush=True)
c, _ = ls.accept()
n = 0
while True:
    try:
        data = c.recv(4096)
    except OSError as e:
        print("READ FAILED: %s" % e, flush=True)
        raise SystemExit(1)
    if not data:
        break
    n += 1
    c.sendall(b"%d %s" % (n, data))
PY
start_bg /usr/bin/python3 "$T/reader.py" "$port2" > "$T/reader.log" 2>&1
pid2=$BG_PID
wait_for_line "$T/reader.log" '^listening$' 10
exec 8<>"/dev/tcp/127.0.0.1/$port2"
ask2() {
	local line
	echo "$2" >&8
	read -r -t 5 line <&8 || fail "$2: the reader did not answer ($(cat "$T/reader.log"))"
	[ "$line" = "$1 $2" ] || fail "$2: the reader answered \"$line\", expected \"$1 $2\""
}
ask2 1 before
env FAIL_CALL=tcp_repair_off FAIL_NTH=1 FAIL_ACTION=stop LD_PRELOAD="$SHIM" \
	"$CKPT" "$pid2" -o "$T/stop.tar.zst" --kill > /dev/null 2> "$T/stop.err" < /dev/null &
cp=$!
wait_until 10 sh -c '[ "$(cut -d" " -f3 "/proc/$1/stat" 2>/dev/null)" = T ] || ! kill -0 "$1"' sh "$cp"
kill -0 "$cp" 2>/dev/null ||
	fail "ckpt --kill never took the connection out of repair mode: $(cat "$T/stop.err")"
state=$(sockstate "$pid2")
case $state in
repair=0\ *) ;;
*) kill -KILL "$cp"; fail "--kill, the connection read: it is still in repair mode ($state)" ;;
esac
grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$pid2/status" || fail "the reader is not frozen"
kill -KILL "$cp"
wait "$cp" 2>/dev/null
wait_until 5 grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid2/status" || fail "the reader is still traced"
wait_until 5 sh -c '[ "$(/usr/bin/python3 "$1" "$2")" = "repair=0 reuse=0 others=0" ]' sh \
	"$T/sockstate.py" "$pid2" || fail "after ckpt died: $(sockstate "$pid2" 2>&1)"
assert_running "$pid2" "reader"
ask2 2 after-kill
[ ! -e "$T/stop.tar.zst" ] || fail "the dead ckpt left $T/stop.tar.zst"
say "ok: --kill, ckpt killed after reading the connection: $(grep -m1 "repair mode" "$T/stop.err")"

# --kill, ckpt killed once the image is committed, just as it put the
# connection in repair mode again (the second TCP_REPAIR on): the guard
# ends the process as ckpt would have, its death sends the client nothing
# and leaves nothing of the connection on the host, and the image, whole,
# restores it: the reader answers on the same connection.
rc=0
env FAIL_CALL=tcp_repair_on FAIL_NTH=2 FAIL_ACTION=kill LD_PRELOAD="$SHIM" \
	"$CKPT" "$pid2" -o "$T/commit.tar.zst" --kill > /dev/null 2> "$T/commit.err" < /dev/null || rc=$?
[ "$rc" = 137 ] || fail "committed: ckpt was not killed at the commit (exit $rc): $(cat "$T/commit.err")"
wait_gone "$pid2" 5
grep -q "after committing the image" "$T/commit.err" ||
	fail "committed: the guard said nothing: $(cat "$T/commit.err")"
left=$(ss -tanH "( sport = :$port2 )" | grep -v LISTEN || true)
[ -z "$left" ] || fail "committed: the ended reader left its connection behind: $left"
read -r -t 0.3 line <&8 && fail "committed: the client got \"$line\" from the ended reader"
restart_detach "$T/commit.tar.zst"
ask2 3 after-restart
say "ok: --kill, ckpt killed after the commit: $(grep -m1 "committing" "$T/commit.err")"
exec 8>&-
pass
