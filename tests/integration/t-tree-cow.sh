#!/bin/bash
# tree-cow: pages a child still shares copy-on-write with its parent are
# stored once.  A Python parent fills 32 MiB with random bytes and forks
# three children, each of which then writes into every fourth page (its
# own quarter); every process checks the SHA-256 of its 32 MiB every tick.
# The image holds the parent's 32 MiB and each child's written quarter,
# not four copies (ckpt -v says how many pages each took from its parent:
# more than the three untouched quarters), and after restart every process
# finds its memory exact, and the pages it shared with the parent shared
# with it again (each child is forked from its restored parent: the same
# page frames in both pagemaps), not copies.  ckpt check accepts the image.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ "$(id -u)" = 0 ] || skip "needs root (page frame numbers in /proc/PID/pagemap)"

cat > "$T/cow.py" <<'PY'
import ctypes, hashlib, mmap, os, signal, sys, time
d = sys.argv[1]
N = 32 << 20
buf = bytearray(os.urandom(N))
# A private file mapping, all of it written before the forks (its pages
# anonymous copies of the file's, shared by all four).
FN = 4 << 20
with open(os.path.join(d, "file.bin"), "wb") as f:
    f.write(b"\0" * FN)
f = open(os.path.join(d, "file.bin"), "r+b")
fm = mmap.mmap(f.fileno(), FN, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
f.close()
fm[:] = os.urandom(FN)
# Shared anonymous memory, whole in the children; the parent unmaps a
# page in its middle after the forks (its mapping in two, theirs one):
# each restored child keeps the two parts from the fork and maps the
# page between them from the same object.
SN = 64 * 4096
sm = mmap.mmap(-1, SN)
sm[:] = os.urandom(SN)
sm_addr = ctypes.addressof((ctypes.c_char * SN).from_buffer(sm))
name = "root"
for k in range(3):
    if os.fork() == 0:
        name = "kid%d" % k
        # What a fork from the restored parent does not give as it is:
        # a session of its own (kid0), a signal ignored (kid1: SIGUSR2).
        if k == 0:
            os.setsid()
        if k == 1:
            signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        for off in range(k * 4096, N, 4 * 4096):
            buf[off:off + 16] = b"kid %d wrote here" % k
        break
if name == "root":
    if ctypes.CDLL(None).munmap(ctypes.c_void_p(sm_addr + 10 * 4096), 4096):
        sys.exit(4)
def digest():		# (no copy: a copy would be in the image)
    h = hashlib.sha256(buf)
    h.update(fm)
    if name == "root":
        h.update(sm[:10 * 4096])
        h.update(sm[11 * 4096:])
    else:
        h.update(sm)
    return h.hexdigest()
want = digest()
if name == "root":
    open(os.path.join(d, "shmap"), "w").write("%d %d\n" % (sm_addr, SN))
    addr = ctypes.addressof((ctypes.c_char * N).from_buffer(buf))
    open(os.path.join(d, "buf"), "w").write("%d %d\n" % (addr, N))
    addr = ctypes.addressof((ctypes.c_char * FN).from_buffer(fm))
    open(os.path.join(d, "filemap"), "w").write("%d %d\n" % (addr, FN))
log = open(os.path.join(d, name + ".log"), "w", buffering=1)
n = 0
while True:
    n += 1
    if digest() != want:
        log.write("CORRUPT %s: its memory changed\n" % name)
        sys.exit(3)
    log.write("tick %d\n" % n)
    time.sleep(0.1)
PY
start_bg python3 "$T/cow.py" "$T" < /dev/null > "$T/cow.out" 2>&1
pid=$BG_PID
for n in root kid0 kid1 kid2; do wait_tick "$T/$n.log" 3; done
all="$pid $(cat /proc/"$pid"/task/*/children)"
ckpt_ok "$pid" "$T/cow.tar.zst" --kill -v
for p in $all; do wait_gone "$p"; done
shared=$(grep -c 'pages shared copy-on-write with the parent' "$T/ckpt.err")
[ "$shared" = 3 ] || fail "ckpt -v shows $shared children taking pages from their parent, not 3"
taken=$(awk '/pages shared copy-on-write with the parent/ { for (i = 1; i <= NF; i++) if ($i == "pages") { print $(i - 1); break } }' "$T/ckpt.err" | sort -n | head -1)
[ "$taken" -ge 6144 ] || fail "a child took only $taken pages from its parent (6144 untouched)"
size=$(stat -c %s "$T/cow.tar.zst")
# Random bytes do not compress: 32 MiB of the parent's, 8 MiB of each
# child's and the interpreters'; four full copies would be over 128 MiB.
[ "$size" -lt $((80 << 20)) ] || fail "the image is $size bytes: pages shared with the parent were stored again"
say "image: $size bytes; each child took at least $taken pages from its parent"
"$CKPT" check "$T/cow.tar.zst" > "$T/check.out" 2>&1 || fail "ckpt check refuses the image: $(grep -v '^OK' "$T/check.out")"
declare -A before
for n in root kid0 kid1 kid2; do before[$n]=$(last_tick "$T/$n.log"); done
restart_detach "$T/cow.tar.zst"
for n in root kid0 kid1 kid2; do
	wait_tick "$T/$n.log" $((${before[$n]} + 10))
	assert_ticks_consecutive "$T/$n.log"
done
assert_no_corrupt "$T"/*.log
# The untouched three quarters of each child's 32 MiB are its parent's
# very pages again: 6144 pages with the parent's frame numbers; so are
# the 1024 written pages of the private file mapping.
cat > "$T/same.py" <<'PY'
import struct, sys
addr, n = map(int, open(sys.argv[1]).read().split())
def frames(pid):
    with open("/proc/%s/pagemap" % pid, "rb") as f:
        f.seek(addr // 4096 * 8)
        data = f.read(n // 4096 * 8)
    return [e & ((1 << 55) - 1) if e >> 63 else None for e in struct.unpack("%dQ" % (n // 4096), data)]
root = frames(sys.argv[2])
for kid in sys.argv[3:]:
    print(sum(1 for a, b in zip(root, frames(kid)) if a is not None and a == b))
PY
kids=$(cat /proc/"$pid"/task/*/children)
[ "$(echo "$kids" | wc -w)" = 3 ] || fail "the restored parent has not 3 children: $kids"
# One child (kid0) leads a session of its own again, one (kid1) alone
# ignores SIGUSR2, in its parent's session.
usr2=$((1 << (12 - 1)))
leaders=0 ignoring=0
sid_of() { ps -o sid= -p "$1" | tr -d ' '; }
ignores_usr2() { [ $((16#$(awk '/^SigIgn:/ { print $2 }' /proc/"$1"/status) & usr2)) != 0 ]; }
! ignores_usr2 "$pid" || fail "the restored parent ignores SIGUSR2"
for k in $kids; do
	[ "$(sid_of "$k")" = "$k" ] && leaders=$((leaders + 1))
	if ignores_usr2 "$k"; then
		ignoring=$((ignoring + 1))
		[ "$(sid_of "$k")" = "$(sid_of "$pid")" ] || fail "child $k is not in its parent's session"
	fi
done
[ "$leaders" = 1 ] && [ "$ignoring" = 1 ] ||
	fail "after restart $leaders children lead a session (1 did) and $ignoring ignore SIGUSR2 (1 did)"
python3 "$T/same.py" "$T/buf" "$pid" $kids > "$T/same.out" || fail "reading the pagemaps failed"
while read -r same; do
	[ "$same" -ge 6144 ] || fail "a restored child shares only $same pages with its parent (6144 untouched): $(tr '\n' ' ' < "$T/same.out")"
done < "$T/same.out"
python3 "$T/same.py" "$T/filemap" "$pid" $kids > "$T/same-file.out" || fail "reading the pagemaps failed"
while read -r same; do
	[ "$same" -ge 1024 ] || fail "a restored child shares only $same pages of the private file mapping with its parent (1024): $(tr '\n' ' ' < "$T/same-file.out")"
done < "$T/same-file.out"
# The shared memory is one object again: each child maps the parent's
# frames, but for the page the parent unmapped (63 of 64).
python3 "$T/same.py" "$T/shmap" "$pid" $kids > "$T/same-shm.out" || fail "reading the pagemaps failed"
while read -r same; do
	[ "$same" = 63 ] || fail "a restored child shares $same pages of the shared mapping with its parent (63): $(tr '\n' ' ' < "$T/same-shm.out")"
done < "$T/same-shm.out"
say "after restart each child shares $(tr '\n' ' ' < "$T/same.out")pages with its parent, and $(tr '\n' ' ' < "$T/same-file.out")of the file mapping"
pass
