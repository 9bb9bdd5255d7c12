/* Open files shared between processes of a tree: an fd inherited through
 * fork (one open file description: one offset, one set of flags; a
 * listening socket of a master and its workers), the ends of a pipe
 * between processes (a pipeline), and the two ends of a unix socket pair
 * between processes (socketpair before fork).  ckpt links the later holders of an
 * open file to its first one (fd_rec.tree_pid/tree_fd); the open files of
 * an anonymous pipe are matched by its id.  Each is made once, by the
 * closest common ancestor of its holders, in its restart child before it
 * forks, above every fd number of the image; its descendants inherit it,
 * the holders dup it to their own fd numbers (fds.c), and close-on-exec
 * takes it away from the others.  A pty whose master and slave are held
 * by several processes is made whole by their common ancestor, with an
 * open file for each. */
#define LOG_PREFIX ""
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/fds.h"

/* Its PID in the image (an image of one process may have no tree record). */
static pid_t image_pid(const struct rproc *p)
{
	return p->rec ? p->rec->pid : p->ctx.meta.process->pid;
}

static int depth(const struct rtree *t, int i)
{
	int d = 0;

	while (i > 0) {
		i = t->p[i]->parent;
		d++;
	}
	return d;
}

static int common_ancestor(const struct rtree *t, int a, int b)
{
	int da = depth(t, a), db = depth(t, b);

	while (da > db) {
		a = t->p[a]->parent;
		da--;
	}
	while (db > da) {
		b = t->p[b]->parent;
		db--;
	}
	while (a != b) {
		a = t->p[a]->parent;
		b = t->p[b]->parent;
	}
	return a;
}

static int new_obj(struct rtree *t, size_t proc, size_t rec)
{
	struct robj *grown = realloc(t->objs, (t->nobjs + 1) * sizeof(*grown));

	if (!grown)
		return fail(ENOMEM, NULL, "planning shared files");
	t->objs = grown;
	t->objs[t->nobjs] = (struct robj){ .proc = proc, .rec = rec, .lca = (int)proc, .fd = -1 };
	t->p[proc]->rec_obj[rec] = (int)t->nobjs;
	return (int)t->nobjs++;
}

static void hold(struct rtree *t, int obj, size_t proc, size_t rec)
{
	t->p[proc]->rec_obj[rec] = obj;
	t->objs[obj].lca = common_ancestor(t, t->objs[obj].lca, (int)proc);
}

/* The record of process pid (earlier in the tree) that rec names. */
static int find_first(struct rtree *t, size_t i, const struct fd_rec *f, size_t *proc, size_t *rec)
{
	size_t a, k;

	for (a = 0; a < i; a++) {
		const struct image_meta *m = &t->p[a]->ctx.meta;

		if (t->p[a]->zombie || !t->p[a]->rec || t->p[a]->rec->pid != f->tree_pid)
			continue;
		for (k = 0; k < m->nfds; k++) {
			const struct fd_rec *g = &m->fds[k];
			if (g->fd != f->tree_fd)
				continue;
			if (g->share_index || g->tree_pid || g->kind != f->kind)
				break;
			*proc = a;
			*rec = k;
			return 0;
		}
	}
	return fail_why("it names an fd that is not in the image", "the image is corrupted",
			"checking fd %d (%s) of process %d", f->fd, f->description,
			t->p[i]->rec ? t->p[i]->rec->pid : 0);
}

/* Objects whose open files several processes of the tree may hold, each
 * made once, by the common ancestor of all who hold any: its key names the
 * object an fd record is of (0: not of this kind).  An fd of a pty, or of a
 * dead process's pidfd, inherited from a parent (tree_pid) is that
 * parent's; a pipe's is checked by rec_obj. */
struct shared_kind {
	uint64_t (*key)(const struct fd_rec *f);
	size_t obj_key;			/* offsetof the key in struct robj */
	bool own_fds_only;		/* skip fds inherited from a parent (tree_pid) */
};

static uint64_t pipe_key(const struct fd_rec *f)
{
	return f->kind == FD_PIPE ? f->object_id : 0;
}

static uint64_t pty_key(const struct fd_rec *f)
{
	uint64_t index;
	return fd_pty_index(f, &index) ? index + 1 : 0;
}

static uint64_t dead_pidfd_key(const struct fd_rec *f)
{
	uint64_t ino;
	return fd_pidfd_dead(f, &ino) ? ino : 0;
}

