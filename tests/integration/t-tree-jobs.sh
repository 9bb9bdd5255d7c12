#!/bin/bash
# tree-jobs: jobs of several processes, checkpointed with --kill in the
# middle and restarted, finish with the right result.
# - A Python multiprocessing Pool (fork, two workers) mapping over 120
#   items: its semaphores are /dev/shm/sem.* files the parent and the
#   workers map after sem_open removed them, so each must come back as one
#   file again (a copy per process would deadlock or lose results).
# - Two processes adding to a multiprocessing.Value under a Lock (the
#   value lives in a removed file of multiprocessing's heap, mapped by
#   both): the total is exact.
# - make -j2 of a small project (eight objects, each taking a while, then
#   a link step): the result is right, every object built once.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt

# checkpoint_mid NAME PID: --kill the tree of PID, restart it.
checkpoint_mid() {
	local all
	all="$2 $(cat /proc/"$2"/task/*/children)"
	ckpt_ok "$2" "$T/$1.tar.zst" --kill
	for p in $all; do wait_gone "$p"; done
	restart_detach "$T/$1.tar.zst"
}

cat > "$T/pool.py" <<'PY'
import multiprocessing as mp, sys, time
def work(x):
    time.sleep(0.05)
    return x * x
if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as pool:
        total = 0
        for i, r in enumerate(pool.imap(work, range(120))):
            total += r
            print("tick %d" % (i + 1), flush=True)
    want = sum(x * x for x in range(120))
    print("result %d" % total if total == want else "CORRUPT %d, not %d" % (total, want), flush=True)
PY
start_bg python3 "$T/pool.py" < /dev/null > "$T/pool.out" 2>&1
wait_tick "$T/pool.out" 20
checkpoint_mid pool "$BG_PID"
wait_for_line "$T/pool.out" '^result ' 60
assert_ticks_consecutive "$T/pool.out"
assert_no_corrupt "$T/pool.out"
say "ok: multiprocessing.Pool finished: $(tail -1 "$T/pool.out")"

cat > "$T/value.py" <<'PY'
import multiprocessing as mp, sys, time
def add(v, lock, n):
    for _ in range(n):
        with lock:
            v.value += 1
        time.sleep(0.002)
if __name__ == "__main__":
    mp.set_start_method("fork")
    v, lock = mp.Value("i", 0, lock=False), mp.Lock()
    ps = [mp.Process(target=add, args=(v, lock, 1500)) for _ in range(2)]
    for p in ps:
        p.start()
    t = 0
    while any(p.is_alive() for p in ps):
        t += 1
        print("tick %d" % t, flush=True)
        time.sleep(0.05)
    for p in ps:
        p.join()
    print("total %d" % v.value if v.value == 3000 else "CORRUPT total %d, not 3000" % v.value,
          flush=True)
PY
start_bg python3 "$T/value.py" < /dev/null > "$T/value.out" 2>&1
wait_tick "$T/value.out" 10
checkpoint_mid value "$BG_PID"
wait_for_line "$T/value.out" '^total ' 60
assert_no_corrupt "$T/value.out"
say "ok: a Value shared under a Lock: $(tail -1 "$T/value.out")"

command -v make > /dev/null || skip "make is not installed"
mkdir -p "$T/proj"
{
	echo 'OBJS := $(patsubst %,o%.o,1 2 3 4 5 6 7 8)'
	echo 'all: prog'
	echo 'prog: $(OBJS)'
	printf '\tcat $(OBJS) > $@.tmp && mv $@.tmp $@\n'
	echo 'o%.o:'
	printf '\techo "begin $*" >> build.log; sleep 0.4; echo "object $*" > $@; echo "end $*" >> build.log\n'
} > "$T/proj/Makefile"
(cd "$T/proj" && exec make -j2 > make.out 2>&1) &
mpid=$!
track_pid "$mpid"
wait_until 10 grep -q '^end 2$' "$T/proj/build.log" || fail "make did not start building"
checkpoint_mid make "$mpid"
wait_until 30 test -e "$T/proj/prog" || fail "make did not finish: $(cat "$T/proj/make.out")"
want=$(for i in 1 2 3 4 5 6 7 8; do echo "object $i"; done)
[ "$(cat "$T/proj/prog")" = "$want" ] || fail "prog is wrong: $(cat "$T/proj/prog")"
for i in 1 2 3 4 5 6 7 8; do
	[ "$(grep -c "^end $i$" "$T/proj/build.log")" = 1 ] || fail "object $i built $(grep -c "^end $i$" "$T/proj/build.log") times: $(cat "$T/proj/build.log")"
done
say "ok: make -j2 finished, every object built once"
pass
