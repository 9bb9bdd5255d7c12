#!/bin/bash
# Dirty-page tracking of a process that forks and execs: a bash loop that
# forks a subshell and runs sleep(1) at every tick (the children do not
# inherit the write-protect registration and run as ever), is dumped with
# tracking, then replaces itself with exec (same PID, new memory): the
# next dump finds the tracking's memory gone, ends it (the state file goes,
# then the holder), compares hashes, and a later --track begins anew.  The
# last image of the chain restores and the loop goes on counting.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt

cat > "$T/loop.sh" <<'EOF'
n=${1:-0}
while :; do
	n=$((n + 1))
	echo "tick $n"
	if [ -e "$2" ]; then
		rm -f "$2"
		exec bash "$0" "$n" "$2"
	fi
	( : )
	sleep 0.05
done
EOF
start_bg bash "$T/loop.sh" 0 "$T/exec-now" > "$T/l.log" 2> "$T/l.err"
pid=$BG_PID
wait_tick "$T/l.log" 5
ckpt_ok "$pid" "$T/full.tar.zst" --track -v
grep -q 'tracking: holder [0-9]* keeps the written bits' "$T/ckpt.err" ||
	skip "tracking not available here: $(grep tracking "$T/ckpt.err")"
state=$CKPT_TRACK_DIR/track-$pid
holder=$(awk '$1 == "holder" { print $2 }' "$state")
track_pid "$holder"
wait_tick "$T/l.log" $(($(last_tick "$T/l.log") + 10))
assert_no_corrupt "$T/l.log"
ckpt_ok "$pid" "$T/inc1.tar.zst" --parent "$T/full.tar.zst" -v
grep -q 'only those are read' "$T/ckpt.err" || fail "inc1 did not use the written bits: $(grep -i track "$T/ckpt.err")"

# exec: the PID and its start time stay, the memory does not.
touch "$T/exec-now"
wait_until 10 test ! -e "$T/exec-now" || fail "the loop did not exec"
wait_tick "$T/l.log" $(($(last_tick "$T/l.log") + 5))
ckpt_ok "$pid" "$T/inc2.tar.zst" --parent "$T/inc1.tar.zst" -v
grep -q 'tracking: ends: the process replaced its memory (exec)' "$T/ckpt.err" ||
	fail "tracking of the exec'd process: $(grep -i track "$T/ckpt.err")"
grep -q 'only those are read' "$T/ckpt.err" && fail "inc2 used written bits of the memory before exec"
[ -e "$state" ] && fail "the state file is still there after the exec"
wait_until 20 proc_dead "$holder" || fail "holder $holder outlived the tracking"
wait_tick "$T/l.log" $(($(last_tick "$T/l.log") + 5))
ckpt_ok "$pid" "$T/inc3.tar.zst" --parent "$T/inc2.tar.zst" --track -v
grep -q 'tracking begins with this image' "$T/ckpt.err" || fail "inc3: $(grep -i track "$T/ckpt.err")"
wait_tick "$T/l.log" $(($(last_tick "$T/l.log") + 5))
ckpt_ok "$pid" "$T/inc4.tar.zst" --parent "$T/inc3.tar.zst" --kill -v
grep -q 'only those are read' "$T/ckpt.err" || fail "inc4 did not use the written bits: $(grep -i track "$T/ckpt.err")"
wait_gone "$pid"
at=$(last_tick "$T/l.log")
restart_detach "$T/inc4.tar.zst"
wait_tick "$T/l.log" $((at + 10))
assert_ticks_consecutive "$T/l.log" $((at + 10))
pass
