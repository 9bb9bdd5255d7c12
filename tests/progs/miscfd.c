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
 *   miscfd nsfs    /proc/self/ns/net, uts and pid_for_children open: each
 *                  still names the process's namespace of that type.
 *   miscfd pidfd   pidfds of itself (PIDFD_NONBLOCK; PIDFD_THREAD), of its
 *                  second thread (PIDFD_THREAD|PIDFD_NONBLOCK, and a dup), two
 *                  of one dead child and a dup of one, one of another dead
 *                  child.  Checked: the first ones reach the process or the
 *                  thread and keep their flags; the dead ones give ESRCH and POLLIN,
 *                  have one inode per child, and the dup shares its file.
 *   miscfd pty     in a session of its own: pty A, its slave (at fd 150, and
 *                  a second open) the controlling terminal, /dev/tty open;
 *                  slave settings changed (no ECHOCTL, VERASE ^H), window
 *                  33x101; "line1\nline2\npart" typed (a line not finished)
 *                  and "out\n" written by the slave: both queues held.  Pty
 *                  B in packet mode, locked after its slave was opened; pty
 *                  C a master alone, never unlocked; pty D a slave whose
 *                  master was closed (hung up); pty E a master whose slave
 *                  was opened and closed.  Checked: every setting,
 *                  both queues byte for byte and "part" still waiting for
 *                  the end of its line, packet mode's status byte, the
 *                  locks, D reads end of file, E polls POLLHUP (C does
 *                  not), /dev/tty is slave A.
 *   miscfd pidfd-tree  pidfds of processes of its tree: of its child C
 *                  (kept across restart by PID), of C's child G
 *                  (PIDFD_NONBLOCK); C holds one of its parent; both hold
 *                  one of C's child D, dead and reaped.  Checked: each
 *                  names its process (fdinfo Pid), C's reaches its parent
 *                  (asked over a pipe), D's are dead and of one inode in
 *                  both processes, G and C are killed through
 *                  theirs and C's exit status says SIGKILL.
 *   miscfd pty-tree  in a session of its own: a pty whose master only its
 *                  child C holds (inherited, and a dup), whose slave it holds
 *                  (the controlling terminal) and C too (inherited); raw,
 *                  window 40x120; C wrote "ping" for the slave to read.
 *                  Checked: "ping" is read from the slave, the window size,
 *                  /dev/tty is the slave, and "back" written to the slave
 *                  reaches C's master (C answers over a pipe).
 *   miscfd pty-ctty  controlling terminals no fd holds: it leads a session
 *                  whose terminal is the slave of pty A (made so, then
 *                  closed; it keeps A's master); its child C leads a session
 *                  whose terminal is the slave of pty B, whose master only
 *                  the parent holds.  Checked: /dev/tty opens and reads what
 *                  A's master writes; closing B's master hangs C up (SIGHUP,
 *                  C exits 0).
 *   miscfd refuse-pty | refuse-pidfd | refuse-ns | refuse-epoll
 *                  what ckpt must refuse: a pty whose slave a process
 *                  outside the tree holds (a grandchild, orphaned);
 *                  a pidfd of its parent (outside the tree); a uts namespace fd kept
 *                  across unshare(CLONE_NEWUTS); an epoll watching a pipe
 *                  only a child still holds.  Checked: still running.
 *   miscfd refuse-clonefs | refuse-clonefiles
 *                  two children sharing their cwd and umask (clone
 *                  CLONE_FS) or their fd table (CLONE_FILES), their
 *                  parent not (it unshared it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

static const struct { const char *name; int type; } ns_list[] = {
	{ "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "pid_for_children", CLONE_NEWPID },
};
#define NNS (sizeof(ns_list) / sizeof(ns_list[0]))

static void nsfs_setup(int fds[NNS])
{
	char path[64];
	size_t i;

	for (i = 0; i < NNS; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_list[i].name);
		if ((fds[i] = open(path, O_RDONLY | (i == 1 ? O_CLOEXEC : 0))) < 0)
			die(path);
	}
}

static void nsfs_check(const int fds[NNS])
{
	char path[64];
	struct stat now, held;
	size_t i;
	int type;

	for (i = 0; i < NNS; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_list[i].name);
		if (stat(path, &now) || fstat(fds[i], &held))
			corrupt("namespace fd %d (%s): %s", fds[i], path, strerror(errno));
		if (now.st_ino != held.st_ino)
			corrupt("namespace fd %d is inode %lu, %s is %lu", fds[i],
				(unsigned long)held.st_ino, path, (unsigned long)now.st_ino);
		if ((type = ioctl(fds[i], NS_GET_NSTYPE)) != ns_list[i].type)
			corrupt("namespace fd %d: NS_GET_NSTYPE %d, expected %d (%s)", fds[i], type,
				ns_list[i].type, strerror(errno));
	}
	if (!(fcntl(fds[1], F_GETFD) & FD_CLOEXEC) || (fcntl(fds[0], F_GETFD) & FD_CLOEXEC))
		corrupt("namespace fds lost their close-on-exec flags");
}

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

struct pidfd_state {
	int self, thread, dead1[3], dead2, other[2];
	pid_t other_tid;
};

static void *idle_thread(void *arg)
{
	*(volatile pid_t *)arg = gettid();
	for (;;)
		pause();
	return NULL;
}

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static pid_t dead_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid)
		_exit(0);
	return pid;
}

