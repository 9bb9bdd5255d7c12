/* File descriptors: the generic part (fds.c) walks the fd table, finds
 * descriptors sharing one open file (kcmp), and rebuilds the table in the
 * restart child; each kind of file lives in its own fd_*.c with its dump
 * and open halves, described by a struct fd_kind_ops. */
#ifndef CKPT_FDS_H
#define CKPT_FDS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "state.h"

/* What the generic part found out about one fd of the process. */
struct fd_dump {
	int fd;
	char link[PATH_MAX];		/* readlink of /proc/PID/fd/N */
	struct stat st;			/* stat through /proc/PID/fd/N */
	struct proc_fdinfo fi;
	char *fdinfo;			/* the whole /proc/PID/fdinfo/N text */
	int sock_domain, sock_type, sock_protocol;	/* sockets only, else -1 */
	const struct fd_dump *all;	/* every fd of the process */
	size_t nall;
	/* A file in flight in a unix socket queue (SCM_RIGHTS), not in the
	 * table: our copy of it in ckpt (fd is then its number in the image,
	 * above every fd of the table); -1 for an fd of the table. */
	int own_fd;
	pid_t pid;			/* of the process */
	pid_t live;			/* where the fd is, for kcmp: a live thread of
					 * the process, ckpt itself for a file in flight */
	const struct tree_pipes *tree_pipes;	/* the other processes of a tree */
	bool ext_unix;			/* ckpt --ext-unix */
};

/* The restart child rebuilding the table (before exec). */
struct fd_child {
	struct restore_ctx *ctx;
	int spare_base;			/* fds from here up are ours to keep things */
	/* Per opts->inherit: where its FD is now (moved above the image's
	 * fds by fds_restore_child); NULL: still at its number (an ancestor
	 * opening for its children). */
	const int *given;
};

struct fd_kind_ops {
	uint32_t kind;			/* enum fd_kind */
	const char *name;		/* in messages: "unix socket" */
	const char *tag;		/* one word, for ckpt info: "unix" */
	/* Is this fd of this kind?  Asked in table order. */
	bool (*match)(const struct fd_dump *d);
	/* Fill the kind's fields of rec (fd, flags, pos, cloexec are set). */
	int (*dump)(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec);
	/* Before anything starts: can it be reopened here? */
	int (*check)(struct restore_ctx *ctx, const struct fd_rec *rec);
	/* In the child: open it, returning a new fd (any number). */
	int (*open)(struct fd_child *c, const struct fd_rec *rec);
	/* In the child, once every fd is in place (before exec): the last
	 * steps that need the other fds (a TCP connection whose peer is in
	 * the process leaves repair mode only when the peer exists). */
	int (*finish)(struct fd_child *c, const struct fd_rec *rec);
	/* In restart, once every process of the tree is at its exec stop with
	 * all its fds: on s, restart's copy of the fd (a TCP connection whose
	 * peer is another process of the tree leaves repair mode only now). */
	int (*finish_tree)(struct fd_child *c, int s, const struct fd_rec *rec);
	bool late;			/* opened after all others (epoll) */
	bool (*late_for)(const struct fd_rec *rec);	/* late for this record only */
	/* Dump, once the table is read and before any fd is dumped: may append
	 * to *all the files in flight it finds (fd_dump_read_own), growing it
	 * with realloc. */
	int (*collect)(struct dump_ctx *ctx, struct fd_dump **all, size_t *nall);
	/* May a file of this kind in flight be dumped from ckpt's own copy? */
	bool inflight_ok;
	/* End of a restore: free what the kind keeps in its restore_ctx slot. */
	void (*release)(struct restore_ctx *ctx);
};

extern const struct fd_kind_ops fd_regular_kind, fd_directory_kind, fd_chardev_kind,
	fd_fifo_kind, fd_deleted_kind, fd_memfd_kind, fd_pipe_kind, fd_eventfd_kind,
	fd_timerfd_kind, fd_signalfd_kind, fd_epoll_kind, fd_tcp_kind, fd_udp_kind,
	fd_unix_kind, fd_inotify_kind, fd_fanotify_kind, fd_opath_kind, fd_fifo_deleted_kind, fd_ping_kind,
	fd_raw_kind, fd_netlink_kind, fd_packet_kind;
extern const struct fd_kind_ops fd_nsfs_kind, fd_pidfd_kind, fd_pty_master_kind, fd_pty_slave_kind,
	fd_devtty_kind, fd_ext_pipe_kind, fd_ext_unix_kind;

