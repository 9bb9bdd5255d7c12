#!/bin/bash
# fanotify (common/state/fd_fanotify.c): tests/progs/fanotify's group and
# its marks (on a file, on a file deleted while it holds it open, on a
# mount with an ignored mask that survives modification) come back with
# the same flags, masks and ignored masks, and deliver events: the
# program's own check passes after restart.  ckpt info names the kind.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog fanotify
[ "$(id -u)" = 0 ] || skip "needs root (fanotify_init needs CAP_SYS_ADMIN)"
mkdir "$T/d"
start_bg "$PROGS/fanotify" "$T/d" > "$T/fan.log" 2>&1
pid=$BG_PID
wait_for_line "$T/fan.log" '^ready$' 10 || fail "fanotify did not start: $(cat "$T/fan.log")"
ckpt_ok "$pid" "$T/f.tar.zst" --kill
wait_gone "$pid"
"$CKPT" info "$T/f.tar.zst" | grep -Eq '^ +200 fanotify ' ||
	fail "ckpt info does not show fd 200 as fanotify: $("$CKPT" info "$T/f.tar.zst" | grep -E '^ +200 ')"
restart_detach "$T/f.tar.zst"
touch "$T/d/go"
wait_for_line "$T/fan.log" '^(PASS|FAIL)' 10
grep -q '^PASS$' "$T/fan.log" || fail "after restart: $(sed -n '/^ready/,$p' "$T/fan.log")"
pass
