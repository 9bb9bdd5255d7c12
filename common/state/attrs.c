/* Scheduling and the small process attributes: per thread the scheduling
 * policy and priority, nice value and CPU affinity (read and set from
 * outside) and no_new_privs (from each thread's status, set in each by
 * an injected prctl); per process oom_score_adj, the parent-death signal,
 * child-subreaper and THP-disable (prctl, injected). */
#define LOG_PREFIX "attrs: "
#include "state.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int dump_thread_sched(struct thread_rec *t)
{
	struct sched_param sp;
	cpu_set_t set;
	int policy;

	policy = sched_getscheduler(t->tid);
	if (policy < 0 || sched_getparam(t->tid, &sp))
		return fail(errno, NULL, "reading the scheduling policy of thread %d", t->tid);
	t->sched_policy = policy;
	t->sched_priority = sp.sched_priority;
	errno = 0;
	t->nice = getpriority(PRIO_PROCESS, t->tid);
	if (errno)
		return fail(errno, NULL, "reading the nice value of thread %d", t->tid);
	if (sched_getaffinity(t->tid, sizeof(set), &set))
		return fail(errno, NULL, "reading the CPU affinity of thread %d", t->tid);
	return blob_set(&t->affinity, &set, sizeof(set));
}

/* prctl(PR_GET_x, &int) in the process. */
static int prctl_get_int(struct dump_ctx *ctx, int option, const char *what, uint32_t *value)
{
	int v = 0;
	uint64_t addr;

	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, &v, sizeof(v), &addr) ||
	    remote_syscall_ok(ctx->remote, NULL, what, __NR_prctl, option, addr, 0, 0, 0, 0) ||
	    remote_read(ctx->remote, addr, &v, sizeof(v)))
		return -1;
	*value = v;
	return 0;
}

static int attrs_dump(struct dump_ctx *ctx)
{
	struct process_rec *p = ctx->meta.process;
	char *text;
	size_t len, i;
	long ret;

	for (i = 0; i < ctx->meta.nthreads; i++) {
		struct thread_rec *t = &ctx->meta.threads[i];
		struct proc_status st;

		if (dump_thread_sched(t))
			return -1;
		/* no_new_privs is each thread's (one that set it after the
		 * others started has it alone). */
		if (t->exited)
			continue;
		if (procfs_read_task_status(ctx->pid, t->tid, &st))
			return -1;
		t->no_new_privs = st.no_new_privs ? 2 : 1;
	}
	if (procfs_read(ctx->live, "oom_score_adj", &text, &len))
		return -1;
	p->oom_score_adj = atoi(text);
	free(text);
	p->no_new_privs = ctx->status.no_new_privs;
	if (prctl_get_int(ctx, PR_GET_PDEATHSIG, "reading the parent-death signal", &p->pdeathsig) ||
	    prctl_get_int(ctx, PR_GET_CHILD_SUBREAPER, "reading child-subreaper",
			  &p->child_subreaper) ||
	    remote_syscall_ok(ctx->remote, &ret, "reading THP-disable", __NR_prctl,
			      PR_GET_THP_DISABLE, 0, 0, 0, 0, 0))
		return -1;
	p->thp_disable = ret;
	return 0;
}

static void clamp_affinity(pid_t tid, cpu_set_t *set)
{
	cpu_set_t here, both;

	if (sched_getaffinity(0, sizeof(here), &here))
		return;
	CPU_AND(&both, set, &here);
	if (CPU_EQUAL(&both, set))
		return;
	if (CPU_COUNT(&both) == 0) {
		pr_warn("thread %d: none of its CPUs exists here; it may run on any CPU", tid);
		*set = here;
	} else {
		pr_warn("thread %d: some of its CPUs do not exist here; keeping the %d that do",
			tid, CPU_COUNT(&both));
		*set = both;
	}
}

