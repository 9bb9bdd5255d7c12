#!/bin/bash
# Migration through a pipe on one host with an image far larger than a pipe
# buffer (64 MiB of data): restart has read the metadata while ckpt is still
# streaming pages and the original still holds the PID.  restart must let
# ckpt finish (spooling the stream) and end the original, then reclaim the
# PID; the memory checksum is the same after the move.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog bigmem

start_bg "$PROGS/bigmem" 64 -i 200 > "$T/big.log" 2> "$T/big.err"
pid=$BG_PID
wait_for_line "$T/big.log" '^ready ' 20
sum=$(awk '/^ready / { print $2 }' "$T/big.log")

pipe_migrate "$pid"
sums_before=$(count_lines "$T/big.log" '^sum ')
# shellcheck disable=SC2317 # called through wait_until
more_sums() { [ "$(count_lines "$T/big.log" '^sum ')" -gt "$sums_before" ]; }
wait_until 10 more_sums || fail "no checksum line after restart"
grep '^sum ' "$T/big.log" | grep -qv " $sum\$" && fail "checksum changed: $(grep '^sum ' "$T/big.log" | sort -u)"
pass