static const struct shared_kind shared_kinds[] = {
	{ pipe_key, offsetof(struct robj, pipe), false },
	{ pty_key, offsetof(struct robj, pty), true },
	{ dead_pidfd_key, offsetof(struct robj, dead_pidfd), true },
};

static uint64_t *obj_key(struct robj *o, const struct shared_kind *sk)
{
	return (uint64_t *)((char *)o + sk->obj_key);
}

/* Does another process than i hold an fd of the object key? */
static bool held_elsewhere(const struct rtree *t, size_t i, const struct shared_kind *sk,
			   uint64_t key)
{
	size_t a, k;

	for (a = 0; a < t->n; a++) {
		const struct image_meta *m = &t->p[a]->ctx.meta;
		if (a == i || t->p[a]->zombie)
			continue;
		for (k = 0; k < m->nfds; k++)
			if (sk->key(&m->fds[k]) == key)
				return true;
	}
	return false;
}

static int plan_shm(struct rtree *t);

/* A unix socket whose peer is in another process (fd_rec.peer_pid): that
 * process is in the tree, and the other end is there once (with its first
 * holder, if several share it), each the other's peer, of one type; or a
 * datagram socket connected to a datagram socket there that is not
 * connected back (*server: where that one is; nothing queued for the
 * client, which only its server could have sent). */
static int check_upair(const struct rtree *t, size_t i, const struct fd_rec *f,
		       size_t server[2], bool *one_way)
{
	const struct image_meta *mine = &t->p[i]->ctx.meta;
	size_t a, k, found = 0;
	bool there = false;

	*one_way = false;
	for (a = 0; a < t->n; a++) {
		const struct image_meta *m = &t->p[a]->ctx.meta;
		if (a == i || t->p[a]->zombie || !t->p[a]->rec)
			continue;
		there |= t->p[a]->rec->pid == f->peer_pid;
		for (k = 0; k < m->nfds; k++) {
			const struct fd_rec *g = &m->fds[k];
			if (g->kind != FD_UNIX || g->share_index || g->tree_pid ||
			    g->object_id != f->peer_id)
				continue;
			if (g->peer_id == f->object_id && g->sock_type == f->sock_type && g->peer_pid) {
				found++;
			} else if (f->sock_type == SOCK_DGRAM && g->sock_type == SOCK_DGRAM &&
				   g->peer_id != f->object_id && g->sock_state != TCP_LISTEN) {
				found++;
				*one_way = true;
				server[0] = a;
				server[1] = k;
			} else {
				found += 100;
			}
		}
	}
	for (k = 0; *one_way && k < mine->nunix_msgs; k++)
		found += mine->unix_msgs[k].fd == f->fd ? 100 : 0;
	if (found != 1 || !there)
		return fail_why("its peer in another process of the tree is not in the image "
				"as its pair", "the image is corrupted", "checking unix socket fd "
				"%d of process %d", f->fd, t->p[i]->rec->pid);
	return 0;
}

/* A pidfd of another process of the tree: that process is in the image
 * (it is opened in the restored process under that PID, fd_pidfd.c). */
static int check_pidfds(const struct rtree *t, size_t i)
{
	const struct image_meta *m = &t->p[i]->ctx.meta;
	size_t a, k;
	pid_t pid;

	for (k = 0; k < m->nfds; k++) {
		bool there = false;

		if (!fd_pidfd_of_tree(&m->fds[k], &pid))
			continue;
		for (a = 0; a < t->n; a++)
			there |= t->p[a]->rec && t->p[a]->rec->pid == pid;
		if (!there)
			return fail_why("it names a process that is not in the image", "the image "
					"is corrupted", "checking pidfd %d of process %d",
					m->fds[k].fd, t->p[i]->rec ? t->p[i]->rec->pid : 0);
	}
	return 0;
}

