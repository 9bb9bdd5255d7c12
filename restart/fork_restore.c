/* Children restored by a fork of their restored parent (restore.h).
 *
 * A child made by exec gets a copy of its own of every page: a pre-fork
 * server of 50 workers comes back as 50 full copies of what they shared.
 * A child forked by its parent once the parent's memory is in place shares
 * it again, copy-on-write, as it did; it then has only its own pages
 * written in (memory.c, restore_ctx.fork_parent).  What exec would keep
 * of a process (made in restart's child before exec: fds, cwd, limits,
 * signal dispositions...) the fork takes from the parent instead, so only
 * a child whose all of that but its fds is its parent's is restored so:
 * its fds are set up as for any other by its restart child (the donor),
 * which restart takes them from (pidfd_getfd) before it dies, and the
 * forked child takes them from restart in turn. */
#include "restore.h"
#include "state.h"
#include "state/fds.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static bool same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

static bool same_file(const struct image_meta *a, uint32_t fa, const struct image_meta *b,
		      uint32_t fb)
{
	const struct file_id_rec *x, *y;

	if (!fa || !fb || fa > a->nfiles || fb > b->nfiles)
		return fa == fb;
	x = &a->files[fa - 1];
	y = &b->files[fb - 1];
	return same_str(x->path, y->path) && x->dev == y->dev && x->ino == y->ino;
}

/* Everything exec would keep is the parent's, but the fds: NULL, or what
 * is not. */
static const char *differs_from_parent(const struct image_meta *m, const struct image_meta *pm,
				       pid_t pid)
{
	const struct process_rec *c = m->process, *p = pm->process;
	size_t k;

	if (!same_str(c->root, p->root) || !same_str(c->cwd, p->cwd) || c->cwd_ghost ||
	    p->cwd_ghost || c->umask != p->umask)
		return "its cwd, root or umask is not its parent's";
	/* (Ignored signals are set after the fork: signals.c.) */
	if (c->personality != p->personality || c->loginuid != p->loginuid)
		return "its personality or login uid is not its parent's";
	if (!same_file(m, c->exe_file, pm, p->exe_file))
		return "its executable is not its parent's";
	if (m->nrlimits != pm->nrlimits)
		return "its resource limits are not its parent's";
	for (k = 0; k < m->nrlimits; k++)
		if (m->rlimits[k].resource != pm->rlimits[k].resource ||
		    m->rlimits[k].cur != pm->rlimits[k].cur || m->rlimits[k].max != pm->rlimits[k].max)
			return "its resource limits are not its parent's";
	/* What belongs to the process itself, not to its open files: an
	 * owner (F_SETOWN) that is the process or its group would be the
	 * donor's, so would a pidfd or /proc file of its own; POSIX locks
	 * and leases die with it. */
	for (k = 0; k < m->nfds; k++)
		if (m->fds[k].fown_pid == pid || m->fds[k].kind == FD_PIDFD ||
		    (m->fds[k].path && !strncmp(m->fds[k].path, "/proc/", 6)))
			return "an fd of its own is a pidfd, a /proc file or owned by it";
	for (k = 0; k < m->nlocks; k++)
		if (m->locks[k].kind == LOCK_POSIX || m->locks[k].kind == LOCK_LEASE)
			return "it holds POSIX locks or leases";
	return NULL;
}

/* Something another process opens before exec names it by its PID (a
 * file of its /proc/PID, a pidfd, an fd owner): that would be its donor,
 * dead by the time it is forked. */
static bool named_by_others(const struct rtree *t, pid_t pid)
{
	size_t j, k;

	for (j = 0; j < t->n; j++) {
		const struct image_meta *m = &t->p[j]->ctx.meta;

		for (k = 0; !t->p[j]->zombie && k < m->nfds; k++)
			if (m->fds[k].proc_of_tree == pid || m->fds[k].fown_pid == pid ||
			    (m->fds[k].kind == FD_PIDFD && m->fds[k].pidfd_tid == pid))
				return true;
	}
	return false;
}

/* Every mapping of c that restart maps from an fd it keeps in the
 * process through exec (shared memory, a file without a name) is one the
 * fork from its parent keeps as it is.  (Forked with its parent's fd
 * table, c has no such fds.) */
