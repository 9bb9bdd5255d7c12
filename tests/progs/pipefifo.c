/* pipefifo: pipes and FIFOs the way programs hold them.  Every tick
 * (200 ms) checks what can be looked at without consuming ("tick N ok");
 * SIGUSR1 reads every queue and checks its contents ("data ok").  Any
 * difference prints "CORRUPT <what>" and exits 3.
 *   pipe A     the read end and the write end each open twice: the fds of
 *              pipe(), a dup of each, and a second open file of each made by
 *              opening /proc/self/fd/N; only the first writer is O_NONBLOCK;
 *              pipe size 256 KiB, 100000 bytes queued (in sequence), which
 *              must come out exactly once;
 *   pipe B     packet mode (pipe2 O_DIRECT): three packets, each read alone,
 *              then two writes merged after clearing O_DIRECT on the writer;
 *              the reader is set O_DIRECT|O_NONBLOCK (flags of each end);
 *   fifo       DIR/fifo open read-write, 5000 bytes queued;
 *   fifo-w     DIR/fifo-w open write-only and non-blocking, with no reader;
 *   ghost      DIR/ghost (mode 0640, owner 4242:4343 when run as root)
 *              opened read-only, 300 bytes queued
 *              through another fd, then unlinked and that fd closed;
 *   ghost-w    DIR/ghost-w opened write-only (no reader), then unlinked;
 *   fifo-r     DIR/fifo-r opened read-only, non-blocking, no writer ever:
 *              poll shows no POLLHUP;
 *   fifo-hup   the same, but a writer came and went: poll shows POLLHUP;
 *   widowed    a pipe whose write end was closed with 9 bytes queued: the
 *              reader gets them, then end of file; and a pipe whose read end
 *              was closed: its writer gets EPIPE (SIGPIPE ignored).
 * usage: pipefifo DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define A_BYTES 100000
#define A_SIZE (256 * 1024)
#define FIFO_BYTES 5000
#define GHOST_BYTES 300

static volatile sig_atomic_t check_data;

static void corrupt(const char *what)
{
	printf("CORRUPT %s\n", what);
	exit(3);
}

static void on_usr1(int sig)
{
	(void)sig;
	check_data = 1;
}

static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

static int queued(int fd)
{
	int n = -1;

	return ioctl(fd, FIONREAD, &n) ? -1 : n;
}

static void fill(int fd, unsigned seed, size_t n)
{
	unsigned char buf[4096];
	size_t done = 0, i;

	while (done < n) {
		size_t chunk = n - done < sizeof(buf) ? n - done : sizeof(buf);
		for (i = 0; i < chunk; i++)
			buf[i] = (unsigned char)(seed + done + i);
		if (write(fd, buf, chunk) != (ssize_t)chunk)
			corrupt("filling a queue");
		done += chunk;
	}
}

/* Read exactly n bytes (blocking fd) and check the sequence. */
static void drain(int fd, unsigned seed, size_t n, const char *what)
{
	unsigned char buf[4096];
	size_t done = 0, i;

	while (done < n) {
		size_t chunk = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t got = read(fd, buf, chunk);
		if (got <= 0)
			corrupt(what);
		for (i = 0; i < (size_t)got; i++)
			if (buf[i] != (unsigned char)(seed + done + i))
				corrupt(what);
		done += got;
	}
}

static int flags_of(int fd) { return fcntl(fd, F_GETFL); }

