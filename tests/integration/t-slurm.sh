#!/bin/bash
# scripts/ckpt-job under a real Slurm: munge, a slurmctld and two slurmd
# "nodes" (n1, n2: distinct NodeName, port and spool directory) started
# here on loopback, all in $T.  A job runs tests/progs/counter (unmodified:
# it knows nothing of checkpoints) under ckpt-job with snapshots into a
# shared directory, and
#  1. is preempted by a job of a higher partition (PreemptMode=REQUEUE,
#     preempt_send_user_signal: its --signal=B:USR1 at preemption): final
#     snapshot, requeue, restart on the other node from its counter;
#  2. reaches its time limit (--signal=B:USR1@60, its limit cut to 1 minute
#     while it runs): the same, with its output file in Slurm's default
#     truncate mode (ckpt-job warns; no hole in the file);
#  3. is signalled (scancel --signal=USR1 --batch) and has its newest
#     snapshot damaged while requeued: restarts from the one before, with
#     restart's warning in the job's output;
#  4. loses its node (slurmd and the job's processes killed, the controller
#     finds the node dead and requeues the job): continues on the other
#     node from its last periodic snapshot.
# Each time the job ends at the counter's last tick with the counter's exit
# status (7), its whole output in the one output file (--open-mode=append),
# and sacct -c (the job completion log: no database) shows a requeue.
# shellcheck disable=SC2317 # (the job_* predicates are called through wait_job)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

for b in munged slurmctld slurmd sbatch scontrol squeue scancel; do
	command -v "$b" > /dev/null || skip "$b is not installed (scripts/install-deps: slurm-wlm, munge)"
done
[ "$(id -u)" = 0 ] || skip "slurmd needs root"

JOBWRAP=$ROOT/scripts/ckpt-job
SHARED=$T/shared		# the "shared storage" of the cluster
mkdir -p "$T/munge" "$T/ctld" "$T/spool-n1" "$T/spool-n2" "$SHARED" || fail "mkdir"
chmod 700 "$T/munge"

# ---- munge
dd if=/dev/urandom of="$T/munge/key" bs=1024 count=1 status=none
chmod 600 "$T/munge/key"
munged --force --key-file="$T/munge/key" --socket="$T/munge/sock" \
	--pid-file="$T/munge/pid" --log-file="$T/munge/log" --seed-file="$T/munge/seed" \
	> "$T/munged.out" 2>&1 < /dev/null || fail "munged did not start: $(cat "$T/munged.out")"
track_pid "$(cat "$T/munge/pid" 2>/dev/null)"

# ---- slurm.conf
ctld_port=$(free_port)
n1_port=$(free_port)
n2_port=$(free_port)
while [ "$n1_port" = "$ctld_port" ]; do n1_port=$(free_port); done
while [ "$n2_port" = "$ctld_port" ] || [ "$n2_port" = "$n1_port" ]; do n2_port=$(free_port); done
host=$(hostname)
export SLURM_CONF=$T/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=ckpttest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/sock,cred_expire=5
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/ctld
SlurmdSpoolDir=$T/spool-%n
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd-%n.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/linear
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
JobCompType=jobcomp/filetxt
JobCompLoc=$T/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=10
KillWait=5
MinJobAge=600
SlurmctldDebug=info
SlurmdDebug=info
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$n1_port CPUs=1 RealMemory=100
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=$n2_port CPUs=1 RealMemory=100
PartitionName=debug Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP PreemptMode=OFF
PartitionName=low Nodes=n1,n2 MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=60
PartitionName=high Nodes=n1,n2 MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
EOF

dump_slurm_logs() {
	local f
	for f in "$T"/slurmctld.log "$T"/slurmd-n1.log "$T"/slurmd-n2.log; do
		[ -s "$f" ] || continue
		echo "---- ${f#"$T"/} (last 10 lines)"
		tail -n 10 "$f" | cut -c1-300
	done
}
sfail() {
	dump_slurm_logs
	fail "$@"
}

