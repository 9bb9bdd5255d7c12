#!/bin/bash
# libmigrate as a library: `make install DESTDIR=...` installs the shared
# library (soname libmigrate.so.1, only migrate_* exported), the static one,
# the header and libmigrate.pc; a program built with `pkg-config --cflags
# --libs libmigrate` (against the installed copy, and against this tree
# through bin/pkgconfig) runs and clones itself, finding ckpt in PATH.
# ckpt is looked up in $MIGRATE_CKPT, then $CKPT_BIN, then the configured
# prefix, then PATH.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
command -v pkg-config > /dev/null || skip "no pkg-config"
unset MIGRATE_CKPT CKPT_BIN MAKEFLAGS MAKELEVEL MFLAGS
dest=$T/dest
# The tree's own PREFIX, so that nothing is rebuilt for another one.
prefix=$(cat "$ROOT/bin/migrate-prefix") || fail "bin/migrate-prefix is missing (run make)"
make -s -C "$ROOT" install PREFIX="$prefix" DESTDIR="$dest" > "$T/install.log" 2>&1 ||
	fail "make install failed: $(tail -5 "$T/install.log")"
pfx=$dest$prefix
for f in lib/libmigrate.so.1.0.0 lib/libmigrate.so.1 lib/libmigrate.so lib/libmigrate.a \
	include/libmigrate.h lib/pkgconfig/libmigrate.pc share/man/man3/libmigrate.3; do
	[ -e "$pfx/$f" ] || fail "make install did not install $f"
done
soname=$(readelf -d "$pfx/lib/libmigrate.so.1.0.0" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libmigrate.so.1 ] || fail "soname is '$soname'"
exported=$(nm -D --defined-only "$pfx/lib/libmigrate.so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort | tr '\n' ' ')
[ "$exported" = "migrate_checkpoint migrate_clone migrate_strerror migrate_to " ] ||
	fail "libmigrate.so exports: $exported"

# Against the installed copy (its prefix taken from where the .pc is).
flags=$(PKG_CONFIG_PATH=$pfx/lib/pkgconfig pkg-config --define-prefix --cflags --libs libmigrate) ||
	fail "pkg-config --cflags --libs libmigrate failed"
say "pkg-config: $flags"
# shellcheck disable=SC2086 # flags split on purpose
cc -o "$T/split" "$ROOT/docs/examples/split.c" $flags 2> "$T/cc.err" ||
	fail "cannot build with pkg-config's flags: $(cat "$T/cc.err")"
# Against this tree (libmigrate-uninstalled.pc).
flags2=$(PKG_CONFIG_PATH=$ROOT/bin/pkgconfig pkg-config --cflags --libs libmigrate)
case $flags2 in *"$ROOT/bin"*) ;; *) fail "bin/pkgconfig does not point to this tree: $flags2" ;; esac

# Run it: ckpt from PATH (the installed one), the library from the install.
PATH=$pfx/bin:$PATH LD_LIBRARY_PATH=$pfx/lib start_bg "$T/split" 100000 \
	"$pfx/bin/restart - --detach --any-pid" "$T/result" >> "$T/split.log" 2> "$T/split.err"
pid=$BG_PID
for ((i = 0; i < 600; i++)); do
	[ -e "/proc/$pid" ] && [ "$(proc_state "$pid")" != Z ] || break
	sleep 0.05
done
wait "$pid" || fail "split (installed) failed: $(cat "$T/split.log" "$T/split.err")"
grep -q '^primes below 100000: 9592 (copy' "$T/split.log" ||
	fail "split (installed): $(cat "$T/split.log" "$T/split.err")"
say "ok: built with pkg-config, ckpt found in PATH"

# The lookup order, with a library built for a prefix of our own: a
# program whose checkpoint fails names the ckpt it ran.
mkdir -p "$T/pfx/bin" "$T/other"
printf '#!/bin/sh\necho "ckpt: from the prefix" >&2\nexit 1\n' > "$T/pfx/bin/ckpt"
printf '#!/bin/sh\necho "ckpt: from CKPT_BIN" >&2\nexit 1\n' > "$T/other/ckpt"
printf '#!/bin/sh\necho "ckpt: from MIGRATE_CKPT" >&2\nexit 1\n' > "$T/mckpt"
printf '#!/bin/sh\necho "ckpt: from PATH" >&2\nexit 1\n' > "$T/ckpt"
chmod +x "$T/pfx/bin/ckpt" "$T/other/ckpt" "$T/mckpt" "$T/ckpt"
cat > "$T/who.c" << 'EOF'
#include <libmigrate.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	(void)argc;
	if (migrate_checkpoint(argv[1], 0) < 0)
		printf("%s\n", migrate_strerror());
	return 0;
}
EOF
cc -std=gnu11 -D_GNU_SOURCE -pthread -I"$ROOT/libmigrate" -DMIGRATE_PREFIX="\"$T/pfx\"" \
	-o "$T/who" "$T/who.c" "$ROOT"/libmigrate/*.c 2> "$T/cc2.err" || fail "cc: $(cat "$T/cc2.err")"
who() { "$T/who" "$T/x.tar.zst" < /dev/null 2>&1; }
[ "$(MIGRATE_CKPT=$T/mckpt CKPT_BIN=$T/other who)" = "ckpt: from MIGRATE_CKPT" ] || fail "MIGRATE_CKPT first"
[ "$(CKPT_BIN=$T/other who)" = "ckpt: from CKPT_BIN" ] || fail "then CKPT_BIN (a directory)"
[ "$(CKPT_BIN=$T/other/ckpt who)" = "ckpt: from CKPT_BIN" ] || fail "then CKPT_BIN (the file)"
[ "$(PATH=$T:$PATH who)" = "ckpt: from the prefix" ] || fail "then the prefix: $(PATH=$T:$PATH who)"
rm "$T/pfx/bin/ckpt"
[ "$(PATH=$T:$PATH who)" = "ckpt: from PATH" ] || fail "then PATH: $(PATH=$T:$PATH who)"
[ "$(PATH=/nonexistent who)" = "libmigrate: ckpt not found in $T/pfx/bin or PATH (install ckpt or set MIGRATE_CKPT)" ] ||
	fail "no ckpt at all: $(PATH=/nonexistent who)"
say "ok: lookup order MIGRATE_CKPT, CKPT_BIN, prefix, PATH"
pass
