/* Signals: handlers (read with injected rt_sigaction: /proc shows only
 * which signals are caught), ignored signals (kept across exec), queued
 * signals (private and shared, read without dequeuing) and itimers. */
#define LOG_PREFIX "signals: "
#include "state.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

struct kernel_sigaction {
	uint64_t handler, flags, restorer, mask;
};

#define SIGINFO_SIZE 128
#define MAX_QUEUED 1024

static int dump_handlers(struct dump_ctx *ctx)
{
	int sig;

	for (sig = 1; sig <= 64; sig++) {
		struct kernel_sigaction ka = { 0 };
		struct sigaction_rec *rec;
		uint64_t addr;

		if (!(ctx->status.sig_cgt & (1ull << (sig - 1))))
			continue;
		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, &ka, sizeof(ka), &addr) ||
		    remote_syscall_ok(ctx->remote, NULL, "reading a signal handler",
				      __NR_rt_sigaction, sig, 0, addr, 8, 0, 0) ||
		    remote_read(ctx->remote, addr, &ka, sizeof(ka)))
			return -1;
		rec = meta_push(&ctx->meta.sigactions, &ctx->meta.nsigactions, sizeof(*rec));
		if (!rec)
			return -1;
		rec->sig = sig;
		rec->handler = ka.handler;
		rec->flags = ka.flags;
		rec->restorer = ka.restorer;
		rec->mask = ka.mask;
	}
	return 0;
}

static int dump_queue(struct dump_ctx *ctx, struct remote *r, bool shared)
{
	uint8_t *infos = malloc(MAX_QUEUED * SIGINFO_SIZE);
	size_t n, i;
	int ret = -1;

	if (!infos)
		return fail(ENOMEM, NULL, "reading queued signals");
	if (remote_peek_siginfo(r, shared, infos, MAX_QUEUED, &n))
		goto out;
	for (i = 0; i < n; i++) {
		struct sigpending_rec *rec = meta_push(&ctx->meta.sigpending,
						       &ctx->meta.nsigpending, sizeof(*rec));
		if (!rec || blob_set(&rec->siginfo, infos + i * SIGINFO_SIZE, SIGINFO_SIZE))
			goto out;
		rec->tid = shared ? 0 : remote_pid(r);
	}
	ret = 0;
out:
	free(infos);
	return ret;
}

static int dump_itimers(struct dump_ctx *ctx, struct process_rec *p)
{
	uint64_t *fields[3][2] = {
		{ &p->itimer_real_interval_us, &p->itimer_real_value_us },
		{ &p->itimer_virt_interval_us, &p->itimer_virt_value_us },
		{ &p->itimer_prof_interval_us, &p->itimer_prof_value_us },
	};
	int which;

	for (which = 0; which < 3; which++) {
		struct itimerval it = { 0 };
		uint64_t addr;

		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, &it, sizeof(it), &addr) ||
		    remote_syscall_ok(ctx->remote, NULL, "reading an interval timer",
				      __NR_getitimer, which, addr, 0, 0, 0, 0) ||
		    remote_read(ctx->remote, addr, &it, sizeof(it)))
			return -1;
		*fields[which][0] = it.it_interval.tv_sec * 1000000ull + it.it_interval.tv_usec;
		*fields[which][1] = it.it_value.tv_sec * 1000000ull + it.it_value.tv_usec;
	}
	return 0;
}

static int signals_dump(struct dump_ctx *ctx)
{
	size_t i;

	ctx->meta.process->sig_ignored = ctx->status.sig_ign;
	for (i = 0; i < ctx->ntasks; i++)
		if (dump_queue(ctx, ctx->tasks[i], false))
			return -1;
	return dump_handlers(ctx) || dump_queue(ctx, ctx->remote, true) ||
	       dump_itimers(ctx, ctx->meta.process);
}

static int signals_check(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nsigactions; i++) {
		unsigned sig = ctx->meta.sigactions[i].sig;
		if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP ||
		    ctx->meta.sigactions[i].handler >= ARCH_TASK_SIZE ||
		    ctx->meta.sigactions[i].restorer >= ARCH_TASK_SIZE)
			return fail_why("invalid signal handler record", "the image is corrupted",
					"checking signal %u", sig);
	}
	for (i = 0; i < ctx->meta.nsigpending; i++) {
		const struct sigpending_rec *s = &ctx->meta.sigpending[i];
		if (s->siginfo.len != SIGINFO_SIZE)
			return fail_why("invalid queued signal record", "the image is corrupted",
					"checking queued signals");
		if (s->tid && !meta_has_thread(&ctx->meta, s->tid))
			return fail_why("a signal is queued for a thread that is not in the image",
					"the image is corrupted", "checking queued signals (thread %d)",
					s->tid);
	}
	return 0;
}

