/* epoll: every watch with its events (EPOLLET, EPOLLONESHOT... included)
 * and data, from the fdinfo "tfd:" lines, into meta/epoll.
 *
 * A watch is keyed by the open file *and* the fd number it was added
 * with; that fd may have been closed or dup'ed since, or hold another file
 * now (several watches on "fd 702" of different files).  So each watch
 * records the file itself: an fd of the process on it, found with kcmp
 * KCMP_EPOLL_TFD.  A watched file the process holds by no fd (only a
 * mapping or another process keeps it open) is refused.
 *
 * Restore: the epoll fds are made empty, and
 * the watches are added in finish(), once every fd is in place (an epoll
 * may watch another one): with the fd number of the watch, made to point
 * at the watched file for the time of the EPOLL_CTL_ADD when it does not. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool is_epoll(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[eventpoll]");
}

/* Is the file of d's watch number toff on tfd the one of fd j?  *err gets
 * the errno of a kcmp that failed.  A file in flight (only in a unix
 * socket's queue: an epoll sent and closed, or a watched file) is our
 * copy, an fd of ckpt. */
static bool watches(const struct fd_dump *d, int tfd, int toff, size_t j, int *err)
{
	const struct fd_dump *f = &d->all[j];
	struct kcmp_epoll_slot slot = { .efd = d->own_fd >= 0 ? d->own_fd : d->fd, .tfd = tfd,
					.toff = toff };
	long r = syscall(SYS_kcmp, f->live, d->live, KCMP_EPOLL_TFD,
			 f->own_fd >= 0 ? f->own_fd : f->fd, &slot);

	if (r < 0)
		*err = errno;
	return r == 0;
}

/* 1 + index in d->all of an fd on the watched file, 0 if none. */
static uint32_t find_target(const struct fd_dump *d, int tfd, int toff,
			    unsigned long ino, int *err)
{
	size_t j;

	for (j = 0; j < d->nall; j++)	/* most often the fd still there */
		if (d->all[j].fd == tfd && d->all[j].st.st_ino == ino &&
		    watches(d, tfd, toff, j, err))
			return j + 1;
	for (j = 0; j < d->nall; j++)
		if (d->all[j].st.st_ino == ino && watches(d, tfd, toff, j, err))
			return j + 1;
	return 0;
}

static int dump_epoll(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	size_t first = ctx->meta.nepolls, i;
	const char *line;

	(void)rec;
	for (line = strstr(d->fdinfo, "tfd:"); line; line = strstr(line + 1, "\ntfd:")) {
		struct epoll_rec *e;
		int tfd, toff = 0, err = 0;
		unsigned events;
		unsigned long long data;
		unsigned long ino;

		if (*line == '\n')
			line++;
		if (sscanf(line, "tfd: %d events: %x data: %llx pos:%*d ino:%lx", &tfd, &events,
			   &data, &ino) != 4)
			return fail_why("unexpected epoll fdinfo", NULL, "checking fd %d", d->fd);
		/* The kernel counts the watches on one fd number in this order. */
		for (i = first; i < ctx->meta.nepolls; i++)
			toff += ctx->meta.epolls[i].tfd == tfd;
		e = meta_push(&ctx->meta.epolls, &ctx->meta.nepolls, sizeof(*e));
		if (!e)
			return -1;
		e->epfd = d->fd;
		e->tfd = tfd;
		e->events = events;
		e->data = data;
		e->target = find_target(d, tfd, toff, ino, &err);
		if (!e->target && err)
			return fail(err, "kcmp(KCMP_EPOLL_TFD) needs CONFIG_CHECKPOINT_RESTORE",
				    "finding the file epoll fd %d watches (fd %d)", d->fd, tfd);
		if (!e->target)
			return fail_why("it watches a file the process holds by no fd (a mapping "
					"or another process keeps it open)", "not supported yet",
					"checking epoll fd %d (watch on fd %d, inode %lu)", d->fd,
					tfd, ino);
	}
	return 0;
}

