/* ckpt's driver: the process given and all its descendants, one image.
 *
 * Every process is frozen (all its threads seized) before its children
 * are listed, so the tree cannot change under us: a frozen process forks
 * no more, and a child that exits meanwhile stays a zombie of its frozen
 * parent.  All processes are frozen before any is read; then each one's
 * dump hooks run in its own dump_ctx, every process forks its
 * copy-on-write copy and resumes, and the image is written: the root's
 * metadata with meta/tree, every other process's metadata under
 * "proc/PID/", then the memory contents of each in the same order.
 * Restart needs everyone's metadata before it creates anyone. */
#define LOG_PREFIX ""
#include "sessions.h"
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state/fds.h"

struct tproc {
	struct dump_ctx ctx;
	pid_t pid, ppid, pgid, sid;
	uint32_t state;			/* enum tree_state */
	int stop_sig;			/* TREE_STOPPED: by this signal */
	int exit_status;		/* zombies */
	char comm[64];
	int parent;			/* index in tree.procs, -1 for the root */
	bool live;			/* ctx in use (not a zombie) */
	bool share_fs;			/* its cwd/root/umask is its parent's (CLONE_FS) */
	bool share_files;		/* its fd table is its parent's (CLONE_FILES) */
};

struct tree {
	struct tproc **procs;		/* in discovery order, the root first */
	size_t n;
	size_t *order;			/* depth first: the image's order */
	struct tree_pipes pipes;	/* every pipe end of every process */
};

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* Children of every thread of pid, sorted, each once. */
static int list_children(pid_t pid, pid_t **out, size_t *nout)
{
	pid_t *tids, *kids = NULL;
	size_t ntids, n = 0, i, j;

	if (procfs_list_tasks(pid, &tids, &ntids))
		return -1;
	for (i = 0; i < ntids; i++) {
		char name[64], *text, *p, *end;
		size_t len;

		snprintf(name, sizeof(name), "task/%d/children", tids[i]);
		if (procfs_read(pid, name, &text, &len)) {
			error_clear();	/* the thread is gone */
			continue;
		}
		for (p = text;; p = end) {
			long v = strtol(p, &end, 10);
			pid_t *grown;

			if (end == p)
				break;
			grown = realloc(kids, (n + 1) * sizeof(*kids));
			if (!grown) {
				free(text);
				free(kids);
				free(tids);
				return fail(ENOMEM, NULL, "listing children of %d", pid);
			}
			kids = grown;
			kids[n++] = v;
		}
		free(text);
	}
	free(tids);
	if (n)
		qsort(kids, n, sizeof(*kids), cmp_pid);
	for (i = j = 0; i < n; i++)
		if (!j || kids[j - 1] != kids[i])
			kids[j++] = kids[i];
	*out = kids;
	*nout = j;
	return 0;
}

static struct tproc *add_proc(struct tree *t, pid_t pid, int parent, const struct dump_opts *opts)
{
	struct tproc **grown = realloc(t->procs, (t->n + 1) * sizeof(*grown));
	struct tproc *p = calloc(1, sizeof(*p));

	if (!grown || !p) {
		free(p);
		if (grown)
			t->procs = grown;
		fail(ENOMEM, NULL, "recording the process tree");
		return NULL;
	}
	t->procs = grown;
	t->procs[t->n++] = p;
	p->pid = pid;
	p->parent = parent;
	p->ctx.pid = pid;
	p->ctx.live = pid;
	p->ctx.opts = opts;
	return p;
}

/* Check, prepare and freeze one live process. */
static int freeze(struct tproc *p)
{
	if (dump_preflight(p->pid, &p->ctx))
		return -1;
	p->live = true;
	p->ppid = p->ctx.stat.ppid;
	p->pgid = p->ctx.stat.pgrp;
	p->sid = p->ctx.stat.session;
	snprintf(p->comm, sizeof(p->comm), "%s", p->ctx.stat.comm);
	if (dump_run_prepare_hooks(&p->ctx) || dump_seize_all(&p->ctx))
		return -1;
	p->ctx.frozen_ns = now_ns();
	p->ctx.source = p->ctx.remote;
	p->stop_sig = remote_stop_signal(p->ctx.remote);
	p->state = p->stop_sig ? TREE_STOPPED : TREE_RUNNING;
	return 0;
}

