/* bigmem: a large memory image whose contents must come back bit for bit.
 *
 * usage: bigmem [SIZE_MIB] [-i MS]
 *   SIZE_MIB  size of the anonymous mapping (default 1024)
 *   -i MS     interval between checks (default 1000 ms)
 * Fills the mapping with a deterministic pseudo-random pattern (every 17th
 * page is left all-zero, so zero pages are part of the image too), computes
 * a 64-bit checksum and prints "ready CHECKSUM" (16 hex digits).  Then every
 * interval it recomputes the checksum and prints "sum CHECKSUM"; if it differs
 * from the first one it prints "CORRUPT sum ..." (with the first bad page)
 * and exits 3.  stdout is line-buffered.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS_PER_PAGE (PAGE / 8)

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static int zero_page(size_t page)
{
	return page % 17 == 5;
}

static uint64_t word_at(size_t i)
{
	return zero_page(i / WORDS_PER_PAGE) ? 0 : splitmix64(i);
}

static uint64_t checksum(const uint64_t *w, size_t nwords)
{
	/* Two independent FNV-style lanes for speed, mixed at the end. */
	uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
	for (size_t i = 0; i + 1 < nwords; i += 2) {
		a = (a ^ w[i]) * 0x100000001b3ull;
		b = (b ^ w[i + 1]) * 0x100000001b3ull;
	}
	return splitmix64(a ^ splitmix64(b));
}

static volatile uint64_t g_expected;

int main(int argc, char **argv)
{
	size_t mib = 1024;
	unsigned interval = 1000;
	int i = 1;

	if (i < argc && argv[i][0] != '-')
		mib = strtoull(argv[i++], NULL, 10);
	if (i + 1 < argc && strcmp(argv[i], "-i") == 0) {
		interval = (unsigned)strtoul(argv[i + 1], NULL, 10);
		i += 2;
	}
	if (i != argc || mib == 0) {
		fprintf(stderr, "usage: bigmem [SIZE_MIB] [-i MS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	size_t size = mib << 20, nwords = size / 8;
	uint64_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "bigmem: mmap %zu MiB: %s\n", mib, strerror(errno));
		return 1;
	}
	for (size_t w = 0; w < nwords; w++)
		if (!zero_page(w / WORDS_PER_PAGE))
			mem[w] = splitmix64(w);
	volatile uint64_t expected = checksum(mem, nwords);	/* stack copy */
	g_expected = expected;
	printf("bigmem pid %d size %zu MiB\n", (int)getpid(), mib);
	printf("ready %016" PRIx64 "\n", (uint64_t)expected);

	for (;;) {
		struct timespec ts = { interval / 1000, (long)(interval % 1000) * 1000000L }, rem;
		while (nanosleep(&ts, &rem) < 0 && errno == EINTR)
			ts = rem;
		uint64_t sum = checksum(mem, nwords);
		if (sum != expected || g_expected != expected) {
			size_t bad = 0;
			while (bad < nwords && mem[bad] == word_at(bad))
				bad++;
			printf("CORRUPT sum %016" PRIx64 " expected %016" PRIx64
			       " (global %016" PRIx64 "), first bad page %zu of %zu\n",
			       sum, (uint64_t)expected, (uint64_t)g_expected, bad / WORDS_PER_PAGE,
			       nwords / WORDS_PER_PAGE);
			fflush(stdout);
			return 3;
		}
		printf("sum %016" PRIx64 "\n", sum);
	}
}
