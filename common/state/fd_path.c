/* Files reopened by path: regular files (at their offset, refusing one
 * that changed since the checkpoint when it was open read-only), directories,
 * character devices (/dev/null, /dev/urandom ...), and O_PATH fds on any
 * kind of inode (a symlink itself with O_NOFOLLOW).  Named pipes are in
 * fd_pipe.c. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t proc_path_pid(const char *path, const char **rest);

bool fd_dead_proc_dir(const char *link)
{
	const char *rest;

	return proc_path_pid(link, &rest) && !strcmp(rest, " (deleted)");
}

static bool by_path(const struct fd_dump *d)
{
	return d->link[0] == '/' && (!strstr(d->link, " (deleted)") || fd_dead_proc_dir(d->link));
}

/* The PID of a path /proc/PID or /proc/PID/... (or the link
 * "/proc/PID (deleted)"), and where the rest starts; 0 for any other. */
static pid_t proc_path_pid(const char *path, const char **rest)
{
	char *end;
	long pid;

	if (strncmp(path, "/proc/", 6))
		return 0;
	pid = strtol(path + 6, &end, 10);
	if (end == path + 6 || (*end != '/' && *end && strcmp(end, " (deleted)")) || pid <= 0 || pid > (1 << 22))
		return 0;
	*rest = end;
	return (pid_t)pid;
}

/* An fd on a file of /proc/PID of a process that has exited since it
 * was opened (reads fail with ESRCH): the path, seen from the process's
 * root (its own /proc), names nothing now, or another inode (the PID
 * reused). */
static bool of_dead_proc(const struct dump_ctx *ctx, const struct fd_dump *d)
{
	char there[PATH_MAX + 32];
	const char *rest;
	struct stat st;

	if (!proc_path_pid(d->link, &rest))
		return false;
	if (fd_dead_proc_dir(d->link))
		return true;
	snprintf(there, sizeof(there), "/proc/%d/root%s", ctx->live, d->link);
	if (stat(there, &st))
		return errno == ENOENT || errno == ESRCH;
	return st.st_ino != d->st.st_ino || st.st_dev != d->st.st_dev;
}

static int dump_path(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	char own[32];
	size_t len = snprintf(own, sizeof(own), "/proc/%d/", ctx->pid);

	if (of_dead_proc(ctx, d)) {
		rec->proc_dead = 1;
		pr_debug("fd %d: %s of a process that has exited", d->fd, d->link);
		if (fd_dead_proc_dir(d->link)) {	/* "/proc/PID (deleted)" */
			rec->path = strndup(d->link, strcspn(d->link, " "));
			return rec->path ? 0 : fail(ENOMEM, NULL, "recording fds");
		}
	}

	/* A file of the process's own /proc directory (its maps, status...):
	 * /proc/self in the restored process, whatever its PID. */
	if (!strncmp(d->link, own, len) && asprintf(&rec->path, "/proc/self/%s", d->link + len) < 0)
		rec->path = NULL;
	else if (strncmp(d->link, own, len))
		rec->path = strdup(d->link);
	return rec->path ? 0 : fail(ENOMEM, NULL, "recording fds");
}

/* A file about the restored process's own fds (/proc/self/fd/N,
 * /proc/self/fdinfo/N): it exists once that fd does, not in restart, and
 * is opened after the others (late_for). */
static bool of_own_fds(const char *path)
{
	return !strncmp(path, "/proc/self/fd/", 14) || !strncmp(path, "/proc/self/fdinfo/", 18);
}

/* A file of /proc/PID of another process of the tree (proc_of_tree):
 * the path must name that PID; it exists once that process does. */
static bool of_tree_proc(const struct fd_rec *rec)
{
	char want[32];

	snprintf(want, sizeof(want), "/proc/%d", rec->proc_of_tree);
	return rec->proc_of_tree > 0 && rec->path && !strncmp(rec->path, want, strlen(want)) &&
	       (rec->path[strlen(want)] == '/' || !rec->path[strlen(want)]);
}

