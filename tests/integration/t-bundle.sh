#!/bin/bash
# ckpt --bundle: a program whose binary is gone on the restarting side comes
# back from the copy in its image, unpacked into the cache and run from
# there (/proc/PID/maps and /proc/PID/exe name the cache), and goes on
# counting.  Without --bundle the same restart is refused ("missing"), and
# ckpt check says what is missing and that the image does not cover it.
# An executable deleted while it runs is bundled even without --bundle.
# The cache is reused (hash checked again; a damaged entry is replaced),
# filled by concurrent restarts safely, and pruned by ckpt cache prune
# (entries in use kept).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

export XDG_CACHE_HOME=$T/cache
mkdir -p "$T/bin"
cp "$PROGS/counter" "$T/bin/counter"

start_bg "$T/bin/counter" -f "$T/counter.map" > >(exec cat > "$T/orig.log") 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/orig.log" 5

ckpt_ok "$pid" "$T/plain.tar.zst"
ckpt_ok "$pid" "$T/bundle.tar.zst" --bundle --kill
wait_gone "$pid"
before=$(last_tick "$T/orig.log")
members=$(tar --zstd -tf "$T/bundle.tar.zst" | grep -c '^files/')
[ "$members" -ge 3 ] || fail "only $members files/ members in the bundle (counter, libc, ld.so at least)"
exe_sha=$(sha256sum < "$T/bin/counter" | cut -d' ' -f1)
tar --zstd -tf "$T/bundle.tar.zst" | grep -qx "files/$exe_sha" ||
	fail "no member files/$exe_sha (the executable's SHA-256) in the bundle"
# Members come after the metadata, before the pages.
order=$(tar --zstd -tf "$T/bundle.tar.zst" | awk -F/ '{ print $1 }' | uniq | tr '\n' ' ')
case $order in
"ckpt-image meta files pages index ckpt-end ") ;;
*) fail "member order is '$order'" ;;
esac
say "bundle: $members files, $(stat -c %s "$T/bundle.tar.zst") bytes (plain image $(stat -c %s "$T/plain.tar.zst"))"

# The program is not installed here any more.
rm -f "$T/bin/counter"

# Without the bundle: refused, and ckpt check says why.
expect_fail_msg "missing" "$RESTART" "$T/plain.tar.zst" --any-pid --detach
"$CKPT" check "$T/plain.tar.zst" --any-pid > "$T/check-plain.out" 2>&1 &&
	fail "ckpt check passed an image whose executable is gone"
grep -q "^FAIL    checking executable $T/bin/counter: file is missing (.*ckpt --bundle)" "$T/check-plain.out" ||
	fail "ckpt check does not say the executable is missing, or suggest --bundle: $(cat "$T/check-plain.out")"
# With it: covered.
"$CKPT" check "$T/bundle.tar.zst" > "$T/check-bundle.out" 2>&1 ||
	fail "ckpt check refuses the bundled image: $(cat "$T/check-bundle.out")"
grep -q "^OK      executable $T/bin/counter: missing here, in the bundle" "$T/check-bundle.out" ||
	fail "ckpt check does not say the bundle covers the executable: $(cat "$T/check-bundle.out")"
grep -q "^OK      bundle: $members files" "$T/check-bundle.out" ||
	fail "ckpt check does not verify the bundled files: $(cat "$T/check-bundle.out")"

restart_detach "$T/bundle.tar.zst" --stdout "$T/restored.log" -v
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$T/restored.log" $((before + 10))
assert_ticks_from "$T/restored.log" $((before + 1)) $((before + 10))
entry="$XDG_CACHE_HOME/ckpt/$exe_sha/counter"
[ -x "$entry" ] || fail "no cache entry $entry"
grep -qF "$entry" "/proc/$pid/maps" || fail "the restored process does not map $entry:
$(grep counter "/proc/$pid/maps")"
[ "$(readlink "/proc/$pid/exe")" = "$entry" ] ||
	fail "/proc/$pid/exe is $(readlink "/proc/$pid/exe"), not the cache entry"
grep -q 'libc.so.6' "/proc/$pid/maps" || fail "libc not mapped"
grep libc.so.6 "/proc/$pid/maps" | grep -qF "$XDG_CACHE_HOME/" &&
	fail "libc mapped from the cache though this host has the same one"
say "restored from the bundle: $(readlink "/proc/$pid/exe")"

# Again, twice at once: the cache entry is reused; a concurrent fill is safe.
rm -rf "$XDG_CACHE_HOME"
"$RESTART" "$T/bundle.tar.zst" --any-pid --detach --stdout "$T/c1.log" > "$T/c1.out" 2> "$T/c1.err" &
p1=$!
"$RESTART" "$T/bundle.tar.zst" --any-pid --detach --stdout "$T/c2.log" > "$T/c2.out" 2> "$T/c2.err" &
p2=$!
wait "$p1" || fail "concurrent restart 1 failed: $(cat "$T/c1.err")"
wait "$p2" || fail "concurrent restart 2 failed: $(cat "$T/c2.err")"
track_pid "$(cat "$T/c1.out")" "$(cat "$T/c2.out")"
wait_tick "$T/c1.log" $((before + 5))
wait_tick "$T/c2.log" $((before + 5))
[ "$(find "$XDG_CACHE_HOME/ckpt/$exe_sha" -type f | wc -l)" = 1 ] ||
	fail "cache entry holds $(ls -a "$XDG_CACHE_HOME/ckpt/$exe_sha")"
