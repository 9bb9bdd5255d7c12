/* The per-kind state modules and the contexts they work in.
 *
 * Each kind of process state (memory, registers, signals, fds, ...) lives
 * in its own file in common/state/, with its dump half and its restore
 * half side by side, and registers a struct state_ops in state_table
 * (common/state/table.c).  The table's order is the order of work:
 *
 *   ckpt:    dump_prepare()   before the target is stopped: slow reads
 *                             whose results dump() checks cheaply
 *            dump()           target stopped, syscalls may be injected
 *            dump_shared()    data a copy-on-write copy of the process
 *                             would not have as it is (MAP_SHARED memory,
 *                             MADV_DONTFORK...): read now, held in memory;
 *                             too much of it sets stay_frozen
 *            -- process resumed, unless --kill, --no-cow or stay_frozen --
 *            dump_late()      what only needs memory as of the freeze, read
 *                             from dump_ctx.source: the frozen copy if there
 *                             is one (memory: which pages to save)
 *            -- metadata members written --
 *            dump_contents()  stream bulk data (memory pages) from source
 *   restart: check()          image read, nothing started yet: refuse here
 *            restore_child()  in the new process before exec (plain C:
 *                             what exec preserves: fds, cwd, rlimits...)
 *            restore()        after exec, process stopped, syscalls injected
 */
#ifndef CKPT_STATE_H
#define CKPT_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/mman.h>
#include <termios.h>

#include "arch/x86_64.h"
#include "image.h"
#include "netlock.h"
#include "procfs.h"
#include "records.h"
#include "state/tcp_guard.h"
#include "remote.h"

/* Everything an image holds besides memory contents, decoded. */
struct image_meta {
	struct image_header *header;	size_t nheader;
	struct tree_rec *tree;		size_t ntree;	/* root only; none: one process */
	struct process_rec *process;	size_t nprocess;
	struct thread_rec *threads;	size_t nthreads;
	struct rlimit_rec *rlimits;	size_t nrlimits;
	struct file_id_rec *files;	size_t nfiles;
	struct vma_rec *vmas;		size_t nvmas;
	struct ghost_rec *ghosts;	size_t nghosts;
	struct ghost_map_rec *ghost_maps; size_t nghost_maps;
	struct cow_page_rec *cow_pages;	size_t ncow_pages;
	struct fd_rec *fds;		size_t nfds;
	struct epoll_rec *epolls;	size_t nepolls;
	struct inotify_rec *inotify;	size_t ninotify;
	struct fanotify_rec *fanotify;	size_t nfanotify;
	struct lock_rec *locks;		size_t nlocks;
	struct sockopt_rec *sockopts;	size_t nsockopts;
	struct unix_msg_rec *unix_msgs;	size_t nunix_msgs;
	struct sigaction_rec *sigactions; size_t nsigactions;
	struct sigpending_rec *sigpending; size_t nsigpending;
	struct timer_rec *timers;	size_t ntimers;
	struct seccomp_rec *seccomp;	size_t nseccomp;
	struct backtrace_rec *backtraces; size_t nbacktraces;
	struct timerslack_rec *timerslack; size_t ntimerslack;
	struct guard_rec *guards;	size_t nguards;
	struct sysv_shm_rec *sysv_shm;	size_t nsysv_shm;
	struct sysv_attach_rec *sysv_attach; size_t nsysv_attach;
	struct sysv_sem_rec *sysv_sem;	size_t nsysv_sem;
	struct sysv_msg_rec *sysv_msg;	size_t nsysv_msg;
	struct blob vdso;		/* member "meta/vdso": [vdso] bytes */
};

/* Position of a reader after the metadata: the next member. */
struct member_cursor {
	int state;			/* 1 member below, 0 end of image */
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;
};

int meta_write(struct image_writer *w, const struct image_meta *m) must_check;
/* Read "ckpt-image" and every "meta/" member; stops at the first other
 * member (or the end), described in *next. */
int meta_read(struct image_reader *r, struct image_meta *m, struct member_cursor *next) must_check;
/* The members of another process of a tree, named prefix + "meta/..."
 * ("proc/PID/"): next holds its first member already (where the previous
 * process's metadata ended); the header and meta/tree are the root's. */
