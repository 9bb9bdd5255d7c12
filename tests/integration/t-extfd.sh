#!/bin/bash
# extfd: a pipe or unix socket whose other end belongs to a process that is
# not saved (here: the test's own reader or writer) is saved as an external
# end.  restart --inherit-fd [PID:]N=FD connects it to restart's fd FD (PID:
# for a process of the tree other than the root); without
# it the fd has no peer (reads see end of file after what was saved,
# writes fail with EPIPE) and restart prints one warning line naming it.
# Bad --inherit-fd arguments fail before anything is created.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog extfd
command -v python3 > /dev/null || skip "python3 is needed for the socket part"

# restart's warning lines (restart.N.err of the last restart_detach).
warnings() {
	grep -c '^restart: warning: ' "$T/restart.$_RESTART_N.err" || true
}

# ---- 1. A writer whose reader (the test's cat) is outside.
exec 7> >(exec cat > "$T/ticks1.out")
reader1=$!
track_pid "$reader1"
"$PROGS/extfd" -w 5 5>&7 7>&- < /dev/null > "$T/w.log" 2>&1 &
pid=$!
track_pid "$pid"
exec 7>&-
wait_tick "$T/ticks1.out" 10
ckpt_ok "$pid" "$T/w.img" --kill
wait_gone "$pid"
wait_gone "$reader1"	# end of file: it read all that was in the pipe
"$CKPT" info "$T/w.img" > "$T/w.info" 2>&1 || fail "ckpt info failed: $(cat "$T/w.info")"
grep -Eq '^ +5 extpipe .*write end, its reader was outside the checkpoint' "$T/w.info" ||
	fail "ckpt info does not show fd 5 as an external end: $(grep -E '^ +5 ' "$T/w.info")"
before=$(last_tick "$T/ticks1.out")

# (a) --inherit-fd 5=3 with a new pipe the test reads: the ticks go on there.
restart_detach "$T/w.img" --inherit-fd 5=3 3> >(exec cat > "$T/ticks2.out")
[ "$(warnings)" = 0 ] || fail "restart warned with --inherit-fd: $(cat "$T/restart.$_RESTART_N.err")"
wait_tick "$T/ticks2.out" $((before + 10))
cat "$T/ticks1.out" "$T/ticks2.out" > "$T/ticks.all"
assert_ticks_consecutive "$T/ticks.all" $((before + 10))
grep -q EPIPE "$T/w.log" && fail "the writer saw EPIPE with --inherit-fd"
say "ok: --inherit-fd: the ticks go on in the pipe given (from tick $((before + 1)))"
kill_wait "$RESTORED_PID"

# (b) without it: one warning line naming fd 5, and the writes fail with EPIPE.
restart_detach "$T/w.img"
[ "$(warnings)" = 1 ] || fail "expected one warning line: $(cat "$T/restart.$_RESTART_N.err")"
grep -q '^restart: warning: fd 5 (pipe:\[[0-9]*\] write end, its reader was outside the checkpoint) has no peer now: its writes fail with EPIPE (give --inherit-fd 5=FD to connect it)$' \
	"$T/restart.$_RESTART_N.err" || fail "unexpected warning: $(cat "$T/restart.$_RESTART_N.err")"
wait_for_line "$T/w.log" "^EPIPE at tick $((before + 1))\$"
assert_running "$RESTORED_PID" "the writer without a reader"
say "ok: without --inherit-fd: $(cat "$T/restart.$_RESTART_N.err")"

# ---- A tree whose processes share the external end (one open file,
# inherited through fork, as a jobserver pipe is): --inherit-fd gives it
# to all of them, and restart warns about nothing.
exec 7> >(exec cat > "$T/tree1.out")
reader1=$!
track_pid "$reader1"
bash -c 'sleep 100000 & exec "$0" -w 5' "$PROGS/extfd" 5>&7 7>&- < /dev/null > "$T/tree.log" 2>&1 &
pid=$!
track_pid "$pid"
exec 7>&-
wait_tick "$T/tree1.out" 10
read -r kid _ < /proc/"$pid"/task/"$pid"/children
[ -n "$kid" ] || fail "the tree has no child"
ckpt_ok "$pid" "$T/tree.img" --kill
wait_gone "$pid"
wait_gone "$reader1"
before=$(last_tick "$T/tree1.out")
restart_detach "$T/tree.img" --inherit-fd 5=3 3> >(exec cat > "$T/tree2.out")
[ "$(warnings)" = 0 ] || fail "restart warned: $(cat "$T/restart.$_RESTART_N.err")"
wait_tick "$T/tree2.out" $((before + 10))
cat "$T/tree1.out" "$T/tree2.out" > "$T/tree.all"
assert_ticks_consecutive "$T/tree.all" $((before + 10))
[ "$(readlink "/proc/$kid/fd/5")" = "$(readlink "/proc/$pid/fd/5")" ] ||
	fail "the child's fd 5 ($(readlink "/proc/$kid/fd/5")) is not the root's ($(readlink "/proc/$pid/fd/5"))"
