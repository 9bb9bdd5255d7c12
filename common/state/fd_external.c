/* External ends: an anonymous pipe end, or a unix stream or seqpacket
 * socket, whose other end belongs to a process that is not saved (an
 * inherited jobserver pipe, a supervisor's log pipe, a connection to an
 * outside daemon).  Fds 0-2 are stdio (fds.c), not these.
 *
 * Dump.  What the end is: a pipe's read or write end and its size, a
 * socket's type and its peer's name if it has one.  Queued data: what the
 * outside writer had put in a pipe the process reads, or what the outside
 * peer had sent on the socket, is the process's to read and is copied
 * (without being consumed); data the process had written into a pipe
 * whose reader is outside is the pipe's, read by that reader: it is not
 * saved (a restore would only duplicate it).  A message queued on the
 * socket carrying fds is refused.  A socket's options are saved (sockopts.c)
 * and set again on what it gets at restart.
 *
 * Restore.  restart --inherit-fd [PID:]N=FD (fd N of the image's process
 * PID, by default its root, where that open file is first made):
 * the fd is restart's FD (a pipe or FIFO is reopened through
 * /proc/self/fd/FD, a new open file with the recorded flags; anything
 * else is the given open file itself, O_NONBLOCK set as recorded).  The
 * data saved with it is not put back then (restart warns): the process
 * reads what comes through FD.  Without --inherit-fd: a new pipe (or
 * socket pair) whose other end is closed once the saved data is in:
 * reads see that data, then end of file; writes fail with EPIPE (and
 * SIGPIPE).  restart prints one warning line for each such fd. */
#define LOG_PREFIX ""
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_EXT_DATA (1u << 30)
#define EXT_SETFL (O_NONBLOCK | O_DIRECT | O_APPEND)

static bool reader_end(const struct fd_rec *rec)
{
	return (rec->flags & O_ACCMODE) == O_RDONLY;
}

void fd_external_describe(const struct fd_rec *rec, char *buf, size_t size)
{
	const char *what = rec->description ? rec->description : "?";

	if (rec->kind == FD_EXT_PIPE) {
		snprintf(buf, size, "%s %s end, its %s was outside the checkpoint", what,
			 reader_end(rec) ? "read" : "write", reader_end(rec) ? "writer" : "reader");
		return;
	}
	if (rec->peer_addr.len > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *a = rec->peer_addr.data;
		int len = rec->peer_addr.len - offsetof(struct sockaddr_un, sun_path);

		snprintf(buf, size, "%s unix %s socket, connected to %s%.*s outside the "
			 "checkpoint", what, rec->sock_type == SOCK_STREAM ? "stream" : "seqpacket",
			 a->sun_path[0] ? "" : "@", a->sun_path[0] ? len : len - 1,
			 a->sun_path + !a->sun_path[0]);
		return;
	}
	snprintf(buf, size, "%s unix %s socket, its peer was outside the checkpoint", what,
		 rec->sock_type == SOCK_STREAM ? "stream" : "seqpacket");
}

/* ------------------------------------------------------------- dump */

static bool is_ext_pipe(const struct fd_dump *d)
{
	return fd_pipe_outside(d);
}

static bool is_ext_unix(const struct fd_dump *d)
{
	return fd_unix_outside(d);
}

static int dump_ext_pipe(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	int fd = fd_steal(ctx->pid, d->fd), size, ret = 0;

	if (fd < 0)
		return -1;
	rec->object_id = d->st.st_ino;
	if (reader_end(rec)) {
		ret = fd_pipe_dump_queue(fd, d, rec);
	} else if ((size = fcntl(fd, F_GETPIPE_SZ)) <= 0) {
		ret = fail(errno, NULL, "reading the size of fd %d (%s)", d->fd, d->link);
	} else {
		rec->pipe_size = size;
	}
	close(fd);
	if (!ret)
		pr_info("fd %d: an external end (%s %s end)\n", d->fd, d->link,
			reader_end(rec) ? "read" : "write");
	return ret;
}

/* The messages unix.c's collect found queued on it move into the record:
 * the bytes in data, a seqpacket's message lengths in pipe_packets. */
