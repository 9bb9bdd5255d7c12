#!/bin/bash
# A real interpreter nobody here wrote: a `perl -e` counting loop survives
# ckpt --kill + restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
PERL=$(command -v perl) || skip "perl is not installed"

# shellcheck disable=SC2016 # perl code, not shell
script='$| = 1; my $n = 0; my @a = (0); my %h = (n => 0);
while (1) {
	$n++; $a[0]++; $h{n}++;
	if ($n != $a[0] || $n != $h{n}) { print "CORRUPT $n $a[0] $h{n}\n"; exit 3 }
	print "tick $n\n";
	select(undef, undef, undef, 0.05);
}'
start_bg "$PERL" -e "$script" > "$T/perl.log" 2> "$T/perl.err"
pid=$BG_PID
wait_tick "$T/perl.log" 10

ckpt_ok "$pid" "$T/perl.tar.zst" --kill
wait_gone "$pid"
before=$(last_tick "$T/perl.log")

restart_detach "$T/perl.tar.zst"
[ "$RESTORED_PID" = "$pid" ] || fail "restored as PID $RESTORED_PID, expected $pid"
wait_tick "$T/perl.log" $((before + 20))
assert_ticks_consecutive "$T/perl.log" $((before + 20))
[ ! -s "$T/perl.err" ] || fail "perl wrote on stderr: $(cat "$T/perl.err")"
pass
