/* counter: a self-checking counter for checkpoint/restart tests.
 *
 * usage: counter [-f MAPFILE] [-i MS] [-n COUNT] [-s STATUS] [-T STATUS] [-v]
 *   -f MAPFILE  file this program creates (2 pages of a known pattern) and maps
 *               MAP_PRIVATE; the counter is written into the private copy of
 *               its first page, the second page is never written and must keep
 *               the file's bytes.  Default: $TMPDIR/counter-PID.map (kept: a
 *               restart needs it).
 *   -i MS       tick interval in milliseconds (default 50)
 *   -n COUNT    exit after printing "tick COUNT"...
 *   -s STATUS   ...with this exit status (default 0)
 *   -T STATUS   on SIGTERM or SIGINT print "signal SIG at tick N" and exit
 *               with STATUS (default: those signals kill the process)
 *   -v          print the address of every copy on stderr
 *
 * Every tick (nanosleep) it increments one counter kept at once in a global,
 * a heap block, a stack variable, an anonymous private mapping, an anonymous
 * shared page, the private copy of a file mapping and a local (register)
 * variable, checks that all agree (and that the untouched bytes around them
 * are still what they were), then prints "tick N" on stdout, line-buffered.
 * On any disagreement it prints "CORRUPT <what>" and exits 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x636b70745f746b31ull	/* "ckpt_tk1" */
#define PAGE 4096
#define ANON_SIZE (1u << 20)
#define DEEP_SIZE (192 * 1024)

struct slot {
	uint64_t magic;
	uint64_t v;
	uint64_t nv;		/* ~v */
};

enum { R_GLOBAL, R_HEAP, R_STACK, R_ANON, R_SHARED, R_FILE, NREGIONS };
static const char *region_name[NREGIONS] = {
	"global", "heap", "stack", "anon-private", "anon-shared", "file-private",
};

/* In .data (initialised), so the data segment of the binary is covered. */
static struct slot g_slot = { MAGIC ^ R_GLOBAL, 0, ~0ull };
static volatile struct slot *slots[NREGIONS];
static volatile sig_atomic_t term_status = -1;
static volatile uint64_t *g_tick = &g_slot.v;

static void corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void corrupt(const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("CORRUPT %s\n", msg);
	fflush(stdout);
	fprintf(stderr, "counter: CORRUPT %s\n", msg);
	exit(3);
}

