#!/bin/bash
# ckpt check: the machine probe says OK for what this host has (clone3
# set_tid, process_vm_readv...) and exits 0; `ckpt check IMAGE` starts
# nothing and says whether restart would work: OK for an intact image of a
# killed process (and restart then does work), FAIL naming the holder while
# the original still runs, FAIL "changed" for a modified binary, FAIL
# "format version" for an image of another format, FAIL naming the missing
# CPU features on a CPU lacking them (simulated).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter

# check_img WANT_RC OUT ARGS...: run `ckpt check ARGS` (stdout to OUT,
# stderr to OUT.err), expect exit WANT_RC, no process started, and every
# stdout line "OK|FAIL|WARN ..."; a failure has exactly one error line.
check_img() {
	local want=$1 out=$2 rc before
	shift 2
	before=$(candidate_procs)
	timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" check "$@" > "$out" 2> "$out.err"
	rc=$?
	[ "$rc" = "$want" ] || fail "ckpt check $*: exit $rc, expected $want
$(cat "$out" "$out.err")"
	assert_no_new_procs "$before"
	if grep -Ev '^(OK|FAIL|WARN) +[^ ]' "$out" | grep -q .; then
		fail "ckpt check $*: unexpected lines: $(grep -Ev '^(OK|FAIL|WARN) ' "$out")"
	fi
	if [ "$want" = 0 ]; then
		! grep -q '^FAIL' "$out" || fail "ckpt check $* exited 0 with: $(grep '^FAIL' "$out")"
		[ ! -s "$out.err" ] || fail "ckpt check $* wrote on stderr: $(cat "$out.err")"
	else
		grep -q '^FAIL' "$out" || fail "ckpt check $* exited $rc without a FAIL line"
		[ "$(grep -c '^ckpt: ' "$out.err")" = 1 ] ||
			fail "ckpt check $*: expected one error line, got: $(cat "$out.err")"
	fi
}

say "the machine"
timeout 60 "$CKPT" check > "$T/machine.out" 2> "$T/machine.err"
rc=$?
[ "$rc" = 0 ] || fail "ckpt check: exit $rc: $(cat "$T/machine.out" "$T/machine.err")"
grep -Eq '^OK +clone3 with set_tid' "$T/machine.out" || fail "no OK for clone3 set_tid: $(cat "$T/machine.out")"
grep -Eq '^OK +process_vm_readv' "$T/machine.out" || fail "no OK for process_vm_readv: $(cat "$T/machine.out")"
grep -Eq '^OK +ptrace SEIZE' "$T/machine.out" || fail "no OK for ptrace seize: $(cat "$T/machine.out")"
grep -Eq '^OK +/proc/PID/pagemap' "$T/machine.out" || fail "no OK for pagemap: $(cat "$T/machine.out")"
grep -Eq '^OK +vDSO layout: .*\[vdso\]' "$T/machine.out" || fail "no vDSO line: $(cat "$T/machine.out")"
bad=$(grep -Ev '^(OK      |MISSING [^:]+: ).' "$T/machine.out")
[ -z "$bad" ] || fail "ckpt check printed lines that are neither OK nor MISSING: $bad"
[ "$(wc -l < "$T/machine.out")" -ge 15 ] || fail "only $(wc -l < "$T/machine.out") features probed"
say "$(grep -c '^OK' "$T/machine.out") OK, $(grep -c '^MISSING' "$T/machine.out") missing"
timeout 10 "$CKPT" check --help > "$T/help.out" 2>&1 || fail "ckpt check --help failed"
grep -q '^Usage: ckpt check' "$T/help.out" || fail "ckpt check --help: $(head -2 "$T/help.out")"

say "PID in use: the original still runs"
start_bg "$PROGS/counter" -f "$T/c.map" > "$T/c.log" 2> "$T/c.err"
pid=$BG_PID
wait_tick "$T/c.log" 3
ckpt_ok "$pid" "$T/c.tar.zst"
check_img 1 "$T/inuse.out" "$T/c.tar.zst"
grep -Eq "^FAIL +PID $pid in use by 'counter'" "$T/inuse.out" ||
	fail "no FAIL line naming counter as the holder of $pid: $(cat "$T/inuse.out")"
grep -q "in use" "$T/inuse.out.err" || fail "the error line does not say 'in use': $(cat "$T/inuse.out.err")"
grep -Eq '^OK +executable and [0-9]+ mapped files? identical' "$T/inuse.out" ||
	fail "no OK for the files: $(cat "$T/inuse.out")"