int meta_write_as(struct image_writer *w, const struct image_meta *m, const char *prefix) must_check;
int meta_read_as(struct image_reader *r, struct image_meta *m, const char *prefix,
		 struct member_cursor *next) must_check;
/* After the root's metadata (m), every other live process of a tree
 * (meta/tree, zombies left out): its meta/ members under proc/PID/, each
 * sharing the root's header.  *others is calloc'd, in meta/tree's order;
 * free it with meta_free_others() (also after a failure). */
int meta_read_others(struct image_reader *r, const struct image_meta *m,
		     struct member_cursor *next, struct image_meta **others,
		     size_t *n) must_check;
void meta_free_others(struct image_meta *others, size_t n);
void meta_free(struct image_meta *m);
/* The mapping of the image containing addr (vmas are sorted), or NULL. */
const struct vma_rec *meta_find_vma(const struct image_meta *m, uint64_t addr);
/* Append a zeroed element to a record array; NULL after fail(). */
void *meta_push(void *array_ptr, size_t *n, size_t elem_size);
/* The i-th member of the metadata table (0 = "ckpt-image"), for readers
 * that show everything (ckpt info --json): its name, its record type
 * (NULL for a raw member such as meta/vdso), its records.  Returns false
 * past the last member. */
bool meta_member_at(const struct image_meta *m, unsigned i, const char **name,
		    const struct record_desc **desc, const void **recs, size_t *n);

/* Private per-process state of the modules and fd kinds that keep some
 * between their hooks: one slot each in the process's context (dump_ctx,
 * restore_ctx), never a file-scope global (a tree is many processes in one
 * run).  The owner allocates it on first use and frees it in its release
 * hook (state_ops.dump_release / restore_release). */
enum state_slot {
	SLOT_MEMORY,
	SLOT_PIPE,
	SLOT_UNIX,
	SLOT_GHOSTS,		/* fd_deleted.c: fds opened in the target for mapped ghosts */
	SLOT_PIDFD,		/* fd_pidfd.c: children made for dead pidfds */
	SLOT_PTY,		/* fd_pty.c: the pty pairs made */
	SLOT_BUNDLE,		/* bundle.c: files to bundle (dump), where each file is (restore) */
	SLOT_SYSV,		/* sysv.c: the IPC objects restart made (root) */
	NR_STATE_SLOTS
};

/* What a dump did, for callers that report it (ckpt snapshot). */
struct dump_stats {
	unsigned long long frozen_ns;	/* the process stopped */
	unsigned long long total_ns;	/* from start to the image complete */
	uint64_t pages_stored, pages_zero;
	uint64_t pages_parent;		/* unchanged since the parent image */
	uint64_t bytes_out;		/* compressed image size */
	bool tracked;			/* pages picked by dirty tracking (dirty_track.h) */
};

struct dump_opts {
	int compress_level;
	bool kill_after;
	unsigned tcp_hold_s;		/* --tcp-hold: after a dump the process survives */
	bool ext_unix;			/* unix sockets to outside peers: by path */
	bool no_cow;			/* stay frozen while memory is written */
	struct dump_stats *stats;	/* filled on success if not NULL */
	const char *parent;		/* incremental: the image to store changes against */
	bool track;			/* --track: start dirty-page tracking (dirty_track.h) */
	bool no_children;		/* the process alone (refused if it has children) */
	bool from_inside;		/* ckpt runs for a process of the tree (libmigrate):
					   the processes between it and ckpt are left out */
	bool bundle;			/* --bundle: the executable and mapped files in the image */
	/* ckpt/pidns.c: ckpt runs inside the tree's own PID namespace; its
	 * init is killed (--kill) by the ckpt outside, asked on this fd */
	bool own_pidns;
	int kill_init_fd;
	const struct sign_key *sign;	/* --sign: the key the image is signed with */
	struct crypt_key *encrypt;	/* --encrypt: the key it is encrypted with */
	const struct trust *parent_trust;	/* --verify-parent: --parent must be signed */
	bool no_tcp_lock;		/* --no-tcp-lock: --kill without the network lock */
	unsigned tcp_lock_timeout;	/* --tcp-lock-timeout, seconds (0: the default) */
};