static int take_queue(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct image_meta *m = &ctx->meta;
	size_t i, kept = 0, n = 0, len = 0;
	uint32_t *packets = NULL;
	char *data = NULL;

	for (i = 0; i < m->nunix_msgs; i++) {
		const struct unix_msg_rec *msg = &m->unix_msgs[i];
		if (msg->fd != rec->fd)
			continue;
		if (msg->fds.len)
			return fail_why("a message queued on it from the outside peer carries fds, "
					"which cannot be saved with an external end",
					"read it before checkpointing", "checking fd %d (%s)", d->fd,
					d->link);
		len += msg->data.len;
		n++;
	}
	if (!n)
		return 0;
	if (len > MAX_EXT_DATA)
		return fail_why("more than 1 GiB is queued on it", "read it first",
				"checking fd %d (%s)", d->fd, d->link);
	data = malloc(len ? len : 1);
	packets = rec->sock_type == SOCK_SEQPACKET ? calloc(n, sizeof(*packets)) : NULL;
	if (!data || (rec->sock_type == SOCK_SEQPACKET && !packets)) {
		free(data);
		free(packets);
		return fail(ENOMEM, NULL, "recording fd %d", d->fd);
	}
	len = n = 0;
	for (i = 0; i < m->nunix_msgs; i++) {
		struct unix_msg_rec *msg = &m->unix_msgs[i];
		if (msg->fd != rec->fd) {
			m->unix_msgs[kept++] = *msg;
			continue;
		}
		memcpy(data + len, msg->data.data, msg->data.len);
		len += msg->data.len;
		if (packets)
			packets[n++] = msg->data.len;
		free(msg->data.data);
		free(msg->from.data);
		free(msg->fds.data);
	}
	m->nunix_msgs = kept;
	rec->data.data = data;
	rec->data.len = len;
	rec->pipe_packets.data = packets;
	rec->pipe_packets.len = n * sizeof(*packets);
	return 0;
}

static int dump_ext_unix(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	int s = fd_steal(ctx->pid, d->fd);

	if (s < 0)
		return -1;
	rec->sock_domain = AF_UNIX;
	rec->sock_type = d->sock_type;
	rec->object_id = d->st.st_ino;
	/* Its options (SO_PASSCRED, buffer sizes, timeouts ...): sockopts.c. */
	if (sockopts_dump(ctx, s, rec->fd, AF_UNIX, d->sock_type, 0)) {
		close(s);
		return -1;
	}
	memset(&peer, 0, sizeof(peer));
	if (!getpeername(s, (struct sockaddr *)&peer, &len) &&
	    len > offsetof(struct sockaddr_un, sun_path) && len <= sizeof(peer) &&
	    blob_set(&rec->peer_addr, &peer, len)) {
		close(s);
		return fail(ENOMEM, NULL, "recording fds");
	}
	close(s);
	if (take_queue(ctx, d, rec))
		return -1;
	pr_info("fd %d: an external end (%s)\n", d->fd, d->link);
	return 0;
}

/* ------------------------------------------------------------- check */

/* The peer was bound to a path (not abstract): --ext-unix could have
 * reconnected it. */
static bool path_peer(const struct fd_rec *rec)
{
	const struct sockaddr_un *a = rec->peer_addr.data;
	return rec->peer_addr.len > offsetof(struct sockaddr_un, sun_path) && a->sun_path[0];
}

static bool is_root(const struct restore_ctx *ctx)
{
	return !ctx->prefix[0];
}

/* The external end fd n of the image names (itself or a dup of it). */
static const struct fd_rec *ext_of(const struct image_meta *m, int n)
{
	size_t i;

	for (i = 0; i < m->nfds; i++) {
		const struct fd_rec *r = &m->fds[i];
		if (r->fd != n || r->inflight)
			continue;
		if (r->share_index)
			r = &m->fds[r->share_index - 1];
		return r->kind == FD_EXT_PIPE || r->kind == FD_EXT_UNIX ? r : NULL;
	}
	return NULL;
}

static pid_t image_pid(const struct restore_ctx *ctx)
{
	return ctx->meta.process ? ctx->meta.process->pid : 0;
}

/* Is --inherit-fd entry e for this process?  (PID:N=FD, or N=FD for the
 * root.) */
bool fd_external_entry_here(const struct restore_ctx *ctx, const struct inherit_fd *e)
{
	return e->pid ? e->pid == image_pid(ctx) : is_root(ctx);
}

