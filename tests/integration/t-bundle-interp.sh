#!/bin/bash
# Interpreted programs on a "host" without their interpreter: python3 and
# perl counting in a loop are checkpointed with --bundle, their script
# removed, and restarted in a new mount namespace where /usr/bin is an
# empty directory (no python3, no perl).  The interpreter is run from the
# bundle's cache copy and they go on counting; ckpt check, in that
# namespace, says the interpreter is missing and the bundle covers it.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
command -v unshare > /dev/null || skip "unshare (util-linux) is not installed"
unshare -m true 2> /dev/null || skip "cannot make a mount namespace here"

export XDG_CACHE_HOME=$T/cache
mkdir -p "$T/empty"

# hidden CMD...: CMD run in a new mount namespace where /usr/bin is empty.
hidden() {
	timeout -k 5 "$CKPT_TIMEOUT" unshare -m sh -c 'mount --bind "$0" /usr/bin && exec "$@"' \
		"$T/empty" "$@"
}

# run_one NAME INTERPRETER SCRIPT-FILE
run_one() {
	local name=$1 interp=$2 script=$3 pid before real out
	real=$(readlink -f "$interp")
	start_bg "$interp" "$script" > >(exec cat > "$T/$name.log") 2> "$T/$name.err"
	pid=$BG_PID
	wait_tick "$T/$name.log" 5 20
	ckpt_ok "$pid" "$T/$name.tar.zst" --bundle --kill
	wait_gone "$pid"
	before=$(last_tick "$T/$name.log")
	rm -f "$script"
	hidden "$CKPT" check "$T/$name.tar.zst" > "$T/$name.check" 2>&1 ||
		fail "ckpt check (no /usr/bin) refuses the $name image: $(cat "$T/$name.check")"
	grep -q "^OK      executable $real: missing here, in the bundle" "$T/$name.check" ||
		fail "ckpt check does not say $real is missing and bundled: $(cat "$T/$name.check")"
	hidden "$RESTART" "$T/$name.tar.zst" --detach --stdout "$T/$name.2.log" \
		> "$T/$name.restart.out" 2> "$T/$name.restart.err" ||
		fail "restart of $name without /usr/bin failed: $(cat "$T/$name.restart.err")"
	out=$(grep -m1 -E '^[0-9]+$' "$T/$name.restart.out")
	track_pid "$out"
	[ "$out" = "$pid" ] || fail "$name restored as PID '$out', expected $pid"
	wait_tick "$T/$name.2.log" $((before + 10)) 20
	assert_ticks_from "$T/$name.2.log" $((before + 1)) $((before + 10))
	case $(readlink "/proc/$pid/exe") in
	"$XDG_CACHE_HOME/ckpt/"*/"${real##*/}") ;;
	*) fail "$name runs $(readlink "/proc/$pid/exe"), not the cache copy of $real" ;;
	esac
	say "$name: ran on from tick $((before + 1)) with $real hidden, from $(readlink "/proc/$pid/exe")"
	kill -KILL "$pid"
	wait_gone "$pid"
}

if [ -x /usr/bin/python3 ]; then
	cat > "$T/count.py" << 'EOF'
import sys, time
n = 0
while True:
    n += 1
    print("tick", n, flush=True)
    time.sleep(0.05)
EOF
	run_one python /usr/bin/python3 "$T/count.py"
	ran=1
fi
if [ -x /usr/bin/perl ]; then
	cat > "$T/count.pl" << 'EOF'
use strict; use Time::HiRes qw(sleep);
$| = 1;
my $n = 0;
while (1) { $n++; print "tick $n\n"; sleep(0.05); }
EOF
	run_one perl /usr/bin/perl "$T/count.pl"
	ran=1
fi
[ -n "${ran:-}" ] || skip "neither /usr/bin/python3 nor /usr/bin/perl is installed"
pass