/* Image members of a process other than a tree's root are named
 * "proc/PID/..." ("" for the root or a single process). */
#define MEMBER_PREFIX_MAX 24

/* Every end of an anonymous pipe, and every socket, held by the processes
 * of a tree being dumped (ckpt/tree.c): a pipe or a unix socket pair
 * between two of them is whole in the image. */
struct tree_pipe_end {
	uint64_t ino;
	pid_t pid;
	uint32_t mode;			/* O_RDONLY, O_WRONLY, O_RDWR */
	bool sock;			/* not a pipe: a socket (ino: its inode) */
	bool ptmx;			/* a /dev/ptmx master (ino: its tty index) */
};
struct tree_pipes {
	struct tree_pipe_end *ends;
	size_t n;
	pid_t *pids;			/* every process of the tree, zombies too */
	size_t npids;
};
/* Is pid a process of the tree being dumped (tp NULL: none is)? */
bool tree_has_pid(const struct tree_pipes *tp, pid_t pid);

struct dump_ctx {
	pid_t pid;
	/* The thread through which per-process /proc files, fds and memory
	 * are read: pid, or a live thread when the leader has exited
	 * (pthread_exit) and only its zombie is left (leader_exited: not
	 * seized, tasks[] holds only the live threads). */
	pid_t live;
	bool leader_exited;
	const struct tree_pipes *tree_pipes;	/* NULL: one process */
	/* A tree: its parent's dump, when the parent is live and of the
	 * image (pages both still share copy-on-write are stored once). */
	const struct dump_ctx *tree_parent;
	char prefix[MEMBER_PREFIX_MAX];	/* of its member names */
	const struct dump_opts *opts;
	struct remote *remote;		/* tasks[0]: the leader, or a live thread */
	struct remote **tasks;		/* every live thread, leader first */
	size_t ntasks;
	struct image_meta meta;
	struct image_writer *writer;
	/* Where dump_contents() reads memory: the process itself, or the
	 * copy-on-write copy it forked (copy) once it was let go (released). */
	struct remote *source;
	struct remote *copy;
	bool copy_is_child;		/* the process's child (exit signal 0), not
					 * its sibling: reaped from inside */
	bool released;
	const char *stay_frozen;	/* why memory must be read before resuming */
	unsigned long long frozen_ns;	/* how long the threads were stopped */
	struct proc_status status;
	struct proc_stat stat;
	/* --kill: TCP sockets read in repair mode (our copies), put in it
	 * again once the image is committed, before the process is killed
	 * (fd_tcp_repair_again); taken out of it if the dump fails. */
	struct repaired_socket *repaired;
	size_t nrepaired;
	struct netlock tcp_lock;	/* --kill: the connections of repaired, locked;
					 * else held (--tcp-hold) until the commit */
	bool tcp_hold_off;		/* the hold could not be taken (said once) */
	struct tcp_guard tcp_guard;	/* undoes both if ckpt dies (state/tcp_guard.h) */
	/* statistics for -v */
	uint64_t pages_stored, pages_zero, pages_parent;
	void *slot[NR_STATE_SLOTS];	/* see enum state_slot */
};

/* What restart did to its terminal, to undo when the process ends. */
struct restore_tty {
	bool foreground_given;		/* the process's group has the terminal */
	bool termios_saved;
	struct termios saved;		/* restart's own settings */
};

/* restart --inherit-fd N=FD: fd N of the image's root process, an end
 * whose other end was outside the checkpoint, is restart's fd FD. */
struct inherit_fd {
	pid_t pid;	/* the process (its PID in the image); 0: the root */
	int n, fd;
};

