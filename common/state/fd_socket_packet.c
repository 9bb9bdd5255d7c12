/* Packet sockets (FD_PACKET): socket(AF_PACKET, SOCK_RAW or SOCK_DGRAM,
 * protocol), frames of a link layer: DHCP clients, LLDP and VRRP daemons,
 * arping, capture tools.
 *
 * Dump: its protocol, what it is bound to (getsockname: the interface
 * index, by name too, and the protocol), its options (sockopts.c: the
 * SOL_PACKET ones, a socket filter; PACKET_FANOUT joined last), and, from
 * sock_diag (packet_diag), the memberships it added (PACKET_ADD_MEMBERSHIP:
 * promiscuous, all-multicast, multicast and unicast addresses, each with
 * its count) and the shape of its rings (PACKET_RX_RING, PACKET_TX_RING:
 * block and frame sizes and counts, TPACKET_V3's block timeout, private
 * area and features).  A mapping of its rings (tcpdump's: memory.c, kind
 * VMA_PACKET_RING) names an fd of the process on it.  Frames waiting in its
 * queue or its rings are dropped (with a warning for the queue): copies of
 * the link's traffic, as a busy link drops them.
 *
 * Restore: the same socket, its options (the version and reserve before
 * the rings: the kernel takes no change of them after), bound to the
 * interface of the same name, its memberships added again as many times,
 * its rings set up again of the same shape; the memory module maps them
 * where they were, from the fd (it is in place before exec), empty: the
 * kernel fills them from their first frame, where the program may wait on
 * a later one until the kernel comes round to it. */
#define LOG_PREFIX "packet: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif

#define MCLIST_MAX 64		/* memberships of one socket kept at most */

static bool is_packet(const struct fd_dump *d)
{
	return d->sock_domain == AF_PACKET;
}

/* What packet_diag tells of one socket: its memberships and rings. */
struct packet_want {
	ino_t ino;
	bool found, has_rx, has_tx;
	struct packet_diag_mclist *mc;
	size_t nmc;
	struct packet_diag_ring rx, tx;
};

static int packet_one(const struct nlmsghdr *h, void *arg)
{
	struct packet_want *w = arg;
	const struct packet_diag_msg *m = NLMSG_DATA(h);
	const struct rtattr *a;
	int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || m->pdiag_ino != w->ino)
		return 0;
	w->found = true;
	for (a = (const struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		size_t k, count = RTA_PAYLOAD(a) / sizeof(*w->mc);

		bool rx = a->rta_type == PACKET_DIAG_RX_RING;

		if ((rx || a->rta_type == PACKET_DIAG_TX_RING) && RTA_PAYLOAD(a) >= sizeof(w->rx)) {
			memcpy(rx ? &w->rx : &w->tx, RTA_DATA(a), sizeof(w->rx));
			*(rx ? &w->has_rx : &w->has_tx) = true;
		}
		if (a->rta_type != PACKET_DIAG_MCLIST)
			continue;
		for (k = 0; k < count; k++) {
			if (w->nmc == MCLIST_MAX) {
				errno = E2BIG;
				return -1;
			}
			memcpy(&w->mc[w->nmc++], (const char *)RTA_DATA(a) + k * sizeof(*w->mc),
			       sizeof(*w->mc));
		}
	}
	return 0;
}

