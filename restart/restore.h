#ifndef RESTART_RESTORE_H
#define RESTART_RESTORE_H

#include "state.h"

/* Read an image from image_fd and bring its process back, stopped under
 * our control until every piece of state is in place, then running.
 * *pid gets its PID.  On failure nothing is left running. */
int restore_image(int image_fd, const struct restore_opts *opts, pid_t *pid) must_check;

/* One process of the image: the root (index 0) or a descendant. */
struct rproc {
	struct restore_ctx ctx;
	const struct tree_rec *rec;	/* NULL: an image of one process */
	int parent;			/* index, -1 for the root */
	bool zombie;
	bool early;			/* forked before its parent's setsid() */
	int go[2];			/* restart -> it: "traced, go on" */
	pid_t pid;
	bool seized, is_child, at_exec;
	int *rec_obj;			/* per ctx.meta.fds: index in rtree.objs, -1 */
	int *vma_shm;			/* per ctx.meta.vmas: index in rtree.shms, -1 */
	int *ghost_shm;			/* per ctx.meta.ghosts: index in rtree.shms, -1 */
	/* Forked from its restored parent (restart/fork_restore.c): its
	 * restart child only sets up its fds, which restart takes
	 * (donated: its fd numbers, our copies) before it dies. */
	bool by_fork, donor_done;
	int *donated_n, *donated_fd;
	size_t ndonated;
};

/* Shared anonymous memory several processes map (MAP_SHARED|MAP_ANONYMOUS
 * before a fork): one shmem object made by their common ancestor, an fd
 * on it inherited and kept through exec by each, which maps it. */
struct rshm {
	uint64_t ino;			/* at dump */
	uint64_t size;			/* the largest offset mapped */
	int lca;
	int fd;
	/* A file without a name (fd_deleted.c: deleted, a memfd) that
	 * several processes hold, by fds or mappings of their own: made from
	 * ghost (1 + index) of process ghost_proc; 0: shared anonymous
	 * memory. */
	uint32_t ghost;
	size_t ghost_proc;
	uint64_t dev;
	/* Shared anonymous memory that fds or private mappings reach as the
	 * ghost "/dev/zero" (1 + index) of process fill_proc (opened through
	 * /proc/PID/map_files): its contents, written in once it is made. */
	uint32_t fill_ghost;
	size_t fill_proc;
};

/* An open file several processes of the tree hold: made once, in their
 * closest common ancestor (lca) before it forks, then inherited. */
struct robj {
	size_t proc, rec;		/* its first holder, the fd record there */
	int lca;			/* index of the process that makes it */
	uint64_t pipe;			/* an anonymous pipe: its id (object_id), 0 */
	uint64_t upair;			/* an end of a unix socket pair between
					   processes: the lower id of the two, 0 */
	uint64_t pty;			/* an fd of a pty whose fds several processes
					   hold: 1 + its index, 0 */
	uint64_t dead_pidfd;		/* a pidfd of a dead process several processes
					   hold one of: its inode, 0 */
	size_t dgram_server;		/* a datagram socket connected to one of
					   another process (not back): 1 + the
					   index of that one's object, 0 */
	int fd;				/* where it is, in lca and its descendants */
};

struct rtree {
	struct rproc **p;		/* in the image's order */
	size_t n;
	int report_rd, report_fd;	/* the restart children -> restart */
	struct robj *objs;
	size_t nobjs;
	int obj_base;			/* objects' fds go from here up */
	bool nested;			/* the root is PID 1 of a namespace of its own */
	struct rshm *shms;
	size_t nshms;
	bool timens_done;		/* made before dropping to the image's owner */
	struct netlock tcp_lock;	/* the connections' packets dropped until all run */
};

/* restart/shared.c: which open files are shared and who makes them (in
 * restart, before anything is created); in process i before it forks its
 * children, make those it is the common ancestor of; in process i before
 * its fds are set up, tell fds.c which it inherited. */
int shared_plan(struct rtree *t) must_check;
int shared_make(struct rtree *t, size_t i) must_check;
int shared_attach(struct rtree *t, size_t i) must_check;
/* The part restart needs too (after the 'S' reports): vma_shm_fd. */
int shared_attach_memory(struct rtree *t, size_t i) must_check;
/* To restart from a restart child (restore.c): one message, one write. */
void report_value(struct rtree *t, int type, int index, int value);
/* The same from process i once its fds are in place (ctx.child_error_fd). */
void report_child(struct rtree *t, size_t i, int type);
/* In process i, its fds in place, right before exec: keep its objects of
 * shared memory open through exec. */
int shared_keep(struct rtree *t, size_t i) must_check;
void shared_free(struct rtree *t);

/* restart/fork_restore.c: children restored by a fork of their restored
 * parent, so that the private memory they still shared with it at the
 * checkpoint (meta/cow-pages) is shared again, copy-on-write, instead of
 * copied into each.  fork_plan (before anything is created) picks them:
 * those whose every state exec would keep is their parent's but their
 * fds (and whose children are all forked in turn), and every one that
 * shares its parent's fd table (clone CLONE_FILES: exec would give it one
 * of its own) and can be.  In the restart child, fork_donor_exit replaces exec; in restart,
 * fork_take_fds takes its fds on its 'F' report and ends it; the parent's
 * restart child reaps it before exec (fork_reap_donors); after the
 * parent's memory is in place, fork_children forks each and gives it its
 * fds (one sharing the table has them). */
void fork_plan(struct rtree *t);
_Noreturn void fork_donor_exit(struct rtree *t, size_t i);
int fork_take_fds(struct rproc *p) must_check;
void fork_reap_donors(struct rtree *t, size_t i);
int fork_children(struct rtree *t, size_t i) must_check;
void fork_free(struct rproc *p);

#endif
