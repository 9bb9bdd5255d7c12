#!/bin/bash
# restart --pty: a terminal job checkpointed on one pty comes back on a NEW
# pty that restart relays to its own stdin/stdout (here pipes, as in a
# script): the process leads a session of its own with that terminal as
# controlling terminal, is in its foreground, has its settings (echo off)
# and reads what restart's stdin sends.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog ttyprog
command -v script > /dev/null || skip "script(1) is not installed"

start_bg bash -c "sleep 60 | script -qfec 'exec $PROGS/ttyprog $T/tty.log' /dev/null > $T/s1.out 2>&1"
wait_for_line "$T/tty.log" '^tick 3 fg=1 echo=0 pgrp_leader=1$' 10
pid=$(awk '/^pid / { print $2; exit }' "$T/tty.log")
track_pid "$pid"
ckpt_ok "$pid" "$T/tty.tar.zst" --kill
wait_gone "$pid"
before=$(count_lines "$T/tty.log" '^tick ')
start_bg bash -c "(sleep 1.5; printf 'hello\\r'; sleep 60) | '$RESTART' --pty '$T/tty.tar.zst' > $T/r.out 2> $T/r.err"
wait_for_line "$T/tty.log" '^got hello$' 10
after=$(awk -v n="$before" '/^tick / && ++seen > n' "$T/tty.log" | tail -1)
case $after in
*"fg=1 echo=0 pgrp_leader=1") ;;
*) fail "after restart --pty: '$after' (want the foreground, echo off, its own group)" ;;
esac
# After the command name: state ppid pgrp session tty_nr tpgid ...
read -r _ _ pgrp sid tty _ < <(sed 's/.*) //' "/proc/$pid/stat")
if [ "$sid" != "$pid" ] || [ "$pgrp" != "$pid" ] || [ "$tty" = 0 ]; then
	fail "session $sid, group $pgrp, tty $tty: expected a session of its own with a terminal"
fi
expect_fail_msg "needs the foreground|--pty" "$RESTART" --pty --detach "$T/tty.tar.zst"
pass
