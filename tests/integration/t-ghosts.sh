#!/bin/bash
# Files without a name come back as they were: a sparse O_WRONLY file
# unlinked with odd mode and times, and a second fd on it through a removed
# link (one inode); a deleted file mapped shared and private (a write
# through the fd shows in the map, the private copy stays); a sealed memfd
# mapped, and one only mapped; a removed directory as cwd and as an fd
# (one inode); a file whose path was removed while another link stays
# (that same inode), and one such only mapped (writes through the link
# show in the map); O_PATH fds on a symlink and on a removed one; an
# O_TMPFILE file still linkable (linked after restart); a removed device
# node; fd owners and signals (F_SETOWN_EX, F_SETSIG); a read lease and a write lease being broken.  tests/progs/ghosts checks
# each every tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog ghosts

start_bg "$PROGS/ghosts" "$T" > "$T/g.log" 2> "$T/g.err"
pid=$BG_PID
wait_tick "$T/g.log" 3
ckpt_ok "$pid" "$T/g.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/g.tar.zst"
last=$(last_tick "$T/g.log")
wait_tick "$T/g.log" $((last + 3))
kill -USR1 "$pid"
wait_for_line "$T/g.log" '^tmpfile linked$' 5
[ "$(cat "$T/tmp.linked")" = tmp ] || fail "the linked O_TMPFILE file lost its contents"
wait_tick "$T/g.log" $((last + 5))
assert_ticks_consecutive "$T/g.log"
case $(readlink "/proc/$pid/cwd") in
*" (deleted)") ;;
*) fail "the cwd is not a removed directory: $(readlink "/proc/$pid/cwd")" ;;
esac
pass
