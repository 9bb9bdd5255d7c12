#ifndef RESTART_PIDNS_H
#define RESTART_PIDNS_H

#include <sys/types.h>

#include "error.h"

/* restart --new-pid (restart/pidns.c): the init's end of its pipe to the
 * outer restart. */
struct pidns {
	int fd;
};

/* Create the new PID namespace and its init.  Returns 0 in the init (PID 1
 * of the namespace, with its own /proc), which then restores the image;
 * the outer restart never returns: it forwards signals to the init
 * through *forward_to and exits as the restored root does (foreground),
 * or once it runs, printing its PID (--detach).  -1 if the namespace
 * cannot be made. */
int pidns_enter(struct pidns *ns, volatile pid_t *forward_to) must_check;
/* In a new PID namespace's first process: a private mount namespace
 * with a /proc of that PID namespace. */
int pidns_own_proc(void) must_check;
/* In the init, once the processes run: no more death with restart. */
void pidns_restored(void);
/* In the init: wait for the root (reaping the orphans meanwhile), its
 * exit code (128+N if killed by signal N). */
int pidns_wait_root(pid_t root);
/* In the init, the restore done: tell the outer restart, let go of its
 * stdio, reap until the namespace is empty, exit with the root's code. */
_Noreturn void pidns_detached(struct pidns *ns, pid_t root);
_Noreturn void pidns_exited(struct pidns *ns, int code);

#endif
