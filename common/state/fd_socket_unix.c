/* Unix sockets of one process, with everything queued on them.
 *
 * Dump.  sock_diag (NETLINK_SOCK_DIAG) tells each socket's peer, name,
 * shutdown state, the inode of its bound file and, for a listener, the
 * clients waiting in its accept queue.  The messages queued on a socket
 * are read without being consumed (collect, before any fd is dumped):
 * MSG_PEEK on our copy of the fd (pidfd_getfd), walking the queue with
 * SO_PEEK_OFF, with SO_PASSCRED on for the time of it so that each
 * message shows its credentials (both options are put back as they were).
 * Datagrams and seqpacket messages are kept one by one, with their
 * sender's address; a stream queue as the pieces the kernel returns
 * (a piece ends at a message carrying fds or other credentials).  The
 * fds a message carries (SCM_RIGHTS) come to ckpt as copies: one that is
 * an open file of the process is named by its fd; any other is a file in
 * flight, dumped from our copy like an fd of its own, numbered above the
 * table (fd_rec.inflight).  A file in flight may be a unix socket with a
 * queue of its own: the list grows as it is walked.
 *
 * SO_PEERCRED's user and group are recorded too.
 *
 * A socket whose peer is a socket of another process of the tree being
 * dumped (a socketpair made before fork, each keeping one end) records
 * that process (fd_rec.peer_pid): restart/shared.c has their common
 * ancestor make the pair with socketpair() before it forks, and refill
 * both queues from the other end (fd_unix_open_tree_pair; messages
 * carrying fds are refused at dump, and a queued message's credentials
 * show the pid of that ancestor).  A stream connection through a listener
 * between processes is such a pair whose ends have names (the accepted
 * one's is its listener's): the ancestor makes it through a listener of
 * its own bound to that name (unix_named_connection.c), wherever the real
 * listener is or whether it is still open.  A datagram socket connected
 * to another process's that is not connected back (a client of a server
 * socket) is made by the common ancestor with its server and connected to
 * it (fd_unix_open_dgram_client), unless it is named or has datagrams
 * queued.  A stream or seqpacket socket connected to
 * a process outside the checkpoint is an external end (fd_external.c),
 * unless --ext-unix connects it again by its peer's name.
 *
 * Restore, in the child before exec.  open() makes each socket: a pair
 * with both ends in the process with socketpair(), or through the
 * listener it was accepted from (connect and accept: the accepted end
 * then has the listener's name); a socket whose peer closed as one end of
 * a pair whose other end is closed once the queue is refilled; the others
 * with socket(), bound (a name whose file was removed is bound and the
 * file removed again at the end, its directories too) and listening;
 * pairs are made, and listen and connect done, under the recorded
 * SO_PEERCRED user and group (restart as root).
 * Then, once every fd is in place (finish, once for all): the one-way
 * datagram connections and the clients waiting in accept queues are
 * connected (in queue order), every queue is sent again from the peer
 * side in order (with the recorded credentials and fds), shutdowns are
 * done, and the names that were gone are removed.  Files in flight are
 * closed by fds.c after that: they live on in the queues. */
#define LOG_PREFIX "fds: "
#include "fds.h"
#include "unix_named_connection.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)
#define MAX_SCM_FDS 253			/* SCM_MAX_FD */
#define MAX_ICONS 65536
#define MAX_QUEUE_BYTES (1u << 30)
#define MAX_MESSAGES (1 << 20)

struct unix_info {
	uint32_t ino, peer;
	bool has_peer;
	uint32_t rqueue, wqueue;	/* listening: backlog in wqueue */
	int state;
	uint8_t shutdown;
	bool has_vfs;
	uint32_t vfs_ino, vfs_dev;
	uint32_t *icons;		/* malloc'ed, nicons */
	size_t nicons;
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
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN |
				     UDIAG_SHOW_VFS | UDIAG_SHOW_ICONS,
		       .udiag_cookie = { ~0u, ~0u } },
	};
	static const size_t bufsize = 1 << 20;
	char *buf = malloc(bufsize);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	ssize_t n = -1;

	memset(ui, 0, sizeof(*ui));
	ui->ino = ino;
	if (nl < 0 || !buf) {
		free(buf);
		if (nl >= 0)
			close(nl);
		return fail(nl < 0 ? errno : ENOMEM, NULL, "opening sock_diag");
	}
	if (send(nl, &req, sizeof(req), 0) < 0 || (n = recv(nl, buf, bufsize, 0)) <= 0) {
		close(nl);
		free(buf);
		return fail(errno, NULL, "asking sock_diag about unix socket %u", ino);
	}
	close(nl);
	if (!NLMSG_OK(h, n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY) {
		free(buf);
		return fail_why("no answer", "the socket may have been closed meanwhile",
				"asking sock_diag about unix socket %u", ino);
	}
	{
		struct unix_diag_msg *m = NLMSG_DATA(h);
		struct rtattr *a = (struct rtattr *)(m + 1);
		int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

		ui->state = m->udiag_state;
		ui->name.sun_family = AF_UNIX;
		ui->name_len = SUN_OFF;
		for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			size_t plen = RTA_PAYLOAD(a);
			if (a->rta_type == UNIX_DIAG_PEER && plen >= 4) {
				memcpy(&ui->peer, RTA_DATA(a), sizeof(ui->peer));
				ui->has_peer = true;
			} else if (a->rta_type == UNIX_DIAG_RQLEN && plen >= sizeof(struct unix_diag_rqlen)) {
				struct unix_diag_rqlen *q = RTA_DATA(a);
				ui->rqueue = q->udiag_rqueue;
				ui->wqueue = q->udiag_wqueue;
			} else if (a->rta_type == UNIX_DIAG_NAME && plen <= sizeof(ui->name.sun_path)) {
				memcpy(ui->name.sun_path, RTA_DATA(a), plen);
				ui->name_len += plen;
			} else if (a->rta_type == UNIX_DIAG_SHUTDOWN && plen >= 1) {
				ui->shutdown = *(uint8_t *)RTA_DATA(a);
			} else if (a->rta_type == UNIX_DIAG_VFS && plen >= sizeof(struct unix_diag_vfs)) {
				struct unix_diag_vfs *v = RTA_DATA(a);
				ui->has_vfs = true;
				ui->vfs_ino = v->udiag_vfs_ino;
				ui->vfs_dev = v->udiag_vfs_dev;
			} else if (a->rta_type == UNIX_DIAG_ICONS && !ui->icons) {
				ui->nicons = plen / sizeof(uint32_t);
				ui->icons = malloc(plen ? plen : 1);
				if (!ui->icons) {
					free(buf);
					return fail(ENOMEM, NULL, "asking sock_diag about unix socket %u", ino);
				}
				memcpy(ui->icons, RTA_DATA(a), ui->nicons * sizeof(uint32_t));
			}
		}
	}
	free(buf);
	return 0;
}

static pid_t owner_pid(const struct dump_ctx *ctx, const struct fd_dump *d)
{
	return d->own_fd >= 0 ? getpid() : ctx->live;
}

static int owner_fd(const struct fd_dump *d)
{
	return d->own_fd >= 0 ? d->own_fd : d->fd;
}

/* ------------------------------------------------------------- collect */

/* The process's pid (the target, also while we dump a file in flight
 * under our own pid). */
static pid_t target_pid(struct dump_ctx *ctx)
{
	return ctx->remote ? remote_pid(ctx->remote) : ctx->pid;
}

/* An earlier entry of all is the same open file as our fd f: its index. */
static long same_file_as(struct dump_ctx *ctx, const struct fd_dump *all, size_t n, int f)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (syscall(SYS_kcmp, getpid(), owner_pid(ctx, &all[j]), KCMP_FILE, f,
			    owner_fd(&all[j])) == 0)
			return j;
	return -1;
}

/* The fds a message brought us: each named by an fd of the image, a new
 * file in flight appended to *all. */
static int take_fds(struct dump_ctx *ctx, struct fd_dump **all, size_t *n, const int *got,
		    size_t ngot, struct unix_msg_rec *msg)
{
	int32_t *numbers = calloc(ngot ? ngot : 1, sizeof(*numbers));
	size_t i;

	if (!numbers)
		return fail(ENOMEM, NULL, "recording unix socket queues");
	msg->fds.data = numbers;
	msg->fds.len = ngot * sizeof(*numbers);
	for (i = 0; i < ngot; i++) {
		long j = same_file_as(ctx, *all, *n, got[i]);
		struct fd_dump *grown;

		if (j >= 0) {
			numbers[i] = (*all)[j].fd;
			close(got[i]);
			continue;
		}
		grown = realloc(*all, (*n + 2) * sizeof(**all));
		if (!grown) {
			close(got[i]);
			return fail(ENOMEM, NULL, "recording files in flight");
		}
		*all = grown;
		numbers[i] = (*all)[*n - 1].fd + 1;
		if (fd_dump_read_own(got[i], numbers[i], &(*all)[*n])) {
			close(got[i]);
			return -1;
		}
		memset(&(*all)[*n + 1], 0, sizeof(**all));
		(*n)++;
	}
	return 0;
}

