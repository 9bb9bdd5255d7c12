/* miscfd: one process holding one family of less common fds, checked by
 * itself after restart.  It sets the state up, prints "ready", then waits;
 * SIGUSR1 makes it check everything, print "ok" (exit 0) or
 * "CORRUPT <what>" (exit 3).
 *
 *   miscfd epoll   epoll A watches: pipe 1 through fd 200, closed since
 *                  (EPOLLIN|EPOLLET, data 0x1111); pipe 2 through fd 201,
 *                  which holds pipe 3 since (EPOLLIN|EPOLLONESHOT, data
 *                  0x2222); pipe 3 through fd 201 too (EPOLLIN|EPOLLEXCLUSIVE,
 *                  data 0x3333).  Epoll B watches A (EPOLLIN, data 0x4444).
 *                  Checked: A's fdinfo lists the same tfd/events/data; a
 *                  byte in each pipe gives each watch's event with its data,
 *                  once for the edge-triggered and the one-shot ones; B sees
 *                  A readable.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static volatile sig_atomic_t check_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

static void corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void corrupt(const char *fmt, ...)
{
	va_list ap;

	printf("CORRUPT ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(3);
}

static void die(const char *what)
{
	printf("setup failed: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The "tfd: events: data:" part of every watch line of an epoll's fdinfo,
 * sorted (the kernel lists them in the order of its files' addresses). */
static void epoll_watches(int ep, char *out, size_t size)
{
	char path[64], line[256], w[16][64];
	FILE *f;
	size_t used = 0, n = 0, i;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	out[0] = 0;
	if (!(f = fopen(path, "r")))
		die("fdinfo");
	while (fgets(line, sizeof(line), f) && n < 16) {
		int tfd;
		unsigned ev;
		unsigned long long data;
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &ev, &data) == 3)
			snprintf(w[n++], sizeof(w[0]), "%d:%x:%llx ", tfd, ev, data);
	}
	fclose(f);
	qsort(w, n, sizeof(w[0]), cmp_str);
	for (i = 0; i < n; i++)
		used += snprintf(out + used, size - used, "%s", w[i]);
}

struct epoll_state {
	int a, b, p1[2], p2[2], p3[2];
	char watches[512];
};

static void epoll_setup(struct epoll_state *s)
{
	struct epoll_event ev;

	if (pipe(s->p1) || pipe(s->p2) || pipe(s->p3))
		die("pipe");
	s->a = epoll_create1(0);
	s->b = epoll_create1(EPOLL_CLOEXEC);
	if (s->a < 0 || s->b < 0)
		die("epoll_create1");
	if (dup2(s->p1[0], 200) != 200)
		die("dup2 200");
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 0x1111 };
	if (epoll_ctl(s->a, EPOLL_CTL_ADD, 200, &ev))
		die("add 200");
	close(200);
	if (dup2(s->p2[0], 201) != 201)
		die("dup2 201");
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x2222 };
	if (epoll_ctl(s->a, EPOLL_CTL_ADD, 201, &ev))
		die("add 201");
	if (dup2(s->p3[0], 201) != 201)
		die("dup2 201 again");
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = 0x3333 };
	if (epoll_ctl(s->a, EPOLL_CTL_ADD, 201, &ev))
		die("add 201 again");
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 0x4444 };
	if (epoll_ctl(s->b, EPOLL_CTL_ADD, s->a, &ev))
		die("add epoll");
	epoll_watches(s->a, s->watches, sizeof(s->watches));
}

/* The events epoll fd ep has now, as a bit per known data value. */
static unsigned epoll_events(int ep)
{
	struct epoll_event got[8];
	unsigned seen = 0;
	int n, i;

	n = epoll_wait(ep, got, 8, 0);
	for (i = 0; i < n; i++) {
		switch (got[i].data.u64) {
		case 0x1111: seen |= 1; break;
		case 0x2222: seen |= 2; break;
		case 0x3333: seen |= 4; break;
		case 0x4444: seen |= 8; break;
		default: corrupt("epoll event with data %#llx", (unsigned long long)got[i].data.u64);
		}
	}
	return seen;
}

static void epoll_check(struct epoll_state *s)
{
	char now[512];
	unsigned seen;

	epoll_watches(s->a, now, sizeof(now));
	if (strcmp(now, s->watches))
		corrupt("epoll watches '%s', expected '%s'", now, s->watches);
	if ((seen = epoll_events(s->a)))
		corrupt("epoll events %#x before any write", seen);
	if (epoll_events(s->b))
		corrupt("the epoll of the epoll is ready before any write");
	if (write(s->p1[1], "x", 1) != 1 || write(s->p2[1], "x", 1) != 1 ||
	    write(s->p3[1], "x", 1) != 1)
		die("write");
	if ((seen = epoll_events(s->b)) != 8)
		corrupt("the epoll of the epoll reports %#x, expected its watch (8)", seen);
	if ((seen = epoll_events(s->a)) != 7)
		corrupt("epoll events %#x after a write in each pipe, expected 7", seen);
	/* Edge-triggered and one-shot: reported once; level-triggered: again. */
	if ((seen = epoll_events(s->a)) != 4)
		corrupt("epoll events %#x the second time, expected 4 (EPOLLET, EPOLLONESHOT)",
			seen);
}

int main(int argc, char **argv)
{
	struct epoll_state ep;
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	if (!strcmp(mode, "epoll"))
		epoll_setup(&ep);
	else {
		fprintf(stderr, "usage: miscfd epoll\n");
		return 2;
	}
	printf("ready\n");
	while (!check_now)
		usleep(20000);
	if (!strcmp(mode, "epoll"))
		epoll_check(&ep);
	printf("ok\n");
	return 0;
}