int shared_plan(struct rtree *t)
{
	size_t i, k, o;
	int maxfd = 2;

	if (t->n < 2) {
		/* One process: its memory may still be one object it maps
		 * in several ways, or reaches through an fd too. */
		for (k = 0; !t->p[0]->zombie && k < t->p[0]->ctx.meta.nfds; k++)
			if (t->p[0]->ctx.meta.fds[k].fd > maxfd)
				maxfd = t->p[0]->ctx.meta.fds[k].fd;
		t->obj_base = maxfd + 1;
		return t->p[0]->zombie ? 0 : plan_shm(t);
	}
	for (i = 0; i < t->n; i++) {
		struct rproc *p = t->p[i];

		if (p->zombie)
			continue;
		if (check_pidfds(t, i))
			return -1;
		p->rec_obj = malloc((p->ctx.meta.nfds + 1) * sizeof(int));
		if (!p->rec_obj)
			return fail(ENOMEM, NULL, "planning shared files");
		for (k = 0; k < p->ctx.meta.nfds; k++) {
			p->rec_obj[k] = -1;
			if (p->ctx.meta.fds[k].fd > maxfd)
				maxfd = p->ctx.meta.fds[k].fd;
		}
	}
	t->obj_base = maxfd + 1;
	for (i = 1; i < t->n; i++) {
		const struct image_meta *m = &t->p[i]->ctx.meta;

		for (k = 0; k < m->nfds && !t->p[i]->zombie; k++) {
			size_t a = 0, g = 0;
			int obj;

			if (!m->fds[k].tree_pid)
				continue;
			if (find_first(t, i, &m->fds[k], &a, &g))
				return -1;
			obj = t->p[a]->rec_obj[g];
			if (obj < 0 && (obj = new_obj(t, a, g)) < 0)
				return -1;
			hold(t, obj, i, k);
		}
	}
	/* Pipes, ptys and dead processes' pidfds between processes. */
	for (size_t sk = 0; sk < sizeof(shared_kinds) / sizeof(shared_kinds[0]); sk++)
		for (i = 0; i < t->n; i++) {
			const struct image_meta *m = &t->p[i]->ctx.meta;

			for (k = 0; k < m->nfds && !t->p[i]->zombie; k++) {
				const struct fd_rec *f = &m->fds[k];
				uint64_t key = shared_kinds[sk].key(f);

				if (!key || f->share_index || (shared_kinds[sk].own_fds_only && f->tree_pid) ||
				    t->p[i]->rec_obj[k] >= 0 || !held_elsewhere(t, i, &shared_kinds[sk], key))
					continue;
				if (new_obj(t, i, k) < 0)
					return -1;
			}
		}
	/* A unix socket pair between processes: both ends made by the
	 * common ancestor of all who hold either.  A datagram client of a
	 * server socket of another process: made with its server. */
	for (i = 0; i < t->n; i++) {
		const struct image_meta *m = &t->p[i]->ctx.meta;

		for (k = 0; k < m->nfds && !t->p[i]->zombie; k++) {
			const struct fd_rec *f = &m->fds[k];
			size_t server[2];
			bool one_way;
			int obj, sobj;

			if (f->kind != FD_UNIX || !f->peer_pid || f->share_index || f->tree_pid)
				continue;
			if (check_upair(t, i, f, server, &one_way))
				return -1;
			if ((obj = t->p[i]->rec_obj[k]) < 0 && (obj = new_obj(t, i, k)) < 0)
				return -1;
			if (!one_way)
				continue;
			sobj = t->p[server[0]]->rec_obj[server[1]];
			if (sobj < 0 && (sobj = new_obj(t, server[0], server[1])) < 0)
				return -1;
			t->objs[obj].dgram_server = (size_t)sobj + 1;
		}
	}
	for (o = 0; o < t->nobjs; o++) {
		const struct fd_rec *f = &t->p[t->objs[o].proc]->ctx.meta.fds[t->objs[o].rec];
		if (f->kind == FD_UNIX && f->peer_pid && !t->objs[o].dgram_server)
			t->objs[o].upair = f->object_id < f->peer_id ? f->object_id : f->peer_id;
		for (size_t sk = 0; sk < sizeof(shared_kinds) / sizeof(shared_kinds[0]); sk++)
			*obj_key(&t->objs[o], &shared_kinds[sk]) = shared_kinds[sk].key(f);
	}
	for (o = 0; o < t->nobjs; o++) {
		size_t q, n = 0;
		if (!t->objs[o].upair)
			continue;
		for (q = 0; q < t->nobjs; q++)
			if (t->objs[q].upair == t->objs[o].upair) {
				t->objs[o].lca = common_ancestor(t, t->objs[o].lca, t->objs[q].lca);
				n++;
			}
		if (n != 2)
			return fail_why("a unix socket pair with other than two ends", "the image "
					"is corrupted", "checking unix socket fd %d of process %d",
					t->p[t->objs[o].proc]->ctx.meta.fds[t->objs[o].rec].fd,
					t->p[t->objs[o].proc]->rec->pid);
	}
	/* Every open file of a shared object is made by the common ancestor
	 * of all who hold one. */
	for (size_t sk = 0; sk < sizeof(shared_kinds) / sizeof(shared_kinds[0]); sk++)
		for (o = 0; o < t->nobjs; o++) {
			uint64_t key = *obj_key(&t->objs[o], &shared_kinds[sk]);
			size_t q;

			if (!key)
				continue;
			for (q = 0; q < t->nobjs; q++)
				if (*obj_key(&t->objs[q], &shared_kinds[sk]) == key)
					t->objs[o].lca = common_ancestor(t, t->objs[o].lca, t->objs[q].lca);
		}
	/* A datagram server and its clients of other processes: all made
	 * by the common ancestor of all who hold any. */
	for (bool moved = true; moved;) {
		moved = false;
		for (o = 0; o < t->nobjs; o++) {
			struct robj *c = &t->objs[o], *sv;
			int lca;

			if (!c->dgram_server)
				continue;
			sv = &t->objs[c->dgram_server - 1];
			lca = common_ancestor(t, c->lca, sv->lca);
			moved |= lca != c->lca || lca != sv->lca;
			c->lca = sv->lca = lca;
		}
	}
	if (plan_shm(t))
		return -1;
	for (o = 0; o < t->nshms; o++)
		pr_debug("shared: memory %#llx (%llu bytes) made by process %d",
			 (unsigned long long)t->shms[o].ino, (unsigned long long)t->shms[o].size,
			 image_pid(t->p[t->shms[o].lca]));
	for (o = 0; o < t->nobjs; o++)
		pr_debug("shared: fd %d of process %d made by process %d",
			 t->p[t->objs[o].proc]->ctx.meta.fds[t->objs[o].rec].fd,
			 t->p[t->objs[o].proc]->rec->pid, t->p[t->objs[o].lca]->rec->pid);
	return 0;
}

