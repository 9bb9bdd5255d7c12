/* eventfd: the counter and semaphore mode, from fdinfo. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static bool is_eventfd(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[eventfd]");
}

static int dump_eventfd(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	unsigned long long count;
	unsigned sem = 0;

	(void)ctx;
	if (!fdinfo_scan(d->fdinfo, "eventfd-count", "%llx", &count))
		return fail_why("no eventfd-count in fdinfo", NULL, "checking fd %d", d->fd);
	fdinfo_scan(d->fdinfo, "eventfd-semaphore", "%u", &sem);
	rec->count = count;
	rec->semaphore = sem;
	return 0;
}

static int open_eventfd(struct fd_child *c, const struct fd_rec *rec)
{
	int fd = eventfd(0, (rec->flags & O_NONBLOCK ? EFD_NONBLOCK : 0) |
			 (rec->semaphore ? EFD_SEMAPHORE : 0));
	uint64_t count = rec->count;

	(void)c;
	if (fd < 0)
		return fail(errno, NULL, "recreating eventfd %d", rec->fd);
	/* The initial value is only 32 bits wide: write the counter. */
	if (count && write(fd, &count, sizeof(count)) != sizeof(count)) {
		fail(errno, NULL, "restoring the counter of eventfd %d", rec->fd);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_kind_ops fd_eventfd_kind = {
	.kind = FD_EVENTFD,
	.name = "eventfd",
	.tag = "eventfd",
	.match = is_eventfd,
	.dump = dump_eventfd,
	.open = open_eventfd,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
