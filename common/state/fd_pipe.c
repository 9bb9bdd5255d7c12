/* Pipes with both ends in the process (a self-pipe, a pipe between two
 * threads): the data sitting in the buffer is read without consuming it
 * (tee into a pipe of our own) and written back into a new pipe of the
 * same size.  A pipe whose other end is in another process cannot be
 * rebuilt by this version (except on fds 0-2, see fds.c). */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_pipe(const struct fd_dump *d)
{
	size_t i;

	if (!S_ISFIFO(d->st.st_mode) || strncmp(d->link, "pipe:[", 6))
		return false;
	for (i = 0; i < d->nall; i++)
		if (d->all[i].st.st_ino == d->st.st_ino && !strncmp(d->all[i].link, "pipe:[", 6) &&
		    (d->all[i].fi.flags & O_ACCMODE) != (d->fi.flags & O_ACCMODE))
			return true;
	return false;
}

/* Copy what is buffered in the pipe without taking it out. */
static int peek_data(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	int src = fd_steal(ctx->pid, d->fd), tmp[2] = { -1, -1 }, ret = -1;
	ssize_t n;

	if (src < 0)
		return -1;
	rec->pipe_size = fcntl(src, F_GETPIPE_SZ);
	if ((int)rec->pipe_size <= 0 || pipe2(tmp, O_NONBLOCK | O_CLOEXEC) ||
	    fcntl(tmp[1], F_SETPIPE_SZ, rec->pipe_size) < 0) {
		fail(errno, NULL, "copying the buffer of fd %d (%s)", d->fd, d->link);
		goto out;
	}
	n = tee(src, tmp[1], rec->pipe_size, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		fail(errno, NULL, "copying the buffer of fd %d (%s)", d->fd, d->link);
		goto out;
	}
	if (n > 0) {
		rec->data.data = malloc(n);
		if (!rec->data.data || read(tmp[0], rec->data.data, n) != n) {
			fail(errno ? errno : EIO, NULL, "copying the buffer of fd %d", d->fd);
			goto out;
		}
		rec->data.len = n;
	}
	ret = 0;
out:
	close(src);
	if (tmp[0] >= 0) {
		close(tmp[0]);
		close(tmp[1]);
	}
	return ret;
}

static int dump_pipe(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	rec->object_id = d->st.st_ino;
	/* The data belongs to the pipe: take it once, with the read end. */
	if ((d->fi.flags & O_ACCMODE) != O_RDONLY) {
		int fd = fd_steal(ctx->pid, d->fd);
		if (fd < 0)
			return -1;
		rec->pipe_size = fcntl(fd, F_GETPIPE_SZ);
		close(fd);
		return 0;
	}
	return peek_data(ctx, d, rec);
}

static int check_pipe(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	(void)ctx;
	if (rec->data.len > rec->pipe_size || rec->pipe_size > (1u << 30))
		return fail_why("invalid pipe record", "the image is corrupted", "checking fd %d",
				rec->fd);
	return 0;
}

/* The child makes each pipe once, when it meets the first of its ends,
 * and keeps the other end aside until its turn. */
struct pipe_made {
	uint64_t id;
	int ends[2];
};

/* The pipes made so far, in restore_ctx.slot[SLOT_PIPE]. */
struct pipes_made {
	struct pipe_made *made;
	size_t nmade;
};

static const struct fd_rec *read_end_of(const struct image_meta *m, uint64_t id)
{
	size_t i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].kind == FD_PIPE && m->fds[i].object_id == id &&
		    !m->fds[i].share_index && (m->fds[i].flags & O_ACCMODE) == O_RDONLY)
			return &m->fds[i];
	return NULL;
}

static int make_pipe(struct fd_child *c, const struct fd_rec *rec, struct pipe_made *p)
{
	const struct fd_rec *reader = read_end_of(&c->ctx->meta, rec->object_id);
	int ends[2];

	if (pipe(ends))
		return fail(errno, NULL, "recreating the pipe of fd %d", rec->fd);
	if (rec->pipe_size && fcntl(ends[1], F_SETPIPE_SZ, rec->pipe_size) < 0)
		return fail(errno, "a pipe larger than /proc/sys/fs/pipe-max-size needs root",
			    "resizing the pipe of fd %d to %u", rec->fd, rec->pipe_size);
	if (reader && reader->data.len &&
	    write(ends[1], reader->data.data, reader->data.len) != (ssize_t)reader->data.len)
		return fail(errno, NULL, "refilling the pipe of fd %d", rec->fd);
	p->id = rec->object_id;
	if ((p->ends[0] = fd_spare(c, ends[0])) < 0 || (p->ends[1] = fd_spare(c, ends[1])) < 0)
		return -1;
	return 0;
}

static int open_pipe(struct fd_child *c, const struct fd_rec *rec)
{
	int end = (rec->flags & O_ACCMODE) == O_RDONLY ? 0 : 1, fd;
	struct pipes_made *m = c->ctx->slot[SLOT_PIPE];
	struct pipe_made *p = NULL;
	size_t i;

	if (!m && !(m = c->ctx->slot[SLOT_PIPE] = calloc(1, sizeof(*m))))
		return fail(ENOMEM, NULL, "recreating pipes");
	for (i = 0; i < m->nmade; i++)
		if (m->made[i].id == rec->object_id)
			p = &m->made[i];
	if (!p) {
		struct pipe_made *grown = realloc(m->made, (m->nmade + 1) * sizeof(*grown));
		if (!grown)
			return fail(ENOMEM, NULL, "recreating pipes");
		m->made = grown;
		p = &m->made[m->nmade++];
		if (make_pipe(c, rec, p))
			return -1;
	}
	fd = p->ends[end];
	p->ends[end] = -1;
	if (fd < 0)
		return fail_why("two open files for one end of a pipe", "not supported yet",
				"recreating the pipe of fd %d", rec->fd);
	if (fcntl(fd, F_SETFL, rec->flags & O_NONBLOCK))
		return fail(errno, NULL, "restoring the flags of fd %d", rec->fd);
	return fd;
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

const struct fd_kind_ops fd_pipe_kind = {
	.kind = FD_PIPE,
	.name = "pipe",
	.tag = "pipe",
	.match = is_pipe,
	.dump = dump_pipe,
	.check = check_pipe,
	.open = open_pipe,
	.release = release_pipes,
};