/* Which --inherit-fd entry is for rec: its index, -1 none. */
static long given_for(const struct restore_ctx *ctx, const struct fd_rec *rec)
{
	size_t i;

	if (rec->tree_pid)
		return -1;
	for (i = 0; i < ctx->opts->ninherit; i++)
		if (fd_external_entry_here(ctx, &ctx->opts->inherit[i]) &&
		    ext_of(&ctx->meta, ctx->opts->inherit[i].n) == rec)
			return i;
	return -1;
}

static bool in_tree(const struct image_meta *root, pid_t pid)
{
	size_t i;

	for (i = 0; i < root->ntree; i++)
		if (root->tree[i].pid == pid)
			return true;
	return root->process && root->process->pid == pid;
}

int fd_external_check_opts(struct restore_ctx *ctx)
{
	const struct restore_opts *o = ctx->opts;
	size_t i, j;

	for (i = 0; i < o->ninherit; i++) {
		const struct inherit_fd *e = &o->inherit[i];
		const struct fd_rec *r;
		char what[PATH_MAX + 128], pidc[24] = "";

		if (e->pid)
			snprintf(pidc, sizeof(pidc), "%d:", e->pid);
		/* (the root sees the tree: an entry for no process of it) */
		if (is_root(ctx) && e->pid && !in_tree(&ctx->meta, e->pid))
			return fail_why("the image has no process of that PID", "ckpt info IMAGE "
					"lists its processes", "--inherit-fd %s%d=%d", pidc, e->n,
					e->fd);
		if (!fd_external_entry_here(ctx, e))
			continue;
		if (!(r = ext_of(&ctx->meta, e->n)))
			return fail_why("the image has no external end there (a pipe or unix "
					"socket whose other end was outside the checkpoint)",
					"ckpt info IMAGE shows them, as extpipe or extunix",
					"--inherit-fd %s%d=%d", pidc, e->n, e->fd);
		if (r->tree_pid)
			return fail_why("that fd is an open file it shares with an earlier process "
					"of the tree", "give it for that process: --inherit-fd "
					"PID:N=FD, with the PID and fd number ckpt info shows there",
					"--inherit-fd %s%d=%d (shared with process %d)", pidc, e->n,
					e->fd, r->tree_pid);
		for (j = 0; j < i; j++)
			if (fd_external_entry_here(ctx, &o->inherit[j]) && ext_of(&ctx->meta, o->inherit[j].n) == r)
				return fail_why("that end is given twice (by two fds of the "
						"image that are one open file)", "give one --inherit-fd for it",
						"--inherit-fd %s%d=%d", pidc, e->n, e->fd);
		if (r->data.len) {
			fd_external_describe(r, what, sizeof(what));
			snprintf(pidc, sizeof(pidc), " of process %d", image_pid(ctx));
			pr_warn("fd %d%s (%s): the %u bytes queued on it when it was saved are "
				"not put back: it reads from fd %d now", r->fd, is_root(ctx) ? "" :
				pidc, what, r->data.len, e->fd);
		}
	}
	return 0;
}

static int check_given(const struct fd_rec *rec, int n, int fd)
{
	int fl = fcntl(fd, F_GETFL), type = 0, acc;
	socklen_t len = sizeof(type);

	if (fl < 0)
		return fail(errno, "give restart that fd (restart ... FD<FILE)",
			    "--inherit-fd %d=%d", n, fd);
	acc = fl & O_ACCMODE;
	if (rec->kind == FD_EXT_PIPE && (reader_end(rec) ? acc == O_WRONLY : acc == O_RDONLY))
		return fail_why(reader_end(rec) ? "it is not open for reading, and the process "
				"reads from that end" : "it is not open for writing, and the process "
				"writes to that end", NULL, "--inherit-fd %d=%d", n, fd);
	if (rec->kind == FD_EXT_UNIX &&
	    (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != rec->sock_type))
		return fail_why(rec->sock_type == SOCK_STREAM ? "it is not a stream socket, as "
				"that end was" : "it is not a seqpacket socket, as that end was",
				"give it one end of a socket pair, or a connected socket",
				"--inherit-fd %d=%d", n, fd);
	return 0;
}

