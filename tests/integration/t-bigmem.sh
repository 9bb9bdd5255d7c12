#!/bin/bash
# 1 GiB of pseudo-random memory (with zero pages in it) comes back bit for
# bit: bigmem's checksum after ckpt --kill + restart equals the one it
# computed at start.  BIGMEM_MIB overrides the size (default 1024).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog bigmem

mib=${BIGMEM_MIB:-1024}
avail_mib=$(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024))
[ "$avail_mib" -ge $((mib * 2 + 512)) ] || skip "needs $((mib * 2 + 512)) MiB of free memory, $avail_mib available"
disk_mib=$(($(df -Pk "$T" | awk 'NR == 2 { print $4 }') / 1024))
[ "$disk_mib" -ge $((mib + 256)) ] || skip "needs $((mib + 256)) MiB free in $T, $disk_mib available"
CKPT_TIMEOUT=120

log=$T/bigmem.log
start_bg "$PROGS/bigmem" "$mib" > "$log" 2> "$T/bigmem.err"
pid=$BG_PID
wait_for_line "$log" '^ready [0-9a-f]{16}$' 60
ready=$(awk '/^ready/ { print $2 }' "$log")
wait_for_line "$log" '^sum ' 10

t0=$(date +%s%N)
ckpt_ok "$pid" "$T/bigmem.tar.zst" --kill
t1=$(date +%s%N)
wait_gone "$pid" 20
size=$(stat -c %s "$T/bigmem.tar.zst")
say "ckpt of $mib MiB: $(((t1 - t0) / 1000000)) ms, image $((size >> 20)) MiB"
sums=$(count_lines "$log" '^sum ')

t0=$(date +%s%N)
restart_detach "$T/bigmem.tar.zst"
t1=$(date +%s%N)
say "restart: $(((t1 - t0) / 1000000)) ms"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"

# Two full checks after the restart.
for ((i = 0; i < 600; i++)); do
	[ "$(count_lines "$log" '^sum ')" -ge $((sums + 2)) ] && break
	assert_no_corrupt "$log"
	proc_alive "$pid" || fail "restored bigmem died"
	sleep 0.1
done
assert_no_corrupt "$log"
[ "$(count_lines "$log" '^sum ')" -ge $((sums + 2)) ] || fail "no checksum printed within 60 s after restart"
other=$(grep '^sum ' "$log" | grep -v "^sum $ready\$" | head -n1)
[ -z "$other" ] || fail "checksum changed: ready $ready, then '$other'"
say "checksum $ready before and after"
pass