check_img 0 "$T/newpid.out" "$T/c.tar.zst" --any-pid
assert_running "$pid" "original"
assert_not_stopped "$pid" "original"

say "intact image of a killed process"
kill_wait "$pid"
check_img 0 "$T/ok.out" "$T/c.tar.zst"
for what in "image complete and undamaged" "executable and [0-9]+ mapped files? identical" \
	"CPU features" "vDSO identical" "PID $pid free" "privileges"; do
	grep -Eq "^OK +$what" "$T/ok.out" || fail "no 'OK $what' line: $(cat "$T/ok.out")"
done
say "from a pipe"
timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" check - < "$T/c.tar.zst" > "$T/pipe.out" 2>&1 ||
	fail "ckpt check - failed: $(cat "$T/pipe.out")"
cmp -s "$T/ok.out" "$T/pipe.out" || fail "ckpt check - differs from ckpt check FILE"
# What check promised, restart keeps.
restart_detach "$T/c.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
assert_progress "$T/c.log"
kill_wait "$pid"

say "damaged page data"
zstd -dcq "$T/c.tar.zst" > "$T/plain.tar"
pages_block=$(member_block "$T/c.tar.zst" pages/00000000)
[ -n "$pages_block" ] || fail "no pages/00000000 member in the image"
flip_bytes "$T/plain.tar" $(((pages_block + 1) * 512 + 3000)) 4
zstd_frames < "$T/plain.tar" > "$T/pages.tar.zst"
check_img 1 "$T/pages.out" "$T/pages.tar.zst"
grep -Eq '^FAIL .*pages/00000000.*corrupt' "$T/pages.out" || fail "no FAIL for the damaged pages: $(cat "$T/pages.out")"

say "unknown format version"
start_bg "$PROGS/counter" -f "$T/v.map" > "$T/v.log" 2> "$T/v.err"
vpid=$BG_PID
wait_tick "$T/v.log" 2
CKPT_TEST_FORMAT_VERSION=99 ckpt_ok "$vpid" "$T/v99.tar.zst" --kill
wait_gone "$vpid"
check_img 1 "$T/v99.out" "$T/v99.tar.zst"
grep -Eq '^FAIL .*format version' "$T/v99.out" || fail "no FAIL for the format version: $(cat "$T/v99.out")"
grep -q 'format version' "$T/v99.out.err" || fail "the error line does not say 'format version'"

say "modified binary"
mkdir "$T/bin"
cp "$PROGS/counter" "$T/bin/counter-copy"
start_bg "$T/bin/counter-copy" -f "$T/m.map" > "$T/m.log" 2> "$T/m.err"
mpid=$BG_PID
wait_tick "$T/m.log" 2
ckpt_ok "$mpid" "$T/m.tar.zst" --kill
wait_gone "$mpid"
check_img 0 "$T/m-ok.out" "$T/m.tar.zst"
printf x >> "$T/bin/counter-copy"
check_img 1 "$T/m.out" "$T/m.tar.zst"
grep -Eq "^FAIL .*$T/bin/counter-copy.*changed" "$T/m.out" ||
	fail "no FAIL saying counter-copy changed: $(cat "$T/m.out")"
grep -q 'changed' "$T/m.out.err" || fail "the error line does not say 'changed': $(cat "$T/m.out.err")"

say "a CPU lacking features (simulated)"
# CKPT_TEST_HIDE_CPU_FEATURES hides CPUID leaf 7 EBX (bmi1, avx2, avx512f...).
if grep -m1 '^flags' /proc/cpuinfo | grep -Eqw 'bmi1|avx2|bmi2|erms|avx512f|adx|sha_ni'; then
	CKPT_TEST_HIDE_CPU_FEATURES=1 check_img 1 "$T/cpu.out" "$T/c.tar.zst"
	grep -Eq '^FAIL .*CPU features \(missing: [a-z0-9]' "$T/cpu.out" ||
		fail "no FAIL naming missing CPU features: $(cat "$T/cpu.out")"
	grep -q 'lacks features' "$T/cpu.out.err" || fail "error line: $(cat "$T/cpu.out.err")"
	say "$(grep -m1 '^FAIL' "$T/cpu.out" | cut -c1-120)"
else
	say "this CPU has no leaf-7 EBX feature to hide: skipped"
fi

say "usage"
timeout 10 "$CKPT" check a b > /dev/null 2>&1
rc=$?
[ "$rc" = 2 ] || fail "ckpt check a b: exit $rc, expected 2"
pass
