# shellcheck shell=bash
# Shared helpers for the integration tests (tests/integration/t-*.sh).
#
# A test sources this file, starts its programs with start_bg, checkpoints
# and restarts them with ckpt_ok / restart_detach, checks with the assert_*
# helpers and ends with `pass`.  Every wait is bounded.  On exit (pass, fail,
# skip, error or signal) every process the test started is killed: the PIDs
# it tracked, any process carrying this test's CKPT_TEST_TAG in its
# environment (everything started from the test, restart's clones and the
# processes it restores), and any process that still holds a file of the
# test's temporary directory $T open or mapped.  Keep no descriptor into $T
# open in the test shell itself (use hold_fifo): its children would inherit
# it.
#
# Exit status: 0 pass, 1 fail, 77 skip.  Set CKPT_KEEP_TMP=1 to keep $T.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CKPT=${CKPT:-$ROOT/bin/ckpt}
RESTART=${RESTART:-$ROOT/bin/restart}
PROGS=$ROOT/tests/progs
TEST_NAME=$(basename "$0" .sh)
# Bound on every ckpt/restart call (seconds); big images get more.
CKPT_TIMEOUT=${CKPT_TIMEOUT:-30}

PIDS=()			# processes to kill on exit
MOUNTS=()		# mount points to unmount on exit
_EXPECT_N=0
_RESTART_N=0

say() { printf '# %s\n' "$*"; }

# Close descriptors inherited from whoever ran us (a harness, make, CI):
# a stray pipe at fd 3+ would be inherited by the test programs and make
# them uncheckpointable.  255 is bash's own script descriptor.
_close_stray_fds() {
	local f n
	for f in "/proc/$BASHPID/fd"/*; do
		n=${f##*/}
		if [ "$n" -gt 2 ] && [ "$n" -ne 255 ]; then
			eval "exec $n>&-" 2>/dev/null
		fi
	done
	return 0
}
_close_stray_fds

T=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-$TEST_NAME.XXXXXX") || {
	echo "FAIL: $TEST_NAME: cannot create a temporary directory"
	exit 1
}

# Every process started from here on inherits this tag in its environment,
# and so does anything restart creates (a clone of restart) or restores (the
# environment of a checkpointed test program): that is how the processes of
# this test are told from those of other tests running at the same time.
export CKPT_TEST_TAG="$T"
# Dirty-page tracking state (ckpt --track, ckpt snapshot) stays in the test.
export CKPT_TRACK_DIR="$T/track"

# PIDs of the processes of this test (other than this shell): those with the
# tag in their environment, or mapping a file under $T, or having one open
# (as an fd or as their cwd).
procs_in_test() {
	local me=$BASHPID
	{
		grep -lsF -- "CKPT_TEST_TAG=$T" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
		grep -lsF -- "$T/" /proc/[0-9]*/maps 2>/dev/null | cut -d/ -f3
		find /proc/[0-9]*/fd /proc/[0-9]*/cwd -maxdepth 1 \
			\( -lname "$T/*" -o -lname "$T" \) 2>/dev/null | cut -d/ -f3
	} | sort -un | while read -r p; do
		[ "$p" = "$$" ] || [ "$p" = "$me" ] || echo "$p"
	done
}

track_pid() {
	local p
	for p in "$@"; do
		case $p in '' | *[!0-9]*) continue ;; esac
		PIDS+=("$p")
	done
}

