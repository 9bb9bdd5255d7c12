#!/bin/bash
# shmexit: shared anonymous memory keeps pages that no live process has in
# its page tables (written by a child that exited, as a database's buffers
# read by a backend gone): they are saved from the shmem object itself,
# and the restored process finds them.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog shmexit

start_bg "$PROGS/shmexit" "$T" < /dev/null > "$T/prog.out" 2> "$T/prog.err"
pid=$BG_PID
wait_until 10 test -e "$T/ready" || fail "shmexit did not get ready"
wait_tick "$T/main.log" 2
ckpt_ok "$pid" "$T/img.tar.zst" --kill
wait_gone "$pid"
t0=$(last_tick "$T/main.log")
restart_detach "$T/img.tar.zst"
wait_tick "$T/main.log" $((t0 + 3))
kill -USR1 "$RESTORED_PID"
wait_until 10 test -e "$T/check" || fail "the restored program did not check"
[ "$(cat "$T/check")" = ok ] || fail "after restart: $(cat "$T/check")"
pass