/* Shared anonymous memory: vmas of one shmem inode in several processes. */
/* Two mappings of one object in one process that restart may make as
 * two objects: pieces of one mapping (mprotect, madvise split it), each
 * address at the same offset of the object.  Others (mremap with size 0
 * made a second view, a mapping of its /proc/self/map_files at another
 * offset) see each other's writes: one object. */
static bool same_object_view(const struct vma_rec *a, const struct vma_rec *b)
{
	return a == b || a->start - a->pgoff == b->start - b->pgoff;
}

/* An fd on shared anonymous memory, or a private mapping of it (opened
 * through /proc/PID/map_files), saved as the ghost of a deleted
 * "/dev/zero". */
static bool shmem_ghost(const struct ghost_rec *g, uint64_t ino)
{
	return g->kind == GHOST_FILE && g->ino == ino && S_ISREG(g->mode) &&
	       !strcmp(g->path, "/dev/zero");
}

static bool shareable_ghost(const struct ghost_rec *g)
{
	return g->kind == GHOST_FILE || g->kind == GHOST_MEMFD;
}

/* Does a process other than i hold a ghost of that inode? */
static bool ghost_elsewhere(const struct rtree *t, size_t i, const struct ghost_rec *g)
{
	size_t a, q;

	for (a = 0; a < t->n; a++) {
		const struct image_meta *o = &t->p[a]->ctx.meta;
		for (q = 0; a != i && !t->p[a]->zombie && q < o->nghosts; q++)
			if (shareable_ghost(&o->ghosts[q]) && o->ghosts[q].dev == g->dev &&
			    o->ghosts[q].ino == g->ino)
				return true;
	}
	return false;
}

/* A file without a name (deleted while open, a memfd) that several
 * processes hold, by fds or mappings of their own (a semaphore of Python's
 * multiprocessing: /dev/shm/sem.NAME, mapped by a parent and its workers
 * after sem_open unlinked it): one file again, made by their common
 * ancestor from the first one's record; their fds reopen it, their
 * mappings map it (vma_shm). */
