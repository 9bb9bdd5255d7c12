#!/bin/bash
# A user who is not root checkpoints a process tree of theirs (proctree:
# two workers, a pipe reader, shared anonymous memory), and restarts it
# with --new-pid: restart makes a user namespace of its own (the user's
# uid and gid as themselves) and the PID namespace in it, and every
# process gets its PID back there; the tree goes on (proctree checks its
# PIDs, parents, pipe and shared counter every tick).  The restored tree is
# checkpointed again by the same user (ckpt enters that user namespace to
# reach its PID namespace; its shared memory, a memfd restart made, is
# saved as shared memory) and restarted again.  Without --new-pid the
# refusal names it.  Checkpointed by nobody, without /proc/PID/map_files:
# a memfd mapped shared with an fd on it, and shared memory with a page
# only an exited child wrote.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog proctree
command -v setpriv > /dev/null || skip "setpriv (util-linux) missing"
[ "$(cat /proc/sys/user/max_user_namespaces 2> /dev/null || echo 0)" -gt 0 ] ||
	skip "user namespaces are disabled (user.max_user_namespaces)"
[ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2> /dev/null || echo 1)" = 1 ] ||
	skip "unprivileged user namespaces are disabled"
chmod 777 "$T"
as_user() { setpriv --reuid 65534 --regid 65534 --clear-groups -- "$@"; }
as_user unshare -U true 2> /dev/null || skip "user nobody cannot make a user namespace here"

touch "$T/proctree.out" "$T/proctree.err"
chmod 666 "$T/proctree.out" "$T/proctree.err"	# (reopened by nobody's restart)
start_bg setsid setpriv --reuid 65534 --regid 65534 --clear-groups -- \
	"$PROGS/proctree" -d "$T" -w 2 -p -m < /dev/null > "$T/proctree.out" 2> "$T/proctree.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "proctree did not get ready: $(cat "$T/proctree.err")"
wait_tick "$T/root.log" 3
all=$(echo $pid $(cat /proc/"$pid"/task/*/children))

# cycle ROOT NAME: checkpointed by nobody, gone, restarted by nobody with
# --new-pid; the new root's host PID in ROOT.
cycle() {
	local root=$1 name=$2 procs f out=$T/$2.restart.out
	procs=$(echo $root $(cat /proc/"$root"/task/*/children))
	as_user timeout 60 "$CKPT" "$root" -o "$T/$name.tar.zst" --kill 2> "$T/$name.ckpt.err" ||
		fail "ckpt as nobody failed: $(cat "$T/$name.ckpt.err")"
	for p in $procs; do wait_gone "$p"; done
	for f in "$T"/*.log; do before[$f]=$(last_tick "$f"); done
	if [ "$name" = first ]; then
		expect_fail_msg "--new-pid" setpriv --reuid 65534 --regid 65534 --clear-groups -- \
			"$RESTART" "$T/$name.tar.zst" --detach
	fi
	as_user timeout 60 "$RESTART" "$T/$name.tar.zst" --detach --new-pid > "$out" \
		2> "$T/$name.restart.err" || fail "restart --new-pid as nobody failed: $(cat "$T/$name.restart.err")"
	ROOT=$(grep -m1 -E '^[0-9]+$' "$out")
	[ -n "$ROOT" ] || fail "restart printed no PID: $(cat "$out")"
	track_pid "$ROOT"
	[ "$(stat -c %u /proc/"$ROOT")" = 65534 ] || fail "the restored root is not nobody's"
	[ "$(readlink /proc/"$ROOT"/ns/user)" != "$(readlink /proc/self/ns/user)" ] ||
		fail "the restored tree is not in a user namespace of its own"
	for f in "$T"/*.log; do
		wait_tick "$f" $((${before[$f]} + 3))
		assert_no_corrupt "$f"
	done
	say "ok: $name: checkpointed and restarted by nobody, root $ROOT"
}

declare -A before
cycle "$pid" first
cycle "$ROOT" again
kill_wait "$ROOT"

# nobody_selfcheck NAME: python3 $T/NAME.py, run by nobody, prints
# "ready", is checkpointed (--kill) and restarted (--any-pid) by nobody,
# and, told to check (SIGUSR1), prints PASS.
nobody_selfcheck() {
	local name=$1 p
	touch "$T/$name.log"
	chmod 666 "$T/$name.log"
	start_bg setpriv --reuid 65534 --regid 65534 --clear-groups -- /usr/bin/python3 "$T/$name.py" \
		< /dev/null > "$T/$name.log" 2>&1
	p=$BG_PID
	wait_for_line "$T/$name.log" '^ready$' 10
	as_user timeout 60 "$CKPT" "$p" -o "$T/$name.tar.zst" --kill < /dev/null \
		2> "$T/$name.ckpt.err" || fail "$name: ckpt as nobody failed: $(cat "$T/$name.ckpt.err")"
	wait_gone "$p"
	as_user timeout 60 "$RESTART" "$T/$name.tar.zst" --detach --any-pid < /dev/null \
		> "$T/$name.restart.out" 2> "$T/$name.restart.err" ||
		fail "$name: restart as nobody failed: $(cat "$T/$name.restart.err")"
	p=$(grep -m1 -E '^[0-9]+$' "$T/$name.restart.out")
	track_pid "$p"
	selfcheck_verdict "$name" "$p"
	grep -qx PASS "$T/$name.log" || fail "$name: $(cat "$T/$name.log")"
	say "ok: $name, checkpointed by nobody"
}

# Without root /proc/PID/map_files is closed.  A memfd mapped shared, with
# an fd on it: ckpt reads it through the fd.  Shared anonymous memory a
# child wrote before it exited (a page the process's page tables lack):
# ckpt finds it with mincore() in the process.
if [ -x /usr/bin/python3 ]; then
	cat > "$T/memfd.py" <<'PY'
import mmap, os, signal, sys
fd = os.memfd_create("nonroot")
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
m[:5] = b"hello"
signal.signal(signal.SIGUSR1, lambda *a: None)
print("ready", flush=True)
signal.pause()
print("PASS" if m[:5] == b"hello" and os.readlink("/proc/self/fd/%d" % fd).startswith("/memfd:nonroot")
      else "CORRUPT %r" % m[:5], flush=True)
PY
	nobody_selfcheck memfd
	cat > "$T/shm.py" <<'PY'
import mmap, os, signal
m = mmap.mmap(-1, 16 * 4096, mmap.MAP_SHARED)
m[0:5] = b"first"
pid = os.fork()
if pid == 0:
    m[5 * 4096:5 * 4096 + 5] = b"child"
    os._exit(0)
os.waitpid(pid, 0)
signal.signal(signal.SIGUSR1, lambda *a: None)
print("ready", flush=True)
signal.pause()
got = m[5 * 4096:5 * 4096 + 5]
print("PASS" if got == b"child" and m[0:5] == b"first" else "CORRUPT %r" % got, flush=True)
PY
	nobody_selfcheck shm
fi
pass
