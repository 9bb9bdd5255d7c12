#!/bin/bash
# Root restoring another user's image restores it as that user
# (docs/security.md): a counter running as nobody, its image handed to
# nobody (chown), comes back under root's restart with nobody's
# credentials and no capability; the same image with an fd record
# rewritten to name /etc/shadow fails to open it (EACCES) and leaves
# nothing; with its credentials rewritten to root's it is refused before
# anything starts; from a root-owned file, the header's owner (who ran
# ckpt) counts; through a pipe another user writes, that user, whatever
# the header says; --as-root restores with root's credentials again.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter
[ "$(id -u)" = 0 ] || skip "needs root (restart as root on another user's image)"
command -v setpriv > /dev/null || skip "setpriv (util-linux) missing"
command -v zstd > /dev/null || skip "zstd is not installed"
getent passwd nobody > /dev/null || skip "no user nobody"
RECEDIT="/usr/bin/python3 $ROOT/tests/integration/recedit.py"
NOBODY=$(id -u nobody)
chmod 755 "$T"
mkdir "$T/nb" && chmod 777 "$T/nb"

creds() {
	grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):' /proc/"$1"/status | tr -s ' \t' ' '
}
unpack() {
	{ mkdir "$2" && (cd "$2" && tar --zstd -xf "$1"); } || fail "cannot unpack $1"
	tar --zstd -tf "$1" > "$2.order"
}
repack() {
	$RECEDIT "$1" fixend "$1.order" || fail "recedit fixend $1"
	(cd "$1" && tar --format=ustar -cf - -T "$1.order") | zstd -q --check > "$2"
}

# nobody's own files (its output), as nobody would have them.
touch "$T/nb/c.log" "$T/nb/c.err" && chown nobody "$T/nb/c.log" "$T/nb/c.err"
start_bg setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups -- \
	"$PROGS/counter" -f "$T/nb/c.map" >> "$T/nb/c.log" 2>> "$T/nb/c.err"
pid=$BG_PID
wait_tick "$T/nb/c.log" 3
want=$(creds "$pid")
ckpt_ok "$pid" "$T/img.tar.zst" --kill
wait_gone "$pid"
cp "$T/img.tar.zst" "$T/root-img.tar.zst"	# root's: the header says root wrote it
chown nobody "$T/img.tar.zst"

# 1. Restored as nobody, verbosely saying so.
restart_detach "$T/img.tar.zst" -v
grep -q "belongs to uid $NOBODY" "$T/restart.$_RESTART_N.err" ||
	fail "restart did not say it restores as uid $NOBODY: $(cat "$T/restart.$_RESTART_N.err")"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, not $pid (PID reclaim lost)"
got=$(creds "$pid")
[ "$got" = "$want" ] || fail "credentials differ after restart:
want:
$want
got:
$got"
wait_tick "$T/nb/c.log" $(($(last_tick "$T/nb/c.log") + 2))
kill_wait "$pid"

# 2. nobody's image names /etc/shadow: checked as nobody, EACCES, before
#    anything starts (restart and ckpt check alike).
unpack "$T/img.tar.zst" "$T/shadow"
k=$($RECEDIT "$T/shadow/meta/fds" find 1 2) || fail "no fd 2 in meta/fds"
$RECEDIT "$T/shadow/meta/fds" set "$k" 3 str /etc/shadow || fail recedit
$RECEDIT "$T/shadow/meta/fds" set "$k" 4 u32 0 || fail recedit	# O_RDONLY
# Its size and mtime (anyone may stat it), so that only the open stands.
$RECEDIT "$T/shadow/meta/fds" set "$k" 8 u64 "$(stat -c %s /etc/shadow)" || fail recedit
$RECEDIT "$T/shadow/meta/fds" set "$k" 9 u64 \
	"$(/usr/bin/python3 -c 'import os; print(os.stat("/etc/shadow").st_mtime_ns)')" || fail recedit
repack "$T/shadow" "$T/shadow.tar.zst"
chown nobody "$T/shadow.tar.zst"
before=$(candidate_procs)
expect_fail_msg "Permission denied" "$RESTART" "$T/shadow.tar.zst" --detach
grep -q /etc/shadow "$EXPECT_ERR" || fail "the refusal does not name /etc/shadow: $(cat "$EXPECT_ERR")"
assert_no_new_procs "$before"
grep -q "checking fd 2 (/etc/shadow): Permission denied" "$EXPECT_ERR" ||
	fail "not refused by the checks: $(cat "$EXPECT_ERR")"
