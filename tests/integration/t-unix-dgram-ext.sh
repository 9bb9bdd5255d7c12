#!/bin/bash
# A unix datagram socket connected to a name another process serves (a
# syslog client's /dev/log, here a logging server of the test): ckpt saves
# it by default, without --ext-unix, and restart connects it again to that
# name, so the restored client's messages go on arriving at the same server,
# none lost or sent twice.  With the server gone, restart says so in one
# warning line and the client comes back unconnected (its sends fail with
# ENOTCONN, as after the server's own restart).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

cat > "$T/logd.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(100).decode(), flush=True)
PY
cat > "$T/logger.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
n, err = 1, None
while True:
    try:
        s.send(b"tick %d" % n)
        n += 1
        err = None
    except OSError as e:
        if e.errno != err:
            print("send failed: %s" % e.strerror, flush=True)
        err = e.errno
    time.sleep(0.05)
PY
start_bg /usr/bin/python3 "$T/logd.py" "$T/log.sock" > "$T/logd.log" 2>&1
logd=$BG_PID
wait_for_line "$T/logd.log" '^listening$' 10
start_bg /usr/bin/python3 "$T/logger.py" "$T/log.sock" > "$T/logger.log" 2>&1
pid=$BG_PID
wait_tick "$T/logd.log" 5
ckpt_ok "$pid" "$T/l.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/logd.log")
restart_detach "$T/l.tar.zst"
if grep -q "warning: .*log.sock" "$T/restart.$_RESTART_N.err"; then
	fail "restart warned with the server there: $(cat "$T/restart.$_RESTART_N.err")"
fi
wait_tick "$T/logd.log" $((before + 10))
assert_ticks_consecutive "$T/logd.log"
[ -s "$T/logger.log" ] && fail "the restored logger failed to send: $(cat "$T/logger.log")"
say "ok: the messages go on at the same server (from tick $((before + 1)))"
kill_wait "$RESTORED_PID"

# The server gone: one warning naming the fd and the name; the logger runs
# on, unconnected.
kill_wait "$logd"
rm -f "$T/log.sock"
restart_detach "$T/l.tar.zst"
grep -q "^restart: warning: .*fd 3 (unix datagram socket connected to $T/log.sock): its peer is not there now (No such file or directory): it comes back unconnected" \
	"$T/restart.$_RESTART_N.err" || fail "no warning about the missing server: $(cat "$T/restart.$_RESTART_N.err")"
wait_for_line "$T/logger.log" '^send failed: Transport endpoint is not connected$'
assert_running "$RESTORED_PID" "the logger without its server"
say "ok: without the server: $(grep -m1 'log.sock' "$T/restart.$_RESTART_N.err")"
pass
