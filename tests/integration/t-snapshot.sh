#!/bin/bash
# ckpt snapshot: time-stamped images in a directory, rotation (--keep,
# --keep-daily), scripts/ckpt-snapshot, the lock against overlapping runs, the exit codes (3 process
# gone, 4 locked, 5 disk full), --pidfile; `restart DIR` brings back the
# newest snapshot, and the previous one with a warning when the newest is
# damaged.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

snap() {	# snap ARGS...: run ckpt snapshot, leaving its exit code in SNAP_RC
	timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" snapshot "$@" > "$T/snap.out" 2> "$T/snap.err" < /dev/null
	SNAP_RC=$?
}

start_bg "$PROGS/counter" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 5
D=$T/snaps

# Three full snapshots with --keep 2: two remain, named NAME-STAMP.tar.zst.
for i in 1 2 3; do
	snap --pid "$pid" --dir "$D" --keep 2 --full-every 1
	[ "$SNAP_RC" = 0 ] || fail "snapshot $i failed (exit $SNAP_RC): $(cat "$T/snap.err")"
	grep -qE "^ckpt snapshot: $D/counter-[0-9]{8}T[0-9]{6}Z\.tar\.zst: .* frozen .* ms, dump .* pages written" "$T/snap.err" ||
		fail "no log line for snapshot $i: $(cat "$T/snap.err")"
done
n=$(find "$D" -name 'counter-*.tar.zst' | wc -l)
[ "$n" = 2 ] || fail "--keep 2 left $n snapshots: $(ls "$D")"
assert_running "$pid" "snapshotted process"
assert_progress "$T/counter.log" '^tick ' 3
say "3 snapshots, 2 kept: $(ls "$D" | tr '\n' ' ')"

# Retention by day: old snapshots (empty files: rotation goes by names only).
R=$T/rot
mkdir "$R"
for f in counter-20260101T100000Z counter-20260101T200000Z counter-20260102T100000Z \
	counter-20260103T100000Z counter-20260103T110000Z other-20260101T100000Z; do
	: > "$R/$f.tar.zst"
done
snap --pid "$pid" --dir "$R" --keep 1 --keep-daily 3 --full-every 1
[ "$SNAP_RC" = 0 ] || fail "snapshot with --keep-daily failed: $(cat "$T/snap.err")"
# kept: the new one (today, also the newest of today), 20260103T11 (newest of
# Jan 3), 20260102T10 (Jan 2); deleted: Jan 3 10:00, both of Jan 1.
for f in counter-20260103T110000Z counter-20260102T100000Z other-20260101T100000Z; do
	[ -e "$R/$f.tar.zst" ] || fail "--keep 1 --keep-daily 3 deleted $f: $(ls "$R")"
done
for f in counter-20260103T100000Z counter-20260101T200000Z counter-20260101T100000Z; do
	[ ! -e "$R/$f.tar.zst" ] || fail "--keep 1 --keep-daily 3 kept $f: $(ls "$R")"
done
say "daily retention kept: $(ls "$R" | tr '\n' ' ')"

# Another run holding the lock: exit 4, nothing written.
before=$(ls "$D" | wc -l)
flock "$D/.counter.lock" sleep 3 &
locker=$!
track_pid "$locker"
sleep 0.3
snap --pid "$pid" --dir "$D" --keep 2 --full-every 1
[ "$SNAP_RC" = 4 ] || fail "a locked snapshot exited $SNAP_RC, not 4: $(cat "$T/snap.err")"
grep -q "another snapshot of counter" "$T/snap.err" || fail "no clear message: $(cat "$T/snap.err")"
[ "$(ls "$D" | wc -l)" = "$before" ] || fail "a locked run changed $D: $(ls -a "$D")"
kill "$locker" 2>/dev/null
say "locked: exit 4, $(cat "$T/snap.err")"

