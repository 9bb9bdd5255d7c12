#!/bin/bash
# Signed images: `ckpt keygen`, `ckpt --sign KEY` and `restart --verify
# PUBKEY` (and `ckpt check --verify`).  A signed image streams through a
# pipe and comes back; tar --zstd and a restart without --verify still read
# it.  With --verify, an unsigned image, one signed by another key, one with
# a byte changed anywhere (the first frame: tar header and metadata, a page
# frame, the last frame with ckpt-end, a signature frame, the final
# signature) or cut anywhere is refused with a clear message, and nothing
# is left running: the restored copy never printed a tick.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

"$CKPT" keygen "$T/key" > "$T/keygen.out" || fail "ckpt keygen failed"
grep -q '^SHA256:[0-9a-f]\{16\} ' "$T/keygen.out" || fail "keygen printed: $(cat "$T/keygen.out")"
[ "$(stat -c %a "$T/key")" = 600 ] || fail "the private key is mode $(stat -c %a "$T/key"), not 600"
[ -s "$T/key.pub" ] || fail "no public key $T/key.pub"
"$CKPT" keygen "$T/other" > /dev/null || fail "ckpt keygen failed"
expect_fail_msg "exists" "$CKPT" keygen "$T/key"
# openssl's own keys work as well.
openssl genpkey -algorithm ed25519 -out "$T/ossl" 2> /dev/null &&
	openssl pkey -in "$T/ossl" -pubout -out "$T/ossl.pub" 2> /dev/null ||
	fail "openssl cannot make an Ed25519 key"

start_bg "$PROGS/counter" -f "$T/counter.map" > >(exec cat > "$T/orig.log") 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/orig.log" 5

# Bad keys stop nothing: the target is not even touched.
expect_fail_msg "not a PEM private key" "$CKPT" "$pid" -o "$T/x.tar.zst" --sign "$T/key.pub"
expect_fail_msg "opening signing key" "$CKPT" "$pid" -o "$T/x.tar.zst" --sign "$T/nokey"
assert_target_unharmed "$pid" "$T/orig.log" "$T/x.tar.zst"

# Through a pipe, no temporary file, verified on the fly.
timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" "$pid" -o - --sign "$T/key" 2> "$T/ckpt.err" |
	timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" - --verify "$T/key.pub" --detach --new-pid \
		--stdout "$T/piped.log" > "$T/piped.out" 2> "$T/piped.err"
rcs=("${PIPESTATUS[@]}")
new=$(grep -m1 -E '^[0-9]+$' "$T/piped.out")
track_pid "$new"
[ "${rcs[0]}" = 0 ] || fail "ckpt -o - --sign failed: $(cat "$T/ckpt.err")"
[ "${rcs[1]}" = 0 ] || fail "restart - --verify failed: $(cat "$T/piped.err")"
wait_tick "$T/piped.log" 3
kill_wait "$new"

ckpt_ok "$pid" "$T/signed.tar.zst" --sign "$T/key"
ckpt_ok "$pid" "$T/unsigned.tar.zst"
ckpt_ok "$pid" "$T/ossl.tar.zst" --sign "$T/ossl"
tar --zstd -tf "$T/signed.tar.zst" > "$T/members" || fail "tar --zstd cannot list a signed image"
[ "$(tail -n 1 "$T/members")" = ckpt-end ] || fail "last member: $(tail -n 1 "$T/members")"
zstd -tq "$T/signed.tar.zst" || fail "zstd -t refuses a signed image"

"$CKPT" check "$T/signed.tar.zst" --new-pid --verify "$T/key.pub" > "$T/check.out" 2>&1 ||
	fail "ckpt check --verify of a signed image failed: $(cat "$T/check.out")"
grep -q "^OK      signature: every frame signed by trusted key SHA256:" "$T/check.out" ||
	fail "ckpt check --verify says nothing of the signature: $(cat "$T/check.out")"
expect_fail_msg "not trusted" "$CKPT" check "$T/signed.tar.zst" --new-pid --verify "$T/other.pub"
expect_fail_msg "not signed" "$CKPT" check "$T/unsigned.tar.zst" --new-pid --verify "$T/key.pub"

# A directory of trusted keys: any of its *.pub.
mkdir "$T/trusted.d"
cp "$T/other.pub" "$T/ossl.pub" "$T/trusted.d/"
cp "$T/key.pub" "$T/trusted.d/readme.txt"	# not a .pub: not trusted
expect_fail_msg "not trusted" "$RESTART" "$T/signed.tar.zst" --verify "$T/trusted.d" --new-pid
cp "$T/key.pub" "$T/trusted.d/key.pub"
restart_detach "$T/signed.tar.zst" --verify "$T/trusted.d" --new-pid --stdout "$T/dir.log"
wait_tick "$T/dir.log" 3
kill_wait "$RESTORED_PID"
restart_detach "$T/ossl.tar.zst" --verify "$T/ossl.pub" --new-pid --stdout "$T/ossl.log"
wait_tick "$T/ossl.log" 3
kill_wait "$RESTORED_PID"
# Without --verify the signatures are skipped: an older restart reads it too.
restart_detach "$T/signed.tar.zst" --new-pid --stdout "$T/noverify.log"
wait_tick "$T/noverify.log" 3
kill_wait "$RESTORED_PID"

