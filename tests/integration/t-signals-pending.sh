#!/bin/bash
# A blocked, pending SIGUSR2 (thread-directed with raise(), then
# process-wide with kill()) survives ckpt --kill + restart: it is still
# pending in the restored process and is delivered, once, with its si_code,
# when the program unblocks it (on the 2nd SIGUSR1, the 1st one sent before
# the checkpoint and the 2nd after).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog signals

for mode in pending pending-shared; do
	log=$T/$mode.log
	case $mode in
	pending) pnd='sigpnd=0000000000000800' code=-6 ;;	# SI_TKILL
	*) pnd='shdpnd=0000000000000800' code=0 ;;		# SI_USER
	esac
	start_bg "$PROGS/signals" -m "$mode" -u 2 > "$log" 2> "$T/$mode.err"
	pid=$BG_PID
	wait_tick "$log" 2
	grep -q "^tick 2 .*$pnd" "$log" || fail "$mode: SIGUSR2 not pending before the checkpoint"
	kill -USR1 "$pid"
	wait_for_line "$log" '^tick [0-9]+ usr1=1 ' 5

	ckpt_ok "$pid" "$T/$mode.tar.zst" --kill
	wait_gone "$pid"
	before=$(last_tick "$log")

	restart_detach "$T/$mode.tar.zst"
	[ "$RESTORED_PID" = "$pid" ] || fail "$mode: restored as PID $RESTORED_PID, expected $pid"
	wait_tick "$log" $((before + 2))
	grep -q "^tick $((before + 1)) usr1=1 sigblk=0000000000000800 .*$pnd" "$log" ||
		fail "$mode: SIGUSR2 is not blocked+pending after restart: $(grep "^tick $((before + 1)) " "$log")"
	! grep -q '^usr2 delivered' "$log" || fail "$mode: SIGUSR2 delivered while still blocked"

	kill -USR1 "$pid"
	wait_for_line "$log" "^usr2 delivered code=$code\$" 5
	wait_tick "$log" $((before + 5))
	[ "$(count_lines "$log" '^usr2 delivered')" = 1 ] || fail "$mode: SIGUSR2 delivered more than once"
	assert_ticks_consecutive "$log"
	kill_wait "$pid"
	say "$mode: pending SIGUSR2 delivered after restart"
done
pass
