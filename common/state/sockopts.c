/* Socket options, for sockets of every family, in one table: at dump, each
 * option of the table that the socket has and whose value differs from a
 * new socket of the same family, type and protocol is one sockopt_rec of
 * meta/sockopts (by name: "SO_PRIORITY"); restart sets them again on the
 * new socket.  Values are what getsockopt says: buffer sizes as the kernel
 * reports them (it doubles what is set: half is set again, with
 * SO_*BUFFORCE when allowed), timeouts in microseconds, SO_LINGER as its
 * timeout (-1 when off), names (SO_BINDTODEVICE, TCP_CONGESTION) as text.
 * What getsockopt cannot tell (multicast memberships, socket filters) is
 * not kept. */
#define LOG_PREFIX "sockopts: "
#include "fds.h"

#include <ctype.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif
#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif
#ifndef SO_TIMESTAMP_NEW
#define SO_TIMESTAMP_NEW 63
#define SO_TIMESTAMPNS_NEW 64
#define SO_TIMESTAMPING_NEW 65
#endif
#ifndef SO_TIMESTAMP_OLD
#define SO_TIMESTAMP_OLD 29
#define SO_TIMESTAMPNS_OLD 35
#define SO_TIMESTAMPING_OLD 37
#endif

/* OPT_HEX: a structure of up to 32 bytes, its bytes in hex in the text.
 * OPT_FILTER: a classic BPF socket filter, its instructions in hex. */
enum opt_type { OPT_INT, OPT_BUF, OPT_TIMEVAL, OPT_LINGER, OPT_STR, OPT_HEX, OPT_FILTER };
#define OPT_HEX_MAX 32
#define OPT_STR_MAX 16		/* IFNAMSIZ, TCP_CA_NAME_MAX: with its NUL */

struct sockopt_desc {
	const char *name;
	int level, opt;
	enum opt_type type;
	int force;		/* OPT_BUF: the *BUFFORCE twin */
	unsigned phase;		/* SOCKOPTS_* it is set in */
	bool dgram;		/* not for stream sockets (multicast) */
};

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72		/* Linux 5.14 */
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif
#ifndef SOL_RAW
#define SOL_RAW 255
#endif
#ifndef ICMP_FILTER
#define ICMP_FILTER 1		/* <linux/icmp.h>: struct icmp_filter, one u32 */
#endif
#ifndef ICMPV6_FILTER
#define ICMPV6_FILTER 1		/* <linux/icmpv6.h>: struct icmp6_filter, 8 u32 */
#endif

#define EARLY SOCKOPTS_EARLY
#define O(lvl, o, t, ph) { #o, lvl, o, t, 0, ph, false }
#define MC(lvl, o) { #o, lvl, o, OPT_INT, 0, EARLY, true }

/* In the order they are set: SO_BINDTODEVICE before the options that
 * depend on the device; IP_TOS before SO_PRIORITY, which it also sets. */
