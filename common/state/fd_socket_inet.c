/* TCP and UDP sockets (IPv4 and IPv6).
 *   listening TCP: address, options, backlog (sock_diag), re-created and
 *     listening again (connections not yet accepted are not kept);
 *   established TCP: TCP_REPAIR (CAP_NET_ADMIN) reads the sequence numbers,
 *     both queues, MSS, window scales, SACK/timestamp options and the
 *     window; restart rebuilds the connection in repair mode, so the peer
 *     sees no reset and no byte is lost or sent twice.  With ckpt --kill the
 *     socket stays in repair mode until the process is gone, so its death
 *     sends nothing to the peer;
 *   UDP: bound and connected addresses and options (queued datagrams are
 *     not kept).
 * The local address must exist on the host where the process restarts. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	SOCKOPT_REUSEADDR = 1, SOCKOPT_REUSEPORT = 2, SOCKOPT_KEEPALIVE = 4,
	SOCKOPT_NODELAY = 8, SOCKOPT_V6ONLY = 16, SOCKOPT_BROADCAST = 32,
};

static const struct {
	uint64_t bit;
	int level, name;
} bool_opts[] = {
	{ SOCKOPT_REUSEADDR, SOL_SOCKET, SO_REUSEADDR },
	{ SOCKOPT_REUSEPORT, SOL_SOCKET, SO_REUSEPORT },
	{ SOCKOPT_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE },
	{ SOCKOPT_NODELAY, IPPROTO_TCP, TCP_NODELAY },
	{ SOCKOPT_V6ONLY, IPPROTO_IPV6, IPV6_V6ONLY },
	{ SOCKOPT_BROADCAST, SOL_SOCKET, SO_BROADCAST },
};

static bool is_inet(const struct fd_dump *d)
{
	return d->sock_domain == AF_INET || d->sock_domain == AF_INET6;
}

static bool is_tcp(const struct fd_dump *d)
{
	return is_inet(d) && d->sock_type == SOCK_STREAM && d->sock_protocol == IPPROTO_TCP;
}

static bool is_udp(const struct fd_dump *d)
{
	return is_inet(d) && d->sock_type == SOCK_DGRAM && d->sock_protocol == IPPROTO_UDP;
}

static uint64_t read_opts(int s, int domain)
{
	uint64_t bits = 0;
	unsigned i;

	for (i = 0; i < sizeof(bool_opts) / sizeof(bool_opts[0]); i++) {
		int v = 0;
		socklen_t len = sizeof(v);
		if (bool_opts[i].level == IPPROTO_IPV6 && domain != AF_INET6)
			continue;
		if (!getsockopt(s, bool_opts[i].level, bool_opts[i].name, &v, &len) && v)
			bits |= bool_opts[i].bit;
	}
	return bits;
}

static int apply_opts(int s, const struct fd_rec *rec)
{
	unsigned i;

	for (i = 0; i < sizeof(bool_opts) / sizeof(bool_opts[0]); i++) {
		int v = 1;
		if (!(rec->sockopts & bool_opts[i].bit))
			continue;
		if (setsockopt(s, bool_opts[i].level, bool_opts[i].name, &v, sizeof(v)))
			return fail(errno, NULL, "setting an option of socket fd %d", rec->fd);
	}
	return 0;
}

static int save_addr(struct blob *b, int s, bool peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if ((peer ? getpeername(s, (struct sockaddr *)&ss, &len) :
		    getsockname(s, (struct sockaddr *)&ss, &len)))
		return peer ? 0 : fail(errno, NULL, "reading a socket address");
	return blob_set(b, &ss, len);
}

static in_port_t port_of(const struct blob *b)
{
	const struct sockaddr *sa = b->data;

	if (!sa || b->len < sizeof(struct sockaddr_in))
		return 0;
	return sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
					 : ((const struct sockaddr_in *)sa)->sin_port;
}

/* The backlog given to listen() is only told by sock_diag. */
static uint32_t listen_backlog(int family, ino_t ino)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { sizeof(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
		.r = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = 1 << TCP_LISTEN },
	};
	static char buf[32768];
	uint32_t backlog = SOMAXCONN;
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	bool done = false;

	if (nl < 0 || send(nl, &req, sizeof(req), 0) < 0)
		goto out;
	while (!done) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (n <= 0)
			break;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *m = NLMSG_DATA(h);
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (m->idiag_inode == ino)
				backlog = m->idiag_wqueue;
		}
	}
