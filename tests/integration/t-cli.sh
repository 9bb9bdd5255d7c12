#!/bin/bash
# Command line: --help for both tools (exit 0, options listed), bad usage
# exits 2 with a message, -v logs on stderr without changing the result,
# ckpt writing an image to stdout with -o -, into a named pipe, through
# a symbolic link; -o a device that fails the write, or a directory.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

timeout 10 "$CKPT" --help > "$T/ckpt-help.out" 2>&1 || fail "ckpt --help failed"
for opt in -o --kill --compress-level --sign --encrypt keygen -v; do
	grep -qe "$opt" "$T/ckpt-help.out" || fail "ckpt --help does not mention $opt"
done
timeout 10 "$RESTART" --help > "$T/restart-help.out" 2>&1 || fail "restart --help failed"
for opt in --new-pid --any-pid --detach --stdin --stdout --stderr --verify --decrypt -v; do
	grep -qe "$opt" "$T/restart-help.out" || fail "restart --help does not mention $opt"
done

usage_error() {
	local rc
	timeout 10 "$@" > "$T/usage.out" 2> "$T/usage.err" < /dev/null
	rc=$?
	[ "$rc" = 2 ] || fail "$* exited $rc, expected 2 (bad usage): $(cat "$T/usage.err")"
	[ -s "$T/usage.err" ] || fail "$* printed nothing on stderr"
}
usage_error "$CKPT"
usage_error "$CKPT" 1
usage_error "$CKPT" notapid -o "$T/x.tar.zst"
usage_error "$CKPT" 1 -o "$T/x.tar.zst" --no-such-option
usage_error "$RESTART"
usage_error "$RESTART" a.tar.zst b.tar.zst
[ ! -e "$T/x.tar.zst" ] || fail "a usage error left an image"

start_bg "$PROGS/counter" -f "$T/counter.map" > "$T/counter.log" 2> "$T/counter.err"
pid=$BG_PID
wait_tick "$T/counter.log" 3

# -v: progress on stderr, nothing on stdout.
ckpt_ok "$pid" "$T/v.tar.zst" -v
[ -s "$T/ckpt.err" ] || fail "ckpt -v printed nothing on stderr"
[ ! -s "$T/ckpt.out" ] || fail "ckpt -v printed on stdout: $(head -c 200 "$T/ckpt.out")"

# -o -: the image on stdout, identical in content to a file image.
timeout 30 "$CKPT" "$pid" -o - > "$T/stdout.tar.zst" 2> "$T/stdout.err" || fail "ckpt -o - failed: $(cat "$T/stdout.err")"
[ ! -s "$T/stdout.err" ] || fail "ckpt -o - printed on stderr: $(cat "$T/stdout.err")"
tar --zstd -tf "$T/stdout.tar.zst" > "$T/stdout.members" || fail "the image written to stdout is not readable"
tar --zstd -tf "$T/v.tar.zst" > "$T/file.members"
cmp -s <(grep -v '^pages/' "$T/stdout.members") <(grep -v '^pages/' "$T/file.members") ||
	fail "stdout and file images have different metadata members"
assert_not_stopped "$pid"
assert_progress "$T/counter.log"

# -o NAME relative to the current directory (as users type it), twice:
# the second time the name exists and is replaced.
for i in 1 2; do
	(cd "$T" && timeout 30 "$CKPT" "$pid" -o rel.tar.zst) 2> "$T/rel.err" ||
		fail "ckpt -o rel.tar.zst (relative, run $i) failed: $(cat "$T/rel.err")"
	tar --zstd -tf "$T/rel.tar.zst" > /dev/null || fail "rel.tar.zst is not an image"
done
[ -z "$(find "$T" -maxdepth 1 -name '.rel.tar.zst.*')" ] || fail "a temporary file was left: $(ls -a "$T")"

# -o a named pipe: the image streams into it (the pipe stays a pipe);
# -o a device that cannot take it (/dev/full): the write error, and the
# device is left as it was; -o a symbolic link: the file it names is
# written, the link stays.
mkfifo "$T/fifo"
timeout 30 cat "$T/fifo" > "$T/from-fifo.tar.zst" &
reader=$!
timeout 30 "$CKPT" "$pid" -o "$T/fifo" 2> "$T/fifo.err" || fail "ckpt -o FIFO failed: $(cat "$T/fifo.err")"
if [ ! -p "$T/fifo" ]; then
	kill "$reader"
	fail "ckpt -o FIFO replaced the named pipe: $(ls -l "$T/fifo")"
fi
wait "$reader" || fail "nothing was written into the named pipe"
tar --zstd -tf "$T/from-fifo.tar.zst" > /dev/null || fail "the image written into a named pipe is not readable"
if [ -c /dev/full ]; then
	expect_fail_msg "No space left on device" "$CKPT" "$pid" -o /dev/full
	[ -c /dev/full ] || fail "ckpt -o /dev/full replaced the device: $(ls -l /dev/full)"
	assert_not_stopped "$pid"
fi
ln -s linked.tar.zst "$T/link.tar.zst"
for i in 1 2; do
	timeout 30 "$CKPT" "$pid" -o "$T/link.tar.zst" 2> "$T/link.err" ||
		fail "ckpt -o SYMLINK (run $i) failed: $(cat "$T/link.err")"
	[ -L "$T/link.tar.zst" ] || fail "ckpt -o SYMLINK replaced the link (run $i)"
	tar --zstd -tf "$T/linked.tar.zst" > /dev/null || fail "the file the link names is not an image (run $i)"
done
expect_fail_msg "it is a directory" "$CKPT" "$pid" -o "$T"
assert_progress "$T/counter.log"

# restart -v with --detach: the PID alone on stdout.
kill_wait "$pid"
restart_detach "$T/v.tar.zst" -v
[ "$(wc -l < "$T/restart.1.out")" = 1 ] || fail "restart --detach -v printed more than the PID on stdout"
[ -s "$T/restart.1.err" ] || fail "restart -v printed nothing on stderr"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
assert_progress "$T/counter.log"
pass
