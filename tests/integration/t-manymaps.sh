#!/bin/bash
# A process with 2,000 small mappings (alternately read-only, some with
# madvise flags): restart re-creates them in batches of injected syscalls
# (several rounds of 256) and every page comes back with its contents and
# protection.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog manymaps

start_bg "$PROGS/manymaps" 2000 "$T/maps.log"
pid=$BG_PID
wait_for_line "$T/maps.log" '^ok 2$'
ckpt_ok "$pid" "$T/maps.tar.zst" --kill
wait_gone "$pid"
: > "$T/maps.log"
restart_detach "$T/maps.tar.zst"
wait_for_line "$T/maps.log" '^ok [0-9]+$|^BAD' 10
grep -q '^BAD' "$T/maps.log" && fail "restored mapping wrong: $(grep -m1 '^BAD' "$T/maps.log")"
# The read-only ones are read-only again: 1,000 r--p anonymous pages.
ro=$(awk '$2 == "r--p" && $6 == "" { n++ } END { print n + 0 }' "/proc/$RESTORED_PID/maps")
[ "$ro" -ge 1000 ] || fail "only $ro read-only anonymous mappings after restart (want 1000)"
dd=$(grep -c 'VmFlags:.* dd' "/proc/$RESTORED_PID/smaps")
[ "$dd" -ge 667 ] || fail "only $dd MADV_DONTDUMP mappings after restart (want 667)"
kill_wait "$RESTORED_PID"
pass
