#!/bin/bash
# postgres: Debian's PostgreSQL (a postmaster and its background workers
# sharing a System V segment, 16 MiB of shared anonymous memory and a
# POSIX shared memory file; pipes and sockets between them) with a client
# connected over TCP is checkpointed live (it goes on, no backend lost),
# then with --kill; its segment is removed
# (as on another host) and the tree restarted: the old connection answers
# a query, a new one inserts and reads, the data is intact.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
[ "$(id -u)" = 0 ] || skip "needs root (to run PostgreSQL as user postgres)"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/postgres" ] || skip "PostgreSQL is not installed"
id postgres > /dev/null 2>&1 || skip "no user postgres"
command -v setpriv > /dev/null || skip "setpriv is not installed"
[ -w /proc/sys/kernel/shm_next_id ] || skip "needs CONFIG_CHECKPOINT_RESTORE"

as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
chmod 755 "$T"
mkdir "$T/pg" && chown postgres: "$T/pg" || fail "cannot make $T/pg"
port=$(free_port)
psql_new() { timeout 20 "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -At -X "$@"; }
segs=
pg_rm() {
	local s
	for s in $segs; do ipcrm -m "$s" 2>/dev/null; done
	return 0
}

timeout 120 "${as_pg[@]}" "$PGBIN/initdb" -D "$T/pg/data" -A trust -U postgres > "$T/initdb.log" 2>&1 ||
	fail "initdb failed: $(tail -5 "$T/initdb.log")"
# Keep the server's dynamic shared memory in files of its own directory
# (dynamic_shared_memory_type=mmap: $PGDATA/pg_dynshmem), not /dev/shm.
start_bg "${as_pg[@]}" "$PGBIN/postgres" -D "$T/pg/data" -p "$port" -k "$T/pg" \
	-c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c dynamic_shared_memory_type=mmap \
	-c logging_collector=off < /dev/null > "$T/pg.log" 2>&1
pm=$BG_PID
trap 'rc=$?; pg_rm; (exit $rc); _cleanup' EXIT
pg_up() { psql_new -c "select 1" > /dev/null 2>&1; }
wait_until 60 pg_up || fail "PostgreSQL did not start: $(tail -5 "$T/pg.log")"
segs=$(awk -v p="$pm" 'NR > 1 && $5 == p { print $2 }' /proc/sysvipc/shm)
[ -n "$segs" ] || fail "PostgreSQL made no System V segment"
psql_new -c "create table t (x int); insert into t select generate_series(1, 1000);" > /dev/null ||
	fail "cannot create the table"

# The client: psql fed through a FIFO, its connection open across the checkpoint.
hold_fifo "$T/q"
start_bg "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -At -X < "$T/q" > "$T/client.out" 2>&1
echo "select 'before', count(*) from t;" > "$T/q"
wait_for_line "$T/client.out" '^before\|1000$' 20
wait_tcp_acked "$port"
all="$pm $(cat /proc/"$pm"/task/*/children)"
say "tree: $all; segments: $segs"

# A live checkpoint first: the server goes on as if nothing happened.  Its
# processes' copy-on-write copies must not look like children of theirs
# that died (the postmaster would take one for a crashed backend and end
# every connection), nor stay as zombies.
ckpt_ok "$pm" "$T/live.tar.zst"
echo "select 'live', count(*) from t;" > "$T/q"
wait_for_line "$T/client.out" '^live\|1000$' 20
grep -i "terminated by signal\|crash of another" "$T/pg.log" &&
	fail "a live checkpoint made the postmaster restart its backends"
for p in $(cat /proc/"$pm"/task/*/children); do
	[ -z "$(cat /proc/"$p"/task/*/children)" ] || fail "process $p keeps a child: $(cat /proc/"$p"/task/*/children)"
done
rm -f "$T/live.tar.zst"

ckpt_ok "$pm" "$T/pg.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
pg_rm	# as on a fresh host: the killed server's segment is left behind

restart_detach "$T/pg.tar.zst"
echo "select 'after', count(*), max(x) from t;" > "$T/q"
wait_for_line "$T/client.out" '^after\|1000\|1000$' 20
out=$(psql_new -c "insert into t values (5000); select 'new', count(*), max(x) from t;" 2>&1) ||
	fail "a new connection fails after restart: $out"
[ "$(echo "$out" | tail -1)" = "new|1001|5000" ] || fail "new connection: got '$out'"
echo "select 'again', count(*) from t;" > "$T/q"
wait_for_line "$T/client.out" '^again\|1001$' 20
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$T/pg/data" stop -m fast -t 30 > "$T/stop.log" 2>&1 ||
	fail "the restored server does not stop cleanly: $(cat "$T/stop.log")"
pass