static int restore_thread_sched(pid_t tid, const struct thread_rec *t)
{
	struct sched_param sp = { .sched_priority = t->sched_priority };

	if (t->affinity.len == sizeof(cpu_set_t)) {
		cpu_set_t set;
		memcpy(&set, t->affinity.data, sizeof(set));
		clamp_affinity(tid, &set);
		if (sched_setaffinity(tid, sizeof(set), &set))
			return fail(errno, NULL, "restoring the CPU affinity of thread %d", tid);
	}
	if (setpriority(PRIO_PROCESS, tid, t->nice))
		return fail(errno, "run restart as root to restore a higher priority",
			    "restoring nice %d of thread %d", t->nice, tid);
	if (sched_setscheduler(tid, t->sched_policy, &sp))
		return fail(errno, "run restart as root to restore a real-time policy",
			    "restoring scheduling policy %u of thread %d", t->sched_policy, tid);
	return 0;
}

static int attrs_restore(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	struct remote *r = ctx->remote;
	char path[64], value[16];
	size_t i;
	FILE *f;

	for (i = 0; i < ctx->ntasks; i++)
		if (restore_thread_sched(remote_pid(ctx->tasks[i]), &ctx->meta.threads[i]))
			return -1;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", ctx->pid);
	snprintf(value, sizeof(value), "%d", p->oom_score_adj);
	f = fopen(path, "we");
	if (!f)
		return fail(errno, NULL, "restoring oom_score_adj %d", p->oom_score_adj);
	/* fclose() flushes, and may be where the write fails: closed once. */
	if (fputs(value, f) < 0) {
		int err = errno;
		fclose(f);
		return fail(err, NULL, "restoring oom_score_adj %d", p->oom_score_adj);
	}
	if (fclose(f))
		return fail(errno, errno == EACCES || errno == EPERM ? "lowering it needs "
			    "CAP_SYS_RESOURCE" : NULL, "restoring oom_score_adj %d", p->oom_score_adj);
	if (p->pdeathsig &&
	    remote_syscall_ok(r, NULL, "restoring the parent-death signal", __NR_prctl,
			      PR_SET_PDEATHSIG, p->pdeathsig, 0, 0, 0, 0))
		return -1;
	if (p->child_subreaper &&
	    remote_syscall_ok(r, NULL, "restoring child-subreaper", __NR_prctl,
			      PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0))
		return -1;
	/* Bit 1 of PR_GET_THP_DISABLE: PR_THP_DISABLE_EXCEPT_ADVISED (6.18). */
	if (p->thp_disable &&
	    remote_syscall_ok(r, NULL, "restoring THP-disable", __NR_prctl, PR_SET_THP_DISABLE,
			      1, p->thp_disable & 2 ? 2 : 0, 0, 0, 0))
		return -1;
	if (p->no_new_privs &&
	    remote_syscall_ok(r, NULL, "restoring no_new_privs", __NR_prctl,
			      PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0))
		return -1;
	/* The other threads' own (they were made before it was set here);
	 * in an older image, the process's. */
	for (i = 1; i < ctx->ntasks && i < ctx->meta.nthreads; i++) {
		uint32_t nnp = ctx->meta.threads[i].no_new_privs;

		if ((nnp ? nnp == 2 : p->no_new_privs != 0) &&
		    remote_syscall_ok(ctx->tasks[i], NULL, "restoring no_new_privs of a thread",
				      __NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0))
			return -1;
	}
	return 0;
}

static bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* The new process starts with our oom_score_adj; going below it needs
 * CAP_SYS_RESOURCE (which root lacks in some containers): said now,
 * before anything starts. */
static int attrs_check(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	char *text;
	size_t len;
	int ours;

	if (p->oom_score_adj < -1000 || p->oom_score_adj > 1000)
		return fail_why("invalid oom_score_adj", "the image is corrupted",
				"checking the image (oom_score_adj %d)", p->oom_score_adj);
	if (procfs_read_file("/proc/self/oom_score_adj", &text, &len))
		return -1;
	ours = atoi(text);
	free(text);
	if (p->oom_score_adj < ours && !have_cap(CAP_SYS_RESOURCE))
		return fail_why("lowering oom_score_adj needs CAP_SYS_RESOURCE, which restart "
				"lacks", "restart with that capability, or raise the process's "
				"oom_score_adj before checkpointing", "restoring oom_score_adj %d "
				"(restart has %d)", p->oom_score_adj, ours);
	return 0;
}

const struct state_ops attrs_state_ops = {
	.name = "attributes",
	.check = attrs_check,
	.dump = attrs_dump,
	.restore = attrs_restore,
};
