#!/bin/bash
# The socket-activated receiver: scripts/ckpt-migrate --via
# 'scripts/ckpt-send 127.0.0.1:PORT' streams a counter to a listener run
# as ckpt-receive.socket/ckpt-receive@.service would run restart (one
# `restart - --detach` per connection, stdin and stdout the connection:
# emulated with systemd-socket-activate --inetd --accept); the counter goes
# on there, the original ends.  A connection refused leaves it running.
# The receiver runs restart --verify with a directory of trusted keys (as
# the unit does with /etc/ckpt/trusted.d): an unsigned image, or one
# signed with a key it does not trust, is refused and the original runs on;
# one signed with ckpt-migrate --sign KEY is taken.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter
command -v systemd-socket-activate > /dev/null || skip "systemd-socket-activate is not installed"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 (for scripts/ckpt-send) is not installed"

MIGRATE=$ROOT/scripts/ckpt-migrate
SEND=$ROOT/scripts/ckpt-send
export XDG_CACHE_HOME=$T/cache
grep -q '^ListenStream=127.0.0.1:' "$ROOT/scripts/systemd/ckpt-receive.socket" ||
	fail "ckpt-receive.socket does not listen on the loopback address only"
grep -q '^ExecStart=.*restart - --detach' "$ROOT/scripts/systemd/ckpt-receive@.service" ||
	fail "ckpt-receive@.service does not run restart - --detach"
grep -q '^ExecStart=.*restart - .*--verify /etc/ckpt/trusted.d' \
	"$ROOT/scripts/systemd/ckpt-receive@.service" ||
	fail "ckpt-receive@.service does not accept only signed images (--verify /etc/ckpt/trusted.d)"
mkdir "$T/trusted.d"
"$CKPT" keygen "$T/sender" > /dev/null || fail "ckpt keygen failed"
"$CKPT" keygen "$T/stranger" > /dev/null || fail "ckpt keygen failed"
cp "$T/sender.pub" "$T/trusted.d/sender.pub"

port=$(free_port)
# StandardError=socket, as in the unit: restart's error goes to the sender.
start_bg systemd-socket-activate -l "127.0.0.1:$port" --inetd --accept \
	/bin/sh -c 'exec "$0" "$@" 2>&1' "$RESTART" - --detach --verify "$T/trusted.d" --any-pid --stdout "$T/received.log" \
	2> "$T/activate.err"
for ((i = 0; i < 100; i++)); do
	grep -q "Listening on" "$T/activate.err" 2>/dev/null && break
	sleep 0.05
done

start_bg "$PROGS/counter" -f "$T/counter.map" > >(exec cat > "$T/orig.log") 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/orig.log" 5

# Nothing listens there: refused, the original runs on.
dead=$(free_port)
timeout 60 "$MIGRATE" --ckpt "$CKPT" --via "$SEND 127.0.0.1:$dead" "$pid" nowhere \
	> "$T/m1.out" 2> "$T/m1.err" && fail "migrating to a closed port succeeded"
grep -q "restart on nowhere failed: .*onnection refused" "$T/m1.err" ||
	fail "unexpected message: $(cat "$T/m1.err")"
assert_target_unharmed "$pid" "$T/orig.log"

# Unsigned, or signed by a key the receiver does not trust: refused.
timeout 60 "$MIGRATE" --ckpt "$CKPT" --via "$SEND 127.0.0.1:$port" "$pid" receiver \
	> "$T/m3.out" 2> "$T/m3.err" && fail "the receiver accepted an unsigned image"
grep -q "restart on receiver failed: .*not signed" "$T/m3.err" ||
	fail "unexpected message for an unsigned image: $(cat "$T/m3.err")"
assert_target_unharmed "$pid" "$T/orig.log"
timeout 60 "$MIGRATE" --ckpt "$CKPT" --sign "$T/stranger" --via "$SEND 127.0.0.1:$port" \
	"$pid" receiver > "$T/m4.out" 2> "$T/m4.err" &&
	fail "the receiver accepted an image signed with a key it does not trust"
grep -q "restart on receiver failed: .*not trusted" "$T/m4.err" ||
	fail "unexpected message for an untrusted key: $(cat "$T/m4.err")"
assert_target_unharmed "$pid" "$T/orig.log"
[ ! -s "$T/received.log" ] || fail "a refused image ran: $(head -n 3 "$T/received.log")"

timeout 60 "$MIGRATE" --ckpt "$CKPT" --sign "$T/sender" --via "$SEND 127.0.0.1:$port" "$pid" receiver \
	> "$T/m2.out" 2> "$T/m2.err" || fail "ckpt-migrate through the receiver failed: $(cat "$T/m2.err")"
new=$(sed -n 's/.*: PID \([0-9]*\) there.*/\1/p' "$T/m2.out")
track_pid "$new"
[ -n "$new" ] || fail "no PID: $(cat "$T/m2.out")"
wait_gone "$pid"
before=$(last_tick "$T/orig.log")
wait_tick "$T/received.log" $((before + 10))
assert_ticks_from "$T/received.log" $((before + 1)) $((before + 10))
say "received as PID $new: $(grep downtime "$T/m2.out")"
pass