slurmctld -c > "$T/slurmctld.out" 2>&1 < /dev/null || sfail "slurmctld did not start: $(cat "$T/slurmctld.out")"
wait_until 10 test -s "$T/slurmctld.pid" || sfail "slurmctld wrote no pid file"
track_pid "$(cat "$T/slurmctld.pid")"
start_slurmd() {
	slurmd -N "$1" > "$T/slurmd-$1.out" 2>&1 < /dev/null || sfail "slurmd -N $1 did not start: $(cat "$T/slurmd-$1.out")"
	wait_until 10 test -s "$T/slurmd-$1.pid" || sfail "slurmd $1 wrote no pid file"
	track_pid "$(cat "$T/slurmd-$1.pid")"
}
start_slurmd n1
start_slurmd n2

# node_state NODE: idle, allocated, drained, down... (lower case, no flags)
node_state() {
	sinfo -h -N -n "$1" -o %T 2>/dev/null | head -n1 | tr -d '*~#!%$@^-'
}
# shellcheck disable=SC2016 # evaluated by wait_until, each time
wait_until 30 eval '[ "$(node_state n1)" = idle ] && [ "$(node_state n2)" = idle ]' ||
	sfail "the nodes did not come up idle (n1: $(node_state n1), n2: $(node_state n2))"
say "slurm up: slurmctld on 127.0.0.1:$ctld_port, slurmd n1 :$n1_port, n2 :$n2_port"

# job_field JOBID FIELD: a field of `scontrol show job` (JobState, NodeList...).
job_field() {
	scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}
wait_job() {	# wait_job JOBID TIMEOUT CONDITION-CMD...
	local id=$1 timeout=$2
	shift 2
	wait_until "$timeout" "$@" ||
		sfail "job $id: timed out after ${timeout}s waiting for: $* (state $(job_field "$id" JobState), node $(job_field "$id" NodeList))"
}
running_on() {	# running_on JOBID NODE
	[ "$(job_field "$1" JobState)" = RUNNING ] && [ "$(job_field "$1" NodeList)" = "$2" ]
}
running() {
	[ "$(job_field "$1" JobState)" = RUNNING ]
}
finished() {
	case $(job_field "$1" JobState) in
	COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) return 0 ;;
	esac
	return 1
}
other() {
	[ "$1" = n1 ] && echo n2 || echo n1
}
node_do() {	# node_do NODE STATE
	scontrol update "NodeName=$1" "State=$2" ${3:+"Reason=$3"} ||
		sfail "scontrol update NodeName=$1 State=$2 failed"
}

COUNT=150	# ticks of 100 ms: 15 s of work per job
declare -A COUNTS
# submit NAME [SBATCH OPTIONS...]: a job running the counter under ckpt-job
# (N ticks, default COUNT); its id in JOB, its output in $T/NAME.out.
submit() {
	local name=$1
	shift
	COUNTS[$name]=${N:-$COUNT}
	cat > "$T/$name.sh" <<EOF
#!/bin/bash
exec "$JOBWRAP" --dir "$SHARED" --every 1 --keep 4 -- \\
	"$PROGS/counter" -f "$SHARED/$name.map" -i 100 -n ${COUNTS[$name]} -s 7
EOF
	JOB=$(sbatch --parsable -J "$name" -o "$T/$name.out" --open-mode="${OPEN_MODE:-append}" --requeue \
		-N 1 -n 1 "$@" "$T/$name.sh" 2> "$T/sbatch.err") ||
		sfail "sbatch failed: $(cat "$T/sbatch.err")"
	JOB=${JOB%%;*}
}

# check_end NAME JOBID: the job ended with the counter's status, at its last
# tick, and was requeued at least once.
check_end() {
	local name=$1 id=$2 ec restarts count=${COUNTS[$1]}
	wait_job "$id" 90 finished "$id"
	ec=$(job_field "$id" ExitCode)
	restarts=$(job_field "$id" Restarts)
	[ "$ec" = 7:0 ] || sfail "$name: job $id ended with ExitCode=$ec, expected the counter's 7:0"
	[ "${restarts:-0}" -ge 1 ] || sfail "$name: job $id shows Restarts=$restarts"
	[ "$(last_tick "$T/$name.out")" = "$count" ] ||
		fail "$name: the last tick is $(last_tick "$T/$name.out"), expected $count"
	wait_for_line "$T/$name.out" 'ckpt-job: .* job ended with status 7$' 10
}

# ticks_after NAME REGEX: the first tick printed after the first line
# matching REGEX, and the last tick before it.
ticks_around() {
	awk -v re="$2" '
		$0 ~ re && !seen { seen = 1; next }
		/^tick [0-9]+$/ { if (seen && !after) after = $2; if (!seen) before = $2 }
		END { print before + 0, after + 0 }' "$T/$1.out"
}