/* The meta/epoll records: each of an epoll fd of the image, on an fd of it. */
static int check_epoll(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const struct image_meta *m = &ctx->meta;
	size_t i;

	for (i = 0; i < m->nepolls; i++) {
		const struct epoll_rec *e = &m->epolls[i];

		if (e->epfd != rec->fd)
			continue;
		if (e->tfd < 0 || e->tfd > (1 << 20) || e->target > m->nfds ||
		    (e->target && m->fds[e->target - 1].fd == rec->fd))
			return fail_why("invalid epoll record", "the image is corrupted",
					"checking epoll fd %d", rec->fd);
	}
	return 0;
}

static int open_epoll(struct fd_child *c, const struct fd_rec *rec)
{
	int fd = epoll_create1(0);

	(void)c;
	if (fd < 0)
		return fail(errno, NULL, "recreating epoll fd %d", rec->fd);
	return fd;
}

/* The record of the open file fd i of the image is on. */
static size_t owner_of(const struct image_meta *m, size_t i)
{
	return m->fds[i].share_index ? m->fds[i].share_index - 1 : i;
}

/* Index in meta/fds of the fd numbered fd, or -1. */
static long index_of(const struct image_meta *m, int fd)
{
	size_t i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].fd == fd)
			return i;
	return -1;
}

/* Add the watch with fd number e->tfd pointing at the file of fd target
 * for the moment, whatever it holds otherwise. */
static int add_moved(struct fd_child *c, int epfd, const struct epoll_rec *e, int target,
		     struct epoll_event *ev)
{
	int saved = -1, flags = fcntl(e->tfd, F_GETFD), ret, err;

	if (flags >= 0 && (saved = fcntl(e->tfd, F_DUPFD_CLOEXEC, c->spare_base)) < 0)
		return fail(errno, NULL, "keeping fd %d aside", e->tfd);
	if (dup2(target, e->tfd) < 0) {
		err = errno;
		if (saved >= 0)
			close(saved);
		return fail(err, NULL, "placing the watched file of epoll fd %d at fd %d", epfd,
			    e->tfd);
	}
	ret = epoll_ctl(epfd, EPOLL_CTL_ADD, e->tfd, ev);
	err = errno;
	if (saved >= 0) {
		if (dup2(saved, e->tfd) < 0 || fcntl(e->tfd, F_SETFD, flags))
			return fail(errno, NULL, "putting fd %d back", e->tfd);
		close(saved);
	} else {
		close(e->tfd);
	}
	return ret ? fail(err, NULL, "restoring the watch of epoll fd %d on fd %d", epfd,
			  e->tfd) : 0;
}

static int finish_epoll(struct fd_child *c, const struct fd_rec *rec)
{
	const struct image_meta *m = &c->ctx->meta;
	size_t i;

	for (i = 0; i < m->nepolls; i++) {
		const struct epoll_rec *e = &m->epolls[i];
		struct epoll_event ev = { .events = e->events, .data.u64 = e->data };
		long at;

		if (e->epfd != rec->fd)
			continue;
		at = index_of(m, e->tfd);
		if (!e->target ||
		    (at >= 0 && owner_of(m, at) == owner_of(m, e->target - 1))) {
			if (epoll_ctl(rec->fd, EPOLL_CTL_ADD, e->tfd, &ev))
				return fail(errno, NULL, "restoring the watch of epoll fd %d on "
					    "fd %d", rec->fd, e->tfd);
		} else if (add_moved(c, rec->fd, e, m->fds[e->target - 1].fd, &ev)) {
			return -1;
		}
	}
	return 0;
}

const struct fd_kind_ops fd_epoll_kind = {
	.kind = FD_EPOLL,
	.name = "epoll",
	.tag = "epoll",
	.match = is_epoll,
	.dump = dump_epoll,
	.check = check_epoll,
	.open = open_epoll,
	.finish = finish_epoll,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