static const struct sockopt_desc opts[] = {
	O(SOL_SOCKET, SO_BINDTODEVICE, OPT_STR, EARLY),
	O(IPPROTO_IP, IP_TOS, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_REUSEADDR, OPT_INT, EARLY | SOCKOPTS_AFTER_REPAIR),
	O(SOL_SOCKET, SO_REUSEPORT, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_KEEPALIVE, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_BROADCAST, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_OOBINLINE, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_DONTROUTE, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_NO_CHECK, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_PRIORITY, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_MARK, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_RCVLOWAT, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_PASSCRED, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_PASSSEC, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_TIMESTAMP_OLD, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_TIMESTAMPNS_OLD, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_TIMESTAMP_NEW, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_TIMESTAMPNS_NEW, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_TIMESTAMPING_OLD, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_RXQ_OVFL, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_WIFI_STATUS, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_SELECT_ERR_QUEUE, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_BUSY_POLL, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_PEEK_OFF, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_LINGER, OPT_LINGER, EARLY),
	O(SOL_SOCKET, SO_RCVTIMEO, OPT_TIMEVAL, EARLY),
	/* The filter before its lock (a locked one cannot be replaced). */
	O(SOL_SOCKET, SO_ATTACH_FILTER, OPT_FILTER, EARLY),
	O(SOL_SOCKET, SO_LOCK_FILTER, OPT_INT, EARLY),
	O(SOL_SOCKET, SO_SNDTIMEO, OPT_TIMEVAL, EARLY),
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, OPT_BUF, SO_SNDBUFFORCE, SOCKOPTS_BUFFERS, false },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, OPT_BUF, SO_RCVBUFFORCE, SOCKOPTS_BUFFERS, false },
	/* Which buffer sizes the kernel must keep (setting one locks it):
	 * after them, and again once a connection's buffers are settled. */
	O(SOL_SOCKET, SO_BUF_LOCK, OPT_INT, SOCKOPTS_BUFFERS | SOCKOPTS_LAST),

	O(IPPROTO_TCP, TCP_NODELAY, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_CORK, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_KEEPIDLE, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_KEEPINTVL, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_KEEPCNT, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_USER_TIMEOUT, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_SYNCNT, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_LINGER2, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_DEFER_ACCEPT, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_NOTSENT_LOWAT, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_FASTOPEN, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_FASTOPEN_CONNECT, OPT_INT, EARLY),
	O(IPPROTO_TCP, TCP_CONGESTION, OPT_STR, EARLY),
	O(IPPROTO_TCP, TCP_QUICKACK, OPT_INT, SOCKOPTS_LAST),	/* (traffic changes it) */

	O(IPPROTO_UDP, UDP_CORK, OPT_INT, EARLY),
	O(IPPROTO_UDP, UDP_SEGMENT, OPT_INT, EARLY),
	O(IPPROTO_UDP, UDP_GRO, OPT_INT, EARLY),
	O(SOL_UDPLITE, UDPLITE_SEND_CSCOV, OPT_INT, EARLY),
	O(SOL_UDPLITE, UDPLITE_RECV_CSCOV, OPT_INT, EARLY),

	O(IPPROTO_IP, IP_TTL, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_FREEBIND, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_TRANSPARENT, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_MTU_DISCOVER, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_RECVERR, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_PKTINFO, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_RECVTTL, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_RECVTOS, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_RECVOPTS, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_RETOPTS, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_RECVORIGDSTADDR, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_PASSSEC, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_MINTTL, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_NODEFRAG, OPT_INT, EARLY),
	O(IPPROTO_IP, IP_HDRINCL, OPT_INT, EARLY),		/* raw sockets */
	O(SOL_RAW, ICMP_FILTER, OPT_INT, EARLY),		/* raw ICMP sockets */
	MC(IPPROTO_IP, IP_MULTICAST_TTL),
	MC(IPPROTO_IP, IP_MULTICAST_LOOP),
	MC(IPPROTO_IP, IP_MULTICAST_ALL),

	O(IPPROTO_IPV6, IPV6_V6ONLY, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_TCLASS, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_UNICAST_HOPS, OPT_INT, EARLY),
	MC(IPPROTO_IPV6, IPV6_MULTICAST_HOPS),
	MC(IPPROTO_IPV6, IPV6_MULTICAST_LOOP),
	O(IPPROTO_IPV6, IPV6_FREEBIND, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_TRANSPARENT, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_MTU_DISCOVER, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_RECVERR, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_RECVPKTINFO, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_RECVTCLASS, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_DONTFRAG, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_MINHOPCOUNT, OPT_INT, EARLY),
	O(IPPROTO_IPV6, IPV6_CHECKSUM, OPT_INT, EARLY),		/* raw sockets */
	O(IPPROTO_ICMPV6, ICMPV6_FILTER, OPT_HEX, EARLY),	/* raw ICMPv6 sockets */
	MC(IPPROTO_IPV6, IPV6_MULTICAST_ALL),

	O(SOL_NETLINK, NETLINK_PKTINFO, OPT_INT, EARLY),
	O(SOL_NETLINK, NETLINK_BROADCAST_ERROR, OPT_INT, EARLY),
	O(SOL_NETLINK, NETLINK_NO_ENOBUFS, OPT_INT, EARLY),
	O(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, OPT_INT, EARLY),
	O(SOL_NETLINK, NETLINK_CAP_ACK, OPT_INT, EARLY),
	O(SOL_NETLINK, NETLINK_EXT_ACK, OPT_INT, EARLY),
	O(SOL_NETLINK, NETLINK_GET_STRICT_CHK, OPT_INT, EARLY),

	O(SOL_PACKET, PACKET_VERSION, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_RESERVE, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_AUXDATA, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_ORIGDEV, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_VNET_HDR, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_TIMESTAMP, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_LOSS, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_QDISC_BYPASS, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_IGNORE_OUTGOING, OPT_INT, EARLY),
	O(SOL_PACKET, PACKET_FANOUT, OPT_INT, SOCKOPTS_LAST),	/* (once bound) */
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Options of a level only make sense on sockets of that protocol. */
static bool applies(const struct sockopt_desc *o, int domain, int type, int protocol)
{
	if (o->dgram && type == SOCK_STREAM)
		return false;
	switch (o->level) {
	case SOL_SOCKET:
		return true;
	case IPPROTO_IP:
		return domain == AF_INET;
	case IPPROTO_IPV6:
		return domain == AF_INET6;
	case SOL_RAW:
		return domain == AF_INET && type == SOCK_RAW;
	case IPPROTO_ICMPV6:
		return domain == AF_INET6 && type == SOCK_RAW;
	case SOL_NETLINK:
		return domain == AF_NETLINK;
	case SOL_PACKET:
		return domain == AF_PACKET;
	default:			/* IPPROTO_TCP, _UDP, SOL_UDPLITE */
		return (domain == AF_INET || domain == AF_INET6) && protocol == o->level;
	}
}