struct restore_opts {
	bool new_pid;			/* --new-pid: in a new PID namespace (restart/pidns.c) */
	bool any_pid;			/* --any-pid: any free PID of this host */
	bool detach;
	bool allow_changed_files;	/* files open read-only may have changed */
	bool tcp_close;			/* established TCP: restore closed */
	const char *image_dir;		/* where an incremental image's parents are */
	bool no_timens;			/* --no-timens: the host's clocks */
	struct restore_tty *tty;	/* filled by the tty module */
	const char *pty_slave;		/* --pty: the new terminal (its slave side) */
	int stdio_fd[3];		/* fds in restart standing in for 0-2 */
	/* Whose image it is (restart run by root, docs/security.md). */
	bool as_root;			/* --as-root: keep root for another user's image */
	bool image_supplier_known;	/* who wrote the image: creds_image_supplier */
	uid_t image_supplier_uid;
	gid_t image_supplier_gid;
	const struct trust *trust;	/* --verify: only images signed by these keys */
	struct crypt_key *decrypt;	/* --decrypt: only images encrypted with it */
	const struct inherit_fd *inherit;	/* --inherit-fd (fd_external.c) */
	size_t ninherit;
	bool no_tcp_lock;		/* --no-tcp-lock: rebuild connections without the lock */
	unsigned tcp_lock_timeout;	/* --tcp-lock-timeout, seconds (0: the default) */
};

struct restore_ctx {
	const struct restore_opts *opts;
	struct image_meta meta;
	struct image_reader *reader;
	struct member_cursor next;
	char prefix[MEMBER_PREFIX_MAX];	/* of its member names */
	pid_t pid;			/* of the restored process */
	/* A tree: the restored parent, whose memory is in place before this
	 * process's (meta/cow-pages are copied from it); 0 none. */
	pid_t tree_parent_pid;
	/* A tree: forked from its restored parent (restart/fork_restore.c)
	 * right after the parent's memory was in place, whose image this is:
	 * the private memory both still share is kept as the fork left it,
	 * copy-on-write (memory.c); NULL: made by exec. */
	const struct image_meta *fork_parent;
	struct remote *remote;		/* its leader = tasks[0] */
	struct remote **tasks;		/* one per meta.threads, once created */
	size_t ntasks;
	int child_error_fd;		/* restore_child writes errors here */
	/* memory module: fds opened in the target for file mappings */
	long *target_file_fds;		/* one per meta.files, -1 unopened */
	/* A tree: per meta.fds, an fd of ours (before exec) holding that open
	 * file already, opened by an ancestor and inherited; -1 none.  NULL
	 * for a process that shares nothing. */
	int *inherited;
	/* Every such fd an ancestor made that this process has (held or
	 * passing through): closed once the fds are in place, before the
	 * file locks are taken (a close would drop the process's POSIX locks
	 * on that file, as exec's close-on-exec would). */
	int *tree_fds;
	size_t ntree_fds;
	/* A tree: per meta.vmas, shared anonymous memory other processes map
	 * too: an fd of the process (kept through exec) on its one object,
	 * -1 none; NULL for a process that shares none. */
	int *vma_shm_fd;
	/* A tree: per meta.ghosts, an fd (before exec) on the one file of a
	 * ghost other processes hold too, made by their common ancestor: its
	 * fds reopen it; -1 none; NULL for a process that shares none. */
	int *ghost_shm_fd;
	uint64_t pages_restored;
	/* --new-pid of an image whose root is PID 1 (its namespace's init): the
	 * root makes a namespace of its own inside restart's, and every other
	 * PID and TID is given at both levels (restart/pidns.c) */
	bool pidns_nested;
	bool failed;			/* set before the release hooks of a failed restore */
	/* made with CLONE_FS: its parent sets the cwd, root and umask they share */
	bool fs_from_parent;
	void *slot[NR_STATE_SLOTS];	/* see enum state_slot */
};

/* A thread of meta/threads has this TID (records naming a thread are
 * checked against the list: timers, queued signals, backtraces). */
bool meta_has_thread(const struct image_meta *m, int32_t tid);
/* The TID a thread of the image has in the restored process, as the
 * process sees it (the same unless --any-pid); 0 if the image has no such
 * thread.  For injected syscalls. */
pid_t restore_tid(const struct restore_ctx *ctx, pid_t original);