static int refuse_children(const struct tproc *root, const pid_t *kids, size_t n)
{
	char list[256] = "";
	size_t i, len = 0;

	for (i = 0; i < n && len < sizeof(list) - 16; i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%d", i ? ", " : "", kids[i]);
	return fail_why("it has children that would not be saved", "checkpoint the whole tree "
			"(without --no-children), or end its children first",
			"checkpointing process %d (%s) alone, with %zu child%s (%s%s)", root->pid,
			root->comm, n, n == 1 ? "" : "ren", list, i < n ? ", ..." : "");
}

/* --from-inside: is pid ckpt or one of its ancestors (libmigrate's helper
 * between the process and ckpt)?  They are left out of the image. */
static bool runs_ckpt(pid_t pid)
{
	pid_t p = getpid();
	int depth;

	for (depth = 0; p > 1 && depth < 64; depth++) {
		struct proc_stat st;

		if (p == pid)
			return true;
		if (procfs_read_stat(p, &st)) {
			error_clear();
			return false;
		}
		p = st.ppid;
	}
	return false;
}

static void leave_out_ckpt(pid_t *kids, size_t *n)
{
	size_t i, k = 0;

	for (i = 0; i < *n; i++) {
		if (runs_ckpt(kids[i])) {
			pr_info("process %d runs ckpt (--from-inside): left out of the image", kids[i]);
			continue;
		}
		kids[k++] = kids[i];
	}
	*n = k;
}

static void record_zombie(struct tproc *c, const struct proc_stat *st)
{
	c->state = TREE_ZOMBIE;
	c->live = false;
	c->ppid = st->ppid;
	c->pgid = st->pgrp;
	c->sid = st->session;
	c->exit_status = st->exit_code;
	snprintf(c->comm, sizeof(c->comm), "%s", st->comm);
}

/* A child that could not be frozen because it was exiting right then
 * (PTRACE_SEIZE gives EPERM for a process in exit): its parent is frozen,
 * so it stays a zombie, saved as one.  Waits up to a second for it to get
 * there; a main thread gone with threads running on is not such a case. */
static bool exited_meanwhile(struct tproc *c)
{
	struct proc_stat st;
	int i;

	if (c->ctx.ntasks)
		return false;	/* partly seized: a real failure */
	for (i = 0; i < 20; i++) {
		if (procfs_read_stat(c->pid, &st))
			return false;
		if (st.state == 'Z' && st.num_threads <= 1) {
			pr_info("process %d (%s) exited while it was being frozen: saved as a "
				"zombie (%s)", c->pid, st.comm, error_text());
			error_clear();
			record_zombie(c, &st);
			return true;
		}
		usleep(50000);
	}
	return false;
}

/* Freeze the root, then each frozen process's children, breadth first. */
static int discover(struct tree *t, pid_t root_pid, const struct dump_opts *opts)
{
	size_t i;

	if (!add_proc(t, root_pid, -1, opts) || freeze(t->procs[0]))
		return -1;
	for (i = 0; i < t->n; i++) {
		pid_t *kids = NULL;
		size_t nkids = 0, k;

		if (!t->procs[i]->live)
			continue;
		if (list_children(t->procs[i]->pid, &kids, &nkids))
			return -1;
		if (opts->from_inside)
			leave_out_ckpt(kids, &nkids);
		if (nkids && opts->no_children) {
			int ret = refuse_children(t->procs[0], kids, nkids);
			free(kids);
			return ret;
		}
		for (k = 0; k < nkids; k++) {
			struct proc_stat st;
			struct tproc *c;

			if (runs_ckpt(kids[k])) {
				/* Leaving it out would lose a process of the tree
				 * (a shell in a terminal multiplexer's pane...). */
				free(kids);
				return fail_why("ckpt itself runs in that tree (process "
						"is ckpt or one of its ancestors)", "run ckpt from "
						"outside the tree; a program checkpointing itself "
						"uses libmigrate (ckpt --from-inside)",
						"checkpointing process %d (%s)", root_pid,
						t->procs[0]->comm);
			}
			if (procfs_read_stat(kids[k], &st)) {
				error_clear();	/* reaped meanwhile (SIGCHLD ignored) */
				continue;
			}
			if (st.state == 'X')
				continue;
			c = add_proc(t, kids[k], (int)i, opts);
			if (!c) {
				free(kids);
				return -1;
			}
			if (st.state == 'Z' && st.num_threads <= 1) {
				record_zombie(c, &st);
				continue;
			}
			if (freeze(c) && !exited_meanwhile(c)) {
				free(kids);
				return -1;
			}
		}
		free(kids);
	}
	return 0;
}

static int order_from(struct tree *t, size_t at, size_t *pos)
{
	size_t i;

	t->order[(*pos)++] = at;
	for (i = 0; i < t->n; i++)	/* discovery order: children by PID */
		if (t->procs[i]->parent == (int)at)
			order_from(t, i, pos);
	return 0;
}

static const struct tproc *find_pid(const struct tree *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->procs[i]->pid == pid)
			return t->procs[i];
	return NULL;
}