static bool dead_proc_ok(const struct fd_rec *rec)
{
	const char *rest;

	return !rec->proc_of_tree && proc_path_pid(rec->path, &rest) && *rest != ' ';
}

static bool late_regular(const struct fd_rec *rec)
{
	return rec->path && (of_own_fds(rec->path) || of_tree_proc(rec));
}

static int check_exists(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	struct stat st;

	(void)ctx;
	if (!image_path_ok(rec->path))
		return fail_why("invalid fd record", "the image is corrupted", "checking fd %d",
				rec->fd);
	if (rec->proc_of_tree && !of_tree_proc(rec))
		return fail_why("invalid fd record (proc_of_tree)", "the image is corrupted",
				"checking fd %d", rec->fd);
	if (rec->proc_dead && !dead_proc_ok(rec))
		return fail_why("invalid fd record (proc_dead)", "the image is corrupted",
				"checking fd %d", rec->fd);
	if (of_own_fds(rec->path) || rec->proc_of_tree || rec->proc_dead)
		return 0;
	if (stat(rec->path, &st))
		return fail(errno, "the file must exist at the same path on this host",
			    "checking fd %d (%s)", rec->fd, rec->path);
	return 0;
}

/* A file the process was reading must not have changed under it. */
static int check_regular(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	struct stat st;
	uint64_t mtime;

	if (check_exists(ctx, rec))
		return -1;
	/* Opened later with our credentials (the image owner's when root
	 * restores another user's image): refused now if it would fail. */
	if (!(rec->flags & O_PATH) && strncmp(rec->path, "/proc/", 6)) {
		int acc = rec->flags & O_ACCMODE, mode = acc == O_WRONLY ? W_OK :
			  acc == O_RDWR ? R_OK | W_OK : R_OK;
		if (access(rec->path, mode) && (errno == EACCES || errno == EPERM || errno == EROFS))
			return fail(errno, "the file must be accessible at the same path, to the "
				    "user restart restores as", "checking fd %d (%s)", rec->fd,
				    rec->path);
	}
	if ((rec->flags & O_ACCMODE) != O_RDONLY || (rec->flags & O_PATH) ||
	    ctx->opts->allow_changed_files || !strncmp(rec->path, "/proc/", 6))
		return 0;
	stat(rec->path, &st);
	mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	if ((uint64_t)st.st_size == rec->size && mtime == rec->mtime_ns)
		return 0;
	return fail_why("the file changed since the checkpoint", "put the original back, or "
			"restart with --allow-changed-files to accept the new contents",
			"checking fd %d (%s: size %llu -> %llu, mtime %llu -> %llu)", rec->fd,
			rec->path, (unsigned long long)rec->size, (unsigned long long)st.st_size,
			(unsigned long long)(rec->mtime_ns / 1000000000ull),
			(unsigned long long)st.st_mtim.tv_sec);
}

/* A file of /proc/PID of a process that had exited: opened in a helper
 * process made for it (under PID again when that is free and we may
 * choose PIDs, else any), which then dies; reading it fails with ESRCH
 * as it did. */
static int open_dead_proc(const struct fd_rec *rec, int extra_flags)
{
	const char *rest = NULL;
	pid_t want = proc_path_pid(rec->path, &rest), helper;
	struct clone_args ca = { .exit_signal = SIGCHLD };
	char path[PATH_MAX + 32];
	pid_t tid = want;
	int fd, err;

	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	helper = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (helper < 0)
		helper = fork();	/* PID taken, or not ours to choose */
	if (helper < 0)
		return fail(errno, NULL, "making a process for fd %d (%s)", rec->fd, rec->path);
	if (helper == 0) {
		for (;;)
			pause();
	}
	snprintf(path, sizeof(path), "/proc/%d%s", helper, rest);
	fd = open(path, fd_reopen_flags(rec) | extra_flags);
	err = errno;
	kill(helper, SIGKILL);
	while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	if (fd < 0)
		return fail(err, NULL, "reopening fd %d (%s, of a process that has exited) as %s",
			    rec->fd, rec->path, path);
	if (helper != want)
		pr_debug("fd %d: %s reopened as %s", rec->fd, rec->path, path);
	return fd;
}

