/* pidfds (pidfd_open): one of the process itself (PIDFD_THREAD or not,
 * PIDFD_NONBLOCK kept) is opened again on the restored process; one of a
 * process already dead and reaped ("Pid: -1") is opened on a child made to
 * exit at once, reaped once every fd is in place: it is dead again, and
 * every pidfd that shared one inode (one dead process) shares one again.
 * One of another thread of the process (PIDFD_THREAD) can only be opened
 * once the threads exist again, after exec: the fd holds /dev/null until
 * then, and the state module pidfd_threads (after threads in the table)
 * opens it in the process and puts it there.  One of another process of
 * the tree being dumped (a child, a grandchild, the parent) is opened the
 * same way, once every process of the tree exists again (a tree keeps its
 * PIDs).  pidfds of processes outside the tree are refused. */
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

enum { PIDFD_SELF = 1, PIDFD_DEAD = 2, PIDFD_OTHER_THREAD = 3, PIDFD_TREE = 4 };

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
	for (i = ctx->leader_exited ? 0 : 1; i < ctx->ntasks; i++)
		if (remote_pid(ctx->tasks[i]) == pid) {
			rec->pidfd_of = PIDFD_OTHER_THREAD;
			rec->pidfd_tid = pid;
			return 0;
		}
	if (pid > 0 && tree_has_pid(ctx->tree_pipes, pid)) {
		rec->pidfd_of = PIDFD_TREE;
		rec->pidfd_tid = pid;
		return 0;
	}
	return fail_why(pid ? "it is a pidfd of another process, not one of the tree "
			"being checkpointed (checkpoint a common ancestor, with its "
			"descendants)" : "it is a pidfd of a process outside the "
			"process's PID namespace", "close it before checkpointing",
			"checking pidfd %d (PID %d)", d->fd, pid);
}

bool fd_pidfd_of_tree(const struct fd_rec *rec, pid_t *pid)
{
	if (rec->kind != FD_PIDFD || rec->pidfd_of != PIDFD_TREE)
		return false;
	*pid = rec->pidfd_tid;
	return true;
}

bool fd_pidfd_dead(const struct fd_rec *rec, uint64_t *ino)
{
	if (rec->kind != FD_PIDFD || rec->pidfd_of != PIDFD_DEAD)
		return false;
	*ino = rec->object_id;
	return true;
}

int fd_pidfd_open_dead_group(const struct fd_rec **recs, size_t n, int spare_base, int *fds)
{
	pid_t pid = fork();
	sigset_t chld;
	size_t i;
	int ret = 0;

	if (pid < 0)
		return fail(errno, NULL, "making a process to be dead for pidfds");
	if (!pid)
		_exit(0);
	for (i = 0; i < n; i++) {
		int fd = syscall(SYS_pidfd_open, pid, recs[i]->flags & O_NONBLOCK);
		fds[i] = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, spare_base);
		if (fd >= 0)
			close(fd);
		if (fds[i] < 0 && !ret)
			ret = fail(errno, NULL, "opening pidfd %d of a dead process", recs[i]->fd);
	}
	if (waitpid(pid, NULL, 0) != pid && !ret)
		ret = fail(errno, NULL, "reaping the process made for dead pidfds");
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (sigtimedwait(&chld, NULL, &(struct timespec){ 0, 0 }) == SIGCHLD)
		;
	for (i = 0; ret && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

static int check_pidfd(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	bool thread_known = false;
	size_t i;

	for (i = 1; i < ctx->meta.nthreads; i++)
		thread_known |= rec->pidfd_tid && ctx->meta.threads[i].tid == rec->pidfd_tid;
	/* Of another process of a tree: restart/shared.c checks it is one. */
	bool in_tree = ctx->prefix[0] || ctx->meta.ntree > 1;

	if (rec->pidfd_of < PIDFD_SELF || rec->pidfd_of > PIDFD_TREE ||
	    (rec->pidfd_of == PIDFD_TREE && (!in_tree || rec->pidfd_tid <= 0)) ||
	    (rec->flags & ~(O_ACCMODE | O_NONBLOCK | PIDFD_THREAD | O_LARGEFILE)) ||
	    (rec->pidfd_of == PIDFD_OTHER_THREAD && (!thread_known || !(rec->flags & PIDFD_THREAD))))
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
	pid_t pid = rec->pidfd_of == PIDFD_SELF ? getpid() :
		    rec->pidfd_of == PIDFD_DEAD ? dead_child(c->ctx, rec->object_id) : 0;
	int fd;

	if (rec->pidfd_of == PIDFD_OTHER_THREAD || rec->pidfd_of == PIDFD_TREE) {
		/* Its thread (process) may not exist yet: see pidfd_threads below. */
		if ((fd = open("/dev/null", O_RDONLY)) < 0)
			return fail(errno, NULL, "reserving fd %d for a thread's pidfd", rec->fd);
		return fd;
	}
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

/* After threads: the pidfds of threads other than the main one, and of
 * other processes of the tree (all exist by now, under their PIDs), opened
 * in the process and put at their fds (and at the fds sharing them). */
static int pidfd_threads_restore(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	size_t i, j;

	for (i = 0; i < m->nfds; i++) {
		const struct fd_rec *f = &m->fds[i];
		pid_t tid;
		long fd;

		/* (One a child inherited is opened again in each holder: the
		 * object made for the children holds /dev/null.) */
		if (f->kind != FD_PIDFD || f->share_index ||
		    (f->tree_pid && f->pidfd_of != PIDFD_TREE) ||
		    (f->pidfd_of != PIDFD_OTHER_THREAD && f->pidfd_of != PIDFD_TREE))
			continue;
		tid = f->pidfd_of == PIDFD_TREE ? f->pidfd_tid : restore_tid(ctx, f->pidfd_tid);
		if (!tid)
			return fail_why("its thread is not there", NULL, "restoring pidfd %d "
					"(thread %d)", f->fd, f->pidfd_tid);
		if (remote_syscall_ok(ctx->remote, &fd, "reopening a thread's pidfd",
				      __NR_pidfd_open, tid, f->flags & (O_NONBLOCK | PIDFD_THREAD),
				      0, 0, 0, 0))
			return -1;
		for (j = i; j < m->nfds; j++)
			if ((j == i || m->fds[j].share_index == i + 1) &&
			    remote_syscall_ok(ctx->remote, NULL, "placing a thread's pidfd",
					      __NR_dup3, fd, m->fds[j].fd,
					      m->fds[j].cloexec ? O_CLOEXEC : 0, 0, 0, 0))
				return -1;
		if (remote_syscall_ok(ctx->remote, NULL, "placing a thread's pidfd", __NR_close,
				      fd, 0, 0, 0, 0, 0))
			return -1;
	}
	return 0;
}

const struct state_ops pidfd_threads_state_ops = {
	.name = "pidfd-threads",
	.restore = pidfd_threads_restore,
};