# ---- 1: preempted by a job of a higher partition (PreemptMode=REQUEUE,
# preempt_send_user_signal: the job's --signal=B:USR1 comes at preemption)
submit pre -p low --signal=B:USR1@10
id=$JOB
wait_job "$id" 30 running "$id"
a=$(job_field "$id" NodeList)
b=$(other "$a")
wait_for_line "$T/pre.out" 'ckpt-job: .* snapshot 1: ' 30
hi=$(sbatch --parsable -p high -w "$a" -o /dev/null --wrap 'sleep 300' 2> "$T/sbatch.err") ||
	sfail "sbatch -p high failed: $(cat "$T/sbatch.err")"
hi=${hi%%;*}
wait_for_line "$T/pre.out" 'ckpt-job: .* got SIGUSR1: final snapshot' 40
wait_job "$hi" 60 running_on "$hi" "$a"
wait_job "$id" 60 running_on "$id" "$b"
wait_for_line "$T/pre.out" "ckpt-job: .* restart 1 on $b from $SHARED/$id" 30
scancel "$hi"
check_end pre "$id"
assert_ticks_consecutive "$T/pre.out" "$COUNT"
read -r before after <<< "$(ticks_around pre "restart 1 on $b")"
[ "$after" = $((before + 1)) ] || fail "1: restarted at tick $after after tick $before"
say "1: preempted at tick $before on $a by job $hi, requeued, went on on $b at tick $after, exit 7"

# ---- 2: time limit: the signal --signal=B:USR1@60 asks for, then the kill;
# the output file in Slurm's default mode (truncate)
# slurmctld checks time limits every 30 s: the job lasts 45 s.
OPEN_MODE=truncate N=450 submit tl --time=10 --signal=B:USR1@60
id=$JOB
wait_job "$id" 30 running "$id"
a=$(job_field "$id" NodeList)
b=$(other "$a")
node_do "$a" DRAIN "ckpt-job test"
# A limit of 1 minute: the warning signal is due now (slurmctld sends it
# at its next time-limit check, within 30 s).
scontrol update "JobId=$id" TimeLimit=1 || sfail "cannot cut the time limit of job $id"
wait_for_line "$T/tl.out" 'ckpt-job: .* got SIGUSR1: final snapshot' 50
wait_for_line "$T/tl.out" "ckpt-job: .* saved; job $id requeued" 30
scontrol update "JobId=$id" TimeLimit=10 || sfail "cannot restore the time limit of job $id"
wait_job "$id" 60 running_on "$id" "$b"
node_do "$a" RESUME
check_end tl "$id"
if grep -q '^tick 1$' "$T/tl.out"; then
	assert_ticks_consecutive "$T/tl.out" 450
	say "2: saved before its time limit on $a, went on on $b, exit 7 (output kept in truncate mode)"
else
	# Slurm truncated the file for the new run: ckpt-job says so, and the
	# job goes on at the start of the file, not at its old offset.
	grep -q 'ckpt-job: .* warning: the output file is empty on this restart' "$T/tl.out" ||
		fail "2: the output file was truncated on the requeue, and ckpt-job gave no warning"
	first=$(awk '/^tick / { print $2; exit }' "$T/tl.out")
	assert_ticks_from "$T/tl.out" "$first" 450
	[ "$(tr -d '\000' < "$T/tl.out" | wc -c)" = "$(wc -c < "$T/tl.out")" ] ||
		fail "2: the truncated output file has a hole of NUL bytes"
	say "2: saved before its time limit on $a, went on on $b at tick $first, exit 7 (truncate mode: earlier output lost, warned)"
fi