# The systemd units: verified (systemd-analyze), then the service's command
# run by hand as systemd would run it for the instance "$T/counter.pid"
# (no systemd as PID 1 here).
if command -v systemd-analyze > /dev/null; then
	U=$T/units
	mkdir "$U"
	for f in "$ROOT"/scripts/systemd/ckpt-snapshot@.service "$ROOT"/scripts/systemd/ckpt-snapshot@.timer; do
		sed -e "s|/usr/local/bin/ckpt-snapshot|$ROOT/scripts/ckpt-snapshot|" -e '/^Documentation=/d' \
			"$f" > "$U/${f##*/}"
	done
	(cd "$U" && timeout 60 systemd-analyze verify ./ckpt-snapshot@job.service ./ckpt-snapshot@job.timer) \
		> "$T/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.out")"
	grep -q '^SuccessExitStatus=3 4$' "$U/ckpt-snapshot@.service" || fail "the service does not take 3 and 4 as success"
	cmd=$(sed -n 's/^ExecStart=//p' "$U/ckpt-snapshot@.service")
	echo "$pid" > "$T/counter.pid"
	cmd=${cmd//%I/$T/counter.pid}
	# shellcheck disable=SC2086 # the command line is words, as systemd splits it
	CKPT_SNAPSHOT_DIR=$T/unit CKPT_SNAPSHOT_OPTS="--keep 1" CKPT=$CKPT timeout 30 $cmd 2> "$T/unit.err" ||
		fail "the service's command failed: $cmd: $(cat "$T/unit.err")"
	ls "$T"/unit/counter/counter-*.tar.zst > /dev/null 2>&1 || fail "the service wrote no snapshot: $(cat "$T/unit.err")"
	say "systemd units verified, the service's command ran: $cmd"
fi

# --pidfile, and a process that is gone: exit 3 with one line.
echo "$pid" > "$T/counter.pid"
snap --pidfile "$T/counter.pid" --dir "$D" --name job --keep 5 --full-every 1
[ "$SNAP_RC" = 0 ] || fail "--pidfile snapshot failed: $(cat "$T/snap.err")"
ls "$D"/job-*.tar.zst > /dev/null 2>&1 || fail "--name job wrote no job-*.tar.zst: $(ls "$D")"
rm -f "$D"/job-*.tar.zst
# The systemd/cron wrapper: instance = the pidfile path.
CKPT_SNAPSHOT_DIR=$T/wrap CKPT_SNAPSHOT_OPTS="--keep 1 --full-every 1" CKPT=$CKPT \
	timeout 30 "$ROOT/scripts/ckpt-snapshot" "$T/counter.pid" 2> "$T/wrap.err" ||
	fail "scripts/ckpt-snapshot failed: $(cat "$T/wrap.err")"
ls "$T"/wrap/counter/counter-*.tar.zst > /dev/null 2>&1 ||
	fail "scripts/ckpt-snapshot wrote nothing in $T/wrap/counter: $(cat "$T/wrap.err")"
: > "$T/empty.pid"
snap --pidfile "$T/empty.pid" --dir "$D"
[ "$SNAP_RC" = 3 ] || fail "an empty pidfile exited $SNAP_RC, not 3: $(cat "$T/snap.err")"
[ "$(wc -l < "$T/snap.err")" = 1 ] || fail "more than one line for a gone process: $(cat "$T/snap.err")"

# Disk full: a 200 KiB tmpfs in a mount namespace: exit 5, nothing left.
if unshare -m true 2> /dev/null; then
	mkdir "$T/small"
	timeout 30 unshare -m sh -c "mount -t tmpfs -o size=8k none '$T/small' &&
		'$CKPT' snapshot --pid $pid --dir '$T/small/d' --full-every 1; echo rc=\$? > '$T/small.rc';
		ls -A '$T/small/d' > '$T/small.ls'" 2> "$T/snap.err"
	grep -q '^rc=5$' "$T/small.rc" || fail "a full disk gave $(cat "$T/small.rc"), not rc=5: $(cat "$T/snap.err")"
	grep -qi 'no space' "$T/snap.err" || fail "no 'no space' message: $(cat "$T/snap.err")"
	[ "$(grep -cv '^\.counter\.lock$' "$T/small.ls")" = 0 ] ||
		fail "a full disk left files behind: $(cat "$T/small.ls")"
	assert_running "$pid" "process of the failed snapshot"
	say "disk full: exit 5, $(head -1 "$T/snap.err")"
fi

# Incremental: --full-every 3 --keep 1: full, inc, inc, full, inc; the
# incrementals keep the images they depend on, a new full one frees them.
I=$T/inc
for i in 1 2 3 4 5; do
	snap --pid "$pid" --dir "$I" --keep 1 --full-every 3
	[ "$SNAP_RC" = 0 ] || fail "incremental snapshot $i failed: $(cat "$T/snap.err")"
	kind=$(grep -oE '(full|incremental on [^ ]+),' "$T/snap.err")
	case $i in
	1 | 4) [ "$kind" = "full," ] || fail "snapshot $i is not full: $(cat "$T/snap.err")" ;;
	*) case $kind in "incremental on counter-"*) ;; *) fail "snapshot $i is not incremental: $(cat "$T/snap.err")" ;; esac
	   # each on the one before: the pages written since, by dirty tracking
	   grep -q ', tracked$' "$T/snap.err" || fail "snapshot $i did not use dirty tracking: $(cat "$T/snap.err")" ;;
	esac
	n=$(ls "$I"/counter-*.tar.zst | wc -l)
	want=$((i == 4 ? 1 : i == 5 ? 2 : i))
	[ "$n" = "$want" ] || fail "after snapshot $i ($kind) $n images remain, expected $want: $(ls "$I")"
