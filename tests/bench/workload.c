/* A process for the benchmark to checkpoint: builds one kind of workload,
 * prints "ready" on stdout, then sleeps until killed.
 *
 *   workload small                  a few MiB of random data
 *   workload random SIZE_MIB        SIZE_MIB of incompressible data
 *   workload zero SIZE_MIB          SIZE_MIB of touched, all-zero pages
 *   workload text SIZE_MIB          SIZE_MIB of text, ~3:1 with zstd -1
 *   workload sparse SIZE_MIB PCT    a SIZE_MIB mapping, PCT% of its pages
 *                                   (spread evenly) touched with random data
 *   workload threads N              N extra threads, all sleeping
 *   workload maps N                 N separate one-page mappings (alternating
 *                                   read-write / read-only, so they do not
 *                                   merge), each holding random data
 *
 * "random": each SIGUSR1 rewrites 1% of the pages (every 100th, new random
 * data) and prints "changed N" (N = how many times so far): the changes
 * between the images of an incremental chain.
 *
 * Every fd above 2 is closed first: the benchmark checkpoints this process,
 * and fds inherited from whatever started it are none of its business.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gen.h"

#define MIB (1ul << 20)
#define PAGE 4096ul

static void die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: workload small | random MIB | zero MIB | text MIB |\n"
			"                sparse MIB PERCENT | threads N | maps N |\n"
			"                tree N SHARED_MIB PRIVATE_MIB\n");
	exit(2);
}

static unsigned long number(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !v)
		usage();
	return v;
}

static uint8_t *map(size_t len)
{
	uint8_t *p = gen_map(len);

	if (!p)
		die("mmap");
	return p;
}

static volatile sig_atomic_t change_asked;

static void on_usr1(int sig)
{
	(void)sig;
	change_asked = 1;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	size_t len = 0, i;
	uint8_t *p, *changing = NULL;
	unsigned long changes = 0;

	syscall(SYS_close_range, 3u, ~0u, 0u);

	if (!strcmp(mode, "small") && argc == 2) {
		len = 4 * MIB;
		gen_random(map(len), len, 1);
	} else if (!strcmp(mode, "random") && argc == 3) {
		len = number(argv[2]) * MIB;
		changing = map(len);
		gen_random(changing, len, 2);
	} else if (!strcmp(mode, "zero") && argc == 3) {
		len = number(argv[2]) * MIB;
		p = map(len);
		/* A write fault per page: real pages, not the shared zero page. */
		for (i = 0; i < len; i += PAGE)
			((volatile uint8_t *)p)[i] = 0;
		memset(p, 0, len);
	} else if (!strcmp(mode, "text") && argc == 3) {
		static struct gen_dict dict;
		len = number(argv[2]) * MIB;
		gen_dict_init(&dict);
		gen_text(&dict, map(len), len, 3);
	} else if (!strcmp(mode, "sparse") && argc == 4) {
		unsigned long pct = number(argv[3]);
		size_t npages, touched = 0;
		if (pct > 100)
			usage();
		len = number(argv[2]) * MIB;
		npages = len / PAGE;
		p = map(len);
		/* Without this, a huge page could make one touch resident 2 MiB. */
		madvise(p, len, MADV_NOHUGEPAGE);
		for (i = 0; i < npages; i++) {
			if ((i + 1) * pct / 100 == i * pct / 100)
				continue;
			gen_random(p + i * PAGE, PAGE, 4 + i);
			touched++;
		}
		fprintf(stderr, "workload: %zu of %zu pages touched\n", touched, npages);
	} else if (!strcmp(mode, "threads") && argc == 3) {
		unsigned long n = number(argv[2]);
		pthread_attr_t attr;
		pthread_t t;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		for (i = 0; i < n; i++) {
			int err = pthread_create(&t, &attr, sleeper, NULL);
			if (err) {
				errno = err;
				die("pthread_create");
			}
		}
	} else if (!strcmp(mode, "maps") && argc == 3) {
		unsigned long n = number(argv[2]);
		len = n * PAGE;
		/* Guard pages around the block: no neighbour merges with it. */
		p = mmap(NULL, len + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		p += PAGE;
		if (mprotect(p, len, PROT_READ | PROT_WRITE))
			die("mprotect");
		gen_random(p, len, 5);
		for (i = 1; i < n; i += 2)
			if (mprotect(p + i * PAGE, PAGE, PROT_READ))
				die("mprotect");
	} else if (!strcmp(mode, "tree") && argc == 5) {
		/* A parent with SHARED_MIB written before it forks N children
		 * (copy-on-write, never written again), each writing its own
		 * PRIVATE_MIB; "ready" once every child has. */
		unsigned long n = number(argv[2]), k;
		size_t priv = number(argv[4]) * MIB;
		int ready[2];
		char c;
		len = number(argv[3]) * MIB;
		gen_random(map(len), len, 6);
		if (pipe(ready))
			die("pipe");
		for (k = 0; k < n; k++) {
			pid_t pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0) {
				close(ready[0]);
				gen_random(map(priv), priv, 7 + k);
				if (write(ready[1], "r", 1) != 1)
					die("write");
				close(ready[1]);
				for (;;)
					pause();
			}
		}
		close(ready[1]);
		for (k = 0; k < n; k++)
			if (read(ready[0], &c, 1) != 1)
				die("a child of the tree died");
		close(ready[0]);
	} else {
		usage();
	}

	if (changing)
		signal(SIGUSR1, on_usr1);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		pause();
		if (!change_asked)
			continue;
		change_asked = 0;
		changes++;
		for (i = 0; i < len; i += 100 * PAGE)
			gen_random(changing + i, PAGE, 1000 + changes * 7919 + i / PAGE);
		printf("changed %lu\n", changes);
		fflush(stdout);
	}
}