kill_wait "$kid" "$pid"
say "ok: a tree sharing the external end: --inherit-fd connects it for all"

# ---- A tree whose child alone holds the external end (a pipeline stage,
# a worker writing to its supervisor's log): --inherit-fd KID:5=FD gives
# it to that child; without it restart's warning names that form.
exec 7> >(exec cat > "$T/kid1.out")
reader1=$!
track_pid "$reader1"
bash -c '"$0" -w 5 5>&7 7>&- & exec sleep 100000 7>&-' "$PROGS/extfd" < /dev/null \
	> "$T/kid.log" 2>&1 &
pid=$!
track_pid "$pid"
exec 7>&-
wait_tick "$T/kid1.out" 10
read -r kid _ < /proc/"$pid"/task/"$pid"/children
[ -n "$kid" ] || fail "the tree has no child"
[ -e "/proc/$pid/fd/5" ] && fail "the root holds fd 5 too"
ckpt_ok "$pid" "$T/kid.img" --kill
wait_gone "$pid"
wait_gone "$kid"
wait_gone "$reader1"
expect_fail_msg "--inherit-fd 5=3: the image has no external end there" \
	"$RESTART" "$T/kid.img" --detach --inherit-fd 5=3 3> /dev/null
expect_fail_msg "--inherit-fd 99999:5=3: the image has no process of that PID" \
	"$RESTART" "$T/kid.img" --detach --inherit-fd 99999:5=3 3> /dev/null
expect_fail_msg "--inherit-fd $kid:4=3: the image has no external end there" \
	"$RESTART" "$T/kid.img" --detach --inherit-fd "$kid:4=3" 3> /dev/null
proc_alive "$pid" && fail "a failed restart left process $pid"
before=$(last_tick "$T/kid1.out")
restart_detach "$T/kid.img" --inherit-fd "$kid:5=3" 3> >(exec cat > "$T/kid2.out")
[ "$(warnings)" = 0 ] || fail "restart warned with --inherit-fd $kid:5=3: $(cat "$T/restart.$_RESTART_N.err")"
wait_tick "$T/kid2.out" $((before + 10))
cat "$T/kid1.out" "$T/kid2.out" > "$T/kid.all"
assert_ticks_consecutive "$T/kid.all" $((before + 10))
grep -q EPIPE "$T/kid.log" && fail "the child saw EPIPE with --inherit-fd $kid:5=3"
kill_wait "$kid" "$pid"
restart_detach "$T/kid.img"
[ "$(warnings)" = 1 ] || fail "expected one warning line: $(cat "$T/restart.$_RESTART_N.err")"
grep -q "^restart: warning: fd 5 of process $kid (.*) has no peer now: its writes fail with EPIPE (give --inherit-fd $kid:5=FD to connect it)\$" \
	"$T/restart.$_RESTART_N.err" || fail "unexpected warning: $(cat "$T/restart.$_RESTART_N.err")"
kill_wait "$kid" "$pid"
say "ok: a child's external end: --inherit-fd $kid:5=3 connects it"

# ---- Bad --inherit-fd arguments: refused before anything is created.
kill_wait "$RESTORED_PID"
for bad in 5 5= =3 x=3 5=3x 5:3 0:5=3 -1:5=3 5:=3 :5=3; do
	expect_fail_msg "PID:]N=FD" "$RESTART" "$T/w.img" --detach --inherit-fd "$bad"
done
expect_fail_msg "fd[FD]:KEY form is not accepted" "$RESTART" "$T/w.img" --detach \
	--inherit-fd 'fd[3]:pipe:[1234]'
expect_fail_msg "stdio" "$RESTART" "$T/w.img" --detach --inherit-fd 1=3
expect_fail_msg "fd 9 is not open in restart" "$RESTART" "$T/w.img" --detach --inherit-fd 5=9
expect_fail_msg "--inherit-fd 4=3: the image has no external end there" \
	"$RESTART" "$T/w.img" --detach --inherit-fd 4=3 3> /dev/null