struct state_ops {
	const char *name;
	int (*dump_prepare)(struct dump_ctx *ctx);
	int (*dump)(struct dump_ctx *ctx);
	int (*dump_shared)(struct dump_ctx *ctx);
	int (*dump_late)(struct dump_ctx *ctx);
	int (*dump_contents)(struct dump_ctx *ctx);
	int (*check)(struct restore_ctx *ctx);
	int (*restore_child)(struct restore_ctx *ctx);
	int (*restore)(struct restore_ctx *ctx);
	/* Just before the process resumes (killed false; not with --kill), or
	 * right after it was killed (killed true); again, killed false, when
	 * a dump fails, before the threads are put back. */
	void (*dump_resume)(struct dump_ctx *ctx, bool killed);
	/* The image is complete and committed (fsync+rename). */
	void (*dump_committed)(struct dump_ctx *ctx);
	/* End of a dump or a restore, failed or not: free the slot. */
	void (*dump_release)(struct dump_ctx *ctx);
	void (*restore_release)(struct restore_ctx *ctx);
};

/* The task holding meta.threads[i] at dump: tasks[i], or with an exited
 * leader (its record first, no task) tasks[i - 1], and tasks[0] standing
 * in for the leader (what is read per thread for it comes from there). */
static inline struct remote *dump_thread_task(const struct dump_ctx *ctx, size_t i)
{
	if (!ctx->leader_exited)
		return ctx->tasks[i];
	return ctx->tasks[i ? i - 1 : 0];
}

/* Every module's dump_resume / dump_release / restore_release hook. */
void state_dump_resume(struct dump_ctx *ctx, bool killed);
void state_dump_committed(struct dump_ctx *ctx);
void state_dump_release(struct dump_ctx *ctx);
void state_restore_release(struct restore_ctx *ctx);

extern const struct state_ops memory_state_ops, process_state_ops, creds_state_ops, rlimits_state_ops,
	attrs_state_ops, timers_state_ops, seccomp_state_ops, tty_state_ops,
	fds_state_ops, signals_state_ops, threads_state_ops;
extern const struct state_ops backtrace_state_ops, ghosts_state_ops, bundle_state_ops;
extern const struct state_ops timens_state_ops;
extern const struct state_ops mapattrs_state_ops, membarrier_state_ops, timerslack_state_ops;
extern const struct state_ops loginuid_state_ops;
extern const struct state_ops pidfd_threads_state_ops;
extern const struct state_ops sysv_state_ops;
extern const struct state_ops *const state_table[];

/* common/state/creds.c.  The user an image is restored as when restart
 * runs as root: its supplier (the owner of the image file, the writer of
 * a pipe: creds_image_supplier) if not root, else the user
 * the header says wrote it if not root; 0 (root) otherwise.  *gid: that
 * user's group as the file or header has it. */
uid_t creds_image_owner(const struct image_header *h, const struct restore_opts *o, gid_t *gid);
/* Who supplies the image read from fd (o->image_supplier_*): a regular
 * file's owner; for a FIFO its owner, for a pipe the user who made it,
 * if not root, else a user other than root among the processes holding
 * it open for writing (the first found); for a unix socket, its peer
 * (SO_PEERCRED).  Unknown (a writer gone already, a TCP socket): not
 * set, and the header's owner counts.  unread: nothing read from fd yet
 * (the writers are looked for once data has come). */
void creds_image_supplier(int fd, bool unread, struct restore_opts *o);
/* restart run by root on another user's image (and not --as-root): become
 * that user (its groups from the passwd database) before anything is
 * opened on the image's behalf, keeping only CAP_CHECKPOINT_RESTORE (to
 * reclaim PIDs), which the restored threads give up with their recorded
 * capabilities.  No-op otherwise. */
int creds_drop_for_image(struct restore_ctx *ctx) must_check;

/* Before restart starts anything (common/restore_checks.c), shared by
 * restart and `ckpt check IMAGE`. */
/* Every state module's check() in table order; stops at the first failure. */
int restore_run_checks(struct restore_ctx *ctx) must_check;
/* Same, going on after a failure: report(arg, module, error) is called for
 * each module with a check (error NULL if it passed).  -1 if any failed. */
