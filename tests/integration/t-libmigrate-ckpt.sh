#!/bin/bash
# libmigrate: migrate_checkpoint() from a multi-threaded program, from the
# main thread and from a worker thread, with SIGCHLD at default, ignored,
# reaped by a handler (waitpid(-1)) and reaped by a thread (waitpid(-1,
# __WALL)): the original gets MIGRATE_CHECKPOINTED and goes on with its
# threads; restarted from the image, the call returns MIGRATE_RESTORED with
# the threads and memory intact.  A failing checkpoint (unwritable path,
# missing ckpt, a full disk) returns -1 with errno and ckpt's message from
# migrate_strerror(), and the program goes on -- also with SIGCHLD ignored
# or reaped, where the old libmigrate took ECHILD for "restored".  Two
# threads checkpointing at once; MIGRATE_EXIT from a worker; the options.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog migself
export MIGRATE_CKPT=$CKPT

# run_self NAME ARGS...: run migself to its end, output in $T/NAME.log.
run_self() {
	local name=$1 rc
	shift
	start_bg "$PROGS/migself" "$@" >> "$T/$name.log" 2> "$T/$name.err"
	wait_gone_rc "$BG_PID" 30
	rc=$WAIT_RC
	assert_no_corrupt "$T/$name.log"
	[ "$rc" = 0 ] || fail "$name: migself $* exited $rc: $(cat "$T/$name.log" "$T/$name.err")"
}

# wait_gone_rc PID TIMEOUT: wait for our child PID, exit status in WAIT_RC.
wait_gone_rc() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ "$(proc_state "$1")" = Z ] && break
		[ -e "/proc/$1" ] || break
		sleep 0.05
	done
	wait "$1"
	WAIT_RC=$?
}

n=0
for how in "-t 3" "-t 3 -T" "-t 2 -T -s ign" "-t 2 -s reap" "-t 2 -T -s wall" "-s ign"; do
	n=$((n + 1))
	img=$T/img$n.tar.zst
	# shellcheck disable=SC2086 # options split on purpose
	run_self ok$n $how ckpt "$img"
	grep -qx checkpointed "$T/ok$n.log" || fail "case '$how': no 'checkpointed': $(cat "$T/ok$n.log")"
	grep -qx "ok original" "$T/ok$n.log" || fail "case '$how': original not ok: $(cat "$T/ok$n.log")"
	[ -s "$img" ] || fail "case '$how': no image"
	restart_detach "$img"
	wait_for_line "$T/ok$n.log" '^ok restored$' 20
	grep -qx restored "$T/ok$n.log" || fail "case '$how': no 'restored'"
	say "ok: $how: checkpointed, then restored"
done

# Two threads checkpoint at once: the calls take turns, both work.
run_self two -t 2 -T -2 ckpt "$T/two.tar.zst"
grep -qx "second 0" "$T/two.log" && grep -qx checkpointed "$T/two.log" ||
	fail "two threads at once: $(cat "$T/two.log")"
[ -s "$T/two.tar.zst" ] && [ -s "$T/two.tar.zst.2" ] || fail "two threads at once: an image is missing"
say "ok: two threads checkpoint at once"

# MIGRATE_EXIT from a worker thread: the process ends once the image is
# written (killed by ckpt), and comes back restored.
start_bg "$PROGS/migself" -t 2 -T -f 1 ckpt "$T/exit.tar.zst" >> "$T/exit.log" 2> "$T/exit.err"
wait_gone_rc "$BG_PID" 30
[ "$WAIT_RC" = 137 ] || fail "MIGRATE_EXIT: exit status $WAIT_RC: $(cat "$T/exit.log" "$T/exit.err")"
grep -q '^checkpointed' "$T/exit.log" && fail "MIGRATE_EXIT: the original went on"
restart_detach "$T/exit.tar.zst"
wait_for_line "$T/exit.log" '^ok restored$' 20
say "ok: MIGRATE_EXIT from a worker thread"

# Failures: the call returns -1 with ckpt's message; the program goes on.
mkdir "$T/ro"	# (root writes anywhere: a missing directory is unwritable)
chmod 555 "$T/ro"
for how in "-t 2" "-t 2 -T -s ign" "-s reap" "-t 1 -s wall"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	run_self bad$n -e $how ckpt "$T/ro/sub/img.tar.zst"
	grep -q '^failed errno=[1-9][0-9]*: ckpt: ' "$T/bad$n.log" ||
		fail "case '$how': expected a failure with ckpt's message: $(cat "$T/bad$n.log")"
	grep -qx "ok after-failure" "$T/bad$n.log" || fail "case '$how': did not go on"
	say "ok: $how: $(grep -m1 '^failed' "$T/bad$n.log")"
done