static void pidfd_setup(struct pidfd_state *s)
{
	pid_t c1 = dead_child(), c2 = dead_child();

	s->self = pidfd_open(getpid(), PIDFD_NONBLOCK);
	s->thread = pidfd_open(getpid(), PIDFD_THREAD);
	s->dead1[0] = pidfd_open(c1, 0);
	s->dead1[1] = pidfd_open(c1, 0);
	s->dead2 = pidfd_open(c2, 0);
	if (s->self < 0 || s->thread < 0 || s->dead1[0] < 0 || s->dead1[1] < 0 || s->dead2 < 0)
		die("pidfd_open");
	s->dead1[2] = dup(s->dead1[0]);
	{
		pthread_t t;
		volatile pid_t *tid = &s->other_tid;
		int i;

		if (pthread_create(&t, NULL, idle_thread, (void *)tid))
			die("pthread_create");
		for (i = 0; i < 500 && !*tid; i++)
			usleep(1000);
		s->other[0] = pidfd_open(*tid, PIDFD_THREAD | PIDFD_NONBLOCK);
		/* pidfds are close-on-exec: this one not, its dup yes. */
		if (s->other[0] < 0 || fcntl(s->other[0], F_SETFD, 0) ||
		    (s->other[1] = fcntl(s->other[0], F_DUPFD_CLOEXEC, 60)) < 0)
			die("pidfd_open of a thread");
	}
	if (waitpid(c1, NULL, 0) != c1 || waitpid(c2, NULL, 0) != c2)
		die("waitpid");
}

static long fdinfo_long(int fd, const char *key, int base)
{
	char path[64], line[256];
	size_t len = strlen(key);
	long v = -12345;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (!(f = fopen(path, "r")))
		corrupt("no fdinfo for fd %d", fd);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, base);
	fclose(f);
	return v;
}

static ino_t ino_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		corrupt("fstat fd %d: %s", fd, strerror(errno));
	return st.st_ino;
}

