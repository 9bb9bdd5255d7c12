#!/bin/bash
# An sqlite3 shell session: a TEMP table in an in-memory database, fed
# through a pipe, is checkpointed with --kill while sqlite3 waits for input;
# restarted with --stdin FILE, the same session answers queries on the data
# it had, takes more statements and exits at the end of its new input.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
SQLITE=$(command -v sqlite3) || skip "sqlite3 is not installed"

hold_fifo "$T/in1"
start_bg "$SQLITE" :memory: < <(exec cat "$T/in1") > "$T/sqlite.log" 2> "$T/sqlite.err"
pid=$BG_PID
cat > "$T/in1" <<'SQL'
CREATE TEMP TABLE t(x INTEGER, s TEXT);
INSERT INTO t VALUES (1, 'one'), (2, 'two'), (42, 'answer');
SELECT 'ready', count(*), sum(x) FROM t;
SQL
wait_for_line "$T/sqlite.log" '^ready\|3\|45$' 10
# shellcheck disable=SC2317 # called through wait_until
in_read() { [ "$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)" = 0 ]; }
wait_until 5 in_read || fail "sqlite3 is not waiting in read(2)"

ckpt_ok "$pid" "$T/sqlite.tar.zst" --kill
wait_gone "$pid"

cat > "$T/in2.sql" <<'SQL'
SELECT 'after', count(*), sum(x), group_concat(s) FROM t;
INSERT INTO t VALUES (100, 'more');
SELECT 'total', sum(x) FROM t;
SQL
restart_detach "$T/sqlite.tar.zst" --stdin "$T/in2.sql"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_for_line "$T/sqlite.log" '^after\|3\|45\|one,two,answer$' 10
wait_for_line "$T/sqlite.log" '^total\|145$' 10
# End of the new input: sqlite3 exits by itself.
wait_gone "$pid" 10
[ ! -s "$T/sqlite.err" ] || fail "sqlite3 wrote on stderr: $(cat "$T/sqlite.err")"
pass
