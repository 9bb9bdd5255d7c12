#!/bin/bash
# Images are untrusted: an image re-packed with its members moved (a meta/
# member after the pages, which restart used to skip: the process came back
# without its fds) or with its pages/ members renumbered is refused before
# the process runs, nothing left behind; the same members re-packed in
# their order restore fine (so the refusals are about the order alone).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog counter
command -v zstd > /dev/null || skip "zstd is not installed"

start_bg "$PROGS/counter" -f "$T/c.map" > "$T/c.log" 2> "$T/c.err"
pid=$BG_PID
wait_tick "$T/c.log" 3
ckpt_ok "$pid" "$T/img.tar.zst" --kill
wait_gone "$pid"
mkdir "$T/x"
(cd "$T/x" && tar --zstd -xf "$T/img.tar.zst") || fail "cannot unpack the image"
tar --zstd -tf "$T/img.tar.zst" > "$T/order"
grep -q '^pages/00000001$' "$T/order" || fail "expected two pages/ members: $(cat "$T/order")"
repack() {	# repack ORDER_FILE OUT
	(cd "$T/x" && tar --format=ustar -cf - -T "$1") | zstd -q --check > "$2"
}

# meta/fds moved after the pages.
grep -v '^meta/fds$' "$T/order" | sed '/^ckpt-end$/i meta/fds' > "$T/order.meta"
repack "$T/order.meta" "$T/meta-late.tar.zst"
before=$(candidate_procs)
expect_fail_msg "unexpected member" "$RESTART" "$T/meta-late.tar.zst" --detach
assert_no_new_procs "$before"

# pages/00000000 and pages/00000001 swap names (numbers must increase;
# they may skip, where a chunk of all-zero pages was left out).
mkdir "$T/x2"
cp -a "$T/x/." "$T/x2/"
mv "$T/x2/pages/00000000" "$T/x2/pages/tmp"
mv "$T/x2/pages/00000001" "$T/x2/pages/00000000"
mv "$T/x2/pages/tmp" "$T/x2/pages/00000001"
awk '$0 == "pages/00000000" { print "pages/00000001"; next }
     $0 == "pages/00000001" { print "pages/00000000"; next } { print }' "$T/order" > "$T/order.pages"
(cd "$T/x2" && tar --format=ustar -cf - -T "$T/order.pages") | zstd -q --check > "$T/renumbered.tar.zst"
expect_fail_msg "out of order" "$RESTART" "$T/renumbered.tar.zst" --detach
assert_no_new_procs "$before"

# The same members in their order: restarts.
repack "$T/order" "$T/same.tar.zst"
restart_detach "$T/same.tar.zst"
wait_tick "$T/c.log" $(($(last_tick "$T/c.log") + 3))
pass