# refused IMAGE "MESSAGE": restart --verify refuses IMAGE, nothing is left
# running, the restored copy never ran.
refused() {
	local before
	before=$(candidate_procs)
	rm -f "$T/refused.log"
	expect_fail_msg "$2" "$RESTART" "$1" --verify "$T/key.pub" --new-pid --detach \
		--stdout "$T/refused.log"
	assert_no_new_procs "$before"
	if [ -s "$T/refused.log" ]; then
		fail "the refused image ran: $(head -n 3 "$T/refused.log")"
	fi
}

refused "$T/unsigned.tar.zst" "not signed"
expect_fail_msg "not trusted" "$RESTART" "$T/signed.tar.zst" --verify "$T/other.pub" --new-pid
expect_fail_msg "reading trusted keys" "$RESTART" "$T/signed.tar.zst" --verify "$T/none.pub"

# The frames of the image: "offset length zstd|sig" (zstd frame format).
python3 - "$T/signed.tar.zst" > "$T/frames" << 'EOF' || fail "cannot list the frames"
import sys
b = open(sys.argv[1], "rb").read()
i = 0
while i < len(b):
    m = int.from_bytes(b[i:i + 4], "little")
    if m & 0xFFFFFFF0 == 0x184D2A50:
        n = 8 + int.from_bytes(b[i + 4:i + 8], "little")
        print(i, n, "sig")
        i += n
        continue
    assert m == 0xFD2FB528, "not a zstd frame at %d" % i
    fhd = b[i + 4]
    single, fcs, did, ck = (fhd >> 5) & 1, fhd >> 6, fhd & 3, (fhd >> 2) & 1
    j = i + 5 + (0 if single else 1) + [0, 1, 2, 4][did] + [single, 2, 4, 8][fcs]
    while True:
        bh = int.from_bytes(b[j:j + 3], "little")
        j += 3 + (1 if (bh >> 1) & 3 == 1 else bh >> 3)
        if bh & 1:
            break
    j += 4 * ck
    print(i, j - i, "zstd")
    i = j
EOF
nz=$(grep -c zstd "$T/frames")
ns=$(grep -c sig "$T/frames")
[ "$nz" -ge 3 ] || fail "expected 3+ zstd frames (metadata, pages, end): $(cat "$T/frames")"
[ "$ns" = "$nz" ] || fail "$nz zstd frames but $ns signatures: $(cat "$T/frames")"
awk 'NR % 2 == 1 && $3 != "zstd" || NR % 2 == 0 && $3 != "sig" { exit 1 }' "$T/frames" ||
	fail "frames and signatures do not alternate: $(cat "$T/frames")"
read -r first_off first_len _ < <(sed -n 1p "$T/frames")
read -r page_off page_len _ < <(sed -n 3p "$T/frames")
read -r last_off last_len _ < <(grep zstd "$T/frames" | tail -n 1)
read -r sig1_off _ _ < <(sed -n 2p "$T/frames")
read -r final_off final_len _ < <(tail -n 1 "$T/frames")
size=$(stat -c %s "$T/signed.tar.zst")

# tampered NAME OFFSET "MESSAGE": a copy with the byte at OFFSET changed.
tampered() {
	cp "$T/signed.tar.zst" "$T/$1.tar.zst"
	flip_bytes "$T/$1.tar.zst" "$2" 1
	say "$1: byte $2 of $size changed"
	refused "$T/$1.tar.zst" "$3"
}
tampered header 20 "signature"
tampered meta $((first_off + first_len / 2)) "bad signature"
tampered meta-end $((first_off + first_len - 5)) "bad signature"
# (the middle of the pages frame may be a block header of it: the frame
# then seems to go on past the end, "truncated ... no signature verifies it")
tampered pages $((page_off + page_len / 2)) "bad signature|no signature verifies it"
tampered end $((last_off + last_len - 10)) "bad signature"
tampered sig1-magic "$sig1_off" "not signed|bad signature"
tampered final-sig $((final_off + final_len - 1)) "bad signature"
tampered final-key $((final_off + 30)) "not trusted"

# Cut: before the final signature, in a page frame, in the middle.
head -c $((size - final_len)) "$T/signed.tar.zst" > "$T/nofinal.tar.zst"
refused "$T/nofinal.tar.zst" "truncated"
head -c $((size - 1)) "$T/signed.tar.zst" > "$T/cut1.tar.zst"
refused "$T/cut1.tar.zst" "truncated"
head -c $((page_off + page_len / 2)) "$T/signed.tar.zst" > "$T/cutpage.tar.zst"
refused "$T/cutpage.tar.zst" "truncated"
# A frame dropped (with its signature): the chain breaks.
SIG_LEN=120
{
	head -c "$page_off" "$T/signed.tar.zst"
	tail -c +$((page_off + page_len + SIG_LEN + 1)) "$T/signed.tar.zst"
} > "$T/dropped.tar.zst"
refused "$T/dropped.tar.zst" "bad signature"
# The whole image twice: the second copy's signatures are at other offsets.
cat "$T/signed.tar.zst" "$T/signed.tar.zst" > "$T/twice.tar.zst"
restart_detach "$T/twice.tar.zst" --verify "$T/key.pub" --new-pid --stdout "$T/twice.log"
wait_tick "$T/twice.log" 2
kill_wait "$RESTORED_PID"

assert_target_unharmed "$pid" "$T/orig.log"
pass
