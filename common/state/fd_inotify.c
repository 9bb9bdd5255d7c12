/* inotify: each watch from fdinfo ("inotify wd:N ino:... sdev:... mask:M
 * ... f_handle:HEX"), its path found again from the file handle with
 * open_by_handle_at (CAP_DAC_READ_SEARCH) on the mount of device sdev.
 * A watched file deleted while the process holds it open has no path: the
 * watch names that fd instead (via_fd), which restart makes again as a
 * ghost (fd_deleted.c).  restart adds the watches back in wd order, so the
 * program keeps its watch descriptors (gaps are stepped over with a
 * throw-away watch), once every fd is in place (finish: the ghost's fd may
 * come after the inotify fd).  Events queued and not yet read are not
 * kept (the kernel gives them only to a read, which would take them from
 * the program): a warning says how many bytes of them are dropped. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static bool is_inotify(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:inotify");
}

int fd_notify_mount_fd(unsigned long sdev)
{
	char *text, *line, *save = NULL;
	size_t len;
	int fd = -1;

	if (procfs_read_file("/proc/self/mountinfo", &text, &len))
		return -1;
	for (line = strtok_r(text, "\n", &save); line && fd < 0;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		char mnt[4096];
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) == 3 &&
		    maj == (sdev >> 20) && min == (sdev & 0xfffff))
			fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	free(text);
	if (fd < 0)
		fail_why("no mount of its filesystem", NULL, "finding device %#lx", sdev);
	return fd;
}

char *fd_notify_path_of_handle(unsigned long sdev, unsigned bytes, int type, const char *hex,
			       const char *what)
{
	struct file_handle *fh = calloc(1, sizeof(*fh) + bytes);
	char self[64], path[PATH_MAX];
	int mnt = -1, fd = -1;
	unsigned i;
	ssize_t n;

	if (!fh || bytes > 128 || strlen(hex) < 2 * bytes)
		goto out;
	fh->handle_bytes = bytes;
	fh->handle_type = type;
	for (i = 0; i < bytes; i++)
		sscanf(hex + 2 * i, "%2hhx", &fh->f_handle[i]);
	mnt = fd_notify_mount_fd(sdev);
	if (mnt < 0)
		goto out;
	fd = open_by_handle_at(mnt, fh, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		fail(errno, "needs CAP_DAC_READ_SEARCH; the watched file may be gone",
		     "finding the path of %s", what);
		goto out;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = 0;
		free(fh);
		close(fd);
		close(mnt);
		return strdup(path);
	}
out:
	free(fh);
	if (fd >= 0)
		close(fd);
	if (mnt >= 0)
		close(mnt);
	return NULL;
}

int fd_notify_deleted_holder(const struct fd_dump *d, const char *path, unsigned long ino,
			  unsigned long sdev)
{
	size_t l = strlen(path), i;

	if (l < 10 || strcmp(path + l - 10, " (deleted)"))
		return 0;
	for (i = 0; i < d->nall; i++) {
		const struct fd_dump *o = &d->all[i];
		if (o->own_fd < 0 && o->st.st_ino == ino && major(o->st.st_dev) == (sdev >> 20) &&
		    minor(o->st.st_dev) == (sdev & 0xfffff))
			return o->fd + 1;
	}
	return 0;
}

static int dump_inotify(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	const char *line;
	int s = fd_steal(ctx->live, d->fd), queued = 0;

	(void)rec;
	if (s < 0)
		return -1;
	if (!ioctl(s, FIONREAD, &queued) && queued > 0)
		pr_warn("fd %d (inotify): %d bytes of events not read yet are dropped (the "
			"program sees none of them after restart)", d->fd, queued);
	close(s);
	for (line = strstr(d->fdinfo, "inotify wd:"); line;
	     line = strstr(line + 1, "\ninotify wd:")) {
		struct inotify_rec *w;
		unsigned long sdev, ino;
		unsigned wd, mask, bytes, type;	/* all printed with %x */
		char hex[300];

		if (*line == '\n')
			line++;
		if (sscanf(line, "inotify wd:%x ino:%lx sdev:%lx mask:%x ignored_mask:%*x "
			   "fhandle-bytes:%x fhandle-type:%x f_handle:%299s",
			   &wd, &ino, &sdev, &mask, &bytes, &type, hex) != 7)
			return fail_why("unexpected inotify fdinfo", NULL, "checking fd %d", d->fd);
		w = meta_push(&ctx->meta.inotify, &ctx->meta.ninotify, sizeof(*w));
		if (!w)
			return -1;
		w->fd = d->fd;
		w->wd = wd;
		w->mask = mask;
		w->path = fd_notify_path_of_handle(sdev, bytes, type, hex, "an inotify watch");
		if (!w->path)
			return error_is_set() ? -1 : fail(ENOMEM, NULL, "checking fd %d", d->fd);
		w->via_fd = fd_notify_deleted_holder(d, w->path, ino, sdev);
	}
	return 0;
}

