/* Unix sockets.
 *   pairs with both ends in the process (socketpair, or connected to
 *     itself): re-created as a socketpair with each end's queued bytes
 *     (stream sockets) written back from the other end;
 *   listening sockets bound to a path or an abstract name: bound again
 *     (a stale socket file left at the path is removed) and listening;
 *   bound or unbound unconnected sockets;
 *   connected to a peer outside the process: refused, unless ckpt
 *     --ext-unix, in which case restart connects again to the peer's path.
 * Peers, names and queue lengths come from sock_diag (NETLINK_SOCK_DIAG). */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct unix_info {
	uint32_t peer;
	uint32_t rqueue, wqueue;	/* listening: backlog in wqueue */
	int state;
	struct sockaddr_un name;
	socklen_t name_len;
};

static bool is_unix(const struct fd_dump *d)
{
	return d->sock_domain == AF_UNIX;
}

/* Ask sock_diag about one unix socket, by inode. */
static int unix_diag(uint32_t ino, struct unix_info *ui)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req = {
		.nlh = { sizeof(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0 },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = ino,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN,
		       .udiag_cookie = { ~0u, ~0u } },
	};
	char buf[8192];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	ssize_t n;

	memset(ui, 0, sizeof(*ui));
	if (nl < 0)
		return fail(errno, NULL, "opening sock_diag");
	if (send(nl, &req, sizeof(req), 0) < 0 || (n = recv(nl, buf, sizeof(buf), 0)) <= 0) {
		close(nl);
		return fail(errno, NULL, "asking sock_diag about unix socket %u", ino);
	}
	close(nl);
	if (!NLMSG_OK(h, n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return fail_why("no answer", "the socket may have been closed meanwhile",
				"asking sock_diag about unix socket %u", ino);
	{
		struct unix_diag_msg *m = NLMSG_DATA(h);
		struct rtattr *a = (struct rtattr *)(m + 1);
		int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

		ui->state = m->udiag_state;
		ui->name.sun_family = AF_UNIX;
		ui->name_len = offsetof(struct sockaddr_un, sun_path);
		for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			size_t plen = RTA_PAYLOAD(a);
			if (a->rta_type == UNIX_DIAG_PEER)
				memcpy(&ui->peer, RTA_DATA(a), sizeof(ui->peer));
			else if (a->rta_type == UNIX_DIAG_RQLEN) {
				struct unix_diag_rqlen *q = RTA_DATA(a);
				ui->rqueue = q->udiag_rqueue;
				ui->wqueue = q->udiag_wqueue;
			} else if (a->rta_type == UNIX_DIAG_NAME && plen <= sizeof(ui->name.sun_path)) {
				memcpy(ui->name.sun_path, RTA_DATA(a), plen);
				ui->name_len += plen;
			}
		}
	}
	return 0;
}

static bool inode_in_process(const struct fd_dump *d, uint64_t ino)
{
	size_t i;

	for (i = 0; i < d->nall; i++)
		if (d->all[i].sock_domain == AF_UNIX && d->all[i].st.st_ino == ino)
			return true;
	return false;
}

static int peek_stream(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec,
		       uint32_t len)
{
	int s;
	ssize_t got;

	if (!len)
		return 0;
	if (rec->sock_type != SOCK_STREAM)
		return fail_why("datagrams are queued on it", "saving queued unix datagrams is "
				"not supported yet; checkpoint when the queue is empty",
				"checking fd %d (%s)", d->fd, d->link);
	s = fd_steal(ctx->pid, d->fd);
	if (s < 0)
		return -1;
	rec->inq.data = malloc(len);
	got = rec->inq.data ? recv(s, rec->inq.data, len, MSG_PEEK | MSG_DONTWAIT) : -1;
	close(s);
	if (got < 0)
		return fail(errno ? errno : ENOMEM, NULL, "reading the queue of fd %d", d->fd);
	rec->inq.len = got;
	return 0;
}

static int dump_unix(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct unix_info ui, peer;
	int s;

	if (unix_diag(d->st.st_ino, &ui))
		return -1;
	/* Options (SO_PASSCRED, buffer sizes ...): sockopts.c. */
	if ((s = fd_steal(ctx->pid, d->fd)) < 0)
		return -1;
	if (sockopts_dump(ctx, s, d->fd, AF_UNIX, d->sock_type, 0)) {
		close(s);
		return -1;
	}
	close(s);
	rec->sock_domain = AF_UNIX;
	rec->sock_type = d->sock_type;
	rec->sock_state = ui.state;
	rec->object_id = d->st.st_ino;
	rec->peer_id = ui.peer;
	if (blob_set(&rec->local_addr, &ui.name, ui.name_len))
		return fail(ENOMEM, NULL, "recording fds");
	if (ui.state == TCP_LISTEN) {
		rec->backlog = ui.wqueue;
		if (ui.rqueue)
			pr_warn("fd %d (%s): %u connections not yet accepted will be lost",
				d->fd, d->link, ui.rqueue);
		return 0;
	}
	if (!ui.peer)
		return 0;
	if (inode_in_process(d, ui.peer))
		return peek_stream(ctx, d, rec, ui.rqueue);
	/* The peer is another process. */
	if (!ctx->opts->ext_unix)
		return fail_why("it is connected to another process", "restart cannot connect "
				"it again by itself; ckpt --ext-unix records the peer's path so "
				"restart reconnects to it", "checking fd %d (%s)", d->fd, d->link);
	if (unix_diag(ui.peer, &peer))
		return -1;
	if (peer.name_len <= offsetof(struct sockaddr_un, sun_path))
		return fail_why("its peer has no name to connect to", NULL,
				"checking fd %d (%s, --ext-unix)", d->fd, d->link);
	if (ui.rqueue)
		pr_warn("fd %d (%s): %u queued bytes from the outside peer will be lost",
			d->fd, d->link, ui.rqueue);
	return blob_set(&rec->peer_addr, &peer.name, peer.name_len);
}