/* A group whose leader has exited (zombie01: a child that made its own
 * group, forked with CLONE_PARENT and died): restart can make it again
 * when all its members in the tree are children of one parent. */
static bool dead_leader_ok(const struct tree *t, const struct tproc *p)
{
	size_t i;

	for (i = 1; i < t->n; i++)
		if (t->procs[i]->pgid == p->pgid && t->procs[i]->parent != p->parent)
			return false;
	return true;
}

/* A session whose leader exited after forking p (zombie_leader: p was
 * reparented to a subreaper of the tree): restart makes it again when
 * the leader is a zombie of the tree, or gone, and a child of p's parent
 * (restart lends the session a leader under its PID for a moment), and
 * every such member is a child of that parent, in the session's group,
 * its own or one led by a process of the tree. */
static bool session_ok(const struct tree *t, const struct tproc *p)
{
	const struct tproc *leader = find_pid(t, p->sid), *g;
	size_t i;

	if (leader ? leader->state != TREE_ZOMBIE || leader->parent != p->parent :
	    !(kill(p->sid, 0) && errno == ESRCH))
		return false;
	for (i = 1; i < t->n; i++) {
		const struct tproc *q = t->procs[i];

		if (q->sid == p->sid && q != leader && t->procs[q->parent]->sid != p->sid &&
		    q->parent != p->parent)
			return false;
	}
	if (p->pgid == p->pid || p->pgid == p->sid)
		return true;
	g = find_pid(t, p->pgid);
	return g && g->sid == p->sid;
}

/* Sessions and groups restart can make again: a session is led by the
 * process itself or inherited from the parent; a group is led by a
 * process of the tree in the same session, or is the root's. */
/* Processes sharing one fd table (clone CLONE_FILES) or one cwd/umask
 * (CLONE_FS) with their parent.  A shared cwd, root and umask is kept by
 * exec: restart creates a process that shares it with its parent with
 * clone(CLONE_FS) (share_fs).  A shared fd table is not (exec gives the
 * process one of its own): restart forks such a process from its
 * restored parent with CLONE_FILES (restart/fork_restore.c,
 * share_files).  Sharing is one table for a set of processes, so that is
 * enough when each process sharing it with any other shares it with its
 * parent too (the set is a subtree).  Anything else (siblings whose
 * parent unshared its table) comes back as the same open files in a
 * table of each one's own (the tree_pid links), not the coupling of
 * later changes: said in one warning line; a shared cwd so (or the root's
 * with its parent, a chroot) is refused by name. */
