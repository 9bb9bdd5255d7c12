/* sockpair: unix socket pairs between processes of a tree, for
 * checkpoint/restart tests.
 *
 * usage: sockpair -d DIR [-i MS]
 *   The root makes three pairs (SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM)
 *   and forks "child", which keeps one end of each (the root the other);
 *   then a stream pair whose ends go to two more children, "left" and
 *   "right" (the root closes both: their common ancestor is the root).
 *   Every tick each process sends its next number on each of its sockets
 *   (16-byte records "%015llu\n"), and every other tick reads all that
 *   came, checking that the numbers follow each other (none lost,
 *   repeated or out of order; a datagram or seqpacket message whole), so
 *   messages are mostly waiting in the queues when it is checkpointed.
 *   Each logs "tick N" to DIR/NAME.log; DIR/ready appears when all are
 *   set up.  Anything wrong (a peer gone, nothing received for 40 ticks,
 *   a number out of order) logs "CORRUPT ..." and exits 3.
 *   -i MS tick interval (default 50)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REC 16
#define MAXS 4

struct sock {
	const char *what;
	int fd, type;
	unsigned long long sent, got;	/* next to send, next expected */
	char part[REC];			/* stream: a record begun */
	size_t npart;
	int idle;			/* ticks without anything received */
};

static char name[32] = "root";
static FILE *logf;
static struct sock socks[MAXS];
static int nsocks;

static void corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void corrupt(const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (logf) {
		fprintf(logf, "CORRUPT %s: %s\n", name, msg);
		fflush(logf);
	}
	fprintf(stderr, "CORRUPT %s: %s\n", name, msg);
	exit(3);
}

static void open_log(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	logf = fopen(path, "a");
	if (!logf) {
		perror(path);
		exit(2);
	}
	setvbuf(logf, NULL, _IOLBF, 0);
}

static void add(const char *what, int fd, int type)
{
	socks[nsocks++] = (struct sock){ .what = what, .fd = fd, .type = type };
}

static void got_one(struct sock *s, const char *rec, size_t len)
{
	char want[REC + 1];

	snprintf(want, sizeof(want), "%015llu\n", s->got);
	if (len != REC || memcmp(rec, want, REC))
		corrupt("%s: got \"%.*s\" (%zu bytes), expected %llu", s->what,
			(int)(len > REC ? REC : len), rec, len, s->got);
	s->got++;
	s->idle = 0;
}

static void receive(struct sock *s)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			corrupt("%s: recv: %s", s->what, strerror(errno));
		if (n == 0 && s->type == SOCK_STREAM)
			corrupt("%s: the peer closed", s->what);
		if (s->type != SOCK_STREAM) {
			got_one(s, buf, (size_t)n);
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			s->part[s->npart++] = buf[i];
			if (s->npart == REC) {
				got_one(s, s->part, REC);
				s->npart = 0;
			}
		}
	}
}

static void send_next(struct sock *s)
{
	char rec[REC + 1];

	snprintf(rec, sizeof(rec), "%015llu\n", s->sent);
	if (send(s->fd, rec, REC, MSG_NOSIGNAL) != REC)
		corrupt("%s: send %llu: %s", s->what, s->sent, strerror(errno));
	s->sent++;
}

static void run(long interval_ms)
{
	struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
	unsigned long long tick = 0;

	for (;;) {
		tick++;
		for (int i = 0; i < nsocks; i++) {
			send_next(&socks[i]);
			if (tick % 2 == 0)
				receive(&socks[i]);
			if (++socks[i].idle > 40)
				corrupt("%s: nothing received for 40 ticks (got %llu)",
					socks[i].what, socks[i].got);
		}
		fprintf(logf, "tick %llu\n", tick);
		nanosleep(&ts, NULL);
	}
}

/* In a new child: become child_name, with these sockets. */
static void become(const char *dir, const char *child_name, const int *keep, int nkeep,
		   const char *const *what, const int *types, long interval_ms)
{
	snprintf(name, sizeof(name), "%s", child_name);
	open_log(dir);
	nsocks = 0;
	for (int i = 0; i < nkeep; i++)
		add(what[i], keep[i], types[i]);
	run(interval_ms);
	exit(0);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	long interval_ms = 50;
	int opt, st[2], sq[2], sg[2], lr[2];
	char path[4096];

	while ((opt = getopt(argc, argv, "d:i:")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'i')
			interval_ms = atol(optarg);
		else
			return 2;
	}
	if (!dir || interval_ms <= 0) {
		fprintf(stderr, "usage: sockpair -d DIR [-i MS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, sg) || socketpair(AF_UNIX, SOCK_STREAM, 0, lr)) {
		perror("socketpair");
		return 2;
	}
	{
		/* The child: ends 1 of the three; not the left/right pair. */
		int keep[3] = { st[1], sq[1], sg[1] }, types[3] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
		const char *what[3] = { "stream from root", "seqpacket from root", "dgram from root" };
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (pid == 0) {
			close(st[0]);
			close(sq[0]);
			close(sg[0]);
			close(lr[0]);
			close(lr[1]);
			become(dir, "child", keep, 3, what, types, interval_ms);
		}
	}
	close(st[1]);
	close(sq[1]);
	close(sg[1]);
	{
		int l[1] = { lr[0] }, r[1] = { lr[1] }, types[1] = { SOCK_STREAM };
		const char *wl[1] = { "stream from right" }, *wr[1] = { "stream from left" };
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (pid == 0) {
			close(st[0]);
			close(sq[0]);
			close(sg[0]);
			close(lr[1]);
			become(dir, "left", l, 1, wl, types, interval_ms);
		}
		pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			close(st[0]);
			close(sq[0]);
			close(sg[0]);
			close(lr[0]);
			become(dir, "right", r, 1, wr, types, interval_ms);
		}
	}
	close(lr[0]);
	close(lr[1]);
	open_log(dir);
	add("stream from child", st[0], SOCK_STREAM);
	add("seqpacket from child", sq[0], SOCK_SEQPACKET);
	add("dgram from child", sg[0], SOCK_DGRAM);
	snprintf(path, sizeof(path), "%s/ready", dir);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	run(interval_ms);
	return 0;
}