# ckpt missing: ENOENT and libmigrate's message.
MIGRATE_CKPT=$T/no-such-ckpt run_self missing -e -t 1 ckpt "$T/x.tar.zst"
grep -q "^failed errno=2: libmigrate: MIGRATE_CKPT=.* is not an executable" "$T/missing.log" ||
	fail "missing ckpt: $(cat "$T/missing.log")"
# The target refuses (already traced: here, by strace) is covered by ckpt's
# own tests; a full disk gives ENOSPC with ckpt's message.
mkdir "$T/small"
if mount -t tmpfs -o size=8k tmpfs "$T/small" 2> /dev/null; then
	MOUNTS+=("$T/small")
	run_self full -e -t 1 ckpt "$T/small/img.tar.zst"
	grep -q "^failed errno=28: ckpt: .*No space left on device" "$T/full.log" ||
		fail "full disk: expected ENOSPC with ckpt's message: $(cat "$T/full.log")"
	[ -z "$(ls "$T/small")" ] || fail "a failed checkpoint left files: $(ls "$T/small")"
	say "ok: full disk: $(grep -m1 '^failed' "$T/full.log")"
else
	say "no tmpfs mount here: full-disk case skipped"
fi

# The helper is killed before it can tell (a "ckpt" that kills its
# parent): EIO in the original, not "restored".
printf '#!/bin/sh\nkill -KILL $PPID\nexit 0\n' > "$T/killer"
chmod +x "$T/killer"
MIGRATE_CKPT=$T/killer run_self killed -e -t 1 -s ign ckpt "$T/killed.tar.zst"
grep -q '^failed errno=5: libmigrate: the helper process was killed by signal 9' "$T/killed.log" ||
	fail "helper killed: expected EIO: $(cat "$T/killed.log")"
say "ok: helper killed: $(grep -m1 '^failed' "$T/killed.log")"

# The target refuses: it is traced already (strace, not following forks).
if command -v strace > /dev/null; then
	start_bg strace -o "$T/strace.out" "$PROGS/migself" -e -t 1 ckpt "$T/traced.tar.zst" \
		>> "$T/traced.log" 2> "$T/traced.err"
	wait_gone_rc "$BG_PID" 30
	grep -q '^failed errno=[0-9]*: ckpt: .*already traced' "$T/traced.log" ||
		fail "traced: expected ckpt's refusal: $(cat "$T/traced.log" "$T/traced.err")"
	grep -qx "ok after-failure" "$T/traced.log" || fail "traced: did not go on"
	say "ok: traced: $(grep -m1 '^failed' "$T/traced.log")"
fi

# Options: compression level 19; bundling (passed on only when this ckpt
# has --bundle, else a note); external unix sockets.
run_self level -t 1 -f $((19 << 8)) ckpt "$T/level.tar.zst"
grep -qx checkpointed "$T/level.log" || fail "level 19: $(cat "$T/level.log")"
restart_detach "$T/level.tar.zst"
wait_for_line "$T/level.log" '^ok restored$' 20
run_self badlevel -e -f $((25 << 8)) ckpt "$T/bad.tar.zst"
grep -q '^failed errno=22: libmigrate: compression level 25' "$T/badlevel.log" ||
	fail "level 25 accepted: $(cat "$T/badlevel.log")"
run_self bundle -t 1 -f 4 ckpt "$T/bundle.tar.zst"
if "$CKPT" --help | grep -q -- --bundle; then
	grep -q '^note' "$T/bundle.log" && fail "bundle: ckpt has --bundle, yet: $(cat "$T/bundle.log")"
else
	grep -q '^note libmigrate: this ckpt has no --bundle' "$T/bundle.log" ||
		fail "bundle: no note that ckpt lacks --bundle: $(cat "$T/bundle.log")"
fi
say "ok: options"

/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
conns = []
while True:
    conns.append(s.accept()[0])
' "$T/peer.sock" &
track_pid $!
wait_until 5 test -S "$T/peer.sock" || fail "no unix listener"
# Without MIGRATE_EXT_UNIX: saved as an external end (t-extfd.sh).
run_self noext -u "$T/peer.sock" ckpt "$T/noext.tar.zst"
grep -qx checkpointed "$T/noext.log" || fail "unix socket to a peer: $(cat "$T/noext.log")"
"$CKPT" info "$T/noext.tar.zst" | grep -Eq ' extunix .*connected to .*peer.sock outside' ||
	fail "unix socket to a peer: not an external end: $("$CKPT" info "$T/noext.tar.zst" | grep unix)"
run_self ext -u "$T/peer.sock" -f 2 ckpt "$T/ext.tar.zst"
grep -qx checkpointed "$T/ext.log" || fail "MIGRATE_EXT_UNIX: $(cat "$T/ext.log")"
say "ok: MIGRATE_EXT_UNIX"
pass
