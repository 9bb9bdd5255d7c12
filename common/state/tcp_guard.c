/* The guard of TCP repair mode during a dump: see tcp_guard.h. */
#define LOG_PREFIX "tcp guard: "
#include "tcp_guard.h"
#include "../procfs.h"
#include "../remote.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum guard_msg_type {
	GUARD_READY = 'R',	/* guard -> ckpt: in its own session, holding nothing */
	GUARD_SOCKET = 'S',	/* an fd (SCM_RIGHTS) about to enter repair mode */
	GUARD_TUPLE = 'T',	/* a tuple about to be locked */
	GUARD_COMMIT = 'C',	/* --kill: the image is committed */
	GUARD_TCP_DONE = 'F',	/* forget the sockets and tuples */
	GUARD_COPY = 'K',	/* the child copy (copy: its pid; 0: reaped) */
	GUARD_DONE = 'D',	/* nothing to undo: go */
};

struct guard_msg {
	char type;
	int reuse;			/* GUARD_SOCKET: its SO_REUSEADDR */
	struct netlock_tuple tuple;	/* GUARD_TUPLE */
	pid_t copy;			/* GUARD_COPY */
};

#define GUARD_FD 3		/* the guard's end of the pair */

/* What the guard holds, to undo. */
struct guard_state {
	pid_t target;
	int pidfd;
	struct repaired_socket *sockets;
	size_t nsockets;
	struct netlock lock;
	bool committed;
	pid_t copy;			/* a child copy to reap if ckpt dies, 0; -1: one
					 * is being made, its pid not known yet */
	int copy_pidfd;
	unsigned long long copy_since;	/* -1: when we were told (clock ticks since boot) */
};

static int receive(int sock, struct guard_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &h, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*m))
		return -1;	/* ckpt is gone (end of file), or not ckpt */
	for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

int tcp_repair_leave(const struct repaired_socket *r)
{
	int off = 0;

	if (setsockopt(r->fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)))
		return -1;
	if (r->reuse)	/* (a failure here leaves a working connection) */
		setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &r->reuse, sizeof(r->reuse));
	return 0;
}

int tcp_repair_enter(const struct repaired_socket *r)
{
	int on = 1;

	return setsockopt(r->fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on));
}

static void hold(struct guard_state *st, const struct guard_msg *m, int fd)
{
	if (m->type == GUARD_SOCKET && fd >= 0) {
		struct repaired_socket *grown =
			realloc(st->sockets, (st->nsockets + 1) * sizeof(*grown));
		if (!grown)
			return;	/* (the fd stays open: at least never closed in repair mode) */
		st->sockets = grown;
		st->sockets[st->nsockets++] = (struct repaired_socket){ fd, m->reuse };
	} else if (m->type == GUARD_TUPLE) {
		struct netlock_tuple *t = realloc(st->lock.t, (st->lock.n + 1) * sizeof(*t));
		if (t) {
			st->lock.t = t;
			st->lock.t[st->lock.n++] = m->tuple;
		}
	} else if (m->type == GUARD_COMMIT) {
		st->committed = true;
	} else if (m->type == GUARD_TCP_DONE) {
		for (size_t i = 0; i < st->nsockets; i++)
			close(st->sockets[i].fd);
		free(st->sockets);
		st->sockets = NULL;
		st->nsockets = 0;
		free(st->lock.t);
		st->lock.t = NULL;
		st->lock.n = 0;
	} else if (m->type == GUARD_COPY) {
		if (st->copy_pidfd >= 0)
			close(st->copy_pidfd);
		st->copy = m->copy;
		st->copy_pidfd = m->copy > 0 ? (int)syscall(SYS_pidfd_open, m->copy, 0) : -1;
		if (m->copy < 0) {
			/* As /proc/PID/stat counts a start: ticks of CLOCK_BOOTTIME. */
			struct timespec now;
			long hz = sysconf(_SC_CLK_TCK);
			clock_gettime(CLOCK_BOOTTIME, &now);
			st->copy_since = (unsigned long long)now.tv_sec * (unsigned long long)hz +
					 (unsigned long long)now.tv_nsec / (1000000000ull / (unsigned long long)hz);
		}
	}
}

/* The copy being made when ckpt died: a child of the process with exit
 * signal 0 born since we were told (the process was stopped all that
 * time: no child of its own was born then); 0 if none. */
static pid_t find_copy(const struct guard_state *st)
{
	char name[64], *text;
	size_t len;
	pid_t found = 0, *tids;
	size_t n, i;

	if (procfs_list_tasks(st->target, &tids, &n)) {
		error_clear();
		return 0;
	}
	for (i = 0; i < n && !found; i++) {
		char *at, *end;

		snprintf(name, sizeof(name), "task/%d/children", tids[i]);
		if (procfs_read(st->target, name, &text, &len)) {
			error_clear();
			continue;
		}
		for (at = text; !found && *at; at = end) {
			struct proc_stat c;
			long pid = strtol(at, &end, 10);

			if (end == at)
				break;
			if (pid > 0 && !procfs_read_stat((pid_t)pid, &c) && c.exit_signal == 0 &&
			    c.starttime + 1 >= st->copy_since)
				found = (pid_t)pid;
			error_clear();
		}
		free(text);
	}
	free(tids);
	return found;
}

