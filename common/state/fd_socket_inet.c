/* TCP, UDP and UDP-Lite sockets (IPv4 and IPv6).  Options: sockopts.c;
 * shutdown(SHUT_RD/WR) and the listen backlog: sock_diag.
 *   new or bound TCP, UDP: bound again with SO_REUSEADDR set for the bind
 *     only (the port may be shared with connections of the process, or
 *     held by the old process's in TIME_WAIT), then connected (UDP);
 *   listening TCP: also listening again (connections not yet accepted are
 *     not kept);
 *   established TCP (and half-closed: CLOSE_WAIT, FIN_WAIT1/2, CLOSING,
 *     LAST_ACK, see finish_inet): TCP_REPAIR (CAP_NET_ADMIN) reads the
 *     sequence numbers, both queues, MSS, window scales, SACK/timestamp
 *     options and the window; restart rebuilds the connection in repair
 *     mode, so the peer sees no reset and no byte is lost or sent twice,
 *     and leaves repair mode only once every process of the tree holds all
 *     its fds (the peer may be one of them: leaving repair mode sends a
 *     probe, which a peer not made yet would answer with a reset).  What is
 *     left of the old connection (its process killed after the checkpoint:
 *     TIME_WAIT, closing, held by no process) is destroyed first, as ss -K
 *     would.  With ckpt --kill the socket, locked, is put in
 *     repair mode again once the image is committed, before the process
 *     is killed, so its death sends nothing to the peer;
 *   UDP with datagrams queued: refused (they could not be queued again as
 *     sent from their senders' addresses).
 * The local address must exist on the host where the process restarts. */
#define LOG_PREFIX "fds: "
#include "fds.h"

/* fd_rec.shutdown: the kernel's RCV_SHUTDOWN and SEND_SHUTDOWN bits. */
#define SHUT_RD_BIT 1
#define SHUT_WR_BIT 2

#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

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
	return is_inet(d) && d->sock_type == SOCK_DGRAM &&
	       (d->sock_protocol == IPPROTO_UDP || d->sock_protocol == IPPROTO_UDPLITE);
}

/* ICMP echo ("ping") sockets: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP). */
static bool is_ping(const struct fd_dump *d)
{
	return d->sock_type == SOCK_DGRAM &&
	       ((d->sock_domain == AF_INET && d->sock_protocol == IPPROTO_ICMP) ||
		(d->sock_domain == AF_INET6 && d->sock_protocol == IPPROTO_ICMPV6));
}

/* Raw IP sockets: socket(AF_INET[6], SOCK_RAW, protocol), CAP_NET_RAW. */
static bool is_raw(const struct fd_dump *d)
{
	return is_inet(d) && d->sock_type == SOCK_RAW;
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

/* What only sock_diag tells: the backlog given to listen() (as the
 * "write queue" of a listener), the bytes queued for reading, and the
 * shutdown() done on the socket. */
struct diag_info {
	bool found;
	uint32_t rqueue, wqueue;
	uint8_t shutdown;		/* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2 */
};

struct diag_want {
	ino_t ino;
	struct diag_info *out;
};

static int diag_one(const struct nlmsghdr *h, void *arg)
{
	const struct diag_want *w = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	const struct rtattr *a;
	int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || m->idiag_inode != w->ino)
		return 0;
	w->out->found = true;
	w->out->rqueue = m->idiag_rqueue;
	w->out->wqueue = m->idiag_wqueue;
	for (a = (const struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
		if (a->rta_type == INET_DIAG_SHUTDOWN && RTA_PAYLOAD(a) >= 1)
			w->out->shutdown = *(const uint8_t *)RTA_DATA(a);
	return 0;
}

static int sock_diag(int family, int protocol, ino_t ino, struct diag_info *out)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { sizeof(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
		.r = { .sdiag_family = family, .sdiag_protocol = protocol,
		       .idiag_states = ~0U },
	};
	struct diag_want w = { ino, out };

	memset(out, 0, sizeof(*out));
	if (sock_diag_dump(&req, sizeof(req), diag_one, &w))
		return fail(errno, "sock_diag (CONFIG_INET_DIAG) must be available",
			    "asking sock_diag about socket %lu", (unsigned long)ino);
	return 0;
}

static bool connected(const struct fd_rec *rec);
static bool ended(const struct fd_rec *rec);

/* The address and port of a sockaddr (IPv4 or IPv6) into a diag id half. */
static bool diag_endpoint(const struct blob *b, __be16 *port, __be32 addr[4])
{
	const struct sockaddr *sa = b->data;

	if (!sa || b->len < sizeof(struct sockaddr_in))
		return false;
	if (sa->sa_family == AF_INET6 && b->len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = b->data;
		*port = s6->sin6_port;
		memcpy(addr, &s6->sin6_addr, 16);
		return true;
	}
	if (sa->sa_family != AF_INET)
		return false;
	*port = ((const struct sockaddr_in *)sa)->sin_port;
	addr[0] = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	return true;
}

/* One request about the socket of exactly rec's 4-tuple: SOCK_DIAG_BY_FAMILY
 * (is there one, and does a process hold it?) or SOCK_DESTROY.  1 when the
 * kernel answered with a socket that no file holds, 0 when not, -1 on
 * error. */
static int diag_exact(int nl, int type, const struct fd_rec *rec)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { sizeof(req), type, NLM_F_REQUEST | NLM_F_ACK, 1, 0 },
		.r = { .sdiag_family = rec->sock_domain, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = ~(1U << TCP_LISTEN),
		       .id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	char buf[8192];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n;
	int orphan = 0;

	if (!diag_endpoint(&rec->local_addr, &req.r.id.idiag_sport, req.r.id.idiag_src) ||
	    !diag_endpoint(&rec->peer_addr, &req.r.id.idiag_dport, req.r.id.idiag_dst))
		return 0;
	if (send(nl, &req, sizeof(req), 0) < 0)
		return -1;
	for (;;) {
		n = recv(nl, buf, sizeof(buf), 0);
		if (n <= 0)
			return -1;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR)
				return orphan;		/* the ack, or ENOENT: none */
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				orphan = ((struct inet_diag_msg *)NLMSG_DATA(h))->idiag_inode == 0;
			else if (h->nlmsg_type == NLMSG_DONE)
				return orphan;
		}
	}
}

