#!/bin/bash
# tree-pipeline: a shell pipeline, unmodified bash, perl and cat: a bash that
# runs `producer | cat | cat > out`, the producer a perl counting into
# the pipe.  After ckpt --kill and restart the whole pipeline is back
# (bash waiting for its children, the pipes with what was in flight) and
# the numbers in out go on without one lost or repeated.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt

command -v perl > /dev/null || skip "no perl"
start_bg bash -c 'perl -e '\''$| = 1; for ($i = 1;; $i++) { print "$i\n"; select(undef, undef, undef, 0.02) }'\'' | cat | cat > "$1"' _ "$T/out" \
	< /dev/null > /dev/null 2> "$T/pipeline.err"
pid=$BG_PID
wait_until 10 test -s "$T/out" || fail "the pipeline wrote nothing"
sleep 0.3
all="$pid $(cat /proc/"$pid"/task/*/children)"
say "pipeline: $all"

ckpt_ok "$pid" "$T/pipe.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
n=$(wc -l < "$T/out")
restart_detach "$T/pipe.tar.zst"
# shellcheck disable=SC2317 # called through wait_until
grown() { [ "$(wc -l < "$T/out")" -gt $((n + 20)) ]; }
wait_until 10 grown || fail "the pipeline does not go on after restart"
err=$(awk '$1 != NR { printf "line %d is \"%s\"", NR, $0; exit }' "$T/out")
[ -z "$err" ] || fail "numbers lost or repeated across the restart: $err"
for p in $all; do proc_alive "$p" || fail "process $p of the pipeline is not back"; done
say "went on from $n to $(wc -l < "$T/out") lines"
pass