static int hangup(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static int deleted(int fd)
{
	char path[64], link[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	return strstr(link, " (deleted)") != NULL;
}

static int same_file(int fd, const char *path)
{
	struct stat a, b;
	return !fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int main(int argc, char **argv)
{
	char fifo[4096], fifo_w[4096], ghost[4096], ghost_w[4096], fifo_r[4096], fifo_hup[4096];
	int a[2], a_rdup, a_wdup, a_r2, a_w2, b[2], f, fw, g, gw, fr, fh, tmp, tick, wr[2], ww[2];
	uid_t ghost_uid;
	gid_t ghost_gid;
	struct stat st;
	char buf[64];

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	signal(SIGPIPE, SIG_IGN);
	snprintf(fifo, sizeof(fifo), "%s/fifo", argv[1]);
	snprintf(fifo_w, sizeof(fifo_w), "%s/fifo-w", argv[1]);
	snprintf(ghost, sizeof(ghost), "%s/ghost", argv[1]);
	snprintf(ghost_w, sizeof(ghost_w), "%s/ghost-w", argv[1]);
	snprintf(fifo_r, sizeof(fifo_r), "%s/fifo-r", argv[1]);
	snprintf(fifo_hup, sizeof(fifo_hup), "%s/fifo-hup", argv[1]);

	if (pipe(a) || fcntl(a[1], F_SETPIPE_SZ, A_SIZE) != A_SIZE)
		corrupt("setting up pipe A");
	a_rdup = dup(a[0]);
	a_wdup = dup(a[1]);
	a_r2 = reopen(a[0], O_RDONLY);
	a_w2 = reopen(a[1], O_WRONLY);
	if (a_rdup < 0 || a_wdup < 0 || a_r2 < 0 || a_w2 < 0)
		corrupt("setting up pipe A");
	fill(a[1], 7, A_BYTES);
	if (fcntl(a[1], F_SETFL, O_NONBLOCK))
		corrupt("setting up pipe A");

	if (pipe2(b, O_DIRECT) || write(b[1], "one", 3) != 3 || write(b[1], "two!", 4) != 4 ||
	    write(b[1], "three", 5) != 5 || fcntl(b[1], F_SETFL, 0) ||
	    write(b[1], "rest", 4) != 4 || write(b[1], "more", 4) != 4 ||
	    fcntl(b[0], F_SETFL, O_DIRECT | O_NONBLOCK))
		corrupt("setting up pipe B");

	if (mkfifo(fifo, 0600) || (f = open(fifo, O_RDWR)) < 0)
		corrupt("setting up the fifo");
	fill(f, 3, FIFO_BYTES);

	if (mkfifo(fifo_w, 0600) || (tmp = open(fifo_w, O_RDWR)) < 0 ||
	    (fw = open(fifo_w, O_WRONLY | O_NONBLOCK)) < 0)
		corrupt("setting up fifo-w");
	close(tmp);

	/* As root, the ghost belongs to someone else. */
	ghost_uid = geteuid() ? geteuid() : 4242;
	ghost_gid = geteuid() ? getegid() : 4343;
	if (mkfifo(ghost, 0600) || chown(ghost, ghost_uid, ghost_gid) || chmod(ghost, 0640) ||
	    (tmp = open(ghost, O_RDWR)) < 0 || (g = open(ghost, O_RDONLY)) < 0)
		corrupt("setting up the ghost fifo");
	fill(tmp, 11, GHOST_BYTES);
	unlink(ghost);
	close(tmp);

	if (mkfifo(ghost_w, 0600) || (tmp = open(ghost_w, O_RDWR)) < 0 ||
	    (gw = open(ghost_w, O_WRONLY)) < 0 || unlink(ghost_w))
		corrupt("setting up ghost-w");
	close(tmp);

	if (mkfifo(fifo_r, 0600) || (fr = open(fifo_r, O_RDONLY | O_NONBLOCK)) < 0 ||
	    mkfifo(fifo_hup, 0600) || (fh = open(fifo_hup, O_RDONLY | O_NONBLOCK)) < 0 ||
	    (tmp = open(fifo_hup, O_WRONLY)) < 0 || close(tmp))
		corrupt("setting up fifo-r and fifo-hup");

	if (pipe(wr) || write(wr[1], "last word", 9) != 9 || close(wr[1]) || pipe(ww) || close(ww[0]))
		corrupt("setting up the widowed pipes");

	printf("ready pid %d\n", getpid());
	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 200000000 };

		while (nanosleep(&ts, &ts) && !check_data)
			;
		if (queued(a[0]) != A_BYTES || fcntl(a[0], F_GETPIPE_SZ) != A_SIZE)
			corrupt("pipe A queue or size");
		if (!(flags_of(a[1]) & O_NONBLOCK) || !(flags_of(a_wdup) & O_NONBLOCK) ||
		    (flags_of(a_w2) & O_NONBLOCK) || (flags_of(a[0]) & O_NONBLOCK) ||
		    (flags_of(a_r2) & O_ACCMODE) != O_RDONLY || (flags_of(a_w2) & O_ACCMODE) != O_WRONLY)
			corrupt("pipe A flags");
		if (queued(b[0]) != 20 || (flags_of(b[1]) & O_DIRECT) || !(flags_of(b[0]) & O_DIRECT) ||
		    !(flags_of(b[0]) & O_NONBLOCK) || (flags_of(b[1]) & O_NONBLOCK))
			corrupt("pipe B queue or flags");
		if (queued(f) != FIFO_BYTES || !same_file(f, fifo) || (flags_of(f) & O_ACCMODE) != O_RDWR)
			corrupt("fifo");
		if (!same_file(fw, fifo_w) || (flags_of(fw) & O_ACCMODE) != O_WRONLY ||
		    !(flags_of(fw) & O_NONBLOCK))
			corrupt("fifo-w");
		if (queued(g) != GHOST_BYTES || fstat(g, &st) || st.st_mode != (S_IFIFO | 0640) ||
		    st.st_uid != ghost_uid || st.st_gid != ghost_gid ||
		    !deleted(g) || (flags_of(g) & O_ACCMODE) != O_RDONLY || !hangup(g))
			corrupt("ghost fifo");
		if (!deleted(gw) || (flags_of(gw) & O_ACCMODE) != O_WRONLY || fstat(gw, &st) ||
		    !S_ISFIFO(st.st_mode))
			corrupt("ghost-w fifo");
		if (!same_file(fr, fifo_r) || hangup(fr) || !same_file(fh, fifo_hup) || !hangup(fh))
			corrupt("fifo-r or fifo-hup (POLLHUP)");
		{
			struct pollfd p[2] = { { .fd = wr[0] }, { .fd = ww[1] } };
			if (poll(p, 2, 0) != 2 || !(p[0].revents & POLLHUP) || !(p[1].revents & POLLERR) ||
			    queued(wr[0]) != 9)
				corrupt("widowed pipes");
		}
		if (check_data)
			break;
		printf("tick %d ok\n", tick);
	}

	/* The queues, each exactly once. */
	drain(a_r2, 7, A_BYTES, "pipe A data");
	if (queued(a[0]) != 0)
		corrupt("pipe A data twice");
	if (read(b[0], buf, sizeof(buf)) != 3 || memcmp(buf, "one", 3) ||
	    read(b[0], buf, sizeof(buf)) != 4 || memcmp(buf, "two!", 4) ||
	    read(b[0], buf, sizeof(buf)) != 5 || memcmp(buf, "three", 5) ||
	    read(b[0], buf, sizeof(buf)) != 8 || memcmp(buf, "restmore", 8))
		corrupt("pipe B packets");
	drain(f, 3, FIFO_BYTES, "fifo data");
	drain(g, 11, GHOST_BYTES, "ghost fifo data");
	if (read(g, buf, 1) != 0)
		corrupt("ghost fifo has a writer");
	if (read(wr[0], buf, sizeof(buf)) != 9 || memcmp(buf, "last word", 9) ||
	    read(wr[0], buf, sizeof(buf)) != 0)
		corrupt("widowed reader");
	if (write(ww[1], "x", 1) != -1 || errno != EPIPE)
		corrupt("widowed writer");
	/* Both writers of pipe A still write into the one pipe. */
	if (write(a_w2, "x", 1) != 1 || write(a_wdup, "y", 1) != 1 ||
	    read(a_rdup, buf, 2) != 2 || memcmp(buf, "xy", 2))
		corrupt("pipe A writers");
	printf("data ok\n");
	return 0;
}
