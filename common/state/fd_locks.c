/* File locks held through an open file: flock, POSIX (fcntl) and OFD
 * locks and leases (F_SETLEASE), from the "lock:" lines of fdinfo, which
 * list exactly the locks of that open file.  A lease being broken is
 * refused: the break cannot be replayed.  The restart child takes them again after the fd table
 * is in place (POSIX locks belong to the process and survive exec); a lock
 * someone else holds by now is an error naming the file. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

int fd_locks_dump(struct dump_ctx *ctx, const struct fd_dump *d)
{
	const char *line;

	for (line = strstr(d->fdinfo, "lock:"); line; line = strstr(line + 1, "\nlock:")) {
		char type[16], mode[16], rw[16], end[32];
		long long start;
		struct lock_rec *l;

		if (*line == '\n')
			line++;
		if (sscanf(line, "lock: %*d: %15s %15s %15s %*d %*s %lld %31s", type, mode, rw,
			   &start, end) != 5)
			return fail_why("unexpected lock line in fdinfo", NULL, "checking fd %d",
					d->fd);
		if (!strcmp(type, "LEASE") && strcmp(mode, "ACTIVE"))
			return fail_why("a lease is being broken (another process opened the file)",
					"checkpoint once the lease is given up or the break is over",
					"checking the lease of fd %d (%s)", d->fd, d->link);
		if (strcmp(mode, "ADVISORY") && strcmp(type, "LEASE"))
			return fail_why("mandatory locks and delegations are not supported", NULL,
					"checking the locks of fd %d (%s): %s %s", d->fd, d->link,
					type, mode);
		l = meta_push(&ctx->meta.locks, &ctx->meta.nlocks, sizeof(*l));
		if (!l)
			return -1;
		l->fd = d->fd;
		l->kind = !strcmp(type, "FLOCK") ? LOCK_FLOCK :
			  !strcmp(type, "POSIX") ? LOCK_POSIX :
			  !strcmp(type, "LEASE") ? LOCK_LEASE : LOCK_OFD;
		if (strcmp(type, "FLOCK") && strcmp(type, "POSIX") && strcmp(type, "OFDLCK") &&
		    strcmp(type, "LEASE"))
			return fail_why("unknown kind of lock", NULL, "checking the locks of fd %d "
					"(%s): %s", d->fd, d->link, type);
		l->write = !strcmp(rw, "WRITE");
		l->start = start;
		l->end = strcmp(end, "EOF") ? atoll(end) : -1;
	}
	return 0;
}

int fd_locks_restore_child(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nlocks; i++) {
		const struct lock_rec *l = &ctx->meta.locks[i];
		struct flock fl = {
			.l_type = l->write ? F_WRLCK : F_RDLCK,
			.l_whence = SEEK_SET,
			.l_start = l->start,
			.l_len = l->end < 0 ? 0 : l->end - (int64_t)l->start + 1,
		};
		int ret;

		if (l->kind < LOCK_FLOCK || l->kind > LOCK_LEASE)
			return fail_why("invalid lock record", "the image is corrupted",
					"taking the lock of fd %d again", l->fd);
		if (l->kind == LOCK_FLOCK)
			ret = flock(l->fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
		else if (l->kind == LOCK_LEASE)
			ret = fcntl(l->fd, F_SETLEASE, l->write ? F_WRLCK : F_RDLCK);
		else
			ret = fcntl(l->fd, l->kind == LOCK_POSIX ? F_SETLK : F_OFD_SETLK, &fl);
		if (ret)
			return fail(errno, errno == EAGAIN || errno == EWOULDBLOCK ?
				    "another process holds a conflicting lock now" :
				    errno == EBUSY ? "another process has the file open now (a "
				    "lease needs it alone)" : NULL,
				    "taking the lock of fd %d again", l->fd);
	}
	return 0;
}