out:
	if (nl >= 0)
		close(nl);
	return backlog;
}

static int peek_queue(int s, int queue, struct blob *b, uint32_t *seq, int len_ioctl)
{
	int len = 0;
	socklen_t sl = sizeof(*seq);

	if (setsockopt(s, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) ||
	    getsockopt(s, SOL_TCP, TCP_QUEUE_SEQ, seq, &sl) || ioctl(s, len_ioctl, &len))
		return fail(errno, NULL, "reading a TCP queue in repair mode");
	if (len <= 0)
		return 0;
	b->data = malloc(len);
	if (!b->data)
		return fail(ENOMEM, NULL, "reading a TCP queue");
	if (recv(s, b->data, len, MSG_PEEK | MSG_DONTWAIT) != len)
		return fail(errno ? errno : EIO, NULL, "reading a TCP queue in repair mode");
	b->len = len;
	return 0;
}

static int repair_established(struct dump_ctx *ctx, int s, struct fd_rec *rec)
{
	struct tcp_info ti;
	struct tcp_repair_window win;
	socklen_t len;
	uint32_t seq;
	int on = 1, unsent = 0, *grown;

	if (setsockopt(s, SOL_TCP, TCP_REPAIR, &on, sizeof(on)))
		return fail(errno, "TCP_REPAIR needs CAP_NET_ADMIN: run ckpt as root",
			    "freezing the TCP connection of fd %d", rec->fd);
	/* From now on it must leave repair mode (or die in it): keep it. */
	grown = realloc(ctx->repaired, (ctx->nrepaired + 1) * sizeof(int));
	if (!grown)
		return fail(ENOMEM, NULL, "freezing TCP connections");
	ctx->repaired = grown;
	ctx->repaired[ctx->nrepaired++] = s;
	if (peek_queue(s, TCP_SEND_QUEUE, &rec->outq, &seq, SIOCOUTQ))
		return -1;
	rec->snd_seq = seq;
	if (ioctl(s, SIOCOUTQNSD, &unsent))
		return fail(errno, NULL, "reading the TCP send queue of fd %d", rec->fd);
	rec->unsent_len = unsent;
	if (peek_queue(s, TCP_RECV_QUEUE, &rec->inq, &seq, SIOCINQ))
		return -1;
	rec->rcv_seq = seq;
	len = sizeof(ti);
	if (getsockopt(s, SOL_TCP, TCP_INFO, &ti, &len))
		return fail(errno, NULL, "reading TCP_INFO of fd %d", rec->fd);
	rec->tcp_options = ti.tcpi_options;
	rec->snd_wscale = ti.tcpi_snd_wscale;
	rec->rcv_wscale = ti.tcpi_rcv_wscale;
	len = sizeof(rec->mss);
	getsockopt(s, SOL_TCP, TCP_MAXSEG, &rec->mss, &len);
	len = sizeof(rec->timestamp);
	getsockopt(s, SOL_TCP, TCP_TIMESTAMP, &rec->timestamp, &len);
	len = sizeof(win);
	if (getsockopt(s, SOL_TCP, TCP_REPAIR_WINDOW, &win, &len) || blob_set(&rec->window, &win, len))
		return fail(errno, NULL, "reading the TCP window of fd %d", rec->fd);
	return 0;
}

static const char *tcp_state_name(int state)
{
	static const char *const names[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV",
		"FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING" };
	return state > 0 && state < 12 ? names[state] : "?";
}