/* Ignored dispositions survive exec: set them before it, and reset every
 * other one, which restart may have inherited ignored (a shell's
 * background job ignores SIGINT and SIGQUIT). */
static int signals_restore_child(struct restore_ctx *ctx)
{
	uint64_t ign = ctx->meta.process->sig_ignored;
	int sig;

	for (sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (signal(sig, (ign & (1ull << (sig - 1))) ? SIG_IGN : SIG_DFL) == SIG_ERR &&
		    errno != EINVAL)
			return fail(errno, NULL, "setting the disposition of signal %d", sig);
	}
	return 0;
}

static int restore_handlers(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nsigactions; i++) {
		const struct sigaction_rec *s = &ctx->meta.sigactions[i];
		struct kernel_sigaction ka = { s->handler, s->flags, s->restorer, s->mask };
		uint64_t addr;

		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, &ka, sizeof(ka), &addr) ||
		    remote_syscall_ok(ctx->remote, NULL, "restoring a signal handler",
				      __NR_rt_sigaction, s->sig, addr, 0, 8, 0, 0))
			return -1;
	}
	return 0;
}

static int restore_itimers(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	const uint64_t v[3][2] = {
		{ p->itimer_real_interval_us, p->itimer_real_value_us },
		{ p->itimer_virt_interval_us, p->itimer_virt_value_us },
		{ p->itimer_prof_interval_us, p->itimer_prof_value_us },
	};
	int which;

	for (which = 0; which < 3; which++) {
		struct itimerval it = {
			{ v[which][0] / 1000000, v[which][0] % 1000000 },
			{ v[which][1] / 1000000, v[which][1] % 1000000 },
		};
		uint64_t addr;

		if (!v[which][1])
			continue;
		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, &it, sizeof(it), &addr) ||
		    remote_syscall_ok(ctx->remote, NULL, "restoring an interval timer",
				      __NR_setitimer, which, addr, 0, 0, 0, 0))
			return -1;
	}
	return 0;
}

/* Queued while every signal is blocked: they wait for the final mask. */
static int restore_queue(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nsigpending; i++) {
		const struct sigpending_rec *s = &ctx->meta.sigpending[i];
		siginfo_t info;
		uint64_t addr;
		pid_t tid = 0, self = ctx->opts->any_pid ? ctx->pid : ctx->meta.process->pid;

		memcpy(&info, s->siginfo.data, SIGINFO_SIZE);
		if (info.si_signo < 1 || info.si_signo > 64)
			return fail_why("invalid queued signal", "the image is corrupted",
					"restoring queued signals");
		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, &info, sizeof(info), &addr))
			return -1;
		if (s->tid && !(tid = restore_tid(ctx, s->tid)))
			return fail_why("a queued signal names an unknown thread", "the image is "
					"corrupted", "restoring queued signals (thread %d)", s->tid);
		if (s->tid == 0 ?
		    remote_syscall_ok(ctx->remote, NULL, "queueing a process signal",
				      __NR_rt_sigqueueinfo, self, info.si_signo, addr, 0, 0, 0) :
		    remote_syscall_ok(ctx->remote, NULL, "queueing a thread signal",
				      __NR_rt_tgsigqueueinfo, self, tid, info.si_signo,
				      addr, 0, 0))
			return -1;
	}
	return 0;
}

/* Forked from its restored parent (restart/fork_restore.c): it ignores
 * what the parent ignored before exec, not what signals_restore_child set
 * in its own restart child.  Set where the two differ (handlers next). */
static int restore_ignored_after_fork(struct restore_ctx *ctx)
{
	uint64_t want = ctx->meta.process->sig_ignored, have;
	uint64_t addr;
	int sig;

	if (!ctx->fork_parent)
		return 0;
	have = ctx->fork_parent->process->sig_ignored;
	for (sig = 1; sig <= 64; sig++) {
		uint64_t bit = 1ull << (sig - 1);
		struct kernel_sigaction ka = { (want & bit) ? (uint64_t)(uintptr_t)SIG_IGN :
					       (uint64_t)(uintptr_t)SIG_DFL, 0, 0, 0 };

		if (sig == SIGKILL || sig == SIGSTOP || !((want ^ have) & bit))
			continue;
		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, &ka, sizeof(ka), &addr) ||
		    remote_syscall_ok(ctx->remote, NULL, "setting a signal's disposition",
				      __NR_rt_sigaction, sig, addr, 0, 8, 0, 0))
			return -1;
	}
	return 0;
}

static int signals_restore(struct restore_ctx *ctx)
{
	return restore_ignored_after_fork(ctx) || restore_handlers(ctx) || restore_itimers(ctx) ||
	       restore_queue(ctx);
}

const struct state_ops signals_state_ops = {
	.name = "signals",
	.dump = signals_dump,
	.check = signals_check,
	.restore_child = signals_restore_child,
	.restore = signals_restore,
};