struct optval {
	int64_t value;
	char text[2 * OPT_HEX_MAX + 1];	/* (> OPT_STR_MAX) */
};

static int get_opt(int s, const struct sockopt_desc *o, struct optval *v)
{
	union {
		int i;
		struct timeval tv;
		struct linger l;
		char text[sizeof(v->text)];
		char room[64];
	} u;
	socklen_t len = sizeof(u);

	memset(&u, 0, sizeof(u));
	memset(v, 0, sizeof(*v));
	if (getsockopt(s, o->level, o->opt, &u, &len))
		return -1;
	switch (o->type) {
	case OPT_INT:
	case OPT_BUF:
		v->value = u.i;
		break;
	case OPT_TIMEVAL:
		v->value = (int64_t)u.tv.tv_sec * 1000000 + u.tv.tv_usec;
		break;
	case OPT_LINGER:
		v->value = u.l.l_onoff ? u.l.l_linger : -1;
		break;
	case OPT_STR:
		memcpy(v->text, u.text, sizeof(v->text) - 1);
		break;
	case OPT_FILTER:
		return -1;	/* (read by dump_filter; never "already so") */
	case OPT_HEX: {
		socklen_t i;

		if (len > OPT_HEX_MAX)
			return -1;
		for (i = 0; i < len; i++)
			snprintf(v->text + 2 * i, 3, "%02x", (unsigned char)u.room[i]);
		break;
	}
	}
	return 0;
}

/* The bytes of a hex text, at most max of them; their count, -1 if it is
 * not such a text. */
static long hex_decode(const char *text, unsigned char *out, size_t max)
{
	size_t n = text ? strlen(text) : 0, i;

	if (!text || n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n; i += 2) {
		unsigned v;

		if (!isxdigit((unsigned char)text[i]) || !isxdigit((unsigned char)text[i + 1]) ||
		    sscanf(text + i, "%2x", &v) != 1)
			return -1;
		if (out)
			out[i / 2] = (unsigned char)v;
	}
	return (long)(n / 2);
}

static int hex_bytes(const char *text, unsigned char *out)
{
	return (int)hex_decode(text, out, OPT_HEX_MAX);
}

/* A classic BPF filter (SO_ATTACH_FILTER) reads back as it was attached
 * (SO_GET_FILTER, its length in instructions): saved as the hex of its
 * instructions, attached again by restart.  An eBPF program
 * (SO_ATTACH_BPF) cannot be read back (EACCES): refused by name. */
static int dump_filter(struct dump_ctx *ctx, const struct sockopt_desc *o, int s, int fd)
{
	struct sock_filter *insns = NULL;
	struct sockopt_rec *r;
	socklen_t n = 0, i;
	char *hex = NULL;
	int ret = -1;

	if (getsockopt(s, SOL_SOCKET, SO_GET_FILTER, NULL, &n)) {
		if (errno != EACCES)
			return 0;	/* (no filter here) */
		return fail_why("an eBPF program is attached to it (SO_ATTACH_BPF)",
				"saving eBPF socket programs is not supported; checkpoint "
				"it without one", "checking fd %d", fd);
	}
	if (!n)
		return 0;
	if (n > BPF_MAXINSNS)
		return fail_why("its socket filter is longer than BPF_MAXINSNS", NULL,
				"checking fd %d", fd);
	if (!(insns = calloc(n, sizeof(*insns))) || !(hex = malloc(n * 2 * sizeof(*insns) + 1))) {
		fail(ENOMEM, NULL, "saving the socket filter of fd %d", fd);
		goto out;
	}
	if (getsockopt(s, SOL_SOCKET, SO_GET_FILTER, insns, &n)) {
		fail(errno, NULL, "reading the socket filter of fd %d", fd);
		goto out;
	}
	for (i = 0; i < n * (socklen_t)sizeof(*insns); i++)
		snprintf(hex + 2 * i, 3, "%02x", ((unsigned char *)insns)[i]);
	r = meta_push(&ctx->meta.sockopts, &ctx->meta.nsockopts, sizeof(*r));
	if (!r || !(r->option = strdup(o->name))) {
		if (r)
			fail(ENOMEM, NULL, "recording socket options");
		goto out;
	}
	r->fd = fd;
	r->text = hex;
	hex = NULL;
	ret = 0;
out:
	free(insns);
	free(hex);
	return ret;
}

