#!/bin/bash
# A process whose main thread called pthread_exit while its threads run on
# (tests/progs/leaderexit: a ticker and a thread in pause()): checkpointed
# with --kill and restarted in the foreground.  The ticks go on from where
# they were, the restored leader is a zombie thread again with the same
# live threads, and restart exits with the status the ticker chooses (3,
# after tick 60).  Then once more with --detach, ended by SIGTERM; and
# hostile images (an exited thread other than the leader, exited = 2,
# an exited leader with registers, one without them not exited: what an
# older restart sees) are refused before anything is created.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog leaderexit

# thread_state PID TID: the state letter of that thread.
thread_state() { awk '{ print $3 }' "/proc/$1/task/$2/stat" 2> /dev/null; }
tids_of() { find "/proc/$1/task" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -n | tr "\n" " "; }
# shellcheck disable=SC2317 # called through wait_until
leader_gone() { [ "$(thread_state "$1" "$1")" = Z ]; }
# shellcheck disable=SC2317
restored() { [ -e "/proc/$1/task" ]; }

say "foreground restart, exit status 3 chosen by a thread"
log=$T/leaderexit.log
start_bg "$PROGS/leaderexit" -n 60 -s 3 > "$log" 2> "$T/leaderexit.err"
pid=$BG_PID
wait_tick "$log" 3
wait_until 5 leader_gone "$pid" || fail "leaderexit's main thread did not exit"
before=$(tids_of "$pid")
[ "$(echo "$before" | wc -w)" = 3 ] || fail "expected 3 threads (a zombie leader, 2 live), got: $before"
ckpt_ok "$pid" "$T/leader.tar.zst" --kill
wait_gone "$pid"
last=$(last_tick "$log")
[ "$last" -lt 50 ] || fail "leaderexit reached tick $last before the checkpoint"

"$RESTART" "$T/leader.tar.zst" > "$T/restart.out" 2> "$T/restart.err" &
restart_pid=$!
wait_until 10 restored "$pid" || fail "no restored process $pid"
track_pid "$pid"
wait_tick "$log" $((last + 3))
[ "$(thread_state "$pid" "$pid")" = Z ] ||
	fail "the restored leader is in state '$(thread_state "$pid" "$pid")', not a zombie thread"
after=$(tids_of "$pid")
[ "$after" = "$before" ] || fail "threads differ after restart: before '$before' after '$after'"
grep -q "^Threads:[[:space:]]*3\$" "/proc/$pid/status" || fail "/proc/$pid/status: $(grep Threads "/proc/$pid/status")"
for tid in $after; do
	[ "$tid" = "$pid" ] && continue
	st=$(thread_state "$pid" "$tid")
	case $st in
	R | S) ;;
	*) fail "thread $tid of the restored process is in state '$st'" ;;
	esac
done
wait "$restart_pid"
rc=$?
[ "$rc" = 3 ] || fail "restart exited $rc, expected the program's 3: $(cat "$T/restart.err")"
assert_ticks_consecutive "$log" 60
[ "$(last_tick "$log")" = 60 ] || fail "last tick is $(last_tick "$log"), expected 60"
wait_gone "$pid"
say "resumed at tick $((last + 1)), exited 3 at tick 60"

say "restart --detach, then SIGTERM"
log=$T/leaderexit2.log
start_bg "$PROGS/leaderexit" > "$log" 2> "$T/leaderexit2.err"
pid=$BG_PID
wait_tick "$log" 3
wait_until 5 leader_gone "$pid" || fail "leaderexit's main thread did not exit"
ckpt_ok "$pid" "$T/leader2.tar.zst"
assert_progress "$log"
kill_wait "$pid"
restart_detach "$T/leader2.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
assert_progress "$log"
[ "$(thread_state "$pid" "$pid")" = Z ] || fail "the restored leader is not a zombie thread"
kill -TERM "$pid"
wait_gone "$pid"

# Images are untrusted: an exited thread other than the leader, a leader
# exited with no thread left, an exited value other than 0 or 1.
if command -v zstd > /dev/null; then
	say "hostile thread_rec.exited"
	RECEDIT="/usr/bin/python3 $ROOT/tests/integration/recedit.py"
	# hostile NAME REC VALUE [recedit args...]: leader2's image, exited of
	# thread REC = VALUE, and more edits of meta/threads
	hostile() {
		{ mkdir "$T/$1" && (cd "$T/$1" && tar --zstd -xf "$T/leader2.tar.zst"); } ||
			fail "cannot unpack leader2.tar.zst"
		tar --zstd -tf "$T/leader2.tar.zst" > "$T/$1.order"
		$RECEDIT "$T/$1/meta/threads" set "$2" 530 u32 "$3" || fail "recedit $*"
		[ $# -le 3 ] || $RECEDIT "$T/$1/meta/threads" "${@:4}" || fail "recedit $*"
		$RECEDIT "$T/$1" fixend "$T/$1.order" || fail "recedit fixend"
		(cd "$T/$1" && tar --format=ustar -cf - -T "$T/$1.order") | zstd -q --check > "$T/$1.tar.zst"
	}
	"$CKPT" check "$T/leader2.tar.zst" > "$T/check.out" 2>&1 || fail "ckpt check refused a good image: $(cat "$T/check.out")"
	before=$(candidate_procs)
	hostile other 1 1
	expect_fail_msg "exited thread other than a leader" "$RESTART" "$T/other.tar.zst" --detach
	hostile two 0 2
	expect_fail_msg "exited thread other than a leader" "$RESTART" "$T/two.tar.zst" --detach
	hostile regs 0 1 copy 1 2 0
	expect_fail_msg "invalid record of an exited leader" "$RESTART" "$T/regs.tar.zst" --detach
	hostile unexited 0 0
	expect_fail_msg "invalid thread record" "$RESTART" "$T/unexited.tar.zst" --detach
	assert_no_new_procs "$before"
else
	say "zstd is not installed: hostile images skipped"
fi
pass