/* ckpt died with the child copy of the process alive: the copy ends with
 * it (EXITKILL); once the kernel has let the process go (its tracer
 * gone), a wait4 of the copy from inside, as ckpt would have done. */
static void reap_copy(struct guard_state *st)
{
	struct pollfd p = { .fd = st->copy_pidfd, .events = POLLIN };
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	struct remote *r = NULL;
	int i, bad;

	if (st->copy < 0) {
		/* Its pid never came: find it once it is the process's. */
		for (i = 0; i < 200 && !(st->copy = find_copy(st)); i++)
			nanosleep(&tick, NULL);
		if (!st->copy)
			return;	/* never made */
		p.fd = st->copy_pidfd = (int)syscall(SYS_pidfd_open, st->copy, 0);
	}
	if (st->copy_pidfd >= 0)
		poll(&p, 1, 5000);
	for (i = 0; i < 400; i++) {
		if (!remote_seize(st->target, &r))
			break;
		error_clear();	/* still traced by the dying ckpt: a moment */
		nanosleep(&tick, NULL);
	}
	if (!r) {
		pr_warn("ckpt died while dumping process %d: its copy-on-write copy %d stays its "
			"zombie (exit signal 0: unseen by wait() without __WALL)", st->target,
			st->copy);
		return;
	}
	bad = remote_reap_copy(r, st->copy);
	bad |= remote_cure(r);
	remote_free(r);
	if (bad) {
		pr_warn("%s", error_text());
		error_clear();
	}
}

/* ckpt died during the dump. */
static void undo(struct guard_state *st)
{
	size_t i, nlocked = st->lock.n;

	if (st->copy)
		reap_copy(st);
	if (!st->nsockets && !st->lock.n && !st->committed)
		return;
	if (st->committed) {
		/* The image is whole and the process was to end with it: as
		 * ckpt would have, with its sockets in repair mode (its death
		 * sends the peers nothing), the lock left for restart. */
		struct pollfd p = { .fd = st->pidfd, .events = POLLIN };
		for (i = 0; i < st->nsockets; i++)
			tcp_repair_enter(&st->sockets[i]);
		if (st->pidfd >= 0 && !syscall(SYS_pidfd_send_signal, st->pidfd, SIGKILL, NULL, 0))
			poll(&p, 1, 5000);
		netlock_forget(&st->lock);
		pr_warn("ckpt died after committing the image of process %d (--kill): the "
			"process was ended as it asked", st->target);
		return;
	}
	for (i = 0; i < st->nsockets; i++)
		tcp_repair_leave(&st->sockets[i]);	/* (harmless if it is out) */
	netlock_release(&st->lock);
	pr_warn("ckpt died while dumping process %d: its %zu TCP connection%s taken out of "
		"repair mode%s; it goes on as before", st->target, st->nsockets,
		st->nsockets == 1 ? "" : "s", nlocked ? " and unlocked" : "");
}

/* Held by ckpt's dumping thread while the guard lives: the kernel marks
 * it owner-dead and wakes the watcher as that thread exits (its robust
 * list is walked before its memory and files go, well before the traced
 * process is let go), earlier than the end of file on the socket. */
struct guard_shared {
	pthread_mutex_t ckpt_alive;
};

static void *watch_ckpt(void *arg)
{
	struct guard_shared *sh = arg;

	if (pthread_mutex_lock(&sh->ckpt_alive) == EOWNERDEAD)
		shutdown(GUARD_FD, SHUT_RD);	/* the main loop: what is queued, then the end */
	return NULL;	/* (0: ckpt let go of it: it is done and says so) */
}

static _Noreturn void guard_main(pid_t target, struct guard_shared *sh)
{
	pthread_t watcher;
	struct guard_state st = { .target = target, .lock = { .ns_pid = target },
				  .copy_pidfd = -1 };
	struct guard_msg m = { .type = GUARD_READY };
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC), sig;

	/* Nothing of ckpt's: its image output, its lock files, its stdin and
	 * stdout (a pipe whose reader waits for its end). */
	close_range(GUARD_FD + 1, ~0u, 0);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	{
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	st.pidfd = (int)syscall(SYS_pidfd_open, target, 0);
	if (setsid() < 0 || pthread_create(&watcher, NULL, watch_ckpt, sh) ||
	    send(GUARD_FD, &m, sizeof(m), 0) != (ssize_t)sizeof(m))
		_exit(1);
	for (;;) {
		if (receive(GUARD_FD, &m, &fd)) {
			undo(&st);
			_exit(0);
		}
		if (m.type == GUARD_DONE)
			_exit(0);
		hold(&st, &m, fd);
	}
}

