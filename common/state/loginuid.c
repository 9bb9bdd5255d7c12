/* The audit login uid (/proc/PID/loginuid): who logged in to start the
 * session the process belongs to, as audit records and pam_loginuid see
 * it.  A restored process would inherit restart's (the operator's, or
 * unset) instead.  Only a task itself may write its own, with
 * CAP_AUDIT_CONTROL: restart's child sets it before exec, and every thread
 * the process makes after inherits it.  Not settable (restart without the
 * capability, or a loginuid made immutable): a warning, the process runs
 * with restart's. */
#define LOG_PREFIX "loginuid: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOGINUID_MAX 4294967295ull	/* (uid_t)-1: never set */

static int loginuid_read(pid_t pid, uint64_t *out)
{
	char *text, *end;
	size_t len;
	unsigned long long v;

	if (procfs_read(pid, "loginuid", &text, &len))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || v > LOGINUID_MAX) {
		free(text);
		return fail_why("unexpected contents", NULL, "reading /proc/%d/loginuid", pid);
	}
	free(text);
	*out = v;
	return 0;
}

static int loginuid_dump(struct dump_ctx *ctx)
{
	uint64_t v;

	if (loginuid_read(ctx->live, &v)) {
		error_clear();	/* no audit in this kernel: nothing to keep */
		return 0;
	}
	ctx->meta.process->loginuid = v + 1;
	return 0;
}

static int loginuid_check(struct restore_ctx *ctx)
{
	if (ctx->meta.process->loginuid > LOGINUID_MAX + 1)
		return fail_why("invalid loginuid", "the image is corrupted", "checking the image");
	return 0;
}

static int loginuid_restore_child(struct restore_ctx *ctx)
{
	uint64_t want = ctx->meta.process->loginuid, have;
	char text[32];
	int fd, n;

	if (!want--)
		return 0;	/* an older image, or no audit where it was made */
	if (loginuid_read(getpid(), &have)) {
		error_clear();
		pr_warn("the audit login uid (%" PRIu64 ") is not restored: this kernel has none",
			want);
		return 0;
	}
	if (have == want)
		return 0;
	n = snprintf(text, sizeof(text), "%" PRIu64, want);
	fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)n) != n) {
		pr_warn("the audit login uid %" PRIu64 " is not restored (%s): the process has %"
			PRIu64 ", restart's (restart needs CAP_AUDIT_CONTROL, and a login uid not "
			"made immutable)", want, strerror(errno), have);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

const struct state_ops loginuid_state_ops = {
	.name = "loginuid",
	.dump = loginuid_dump,
	.check = loginuid_check,
	.restore_child = loginuid_restore_child,
};