static int check_ext(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const uint32_t *packets = rec->pipe_packets.data;
	char what[PATH_MAX + 128], reads[96];
	uint64_t sum = 0;
	long g;
	size_t i;

	if (rec->inflight || rec->data.len > MAX_EXT_DATA || rec->pipe_packets.len % sizeof(*packets) ||
	    (rec->kind == FD_EXT_PIPE && ((!reader_end(rec) && (rec->flags & O_ACCMODE) != O_WRONLY) ||
					  rec->pipe_size > MAX_EXT_DATA ||
					  rec->data.len > rec->pipe_size ||
					  (!reader_end(rec) && (rec->data.len || rec->pipe_packets.len)))) ||
	    (rec->kind == FD_EXT_UNIX && (rec->sock_domain != AF_UNIX ||
					  (rec->sock_type != SOCK_STREAM &&
					   rec->sock_type != SOCK_SEQPACKET) ||
					  (rec->sock_type == SOCK_STREAM && rec->pipe_packets.len) ||
					  rec->peer_addr.len > sizeof(struct sockaddr_un))))
		return fail_why("invalid external end record", "the image is corrupted",
				"checking fd %d", rec->fd);
	for (i = 0; i < rec->pipe_packets.len / sizeof(*packets); i++)
		sum += packets[i];
	if (sum > rec->data.len || (rec->kind == FD_EXT_UNIX && rec->pipe_packets.len &&
				    sum != rec->data.len))
		return fail_why("invalid external end record (messages)", "the image is corrupted",
				"checking fd %d", rec->fd);
	if (rec->kind == FD_EXT_UNIX && sockopts_check(ctx, rec))
		return -1;
	if ((g = given_for(ctx, rec)) >= 0)
		return check_given(rec, ctx->opts->inherit[g].n, ctx->opts->inherit[g].fd);
	if (rec->tree_pid)
		return 0;		/* the open file of an earlier process: told there */
	fd_external_describe(rec, what, sizeof(what));
	if (rec->data.len)
		snprintf(reads, sizeof(reads), "it reads the %u bytes saved with it, then end of "
			 "file", rec->data.len);
	else
		snprintf(reads, sizeof(reads), "it reads end of file");
	if (is_root(ctx))
		pr_warn("fd %d (%s) has no peer now: %s%s%s (give --inherit-fd %d=FD to connect "
			"it%s)", rec->fd, what, rec->kind == FD_EXT_PIPE && !reader_end(rec) ? "" :
			reads, rec->kind == FD_EXT_UNIX ? ", " : "", reader_end(rec) ? "" :
			"its writes fail with EPIPE", rec->fd, rec->kind == FD_EXT_UNIX &&
			path_peer(rec) ? "; ckpt --ext-unix connects it again to its peer's name" : "");
	else
		pr_warn("fd %d of process %d (%s) has no peer now: %s%s%s (give --inherit-fd "
			"%d:%d=FD to connect it)", rec->fd, image_pid(ctx), what,
			rec->kind == FD_EXT_PIPE && !reader_end(rec) ? "" : reads,
			rec->kind == FD_EXT_UNIX ? ", " : "", reader_end(rec) ? "" :
			"its writes fail with EPIPE", image_pid(ctx), rec->fd);
	return 0;
}

/* ------------------------------------------------------------- restore */

static int set_flags(int fd, const struct fd_rec *rec, int mask)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, (fl & ~mask) | (rec->flags & mask))) {
		fail(errno, NULL, "restoring the flags of fd %d (%s)", rec->fd, rec->description);
		close(fd);
		return -1;
	}
	return fd;
}

/* restart's fd given for rec: a pipe is reopened (an open file of its own,
 * with the recorded flags), anything else shared as it is. */
static int open_given(struct fd_child *c, const struct fd_rec *rec, long g)
{
	int fd = c->given ? c->given[g] : c->ctx->opts->inherit[g].fd, again;
	struct stat st;
	char self[64];

	if (!fstat(fd, &st) && S_ISFIFO(st.st_mode) && rec->kind == FD_EXT_PIPE) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		again = open(self, (rec->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
		if (again >= 0)
			return set_flags(again, rec, EXT_SETFL);
		/* (A write-only open of a pipe without reader: ENXIO.) */
	}
	again = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (again < 0)
		return fail(errno, NULL, "placing fd %d (--inherit-fd %d=%d)", rec->fd, rec->fd,
			    c->ctx->opts->inherit[g].fd);
	return set_flags(again, rec, O_NONBLOCK);
}

static int write_all(int fd, const char *data, size_t len, const struct fd_rec *rec)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(n < 0 ? errno : EIO, n < 0 && errno == EAGAIN ? "the image holds "
				    "more than it takes" : NULL, "refilling fd %d (%s)", rec->fd,
				    rec->description);
		data += n;
		len -= n;
	}
	return 0;
}