static bool mappings_kept(const struct rproc *c, const struct image_meta *pm)
{
	const struct image_meta *m = &c->ctx.meta;
	size_t k;

	for (k = 0; k < m->nvmas; k++) {
		const struct vma_rec *v = &m->vmas[k];
		bool by_fd = (c->vma_shm && c->vma_shm[k] >= 0) ||
			     ((v->kind == VMA_FILE_PRIVATE || v->kind == VMA_FILE_SHARED) &&
			      v->file_index < 0) || v->kind == VMA_PACKET_RING;

		if (by_fd && !memory_vma_kept_by_fork(m, v, pm))
			return false;
	}
	return true;
}

/* Can process i (which shares pages with its parent) be forked from it?
 * NULL, or why not. */
static const char *not_forkable(const struct rtree *t, size_t i)
{
	const struct rproc *c = t->p[i], *p = t->p[c->parent];
	const struct tree_rec *r = c->rec;
	size_t j;

	/* Its session: its parent's, or its own (setsid after the fork: a
	 * session of its own without a terminal, as PostgreSQL's backends). */
	if (c->early || p->zombie || !p->rec ||
	    (r->sid != p->rec->sid && (r->sid != r->pid || c->ctx.meta.process->tty_nr)))
		return "it is not in its parent's session, nor in a session of its own without "
		       "a terminal";
	for (j = 0; j < t->n; j++) {
		if (t->p[j]->parent == (int)i && !t->p[j]->by_fork)
			return "it has children made by exec (no restart code runs in a forked "
			       "child to make them)";
		if (j != i && t->p[j]->rec && (t->p[j]->rec->pgid == r->pid ||
					       t->p[j]->rec->sid == r->pid))
			return "other processes join its process group or session";
	}
	/* Its group: its parent's, its own (made after the fork), or one a
	 * live process of the tree leads (joined after the fork). */
	if (r->pgid != p->rec->pgid && r->pgid != r->pid) {
		for (j = 0; j < t->n; j++)
			if (t->p[j]->rec && t->p[j]->rec->pid == r->pgid && !t->p[j]->zombie &&
			    !t->p[j]->by_fork)
				break;
		if (j == t->n)
			return "its process group's leader is gone";
	}
	for (j = 0; j < t->nobjs; j++)
		if (t->objs[j].lca == (int)i)
			return "it makes files it shares with others";
	for (j = 0; j < t->nshms; j++)
		if (t->shms[j].lca == (int)i)
			return "it makes memory it shares with others";
	if (named_by_others(t, r->pid))
		return "another process holds a pidfd, /proc file or fd owner naming it";
	if (r->share_files && !mappings_kept(c, &p->ctx.meta))
		return "it maps memory shared with others, or a file without a name, where its "
		       "parent does not";
	return differs_from_parent(&c->ctx.meta, &p->ctx.meta, r->pid);
}

void fork_plan(struct rtree *t)
{
	const struct restore_opts *o = t->p[0]->ctx.opts;
	size_t i;

	/* The forked child, root until its credentials are restored, takes
	 * its fds from restart (pidfd_getfd: restart must be root too); a
	 * nested namespace's processes cannot see restart. */
	if (geteuid() != 0 || o->any_pid || o->pty_slave || t->nested) {
		if (t->n > 1)
			pr_info("every process is made by exec: children are forked from their "
				"restored parent only by root, without --pty, --any-pid or a "
				"nested PID namespace");
		return;
	}
	/* Children first: a process is forked only if all its children are
	 * (forked in turn from it once it is restored). */
	for (i = t->n; i-- > 1;) {
		const struct rproc *c = t->p[i];
		const char *why;

		if (c->zombie || c->parent < 0 || (!c->ctx.meta.ncow_pages && !c->rec->share_files))
			continue;	/* (nothing shared with a parent to keep) */
		why = not_forkable(t, i);
		t->p[i]->by_fork = !why;
		if (why && c->rec->share_files)
			pr_warn("process %d shares its fd table with its parent (clone CLONE_FILES): "
				"it is restored with the same open files in a table of its own, as "
				"%s", c->rec->pid, why);
		else if (why)
			pr_info("process %d is made by exec, with a copy of the pages it shared with "
				"its parent: %s", c->rec->pid, why);
	}
}

_Noreturn void fork_donor_exit(struct rtree *t, size_t i)
{
	/* Its fds are in place: restart takes them, then kills it.  Its
	 * children's donors first, its own children: their PIDs are free
	 * when it forks them. */
	fork_reap_donors(t, i);
	report_child(t, i, 'F');
	for (;;)
		pause();
}

