/* membarrier(2) registrations: a process registers once for the expedited
 * commands it will use (MEMBARRIER_CMD_REGISTER_*), and the commands fail
 * with EPERM in a process that did not.  The registration lives in the mm,
 * so exec drops it: the restored process registers again for each one.
 *
 * Reading them: MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3), injected.
 * Before it, the private commands tell by failing with EPERM when not
 * registered; a global registration cannot be seen at all (the global
 * command works for anyone). */
#define LOG_PREFIX "membarrier: "
#include "state.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <sys/syscall.h>

#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)
#endif

static const struct {
	int reg, cmd;
	const char *name;
} kinds[] = {
	{ MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, MEMBARRIER_CMD_GLOBAL_EXPEDITED,
	  "GLOBAL_EXPEDITED" },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, MEMBARRIER_CMD_PRIVATE_EXPEDITED,
	  "PRIVATE_EXPEDITED" },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
	  MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, "PRIVATE_EXPEDITED_SYNC_CORE" },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
	  "PRIVATE_EXPEDITED_RSEQ" },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static uint32_t all_registrations(void)
{
	uint32_t all = 0;
	size_t i;

	for (i = 0; i < NKINDS; i++)
		all |= kinds[i].reg;
	return all;
}

/* Without GET_REGISTRATIONS: run each private command (a barrier, harmless). */
static int probe_registrations(struct dump_ctx *ctx, uint32_t *regs)
{
	size_t i;
	long ret;

	*regs = 0;
	for (i = 1; i < NKINDS; i++) {
		if (remote_syscall(ctx->remote, &ret, __NR_membarrier, kinds[i].cmd, 0, 0))
			return -1;
		if (ret == 0)
			*regs |= kinds[i].reg;
	}
	pr_warn("this kernel cannot list membarrier registrations (Linux 6.3): the private "
		"ones were probed; a MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED is not seen");
	return 0;
}

static int membarrier_dump(struct dump_ctx *ctx)
{
	long ret;
	uint32_t regs;

	if (remote_syscall(ctx->remote, &ret, __NR_membarrier, MEMBARRIER_CMD_GET_REGISTRATIONS,
			   0, 0))
		return -1;
	if (ret == -ENOSYS)
		return 0;	/* no membarrier at all: nothing registered */
	if (ret == -EINVAL) {
		if (probe_registrations(ctx, &regs))
			return -1;
	} else if (ret < 0) {
		return fail((int)-ret, NULL, "reading membarrier registrations");
	} else {
		regs = ret;
	}
	if (regs & ~all_registrations())
		return fail_why("registered for membarrier commands ckpt does not know",
				"please report it", "reading membarrier registrations (%#x)", regs);
	ctx->meta.process->membarrier = regs;
	return 0;
}

static int membarrier_check(struct restore_ctx *ctx)
{
	uint32_t regs = ctx->meta.process->membarrier;

	if (regs & ~all_registrations())
		return fail_why("invalid membarrier registrations", "the image is corrupted",
				"checking membarrier registrations %#x", regs);
	return 0;
}

static int membarrier_restore(struct restore_ctx *ctx)
{
	uint32_t regs = ctx->meta.process->membarrier;
	size_t i;
	long ret;

	for (i = 0; i < NKINDS; i++) {
		if (!(regs & kinds[i].reg))
			continue;
		if (remote_syscall(ctx->remote, &ret, __NR_membarrier, kinds[i].reg, 0, 0))
			return -1;
		if (ret < 0)
			return fail((int)-ret, ret == -EINVAL || ret == -ENOSYS ? "this kernel does "
				    "not offer that membarrier command: restart on a kernel like "
				    "the one of the checkpoint" : NULL,
				    "registering for membarrier %s", kinds[i].name);
	}
	return 0;
}

const struct state_ops membarrier_state_ops = {
	.name = "membarrier",
	.dump = membarrier_dump,
	.check = membarrier_check,
	.restore = membarrier_restore,
};