_cleanup() {
	local rc=$? p m i
	trap - EXIT HUP INT TERM
	set +e
	for p in "${PIDS[@]}" $(procs_in_test); do
		[ -e "/proc/$p" ] && kill -KILL "$p" 2>/dev/null
	done
	# Second pass for anything that was being started meanwhile.
	for p in $(procs_in_test); do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for ((i = 0; i < 40; i++)); do
			[ -e "/proc/$p" ] || break
			[ "$(proc_state "$p")" = Z ] && break
			sleep 0.05
		done
	done
	wait 2>/dev/null	# reap our own children (all were killed)
	for m in "${MOUNTS[@]}"; do
		umount -l "$m" 2>/dev/null
	done
	if [ "${CKPT_KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Show the end of every log of the test, for a failure report.
dump_logs() {
	local f
	for f in "$T"/*.log "$T"/*.out "$T"/*.err; do
		[ -s "$f" ] || continue
		echo "---- ${f#"$T"/} (last 15 lines)"
		tail -n 15 "$f" | cut -c1-300
	done
}

fail() {
	echo "FAIL: $TEST_NAME: $*"
	dump_logs
	exit 1
}

pass() {
	echo "PASS: $TEST_NAME"
	exit 0
}

skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

need_ckpt() {
	[ -x "$CKPT" ] || fail "$CKPT is not built (run make)"
	[ -x "$RESTART" ] || fail "$RESTART is not built (run make)"
}

need_prog() {
	local p
	for p in "$@"; do
		[ -x "$PROGS/$p" ] || fail "$PROGS/$p is not built (run make)"
	done
}

# start_bg CMD [ARGS...]: run CMD in the background with the caller's
# redirections (stdin included) and no other inherited descriptor; its PID
# is left in BG_PID and tracked.  Example:
#   start_bg "$PROGS/counter" -f "$T/c.map" > "$T/c.log" 2> "$T/c.err"
start_bg() {
	_exec_clean "$@" 0<&0 &
	BG_PID=$!
	track_pid "$BG_PID"
}

_exec_clean() {
	_close_stray_fds
	exec "$@"
}

# hold_fifo PATH: create a FIFO and keep it open read-write in a helper
# process, so that openers on either side never block and lines written with
# `echo x > PATH` wait in the pipe until a reader takes them.
hold_fifo() {
	mkfifo "$1" || fail "mkfifo $1"
	start_bg sleep 100000 <> "$1"
}

# Process state letter from /proc/PID/stat ("" if gone).
proc_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

proc_alive() {
	local s
	s=$(proc_state "$1")
	[ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

proc_dead() {
	! proc_alive "$1"
}

proc_comm() {
	cat "/proc/$1/comm" 2>/dev/null
}

assert_running() {
	proc_alive "$1" || fail "process $1 ${2:+($2) }is not running (state '$(proc_state "$1")')"
}

assert_not_stopped() {
	local s
	s=$(proc_state "$1")
	case $s in
	T | t) fail "process $1 ${2:+($2) }was left stopped (state $s)" ;;
	esac
}

# wait_until TIMEOUT CMD...: true as soon as CMD succeeds, false after TIMEOUT s.
wait_until() {
	local timeout=$1 i n
	shift
	n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i <= n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

_has_corrupt() {
	grep -q '^CORRUPT' "$1" 2>/dev/null
}

assert_no_corrupt() {
	local f
	for f in "$@"; do
		if _has_corrupt "$f"; then
			fail "the program detected corruption: $(grep -m1 '^CORRUPT' "$f")"
		fi
	done
}

# wait_for_line FILE REGEX [TIMEOUT=10]: wait until a line of FILE matches
# the extended REGEX; fails the test on timeout or on a CORRUPT line.
wait_for_line() {
	local file=$1 re=$2 timeout=${3:-10} i n
	n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i <= n; i++)); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		assert_no_corrupt "$file"
		sleep 0.05
	done
	fail "timed out after ${timeout}s waiting for /$re/ in ${file#"$T"/}"
}

# Number of lines of FILE matching REGEX.
count_lines() {
	grep -Ec -- "$2" "$1" 2>/dev/null || true
}

# last_tick FILE: N of the last "tick N" line (empty if none).
last_tick() {
	awk '/^tick [0-9]+/ { n = $2 } END { print n }' "$1" 2>/dev/null
}

# wait_tick FILE N [TIMEOUT]: wait until FILE has "tick M" with M >= N.
wait_tick() {
	local file=$1 want=$2 timeout=${3:-10} i n t
	n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i <= n; i++)); do
		t=$(last_tick "$file")
		[ -n "$t" ] && [ "$t" -ge "$want" ] && return 0
		assert_no_corrupt "$file"
		sleep 0.05
	done
	fail "timed out after ${timeout}s waiting for tick $want in ${file#"$T"/} (last: '${t:-none}')"
}

# assert_progress FILE [REGEX='^tick '] [TIMEOUT=5]: more lines matching
# REGEX appear in FILE within TIMEOUT seconds.
assert_progress() {
	local file=$1 re=${2:-'^tick '} timeout=${3:-5} before i n
	before=$(count_lines "$file" "$re")
	n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i <= n; i++)); do
		[ "$(count_lines "$file" "$re")" -gt "$before" ] && return 0
		assert_no_corrupt "$file"
		sleep 0.05
	done
	fail "no progress in ${file#"$T"/} for ${timeout}s (still $before lines matching /$re/)"
}

# assert_ticks_consecutive FILE [MIN_LAST]: the "tick N" lines of FILE are
# exactly 1, 2, ..., N (nothing lost, repeated or reset) and N >= MIN_LAST.
assert_ticks_consecutive() {
	local file=$1 min=${2:-1} err
	assert_no_corrupt "$file"
	err=$(awk -v min="$min" '
		/^tick [0-9]+/ {
			if ($2 != n + 1) { printf "line %d: \"%s\" after tick %d", NR, $0, n; bad = 1; exit }
			n = $2
		}
		END { if (!bad && n < min) printf "only %d ticks, expected at least %d", n, min }
	' "$file")
	[ -z "$err" ] || fail "ticks in ${file#"$T"/} are not consecutive: $err"
}

# assert_ticks_from FILE FIRST [MIN_LAST]: FILE's ticks are FIRST, FIRST+1, ...
assert_ticks_from() {
	local file=$1 first=$2 min=${3:-$2} err
	assert_no_corrupt "$file"
	err=$(awk -v first="$first" -v min="$min" '
		/^tick [0-9]+/ {
			want = seen ? n + 1 : first
			if ($2 != want) { printf "line %d: \"%s\", expected tick %d", NR, $0, want; bad = 1; exit }
			n = $2; seen = 1
		}
		END {
			if (!bad && !seen) printf "no tick at all"
			else if (!bad && n < min) printf "only up to tick %d, expected at least %d", n, min
		}
	' "$file")
	[ -z "$err" ] || fail "ticks in ${file#"$T"/} do not continue from $first: $err"
}

# wait_gone PID [TIMEOUT=10]: wait until PID has exited and been reaped
# (reaping it here if it is our child), so that its PID is free again.
wait_gone() {
	local pid=$1 timeout=${2:-10} i n
	n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i <= n; i++)); do
		[ -e "/proc/$pid" ] || return 0
		if [ "$(proc_state "$pid")" = Z ]; then
			wait "$pid" 2>/dev/null
		fi
		sleep 0.05
	done
	fail "process $pid still exists after ${timeout}s (state '$(proc_state "$pid")')"
}

kill_wait() {
	local p
	for p in "$@"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "$@"; do
		wait_gone "$p"
	done
}

# ckpt_ok PID IMAGE [OPTIONS...]: checkpoint, failing the test on error.
ckpt_ok() {
	local pid=$1 img=$2 rc
	shift 2
	timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" "$pid" -o "$img" "$@" \
		> "$T/ckpt.out" 2> "$T/ckpt.err" < /dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		[ "$rc" = 124 ] && fail "ckpt $pid timed out after ${CKPT_TIMEOUT}s: $(cat "$T/ckpt.err")"
		fail "ckpt $pid -o ${img#"$T"/} $* failed (exit $rc): $(cat "$T/ckpt.err")"
	fi
	[ "$img" = - ] || [ -s "$img" ] || fail "ckpt exited 0 but wrote no image at $img"
}

# restart_detach IMAGE [OPTIONS...]: restart --detach, leaving the restored
# PID in RESTORED_PID (tracked; it may have exited already if the program
# had little left to do).  restart's stdout/stderr go to
# $T/restart.N.out/.err; the PID is the first all-digits line of stdout.
restart_detach() {
	local img=$1 rc out err
	shift
	_RESTART_N=$((_RESTART_N + 1))
	out=$T/restart.$_RESTART_N.out
	err=$T/restart.$_RESTART_N.err
	RESTORED_PID=
	timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" "$img" --detach "$@" > "$out" 2> "$err"
	rc=$?
	RESTORED_PID=$(grep -m1 -E '^[0-9]+$' "$out")
	track_pid "$RESTORED_PID"
	if [ "$rc" != 0 ]; then
		[ "$rc" = 124 ] && fail "restart ${img#"$T"/} timed out after ${CKPT_TIMEOUT}s: $(cat "$err")"
		fail "restart ${img#"$T"/} --detach $* failed (exit $rc): $(cat "$err")"
	fi
	[ -n "$RESTORED_PID" ] ||
		fail "restart --detach printed no PID on stdout (got: '$(head -c 200 "$out")')"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pipe_migrate PID: `ckpt PID -o - --kill | restart - --detach`, failing the
# test if either side fails or the PID changes; the PID is left in
# RESTORED_PID (tracked).
pipe_migrate() {
	local pid=$1 rcs
	timeout -k 5 "$CKPT_TIMEOUT" "$CKPT" "$pid" -o - --kill 2> "$T/ckpt.err" |
		timeout -k 5 "$CKPT_TIMEOUT" "$RESTART" - --detach > "$T/restart.out" 2> "$T/restart.err"
	rcs=("${PIPESTATUS[@]}")
	RESTORED_PID=$(grep -m1 -E '^[0-9]+$' "$T/restart.out")
	track_pid "$RESTORED_PID"
	[ "${rcs[0]}" = 0 ] || fail "ckpt -o - failed (exit ${rcs[0]}): $(cat "$T/ckpt.err")"
	[ "${rcs[1]}" = 0 ] || fail "restart - failed (exit ${rcs[1]}): $(cat "$T/restart.err")"
	[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID '$RESTORED_PID', expected $pid"
}

# expect_fail_msg "TEXT[|TEXT...]" CMD [ARGS...]: run CMD (under timeout);
# it must exit non-zero (not by a signal, not by timing out), and print on
# stderr a line "PROG: ..." containing one of the TEXTs (case-insensitive),
# where PROG is ckpt or restart (the basename of CMD when it is one of them).
# stderr is left in EXPECT_ERR.
expect_fail_msg() {
	local want=$1 rc prog alt ok='' alts
	shift
	_EXPECT_N=$((_EXPECT_N + 1))
	EXPECT_ERR=$T/expect.$_EXPECT_N.stderr
	timeout -k 5 "$CKPT_TIMEOUT" "$@" > "$T/expect.$_EXPECT_N.stdout" 2> "$EXPECT_ERR"
	rc=$?
	case ${1##*/} in
	ckpt | restart) prog=${1##*/} ;;
	*) prog='(ckpt|restart)' ;;
	esac
	if [ "$rc" = 0 ]; then
		fail "expected failure with '$want' but it succeeded: $*"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "timed out after ${CKPT_TIMEOUT}s (expected failure with '$want'): $*"
	elif [ "$rc" -gt 128 ]; then
		fail "killed by signal $((rc - 128)) instead of failing cleanly with '$want': $*
stderr: $(cat "$EXPECT_ERR")"
	fi
	IFS='|' read -ra alts <<< "$want"
	[ ${#alts[@]} -gt 0 ] || alts=("")
	for alt in "${alts[@]}"; do
		if grep -E "^$prog: " "$EXPECT_ERR" | grep -qiF -- "$alt"; then
			ok=1
			break
		fi
	done
	if [ -z "$ok" ]; then
		fail "expected an error line '${prog//[()]/}: ...' containing '$want' (exit was $rc): $*
---- its stderr:
$(cat "$EXPECT_ERR")"
	fi
	say "ok: fails with: $(grep -m1 -iE "^$prog: " "$EXPECT_ERR")"
}

# A program that checks itself (tests/progs/inetsock, nlsock, pktsock...):
# it prints "ready" once its state is set up, waits for SIGUSR1, checks,
# and prints "PASS" or "CORRUPT <what>".
# selfcheck NAME PROG ARGS...: started, checkpointed with --kill,
# restarted, told to check: its verdict must be PASS.
selfcheck() {
	local name=$1
	shift
	selfcheck_saved "$name" "$@"
	restart_detach "$T/$name.tar.zst"
	selfcheck_verdict "$name" "$SELFCHECK_PID"
	grep -qx PASS "$T/$name.log" || fail "$name: $(cat "$T/$name.log")"
	say "ok: $name"
}

# Its halves, for a test that does something between them:
# selfcheck_saved NAME PROG ARGS...: started (output in $T/NAME.log),
# checkpointed with --kill into $T/NAME.tar.zst, gone; its PID in
# SELFCHECK_PID.  selfcheck_verdict NAME PID: told to check, its verdict
# is in the log.
selfcheck_saved() {
	local name=$1
	shift
	start_bg "$@" > "$T/$name.log" 2>&1
	SELFCHECK_PID=$BG_PID
	wait_for_line "$T/$name.log" '^ready$' 10
	ckpt_ok "$SELFCHECK_PID" "$T/$name.tar.zst" --kill
	wait_gone "$SELFCHECK_PID"
}

selfcheck_verdict() {
	kill -USR1 "$2"
	wait_until 10 grep -qE '^(PASS|CORRUPT|FAIL)' "$T/$1.log" ||
		fail "$1: no verdict: $(cat "$T/$1.log")"
}

# selfcheck_refused NAME MESSAGE PROG ARGS...: ckpt refuses it, saying
# MESSAGE, leaves no image, and the program, told to check, finds its
# state unharmed.
selfcheck_refused() {
	local name=$1 msg=$2 pid
	shift 2
	start_bg "$@" > "$T/$name.log" 2>&1
	pid=$BG_PID
	wait_for_line "$T/$name.log" '^ready$' 10
	expect_fail_msg "$msg" "$CKPT" "$pid" -o "$T/$name.tar.zst"
	assert_running "$pid" "target of the refused ckpt"
	[ -e "$T/$name.tar.zst" ] && fail "the refused ckpt left an image"
	kill -USR1 "$pid"
	wait_until 10 grep -qx PASS "$T/$name.log" ||
		fail "$name: the target was harmed: $(cat "$T/$name.log")"
}

# assert_target_unharmed PID LOG [IMAGE]: after a failed ckpt, the target is
# still running, not stopped, still making progress, and no image was left.
assert_target_unharmed() {
	local pid=$1 log=$2 img=${3:-} re=${4:-'^tick '}
	assert_running "$pid" "target of the failed ckpt"
	assert_not_stopped "$pid" "target of the failed ckpt"
	assert_progress "$log" "$re" 5
	assert_not_stopped "$pid" "target of the failed ckpt"
	if [ -n "$img" ] && [ "$img" != - ] && [ -e "$img" ]; then
		fail "the failed ckpt left a file at $img ($(stat -c %s "$img") bytes)"
	fi
}

# PIDs that could be a (partially) restored process of this test.
candidate_procs() {
	procs_in_test
}

# assert_no_new_procs "BEFORE": no process in candidate_procs now that was
# not in BEFORE (a list taken with candidate_procs before a failing restart).
assert_no_new_procs() {
	local before p extra='' left=()
	# shellcheck disable=SC2086 # split the list on purpose
	before=" $(printf '%s ' $1)"
	for p in $(candidate_procs); do
		case $before in *" $p "*) continue ;; esac
		proc_alive "$p" || continue
		extra="$extra $p($(proc_comm "$p"))"
		left+=("$p")
	done
	if [ -n "$extra" ]; then
		track_pid "${left[@]}"
		fail "a failed restart left process(es) behind:$extra"
	fi
}

# flip_bytes FILE OFFSET COUNT: invert COUNT bytes of FILE at OFFSET.
flip_bytes() {
	local file=$1 off=$2 count=$3 b hex=
	for b in $(od -An -tu1 -j "$off" -N "$count" -v "$file"); do
		hex="$hex\\x$(printf '%02x' $((255 - b)))"
	done
	# shellcheck disable=SC2059 # hex holds only \xNN escapes
	printf "$hex" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# Block number (512-byte units) of a member's header in an image, from tar -R.
# wait_tcp_acked PORT [TIMEOUT=5]: until every established TCP connection
# on local port PORT has all it sent acknowledged (tx_queue 0 in
# /proc/net/tcp).  Between `ckpt --kill` and restart no socket owns the
# connection, and a segment arriving then (a peer's delayed ACK) is
# answered with a reset: a test waits for quiet before checkpointing.
wait_tcp_acked() {
	local port hex i busy
	port=$1
	hex=$(printf '%04X' "$port")
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		busy=$(awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p && $4 == "01" {
			split($5, q, ":"); if (q[1] != "00000000") n++ } END { print n + 0 }' /proc/net/tcp)
		[ "$busy" = 0 ] && return 0
		sleep 0.05
	done
	fail "TCP connections on port $port still have unacknowledged data"
}

# zstd_frames: stdin compressed as independent zstd frames of 1 MiB, as
# restart reads them (it refuses a frame of more than 2 MiB), on stdout.
zstd_frames() {
	split -b 1M --filter='zstd -q -c' -
}

member_block() {
	tar --zstd -tR -f "$1" 2>/dev/null | awk -v m="$2" '$NF == m { sub(":", "", $2); print $2; exit }'
}
