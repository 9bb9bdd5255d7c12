/* Pipes and FIFOs.  A FIFO is a pipe with a name: both are one pipe
 * buffer reached through any number of open files, each a reader, a writer
 * or both, with its own flags (O_NONBLOCK, O_DIRECT packet mode).
 *
 * Dump: the data queued in the buffer is copied without consuming it (tee
 * into a pipe of our own), once per pipe, with the first fd of the pipe;
 * packet boundaries are kept.  Anonymous pipes are saved when the process
 * holds a reader and a writer, or only readers of a pipe whose writers are
 * all gone (or only writers, no reader left); an end of a pipe whose other
 * end is held by a process outside the checkpoint is an external end
 * (fd_external.c; on fds 0-2 it is stdio, see fds.c).  FIFOs by path, or, when deleted while open, with
 * their owner and mode, to be made again.
 *
 * Restore (in the child): each further open file of a pipe is a new open of
 * /proc/self/fd/N of one already there, which is how a program gets one.
 * An anonymous pipe is made with pipe2() at its first fd, and its other end
 * waits above the image's fds for the first fd of that end (the pipes made,
 * in the process's slot SLOT_PIPE).  A FIFO is first
 * opened read-write (which never blocks, and keeps it a reader and a writer
 * while we work: a write-only open without a reader gives ENXIO), then with
 * the recorded mode through that. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_PIPE_SIZE (1u << 30)
/* Flags of an open file of a pipe that F_SETFL puts back. */
#define PIPE_SETFL (O_NONBLOCK | O_DIRECT | O_APPEND)

/* ------------------------------------------------------------- dump */

static bool is_pipe_link(const struct fd_dump *d)
{
	return S_ISFIFO(d->st.st_mode) && !strncmp(d->link, "pipe:[", 6);
}

static bool same_pipe(const struct fd_dump *a, const struct fd_dump *b)
{
	return S_ISFIFO(a->st.st_mode) && S_ISFIFO(b->st.st_mode) &&
	       a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
}

/* The process holds a reader and a writer of this anonymous pipe. */
bool fd_pipe_inside(const struct fd_dump *d)
{
	bool reader = false, writer = false;
	size_t i;

	if (!is_pipe_link(d))
		return false;
	for (i = 0; i < d->nall; i++) {
		int mode = d->all[i].fi.flags & O_ACCMODE;
		if (!is_pipe_link(&d->all[i]) || !same_pipe(&d->all[i], d))
			continue;
		reader |= mode == O_RDONLY || mode == O_RDWR;
		writer |= mode == O_WRONLY || mode == O_RDWR;
	}
	for (i = 0; d->tree_pipes && i < d->tree_pipes->n; i++) {
		const struct tree_pipe_end *e = &d->tree_pipes->ends[i];
		if (e->sock || e->pid == d->pid || e->ino != d->st.st_ino)
			continue;
		reader |= e->mode == O_RDONLY || e->mode == O_RDWR;
		writer |= e->mode == O_WRONLY || e->mode == O_RDWR;
	}
	return reader && writer;
}

/* Every anonymous pipe not taken as stdio; dump_pipe() refuses those it
 * cannot rebuild. */
static bool is_pipe(const struct fd_dump *d)
{
	return is_pipe_link(d);
}

/* A pipe the process only reads (or only writes) is still whole in it if
 * nobody else holds the other side: a reader sees POLLHUP once every writer
 * is gone, a writer POLLERR once every reader is. */
static int check_whole(int fd, const struct fd_dump *d)
{
	struct pollfd p = { .fd = fd, .events = 0 };
	bool reader = (d->fi.flags & O_ACCMODE) == O_RDONLY;

	if (fd_pipe_inside(d))
		return 0;
	if (poll(&p, 1, 0) == 1 && (p.revents & (reader ? POLLHUP : POLLERR)))
		return 0;
	return fail_why(reader ? "its write end is held by another process" :
			"its read end is held by another process", "a pipe to another process "
			"cannot be rebuilt by this version: close it before checkpointing",
			"checking fd %d (%s)", d->fd, d->link);
}