static bool same(const struct sockopt_desc *o, const struct optval *a, const struct optval *b)
{
	return o->type == OPT_STR || o->type == OPT_HEX ? !strcmp(a->text, b->text)
							: a->value == b->value;
}

int sockopts_dump(struct dump_ctx *ctx, int s, int fd, int domain, int type, int protocol)
{
	int fresh, ret = 0;
	unsigned i;

	fresh = socket(domain, type | SOCK_CLOEXEC, protocol);

	for (i = 0; i < NOPTS && !ret; i++) {
		const struct sockopt_desc *o = &opts[i];
		struct optval now, def;
		struct sockopt_rec *r;

		if (!applies(o, domain, type, protocol))
			continue;
		if (o->type == OPT_FILTER) {
			ret = dump_filter(ctx, o, s, fd);
			continue;
		}
		if (get_opt(s, o, &now))
			continue;
		if (fresh >= 0 && !get_opt(fresh, o, &def) && same(o, &now, &def))
			continue;
		r = meta_push(&ctx->meta.sockopts, &ctx->meta.nsockopts, sizeof(*r));
		if (!r || !(r->option = strdup(o->name)) ||
		    ((o->type == OPT_STR || o->type == OPT_HEX) && !(r->text = strdup(now.text)))) {
			ret = r ? fail(ENOMEM, NULL, "recording socket options") : -1;
			break;
		}
		r->fd = fd;
		r->value = now.value;
	}
	if (fresh >= 0)
		close(fresh);
	return ret;
}

static const struct sockopt_desc *find_opt(const char *name)
{
	unsigned i;

	for (i = 0; name && i < NOPTS; i++)
		if (!strcmp(opts[i].name, name))
			return &opts[i];
	return NULL;
}

static int bad_rec(const struct fd_rec *rec, const struct sockopt_rec *r)
{
	return fail_why("invalid socket option record", "the image is corrupted",
			"checking option %s of fd %d", r->option ? r->option : "(none)", rec->fd);
}

/* Images before sock_protocol was recorded: the usual protocol. */
static int protocol_of(const struct fd_rec *rec)
{
	bool inet = rec->sock_domain == AF_INET || rec->sock_domain == AF_INET6;

	if (rec->sock_protocol || !inet)
		return rec->sock_protocol;
	return rec->sock_type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
}

int sockopts_check(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	size_t i;

	for (i = 0; i < ctx->meta.nsockopts; i++) {
		const struct sockopt_rec *r = &ctx->meta.sockopts[i];
		const struct sockopt_desc *o;

		if (r->fd != rec->fd)
			continue;
		o = find_opt(r->option);
		if (!o || !applies(o, rec->sock_domain, rec->sock_type, protocol_of(rec)) ||
		    (o->type == OPT_STR && (!r->text || strlen(r->text) >= OPT_STR_MAX)) ||
		    (o->type == OPT_HEX && hex_bytes(r->text, (unsigned char[OPT_HEX_MAX]){ 0 }) < 0) ||
		    (o->type == OPT_FILTER &&
		     (hex_decode(r->text, NULL, BPF_MAXINSNS * sizeof(struct sock_filter)) <= 0 ||
		      hex_decode(r->text, NULL, SIZE_MAX) % sizeof(struct sock_filter))) ||
		    ((o->type == OPT_INT || o->type == OPT_BUF) && (r->value < INT32_MIN || r->value > INT32_MAX)) ||
		    (o->type == OPT_LINGER && (r->value < -1 || r->value > INT32_MAX)) ||
		    (o->type == OPT_TIMEVAL && r->value < 0))
			return bad_rec(rec, r);
	}
	return 0;
}

