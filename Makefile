# ckpt — user-space checkpoint/restart.  One `make` builds everything,
# `make check` runs every test, `make install` honours PREFIX and DESTDIR.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -Icommon -Ilibmigrate
LDLIBS  := -lzstd -lelf -lunwind-ptrace -lunwind-generic -lpthread
PREFIX  ?= /usr/local
BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib
INCDIR  := $(DESTDIR)$(PREFIX)/include
MANDIR  := $(DESTDIR)$(PREFIX)/share/man

COMMON_SRC := $(wildcard common/*.c common/arch/*.c common/state/*.c)
COMMON_OBJ := $(COMMON_SRC:.c=.o)
CKPT_OBJ   := $(patsubst %.c,%.o,$(wildcard ckpt/*.c))
RESTART_OBJ:= $(patsubst %.c,%.o,$(wildcard restart/*.c))
MIGRATE_OBJ:= $(patsubst %.c,%.o,$(wildcard libmigrate/*.c))
UNIT_SRC   := $(wildcard tests/unit/*.c)
UNIT_BIN   := $(UNIT_SRC:.c=)
PROG_SRC   := $(wildcard tests/progs/*.c)
PROG_BIN   := $(PROG_SRC:.c=)

all: bin/ckpt bin/restart bin/libmigrate.a $(PROG_BIN) tests/faults/failnth.so

bin:
	mkdir -p bin

common/libckpt.a: $(COMMON_OBJ)
	$(AR) rcs $@ $^

bin/ckpt: $(CKPT_OBJ) common/libckpt.a | bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bin/restart: $(RESTART_OBJ) common/libckpt.a | bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bin/libmigrate.a: $(MIGRATE_OBJ) | bin
	$(AR) rcs $@ $^

# Test programs are plain C; avx ones get -mavx2 where they ask for it.
tests/progs/%: tests/progs/%.c
	$(CC) $(CFLAGS) $(PROG_CFLAGS_$*) -o $@ $< -lm

PROG_CFLAGS_avx := -mavx2

tests/progs/selfckpt: tests/progs/selfckpt.c bin/libmigrate.a
	$(CC) $(CFLAGS) -o $@ $^

# LD_PRELOAD shim failing the Nth ptrace/process_vm_*/write... (t-faults-*).
tests/faults/failnth.so: tests/faults/failnth.c
	$(CC) $(CFLAGS) -shared -fPIC -o $@ $< -ldl

tests/unit/%: tests/unit/%.c common/libckpt.a
	$(CC) $(CFLAGS) $(shell pkg-config --cflags check) -o $@ $^ $(shell pkg-config --libs check) $(LDLIBS)

%.o: %.c $(wildcard common/*.h common/arch/*.h common/state/*.h ckpt/*.h restart/*.h)
	$(CC) $(CFLAGS) -c -o $@ $<

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all
	@tests/integration/run-all

check: all unit integration

# The long fault matrix: ckpt killed at many more moments, and every call
# of each kind failed in turn (the bounded versions run in `make check`).
faults: all
	@TEST_TIMEOUT=1800 KILL_RUNS=60 KILL_SIZES="1 4:3 16 256" FAULT_ALL=1 \
		tests/integration/run-all t-kill-ckpt t-faults-ckpt t-kill-restart

# CRIU's zdtm tests (../shared/conformance, beside the repository) against
# the tools just built: all of them, or `make conformance TESTS="fifo pipe01"`
# (-t 0 picks no tier of the list, so only the named tests run).
# Optional: `make check` never needs ../shared.
CONFORMANCE ?= ../shared/conformance
conformance: all
	@if [ -x $(CONFORMANCE)/run ]; then \
		CKPT_BIN=$(CURDIR)/bin $(CONFORMANCE)/run $(if $(TESTS),-t 0 $(TESTS)); \
	else echo "conformance: no $(CONFORMANCE)/run (set CONFORMANCE=DIR)"; exit 2; fi

demo: all
	scripts/demo

bench: all
	@if [ -x tests/bench/run ]; then tests/bench/run; else echo "bench: not written yet"; fi

install: all
	install -d $(BINDIR) $(LIBDIR) $(INCDIR) $(MANDIR)/man1 $(MANDIR)/man3
	install -m 755 bin/ckpt bin/restart $(BINDIR)
	install -m 644 bin/libmigrate.a $(LIBDIR)
	install -m 644 libmigrate/libmigrate.h $(INCDIR)
	install -m 644 docs/ckpt.1 docs/restart.1 $(MANDIR)/man1
	install -m 644 docs/libmigrate.3 $(MANDIR)/man3

clean:
	rm -rf bin common/libckpt.a $(COMMON_OBJ) $(CKPT_OBJ) $(RESTART_OBJ) $(MIGRATE_OBJ) $(UNIT_BIN) $(PROG_BIN) tests/faults/failnth.so

.PHONY: all unit integration check faults conformance demo bench install clean
