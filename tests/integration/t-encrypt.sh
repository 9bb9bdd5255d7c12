#!/bin/bash
# Encrypted images: `ckpt --encrypt KEYFILE`, `restart --decrypt KEYFILE`.
# A 24 MiB process (incompressible memory: raw frames, many frames sealed
# and opened in parallel) comes back bit for bit from an encrypted,
# signed image through a pipe; nothing of it is readable in the image; no
# key, a wrong key, an image in clear given to --decrypt, and a byte
# changed in a page frame or the last frame are refused, nothing is left
# running and the original runs on.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog bigmem counter

head -c 32 /dev/urandom > "$T/secret"
head -c 32 /dev/urandom > "$T/other"
printf short > "$T/short"
"$CKPT" keygen "$T/sign" > /dev/null || fail "ckpt keygen failed"

start_bg "$PROGS/counter" -f "$T/counter.map" > >(exec cat > "$T/orig.log") 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/orig.log" 5
expect_fail_msg "shorter than 32 bytes" "$CKPT" "$pid" -o "$T/x.tar.zst" --encrypt "$T/short"
assert_target_unharmed "$pid" "$T/orig.log" "$T/x.tar.zst"

ckpt_ok "$pid" "$T/enc.tar.zst" --encrypt "$T/secret"
ckpt_ok "$pid" "$T/clear.tar.zst"
if grep -q -a -e counter -e ckpt-image -e 'meta/process' "$T/enc.tar.zst"; then
	fail "the encrypted image shows names in clear"
fi
"$CKPT" check "$T/enc.tar.zst" --new-pid --decrypt "$T/secret" > "$T/check.out" 2>&1 ||
	fail "ckpt check --decrypt failed: $(cat "$T/check.out")"
restart_detach "$T/enc.tar.zst" --decrypt "$T/secret" --new-pid --stdout "$T/enc.log"
wait_tick "$T/enc.log" 3
kill_wait "$RESTORED_PID"

refused() {
	local before
	before=$(candidate_procs)
	rm -f "$T/refused.log"
	expect_fail_msg "$1" "$RESTART" "$2" --new-pid --detach --stdout "$T/refused.log" \
		"${@:3}"
	assert_no_new_procs "$before"
	[ ! -s "$T/refused.log" ] || fail "the refused image ran: $(head -n 3 "$T/refused.log")"
}
refused "encrypted" "$T/enc.tar.zst"
refused "wrong key" "$T/enc.tar.zst" --decrypt "$T/other"
refused "not encrypted" "$T/clear.tar.zst" --decrypt "$T/secret"
size=$(stat -c %s "$T/enc.tar.zst")
cp "$T/enc.tar.zst" "$T/t1.tar.zst"
flip_bytes "$T/t1.tar.zst" $((size / 2)) 1
refused "does not authenticate|corrupted" "$T/t1.tar.zst" --decrypt "$T/secret"
cp "$T/enc.tar.zst" "$T/t2.tar.zst"
flip_bytes "$T/t2.tar.zst" $((size - 20)) 1
refused "does not authenticate|corrupted" "$T/t2.tar.zst" --decrypt "$T/secret"
assert_target_unharmed "$pid" "$T/orig.log"

# Big, incompressible, encrypted and signed, through a pipe.
start_bg "$PROGS/bigmem" 24 > "$T/bigmem.log" 2> "$T/bigmem.err"
big=$BG_PID
wait_for_line "$T/bigmem.log" '^ready [0-9a-f]{16}$' 60
ready=$(awk '/^ready/ { print $2 }' "$T/bigmem.log")
wait_for_line "$T/bigmem.log" '^sum ' 10
timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" "$big" -o - --kill --encrypt "$T/secret" \
	--sign "$T/sign" 2> "$T/ckpt.err" |
	timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" - --detach --decrypt "$T/secret" \
		--verify "$T/sign.pub" > "$T/big.out" 2> "$T/big.err"
rcs=("${PIPESTATUS[@]}")
new=$(grep -m1 -E '^[0-9]+$' "$T/big.out")
track_pid "$new"
[ "${rcs[0]}" = 0 ] || fail "ckpt --encrypt --sign -o - failed: $(cat "$T/ckpt.err")"
[ "${rcs[1]}" = 0 ] || fail "restart - --decrypt --verify failed: $(cat "$T/big.err")"
[ "$new" = "$big" ] || fail "restored as PID '$new', expected $big"
sums=$(count_lines "$T/bigmem.log" '^sum ')
for ((i = 0; i < 600; i++)); do
	[ "$(count_lines "$T/bigmem.log" '^sum ')" -ge $((sums + 1)) ] && break
	assert_no_corrupt "$T/bigmem.log"
	proc_alive "$big" || fail "restored bigmem died"
	sleep 0.1
done
assert_no_corrupt "$T/bigmem.log"
other=$(grep '^sum ' "$T/bigmem.log" | grep -v "^sum $ready\$" | head -n1)
[ -z "$other" ] || fail "checksum changed: ready $ready, then '$other'"
say "24 MiB encrypted and signed through a pipe: checksum $ready before and after"
pass