done
say "incremental schedule: $(ls "$I" | tr '\n' ' ')"

# restart DIR: the newest snapshot; after it was taken the counter went on.
kill_wait "$pid"
newest=$(ls "$D"/counter-*.tar.zst | sort | tail -1)
older=$(ls "$D"/counter-*.tar.zst | sort | head -1)
[ "$newest" != "$older" ] || fail "expected two snapshots in $D"
restart_detach "$D"
[ "$RESTORED_PID" = "$pid" ] || fail "restart DIR restored PID $RESTORED_PID, not $pid"
grep -q "warning" "$T/restart.$_RESTART_N.err" && fail "warning for an undamaged newest snapshot: $(cat "$T/restart.$_RESTART_N.err")"
last=$(last_tick "$T/counter.log")
wait_tick "$T/counter.log" $((last + 3))
kill_wait "$pid"

# An incremental newest: restart --latest DIR follows its chain.
timeout 30 "$RESTART" --detach --latest "$I" > "$T/latest.out" 2> "$T/latest.err" ||
	fail "restart --latest $I failed: $(cat "$T/latest.err")"
track_pid "$pid"
[ "$(head -1 "$T/latest.out")" = "$pid" ] || fail "restart --latest restored PID $(cat "$T/latest.out"), not $pid"
last=$(last_tick "$T/counter.log")
wait_tick "$T/counter.log" $((last + 3))
kill_wait "$pid"

# Damage the newest: restart DIR uses the older one, with a warning.
size=$(stat -c %s "$newest")
flip_bytes "$newest" $((size / 2)) 64
restart_detach "$D"
grep -q "warning: snapshot $(basename "$newest") is damaged" "$T/restart.$_RESTART_N.err" ||
	fail "no warning about the damaged newest snapshot: $(cat "$T/restart.$_RESTART_N.err")"
grep -q "older snapshot $(basename "$older")" "$T/restart.$_RESTART_N.err" ||
	fail "no line naming the older snapshot used: $(cat "$T/restart.$_RESTART_N.err")"
[ "$RESTORED_PID" = "$pid" ] || fail "restored PID $RESTORED_PID, not $pid"
last=$(last_tick "$T/counter.log")
wait_tick "$T/counter.log" $((last + 3))
say "damaged newest: $(head -2 "$T/restart.$_RESTART_N.err" | tr '\n' ' ')"

# The last snapshot of a job (scripts/ckpt-job): --kill ends the process
# once the image is written (nothing runs that the image lacks), --bundle
# carries its files.
"$CKPT" snapshot --pid "$pid" --dir "$T/final" --name c --kill --bundle \
	2> "$T/final.err" < /dev/null || fail "snapshot --kill --bundle failed: $(cat "$T/final.err")"
wait_gone "$pid"
last=$(last_tick "$T/counter.log")
lines=$(wc -l < "$T/counter.log")
final=$(find "$T/final" -name 'c-*.tar.zst')
[ -n "$final" ] || fail "snapshot --kill wrote no image in $T/final"
tar --zstd -tf "$final" | grep -q '^files/' || fail "snapshot --bundle: no files/ member in $final"
grep -q 'frozen [0-9.]* ms' "$T/final.err" || fail "no log line: $(cat "$T/final.err")"
frozen=$(sed -n 's/.* frozen \([0-9]*\)\.[0-9] ms.*/\1/p' "$T/final.err")
[ "${frozen:-999999}" -lt 100000 ] || fail "snapshot --kill logged a frozen time of $frozen ms"
restart_detach "$final"
wait_tick "$T/counter.log" $((last + 3))
first=$(tail -n +$((lines + 1)) "$T/counter.log" | awk '/^tick / { print $2; exit }')
[ "$first" = $((last + 1)) ] || fail "after snapshot --kill at tick $last, restart went on at tick $first"
say "snapshot --kill --bundle: ended at tick $last, restarted at tick $first"
pass
