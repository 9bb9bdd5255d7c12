/* fanotify: the group's flags from fdinfo ("fanotify flags:F
 * event-flags:E"), and each mark: on an inode ("fanotify ino:... sdev:...
 * mflags:... mask:... ignored_mask:... fhandle-bytes:... f_handle:HEX"),
 * its path found again from the file handle (as for inotify, fd_inotify.c;
 * a file deleted while the process holds it open is marked through that
 * fd, made again as a ghost); on a mount ("fanotify mnt_id:..."), the
 * mount point of that mount of the process; on a filesystem ("fanotify
 * sdev:..."), a mount point of that device.  restart makes the group with
 * fanotify_init and the same flags, then, once every fd is in place, adds
 * each mark's mask and ignored mask with the flags it had
 * (FAN_MARK_IGNORED_SURV_MODIFY, FAN_MARK_EVICTABLE, FAN_MARK_IGNORE).
 * fanotify_init needs CAP_SYS_ADMIN, as mount and filesystem marks do.
 * Events queued and not yet read are not kept, nor permission events
 * waiting for the program's answer (their accessing process got its
 * answer when the group's first fd was closed). */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400
#endif
/* The mark flags fdinfo shows (fanotify_mark_user_flags). */
#define MARK_FLAGS (FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE)

static bool is_fanotify(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[fanotify]");
}

/* A mount point in process pid's mountinfo (malloc'ed): of mount mnt_id,
 * or (by_dev) of a mount of kernel device sdev (MAJOR << 20 | MINOR);
 * NULL after fail(). */
