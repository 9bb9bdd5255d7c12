/* What this machine can do at best, for the operations a dump and a restore
 * are made of.  Each limit is the median of 5 runs over SIZE_MIB of data
 * (default 1024) and printed as one line "name GB/s" (GB = 1e9 bytes),
 * followed by "# min-max (a-b)".  Lines starting with '#' are remarks.
 *
 * Memory the kernel hands out is not all equally fast to touch here: this
 * VM reports free pages to its host (virtio-balloon free page reporting),
 * which takes them back, and touching such a page again costs a fault in
 * the host.  Memory freed a moment ago has not been reported yet and is
 * handed out again first.  So first touch and page-cache writes are
 * measured twice: "recycled" (each round reuses what the previous round
 * freed: the best case) and "_fresh" (each round keeps what the earlier
 * ones took, so it needs memory nobody used lately: what a process gets
 * when it grows beyond what was just freed).
 *
 *   limits [SIZE_MIB [DIR]]     DIR: where the page-cache file goes
 *                               (default $BENCH_DIR, else /var/tmp)
 *
 * Built by tests/bench/run: cc -O2 -pthread limits.c -lzstd
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "gen.h"

#define MIB (1ul << 20)
#define PAGE 4096ul
#define BATCH MIB		/* process_vm_*, zstd frames, write(): 1 MiB */
#define REPS 5

static size_t size;

