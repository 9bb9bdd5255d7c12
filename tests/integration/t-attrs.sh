#!/bin/bash
# Scheduling and process attributes survive a checkpoint: CPU affinity
# (taskset), nice value, scheduling policy (SCHED_BATCH via chrt) and
# oom_score_adj are what they were, read back from /proc after restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter
if ! command -v taskset > /dev/null || ! command -v chrt > /dev/null; then skip "taskset/chrt missing"; fi

start_bg taskset -c 0 nice -n 7 chrt -b 0 "$PROGS/counter" -f "$T/c.map" > "$T/c.log" 2> "$T/c.err"
pid=$BG_PID
wait_for_line "$T/c.log" '^tick 3$' 10
echo 345 > "/proc/$pid/oom_score_adj"

attrs() {
	local p=$1
	printf 'affinity=%s nice=%s policy=%s oom=%s' \
		"$(taskset -p "$p" | sed 's/.*: //')" \
		"$(awk '{ print $19 }' "/proc/$p/stat")" \
		"$(chrt -p "$p" | sed -n 's/.*policy: //p')" \
		"$(cat "/proc/$p/oom_score_adj")"
}
before=$(attrs "$pid")
say "before: $before"
case $before in *"nice=7"*SCHED_BATCH*"oom=345") ;; *) fail "setup did not take: $before" ;; esac

ckpt_ok "$pid" "$T/c.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/c.tar.zst"
after=$(attrs "$pid")
say "after:  $after"
[ "$after" = "$before" ] || fail "attributes differ after restart: '$before' vs '$after'"
assert_progress "$T/c.log"
pass
