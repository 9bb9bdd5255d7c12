#!/bin/bash
# ckpt info shows the frozen process of an image as ps/pmap/lsof would have
# shown it: PID, comm, exe, its thread stopped in nanosleep with a
# symbolized backtrace, [heap] and [stack] in the memory map, fd 1 on its
# log; --json holds the same (pid, comm, threads, every mapping exactly as
# /proc/PID/maps showed it just before the checkpoint); "-" reads a pipe; a
# damaged image is one error line.  ckpt -v prints each thread's backtrace.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog sleeper
command -v python3 > /dev/null || skip "no python3"

start_bg "$PROGS/sleeper" nanosleep > "$T/sleeper.log" 2> "$T/sleeper.err"
pid=$BG_PID
wait_tick "$T/sleeper.log" 2
sleep 0.3	# inside the next one-second sleep
exe=$(readlink "/proc/$pid/exe")
ppid=$(awk '{ print $4 }' "/proc/$pid/stat")
log=$(readlink "/proc/$pid/fd/1")
cp "/proc/$pid/maps" "$T/maps.before"
ckpt_ok "$pid" "$T/s.tar.zst" --kill -v
wait_gone "$pid"
img=$T/s.tar.zst

say "ckpt -v prints each thread's backtrace"
grep -Eq "^ckpt: thread $pid: #0 0x[0-9a-f]+ " "$T/ckpt.err" ||
	fail "ckpt -v printed no frame 0 for thread $pid: $(cat "$T/ckpt.err")"
grep -Eq "^ckpt: thread $pid: #[0-9]+ 0x[0-9a-f]+ (clock_)?nanosleep\+0x[0-9a-f]+ \(/" "$T/ckpt.err" ||
	fail "ckpt -v shows no nanosleep frame: $(grep 'thread' "$T/ckpt.err")"
grep -Eq "^ckpt: thread $pid: #[0-9]+ 0x[0-9a-f]+ main\+0x[0-9a-f]+ \($exe\)" "$T/ckpt.err" ||
	fail "ckpt -v shows no frame in sleeper's main: $(grep 'thread' "$T/ckpt.err")"

say "human output"
timeout 20 "$CKPT" info "$img" > "$T/info.out" 2> "$T/info.err" ||
	fail "ckpt info failed: $(cat "$T/info.err")"
[ ! -s "$T/info.err" ] || fail "ckpt info wrote on stderr: $(cat "$T/info.err")"
grep -Eq "^PID: +$pid +PPID: +$ppid " "$T/info.out" || fail "no 'PID: $pid PPID: $ppid' line: $(head -8 "$T/info.out")"
grep -Eq '^Comm: +sleeper$' "$T/info.out" || fail "no 'Comm: sleeper' line"
grep -Fxq "Exe:       $exe" "$T/info.out" || fail "no 'Exe: $exe' line"
grep -Eq "^Command: +.*sleeper nanosleep$" "$T/info.out" || fail "no command line"
grep -Eq "^  TID $pid +sleeper +in syscall [0-9]+ .* ip 0x[0-9a-f]+ +sp 0x[0-9a-f]+$" "$T/info.out" ||
	fail "no thread line for $pid in a syscall: $(grep -A3 '^Threads' "$T/info.out")"
grep -Eq '^    #[0-9]+ 0x[0-9a-f]+ (clock_)?nanosleep\+0x' "$T/info.out" ||
	fail "the backtrace has no nanosleep frame: $(sed -n '/^Threads/,/^Memory/p' "$T/info.out")"
grep -Eq '^  [0-9a-f]+-[0-9a-f]+ +rw-p +heap +[0-9]+ KiB +[0-9]+ KiB +\[heap\]$' "$T/info.out" ||
	fail "no [heap] line in the memory map"
grep -Eq '^  [0-9a-f]+-[0-9a-f]+ +rw-p +stack +[0-9]+ KiB +[0-9]+ KiB +\[stack\]$' "$T/info.out" ||
	fail "no [stack] line in the memory map"
grep -Eq "^ +1 +file +O_WRONLY[A-Z_|]* +[0-9]+ +$log$" "$T/info.out" ||
	fail "no line for fd 1 on $log: $(sed -n '/^File descriptors/,/^$/p' "$T/info.out")"
nmaps=$(wc -l < "$T/maps.before")
grep -Eq "^Memory map: $nmaps mappings" "$T/info.out" ||
	fail "expected $nmaps mappings: $(grep '^Memory map' "$T/info.out")"

say "--json"
timeout 20 "$CKPT" info --json "$img" > "$T/info.json" 2> "$T/json.err" ||
	fail "ckpt info --json failed: $(cat "$T/json.err")"
