/* The network lock: every packet of chosen TCP connections (their
 * 4-tuples) dropped in both directions, in one network namespace, while
 * no socket owns them (between ckpt --kill freezing them and restart
 * rebuilding them), so that the peer's segments get no reset; and after
 * a checkpoint the process survives, for a while (the hold, below).
 *
 * nftables, through the nft binary: one table "inet ckpt_lock" with an
 * input and an output chain (priority raw, -300) dropping what matches
 * its sets "v4" and "v6" of (local address . local port . peer address .
 * peer port).  Every element has a timeout (NETLOCK_TIMEOUT_DEFAULT): a
 * tool that dies holding the lock never leaves it forever.  Adding an
 * element there already gives it the new timeout (ckpt's elements still
 * there when restart adds them on the same host); the table goes when its last element is removed.  Used by
 * ckpt (common/state/fd_socket_inet.c) and restart (restart/restore.c);
 * docs/design.md "The network lock". */
#ifndef CKPT_NETLOCK_H
#define CKPT_NETLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Seconds an element lives unless removed first (--tcp-lock-timeout). */
#define NETLOCK_TIMEOUT_DEFAULT 600
#define NETLOCK_TIMEOUT_MAX (7 * 24 * 3600)

struct netlock_tuple {
	int family;			/* AF_INET or AF_INET6, as on the wire */
	uint8_t local[16], peer[16];	/* AF_INET: the first 4 bytes */
	uint16_t lport, pport;		/* host order */
};

struct netlock {
	struct netlock_tuple *t;	/* what this holder added */
	size_t n;
	pid_t ns_pid;			/* in the network namespace of this process (0: ours) */
	unsigned timeout_s;		/* 0: NETLOCK_TIMEOUT_DEFAULT */
};

/* The tuple of a connection from its two sockaddrs (an IPv4-mapped IPv6
 * address is IPv4 on the wire).  -1 if they are not a TCP/IP pair
 * (no error recorded). */
int netlock_tuple(struct netlock_tuple *t, const void *local, size_t llen, const void *peer,
		  size_t plen);
/* "local:port -> peer:port", for messages. */
const char *netlock_describe(const struct netlock_tuple *t, char *buf, size_t len);
/* Is nft there?  (For messages before anything is tried.) */
bool netlock_available(void);
/* Drop the packets of t[0..n-1] from now on; they are kept in l (for
 * netlock_release).  Fails naming what to install if nft is missing. */
int netlock_add(struct netlock *l, const struct netlock_tuple *t, size_t n) must_check;
/* Let them through again (what l added; elements gone already, by their
 * timeout, are no error), the table removed if nothing else is locked;
 * l emptied.  A failure is only warned about: the timeout ends it. */
void netlock_release(struct netlock *l);
/* Empty l leaving its elements in place (until restart removes them or
 * they time out). */
void netlock_forget(struct netlock *l);

/* Every element of l now expires seconds from now (those timed out
 * already are locked again). */
int netlock_retime(struct netlock *l, unsigned seconds) must_check;

/* The hold after a checkpoint the process survives (ckpt --tcp-hold,
 * default NETLOCK_HOLD_DEFAULT_S): the same lock, taken before the
 * process resumes, kept until seconds after the image is complete (then
 * restart, or the timeout, ends it).  If the process dies in that time (a
 * crash, a preemption, a kill to restart it elsewhere), its FIN or reset
 * reaches no peer, and nothing the peers and the process exchanged after
 * the checkpoint was seen by either (which the image could not continue):
 * a restart from the image goes on with every connection.  The cost: the
 * running process's connections pause until the hold ends (TCP resends
 * what was dropped).  docs/design.md "Holding TCP connections after a
 * checkpoint". */
#define NETLOCK_HOLD_DEFAULT_S 10
#define NETLOCK_HOLD_MAX_S 3600

#endif