static int plan_shared_ghosts(struct rtree *t)
{
	size_t i, j, k, q;

	for (i = 0; i < t->n; i++) {
		struct rproc *p = t->p[i];
		const struct image_meta *m = &p->ctx.meta;

		if (p->zombie)
			continue;
		p->ghost_shm = malloc((m->nghosts + 1) * sizeof(int));
		if (!p->ghost_shm)
			return fail(ENOMEM, NULL, "planning shared files");
		for (j = 0; j < m->nghosts; j++) {
			const struct ghost_rec *g = &m->ghosts[j];
			int s = -1;

			p->ghost_shm[j] = -1;
			if (!shareable_ghost(g))
				continue;
			for (q = 0; q < t->nshms && s < 0; q++)
				if (t->shms[q].ghost ? t->shms[q].dev == g->dev && t->shms[q].ino == g->ino :
				    shmem_ghost(g, t->shms[q].ino))
					s = (int)q;
			if (s >= 0 && !t->shms[s].ghost) {
				/* Shared anonymous memory its mappings make: the
				 * ghost's pages go in, its fds reopen it. */
				if (g->size > t->shms[s].size)
					t->shms[s].size = g->size;
				if (!t->shms[s].fill_ghost) {
					t->shms[s].fill_ghost = (uint32_t)j + 1;
					t->shms[s].fill_proc = i;
				}
			}
			if (s < 0 && !ghost_elsewhere(t, i, g))
				continue;
			if (s < 0) {
				struct rshm *grown = realloc(t->shms, (t->nshms + 1) * sizeof(*grown));
				if (!grown)
					return fail(ENOMEM, NULL, "planning shared files");
				t->shms = grown;
				s = (int)t->nshms++;
				t->shms[s] = (struct rshm){ .ino = g->ino, .dev = g->dev, .lca = (int)i,
							    .fd = -1, .ghost = (uint32_t)j + 1,
							    .ghost_proc = i };
			}
			t->shms[s].lca = common_ancestor(t, t->shms[s].lca, (int)i);
			p->ghost_shm[j] = s;
			for (k = 0; k < m->nvmas; k++)
				if (m->vmas[k].file_index < 0 &&
				    (m->vmas[k].kind == VMA_FILE_SHARED || m->vmas[k].kind == VMA_FILE_PRIVATE) &&
				    fd_ghost_of_map(m, m->vmas[k].start) == j + 1)
					p->vma_shm[k] = s;
		}
	}
	return 0;
}

static int plan_shm(struct rtree *t)
{
	size_t i, k, a, q;

	for (i = 0; i < t->n; i++) {
		struct rproc *p = t->p[i];

		if (p->zombie)
			continue;
		p->vma_shm = malloc((p->ctx.meta.nvmas + 1) * sizeof(int));
		if (!p->vma_shm)
			return fail(ENOMEM, NULL, "planning shared memory");
		for (k = 0; k < p->ctx.meta.nvmas; k++)
			p->vma_shm[k] = -1;
	}
	for (i = 0; i < t->n; i++) {
		const struct image_meta *m = &t->p[i]->ctx.meta;

		for (k = 0; k < m->nvmas && !t->p[i]->zombie; k++) {
			const struct vma_rec *v = &m->vmas[k];
			bool elsewhere = false;
			int s = -1;

			if (v->kind != VMA_ANON_SHARED || !v->shm_ino)
				continue;
			for (q = 0; q < t->nshms; q++)
				if (!t->shms[q].ghost && t->shms[q].ino == v->shm_ino)
					s = (int)q;
			for (a = 0; a < t->n && s < 0 && !elsewhere; a++) {
				const struct image_meta *o = &t->p[a]->ctx.meta;
				for (q = 0; !t->p[a]->zombie && q < o->nvmas; q++)
					elsewhere |= o->vmas[q].kind == VMA_ANON_SHARED &&
						     o->vmas[q].shm_ino == v->shm_ino &&
						     (a != i || !same_object_view(&o->vmas[q], v));
				for (q = 0; !t->p[a]->zombie && q < o->nghosts; q++)
					elsewhere |= shmem_ghost(&o->ghosts[q], v->shm_ino);
			}
			if (s < 0 && !elsewhere)
				continue;
			if (s < 0) {
				struct rshm *grown = realloc(t->shms, (t->nshms + 1) * sizeof(*grown));
				if (!grown)
					return fail(ENOMEM, NULL, "planning shared memory");
				t->shms = grown;
				s = (int)t->nshms++;
				t->shms[s] = (struct rshm){ .ino = v->shm_ino, .lca = (int)i, .fd = -1 };
			}
			if (v->end <= v->start || v->pgoff > (1ull << 46) ||
			    v->end - v->start > (1ull << 46))
				return fail_why("invalid mapping", "the image is corrupted",
						"checking shared memory at %#llx",
						(unsigned long long)v->start);
			if (v->pgoff + (v->end - v->start) > t->shms[s].size)
				t->shms[s].size = v->pgoff + (v->end - v->start);
			t->shms[s].lca = common_ancestor(t, t->shms[s].lca, (int)i);
			t->p[i]->vma_shm[k] = s;
		}
	}
	return plan_shared_ghosts(t);
}