/* What is left of the connections of the image on this host, when their
 * process was killed after the checkpoint instead of by it: the old
 * sockets of exactly their 4-tuples, in TIME_WAIT or closing, held by no
 * process.  They would take the port from the listener and the tuple from
 * the connection being rebuilt; they are destroyed (sock_diag, as
 * ss -K).  A socket some process still holds is left alone: the bind or
 * connect that follows then fails, naming the address. */
static int clear_leftovers(const struct restore_ctx *ctx, in_port_t port)
{
	const struct image_meta *m = &ctx->meta;
	int nl = -1, ret = 0;
	size_t k;

	for (k = 0; k < m->nfds && !ret; k++) {
		const struct fd_rec *r = &m->fds[k];
		int orphan;

		if (r->kind != FD_TCP || r->share_index || !(connected(r) || ended(r)) ||
		    port_of(&r->local_addr) != port)
			continue;
		if (nl < 0)
			nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		if (nl < 0)
			return fail(errno, NULL, "opening sock_diag");
		orphan = diag_exact(nl, SOCK_DIAG_BY_FAMILY, r);
		if (orphan > 0 && diag_exact(nl, SOCK_DESTROY, r) < 0)
			orphan = -1;
		if (orphan < 0)
			ret = fail(errno, "CONFIG_INET_DIAG_DESTROY must be set",
				   "removing what is left of the old connection of fd %d", r->fd);
		else if (orphan)
			pr_info("fd %d: the old connection's leftover socket removed", r->fd);
	}
	if (nl >= 0)
		close(nl);
	return ret;
}

/* The process shut the writing side down (shutdown(SHUT_WR)): its FIN is
 * in the send queue, acknowledged (FIN_WAIT2) or not. */
static bool our_fin(int state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING ||
	       state == TCP_LAST_ACK;
}

/* The peer's FIN came in: the reading side ends after the queue. */
static bool peer_fin(int state)
{
	return state == TCP_CLOSE_WAIT || state == TCP_CLOSING || state == TCP_LAST_ACK;
}

