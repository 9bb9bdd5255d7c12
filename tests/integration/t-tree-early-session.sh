#!/bin/bash
# A process that forked a child before calling setsid() (zdtm session00,
# session01): the child stays in the session its parent left.  ckpt
# refused such a tree before; restart now forks that child before the
# parent's setsid(), so after restart the leader leads its own session and
# its child is in the root's, as before.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog earlysess

start_bg "$PROGS/earlysess" > "$T/out.log" 2>&1
pid=$BG_PID
wait_for_line "$T/out.log" '^ready ' 10
read -r _ a b < "$T/out.log"
sid() { awk '{print $6}' "/proc/$1/stat"; }
[ "$(sid "$a")" = "$a" ] || fail "setup: $a does not lead a session"
[ "$(sid "$b")" = "$(sid "$pid")" ] || fail "setup: $b is not in the root's session"
ckpt_ok "$pid" "$T/img.tar.zst" --kill
wait_gone "$pid"
wait_gone "$a"
wait_gone "$b"
restart_detach "$T/img.tar.zst"
proc_alive "$a" && proc_alive "$b" || fail "the tree is not back"
[ "$(sid "$a")" = "$a" ] || fail "$a no longer leads its session (sid $(sid "$a"))"
[ "$(sid "$b")" = "$(sid "$pid")" ] || fail "$b left the root's session: sid $(sid "$b"), the root's $(sid "$pid")"
[ "$(awk '{print $4}' "/proc/$b/stat")" = "$a" ] || fail "$b is not $a's child"
pass