int fork_take_fds(struct rproc *p)
{
	int *fds = NULL;
	size_t n, k;
	int ret = -1;

	if (p->rec->share_files)
		goto done;	/* (its parent's table is its own) */
	if (procfs_list_fds(p->pid, &fds, &n))
		return -1;
	p->donated_n = malloc((n + 1) * sizeof(int));
	p->donated_fd = malloc((n + 1) * sizeof(int));
	if (!p->donated_n || !p->donated_fd) {
		fail(ENOMEM, NULL, "taking the fds of process %d", p->pid);
		goto out;
	}
	for (k = 0; k < n; k++) {
		struct proc_fdinfo fi;
		int ours;

		if (procfs_read_fdinfo(p->pid, fds[k], &fi))
			goto out;
		if (fi.flags & O_CLOEXEC)
			continue;	/* what exec would close */
		ours = fd_steal(p->pid, fds[k]);
		if (ours < 0)
			goto out;
		p->donated_n[p->ndonated] = fds[k];
		p->donated_fd[p->ndonated++] = ours;
	}
done:
	p->donor_done = true;
	if (kill(p->pid, SIGKILL))
		fail(errno, NULL, "ending the restart child of process %d", p->pid);
	else
		ret = 0;
out:
	free(fds);
	return ret;
}

void fork_reap_donors(struct rtree *t, size_t i)
{
	size_t j;

	for (j = i + 1; j < t->n; j++)
		if (t->p[j]->parent == (int)i && t->p[j]->by_fork)
			while (waitpid(t->p[j]->rec->pid, NULL, __WALL) < 0 && errno == EINTR)
				;
}

static bool fd_taken(const unsigned char *open, int fd)
{
	return open[fd / 8] & (1u << (fd % 8));
}

static void fd_take(unsigned char *open, int fd)
{
	open[fd / 8] |= (unsigned char)(1u << (fd % 8));
}

static void fd_drop(unsigned char *open, int fd)
{
	open[fd / 8] &= (unsigned char)~(1u << (fd % 8));
}

static int lowest_free(const unsigned char *open)
{
	int fd = 0;

	while (fd_taken(open, fd))
		fd++;
	return fd;
}

/* In the new child (all of its parent's fds): exactly the donor's, at
 * their numbers.  One batch: the kernel gives the lowest free number, so
 * every call's result is known in advance (and checked). */
static int give_fds(struct rproc *c)
{
	struct remote_call *calls = NULL;
	unsigned char *open = NULL, *target = NULL;
	size_t n = 0, k, *order = NULL;
	int top = 0, pidfd, ret = -1;

	for (k = 0; k < c->ndonated; k++)
		if (c->donated_n[k] >= top)
			top = c->donated_n[k] + 1;
	calls = calloc(4 * c->ndonated + 8, sizeof(*calls));
	open = calloc((size_t)top / 8 + 2, 1);
	target = calloc((size_t)top / 8 + 2, 1);
	order = malloc((c->ndonated + 1) * sizeof(*order));
	if (!calls || !open || !target || !order) {
		fail(ENOMEM, NULL, "giving process %d its fds", c->rec->pid);
		goto out;
	}
	for (k = 0; k < c->ndonated; k++)
		fd_take(target, c->donated_n[k]);
	calls[n++] = (struct remote_call){ .nr = __NR_close_range, .arg = { 0, ~0u, 0 } };
	calls[n++] = (struct remote_call){ .nr = __NR_pidfd_open, .arg = { (unsigned long)getpid(), 0 } };
	/* The pidfd on restart at the lowest number none of its fds has. */
	pidfd = lowest_free(target);
	if (pidfd) {
		calls[n++] = (struct remote_call){ .nr = __NR_fcntl, .arg = { 0, F_DUPFD_CLOEXEC,
			(unsigned long)pidfd } };
		calls[n++] = (struct remote_call){ .nr = __NR_close, .arg = { 0 } };
	}
	fd_take(open, pidfd);
	/* In increasing order of their numbers (procfs_list_fds sorts). */
	for (k = 0; k < c->ndonated; k++) {
		int want = c->donated_n[k], got = lowest_free(open);

		calls[n++] = (struct remote_call){ .nr = __NR_pidfd_getfd, .arg = { (unsigned long)pidfd,
			(unsigned long)c->donated_fd[k], 0 } };
		order[k] = n - 1;
		if (got == want) {
			calls[n++] = (struct remote_call){ .nr = __NR_fcntl, .arg = { (unsigned long)want,
				F_SETFD, 0 } };
		} else {
			calls[n++] = (struct remote_call){ .nr = __NR_dup3, .arg = { (unsigned long)got,
				(unsigned long)want, 0 } };
			calls[n++] = (struct remote_call){ .nr = __NR_close, .arg = { (unsigned long)got } };
		}
		fd_take(open, want);
	}
	calls[n++] = (struct remote_call){ .nr = __NR_close, .arg = { (unsigned long)pidfd } };
	fd_drop(open, pidfd);
	if (remote_syscall_batch(c->ctx.remote, calls, n))
		goto out;
	for (k = 0; k < n; k++)
		if (calls[k].ret < 0) {
			fail((int)-calls[k].ret, NULL, "giving process %d its fds (call %zu of %zu)",
			     c->rec->pid, k + 1, n);
			goto out;
		}
	if (calls[1].ret != 0)
		goto wrong;
	for (k = 0; k < c->ndonated; k++) {
		long got = calls[order[k]].ret;

		if (calls[order[k] + 1].nr == __NR_fcntl ? got != c->donated_n[k] :
		    got != (long)calls[order[k] + 1].arg[0])
			goto wrong;
	}
	ret = 0;
	goto out;
wrong:
	fail_why("an fd came at a number not expected", "please report this with the -vv output",
		 "giving process %d its fds", c->rec->pid);
out:
	free(calls);
	free(open);
	free(target);
	free(order);
	return ret;
}

