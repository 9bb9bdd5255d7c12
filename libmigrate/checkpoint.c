/* migrate_checkpoint(): the process forks a helper, the helper runs ckpt
 * on the process and exits with ckpt's status, and the process waits for
 * the helper in waitpid().  The image thus shows the process blocked in
 * that wait; after restart the helper does not exist, the wait fails with
 * ECHILD, and that is how the restored copy knows it was restored. */
#include "libmigrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the helper: ckpt runs in a grandchild, so that ckpt's parent is
 * the helper (ckpt will not checkpoint its own parent); the helper
 * passes ckpt's exit status on. */
static void run_ckpt(const char *ckpt, char *pid_text, const char *path, unsigned flags)
{
	char *argv[7] = { (char *)ckpt, pid_text, "-o", (char *)path };
	int n = 4;
	if (flags & MIGRATE_EXIT)
		argv[n++] = "--kill";
	if (flags & MIGRATE_BUNDLE)
		argv[n++] = "--bundle";
	argv[n] = NULL;
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		_exit(126);
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "libmigrate: cannot run %s: %s (install ckpt or set CKPT_BIN)\n",
			argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(126);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

int migrate_checkpoint(const char *path, unsigned flags)
{
	const char *ckpt = getenv("CKPT_BIN");
	char pid_text[16];
	pid_t self = getpid(), helper;
	int status;

	if (!path || !path[0] || (path[0] == '-' && !path[1])) {
		errno = EINVAL;
		return -1;
	}
	snprintf(pid_text, sizeof(pid_text), "%d", (int)self);
	fflush(NULL);
	helper = fork();
	if (helper < 0)
		return -1;
	if (helper == 0)
		run_ckpt(ckpt ? ckpt : "ckpt", pid_text, path, flags);
	while (waitpid(helper, &status, 0) < 0) {
		if (errno == ECHILD)
			return MIGRATE_RESTORED;
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return MIGRATE_CHECKPOINTED;
	errno = ECANCELED;
	return -1;
}
