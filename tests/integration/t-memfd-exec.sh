#!/bin/bash
# memfd-exec: a script in a memfd, written through a shared writable
# mapping, still runs through its fd (fexecve) after restart.  restart
# used to reopen the memfd and its mapping read-write through /proc, and
# such openings count as writers of the inode: exec failed with ETXTBSY
# (zdtm memfd04/05).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog memfdexec

start_bg "$PROGS/memfdexec" > "$T/memfd.log" 2>&1
pid=$BG_PID
wait_for_line "$T/memfd.log" '^ready$' 10
ckpt_ok "$pid" "$T/memfd.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/memfd.tar.zst"
kill -USR1 "$pid"
wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/memfd.log" || fail "no verdict: $(cat "$T/memfd.log")"
grep -qx PASS "$T/memfd.log" || fail "$(cat "$T/memfd.log")"
pass