# ---- 3: the newest snapshot damaged while the job waits in the queue
submit dmg
id=$JOB
wait_job "$id" 30 running "$id"
a=$(job_field "$id" NodeList)
b=$(other "$a")
wait_for_line "$T/dmg.out" 'ckpt-job: .* snapshot 2: ' 30
node_do "$a" DRAIN "ckpt-job test"
node_do "$b" DRAIN "ckpt-job test"
scancel --signal=USR1 --batch "$id" || sfail "scancel --signal=USR1 --batch $id failed"
wait_for_line "$T/dmg.out" "ckpt-job: .* saved; job $id requeued" 30
wait_job "$id" 30 eval "[ \"\$(job_field $id JobState)\" = PENDING ]"
newest=$(find "$SHARED/$id" -name 'job-*.tar.zst' | sort | tail -n1)
[ -n "$newest" ] || fail "3: no snapshot in $SHARED/$id"
size=$(stat -c %s "$newest")
flip_bytes "$newest" $((size / 2)) 64
say "3: damaged ${newest##*/} ($size bytes) while job $id is queued"
node_do "$b" RESUME
wait_job "$id" 60 running_on "$id" "$b"
wait_for_line "$T/dmg.out" "restart: .*${newest##*/} is damaged, skipped" 30
wait_for_line "$T/dmg.out" 'restart: .*restarting from the older snapshot' 10
node_do "$a" RESUME
check_end dmg "$id"
read -r before after <<< "$(ticks_around dmg "restart 1 on $b")"
{ [ "$after" -gt 1 ] && [ "$after" -le "$before" ]; } ||
	fail "3: restarted at tick $after after tick $before (expected an older tick, not 1)"
sed -n "/restart 1 on $b/,\$p" "$T/dmg.out" > "$T/dmg.after"
assert_ticks_from "$T/dmg.after" "$after" "$COUNT"
say "3: newest snapshot damaged: restarted from the one before (tick $after after $before), exit 7"

# ---- 4: the node dies (slurmd and every process of the job killed)
submit node
id=$JOB
wait_job "$id" 30 running "$id"
a=$(job_field "$id" NodeList)
b=$(other "$a")
wait_for_line "$T/node.out" 'ckpt-job: .* snapshot 2: ' 30
# The job's processes on $a: its environment names it; slurmstepd by name.
victims=$(cat "$T/slurmd-$a.pid")
for p in $(procs_in_test); do
	if grep -qz "^SLURM_JOB_ID=$id\$" "/proc/$p/environ" 2>/dev/null ||
		grep -qzF "slurmstepd: [$id." "/proc/$p/cmdline" 2>/dev/null; then
		victims="$victims $p"
	fi
done
# shellcheck disable=SC2086 # a list of PIDs
kill -KILL $victims
killed_at=$(last_tick "$T/node.out")
say "4: killed node $a (slurmd and job $id:$(echo " $victims" | wc -w) processes) at tick $killed_at"
wait_job "$id" 60 running_on "$id" "$b"
wait_for_line "$T/node.out" "ckpt-job: .* restart 1 on $b from $SHARED/$id" 30
check_end node "$id"
read -r before after <<< "$(ticks_around node "restart 1 on $b")"
{ [ "$after" -gt 1 ] && [ "$after" -le "$((before + 1))" ]; } ||
	fail "4: restarted at tick $after after tick $before (expected the last snapshot's, not 1)"
sed -n "/restart 1 on $b/,\$p" "$T/node.out" > "$T/node.after"
assert_ticks_from "$T/node.after" "$after" "$COUNT"
say "4: node $a lost at tick $before: continued on $b from its last snapshot (tick $after), exit 7"

# ---- accounting without a database (slurmdbd needs MySQL): plain sacct
# has nothing (accounting_storage/none), sacct -c reads the job completion
# log (jobcomp/filetxt), one record per run: a requeued run, then the end.
sacct -n -j 1 > "$T/sacct.out" 2>&1
say "sacct: $(head -n1 "$T/sacct.out")"
sacct -c -n -P -j 1 -o JobID,State,NodeList,ExitCode > "$T/sacct-c.out" 2>&1 ||
	fail "sacct -c failed: $(cat "$T/sacct-c.out")"
say "sacct -c -j 1: $(tr '\n' ' ' < "$T/sacct-c.out")"
[ "$(grep -c '^1|' "$T/sacct-c.out")" -ge 2 ] ||
	fail "sacct -c shows no requeued run of job 1: $(cat "$T/sacct-c.out")"
grep -qE '^1\|(REQUEUED|PENDING|PREEMPTED)\|' "$T/sacct-c.out" ||
	fail "sacct -c: no requeued run of job 1: $(cat "$T/sacct-c.out")"
grep -q '^1|FAILED|n[12]|7:0$' "$T/sacct-c.out" ||
	fail "sacct -c: job 1 did not end with exit code 7: $(cat "$T/sacct-c.out")"
pass