/* fin: bytes of the ioctl's count that are our FIN, not data. */
static int peek_queue(int s, int queue, struct blob *b, uint32_t *seq, int len_ioctl, int fin)
{
	int len = 0;
	socklen_t sl = sizeof(*seq);

	if (setsockopt(s, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) ||
	    getsockopt(s, SOL_TCP, TCP_QUEUE_SEQ, seq, &sl) || ioctl(s, len_ioctl, &len))
		return fail(errno, NULL, "reading a TCP queue in repair mode");
	len -= fin;
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

/* --kill: the process will not go on; its sockets end in repair mode
 * (fd_tcp_repair_again); from before the connection is frozen until
 * restart rebuilds it, the peer's packets are dropped (no socket would
 * own them: a reset), and ours (nothing of the old socket gets out).
 * Without --kill, the same lock is the hold (--tcp-hold, netlock.h): from
 * before the process resumes until the hold's seconds after the commit
 * (fd_tcp_hold), so that nothing exchanged after the checkpoint makes
 * the image's connections out of date.  Released by
 * fd_tcp_release_repaired (--kill) or fd_tcp_end_hold if the dump fails. */
static bool hold_wanted(const struct dump_ctx *ctx)
{
	return !ctx->opts->kill_after && ctx->opts->tcp_hold_s && !ctx->tcp_hold_off;
}

static bool lock_wanted(const struct dump_ctx *ctx)
{
	return (ctx->opts->kill_after && !ctx->opts->no_tcp_lock) || hold_wanted(ctx);
}

/* The hold is a convenience: without it the dump goes on, said once. */
static void hold_failed(struct dump_ctx *ctx, const char *why)
{
	pr_warn("TCP connections of process %d not held (%s): if it dies now, a restart from "
		"this image cannot continue them", ctx->pid, why);
	error_clear();
	ctx->tcp_hold_off = true;
}

static int lock_tuples(struct dump_ctx *ctx, int fd, const struct netlock_tuple *t, size_t n)
{
	char what[160];
	unsigned lock_s = ctx->opts->tcp_lock_timeout ? ctx->opts->tcp_lock_timeout :
			  NETLOCK_TIMEOUT_DEFAULT;

	ctx->tcp_lock.ns_pid = ctx->pid;
	/* A hold: until the commit retimes it (whatever the dump takes). */
	ctx->tcp_lock.timeout_s = ctx->opts->kill_after ? lock_s : lock_s + ctx->opts->tcp_hold_s;
	if (!netlock_available()) {
		if (!ctx->opts->kill_after) {
			hold_failed(ctx, "nft (nftables) is not installed");
			return 0;
		}
		return fail_why("nft (nftables) is not installed: the peer's packets could not "
				"be kept from resetting it until the restart", "install nftables "
				"(apt-get install nftables), or give --no-tcp-lock to go on "
				"without the lock", "locking the TCP connection of fd %d (%s%s) of "
				"process %d", fd, netlock_describe(t, what, sizeof(what)),
				n > 1 ? ", and the others" : "", ctx->pid);
	}
	if (tcp_guard_tuples(&ctx->tcp_guard, ctx->pid, t, n) ||
	    netlock_add(&ctx->tcp_lock, t, n)) {
		if (ctx->opts->kill_after)
			return -1;
		hold_failed(ctx, error_why());	/* (netlock's hint is --kill's) */
	}
	return 0;
}

static bool locked_already(const struct dump_ctx *ctx, const struct netlock_tuple *t)
{
	size_t i;

	for (i = 0; i < ctx->tcp_lock.n; i++)
		if (!memcmp(&ctx->tcp_lock.t[i], t, sizeof(*t)))
			return true;
	return false;
}

static int lock_connection(struct dump_ctx *ctx, struct fd_rec *rec)
{
	struct netlock_tuple t;

	if (!lock_wanted(ctx))
		return 0;
	if (netlock_tuple(&t, rec->local_addr.data, rec->local_addr.len, rec->peer_addr.data,
			  rec->peer_addr.len))
		return fail_why("its addresses are not those of a TCP/IP connection", NULL,
				"locking the TCP connection of fd %d", rec->fd);
	if (!locked_already(ctx, &t) && lock_tuples(ctx, rec->fd, &t, 1))
		return -1;
	/* (A hold ends by itself soon: restart needs no nft for it.) */
	rec->tcp_locked = ctx->opts->kill_after;
	return 0;
}

/* Before any fd is dumped: every connection of the process locked at
 * once (one nft run, about 15 ms, instead of one per connection while
 * the process is stopped).  One that this misses (in flight, found
 * later) is locked on its own by lock_connection. */
static int collect_tcp(struct dump_ctx *ctx, struct fd_dump **all, size_t *nall)
{
	struct netlock_tuple *t = NULL, *grown;
	size_t i, n = 0;
	int first = -1, ret;

	if (!lock_wanted(ctx))
		return 0;
	for (i = 0; i < *nall; i++) {
		const struct fd_dump *d = &(*all)[i];
		struct sockaddr_storage l, p;
		socklen_t ll = sizeof(l), pl = sizeof(p), il;
		struct tcp_info ti;
		int s;

		if (!is_tcp(d))
			continue;
		s = d->own_fd >= 0 ? dup(d->own_fd) : fd_steal(ctx->pid, d->fd);
		if (s < 0) {
			error_clear();	/* dump_inet says it */
			continue;
		}
		il = sizeof(ti);
		if (!getsockopt(s, SOL_TCP, TCP_INFO, &ti, &il) &&
		    (ti.tcpi_state == TCP_ESTABLISHED || our_fin(ti.tcpi_state) ||
		     peer_fin(ti.tcpi_state)) &&
		    !getsockname(s, (struct sockaddr *)&l, &ll) &&
		    !getpeername(s, (struct sockaddr *)&p, &pl) &&
		    (grown = realloc(t, (n + 1) * sizeof(*t)))) {
			t = grown;
			if (!netlock_tuple(&t[n], &l, ll, &p, pl)) {
				if (first < 0)
					first = d->fd;
				n++;
			}
		}
		close(s);
	}
	ret = n ? lock_tuples(ctx, first, t, n) : 0;
	free(t);
	return ret;
}

static int repair_established(struct dump_ctx *ctx, int s, struct fd_rec *rec)
{
	struct tcp_info ti;
	struct tcp_repair_window win;
	socklen_t len;
	uint32_t seq;
	struct repaired_socket r = { .fd = s }, *grown;
	socklen_t rlen = sizeof(r.reuse);
	int on = 1, unsent = 0;
	/* Our FIN takes a sequence number, counted by SIOCOUTQ until it is
	 * acknowledged (not in FIN_WAIT2), by SIOCOUTQNSD until it is sent. */
	bool fin = our_fin(rec->sock_state);
	int fin_in_outq = fin && rec->sock_state != TCP_FIN_WAIT2;

	if (lock_connection(ctx, rec))
		return -1;
	if (getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &r.reuse, &rlen))
		return fail(errno, NULL, "reading SO_REUSEADDR of fd %d", rec->fd);
	/* From now on it must leave repair mode (or die in it): keep it,
	 * and give it to the guard, which takes it out if we die. */
	grown = realloc(ctx->repaired, (ctx->nrepaired + 1) * sizeof(*grown));
	if (!grown)
		return fail(ENOMEM, NULL, "freezing TCP connections");
	ctx->repaired = grown;
	if (tcp_guard_socket(&ctx->tcp_guard, ctx->pid, &r))
		return -1;
	if (setsockopt(s, SOL_TCP, TCP_REPAIR, &on, sizeof(on)))
		return fail(errno, "TCP_REPAIR needs CAP_NET_ADMIN: run ckpt as root",
			    "freezing the TCP connection of fd %d", rec->fd);
	ctx->repaired[ctx->nrepaired++] = r;
	if (peek_queue(s, TCP_SEND_QUEUE, &rec->outq, &seq, SIOCOUTQ, fin_in_outq))
		return -1;
	rec->snd_seq = seq - fin;	/* after the data */
	if (ioctl(s, SIOCOUTQNSD, &unsent))
		return fail(errno, NULL, "reading the TCP send queue of fd %d", rec->fd);
	rec->unsent_len = unsent > 0 ? unsent - (fin_in_outq ? 1 : 0) : 0;
	if (rec->unsent_len > rec->outq.len)
		return fail_why("the TCP send queue changed while it was read", NULL,
				"checking fd %d", rec->fd);
	/* The peer's FIN is not in SIOCINQ (nor in the bytes); rcv_seq counts
	 * it, the restored queue ends there. */
	if (peek_queue(s, TCP_RECV_QUEUE, &rec->inq, &seq, SIOCINQ, 0))
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
	/* Out of repair mode now, not when the process resumes or ends: in
	 * it for microseconds, not for the whole freeze, so that if ckpt
	 * dies the process the kernel lets go reads its sockets as before
	 * (a read in repair mode fails).  With --kill, the lock drops every
	 * packet meanwhile (nothing the image lacks is received and
	 * acknowledged), and fd_tcp_repair_again puts it back in repair mode
	 * once the image is committed, before the process is killed; without
	 * the lock (--no-tcp-lock) it stays in repair mode. */
	if (ctx->opts->kill_after && !lock_wanted(ctx))
		return 0;
	if (tcp_repair_leave(&r))
		return fail(errno, NULL, "leaving TCP repair mode on fd %d", rec->fd);
	if (!ctx->opts->kill_after)
		ctx->nrepaired--;	/* (s is closed by the caller) */
	return 0;
}

void fd_tcp_repair_again(struct dump_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nrepaired; i++)	/* (idempotent: --no-tcp-lock) */
		if (tcp_repair_enter(&ctx->repaired[i]))
			pr_warn("process %d: a TCP connection could not be put in repair mode "
				"again (%s): its end will send the peer a FIN", ctx->pid,
				strerror(errno));
}

static const char *tcp_state_name(int state)
{
	static const char *const names[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV",
		"FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING" };
	return state > 0 && state < 12 ? names[state] : "?";
}

/* The peer of a connected ping socket, from its /proc/net/icmp[6] line
 * (getpeername says ENOTCONN: a ping peer has no port). */
static int ping_peer(const char *rem, int domain, struct blob *peer)
{
	if (domain == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		unsigned addr;
		if (sscanf(rem, "%8X", &addr) != 1)
			return -1;
		a.sin_addr.s_addr = addr;	/* printed as the raw 32 bits */
		return blob_set(peer, &a, sizeof(a));
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
		unsigned w[4];
		int i;
		if (sscanf(rem, "%8X%8X%8X%8X", &w[0], &w[1], &w[2], &w[3]) != 4)
			return -1;
		for (i = 0; i < 4; i++)
			a.sin6_addr.s6_addr32[i] = w[i];
		return blob_set(peer, &a, sizeof(a));
	}
}

