#!/bin/bash
# A file the process was reading (open read-only) that changed since the
# checkpoint: restart refuses, naming the fd, the file and the size change,
# and leaves nothing running; with --allow-changed-files it restarts.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog files

seq 1 1000 | sed 's/^/line /' > "$T/input.txt"
start_bg "$PROGS/files" "$T/input.txt" "$T/out.txt" "$T/app.txt" > "$T/f.log" 2> "$T/f.err"
pid=$BG_PID
wait_tick "$T/f.log" 3
ckpt_ok "$pid" "$T/f.tar.zst" --kill
wait_gone "$pid"
echo "one more line" >> "$T/input.txt"
expect_fail_msg "changed since the checkpoint" "$RESTART" "$T/f.tar.zst" --detach
grep -q "input.txt" "$EXPECT_ERR" || fail "the message does not name the file: $(cat "$EXPECT_ERR")"
[ ! -e "/proc/$pid" ] || fail "a process was left running"
restart_detach "$T/f.tar.zst" --allow-changed-files
last=$(last_tick "$T/f.log")
wait_tick "$T/f.log" $((last + 2))
pass
