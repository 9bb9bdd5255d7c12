/* sleeper: a process that spends its life blocked in a system call, for
 * checkpointing in the middle of one.
 *
 * usage: sleeper MODE [-n COUNT]
 *   nanosleep   one 1-second nanosleep at a time; prints "tick N" after each.
 *               An interrupted sleep (EINTR) is resumed until the full second
 *               has passed (printed as "note: nanosleep EINTR"); a sleep that
 *               returns 0 before its second is up is CORRUPT.
 *   read        (alias pipe-read) blocks in read(0); prints "got N LINE" for
 *               the N-th line read, "eof" at end of input (then exits 0).
 *               Unbuffered: the kernel offset is exactly after the last line.
 *   poll        poll() on no fds with a 1 s timeout, in a loop; "tick N".
 *   -n COUNT    exit 0 after tick/line COUNT.
 * The count is kept in a global, on the stack and in a register; if they
 * disagree it prints "CORRUPT ..." and exits 3.  stdout is line-buffered.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t g_count;

static void check(uint64_t n, volatile uint64_t *stack_copy)
{
	if (g_count != n || *stack_copy != n) {
		printf("CORRUPT count: global %" PRIu64 " stack %" PRIu64 " register %" PRIu64 "\n",
		       (uint64_t)g_count, (uint64_t)*stack_copy, n);
		fflush(stdout);
		exit(3);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void one_second_nanosleep(void)
{
	uint64_t deadline = now_ns() + 1000000000ull;
	struct timespec req = { 1, 0 }, rem;
	for (;;) {
		if (nanosleep(&req, &rem) == 0) {
			uint64_t t = now_ns();
			/* nanosleep never returns 0 early (allow 20 ms for clock skew). */
			if (t + 20000000ull < deadline) {
				printf("CORRUPT nanosleep returned 0 after %.3f s of 1 s\n",
				       1.0 - (double)(deadline - t) / 1e9);
				fflush(stdout);
				exit(3);
			}
			return;
		}
		if (errno != EINTR) {
			printf("CORRUPT nanosleep: %s\n", strerror(errno));
			exit(3);
		}
		printf("note: nanosleep EINTR\n");
		uint64_t t = now_ns();
		if (t >= deadline)
			return;
		req.tv_sec = (time_t)((deadline - t) / 1000000000ull);
		req.tv_nsec = (long)((deadline - t) % 1000000000ull);
	}
}

static void one_second_poll(void)
{
	uint64_t deadline = now_ns() + 1000000000ull;
	for (;;) {
		uint64_t t = now_ns();
		if (t >= deadline)
			return;
		int r = poll(NULL, 0, (int)((deadline - t + 999999) / 1000000));
		if (r < 0 && errno == EINTR)
			printf("note: poll EINTR\n");
		else if (r < 0) {
			printf("CORRUPT poll: %s\n", strerror(errno));
			exit(3);
		} else if (r > 0) {
			printf("CORRUPT poll on no fds returned %d\n", r);
			exit(3);
		}
	}
}

/* One line from fd 0, byte by byte, NUL-terminated without its newline.
 * Returns 0, or -1 at end of input with nothing read. */
static int read_line(char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r < 0 && errno == EINTR) {
			printf("note: read EINTR\n");
			continue;
		}
		if (r < 0) {
			printf("CORRUPT read: %s\n", strerror(errno));
			exit(3);
		}
		if (r == 0)
			return n ? 0 : -1;	/* partial last line, or end */
		if (c == '\n')
			return 0;
		if (n + 1 < size) {
			buf[n++] = c;
			buf[n] = 0;
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode;
	uint64_t limit = 0;
	volatile uint64_t stack_copy = 0;
	uint64_t n = 0;
	char line[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: sleeper nanosleep|read|pipe-read|poll [-n COUNT]\n");
		return 2;
	}
	mode = argv[1];
	if (argc == 4 && strcmp(argv[2], "-n") == 0)
		limit = strtoull(argv[3], NULL, 10);
	else if (argc != 2) {
		fprintf(stderr, "usage: sleeper nanosleep|read|pipe-read|poll [-n COUNT]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (strcmp(mode, "read") && strcmp(mode, "pipe-read") && strcmp(mode, "nanosleep") &&
	    strcmp(mode, "poll")) {
		fprintf(stderr, "sleeper: unknown mode %s\n", mode);
		return 2;
	}
	printf("sleeper %s pid %d\n", mode, (int)getpid());
	for (;;) {
		if (mode[0] == 'n') {
			one_second_nanosleep();
		} else if (mode[0] == 'p' && mode[1] == 'o') {
			one_second_poll();
		} else {
			if (read_line(line, sizeof(line)) < 0) {
				printf("eof\n");
				return 0;
			}
		}
		n++;
		g_count++;
		stack_copy++;
		check(n, &stack_copy);
		if (mode[0] == 'n' || (mode[0] == 'p' && mode[1] == 'o'))
			printf("tick %" PRIu64 "\n", n);
		else
			printf("got %" PRIu64 " %s\n", n, line);
		if (limit && n >= limit)
			return 0;
	}
}