/* The one-word name of a kind (ckpt info), "?" for an unknown one. */
const char *fd_kind_tag(uint32_t kind);

/* File locks held through each open file (fd_locks.c). */
int fd_locks_dump(struct dump_ctx *ctx, const struct fd_dump *d) must_check;
int fd_locks_restore_child(struct restore_ctx *ctx) must_check;

/* Socket options (sockopts.c), for sockets of every family.  Dump: the
 * options of s (the process's fd) that differ from a new socket's, as
 * meta/sockopts records.  Restore: set them on s, those of the phases
 * asked (SOCKOPTS_EARLY right after socket(); SOCKOPTS_BUFFERS once the
 * kernel has sized the buffers of a connection; SOCKOPTS_AFTER_REPAIR,
 * what leaving TCP_REPAIR resets; SOCKOPTS_LAST, once a connection is
 * rebuilt and its buffers are settled: what rebuilding it changes, as
 * TCP_QUICKACK; at once for any other socket). */
enum { SOCKOPTS_EARLY = 1, SOCKOPTS_BUFFERS = 2, SOCKOPTS_AFTER_REPAIR = 4, SOCKOPTS_LAST = 8 };
int sockopts_dump(struct dump_ctx *ctx, int s, int fd, int domain, int type,
		  int protocol) must_check;
int sockopts_check(struct restore_ctx *ctx, const struct fd_rec *rec) must_check;
int sockopts_restore(struct fd_child *c, int s, const struct fd_rec *rec,
		     unsigned phases) must_check;
/* The recorded value of an option of fd; false when it was the default. */
bool sockopts_find(const struct restore_ctx *ctx, int fd, const char *name, int64_t *value);

/* Out of repair mode (or closed) at the end of a dump: see ckpt/dump.c. */
void fd_tcp_release_repaired(struct dump_ctx *ctx, bool killed);
/* --kill, the image committed: the connections in repair mode again, so
 * that the process's death sends nothing to the peers. */
void fd_tcp_repair_again(struct dump_ctx *ctx);
int fd_tcp_lock_tuples(const struct image_meta *m, struct netlock_tuple **out, size_t *n,
		       bool *by_ckpt) must_check;

/* After a checkpoint the process survives (not --kill), the image
 * committed: its TCP connections, held since before it resumed, stay held
 * for opts->tcp_hold_s more (common/netlock.h); a failure is a warning,
 * the image is complete. */
void fd_tcp_hold(struct dump_ctx *ctx);
/* The end of a dump: a hold still there (the dump failed) is lifted. */
void fd_tcp_end_hold(struct dump_ctx *ctx);

/* Shared helpers for kinds. */
/* Fill d for our own fd own_fd (a file in flight), as image fd number. */
int fd_dump_read_own(int own_fd, int number, struct fd_dump *d) must_check;
/* "key: value" line of an fdinfo text, parsed as the scanf format. */
bool fdinfo_scan(const char *fdinfo, const char *key, const char *fmt, void *out);
/* A copy of the process's fd in ckpt (pidfd_getfd). */
int fd_steal(pid_t pid, int fd);
/* A sock_diag dump (sock_diag.c): req (len bytes) sent, each message of
 * the answer given to each() until the dump is done (0; an NLMSG_ERROR
 * message is given to each() too, and ends it).  each() returns 0 to go
 * on, anything else to stop: that is returned.  -1 with errno set when
 * sock_diag fails (no error recorded). */
struct nlmsghdr;
int sock_diag_dump(const void *req, size_t len,
		   int (*each)(const struct nlmsghdr *h, void *arg), void *arg) must_check;
/* Keep fd out of the way of the fds still to be placed. */
int fd_spare(struct fd_child *c, int fd);
/* Open flags to reopen with: what fdinfo showed, less the creation ones. */
int fd_reopen_flags(const struct fd_rec *rec);
/* fd_path.c: the link of an fd on the /proc/PID directory of a process
 * that has exited ("/proc/PID (deleted)"): a file by path, not a ghost. */
bool fd_dead_proc_dir(const char *link);
/* The process (or with the other processes of the tree being dumped)
 * holds a reader and a writer of d's anonymous pipe (fd_pipe.c). */
bool fd_pipe_inside(const struct fd_dump *d);

/* An anonymous pipe end (not on 0-2, not in flight) whose other end is
 * held by a process outside the checkpoint (fd_pipe.c). */
