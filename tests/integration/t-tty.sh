#!/bin/bash
# A job on a terminal: tests/progs/ttyprog runs in the foreground of a pty
# (script(1)) with echo turned off.  It is checkpointed with --kill and
# restarted by a restart running on ANOTHER pty: it is again a job of its
# own, in the foreground of that terminal, with echo still off, and reads
# what is typed there.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog ttyprog
command -v script > /dev/null || skip "script(1) is not installed"

# script(1) gives its command a new pty; `sleep | script` keeps its input
# open without typing anything.
start_bg bash -c "sleep 60 | script -qfec 'exec $PROGS/ttyprog $T/tty.log' /dev/null > $T/s1.out 2>&1"
wait_for_line "$T/tty.log" '^tick 3 fg=1 echo=0 pgrp_leader=1$' 10
pid=$(awk '/^pid / { print $2; exit }' "$T/tty.log")
track_pid "$pid"
ckpt_ok "$pid" "$T/tty.tar.zst" --kill
wait_gone "$pid"
before=$(count_lines "$T/tty.log" '^tick ')
start_bg bash -c "(sleep 1.5; printf 'hello\\r'; sleep 60) | script -qfec 'exec $RESTART $T/tty.tar.zst' /dev/null > $T/s2.out 2>&1"
wait_for_line "$T/tty.log" '^got hello$' 10
after=$(awk -v n="$before" '/^tick / && ++seen > n' "$T/tty.log" | tail -1)
case $after in
*"fg=1 echo=0 pgrp_leader=1") ;;
*) fail "after restart: '$after' (want the foreground, echo off, its own group)" ;;
esac
# After the command name: state ppid pgrp session tty_nr tpgid ...
read -r _ _ pgrp _ _ tpgid _ < <(sed 's/.*) //' "/proc/$pid/stat")
if [ "$pgrp" != "$pid" ] || [ "$tpgid" != "$pid" ]; then
	fail "process group $pgrp and terminal foreground $tpgid, expected $pid"
fi
pass
