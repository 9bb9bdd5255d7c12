#!/bin/bash
# memfd-exec: a script in a memfd, written through a shared writable
# mapping, still runs through its fd (fexecve) after restart.  restart
# used to reopen the memfd and its mapping read-write through /proc, and
# such openings count as writers of the inode: exec failed with ETXTBSY
# (zdtm memfd04/05).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog memfdexec

selfcheck memfd "$PROGS/memfdexec"
pass
