#include <stdlib.h>
#include <string.h>

#include "sessions.h"

static bool leads(const struct session_node *x)
{
	return x->sid == x->pid;
}

void sessions_born_early(const struct session_node *n, size_t count, bool *early)
{
	/* born[i]: the session i must be born in (ANY: no constraint; 0 is
	 * a real session, one whose leader is outside our PID namespace).  A
	 * process that never called setsid() was born in its session; a
	 * leader, in the one its early children are in. */
	enum { ANY = -1 };
	pid_t *born = malloc((count ? count : 1) * sizeof(*born));
	bool *maybe = calloc(count ? count : 1, sizeof(*maybe));
	size_t i;

	memset(early, 0, count * sizeof(*early));
	if (!born || !maybe)
		goto out;	/* none early: ckpt refuses, as before */
	for (i = 0; i < count; i++)
		born[i] = ANY;
	for (i = count; i-- > 1;) {
		const struct session_node *x = &n[i], *p;
		pid_t need = leads(x) ? born[i] : x->sid;

		if (x->zombie || x->parent < 0 || (size_t)x->parent >= i)
			continue;
		p = &n[x->parent];
		if (need == ANY || need == p->sid || x->parent == 0 || !leads(p) || p->zombie)
			continue;
		if (born[x->parent] == ANY)
			born[x->parent] = need;
		maybe[i] = born[x->parent] == need;
	}
	/* Parents first: an early child's parent must itself be born in that
	 * session, forked normally by its own parent, or early. */
	for (i = 1; i < count; i++) {
		int p = n[i].parent;

		if (!maybe[i])
			continue;
		early[i] = early[p] || (n[p].parent >= 0 && born[p] == n[n[p].parent].sid);
	}
out:
	free(born);
	free(maybe);
}