static void pidfd_check(struct pidfd_state *s)
{
	struct pollfd pfd = { .fd = s->dead2, .events = POLLIN };
	long flags;
	int i;

	if (fdinfo_long(s->self, "Pid", 10) != getpid() || fdinfo_long(s->thread, "Pid", 10) != getpid())
		corrupt("the pidfds of the process show Pid %ld and %ld, expected %d",
			fdinfo_long(s->self, "Pid", 10), fdinfo_long(s->thread, "Pid", 10), getpid());
	if (syscall(SYS_pidfd_send_signal, s->self, 0, NULL, 0) ||
	    syscall(SYS_pidfd_send_signal, s->thread, 0, NULL, 0))
		corrupt("pidfd_send_signal on the process: %s", strerror(errno));
	flags = fdinfo_long(s->self, "flags", 8);
	if (!(flags & O_NONBLOCK) || (flags & O_EXCL))
		corrupt("the process's pidfd has flags %lo, expected O_NONBLOCK", flags);
	if (fdinfo_long(s->other[0], "Pid", 10) != s->other_tid ||
	    syscall(SYS_pidfd_send_signal, s->other[1], 0, NULL, 0))
		corrupt("the pidfd of the second thread shows Pid %ld (expected %d), signal: %s",
			fdinfo_long(s->other[0], "Pid", 10), s->other_tid, strerror(errno));
	flags = fdinfo_long(s->other[0], "flags", 8);
	if (!(flags & O_NONBLOCK) || !(flags & PIDFD_THREAD))
		corrupt("the second thread's pidfd has flags %lo", flags);
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, s->other[0], s->other[1]) != 0 ||
	    !(fcntl(s->other[1], F_GETFD) & FD_CLOEXEC) || (fcntl(s->other[0], F_GETFD) & FD_CLOEXEC))
		corrupt("the dup of the second thread's pidfd: not shared, or close-on-exec lost");
	flags = fdinfo_long(s->thread, "flags", 8);
	if ((flags & O_NONBLOCK) || !(flags & PIDFD_THREAD))
		corrupt("the thread pidfd has flags %lo, expected PIDFD_THREAD", flags);
	for (i = 0; i < 3; i++)
		if (fdinfo_long(s->dead1[i], "Pid", 10) != -1)
			corrupt("dead pidfd %d shows Pid %ld", s->dead1[i],
				fdinfo_long(s->dead1[i], "Pid", 10));
	if (fdinfo_long(s->dead2, "Pid", 10) != -1)
		corrupt("dead pidfd %d shows Pid %ld", s->dead2, fdinfo_long(s->dead2, "Pid", 10));
	if (!syscall(SYS_pidfd_send_signal, s->dead2, 0, NULL, 0) || errno != ESRCH)
		corrupt("pidfd_send_signal on a dead process: %s, expected ESRCH", strerror(errno));
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
		corrupt("a dead pidfd does not poll readable (%#x)", pfd.revents);
	if (ino_of(s->dead1[0]) != ino_of(s->dead1[1]) || ino_of(s->dead1[0]) == ino_of(s->dead2) ||
	    ino_of(s->self) != ino_of(s->thread))
		corrupt("pidfd inodes: %lu %lu (one process), %lu (another), self %lu %lu",
			(unsigned long)ino_of(s->dead1[0]), (unsigned long)ino_of(s->dead1[1]),
			(unsigned long)ino_of(s->dead2), (unsigned long)ino_of(s->self),
			(unsigned long)ino_of(s->thread));
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, s->dead1[0], s->dead1[2]) != 0 ||
	    syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, s->dead1[0], s->dead1[1]) == 0)
		corrupt("the dup'ed dead pidfd does not share its file, or the other one does");
}

struct pty_state {
	int ma, sa, sa2, tty, mb, sb, mc, sd, me;
	struct termios ta;
};

static const char typed[] = "line1\nline2\npart";
static const char echoed[] = "line1\r\nline2\r\npart" "out\r\n";

static int fionread(int fd)
{
	int n = -1;

	ioctl(fd, FIONREAD, &n);
	return n;
}

/* Wait (bounded) until fd has n bytes to read (the kernel hands data over
 * in the background). */
static void wait_queued(int fd, int n)
{
	int i;

	for (i = 0; i < 200 && fionread(fd) != n; i++)
		usleep(10000);
	if (fionread(fd) != n)
		die("pty data did not arrive");
}

static int new_master(int unlock)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0 || (unlock && unlockpt(m)))
		die("posix_openpt");
	return m;
}