/* sock_diag knows no ping sockets (nor raw ones, without the raw_diag
 * module): /proc/PID/net/icmp lists the bound ones with their peer and
 * receive queue, /proc/PID/net/raw every raw socket.  The shutdown of the
 * reading side is told by poll; that of the writing side by nothing (it
 * is not kept). */
static int proc_net_info(pid_t pid, const struct fd_dump *d, int s, struct fd_rec *rec,
			 struct diag_info *out)
{
	struct pollfd p = { s, POLLRDHUP, 0 };
	const char *table = is_raw(d) ? (d->sock_domain == AF_INET ? "net/raw" : "net/raw6")
				      : (d->sock_domain == AF_INET ? "net/icmp" : "net/icmp6");
	char *text, *line;
	size_t len;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (procfs_read(pid, table, &text, &len))
		return -1;
	for (line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		unsigned long inode = 0;
		unsigned rx = 0, st = 0;
		char rem[64];
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line + 1, "%*s %*s %63s %x %*x:%x %*s %*s %*s %*s %lu", rem, &st, &rx,
			   &inode) != 4 || inode != d->st.st_ino)
			continue;
		out->rqueue = rx;
		if (st == TCP_ESTABLISHED && !rec->peer_addr.len &&
		    ping_peer(rem, d->sock_domain, &rec->peer_addr))
			ret = fail_why("unexpected line", NULL, "reading %s for fd %d", table, d->fd);
	}
	free(text);
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP))
		out->shutdown = SHUT_RD_BIT;
	out->found = true;	/* not listed: never bound, nothing queued */
	return ret;
}

static int dump_udp_state(const struct fd_dump *d, int s, const struct diag_info *di)
{
	int inq = 0, outq = 0;

	/* Data held back by UDP_CORK or MSG_MORE, not sent yet. */
	if (!ioctl(s, SIOCOUTQ, &outq) && outq > 0)
		return fail_why("data is corked on it (UDP_CORK or MSG_MORE), not sent yet",
				"saving corked datagrams is not supported; checkpoint when it "
				"is uncorked", "checking fd %d (%s)", d->fd, d->link);

	/* SIOCINQ: the size of the next datagram; sock_diag: all of them. */
	if (ioctl(s, SIOCINQ, &inq))
		inq = 0;
	/* A raw socket gets a copy of every packet of its protocol the host
	 * receives: those waiting are dropped, as the network may drop any. */
	if ((di->rqueue || inq) && d->sock_type == SOCK_RAW) {
		pr_warn("fd %d (%s): %u bytes of packets queued on the raw socket are dropped "
			"(read by no one, as if lost on the network)", d->fd, d->link,
			di->rqueue ? di->rqueue : (unsigned)inq);
		return 0;
	}
	if (di->rqueue || inq)
		return fail_why("datagrams are queued on it", "saving queued datagrams of UDP "
				"and ping sockets is not supported (restart could not resend them "
				"from their senders' addresses); checkpoint when the queue is empty",
				"checking fd %d (%s)", d->fd, d->link);
	return 0;
}

static int dump_tcp_state(struct dump_ctx *ctx, const struct fd_dump *d, int s,
			  struct fd_rec *rec, const struct diag_info *di)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(s, SOL_TCP, TCP_INFO, &ti, &len))
		return fail(errno, NULL, "reading TCP_INFO of fd %d", d->fd);
	rec->sock_state = ti.tcpi_state;
	switch (ti.tcpi_state) {
	case TCP_LISTEN:
		rec->backlog = di->found ? di->wqueue : SOMAXCONN;
		/* As for unix listeners: a busy server is not refused for it. */
		if (di->rqueue)
			pr_warn("fd %d (%s): %u connections not yet accepted will be lost (their "
				"clients see a reset)", d->fd, d->link, di->rqueue);
		return 0;
	case TCP_CLOSE:			/* new, bound, or connected and reset */
		return 0;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:		/* the peer closed; the process did not yet */
	case TCP_FIN_WAIT1:		/* the process shut down writing (SHUT_WR) */
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:		/* both */
	case TCP_LAST_ACK:
		return repair_established(ctx, s, rec);
	default:
		return fail_why("TCP connections in this state are not supported yet",
				"checkpoint when the connection is established or closed",
				"checking fd %d (%s, state %s)", d->fd, d->link,
				tcp_state_name(ti.tcpi_state));
	}
}

/* A connection that ended (both FINs, or a reset) while the process
 * keeps its fd: TCP_CLOSE, out of every hash table, but it still has
 * its two addresses (SO_PEERNAME tells the peer's when getpeername says
 * ENOTCONN), reads end of file and writes fail with EPIPE.  1 and the
 * peer's address in rec when it is one, 0 when not, -1 on error. */
static int closed_connection(int s, struct fd_rec *rec)
{
	struct sockaddr_storage ss;
	const struct sockaddr *local = rec->local_addr.data;
	/* SO_PEERNAME wants the exact size of the address. */
	socklen_t len = local && local->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							      : sizeof(struct sockaddr_in);
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);

	if (getsockopt(s, SOL_TCP, TCP_INFO, &ti, &tl) || ti.tcpi_state != TCP_CLOSE ||
	    rec->peer_addr.len || getsockopt(s, SOL_SOCKET, SO_PEERNAME, &ss, &len) ||
	    !port_of(&rec->local_addr))
		return 0;
	return blob_set(&rec->peer_addr, &ss, len) ? -1 : 1;
}

