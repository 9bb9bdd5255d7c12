#!/bin/bash
# Credentials come back per thread: a counter running as nobody (uid/gid
# 65534, no groups), a multi-threaded process as nobody (every thread), and
# a root process with a reduced bounding set, inheritable and ambient
# capabilities, and a process whose filesystem ids (setfsuid/setfsgid)
# differ from its effective ids.  /proc/PID/task/*/status shows the same Uid/Gid/Groups/Cap*
# lines after restart as before.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter threads fsids
command -v setpriv > /dev/null || skip "setpriv (util-linux) missing"
chmod 755 "$T"

creds() {
	local p=$1 task
	for task in /proc/"$p"/task/*; do
		grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "$task/status" |
			tr -s ' \t' ' '
	done
}

check_roundtrip() {
	local name=$1 pid before after
	shift
	say "$name"
	mkdir -p "$T/$name" && chmod 777 "$T/$name"
	start_bg "$@" > "$T/$name/log" 2> "$T/$name/err"
	pid=$BG_PID
	wait_tick "$T/$name/log" 3 || true
	wait_for_line "$T/$name/log" '^tick 2' 20
	before=$(creds "$pid")
	ckpt_ok "$pid" "$T/$name/img.tar.zst" --kill
	wait_gone "$pid"
	restart_detach "$T/$name/img.tar.zst"
	after=$(creds "$pid")
	[ "$after" = "$before" ] || fail "$name: credentials differ after restart:
before:
$before
after:
$after"
	assert_no_corrupt "$T/$name/log"
	kill_wait "$pid"
}

check_roundtrip nobody setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$PROGS/counter" -f "$T/nobody/c.map"
check_roundtrip nobody-threads setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$PROGS/threads" -n 2 -i 50
check_roundtrip caps setpriv --bounding-set=-net_raw,-sys_time --inh-caps=+net_bind_service \
	--ambient-caps=+net_bind_service -- "$PROGS/counter" -f "$T/caps/c.map"
check_roundtrip fsids "$PROGS/fsids" 1 2 3 3 5 6 7 8
pass