expect_fail_msg "--inherit-fd 7=3: the image has no external end there" \
	"$RESTART" "$T/w.img" --detach --inherit-fd 7=3 3> /dev/null
expect_fail_msg "not open for writing" "$RESTART" "$T/w.img" --detach --inherit-fd 5=3 3< /dev/null
expect_fail_msg "given twice" "$RESTART" "$T/w.img" --detach --inherit-fd 5=3 --inherit-fd 5=3 \
	3> /dev/null
proc_alive "$pid" && fail "a failed restart left process $pid"
say "ok: bad --inherit-fd arguments are refused before anything starts"

# ---- 2. A reader whose writer (the test shell) is outside; one line is
# queued in the pipe when it is saved (the reader stopped).
exec 8> >(exec "$PROGS/extfd" -r 5 5<&0 < /dev/null > "$T/r.log" 2>&1)
pid=$!
track_pid "$pid"
echo one >&8
wait_for_line "$T/r.log" '^got one$'
kill -STOP "$pid"
# shellcheck disable=SC2317 # called through wait_until
stopped() { [ "$(proc_state "$pid")" = T ]; }
wait_until 10 stopped || fail "the reader did not stop"
echo queued >&8
ckpt_ok "$pid" "$T/r.img" --kill
wait_gone "$pid"
exec 8>&-
grep -Eq '^ +5 extpipe .*read end, its writer was outside the checkpoint; 7 bytes queued' \
	<("$CKPT" info "$T/r.img") || fail "ckpt info: $("$CKPT" info "$T/r.img" | grep -E '^ +5 ')"

# With --inherit-fd it reads what is written into the pipe given.
restart_detach "$T/r.img" --inherit-fd 5=3 3< <(echo two; exec sleep 100000)
kill -CONT "$RESTORED_PID"
wait_for_line "$T/r.log" '^got two$'
grep -q '^restart: warning: fd 5 (.*): the 7 bytes queued on it when it was saved are not put back' \
	"$T/restart.$_RESTART_N.err" || fail "no warning about the queued bytes: $(cat "$T/restart.$_RESTART_N.err")"
kill_wait "$RESTORED_PID"
say "ok: --inherit-fd: the reader reads from the pipe given"

# Without: what was queued, then end of file.
restart_detach "$T/r.img"
kill -CONT "$RESTORED_PID"
wait_for_line "$T/r.log" '^EOF$'
[ "$(warnings)" = 1 ] || fail "expected one warning line: $(cat "$T/restart.$_RESTART_N.err")"
grep -q '^restart: warning: fd 5 (pipe:\[[0-9]*\] read end, its writer was outside the checkpoint) has no peer now: it reads the 7 bytes saved with it, then end of file (give --inherit-fd 5=FD to connect it)$' \
	"$T/restart.$_RESTART_N.err" || fail "unexpected warning: $(cat "$T/restart.$_RESTART_N.err")"
tail -n 3 "$T/r.log" | tr '\n' ' ' | grep -q 'got one got queued EOF' ||
	fail "the reader did not read the queued line, then end of file: $(tail -n 3 "$T/r.log")"
kill_wait "$RESTORED_PID"
say "ok: without --inherit-fd: the queued line, then end of file"

# ---- 3. A unix stream socket connected to an outside peer (a socket pair
# whose other end a Python helper copies to a file).
cat > "$T/peer.py" <<'PY'
import os, signal, socket, sys
n, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
a, b = socket.socketpair()
b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
if os.fork() == 0:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    a.close()
    if b.fileno() != n:
        os.dup2(b.fileno(), n)
    os.set_inheritable(n, True)
    os.execvp(cmd[0], cmd)
b.close()
with open(out, "ab", buffering=0) as f:
    while True:
        d = a.recv(65536)
        if not d:
            break
        f.write(d)
PY
python3 "$T/peer.py" 5 "$T/sock1.out" "$PROGS/extfd" -w 5 < /dev/null > "$T/s.log" 2>&1 &
peer1=$!
track_pid "$peer1"
wait_tick "$T/sock1.out" 10
read -r pid _ < /proc/"$peer1"/task/"$peer1"/children
ckpt_ok "$pid" "$T/s.img" --kill
wait_gone "$pid"
wait_gone "$peer1"
grep -Eq '^ +5 extunix .*unix stream socket, its peer was outside the checkpoint' \
	<("$CKPT" info "$T/s.img") || fail "ckpt info: $("$CKPT" info "$T/s.img" | grep -E '^ +5 ')"
