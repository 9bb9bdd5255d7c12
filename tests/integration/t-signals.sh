#!/bin/bash
# Signal state across ckpt --kill + restart: the SIGUSR1 handler (SA_SIGINFO|
# SA_RESTART) still runs and its count goes on, SIGUSR2 is still blocked
# (SigBlk unchanged) and is unblocked by the program on the 2nd SIGUSR1.
# The program checks handlers, flags and mask itself every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog signals

log=$T/signals.log
start_bg "$PROGS/signals" -m plain -u 2 > "$log" 2> "$T/signals.err"
pid=$BG_PID
wait_tick "$log" 2
kill -USR1 "$pid"
wait_for_line "$log" '^usr1 1$' 5
wait_for_line "$log" '^tick [0-9]+ usr1=1 ' 5
blk_before=$(grep '^tick' "$log" | tail -n1 | sed -E 's/.* sigblk=([0-9a-f]+).*/\1/')
[ "$blk_before" = 0000000000000800 ] || fail "SigBlk before the checkpoint is $blk_before, expected SIGUSR2 only"

ckpt_ok "$pid" "$T/signals.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$log")

restart_detach "$T/signals.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$log" $((before + 2))
line=$(grep "^tick $((before + 1)) " "$log")
case $line in
*" usr1=1 sigblk=0000000000000800 "*) ;;
*) fail "first tick after restart does not show usr1=1 and SIGUSR2 blocked: '$line'" ;;
esac

kill -USR1 "$pid"
wait_for_line "$log" '^usr1 2$' 5
wait_for_line "$log" '^unblocking usr2$' 5
wait_for_line "$log" '^tick [0-9]+ usr1=2 sigblk=0000000000000000 ' 5
kill -USR1 "$pid"
wait_for_line "$log" '^usr1 3$' 5
assert_progress "$log"
assert_ticks_consecutive "$log"
! grep -q '^usr2 delivered' "$log" || fail "a SIGUSR2 that was never sent was delivered"
[ "$(count_lines "$log" '^usr1 ')" = 3 ] || fail "expected exactly 3 'usr1' lines"
pass