/* Process i's ghost_shm_fd, from the shared ghosts made so far. */
static int attach_ghosts(struct rtree *t, size_t i)
{
	struct rproc *p = t->p[i];
	size_t j;

	if (!p->ghost_shm || p->zombie)
		return 0;
	if (!p->ctx.ghost_shm_fd) {
		p->ctx.ghost_shm_fd = malloc((p->ctx.meta.nghosts + 1) * sizeof(int));
		if (!p->ctx.ghost_shm_fd)
			return fail(ENOMEM, NULL, "setting up shared files");
	}
	for (j = 0; j < p->ctx.meta.nghosts; j++)
		p->ctx.ghost_shm_fd[j] = p->ghost_shm[j] >= 0 ? t->shms[p->ghost_shm[j]].fd : -1;
	return 0;
}

/* A new shmem object, as MAP_SHARED|MAP_ANONYMOUS makes: the mapping
 * goes, an fd on its file (/proc/self/map_files) stays. */
static int make_shm(struct rtree *t, struct rshm *s)
{
	char path[64];
	void *at;
	int fd, moved;

	if (s->ghost) {
		fd = fd_ghost_create(&t->p[s->ghost_proc]->ctx.meta, s->ghost - 1);
		if (fd < 0)
			return -1;
		goto made;
	}
	at = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (at == MAP_FAILED)
		return fail(errno, NULL, "making shared memory of %llu bytes",
			    (unsigned long long)s->size);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)at,
		 (unsigned long)at + (unsigned long)s->size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	munmap(at, s->size);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		/* /proc/self/map_files needs CAP_SYS_ADMIN: a memfd is the
		 * same memory, only named differently in /proc/PID/maps. */
		pr_debug("shared: memory %#llx as a memfd (no CAP_SYS_ADMIN)",
			 (unsigned long long)s->ino);
		fd = memfd_create("dev/zero", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, (off_t)s->size)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		return fail(errno, NULL, "making shared memory of %llu bytes",
			    (unsigned long long)s->size);
made:
	moved = fcntl(fd, F_DUPFD_CLOEXEC, t->obj_base);
	close(fd);
	if (moved < 0)
		return fail(errno, NULL, "keeping shared memory for the children");
	s->fd = moved;
	if (s->fill_ghost &&
	    fd_ghost_write_data(&t->p[s->fill_proc]->ctx.meta.ghosts[s->fill_ghost - 1], moved))
		return -1;
	/* restart maps it in each after exec: it must know the number. */
	report_value(t, 'S', (int)(s - t->shms), moved);
	/* The holders' fds reopen it (fds_open_inherited here, or each in
	 * its own child, which has this memory). */
	for (size_t i = 0; (s->ghost || s->fill_ghost) && i < t->n; i++)
		if (attach_ghosts(t, i))
			return -1;
	return 0;
}

static int make_pipe_group(struct rtree *t, size_t first)
{
	uint64_t id = t->objs[first].pipe;
	struct fd_rec *recs = calloc(t->nobjs, sizeof(*recs));
	int *fds = calloc(t->nobjs, sizeof(*fds));
	size_t o, n = 0;
	int ret = -1;

	if (!recs || !fds) {
		fail(ENOMEM, NULL, "making a pipe for the children");
		goto out;
	}
	for (o = first; o < t->nobjs; o++)
		if (t->objs[o].pipe == id)	/* shallow copies: fd renumbered */
			recs[n++] = t->p[t->objs[o].proc]->ctx.meta.fds[t->objs[o].rec];
	if (fd_pipe_open_group(t->p[0]->ctx.opts, recs, n, t->obj_base, fds))
		goto out;
	for (o = first, n = 0; o < t->nobjs; o++)
		if (t->objs[o].pipe == id)
			t->objs[o].fd = fds[n++];
	ret = 0;
out:
	free(recs);
	free(fds);
	return ret;
}

/* Every open file of a pty between processes (the objects from first on
 * with its index). */