static int cmp_wd(const void *a, const void *b)
{
	const struct inotify_rec *x = *(const struct inotify_rec *const *)a;
	const struct inotify_rec *y = *(const struct inotify_rec *const *)b;
	return x->wd - y->wd;
}

/* Before anything starts: a watch through an fd names one of the image. */
static int check_inotify(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const struct image_meta *m = &ctx->meta;
	size_t i, k;

	for (i = 0; i < m->ninotify; i++) {
		const struct inotify_rec *w = &m->inotify[i];
		bool found = false;

		if (w->fd != rec->fd || !w->via_fd)
			continue;
		for (k = 0; k < m->nfds && !found; k++)
			found = m->fds[k].fd == w->via_fd - 1 && !m->fds[k].inflight;
		if (w->via_fd < 0 || !found)
			return fail_why("its watch names an fd that is not in the image",
					"the image is corrupted", "checking inotify fd %d", rec->fd);
	}
	return 0;
}

static int open_inotify(struct fd_child *c, const struct fd_rec *rec)
{
	int fd = inotify_init1(rec->flags & O_NONBLOCK ? IN_NONBLOCK : 0);

	(void)c;
	if (fd < 0)
		return fail(errno, NULL, "recreating inotify fd %d", rec->fd);
	return fd;
}

/* Once every fd is in place: the watches, in wd order. */
static int finish_inotify(struct fd_child *c, const struct fd_rec *rec)
{
	const struct image_meta *m = &c->ctx->meta;
	const struct inotify_rec **w = calloc(m->ninotify + 1, sizeof(*w));
	int fd = rec->fd, fl;
	size_t n = 0, i;

	if (!w)
		return fail(ENOMEM, NULL, "restoring the watches of inotify fd %d", rec->fd);
	for (i = 0; i < m->ninotify; i++)
		if (m->inotify[i].fd == rec->fd)
			w[n++] = &m->inotify[i];
	qsort(w, n, sizeof(*w), cmp_wd);
	for (i = 0; i < n; i++) {
		char via[32];
		const char *path = w[i]->path;
		int wd;

		if (w[i]->via_fd) {
			snprintf(via, sizeof(via), "/proc/self/fd/%d", w[i]->via_fd - 1);
			path = via;
		}
		for (;;) {
			wd = inotify_add_watch(fd, path, w[i]->mask);
			if (wd < 0) {
				fail(errno, "the watched file must exist on this host",
				     "restoring the inotify watch of fd %d on %s", rec->fd,
				     w[i]->path);
				goto err;
			}
			if (wd >= w[i]->wd)
				break;
			/* A gap in the program's wds: step over it. */
			inotify_rm_watch(fd, wd);
		}
		if (wd != w[i]->wd) {
			fail_why("the kernel gave another watch descriptor", NULL, "restoring the "
				 "inotify watch %d of fd %d on %s", w[i]->wd, rec->fd, w[i]->path);
			goto err;
		}
	}
	free(w);
	/* Removing the stepping watches queued IN_IGNORED events that the
	 * program must not see (its other flags, O_ASYNC, stay). */
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0) {
		char buf[4096];
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		fcntl(fd, F_SETFL, fl);
	}
	return 0;
err:
	free(w);
	return -1;
}

const struct fd_kind_ops fd_inotify_kind = {
	.kind = FD_INOTIFY,
	.name = "inotify",
	.tag = "inotify",
	.match = is_inotify,
	.dump = dump_inotify,
	.check = check_inotify,
	.open = open_inotify,
	.finish = finish_inotify,
};