/* Sharing its parent's fd table (CLONE_FILES): none of what restart
 * keeps in a process through exec for its memory (an fd on each object of
 * shared memory) is there, nor needed: fork_plan made sure the fork keeps
 * every such mapping as it is (memory.c). */
static void unshared_fds_gone(struct rproc *c)
{
	size_t k;

	for (k = 0; c->ctx.vma_shm_fd && k < c->ctx.meta.nvmas; k++)
		c->ctx.vma_shm_fd[k] = -1;
}

/* Its session and group, as make_children and fix_groups would have
 * made them (it did not exist then). */
static int join_group(struct rtree *t, struct rproc *c)
{
	const struct tree_rec *r = c->rec;
	pid_t want = r->pgid == t->p[0]->rec->pgid ? getpgid(t->p[0]->pid) : r->pgid;

	if (r->sid == r->pid && remote_syscall_ok(c->ctx.remote, NULL, "starting its session",
						  __NR_setsid, 0, 0, 0, 0, 0, 0))
		return -1;
	if (getpgid(r->pid) == want)
		return 0;
	return remote_syscall_ok(c->ctx.remote, NULL, "joining its process group", __NR_setpgid,
				 0, r->pgid == r->pid ? 0 : (unsigned long)want, 0, 0, 0, 0);
}

int fork_children(struct rtree *t, size_t i)
{
	struct rproc *p = t->p[i];
	size_t j;

	for (j = i + 1; j < t->n; j++) {
		struct rproc *c = t->p[j];
		pid_t want = c->rec->pid;

		if (c->parent != (int)i || !c->by_fork)
			continue;
		pr_info("forking process %d from its parent %d", want, p->pid);
		if (remote_fork_child(p->ctx.remote, &want, 1,
				      (c->rec->share_fs ? CLONE_FS : 0) |
				      (c->rec->share_files ? CLONE_FILES : 0), &c->ctx.remote))
			return -1;
		c->pid = c->ctx.pid = want;
		c->ctx.fork_parent = &p->ctx.meta;
		if (c->rec->share_files)
			unshared_fds_gone(c);
		else if (give_fds(c))
			return -1;
		if (join_group(t, c))
			return -1;
		fork_free(c);	/* (its fds are its own now) */
	}
	return 0;
}

void fork_free(struct rproc *p)
{
	size_t k;

	for (k = 0; k < p->ndonated; k++)
		close(p->donated_fd[k]);
	free(p->donated_n);
	free(p->donated_fd);
	p->donated_n = p->donated_fd = NULL;
	p->ndonated = 0;
}
