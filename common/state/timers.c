/* POSIX timers: /proc/PID/timers gives each timer's id, signal, sigev
 * value, notification and clock; the time left and the interval come from
 * an injected timer_gettime.  restart re-creates them under the same ids
 * (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.15+), since programs hold the
 * kernel's ids as their timer_t. */
#define LOG_PREFIX "timers: "
#include "state.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif
#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

static int parse_notify(const char *v, struct timer_rec *t)
{
	char how[16], who[8];
	int id;

	if (sscanf(v, "%15[a-z]/%7[a-z].%d", how, who, &id) != 3)
		return -1;
	if (!strcmp(how, "signal"))
		t->notify = SIGEV_SIGNAL;
	else if (!strcmp(how, "none"))
		t->notify = SIGEV_NONE;
	else if (!strcmp(how, "thread"))
		t->notify = SIGEV_THREAD;
	else
		return -1;
	if (!strcmp(who, "tid")) {
		t->notify |= SIGEV_THREAD_ID;
		t->notify_tid = id;
	}
	return 0;
}

/* "ID: 0\nsignal: 14/0000000000001234\nnotify: signal/pid.42\nClockID: 1\n" */
static int parse_timers(struct dump_ctx *ctx, char *text)
{
	struct timer_rec *t = NULL;
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long value;
		int n;

		if (sscanf(line, "ID: %d", &n) == 1) {
			t = meta_push(&ctx->meta.timers, &ctx->meta.ntimers, sizeof(*t));
			if (!t)
				return -1;
			t->id = n;
		} else if (t && sscanf(line, "signal: %d/%llx", &n, &value) == 2) {
			t->signo = n;
			t->sigev_value = value;
		} else if (t && !strncmp(line, "notify: ", 8)) {
			if (parse_notify(line + 8, t))
				goto bad;
		} else if (t && sscanf(line, "ClockID: %d", &n) == 1) {
			t->clock = n;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	return fail_why("unexpected line", "this kernel's format is not known; please report "
			"it", "reading /proc/%d/timers ('%s')", ctx->pid, line);
}

static int timers_dump(struct dump_ctx *ctx)
{
	char *text;
	size_t len, i;
	int ret;

	if (procfs_read(ctx->live, "timers", &text, &len))
		return -1;
	ret = parse_timers(ctx, text);
	free(text);
	for (i = 0; !ret && i < ctx->meta.ntimers; i++) {
		struct timer_rec *t = &ctx->meta.timers[i];
		struct itimerspec its = { 0 };
		uint64_t addr;

		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, &its, sizeof(its), &addr) ||
		    remote_syscall_ok(ctx->remote, NULL, "reading a POSIX timer",
				      __NR_timer_gettime, t->id, addr, 0, 0, 0, 0) ||
		    remote_read(ctx->remote, addr, &its, sizeof(its)))
			return -1;
		t->interval_ns = its.it_interval.tv_sec * 1000000000ull + its.it_interval.tv_nsec;
		t->value_ns = its.it_value.tv_sec * 1000000000ull + its.it_value.tv_nsec;
	}
	return ret;
}

static int timers_check(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.ntimers; i++) {
		const struct timer_rec *t = &ctx->meta.timers[i];
		if (t->id < 0 || t->signo < 0 || t->signo > 64)
			return fail_why("invalid timer record", "the image is corrupted",
					"checking POSIX timer %d", t->id);
		if ((t->notify & SIGEV_THREAD_ID) && !meta_has_thread(&ctx->meta, t->notify_tid))
			return fail_why("the thread it signals is not in the image", "the image is "
					"corrupted", "checking POSIX timer %d (thread %d)", t->id,
					t->notify_tid);
	}
	return 0;
}

static int create_timer(struct restore_ctx *ctx, const struct timer_rec *t)
{
	struct sigevent sev;
	struct itimerspec its = {
		{ t->interval_ns / 1000000000ull, t->interval_ns % 1000000000ull },
		{ t->value_ns / 1000000000ull, t->value_ns % 1000000000ull },
	};
	int id = t->id;
	uint64_t sev_addr, id_addr, its_addr;
	char what[64];

	/* A periodic timer whose signal is still pending shows no time left
	 * (the kernel re-arms it on delivery): next expiry one period on. */
	if (!t->value_ns && t->interval_ns)
		its.it_value = its.it_interval;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = t->notify;
	sev.sigev_signo = t->signo;
	sev.sigev_value.sival_ptr = (void *)(uintptr_t)t->sigev_value;
	if (t->notify & SIGEV_THREAD_ID) {
		sev._sigev_un._tid = restore_tid(ctx, t->notify_tid);
		if (!sev._sigev_un._tid)
			return fail_why("it signals a thread the image does not have", "the image "
					"is corrupted", "restoring POSIX timer %d", t->id);
	}
	snprintf(what, sizeof(what), "restoring POSIX timer %d", t->id);
	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, &sev, sizeof(sev), &sev_addr) ||
	    remote_scratch_put(ctx->remote, &id, sizeof(id), &id_addr) ||
	    remote_scratch_put(ctx->remote, &its, sizeof(its), &its_addr) ||
	    remote_syscall_ok(ctx->remote, NULL, what, __NR_timer_create, t->clock, sev_addr,
			      id_addr, 0, 0, 0) ||
	    remote_read(ctx->remote, id_addr, &id, sizeof(id)))
		return -1;
	if (id != t->id)
		return fail_why("the kernel gave it another id", "restart needs Linux 6.15 or "
				"newer (PR_TIMER_CREATE_RESTORE_IDS) for processes with POSIX "
				"timers", "%s (got id %d)", what, id);
	if ((t->value_ns || t->interval_ns) &&
	    remote_syscall_ok(ctx->remote, NULL, what, __NR_timer_settime, id, 0, its_addr, 0,
			      0, 0))
		return -1;
	return 0;
}

static int timers_restore(struct restore_ctx *ctx)
{
	long ret;
	size_t i;

	if (!ctx->meta.ntimers)
		return 0;
	if (remote_syscall(ctx->remote, &ret, __NR_prctl, PR_TIMER_CREATE_RESTORE_IDS,
			   PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0))
		return -1;
	if (ret)	/* older kernel: ids come in order, checked one by one */
		pr_debug("PR_TIMER_CREATE_RESTORE_IDS unavailable (%ld)", ret);
	for (i = 0; i < ctx->meta.ntimers; i++)
		if (create_timer(ctx, &ctx->meta.timers[i]))
			return -1;
	if (!ret && remote_syscall_ok(ctx->remote, NULL, "restoring POSIX timers", __NR_prctl,
				      PR_TIMER_CREATE_RESTORE_IDS,
				      PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0, 0))
		return -1;
	return 0;
}

const struct state_ops timers_state_ops = {
	.name = "timers",
	.dump = timers_dump,
	.check = timers_check,
	.restore = timers_restore,
};