static int dump_inet(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int s = fd_steal(ctx->pid, d->fd), ret = -1;

	if (s < 0)
		return -1;
	rec->sock_domain = d->sock_domain;
	rec->sock_type = d->sock_type;
	rec->sockopts = read_opts(s, d->sock_domain);
	if (save_addr(&rec->local_addr, s, false) || save_addr(&rec->peer_addr, s, true))
		goto out;
	if (d->sock_type == SOCK_DGRAM) {
		ret = 0;
		goto out;
	}
	if (getsockopt(s, SOL_TCP, TCP_INFO, &ti, &len)) {
		fail(errno, NULL, "reading TCP_INFO of fd %d", d->fd);
		goto out;
	}
	rec->sock_state = ti.tcpi_state;
	switch (ti.tcpi_state) {
	case TCP_LISTEN:
		rec->backlog = listen_backlog(d->sock_domain, d->st.st_ino);
		ret = 0;
		break;
	case TCP_CLOSE:
		ret = 0;
		break;
	case TCP_ESTABLISHED:
		ret = repair_established(ctx, s, rec);
		if (!ret)
			return 0;	/* s is in ctx->repaired now */
		break;
	default:
		fail_why("TCP connections in this state are not supported yet", "checkpoint "
			 "when the connection is established or closed", "checking fd %d (%s, "
			 "state %s)", d->fd, d->link, tcp_state_name(ti.tcpi_state));
	}
out:
	if (s >= 0 && !(ret == 0 && rec->sock_state == TCP_ESTABLISHED))
		close(s);
	return ret;
}

void fd_tcp_release_repaired(struct dump_ctx *ctx, bool killed)
{
	int off = 0;
	size_t i;

	for (i = 0; i < ctx->nrepaired; i++) {
		if (!killed)
			setsockopt(ctx->repaired[i], SOL_TCP, TCP_REPAIR, &off, sizeof(off));
		close(ctx->repaired[i]);
	}
	free(ctx->repaired);
	ctx->repaired = NULL;
	ctx->nrepaired = 0;
}

static int check_inet(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	(void)ctx;
	if ((rec->sock_domain != AF_INET && rec->sock_domain != AF_INET6) ||
	    rec->local_addr.len > sizeof(struct sockaddr_storage) ||
	    rec->peer_addr.len > sizeof(struct sockaddr_storage) ||
	    (rec->sock_state == TCP_ESTABLISHED &&
	     (!rec->peer_addr.len || rec->unsent_len > rec->outq.len)))
		return fail_why("invalid socket record", "the image is corrupted",
				"checking fd %d", rec->fd);
	return 0;
}

static int send_all(int s, const void *data, size_t len, const struct fd_rec *rec)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(s, (const char *)data + done, len - done, 0);
		if (n < 0)
			return fail(errno, NULL, "refilling the TCP queue of fd %d", rec->fd);
		done += n;
	}
	return 0;
}