before=$(last_tick "$T/sock1.out")

python3 "$T/peer.py" 3 "$T/sock2.out" "$RESTART" "$T/s.img" --detach --inherit-fd 5=3 \
	< /dev/null > "$T/s.restart.out" 2> "$T/s.restart.err" &
track_pid $!
wait_until 10 grep -sqE '^[0-9]+$' "$T/s.restart.out" ||
	fail "restart --inherit-fd with a socket: $(cat "$T/s.restart.err")"
RESTORED_PID=$(grep -m1 -E '^[0-9]+$' "$T/s.restart.out")
track_pid "$RESTORED_PID"
wait_tick "$T/sock2.out" $((before + 10))
cat "$T/sock1.out" "$T/sock2.out" > "$T/sock.all"
assert_ticks_consecutive "$T/sock.all" $((before + 10))
kill_wait "$RESTORED_PID"
say "ok: --inherit-fd: the ticks go on through the socket given"

restart_detach "$T/s.img"
[ "$(warnings)" = 1 ] || fail "expected one warning line: $(cat "$T/restart.$_RESTART_N.err")"
grep -q '^restart: warning: fd 5 (socket:\[[0-9]*\] unix stream socket, its peer was outside the checkpoint) has no peer now' \
	"$T/restart.$_RESTART_N.err" || fail "unexpected warning: $(cat "$T/restart.$_RESTART_N.err")"
wait_for_line "$T/s.log" "^EPIPE at tick $((before + 1))\$"
# Its options came back (SO_PASSCRED): saved again from the restored process.
ckpt_ok "$RESTORED_PID" "$T/s2.img"
"$CKPT" info "$T/s2.img" | grep -A2 -E '^ +5 ' | grep -q 'options: .*SO_PASSCRED=1' ||
	fail "fd 5 lost its SO_PASSCRED: $("$CKPT" info "$T/s2.img" | grep -A2 -E '^ +5 ')"
expect_fail_msg "not a stream socket" "$RESTART" "$T/s.img" --detach --inherit-fd 5=3 3> /dev/null
say "ok: without --inherit-fd: the socket's writes fail with EPIPE"
kill_wait "$RESTORED_PID"

# ---- 4. A unix seqpacket socket the process reads, two messages from the
# outside peer queued when it is saved (the reader stopped): without
# --inherit-fd it reads both, one by one, then end of file.
cat > "$T/sender.py" <<'PY'
import os, signal, socket, sys, time
go, cmd = sys.argv[1], sys.argv[2:]
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
if os.fork() == 0:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    a.close()
    if b.fileno() != 5:
        os.dup2(b.fileno(), 5)
    os.set_inheritable(5, True)
    os.execvp(cmd[0], cmd)
b.close()
a.send(b"first\n")
while not os.path.exists(go):
    time.sleep(0.05)
a.send(b"queued one\n")
a.send(b"queued two\n")
print("sent", flush=True)
while True:
    time.sleep(1)
PY
python3 "$T/sender.py" "$T/go" "$PROGS/extfd" -r 5 < /dev/null > "$T/q.log" 2> "$T/sender.err" &
sender=$!
track_pid "$sender"
wait_for_line "$T/q.log" '^got first$'
read -r pid _ < /proc/"$sender"/task/"$sender"/children
kill -STOP "$pid"
wait_until 10 stopped || fail "the seqpacket reader did not stop"
touch "$T/go"
wait_for_line "$T/q.log" '^sent$'
ckpt_ok "$pid" "$T/q.img" --kill
wait_gone "$pid"
kill_wait "$sender"
grep -Eq '^ +5 extunix .*unix seqpacket socket, its peer was outside the checkpoint; 22 bytes queued' \
	<("$CKPT" info "$T/q.img") || fail "ckpt info: $("$CKPT" info "$T/q.img" | grep -E '^ +5 ')"
restart_detach "$T/q.img"
kill -CONT "$RESTORED_PID"
wait_for_line "$T/q.log" '^EOF$'
[ "$(warnings)" = 1 ] || fail "expected one warning line: $(cat "$T/restart.$_RESTART_N.err")"
grep -v '^sent$' "$T/q.log" | tr '\n' ' ' | grep -q 'got first got queued one got queued two EOF' ||
	fail "the reader did not read both queued messages, then end of file: $(cat "$T/q.log")"
say "ok: without --inherit-fd: the queued messages, then end of file"
pass