cmp -s "$entry" "$PROGS/counter" || fail "cache entry differs from the program"

# A damaged entry (same size, other bytes) is found out and replaced.  (It
# is being run: ETXTBSY keeps anyone from writing into it, so a changed
# copy is renamed over it.)
head -c "$(stat -c %s "$entry")" /dev/zero > "$T/damaged"
mv -f "$T/damaged" "$entry"
restart_detach "$T/bundle.tar.zst" --any-pid --stdout "$T/c3.log"
grep -q "damaged" "$T/restart.$_RESTART_N.err" || fail "no warning about the damaged entry"
cmp -s "$entry" "$PROGS/counter" || fail "damaged cache entry not replaced"
wait_tick "$T/c3.log" $((before + 5))

# Prune: entries in use stay; once unused, --max-age 0 removes them.
"$CKPT" cache list > "$T/list.out" || fail "ckpt cache list failed"
grep -q "^$exe_sha .*in use" "$T/list.out" || fail "ckpt cache list: $(cat "$T/list.out")"
"$CKPT" cache prune --max-age 0 > "$T/prune1.out" || fail "ckpt cache prune failed"
[ -e "$entry" ] || fail "prune removed an entry in use: $(cat "$T/prune1.out")"
for p in "$pid" "$(cat "$T/c1.out")" "$(cat "$T/c2.out")" "$RESTORED_PID"; do
	kill -KILL "$p" 2>/dev/null
	wait_gone "$p"
done
"$CKPT" cache prune --max-age 0 > "$T/prune2.out" || fail "ckpt cache prune failed"
[ ! -e "$entry" ] || fail "prune kept an unused entry: $(cat "$T/prune2.out")"

# An executable deleted while it runs: bundled without --bundle.
cp "$PROGS/counter" "$T/bin/counter2"
start_bg "$T/bin/counter2" > >(exec cat > "$T/del.log") 2> "$T/del.err"
pid=$BG_PID
wait_tick "$T/del.log" 3
rm -f "$T/bin/counter2"
ckpt_ok "$pid" "$T/deleted.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/del.log")
tar --zstd -tf "$T/deleted.tar.zst" | grep -qx "files/$exe_sha" ||
	fail "the deleted executable is not in the image"
restart_detach "$T/deleted.tar.zst" --stdout "$T/del2.log"
wait_tick "$T/del2.log" $((before + 5))
assert_ticks_from "$T/del2.log" $((before + 1)) $((before + 5))
say "deleted executable: bundled and restored"

# A program whose program interpreter (PT_INTERP, its own copy of ld.so) is
# gone too: exec runs a stand-in, the process gets its executable back
# (PR_SET_MM_MAP exe_fd) and its loader from the bundle.
if command -v "${CC:-cc}" > /dev/null; then
	ld=$(readlink -f /lib64/ld-linux-x86-64.so.2)
	mkdir -p "$T/ld"
	cp "$ld" "$T/ld/ld-test.so"
	"${CC:-cc}" -O2 -o "$T/bin/counter-ld" "$ROOT/tests/progs/counter.c" -lm \
		-Wl,--dynamic-linker="$T/ld/ld-test.so" || fail "cannot build counter-ld"
	start_bg "$T/bin/counter-ld" -f "$T/ld.map" > >(exec cat > "$T/ld.log") 2> "$T/ld.err"
	pid=$BG_PID
	wait_tick "$T/ld.log" 3
	grep -qF "$T/ld/ld-test.so" "/proc/$pid/maps" || fail "counter-ld does not map its own loader"
	ckpt_ok "$pid" "$T/ld.tar.zst" --bundle --kill
	wait_gone "$pid"
	before=$(last_tick "$T/ld.log")
	rm -rf "$T/ld" "$T/bin/counter-ld"
	restart_detach "$T/ld.tar.zst" --stdout "$T/ld2.log" -v
	grep -q "stand-in" "$T/restart.$_RESTART_N.err" || fail "no stand-in exec: $(cat "$T/restart.$_RESTART_N.err")"
	wait_tick "$T/ld2.log" $((before + 5))
	assert_ticks_from "$T/ld2.log" $((before + 1)) $((before + 5))
	case $(readlink "/proc/$pid/exe") in
	"$XDG_CACHE_HOME/ckpt/"*/counter-ld) ;;
	*) fail "/proc/$pid/exe is $(readlink "/proc/$pid/exe"), not the cache copy of counter-ld" ;;
	esac
	grep -q "$XDG_CACHE_HOME/ckpt/.*/ld-test.so" "/proc/$pid/maps" ||
		fail "the loader is not mapped from the cache: $(grep ld- "/proc/$pid/maps")"
	say "program interpreter gone too: exec of a stand-in, exe set to $(readlink "/proc/$pid/exe")"
fi
pass