int restore_run_checks_each(struct restore_ctx *ctx, void (*report)(void *arg,
			    const char *module, const char *error), void *arg) must_check;
/* A path an image names: absolute and normalised (no empty, "." or ".."
 * component, no trailing slash), shorter than PATH_MAX: what the kernel
 * shows in /proc, never a way out of where it points. */
bool image_path_ok(const char *path);
/* pid is free for the restored process.  A zombie holding it (an exited
 * process not reaped yet) is waited for, up to 5 s, if wait_for_zombie. */
int restore_pid_free(pid_t pid, bool wait_for_zombie) must_check;

/* "#0 0x7f12... nanosleep+0x1f (/usr/lib/.../libc.so.6)" */
void backtrace_format(const struct backtrace_rec *b, char *buf, size_t size);

/* A private mapping made read-only after it was writable (RELRO, an
 * mprotect'ed buffer) keeps its commit charge (VmFlags "ac"), but the
 * kernel drops it when an anonymous one still without pages is made
 * read-only: memory maps it writable, and mapattrs protects it as it was
 * once its pages are in. */
static inline bool vma_protect_late(const struct vma_rec *v)
{
	return (v->kind == VMA_ANON_PRIVATE || v->kind == VMA_FILE_PRIVATE || v->kind == VMA_HEAP ||
		v->kind == VMA_STACK) && (v->vmflags & VMF_AC) && !(v->prot & PROT_WRITE) &&
	       !(v->vmflags & VMF_DP);
}

/* restart (common/state/memory.c): is mapping v of image m kept as it is
 * when the process is forked from its restored parent, whose image is pm
 * (restore_ctx.fork_parent), all of it? */
bool memory_vma_kept_by_fork(const struct image_meta *m, const struct vma_rec *v,
			     const struct image_meta *pm);

/* AIO contexts (common/state/aio.c): is path the name of an io_setup()
 * ring's mapping; dump: record the context whose ring v is (rec: its
 * record, kind VMA_AIO_RING; its pages are saved as memory); check: a
 * record's sanity; restore: once memory.c wrote the saved pages where each
 * ring was (a placeholder), make the contexts again there. */
bool aio_ring_mapping(const char *path);
int aio_ring_dump(struct dump_ctx *ctx, const struct vma_entry *v, struct vma_rec *rec) must_check;
int aio_ring_check(const struct vma_rec *v) must_check;
int aio_rings_restore(struct restore_ctx *ctx) must_check;

/* Mapped packet rings (common/state/fd_socket_packet.c): dump: v, a
 * mapping "socket:[N]", must be a packet socket's rings: rec->ring_fd, an
 * fd of the process on it; check: that fd is a packet socket of the image
 * with a ring.  (memory.c maps it from that fd, which exists by then.) */
int packet_ring_map_dump(struct dump_ctx *ctx, const struct vma_entry *v,
			 struct vma_rec *rec) must_check;
int packet_ring_map_check(const struct image_meta *m, const struct vma_rec *v) must_check;

/* Does a mapping of this kind have pages stored in the image? */
static inline bool vma_kind_has_contents(uint32_t kind)
{
	return kind == VMA_ANON_PRIVATE || kind == VMA_ANON_SHARED || kind == VMA_FILE_PRIVATE ||
	       kind == VMA_HEAP || kind == VMA_STACK || kind == VMA_AIO_RING;
}

/* Shared by state modules. */
/* dump (fds.c): an fd of process pid on the inode mapping v maps; -1 if
 * none, -2 if its fd table cannot be read. */
int fd_on_mapped_inode(pid_t pid, const struct vma_entry *v);
/* Identity of a file at dump time; *index into meta.files (deduplicated). */
int file_id_record(struct image_meta *m, const char *path, int *index) must_check;
/* The same, its identity read through src (/proc/PID/exe...); replaced:
 * file_id_rec.replaced. */
int file_id_record_from(struct image_meta *m, const char *path, const char *src, uint32_t replaced,
			int *index) must_check;
