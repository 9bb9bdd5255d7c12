/* Netlink sockets (FD_NETLINK): socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM,
 * NETLINK_*), the way programs talk to the kernel: route and link
 * monitors (NETLINK_ROUTE), udev monitors (NETLINK_KOBJECT_UEVENT), audit,
 * generic netlink families.
 *
 * Dump: its protocol, its address (getsockname: the port id it is bound
 * to, 0 if it never was, and the first 32 multicast groups), every group
 * it is a member of (NETLINK_LIST_MEMBERSHIPS: the groups above 32), the
 * address it is connected to (getpeername: a port id and a group, 0 if
 * not connected) and its options (sockopts.c, SOL_NETLINK among them).
 * Messages waiting in its queue cannot be sent again as the kernel sent
 * them: those of a socket that is a member of multicast groups (events,
 * which netlink drops anyway when a reader is slow: ENOBUFS) are dropped
 * with a warning; a socket without groups has a reply waiting, and is
 * refused.
 *
 * Restore: the same socket, bound to the same port id and groups (the port
 * id must be free: the original process's socket is gone), the other
 * groups joined, connected again. */
#define LOG_PREFIX "netlink: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_LIST_MEMBERSHIPS
#define NETLINK_LIST_MEMBERSHIPS 9
#endif

/* Groups beyond what a sockaddr_nl holds: 1024 is far above any family's. */
#define NL_GROUPS_MAX_BYTES 128

static bool is_netlink(const struct fd_dump *d)
{
	return d->sock_domain == AF_NETLINK;
}

/* Every group s is a member of, as u32 words (bit g-1 of the array for
 * group g); *len 0 when it is in none. */
static int list_groups(int s, uint32_t *words, socklen_t *len)
{
	socklen_t i;

	*len = NL_GROUPS_MAX_BYTES;
	memset(words, 0, NL_GROUPS_MAX_BYTES);
	if (getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, len))
		return -1;
	if (*len > NL_GROUPS_MAX_BYTES)
		return fail_why("it is a member of more than 1024 groups", NULL,
				"reading the netlink groups");
	for (i = 0; i < *len / 4 && !words[i]; i++)
		;
	if (i == *len / 4)
		*len = 0;
	return 0;
}

static int dump_netlink(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	uint32_t groups[NL_GROUPS_MAX_BYTES / 4];
	struct sockaddr_nl local, peer;
	socklen_t len = sizeof(local), plen = sizeof(peer), glen;
	struct pollfd p;
	int s = fd_steal(ctx->live, d->fd), ret = -1;

	if (s < 0)
		return -1;
	rec->sock_domain = d->sock_domain;
	rec->sock_type = d->sock_type;
	rec->sock_protocol = d->sock_protocol;
	memset(&local, 0, sizeof(local));
	memset(&peer, 0, sizeof(peer));
	if (getsockname(s, (struct sockaddr *)&local, &len) ||
	    getpeername(s, (struct sockaddr *)&peer, &plen)) {
		fail(errno, NULL, "reading the addresses of fd %d (%s)", d->fd, d->link);
		goto out;
	}
	if (list_groups(s, groups, &glen)) {
		if (!error_is_set())
			fail(errno, NULL, "reading the groups of fd %d (%s)", d->fd, d->link);
		goto out;
	}
	p = (struct pollfd){ s, POLLIN, 0 };
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		if (!glen) {
			fail_why("a message is waiting on it (a reply of the kernel not read yet)",
				 "checkpoint when the process has read it", "checking fd %d (%s)",
				 d->fd, d->link);
			goto out;
		}
		pr_warn("fd %d (%s): the messages of its groups waiting on it are dropped (as "
			"netlink drops them for a slow reader)", d->fd, d->link);
	}
	if (sockopts_dump(ctx, s, d->fd, d->sock_domain, d->sock_type, d->sock_protocol) ||
	    blob_set(&rec->local_addr, &local, sizeof(local)) ||
	    blob_set(&rec->peer_addr, &peer, sizeof(peer)) ||
	    (glen && blob_set(&rec->nl_groups, groups, glen)))
		goto out;
	ret = 0;
out:
	close(s);
	return ret;
}

static int check_netlink(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const struct sockaddr_nl *local = rec->local_addr.data, *peer = rec->peer_addr.data;

	if (rec->sock_domain != AF_NETLINK ||
	    (rec->sock_type != SOCK_RAW && rec->sock_type != SOCK_DGRAM) ||
	    rec->sock_protocol < 0 || rec->sock_protocol >= 32 ||
	    rec->local_addr.len != sizeof(struct sockaddr_nl) ||
	    rec->peer_addr.len != sizeof(struct sockaddr_nl) ||
	    local->nl_family != AF_NETLINK || peer->nl_family != AF_NETLINK ||
	    rec->nl_groups.len % 4 || rec->nl_groups.len > NL_GROUPS_MAX_BYTES)
		return fail_why("invalid socket record", "the image is corrupted",
				"checking fd %d", rec->fd);
	return sockopts_check(ctx, rec);
}

static int open_netlink(struct fd_child *c, const struct fd_rec *rec)
{
	const struct sockaddr_nl *local = rec->local_addr.data, *peer = rec->peer_addr.data;
	const uint32_t *groups = rec->nl_groups.data;
	int s = socket(AF_NETLINK, rec->sock_type, rec->sock_protocol);
	size_t g;

	if (s < 0)
		return fail(errno, errno == EPROTONOSUPPORT ? "that netlink family is not "
			    "available on this host (a module not loaded?)" : NULL,
			    "recreating netlink socket fd %d (protocol %d)", rec->fd,
			    rec->sock_protocol);
	if (sockopts_restore(c, s, rec, SOCKOPTS_EARLY | SOCKOPTS_BUFFERS | SOCKOPTS_LAST))
		goto err;
	/* A socket is bound as soon as it sends or binds (a port id of 0
	 * is the kernel's): one with port id 0 never was. */
	if (local->nl_pid && bind(s, rec->local_addr.data, sizeof(*local))) {
		fail(errno, errno == EADDRINUSE ? "another socket holds that port id here" : NULL,
		     "binding netlink socket fd %d to port id %u", rec->fd, local->nl_pid);
		goto err;
	}
	for (g = 32; g < rec->nl_groups.len * 8; g++) {
		unsigned group = (unsigned)g + 1;

		if (!(groups[g / 32] & (1u << (g % 32))))
			continue;
		if (setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group))) {
			fail(errno, NULL, "joining group %u on netlink socket fd %d", group, rec->fd);
			goto err;
		}
	}
	if ((peer->nl_pid || peer->nl_groups) && connect(s, rec->peer_addr.data, sizeof(*peer))) {
		fail(errno, NULL, "connecting netlink socket fd %d", rec->fd);
		goto err;
	}
	if (fcntl(s, F_SETFL, rec->flags & O_NONBLOCK)) {
		fail(errno, NULL, "restoring the flags of fd %d", rec->fd);
		goto err;
	}
	return s;
err:
	close(s);
	return -1;
}

const struct fd_kind_ops fd_netlink_kind = {
	.kind = FD_NETLINK,
	.name = "netlink socket",
	.tag = "netlink",
	.match = is_netlink,
	.dump = dump_netlink,
	.check = check_netlink,
	.open = open_netlink,
};
