/* Files deleted while open, and memfds (which are never linked): their
 * contents go into the image (up to a limit) and restart gives the process
 * an unlinked file — or a memfd of the same name and seals — with the same
 * data, at the same offset. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_SAVED (64ull << 20)	/* bytes of a deleted file kept in the image */

static bool deleted(const struct fd_dump *d)
{
	size_t len = strlen(d->link);
	return S_ISREG(d->st.st_mode) && d->link[0] == '/' && len > 10 &&
	       !strcmp(d->link + len - 10, " (deleted)");
}

static bool is_memfd(const struct fd_dump *d)
{
	return deleted(d) && !strncmp(d->link, "/memfd:", 7);
}

static bool is_deleted(const struct fd_dump *d)
{
	return deleted(d) && !is_memfd(d);
}

static int save_contents(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	uint64_t size = d->st.st_size, done = 0;
	int fd;

	if (size > MAX_SAVED)
		return fail_why("the deleted file is too large to save", "at most 64 MiB of a "
				"deleted file are saved; keep the file linked while checkpointing",
				"checking fd %d (%s, %llu MiB)", d->fd, d->link,
				(unsigned long long)(size >> 20));
	fd = fd_steal(ctx->pid, d->fd);
	if (fd < 0)
		return -1;
	rec->data.data = malloc(size ? size : 1);
	rec->data.len = size;
	if (!rec->data.data) {
		close(fd);
		return fail(ENOMEM, NULL, "saving fd %d", d->fd);
	}
	while (done < size) {
		ssize_t n = pread(fd, (char *)rec->data.data + done, size - done, done);
		if (n <= 0) {
			close(fd);
			return fail(n < 0 ? errno : EIO, NULL, "reading fd %d (%s)", d->fd, d->link);
		}
		done += n;
	}
	if (is_memfd(d)) {
		int seals = fcntl(fd, F_GET_SEALS);
		rec->seals = seals < 0 ? 0 : seals;
	}
	close(fd);
	rec->path = strndup(d->link, strlen(d->link) - 10);
	return rec->path ? 0 : fail(ENOMEM, NULL, "saving fd %d", d->fd);
}

static int check_saved(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	(void)ctx;
	if (!rec->path || rec->data.len != rec->size)
		return fail_why("invalid fd record", "the image is corrupted", "checking fd %d",
				rec->fd);
	return 0;
}

static int write_all(int fd, const struct fd_rec *rec)
{
	size_t done = 0;

	while (done < rec->data.len) {
		ssize_t n = write(fd, (char *)rec->data.data + done, rec->data.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(errno, NULL, "recreating fd %d (%s)", rec->fd, rec->path);
		done += n;
	}
	return 0;
}

/* Reopen the file we filled with the recorded flags, at the offset. */
static int reopen_as_recorded(int fd, const struct fd_rec *rec)
{
	char self[64];
	int again;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	again = open(self, fd_reopen_flags(rec));
	close(fd);
	if (again < 0)
		return fail(errno, NULL, "reopening fd %d (%s)", rec->fd, rec->path);
	if (lseek(again, rec->pos, SEEK_SET) < 0) {
		close(again);
		return fail(errno, NULL, "seeking fd %d", rec->fd);
	}
	return again;
}

static int open_deleted(struct fd_child *c, const struct fd_rec *rec)
{
	char dir[PATH_MAX];
	int fd;

	(void)c;
	snprintf(dir, sizeof(dir), "%s", rec->path);
	fd = open(dirname(dir), O_TMPFILE | O_RDWR, 0600);
	if (fd < 0)
		fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (fd < 0)
		return fail(errno, NULL, "recreating deleted file of fd %d (%s)", rec->fd, rec->path);
	if (write_all(fd, rec)) {
		close(fd);
		return -1;
	}
	return reopen_as_recorded(fd, rec);
}

static int open_memfd(struct fd_child *c, const struct fd_rec *rec)
{
	const char *name = rec->path + 7;	/* after "/memfd:" */
	int fd;

	(void)c;
	/* A memfd made without MFD_ALLOW_SEALING shows exactly F_SEAL_SEAL. */
	fd = memfd_create(name, rec->seals == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING);
	if (fd < 0)
		return fail(errno, NULL, "recreating memfd of fd %d (%s)", rec->fd, rec->path);
	if (write_all(fd, rec))
		goto err;
	fd = reopen_as_recorded(fd, rec);
	if (fd >= 0 && rec->seals && rec->seals != F_SEAL_SEAL &&
	    fcntl(fd, F_ADD_SEALS, rec->seals)) {
		fail(errno, NULL, "sealing memfd of fd %d", rec->fd);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

const struct fd_kind_ops fd_deleted_kind = {
	.kind = FD_DELETED,
	.name = "deleted file",
	.tag = "deleted",
	.match = is_deleted,
	.dump = save_contents,
	.check = check_saved,
	.open = open_deleted,
};
const struct fd_kind_ops fd_memfd_kind = {
	.kind = FD_MEMFD,
	.name = "memfd",
	.tag = "memfd",
	.match = is_memfd,
	.dump = save_contents,
	.check = check_saved,
	.open = open_memfd,
};
