#!/bin/bash
# Images are untrusted: real images with one record rewritten (checksums
# made again by tests/integration/recedit.py, so only the content is
# hostile) are refused with one line before anything is created, and
# nothing is left on the host:
#  - a mapped file of meta/files that is now a FIFO: restart and ckpt check
#    refuse it ("not a regular file") instead of waiting for a writer;
#  - an executable that is not the verified one of meta/files;
#  - a vDSO mapping record without its name; an oom_score_adj out of range,
#    or one restart cannot set (below its own, without CAP_SYS_RESOURCE);
#  - a pipe whose recorded contents exceed its recorded size;
#  - a unix socket name held by a live socket of the host, or by a file
#    that is not a socket: refused, the host's file untouched;
#  - a restore that fails after the socket was bound (damaged memory
#    contents): the socket file it made is removed again;
#  - an AIO ring whose tail is beyond it, or whose size in events is not
#    its mapping's; a mapping made a packet ring on an fd that is none.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter unixsock pipefifo aioring
command -v zstd > /dev/null || skip "zstd is not installed"
RECEDIT="/usr/bin/python3 $ROOT/tests/integration/recedit.py"

# unpack IMAGE DIR: members into DIR, their order into DIR.order
unpack() {
	{ mkdir "$2" && (cd "$2" && tar --zstd -xf "$1"); } || fail "cannot unpack $1"
	tar --zstd -tf "$1" > "$2.order"
}
# repack DIR OUT: the members of DIR in their order, ckpt-end made again
repack() {
	$RECEDIT "$1" fixend "$1.order" || fail "recedit fixend $1"
	(cd "$1" && tar --format=ustar -cf - -T "$1.order") | zstd -q --check > "$2"
}
# edit DIR MEMBER ARGS...: recedit on one member
edit() {
	local d=$1 m=$2
	shift 2
	$RECEDIT "$d/$m" "$@" || fail "recedit $m $*"
}

# ---- a counter: meta/files, the executable
start_bg "$PROGS/counter" -f "$T/c.map" > "$T/c.log" 2> "$T/c.err"
pid=$BG_PID
wait_tick "$T/c.log" 3
ckpt_ok "$pid" "$T/c.tar.zst" --kill
wait_gone "$pid"
before=$(candidate_procs)

unpack "$T/c.tar.zst" "$T/fifo"
mkfifo "$T/fifo.file"
k=$($RECEDIT "$T/fifo/meta/files" find 1 "$T/c.map") || fail "no meta/files record of c.map"
edit "$T/fifo" meta/files set "$k" 1 str "$T/fifo.file"
repack "$T/fifo" "$T/fifo.tar.zst"
expect_fail_msg "not a regular file" "$RESTART" "$T/fifo.tar.zst" --detach
assert_no_new_procs "$before"
expect_fail_msg "not a regular file" "$CKPT" check "$T/fifo.tar.zst"

# A path with a ".." component (here one that leads to the very same
# file, so only the check of the path itself can refuse it).
unpack "$T/c.tar.zst" "$T/dotdot"
edit "$T/dotdot" meta/files set "$k" 1 str "$T/../${T##*/}/c.map"
repack "$T/dotdot" "$T/dotdot.tar.zst"
expect_fail_msg "invalid file record" "$RESTART" "$T/dotdot.tar.zst" --detach
assert_no_new_procs "$before"

unpack "$T/c.tar.zst" "$T/exe"
edit "$T/exe" meta/process set 0 6 str /bin/true
repack "$T/exe" "$T/exe.tar.zst"
expect_fail_msg "executable is not among the files" "$RESTART" "$T/exe.tar.zst" --detach
assert_no_new_procs "$before"

# The vDSO's record without its name (restart compared it by name: a NULL).
unpack "$T/c.tar.zst" "$T/vdso"
k=$($RECEDIT "$T/vdso/meta/vmas" find 6 '[vdso]') || fail "no [vdso] in meta/vmas"
edit "$T/vdso" meta/vmas del "$k" 6
repack "$T/vdso" "$T/vdso.tar.zst"
expect_fail_msg "invalid mapping record" "$RESTART" "$T/vdso.tar.zst" --detach
assert_no_new_procs "$before"

# oom_score_adj out of range; below restart's own without CAP_SYS_RESOURCE
# (root here may lack it): refused before anything starts, by name.
unpack "$T/c.tar.zst" "$T/oom"
edit "$T/oom" meta/process set 0 70 i32 5000
repack "$T/oom" "$T/oom.tar.zst"
expect_fail_msg "invalid oom_score_adj" "$RESTART" "$T/oom.tar.zst" --detach
assert_no_new_procs "$before"
edit "$T/oom" meta/process set 0 70 i32 -500
repack "$T/oom" "$T/oom-low.tar.zst"
capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
if [ $((0x$capeff >> 24 & 1)) = 0 ] && [ "$(cat /proc/self/oom_score_adj)" -gt -500 ]; then
	expect_fail_msg "needs CAP_SYS_RESOURCE" "$RESTART" "$T/oom-low.tar.zst" --detach
	assert_no_new_procs "$before"
else
	say "CAP_SYS_RESOURCE here: a low oom_score_adj is restored, not refused"
fi

