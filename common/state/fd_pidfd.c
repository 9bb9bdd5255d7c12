/* pidfds (pidfd_open): one of the process itself (PIDFD_THREAD or not,
 * PIDFD_NONBLOCK kept) is opened again on the restored process; one of a
 * process already dead and reaped ("Pid: -1") is opened on a child made to
 * exit at once, reaped once every fd is in place: it is dead again, and
 * every pidfd that shared one inode (one dead process) shares one again.
 * pidfds of other processes (children, parents, threads but the main one)
 * are refused: children need process trees. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

enum { PIDFD_SELF = 1, PIDFD_DEAD = 2 };

/* SLOT_PIDFD: the children made for dead pidfds, until reaped. */
struct pidfd_slot {
	pid_t *pids;
	uint64_t *inodes;		/* the dead process's pidfs inode at dump */
	size_t n;
};

static bool is_pidfd(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[pidfd]") || !strncmp(d->link, "pidfd:", 6);
}

static int dump_pidfd(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	size_t i;
	int pid;

	if (!fdinfo_scan(d->fdinfo, "Pid", "%d", &pid))
		return fail_why("no Pid in its fdinfo", NULL, "checking pidfd %d", d->fd);
	rec->object_id = d->st.st_ino;
	if (pid == ctx->pid) {
		rec->pidfd_of = PIDFD_SELF;
		return 0;
	}
	if (pid == -1) {
		rec->pidfd_of = PIDFD_DEAD;
		return 0;
	}
	for (i = 1; i < ctx->ntasks; i++)
		if (remote_pid(ctx->tasks[i]) == pid)
			return fail_why("it is a pidfd of a thread other than the main one (not "
					"supported yet)", "close it before checkpointing",
					"checking pidfd %d (thread %d)", d->fd, pid);
	return fail_why(pid ? "it is a pidfd of another process (children need process "
			"trees, not supported yet)" : "it is a pidfd of a process outside the "
			"process's PID namespace", "close it before checkpointing",
			"checking pidfd %d (PID %d)", d->fd, pid);
}

static int check_pidfd(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	(void)ctx;
	if ((rec->pidfd_of != PIDFD_SELF && rec->pidfd_of != PIDFD_DEAD) ||
	    (rec->flags & ~(O_ACCMODE | O_NONBLOCK | PIDFD_THREAD | O_LARGEFILE)))
		return fail_why("invalid pidfd record", "the image is corrupted", "checking fd %d",
				rec->fd);
	return 0;
}

static struct pidfd_slot *slot_of(struct restore_ctx *ctx)
{
	if (!ctx->slot[SLOT_PIDFD] && !(ctx->slot[SLOT_PIDFD] = calloc(1, sizeof(struct pidfd_slot))))
		fail(ENOMEM, NULL, "restoring pidfds");
	return ctx->slot[SLOT_PIDFD];
}

/* The child standing for the dead process of inode ino: made on first use. */
static pid_t dead_child(struct restore_ctx *ctx, uint64_t ino)
{
	struct pidfd_slot *s = slot_of(ctx);
	pid_t *pids;
	uint64_t *inodes;
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < s->n; i++)
		if (s->inodes[i] == ino)
			return s->pids[i];
	pids = realloc(s->pids, (s->n + 1) * sizeof(*pids));
	if (pids)
		s->pids = pids;
	inodes = realloc(s->inodes, (s->n + 1) * sizeof(*inodes));
	if (inodes)
		s->inodes = inodes;
	if (!pids || !inodes)
		return fail(ENOMEM, NULL, "restoring pidfds");
	s->pids[s->n] = fork();
	if (s->pids[s->n] < 0)
		return fail(errno, NULL, "making a process to be dead for a pidfd");
	if (!s->pids[s->n])
		_exit(0);
	s->inodes[s->n] = ino;
	return s->pids[s->n++];
}

static int open_pidfd(struct fd_child *c, const struct fd_rec *rec)
{
	unsigned flags = rec->flags & (O_NONBLOCK | PIDFD_THREAD);
	pid_t pid = rec->pidfd_of == PIDFD_SELF ? getpid() : dead_child(c->ctx, rec->object_id);
	int fd;

	if (pid < 0)
		return -1;
	fd = syscall(SYS_pidfd_open, pid, flags);
	if (fd < 0)
		return fail(errno, NULL, "reopening pidfd %d (pidfd_open)", rec->fd);
	return fd;
}

/* Every pidfd exists: the children for dead ones die for good (reaped; the
 * SIGCHLD they sent does not stay pending). */
static int finish_pidfd(struct fd_child *c, const struct fd_rec *rec)
{
	struct pidfd_slot *s = c->ctx->slot[SLOT_PIDFD];
	sigset_t chld;
	size_t i;

	(void)rec;
	if (!s || !s->n)
		return 0;
	for (i = 0; i < s->n; i++)
		if (waitpid(s->pids[i], NULL, 0) != s->pids[i])
			return fail(errno, NULL, "reaping the process made for a dead pidfd");
	s->n = 0;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (sigtimedwait(&chld, NULL, &(struct timespec){ 0, 0 }) == SIGCHLD)
		;
	return 0;
}

static void release_pidfd(struct restore_ctx *ctx)
{
	struct pidfd_slot *s = ctx->slot[SLOT_PIDFD];

	if (!s)
		return;
	free(s->pids);
	free(s->inodes);
	free(s);
	ctx->slot[SLOT_PIDFD] = NULL;
}

const struct fd_kind_ops fd_pidfd_kind = {
	.kind = FD_PIDFD,
	.name = "pidfd",
	.tag = "pidfd",
	.match = is_pidfd,
	.dump = dump_pidfd,
	.check = check_pidfd,
	.open = open_pidfd,
	.finish = finish_pidfd,
	.release = release_pidfd,
};
