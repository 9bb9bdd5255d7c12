#!/bin/bash
# Vector registers survive a checkpoint taken inside a system call: the
# program keeps a pattern in every ymm (and, on AVX-512 CPUs, every zmm and
# opmask) register across nanosleep and compares them after it returns.
# Both the full check and the ymm-only one (-y) are run.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog avx
grep -qw avx2 /proc/cpuinfo || skip "this CPU has no AVX2"

for variant in full ymm; do
	log=$T/avx-$variant.log
	if [ "$variant" = ymm ]; then
		start_bg "$PROGS/avx" -y > "$log" 2> "$T/avx-$variant.err"
	else
		start_bg "$PROGS/avx" > "$log" 2> "$T/avx-$variant.err"
	fi
	pid=$BG_PID
	wait_tick "$log" 10
	say "$variant: $(head -n1 "$log")"

	ckpt_ok "$pid" "$T/avx-$variant.tar.zst" --kill
	wait_gone "$pid"
	before=$(last_tick "$log")

	restart_detach "$T/avx-$variant.tar.zst"
	[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
	wait_tick "$log" $((before + 20))
	assert_ticks_consecutive "$log" $((before + 20))
	grep -q "^tick $((before + 1)) ok\$" "$log" || fail "no 'tick $((before + 1)) ok' after restart"
	kill_wait "$pid"
done
pass
