/* cowprog: a process that rewrites its memory without pause, for
 * copy-on-write checkpoint tests.
 * usage: cowprog LOG
 *
 * 64 MiB of pages, each holding a generation number.  Pass g writes g into
 * page 0, 1, 2 ... in order, checking first that each page still holds
 * g - 1, so at every instant pages [0, k) hold g and pages [k, N) hold
 * g - 1.  An image whose pages were read at different instants (from the
 * running process instead of a frozen copy) breaks that, and the restored
 * process finds a page of the wrong generation: it logs "BAD ..." and
 * exits 1.  One page may already hold g (stopped between the write and
 * the step to the next page).
 *
 * It also holds three regions a forked copy does not share as they are:
 * MAP_SHARED memory, MADV_DONTFORK memory (absent from a fork) and
 * MADV_WIPEONFORK memory (zero in a fork), each with a known pattern
 * checked at every pass; and it logs "pass G ok" every 16 passes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

#define PAGE 4096
#define NPAGES (64 * 256)
#define SIDE (256 * 1024)

static FILE *logf;

static void bad(const char *what, unsigned long a, unsigned long b, unsigned long c)
{
	fprintf(logf, "BAD %s %lu %lu %lu\n", what, a, b, c);
	exit(1);
}

static uint8_t *side_region(int flags, int advice, uint8_t seed)
{
	uint8_t *p = mmap(NULL, SIDE, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	if (advice >= 0 && madvise(p, SIDE, advice)) {
		perror("madvise");
		exit(2);
	}
	for (size_t i = 0; i < SIDE; i++)
		p[i] = (uint8_t)(i * 7 + seed);
	return p;
}

static void check_side(const uint8_t *p, uint8_t seed, const char *name)
{
	for (size_t i = 0; i < SIDE; i += 509)
		if (p[i] != (uint8_t)(i * 7 + seed))
			bad(name, i, p[i], (uint8_t)(i * 7 + seed));
}

int main(int argc, char **argv)
{
	volatile uint64_t *pages;
	uint8_t *shared, *dontfork, *wipe;
	uint64_t g;

	if (argc != 2) {
		fprintf(stderr, "usage: cowprog LOG\n");
		return 2;
	}
	logf = fopen(argv[1], "a");
	if (!logf)
		return 2;
	setvbuf(logf, NULL, _IOLBF, 0);
	pages = mmap(NULL, (size_t)NPAGES * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return 2;
	shared = side_region(MAP_SHARED, -1, 1);
	dontfork = side_region(MAP_PRIVATE, MADV_DONTFORK, 2);
	wipe = side_region(MAP_PRIVATE, MADV_WIPEONFORK, 3);
	fprintf(logf, "pid %d\n", (int)getpid());
	for (g = 1;; g++) {
		int ahead = 0;

		check_side(shared, 1, "shared");
		check_side(dontfork, 2, "dontfork");
		check_side(wipe, 3, "wipeonfork");
		for (size_t k = 0; k < NPAGES; k++) {
			volatile uint64_t *w = pages + k * (PAGE / 8);

			if (*w != g - 1 && !(*w == g && !ahead++))
				bad("page", k, *w, g - 1);
			*w = g;
		}
		if (g % 16 == 0)
			fprintf(logf, "pass %lu ok\n", (unsigned long)g);
	}
}
