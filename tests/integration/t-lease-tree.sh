#!/bin/bash
# lease-tree: a write lease being broken, set by a parent that was sent its
# break signal and then closed its fd, held by its child: after restart
# the lease is still being broken in the child, and the parent (the
# file's owner) gets no second break signal.  restart breaks such a lease
# again to make it so, and the owner used to get the signal of that break
# (zdtm file_lease04: "ghost signal").
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog leasetree

selfcheck lease "$PROGS/leasetree" "$T/leased"
pass
