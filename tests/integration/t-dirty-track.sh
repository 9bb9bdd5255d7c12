#!/bin/bash
# Dirty-page tracking (ckpt --track): userfaultfd write-protect in async
# mode, kept between dumps by a "ckpt-track" holder, and PAGEMAP_SCAN's
# written bit.  A 64 MiB process rewrites pages each tick -- by itself, by
# the kernel (read(2) into the page) and by a second thread (dirtier -k).
# Incremental dumps on the last tracked image read only the written pages
# (ckpt -v and ckpt info say so); the chain restores byte-identically to a
# full image of the same instant (both copies print the same checksums and
# the program checks every page: a write the tracking missed would show as
# a corrupt page).  Fallbacks: a parent that is not the last tracked image,
# and a holder that died (the process goes on untouched, untracked), make
# the next dump compare hashes; the holder ends with the process.
# (dirtier -z: 2 MiB of written zero pages, chunks left out of the image,
# whose numbering then skips: restart used to refuse that.)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog dirtier

# (CKPT_TRACK_DIR: $T/track, from lib.sh)
probe=$(grep -s '^UFFD\|userfaultfd' /proc/kallsyms | head -1)
[ -n "$probe" ] || [ -e /proc/sys/vm/unprivileged_userfaultfd ] || skip "no userfaultfd in this kernel"

start_bg "$PROGS/dirtier" 64 -i 50 -d 24 -k -z > "$T/d.log" 2> "$T/d.err"
pid=$BG_PID
wait_tick "$T/d.log" 3
ckpt_ok "$pid" "$T/full.tar.zst" --track -v
grep -q 'tracking: holder [0-9]* keeps the written bits' "$T/ckpt.err" ||
	skip "tracking not available here: $(grep tracking "$T/ckpt.err")"
state=$CKPT_TRACK_DIR/track-$pid
[ -f "$state" ] || fail "no tracking state at $state"
holder=$(awk '$1 == "holder" { print $2 }' "$state")
track_pid "$holder"
proc_alive "$holder" || fail "holder $holder is not running"
[ "$(proc_comm "$holder")" = ckpt-track ] || fail "holder $holder is '$(proc_comm "$holder")'"
# The process itself holds no userfaultfd: the holder has it.
ls -l "/proc/$pid/fd" | grep -q userfaultfd && fail "the process holds the userfaultfd"
"$CKPT" info "$T/full.tar.zst" | grep -q '^Tracking:.*all read' || fail "ckpt info of the first image: $("$CKPT" info "$T/full.tar.zst" | head -5)"

wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
ckpt_ok "$pid" "$T/inc1.tar.zst" --parent "$T/full.tar.zst" -v
grep -q 'written since the last dump: only those are read' "$T/ckpt.err" ||
	fail "inc1 did not use the written bits: $(grep -i track "$T/ckpt.err")"
"$CKPT" info "$T/inc1.tar.zst" | grep -q '^Tracking:.*(tracked)' || fail "ckpt info does not say inc1 was tracked"
written=$(sed -n 's/.*tracking: \([0-9]*\) of \([0-9]*\) tracked pages.*/\1/p' "$T/ckpt.err")
total=$(sed -n 's/.*tracking: \([0-9]*\) of \([0-9]*\) tracked pages.*/\2/p' "$T/ckpt.err")
say "inc1: $written of $total tracked pages written since the full image"
[ "$written" -gt 0 ] && [ $((written * 10)) -lt "$total" ] || fail "inc1: $written of $total pages written"
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
# Stopped, the process cannot change between the last two images.
kill -STOP "$pid"
ckpt_ok "$pid" "$T/inc2.tar.zst" --parent "$T/inc1.tar.zst" -v
grep -q 'only those are read' "$T/ckpt.err" || fail "inc2 did not use the written bits: $(grep -i track "$T/ckpt.err")"
ckpt_ok "$pid" "$T/same.tar.zst"
at_same=$(last_tick "$T/d.log")
log_same=$(stat -c %s "$T/d.log")
kill -CONT "$pid"

