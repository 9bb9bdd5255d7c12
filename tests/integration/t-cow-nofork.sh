#!/bin/bash
# When the process cannot fork its copy-on-write copy (here: a process of
# user nobody at its RLIMIT_NPROC of 1), a leave-running ckpt says so with
# -v, keeps the process stopped until its memory is written instead, and
# the image is as good: the restored counter goes on from where it was.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter
command -v setpriv > /dev/null || skip "setpriv (util-linux) missing"
command -v prlimit > /dev/null || skip "prlimit (util-linux) missing"
chmod 777 "$T"

start_bg setpriv --reuid 65534 --regid 65534 --clear-groups -- \
	prlimit --nproc=1:1 -- "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 3
grep -q '^Max processes *1 *1 ' "/proc/$pid/limits" ||
	skip "RLIMIT_NPROC did not take: $(grep '^Max processes' "/proc/$pid/limits")"

ckpt_ok "$pid" "$T/c.tar.zst" -v
grep -q 'no copy-on-write copy' "$T/ckpt.err" ||
	fail "ckpt did not say it could not fork a copy: $(grep -i 'cop' "$T/ckpt.err")"
grep -q 'forked a copy-on-write copy' "$T/ckpt.err" && fail "ckpt forked a copy past RLIMIT_NPROC"
assert_running "$pid" "after the checkpoint"
assert_not_stopped "$pid"
at=$(last_tick "$T/counter.log")
kill_wait "$pid"
end=$(last_tick "$T/counter.log")
say "image taken near tick $at; original stopped at tick $end"

restart_detach "$T/c.tar.zst"
wait_tick "$T/counter.log" $((end + 5))
assert_ticks_consecutive "$T/counter.log" $((end + 5))
kill_wait "$RESTORED_PID"
pass
