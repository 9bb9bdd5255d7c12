#ifndef RESTART_RESTORE_H
#define RESTART_RESTORE_H

#include "state.h"

/* Read an image from image_fd and bring its process back, stopped under
 * our control until every piece of state is in place, then running.
 * *pid gets its PID.  On failure nothing is left running. */
int restore_image(int image_fd, const struct restore_opts *opts, pid_t *pid) must_check;

#endif
