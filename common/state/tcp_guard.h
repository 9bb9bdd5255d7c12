/* The guard of TCP repair mode during a dump (common/state/tcp_guard.c).
 *
 * ckpt puts a process's established connections in repair mode (and, with
 * --kill, locks them with nft) while it reads them.  Nothing in the kernel
 * undoes either if ckpt dies there (kill -9, the OOM killer, a closed ssh
 * session): the process would go on with connections that send nothing,
 * their packets dropped.  So before the first of these changes, ckpt forks
 * a guard in a session of its own, holding nothing of ckpt's, and gives it
 * every socket before it enters repair mode and every tuple before it is
 * locked.  If ckpt dies before it said how the dump ended (a robust
 * mutex it holds is left owner-dead, or its end of their socket closes),
 * the guard undoes them: the sockets leave repair mode (with
 * their SO_REUSEADDR back), the tuples are unlocked, and the process, which
 * the kernel let go when its tracer died, keeps its connections.  Once the
 * image of a --kill dump is committed the guard is told so: dying after
 * that, ckpt leaves the guard to end the process (SIGKILL through a pidfd)
 * with its sockets in repair mode and locked, as ckpt would have.
 * ckpt keeps a connection in repair mode only while it reads it
 * (microseconds), with --kill too: a --kill dump puts its connections
 * back in repair mode only once the image is committed, just before the
 * process is killed.  So when ckpt dies before that, the process the
 * kernel lets go finds its connections out of repair mode, except in the
 * microseconds one is read: then the guard races its next read of that
 * socket (which fails with EPERM in repair mode), waking as ckpt's
 * dumping thread starts to exit, ahead of the release.
 * The guard also reaps the copy-on-write copy of a process whose copy is
 * its own child (ckpt/dump.c: its parent is in the tree): if ckpt dies
 * before it reaped it, the copy (killed with ckpt, PTRACE_O_EXITKILL)
 * would stay the process's zombie; the guard waits for it to end, stops
 * the process for a wait4 of it, and lets it go.
 * One guard per process dumped (struct dump_ctx), none when it has no TCP
 * connection and no child copy. */
#ifndef CKPT_TCP_GUARD_H
#define CKPT_TCP_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

#include "../error.h"
#include "../netlock.h"

/* A socket read in repair mode (a copy of the process's), and the
 * SO_REUSEADDR it had before: with --kill, to be in repair mode again
 * when the process ends. */
struct repaired_socket {
	int fd;
	int reuse;
};
/* Out of repair mode, with its SO_REUSEADDR back (leaving repair mode
 * clears it): -1 with errno set if it could not leave. */
int tcp_repair_leave(const struct repaired_socket *r);
/* In repair mode (again): closed with the process, it sends nothing. */
int tcp_repair_enter(const struct repaired_socket *r);

struct guard_shared;

struct tcp_guard {
	pid_t pid;		/* the guard (0: not started) */
	int sock;		/* our end of the socket pair to it */
	struct guard_shared *shared;	/* a robust mutex we hold while it lives */
	bool copy;		/* it watches a child copy */
	bool tcp;		/* it holds sockets or tuples */
};

/* r is about to enter repair mode (the guard takes it out if we die). */
int tcp_guard_socket(struct tcp_guard *g, pid_t target, const struct repaired_socket *r)
	must_check;
/* t is about to be locked (in the network namespace of target). */
int tcp_guard_tuples(struct tcp_guard *g, pid_t target, const struct netlock_tuple *t,
		     size_t n) must_check;
/* The image of a --kill dump is committed: the process is to end (if
 * we die now, the guard puts its sockets in repair mode and ends it). */
void tcp_guard_commit(struct tcp_guard *g);
/* Done with TCP: ckpt itself took the sockets out of repair mode and
 * unlocked them, or (killed) the process is gone; the guard forgets them,
 * and goes unless it still watches a copy. */
void tcp_guard_tcp_done(struct tcp_guard *g);
/* Start the guard of target now, telling it a child copy is being made
 * (so that the copy is in its care from its first moment: if we die
 * before tcp_guard_copy, the guard finds it among the process's
 * children). */
int tcp_guard_ready(struct tcp_guard *g, pid_t target) must_check;
/* copy, the child copy of target, exists: reaped by the guard if we die. */
int tcp_guard_copy(struct tcp_guard *g, pid_t target, pid_t copy) must_check;
/* We reaped it ourselves: the guard forgets it, and goes unless it still
 * holds sockets or tuples. */
void tcp_guard_copy_reaped(struct tcp_guard *g);
/* The guard goes, whatever it holds (called on every end). */
void tcp_guard_end(struct tcp_guard *g);

#endif