static int check_shared_tables(const struct tree *t)
{
	static const struct { int type; const char *what, *flag; } kinds[] = {
		{ KCMP_FILES, "its fd table", "CLONE_FILES" },
		{ KCMP_FS, "its cwd, root and umask", "CLONE_FS" },
	};
	size_t a, b, k;

	for (b = 0; b < t->n; b++) {
		struct tproc *q = t->procs[b];
		pid_t other;

		if (!q->live)
			continue;
		if (b && t->procs[q->parent]->live &&
		    !syscall(SYS_kcmp, t->procs[q->parent]->pid, q->pid, KCMP_FS, 0, 0)) {
			char root[8];

			if (procfs_readlink(q->pid, "root", root, sizeof(root)) || strcmp(root, "/"))
				return fail_why("it shares its cwd, root and umask with its parent "
						"(clone CLONE_FS) and is in a chroot", "not supported "
						"yet: start them without sharing it, or outside the chroot",
						"checkpointing process %d (%s)", q->pid, q->comm);
			q->share_fs = true;
		}
		if (b && t->procs[q->parent]->live &&
		    !syscall(SYS_kcmp, t->procs[q->parent]->pid, q->pid, KCMP_FILES, 0, 0))
			q->share_files = true;
		for (a = 0; a <= b; a++) {
			other = a < b ? t->procs[a]->pid : b == 0 ? q->ppid : 0;
			if ((a < b && !t->procs[a]->live) || other <= 1)
				continue;
			for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
				char why[160];

				if (syscall(SYS_kcmp, other, q->pid, kinds[k].type, 0, 0))
					continue;
				if (kinds[k].type == KCMP_FS && a < b && q->share_fs)
					continue;	/* (the other shares it with it, so with q's parent too) */
				if (kinds[k].type == KCMP_FILES && a < b && q->share_files)
					continue;	/* (as for CLONE_FS) */
				if (kinds[k].type == KCMP_FILES && a < b) {	/* (the root: its parent stays outside) */
					pr_warn("process %d shares its fd table with process %d "
						"(clone CLONE_FILES): each is restored with the same "
						"open files, in a table of its own", q->pid, other);
					continue;
				}
				snprintf(why, sizeof(why), "it shares %s with process %d (clone "
					 "%s)%s, which a restored process cannot have", kinds[k].what,
					 other, kinds[k].flag, kinds[k].type == KCMP_FS && a < b ?
					 " but not with its parent" : "");
				return fail_why(why, "not supported yet: start them without sharing it",
						"checkpointing process %d (%s)", q->pid, q->comm);
			}
		}
	}
	return 0;
}

/* Which processes were forked before their parent's setsid() (restart
 * forks them so again); NULL on ENOMEM (then none). */
static bool *born_early(const struct tree *t)
{
	struct session_node *n = calloc(t->n, sizeof(*n));
	bool *early = calloc(t->n, sizeof(*early));
	size_t i;

	if (!n || !early) {
		free(n);
		free(early);
		return NULL;
	}
	for (i = 0; i < t->n; i++)
		n[i] = (struct session_node){ t->procs[i]->pid, t->procs[i]->sid,
					      i ? t->procs[i]->parent : -1,
					      t->procs[i]->state == TREE_ZOMBIE };
	sessions_born_early(n, t->n, early);
	free(n);
	return early;
}

static int check_ids(const struct tree *t)
{
	const struct tproc *root = t->procs[0];
	bool *early = born_early(t);
	size_t i;

	for (i = 1; i < t->n; i++) {
		const struct tproc *p = t->procs[i], *parent = t->procs[p->parent], *leader;

		if (p->sid != p->pid && p->sid != parent->sid && !(early && early[i]) &&
		    !session_ok(t, p)) {
			free(early);
			return fail_why("it is in a session that is neither its parent's nor its "
					"own", "such a tree cannot be recreated by this version",
					"checkpointing process %d (%s) of session %d, child of %d "
					"(session %d)", p->pid, p->comm, p->sid, parent->pid,
					parent->sid);
		}
		if (p->pgid == p->pid || (p->pgid == root->pgid && p->sid == root->sid))
			continue;
		if (p->pgid == p->sid && p->sid != root->sid)
			continue;	/* the session's own group, made with it */
		leader = find_pid(t, p->pgid);
		if (leader && leader->sid == p->sid)
			continue;
		if (!leader && kill(p->pgid, 0) && errno == ESRCH && dead_leader_ok(t, p))
			continue;	/* restart lends the group a leader for a moment */
		free(early);
		return fail_why("its process group is led by a process outside the tree",
				"checkpoint the group's leader with it (a common ancestor)",
				"checkpointing process %d (%s) of process group %d", p->pid,
				p->comm, p->pgid);
	}
	free(early);
	return 0;
}

/* A /dev/ptmx master: its tty index, for a pty whose master and slave
 * are in different processes of the tree (fd_pty.c). */
