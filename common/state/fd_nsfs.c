/* Namespace fds (/proc/self/ns/NAME open: "net:[4026531833]"): one of the
 * process's own namespaces is reopened from /proc/self/ns at restore,
 * where restart must run in that same namespace (the inode says so; the
 * initial namespaces have the same inode on every host).  A namespace fd
 * of another namespace (another process's, or one left by setns or
 * unshare) is refused. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The entries of /proc/PID/ns; readlink shows the type before the ':'. */
static const char *const ns_entries[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
	"time_for_children", "user", "uts", NULL,
};

static bool ns_type_known(const char *type, size_t len)
{
	const char *const *e;

	for (e = ns_entries; *e; e++)
		if (strlen(*e) == len && !strncmp(*e, type, len))
			return true;
	return false;
}

static bool is_nsfs(const struct fd_dump *d)
{
	const char *colon = strchr(d->link, ':');
	unsigned long long ino;
	char end;

	return colon && ns_type_known(d->link, colon - d->link) &&
	       sscanf(colon, ":[%llu%c", &ino, &end) == 2 && end == ']' && ino == d->st.st_ino;
}

static int dump_nsfs(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	size_t len = strchr(d->link, ':') - d->link;
	const char *const *e;
	char path[64];
	struct stat st;

	for (e = ns_entries; *e; e++) {
		/* pid_for_children reads "pid:[...]" too. */
		if (strncmp(*e, d->link, len) || ((*e)[len] && strcmp(*e + len, "_for_children")))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", ctx->live, *e);
		if (stat(path, &st) || st.st_ino != d->st.st_ino || st.st_dev != d->st.st_dev)
			continue;
		rec->object_id = d->st.st_ino;
		if (asprintf(&rec->path, "/proc/self/ns/%s", *e) < 0) {
			rec->path = NULL;
			return fail(ENOMEM, NULL, "recording fds");
		}
		return 0;
	}
	return fail_why("it is not one of the process's own namespaces (not supported yet)",
			"close it before checkpointing", "checking namespace fd %d (%s)", d->fd,
			d->link);
}

static int check_nsfs(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	const char *prefix = "/proc/self/ns/";
	struct stat st;

	(void)ctx;
	if (!rec->path || strncmp(rec->path, prefix, strlen(prefix)) ||
	    !ns_type_known(rec->path + strlen(prefix), strlen(rec->path + strlen(prefix))))
		return fail_why("invalid fd record", "the image is corrupted", "checking fd %d",
				rec->fd);
	if (stat(rec->path, &st))
		return fail(errno, NULL, "checking namespace fd %d (%s)", rec->fd, rec->path);
	if (st.st_ino != rec->object_id)
		return fail_why("restart runs in another namespace than the process did",
				"restart in the namespace the process had", "checking namespace "
				"fd %d (%s: inode %llu, was %llu)", rec->fd, rec->path,
				(unsigned long long)st.st_ino, (unsigned long long)rec->object_id);
	return 0;
}

static int open_nsfs(struct fd_child *c, const struct fd_rec *rec)
{
	int fd = open(rec->path, fd_reopen_flags(rec));

	(void)c;
	if (fd < 0)
		return fail(errno, NULL, "reopening namespace fd %d (%s)", rec->fd, rec->path);
	return fd;
}

const struct fd_kind_ops fd_nsfs_kind = {
	.kind = FD_NSFS,
	.name = "namespace fd",
	.tag = "nsfs",
	.match = is_nsfs,
	.dump = dump_nsfs,
	.check = check_nsfs,
	.open = open_nsfs,
};