/* A message (not an end of file) always shows its credentials here. */
static bool has_creds(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			return true;
	return false;
}

/* Every message queued on s (our copy of the image's fd number), in
 * order, without consuming it. */
static int peek_queue(struct dump_ctx *ctx, struct fd_dump **all, size_t *n, int s, int number,
		      int type)
{
	int peek_old = -1, pass_old = 0, one = 1, off = 0, ret = 0, count = 0;
	socklen_t len = sizeof(int);
	size_t cap = 65536, total = 0;
	char *data = malloc(cap);
	union {
		char buf[CMSG_SPACE(MAX_SCM_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)) + 256];
		struct cmsghdr align;
	} ctl;

	if (!data)
		return fail(ENOMEM, NULL, "reading the queue of fd %d", number);
	getsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &peek_old, &len);
	len = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_PASSCRED, &pass_old, &len);
	if ((!pass_old && setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one))) ||
	    setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off))) {
		free(data);
		return fail(errno, NULL, "reading the queue of fd %d", number);
	}
	for (;;) {
		struct sockaddr_un from;
		struct iovec iov = { data, cap };
		struct msghdr mh = { &from, sizeof(from), &iov, 1, ctl.buf, sizeof(ctl.buf), 0 };
		int got[MAX_SCM_FDS], ngot = 0;
		struct unix_msg_rec *msg;
		struct cmsghdr *c;
		ssize_t r;

		if (setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off))) {
			ret = fail(errno, NULL, "reading the queue of fd %d", number);
			break;
		}
		memset(&from, 0, sizeof(from));
		r = recvmsg(s, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC |
			    (type == SOCK_STREAM ? 0 : MSG_TRUNC));
		if (r < 0) {
			/* EINVAL, ENOTCONN: a stream socket never connected */
			if (errno != EAGAIN && errno != EINVAL && errno != ENOTCONN)
				ret = fail(errno, NULL, "reading the queue of fd %d", number);
			break;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int k, cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (k = 0; k < cnt && ngot < MAX_SCM_FDS; k++)
					memcpy(&got[ngot++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			}
		if ((size_t)r > cap && type != SOCK_STREAM) {
			char *grown = realloc(data, r);
			while (ngot)
				close(got[--ngot]);
			if (!grown) {
				ret = fail(ENOMEM, NULL, "reading the queue of fd %d", number);
				break;
			}
			data = grown;
			cap = r;
			continue;		/* again, whole */
		}
		/* End of file: the peer is gone (a stream has no empty
		 * messages; a seqpacket end of file shows no credentials). */
		if (r == 0 && (type == SOCK_STREAM || !has_creds(&mh)))
			break;
		if (++count > MAX_MESSAGES) {
			while (ngot)
				close(got[--ngot]);
			ret = fail_why("too many messages are queued on it", "read them first",
				       "reading the queue of fd %d", number);
			break;
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			while (ngot)
				close(got[--ngot]);
			ret = fail_why("a queued message carries more than we can read", NULL,
				       "reading the queue of fd %d", number);
			break;
		}
		if ((total += r) > MAX_QUEUE_BYTES) {
			while (ngot)
				close(got[--ngot]);
			ret = fail_why("more than 1 GiB is queued on it", "read it first",
				       "reading the queue of fd %d", number);
			break;
		}
		msg = meta_push(&ctx->meta.unix_msgs, &ctx->meta.nunix_msgs, sizeof(*msg));
		if (!msg || blob_set(&msg->data, data, r) ||
		    (type != SOCK_STREAM && mh.msg_namelen > SUN_OFF &&
		     blob_set(&msg->from, &from, mh.msg_namelen))) {
			while (ngot)
				close(got[--ngot]);
			ret = msg ? fail(ENOMEM, NULL, "recording unix socket queues") : -1;
			break;
		}
		msg->fd = number;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
				struct ucred u;
				memcpy(&u, CMSG_DATA(c), sizeof(u));
				msg->has_creds = 1;
				msg->pid = u.pid;
				msg->uid = u.uid;
				msg->gid = u.gid;
			}
		if (take_fds(ctx, all, n, got, ngot, msg)) {
			ret = -1;
			break;
		}
		off += r;	/* an empty message: the kernel skips it once peeked */
	}
	free(data);
	if (setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &peek_old, sizeof(peek_old)) ||
	    (!pass_old && setsockopt(s, SOL_SOCKET, SO_PASSCRED, &pass_old, sizeof(pass_old))))
		ret = fail(errno, NULL, "putting back the options of fd %d", number);
	return ret;
}

/* Before any fd is dumped: the queues of every unix socket (the table's,
 * then those in flight, found on the way). */