bool fd_pipe_outside(const struct fd_dump *d);
/* Pipe size and, for a first fd of the pipe, its queued data (fd_pipe.c). */
int fd_pipe_dump_queue(int fd, const struct fd_dump *d, struct fd_rec *rec) must_check;
/* A unix stream or seqpacket socket (not on 0-2, not in flight) connected
 * to a socket of a process outside the checkpoint, and not one --ext-unix
 * reconnects by path (fd_socket_unix.c). */
bool fd_unix_outside(const struct fd_dump *d);
/* fd_external.c: restart --inherit-fd, checked against the root's image. */
int fd_external_check_opts(struct restore_ctx *ctx) must_check;

/* inotify and fanotify (fd_inotify.c).  A directory on the filesystem of
 * kernel device sdev (MAJOR << 20 | MINOR), -1 after fail(). */
int fd_notify_mount_fd(unsigned long sdev);
/* The path of the file of fdinfo's handle (bytes, type, hex) on device
 * sdev, malloc'ed; NULL after fail() (what: for the message). */
char *fd_notify_path_of_handle(unsigned long sdev, unsigned bytes, int type, const char *hex,
			       const char *what);
/* A file deleted while open ("... (deleted)"): 1 + an fd of the process on
 * it (inode ino of kernel device sdev), or 0. */
int fd_notify_deleted_holder(const struct fd_dump *d, const char *path, unsigned long ino,
			     unsigned long sdev);
/* Is --inherit-fd entry e for the process of ctx? */
bool fd_external_entry_here(const struct restore_ctx *ctx, const struct inherit_fd *e);
/* "pipe:[1234] write end, its reader was outside the checkpoint". */
void fd_external_describe(const struct fd_rec *rec, char *buf, size_t size);

/* A pty master, or a slave not hung up: true, and *index is its pty's
 * index at dump (fd_pty.c). */
bool fd_pty_index(const struct fd_rec *rec, uint64_t *index);
/* Is the controlling terminal of m's process one of its ptys (made again
 * by restart, not restart's own terminal)? */
bool fd_pty_makes_ctty(const struct image_meta *m);
/* Restart, in the common ancestor of the processes holding fds of one pty
 * (recs, of the processes ctxs): the pair, its settings and queues, and
 * an open file for each rec, at spare_base or above, close-on-exec, in
 * fds[i].  Each ctx learns the pair is made (for its finish()). */
int fd_pty_open_group(struct restore_ctx **ctxs, const struct fd_rec **recs, size_t n,
		      int spare_base, int *fds) must_check;
/* A pidfd of a process dead and reaped: true, and *ino is its inode at
 * dump (one per dead process). */
bool fd_pidfd_dead(const struct fd_rec *rec, uint64_t *ino);
/* Restart, in the common ancestor of processes holding pidfds of one dead
 * process (recs): one process made to die, a pidfd of it for each rec at
 * spare_base or above, close-on-exec, in fds[i]; reaped. */
int fd_pidfd_open_dead_group(const struct fd_rec **recs, size_t n, int spare_base,
			     int *fds) must_check;
/* A pidfd of another process of the tree: true, and *pid is its PID. */
bool fd_pidfd_of_tree(const struct fd_rec *rec, pid_t *pid);

/* A tree (restart/): open rec (of process holder) in an ancestor, to be
 * inherited; a new fd, close-on-exec, at spare_base or above. */
int fds_open_inherited(struct restore_ctx *holder, const struct fd_rec *rec, int spare_base);
/* Restart, in the common ancestor of two processes of a tree: the
 * socket pair of their unix sockets a (of ca) and b (of cb), at spare_base
 * or above, close-on-exec, in fds[0] and fds[1] (fd_socket_unix.c). */
int fd_unix_open_tree_pair(struct restore_ctx *ca, const struct fd_rec *a, struct restore_ctx *cb,
			   const struct fd_rec *b, int spare_base, int fds[2]) must_check;
/* Restart, in the common ancestor: datagram socket rec (of process cc),
 * connected to server (of process cs), already made there for cs by
 * fds_open_inherited(); a new fd, close-on-exec, at spare_base or above. */
int fd_unix_open_dgram_client(struct restore_ctx *cc, const struct fd_rec *rec,
			      struct restore_ctx *cs, const struct fd_rec *server,
			      int spare_base) must_check;
/* The open files of one pipe held by several processes (recs: copies,
 * their fd numbers are overwritten with where each lands): made at once
 * in an ancestor; fds[i] gets each. */
int fd_pipe_open_group(const struct restore_opts *opts, struct fd_rec *recs, size_t n,
		       int spare_base, int *fds);

#endif