/* Of socket ino: its memberships (w->mc, w->nmc of them) and rings. */
static int packet_diag(ino_t ino, struct packet_want *w)
{
	struct {
		struct nlmsghdr nlh;
		struct packet_diag_req r;
	} req = {
		.nlh = { sizeof(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
		.r = { .sdiag_family = AF_PACKET, .pdiag_show = PACKET_SHOW_MCLIST |
		       PACKET_SHOW_RING_CFG },
	};
	w->ino = ino;
	if (sock_diag_dump(&req, sizeof(req), packet_one, w))
		return errno == E2BIG ? fail_why("it has more than 64 memberships", NULL,
						 "reading packet socket %lu", (unsigned long)ino)
				      : fail(errno, "sock_diag for packet sockets "
					     "(CONFIG_PACKET_DIAG) must be available", "asking "
					     "sock_diag about packet socket %lu", (unsigned long)ino);
	if (!w->found)
		return fail_why("sock_diag does not know the socket", "the socket must be in "
				"the network namespace of ckpt", "asking sock_diag about "
				"packet socket %lu", (unsigned long)ino);
	return 0;
}

static int dump_packet(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct packet_diag_mclist mc[MCLIST_MAX];
	struct packet_want w = { .mc = mc };
	struct sockaddr_ll local;
	socklen_t len = sizeof(local);
	char ifname[IF_NAMESIZE] = "";
	struct pollfd p;
	int s = fd_steal(ctx->live, d->fd), ret = -1;

	if (s < 0)
		return -1;
	rec->sock_domain = d->sock_domain;
	rec->sock_type = d->sock_type;
	rec->sock_protocol = d->sock_protocol;
	memset(&local, 0, sizeof(local));
	if (getsockname(s, (struct sockaddr *)&local, &len)) {
		fail(errno, NULL, "reading the address of fd %d (%s)", d->fd, d->link);
		goto out;
	}
	if (packet_diag(d->st.st_ino, &w))
		goto out;
	if (local.sll_ifindex && !if_indextoname((unsigned)local.sll_ifindex, ifname)) {
		fail(errno, NULL, "naming interface %d of fd %d", local.sll_ifindex, d->fd);
		goto out;
	}
	p = (struct pollfd){ s, POLLIN, 0 };
	if (!w.has_rx && poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		pr_warn("fd %d (%s): frames waiting on the packet socket are dropped (read by "
			"no one, as if lost on the link)", d->fd, d->link);
	if (sockopts_dump(ctx, s, d->fd, d->sock_domain, d->sock_type, d->sock_protocol) ||
	    blob_set(&rec->local_addr, &local, sizeof(local)) ||
	    (w.nmc && blob_set(&rec->pkt_mclist, mc, w.nmc * sizeof(mc[0]))) ||
	    (w.has_rx && blob_set(&rec->pkt_rx_ring, &w.rx, sizeof(w.rx))) ||
	    (w.has_tx && blob_set(&rec->pkt_tx_ring, &w.tx, sizeof(w.tx))) ||
	    (ifname[0] && !(rec->path = strdup(ifname)) &&
	     fail(ENOMEM, NULL, "saving fd %d", d->fd)))
		goto out;
	ret = 0;
out:
	close(s);
	return ret;
}

/* A ring's shape as the kernel would take it (it checks the rest). */
static bool ring_valid(const struct blob *b)
{
	const struct packet_diag_ring *r = b->data;

	if (!b->len)
		return true;
	return b->len == sizeof(*r) && r->pdr_block_size && r->pdr_block_size % 4096 == 0 &&
	       r->pdr_block_nr && r->pdr_frame_size && r->pdr_frame_nr &&
	       (uint64_t)r->pdr_block_size * r->pdr_block_nr <= (4ull << 30);
}

static int check_packet(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const struct sockaddr_ll *local = rec->local_addr.data;

	if (rec->sock_domain != AF_PACKET ||
	    (rec->sock_type != SOCK_RAW && rec->sock_type != SOCK_DGRAM) ||
	    rec->sock_protocol < 0 || rec->sock_protocol > 0xffff ||
	    rec->local_addr.len != sizeof(struct sockaddr_ll) || local->sll_family != AF_PACKET ||
	    rec->pkt_mclist.len % sizeof(struct packet_diag_mclist) ||
	    rec->pkt_mclist.len > MCLIST_MAX * sizeof(struct packet_diag_mclist) ||
	    (local->sll_ifindex && (!rec->path || strlen(rec->path) >= IF_NAMESIZE)) ||
	    !ring_valid(&rec->pkt_rx_ring) || !ring_valid(&rec->pkt_tx_ring))
		return fail_why("invalid socket record", "the image is corrupted",
				"checking fd %d", rec->fd);
	if (rec->path && !if_nametoindex(rec->path))
		return fail(errno, "the interface must exist on this host",
			    "checking fd %d (a packet socket bound to interface %s)", rec->fd,
			    rec->path);
	return sockopts_check(ctx, rec);
}

/* PACKET_RX_RING or PACKET_TX_RING of the shape b holds (none if empty).
 * A struct tpacket_req3: the kernel reads the part its version uses. */
static int set_ring(int s, int opt, const struct blob *b, const struct fd_rec *rec)
{
	const struct packet_diag_ring *r = b->data;
	struct tpacket_req3 req;

	if (!b->len)
		return 0;
	req = (struct tpacket_req3){
		.tp_block_size = r->pdr_block_size, .tp_block_nr = r->pdr_block_nr,
		.tp_frame_size = r->pdr_frame_size, .tp_frame_nr = r->pdr_frame_nr,
		.tp_retire_blk_tov = r->pdr_retire_tmo, .tp_sizeof_priv = r->pdr_sizeof_priv,
		.tp_feature_req_word = r->pdr_features,
	};
	if (setsockopt(s, SOL_PACKET, opt, &req, sizeof(req)))
		return fail(errno, errno == ENOMEM ? "the host lacks the memory for it" : NULL,
			    "setting up the %s ring of packet socket fd %d (%u blocks of %u "
			    "bytes)", opt == PACKET_RX_RING ? "receive" : "transmit", rec->fd,
			    r->pdr_block_nr, r->pdr_block_size);
	return 0;
}

static int open_packet(struct fd_child *c, const struct fd_rec *rec)
{
	const struct packet_diag_mclist *mc = rec->pkt_mclist.data;
	size_t nmc = rec->pkt_mclist.len / sizeof(*mc), k;
	struct sockaddr_ll local;
	int s = socket(AF_PACKET, rec->sock_type, rec->sock_protocol);
	unsigned n;

	if (s < 0)
		return fail(errno, errno == EPERM ? "a packet socket needs CAP_NET_RAW: run "
			    "restart as root" : NULL, "recreating packet socket fd %d", rec->fd);
	memcpy(&local, rec->local_addr.data, sizeof(local));
	if (sockopts_restore(c, s, rec, SOCKOPTS_EARLY | SOCKOPTS_BUFFERS))
		goto err;
	/* By the interface's name: its index may differ on this host. */
	if (rec->path)
		local.sll_ifindex = (int)if_nametoindex(rec->path);
	if ((local.sll_ifindex || local.sll_protocol != htons((uint16_t)rec->sock_protocol)) &&
	    bind(s, (struct sockaddr *)&local, sizeof(local))) {
		fail(errno, NULL, "binding packet socket fd %d", rec->fd);
		goto err;
	}
	for (k = 0; k < nmc; k++) {
		struct packet_mreq m = { .mr_ifindex = (int)mc[k].pdmc_index,
					 .mr_type = mc[k].pdmc_type, .mr_alen = mc[k].pdmc_alen };
		if (mc[k].pdmc_alen > sizeof(m.mr_address)) {
			fail_why("invalid membership record", "the image is corrupted",
				 "restoring fd %d", rec->fd);
			goto err;
		}
		memcpy(m.mr_address, mc[k].pdmc_addr, mc[k].pdmc_alen);
		for (n = 0; n < mc[k].pdmc_count && n < 1024; n++)
			if (setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &m, sizeof(m))) {
				fail(errno, NULL, "adding membership %zu of packet socket fd %d",
				     k, rec->fd);
				goto err;
			}
	}
	/* PACKET_FANOUT once it is bound. */
	if (set_ring(s, PACKET_RX_RING, &rec->pkt_rx_ring, rec) ||
	    set_ring(s, PACKET_TX_RING, &rec->pkt_tx_ring, rec) ||
	    sockopts_restore(c, s, rec, SOCKOPTS_LAST))
		goto err;
	if (fcntl(s, F_SETFL, rec->flags & O_NONBLOCK)) {
		fail(errno, NULL, "restoring the flags of fd %d", rec->fd);
		goto err;
	}
	return s;
err:
	close(s);
	return -1;
}

/* ------------------------------------------------------------------ */
/* mapped rings (memory.c maps them)                                  */

/* Bytes the rings take in a mapping: the receive ring's, then the
 * transmit ring's (packet_mmap() maps them whole, in that order). */
static uint64_t rings_size(const struct packet_diag_ring *rx, const struct packet_diag_ring *tx)
{
	return (rx ? (uint64_t)rx->pdr_block_size * rx->pdr_block_nr : 0) +
	       (tx ? (uint64_t)tx->pdr_block_size * tx->pdr_block_nr : 0);
}

int packet_ring_map_dump(struct dump_ctx *ctx, const struct vma_entry *v, struct vma_rec *rec)
{
	struct packet_diag_mclist mc[MCLIST_MAX];
	struct packet_want w = { .mc = mc };
	int domain = 0, s;
	socklen_t len = sizeof(domain);

	rec->ring_fd = fd_on_mapped_inode(ctx->live, v);
	if (rec->ring_fd == -2)
		return fail(errno, NULL, "reading /proc/%d/fd", ctx->live);
	if (rec->ring_fd < 0)
		return fail_why("the socket whose ring is mapped there is closed", "ckpt maps a "
				"packet ring again from the socket; checkpoint while the program "
				"keeps it open", "mapping %#llx-%#llx %s",
				(unsigned long long)v->start, (unsigned long long)v->end, v->path);
	s = fd_steal(ctx->live, rec->ring_fd);
	if (s < 0)
		return -1;
	if (getsockopt(s, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		domain = -1;
	close(s);
	if (domain != AF_PACKET)
		return fail_why("a mapping of a socket that is not a packet ring (TCP zero-copy "
				"receive?)", "ckpt cannot save it; checkpoint when the program has "
				"unmapped it", "mapping %#llx-%#llx %s", (unsigned long long)v->start,
				(unsigned long long)v->end, v->path);
	if (packet_diag(v->inode, &w))
		return -1;
	if (v->pgoff || v->end - v->start != rings_size(w.has_rx ? &w.rx : NULL,
							 w.has_tx ? &w.tx : NULL))
		return fail_why("only a part of the socket's rings is mapped there", "ckpt maps "
				"packet rings again whole, as mmap makes them", "mapping "
				"%#llx-%#llx %s", (unsigned long long)v->start,
				(unsigned long long)v->end, v->path);
	pr_info("fd %d: its rings are mapped at %#llx (they come back empty)", rec->ring_fd,
		(unsigned long long)v->start);
	return 0;
}

int packet_ring_map_check(const struct image_meta *m, const struct vma_rec *v)
{
	size_t i;

	for (i = 0; i < m->nfds; i++) {
		const struct fd_rec *f = &m->fds[i];
		if (f->fd != v->ring_fd || f->inflight)
			continue;
		if (f->tree_pid)
			return 0;	/* (the other's record says) */
		if (f->kind == FD_PACKET && ring_valid(&f->pkt_rx_ring) &&
		    ring_valid(&f->pkt_tx_ring) && !v->pgoff &&
		    v->end - v->start == rings_size(f->pkt_rx_ring.len ? f->pkt_rx_ring.data : NULL,
						    f->pkt_tx_ring.len ? f->pkt_tx_ring.data : NULL) &&
		    v->end > v->start)
			return 0;
	}
	return fail_why("invalid mapping record", "the image is corrupted", "checking mapping "
			"%#llx-%#llx (a packet ring whose fd %d is no packet socket with rings of "
			"its size)",
			(unsigned long long)v->start, (unsigned long long)v->end, v->ring_fd);
}

const struct fd_kind_ops fd_packet_kind = {
	.kind = FD_PACKET,
	.name = "packet socket",
	.tag = "packet",
	.match = is_packet,
	.dump = dump_packet,
	.check = check_packet,
	.open = open_packet,
};