static uint8_t file_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static uint8_t deep_byte(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

/* Async-signal-safe "signal SIG at tick N" and exit. */
static void on_term(int sig)
{
	char buf[64], num[24];
	int n = 0, k = 0;
	uint64_t t = *g_tick;
	const char *p = "signal ";
	while (*p)
		buf[n++] = *p++;
	if (sig >= 10)
		buf[n++] = (char)('0' + sig / 10);
	buf[n++] = (char)('0' + sig % 10);
	p = " at tick ";
	while (*p)
		buf[n++] = *p++;
	do {
		num[k++] = (char)('0' + t % 10);
		t /= 10;
	} while (t);
	while (k)
		buf[n++] = num[--k];
	buf[n++] = '\n';
	if (write(1, buf, n) < 0) {
		/* nothing to do */
	}
	_exit(term_status);
}

static void check_slot(int r, uint64_t expect)
{
	volatile struct slot *s = slots[r];
	if (s->magic != (MAGIC ^ (uint64_t)r))
		corrupt("%s: magic %#" PRIx64 " (expected %#" PRIx64 ")", region_name[r],
			(uint64_t)s->magic, (uint64_t)(MAGIC ^ (uint64_t)r));
	if (s->v != expect)
		corrupt("%s: value %" PRIu64 ", expected %" PRIu64, region_name[r], (uint64_t)s->v, expect);
	if (s->nv != ~expect)
		corrupt("%s: complement %#" PRIx64 " does not match value %" PRIu64,
			region_name[r], (uint64_t)s->nv, expect);
}

static void sleep_ms(unsigned ms)
{
	struct timespec req = { ms / 1000, (long)(ms % 1000) * 1000000L }, rem;
	while (nanosleep(&req, &rem) == -1 && errno == EINTR)
		req = rem;
}

static void usage(void)
{
	fprintf(stderr, "usage: counter [-f MAPFILE] [-i MS] [-n COUNT] [-s STATUS] [-T STATUS] [-v]\n");
	exit(2);
}

/* The loop runs in its own frame with a large stack array, so the stack
 * grows over several pages that must come back intact. */
static void __attribute__((noinline)) run(unsigned interval, uint64_t exit_at, int exit_status,
					  uint8_t *anon, uint8_t *file)
{
	volatile uint8_t deep[DEEP_SIZE];
	volatile struct slot stack_slot = { MAGIC ^ R_STACK, 0, ~0ull };
	uint64_t n = 0;		/* the register copy */

	for (size_t i = 0; i < DEEP_SIZE; i++)
		deep[i] = deep_byte(i);
	slots[R_STACK] = &stack_slot;

	for (;;) {
		sleep_ms(interval);
		n++;
		for (int r = 0; r < NREGIONS; r++) {
			slots[r]->v = slots[r]->v + 1;
			slots[r]->nv = ~slots[r]->v;
		}
		for (int r = 0; r < NREGIONS; r++)
			check_slot(r, n);
		/* Bytes around the copies that must not change. */
		for (size_t i = 0; i < DEEP_SIZE; i += 509)
			if (deep[i] != deep_byte(i))
				corrupt("stack: deep byte %zu is %#x", i, deep[i]);
		for (size_t i = 0; i < ANON_SIZE; i += PAGE / 2) {
			size_t slot_off = ANON_SIZE / 2;
			if (i >= slot_off && i < slot_off + sizeof(struct slot))
				continue;
			if (anon[i] != 0)
				corrupt("anon-private: byte %zu is %#x, expected 0", i, anon[i]);
		}
		for (size_t i = 0; i < 2 * PAGE; i++) {
			if (i >= 1024 && i < 1024 + sizeof(struct slot))
				continue;
			if (file[i] != file_byte(i))
				corrupt("file-private: byte %zu is %#x, expected %#x", i, file[i],
					file_byte(i));
		}
		printf("tick %" PRIu64 "\n", n);
		if (exit_at && n >= exit_at) {
			fflush(stdout);
			exit(exit_status);
		}
	}
}

int main(int argc, char **argv)
{
	const char *mapfile = NULL;
	char defpath[4096];
	unsigned interval = 50;
	uint64_t exit_at = 0;
	int exit_status = 0, verbose = 0, opt;

	while ((opt = getopt(argc, argv, "f:i:n:s:T:v")) != -1) {
		switch (opt) {
		case 'f': mapfile = optarg; break;
		case 'i': interval = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': exit_at = strtoull(optarg, NULL, 10); break;
		case 's': exit_status = atoi(optarg); break;
		case 'T': term_status = atoi(optarg); break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!mapfile) {
		const char *tmp = getenv("TMPDIR");
		snprintf(defpath, sizeof(defpath), "%s/counter-%d.map", tmp && *tmp ? tmp : "/tmp",
			 (int)getpid());
		mapfile = defpath;
	}

	if (term_status >= 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}

	/* The file: 2 pages of file_byte(). */
	int fd = open(mapfile, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(mapfile);
		return 1;
	}
	uint8_t page[2 * PAGE];
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = file_byte(i);
	if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
		perror("write map file");
		return 1;
	}
	uint8_t *file = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED) {
		perror("mmap file");
		return 1;
	}
	close(fd);		/* the mapping stays; no fd is needed */

	uint8_t *heap = malloc(64 * 1024);	/* below the mmap threshold: [heap] */
	uint8_t *anon = mmap(NULL, ANON_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!heap || anon == MAP_FAILED || shared == MAP_FAILED) {
		perror("allocate");
		return 1;
	}
	memset(heap, 0x5a, 64 * 1024);

	slots[R_GLOBAL] = &g_slot;
	slots[R_HEAP] = (struct slot *)(heap + 4096);
	slots[R_ANON] = (struct slot *)(anon + ANON_SIZE / 2);
	slots[R_SHARED] = (struct slot *)(shared + 64);
	slots[R_FILE] = (struct slot *)(file + 1024);
	for (int r = 0; r < NREGIONS; r++) {
		if (r == R_GLOBAL || r == R_STACK)
			continue;
		slots[r]->magic = MAGIC ^ (uint64_t)r;
		slots[r]->v = 0;
		slots[r]->nv = ~0ull;
	}
	if (verbose)
		fprintf(stderr, "counter: pid %d global=%p heap=%p anon=%p shared=%p file=%p\n",
			(int)getpid(), (void *)slots[R_GLOBAL], (void *)slots[R_HEAP],
			(void *)slots[R_ANON], (void *)slots[R_SHARED], (void *)slots[R_FILE]);
	run(interval, exit_at, exit_status, anon, file);
	return 0;
}
