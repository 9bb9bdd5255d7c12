/* fdkinds: one process holding every kind of fd ckpt restores, each
 * checked every tick (200 ms), printing "tick N ok" or "CORRUPT <what>"
 * (exit 3):
 *   pipe      a self-pipe filled with 200 bytes at start; one byte read per
 *             tick must be the next of the sequence (the buffer survives);
 *   eventfd   semaphore mode, counter 1000 at start, one read per tick:
 *             fdinfo's eventfd-count must be 1000 - ticks;
 *   timerfd   periodic, 50 ms: every tick reads at least one expiration;
 *             it is close-on-exec, the eventfd is not: both flags kept;
 *   signalfd  SIGUSR1 (blocked): each one received prints "usr1 via signalfd";
 *   epoll     watching the pipe (data 0xabc) and the eventfd: epoll_wait(0)
 *             reports the pipe readable with its data;
 *   dup       a regular file open twice by dup(): both fds at one offset;
 *   deleted   a file unlinked while open: its contents unchanged;
 *   memfd     "fdkinds" with F_SEAL_SHRINK|F_SEAL_GROW: contents and seals;
 *   locks     flock(LOCK_EX) on the dup'ed file, a POSIX write lock on bytes
 *             10-29 and an OFD read lock on bytes 100-199 of DIR/fdkinds-locks:
 *             all three still listed in fdinfo;
 *   inotify   a watch on DIR/sub for IN_CREATE, with wd 2 (wd 1, on DIR,
 *             was removed: a gap); each tick creates DIR/sub/N, and the
 *             event must come with wd 2 and name N;
 *   async     a second self-pipe, its read end signal-driven (O_ASYNC,
 *             F_SETOWN to the process): each tick writes a byte, which must
 *             bring a SIGIO;
 *   ghostwatch a second inotify fd watching DIR/fdkinds-watched for
 *             IN_MODIFY, the file then deleted but kept open (on an fd
 *             above the inotify fd): each tick writes to it, and the event
 *             must come with wd 1.
 * usage: fdkinds DIR   (DIR for the two regular files)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void corrupt(const char *what)
{
	printf("CORRUPT %s\n", what);
	exit(3);
}

static unsigned long long eventfd_count(int fd)
{
	char path[64], line[128];
	unsigned long long v = ~0ull;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "eventfd-count: %llx", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

static int fdinfo_has(int fd, const char *text)
{
	char path[64], buf[4096];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY);
	n = f < 0 ? -1 : read(f, buf, sizeof(buf) - 1);
	if (f >= 0)
		close(f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strstr(buf, text) != NULL;
}

int main(int argc, char **argv)
{
	static const char secret[] = "deleted but not gone";
	char path[4096], buf[64];
	int p[2], ap[2], gino, gfd, efd, tfd, sfd, ep, a, b, del, mfd, ino, wd, lk1, lk2, tick;
	struct itimerspec its = { { 0, 50000000 }, { 0, 50000000 } };
	struct epoll_event ev;
	sigset_t mask;
	unsigned char seq;
	uint64_t v;

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(p))
		corrupt("pipe");
	for (int i = 0; i < 200; i++) {
		seq = i;
		if (write(p[1], &seq, 1) != 1)
			corrupt("filling the pipe");
	}
	efd = eventfd(1000, EFD_SEMAPHORE | EFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	timerfd_settime(tfd, 0, &its, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK);
	ep = epoll_create1(0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 0xabc };
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 0xdef };
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	snprintf(path, sizeof(path), "%s/fdkinds-dup", argv[1]);
	a = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	b = dup(a);
	snprintf(path, sizeof(path), "%s/fdkinds-deleted", argv[1]);
	del = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (a < 0 || b < 0 || del < 0 || write(del, secret, sizeof(secret)) != sizeof(secret))
		corrupt("setting up files");
	unlink(path);
	mfd = memfd_create("fdkinds", MFD_ALLOW_SEALING);
	if (mfd < 0 || write(mfd, "memfd data", 10) != 10 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		corrupt("setting up the memfd");
	snprintf(path, sizeof(path), "%s/fdkinds-locks", argv[1]);
	lk1 = open(path, O_RDWR | O_CREAT, 0644);
	lk2 = open(path, O_RDWR);
	{
		struct flock posix = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20 };
		struct flock ofd = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 100 };
		if (flock(a, LOCK_EX) || fcntl(lk1, F_SETLK, &posix) || fcntl(lk2, F_OFD_SETLK, &ofd))
			corrupt("taking locks");
	}
		ino = inotify_init1(IN_NONBLOCK);
	snprintf(path, sizeof(path), "%s/sub", argv[1]);
	mkdir(path, 0755);
	wd = inotify_add_watch(ino, argv[1], IN_CREATE);
	if (inotify_rm_watch(ino, wd) || (wd = inotify_add_watch(ino, path, IN_CREATE)) != 2)
		corrupt("setting up inotify");
	while (read(ino, buf, sizeof(buf)) > 0)	/* the IN_IGNORED of wd 1 */
		;
	{
		struct sigaction sa = { .sa_handler = on_sigio, .sa_flags = SA_RESTART };
		if (pipe2(ap, O_NONBLOCK) || sigaction(SIGIO, &sa, NULL) ||
		    fcntl(ap[0], F_SETOWN, getpid()) ||
		    fcntl(ap[0], F_SETFL, fcntl(ap[0], F_GETFL) | O_ASYNC))
			corrupt("setting up the O_ASYNC pipe");
	}
	gino = inotify_init1(IN_NONBLOCK);
	snprintf(path, sizeof(path), "%s/fdkinds-watched", argv[1]);
	gfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (gino < 0 || gfd < gino || inotify_add_watch(gino, path, IN_MODIFY) != 1 || unlink(path))
		corrupt("setting up the watch on a deleted file");
	printf("ready pid %d\n", getpid());
	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 200000000 };
		struct signalfd_siginfo si;
		struct epoll_event got[4];
		int n, i, pipe_seen = 0;

		while (nanosleep(&ts, &ts))	/* EINTR: sleep the rest */
			;
		if (read(p[0], &seq, 1) != 1 || seq != (unsigned char)(tick - 1))
			corrupt("pipe data out of sequence");
		if (read(efd, &v, sizeof(v)) != sizeof(v) || v != 1 ||
		    eventfd_count(efd) != 1000ull - tick)
			corrupt("eventfd counter");
		if (read(tfd, &v, sizeof(v)) != sizeof(v) || v < 1)
			corrupt("timerfd not expiring");
		if (fcntl(tfd, F_GETFD) != FD_CLOEXEC || fcntl(efd, F_GETFD) != 0)
			corrupt("close-on-exec flags");
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo == SIGUSR1)
				printf("usr1 via signalfd\n");
		n = epoll_wait(ep, got, 4, 0);
		for (i = 0; i < n; i++)
			if (got[i].data.u64 == 0xabc)
				pipe_seen = 1;
		if (!pipe_seen)
			corrupt("epoll lost the pipe");
		if (write(a, "x", 1) != 1 || lseek(a, 0, SEEK_CUR) != lseek(b, 0, SEEK_CUR) ||
		    lseek(b, 0, SEEK_CUR) != tick)
			corrupt("dup'ed fds do not share one offset");
		if (pread(del, buf, sizeof(secret), 0) != sizeof(secret) || memcmp(buf, secret, sizeof(secret)))
			corrupt("deleted file contents");
		if (pread(mfd, buf, 10, 0) != 10 || memcmp(buf, "memfd data", 10) ||
		    fcntl(mfd, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW))
			corrupt("memfd contents or seals");
		{
			char ev_buf[512], name[32];
			struct inotify_event *ev = (struct inotify_event *)ev_buf;
			snprintf(name, sizeof(name), "%d", tick);
			snprintf(path, sizeof(path), "%s/sub/%d", argv[1], tick);
			close(open(path, O_CREAT | O_WRONLY, 0644));
			if (read(ino, ev_buf, sizeof(ev_buf)) <= 0 || ev->wd != wd ||
			    !(ev->mask & IN_CREATE) || strcmp(ev->name, name))
				corrupt("inotify event");
		}
		if (!fdinfo_has(a, "FLOCK  ADVISORY  WRITE") ||
		    !fdinfo_has(lk1, "POSIX  ADVISORY  WRITE") || !fdinfo_has(lk1, " 10 29") ||
		    !fdinfo_has(lk2, "OFDLCK ADVISORY  READ") || !fdinfo_has(lk2, " 100 199"))
			corrupt("file locks");
		{
			sig_atomic_t before = sigio_count;
			if (write(ap[1], "s", 1) != 1 || read(ap[0], buf, 1) != 1)
				corrupt("the O_ASYNC pipe");
			if (sigio_count == before)
				corrupt("no SIGIO from the O_ASYNC pipe");
		}
		{
			char ev_buf[512];
			struct inotify_event *ev = (struct inotify_event *)ev_buf;
			if (write(gfd, "w", 1) != 1 || read(gino, ev_buf, sizeof(ev_buf)) <= 0 ||
			    ev->wd != 1 || !(ev->mask & IN_MODIFY))
				corrupt("inotify event on the deleted file");
		}
		printf("tick %d ok\n", tick);

	}
}