static char *find_mount(pid_t pid, bool by_dev, unsigned mnt_id, unsigned long sdev)
{
	char *text, *line, *save = NULL, *found = NULL;
	size_t len;

	if (procfs_read(pid, "mountinfo", &text, &len))
		return NULL;
	for (line = strtok_r(text, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned id, maj, min;
		char mnt[4096];
		if (sscanf(line, "%u %*d %u:%u %*s %4095s", &id, &maj, &min, mnt) == 4 &&
		    (by_dev ? maj == (sdev >> 20) && min == (sdev & 0xfffff) : id == mnt_id))
			found = strdup(mnt);
	}
	free(text);
	if (!found && by_dev)
		fail_why("no mount of its filesystem", NULL, "finding device %#lx of a fanotify "
			 "mark", sdev);
	else if (!found)
		fail_why("no such mount in the process's mountinfo", NULL,
			 "finding mount %u of a fanotify mark", mnt_id);
	return found;
}

static struct fanotify_rec *new_rec(struct dump_ctx *ctx, int fd, uint32_t type)
{
	struct fanotify_rec *r = meta_push(&ctx->meta.fanotify, &ctx->meta.nfanotify, sizeof(*r));

	if (!r) {
		fail(ENOMEM, NULL, "checking fanotify fd %d", fd);
		return NULL;
	}
	r->fd = fd;
	r->type = type;
	return r;
}

static int dump_fanotify(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	const char *line = d->fdinfo;
	struct fanotify_rec *r;
	unsigned flags, evflags;

	(void)rec;
	if (!(line = strstr(d->fdinfo, "fanotify flags:")) ||
	    sscanf(line, "fanotify flags:%x event-flags:%x", &flags, &evflags) != 2)
		return fail_why("unexpected fanotify fdinfo", NULL, "checking fd %d", d->fd);
	if (!(r = new_rec(ctx, d->fd, FAN_REC_GROUP)))
		return -1;
	r->flags = flags;
	r->mask = evflags;
	while ((line = strstr(line + 1, "\nfanotify "))) {
		unsigned mflags, mask, ignored, bytes, type, mnt_id;
		unsigned long ino, sdev;
		char hex[300];

		line++;
		if (sscanf(line, "fanotify ino:%lx sdev:%lx mflags:%x mask:%x ignored_mask:%x "
			   "fhandle-bytes:%x fhandle-type:%x f_handle:%299s", &ino, &sdev, &mflags,
			   &mask, &ignored, &bytes, &type, hex) == 8) {
			if (!(r = new_rec(ctx, d->fd, FAN_REC_INODE)))
				return -1;
			r->path = fd_notify_path_of_handle(sdev, bytes, type, hex,
							   "a fanotify mark");
			if (!r->path)
				return error_is_set() ? -1 : fail(ENOMEM, NULL, "checking fd %d",
								  d->fd);
			r->via_fd = fd_notify_deleted_holder(d, r->path, ino, sdev);
		} else if (sscanf(line, "fanotify mnt_id:%x mflags:%x mask:%x ignored_mask:%x",
				  &mnt_id, &mflags, &mask, &ignored) == 4) {
			if (!(r = new_rec(ctx, d->fd, FAN_REC_MOUNT)) ||
			    !(r->path = find_mount(ctx->pid, false, mnt_id, 0)))
				return -1;
		} else if (sscanf(line, "fanotify sdev:%lx mflags:%x mask:%x ignored_mask:%x",
				  &sdev, &mflags, &mask, &ignored) == 4) {
			if (!(r = new_rec(ctx, d->fd, FAN_REC_FILESYSTEM)) ||
			    !(r->path = find_mount(ctx->pid, true, 0, sdev)))
				return -1;
		} else {
			return fail_why("a fanotify mark of a kind this version does not know",
					NULL, "checking fd %d (%.60s)", d->fd, line);
		}
		r->flags = mflags;
		r->mask = mask;
		r->ignored_mask = ignored;
	}
	return 0;
}

/* Before anything starts: one group record, marks of known types with
 * known flags and absolute paths, a deleted file's fd in the image. */
static int check_fanotify(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const struct image_meta *m = &ctx->meta;
	size_t i, k, groups = 0;

	for (i = 0; i < m->nfanotify; i++) {
		const struct fanotify_rec *r = &m->fanotify[i];
		bool found = !r->via_fd;

		if (r->fd != rec->fd)
			continue;
		if (r->type == FAN_REC_GROUP) {
			groups++;
			continue;
		}
		for (k = 0; k < m->nfds && !found; k++)
			found = m->fds[k].fd == r->via_fd - 1 && !m->fds[k].inflight;
		if (r->type > FAN_REC_FILESYSTEM || (r->flags & ~MARK_FLAGS) || r->via_fd < 0 ||
		    !found || (!r->via_fd && (!r->path || r->path[0] != '/')) ||
		    (r->via_fd && r->type != FAN_REC_INODE))
			return fail_why("invalid fanotify mark record", "the image is corrupted",
					"checking fanotify fd %d", rec->fd);
	}
	if (groups != 1)
		return fail_why("invalid fanotify records (no group, or more than one)",
				"the image is corrupted", "checking fanotify fd %d", rec->fd);
	return 0;
}

static const struct fanotify_rec *group_of(const struct image_meta *m, int fd)
{
	size_t i;

	for (i = 0; i < m->nfanotify; i++)
		if (m->fanotify[i].fd == fd && m->fanotify[i].type == FAN_REC_GROUP)
			return &m->fanotify[i];
	return NULL;
}

static int open_fanotify(struct fd_child *c, const struct fd_rec *rec)
{
	const struct fanotify_rec *g = group_of(&c->ctx->meta, rec->fd);
	int fd;

	if (!g)
		return fail_why("no fanotify group record", "the image is corrupted",
				"recreating fanotify fd %d", rec->fd);
	/* (close-on-exec: as fds.c sets it for every fd) */
	fd = fanotify_init(g->flags & ~(unsigned)FAN_CLOEXEC, g->mask);
	if (fd < 0)
		return fail(errno, errno == EPERM ? "fanotify needs CAP_SYS_ADMIN: run restart as "
			    "root" : NULL, "recreating fanotify fd %d (flags %#x, event flags %#x)",
			    rec->fd, g->flags, g->mask);
	return fd;
}

static int mark(int fd, unsigned flags, uint64_t mask, const struct fanotify_rec *r,
		const char *path)
{
	static const unsigned on[] = { 0, 0, FAN_MARK_MOUNT, FAN_MARK_FILESYSTEM };

	if (fanotify_mark(fd, FAN_MARK_ADD | on[r->type] | flags, mask, AT_FDCWD, path))
		return fail(errno, "the marked file or mount must exist on this host",
			    "restoring a fanotify mark of fd %d on %s (mask %#x)", r->fd, r->path,
			    (unsigned)mask);
	return 0;
}

/* Once every fd is in place (a deleted file's ghost may come after it):
 * the marks, their masks and ignored masks. */
static int finish_fanotify(struct fd_child *c, const struct fd_rec *rec)
{
	const struct image_meta *m = &c->ctx->meta;
	size_t i;

	/* (fdinfo lists the newest mark first: added last to first, they
	 * are listed as they were) */
	for (i = m->nfanotify; i-- > 0;) {
		const struct fanotify_rec *r = &m->fanotify[i];
		unsigned keep = r->flags & FAN_MARK_EVICTABLE;
		char via[32];
		const char *path = r->path;

		if (r->fd != rec->fd || r->type == FAN_REC_GROUP)
			continue;
		if (r->via_fd) {
			snprintf(via, sizeof(via), "/proc/self/fd/%d", r->via_fd - 1);
			path = via;
		}
		if (r->mask && mark(rec->fd, keep, r->mask, r, path))
			return -1;
		if ((r->ignored_mask || (r->flags & FAN_MARK_IGNORED_SURV_MODIFY)) &&
		    mark(rec->fd, keep | (r->flags & FAN_MARK_IGNORED_SURV_MODIFY) |
			 (r->flags & FAN_MARK_IGNORE ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK),
			 r->ignored_mask, r, path))
			return -1;
	}
	return 0;
}

const struct fd_kind_ops fd_fanotify_kind = {
	.kind = FD_FANOTIFY,
	.name = "fanotify",
	.tag = "fanotify",
	.match = is_fanotify,
	.dump = dump_fanotify,
	.check = check_fanotify,
	.open = open_fanotify,
	.finish = finish_fanotify,
};
