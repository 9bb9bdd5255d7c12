/* epoll: every watched fd with its events and data, from fdinfo "tfd:"
 * lines, into meta/epoll.  Opened after every other fd, since its watches
 * refer to them by number. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static bool is_epoll(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[eventpoll]");
}

static bool fd_open_in(const struct fd_dump *d, int fd)
{
	size_t i;

	for (i = 0; i < d->nall; i++)
		if (d->all[i].fd == fd)
			return true;
	return false;
}

static int dump_epoll(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	const char *line;

	(void)rec;
	for (line = strstr(d->fdinfo, "tfd:"); line; line = strstr(line + 1, "\ntfd:")) {
		struct epoll_rec *e;
		int tfd;
		unsigned events;
		unsigned long long data;

		if (*line == '\n')
			line++;
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
			return fail_why("unexpected epoll fdinfo", NULL, "checking fd %d", d->fd);
		if (!fd_open_in(d, tfd))
			return fail_why("it watches a file no longer open under that fd number",
					"not supported yet", "checking epoll fd %d (watch on fd %d)",
					d->fd, tfd);
		e = meta_push(&ctx->meta.epolls, &ctx->meta.nepolls, sizeof(*e));
		if (!e)
			return -1;
		e->epfd = d->fd;
		e->tfd = tfd;
		e->events = events;
		e->data = data;
	}
	return 0;
}

static int open_epoll(struct fd_child *c, const struct fd_rec *rec)
{
	const struct image_meta *m = &c->ctx->meta;
	int fd = epoll_create1(0);
	size_t i;

	if (fd < 0)
		return fail(errno, NULL, "recreating epoll fd %d", rec->fd);
	for (i = 0; i < m->nepolls; i++) {
		struct epoll_event ev = { .events = m->epolls[i].events,
					  .data.u64 = m->epolls[i].data };
		if (m->epolls[i].epfd != rec->fd)
			continue;
		if (epoll_ctl(fd, EPOLL_CTL_ADD, m->epolls[i].tfd, &ev)) {
			fail(errno, NULL, "restoring the watch of epoll fd %d on fd %d", rec->fd,
			     m->epolls[i].tfd);
			close(fd);
			return -1;
		}
	}
	return fd;
}

const struct fd_kind_ops fd_epoll_kind = {
	.kind = FD_EPOLL,
	.name = "epoll",
	.tag = "epoll",
	.match = is_epoll,
	.dump = dump_epoll,
	.open = open_epoll,
	.late = true,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