static int dump_inet(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct diag_info di;
	int s = fd_steal(ctx->live, d->fd), ret = -1;

	if (s < 0)
		return -1;
	rec->sock_domain = d->sock_domain;
	rec->sock_type = d->sock_type;
	rec->sock_protocol = d->sock_protocol;
	if (sockopts_dump(ctx, s, d->fd, d->sock_domain, d->sock_type, d->sock_protocol) ||
	    save_addr(&rec->local_addr, s, false) || save_addr(&rec->peer_addr, s, true) ||
	    (is_ping(d) || is_raw(d) ? proc_net_info(ctx->live, d, s, rec, &di)
				     : sock_diag(d->sock_domain, d->sock_protocol, d->st.st_ino, &di)))
		goto out;
	if (!di.found) {
		/* Not hashed (never bound, or a connection that ended): sock_diag
		 * does not list it, poll tells at least a shutdown of the
		 * reading side. */
		struct pollfd p = { s, POLLRDHUP, 0 };
		int closed = d->sock_type == SOCK_STREAM ? closed_connection(s, rec) : 0;
		if (closed < 0)
			goto out;
		if (port_of(&rec->local_addr) && !closed) {
			fail_why("sock_diag does not know the socket", "the socket must be in "
				 "the network namespace of ckpt", "checking fd %d (%s)", d->fd,
				 d->link);
			goto out;
		}
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP))
			di.shutdown = SHUT_RD_BIT;
		if (closed)	/* the kernel shut both sides when it ended */
			di.shutdown = SHUT_RD_BIT | SHUT_WR_BIT;
	}
	rec->shutdown = di.shutdown & 3;
	ret = d->sock_type == SOCK_STREAM ? dump_tcp_state(ctx, d, s, rec, &di)
					  : dump_udp_state(d, s, &di);
	if (ctx->nrepaired && ctx->repaired[ctx->nrepaired - 1].fd == s)
		return ret;	/* s is in ctx->repaired now: closed with them */
out:
	close(s);
	return ret;
}

void fd_tcp_release_repaired(struct dump_ctx *ctx, bool killed)
{
	size_t i;

	for (i = 0; i < ctx->nrepaired; i++) {
		if (!killed)
			tcp_repair_leave(&ctx->repaired[i]);
		close(ctx->repaired[i].fd);
	}
	/* Killed: the lock stays for restart (or its timeout); else the
	 * connections, out of repair mode, live again, unless they are held
	 * (until the commit: fd_tcp_hold, or the end: fd_tcp_end_hold). */
	if (killed)
		netlock_forget(&ctx->tcp_lock);
	else if (ctx->opts->kill_after)
		netlock_release(&ctx->tcp_lock);
	if (!ctx->tcp_lock.n)
		tcp_guard_tcp_done(&ctx->tcp_guard);	/* nothing left for it to undo */
	free(ctx->repaired);
	ctx->repaired = NULL;
	ctx->nrepaired = 0;
}

/* Restored through TCP_REPAIR. */
static bool connected(const struct fd_rec *rec)
{
	return rec->sock_state == TCP_ESTABLISHED || our_fin(rec->sock_state) ||
	       peer_fin(rec->sock_state);
}

/* A connection that had ended (closed_connection): no packet of it will
 * ever be sent again. */
static bool ended(const struct fd_rec *rec)
{
	return rec->kind == FD_TCP && rec->sock_state == TCP_CLOSE && rec->peer_addr.len;
}

