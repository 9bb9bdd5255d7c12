/* dirtier: memory that changes a little at a time, as between the
 * snapshots of a long job; it checks all of it itself.
 *
 * usage: dirtier [SIZE_MIB] [-i MS] [-d PAGES] [-k] [-z]
 *   SIZE_MIB  size of the anonymous mapping (default 64)
 *   -i MS     interval between ticks (default 100 ms)
 *   -d PAGES  pages rewritten per tick (default 16); every 4th tick one
 *             more page is given back (MADV_DONTNEED: it reads zero)
 *   -k        of the pages rewritten, one in three is written by the kernel
 *             (read(2) from a pipe into the page) and one in three by a
 *             second thread (dirty-page tracking must see those too)
 *   -z        the first 2 MiB start written with zeros (real pages, whole
 *             chunks of them all-zero in an image)
 * Every page's contents follow from its number and its generation (kept in
 * a table in the process): at each tick the program rewrites some pages,
 * then checks every page against the table and prints
 * "tick N sum CHECKSUM" (a checksum of the whole mapping), or
 * "CORRUPT page P ..." and exits 3.  stdout is line-buffered.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS (PAGE / 8)

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void fill(uint64_t *page, size_t p, uint32_t gen)
{
	size_t w;

	for (w = 0; w < WORDS; w++)
		page[w] = gen ? mix((uint64_t)p << 32 ^ (uint64_t)gen << 12 ^ w) : 0;
}

/* -k: the second thread rewrites the pages whose numbers come down
 * to_thread, and answers on from_thread. */
static int to_thread[2], from_thread[2];
static uint64_t *thread_mem;
static uint32_t *thread_gen;

static void *writer_thread(void *arg)
{
	size_t p;

	(void)arg;
	while (read(to_thread[0], &p, sizeof(p)) == sizeof(p)) {
		fill(thread_mem + p * WORDS, p, thread_gen[p]);
		if (write(from_thread[1], &p, sizeof(p)) != sizeof(p))
			break;
	}
	return NULL;
}

/* Page p rewritten by the kernel: its contents read(2) from a pipe. */
static void kernel_fill(int fds[2], uint64_t *page, uint64_t *buf, size_t p, uint32_t gen)
{
	fill(buf, p, gen);
	if (write(fds[1], buf, PAGE) != PAGE || read(fds[0], page, PAGE) != PAGE) {
		perror("dirtier: pipe");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	bool others = false, zero_head = false;
	int kpipe[2];
	pthread_t th;
	size_t mib = 64, npages, p, dirty = 16;
	long interval_ms = 100;
	uint64_t *mem, *expect = malloc(PAGE);
	uint32_t *gen;
	unsigned long tick;
	int c;

	while ((c = getopt(argc, argv, "i:d:kz")) != -1) {
		if (c == 'z')
			zero_head = true;
		else if (c == 'k')
			others = true;
		else if (c == 'i')
			interval_ms = atol(optarg);
		else if (c == 'd')
			dirty = strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: dirtier [SIZE_MIB] [-i MS] [-d PAGES] [-k] [-z]\n");
			return 2;
		}
	}
	if (optind < argc)
		mib = strtoul(argv[optind], NULL, 10);
	setvbuf(stdout, NULL, _IOLBF, 0);
	npages = mib * 256;
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gen = calloc(npages, sizeof(*gen));
	if (mem == MAP_FAILED || !gen || !expect) {
		perror("dirtier: memory");
		return 1;
	}
	for (p = 0; p < npages; p++) {
		gen[p] = p % 17 && !(zero_head && p < 512) ? 1 : 0;	/* every 17th all-zero */
		fill(mem + p * WORDS, p, gen[p]);
	}
	if (others) {
		thread_mem = mem;
		thread_gen = gen;
		if (pipe(kpipe) || pipe(to_thread) || pipe(from_thread) ||
		    pthread_create(&th, NULL, writer_thread, NULL)) {
			perror("dirtier: -k");
			return 1;
		}
	}
	printf("dirtier pid %d size %zu MiB\n", (int)getpid(), mib);
	for (tick = 1;; tick++) {
		struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000 };
		uint64_t sum = 0;
		size_t k;

		for (k = 0; k < dirty; k++) {
			p = mix(tick * 131 + k) % npages;
			gen[p]++;
			if (!gen[p])
				gen[p] = 1;
			if (others && k % 3 == 1)
				kernel_fill(kpipe, mem + p * WORDS, expect, p, gen[p]);
			else if (others && k % 3 == 2) {
				if (write(to_thread[1], &p, sizeof(p)) != sizeof(p) ||
				    read(from_thread[0], &p, sizeof(p)) != sizeof(p)) {
					perror("dirtier: thread");
					return 1;
				}
			} else
				fill(mem + p * WORDS, p, gen[p]);
		}
		if (tick % 4 == 0) {
			p = mix(tick) % npages;
			madvise(mem + p * WORDS, PAGE, MADV_DONTNEED);
			gen[p] = 0;
		}
		for (p = 0; p < npages; p++) {
			fill(expect, p, gen[p]);
			if (memcmp(expect, mem + p * WORDS, PAGE)) {
				printf("CORRUPT page %zu (generation %u) at tick %lu\n", p, gen[p], tick);
				return 3;
			}
			sum = mix(sum ^ mem[p * WORDS] ^ mem[p * WORDS + WORDS - 1] ^ gen[p]);
		}
		printf("tick %lu sum %016" PRIx64 "\n", tick, sum);
		nanosleep(&ts, NULL);
	}
}