# ---- pipefifo: pipe A (fds 3-8) holds 100000 bytes in a 256 KiB pipe
mkdir "$T/p" && chmod 755 "$T/p"
start_bg "$PROGS/pipefifo" "$T/p" > "$T/p.log" 2> "$T/p.err"
pid=$BG_PID
wait_tick "$T/p.log" 2
ckpt_ok "$pid" "$T/p.tar.zst" --kill
wait_gone "$pid"
unpack "$T/p.tar.zst" "$T/pipe"
# Its first fd (3) says 64 KiB and an fd of the same pipe (4) holds the
# 100000 bytes: the pipe made with the first fd's size cannot take them.
k=$($RECEDIT "$T/pipe/meta/fds" find 1 3) || fail "no fd 3 in meta/fds"
edit "$T/pipe" meta/fds copy "$k" 12 $((k + 1))
edit "$T/pipe" meta/fds del "$k" 12
edit "$T/pipe" meta/fds set "$k" 13 u32 65536
repack "$T/pipe" "$T/pipe.tar.zst"
before=$(candidate_procs)
expect_fail_msg "do not fit" "$RESTART" "$T/pipe.tar.zst" --detach
assert_no_new_procs "$before"

# ---- unixsock: a listener bound to $T/u/sock
mkdir "$T/u"
start_bg "$PROGS/unixsock" "$T/u" > "$T/u.log" 2> "$T/u.err"
pid=$BG_PID
wait_tick "$T/u.log" 3
ckpt_ok "$pid" "$T/u.tar.zst" --kill
wait_gone "$pid"
rm -f "$T/u/sock"
before=$(candidate_procs)

# Somebody else listens there now: restart must not take it away.
start_bg /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True); time.sleep(600)' "$T/u/sock" > "$T/py.log" 2>&1
py=$BG_PID
wait_for_line "$T/py.log" '^ready' 20
before=$(candidate_procs)
ino=$(stat -c %i "$T/u/sock")
expect_fail_msg "a socket on this host is bound to its name" "$RESTART" "$T/u.tar.zst" --detach
assert_no_new_procs "$before"
[ "$(stat -c %i "$T/u/sock" 2> /dev/null)" = "$ino" ] || fail "restart removed or replaced a live socket"
expect_fail_msg "a socket on this host is bound to its name" "$CKPT" check "$T/u.tar.zst"
kill_wait "$py"
rm -f "$T/u/sock"
before=$(candidate_procs)

# A file that is not a socket.
echo keep > "$T/u/sock"
expect_fail_msg "not a socket" "$RESTART" "$T/u.tar.zst" --detach
assert_no_new_procs "$before"
[ "$(cat "$T/u/sock")" = keep ] || fail "restart changed the file at the socket's name"
rm -f "$T/u/sock"

# Fails after the socket was bound (a damaged pages/ member): the socket
# file it made is gone again.
unpack "$T/u.tar.zst" "$T/late"
size=$(stat -c %s "$T/late/pages/00000000")
printf '\377\377\377\377' | dd of="$T/late/pages/00000000" bs=1 seek=$((size - 8)) conv=notrunc status=none
repack "$T/late" "$T/late.tar.zst"
expect_fail_msg "corrupt|crc|checksum" "$RESTART" "$T/late.tar.zst" --detach
assert_no_new_procs "$before"
[ ! -e "$T/u/sock" ] || fail "a failed restart left the socket file $T/u/sock behind"

# The image itself restores (the refusals were about the rewritten records).
restart_detach "$T/u.tar.zst"
wait_tick "$T/u.log" $(($(last_tick "$T/u.log") + 2))
[ -S "$T/u/sock" ] || fail "the restored listener has no socket file"
kill_wait "$RESTORED_PID"

# ---- AIO rings: a tail beyond the ring, a ring of another size than its
# record says; a mapping made a packet ring whose fd is no packet socket.
start_bg "$PROGS/aioring" "$T/aio.dat" > "$T/aio.log" 2>&1
pid=$BG_PID
wait_for_line "$T/aio.log" '^ready$' 10
ckpt_ok "$pid" "$T/aio.tar.zst" --kill
wait_gone "$pid"
before=$(candidate_procs)
unpack "$T/aio.tar.zst" "$T/aio"
k=$($RECEDIT "$T/aio/meta/vmas" find 6 '/[aio] (deleted)') || fail "no AIO ring in meta/vmas"
edit "$T/aio" meta/vmas set "$k" 589 u32 4000000000
repack "$T/aio" "$T/aio-tail.tar.zst"
expect_fail_msg "invalid AIO ring record" "$RESTART" "$T/aio-tail.tar.zst" --detach
assert_no_new_procs "$before"
edit "$T/aio" meta/vmas set "$k" 589 u32 0
edit "$T/aio" meta/vmas set "$k" 588 u32 255
repack "$T/aio" "$T/aio-nr.tar.zst"
expect_fail_msg "invalid AIO ring record" "$RESTART" "$T/aio-nr.tar.zst" --detach
assert_no_new_procs "$before"
edit "$T/aio" meta/vmas set "$k" 4 u32 11
edit "$T/aio" meta/vmas set "$k" 592 i32 1
repack "$T/aio" "$T/aio-pkt.tar.zst"
expect_fail_msg "invalid mapping record" "$RESTART" "$T/aio-pkt.tar.zst" --detach
assert_no_new_procs "$before"
expect_fail_msg "invalid mapping record|pages outside any saved mapping" "$CKPT" check "$T/aio-pkt.tar.zst"
pass
