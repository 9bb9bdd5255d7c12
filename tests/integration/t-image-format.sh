#!/bin/bash
# The image is what docs/image-format.md says: a zstd-compressed tar that
# `tar --zstd` lists, members in the documented order, records starting
# with "CKR1" and their type id, pages/ chunks with the CKPG header whose run
# table accounts for every byte, no all-zero page stored, ckpt-end counting
# the members and bytes before it, ~1 MiB independent zstd frames, and
# --compress-level accepted from 1 to 19.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog bigmem

start_bg "$PROGS/bigmem" 16 -i 200 > "$T/bigmem.log" 2> "$T/bigmem.err"
pid=$BG_PID
wait_for_line "$T/bigmem.log" '^sum ' 20
img=$T/bigmem.tar.zst
ckpt_ok "$pid" "$img"

zstd -tq "$img" || fail "zstd -t finds the image damaged"
tar --zstd -tf "$img" > "$T/members.out" || fail "tar --zstd cannot list the image"
mkdir "$T/x"
tar --zstd -xf "$img" -C "$T/x" || fail "tar --zstd cannot extract the image"

# Member order.
mapfile -t members < "$T/members.out"
n=${#members[@]}
[ "${members[0]}" = ckpt-image ] || fail "first member is '${members[0]}', not ckpt-image"
[ "${members[n - 1]}" = ckpt-end ] || fail "last member is '${members[n - 1]}', not ckpt-end"
expected_meta=(meta/process meta/threads meta/rlimits meta/files meta/vmas meta/fds meta/sigactions meta/sigpending)
i=1
for want in "${expected_meta[@]}"; do
	while [ "$i" -lt "$n" ] && [ "${members[i]}" != "$want" ]; do
		case ${members[i]} in
		meta/*) ;;
		*) fail "member ${members[i]} comes before $want" ;;
		esac
		i=$((i + 1))
	done
	[ "$i" -lt "$n" ] || fail "member $want missing or out of order: ${members[*]}"
done
seq=0
for ((i = 1; i < n - 1; i++)); do
	case ${members[i]} in
	meta/*)
		[ "$seq" = 0 ] || fail "meta member ${members[i]} after pages/ members"
		;;
	index/pages)
		[ "$i" = $((n - 2)) ] || fail "index/pages is not the last member before ckpt-end"
		;;
	pages/*)
		want=$(printf 'pages/%08d' "$seq")
		[ "${members[i]}" = "$want" ] || fail "member ${members[i]} where $want was expected"
		seq=$((seq + 1))
		;;
	*) fail "unexpected member ${members[i]}" ;;
	esac
done
[ "$(sort "$T/members.out" | uniq -d)" = "" ] || fail "duplicate member names"
say "members: ${members[*]:0:12} ... ($seq pages/ chunks)"

# Record members: "CKR1", then the record type id.
u32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }
type_id=1
for m in ckpt-image "${expected_meta[@]}"; do
	[ "$(head -c 4 "$T/x/$m")" = CKR1 ] || fail "$m does not start with CKR1"
	[ "$(u32 "$T/x/$m" 4)" = "$type_id" ] || fail "$m has type id $(u32 "$T/x/$m" 4), expected $type_id"
	type_id=$((type_id + 1))
done

# pages/ chunks: CKPG, version 1, nruns, crc; runs {u64 addr, u32 npages, u32 0}.
total_pages=0
for ((c = 0; c < seq; c++)); do
	f=$T/x/$(printf 'pages/%08d' "$c")
	[ "$(head -c 4 "$f")" = CKPG ] || fail "$f does not start with CKPG"
	[ "$(u32 "$f" 4)" = 1 ] || fail "$f: chunk version $(u32 "$f" 4)"
	nruns=$(u32 "$f" 8)
	pages=0
	for ((r = 0; r < nruns; r++)); do
		np=$(u32 "$f" $((16 + r * 16 + 8)))
		[ "$(u32 "$f" $((16 + r * 16 + 12)))" = 0 ] || fail "$f: run $r has a non-zero pad"
		pages=$((pages + np))
	done
	want=$((16 + nruns * 16 + pages * 4096))
	[ "$(stat -c %s "$f")" = "$want" ] || fail "$f: $(stat -c %s "$f") bytes, header says $want"
	total_pages=$((total_pages + pages))
done
# bigmem 16: 4096 pages of which 241 (page % 17 == 5) are all-zero, plus
# the rest of the process (a few dozen pages).
[ "$total_pages" -ge 3855 ] || fail "only $total_pages pages stored, bigmem alone has 3855 non-zero pages"
[ "$total_pages" -lt 4096 ] || fail "$total_pages pages stored: all-zero pages were stored"
say "$total_pages pages stored"

# ckpt-end: members and data bytes before it.
bytes=0
for ((i = 0; i < n - 1; i++)); do
	bytes=$((bytes + $(stat -c %s "$T/x/${members[i]}")))
done
printf -v want 'members %d\nbytes %d' $((n - 1)) "$bytes"
[ "$(cat "$T/x/ckpt-end")" = "$want" ] || fail "ckpt-end says '$(cat "$T/x/ckpt-end")', expected '$want'"

# Independent frames of about 1 MiB: 16 MiB of incompressible data.
frames=$(zstd -lv "$img" 2>/dev/null | awk '/Zstandard Frames:/ { print $NF }')
if [ -z "$frames" ] || [ "$frames" -lt 8 ]; then
	fail "image of 16+ MiB has ${frames:-?} zstd frame(s), expected about one per MiB"
fi
say "$frames zstd frames"

# Compression levels.
for level in 1 19; do
	ckpt_ok "$pid" "$T/level$level.tar.zst" --compress-level "$level"
	zstd -tq "$T/level$level.tar.zst" || fail "--compress-level $level image is damaged"
done
expect_fail_msg "" "$CKPT" "$pid" --compress-level 0 -o "$T/level0.tar.zst"
[ ! -e "$T/level0.tar.zst" ] || fail "--compress-level 0 left an image"
assert_target_unharmed "$pid" "$T/bigmem.log" "" '^sum '
pass