python3 -m json.tool "$T/info.json" > /dev/null 2> "$T/json.tool.err" ||
	fail "python3 -m json.tool rejects the output: $(head -3 "$T/json.tool.err")"
python3 - "$T/info.json" "$pid" "$exe" "$log" "$T/maps.before" > "$T/json.check" 2>&1 << 'EOF' ||
import json, sys
path, pid, exe, log, maps = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
j = json.load(open(path))
def want(cond, what):
    if not cond:
        print("json: " + what)
        sys.exit(1)
want(j["image"]["pid"] == pid and j["process"]["pid"] == pid, "pid is not %d" % pid)
want(j["process"]["comm"] == "sleeper", "comm %r" % j["process"]["comm"])
want(j["process"]["exe"] == exe, "exe %r" % j["process"]["exe"])
want(len(j["threads"]) == 1 and j["threads"][0]["tid"] == pid, "threads %r" %
     [t["tid"] for t in j["threads"]])
t = j["threads"][0]
want(t["state"] == "in syscall" and isinstance(t["syscall"], int), "thread state %r" % t["state"])
names = [f["function"] for f in t["backtrace"]]
want(any(n in ("nanosleep", "clock_nanosleep") for n in names), "backtrace %r" % names)
want([f["frame"] for f in t["backtrace"]] == list(range(len(names))), "frames not 0..n")
want(t["backtrace"][0]["ip"] == t["ip"], "frame 0 is not the thread's ip")
expected = []
for line in open(maps):
    start, end = line.split()[0].split("-")
    expected.append((int(start, 16), int(end, 16)))
got = [(v["start"], v["end"]) for v in j["vmas"]]
want(got == expected, "vmas differ from /proc/PID/maps:\n%r\n%r" % (got, expected))
paths = {v["path"] for v in j["vmas"]}
want("[heap]" in paths and "[stack]" in paths, "no [heap]/[stack] vma")
fd1 = [f for f in j["fds"] if f["fd"] == 1]
want(len(fd1) == 1 and fd1[0]["path"] == log, "fd 1: %r" % fd1)
print("json ok: %d vmas, %d frames" % (len(got), len(names)))
EOF
	fail "$(cat "$T/json.check")"
say "$(cat "$T/json.check")"

say "from a pipe"
# shellcheck disable=SC2002 # a pipe, not a file, on purpose
cat "$img" | timeout 20 "$CKPT" info - > "$T/pipe.out" 2> "$T/pipe.err" ||
	fail "cat IMAGE | ckpt info - failed: $(cat "$T/pipe.err")"
cmp -s "$T/info.out" "$T/pipe.out" || fail "ckpt info - from a pipe differs from ckpt info FILE"
timeout 20 "$CKPT" info --json - < "$img" > "$T/pipe.json" 2> "$T/pipe.err" ||
	fail "ckpt info --json - failed: $(cat "$T/pipe.err")"
cmp -s "$T/info.json" "$T/pipe.json" || fail "ckpt info --json - differs from the file's"

say "damaged images"
zstd -dcq "$img" > "$T/plain.tar"
vmas_block=$(member_block "$img" meta/vmas)
[ -n "$vmas_block" ] || fail "no meta/vmas member in the image"
flip_bytes "$T/plain.tar" $(((vmas_block + 1) * 512 + 40)) 2
zstd_frames < "$T/plain.tar" > "$T/vmas.tar.zst"
expect_fail_msg "corrupt" "$CKPT" info "$T/vmas.tar.zst"
expect_fail_msg "corrupt" "$CKPT" info --json "$T/vmas.tar.zst"
head -c 300 "$img" > "$T/head.tar.zst"
expect_fail_msg "truncated" "$CKPT" info "$T/head.tar.zst"
head -c 4096 /dev/urandom > "$T/random.tar.zst"
expect_fail_msg "not a ckpt image" "$CKPT" info "$T/random.tar.zst"
expect_fail_msg "no such file" "$CKPT" info "$T/nonexistent.tar.zst"
[ "$(wc -l < "$EXPECT_ERR")" = 1 ] || fail "more than one error line: $(cat "$EXPECT_ERR")"

say "usage"
timeout 10 "$CKPT" info --help > "$T/help.out" 2>&1 || fail "ckpt info --help failed"
grep -q '^Usage: ckpt info IMAGE' "$T/help.out" || fail "ckpt info --help: $(head -2 "$T/help.out")"
timeout 10 "$CKPT" info > /dev/null 2>&1
rc=$?
[ "$rc" = 2 ] || fail "ckpt info without IMAGE: exit $rc, expected 2"
pass