static int collect_unix(struct dump_ctx *ctx, struct fd_dump **all, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		struct fd_dump *d = &(*all)[i];
		int s, number = d->fd, type = d->sock_type, ret;
		struct unix_info ui;
		size_t j;
		bool shared = false;

		if (!is_unix(d))
			continue;
		for (j = 0; j < i && d->own_fd < 0 && !shared; j++)
			shared = syscall(SYS_kcmp, ctx->live, ctx->live, KCMP_FILE, (*all)[j].fd,
					 d->fd) == 0;
		if (shared)
			continue;
		if (unix_diag(d->st.st_ino, &ui))
			return -1;
		free(ui.icons);
		if (ui.state == TCP_LISTEN)
			continue;
		s = d->own_fd >= 0 ? fcntl(d->own_fd, F_DUPFD_CLOEXEC, 3) : fd_steal(ctx->live, d->fd);
		if (s < 0)
			return fail(errno, NULL, "copying fd %d", number);
		{
			/* Urgent data (MSG_OOB) is not in the queue a peek walks. */
			char c;
			if (type == SOCK_STREAM && recv(s, &c, 1, MSG_OOB | MSG_PEEK | MSG_DONTWAIT) == 1) {
				close(s);
				return fail_why("urgent data (MSG_OOB) is queued on it, which this "
						"version cannot save", "read it before checkpointing",
						"checking fd %d (%s)", number, d->link);
			}
		}
		ret = peek_queue(ctx, all, n, s, number, type);
		close(s);
		if (ret)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- dump */

static bool inode_in_process(const struct fd_dump *d, uint64_t ino)
{
	size_t i;

	for (i = 0; i < d->nall; i++)
		if (d->all[i].sock_domain == AF_UNIX && d->all[i].st.st_ino == ino)
			return true;
	return false;
}

/* A listener in the process whose accept queue holds client ino (or, with
 * vfs_ino, whose bound file is vfs_ino: the one a socket was accepted
 * from); its inode, 0 if none. */
static uint64_t find_listener(const struct fd_dump *d, uint32_t client, uint32_t vfs_ino)
{
	size_t i, k;

	for (i = 0; i < d->nall; i++) {
		struct unix_info l;
		uint64_t found = 0;

		if (d->all[i].sock_domain != AF_UNIX || d->all[i].sock_type == SOCK_DGRAM ||
		    unix_diag(d->all[i].st.st_ino, &l))
			continue;
		if (l.state == TCP_LISTEN) {
			if (vfs_ino && l.has_vfs && l.vfs_ino == vfs_ino)
				found = l.ino;
			for (k = 0; client && k < l.nicons; k++)
				if (l.icons[k] == client)
					found = l.ino;
		}
		free(l.icons);
		if (found)
			return found;
	}
	return 0;
}

/* The socket file of a path name: still this socket's (mode and owner
 * recorded), or removed / replaced (name_gone). */
static void dump_name_file(struct dump_ctx *ctx, const struct unix_info *ui, struct fd_rec *rec)
{
	char path[PATH_MAX + 64];
	struct stat st;

	if (ui->name_len <= SUN_OFF || !ui->name.sun_path[0])
		return;
	if (ui->name.sun_path[0] == '/')
		snprintf(path, sizeof(path), "%.*s", (int)(ui->name_len - SUN_OFF), ui->name.sun_path);
	else
		snprintf(path, sizeof(path), "/proc/%d/cwd/%.*s", target_pid(ctx),
			 (int)(ui->name_len - SUN_OFF), ui->name.sun_path);
	if (ui->has_vfs && !stat(path, &st) && S_ISSOCK(st.st_mode) && st.st_ino == ui->vfs_ino &&
	    st.st_dev == makedev(ui->vfs_dev >> 20, ui->vfs_dev & 0xfffff)) {
		rec->name_mode = st.st_mode;
		rec->name_uid = st.st_uid;
		rec->name_gid = st.st_gid;
	} else
		rec->name_gone = 1;
}

static int dump_listener(const struct fd_dump *d, const struct unix_info *ui, struct fd_rec *rec)
{

	uint64_t *icons;
	size_t k;

	rec->backlog = ui->wqueue;
	if (!ui->nicons)
		return 0;

	if (ui->nicons > MAX_ICONS || !(icons = calloc(ui->nicons, sizeof(*icons))))
		return fail(ENOMEM, NULL, "recording fd %d", d->fd);
	rec->icons.data = icons;
	rec->icons.len = ui->nicons * sizeof(*icons);
	for (k = 0; k < ui->nicons; k++) {
		struct unix_info c;

		icons[k] = ui->icons[k];
		if (!icons[k]) {
			/* The kernel shows nothing of the server side before it
			 * is accepted: whether it holds data is not known. */
			pr_warn("fd %d (%s): a connection waiting to be accepted whose client "
				"closed comes back empty (data it may hold cannot be seen "
				"before it is accepted)", d->fd, d->link);
			continue;
		}
		if (!inode_in_process(d, icons[k]))
			return fail_why("a connection from another process waits in its accept "
					"queue", "accept it before checkpointing",
					"checking fd %d (%s)", d->fd, d->link);
		if (unix_diag(icons[k], &c))
			return -1;
		free(c.icons);
		if (c.wqueue)
			return fail_why("a connection waiting in its accept queue holds data, "
					"which cannot be read before it is accepted",
					"accept it before checkpointing", "checking fd %d (%s)",
					d->fd, d->link);
	}
	return 0;
}

/* Another process of the tree being dumped that holds socket ino: its
 * pid, 0 if none. */
static pid_t tree_peer(const struct fd_dump *d, uint64_t ino)
{
	size_t i;

	for (i = 0; d->tree_pipes && d->own_fd < 0 && i < d->tree_pipes->n; i++) {
		const struct tree_pipe_end *e = &d->tree_pipes->ends[i];
		if (e->sock && e->pid != d->pid && e->ino == ino)
			return e->pid;
	}
	return 0;
}

bool fd_unix_outside(const struct fd_dump *d)
{
	struct unix_info ui, peer;
	bool out;

	if (!is_unix(d) || d->own_fd >= 0 || d->fd <= 2 ||
	    (d->sock_type != SOCK_STREAM && d->sock_type != SOCK_SEQPACKET) ||
	    unix_diag(d->st.st_ino, &ui))
		return false;		/* (dump_unix fails with the reason) */
	free(ui.icons);
	out = ui.state != TCP_LISTEN && ui.has_peer && ui.peer && !inode_in_process(d, ui.peer) &&
	      !tree_peer(d, ui.peer);
	if (out && d->ext_unix && !unix_diag(ui.peer, &peer)) {
		free(peer.icons);
		out = peer.name_len <= SUN_OFF;	/* else --ext-unix connects to its name */
	}
	return out;
}

/* A socket connected to one of another process of the tree: made again
 * with socketpair() by their common ancestor (restart/shared.c), which
 * refills both queues.  Only what socketpair() makes: no name on either
 * end (a connection accepted from a listener has its name), each the
 * other's peer; queued messages without fds. */
static int dump_tree_pair(struct dump_ctx *ctx, const struct fd_dump *d,
			  const struct unix_info *ui, struct fd_rec *rec)
{
	struct unix_info peer;
	bool named_peer, mutual;
	size_t i;

	if (unix_diag(ui->peer, &peer))
		return -1;
	free(peer.icons);
	named_peer = peer.name_len > SUN_OFF;
	mutual = peer.has_peer && peer.peer == ui->ino;
	if (!mutual && rec->sock_type == SOCK_DGRAM) {
		/* A client of a server socket of another process (connected
		 * to its name): restart's common ancestor makes the server
		 * and connects the client to it. */
		if (ui->name_len > SUN_OFF || ui->rqueue)
			return fail_why(ui->rqueue ? "it is a datagram socket connected to "
					"another process's, with datagrams queued on it" : "it is a "
					"named datagram socket connected to another process's",
					ui->rqueue ? "read them before checkpointing" : "not "
					"supported yet: only unnamed clients are connected again",
					"checking fd %d (%s, peer in process %d)", d->fd, d->link,
					rec->peer_pid);
		return 0;
	}
	if (!mutual)
		return fail_why("its peer in another process of the tree is connected "
				"elsewhere", NULL, "checking fd %d (%s, peer in process %d)",
				d->fd, d->link, rec->peer_pid);
	if ((ui->name_len > SUN_OFF || named_peer) && rec->sock_type == SOCK_DGRAM)
		return fail_why("it is a named datagram socket connected to one of another "
				"process of the tree", "not supported yet: only unnamed pairs "
				"(socketpair) of datagram sockets between processes are rebuilt",
				"checking fd %d (%s, peer in process %d)", d->fd, d->link,
				rec->peer_pid);
	/* A stream connection through a listener: restart makes it again
	 * with the ends' names (the accepted one's is its listener's), not
	 * with the listener, which may be anywhere or closed. */
	rec->accepted_by = 0;
	rec->name_gone = 0;
	rec->name_mode = rec->name_uid = rec->name_gid = 0;
	for (i = 0; i < ctx->meta.nunix_msgs; i++)
		if (ctx->meta.unix_msgs[i].fd == rec->fd && ctx->meta.unix_msgs[i].fds.len)
			return fail_why("a message queued on it carries fds, which this version "
					"cannot send again across processes of the tree",
					"read it before checkpointing", "checking fd %d (%s, peer "
					"in process %d)", d->fd, d->link, rec->peer_pid);
	return 0;
}

static int dump_unix(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct unix_info ui, peer;
	int s, ret = 0;

	if (unix_diag(d->st.st_ino, &ui))
		return -1;
	/* Options (SO_PASSCRED, buffer sizes ...): sockopts.c. */
	if ((s = fd_steal(ctx->live, d->fd)) < 0)
		goto err;
	if (sockopts_dump(ctx, s, rec->fd, AF_UNIX, d->sock_type, 0)) {
		close(s);
		goto err;
	}
	{
		/* Who made the connection (or listens): SO_PEERCRED. */
		struct ucred uc;
		socklen_t len = sizeof(uc);
		if (!getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &len) && len == sizeof(uc) &&
		    (uc.pid || uc.uid != (uid_t)-1)) {
			rec->peercred = 1;
			rec->peercred_pid = uc.pid;
			rec->peercred_uid = uc.uid;
			rec->peercred_gid = uc.gid;
		}
	}
	close(s);
	rec->sock_domain = AF_UNIX;
	rec->sock_type = d->sock_type;
	rec->sock_state = ui.state;
	rec->object_id = d->st.st_ino;
	rec->peer_id = ui.peer;
	rec->shutdown = ui.shutdown & 3;
	if (blob_set(&rec->local_addr, &ui.name, ui.name_len)) {
		fail(ENOMEM, NULL, "recording fds");
		goto err;
	}
	if (ui.state == TCP_LISTEN) {
		dump_name_file(ctx, &ui, rec);
		ret = dump_listener(d, &ui, rec);
		free(ui.icons);
		return ret;
	}
	free(ui.icons);
	if (ui.name_len > SUN_OFF && ui.name.sun_path[0] && ui.has_vfs && rec->sock_type != SOCK_DGRAM)
		rec->accepted_by = find_listener(d, 0, ui.vfs_ino);
	if (!rec->accepted_by)
		dump_name_file(ctx, &ui, rec);
	if (!ui.has_peer)
		return 0;
	if (!ui.peer) {
		/* Its peer closed, or it waits to be accepted. */
		if (rec->sock_type != SOCK_DGRAM && (rec->waiting_on = find_listener(d, d->st.st_ino, 0)))
			return 0;
		if (rec->sock_type != SOCK_DGRAM && !(ui.shutdown & 3) && d->own_fd < 0)
			return fail_why("it waits in the accept queue of a listener of another "
					"process", NULL, "checking fd %d (%s)", d->fd, d->link);
		rec->peer_gone = 1;
		return 0;
	}
	if (inode_in_process(d, ui.peer))
		return 0;
	if ((rec->peer_pid = tree_peer(d, ui.peer)))
		return dump_tree_pair(ctx, d, &ui, rec);
	/* The peer is another process.  A datagram socket is connected again
	 * to its peer's name (a syslog client's /dev/log): a datagram
	 * connection is only the default address. */
	if (!ctx->opts->ext_unix && rec->sock_type != SOCK_DGRAM)
		return fail_why("it is connected to another process", "restart cannot connect "
				"it again by itself; ckpt --ext-unix records the peer's path so "
				"restart reconnects to it", "checking fd %d (%s)", d->fd, d->link);
	if (unix_diag(ui.peer, &peer))
		return -1;
	free(peer.icons);
	if (peer.name_len <= SUN_OFF)
		return fail_why("its peer has no name to connect to", NULL,
				"checking fd %d (%s, connected to another process)", d->fd, d->link);
	if (ui.rqueue)
		pr_warn("fd %d (%s): %u queued bytes from the outside peer will be lost",
			d->fd, d->link, ui.rqueue);
	return blob_set(&rec->peer_addr, &peer.name, peer.name_len);
err:
	free(ui.icons);
	return -1;
}

/* ------------------------------------------------------------- check */

