#!/bin/bash
# shmviews: one process reaching one shared anonymous memory object in
# several ways (a second view made by mremap, a part moved away; an fd on
# it, shared and private mappings of that fd at other offsets) reaches one
# object after restart: restart used to make each mapping an object of its
# own, and the fd a file of its own (zdtm shmemfd-priv).  A restart that
# is not root (no /proc/self/map_files) makes the object a memfd.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog shmviews

selfcheck views "$PROGS/shmviews" views
selfcheck fd "$PROGS/shmviews" fd

# Not root: saved as nobody, restarted by nobody (--any-pid: reclaiming a
# PID needs root).  (An fd on the memory needs map_files: root only.)
command -v setpriv > /dev/null || skip "setpriv (util-linux) missing"
chmod 755 "$T"
mkdir -m 777 "$T/nobody"
start_bg setpriv --reuid 65534 --regid 65534 --clear-groups -- \
	sh -c 'exec "$0" views > "$1" 2>&1' "$PROGS/shmviews" "$T/nobody/log"
pid=$BG_PID
wait_for_line "$T/nobody/log" '^ready$' 10
ckpt_ok "$pid" "$T/nobody/img.tar.zst" --kill
wait_gone "$pid"
chmod 644 "$T/nobody/img.tar.zst"
printf '#!/bin/sh\nexec setpriv --reuid 65534 --regid 65534 --clear-groups -- %s "$@"\n' \
	"$RESTART" > "$T/restart-nobody"
chmod 755 "$T/restart-nobody"
RESTART=$T/restart-nobody restart_detach "$T/nobody/img.tar.zst" --any-pid
grep -q 'memfd:dev/zero' "/proc/$RESTORED_PID/maps" ||
	fail "not root: the shared memory is not a memfd: $(grep -E 'zero|memfd' "/proc/$RESTORED_PID/maps")"
kill -USR1 "$RESTORED_PID"
wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/nobody/log" ||
	fail "not root: no verdict: $(cat "$T/nobody/log")"
grep -qx PASS "$T/nobody/log" || fail "not root: $(cat "$T/nobody/log")"
say "ok: views, not root"
pass
