#ifndef CKPT_DUMP_H
#define CKPT_DUMP_H

#include <sys/types.h>

#include "state.h"

/* Check pid, seize it, write its image to out_fd, then let it go on (or
 * kill it with opts->kill_after, once commit() accepted the image).
 * commit is called after the image is completely written (fsync+rename);
 * if it fails, the process is left running.  On any failure the process
 * is left running exactly as before. */
int dump_process(pid_t pid, const struct dump_opts *opts, int out_fd,
		 int (*commit)(void *arg), void *arg) must_check;

extern volatile int dump_interrupted;

#endif