static bool valid_protocol(const struct fd_rec *rec)
{
	if (rec->kind == FD_TCP)
		return rec->sock_type == SOCK_STREAM &&
		       (!rec->sock_protocol || rec->sock_protocol == IPPROTO_TCP);
	if (rec->kind == FD_PING)
		return rec->sock_type == SOCK_DGRAM &&
		       rec->sock_protocol == (rec->sock_domain == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (rec->kind == FD_RAW)
		return rec->sock_type == SOCK_RAW && rec->sock_protocol >= 0 &&
		       rec->sock_protocol < IPPROTO_MAX;	/* (up to IPPROTO_MPTCP) */
	return rec->sock_type == SOCK_DGRAM && (!rec->sock_protocol ||
		rec->sock_protocol == IPPROTO_UDP || rec->sock_protocol == IPPROTO_UDPLITE);
}

static int check_inet(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	if ((rec->sock_domain != AF_INET && rec->sock_domain != AF_INET6) ||
	    !valid_protocol(rec) || rec->shutdown > 3 || rec->tcp_locked > 1 ||
	    rec->local_addr.len > sizeof(struct sockaddr_storage) ||
	    rec->peer_addr.len > sizeof(struct sockaddr_storage) ||
	    (ended(rec) && rec->shutdown != (SHUT_RD_BIT | SHUT_WR_BIT)) ||
	    (connected(rec) &&
	     (!rec->peer_addr.len || rec->unsent_len > rec->outq.len ||
	      ((rec->shutdown & SHUT_WR_BIT) && !our_fin(rec->sock_state)))))
		return fail_why("invalid socket record", "the image is corrupted",
				"checking fd %d", rec->fd);
	return sockopts_check(ctx, rec);
}

/* Raise a buffer (with SO_*BUFFORCE: restart has CAP_NET_ADMIN for
 * TCP_REPAIR) so that a queue refilled in repair mode fits; finish_inet
 * gives it its size back. */
static int grow_buffer(int s, int opt, int force, size_t need)
{
	int now = 0, want;
	socklen_t len = sizeof(now);

	if (getsockopt(s, SOL_SOCKET, opt, &now, &len))
		return -1;
	want = now + (int)(need < (1u << 28) ? need : 1u << 28) + 65536;
	return setsockopt(s, SOL_SOCKET, force, &want, sizeof(want));
}

/* Once the queues are in and the unsent data is sent, a buffer is given
 * the size it had at dump: the recorded one, or a new socket's. */
static int settle_buffer(struct fd_child *c, int s, const struct fd_rec *rec, const char *name,
			 int opt, int force)
{
	int now = 0, half;
	int64_t want = 0;
	socklen_t len = sizeof(now);

	if (!sockopts_find(c->ctx, rec->fd, name, &want)) {
		int fresh = socket(rec->sock_domain, rec->sock_type | SOCK_CLOEXEC, rec->sock_protocol);
		int def = 0;
		if (fresh < 0 || getsockopt(fresh, SOL_SOCKET, opt, &def, &len)) {
			if (fresh >= 0)
				close(fresh);
			return fail(errno, NULL, "reading the default %s", name);
		}
		close(fresh);
		want = def;
		len = sizeof(now);
	}
	if (getsockopt(s, SOL_SOCKET, opt, &now, &len))
		return fail(errno, NULL, "reading %s of fd %d", name, rec->fd);
	if (now == want)
		return 0;
	half = (int)(want / 2);
	if (setsockopt(s, SOL_SOCKET, force, &half, sizeof(half)))
		return fail(errno, NULL, "restoring %s of fd %d", name, rec->fd);
	return 0;
}

/* Refill a queue in repair mode: nothing is transmitted.  A queue that
 * does not fit the buffer the new socket has gets the buffer grown. */
static int refill_queue(int s, const void *data, size_t len, bool recvq,
			const struct fd_rec *rec)
{
	size_t done = 0;
	int tries = 0;

	while (done < len) {
		ssize_t n = send(s, (const char *)data + done, len - done, MSG_DONTWAIT);
		if (n >= 0) {
			done += n;
			continue;
		}
		if ((errno != EAGAIN && errno != ENOMEM) || ++tries > 8 ||
		    grow_buffer(s, recvq ? SO_RCVBUF : SO_SNDBUF,
				recvq ? SO_RCVBUFFORCE : SO_SNDBUFFORCE, len - done))
			return fail(errno, NULL, "refilling the TCP %s queue of fd %d (%zu of %zu bytes)",
				    recvq ? "receive" : "send", rec->fd, done, len);
	}
	return 0;
}

static int restore_established(struct fd_child *c, int s, const struct fd_rec *rec)
{
	int on = 1, q;
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
	/* In repair mode the port is taken even if a listener (or another
	 * connection) of the process holds it, as it did. */
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
	/* The connection has its buffers sized by the kernel now: sizes the
	 * process had set (or the kernel had grown) go on top. */
	if (sockopts_restore(c, s, rec, SOCKOPTS_BUFFERS))
		return -1;
	/* Sent but not acknowledged data goes back into the send queue, and
	 * received data into the receive queue, both without transmitting. */
	if (sent_len && refill_queue(s, rec->outq.data, sent_len, false, rec))
		return -1;
	q = TCP_RECV_QUEUE;
	if (rec->inq.len && (setsockopt(s, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
			     refill_queue(s, rec->inq.data, rec->inq.len, true, rec)))
		return -1;
	if (rec->window.len == sizeof(struct tcp_repair_window) &&
	    setsockopt(s, SOL_TCP, TCP_REPAIR_WINDOW, rec->window.data, rec->window.len))
		return fail(errno, NULL, "restoring the TCP window of fd %d", rec->fd);
	/* A FIN that was sent: queued again as sent, in repair mode (if the
	 * peer had acknowledged it, it acknowledges the retransmission). */
	q = TCP_SEND_QUEUE;	/* what is "sent" in repair mode is not transmitted */
	if (our_fin(rec->sock_state) && !rec->unsent_len &&
	    (setsockopt(s, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) || shutdown(s, SHUT_WR)))
		return fail(errno, NULL, "shutting down the writing side of fd %d", rec->fd);
	/* It leaves repair mode in finish_inet, once every fd exists: its
	 * peer may be one of them, not there yet. */
	return 0;
}

/* An ended connection comes back as it was: TCP_CLOSE with both its
 * addresses (getsockname, SO_PEERNAME), both sides shut (reads see end
 * of file, writes EPIPE), no error pending.  Connected in repair mode
 * (nothing sent), then aborted (SOCK_DESTROY, as ss -K: the kernel's end
 * of a connection, which keeps the addresses); the abort's reset goes to
 * a peer that had closed or reset the connection already. */
static int restore_ended(struct fd_child *c, int s, const struct fd_rec *rec)
{
	int on = 1, off = 0, err = 0, nl, gone;
	socklen_t len = sizeof(err);

	if (setsockopt(s, SOL_TCP, TCP_REPAIR, &on, sizeof(on)))
		return fail(errno, "TCP_REPAIR needs CAP_NET_ADMIN: run restart as root, or "
			    "use --tcp-close", "rebuilding the ended TCP connection of fd %d",
			    rec->fd);
	if (bind(s, rec->local_addr.data, rec->local_addr.len) ||
	    connect(s, rec->peer_addr.data, rec->peer_addr.len))
		return fail(errno, "the address must exist on this host, or use --tcp-close",
			    "rebuilding the ended TCP connection of fd %d", rec->fd);
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	gone = nl < 0 ? -1 : diag_exact(nl, SOCK_DESTROY, rec);
	if (nl >= 0)
		close(nl);
	if (gone < 0)
		return fail(errno, "CONFIG_INET_DIAG_DESTROY must be set",
			    "ending the TCP connection of fd %d again", rec->fd);
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) ||
	    setsockopt(s, SOL_TCP, TCP_REPAIR, &off, sizeof(off)))
		return fail(errno, NULL, "ending the TCP connection of fd %d again", rec->fd);
	/* Leaving repair mode cleared SO_REUSEADDR. */
	return sockopts_restore(c, s, rec, SOCKOPTS_AFTER_REPAIR);
}

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72		/* Linux 5.14 */
#endif

/* A connection whose buffer sizes the process never set (no SO_BUF_LOCK
 * record: 0, the kernel sizes both) gets that back after settle_buffer
 * set them; one with a record gets it from SOCKOPTS_LAST. */
static int unlock_buffers(struct fd_child *c, int s, const struct fd_rec *rec)
{
	int64_t want = 0;
	int none = 0;

	if (sockopts_find(c->ctx, rec->fd, "SO_BUF_LOCK", &want))
		return 0;
	if (setsockopt(s, SOL_SOCKET, SO_BUF_LOCK, &none, sizeof(none)) && errno != ENOPROTOOPT)
		return fail(errno, NULL, "letting the kernel size the buffers of fd %d again", rec->fd);
	return 0;
}

/* What was never sent is sent now, as the process would have (the peer
 * takes it when its window opens).  The buffer may have to grow for it
 * too: the restored queue is not packed as the kernel had packed it. */
static int send_unsent(int s, const void *data, size_t len, const struct fd_rec *rec)
{
	size_t done = 0;
	int tries = 0;

	while (done < len) {
		ssize_t n = send(s, (const char *)data + done, len - done, MSG_DONTWAIT);
		if (n >= 0) {
			done += n;
			continue;
		}
		if (errno != EAGAIN || ++tries > 8 ||
		    grow_buffer(s, SO_SNDBUF, SO_SNDBUFFORCE, len - done))
			return fail(errno, NULL, "sending the unsent data of fd %d (%zu of %zu bytes)",
				    rec->fd, done, len);
	}
	return 0;
}