/* No peer: a pipe, or a socket pair, whose other end is closed once what
 * was saved is in. */
static int open_alone(const struct fd_rec *rec)
{
	const uint32_t *packets = rec->pipe_packets.data;
	int ends[2], keep, other;
	size_t i, done = 0;

	if (rec->kind == FD_EXT_PIPE ? pipe2(ends, O_CLOEXEC | O_NONBLOCK) :
	    socketpair(AF_UNIX, rec->sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ends))
		return fail(errno, NULL, "recreating fd %d (%s)", rec->fd, rec->description);
	keep = rec->kind == FD_EXT_PIPE && !reader_end(rec) ? ends[1] : ends[0];
	other = keep == ends[0] ? ends[1] : ends[0];
	if (rec->kind == FD_EXT_PIPE && rec->pipe_size &&
	    fcntl(keep, F_SETPIPE_SZ, rec->pipe_size) < 0 && errno != EPERM) {
		fail(errno, NULL, "resizing the pipe of fd %d to %u", rec->fd, rec->pipe_size);
		goto err;
	}
	if (rec->data.len && rec->kind == FD_EXT_UNIX) {
		int size = rec->data.len * 2 + 65536;
		setsockopt(other, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
		setsockopt(other, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	/* A pipe's packets (O_DIRECT) one by one in packet mode, then the rest;
	 * a seqpacket socket's messages one by one. */
	if (rec->kind == FD_EXT_PIPE && rec->pipe_packets.len &&
	    fcntl(other, F_SETFL, O_DIRECT | O_NONBLOCK)) {
		fail(errno, NULL, "refilling fd %d (%s)", rec->fd, rec->description);
		goto err;
	}
	for (i = 0; i < rec->pipe_packets.len / sizeof(*packets); i++) {
		if (packets[i] &&
		    write_all(other, (const char *)rec->data.data + done, packets[i], rec))
			goto err;
		done += packets[i];
	}
	if (rec->kind == FD_EXT_PIPE && fcntl(other, F_SETFL, O_NONBLOCK)) {
		fail(errno, NULL, "refilling fd %d (%s)", rec->fd, rec->description);
		goto err;
	}
	/* (Nothing saved: no data pointer to offset.) */
	if (rec->data.len > done &&
	    write_all(other, (const char *)rec->data.data + done, rec->data.len - done, rec))
		goto err;
	close(other);
	return set_flags(keep, rec, rec->kind == FD_EXT_PIPE ? EXT_SETFL : O_NONBLOCK);
err:
	close(ends[0]);
	close(ends[1]);
	return -1;
}

static int open_ext(struct fd_child *c, const struct fd_rec *rec)
{
	long g = given_for(c->ctx, rec);
	const struct image_meta *m = &c->ctx->meta;
	const struct fd_rec *r;
	int fd;

	/* A further open file of the same end (not a dup): the same again. */
	for (r = m->fds; r < rec; r++)
		if (r->kind == rec->kind && !r->share_index && !r->inflight &&
		    r->object_id == rec->object_id && g < 0 && given_for(c->ctx, r) < 0) {
			fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				return fail(errno, NULL, "placing fd %d (%s)", rec->fd,
					    rec->description);
			return fd;
		}
	fd = g >= 0 ? open_given(c, rec, g) : open_alone(rec);
	/* A socket gets the options it had (the one given too: it is the
	 * process's now). */
	if (fd >= 0 && rec->kind == FD_EXT_UNIX &&
	    sockopts_restore(c, fd, rec, SOCKOPTS_EARLY | SOCKOPTS_BUFFERS)) {
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_kind_ops fd_ext_pipe_kind = {
	.kind = FD_EXT_PIPE,
	.name = "external pipe end",
	.tag = "extpipe",
	.match = is_ext_pipe,
	.dump = dump_ext_pipe,
	.check = check_ext,
	.open = open_ext,
};
const struct fd_kind_ops fd_ext_unix_kind = {
	.kind = FD_EXT_UNIX,
	.name = "external unix socket",
	.tag = "extunix",
	.match = is_ext_unix,
	.dump = dump_ext_unix,
	.check = check_ext,
	.open = open_ext,
};
