/* The helper process of a libmigrate call.
 *
 * It is a copy of the calling process made by clone() with exit signal 0,
 * so that the caller's SIGCHLD disposition, its handlers and its other
 * threads never see it.  The caller may be multi-threaded: here only
 * async-signal-safe calls are made, children are made with raw clone()
 * (no atfork handlers) and everything else was prepared by the caller.
 *
 * It drops the caller's descriptors and signal dispositions, waits for
 * the caller's go (given once the caller has allowed it to ptrace), runs
 * ckpt on the caller -- to a file, or into a pipe to the host command that
 * restarts the image -- collects their standard error and the command's
 * output, and writes the outcome into the shared page, setting `done` last.
 * ckpt's parent is the helper, not the caller, so ckpt's refusal to
 * checkpoint its own parent does not apply. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct stream {
	int fd;
	char *buf;
	uint32_t *len;
	uint32_t max;
};

struct child {
	pid_t pid;
	int pidfd;
	int status;
	int reaped;
};

static void reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);	/* glibc's own signals: EINVAL, fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Wait for the caller's go; give up if the caller is gone. */
static void wait_go(const struct mig_job *job)
{
	struct mig_shared *sh = job->sh;

	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 1, 0 };
		syscall(SYS_futex, &sh->go, FUTEX_WAIT, 0, &ts, NULL, 0);
		if (getppid() != job->caller)
			_exit(1);
	}
}

/* A child with fds 0-2 as given, nothing else open, running path. */
static pid_t spawn(const char *path, char **argv, char **envp, int in, int out, int err,
		   struct mig_shared *sh, enum mig_tool tool)
{
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);

	if (pid != 0)
		return (pid_t)pid;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	execve(path, argv, envp);
	sh->exec_errno = errno;
	sh->exec_tool = tool;
	_exit(127);
}

static void child_init(struct child *c, pid_t pid)
{
	c->pid = pid;
	c->reaped = pid <= 0;
	c->status = -1;
	c->pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

static void child_reap(struct child *c, int options)
{
	int st;

	if (c->reaped)
		return;
	for (;;) {
		pid_t r = waitpid(c->pid, &st, options);
		if (r == c->pid) {
			c->status = st;
			c->reaped = 1;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			c->reaped = 1;	/* cannot happen: signals are at default */
		break;
	}
	if (c->reaped && c->pidfd >= 0) {
		close(c->pidfd);
		c->pidfd = -1;
	}
}

/* Read what is there; 0 at EOF (the stream is closed). */
static int stream_read(struct stream *s)
{
	char scratch[1024];

	for (;;) {
		uint32_t room = s->max - *s->len;
		char *to = room ? s->buf + *s->len : scratch;
		ssize_t n = read(s->fd, to, room ? room : sizeof(scratch));

		if (n > 0) {
			if (room)
				*s->len += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		close(s->fd);
		s->fd = -1;
		return 0;
	}
}

/* Until every child has exited: collect the streams.  A stream is not
 * read to its end once the children are gone: the restored copy may hold
 * the host command's output as its own. */
static void collect(struct stream *st, int nst, struct child *ch, int nch)
{
	for (;;) {
		struct pollfd p[4];
		int map[4], np = 0, i, alive = 0, have_pidfd = 1;

		for (i = 0; i < nch; i++) {
			child_reap(&ch[i], WNOHANG);
			if (ch[i].reaped)
				continue;
			alive++;
			if (ch[i].pidfd < 0)
				have_pidfd = 0;
			else {
				p[np].fd = ch[i].pidfd;
				p[np].events = POLLIN;
				map[np++] = -1;
			}
		}
		for (i = 0; i < nst; i++) {
			if (st[i].fd < 0)
				continue;
			if (!alive) {
				stream_read(&st[i]);
				continue;
			}
			p[np].fd = st[i].fd;
			p[np].events = POLLIN;
			map[np++] = i;
		}
		if (!alive)
			return;
		if (poll(p, (nfds_t)np, have_pidfd ? -1 : 20) < 0 && errno != EINTR)
			return;
		for (i = 0; i < np; i++)
			if (map[i] >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				stream_read(&st[map[i]]);
	}
}

static int nonblocking_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	return fcntl(fds[0], F_SETFL, O_NONBLOCK);
}

/* ckpt --help mentions --bundle?  If not, the option is left out. */
static void probe_bundle(const struct mig_job *job, int null_fd)
{
	struct mig_shared *sh = job->sh;
	char help[16384];
	uint32_t len = 0;
	struct stream s = { .buf = help, .len = &len, .max = sizeof(help) };
	struct child c;
	int p[2], i;

	if (nonblocking_pipe(p) < 0)
		return;
	child_init(&c, spawn(job->ckpt, job->help_argv, job->envp, null_fd, p[1], null_fd, sh,
			     MIG_TOOL_CKPT));
	close(p[1]);
	s.fd = p[0];
	collect(&s, 1, &c, 1);
	if (s.fd >= 0)
		close(s.fd);
	sh->exec_errno = 0;	/* the real run says it again */
	sh->exec_tool = MIG_TOOL_NONE;
	if (memmem(help, len, "--bundle", 8))
		return;
	sh->bundle_missing = 1;
	for (i = job->bundle_slot; job->ckpt_argv[i]; i++)
		job->ckpt_argv[i] = job->ckpt_argv[i + 1];
}

void mig_helper(const struct mig_job *job)
{
	struct mig_shared *sh = job->sh;
	struct stream st[2];
	struct child ch[2];
	int null_fd, err[2], img[2], out[2], nst = 1, nch = 1;

	reset_signals();
	syscall(SYS_close_range, 3U, ~0U, 0U);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(1);
	wait_go(job);
	sh->ckpt_status = sh->host_status = -1;

	if (job->help_argv)
		probe_bundle(job, null_fd);
	if (nonblocking_pipe(err) < 0)
		goto setup_failed;
	st[0] = (struct stream){ err[0], sh->msg, &sh->msg_len, MIG_MSG_MAX - 1 };
	if (job->kind == MIG_CHECKPOINT) {
		child_init(&ch[0], spawn(job->ckpt, job->ckpt_argv, job->envp, null_fd, null_fd,
					 err[1], sh, MIG_TOOL_CKPT));
	} else {
		if (pipe2(img, O_CLOEXEC) < 0 || nonblocking_pipe(out) < 0)
			goto setup_failed;
		child_init(&ch[0], spawn(job->ckpt, job->ckpt_argv, job->envp, null_fd, img[1],
					 err[1], sh, MIG_TOOL_CKPT));
		child_init(&ch[1], spawn(job->host_path, job->host_argv, job->envp, img[0], out[1],
					 err[1], sh, MIG_TOOL_HOST));
		close(img[0]);
		close(img[1]);
		close(out[1]);
		st[1] = (struct stream){ out[0], sh->out, &sh->out_len, MIG_OUT_MAX - 1 };
		nst = nch = 2;
		if (ch[1].pid < 0)
			sh->setup_errno = errno;
	}
	if (ch[0].pid < 0)
		sh->setup_errno = errno;
	close(err[1]);
	collect(st, nst, ch, nch);
	sh->ckpt_status = ch[0].status;
	if (nch > 1)
		sh->host_status = ch[1].status;
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	_exit(0);

setup_failed:
	sh->setup_errno = errno;
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	_exit(0);
}