static int start(struct tcp_guard *g, pid_t target)
{
	struct guard_msg m;
	struct guard_shared *sh;
	pthread_mutexattr_t attr;
	int sv[2], fd, err;
	pid_t pid;

	if (g->pid)
		return 0;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return fail(errno, NULL, "starting the guard of TCP repair mode");
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	err = pthread_mutex_init(&sh->ckpt_alive, &attr);
	pthread_mutexattr_destroy(&attr);
	if (!err)
		err = pthread_mutex_lock(&sh->ckpt_alive);
	if (err) {
		munmap(sh, sizeof(*sh));
		return fail(err, NULL, "starting the guard of TCP repair mode");
	}
	g->shared = sh;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = errno;
		tcp_guard_end(g);
		return fail(err, NULL, "starting the guard of TCP repair mode");
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		tcp_guard_end(g);
		return fail(err, "try again when the system has processes to spare",
			    "starting the guard of TCP repair mode");
	}
	if (pid == 0) {
		if (sv[1] != GUARD_FD && dup3(sv[1], GUARD_FD, O_CLOEXEC) < 0)
			_exit(1);
		guard_main(target, sh);
	}
	close(sv[1]);
	g->pid = pid;
	g->sock = sv[0];
	/* Only once it is in a session of its own does anything depend on
	 * it (a kill of ckpt's process group before then ends both). */
	if (receive(g->sock, &m, &fd) || m.type != GUARD_READY) {
		if (fd >= 0)
			close(fd);
		tcp_guard_end(g);
		return fail_why("it ended as it started", NULL,
				"starting the guard of TCP repair mode");
	}
	return 0;
}

static int tell(struct tcp_guard *g, const struct guard_msg *m, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;
		h.msg_control = cbuf;
		h.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(g->sock, &h, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*m))
		return fail(n < 0 ? errno : EPIPE, NULL, "telling the guard of TCP repair mode");
	return 0;
}

int tcp_guard_socket(struct tcp_guard *g, pid_t target, const struct repaired_socket *r)
{
	struct guard_msg m = { .type = GUARD_SOCKET, .reuse = r->reuse };

	if (start(g, target) || tell(g, &m, r->fd))
		return -1;
	g->tcp = true;
	return 0;
}

int tcp_guard_ready(struct tcp_guard *g, pid_t target)
{
	struct guard_msg m = { .type = GUARD_COPY, .copy = -1 };

	if (start(g, target) || tell(g, &m, -1))
		return -1;
	g->copy = true;
	return 0;
}

int tcp_guard_copy(struct tcp_guard *g, pid_t target, pid_t copy)
{
	struct guard_msg m = { .type = GUARD_COPY, .copy = copy };

	if (start(g, target) || tell(g, &m, -1))
		return -1;
	g->copy = true;
	return 0;
}

/* One of the guard's two charges is done (done: its flag): the guard goes
 * when the other is done too, else it is told to forget this one. */
static void charge_done(struct tcp_guard *g, bool *done, bool other, const struct guard_msg *m)
{
	if (!g->pid)
		return;
	*done = false;
	if (!other)
		tcp_guard_end(g);
	else if (tell(g, m, -1)) {
		pr_warn("%s", error_text());
		error_clear();
	}
}

void tcp_guard_copy_reaped(struct tcp_guard *g)
{
	struct guard_msg m = { .type = GUARD_COPY, .copy = 0 };

	charge_done(g, &g->copy, g->tcp, &m);
}

void tcp_guard_tcp_done(struct tcp_guard *g)
{
	struct guard_msg m = { .type = GUARD_TCP_DONE };

	charge_done(g, &g->tcp, g->copy, &m);
}

int tcp_guard_tuples(struct tcp_guard *g, pid_t target, const struct netlock_tuple *t, size_t n)
{
	struct guard_msg m = { .type = GUARD_TUPLE };
	size_t i;

	if (start(g, target))
		return -1;
	g->tcp = true;
	for (i = 0; i < n; i++) {
		m.tuple = t[i];
		if (tell(g, &m, -1))
			return -1;
	}
	return 0;
}

void tcp_guard_commit(struct tcp_guard *g)
{
	struct guard_msg m = { .type = GUARD_COMMIT };

	if (g->pid && tell(g, &m, -1)) {
		pr_warn("%s", error_text());
		error_clear();
	}
}

void tcp_guard_end(struct tcp_guard *g)
{
	struct guard_msg m = { .type = GUARD_DONE };

	/* (Called on failure paths: no error of its own; a guard that is
	 * gone already has nothing to do.) */
	if (g->pid) {
		while (send(g->sock, &m, sizeof(m), MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
		close(g->sock);
		while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (g->shared) {	/* only once the guard is gone */
		pthread_mutex_unlock(&g->shared->ckpt_alive);
		munmap(g->shared, sizeof(*g->shared));
	}
	g->pid = 0;
	g->sock = -1;
	g->shared = NULL;
	g->copy = g->tcp = false;
}
