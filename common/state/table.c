/* The order in which state is dumped and restored.  Memory comes first
 * (everything else points into it), threads before signals (signals are
 * queued to threads), credentials last (restoring them may
 * drop the privileges the other steps need). */
#include "state.h"

const struct state_ops *const state_table[] = {
	&bundle_state_ops,	/* files/ before pages/; decides before process checks files */
	&memory_state_ops,
	&backtrace_state_ops,	/* before anything injects: registers untouched */
	&process_state_ops,
	&timens_state_ops,	/* the clocks, as the process saw them */
	&mapattrs_state_ops,	/* on the mappings and their contents: locks, guards */
	&sysv_state_ops,	/* SysV IPC; its segments are attached where memory left room */
	&rlimits_state_ops,
	&loginuid_state_ops,	/* in the child, before exec: threads inherit it */
	&fds_state_ops,
	&ghosts_state_ops,	/* after memory and fds: memfd seals, then close */
	&threads_state_ops,	/* threads exist before signals are queued to them */
	&pidfd_threads_state_ops, /* pidfds of threads, once they exist (fd_pidfd.c) */
	&signals_state_ops,
	&timers_state_ops,
	&timerslack_state_ops,	/* before attrs: a real-time policy has none */
	&attrs_state_ops,
	&membarrier_state_ops,
	&tty_state_ops,
	&seccomp_state_ops,	/* after everything privileged but credentials */
	&creds_state_ops,
	NULL,
};

void state_dump_resume(struct dump_ctx *ctx, bool killed)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++)
		if ((*ops)->dump_resume)
			(*ops)->dump_resume(ctx, killed);
}

void state_dump_committed(struct dump_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++)
		if ((*ops)->dump_committed)
			(*ops)->dump_committed(ctx);
}

void state_dump_release(struct dump_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++)
		if ((*ops)->dump_release)
			(*ops)->dump_release(ctx);
}

void state_restore_release(struct restore_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++)
		if ((*ops)->restore_release)
			(*ops)->restore_release(ctx);
}
