#!/bin/bash
# A dump that fails, however it fails, leaves the target exactly as it
# was: ckpt runs under an LD_PRELOAD shim (tests/faults/failnth.so) that
# makes the Nth call of ptrace, process_vm_readv, process_vm_writev,
# pread, pwrite or writev (the image) fail with EIO.  Whatever ckpt then does (an error
# exit, or a dump that copes), the victim (tests/progs/victim, 3 threads)
# keeps counting with its registers, mask, memory and sleeps intact, is
# neither stopped nor traced, has no child and no mapping more, and no
# file is left unless ckpt says the image is complete and it is.
#
# Bounded: for each call, the first, the last and ~8 in between of the
# calls one dump makes (counted first); FAULT_ALL=1 (`make faults`) fails
# every one in turn.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog victim
# shellcheck source=tests/integration/victim.sh
. "$(dirname "$0")/victim.sh"
SHIM=$ROOT/tests/faults/failnth.so
[ -e "$SHIM" ] || fail "$SHIM is not built (run make)"

total=0 good=0 failed_dumps=0
problems=()

new_victim() {
	[ -n "${pid:-}" ] && kill -KILL "$pid" 2>/dev/null
	log=$T/victim.log
	start_bg "$PROGS/victim" 4 3 > "$log"
	pid=$BG_PID
	wait_for_line "$log" '^tick 2$' 30
	maps0=$(layout "$pid")
}

pid=
new_victim
for call in ptrace process_vm_readv process_vm_writev pread pwrite writev; do
	timeout -k 5 30 env FAIL_CALL=$call FAIL_NTH=0 FAIL_COUNT="$T/count" LD_PRELOAD="$SHIM" \
		"$CKPT" "$pid" -o "$T/img" > /dev/null 2> "$T/ckpt.err" < /dev/null ||
		fail "ckpt failed with no fault injected: $(cat "$T/ckpt.err")"
	rm -f "$T/img"
	n=$(cat "$T/count")
	if [ "${FAULT_ALL:-0}" = 1 ]; then
		nths=$(seq 1 "$n")
	else
		nths=$( (echo 1; echo "$n"; for ((k = 1; k < 9; k++)); do echo $((k * n / 9)); done) |
			awk '$1 > 0' | sort -un)
	fi
	say "$call: $n calls in one dump; failing $(echo "$nths" | wc -l) of them in turn"
	for nth in $nths; do
		timeout -k 5 30 env FAIL_CALL=$call FAIL_NTH=$nth LD_PRELOAD="$SHIM" \
			"$CKPT" "$pid" -o "$T/img" > /dev/null 2> "$T/ckpt.err" < /dev/null
		rc=$?
		total=$((total + 1))
		why=$(victim_problem "$pid" "$log")
		if [ "$rc" = 0 ]; then
			"$CKPT" info "$T/img" > /dev/null 2>&1 ||
				why="${why:+$why; }ckpt exited 0 but the image is not valid"
		else
			failed_dumps=$((failed_dumps + 1))
			[ "$rc" = 1 ] || why="${why:+$why; }ckpt exited $rc ($(tail -c 200 "$T/ckpt.err"))"
			left=$(find "$T" -maxdepth 1 \( -name img -o -name ".img.*" \) -printf '%f ')
			[ -z "$left" ] || why="${why:+$why; }left behind: $left"
		fi
		rm -f "$T/img" "$T"/.img.*
		if [ -z "$why" ]; then
			good=$((good + 1))
			continue
		fi
		problems+=("$call #$nth: $why")
		say "$call #$nth failed: $why ($(tail -c 150 "$T/ckpt.err"))"
		new_victim
	done
done
say "victim unharmed after $good of $total dumps with a failing call ($failed_dumps dumps failed)"
[ ${#problems[@]} = 0 ] || fail "${#problems[@]} of $total failing calls harmed the victim: ${problems[*]}"
pass