static int open_path(const struct fd_rec *rec, int extra_flags)
{
	int fd;

	if (rec->proc_dead)
		return open_dead_proc(rec, extra_flags);
	fd = open(rec->path, fd_reopen_flags(rec) | extra_flags);

	if (fd < 0)
		return fail(errno, "the file must be accessible at the same path",
			    "reopening fd %d (%s)", rec->fd, rec->path);
	return fd;
}

static int open_regular(struct fd_child *c, const struct fd_rec *rec)
{
	int fd = open_path(rec, 0);

	(void)c;
	if (fd >= 0 && !(rec->flags & O_PATH) && lseek(fd, rec->pos, SEEK_SET) != (off_t)rec->pos) {
		fail(errno, NULL, "seeking fd %d (%s) to %llu", rec->fd, rec->path,
		     (unsigned long long)rec->pos);
		close(fd);
		return -1;
	}
	return fd;
}

static int open_plain(struct fd_child *c, const struct fd_rec *rec)
{
	(void)c;
	return open_path(rec, 0);
}

/* O_PATH: the inode only, of any kind; a symlink stays the symlink. */
static bool is_opath(const struct fd_dump *d)
{
	return (d->fi.flags & O_PATH) && by_path(d);
}

static int dump_opath(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	rec->mode = d->st.st_mode;
	return dump_path(ctx, d, rec);
}

static int check_opath(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	struct stat st;

	(void)ctx;
	if (!image_path_ok(rec->path) || !(rec->flags & O_PATH) ||
	    (rec->proc_dead && !dead_proc_ok(rec)))
		return fail_why("invalid fd record", "the image is corrupted", "checking fd %d",
				rec->fd);
	if (rec->proc_dead)
		return 0;
	if (lstat(rec->path, &st))
		return fail(errno, "the file must exist at the same path on this host",
			    "checking fd %d (%s)", rec->fd, rec->path);
	if ((st.st_mode ^ rec->mode) & S_IFMT)
		return fail_why(S_ISLNK(rec->mode) ? "it is no longer a symlink" :
				"it is another kind of file now", "put the original back",
				"checking O_PATH fd %d (%s)", rec->fd, rec->path);
	return 0;
}

static int open_opath(struct fd_child *c, const struct fd_rec *rec)
{
	(void)c;
	return open_path(rec, S_ISLNK(rec->mode) ? O_NOFOLLOW : 0);
}

static bool is_regular(const struct fd_dump *d) { return S_ISREG(d->st.st_mode) && by_path(d); }
static bool is_directory(const struct fd_dump *d) { return S_ISDIR(d->st.st_mode) && by_path(d); }
static bool is_chardev(const struct fd_dump *d) { return S_ISCHR(d->st.st_mode) && by_path(d); }

const struct fd_kind_ops fd_opath_kind = {
	.kind = FD_OPATH,
	.name = "O_PATH fd",
	.tag = "opath",
	.match = is_opath,
	.dump = dump_opath,
	.check = check_opath,
	.open = open_opath,
};
const struct fd_kind_ops fd_regular_kind = {
	.kind = FD_REGULAR,
	.name = "regular file",
	.tag = "file",
	.match = is_regular,
	.dump = dump_path,
	.check = check_regular,
	.open = open_regular,
	.late_for = late_regular,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
const struct fd_kind_ops fd_directory_kind = {
	.kind = FD_DIRECTORY,
	.name = "directory",
	.tag = "dir",
	.match = is_directory,
	.dump = dump_path,
	.check = check_exists,
	.open = open_plain,
	.late_for = late_regular,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
const struct fd_kind_ops fd_chardev_kind = {
	.kind = FD_CHARDEV,
	.name = "character device",
	.tag = "chardev",
	.match = is_chardev,
	.dump = dump_path,
	.check = check_exists,
	.open = open_plain,
	.inflight_ok = true,	/* in a unix socket queue: see fds.h */
};