static void die(const char *what)
{
	fprintf(stderr, "limits: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *map(size_t len)
{
	uint8_t *p = gen_map(len);

	if (!p)
		die("mmap");
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of the REPS rates, printed as GB/s (sorts them). */
static void report(const char *name, double *gbps)
{
	char range[64];

	qsort(gbps, REPS, sizeof(*gbps), cmp_double);
	snprintf(range, sizeof(range), "(%.2f-%.2f)", gbps[0], gbps[REPS - 1]);
	printf("%-26s %6.2f   # min-max %s\n", name, gbps[REPS / 2], range);
	fflush(stdout);
}

static double rate(size_t bytes, double secs)
{
	return bytes / secs / 1e9;
}

/* ------------------------------------------------------------------ */

static void bench_memcpy(void)
{
	uint8_t *src = map(size), *dst = map(size);
	double r[REPS], t;
	int i;

	gen_random(src, size, 10);
	memset(dst, 1, size);
	for (i = 0; i < REPS; i++) {
		t = now();
		memcpy(dst, src, size);
		r[i] = rate(size, now() - t);
	}
	report("memcpy", r);
	munmap(src, size);
	munmap(dst, size);
}

/* The same check as ckpt's (common/state/memory.c), so that the limit
 * measures the code ckpt runs. */
static bool page_is_zero(const void *page)
{
	const uint64_t *w = page;
	size_t i;

	for (i = 0; i < PAGE / 8; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return false;
	return true;
}

/* The same check as ckpt's, on all-zero pages (the worst case: each page
 * read to its end). */
static void bench_zero_check(void)
{
	uint8_t *p = map(size);
	volatile size_t zero;
	double r[REPS], t;
	size_t off;
	int i;

	memset(p, 0, size);
	for (i = 0; i < REPS; i++) {
		t = now();
		zero = 0;
		for (off = 0; off < size; off += PAGE)
			zero += page_is_zero(p + off);
		r[i] = rate(size, now() - t);
	}
	(void)zero;
	report("zero_page_check", r);
	munmap(p, size);
}

/* A child holding size bytes of random data at the same address as ours
 * (mapped before fork, filled by the child). */
static pid_t child_with_data(uint8_t *region)
{
	int fd[2];
	char c = 0;
	pid_t pid;

	if (pipe(fd))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		gen_random(region, size, 11);
		if (write(fd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fd[1]);
	if (read(fd[0], &c, 1) != 1)
		die("waiting for the child");
	close(fd[0]);
	return pid;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void bench_readv(void)
{
	uint8_t *region = map(size), *buf = map(BATCH);
	double r[REPS], t;
	size_t off;
	pid_t pid;
	int i;

	memset(buf, 1, BATCH);
	pid = child_with_data(region);
	for (i = 0; i < REPS; i++) {
		t = now();
		for (off = 0; off < size; off += BATCH) {
			struct iovec l = { buf, BATCH }, rem = { region + off, BATCH };
			if (process_vm_readv(pid, &l, 1, &rem, 1, 0) != (ssize_t)BATCH)
				die("process_vm_readv");
		}
		r[i] = rate(size, now() - t);
	}
	report("process_vm_readv", r);
	end_child(pid);
	munmap(region, size);
	munmap(buf, BATCH);
}

/* fork() of a process with size bytes resident: the page tables are
 * copied, which bounds the freeze of a copy-on-write checkpoint. */
static void bench_fork(void)
{
	uint8_t *region = map(size);
	double ms[REPS];
	int i;

	gen_random(region, size, 13);
	for (i = 0; i < REPS; i++) {
		double t = now();
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid)
			_exit(0);
		ms[i] = (now() - t) * 1e3;
		waitpid(pid, NULL, 0);
	}
	qsort(ms, REPS, sizeof(ms[0]), cmp_double);
	printf("%-28s %6.2f   # ms, not GB/s; min-max (%.2f-%.2f)\n", "fork_ms", ms[REPS / 2],
	       ms[0], ms[REPS - 1]);
	fflush(stdout);
	munmap(region, size);
}

/* Into memory the child never touched: every page is faulted in by the
 * write, as on restore. */
static void bench_writev(void)
{
	uint8_t *buf = map(BATCH);
	double r[REPS], t;
	int i;

	gen_random(buf, BATCH, 12);
	for (i = 0; i < REPS; i++) {
		uint8_t *region = map(size);
		size_t off;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid) {
			for (;;)
				pause();
		}
		t = now();
		for (off = 0; off < size; off += BATCH) {
			struct iovec l = { buf, BATCH }, rem = { region + off, BATCH };
			if (process_vm_writev(pid, &l, 1, &rem, 1, 0) != (ssize_t)BATCH)
				die("process_vm_writev");
		}
		r[i] = rate(size, now() - t);
		end_child(pid);
		munmap(region, size);
	}
	report("process_vm_writev", r);
	munmap(buf, BATCH);
}

/* Fresh anonymous memory: one byte per page (the page faults), then a
 * memset of the whole (the data).  first_touch counts both. */
static void bench_first_touch(const char *name)
{
	double r[REPS], rf[REPS], t0, t1;
	char fname[64];
	int i;

	for (i = 0; i < REPS; i++) {
		uint8_t *p = map(size);
		size_t off;

		t0 = now();
		for (off = 0; off < size; off += PAGE)
			((volatile uint8_t *)p)[off] = 1;
		t1 = now();
		memset(p, 0x5a, size);
		r[i] = rate(size, now() - t0);
		rf[i] = rate(size, t1 - t0);
		munmap(p, size);
	}
	report(name, r);
	snprintf(fname, sizeof(fname), "%s_faults_only", name);
	report(fname, rf);
}

/* ------------------------------------------------------------------ */
/* zstd level 1, independent 1 MiB frames                              */

struct zjob {
	const uint8_t *src;
	uint8_t *dst;		/* nframes slots of `bound` bytes */
	size_t *csize;
	size_t nframes, bound;
	atomic_size_t next;
};

static void *compress_worker(void *arg)
{
	struct zjob *j = arg;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t i;

	if (!cctx)
		die("ZSTD_createCCtx");
	while ((i = atomic_fetch_add(&j->next, 1)) < j->nframes) {
		size_t n = ZSTD_compressCCtx(cctx, j->dst + i * j->bound, j->bound,
					     j->src + i * BATCH, BATCH, 1);
		if (ZSTD_isError(n)) {
			fprintf(stderr, "limits: zstd: %s\n", ZSTD_getErrorName(n));
			exit(1);
		}
		j->csize[i] = n;
	}
	ZSTD_freeCCtx(cctx);
	return NULL;
}

static double compress_all(struct zjob *j, int nthreads)
{
	pthread_t t[16];
	double t0 = now();
	int i;

	atomic_store(&j->next, 0);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, compress_worker, j))
			die("pthread_create");
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	return now() - t0;
}

static void bench_zstd(const char *kind)
{
	struct zjob j = { .nframes = size / BATCH, .bound = ZSTD_compressBound(BATCH) };
	uint8_t *src = map(size), *out = map(BATCH);
	double r1[REPS], r2[REPS], rd[REPS], t;
	size_t i, total = 0;
	char name[64];
	int rep;

	j.src = src;
	j.dst = map(j.nframes * j.bound);
	j.csize = calloc(j.nframes, sizeof(*j.csize));
	if (!j.csize)
		die("calloc");
	if (!strcmp(kind, "random")) {
		gen_random(src, size, 13);
	} else if (!strcmp(kind, "zero")) {
		memset(src, 0, size);
	} else {
		static struct gen_dict dict;
		gen_dict_init(&dict);
		gen_text(&dict, src, size, 14);
	}
	memset(j.dst, 0, j.nframes * j.bound);	/* no first touch in the timings */
	memset(out, 0, BATCH);

	for (rep = 0; rep < REPS; rep++)
		r2[rep] = rate(size, compress_all(&j, 2));
	for (rep = 0; rep < REPS; rep++)
		r1[rep] = rate(size, compress_all(&j, 1));
	for (i = 0; i < j.nframes; i++)
		total += j.csize[i];

	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	if (!dctx)
		die("ZSTD_createDCtx");
	for (rep = 0; rep < REPS; rep++) {
		t = now();
		for (i = 0; i < j.nframes; i++) {
			size_t n = ZSTD_decompressDCtx(dctx, out, BATCH, j.dst + i * j.bound,
						       j.csize[i]);
			if (n != BATCH) {
				fprintf(stderr, "limits: zstd decompression: %s\n",
					ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame");
				exit(1);
			}
		}
		rd[rep] = rate(size, now() - t);
	}
	ZSTD_freeDCtx(dctx);

	printf("# zstd level 1, %s: ratio %.2f:1\n", kind, (double)size / total);
	snprintf(name, sizeof(name), "zstd1_2t_%s", kind);
	report(name, r2);
	snprintf(name, sizeof(name), "zstd1_1t_%s", kind);
	report(name, r1);
	snprintf(name, sizeof(name), "unzstd_1t_%s", kind);
	report(name, rd);

	free(j.csize);
	munmap(j.dst, j.nframes * j.bound);
	munmap(src, size);
	munmap(out, BATCH);
}

/* ------------------------------------------------------------------ */

static void bench_pagecache(const char *dir)
{
	uint8_t *buf = map(BATCH);
	double rw[REPS], rs[REPS], t0, t1;
	char path[4096];
	int i;

	gen_random(buf, BATCH, 15);
	for (i = 0; i < REPS; i++) {
		size_t off;
		int fd;

		snprintf(path, sizeof(path), "%s/ckpt-limits.XXXXXX", dir);
		fd = mkstemp(path);
		if (fd < 0)
			die(path);
		t0 = now();
		for (off = 0; off < size; off += BATCH)
			if (write(fd, buf, BATCH) != (ssize_t)BATCH) {
				unlink(path);
				die("writing the page-cache file");
			}
		t1 = now();
		if (fsync(fd)) {
			unlink(path);
			die("fsync");
		}
		rs[i] = rate(size, now() - t0);
		rw[i] = rate(size, t1 - t0);
		close(fd);
		unlink(path);
	}
	report("pagecache_write", rw);
	report("pagecache_write_fsync", rs);
	munmap(buf, BATCH);
}

/* Fresh memory: REPS + 1 rounds, each keeping what the earlier ones took;
 * the first round may still get memory freed lately, so only the last REPS
 * count.  Anonymous memory first (kept), then page-cache writes of new
 * files (kept open, unlinked), so these too need memory beyond it. */
static void bench_fresh(const char *dir)
{
	uint8_t *held[REPS + 1], *buf = map(BATCH);
	double ra[REPS + 1], rw[REPS + 1], rs[REPS + 1], t0, t1;
	int fds[REPS + 1], i, nfd = 0;
	unsigned long long need = 2ull * (REPS + 1) * size;
	struct statvfs vfs;
	struct sysinfo si;

	if (sysinfo(&si) || (unsigned long long)si.freeram * si.mem_unit < need + need / 4) {
		printf("# first_touch_fresh, pagecache_write_fresh: skipped, they need %llu MiB "
		       "of free memory\n", (need + need / 4) >> 20);
		return;
	}
	for (i = 0; i <= REPS; i++) {
		size_t off;

		held[i] = map(size);
		t0 = now();
		for (off = 0; off < size; off += PAGE)
			((volatile uint8_t *)held[i])[off] = 1;
		memset(held[i], 0x5a, size);
		ra[i] = rate(size, now() - t0);
	}
	printf("# first_touch_fresh: first round %.2f GB/s, not counted\n", ra[0]);
	report("first_touch_fresh", ra + 1);

	gen_random(buf, BATCH, 16);
	if (statvfs(dir, &vfs) ||
	    (unsigned long long)vfs.f_bavail * vfs.f_frsize < (REPS + 2ull) * size) {
		printf("# pagecache_write_fresh: skipped, it needs %llu MiB free in %s\n",
		       ((REPS + 2ull) * size) >> 20, dir);
	} else {
		for (i = 0; i <= REPS; i++) {
			char path[4096];
			size_t off;

			snprintf(path, sizeof(path), "%s/ckpt-limits.XXXXXX", dir);
			fds[nfd] = mkstemp(path);
			if (fds[nfd] < 0)
				die(path);
			unlink(path);	/* the data lives until close */
			t0 = now();
			for (off = 0; off < size; off += BATCH)
				if (write(fds[nfd], buf, BATCH) != (ssize_t)BATCH)
					die("writing the page-cache file");
			t1 = now();
			if (fsync(fds[nfd]))
				die("fsync");
			rs[i] = rate(size, now() - t0);
			rw[i] = rate(size, t1 - t0);
			nfd++;
		}
		printf("# pagecache_write_fresh: first round %.2f GB/s, not counted\n", rw[0]);
		report("pagecache_write_fresh", rw + 1);
		report("pagecache_write_fresh_fsync", rs + 1);
		while (nfd)
			close(fds[--nfd]);
	}
	for (i = 0; i <= REPS; i++)
		munmap(held[i], size);
	munmap(buf, BATCH);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("BENCH_DIR");
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;

	if (argc > 3 || !mib) {
		fprintf(stderr, "usage: limits [SIZE_MIB [DIR]]\n");
		return 2;
	}
	if (argc > 2)
		dir = argv[2];
	if (!dir || !*dir)
		dir = "/var/tmp";
	size = mib * MIB;
	printf("# %lu MiB, median of %d, GB/s (1e9 bytes/s)\n", mib, REPS);

	bench_fresh(dir);
	bench_first_touch("first_touch");
	bench_memcpy();
	bench_zero_check();
	bench_readv();
	bench_writev();
	bench_fork();
	bench_zstd("random");
	bench_zstd("zero");
	bench_zstd("text");
	bench_pagecache(dir);
	bench_first_touch("first_touch_again");
	return 0;
}
