#!/bin/bash
# scripts/ckpt-job (outside Slurm: --id, no requeue) when the job's PID is
# taken on the node it comes back to: it restores the job in a new PID
# namespace where the job keeps its PID (restart --new-pid), takes its
# periodic and final snapshots from inside that namespace, and every later
# restart uses a namespace too.  The counter's ticks run on without a gap
# or a repeat over three runs, and the last run ends with its status.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter
need_prog pidhold
[ "$(id -u)" = 0 ] || skip "needs root (clone3 set_tid, PID namespaces)"

JOB=$ROOT/scripts/ckpt-job
N=300
# job RUN: ckpt-job in the background, its log in $T/log.RUN, the job's
# output in $T/out.RUN (run 3 runs in the foreground, to its end)
job() {
	start_bg "$JOB" --dir "$T/snap" --id j --every 1 --no-bundle -- \
		"$PROGS/counter" -f "$T/c.map" -i 50 -n "$N" -s 7 \
		< /dev/null > "$T/out.$1" 2> "$T/log.$1"
	JOB_PID=$BG_PID
}
# save RUN: USR1, the final snapshot, ckpt-job ends with 0
save() {
	kill -USR1 "$JOB_PID"
	wait_gone "$JOB_PID" 30 || fail "ckpt-job did not end after SIGUSR1: $(cat "$T/log.$1")"
	grep -q "got SIGUSR1: final snapshot" "$T/log.$1" || fail "run $1: no final snapshot: $(cat "$T/log.$1")"
}

job 1
wait_until 30 grep -q "snapshot 2:" "$T/log.1" || fail "run 1: no periodic snapshot: $(cat "$T/log.1")"
pid=$(head -1 "$T/snap/j/pids")
[ -n "$pid" ] || fail "no PID recorded in snap/j/pids"
save 1
wait_gone "$pid"

# The job's PID is taken here now.
start_bg "$PROGS/pidhold" "$pid" > "$T/pidhold.out" 2> "$T/pidhold.err"
holder=$BG_PID
wait_until 10 grep -q "^held 1" "$T/pidhold.out" || fail "pidhold: $(cat "$T/pidhold.err")"
job 2
wait_until 30 grep -q "restarting it in a new PID namespace" "$T/log.2" ||
	fail "run 2 did not restore in a PID namespace: $(cat "$T/log.2")"
wait_until 30 grep -q "snapshot 1:.*incremental" "$T/log.2" ||
	fail "run 2: no incremental snapshot from inside the namespace: $(cat "$T/log.2")"
# DIR/ID/pids is rewritten (host PIDs) just after the snapshot's log line.
wait_until 10 sh -c '[ "$(head -1 "$1")" != "$2" ]' sh "$T/snap/j/pids" "$pid" ||
	fail "the restored counter is not in a namespace (host PID $pid)"
root=$(head -1 "$T/snap/j/pids")	# as the host numbers it
[ -n "$root" ] && [ "$root" != "$pid" ] || fail "the restored counter is not in a namespace (host PID $root)"
[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$root/status")" = "$pid" ] ||
	fail "the restored counter does not have its PID $pid in its namespace"
save 2
kill "$holder"
wait_gone "$holder"
wait_gone "$pid"

# PID free again: the images record the namespace's PIDs, restarted in one.
timeout 120 "$JOB" --dir "$T/snap" --id j --every 1 --no-bundle -- \
	"$PROGS/counter" -f "$T/c.map" -i 50 -n "$N" -s 7 < /dev/null > "$T/out.3" 2> "$T/log.3"
status=$?
[ "$status" = 7 ] || fail "run 3 ended with $status, expected the counter's 7: $(cat "$T/log.3")"
grep -q "restart 2 on" "$T/log.3" || fail "run 3 was not a restart: $(cat "$T/log.3")"
cat "$T/out.1" "$T/out.2" "$T/out.3" > "$T/all.out"
assert_ticks_consecutive "$T/all.out" "$N"
[ "$(last_tick "$T/all.out")" = "$N" ] || fail "the counter did not end at tick $N"
pass