static int list_ptmx(struct tree *t, pid_t pid, int fd)
{
	struct tree_pipe_end *e;
	char name[32], *text, *at;
	size_t len;
	int index;

	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	if (procfs_read(pid, name, &text, &len)) {
		error_clear();	/* closed meanwhile: not ours to judge */
		return 0;
	}
	at = strstr(text, "tty-index:");
	if (!at || sscanf(at + 10, "%d", &index) != 1) {
		free(text);
		return 0;
	}
	free(text);
	if (!(e = meta_push(&t->pipes.ends, &t->pipes.n, sizeof(*e))))
		return -1;
	*e = (struct tree_pipe_end){ .ino = (uint64_t)index, .pid = pid, .ptmx = true };
	return 0;
}

/* Every end of an anonymous pipe in the tree, for fd_pipe_inside(), and
 * every socket, for a unix socket pair between processes (fd_socket_unix.c),
 * every pty master (fd_pty.c), and every process (pidfds, fd_pidfd.c). */
static int list_pipes(struct tree *t)
{
	size_t i, k;

	for (i = 0; i < t->n; i++) {
		pid_t *e = meta_push(&t->pipes.pids, &t->pipes.npids, sizeof(*e));
		if (!e)
			return -1;
		*e = t->procs[i]->pid;
	}

	for (i = 0; i < t->n; i++) {
		const struct tproc *p = t->procs[i];
		int *fds;
		size_t n;

		if (!p->live)
			continue;
		if (procfs_list_fds(p->pid, &fds, &n))
			return -1;
		for (k = 0; k < n; k++) {
			char name[32], link[64];
			struct proc_fdinfo fi;
			struct tree_pipe_end *e;
			unsigned long long ino;
			bool sock = false;

			snprintf(name, sizeof(name), "fd/%d", fds[k]);
			if (procfs_readlink(p->pid, name, link, sizeof(link))) {
				error_clear();
				link[0] = 0;
			}
			if (sscanf(link, "socket:[%llu]", &ino) == 1)
				sock = true;
			if (!strcmp(link, "/dev/ptmx")) {
				if (list_ptmx(t, p->pid, fds[k])) {
					free(fds);
					return -1;
				}
				continue;
			}
			if (procfs_readlink(p->pid, name, link, sizeof(link)) ||
			    (!sock && sscanf(link, "pipe:[%llu]", &ino) != 1) ||
			    procfs_read_fdinfo(p->pid, fds[k], &fi)) {
				error_clear();
				continue;
			}
			e = meta_push(&t->pipes.ends, &t->pipes.n, sizeof(*e));
			if (!e) {
				free(fds);
				return -1;
			}
			e->ino = ino;
			e->pid = p->pid;
			e->mode = fi.flags & O_ACCMODE;
			e->sock = sock;
		}
		free(fds);
	}
	return 0;
}

/* Open files shared between processes of the tree (inherited through
 * fork): the later one names the first holder (tree_pid, tree_fd), so
 * that restart makes it once, in a common ancestor, before the fork. */
/* A file of /proc/PID of another process of the tree (the parent's open
 * /proc/CHILD/stat): the PID is the same after restart, which opens it
 * late, once that process exists (fd_path.c), instead of looking for it
 * before anything is made. */
static void mark_tree_proc_files(struct tree *t)
{
	size_t a, b, j;

	for (b = 0; b < t->n; b++) {
		struct image_meta *m = &t->procs[b]->ctx.meta;

		if (!t->procs[b]->live)
			continue;
		for (j = 0; j < m->nfds; j++) {
			struct fd_rec *f = &m->fds[j];
			char *end;
			long pid;

			if ((f->kind != FD_REGULAR && f->kind != FD_DIRECTORY) || !f->path ||
			    strncmp(f->path, "/proc/", 6) || f->proc_dead)
				continue;
			pid = strtol(f->path + 6, &end, 10);
			if (end == f->path + 6 || (*end != '/' && *end) || pid <= 0)
				continue;
			for (a = 0; a < t->n; a++)
				if (a != b && t->procs[a]->pid == pid)
					f->proc_of_tree = (int32_t)pid;
		}
	}
}