static int set_opt(int s, const struct sockopt_desc *o, const struct sockopt_rec *r)
{
	int i = (int)r->value;
	struct timeval tv = { r->value / 1000000, r->value % 1000000 };
	struct linger l = { r->value >= 0, r->value >= 0 ? (int)r->value : 0 };

	switch (o->type) {
	case OPT_INT:
		return setsockopt(s, o->level, o->opt, &i, sizeof(i));
	case OPT_BUF:
		/* The kernel doubles what it is given (for its own overhead). */
		i /= 2;
		if (!setsockopt(s, o->level, o->force, &i, sizeof(i)))
			return 0;
		return errno == EPERM ? setsockopt(s, o->level, o->opt, &i, sizeof(i)) : -1;
	case OPT_TIMEVAL:
		return setsockopt(s, o->level, o->opt, &tv, sizeof(tv));
	case OPT_LINGER:
		return setsockopt(s, o->level, o->opt, &l, sizeof(l));
	case OPT_STR:
		return setsockopt(s, o->level, o->opt, r->text, strlen(r->text));
	case OPT_HEX: {
		unsigned char bytes[OPT_HEX_MAX];
		int n = hex_bytes(r->text, bytes);

		if (n < 0) {
			errno = EINVAL;
			return -1;
		}
		return setsockopt(s, o->level, o->opt, bytes, (socklen_t)n);
	}
	case OPT_FILTER: {
		struct sock_filter insns[BPF_MAXINSNS];
		long n = hex_decode(r->text, (unsigned char *)insns, sizeof(insns));
		struct sock_fprog prog = { (unsigned short)(n / (long)sizeof(insns[0])), insns };

		if (n <= 0 || n % (long)sizeof(insns[0])) {
			errno = EINVAL;
			return -1;
		}
		return setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	}
	}
	return -1;
}

int sockopts_restore(struct fd_child *c, int s, const struct fd_rec *rec, unsigned phase)
{
	const struct image_meta *m = &c->ctx->meta;
	size_t i;
	unsigned k;

	/* Older images: the boolean options as bits (SO_REUSEADDR, SO_REUSEPORT,
	 * SO_KEEPALIVE, TCP_NODELAY, IPV6_V6ONLY, SO_BROADCAST). */
	static const char *const legacy[] = { "SO_REUSEADDR", "SO_REUSEPORT", "SO_KEEPALIVE",
					      "TCP_NODELAY", "IPV6_V6ONLY", "SO_BROADCAST" };
	for (k = 0; k < sizeof(legacy) / sizeof(legacy[0]); k++) {
		const struct sockopt_desc *o = find_opt(legacy[k]);
		struct sockopt_rec one = { .value = 1 };
		if ((rec->sockopts & (1ull << k)) && (o->phase & phase) &&
		    applies(o, rec->sock_domain, rec->sock_type, protocol_of(rec)) && set_opt(s, o, &one))
			return fail(errno, NULL, "restoring %s of socket fd %d", o->name, rec->fd);
	}
	for (i = 0; i < m->nsockopts; i++) {
		const struct sockopt_rec *r = &m->sockopts[i];
		const struct sockopt_desc *o;
		struct optval now;

		if (r->fd != rec->fd)
			continue;
		o = find_opt(r->option);
		if (!o)
			return bad_rec(rec, r);
		if (!(o->phase & phase))
			continue;
		/* Already so (a buffer the kernel sized the same way needs no
		 * lock; ckpt could not make a new socket to compare with). */
		if (!get_opt(s, o, &now) &&
		    (o->type == OPT_STR || o->type == OPT_HEX ? r->text && !strcmp(now.text, r->text)
							      : now.value == r->value))
			continue;
		if (set_opt(s, o, r))
			return fail(errno, o->opt == SO_MARK || o->opt == IP_TRANSPARENT ||
				    o->opt == IPV6_TRANSPARENT || o->opt == SO_BINDTODEVICE ?
				    "this option needs CAP_NET_ADMIN (run restart as root)" :
				    "the option is not accepted here (another kernel?)",
				    "restoring %s of socket fd %d", o->name, rec->fd);
	}
	return 0;
}

bool sockopts_find(const struct restore_ctx *ctx, int fd, const char *name, int64_t *value)
{
	size_t i;

	for (i = 0; i < ctx->meta.nsockopts; i++)
		if (ctx->meta.sockopts[i].fd == fd && ctx->meta.sockopts[i].option &&
		    !strcmp(ctx->meta.sockopts[i].option, name)) {
			*value = ctx->meta.sockopts[i].value;
			return true;
		}
	return false;
}
