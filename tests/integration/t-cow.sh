#!/bin/bash
# Leave-running checkpoints read memory from a frozen copy-on-write copy:
# the process (cowprog, rewriting 64 MiB without pause) resumes as soon as
# the copy exists, yet the image holds its memory as of one instant: the
# restored process finds every page of the right generation.  Shared,
# MADV_DONTFORK and MADV_WIPEONFORK memory (not in a fork as they are)
# come back with their contents, and no zombie copy is left behind.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog cowprog

no_children() {
	local kids
	kids=$(cat /proc/"$1"/task/*/children 2>/dev/null | tr -d ' \n')
	[ -z "$kids" ] || fail "process $1 has children after the checkpoint: $kids (a copy left behind?)"
}

start_bg "$PROGS/cowprog" "$T/cow.log"
pid=$BG_PID
wait_for_line "$T/cow.log" '^pass 32 ok$' 20

ckpt_ok "$pid" "$T/cow.tar.zst" -v
grep -q 'forked a copy-on-write copy' "$T/ckpt.err" ||
	fail "ckpt made no copy-on-write copy: $(grep -i 'copy' "$T/ckpt.err")"
read -r frozen total < <(sed -n 's/.*frozen for \([0-9.]*\) ms, total \([0-9.]*\) ms.*/\1 \2/p' "$T/ckpt.err")
[ -n "$frozen" ] || fail "ckpt -v printed no freeze time"
awk -v f="$frozen" -v t="$total" 'BEGIN { exit !(f < t) }' ||
	fail "frozen for $frozen ms of $total ms: the process was not let go before its memory was written"
assert_running "$pid" "after a copy-on-write checkpoint"
assert_not_stopped "$pid"
no_children "$pid"
n=$(count_lines "$T/cow.log" '^pass ')
wait_for_line "$T/cow.log" "^pass $(( (n + 2) * 16 )) ok\$" 20
grep -q '^BAD' "$T/cow.log" && fail "the original went wrong: $(grep -m1 '^BAD' "$T/cow.log")"

# --no-cow: the same image, stopped throughout.
ckpt_ok "$pid" "$T/nocow.tar.zst" --no-cow -v
grep -q 'forked a copy-on-write copy' "$T/ckpt.err" && fail "--no-cow made a copy anyway"
no_children "$pid"
kill_wait "$pid"

# The restored process rewrites every page at least twice: a page of the
# wrong generation, or a side region changed, is a BAD line.
for img in cow nocow; do
	: > "$T/cow.log"
	restart_detach "$T/$img.tar.zst"
	for ((i = 0; i < 200; i++)); do
		grep -q '^BAD' "$T/cow.log" && fail "restored from $img.tar.zst: $(grep -m1 '^BAD' "$T/cow.log")"
		[ "$(count_lines "$T/cow.log" '^pass ')" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(count_lines "$T/cow.log" '^pass ')" -ge 2 ] ||
		fail "restored from $img.tar.zst: no progress in 20 s ($(tail -c 200 "$T/cow.log"))"
	kill_wait "$RESTORED_PID"
done
pass
