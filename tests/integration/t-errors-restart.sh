#!/bin/bash
# shellcheck disable=SC2016 # bash -c scripts take their arguments as $0, $1...
# Every restart failure is one clear line "restart: ...", a non-zero exit and
# no process left behind (nothing half-restored), while the original keeps
# running undisturbed: PID in use (naming the holder), truncated images (cut
# anywhere, cut at a member boundary, read from a pipe), corrupted images
# (compressed bytes, page data, a record, a tar header), foreign files, an
# unknown format version, a missing or changed executable, a changed mapped
# file, a missing image file.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

# restart_fails "TEXT[|TEXT]" ARGS...: restart ARGS must fail with TEXT and
# leave no new process; the original keeps counting.
restart_fails() {
	local want=$1 before
	shift
	before=$(candidate_procs)
	expect_fail_msg "$want" "$RESTART" "$@"
	assert_no_new_procs "$before"
	assert_running "$pid" "original"
	assert_not_stopped "$pid" "original"
}

start_bg "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 5
img=$T/good.tar.zst
ckpt_ok "$pid" "$img"
size=$(stat -c %s "$img")
say "image: $size bytes; members: $(tar --zstd -tf "$img" | tr '\n' ' ')"

say "PID in use"
restart_fails "in use" "$img"
grep -qi "counter" "$EXPECT_ERR" || fail "the message does not name the holder 'counter': $(cat "$EXPECT_ERR")"
restart_fails "in use" "$img" --detach

say "truncated images"
head -c $((size / 2)) "$img" > "$T/half.tar.zst"
restart_fails "truncated" "$T/half.tar.zst" --any-pid
restart_fails "truncated" "$T/half.tar.zst" --any-pid --detach
head -c $((size - 1)) "$img" > "$T/minus1.tar.zst"
restart_fails "truncated" "$T/minus1.tar.zst" --any-pid
head -c 100 "$img" > "$T/head100.tar.zst"
restart_fails "truncated" "$T/head100.tar.zst" --any-pid
# Whole members and whole zstd frames, but no ckpt-end.
end_block=$(member_block "$img" ckpt-end)
[ -n "$end_block" ] || fail "no ckpt-end member in the image"
zstd -dcq "$img" | head -c $((end_block * 512)) | zstd_frames > "$T/noend.tar.zst"
restart_fails "truncated" "$T/noend.tar.zst" --any-pid
# From a pipe.
before=$(candidate_procs)
expect_fail_msg "truncated" bash -c 'exec "$0" - --any-pid < "$1"' "$RESTART" "$T/half.tar.zst"
assert_no_new_procs "$before"

say "corrupted images"
cp "$img" "$T/flipped.tar.zst"
flip_bytes "$T/flipped.tar.zst" $((size / 2)) 16
restart_fails "corrupt" "$T/flipped.tar.zst" --any-pid
# Inside the data of a pages/ member (recompressed: only its crc32c can tell).
zstd -dcq "$img" > "$T/plain.tar"
pages_block=$(member_block "$img" pages/00000000)
[ -n "$pages_block" ] || fail "no pages/00000000 member in the image"
cp "$T/plain.tar" "$T/pages.tar"
flip_bytes "$T/pages.tar" $(((pages_block + 1) * 512 + 3000)) 4
zstd_frames < "$T/pages.tar" > "$T/pages.tar.zst"
restart_fails "checksum mismatch) in image member pages/00000000" "$T/pages.tar.zst" --any-pid
# The last pages/ member in a zstd frame of its own, as ckpt writes them:
# checked by the thread that decompresses it (the first one is read with
# the metadata, before those threads start).
last=$(tar -tf "$T/plain.tar" | grep '^pages/' | tail -1)
[ "$last" != pages/00000000 ] || fail "the image has a single pages/ member"
cp "$T/plain.tar" "$T/pages1.tar"
start=$(($(member_block "$img" "$last") * 512))
psize=$(tar -tvf "$T/plain.tar" "$last" | awk '{ print $3 }')
end=$((start + 512 + (psize + 511) / 512 * 512))
flip_bytes "$T/pages1.tar" $((start + 512 + 3000)) 4
{
	head -c "$start" "$T/pages1.tar" | zstd_frames
	tail -c +$((start + 1)) "$T/pages1.tar" | head -c $((end - start)) | zstd -q -c
	tail -c +$((end + 1)) "$T/pages1.tar" | zstd_frames
} > "$T/pages1.tar.zst"
restart_fails "checksum mismatch) in image member $last" "$T/pages1.tar.zst" --any-pid
# Inside a record member.
vmas_block=$(member_block "$img" meta/vmas)
[ -n "$vmas_block" ] || fail "no meta/vmas member in the image"
cp "$T/plain.tar" "$T/vmas.tar"
flip_bytes "$T/vmas.tar" $(((vmas_block + 1) * 512 + 40)) 2
zstd_frames < "$T/vmas.tar" > "$T/vmas.tar.zst"
restart_fails "corrupt" "$T/vmas.tar.zst" --any-pid
# A tar header (its checksum no longer matches).
fds_block=$(member_block "$img" meta/fds)
cp "$T/plain.tar" "$T/header.tar"
flip_bytes "$T/header.tar" $((fds_block * 512 + 200)) 1
zstd_frames < "$T/header.tar" > "$T/header.tar.zst"
restart_fails "corrupt" "$T/header.tar.zst" --any-pid

