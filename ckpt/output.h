/* Where ckpt writes an image: standard output, or a file that appears
 * under its final name only once complete (ckpt and ckpt snapshot). */
#ifndef CKPT_OUTPUT_H
#define CKPT_OUTPUT_H

#include <limits.h>
#include <stdbool.h>

#include "error.h"

struct output {
	const char *path;		/* "-" = standard output */
	char tmp[PATH_MAX];		/* a named temporary file to remove, or "" */
	bool unnamed;			/* fd is an O_TMPFILE: no name until complete */
	bool stream;			/* path is a device or named pipe, written to */
	char resolved[PATH_MAX];	/* path through a symbolic link: what it names */
	int fd;
	int confirm_fd;			/* --confirm-fd: -1 none (0 is stdin: set it) */
};

/* Open o->path for writing: an unnamed file (O_TMPFILE) in its directory,
 * or a hidden temporary name beside it where O_TMPFILE is not supported;
 * an existing device or named pipe itself (a stream, as standard output). */
int open_output(struct output *o) must_check;
/* dump_tree's commit callback (arg = struct output *): fsync, then
 * the image takes its final name; with confirm_fd, then wait for "kill"
 * on it (scripts/ckpt-migrate), failing (the process goes on) otherwise. */
int commit_output(void *arg) must_check;
/* Close; an image not committed is removed. */
void close_output(struct output *o);

#endif
