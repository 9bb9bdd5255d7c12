/* manymaps: a process with many small mappings, for restart's batched
 * mapping work.  usage: manymaps N LOG
 * Maps N one-page regions at spread addresses, alternately read-write and
 * read-only (so they never merge), every third one MADV_DONTDUMP, each
 * holding a pattern of its index; then every 100 ms checks them all and
 * appends "ok K" (K counts checks) to LOG, or "BAD I" and exits 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096

static uint8_t pattern(size_t i, size_t off)
{
	return (uint8_t)(i * 31 + off * 7 + 1);
}

int main(int argc, char **argv)
{
	size_t n, i, off;
	uint8_t **maps;
	FILE *log;
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	if (argc != 3 || !(n = strtoul(argv[1], NULL, 10))) {
		fprintf(stderr, "usage: manymaps N LOG\n");
		return 2;
	}
	log = fopen(argv[2], "a");
	maps = calloc(n, sizeof(*maps));
	if (!log || !maps)
		return 2;
	setvbuf(log, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		maps[i] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[i] == MAP_FAILED)
			return 2;
		for (off = 0; off < PAGE; off++)
			maps[i][off] = pattern(i, off);
		if (i % 2 && mprotect(maps[i], PAGE, PROT_READ))
			return 2;
		if (i % 3 == 0 && madvise(maps[i], PAGE, MADV_DONTDUMP))
			return 2;
	}
	for (unsigned long k = 1;; k++) {
		for (i = 0; i < n; i++)
			for (off = 0; off < PAGE; off += 61)
				if (maps[i][off] != pattern(i, off)) {
					fprintf(log, "BAD %zu\n", i);
					return 1;
				}
		fprintf(log, "ok %lu\n", k);
		nanosleep(&ts, NULL);
	}
}