# Fallback 1: a parent that is not the last tracked image.
wait_tick "$T/d.log" $((at_same + 3))
ckpt_ok "$pid" "$T/inc3.tar.zst" --parent "$T/inc1.tar.zst" -v
grep -q 'not the last tracked one: pages compared by hashes' "$T/ckpt.err" ||
	fail "inc3 on an older parent did not fall back to hashes: $(grep -i track "$T/ckpt.err")"
"$CKPT" info "$T/inc3.tar.zst" | grep -q '^Tracking:.*all read' || fail "ckpt info does not say inc3 was hashed"

# Fallback 2: the holder dies.  The process goes on (its memory intact,
# no longer registered); the next dump begins tracking anew, by hashes.
kill -KILL "$holder"
wait_gone "$holder"
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
assert_no_corrupt "$T/d.log"
grep -q ' uw' "/proc/$pid/smaps" && fail "mappings still registered after the holder died"
ckpt_ok "$pid" "$T/inc4.tar.zst" --parent "$T/inc3.tar.zst" --track -v
grep -q 'tracking begins with this image: pages compared by hashes' "$T/ckpt.err" ||
	fail "inc4 after the holder died: $(grep -i track "$T/ckpt.err")"
holder2=$(awk '$1 == "holder" { print $2 }' "$state")
track_pid "$holder2"
[ -n "$holder2" ] && [ "$holder2" != "$holder" ] && proc_alive "$holder2" || fail "no new holder"
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
ckpt_ok "$pid" "$T/inc5.tar.zst" --parent "$T/inc4.tar.zst" -v --kill
grep -q 'only those are read' "$T/ckpt.err" || fail "inc5 did not use the written bits: $(grep -i track "$T/ckpt.err")"
wait_gone "$pid"
# The holder ends with the process, and takes its state file along.
wait_until 10 proc_dead "$holder2" || fail "holder $holder2 outlived the process"
wait_until 10 test ! -e "$state" || fail "the state file outlived the holder"
at_end=$(last_tick "$T/d.log")
assert_no_corrupt "$T/d.log"

# The chain through both fallbacks and a tracked step after them
# (full <- inc1 <- inc3 <- inc4 <- inc5) comes back intact.
restart_detach "$T/inc5.tar.zst" -v
grep -q '4 parent images' "$T/restart.$_RESTART_N.err" || fail "restart did not follow 4 parents"
wait_tick "$T/d.log" $((at_end + 5))
kill_wait "$RESTORED_PID"
assert_no_corrupt "$T/d.log"
assert_ticks_consecutive "$T/d.log" $((at_end + 5))

# The tracked chain full <- inc1 <- inc2 and the full image of the same
# instant restore alike.  (d.log is reopened at its offset.)
truncate -s "$log_same" "$T/d.log"
restart_detach "$T/inc2.tar.zst" -v
grep -q '2 parent images' "$T/restart.$_RESTART_N.err" || fail "restart did not follow 2 parents"
kill -CONT "$RESTORED_PID"
wait_tick "$T/d.log" $((at_same + 5))
kill_wait "$RESTORED_PID"
cp "$T/d.log" "$T/r1.log"
truncate -s "$log_same" "$T/d.log"
restart_detach "$T/same.tar.zst"
kill -CONT "$RESTORED_PID"
wait_tick "$T/d.log" $((at_same + 5))
kill_wait "$RESTORED_PID"
cp "$T/d.log" "$T/r2.log"
for f in r1 r2; do
	assert_no_corrupt "$T/$f.log"
	grep -E "^tick $((at_same + 5)) " "$T/$f.log" > "$T/$f.tick"
done
[ -s "$T/r1.tick" ] && cmp -s "$T/r1.tick" "$T/r2.tick" ||
	fail "the tracked chain and the full image differ: '$(cat "$T/r1.tick")' vs '$(cat "$T/r2.tick")'"
say "tracked chain and full image both at: $(cat "$T/r1.tick")"

pass
