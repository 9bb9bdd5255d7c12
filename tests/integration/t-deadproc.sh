#!/bin/bash
# deadproc: fds on files of /proc/PID of a child reaped before the
# checkpoint (a file, the directory, an O_PATH fd) come back as fds on the
# /proc files of a process that has exited, under the same PID (restart
# makes a process under it for a moment), reads failing with ESRCH.
# restart refused the image, the file being gone (zdtm remap_dead_pid).
# With that PID taken by another process at restart, they name another
# dead PID.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog deadproc

selfcheck same "$PROGS/deadproc" same

# The dead child's PID is in use at restart: another one will do.
selfcheck_saved taken "$PROGS/deadproc"
pid=$SELFCHECK_PID
dead=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$T/taken.log")
start_bg "$PROGS/pidhold" "$dead" > "$T/pidhold.out" 2> "$T/pidhold.err"
wait_until 10 grep -q "^held 1" "$T/pidhold.out" || fail "pidhold: $(cat "$T/pidhold.err")"
restart_detach "$T/taken.tar.zst"
ls -l "/proc/$pid/fd" > "$T/fds"
grep -q "/proc/$dead/status" "$T/fds" && fail "the fd names the PID held by another process"
selfcheck_verdict taken "$pid"
grep -qx PASS "$T/taken.log" || fail "taken: $(cat "$T/taken.log")"
say "ok: PID taken: $(grep -o '/proc/[0-9]*/status' "$T/fds")"
pass