say "not an image"
echo hi | zstd -q > "$T/hi.tar.zst"
restart_fails "not a ckpt image" "$T/hi.tar.zst" --any-pid
head -c 4096 /dev/urandom > "$T/random.tar.zst"
restart_fails "not a ckpt image" "$T/random.tar.zst" --any-pid
tar --zstd -cf "$T/other.tar.zst" -C "$T" counter.log
restart_fails "not a ckpt image" "$T/other.tar.zst" --any-pid
: > "$T/empty.tar.zst"
restart_fails "not a ckpt image|truncated" "$T/empty.tar.zst" --any-pid

say "unknown format version"
CKPT_TEST_FORMAT_VERSION=99 ckpt_ok "$pid" "$T/v99.tar.zst"
restart_fails "format version" "$T/v99.tar.zst" --any-pid

say "no such image file"
restart_fails "no such file" "$T/nonexistent.tar.zst" --any-pid

say "missing and changed executable, changed mapped file"
mkdir "$T/bin"
for case in missing changed mapped; do
	cp "$PROGS/counter" "$T/bin/counter-$case"
	start_bg "$T/bin/counter-$case" -f "$T/$case.map" > "$T/$case.log" 2> "$T/$case.err"
	copy=$BG_PID
	wait_tick "$T/$case.log" 3
	ckpt_ok "$copy" "$T/$case.tar.zst" --kill
	wait_gone "$copy"
	case $case in
	missing)
		rm "$T/bin/counter-$case"
		restart_fails "missing" "$T/$case.tar.zst"
		grep -qF "$T/bin/counter-missing" "$EXPECT_ERR" ||
			fail "the message does not name the missing binary: $(cat "$EXPECT_ERR")"
		;;
	changed)
		printf x >> "$T/bin/counter-$case"
		restart_fails "changed" "$T/$case.tar.zst"
		;;
	mapped)
		printf 'X' | dd of="$T/$case.map" bs=1 seek=5000 conv=notrunc status=none
		restart_fails "changed" "$T/$case.tar.zst"
		grep -qF "$T/$case.map" "$EXPECT_ERR" ||
			fail "the message does not name the changed file: $(cat "$EXPECT_ERR")"
		;;
	esac
	[ ! -e "/proc/$copy" ] || fail "a process holds PID $copy after the failed restart"
done

say "usage errors (exit 2)"
for args in "" "$img --no-such-option"; do
	# shellcheck disable=SC2086 # split on purpose
	timeout 10 "$RESTART" $args > "$T/usage.out" 2> "$T/usage.err"
	rc=$?
	[ "$rc" = 2 ] || fail "restart $args: exit $rc, expected 2 (bad usage)"
	[ -s "$T/usage.err" ] || fail "restart $args: nothing on stderr"
done

assert_progress "$T/counter.log"
assert_ticks_consecutive "$T/counter.log"
pass
