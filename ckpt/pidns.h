#ifndef CKPT_PIDNS_H
#define CKPT_PIDNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "output.h"
#include "state.h"

/* A process in a PID namespace below ckpt's (started with `unshare -pf`)
 * is checkpointed by a ckpt inside that namespace, with the PIDs seen
 * there (ckpt/pidns.c). */
bool pidns_below(pid_t pid);
/* pid as the process sees itself (in its own PID namespace): the PID its
 * images record; pid itself when that cannot be read. */
pid_t pidns_own_pid(pid_t pid);
/* Run the dump of pid from inside its PID namespace, with the output
 * opened there; 0 once the image is written (and, with --kill, the tree
 * ended), -1 with the error already printed by the ckpt inside. */
int pidns_dump(pid_t pid, struct dump_opts *opts, struct output *out) must_check;

#endif
