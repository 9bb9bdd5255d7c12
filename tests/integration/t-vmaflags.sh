#!/bin/bash
# The whole mapping list comes back identical, /proc/PID/smaps VmFlags
# included: mlock'ed, mlock2(MLOCK_ONFAULT) and MAP_LOCKED mappings locked
# again, MADV_DONTFORK/DONTDUMP/HUGEPAGE/NOHUGEPAGE/WIPEONFORK/MERGEABLE,
# PROT_NONE, guard regions (MADV_GUARD_INSTALL), MAP_GROWSDOWN, MAP_SHARED
# /dev/zero, sealed (mseal) mappings; then, with mlockall(MCL_FUTURE |
# MCL_ONFAULT), new mappings of the restored process are locked on fault.
# tests/progs/vmaflags compares its own smaps and contents every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog vmaflags

for opt in "" -f; do
	log=$T/v$opt.log
	# shellcheck disable=SC2086
	start_bg "$PROGS/vmaflags" $opt > "$log" 2> "$T/v$opt.err"
	pid=$BG_PID
	wait_tick "$log" 2
	grep -q 'setup failed' "$log" && skip "$(grep 'setup failed' "$log")"
	ckpt_ok "$pid" "$T/v$opt.tar.zst" --kill
	wait_gone "$pid"
	restart_detach "$T/v$opt.tar.zst"
	last=$(last_tick "$log")
	wait_tick "$log" $((last + 3))
	assert_no_corrupt "$log"
	grep -q ' lo ' "/proc/$pid/smaps" || fail "no locked mapping in the restored process"
	kill_wait "$pid"
done
pass