static int link_shared_files(struct tree *t)
{
	size_t a, b, i, j;

	for (b = 1; b < t->n; b++) {
		struct tproc *q = t->procs[t->order[b]];
		struct image_meta *qm = &q->ctx.meta;

		if (!q->live)
			continue;
		for (j = 0; j < qm->nfds; j++) {
			struct fd_rec *f = &qm->fds[j];

			if (f->share_index || f->kind == FD_STDIO || f->inflight)
				continue;	/* (in flight: not in the table) */
			for (a = 0; a < b && !f->tree_pid; a++) {
				const struct tproc *p = t->procs[t->order[a]];
				const struct image_meta *pm = &p->ctx.meta;

				if (!p->live)
					continue;
				for (i = 0; i < pm->nfds; i++) {
					const struct fd_rec *g = &pm->fds[i];

					if (g->share_index || g->kind != f->kind || g->tree_pid ||
					    g->inflight ||
					    !g->description || !f->description ||
					    strcmp(g->description, f->description) ||
					    syscall(SYS_kcmp, p->pid, q->pid, KCMP_FILE, g->fd, f->fd))
						continue;
					f->tree_pid = p->pid;
					f->tree_fd = g->fd;
					break;
				}
			}
		}
	}
	return 0;
}

static int record_tree(struct tree *t)
{
	struct image_meta *m = &t->procs[0]->ctx.meta;
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct tproc *p = t->procs[t->order[i]];
		struct tree_rec *r = meta_push(&m->tree, &m->ntree, sizeof(*r));

		if (!r)
			return -1;
		r->pid = p->pid;
		r->ppid = p->ppid;
		r->pgid = p->pgid;
		r->sid = p->sid;
		r->state = p->state;
		r->exit_status = p->exit_status;
		r->share_fs = p->share_fs;
		r->share_files = p->share_files;
		r->stop_sig = (uint32_t)p->stop_sig;
		if (!(r->comm = strdup(p->comm)))
			return fail(ENOMEM, NULL, "recording the process tree");
	}
	return 0;
}

#define FOR_LIVE(t, i, p) \
	for (i = 0; i < (t)->n; i++) \
		if (((p) = (t)->procs[(t)->order[i]])->live)

static int write_image(struct tree *t, int out_fd)
{
	struct image_writer *w;
	struct tproc *p;
	size_t i;

	FOR_LIVE(t, i, p)
		if (dump_run_shared_hooks(&p->ctx))
			return -1;
	/* Everything is read but memory: each goes on, from its copy. */
	FOR_LIVE(t, i, p)
		if (dump_resume_if_possible(&p->ctx))
			return -1;
	FOR_LIVE(t, i, p)
		if (dump_run_late_hooks(&p->ctx))
			return -1;
	w = image_writer_new(out_fd, t->procs[0]->ctx.opts->compress_level);
	if (!w)
		return -1;
	if (t->procs[0]->ctx.opts->sign && image_writer_sign(w, t->procs[0]->ctx.opts->sign))
		return -1;
	if (t->procs[0]->ctx.opts->encrypt &&
	    image_writer_encrypt(w, t->procs[0]->ctx.opts->encrypt))
		return -1;
	FOR_LIVE(t, i, p)
		p->ctx.writer = w;
	FOR_LIVE(t, i, p)
		if (meta_write_as(w, &p->ctx.meta, p->ctx.prefix))
			return -1;
	FOR_LIVE(t, i, p)
		if (dump_run_contents_hooks(&p->ctx))
			return -1;
	return image_writer_finish(w);
}

static void free_tree(struct tree *t)
{
	struct image_writer *w = t->n ? t->procs[0]->ctx.writer : NULL;
	size_t i;

	/* Children first: a parent reaps its copy after they are let go. */
	for (i = t->n; i-- > 0;) {
		struct tproc *p = t->procs[i];
		if (p->live) {
			if (w)
				image_writer_quiesce(w);
			dump_ctx_end(&p->ctx);
		}
		free(p);
	}
	if (w)
		image_writer_free(w);
	free(t->procs);
	free(t->order);
	free(t->pipes.ends);
	free(t->pipes.pids);
}