static int make_pty_group(struct rtree *t, size_t first)
{
	struct restore_ctx **ctxs = calloc(t->nobjs, sizeof(*ctxs));
	const struct fd_rec **recs = calloc(t->nobjs, sizeof(*recs));
	int *fds = calloc(t->nobjs, sizeof(*fds));
	size_t o, n = 0;
	int ret = -1;

	if (!ctxs || !recs || !fds) {
		fail(ENOMEM, NULL, "making a pty for the children");
		goto out;
	}
	for (o = first; o < t->nobjs; o++)
		if (t->objs[o].pty == t->objs[first].pty) {
			ctxs[n] = &t->p[t->objs[o].proc]->ctx;
			recs[n] = &ctxs[n]->meta.fds[t->objs[o].rec];
			n++;
		}
	if (fd_pty_open_group(ctxs, recs, n, t->obj_base, fds))
		goto out;
	for (o = first, n = 0; o < t->nobjs; o++)
		if (t->objs[o].pty == t->objs[first].pty)
			t->objs[o].fd = fds[n++];
	ret = 0;
out:
	free(ctxs);
	free(recs);
	free(fds);
	return ret;
}

/* The pidfds of one dead process (the objects from first on with its
 * inode). */
static int make_dead_pidfds(struct rtree *t, size_t first)
{
	const struct fd_rec **recs = calloc(t->nobjs, sizeof(*recs));
	int *fds = calloc(t->nobjs, sizeof(*fds));
	size_t o, n = 0;
	int ret = -1;

	if (!recs || !fds) {
		fail(ENOMEM, NULL, "making pidfds for the children");
		goto out;
	}
	for (o = first; o < t->nobjs; o++)
		if (t->objs[o].dead_pidfd == t->objs[first].dead_pidfd)
			recs[n++] = &t->p[t->objs[o].proc]->ctx.meta.fds[t->objs[o].rec];
	if (fd_pidfd_open_dead_group(recs, n, t->obj_base, fds))
		goto out;
	for (o = first, n = 0; o < t->nobjs; o++)
		if (t->objs[o].dead_pidfd == t->objs[first].dead_pidfd)
			t->objs[o].fd = fds[n++];
	ret = 0;
out:
	free(recs);
	free(fds);
	return ret;
}

/* Both ends of a unix socket pair between processes (the other end is a
 * later object of the same pair). */
static int make_upair(struct rtree *t, size_t first)
{
	struct robj *a = &t->objs[first], *b = NULL;
	int fds[2];
	size_t q;

	for (q = first + 1; q < t->nobjs && !b; q++)
		if (t->objs[q].upair == a->upair)
			b = &t->objs[q];
	if (!b)
		return fail_why("internal error", NULL, "making a unix socket pair for the children");
	if (fd_unix_open_tree_pair(&t->p[a->proc]->ctx, &t->p[a->proc]->ctx.meta.fds[a->rec],
				   &t->p[b->proc]->ctx, &t->p[b->proc]->ctx.meta.fds[b->rec],
				   t->obj_base, fds))
		return -1;
	a->fd = fds[0];
	b->fd = fds[1];
	return 0;
}

int shared_make(struct rtree *t, size_t i)
{
	size_t o;

	for (o = 0; o < t->nshms; o++)
		if (t->shms[o].lca == (int)i && t->shms[o].fd < 0 && make_shm(t, &t->shms[o]))
			return -1;
	/* Unix connections first: one accepted by a listener is made
	 * through a listener of its own bound to the same name, which an
	 * abstract name allows only while the real listener (a shared fd
	 * too, when workers inherited it) is not bound yet. */
	for (o = 0; o < t->nobjs; o++)
		if (t->objs[o].lca == (int)i && t->objs[o].fd < 0 && t->objs[o].upair &&
		    make_upair(t, o))
			return -1;
	for (o = 0; o < t->nobjs; o++) {
		struct robj *b = &t->objs[o];

		if (b->lca != (int)i || b->fd >= 0)
			continue;
		if (b->pipe) {
			if (make_pipe_group(t, o))
				return -1;
			continue;
		}
		if (b->dead_pidfd) {
			if (make_dead_pidfds(t, o))
				return -1;
			continue;
		}
		if (b->pty) {
			if (make_pty_group(t, o))
				return -1;
			continue;
		}
		if (b->upair) {
			if (make_upair(t, o))
				return -1;
			continue;
		}
		if (b->dgram_server)
			continue;	/* after its server, below */
		b->fd = fds_open_inherited(&t->p[b->proc]->ctx, &t->p[b->proc]->ctx.meta.fds[b->rec],
					   t->obj_base);
		if (b->fd < 0)
			return -1;
	}
	for (o = 0; o < t->nobjs; o++) {
		struct robj *b = &t->objs[o], *sv;

		if (b->lca != (int)i || b->fd >= 0 || !b->dgram_server)
			continue;
		sv = &t->objs[b->dgram_server - 1];
		b->fd = fd_unix_open_dgram_client(&t->p[b->proc]->ctx,
						  &t->p[b->proc]->ctx.meta.fds[b->rec],
						  &t->p[sv->proc]->ctx,
						  &t->p[sv->proc]->ctx.meta.fds[sv->rec], t->obj_base);
		if (b->fd < 0)
			return -1;
	}
	return 0;
}