static int check_unix(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	if (rec->local_addr.len > sizeof(struct sockaddr_un) ||
	    rec->peer_addr.len > sizeof(struct sockaddr_un))
		return fail_why("invalid socket record", "the image is corrupted",
				"checking fd %d", rec->fd);
	return sockopts_check(ctx, rec);
}

/* The child makes each pair once, at its first end. */
struct pair_made {
	uint64_t ids[2];
	int ends[2];
};

/* The pairs made so far, in restore_ctx.slot[SLOT_UNIX]. */
struct pairs_made {
	struct pair_made *pairs;
	size_t npairs;
};

static const struct fd_rec *end_with_id(const struct image_meta *m, uint64_t id)
{
	size_t i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].kind == FD_UNIX && !m->fds[i].share_index && m->fds[i].object_id == id)
			return &m->fds[i];
	return NULL;
}

static int refill(int from, const struct fd_rec *to)
{
	if (to && to->inq.len && write(from, to->inq.data, to->inq.len) != (ssize_t)to->inq.len)
		return fail(errno, NULL, "refilling the queue of fd %d", to->fd);
	return 0;
}

static int open_pair_end(struct fd_child *c, const struct fd_rec *rec)
{
	struct pairs_made *m = c->ctx->slot[SLOT_UNIX];
	struct pair_made *p = NULL;
	size_t i;
	int fd, which;

	if (!m && !(m = c->ctx->slot[SLOT_UNIX] = calloc(1, sizeof(*m))))
		return fail(ENOMEM, NULL, "recreating socket pairs");
	for (i = 0; i < m->npairs && !p; i++)
		if (m->pairs[i].ids[0] == rec->object_id || m->pairs[i].ids[1] == rec->object_id)
			p = &m->pairs[i];
	if (!p) {
		const struct fd_rec *other = end_with_id(&c->ctx->meta, rec->peer_id);
		struct pair_made *grown = realloc(m->pairs, (m->npairs + 1) * sizeof(*grown));
		int sv[2];

		if (!grown)
			return fail(ENOMEM, NULL, "recreating socket pairs");
		m->pairs = grown;
		p = &m->pairs[m->npairs++];
		if (socketpair(AF_UNIX, rec->sock_type, 0, sv))
			return fail(errno, NULL, "recreating the socket pair of fd %d", rec->fd);
		/* What waited in one end's queue was sent by the other. */
		if (refill(sv[1], rec) || refill(sv[0], other))
			return -1;
		p->ids[0] = rec->object_id;
		p->ids[1] = rec->peer_id;
		if ((p->ends[0] = fd_spare(c, sv[0])) < 0 || (p->ends[1] = fd_spare(c, sv[1])) < 0)
			return -1;
	}
	which = p->ids[0] == rec->object_id ? 0 : 1;
	fd = p->ends[which];
	p->ends[which] = -1;
	if (fd < 0)
		return fail_why("two open files for one socket", "not supported yet",
				"recreating the socket pair of fd %d", rec->fd);
	return fd;
}

/* A socket file left at the path by the process we replace is stale. */
static void remove_stale(const struct fd_rec *rec)
{
	const struct sockaddr_un *sa = rec->local_addr.data;
	struct stat st;

	if (rec->local_addr.len > offsetof(struct sockaddr_un, sun_path) && sa->sun_path[0] &&
	    !stat(sa->sun_path, &st) && S_ISSOCK(st.st_mode))
		unlink(sa->sun_path);
}

static int open_unix(struct fd_child *c, const struct fd_rec *rec)
{
	bool named = rec->local_addr.len > offsetof(struct sockaddr_un, sun_path);
	int s;

	if (rec->peer_id && end_with_id(&c->ctx->meta, rec->peer_id))
		s = open_pair_end(c, rec);
	else {
		s = socket(AF_UNIX, rec->sock_type, 0);
		if (s < 0)
			return fail(errno, NULL, "recreating socket fd %d", rec->fd);
		if (named) {
			remove_stale(rec);
			if (bind(s, rec->local_addr.data, rec->local_addr.len)) {
				fail(errno, "the name must be free on this host",
				     "binding unix socket fd %d", rec->fd);
				goto err;
			}
		}
		if (rec->sock_state == TCP_LISTEN && listen(s, rec->backlog)) {
			fail(errno, NULL, "listening on unix socket fd %d", rec->fd);
			goto err;
		}
		if (rec->peer_addr.len && connect(s, rec->peer_addr.data, rec->peer_addr.len)) {
			fail(errno, "the peer must be listening again at its path",
			     "reconnecting unix socket fd %d", rec->fd);
			goto err;
		}
	}
	if (s >= 0 && sockopts_restore(c, s, rec, SOCKOPTS_EARLY | SOCKOPTS_BUFFERS))
		goto err;
	if (s >= 0 && fcntl(s, F_SETFL, rec->flags & O_NONBLOCK)) {
		fail(errno, NULL, "restoring the flags of fd %d", rec->fd);
		goto err;
	}
	return s;
err:
	close(s);
	return -1;
}

static void release_pairs(struct restore_ctx *ctx)
{
	struct pairs_made *m = ctx->slot[SLOT_UNIX];

	if (!m)
		return;
	free(m->pairs);
	free(m);
	ctx->slot[SLOT_UNIX] = NULL;
}

const struct fd_kind_ops fd_unix_kind = {
	.kind = FD_UNIX,
	.name = "unix socket",
	.tag = "unix",
	.match = is_unix,
	.dump = dump_unix,
	.check = check_unix,
	.open = open_unix,
	.release = release_pairs,
};
