#!/bin/bash
# Signed and encrypted incremental images: a chain full <- inc1 <- inc2
# written with --sign and --encrypt (ckpt --parent reads the encrypted
# parent with --encrypt's key) restores with --verify --decrypt, every
# parent verified and decrypted as the image itself; a changed byte in a
# parent, or a parent in clear, is refused before anything starts.
# ckpt snapshot --sign --encrypt writes such chains, and `restart DIR
# --verify` skips a newest snapshot that is not signed, with the warning
# of a damaged one, for the older signed one.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog dirtier

head -c 32 /dev/urandom > "$T/secret"
"$CKPT" keygen "$T/sign" > /dev/null || fail "ckpt keygen failed"
"$CKPT" keygen "$T/other" > /dev/null || fail "ckpt keygen failed"
K=(--sign "$T/sign" --encrypt "$T/secret")
R=(--verify "$T/sign.pub" --decrypt "$T/secret")
mkdir "$T/c"

start_bg "$PROGS/dirtier" 16 -i 50 -d 16 > "$T/d.log" 2> "$T/d.err"
pid=$BG_PID
wait_tick "$T/d.log" 3
ckpt_ok "$pid" "$T/c/full.tar.zst" "${K[@]}"
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
# An encrypted parent cannot be read without the key, nor verified by
# another key.
expect_fail_msg "encrypted" "$CKPT" "$pid" -o "$T/x.tar.zst" --parent "$T/c/full.tar.zst"
expect_fail_msg "untrusted" "$CKPT" "$pid" -o "$T/x.tar.zst" --parent "$T/c/full.tar.zst" \
	"${K[@]}" --verify-parent "$T/other.pub"
assert_target_unharmed "$pid" "$T/d.log" "$T/x.tar.zst"
ckpt_ok "$pid" "$T/c/inc1.tar.zst" --parent "$T/c/full.tar.zst" "${K[@]}" \
	--verify-parent "$T/sign.pub"
wait_tick "$T/d.log" $(($(last_tick "$T/d.log") + 3))
kill -STOP "$pid"
ckpt_ok "$pid" "$T/c/inc2.tar.zst" --parent "$T/c/inc1.tar.zst" "${K[@]}" -v
grep -q 'unchanged since the parent' "$T/ckpt.err" ||
	fail "inc2 is not incremental: $(cat "$T/ckpt.err")"
kill -KILL "$pid"
wait_gone "$pid"
at=$(last_tick "$T/d.log")
log_size=$(stat -c %s "$T/d.log")

timeout 60 "$CKPT" check "$T/c/inc2.tar.zst" "${R[@]}" > "$T/check.out" 2>&1 ||
	fail "ckpt check --verify --decrypt of the chain failed: $(cat "$T/check.out")"
timeout 60 "$CKPT" info "$T/c/inc2.tar.zst" "${R[@]}" > "$T/info.out" 2>&1 ||
	fail "ckpt info --verify --decrypt failed: $(cat "$T/info.out")"
grep -q dirtier "$T/info.out" || fail "ckpt info shows no command: $(head -n 5 "$T/info.out")"
expect_fail_msg "encrypted" "$CKPT" info "$T/c/inc2.tar.zst"

truncate -s "$log_size" "$T/d.log"
restart_detach "$T/c/inc2.tar.zst" "${R[@]}" -v
grep -q '2 parent images' "$T/restart.$_RESTART_N.err" ||
	fail "restart did not follow 2 parents: $(cat "$T/restart.$_RESTART_N.err")"
kill -CONT "$pid"
wait_tick "$T/d.log" $((at + 5))
assert_no_corrupt "$T/d.log"
kill_wait "$pid"
say "signed and encrypted chain of 3 restored (ticks $at..$((at + 5)))"

