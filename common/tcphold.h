/* Holding the TCP connections of a process that goes on running after its
 * checkpoint, for a short while (ckpt --tcp-hold, default
 * TCP_HOLD_DEFAULT_S): if the process dies in that time (a crash, a
 * preemption, a kill to move it) its connections' FIN and reset do not
 * reach their peers, and the peers' segments that no socket would take are
 * dropped instead of answered with a reset, so that a restart from the
 * image goes on with every connection still open at both ends.
 *
 * nftables, through the nft binary, in the network namespace of the
 * process: one table "inet ckpt_hold", an output chain dropping FIN and RST
 * segments of the held 4-tuples (sets out4/out6) and an input chain
 * dropping the peers' segments of the held 4-tuples when no socket takes
 * them (sets in4/in6; a segment a socket takes, the running process's,
 * passes).  Every element has the hold's timeout: nothing stays once it
 * ends.  restart removes the elements of the connections it rebuilt.
 *
 * The cost, while a hold lasts: a held connection that the running process
 * itself closes reaches its peer late (its FIN, retransmitted, passes once
 * the hold ends; a reset is lost).  docs/design.md "Holding TCP connections
 * after a checkpoint". */
#ifndef CKPT_TCPHOLD_H
#define CKPT_TCPHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define TCP_HOLD_DEFAULT_S 10
#define TCP_HOLD_MAX_S 3600

struct tcp_hold_conn {
	int family;			/* AF_INET or AF_INET6, as on the wire */
	uint8_t local[16], peer[16];	/* AF_INET: the first 4 bytes */
	uint16_t lport, pport;		/* host order */
};

/* The connection of a socket from its two sockaddrs (an IPv4-mapped IPv6
 * address is IPv4 on the wire); -1 if they are not a TCP/IP pair. */
int tcp_hold_conn(struct tcp_hold_conn *c, const void *local, size_t llen, const void *peer,
		  size_t plen);
/* Is the nft binary there? */
bool tcp_hold_available(void);
/* Hold c[0..n-1] for seconds, in the network namespace of process ns_pid
 * (0: ours). */
int tcp_hold_add(pid_t ns_pid, const struct tcp_hold_conn *c, size_t n,
		 unsigned seconds) must_check;
/* End the hold of c[0..n-1] in our network namespace (those not held, or
 * held no more, are no error).  A failure is only warned about: the
 * timeout ends the hold anyway. */
void tcp_hold_release(const struct tcp_hold_conn *c, size_t n);

#endif