static int restore_established(int s, const struct fd_rec *rec)
{
	int on = 1, off = 0, q;
	uint32_t seq;
	struct tcp_repair_opt opts[4];
	unsigned nopts = 0;
	size_t sent_len = rec->outq.len - rec->unsent_len;

	if (setsockopt(s, SOL_TCP, TCP_REPAIR, &on, sizeof(on)))
		return fail(errno, "TCP_REPAIR needs CAP_NET_ADMIN: run restart as root, or "
			    "use --tcp-close to restore connections closed",
			    "rebuilding the TCP connection of fd %d", rec->fd);
	q = TCP_RECV_QUEUE;
	seq = rec->rcv_seq - rec->inq.len;
	if (setsockopt(s, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
	    setsockopt(s, SOL_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)))
		return fail(errno, NULL, "restoring TCP sequence numbers of fd %d", rec->fd);
	q = TCP_SEND_QUEUE;
	seq = rec->snd_seq - rec->outq.len;
	if (setsockopt(s, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
	    setsockopt(s, SOL_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)))
		return fail(errno, NULL, "restoring TCP sequence numbers of fd %d", rec->fd);
	if (bind(s, rec->local_addr.data, rec->local_addr.len))
		return fail(errno, "the address must exist on this host, or use --tcp-close to "
			    "restore connections closed",
			    "binding the TCP connection of fd %d", rec->fd);
	if (connect(s, rec->peer_addr.data, rec->peer_addr.len))
		return fail(errno, NULL, "reconnecting the TCP connection of fd %d", rec->fd);
	opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, rec->mss };
	if (rec->tcp_options & TCPI_OPT_WSCALE)
		opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_WINDOW,
							 rec->snd_wscale | (rec->rcv_wscale << 16) };
	if (rec->tcp_options & TCPI_OPT_SACK)
		opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (rec->tcp_options & TCPI_OPT_TIMESTAMPS)
		opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(s, SOL_TCP, TCP_REPAIR_OPTIONS, opts, nopts * sizeof(opts[0])) ||
	    ((rec->tcp_options & TCPI_OPT_TIMESTAMPS) &&
	     setsockopt(s, SOL_TCP, TCP_TIMESTAMP, &rec->timestamp, sizeof(rec->timestamp))))
		return fail(errno, NULL, "restoring TCP options of fd %d", rec->fd);
	/* Sent but not acknowledged data goes back into the send queue, and
	 * received data into the receive queue, both without transmitting. */
	if (sent_len && send_all(s, rec->outq.data, sent_len, rec))
		return -1;
	q = TCP_RECV_QUEUE;
	if (rec->inq.len && (setsockopt(s, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
			     send_all(s, rec->inq.data, rec->inq.len, rec)))
		return -1;
	if (rec->window.len == sizeof(struct tcp_repair_window) &&
	    setsockopt(s, SOL_TCP, TCP_REPAIR_WINDOW, rec->window.data, rec->window.len))
		return fail(errno, NULL, "restoring the TCP window of fd %d", rec->fd);
	if (setsockopt(s, SOL_TCP, TCP_REPAIR, &off, sizeof(off)))
		return fail(errno, NULL, "leaving TCP repair mode on fd %d", rec->fd);
	/* What was never sent is sent now, as the process would have. */
	return rec->unsent_len ? send_all(s, (char *)rec->outq.data + sent_len, rec->unsent_len, rec)
			       : 0;
}

static int open_inet(struct fd_child *c, const struct fd_rec *rec)
{
	int s = socket(rec->sock_domain, rec->sock_type, 0);

	if (s < 0)
		return fail(errno, NULL, "recreating socket fd %d", rec->fd);
	if (apply_opts(s, rec))
		goto err;
	if (rec->sock_type == SOCK_STREAM && rec->sock_state == TCP_ESTABLISHED) {
		/* --tcp-close: an unconnected socket; the program's next read or
		 * write fails, and poll reports a hang-up, as after a reset. */
		if (!c->ctx->opts->tcp_close && restore_established(s, rec))
			goto err;
	} else {
		if (port_of(&rec->local_addr) &&
		    bind(s, rec->local_addr.data, rec->local_addr.len)) {
			fail(errno, "the address must be free and exist on this host",
			     "binding socket fd %d", rec->fd);
			goto err;
		}
		if (rec->sock_type == SOCK_STREAM && rec->sock_state == TCP_LISTEN &&
		    listen(s, rec->backlog)) {
			fail(errno, NULL, "listening on socket fd %d", rec->fd);
			goto err;
		}
		if (rec->sock_type == SOCK_DGRAM && rec->peer_addr.len &&
		    connect(s, rec->peer_addr.data, rec->peer_addr.len)) {
			fail(errno, NULL, "connecting socket fd %d", rec->fd);
			goto err;
		}
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

const struct fd_kind_ops fd_tcp_kind = {
	.kind = FD_TCP,
	.name = "TCP socket",
	.tag = "tcp",
	.match = is_tcp,
	.dump = dump_inet,
	.check = check_inet,
	.open = open_inet,
};
const struct fd_kind_ops fd_udp_kind = {
	.kind = FD_UDP,
	.name = "UDP socket",
	.tag = "udp",
	.match = is_udp,
	.dump = dump_inet,
	.check = check_inet,
	.open = open_inet,
};
