/* File locks held through an open file: flock, POSIX (fcntl) and OFD
 * locks and leases (F_SETLEASE, also while being broken), from the "lock:"
 * lines of fdinfo, which list exactly the locks of that open file.  The restart child takes them again after the fd table
 * is in place (POSIX locks belong to the process and survive exec); a lock
 * someone else holds by now is an error naming the file. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

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
		if (l->kind == LOCK_LEASE && !strcmp(mode, "BREAKING")) {
			/* rw is what it is being broken to: a write lease
			 * downgrades to READ; either kind goes to UNLCK (a read
			 * lease needs a read-only fd). */
			l->breaking = !strcmp(rw, "READ") ? 1 : 2;
			l->write = l->breaking == 1 || (d->fi.flags & O_ACCMODE) != O_RDONLY;
		} else if (l->kind == LOCK_LEASE && strcmp(mode, "ACTIVE")) {
			return fail_why("unexpected lease state", NULL, "checking the lease of fd "
					"%d (%s): %s", d->fd, d->link, mode);
		}
		l->start = start;
		l->end = strcmp(end, "EOF") ? atoll(end) : -1;
	}
	return 0;
}

/* A lease that was being broken: taken, then broken again the way it was
 * (a non-blocking open for reading downgrades a write lease, one for
 * writing breaks any lease), which starts the break time anew.  The
 * process was told of the break already: the signal the break sends now
 * goes nowhere (the file's owner, which may be another process of a tree,
 * is taken off it for the moment; ignored here too). */
static int break_lease(const struct lock_rec *l)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_io, old_sig;
	struct f_owner_ex owner = { F_OWNER_PID, 0 }, none = { F_OWNER_PID, 0 };
	int sig = fcntl(l->fd, F_GETSIG), fd, err;
	bool owned = !fcntl(l->fd, F_GETOWN_EX, &owner) && owner.pid;
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", l->fd);
	if (sig <= 0)
		sig = SIGIO;
	if (owned && fcntl(l->fd, F_SETOWN_EX, &none))
		return fail(errno, NULL, "breaking the lease of fd %d again", l->fd);
	sigaction(SIGIO, &ign, &old_io);
	sigaction(sig, &ign, &old_sig);
	fd = open(self, (l->breaking == 1 ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC);
	err = errno;
	sigaction(sig, &old_sig, NULL);
	sigaction(SIGIO, &old_io, NULL);
	if (owned && fcntl(l->fd, F_SETOWN_EX, &owner)) {
		if (fd >= 0)
			close(fd);
		return fail(errno, NULL, "giving fd %d its owner back", l->fd);
	}
	if (fd >= 0) {
		close(fd);
		return fail_why("the lease did not start breaking", NULL,
				"breaking the lease of fd %d again", l->fd);
	}
	if (err != EWOULDBLOCK)
		return fail(err, NULL, "breaking the lease of fd %d again", l->fd);
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
		if (!ret && l->kind == LOCK_LEASE && l->breaking && break_lease(l))
			return -1;
		if (ret)
			return fail(errno, errno == EAGAIN || errno == EWOULDBLOCK ?
				    "another process holds a conflicting lock now" :
				    errno == EBUSY ? "another process has the file open now (a "
				    "lease needs it alone)" : NULL,
				    "taking the lock of fd %d again", l->fd);
	}
	return 0;
}