/* The other end of this pipe end is held by a process not being saved: an
 * external end (fd_external.c).  A pipe the process holds both ends of,
 * or whose other end is gone, is this file's; so is one on 0-2 (stdio). */
bool fd_pipe_outside(const struct fd_dump *d)
{
	struct pollfd p;
	bool reader;
	int fd;

	if (!is_pipe_link(d) || d->own_fd >= 0 || d->fd <= 2 || fd_pipe_inside(d))
		return false;
	reader = (d->fi.flags & O_ACCMODE) == O_RDONLY;
	if ((fd = fd_steal(d->pid, d->fd)) < 0)
		return false;		/* (dump_pipe fails with the reason) */
	p = (struct pollfd){ .fd = fd, .events = 0 };
	if (poll(&p, 1, 0) == 1 && (p.revents & (reader ? POLLHUP : POLLERR))) {
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

/* The data belongs to the pipe, not to an open file: saved with its first
 * fd that is restored as this pipe (one on 0-2 may be stdio, see fds.c). */
static bool first_of_pipe(const struct fd_dump *d)
{
	const struct fd_dump *o;

	for (o = d->all; o < d->all + d->nall && o != d; o++)
		if (same_pipe(o, d) && !(o->fd <= 2 && is_pipe_link(o) && !fd_pipe_inside(o)))
			return false;
	return true;
}

/* A writer of the pipe of d in the process is in packet mode. */
static bool packet_writer(const struct fd_dump *d)
{
	size_t i;

	for (i = 0; i < d->nall; i++)
		if (same_pipe(&d->all[i], d) && (d->all[i].fi.flags & O_ACCMODE) != O_RDONLY &&
		    (d->all[i].fi.flags & O_DIRECT))
			return true;
	return false;
}

/* After tee, the copy holds the pipe's buffers with their packet flags: a
 * read stops at the end of a packet, and reads across buffers written
 * without O_DIRECT.  A byte of ours written after them (marked) shows
 * whether the last one was a packet: it comes alone if so.  Without room
 * for it, the last piece is a packet if a writer is in packet mode. */
static int read_pieces(int fd, struct fd_rec *rec, size_t len, bool marked, bool last_packet)
{
	size_t done = 0, n = 0, want = len + marked;
	uint32_t *packets = NULL;
	char *data = malloc(want);

	if (!data)
		return fail(ENOMEM, NULL, "copying a pipe buffer");
	while (done < want) {
		ssize_t got = read(fd, data + done, want - done);
		uint32_t *grown;

		if (got <= 0) {
			free(data);
			free(packets);
			return fail(got < 0 ? errno : EIO, NULL, "copying a pipe buffer");
		}
		done += got;
		if (done == want && (marked || !last_packet))
			break;
		grown = realloc(packets, (n + 1) * sizeof(*packets));
		if (!grown) {
			free(data);
			free(packets);
			return fail(ENOMEM, NULL, "copying a pipe buffer");
		}
		packets = grown;
		packets[n++] = got;
	}
	rec->data.data = data;
	rec->data.len = len;
	rec->pipe_packets.data = packets;
	rec->pipe_packets.len = n * sizeof(*packets);
	return 0;
}

/* Copy what is queued in the pipe of fd (our copy) without taking it out. */
static int peek_queue(int fd, const struct fd_dump *d, struct fd_rec *rec)
{
	int tmp[2] = { -1, -1 }, src = fd, queued = 0, ret = -1;
	bool marked = true;
	char self[64];
	ssize_t n;

	if (ioctl(fd, FIONREAD, &queued) || queued < 0 || (uint32_t)queued > rec->pipe_size)
		return fail(errno ? errno : EIO, NULL, "sizing the buffer of fd %d (%s)", d->fd,
			    d->link);
	if (!queued)
		return 0;
	if ((d->fi.flags & O_ACCMODE) == O_WRONLY) {
		/* tee needs a reader: one more, of the same pipe (only when
		 * there is data: a reader coming would also let a writer
		 * blocked in open() of a FIFO through). */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		src = open(self, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (src < 0)
			return fail(errno, NULL, "opening a reader of fd %d (%s)", d->fd, d->link);
	}
	/* One more page than the pipe, for the marker, if we may. */
	if (pipe2(tmp, O_NONBLOCK | O_CLOEXEC)) {
		fail(errno, NULL, "copying the buffer of fd %d (%s)", d->fd, d->link);
		goto out;
	}
	if (fcntl(tmp[1], F_SETPIPE_SZ, rec->pipe_size + 4096) < 0) {
		marked = false;
		if (fcntl(tmp[1], F_SETPIPE_SZ, rec->pipe_size) < 0) {
			fail(errno, NULL, "copying the buffer of fd %d (%s)", d->fd, d->link);
			goto out;
		}
	}
	n = tee(src, tmp[1], queued, SPLICE_F_NONBLOCK);
	if (n != queued) {
		fail(n < 0 ? errno : 0, n < 0 ? NULL : "the pipe was not copied whole",
		     "copying the buffer of fd %d (%s: %zd of %d bytes)", d->fd, d->link, n, queued);
		goto out;
	}
	if (marked && write(tmp[1], "", 1) != 1) {
		fail(errno, NULL, "copying the buffer of fd %d (%s)", d->fd, d->link);
		goto out;
	}
	ret = read_pieces(tmp[0], rec, queued, marked, packet_writer(d));
out:
	if (src != fd)
		close(src);
	if (tmp[0] >= 0) {
		close(tmp[0]);
		close(tmp[1]);
	}
	return ret;
}

/* Shared by pipes and FIFOs: identity, size, and (first fd only) data. */
static int dump_queue(int fd, const struct fd_dump *d, struct fd_rec *rec)
{
	int size;

	rec->object_id = d->st.st_ino;
	size = fcntl(fd, F_GETPIPE_SZ);
	if (size <= 0)
		return fail(errno, NULL, "reading the size of fd %d (%s)", d->fd, d->link);
	rec->pipe_size = size;
	return first_of_pipe(d) ? peek_queue(fd, d, rec) : 0;
}

int fd_pipe_dump_queue(int fd, const struct fd_dump *d, struct fd_rec *rec)
{
	return dump_queue(fd, d, rec);
}

static int dump_pipe(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	int fd = fd_steal(ctx->live, d->fd), ret;

	if (fd < 0)
		return -1;
	ret = check_whole(fd, d) || dump_queue(fd, d, rec) ? -1 : 0;
	close(fd);
	return ret;
}

/* (An O_PATH fd names the FIFO without opening the pipe: not ours.) */
static bool by_path(const struct fd_dump *d)
{
	return S_ISFIFO(d->st.st_mode) && d->link[0] == '/' && !(d->fi.flags & O_PATH);
}

static bool link_deleted(const struct fd_dump *d)
{
	size_t len = strlen(d->link);
	return len > 10 && !strcmp(d->link + len - 10, " (deleted)");
}

static bool is_fifo(const struct fd_dump *d) { return by_path(d) && !link_deleted(d); }
static bool is_fifo_deleted(const struct fd_dump *d) { return by_path(d) && link_deleted(d); }

/* A reader of a FIFO shows POLLHUP once a writer it has seen is gone (one
 * that came after it opened, or was there then); one opened while there was
 * none, and none has come since, does not. */
static int dump_fifo(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	size_t len = strlen(d->link);
	struct pollfd p;
	int fd, ret;

	if (link_deleted(d))
		len -= 10;
	rec->path = strndup(d->link, len);
	rec->fifo_mode = d->st.st_mode & 07777;
	rec->fifo_uid = d->st.st_uid;
	rec->fifo_gid = d->st.st_gid;
	if (!rec->path)
		return fail(ENOMEM, NULL, "recording fds");
	if ((fd = fd_steal(ctx->live, d->fd)) < 0)
		return -1;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if ((d->fi.flags & O_ACCMODE) == O_RDONLY && poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		rec->fifo_hup = 1;
	ret = dump_queue(fd, d, rec);
	close(fd);
	return ret;
}

/* ------------------------------------------------------------- check */

static int check_queue(const struct fd_rec *rec)
{
	const uint32_t *packets = rec->pipe_packets.data;
	uint64_t sum = 0;
	size_t i;

	if (rec->pipe_size > MAX_PIPE_SIZE || rec->data.len > rec->pipe_size ||
	    (rec->flags & O_ACCMODE) == O_ACCMODE || rec->pipe_packets.len % sizeof(*packets))
		return fail_why("invalid pipe record", "the image is corrupted", "checking fd %d",
				rec->fd);
	for (i = 0; i < rec->pipe_packets.len / sizeof(*packets); i++)
		sum += packets[i];
	if (sum > rec->data.len)
		return fail_why("invalid pipe record (packets)", "the image is corrupted",
				"checking fd %d", rec->fd);
	return 0;
}

/* A size above /proc/sys/fs/pipe-max-size (or past the user's share of
 * pipe pages) needs CAP_SYS_RESOURCE: tried now, before anything starts. */
static int check_size(const struct fd_rec *rec)
{
	int p[2], ret = 0;

	if (rec->pipe_size <= 16 * 4096)
		return 0;
	if (pipe2(p, O_CLOEXEC))
		return fail(errno, NULL, "checking the size of the pipe of fd %d", rec->fd);
	if (fcntl(p[1], F_SETPIPE_SZ, rec->pipe_size) < 0)
		ret = fail(errno, "a pipe larger than /proc/sys/fs/pipe-max-size needs "
			   "CAP_SYS_RESOURCE", "checking the size of the pipe of fd %d (%u bytes)",
			   rec->fd, rec->pipe_size);
	close(p[0]);
	close(p[1]);
	return ret;
}

static const struct fd_rec *placed_before(const struct image_meta *m, const struct fd_rec *rec);
static const struct fd_rec *queue_of(const struct image_meta *m, const struct fd_rec *rec);

/* The pipe is made with the size of its first fd and filled with the data
 * of the fd that holds it: that data must fit, one buffer page per packet
 * (O_DIRECT) plus the rest, or the refill would stop half-way. */
static int check_fits(const struct image_meta *m, const struct fd_rec *rec)
{
	const struct fd_rec *q;
	const uint32_t *packets;
	uint64_t pages = 0, done = 0, size;
	size_t i;

	if (placed_before(m, rec) || !(q = queue_of(m, rec)))
		return 0;
	size = rec->pipe_size ? rec->pipe_size : 16 * 4096;
	packets = q->pipe_packets.data;
	for (i = 0; i < q->pipe_packets.len / sizeof(*packets); i++) {
		pages += (packets[i] + 4095ull) / 4096;
		done += packets[i];
	}
	pages += (q->data.len - done + 4095) / 4096;
	if (q->data.len > size || pages > size / 4096)
		return fail_why("its recorded contents do not fit in its recorded size",
				"the image is corrupted", "checking the pipe of fd %d (%u bytes "
				"in %u packets for a pipe of %llu)", rec->fd, q->data.len,
				(unsigned)(q->pipe_packets.len / sizeof(*packets)),
				(unsigned long long)size);
	return 0;
}

static int check_pipe(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	return check_queue(rec) || check_fits(&ctx->meta, rec) || check_size(rec) ? -1 : 0;
}

static int check_fifo(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	struct stat st;

	(void)ctx;
	if (!image_path_ok(rec->path))
		return fail_why("invalid fd record", "the image is corrupted", "checking fd %d",
				rec->fd);
	if (check_queue(rec) || check_fits(&ctx->meta, rec) || check_size(rec))
		return -1;
	if (rec->kind == FD_FIFO_DELETED)
		return 0;
	if (stat(rec->path, &st))
		return fail(errno, "the named pipe must exist at the same path on this host",
			    "checking fd %d (%s)", rec->fd, rec->path);
	if (!S_ISFIFO(st.st_mode))
		return fail_why("it is no longer a named pipe", "put the named pipe back",
				"checking fd %d (%s)", rec->fd, rec->path);
	return 0;
}

/* ------------------------------------------------------------- restore */

/* The pipes the child made, whose pipe2() ends wait for their fds. */
struct pipe_made {
	uint64_t id;
	int ends[2];			/* -1 once taken */
};

/* The pipes made so far, in restore_ctx.slot[SLOT_PIPE]. */
struct pipes_made {
	struct pipe_made *made;
	size_t nmade;
};

static bool same_object(const struct fd_rec *a, const struct fd_rec *b)
{
	return a->kind == b->kind && !a->share_index && a->object_id == b->object_id &&
	       (a->kind == FD_PIPE || (a->path && b->path && !strcmp(a->path, b->path)));
}

/* An earlier fd of the same pipe, already in place (fds are restored in
 * order), or NULL if rec is the first. */
static const struct fd_rec *placed_before(const struct image_meta *m, const struct fd_rec *rec)
{
	const struct fd_rec *r;

	for (r = m->fds; r < rec && r < m->fds + m->nfds; r++)
		if (same_object(r, rec))
			return r;
	return NULL;
}

/* The data of the pipe: with its first fd (older images: its first reader). */
static const struct fd_rec *queue_of(const struct image_meta *m, const struct fd_rec *rec)
{
	size_t i;

	for (i = 0; i < m->nfds; i++)
		if (same_object(&m->fds[i], rec) && m->fds[i].data.len)
			return &m->fds[i];
	return NULL;
}

static int write_all(int fd, const char *data, size_t len, const struct fd_rec *rec)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(n < 0 ? errno : EIO, n < 0 && errno == EAGAIN ? "the image holds "
				    "more than the pipe takes" : NULL, "refilling the pipe of fd %d",
				    rec->fd);
		data += n;
		len -= n;
	}
	return 0;
}

/* Size the new pipe and put its data back through fd, a writer of it:
 * the packets one by one in packet mode, then the rest. */
static int refill(int fd, const struct image_meta *m, const struct fd_rec *rec)
{
	const struct fd_rec *q = queue_of(m, rec);
	const uint32_t *packets;
	const char *data;
	size_t i, done = 0;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return fail(errno, NULL, "refilling the pipe of fd %d", rec->fd);
	if (rec->pipe_size && fcntl(fd, F_SETPIPE_SZ, rec->pipe_size) < 0)
		return fail(errno, "a pipe larger than /proc/sys/fs/pipe-max-size needs "
			    "CAP_SYS_RESOURCE", "resizing the pipe of fd %d to %u", rec->fd,
			    rec->pipe_size);
	if (!q)
		return 0;
	packets = q->pipe_packets.data;
	data = q->data.data;
	if (q->pipe_packets.len && fcntl(fd, F_SETFL, fl | O_DIRECT))
		return fail(errno, NULL, "refilling the pipe of fd %d", rec->fd);
	for (i = 0; i < q->pipe_packets.len / sizeof(*packets); i++) {
		if (write_all(fd, data + done, packets[i], rec))
			return -1;
		done += packets[i];
	}
	if (fcntl(fd, F_SETFL, fl & ~O_DIRECT))
		return fail(errno, NULL, "refilling the pipe of fd %d", rec->fd);
	return write_all(fd, data + done, q->data.len - done, rec);
}

/* A new open file of the pipe or FIFO that fd (ours) opens, as recorded. */
static int reopen_as(int fd, const struct fd_rec *rec)
{
	char self[64];
	int again;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	again = open(self, (rec->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
	if (again < 0)
		return fail(errno, NULL, "reopening the pipe of fd %d (%s)", rec->fd,
			    rec->description);
	return again;
}

static int set_flags(int fd, const struct fd_rec *rec)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, (fl & ~PIPE_SETFL) | (rec->flags & PIPE_SETFL))) {
		fail(errno, NULL, "restoring the flags of fd %d (%s)", rec->fd, rec->description);
		close(fd);
		return -1;
	}
	return fd;
}

static struct pipe_made *pipe_made(struct fd_child *c, uint64_t id)
{
	struct pipes_made *m = c->ctx->slot[SLOT_PIPE];
	size_t i;

	for (i = 0; m && i < m->nmade; i++)
		if (m->made[i].id == id)
			return &m->made[i];
	return NULL;
}

static int open_pipe(struct fd_child *c, const struct fd_rec *rec);
static void release_pipes(struct restore_ctx *ctx);

static int make_pipe(struct fd_child *c, const struct fd_rec *rec)
{
	struct pipes_made *m = c->ctx->slot[SLOT_PIPE];
	struct pipe_made *grown, *p;
	int ends[2];

	if (!m && !(m = c->ctx->slot[SLOT_PIPE] = calloc(1, sizeof(*m))))
		return fail(ENOMEM, NULL, "recreating pipes");
	grown = realloc(m->made, (m->nmade + 1) * sizeof(*grown));
	if (!grown)
		return fail(ENOMEM, NULL, "recreating pipes");
	m->made = grown;
	/* Non-blocking while we fill it: an image claiming more than fits
	 * fails instead of hanging; each fd gets its own flags after. */
	if (pipe2(ends, O_CLOEXEC | O_NONBLOCK))
		return fail(errno, NULL, "recreating the pipe of fd %d", rec->fd);
	p = &m->made[m->nmade++];
	p->id = rec->object_id;
	p->ends[0] = p->ends[1] = -1;
	if (refill(ends[1], &c->ctx->meta, rec)) {
		close(ends[0]);
		close(ends[1]);
		return -1;
	}
	if ((p->ends[0] = fd_spare(c, ends[0])) < 0) {
		close(ends[1]);
		return -1;
	}
	return (p->ends[1] = fd_spare(c, ends[1])) < 0 ? -1 : 0;
}

/* The first reader and the first writer are the pipe2() ends (open files
 * made by open() show O_LARGEFILE in their flags, those of pipe2() not);
 * every other open file is a reopen of the pipe. */
static int open_pipe(struct fd_child *c, const struct fd_rec *rec)
{
	const struct fd_rec *before = placed_before(&c->ctx->meta, rec);
	int mode = rec->flags & O_ACCMODE, fd;
	struct pipe_made *p = pipe_made(c, rec->object_id);

	if (!p && before) {
		/* The pipe came with an fd we did not make (from the parent). */
		fd = reopen_as(before->fd, rec);
		return fd < 0 ? -1 : set_flags(fd, rec);
	}
	if (!p && make_pipe(c, rec))
		return -1;
	p = pipe_made(c, rec->object_id);
	if (mode != O_RDWR && p->ends[mode] >= 0 && !(rec->flags & O_LARGEFILE)) {
		fd = p->ends[mode];
		p->ends[mode] = -1;
		return set_flags(fd, rec);
	}
	fd = reopen_as(before ? before->fd : p->ends[0] >= 0 ? p->ends[0] : p->ends[1], rec);
	return fd < 0 ? -1 : set_flags(fd, rec);
}

static int owner_and_mode(int fd, const struct fd_rec *rec)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if ((st.st_uid != rec->fifo_uid || st.st_gid != rec->fifo_gid) &&
	    fchown(fd, rec->fifo_uid, rec->fifo_gid))
		return -1;
	return fchmod(fd, rec->fifo_mode & 07777);
}