int shared_attach_memory(struct rtree *t, size_t i)
{
	struct rproc *p = t->p[i];
	size_t k;

	if (attach_ghosts(t, i))
		return -1;
	if (!p->vma_shm || !t->nshms || p->ctx.vma_shm_fd)
		return 0;
	p->ctx.vma_shm_fd = malloc((p->ctx.meta.nvmas + 1) * sizeof(int));
	if (!p->ctx.vma_shm_fd)
		return fail(ENOMEM, NULL, "setting up shared memory");
	for (k = 0; k < p->ctx.meta.nvmas; k++) {
		int s = p->vma_shm[k];
		p->ctx.vma_shm_fd[k] = s >= 0 ? t->shms[s].fd : -1;
		if (s >= 0 && t->shms[s].fd < 0)
			return fail_why("its common ancestor did not make it", NULL, "setting up "
					"shared memory at %#llx of process %d",
					(unsigned long long)p->ctx.meta.vmas[k].start, image_pid(p));
	}
	return 0;
}

int shared_attach(struct rtree *t, size_t i)
{
	struct rproc *p = t->p[i];
	size_t k;

	if (shared_attach_memory(t, i))
		return -1;
	if (!p->rec_obj || !t->nobjs)
		return 0;
	p->ctx.tree_fds = malloc(t->nobjs * sizeof(int));
	if (!p->ctx.tree_fds)
		return fail(ENOMEM, NULL, "setting up fds");
	for (k = 0; k < t->nobjs; k++) {
		int a = (int)i;

		while (a >= 0 && a != t->objs[k].lca)	/* made by an ancestor (or i)? */
			a = t->p[a]->parent;
		if (a >= 0 && t->objs[k].fd >= 0)
			p->ctx.tree_fds[p->ctx.ntree_fds++] = t->objs[k].fd;
	}
	p->ctx.inherited = malloc((p->ctx.meta.nfds + 1) * sizeof(int));
	if (!p->ctx.inherited)
		return fail(ENOMEM, NULL, "setting up fds");
	for (k = 0; k < p->ctx.meta.nfds; k++) {
		int o = p->rec_obj[k];
		p->ctx.inherited[k] = o >= 0 ? t->objs[o].fd : -1;
		if (o >= 0 && t->objs[o].fd < 0)
			return fail_why("it was not made by an ancestor", NULL, "setting up fd %d",
					p->ctx.meta.fds[k].fd);
	}
	return 0;
}

int shared_keep(struct rtree *t, size_t i)
{
	const struct rproc *p = t->p[i];
	size_t k;

	for (k = 0; p->ctx.vma_shm_fd && k < p->ctx.meta.nvmas; k++)
		if (p->ctx.vma_shm_fd[k] >= 0 && fcntl(p->ctx.vma_shm_fd[k], F_SETFD, 0))
			return fail(errno, NULL, "keeping shared memory through exec");
	return 0;
}

void shared_free(struct rtree *t)
{
	size_t i;

	free(t->shms);
	for (i = 0; i < t->n; i++) {
		free(t->p[i]->vma_shm);
		free(t->p[i]->ghost_shm);
		free(t->p[i]->ctx.vma_shm_fd);
		t->p[i]->ctx.vma_shm_fd = NULL;
		free(t->p[i]->ctx.ghost_shm_fd);
		t->p[i]->ctx.ghost_shm_fd = NULL;
		free(t->p[i]->rec_obj);
		free(t->p[i]->ctx.inherited);
		t->p[i]->ctx.inherited = NULL;
		free(t->p[i]->ctx.tree_fds);
		t->p[i]->ctx.tree_fds = NULL;
	}
	free(t->objs);
}