static const struct fd_rec *unix_by_id(const struct image_meta *m, uint64_t id)
{
	size_t i;

	for (i = 0; id && i < m->nfds; i++)
		if (m->fds[i].kind == FD_UNIX && !m->fds[i].share_index && m->fds[i].object_id == id)
			return &m->fds[i];
	return NULL;
}

static const struct fd_rec *rec_by_fd(const struct image_meta *m, int fd)
{
	size_t i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].fd == fd)
			return m->fds[i].share_index ? &m->fds[m->fds[i].share_index - 1] : &m->fds[i];
	return NULL;
}

static bool named(const struct fd_rec *r)
{
	return r->local_addr.len > SUN_OFF;
}

static bool path_named(const struct fd_rec *r)
{
	return named(r) && ((const struct sockaddr_un *)r->local_addr.data)->sun_path[0];
}

/* Same name (no name: the family alone, or nothing). */
static bool same_addr(const struct blob *a, const struct blob *b)
{
	if (a->len <= SUN_OFF || b->len <= SUN_OFF)
		return a->len <= SUN_OFF && b->len <= SUN_OFF;
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* A pair with both ends in the process. */
static const struct fd_rec *mutual_peer(const struct image_meta *m, const struct fd_rec *r)
{
	const struct fd_rec *p = unix_by_id(m, r->peer_id);
	return p && p->peer_id == r->object_id && p != r ? p : NULL;
}

static int bad(const struct fd_rec *rec, const char *what)
{
	return fail_why("invalid unix socket record", "the image is corrupted",
			"checking fd %d (%s)", rec->fd, what);
}

/* The datagram socket of the image bound to the name msg came from. */
static const struct fd_rec *sender_of(const struct image_meta *m, const struct unix_msg_rec *msg)
{
	size_t k;

	for (k = 0; k < m->nfds; k++)
		if (m->fds[k].kind == FD_UNIX && !m->fds[k].share_index &&
		    m->fds[k].sock_type == SOCK_DGRAM && same_addr(&m->fds[k].local_addr, &msg->from))
			return &m->fds[k];
	return NULL;
}

/* A socket made before its fd's turn (its pair end, its peer...). */
struct made_sock {
	uint64_t id;
	int fd;				/* spare, -1 once taken */
	int partner;			/* peer_gone: the other end, closed at the end */
	char loc[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];	/* where its file is now */
	bool bound_path, gone;
};

/* In restore_ctx.slot[SLOT_UNIX]. */
struct unix_restore {
	struct made_sock *socks;
	size_t nsocks;
	char (*dirs)[PATH_MAX];		/* directories made for gone names */
	size_t ndirs;
	bool finished;
	/* Filled by check(), in restart: every file name the restore may
	 * bind, with what was there before, so that a failed restore removes
	 * the socket files it made (release_unix) and nothing else. */
	struct name_before *names;
	size_t nnames;
};

/* A file name a restore may bind, as the host has it before. */
struct name_before {
	char path[PATH_MAX];
	bool existed;
	dev_t dev;
	ino_t ino;
};

static struct unix_restore *state_of(struct restore_ctx *ctx);

/* The name of a path-bound address as the host sees it: a relative name
 * is bound in the process's cwd under its root. */
static int host_name(const struct restore_ctx *ctx, const struct blob *addr, char *out, size_t size)
{
	const struct sockaddr_un *sa = addr->data;
	const struct process_rec *p = ctx->meta.process;
	size_t len = strnlen(sa->sun_path, addr->len - SUN_OFF);
	const char *root = p && p->root && strcmp(p->root, "/") ? p->root : "";
	int n;

	if (sa->sun_path[0] == '/')
		n = snprintf(out, size, "%s%.*s", root, (int)len, sa->sun_path);
	else
		n = snprintf(out, size, "%s%s/%.*s", root, p && p->cwd ? p->cwd : "", (int)len,
			     sa->sun_path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Is the socket file at path (lstat'ed: st) the name of a live socket?
 * sock_diag lists every unix socket of this network namespace with the
 * inode of its file; looking is read only (connecting to find out would
 * queue a connection on somebody's listener).  -1 if sock_diag fails. */
static int vfs_is(const struct nlmsghdr *h, void *arg)
{
	const struct stat *st = arg;
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	const struct rtattr *a = (const struct rtattr *)(m + 1);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return -1;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		const struct unix_diag_vfs *v = RTA_DATA(a);
		if (a->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(a) >= sizeof(*v) &&
		    v->udiag_vfs_ino == st->st_ino &&
		    st->st_dev == makedev(v->udiag_vfs_dev >> 20, v->udiag_vfs_dev & 0xfffff))
			return 1;
	}
	return 0;
}

static int file_bound(const struct stat *st)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req = {
		.nlh = { sizeof(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_show = UDIAG_SHOW_VFS },
	};
	int found = sock_diag_dump(&req, sizeof(req), vfs_is, (void *)st);

	return found < 0 ? -1 : found;
}

/* A live socket's file is at path. */
static bool live_socket_at(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISSOCK(st.st_mode) && file_bound(&st) != 0;
}

/* Before anything is created: the file name of a socket the restore binds
 * must be free, or hold a stale socket file (nobody bound to it: left by
 * the process restored); never a live socket or another file.  What was
 * there is remembered, for release_unix after a failed restore. */
static int check_name(struct restore_ctx *ctx, const struct fd_rec *rec, const struct blob *addr,
		      bool gone)
{
	struct unix_restore *u;
	struct name_before *nb, *grown;
	struct stat st;
	char path[PATH_MAX];

	if (addr->len <= SUN_OFF || !((const struct sockaddr_un *)addr->data)->sun_path[0])
		return 0;
	if (host_name(ctx, addr, path, sizeof(path)))
		return bad(rec, "name too long");
	if (!gone && !lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return fail_why("its name is taken by a file that is not a socket",
					"remove that file if it is not needed", "checking unix "
					"socket fd %d (%s)", rec->fd, path);
		if (live_socket_at(path))
			return fail_why("a socket on this host is bound to its name", "stop "
					"the process that holds it; restart never removes a live "
					"socket", "checking unix socket fd %d (%s)", rec->fd, path);
	}
	if (!(u = state_of(ctx)))
		return -1;
	if (!(grown = realloc(u->names, (u->nnames + 1) * sizeof(*grown))))
		return fail(ENOMEM, NULL, "checking unix sockets");
	u->names = grown;
	nb = &u->names[u->nnames++];
	memset(nb, 0, sizeof(*nb));
	snprintf(nb->path, sizeof(nb->path), "%s", path);
	if (!lstat(path, &st)) {
		nb->existed = true;
		nb->dev = st.st_dev;
		nb->ino = st.st_ino;
	}
	return 0;
}

/* The recorded peer's name (rec->peer_addr, checked), "@..." if abstract. */
static void peer_name(const struct fd_rec *rec, char *buf, size_t size)
{
	const struct sockaddr_un *a = rec->peer_addr.data;
	int len = (int)rec->peer_addr.len - (int)SUN_OFF;

	if (len <= 0)
		snprintf(buf, size, "?");
	else
		snprintf(buf, size, "%s%.*s", a->sun_path[0] ? "" : "@",
			 a->sun_path[0] ? len : len - 1, a->sun_path + !a->sun_path[0]);
}

static int check_unix(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const struct image_meta *m = &ctx->meta;
	const struct fd_rec *l;
	int64_t v;
	size_t i, k;

	if (rec->local_addr.len > sizeof(struct sockaddr_un) ||
	    rec->peer_addr.len > sizeof(struct sockaddr_un) || rec->shutdown > 3 ||
	    rec->name_gone > 1 || rec->peer_gone > 1 || rec->icons.len % sizeof(uint64_t) ||
	    rec->icons.len > MAX_ICONS * sizeof(uint64_t) ||
	    (rec->sock_type != SOCK_STREAM && rec->sock_type != SOCK_DGRAM &&
	     rec->sock_type != SOCK_SEQPACKET))
		return bad(rec, "fields");
	/* A socket pair with the other end in another process of the tree
	 * (restart/shared.c makes it and checks that the peer is there). */
	if (rec->peer_pid && (rec->peer_pid < 0 || !rec->peer_id || rec->sock_state == TCP_LISTEN ||
			      rec->accepted_by || rec->waiting_on || rec->peer_gone ||
			      (named(rec) && rec->sock_type == SOCK_DGRAM) || rec->name_gone ||
			      rec->peer_addr.len || rec->inflight || rec->inq.len ||
			      unix_by_id(m, rec->peer_id)))
		return bad(rec, "peer in another process");
	/* (A listener has no peer: making one never needs another made.) */
	if (rec->sock_state == TCP_LISTEN &&
	    (rec->peer_id || rec->accepted_by || rec->waiting_on || rec->peer_gone))
		return bad(rec, "listener with a peer");
	/* A datagram socket connected to a name outside: warned here, in
	 * restart, if that name takes no datagram now. */
	if (rec->sock_type == SOCK_DGRAM && rec->peer_addr.len > SUN_OFF) {
		char name[sizeof(struct sockaddr_un) + 1];
		int t = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (t >= 0 && connect(t, rec->peer_addr.data, rec->peer_addr.len)) {
			peer_name(rec, name, sizeof(name));
			pr_warn("fd %d (unix datagram socket connected to %s): its peer is not there "
				"now (%s): it comes back unconnected, its sends fail with ENOTCONN "
				"until it connects again", rec->fd, name, strerror(errno));
		}
		if (t >= 0)
			close(t);
	}
	if ((rec->accepted_by && (!(l = unix_by_id(m, rec->accepted_by)) || l->sock_state != TCP_LISTEN)) ||
	    (rec->waiting_on && (!(l = unix_by_id(m, rec->waiting_on)) || l->sock_state != TCP_LISTEN)))
		return bad(rec, "listener");
	for (k = 0; k < rec->icons.len / sizeof(uint64_t); k++) {
		uint64_t id;
		memcpy(&id, (char *)rec->icons.data + k * sizeof(id), sizeof(id));
		if (id && (!(l = unix_by_id(m, id)) || l->waiting_on != rec->object_id))
			return bad(rec, "accept queue");
	}
	for (i = 0; i < m->nunix_msgs; i++) {
		const struct unix_msg_rec *msg = &m->unix_msgs[i];
		const struct fd_rec *to = rec_by_fd(m, msg->fd);

		if (!to || to->kind != FD_UNIX)
			return bad(rec, "receiver of a queued message");
		if (to != rec)
			continue;
		if (msg->data.len > MAX_QUEUE_BYTES || msg->fds.len % sizeof(int32_t) ||
		    msg->fds.len > MAX_SCM_FDS * sizeof(int32_t) ||
		    msg->from.len > sizeof(struct sockaddr_un) || msg->has_creds > 1 ||
		    rec->sock_state == TCP_LISTEN)
			return bad(rec, "queued message");
		for (k = 0; k < msg->fds.len / sizeof(int32_t); k++) {
			int32_t fd;
			memcpy(&fd, (char *)msg->fds.data + k * sizeof(fd), sizeof(fd));
			if (!rec_by_fd(m, fd))
				return bad(rec, "fd of a queued message");
		}
		if (rec->peer_pid && msg->fds.len)
			return bad(rec, "fd of a message from another process");
		if (rec->peer_pid)
			continue;
		if (rec->sock_type != SOCK_DGRAM && !mutual_peer(m, rec) && !rec->peer_gone)
			return fail_why("data is queued on it but its peer is not in the image",
					NULL, "checking fd %d", rec->fd);
		if (msg->has_creds && msg->pid && (!m->process || msg->pid != m->process->pid) &&
		    kill(msg->pid, 0) && errno == ESRCH && sockopts_find(ctx, rec->fd, "SO_PASSCRED", &v) && v)
			return fail_why("a message queued on it carries the credentials of a process "
					"that is gone", "read it before checkpointing",
					"checking fd %d (sent by pid %d)", rec->fd, msg->pid);
		if (rec->sock_type == SOCK_DGRAM && msg->from.len > SUN_OFF) {
			if (!sender_of(m, msg) && !named(rec))
				return fail_why("a queued datagram came from a socket that is not "
						"in the image", NULL, "checking fd %d", rec->fd);
		} else if (rec->sock_type == SOCK_DGRAM && !named(rec) && !mutual_peer(m, rec) &&
			   !rec->peer_gone) {
			return fail_why("a datagram is queued on a socket without name or peer",
					NULL, "checking fd %d", rec->fd);
		}
		/* A sender of another process: its name is borrowed to send. */
		if (rec->sock_type == SOCK_DGRAM && msg->from.len > SUN_OFF && !sender_of(m, msg) &&
		    check_name(ctx, rec, &msg->from, false))
			return -1;
	}
	/* (A named end of a connection between processes binds no file.) */
	if (!rec->share_index && !rec->peer_pid &&
	    check_name(ctx, rec, &rec->local_addr, rec->name_gone))
		return -1;
	return sockopts_check(ctx, rec);
}

/* ------------------------------------------------------------- restore */

static struct unix_restore *state_of(struct restore_ctx *ctx)
{
	if (!ctx->slot[SLOT_UNIX])
		ctx->slot[SLOT_UNIX] = calloc(1, sizeof(struct unix_restore));
	if (!ctx->slot[SLOT_UNIX])
		fail(ENOMEM, NULL, "recreating unix sockets");
	return ctx->slot[SLOT_UNIX];
}

static struct made_sock *made(struct unix_restore *u, uint64_t id)
{
	size_t i;

	for (i = 0; i < u->nsocks; i++)
		if (u->socks[i].id == id)
			return &u->socks[i];
	return NULL;
}

static struct made_sock *add_made(struct fd_child *c, struct unix_restore *u, uint64_t id, int fd)
{
	struct made_sock *grown = realloc(u->socks, (u->nsocks + 1) * sizeof(*grown)), *s;

	if (!grown) {
		close(fd);
		fail(ENOMEM, NULL, "recreating unix sockets");
		return NULL;
	}
	u->socks = grown;
	s = &u->socks[u->nsocks++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->partner = -1;
	s->fd = fd_spare(c, fd);
	return s->fd < 0 ? NULL : s;
}

static int mkdirs(struct unix_restore *u, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/')) || slash == dir)
		return 0;
	*slash = 0;
	if (!stat(dir, &st))
		return 0;
	if (mkdirs(u, dir))
		return -1;
	if (mkdir(dir, 0700))
		return fail(errno, NULL, "making directory %s for a removed socket name", dir);
	{
		char (*grown)[PATH_MAX] = realloc(u->dirs, (u->ndirs + 1) * sizeof(*grown));
		if (!grown)
			return fail(ENOMEM, NULL, "recreating unix sockets");
		u->dirs = grown;
		snprintf(u->dirs[u->ndirs++], PATH_MAX, "%s", dir);
	}
	return 0;
}

/* A free name beside path for a file moved aside, short enough to connect
 * to (in sun_path). */
static int aside_name(const char *path, char *out)
{
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : -1, n;
	struct stat st;

	for (n = 0; n < 10000; n++) {
		size_t len = strlen(path) + 8 <= max ?
			(size_t)snprintf(out, max + 1, "%s~%d", path, n) :
			(size_t)snprintf(out, max + 1, "%.*s%s.ck%d", dirlen < 0 ? 0 : dirlen,
					 path, dirlen < 0 ? "" : "/", n);
		if (len > max)
			break;
		if (lstat(out, &st))
			return 0;
	}
	errno = ENAMETOOLONG;
	return fail(errno, NULL, "finding a name beside %s", path);
}

/* Have the kernel collect unreachable unix sockets now: closing a unix
 * socket while fds are in flight anywhere schedules its garbage
 * collector; this one sends itself first, so there are. */
static void unix_collect_garbage(void)
{
	char byte = 0, ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	(void)!sendmsg(sv[0], &mh, MSG_DONTWAIT);
	close(sv[0]);
	close(sv[1]);
}

/* An abstract name is free only once its last socket is gone: one held by
 * nothing but a loop of sockets in flight in each other's queues (the
 * process it was restored for, killed: zdtm scm06) goes when the kernel's
 * unix garbage collector runs, which may be a moment after the kill. */
static int bind_abstract(int s, const struct fd_rec *rec)
{
	int tries;

	for (tries = 0; bind(s, rec->local_addr.data, rec->local_addr.len); tries++) {
		if (errno != EADDRINUSE || tries == 100)
			return fail(errno, "the name must be free on this host",
				    "binding unix socket fd %d", rec->fd);
		unix_collect_garbage();
		usleep(20000);
	}
	return 0;
}

/* Bind s (made for rec) to the name of rec; its made_sock records where
 * its file is (looked up again: the list may grow here). */
static int bind_name(struct unix_restore *u, int s, const struct fd_rec *rec)
{
	struct made_sock *ms;
	const struct sockaddr_un *sa = rec->local_addr.data;
	char path[sizeof(sa->sun_path) + 1], other[sizeof(path)], mine[sizeof(path)];
	bool moved = false;
	struct stat st;

	if (!named(rec))
		return 0;
	if (!path_named(rec))
		return bind_abstract(s, rec);
	memset(path, 0, sizeof(path));
	memcpy(path, sa->sun_path, rec->local_addr.len - SUN_OFF);
	if (rec->name_gone) {
		/* Whatever is at the path now (a file of another socket, a
		 * FIFO made there since...) steps aside only while we bind;
		 * our file then waits beside it until it is removed at the
		 * end (connects find it there). */
		if (mkdirs(u, path))
			return -1;
		if (!lstat(path, &st)) {
			if (aside_name(path, other))
				return -1;
			if (rename(path, other))
				return fail(errno, NULL, "moving %s aside", path);
			moved = true;
		}
	} else if (!lstat(path, &st) && S_ISSOCK(st.st_mode)) {
		/* Stale: left by the process we replace (check_name); never a
		 * live one, looked at again now. */
		if (live_socket_at(path))
			return fail_why("a socket on this host is bound to its name", "stop the "
					"process that holds it", "binding unix socket fd %d (%s)",
					rec->fd, path);
		unlink(path);
	}
	if (bind(s, rec->local_addr.data, rec->local_addr.len)) {
		fail(errno, "the name must be free on this host", "binding unix socket fd %d",
		     rec->fd);
		if (moved && rename(other, path))
			pr_warn("%s stays at %s", path, other);
		return -1;
	}
	if (!(ms = made(u, rec->object_id)))
		return fail_why("internal error", NULL, "binding unix socket fd %d", rec->fd);
	snprintf(ms->loc, sizeof(ms->loc), "%s", path);
	ms->bound_path = true;
	ms->gone = rec->name_gone;
	if (rec->name_mode && (chmod(path, rec->name_mode & 07777) ||
			       chown(path, rec->name_uid, rec->name_gid)))
		return fail(errno, NULL, "restoring the mode and owner of %s", path);
	if (rec->name_gone) {
		if (aside_name(path, mine) || rename(path, mine))
			return fail(errno, NULL, "moving the file of unix socket fd %d aside", rec->fd);
		snprintf(ms->loc, sizeof(ms->loc), "%s", mine);
		if (moved && rename(other, path))
			return fail(errno, NULL, "putting %s back", path);
	}
	return 0;
}

/* The address to reach rec at now (its file may have been moved aside). */
static socklen_t where(struct unix_restore *u, const struct fd_rec *rec, struct sockaddr_un *sa)
{
	struct made_sock *ms = made(u, rec->object_id);

	memset(sa, 0, sizeof(*sa));
	if (!named(rec))
		return 0;
	if (!path_named(rec) || !ms || !ms->bound_path) {
		memcpy(sa, rec->local_addr.data, rec->local_addr.len);
		return rec->local_addr.len;
	}
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, ms->loc, strnlen(ms->loc, sizeof(sa->sun_path) - 1));
	return SUN_OFF + strlen(sa->sun_path) + 1;
}

static int make(struct fd_child *c, const struct fd_rec *rec);

/* SO_PEERCRED is taken from whoever makes the pair, listens or connects:
 * for the time of it, our effective ids become the recorded ones (the
 * pid is ours, the restored process's, which is the usual one). */
struct ids_saved {
	uid_t uid;
	gid_t gid;
	bool changed;
};

static void ids_as(const struct fd_rec *rec, struct ids_saved *sv)
{
	sv->uid = geteuid();
	sv->gid = getegid();
	sv->changed = false;
	if (!rec || !rec->peercred || sv->uid != 0 ||
	    (rec->peercred_uid == sv->uid && rec->peercred_gid == sv->gid))
		return;
	if (setegid(rec->peercred_gid))
		return;
	if (seteuid(rec->peercred_uid)) {
		if (setegid(sv->gid))
			pr_warn("cannot take back group %u", (unsigned)sv->gid);
		return;
	}
	sv->changed = true;
	/* Paths (connect) are still looked up as ourselves. */
	setfsgid(sv->gid);
	setfsuid(sv->uid);
}

static void ids_back(const struct ids_saved *sv)
{
	if (sv->changed && (seteuid(sv->uid) || setegid(sv->gid)))
		pr_warn("cannot take back user %u", (unsigned)sv->uid);
}

/* A socket pair made with rec's SO_PEERCRED (socketpair() records who
 * made it).  Its pid is the restored process's own, usually; one made by
 * another process (a helper that ran under a PID of its own, sharing the
 * fd table, and exited) is made the same way: by a process made under
 * that PID for a moment (clone3 set_tid, CLONE_FILES), when it is free
 * and restart keeps PIDs, else by us. */
static int socketpair_as(struct fd_child *c, const struct fd_rec *rec, int sv[2])
{
	pid_t want = rec->peercred ? rec->peercred_pid : 0, helper;
	struct clone_args ca = { .flags = CLONE_FILES, .exit_signal = SIGCHLD };
	struct ids_saved ids;
	int ret = -1, back[2], got[2];

	/* (set_tid needs our capabilities: before ids_as drops them.) */
	if (want > 0 && want != c->ctx->meta.process->pid && !c->ctx->opts->any_pid &&
	    !pipe2(back, O_CLOEXEC)) {
		ca.set_tid = (uint64_t)(uintptr_t)&want;
		ca.set_tid_size = 1;
		helper = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (helper == 0) {
			ids_as(rec, &ids);
			got[0] = socketpair(AF_UNIX, rec->sock_type, 0, got) ? -errno : got[0];
			_exit(write(back[1], got, sizeof(got)) == sizeof(got) ? 0 : 1);
		}
		if (helper > 0) {
			/* (The table is the helper's too: back[1] stays open
			 * until it has written.) */
			while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
				;
			close(back[1]);
			if (read(back[0], got, sizeof(got)) == sizeof(got) && got[0] >= 0) {
				sv[0] = got[0];
				sv[1] = got[1];
				ret = 0;
			}
		} else {
			pr_debug("socket pair of fd %d: made by us, not as PID %d (%s)", rec->fd,
				 want, strerror(errno));
			close(back[1]);
		}
		close(back[0]);
		if (!ret)
			return 0;
	}
	ids_as(rec, &ids);
	ret = socketpair(AF_UNIX, rec->sock_type, 0, sv);
	ids_back(&ids);
	return ret;
}

/* Both ends of a pair: through the listener one was accepted from (so it
 * has its name), else socketpair(). */
static int make_pair(struct fd_child *c, struct unix_restore *u, const struct fd_rec *a,
		     const struct fd_rec *b)
{
	const struct fd_rec *acc = a->accepted_by ? a : b->accepted_by ? b : NULL;
	const struct fd_rec *cli = acc == a ? b : a, *l;
	struct made_sock *ma, *mb;
	int sv[2];

	if (acc && (l = unix_by_id(&c->ctx->meta, acc->accepted_by))) {
		struct sockaddr_un sa;
		socklen_t len;
		struct made_sock *ml, *mc;
		struct ids_saved ids;
		int cs, as, lfd, ret;

		if (make(c, l) || !(u = state_of(c->ctx)) || !(ml = made(u, l->object_id)))
			return -1;
		lfd = ml->fd >= 0 ? ml->fd : l->fd;	/* the listener is in place already */
		len = where(u, l, &sa);
		cs = socket(AF_UNIX, cli->sock_type, 0);
		if (cs < 0)
			return fail(errno, NULL, "recreating socket fd %d", cli->fd);
		if (!(mc = add_made(c, u, cli->object_id, cs)))
			return -1;
		cs = mc->fd;
		if (bind_name(u, cs, cli))
			return -1;
		ids_as(acc, &ids);
		ret = connect(cs, (struct sockaddr *)&sa, len);
		ids_back(&ids);
		if (ret ||
		    (as = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			return fail(errno, NULL, "connecting fd %d to fd %d again through "
				    "listener fd %d", cli->fd, acc->fd, l->fd);
		return add_made(c, u, acc->object_id, as) ? 0 : -1;
	}
	if (socketpair_as(c, a, sv))
		return fail(errno, NULL, "recreating the socket pair of fd %d", a->fd);
	if (!(ma = add_made(c, u, a->object_id, sv[0])))
		return close(sv[1]), -1;
	sv[0] = ma->fd;
	if (!(mb = add_made(c, u, b->object_id, sv[1])))
		return -1;
	sv[1] = mb->fd;
	return bind_name(u, sv[0], a) || bind_name(u, sv[1], b) ? -1 : 0;
}

/* The socket of rec, made now if it is not yet, kept spare. */
static int make(struct fd_child *c, const struct fd_rec *rec)
{
	struct unix_restore *u = state_of(c->ctx);
	const struct fd_rec *p;
	struct made_sock *ms;
	int s;

	if (!u)
		return -1;
	if (made(u, rec->object_id))
		return 0;
	if ((p = mutual_peer(&c->ctx->meta, rec)))
		return make_pair(c, u, rec, p);
	if (rec->peer_gone) {
		int sv[2];
		if (socketpair_as(c, rec, sv))
			return fail(errno, NULL, "recreating socket fd %d", rec->fd);
		if (!(ms = add_made(c, u, rec->object_id, sv[0]))) {
			close(sv[1]);
			return -1;
		}
		if ((ms->partner = fd_spare(c, sv[1])) < 0)
			return -1;
		return bind_name(u, ms->fd, rec);
	}
	s = socket(AF_UNIX, rec->sock_type, 0);
	if (s < 0)
		return fail(errno, NULL, "recreating socket fd %d", rec->fd);
	if (!(ms = add_made(c, u, rec->object_id, s)))
		return -1;
	s = ms->fd;
	if (bind_name(u, s, rec))
		return -1;
	if (rec->sock_state == TCP_LISTEN) {
		struct ids_saved ids;
		int ret;

		ids_as(rec, &ids);
		ret = listen(s, rec->backlog);
		ids_back(&ids);
		if (ret)
			return fail(errno, NULL, "listening on unix socket fd %d", rec->fd);
	}
	if (rec->peer_addr.len && connect(s, rec->peer_addr.data, rec->peer_addr.len)) {
		if (rec->sock_type != SOCK_DGRAM)
			return fail(errno, "the peer must be listening again at its path",
				    "reconnecting unix socket fd %d", rec->fd);
		/* A datagram socket without its peer is only unconnected:
		 * its sends fail (ENOTCONN) until it connects again, as a
		 * syslog client does (check_unix warned). */
	}
	return 0;
}

static int open_unix(struct fd_child *c, const struct fd_rec *rec)
{
	struct made_sock *ms;
	int s;

	if (rec->peer_pid)
		return fail_why("its peer is in another process of the tree, and no common "
				"ancestor made the pair", "restart the whole tree", "recreating "
				"socket fd %d", rec->fd);
	if (make(c, rec))
		return -1;
	ms = made(c->ctx->slot[SLOT_UNIX], rec->object_id);
	if (!ms || ms->fd < 0)
		return fail_why("two open files for one socket", "not supported yet",
				"recreating socket fd %d", rec->fd);
	s = ms->fd;
	ms->fd = -1;
	if (sockopts_restore(c, s, rec, SOCKOPTS_EARLY | SOCKOPTS_BUFFERS))
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

/* -- finish: connections, queues, shutdowns, names -- */

static int send_one(int from, const struct sockaddr_un *to, socklen_t tolen,
		    const struct unix_msg_rec *msg, const struct restore_ctx *ctx, int type,
		    const struct fd_rec *rec)
{
	union {
		char buf[CMSG_SPACE(MAX_SCM_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { msg->data.data, msg->data.len };
	struct msghdr mh = { (void *)to, tolen, &iov, 1, ctl.buf, 0, 0 };
	size_t nfds = msg->fds.len / sizeof(int32_t), done = 0;
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));
	mh.msg_controllen = (nfds ? CMSG_SPACE(nfds * sizeof(int)) : 0) +
			    (msg->has_creds ? CMSG_SPACE(sizeof(struct ucred)) : 0);
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	cm = mh.msg_controllen ? CMSG_FIRSTHDR(&mh) : NULL;
	if (nfds) {
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), msg->fds.data, nfds * sizeof(int));
		cm = CMSG_NXTHDR(&mh, cm);
	}
	if (msg->has_creds) {
		struct ucred uc = { msg->pid, msg->uid, msg->gid };
		/* Our own pid as it is now; one gone is not seen (check_unix
		 * refused it where SO_PASSCRED shows it). */
		if (uc.pid == ctx->meta.process->pid || !uc.pid || (kill(uc.pid, 0) && errno == ESRCH))
			uc.pid = getpid();
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_CREDENTIALS;
		cm->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
	}
	do {
		ssize_t n = sendmsg(from, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return fail(errno, errno == ESRCH ? "the process that sent it is gone" :
				    errno == EAGAIN ? "the queue does not take it all here" :
				    errno == EPERM ? "sending the credentials of another user needs "
				    "CAP_SETUID and CAP_SETGID (run restart as root)" : NULL,
				    "refilling the queue of unix socket fd %d", rec->fd);
		done += n;
		if (type != SOCK_STREAM)
			break;
		iov.iov_base = (char *)msg->data.data + done;
		iov.iov_len = msg->data.len - done;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	} while (done < msg->data.len);
	return 0;
}

/* SO_PASSCRED makes an unbound socket take a name of its own (autobind)
 * when it connects or sends a datagram: off while we do so for it. */
static int passcred_off(int s)
{
	int on = 0, off = 0;
	socklen_t len = sizeof(on);

	if (!getsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, &len) && on)
		setsockopt(s, SOL_SOCKET, SO_PASSCRED, &off, sizeof(off));
	return on;
}

static void passcred_back(int s, int on)
{
	if (on)
		setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
}

/* Grow the sender's buffer for the refill; put back after. */
static int bump_sndbuf(int s, int *old)
{
	socklen_t len = sizeof(*old);
	int big = 64 << 20;

	if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, old, &len))
		return -1;
	if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		*old = -1;
	return 0;
}

static void restore_sndbuf(int s, int old)
{
	int half = old / 2;

	if (old > 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &half, sizeof(half));
}

/* The queue of rec, sent again from where it came. */
static int refill(struct fd_child *c, struct unix_restore *u, const struct fd_rec *rec)
{
	const struct image_meta *m = &c->ctx->meta;
	const struct fd_rec *peer = mutual_peer(m, rec);
	struct made_sock *ms = made(u, rec->object_id);
	size_t i;

	if (rec->peer_pid)
		return 0;	/* refilled when the pair was made (fd_unix_open_tree_pair) */
	/* Older images: a stream pair's queued bytes in inq. */
	if (rec->inq.len && peer && write(peer->fd, rec->inq.data, rec->inq.len) != (ssize_t)rec->inq.len)
		return fail(errno, NULL, "refilling the queue of fd %d", rec->fd);
	for (i = 0; i < m->nunix_msgs; i++) {
		const struct unix_msg_rec *msg = &m->unix_msgs[i];
		struct sockaddr_un to;
		socklen_t tolen = 0;
		int from = -1, tmp = -1, old, ret, pc;
		bool tmp_name = false;

		if (rec_by_fd(m, msg->fd) != rec)
			continue;
		if (peer && (rec->sock_type != SOCK_DGRAM || same_addr(&peer->local_addr, &msg->from)))
			from = peer->fd;
		else if (rec->peer_gone && ms && ms->partner >= 0 && !msg->from.len)
			from = ms->partner;
		else if (rec->sock_type == SOCK_DGRAM && msg->from.len > SUN_OFF) {
			const struct fd_rec *s = sender_of(m, msg);
			if (s) {
				from = s->fd;
				if (s->peer_id != rec->object_id)
					tolen = where(u, rec, &to);
			} else {
				/* From a socket of another process: one of ours
				 * takes its name for the time of the send. */
				tmp = from = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
				if (tmp >= 0 && bind(tmp, msg->from.data, msg->from.len)) {
					close(tmp);
					return fail(errno, "the name of the socket that sent it must be "
						    "free here", "refilling the queue of unix socket fd %d",
						    rec->fd);
				}
				tmp_name = true;
				tolen = where(u, rec, &to);
			}
		} else if (rec->sock_type == SOCK_DGRAM && named(rec)) {
			tmp = from = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			tolen = where(u, rec, &to);
		}
		if (from < 0)
			return fail_why("no sender for its queued data", NULL,
					"refilling the queue of unix socket fd %d", rec->fd);
		if (bump_sndbuf(from, &old)) {
			if (tmp >= 0)
				close(tmp);
			return fail(errno, NULL, "refilling the queue of unix socket fd %d", rec->fd);
		}
		pc = passcred_off(from);
		ret = send_one(from, tolen ? &to : NULL, tolen, msg, c->ctx, rec->sock_type, rec);
		passcred_back(from, pc);
		restore_sndbuf(from, old);
		if (tmp >= 0)
			close(tmp);
		if (tmp_name && ((const struct sockaddr_un *)msg->from.data)->sun_path[0]) {
			char path[sizeof(to.sun_path) + 1] = { 0 };
			memcpy(path, ((const struct sockaddr_un *)msg->from.data)->sun_path,
			       msg->from.len - SUN_OFF);
			unlink(path);
		}
		if (ret)
			return -1;
	}
	return 0;
}

/* The queue of rec (of process ctx) sent again from s, its peer. */
static int refill_from(struct restore_ctx *ctx, const struct fd_rec *rec, int s)
{
	size_t i;
	int old, pc, ret = 0;

	if (bump_sndbuf(s, &old))
		return fail(errno, NULL, "refilling the queue of unix socket fd %d", rec->fd);
	pc = passcred_off(s);
	for (i = 0; i < ctx->meta.nunix_msgs && !ret; i++)
		if (ctx->meta.unix_msgs[i].fd == rec->fd) {
			/* The sender's pid is not there yet (the common
			 * ancestor sends before it forks): its own. */
			struct unix_msg_rec msg = ctx->meta.unix_msgs[i];
			msg.pid = 0;
			ret = send_one(s, NULL, 0, &msg, ctx, rec->sock_type, rec);
		}
	passcred_back(s, pc);
	restore_sndbuf(s, old);
	return ret;
}

/* A pair whose ends a and b are in two processes of a tree (ca and cb): made
 * by their common ancestor before it forks, at spare_base or above and
 * close-on-exec, with its options, flags and both queues. */
int fd_unix_open_tree_pair(struct restore_ctx *ca, const struct fd_rec *a, struct restore_ctx *cb,
			   const struct fd_rec *b, int spare_base, int fds[2])
{
	struct restore_ctx *ctx[2] = { ca, cb };
	const struct fd_rec *rec[2] = { a, b };
	struct ids_saved ids;
	int sv[2], i, ret;

	fds[0] = fds[1] = -1;
	if (named(a) || named(b)) {
		/* A connection accepted by a listener: the named end is the
		 * accepted one (its name is the listener's). */
		int acc = named(a) ? 0 : 1;
		const char *step;

		ids_as(a, &ids);
		ret = unix_named_connection(a->sock_type, rec[acc]->local_addr.data,
					    rec[acc]->local_addr.len, rec[1 - acc]->local_addr.data,
					    rec[1 - acc]->local_addr.len, sv, &step);
		ids_back(&ids);
		if (ret)
			return fail(errno, errno == EPERM ? "restart needs CAP_SYS_CHROOT for "
				    "it: run it as root" : errno == EADDRINUSE ? "its abstract "
				    "name must be free while it is made" : NULL, "recreating the "
				    "connection of unix socket fd %d (between processes, accepted "
				    "by a listener): %s", rec[acc]->fd, step);
		if (acc) {
			int t = sv[0];
			sv[0] = sv[1];
			sv[1] = t;
		}
	} else {
		ids_as(a, &ids);
		ret = socketpair(AF_UNIX, a->sock_type | SOCK_CLOEXEC, 0, sv);
		ids_back(&ids);
		if (ret)
			return fail(errno, NULL, "recreating the socket pair of fd %d (between "
				    "processes)", a->fd);
	}
	for (i = 0; i < 2; i++) {
		fds[i] = fcntl(sv[i], F_DUPFD_CLOEXEC, spare_base);
		close(sv[i]);
	}
	for (i = 0; i < 2 && fds[0] >= 0 && fds[1] >= 0; i++) {
		struct fd_child c = { ctx[i], spare_base, NULL };
		if (sockopts_restore(&c, fds[i], rec[i], SOCKOPTS_EARLY | SOCKOPTS_BUFFERS))
			goto err;
	}
	if (fds[0] < 0 || fds[1] < 0) {
		fail(errno, NULL, "keeping the socket pair of fd %d for the children", a->fd);
		goto err;
	}
	for (i = 0; i < 2; i++)
		if (refill_from(ctx[i], rec[i], fds[1 - i]))
			goto err;
	for (i = 0; i < 2; i++)
		if (fcntl(fds[i], F_SETFL, rec[i]->flags & O_NONBLOCK)) {
			fail(errno, NULL, "restoring the flags of fd %d", rec[i]->fd);
			goto err;
		}
	return 0;
err:
	for (i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
	return -1;
}

/* A datagram client of a server socket of another process of the tree,
 * made with it by their common ancestor: connected to where the server's
 * file is now (beside its path when the name was gone: removed when its
 * holder is done, fds are inherited by then). */
int fd_unix_open_dgram_client(struct restore_ctx *cc, const struct fd_rec *rec,
			      struct restore_ctx *cs, const struct fd_rec *server, int spare_base)
{
	struct unix_restore *u = state_of(cs);
	struct fd_child c = { cc, spare_base, NULL };
	struct sockaddr_un sa;
	socklen_t len;
	int s, moved;

	if (!u)
		return -1;
	len = where(u, server, &sa);
	if (!len)
		return fail_why("its server has no name to connect to", "the image is corrupted",
				"connecting unix socket fd %d again (a client of fd %d of another "
				"process)", rec->fd, server->fd);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(errno, NULL, "recreating unix socket fd %d", rec->fd);
	moved = fcntl(s, F_DUPFD_CLOEXEC, spare_base);
	close(s);
	if (moved < 0)
		return fail(errno, NULL, "keeping unix socket fd %d for the children", rec->fd);
	if (sockopts_restore(&c, moved, rec, SOCKOPTS_EARLY | SOCKOPTS_BUFFERS))
		goto err;
	{
		int pc = passcred_off(moved);
		if (connect(moved, (struct sockaddr *)&sa, len)) {
			fail(errno, NULL, "connecting unix socket fd %d again to fd %d of another "
			     "process", rec->fd, server->fd);
			goto err;
		}
		passcred_back(moved, pc);
	}
	if (fcntl(moved, F_SETFL, rec->flags & O_NONBLOCK)) {
		fail(errno, NULL, "restoring the flags of fd %d", rec->fd);
		goto err;
	}
	return moved;
err:
	close(moved);
	return -1;
}

static int finish_all(struct fd_child *c)
{
	const struct image_meta *m = &c->ctx->meta;
	struct unix_restore *u = state_of(c->ctx);
	size_t i, k;

	if (!u)
		return -1;
	/* One-way datagram connections, and clients waiting to be accepted. */
	for (i = 0; i < m->nfds; i++) {
		const struct fd_rec *r = &m->fds[i], *p;
		struct sockaddr_un sa;
		socklen_t len;
		int pc;

		if (r->kind != FD_UNIX || r->share_index)
			continue;
		if (r->sock_state == TCP_LISTEN) {
			for (k = 0; k < r->icons.len / sizeof(uint64_t); k++) {
				uint64_t id;
				const struct fd_rec *cl;
				int s, pc;

				memcpy(&id, (char *)r->icons.data + k * sizeof(id), sizeof(id));
				cl = unix_by_id(m, id);
				len = where(u, r, &sa);
				s = cl ? cl->fd : socket(AF_UNIX, r->sock_type | SOCK_CLOEXEC, 0);
				pc = s >= 0 ? passcred_off(s) : 0;
				if (s < 0 || connect(s, (struct sockaddr *)&sa, len))
					return fail(errno, NULL, "connecting a client of listener fd %d "
						    "again", r->fd);
				passcred_back(s, pc);
				if (!cl)
					close(s);
			}
			continue;
		}
		if (r->sock_type != SOCK_DGRAM || !r->peer_id || mutual_peer(m, r) ||
		    !(p = unix_by_id(m, r->peer_id)))
			continue;
		len = where(u, p, &sa);
		pc = passcred_off(r->fd);
		if (!len || connect(r->fd, (struct sockaddr *)&sa, len))
			return fail(len ? errno : 0, len ? NULL : "its peer has no name",
				    "connecting unix socket fd %d to fd %d again", r->fd, p->fd);
		passcred_back(r->fd, pc);
	}
	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].kind == FD_UNIX && !m->fds[i].share_index && refill(c, u, &m->fds[i]))
			return -1;
	for (i = 0; i < u->nsocks; i++)
		if (u->socks[i].partner >= 0) {
			close(u->socks[i].partner);
			u->socks[i].partner = -1;
		}
	for (i = 0; i < m->nfds; i++) {
		const struct fd_rec *r = &m->fds[i];
		int how = (r->shutdown & 1 ? 1 : 0) + (r->shutdown & 2 ? 2 : 0);
		if (r->kind == FD_UNIX && !r->share_index && how && !r->peer_gone &&
		    shutdown(r->fd, how - 1) && errno != ENOTCONN)
			return fail(errno, NULL, "restoring the shutdown of unix socket fd %d", r->fd);
	}
	/* Names whose file was gone: removed again (they waited aside). */
	for (i = 0; i < u->nsocks; i++)
		if (u->socks[i].bound_path && u->socks[i].gone && unlink(u->socks[i].loc))
			return fail(errno, NULL, "removing %s again", u->socks[i].loc);
	while (u->ndirs)
		rmdir(u->dirs[--u->ndirs]);
	return 0;
}

static int finish_unix(struct fd_child *c, const struct fd_rec *rec)
{
	struct unix_restore *u = state_of(c->ctx);

	(void)rec;
	if (!u)
		return -1;
	if (u->finished)
		return 0;
	u->finished = true;
	return finish_all(c);
}

static void release_unix(struct restore_ctx *ctx)
{
	struct unix_restore *u = ctx->slot[SLOT_UNIX];
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->nsocks; i++) {
		if (u->socks[i].fd >= 0)
			close(u->socks[i].fd);
		if (u->socks[i].partner >= 0)
			close(u->socks[i].partner);
	}
	/* A failed restore (its processes are dead): the socket files it
	 * bound go; what was there before stays. */
	for (i = 0; ctx->failed && i < u->nnames; i++) {
		const struct name_before *nb = &u->names[i];
		struct stat st;

		if (!lstat(nb->path, &st) && S_ISSOCK(st.st_mode) &&
		    (!nb->existed || st.st_dev != nb->dev || st.st_ino != nb->ino) &&
		    unlink(nb->path) == 0)
			pr_info("removed %s, bound by the failed restore", nb->path);
	}
	free(u->names);
	free(u->socks);
	free(u->dirs);
	free(u);
	ctx->slot[SLOT_UNIX] = NULL;
}

const struct fd_kind_ops fd_unix_kind = {
	.kind = FD_UNIX,
	.name = "unix socket",
	.tag = "unix",
	.match = is_unix,
	.collect = collect_unix,
	.dump = dump_unix,
	.check = check_unix,
	.open = open_unix,
	.finish = finish_unix,
	.release = release_unix,
	.inflight_ok = true,
};