int dump_tree(pid_t pid, const struct dump_opts *opts, int out_fd,
	      int (*commit)(void *arg), void *arg)
{
	struct tree t = { 0 };
	unsigned long long t0 = now_ns(), t_frozen;
	uint64_t stored = 0, zero = 0, in_parent = 0;
	size_t i, pos = 0, nthreads = 0;
	struct tproc *p;
	int ret = -1;

	if (discover(&t, pid, opts))
		goto out;
	t_frozen = now_ns();
	if (opts->bundle && t.n > 1) {
		fail_why("bundles of process trees are not supported yet", "checkpoint it "
			 "without --bundle (the target needs the same files), or with "
			 "--no-children if the children can be left out", "bundling process %d "
			 "and its %zu descendants", pid, t.n - 1);
		goto out;
	}
	t.order = calloc(t.n, sizeof(*t.order));
	if (!t.order) {
		fail(ENOMEM, NULL, "recording the process tree");
		goto out;
	}
	order_from(&t, 0, &pos);
	if (check_ids(&t) || check_shared_tables(&t))
		goto out;
	/* (One process: a tree of one only when it is stopped, which the
	 * tree record says.) */
	if ((t.n > 1 || t.procs[0]->state == TREE_STOPPED) && record_tree(&t))
		goto out;
	for (i = 1; i < t.n; i++)
		snprintf(t.procs[t.order[i]]->ctx.prefix, MEMBER_PREFIX_MAX, "proc/%d/",
			 t.procs[t.order[i]]->pid);
	if (t.n > 1) {
		if (list_pipes(&t))
			goto out;
		FOR_LIVE(&t, i, p) {
			p->ctx.tree_pipes = &t.pipes;
			if (p->parent >= 0 && t.procs[p->parent]->live)
				p->ctx.tree_parent = &t.procs[p->parent]->ctx;
		}
	}
	if (dump_write_header(&t.procs[0]->ctx))
		goto out;
	FOR_LIVE(&t, i, p) {
		if (dump_run_dump_hooks(&p->ctx))
			goto out;
		nthreads += p->ctx.ntasks;
	}
	if (t.n > 1 && link_shared_files(&t))
		goto out;
	if (t.n > 1)
		mark_tree_proc_files(&t);
	if (write_image(&t, out_fd))
		goto out;
	if (commit && commit(arg))
		goto out;
	FOR_LIVE(&t, i, p)
		state_dump_committed(&p->ctx);
	FOR_LIVE(&t, i, p) {
		stored += p->ctx.pages_stored;
		zero += p->ctx.pages_zero;
		in_parent += p->ctx.pages_parent;
	}
	if (in_parent)
		pr_info("image: %llu pages stored, %llu unchanged since the parent image",
			(unsigned long long)stored, (unsigned long long)in_parent);
	pr_info("image: %zu processes, %llu pages stored, %llu zero pages skipped, %llu bytes",
		t.n, (unsigned long long)stored, (unsigned long long)zero,
		(unsigned long long)image_writer_bytes_out(t.procs[0]->ctx.writer));
	if (opts->stats)
		*opts->stats = (struct dump_stats){
			/* not released yet with --kill: frozen until now */
			.frozen_ns = t.procs[0]->ctx.released ? t.procs[0]->ctx.frozen_ns :
				     now_ns() - t_frozen,
			.total_ns = now_ns() - t0,
			.pages_stored = stored, .pages_zero = zero, .pages_parent = in_parent,
			.bytes_out = image_writer_bytes_out(t.procs[0]->ctx.writer),
			.tracked = t.procs[0]->ctx.meta.header->track_pages != 0,
		};
	FOR_LIVE(&t, i, p)
		if (dump_release_all(&p->ctx))
			goto out;
	FOR_LIVE(&t, i, p)
		dump_print_backtraces(&p->ctx.meta);
	pr_info("%zu processes (%zu threads) frozen for %.1f ms, total %.1f ms", t.n, nthreads,
		(t.procs[0]->ctx.released ? t.procs[0]->ctx.frozen_ns : now_ns() - t_frozen) / 1e6,
		(now_ns() - t0) / 1e6);
	ret = 0;
out:
	free_tree(&t);
	return ret;
}