/* Out of repair mode, on s (the process's socket, or restart's copy of
 * it).  Leaving repair mode sends a window probe: a peer that does not
 * exist yet would answer it with a reset. */
static int leave_repair(struct fd_child *c, int s, const struct fd_rec *rec)
{
	int off = 0;

	if (rec->kind != FD_TCP || !connected(rec) || c->ctx->opts->tcp_close)
		return 0;
	if (setsockopt(s, SOL_TCP, TCP_REPAIR, &off, sizeof(off)))
		return fail(errno, NULL, "leaving TCP repair mode on fd %d", rec->fd);
	/* Leaving repair mode cleared SO_REUSEADDR. */
	if (sockopts_restore(c, s, rec, SOCKOPTS_AFTER_REPAIR))
		return -1;
	/* CLOSE_WAIT: the peer's FIN is counted in the sequence numbers; the
	 * connection comes back established with its reading side shut, so
	 * reads return what is queued, then end of file, as they would. */
	if (((rec->shutdown & SHUT_RD_BIT) || peer_fin(rec->sock_state)) &&
	    shutdown(s, SHUT_RD)) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);
		int err = errno;
		if (getsockopt(s, SOL_TCP, TCP_INFO, &ti, &len))
			ti.tcpi_state = 0;
		return fail(err, NULL, "shutting down the reading side of fd %d (state %s)",
			    rec->fd, tcp_state_name(ti.tcpi_state));
	}
	if (rec->unsent_len && send_unsent(s, (char *)rec->outq.data +
					   (rec->outq.len - rec->unsent_len), rec->unsent_len, rec))
		return -1;
	/* A FIN never sent goes after the data never sent, as it would. */
	if (our_fin(rec->sock_state) && rec->unsent_len && shutdown(s, SHUT_WR))
		return fail(errno, NULL, "shutting down the writing side of fd %d", rec->fd);
	/* Buffers grown to take the queues back go to their size (the queue
	 * then may be above it, as it was); setting a size locked it, so the
	 * kernel sizes again those it sized (SO_BUF_LOCK as it was). */
	if (settle_buffer(c, s, rec, "SO_SNDBUF", SO_SNDBUF, SO_SNDBUFFORCE) ||
	    settle_buffer(c, s, rec, "SO_RCVBUF", SO_RCVBUF, SO_RCVBUFFORCE) ||
	    unlock_buffers(c, s, rec))
		return -1;
	return sockopts_restore(c, s, rec, SOCKOPTS_LAST);
}

/* rec, without SO_REUSEPORT now, shares its port with a socket of the
 * process that has it: both had it when they were bound (rec's was
 * cleared after), so rec is bound with it, then loses it in finish_inet,
 * once the other is bound too. */
static bool reuseport_for_bind(const struct restore_ctx *ctx, const struct fd_rec *rec)
{
	in_port_t port = port_of(&rec->local_addr);
	int64_t on = 0;
	size_t k;

	if (!port || (sockopts_find(ctx, rec->fd, "SO_REUSEPORT", &on) && on))
		return false;
	for (k = 0; k < ctx->meta.nfds; k++) {
		const struct fd_rec *o = &ctx->meta.fds[k];

		if (o != rec && o->kind == rec->kind && o->sock_domain == rec->sock_domain &&
		    !o->share_index && port_of(&o->local_addr) == port &&
		    sockopts_find(ctx, o->fd, "SO_REUSEPORT", &on) && on)
			return true;
	}
	return false;
}

/* In the child: only a socket in flight (it is in a unix socket's queue,
 * not in the table, after exec); the others leave repair mode in
 * finish_tree.  A socket bound with SO_REUSEPORT for a moment loses it. */
static int finish_inet(struct fd_child *c, const struct fd_rec *rec)
{
	/* (What open_unconnected bound: not a connection rebuilt.) */
	bool unconnected = rec->kind != FD_TCP ||
			   !(connected(rec) || (ended(rec) && !c->ctx->opts->tcp_close));
	int off = 0;

	if (unconnected && reuseport_for_bind(c->ctx, rec) &&
	    setsockopt(rec->fd, SOL_SOCKET, SO_REUSEPORT, &off, sizeof(off)))
		return fail(errno, NULL, "clearing SO_REUSEPORT of socket fd %d", rec->fd);
	return rec->inflight ? leave_repair(c, rec->fd, rec) : 0;
}

/* Its address is not on this host (EADDRNOTAVAIL): the process may have
 * bound it with IP_FREEBIND (or IPV6_FREEBIND) it cleared since; bound so
 * again, it gets back the value it had, and a warning says it. */
static int bind_freely(int s, const struct fd_rec *rec)
{
	int level = rec->sock_domain == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	int opt = rec->sock_domain == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND;
	int was = 0, on = 1;
	socklen_t len = sizeof(was);

	if (getsockopt(s, level, opt, &was, &len) || was ||
	    setsockopt(s, level, opt, &on, sizeof(on)))
		return -1;
	if (bind(s, rec->local_addr.data, rec->local_addr.len)) {
		int err = errno;

		if (setsockopt(s, level, opt, &was, sizeof(was)))
			return -1;
		errno = err;
		return -1;
	}
	pr_warn("fd %d: its address is not on this host: bound with %s, as the process may "
		"have bound it (it gets no packet until the address is added here)", rec->fd,
		rec->sock_domain == AF_INET6 ? "IPV6_FREEBIND" : "IP_FREEBIND");
	return setsockopt(s, level, opt, &was, sizeof(was));
}

/* In restart, once every process of the tree holds all its fds: the peer
 * of a connection between two processes of the tree exists now. */
static int finish_inet_tree(struct fd_child *c, int s, const struct fd_rec *rec)
{
	return rec->inflight ? 0 : leave_repair(c, s, rec);
}

/* A socket to bind may share its port with connections of the process
 * (restored in repair mode, which takes any port), or find the old
 * process's connections still in TIME_WAIT: it binds (and listens) with
 * SO_REUSEADDR set, then gets back the value the process had. */
