#!/bin/bash
# make soak: SOAK_CYCLES (default 1000) checkpoint/restart cycles of one
# process (tests/progs/soaker: threads, a file, a socketpair, a timerfd and
# a POSIX timer), each `ckpt --kill` then `restart` (in the foreground, see
# below) under the same PID, within SOAK_SECONDS (default 1800; when
# reached, the cycles done so far are checked and the shortfall is said).
# Then nothing may have leaked:
#   in the process: its fd count, thread count, POSIX timers and VmRSS
#     (at most SOAK_RSS_KB, default 2048, above what it had after the
#     first cycles), and it still runs correctly (consecutive ticks);
#   on the host: the processes of the test (the soaker and its restart)
#     and their zombies, mounts, ckpt's and restart's temporary files
#     ($TMPDIR) and /dev/shm entries, against before.
# Each restart runs in the foreground (in the background of this shell),
# so that it reaps the process when the next ckpt --kill ends it: a
# detached one would leave that to PID 1, seconds late on some machines.
# Not part of make check (it takes minutes).
. "$(dirname "$0")/../integration/lib.sh"
need_ckpt
need_prog soaker

cycles=${SOAK_CYCLES:-1000}
limit=${SOAK_SECONDS:-1800}
rss_slack=${SOAK_RSS_KB:-2048}
# ckpt's and restart's temporary files (spooled input...) go here.
mkdir -p "$T/tmp" && export TMPDIR=$T/tmp
touch "$T/start.stamp"

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
ntimers() { grep -c '^ID:' "/proc/$1/timers" 2> /dev/null || echo 0; }
# Mount points, but those of other tests running meanwhile (their $T).
mounts() {
	awk '{ print $5 }' /proc/self/mountinfo | sort |
		grep -v -e "^${TMPDIR:-/tmp}/ckpt-" -e "^/tmp/ckpt-" -e "^/var/tmp/ckpt-"
	awk '{ print $5 }' /proc/self/mountinfo | grep -F -e "$T"
}
# Processes of this test (see lib.sh) that ckpt and restart make or keep:
# the soaker and its current restart (not the shells of this script).
ntest_procs() {
	local p
	for p in $(procs_in_test); do
		case $(cat "/proc/$p/comm" 2> /dev/null) in
		soaker | restart | ckpt) echo "$p" ;;
		esac
	done | wc -l
}
# Zombies whose parent is one of ours.
nzombies() {
	local ours p n=0
	ours=" $$ $(procs_in_test | tr '\n' ' ') "
	for p in /proc/[0-9]*/stat; do
		{ read -r line < "$p"; } 2> /dev/null || continue
		line=${line##*) }
		set -- $line
		[ "$1" = Z ] && case $ours in *" $2 "*) n=$((n + 1)) ;; esac
	done
	echo "$n"
}
nshm() { find /dev/shm -mindepth 1 -maxdepth 1 -newer "$T/start.stamp" 2> /dev/null | wc -l; }

start_bg "$PROGS/soaker" "$T" > "$T/soaker.log" 2> "$T/soaker.err"
pid=$BG_PID
wait_tick "$T/soaker.log" 5

# The process's own figures once it has been restored a few times (the
# first restore may move things: the heap of a fresh process).
warm=5
mounts > "$T/mounts.before"
start=$(date +%s)
done_cycles=0 rpid=
for ((c = 1; c <= cycles; c++)); do
	if [ $(($(date +%s) - start)) -ge "$limit" ]; then
		say "time bound reached (${limit}s): $done_cycles of $cycles cycles"
		break
	fi
	ckpt_ok "$pid" "$T/soak.tar.zst" --kill
	if [ -n "$rpid" ]; then
		wait "$rpid" 2> /dev/null	# the previous restart, its process killed
	fi
	wait_gone "$pid"
	before=$(last_tick "$T/soaker.log")
	"$RESTART" "$T/soak.tar.zst" > "$T/restart.out" 2> "$T/restart.err" < /dev/null &
	rpid=$!
	track_pid "$rpid"
	wait_until 30 eval '[ "$(last_tick "$T/soaker.log")" -gt "$before" ]' ||
		fail "cycle $c: no tick after restart: $(cat "$T/restart.err")"
	[ -e "/proc/$pid" ] || fail "cycle $c: not restored as PID $pid"
	rm -f "$T/soak.tar.zst"
	assert_no_corrupt "$T/soaker.log"
	done_cycles=$c
	if [ "$c" = "$warm" ]; then
		fds0=$(nfds "$pid") threads0=$(status_kb "$pid" Threads) timers0=$(ntimers "$pid")
		rss0=$(status_kb "$pid" VmRSS) procs0=$(ntest_procs) zombies0=$(nzombies)
		say "after $warm cycles: fds $fds0, threads $threads0, timers $timers0," \
			"VmRSS ${rss0} kB; processes of the test $procs0, their zombies $zombies0"
	fi
	[ $((c % 100)) = 0 ] && say "$c cycles ($(($(date +%s) - start))s), VmRSS $(status_kb "$pid" VmRSS) kB"
done
secs=$(($(date +%s) - start))
[ "$done_cycles" -ge "$warm" ] || fail "only $done_cycles cycles in ${secs}s"

# Still running, every tick there.
assert_progress "$T/soaker.log"
assert_ticks_consecutive "$T/soaker.log"

fds=$(nfds "$pid") threads=$(status_kb "$pid" Threads) timers=$(ntimers "$pid")
rss=$(status_kb "$pid" VmRSS) procs=$(ntest_procs) zombies=$(nzombies)
say "after $done_cycles cycles (${secs}s): fds $fds, threads $threads, timers $timers," \
	"VmRSS ${rss} kB; processes of the test $procs, their zombies $zombies"
[ "$fds" = "$fds0" ] || fail "the process's fds went from $fds0 to $fds: $(ls -l "/proc/$pid/fd")"
[ "$threads" = "$threads0" ] || fail "the process's threads went from $threads0 to $threads"
[ "$timers" = "$timers0" ] || fail "the process's POSIX timers went from $timers0 to $timers"
[ "$rss" -le $((rss0 + rss_slack)) ] || fail "the process's VmRSS grew from $rss0 kB to $rss kB"
[ "$procs" -le "$procs0" ] || fail "processes of the test went from $procs0 to $procs: $(procs_in_test | tr '\n' ' ')"
[ "$zombies" -le "$zombies0" ] || fail "zombies of the test's processes went from $zombies0 to $zombies"
new=$(mounts | sort -u | comm -13 <(sort -u "$T/mounts.before") -)
[ -z "$new" ] || fail "new mounts: $new"
left=$(find "$T/tmp" -mindepth 1 | head -5)
[ -z "$left" ] || fail "temporary files left: $left"
[ "$(nshm)" = 0 ] || fail "new entries in /dev/shm: $(find /dev/shm -mindepth 1 -maxdepth 1 -newer "$T/start.stamp")"
[ "$done_cycles" = "$cycles" ] || fail "only $done_cycles of $cycles cycles in ${secs}s (SOAK_SECONDS=$limit)"
pass
