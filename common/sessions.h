/* Sessions of a process tree: which processes were forked before their
 * parent's setsid(), used by ckpt (to accept such a tree) and restart
 * (to fork them before that setsid), so both agree. */
#ifndef CKPT_SESSIONS_H
#define CKPT_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct session_node {
	pid_t pid, sid;
	int parent;		/* index, parents before children; -1 for the root */
	bool zombie;
};

/* early[i]: process i (not the root, not a zombie) is in a session that is
 * not its parent's because the parent, a session leader now, forked it
 * (or an ancestor of it, down a chain of such leaders) before calling
 * setsid(): i stays in the session its parent was born in. */
void sessions_born_early(const struct session_node *n, size_t count, bool *early);

#endif
