#!/bin/bash
# peercred: unix socket pairs made by a helper process that shared the fd
# table (CLONE_FILES) and has exited keep its SO_PEERCRED: its PID (restart
# makes the pairs in a process under that PID for a moment), user and
# group.  They named the restored process's PID (zdtm sock_peercred).
# With that PID taken at restart, restart makes them itself: the PID is
# then its own, and the test sees it.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog peercred
need_prog pidhold

selfcheck peercred "$PROGS/peercred"

selfcheck_saved taken "$PROGS/peercred"
pid=$SELFCHECK_PID
helper=$(sed -n 's/^helper \([0-9]*\)$/\1/p' "$T/taken.log")
start_bg "$PROGS/pidhold" "$helper" > "$T/pidhold.out" 2> "$T/pidhold.err"
wait_until 10 grep -q "^held 1" "$T/pidhold.out" || fail "pidhold: $(cat "$T/pidhold.err")"
restart_detach "$T/taken.tar.zst"
selfcheck_verdict taken "$pid"
grep -q "^CORRUPT the pair's credentials" "$T/taken.log" ||
	fail "with the helper's PID taken: $(cat "$T/taken.log")"
grep -q "pid $pid uid 65534" "$T/taken.log" || fail "taken: $(cat "$T/taken.log")"
say "ok: PID taken: $(grep '^fd' "$T/taken.log")"
pass
