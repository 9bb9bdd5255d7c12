/* extfd: a process with one end of a pipe or socket whose other end is
 * another process's (an external end, for t-extfd.sh).
 *
 * usage: extfd -w FD [-i MS]   write "tick N\n" to FD every MS ms (50)
 *        extfd -r FD           read lines from FD
 *
 * Every fd but 0-2 and FD is closed first.  -w: a tick is counted once
 * written; SIGPIPE is ignored and a failed write is logged on stdout once
 * per errno ("EPIPE at tick N", "error E at tick N"), then tried again
 * every interval.  -r: each line read is logged as "got LINE"; end of file
 * as "EOF" (once; then it waits for ever).  stdout is line-buffered. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static _Noreturn void writer(int fd, int ms)
{
	unsigned long tick = 1;
	int last_err = 0;
	char line[64];

	for (;;) {
		int len = snprintf(line, sizeof(line), "tick %lu\n", tick);
		ssize_t n = write(fd, line, len);

		if (n == len) {
			tick++;
			last_err = 0;
		} else if (n < 0 && errno != EINTR && errno != EAGAIN && errno != last_err) {
			last_err = errno;
			if (errno == EPIPE)
				printf("EPIPE at tick %lu\n", tick);
			else
				printf("error %s at tick %lu\n", strerror(errno), tick);
		}
		nap(ms);
	}
}

static _Noreturn void reader(int fd)
{
	char buf[4096], line[4096];
	size_t have = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		size_t i;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (n < 0)
				printf("error %s\n", strerror(errno));
			else
				printf("EOF\n");
			for (;;)
				nap(1000);
		}
		for (i = 0; i < (size_t)n; i++) {
			if (buf[i] == '\n' || have == sizeof(line) - 1) {
				printf("got %.*s\n", (int)have, line);
				have = 0;
			} else {
				line[have++] = buf[i];
			}
		}
	}
}

int main(int argc, char **argv)
{
	int c, fd = -1, ms = 50, mode = 0;

	while ((c = getopt(argc, argv, "w:r:i:")) != -1) {
		switch (c) {
		case 'w': mode = 'w'; fd = atoi(optarg); break;
		case 'r': mode = 'r'; fd = atoi(optarg); break;
		case 'i': ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!mode || fd < 3 || ms <= 0) {
		fprintf(stderr, "usage: extfd -w FD [-i MS] | -r FD\n");
		return 2;
	}
	close_range(3, fd - 1, 0);
	close_range(fd + 1, ~0U, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	printf("ready\n");
	if (mode == 'w')
		writer(fd, ms);
	reader(fd);
}
