#!/bin/bash
# scripts/ckpt-migrate through --via, the "other host" being a mount
# namespace where the program's directory is empty: a counter is moved
# there (no tick lost or repeated, the original gone, the downtime
# printed), then cloned back (both go on, the copy from where the original
# was).  Failures leave the original running and nothing started: the
# stream cut mid-way, the target refusing (PID in use), the receiver
# exiting without reading.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter
command -v unshare > /dev/null || skip "unshare (util-linux) is not installed"
unshare -m true 2> /dev/null || skip "cannot make a mount namespace here"

MIGRATE=$ROOT/scripts/ckpt-migrate
export XDG_CACHE_HOME=$T/cache
mkdir -p "$T/bin" "$T/empty"
cp "$PROGS/counter" "$T/bin/counter"

"$MIGRATE" --help | grep -q -- "--clone" || fail "ckpt-migrate --help says nothing of --clone"

migrate() {	# migrate ARGS...: ckpt-migrate under a timeout, output in $T/migrate.N.*
	_EXPECT_N=$((_EXPECT_N + 1))
	MOUT=$T/migrate.$_EXPECT_N.out
	MERR=$T/migrate.$_EXPECT_N.err
	timeout -k 5 60 "$MIGRATE" --ckpt "$CKPT" "$@" > "$MOUT" 2> "$MERR"
}

start_bg "$T/bin/counter" -f "$T/counter.map" > >(exec cat > "$T/orig.log") 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/orig.log" 5

# 1. Clone it: both go on, the copy from where the original was.
migrate --clone --via "$RESTART - --detach --new-pid --stdout $T/clone.log" "$pid" otherhost ||
	fail "ckpt-migrate --clone failed: $(cat "$MERR")"
grep -q "^ckpt-migrate: cloned PID $pid .* PID [0-9]* there; the original runs on" "$MOUT" ||
	fail "unexpected output: $(cat "$MOUT")"
clone=$(sed -n 's/.*: PID \([0-9]*\) there.*/\1/p' "$MOUT")
track_pid "$clone"
[ -n "$clone" ] && [ "$clone" != "$pid" ] || fail "no clone PID: $(cat "$MOUT")"
wait_for_line "$T/clone.log" '^tick '
first=$(awk '/^tick/ { print $2; exit }' "$T/clone.log")
wait_tick "$T/clone.log" $((first + 10))
assert_ticks_from "$T/clone.log" "$first" $((first + 10))
# The copy starts right after a tick the original had printed.
grep -qx "tick $((first - 1))" "$T/orig.log" ||
	fail "clone starts at tick $first, the original never printed $((first - 1))"
assert_running "$pid" "original of the clone"
assert_progress "$T/orig.log"
say "cloned: $pid -> $clone from tick $first, both running"
kill -KILL "$clone"
wait_gone "$clone"

# 2. Move it to a "host" without the program (its directory hidden).
via="unshare -m sh -c 'mount --bind $T/empty $T/bin && test ! -e $T/bin/counter && exec $RESTART - --detach --any-pid --stdout $T/moved.log'"
migrate --via "$via" "$pid" nshost || fail "ckpt-migrate failed: $(cat "$MERR")"
grep -q "^ckpt-migrate: moved PID $pid from .* to nshost: PID [0-9]* there" "$MOUT" ||
	fail "unexpected output: $(cat "$MOUT")"
grep -qE "^ckpt-migrate: downtime [0-9]+ ms" "$MOUT" || fail "no downtime printed: $(cat "$MOUT")"
moved=$(sed -n 's/.*: PID \([0-9]*\) there.*/\1/p' "$MOUT")
track_pid "$moved"
wait_gone "$pid"
before=$(last_tick "$T/orig.log")
wait_tick "$T/moved.log" $((before + 10))
assert_ticks_from "$T/moved.log" $((before + 1)) $((before + 10))
assert_ticks_consecutive "$T/orig.log" "$before"
case $(readlink "/proc/$moved/exe") in
"$XDG_CACHE_HOME/ckpt/"*/counter) ;;
*) fail "moved process runs $(readlink "/proc/$moved/exe"), not the bundle's copy" ;;
esac
say "moved: PID $pid -> $moved, $(grep downtime "$MOUT")"

# 3. Failures: the original runs on, nothing is left on the target.
others=$(candidate_procs)
migrate --via "head -c 300000 | $RESTART - --detach --any-pid --stdout $T/cut.log" "$moved" nshost &&
	fail "a cut stream was reported as a success: $(cat "$MOUT")"
grep -q "^ckpt-migrate: restart on nshost failed: .*truncated" "$MERR" ||
	fail "cut stream: unexpected message: $(cat "$MERR")"
grep -q "PID $moved goes on running" "$MERR" || fail "cut stream: $(cat "$MERR")"
assert_target_unharmed "$moved" "$T/moved.log"
assert_no_new_procs "$others"
[ ! -s "$T/cut.log" ] || fail "something ran from the cut stream: $(head -3 "$T/cut.log")"

migrate --via "$RESTART - --detach" "$moved" nshost &&
	fail "restart into a PID in use was reported as a success"
grep -q "^ckpt-migrate: restart on nshost failed: .*in use" "$MERR" ||
	fail "PID in use: unexpected message: $(cat "$MERR")"
assert_target_unharmed "$moved" "$T/moved.log"
assert_no_new_procs "$others"

migrate --via "exit 3" "$moved" nshost && fail "a receiver exiting at once was reported as a success"
grep -q "^ckpt-migrate: restart on nshost failed: .*status 3" "$MERR" ||
	fail "receiver exiting: unexpected message: $(cat "$MERR")"
assert_target_unharmed "$moved" "$T/moved.log"
assert_no_new_procs "$others"
# Through all of it, not a tick lost or repeated.
assert_ticks_from "$T/moved.log" $((before + 1))
say "failures: the original went on each time: $(tail -n 1 "$T/moved.log")"

# 4. The ssh path, with an ssh that runs the remote command here: to
# "localhost" the restart gets --new-pid (the original holds its PID).
cat > "$T/fakessh" << 'EOS'
#!/bin/sh
# ssh stand-in: options up to --, then HOST, then the remote command.
while [ "$1" != -- ]; do shift; done
echo "$3" > "${0%/*}/fakessh.cmd"
exec sh -c "$3"
EOS
chmod +x "$T/fakessh"
migrate --ssh "$T/fakessh" --restart "$RESTART" "$moved" localhost ||
	fail "ckpt-migrate over (fake) ssh failed: $(cat "$MERR")"
grep -qx "$RESTART - --detach --new-pid" "$T/fakessh.cmd" ||
	fail "remote command: '$(cat "$T/fakessh.cmd")'"
again=$(sed -n 's/.*: PID \([0-9]*\) there.*/\1/p' "$MOUT")
track_pid "$again"
wait_gone "$moved"
assert_running "$again" "moved over ssh"
assert_not_stopped "$again" "moved over ssh"
say "over ssh: $moved -> $again ($(cat "$T/fakessh.cmd"))"
pass