static int open_unconnected(struct fd_child *c, int s, const struct fd_rec *rec)
{
	int how = (rec->shutdown & SHUT_RD_BIT ? 1 : 0) + (rec->shutdown & SHUT_WR_BIT ? 2 : 0);
	int reuse = 0, on = 1;
	socklen_t len = sizeof(reuse);

	if (port_of(&rec->local_addr)) {
		if (getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, &len) ||
		    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
		    (reuseport_for_bind(c->ctx, rec) &&
		     setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on))))
			return fail(errno, NULL, "binding socket fd %d", rec->fd);
		if (bind(s, rec->local_addr.data, rec->local_addr.len) &&
		    (errno != EADDRNOTAVAIL || bind_freely(s, rec)))
			return fail(errno, "the address must be free and exist on this host",
				    "binding socket fd %d", rec->fd);
	}
	if (rec->sock_type == SOCK_STREAM && rec->sock_state == TCP_LISTEN &&
	    listen(s, rec->backlog))
		return fail(errno, NULL, "listening on socket fd %d", rec->fd);
	if (!reuse && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse)))
		return fail(errno, NULL, "restoring SO_REUSEADDR of socket fd %d", rec->fd);
	if (rec->sock_type != SOCK_STREAM && rec->peer_addr.len &&
	    connect(s, rec->peer_addr.data, rec->peer_addr.len))
		return fail(errno, NULL, "connecting socket fd %d", rec->fd);
	/* SHUT_RD is 0, SHUT_WR 1, SHUT_RDWR 2.  An unconnected socket says
	 * ENOTCONN but keeps the shutdown, as it did for the process. */
	if (how && shutdown(s, how - 1) && errno != ENOTCONN)
		return fail(errno, NULL, "restoring the shutdown of socket fd %d", rec->fd);
	return 0;
}

static int open_inet(struct fd_child *c, const struct fd_rec *rec)
{
	int s = socket(rec->sock_domain, rec->sock_type, rec->sock_protocol);
	bool established = rec->kind == FD_TCP && connected(rec);

	if (s < 0)
		return fail(errno, rec->kind == FD_PING && errno == EACCES ? "the group of the "
			    "process must be in net.ipv4.ping_group_range" :
			    rec->kind == FD_RAW && errno == EPERM ? "a raw socket needs "
			    "CAP_NET_RAW: run restart as root" : NULL,
			    "recreating socket fd %d", rec->fd);
	if (rec->kind == FD_TCP && port_of(&rec->local_addr) &&
	    (established || ended(rec) || rec->sock_state == TCP_LISTEN) &&
	    clear_leftovers(c->ctx, port_of(&rec->local_addr)))
		goto err;
	if (sockopts_restore(c, s, rec, SOCKOPTS_EARLY |
			     (established ? 0 : SOCKOPTS_BUFFERS | SOCKOPTS_LAST)))
		goto err;
	if (established) {
		/* --tcp-close: an unconnected socket; the program's next read or
		 * write fails, and poll reports a hang-up, as after a reset. */
		if (!c->ctx->opts->tcp_close && restore_established(c, s, rec))
			goto err;
	} else if (ended(rec) && !c->ctx->opts->tcp_close) {
		if (restore_ended(c, s, rec))
			goto err;
	} else if (open_unconnected(c, s, rec)) {
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

/* The connections of the process, as netlock.h takes them; *n of them. */
void fd_tcp_hold(struct dump_ctx *ctx)
{
	size_t n = ctx->tcp_lock.n;

	if (ctx->opts->kill_after || !n)
		return;
	if (netlock_retime(&ctx->tcp_lock, ctx->opts->tcp_hold_s)) {
		pr_warn("%s: the connections stay held until the lock's timeout", error_text());
		error_clear();
	} else {
		pr_info("%zu TCP connection%s of process %d held for %u s (until a restart ends "
			"the hold)", n, n == 1 ? "" : "s", ctx->pid, ctx->opts->tcp_hold_s);
	}
	netlock_forget(&ctx->tcp_lock);
	tcp_guard_tcp_done(&ctx->tcp_guard);
}

void fd_tcp_end_hold(struct dump_ctx *ctx)
{
	if (ctx->opts->kill_after || !ctx->tcp_lock.n)
		return;
	netlock_release(&ctx->tcp_lock);	/* no image: they go on now */
	tcp_guard_tcp_done(&ctx->tcp_guard);
}

const struct fd_kind_ops fd_tcp_kind = {
	.kind = FD_TCP,
	.name = "TCP socket",
	.tag = "tcp",
	.match = is_tcp,
	.dump = dump_inet,
	.check = check_inet,
	.open = open_inet,
	.finish = finish_inet,
	.finish_tree = finish_inet_tree,
	.collect = collect_tcp,
};
const struct fd_kind_ops fd_udp_kind = {
	.kind = FD_UDP,
	.name = "UDP socket",
	.tag = "udp",
	.match = is_udp,
	.dump = dump_inet,
	.check = check_inet,
	.open = open_inet,
	.finish = finish_inet,
};
const struct fd_kind_ops fd_raw_kind = {
	.kind = FD_RAW,
	.name = "raw IP socket",
	.tag = "raw",
	.match = is_raw,
	.dump = dump_inet,
	.check = check_inet,
	.open = open_inet,
};
const struct fd_kind_ops fd_ping_kind = {
	.kind = FD_PING,
	.name = "ICMP (ping) socket",
	.tag = "ping",
	.match = is_ping,
	.dump = dump_inet,
	.check = check_inet,
	.open = open_inet,
};

/* restart: the 4-tuples of the connections of m rebuilt in repair mode
 * (each once), for the network lock; *by_ckpt set if ckpt --kill had
 * locked any of them. */
int fd_tcp_lock_tuples(const struct image_meta *m, struct netlock_tuple **out, size_t *n,
		       bool *by_ckpt)
{
	size_t k, j;

	for (k = 0; k < m->nfds; k++) {
		const struct fd_rec *r = &m->fds[k];
		struct netlock_tuple t, *grown;

		if (r->kind != FD_TCP || r->share_index || r->tree_pid || !connected(r) ||
		    netlock_tuple(&t, r->local_addr.data, r->local_addr.len, r->peer_addr.data,
				  r->peer_addr.len))
			continue;
		if (r->tcp_locked)
			*by_ckpt = true;
		for (j = 0; j < *n && memcmp(&(*out)[j], &t, sizeof(t)); j++)
			;
		if (j < *n)
			continue;
		if (!(grown = realloc(*out, (*n + 1) * sizeof(*grown))))
			return fail(ENOMEM, NULL, "locking TCP connections");
		*out = grown;
		(*out)[(*n)++] = t;
	}
	return 0;
}