expect_fail_msg "Permission denied" "$CKPT" check "$T/shadow.tar.zst"
grep -q "^OK *owner: the image belongs to uid $NOBODY" "$T/expect.$_EXPECT_N.stdout" ||
	fail "ckpt check did not say whose image it is: $(cat "$T/expect.$_EXPECT_N.stdout")"

# 3. nobody's image claims root's credentials: refused before it starts.
unpack "$T/img.tar.zst" "$T/root"
for f in 20 21 22 23 24 25 26 27; do
	$RECEDIT "$T/root/meta/threads" set 0 "$f" u32 0 || fail recedit
done
repack "$T/root" "$T/claims-root.tar.zst"
chown nobody "$T/claims-root.tar.zst"
expect_fail_msg "ran as another user" "$RESTART" "$T/claims-root.tar.zst" --detach
assert_no_new_procs "$before"

# 4. Through a pipe there is no file owner: the header's owner counts.
unpack "$T/root-img.tar.zst" "$T/hdr"
$RECEDIT "$T/hdr/ckpt-image" set 0 470 u32 $((NOBODY + 1)) || fail recedit
$RECEDIT "$T/hdr/ckpt-image" set 0 471 u32 $((NOBODY + 1)) || fail recedit
repack "$T/hdr" "$T/hdr.tar.zst"
# (root-owned file, so only the header says nobody; read through stdin)
timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" - --detach -v < "$T/hdr.tar.zst" \
	> "$T/pipe.out" 2> "$T/pipe.err" || fail "restart - failed: $(cat "$T/pipe.err")"
track_pid "$pid"
grep -q "belongs to uid $NOBODY" "$T/pipe.err" || fail "restart - ignored the header's owner"
[ "$(creds "$pid")" = "$want" ] || fail "restored through a pipe with other credentials"
kill_wait "$pid"

# 6. Through a pipe that another user writes, that user supplies the
#    image whatever its header says (root's here): restored as nobody,
#    and nobody's image claiming root's credentials is refused.
#    (The writer stays while restart looks: one gone already is not seen;
#    restart looks once data has come, so not at setpriv still as root.)
nobody_writes() {
	setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups -- sh -c 'cat "$1"; sleep 1' sh "$1"
}
cp "$T/root-img.tar.zst" "$T/claims-root.tar.zst" "$T/nb/" && chown root "$T/nb/claims-root.tar.zst" &&
	chmod 644 "$T/nb/"*.tar.zst || fail "cannot copy the images for nobody"
nobody_writes "$T/nb/root-img.tar.zst" |
	timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" - --detach -v > "$T/nbpipe.out" 2> "$T/nbpipe.err" ||
	fail "restart - from nobody's pipe failed: $(cat "$T/nbpipe.err")"
track_pid "$pid"
grep -q "belongs to uid $NOBODY" "$T/nbpipe.err" ||
	fail "restart - took nobody's pipe for root's: $(cat "$T/nbpipe.err")"
[ "$(creds "$pid")" = "$want" ] || fail "restored from nobody's pipe with other credentials"
kill_wait "$pid"
nobody_writes "$T/nb/claims-root.tar.zst" |
	timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" - --detach > "$T/nbroot.out" 2> "$T/nbroot.err" &&
	fail "root credentials restored from nobody's pipe"
grep -q "ran as another user" "$T/nbroot.err" || fail "not refused as another user's: $(cat "$T/nbroot.err")"
assert_no_new_procs "$before"
nobody_writes "$T/nb/root-img.tar.zst" |
	"$CKPT" check - > "$T/nbcheck.out" 2>&1 || fail "ckpt check - of nobody's pipe: $(cat "$T/nbcheck.out")"
grep -q "owner: the image belongs to uid $NOBODY" "$T/nbcheck.out" ||
	fail "ckpt check - did not take nobody for the owner: $(cat "$T/nbcheck.out")"

# 5. --as-root: root's credentials for the restore (the recorded ones are
#    still put back in the process).
restart_detach "$T/img.tar.zst" --as-root -v
if grep -q "belongs to uid" "$T/restart.$_RESTART_N.err"; then
	fail "--as-root still dropped to the image owner"
fi
[ "$(creds "$pid")" = "$want" ] || fail "--as-root: credentials differ"
pass