static void pty_setup(struct pty_state *s)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 101 };
	int on = 1, m;

	if (setsid() < 0)
		die("setsid");
	s->ma = new_master(1);
	/* Without O_NOCTTY: the controlling terminal of the new session. */
	if ((m = open(ptsname(s->ma), O_RDWR)) < 0 || dup2(m, 150) != 150)
		die("open slave A");
	close(m);
	s->sa = 150;
	if ((s->sa2 = open(ptsname(s->ma), O_RDWR | O_NOCTTY)) < 0 ||
	    (s->tty = open("/dev/tty", O_RDWR)) < 0)
		die("open slave A again, /dev/tty");
	tcgetattr(s->sa, &s->ta);
	s->ta.c_lflag &= ~ECHOCTL;
	s->ta.c_cc[VERASE] = 8;
	if (tcsetattr(s->sa, TCSANOW, &s->ta) || ioctl(s->ma, TIOCSWINSZ, &ws))
		die("pty A settings");
	if (write(s->ma, typed, strlen(typed)) != (ssize_t)strlen(typed))
		die("write master A");
	wait_queued(s->sa, 12);		/* the two complete lines */
	if (write(s->sa, "out\n", 4) != 4)
		die("write slave A");
	wait_queued(s->ma, strlen(echoed));

	s->mb = new_master(1);
	if ((s->sb = open(ptsname(s->mb), O_RDWR | O_NOCTTY)) < 0)
		die("open slave B");
	if (ioctl(s->mb, TIOCPKT, &on) || ioctl(s->mb, TIOCSPTLCK, &on))
		die("pty B packet mode, lock");

	s->mc = new_master(0);

	m = new_master(1);
	if ((s->sd = open(ptsname(m), O_RDWR | O_NOCTTY)) < 0)
		die("open slave D");
	close(m);

	s->me = new_master(1);
	if ((m = open(ptsname(s->me), O_RDWR | O_NOCTTY)) < 0)
		die("open slave E");
	close(m);
}

static void pty_check(struct pty_state *s)
{
	struct termios t;
	struct winsize ws;
	struct stat st, sta;
	char buf[256], path[64];
	int n, locked = 0, packet = 0;
	unsigned tty_nr = 0;
	FILE *f;

	if (getsid(0) != getpid())
		corrupt("not a session leader any more (session %d)", getsid(0));
	snprintf(path, sizeof(path), "/proc/self/stat");
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %u", &tty_nr) != 1)
			tty_nr = 0;
		fclose(f);
	}
	if (fstat(s->sa, &sta) || fstat(s->tty, &st))
		corrupt("fstat slave A, /dev/tty: %s", strerror(errno));
	if (tty_nr != sta.st_rdev)
		corrupt("controlling terminal %u:%u, slave A is %u:%u", major(tty_nr), minor(tty_nr),
			major(sta.st_rdev), minor(sta.st_rdev));
	if (st.st_rdev != makedev(5, 0))
		corrupt("the /dev/tty fd is %u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (tcgetattr(s->sa, &t) || t.c_lflag != s->ta.c_lflag || t.c_iflag != s->ta.c_iflag ||
	    t.c_oflag != s->ta.c_oflag || memcmp(t.c_cc, s->ta.c_cc, sizeof(t.c_cc)))
		corrupt("slave A settings changed (lflag %o, was %o)", t.c_lflag, s->ta.c_lflag);
	if (ioctl(s->sa2, TIOCGWINSZ, &ws) || ws.ws_row != 33 || ws.ws_col != 101)
		corrupt("window size %ux%u, expected 33x101", ws.ws_row, ws.ws_col);
	/* The master's queue: the echo of what was typed, then "out". */
	if ((n = fionread(s->ma)) != (int)strlen(echoed) || read(s->ma, buf, n) != n ||
	    memcmp(buf, echoed, n))
		corrupt("pty A master queue: %d bytes, expected %zu", n, strlen(echoed));
	/* The slave's: two lines, then "part" is not a line yet. */
	if (read(s->sa2, buf, sizeof(buf)) != 6 || memcmp(buf, "line1\n", 6) ||
	    read(s->sa, buf, sizeof(buf)) != 6 || memcmp(buf, "line2\n", 6))
		corrupt("pty A slave lines lost");
	if (fionread(s->sa) != 0)
		corrupt("pty A: %d bytes readable after the two lines", fionread(s->sa));
	if (write(s->ma, "X\n", 2) != 2)
		die("write master A");
	wait_queued(s->sa, 6);
	if (read(s->sa, buf, sizeof(buf)) != 6 || memcmp(buf, "partX\n", 6))
		corrupt("pty A: the unfinished line did not come back");
	if (write(s->tty, "tt\n", 3) != 3)
		corrupt("writing to /dev/tty: %s", strerror(errno));
	wait_queued(s->ma, 3 + 4);	/* after the echo "X\r\n" */

	if (ioctl(s->mb, TIOCGPKT, &packet) || !packet || ioctl(s->mb, TIOCGPTLCK, &locked) || !locked)
		corrupt("pty B: packet mode %d, locked %d", packet, locked);
	if (write(s->sb, "hi", 2) != 2)
		die("write slave B");
	wait_queued(s->mb, 2);
	if (read(s->mb, buf, sizeof(buf)) != 3 || memcmp(buf, "\0hi", 3))
		corrupt("pty B: packet mode read not as expected");
	locked = 0;
	if (ioctl(s->mc, TIOCGPTLCK, &locked) || !locked)
		corrupt("pty C is not locked any more");
	{
		struct pollfd pc = { .fd = s->mc, .events = POLLIN }, pe = { .fd = s->me, .events = POLLIN };
		if (poll(&pc, 1, 0) != 0 || poll(&pe, 1, 0) != 1 || !(pe.revents & POLLHUP))
			corrupt("pty C polls %#x (expected nothing), E %#x (expected POLLHUP)",
				pc.revents, pe.revents);
	}
	n = read(s->sd, buf, 1);
	if (n != 0 && !(n < 0 && errno == EIO))
		corrupt("pty D: read gave %d (%s), expected end of file", n, strerror(errno));
	if (write(s->sd, "x", 1) >= 0)
		corrupt("pty D: a write went through, it is not hung up");
}

