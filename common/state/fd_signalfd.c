/* signalfd: the mask of signals it reads, from fdinfo. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool is_signalfd(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[signalfd]");
}

static int dump_signalfd(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	unsigned long long mask;

	(void)ctx;
	if (!fdinfo_scan(d->fdinfo, "sigmask", "%llx", &mask))
		return fail_why("no sigmask in fdinfo", NULL, "checking fd %d", d->fd);
	rec->sigmask = mask;
	return 0;
}

static int open_signalfd(struct fd_child *c, const struct fd_rec *rec)
{
	uint64_t mask = rec->sigmask;
	int fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
			 rec->flags & O_NONBLOCK ? SFD_NONBLOCK : 0);

	(void)c;
	if (fd < 0)
		return fail(errno, NULL, "recreating signalfd %d", rec->fd);
	return fd;
}

const struct fd_kind_ops fd_signalfd_kind = {
	.kind = FD_SIGNALFD,
	.name = "signalfd",
	.tag = "signalfd",
	.match = is_signalfd,
	.dump = dump_signalfd,
	.open = open_signalfd,
};
