/* What is checked before a restart starts anything: every state module's
 * check() hook, and whether the PIDs are free.  restart runs these before
 * creating the process; `ckpt check IMAGE` runs them to tell whether an
 * image can be restarted here, without starting anything. */
#define LOG_PREFIX ""
#include "state.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool image_path_ok(const char *path)
{
	const char *c;
	size_t n;

	if (!path || path[0] != '/' || strnlen(path, PATH_MAX) >= PATH_MAX)
		return false;
	if (!path[1])
		return true;		/* "/" */
	for (c = path + 1;; c += n + 1) {
		n = strcspn(c, "/");
		if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[n])
			return true;
	}
}

int restore_run_checks(struct restore_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++)
		if ((*ops)->check && (*ops)->check(ctx))
			return -1;
	return 0;
}

int restore_run_checks_each(struct restore_ctx *ctx, void (*report)(void *arg,
			    const char *module, const char *error), void *arg)
{
	const struct state_ops *const *ops;
	int ret = 0;

	for (ops = state_table; *ops; ops++) {
		if (!(*ops)->check)
			continue;
		error_clear();
		if ((*ops)->check(ctx)) {
			report(arg, (*ops)->name, error_text());
			ret = -1;
		} else {
			report(arg, (*ops)->name, NULL);
		}
	}
	error_clear();
	return ret;
}

/* The PID must be free.  A process that just died may linger as a zombie
 * for a moment (init reaps orphans late): wait for it, bounded. */
int restore_pid_free(pid_t pid, bool wait_for_zombie)
{
	struct proc_stat st;
	int waited_ms = 0;

	for (;;) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%d", pid);
		if (access(path, F_OK))
			return 0;
		if (procfs_read_stat(pid, &st)) {
			error_clear();
			return 0;	/* vanished meanwhile */
		}
		if (st.state != 'Z' && st.state != 'X')
			return fail_why("the PID is in use", "stop that process, or restart with "
					"--new-pid: a new PID namespace, where every process keeps "
					"its PID", "reclaiming PID %d: held by '%s' (PID %d, "
					"state %c)", pid, st.comm, pid, st.state);
		if (!wait_for_zombie)
			return fail_why("the PID is held by a zombie not reaped yet", "restart "
					"waits up to 5 s for its parent to reap it; or use --new-pid",
					"reclaiming PID %d ('%s')", pid, st.comm);
		if (waited_ms >= 5000)
			return fail_why("the PID is in use by a zombie that its parent does not "
					"reap", "make its parent wait for it, or restart with --new-pid",
					"reclaiming PID %d ('%s')", pid, st.comm);
		usleep(20000);
		waited_ms += 20;
	}
}