/* A child that keeps what it inherited and waits to be killed. */
static pid_t idle_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid)
		for (;;)
			pause();
	return pid;
}

/* pty-tree */
struct pty_tree {
	int s, ask, answer;
};

static void pty_tree_setup(struct pty_tree *st)
{
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	struct termios t;
	int ask[2], ans[2], m;
	pid_t c;

	if (pipe(ask) || pipe(ans) || setsid() < 0)
		die("setup");
	m = new_master(1);
	/* Without O_NOCTTY: the controlling terminal of the new session. */
	if ((st->s = open(ptsname(m), O_RDWR)) < 0 || tcgetattr(st->s, &t))
		die("open slave");
	cfmakeraw(&t);
	if (tcsetattr(st->s, TCSANOW, &t) || ioctl(st->s, TIOCSWINSZ, &ws))
		die("slave settings");
	if ((c = fork()) < 0)
		die("fork");
	if (!c) {
		char buf[8] = "", r;
		int m2 = dup(m);
		size_t got = 0;

		if (m2 < 0 || write(m2, "ping", 4) != 4)
			die("child write");
		if (read(ask[0], &r, 1) != 1)
			_exit(1);
		while (got < 4) {
			ssize_t n = read(m, buf + got, 4 - got);
			if (n <= 0)
				break;
			got += n;
		}
		r = got == 4 && !memcmp(buf, "back", 4) ? 'y' : 'n';
		if (write(ans[1], &r, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(m);
	st->ask = ask[1];
	st->answer = ans[0];
	close(ask[0]);
	close(ans[1]);
	/* The child has written (a read of the slave would take it). */
	for (int i = 0; i < 500; i++) {
		int n = 0;
		if (!ioctl(st->s, FIONREAD, &n) && n >= 4)
			break;
		usleep(2000);
	}
}

static void pty_tree_check(struct pty_tree *st)
{
	struct winsize ws;
	struct stat b;
	char buf[8] = "", r = '?';
	size_t got = 0;
	int tty;

	while (got < 4) {
		ssize_t n = read(st->s, buf + got, 4 - got);
		if (n <= 0)
			corrupt("reading the slave: %zd (%s)", n, strerror(errno));
		got += n;
	}
	if (memcmp(buf, "ping", 4))
		corrupt("the slave read \"%.4s\", expected \"ping\"", buf);
	if (ioctl(st->s, TIOCGWINSZ, &ws) || ws.ws_row != 40 || ws.ws_col != 120)
		corrupt("window size %dx%d, expected 40x120", ws.ws_row, ws.ws_col);
	/* (/dev/tty's own fstat says 5,0: the terminal is in stat's tty_nr.) */
	if ((tty = open("/dev/tty", O_RDWR)) < 0 || fstat(st->s, &b))
		corrupt("no controlling terminal (%s)", strerror(errno));
	close(tty);
	{
		char line[512], *p;
		FILE *f = fopen("/proc/self/stat", "r");
		long nr = -1;

		if (f && fgets(line, sizeof(line), f) && (p = strrchr(line, ')')))
			sscanf(p + 1, " %*c %*d %*d %*d %ld", &nr);
		if (f)
			fclose(f);
		if ((dev_t)nr != b.st_rdev)
			corrupt("the controlling terminal is %ld, not the slave", nr);
	}
	if (write(st->s, "back", 4) != 4 || write(st->ask, "?", 1) != 1 ||
	    read(st->answer, &r, 1) != 1 || r != 'y')
		corrupt("the child's master did not read what the slave wrote (%c)", r);
}

/* pty-ctty */
struct pty_ctty {
	int ma, mb;
	pid_t c;
};
static volatile sig_atomic_t got_hup;
static void on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
}

static void pty_ctty_setup(struct pty_ctty *st)
{
	int p[2], s;
	char r;

	if (pipe(p) || setsid() < 0)
		die("setup");
	st->ma = new_master(1);
	st->mb = new_master(1);
	if ((s = open(ptsname(st->ma), O_RDWR | O_NOCTTY)) < 0 || ioctl(s, TIOCSCTTY, 0))
		die("pty A as the controlling terminal");
	close(s);
	if ((st->c = fork()) < 0)
		die("fork");
	if (!st->c) {
		close(st->ma);
		signal(SIGHUP, on_hup);
		if (setsid() < 0 || (s = open(ptsname(st->mb), O_RDWR)) < 0)
			_exit(1);
		close(s);
		close(st->mb);
		if (write(p[1], "y", 1) != 1)
			_exit(1);
		while (!got_hup)
			pause();
		_exit(0);
	}
	if (read(p[0], &r, 1) != 1)
		die("the child did not take its terminal");
	close(p[0]);
	close(p[1]);
}

static void pty_ctty_check(struct pty_ctty *st)
{
	char buf[8] = "";
	struct termios t;
	int tty, status = -1, i;
	size_t got = 0;

	if ((tty = open("/dev/tty", O_RDWR)) < 0)
		corrupt("no controlling terminal (%s)", strerror(errno));
	if (tcgetattr(tty, &t))
		corrupt("tcgetattr");
	cfmakeraw(&t);
	if (tcsetattr(tty, TCSANOW, &t) || write(st->ma, "ping", 4) != 4)
		corrupt("writing to pty A");
	while (got < 4) {
		ssize_t n = read(tty, buf + got, 4 - got);
		if (n <= 0)
			corrupt("reading /dev/tty: %zd (%s)", n, strerror(errno));
		got += n;
	}
	if (memcmp(buf, "ping", 4))
		corrupt("/dev/tty read \"%.4s\"", buf);
	signal(SIGHUP, SIG_IGN);
	close(st->mb);
	for (i = 0; i < 500 && waitpid(st->c, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (status != 0)
		corrupt("the child was not hung up (status %#x)", status);
}

/* pidfd-tree */
struct pidfd_tree {
	pid_t c, g;
	int cfd, gfd, dfd, ask, answer;
};
static volatile sig_atomic_t child_asked;
static void on_usr2(int sig)
{
	(void)sig;
	child_asked = 1;
}

static void pidfd_tree_setup(struct pidfd_tree *s)
{
	int up[2], ask[2], ans[2];
	pid_t d = 0;
	char r = 0;

	if (pipe(up) || pipe(ask) || pipe(ans))
		die("pipe");
	signal(SIGUSR2, on_usr2);
	s->c = fork();
	if (s->c < 0)
		die("fork");
	if (!s->c) {
		int pp = pidfd_open(getppid(), 0), dfd;
		char c = 'n';
		pid_t g = idle_child(), d = idle_child();
		struct stat st;
		uint64_t ino = 0;

		if (pp < 0 || write(up[1], &g, sizeof(g)) != sizeof(g) ||
		    write(up[1], &d, sizeof(d)) != sizeof(d) || read(ask[0], &c, 1) != 1)
			die("child setup");
		/* The parent has a pidfd of D too: D dies, reaped here. */
		if ((dfd = pidfd_open(d, 0)) < 0 || kill(d, SIGKILL) || waitpid(d, NULL, 0) != d ||
		    write(ans[1], "d", 1) != 1)
			die("child setup");
		/* Asked (the inode of the parent's pidfd of D): does the pidfd
		 * still name the parent, and is D's the same dead process? */
		if (read(ask[0], &ino, sizeof(ino)) != sizeof(ino))
			_exit(1);
		c = fdinfo_long(pp, "Pid", 10) == getppid() &&
		    !syscall(SYS_pidfd_send_signal, pp, 0, NULL, 0) &&
		    !fstat(dfd, &st) && st.st_ino == ino ? 'y' : 'n';
		if (write(ans[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(up[0], &s->g, sizeof(s->g)) != sizeof(s->g) ||
	    read(up[0], &d, sizeof(d)) != sizeof(d))
		die("reading the grandchildren's PIDs");
	s->cfd = pidfd_open(s->c, 0);
	s->gfd = pidfd_open(s->g, PIDFD_NONBLOCK);
	s->dfd = pidfd_open(d, 0);
	if (s->cfd < 0 || s->gfd < 0 || s->dfd < 0)
		die("pidfd_open");
	if (write(ask[1], "g", 1) != 1 || read(ans[0], &r, 1) != 1 || r != 'd')
		die("the child did not reap D");
	s->ask = ask[1];
	s->answer = ans[0];
	close(up[0]);
	close(up[1]);
	close(ask[0]);
	close(ans[1]);
}

static void pidfd_tree_check(struct pidfd_tree *s)
{
	struct pollfd p = { .fd = -1, .events = POLLIN };
	int status, i;
	char c = '?';

	if (fdinfo_long(s->cfd, "Pid", 10) != s->c || fdinfo_long(s->gfd, "Pid", 10) != s->g)
		corrupt("pidfds name %ld and %ld, expected %d and %d",
			fdinfo_long(s->cfd, "Pid", 10), fdinfo_long(s->gfd, "Pid", 10), s->c, s->g);
	if (!(fcntl(s->gfd, F_GETFL) & O_NONBLOCK) || (fcntl(s->cfd, F_GETFL) & O_NONBLOCK))
		corrupt("pidfd flags lost");
	{
		struct stat st;
		uint64_t ino;

		if (fstat(s->dfd, &st))
			corrupt("fstat of the pidfd of D");
		ino = st.st_ino;
		if (!syscall(SYS_pidfd_send_signal, s->dfd, 0, NULL, 0) || errno != ESRCH)
			corrupt("the pidfd of D reaches a living process");
		if (write(s->ask, &ino, sizeof(ino)) != sizeof(ino) ||
		    read(s->answer, &c, 1) != 1 || c != 'y')
			corrupt("the child's pidfds of its parent and of D: %c", c);
	}
	if (syscall(SYS_pidfd_send_signal, s->gfd, SIGKILL, NULL, 0) ||
	    syscall(SYS_pidfd_send_signal, s->cfd, SIGKILL, NULL, 0))
		corrupt("pidfd_send_signal: %s", strerror(errno));
	if (waitpid(s->c, &status, 0) != s->c || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		corrupt("the child did not die of SIGKILL (status %#x)", status);
	p.fd = s->gfd;
	for (i = 0; i < 500 && poll(&p, 1, 10) == 0; i++)
		;
	if (!(p.revents & POLLIN))
		corrupt("the grandchild's pidfd does not say it exited");
}

static int clone_idle(void *arg)
{
	(void)arg;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
	return 0;
}

static void refuse_setup(const char *what)
{
	static char stack[65536] __attribute__((aligned(16)));

	struct epoll_event ev = { .events = EPOLLIN };
	int fd, p[2], ep;

	if (!strcmp(what, "pty")) {
		pid_t c = -1, me = getpid();
		char r = 0;

		fd = new_master(1);
		if (pipe(p) || (c = fork()) < 0)
			die("fork");
		if (!c) {
			if (fork() == 0) {
				/* Orphaned: the slave open outside miscfd's tree,
				 * until miscfd ends. */
				close(1);
				if (open(ptsname(fd), O_RDWR | O_NOCTTY) < 0 || write(p[1], "y", 1) != 1)
					_exit(1);
				while (!kill(me, 0))
					usleep(10000);
				_exit(0);
			}
			_exit(0);
		}
		waitpid(c, NULL, 0);
		if (read(p[0], &r, 1) != 1)
			die("the grandchild did not open the slave");
		close(p[0]);
		close(p[1]);
	} else if (!strcmp(what, "clonefiles")) {
		/* Two children sharing it, their parent no more (restart can
		 * make it again only between a parent and its children). */
		if (clone(clone_idle, stack + sizeof(stack), SIGCHLD | CLONE_FILES, NULL) < 0 ||
		    clone(clone_idle, stack + sizeof(stack), SIGCHLD | CLONE_FILES, NULL) < 0 ||
		    unshare(CLONE_FILES))
			die("clone");
	} else if (!strcmp(what, "clonefs")) {
		/* Two children sharing it, their parent no more (restart can make
		 * it again only between a parent and its children). */
		if (clone(clone_idle, stack + sizeof(stack), SIGCHLD | CLONE_FS, NULL) < 0 ||
		    clone(clone_idle, stack + sizeof(stack), SIGCHLD | CLONE_FS, NULL) < 0 ||
		    unshare(CLONE_FS))
			die("clone");
	} else if (!strcmp(what, "pidfd")) {
		if (pidfd_open(getppid(), 0) < 0)
			die("pidfd_open");
	} else if (!strcmp(what, "ns")) {
		if (open("/proc/self/ns/uts", O_RDONLY) < 0 || unshare(CLONE_NEWUTS))
			die("unshare");
	} else if (!strcmp(what, "epoll")) {
		if (pipe(p) || (ep = epoll_create1(0)) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev))
			die("epoll");
		idle_child();
		close(p[0]);
		close(p[1]);
	} else {
		die("unknown refuse- mode");
	}
}

int main(int argc, char **argv)
{
	struct pty_state pt = { 0 };
	struct epoll_state ep = { 0 };
	struct pidfd_state pf = { 0 };
	struct pidfd_tree pft = { 0 };
	struct pty_tree ptt = { 0 };
	struct pty_ctty ptc = { 0 };
	int ns[NNS] = { 0 };
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	if (!strcmp(mode, "epoll"))
		epoll_setup(&ep);
	else if (!strcmp(mode, "nsfs"))
		nsfs_setup(ns);
	else if (!strcmp(mode, "pidfd"))
		pidfd_setup(&pf);
	else if (!strcmp(mode, "pidfd-tree"))
		pidfd_tree_setup(&pft);
	else if (!strcmp(mode, "pty-tree"))
		pty_tree_setup(&ptt);
	else if (!strcmp(mode, "pty-ctty"))
		pty_ctty_setup(&ptc);
	else if (!strcmp(mode, "pty"))
		pty_setup(&pt);
	else if (!strncmp(mode, "refuse-", 7))
		refuse_setup(mode + 7);
	else {
		fprintf(stderr, "usage: miscfd epoll|nsfs|pidfd|pty\n");
		return 2;
	}
	printf("ready\n");
	while (!check_now)
		usleep(20000);
	if (!strcmp(mode, "epoll"))
		epoll_check(&ep);
	else if (!strcmp(mode, "nsfs"))
		nsfs_check(ns);
	else if (!strcmp(mode, "pidfd"))
		pidfd_check(&pf);
	else if (!strcmp(mode, "pidfd-tree"))
		pidfd_tree_check(&pft);
	else if (!strcmp(mode, "pty-tree"))
		pty_tree_check(&ptt);
	else if (!strcmp(mode, "pty-ctty"))
		pty_ctty_check(&ptc);
	else if (!strcmp(mode, "pty"))
		pty_check(&pt);
	printf("ok\n");
	return 0;
}