/* A FIFO deleted while open: made again under its name if that is free
 * (else beside it, else in /tmp) with its owner and mode, opened, and
 * unlinked. */
static int make_deleted_fifo(const struct fd_rec *rec)
{
	char name[PATH_MAX], dir[PATH_MAX];
	int fd, i;

	snprintf(dir, sizeof(dir), "%s", rec->path);
	for (i = 0; i < 3; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "%s", rec->path);
		else
			snprintf(name, sizeof(name), "%s/.ckpt-fifo-%d-%d", i == 1 ? dirname(dir) : "/tmp",
				 (int)getpid(), rec->fd);
		if (!mkfifo(name, 0600))
			break;
		if (i == 2)
			return fail(errno, NULL, "recreating the deleted named pipe of fd %d (%s)",
				    rec->fd, rec->path);
	}
	fd = open(name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || owner_and_mode(fd, rec)) {
		fail(errno, errno == EPERM ? "giving it its owner needs root" : NULL,
		     "recreating the deleted named pipe of fd %d (%s, owner %u:%u)", rec->fd, name,
		     rec->fifo_uid, rec->fifo_gid);
		unlink(name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (unlink(name)) {
		close(fd);
		return fail(errno, NULL, "unlinking the named pipe of fd %d (%s)", rec->fd, name);
	}
	return fd;
}

/* A reader-writer of the FIFO of rec: the one already open, or the FIFO at
 * its path, or a new deleted one. */
static int fifo_keeper(const struct fd_rec *rec, const struct fd_rec *before)
{
	char self[64];
	const char *path = rec->path;
	int fd;

	if (!before && rec->kind == FD_FIFO_DELETED)
		return make_deleted_fifo(rec);
	if (before) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", before->fd);
		path = self;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	/* Not readable and writable by us (its mode): the recorded mode only. */
	if (fd < 0 && errno == EACCES)
		fd = open(path, (rec->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "the named pipe must be accessible at the same path",
			    "reopening fd %d (%s)", rec->fd, rec->path);
	return fd;
}

static int open_fifo(struct fd_child *c, const struct fd_rec *rec)
{
	const struct fd_rec *before = placed_before(&c->ctx->meta, rec);
	int keeper = fifo_keeper(rec, before), queued = 0, fd;

	if (keeper < 0)
		return -1;
	/* A FIFO that kept data through the checkpoint is open elsewhere:
	 * what it holds now is the truth, not our copy. */
	if (!before && ioctl(keeper, FIONREAD, &queued)) {
		fail(errno, NULL, "refilling the named pipe of fd %d", rec->fd);
		close(keeper);
		return -1;
	}
	if (!before && !queued && refill(keeper, &c->ctx->meta, rec)) {
		close(keeper);
		return -1;
	}
	if (queued)
		pr_info("fd %d (%s): the named pipe holds %d bytes already, left as they are\n",
			rec->fd, rec->path, queued);
	if ((rec->flags & O_ACCMODE) == O_RDONLY && !rec->fifo_hup) {
		/* A reader that has seen no writer is opened while there is
		 * none of ours: the keeper gives way to a reader holding the FIFO. */
		int hold = reopen_as(keeper, rec);
		close(keeper);
		if ((keeper = hold) < 0)
			return -1;
	}
	fd = reopen_as(keeper, rec);
	close(keeper);
	return fd < 0 ? -1 : set_flags(fd, rec);
}

static void release_pipes(struct restore_ctx *ctx)
{
	struct pipes_made *m = ctx->slot[SLOT_PIPE];

	if (!m)
		return;
	free(m->made);
	free(m);
	ctx->slot[SLOT_PIPE] = NULL;
}

/* One pipe, several processes: its open files as if one process held
 * them all, each renumbered to where it lands (so that a reopen finds
 * the one before). */
int fd_pipe_open_group(const struct restore_opts *opts, struct fd_rec *recs, size_t n,
		       int spare_base, int *fds)
{
	struct restore_ctx scratch = { .opts = opts };
	struct fd_child c = { &scratch, spare_base, NULL };
	size_t i;
	int ret = 0;

	scratch.meta.fds = recs;
	scratch.meta.nfds = n;
	for (i = 0; i < n && !ret; i++) {
		int fd = open_pipe(&c, &recs[i]), moved;

		if (fd < 0) {
			ret = -1;
			break;
		}
		moved = fcntl(fd, F_DUPFD_CLOEXEC, spare_base);
		close(fd);
		if (moved < 0)
			ret = fail(errno, NULL, "keeping a pipe for the children");
		fds[i] = moved;
		recs[i].fd = moved;
	}
	release_pipes(&scratch);
	return ret;
}

const struct fd_kind_ops fd_pipe_kind = {
	.kind = FD_PIPE,
	.name = "pipe",
	.tag = "pipe",
	.match = is_pipe,
	.dump = dump_pipe,
	.check = check_pipe,
	.open = open_pipe,
	.release = release_pipes,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
const struct fd_kind_ops fd_fifo_kind = {
	.kind = FD_FIFO,
	.name = "named pipe",
	.tag = "fifo",
	.match = is_fifo,
	.dump = dump_fifo,
	.check = check_fifo,
	.open = open_fifo,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
const struct fd_kind_ops fd_fifo_deleted_kind = {
	.kind = FD_FIFO_DELETED,
	.name = "deleted named pipe",
	.tag = "ghostfifo",
	.match = is_fifo_deleted,
	.dump = dump_fifo,
	.check = check_fifo,
	.open = open_fifo,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
