/* Where ckpt writes an image: see output.h. */
#include "output.h"
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The image is written into an unnamed file (O_TMPFILE) in the target
 * directory and given its name only once complete: ckpt killed at any
 * moment leaves nothing behind.  Where O_TMPFILE is not supported, a
 * hidden temporary name beside it, renamed at the end.  A path that is a
 * device or a named pipe is written to directly (never replaced). */
/* What the symbolic link o->path names, into o->resolved; false if it
 * cannot be told. */
static bool link_target(struct output *o)
{
	char target[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	if (realpath(o->path, o->resolved))
		return true;
	n = readlink(o->path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	snprintf(dir, sizeof(dir), "%s", o->path);
	if (target[0] == '/')
		snprintf(o->resolved, sizeof(o->resolved), "%s", target);
	else if (snprintf(o->resolved, sizeof(o->resolved), "%s/%s", dirname(dir), target) >=
		 (int)sizeof(o->resolved))
		return false;
	return true;
}

int open_output(struct output *o)
{
	char dir[PATH_MAX];
	struct stat st;

	if (!strcmp(o->path, "-")) {
		if (isatty(STDOUT_FILENO))
			return fail_why("standard output is a terminal", "redirect it to a file "
					"or a pipe, or use -o FILE", "writing the image");
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (!stat(o->path, &st) && !S_ISREG(st.st_mode)) {
		/* A device or a named pipe: written to as it is, a stream. */
		if (S_ISDIR(st.st_mode))
			return fail_why("it is a directory", "give a file name (ckpt snapshot "
					"writes into a directory)", "writing the image to %s",
					o->path);
		o->fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (o->fd < 0)
			return fail(errno, NULL, "opening %s to write the image", o->path);
		if (isatty(o->fd)) {
			close(o->fd);
			o->fd = -1;
			return fail_why("it is a terminal", "give a file, a pipe or -", "writing "
					"the image to %s", o->path);
		}
		o->stream = true;
		return 0;
	}
	/* Through a symbolic link: the file it names is written (made if
	 * missing), the link stays. */
	if (!lstat(o->path, &st) && S_ISLNK(st.st_mode) && link_target(o))
		o->path = o->resolved;
	snprintf(dir, sizeof(dir), "%s", o->path);
	/* (dirname() of "img.tar.zst" returns "." without touching dir) */
	o->fd = open(dirname(dir), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (o->fd >= 0) {
		o->unnamed = true;
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return fail(errno, "check that the directory exists and is writable",
			    "creating the image %s", o->path);
	snprintf(dir, sizeof(dir), "%s", o->path);
	snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.ckpt-XXXXXX", dirname(dir),
		 basename((char *)o->path));
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		o->tmp[0] = 0;
		return fail(errno, "check that the directory exists and is writable",
			    "creating the image %s", o->path);
	}
	fchmod(o->fd, 0600);
	return 0;
}

/* Give the unnamed file its name: at once if the name is free, else
 * through a hidden name renamed over the old image (a kill in between
 * leaves that hidden name: the one moment something can be left). */
static int link_output(struct output *o)
{
	char proc[64], dir[PATH_MAX];
	int i;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
	if (!linkat(AT_FDCWD, proc, AT_FDCWD, o->path, AT_SYMLINK_FOLLOW))
		return 0;
	if (errno != EEXIST)
		return fail(errno, NULL, "naming the image %s", o->path);
	for (i = 0; i < 100; i++) {
		snprintf(dir, sizeof(dir), "%s", o->path);
		snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.ckpt-%d-%d", dirname(dir),
			 basename((char *)o->path), (int)getpid(), i);
		if (!linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW))
			break;
		if (errno != EEXIST) {
			o->tmp[0] = 0;
			return fail(errno, NULL, "naming the image %s", o->path);
		}
	}
	if (i == 100) {
		o->tmp[0] = 0;
		return fail(EEXIST, NULL, "naming the image %s", o->path);
	}
	if (rename(o->tmp, o->path))
		return fail(errno, NULL, "renaming the image to %s", o->path);
	o->tmp[0] = 0;
	return 0;
}

/* --confirm-fd: the image is whole; the process, still stopped, is ended
 * only when the target says "kill". */
static int wait_confirmation(struct output *o)
{
	struct pollfd pfd = { .fd = o->confirm_fd, .events = POLLIN };
	char answer[16] = "";
	ssize_t n = 0;
	int r, devnull;

	/* The reader must see the end of the stream before it can answer. */
	if (o->fd == STDOUT_FILENO && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	} else if (o->stream) {
		close(o->fd);
		o->fd = -1;
	}
	do
		r = poll(&pfd, 1, 600 * 1000);
	while (r < 0 && errno == EINTR && !dump_interrupted);
	if (r > 0)
		n = read(o->confirm_fd, answer, sizeof(answer) - 1);
	if (n > 0 && !strncmp(answer, "kill", 4))
		return 0;
	return fail_why(r == 0 ? "no answer in 10 minutes" : n > 0 ? "the target refused" :
			"no confirmation (end of file)", "the process goes on running here",
			"waiting for the target to confirm the restart");
}

/* Called once the image is fully written: make it durable, then visible. */
int commit_output(void *arg)
{
	struct output *o = arg;
	int ret;

	if (o->fd == STDOUT_FILENO || o->stream)
		return o->confirm_fd >= 0 ? wait_confirmation(o) : 0;
	if (fsync(o->fd))
		return fail(errno, NULL, "writing the image %s", o->path);
	if (o->unnamed) {
		ret = link_output(o);
	} else {
		ret = rename(o->tmp, o->path) ? fail(errno, NULL, "renaming the image to %s",
						     o->path) : 0;
		if (!ret)
			o->tmp[0] = 0;
	}
	if (ret || o->confirm_fd < 0)
		return ret;
	return wait_confirmation(o);
}


void close_output(struct output *o)
{
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = 0;
	if (o->fd > STDOUT_FILENO)
		close(o->fd);	/* an unnamed file not linked yet vanishes */
	o->fd = -1;
}