refused() {	# refused TEXT IMAGE ARGS...: refused, nothing left running
	local before
	before=$(candidate_procs)
	rm -f "$T/refused.log"
	expect_fail_msg "$1" "$RESTART" "$2" --detach --stdout "$T/refused.log" "${@:3}"
	assert_no_new_procs "$before"
	[ ! -s "$T/refused.log" ] || fail "the refused image ran: $(head -n 3 "$T/refused.log")"
}
# A byte changed in a parent (its header's frame: its id is not believed).
mkdir "$T/t"
cp "$T/c/"*.tar.zst "$T/t/"
size=$(stat -c %s "$T/t/inc1.tar.zst")
flip_bytes "$T/t/inc1.tar.zst" $((size / 2)) 1
refused "no verified image there has its id|bad signature|does not authenticate" \
	"$T/t/inc2.tar.zst" "${R[@]}"
expect_fail_msg "no verified image there has its id|bad signature|does not authenticate" \
	"$CKPT" check "$T/t/inc2.tar.zst" "${R[@]}"
# Without --decrypt: refused as encrypted.
refused "encrypted" "$T/c/inc2.tar.zst" --verify "$T/sign.pub"

# Snapshots, signed and encrypted: full, then incremental ones.
D=$T/snaps
start_bg "$PROGS/dirtier" 16 -i 50 -d 16 > >(exec cat > "$T/s.log") 2> "$T/s.err"
spid=$BG_PID
wait_tick "$T/s.log" 3
# A signed image whose parent is not signed: refused, the parent's
# header (its id) is not believed.
mkdir "$T/u"
ckpt_ok "$spid" "$T/u/full.tar.zst" --encrypt "$T/secret"
ckpt_ok "$spid" "$T/u/inc.tar.zst" --parent "$T/u/full.tar.zst" "${K[@]}"
refused "no verified image there has its id" "$T/u/inc.tar.zst" "${R[@]}" --new-pid
grep -q "not signed" "$EXPECT_ERR" || fail "the refusal does not say why: $(cat "$EXPECT_ERR")"
snap() {
	timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" snapshot --pid "$spid" --dir "$D" --name job \
		--full-every 3 --no-track "$@" > "$T/snap.out" 2> "$T/snap.err" < /dev/null ||
		fail "ckpt snapshot $* failed: $(cat "$T/snap.err")"
	cat "$T/snap.err"
}
snap "${K[@]}" | grep -q ': full,' || fail "first snapshot not full: $(cat "$T/snap.err")"
snap "${K[@]}" | grep -q 'incremental on' || fail "second snapshot not incremental: $(cat "$T/snap.err")"
snap "${K[@]}" | grep -q 'incremental on' || fail "third snapshot not incremental: $(cat "$T/snap.err")"
if grep -q -a -e dirtier -e ckpt-image "$D"/*.tar.zst; then
	fail "a snapshot shows names in clear"
fi
kill -STOP "$spid"
s_at=$(last_tick "$T/s.log")
restart_detach "$D" "${R[@]}" --new-pid --stdout "$T/s1.log" -v
grep -q 'newest snapshot' "$T/restart.$_RESTART_N.err" ||
	fail "restart DIR did not take the newest: $(cat "$T/restart.$_RESTART_N.err")"
wait_tick "$T/s1.log" $((s_at + 3))
assert_no_corrupt "$T/s1.log"
kill_wait "$RESTORED_PID"
# A newer snapshot, encrypted (incremental on the signed ones) but unsigned:
# skipped with a warning under --verify.
kill -CONT "$spid"
wait_tick "$T/s.log" $((s_at + 3))
snap --encrypt "$T/secret" > /dev/null
newest=
for f in "$D"/job-*.tar.zst; do newest=${f##*/}; done	# (globs sort)
kill -STOP "$spid"
restart_detach "$D" "${R[@]}" --new-pid --stdout "$T/s2.log"
grep -q "snapshot $newest is damaged, skipped: .*not signed" "$T/restart.$_RESTART_N.err" ||
	fail "no warning for the unsigned newest snapshot: $(cat "$T/restart.$_RESTART_N.err")"
grep -q "restarting from the older snapshot" "$T/restart.$_RESTART_N.err" ||
	fail "no fallback warning: $(cat "$T/restart.$_RESTART_N.err")"
wait_tick "$T/s2.log" $((s_at + 3))
assert_no_corrupt "$T/s2.log"
kill_wait "$RESTORED_PID"
kill -CONT "$spid"
kill_wait "$spid"
pass
