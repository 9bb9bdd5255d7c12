/* Timer slack (prctl PR_SET_TIMERSLACK): how late the kernel may fire a
 * thread's timers to group wakeups.  Per thread, read and set inside each
 * thread (prctl has no form for another one).  A real-time thread has none
 * (the kernel reports 0 and ignores a new value): nothing to restore. */
#define LOG_PREFIX "timerslack: "
#include "state.h"

#include <linux/prctl.h>
#include <sys/syscall.h>

static int timerslack_dump(struct dump_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nthreads; i++) {
		const struct thread_rec *t = &ctx->meta.threads[i];
		struct timerslack_rec *rec;
		char what[64];
		long ret;

		snprintf(what, sizeof(what), "reading the timer slack of thread %d", t->tid);
		if (remote_syscall_ok(dump_thread_task(ctx, i), &ret, what, __NR_prctl,
				      PR_GET_TIMERSLACK, 0, 0, 0, 0, 0))
			return -1;
		rec = meta_push(&ctx->meta.timerslack, &ctx->meta.ntimerslack, sizeof(*rec));
		if (!rec)
			return -1;
		rec->tid = t->tid;
		rec->slack_ns = (unsigned long)ret;
	}
	return 0;
}

static int timerslack_check(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	size_t i;

	if (!m->ntimerslack)
		return 0;	/* an image from before timer slack was saved */
	if (m->ntimerslack != m->nthreads)
		return fail_why("one timer slack record per thread expected", "the image is "
				"corrupted", "checking timer slack (%zu records, %zu threads)",
				m->ntimerslack, m->nthreads);
	for (i = 0; i < m->ntimerslack; i++)
		if (m->timerslack[i].tid != m->threads[i].tid ||
		    m->timerslack[i].slack_ns > (unsigned long)-1 / 2)
			return fail_why("invalid timer slack record", "the image is corrupted",
					"checking the timer slack of thread %d",
					m->timerslack[i].tid);
	return 0;
}

static int timerslack_restore(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	size_t i;

	for (i = 0; i < m->ntimerslack && i < ctx->ntasks; i++) {
		char what[80];

		if (!m->timerslack[i].slack_ns)
			continue;
		snprintf(what, sizeof(what), "restoring the timer slack of thread %d",
			 m->timerslack[i].tid);
		if (remote_syscall_ok(ctx->tasks[i], NULL, what, __NR_prctl, PR_SET_TIMERSLACK,
				      m->timerslack[i].slack_ns, 0, 0, 0, 0))
			return -1;
	}
	return 0;
}

const struct state_ops timerslack_state_ops = {
	.name = "timer slack",
	.dump = timerslack_dump,
	.check = timerslack_check,
	.restore = timerslack_restore,
};
