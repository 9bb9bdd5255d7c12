/* Where ckpt writes an image: see output.h. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


int open_output(struct output *o)
{
	char dir[PATH_MAX];

	if (!strcmp(o->path, "-")) {
		if (isatty(STDOUT_FILENO))
			return fail_why("standard output is a terminal", "redirect it to a file "
					"or a pipe, or use -o FILE", "writing the image");
		o->fd = STDOUT_FILENO;
		return 0;
	}
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

/* Called once the image is fully written: make it durable, then visible. */
int commit_output(void *arg)
{
	struct output *o = arg;

	if (o->fd == STDOUT_FILENO)
		return 0;
	if (fsync(o->fd))
		return fail(errno, NULL, "writing the image %s", o->path);
	if (rename(o->tmp, o->path))
		return fail(errno, NULL, "renaming the image to %s", o->path);
	o->tmp[0] = 0;
	return 0;
}

void close_output(struct output *o)
{
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = 0;
	if (o->fd > STDOUT_FILENO)
		close(o->fd);
	o->fd = -1;
}
