#!/bin/bash
# tree-cow: pages a child still shares copy-on-write with its parent are
# stored once.  A Python parent fills 32 MiB with random bytes and forks
# three children, each of which then writes into every fourth page (its
# own quarter); every process checks the SHA-256 of its 32 MiB every tick.
# The image holds the parent's 32 MiB and each child's written quarter,
# not four copies (ckpt -v says how many pages each took from its parent:
# more than the three untouched quarters), and after restart every process
# finds its memory exact, its pages shared with the parent copied from the
# restored parent.  ckpt check accepts the image.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ "$(id -u)" = 0 ] || skip "needs root (page frame numbers in /proc/PID/pagemap)"

cat > "$T/cow.py" <<'PY'
import hashlib, os, sys, time
d = sys.argv[1]
N = 32 << 20
buf = bytearray(os.urandom(N))
name = "root"
for k in range(3):
    if os.fork() == 0:
        name = "kid%d" % k
        for off in range(k * 4096, N, 4 * 4096):
            buf[off:off + 16] = b"kid %d wrote here" % k
        break
want = hashlib.sha256(buf).hexdigest()
log = open(os.path.join(d, name + ".log"), "w", buffering=1)
n = 0
while True:
    n += 1
    if hashlib.sha256(buf).hexdigest() != want:
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
pass
