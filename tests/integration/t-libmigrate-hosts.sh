#!/bin/bash
# libmigrate: migrate_clone() and migrate_to() through a host command (a
# local `restart - --detach --any-pid`, and one in new UTS and mount
# namespaces with unshare).  clone: the original gets the copy's PID, the
# copy gets 0, both go on with their threads.  to: the copy runs and the
# original exits 0.  Failures (the host refuses the image, the stream is
# cut, the command is missing, a host command printing no PID, the PID
# taken) return -1 with errno and the host's message in the original, which
# goes on.  ssh hosts through a stand-in for ssh (MIGRATE_SSH) that runs the
# remote command here: how ssh is called, MIGRATE_NEW_PID, ssh missing.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog migself
export MIGRATE_CKPT=$CKPT
HERE="$RESTART - --detach --any-pid"

# run_self NAME ARGS...: migself to its end (it must exit 0).
run_self() {
	local name=$1 i
	shift
	start_bg "$PROGS/migself" "$@" >> "$T/$name.log" 2> "$T/$name.err"
	for ((i = 0; i < 600; i++)); do
		[ -e "/proc/$BG_PID" ] && [ "$(proc_state "$BG_PID")" != Z ] || break
		sleep 0.05
	done
	wait "$BG_PID"
	rc=$?
	assert_no_corrupt "$T/$name.log"
	[ "$rc" = 0 ] || fail "$name: migself $* exited $rc: $(cat "$T/$name.log" "$T/$name.err")"
}

# clone, from the main thread and from a worker, SIGCHLD ignored too.
n=0
for how in "-t 2" "-t 2 -T -s ign" "-s reap"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # options split on purpose
	run_self clone$n $how clone "$HERE"
	log=$T/clone$n.log
	wait_for_line "$log" '^ok copy$' 20
	grep -qx "ok original" "$log" || fail "clone '$how': original not ok: $(cat "$log")"
	want=$(sed -n 's/^original copy=//p' "$log")
	got=$(sed -n 's/^copy //p' "$log")
	[ -n "$want" ] && [ "$want" = "$got" ] ||
		fail "clone '$how': the original was told copy $want, the copy is $got"
	[ "$want" != "$(sed -n 's/^start //p' "$log")" ] || fail "clone '$how': the copy has the original's PID"
	say "ok: clone $how: copy $got"
done

# clone into other namespaces (skipped where unshare cannot).
if unshare -u -m true 2> /dev/null; then
	run_self clone-ns -t 1 clone "unshare -u -m sh -c 'hostname elsewhere; exec $HERE'"
	wait_for_line "$T/clone-ns.log" '^ok copy$' 20
	say "ok: clone through unshare"
fi

# to: the original exits 0 (run_self checks), the copy goes on.
n=0
for how in "-t 2 -T" "-s ign" "-t 1 -s reap" "-t 1 -T -s wall"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # options split on purpose
	run_self to$n $how to "$HERE"
	wait_for_line "$T/to$n.log" '^ok moved$' 20
	moved=$(sed -n 's/^moved //p' "$T/to$n.log")
	[ "$moved" != "$(sed -n 's/^start //p' "$T/to$n.log")" ] ||
		fail "to '$how': the PID did not change (--any-pid)"
	grep -q '^ok original' "$T/to$n.log" && fail "to '$how': the original went on"
	say "ok: to $how: moved to $moved"
done

# An ssh host, through a stand-in for ssh that runs the remote command here
# (and notes how it was called).
cat > "$T/fake-ssh" << EOF
#!/bin/sh
echo "\$@" >> "$T/ssh.args"
while [ "\$1" != -- ]; do shift; done
shift 2
exec "\$@"
EOF
chmod +x "$T/fake-ssh"
export MIGRATE_SSH=$T/fake-ssh MIGRATE_RESTART=$RESTART
run_self ssh-clone -t 1 clone node7
wait_for_line "$T/ssh-clone.log" '^ok copy$' 20
grep -qx -- "-o BatchMode=yes -- node7 $RESTART - --detach --any-pid --stdout /dev/null --stderr /dev/null" \
	"$T/ssh.args" || fail "ssh called as: $(cat "$T/ssh.args")"
run_self ssh-to -t 1 -f 8 to node7	# MIGRATE_NEW_PID: the original's PID is taken here
wait_for_line "$T/ssh-to.log" '^ok moved$' 20
say "ok: ssh hosts: $(tail -1 "$T/ssh.args")"

# Failures: -1 in the original, which goes on.
expect_failure() {
	local name=$1 re=$2
	shift 2
	run_self "$name" -e -t 1 "$@"
	grep -Eq "^failed errno=[1-9][0-9]*: $re" "$T/$name.log" ||
		fail "$name: expected a failure matching /$re/: $(cat "$T/$name.log")"
	grep -qx "ok after-failure" "$T/$name.log" || fail "$name: did not go on"
	say "ok: $name: $(grep -m1 '^failed' "$T/$name.log")"
}
# The host refuses the image (restart: damaged image, cut short).
expect_failure cut 'restart: ' to "head -c 3000 | $RESTART - --detach"
# The stream is cut: the command stops reading and fails.
expect_failure cut2 '.' clone "head -c 100 > /dev/null; exit 3"
# A host command that does not restart anything.
expect_failure nopid 'libmigrate: the host command printed no PID' clone "cat > /dev/null"
# The command itself is missing.
expect_failure nocmd '.*not found' to "no-such-command-here -"
# restart refuses (the PID is in use: the original still runs).
expect_failure pidused 'restart: ' clone "$RESTART - --detach"
expect_failure ssh-pidused 'restart: .*in use' to node7
# ssh missing.
MIGRATE_SSH=no-such-ssh expect_failure nossh 'libmigrate: no-such-ssh not found' to node7
pass