/* Compare a recorded identity with the file now at its path. */
int file_id_verify(const struct file_id_rec *f, const char *role) must_check;
/* 0 if the file at f->path is the recorded one (size + build-id, else
 * size + SHA-256 when recorded, else size + mtime); 1 if it differs or is
 * missing; -1 on another error (fail() called). */
int file_id_same(const struct file_id_rec *f) must_check;
/* Bundles (common/state/bundle.c): a file the process maps or runs that is
 * not the one at its path any more (deleted, or replaced since it was
 * mapped): recorded with its identity read through proc_path
 * (/proc/PID/exe, /proc/PID/map_files/...), always bundled. */
int bundle_record_replaced(struct dump_ctx *ctx, const char *path, const char *proc_path,
			   uint32_t why, int *index) must_check;
/* restart: file_index as restored, from this host or the bundle's cache
 * copy: check() decided which, bundle_unpack() put the copies in place. */
int file_id_check(struct restore_ctx *ctx, size_t index, const char *role) must_check;
const char *file_id_path(const struct restore_ctx *ctx, size_t index);
/* The path restart executes: the executable's file_id_path(). */
const char *bundle_exe_path(const struct restore_ctx *ctx);
/* restart, after check(), before the process is created: read the files/
 * members that follow the metadata into the cache. */
int bundle_unpack(struct restore_ctx *ctx) must_check;
/* Clocks (common/state/timens.c): restart, before the process is created:
 * a time namespace for it whose offsets continue its CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME from the checkpoint (not with --no-timens). */
int timens_prepare(struct restore_ctx *ctx) must_check;
bool timens_available(void);
/* System V IPC (common/state/sysv.c), restart: before the processes are
 * created, every segment, semaphore set and queue of ctxs[0..n) (a tree's
 * processes, the root first) made with its id, key, mode and contents
 * (once each), remembered in the root's slot; sysv_finish() once all have
 * attached theirs, before they are let go (segments marked removed are
 * removed again); sysv_keep() when the restore succeeded.  Without it (a
 * failure), the root's restore_release removes all it made. */
int sysv_prepare(struct restore_ctx *const *ctxs, size_t n) must_check;
int sysv_finish(struct restore_ctx *root) must_check;
void sysv_keep(struct restore_ctx *root);
/* ckpt check IMAGE, before the checks: a files/ member, read from
 * ctx->reader and its hash verified; then bundle_members_done() once every
 * member was read, so that check() refuses a bundled file without one. */
int bundle_check_member(struct restore_ctx *ctx, const char *name, uint64_t size) must_check;
void bundle_members_done(struct restore_ctx *ctx);
/* After check(): where file index comes from (enum file_source), -1 if not
 * decided; *missing: no file at its path on this host. */
enum file_source {
	FROM_HOST,		/* the host's file at path is the recorded one */
	FROM_BUNDLE,		/* missing, different or replaced: the bundled copy */
	UNCOVERED,		/* missing or different here, not bundled */
};
int bundle_file_source(const struct restore_ctx *ctx, size_t index, bool *missing);
/* Ghosts (fd_deleted.c): files without a name (deleted files and
 * directories, memfds) that fds, mappings and the cwd share.
 * Record the inode proc_path leads to once; *ghost = 1 + its index. */
int fd_ghost_record(struct dump_ctx *ctx, const char *proc_path, const char *link,
		    uint32_t *ghost) must_check;
/* A mapping of a deleted file or memfd: recorded in meta/ghost-maps. */
int fd_ghost_map_dump(struct dump_ctx *ctx, const struct vma_entry *v) must_check;
/* The ghost (1 + index) mapped at start, 0 if none. */
uint32_t fd_ghost_of_map(const struct image_meta *m, uint64_t start);
/* After exec: an fd in the process on the ghost mapped at start. */
int fd_ghost_map_fd(struct restore_ctx *ctx, uint64_t start, bool writable, long *fd) must_check;
/* A new fd on the re-created ghost index (read-write for files made anew). */
int fd_ghost_create(const struct image_meta *m, uint32_t index);
/* The saved contents of ghost g written into fd (its size left alone). */
int fd_ghost_write_data(const struct ghost_rec *g, int fd) must_check;

#endif
