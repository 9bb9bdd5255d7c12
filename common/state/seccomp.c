/* Seccomp filters (mode 2): read per thread with PTRACE_SECCOMP_GET_FILTER.
 * When every thread has the same stack of filters (the usual case: they
 * were installed before the threads, or with TSYNC), it is saved once
 * (tid 0) and restart installs it oldest first with TSYNC; else each
 * thread's stack is saved with its tid (threads that installed filters of
 * their own), and restart installs each in its thread, without TSYNC.
 * Filters go in after every other privileged step and before
 * credentials; PTRACE_O_SUSPEND_SECCOMP keeps them from judging the
 * syscalls we inject until the process is released.  Strict mode (mode
 * 1: read, write, exit, sigreturn only) is per thread (thread_rec
 * seccomp_strict, from its status): restart enters it in each such
 * thread at the same point (prctl PR_SET_SECCOMP), under the same
 * suspension; ckpt reads such a thread only with the suspension (root),
 * any syscall injected into it being otherwise its death (dump.c). */
#define LOG_PREFIX "seccomp: "
#include "state.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define MAX_INSNS 4096		/* BPF_MAXINSNS */

/* The filter stack of one thread, newest first. */
static int read_filters(struct remote *r, struct seccomp_rec **out, size_t *n)
{
	struct sock_filter *insns = malloc(MAX_INSNS * sizeof(*insns));
	unsigned index;
	int ret = -1;

	*out = NULL;
	*n = 0;
	if (!insns)
		return fail(ENOMEM, NULL, "reading seccomp filters");
	for (index = 0;; index++) {
		struct seccomp_rec *rec;
		size_t ninsns;
		uint64_t flags;
		int got = remote_get_seccomp_filter(r, index, insns, MAX_INSNS, &ninsns, &flags);

		if (got < 0)
			goto out;
		if (got == 0)
			break;
		if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
			fail_why("a filter has a user-space notification listener",
				 "such filters cannot be saved yet",
				 "checkpointing seccomp filters of thread %d", remote_pid(r));
			goto out;
		}
		rec = meta_push(out, n, sizeof(*rec));
		if (!rec || blob_set(&rec->prog, insns, ninsns * sizeof(*insns)))
			goto out;
		rec->index = index;
		rec->flags = flags;
	}
	ret = 0;
out:
	free(insns);
	return ret;
}

static bool same_filters(const struct seccomp_rec *a, size_t na,
			 const struct seccomp_rec *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].prog.len != b[i].prog.len ||
		    memcmp(a[i].prog.data, b[i].prog.data, a[i].prog.len))
			return false;
	return true;
}

/* Which threads are in strict mode (their status: "Seccomp: 1"), and
 * which have filters (mode[i] 2). */
static int dump_modes(struct dump_ctx *ctx, int *mode)
{
	size_t i, strict = 0;

	for (i = 0; i < ctx->meta.nthreads; i++) {
		struct thread_rec *t = &ctx->meta.threads[i];
		struct proc_status st;

		mode[i] = 0;
		if (t->exited)
			continue;
		if (procfs_read_task_status(ctx->pid, t->tid, &st))
			return -1;
		mode[i] = st.seccomp;
		t->seccomp_strict = st.seccomp == 1;
		strict += t->seccomp_strict;
	}
	if (strict)
		pr_info("%zu thread%s in strict seccomp mode", strict, strict == 1 ? "" : "s");
	return 0;
}

/* Thread i's stack (none when it has no filter). */
static int thread_filters(struct dump_ctx *ctx, const int *mode, size_t i,
			  struct seccomp_rec **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (mode[i] != 2 || i >= ctx->ntasks)
		return 0;
	return read_filters(ctx->tasks[i], out, n);
}

/* Every thread's stack in the image, each record with its tid. */
static int dump_per_thread(struct dump_ctx *ctx, const int *mode)
{
	size_t i, k, total = 0;

	record_free_list(&seccomp_rec_desc, ctx->meta.seccomp, ctx->meta.nseccomp);
	ctx->meta.seccomp = NULL;
	ctx->meta.nseccomp = 0;
	for (i = 0; i < ctx->meta.nthreads; i++) {
		struct seccomp_rec *stack, *rec;
		size_t n;

		if (thread_filters(ctx, mode, i, &stack, &n))
			return -1;
		for (k = 0; k < n; k++) {
			rec = meta_push(&ctx->meta.seccomp, &ctx->meta.nseccomp, sizeof(*rec));
			if (!rec) {
				record_free_list(&seccomp_rec_desc, stack, n);
				return -1;
			}
			*rec = stack[k];	/* (takes its prog) */
			memset(&stack[k], 0, sizeof(stack[k]));
			rec->tid = ctx->meta.threads[i].tid;
		}
		total += n;
		record_free_list(&seccomp_rec_desc, stack, n);
	}
	pr_info("%zu seccomp filters in stacks of their threads' own", total);
	return 0;
}

static int seccomp_dump(struct dump_ctx *ctx)
{
	int *mode = calloc(ctx->meta.nthreads ? ctx->meta.nthreads : 1, sizeof(*mode));
	bool any = false;
	size_t i;
	int ret = -1;

	if (!mode)
		return fail(ENOMEM, NULL, "reading seccomp modes");
	if (dump_modes(ctx, mode))
		goto out;
	for (i = 0; i < ctx->meta.nthreads; i++)
		any |= mode[i] == 2;
	ret = 0;
	if (!any)
		goto out;
	ret = -1;
	if (thread_filters(ctx, mode, 0, &ctx->meta.seccomp, &ctx->meta.nseccomp))
		goto out;
	for (i = 1; i < ctx->meta.nthreads; i++) {
		struct seccomp_rec *other;
		size_t n;
		bool same;

		if (ctx->meta.threads[i].exited)
			continue;
		if (thread_filters(ctx, mode, i, &other, &n))
			goto out;
		same = same_filters(ctx->meta.seccomp, ctx->meta.nseccomp, other, n);
		record_free_list(&seccomp_rec_desc, other, n);
		if (!same) {
			ret = dump_per_thread(ctx, mode);
			goto out;
		}
	}
	pr_info("%zu seccomp filters", ctx->meta.nseccomp);
	ret = 0;
out:
	free(mode);
	return ret;
}

static int seccomp_check(struct restore_ctx *ctx)
{
	size_t i, j;

	for (i = 0; i < ctx->meta.nthreads; i++) {
		const struct thread_rec *t = &ctx->meta.threads[i];
		bool filters = false;	/* (in its stack: all threads', or its own) */

		for (j = 0; j < ctx->meta.nseccomp && !filters; j++)
			filters = !ctx->meta.seccomp[j].tid || ctx->meta.seccomp[j].tid == t->tid;
		if (t->seccomp_strict > 1 || (t->seccomp_strict && (filters || t->exited)))
			return fail_why("invalid seccomp mode (strict mode with filters, or on "
					"an exited thread)", "the image is corrupted",
					"checking thread %d", t->tid);
	}

	for (i = 0; i < ctx->meta.nseccomp; i++) {
		const struct seccomp_rec *s = &ctx->meta.seccomp[i];
		/* (Each stack newest first, indexes from 0; all of tid 0, or
		 * each of a thread of the image.) */
		size_t want = i && s->tid == ctx->meta.seccomp[i - 1].tid ?
			      ctx->meta.seccomp[i - 1].index + 1 : 0;
		bool thread_known = !s->tid;

		for (j = 0; j < ctx->meta.nthreads && !thread_known; j++)
			thread_known = ctx->meta.threads[j].tid == s->tid &&
				       !ctx->meta.threads[j].exited;
		if (!s->prog.len || s->prog.len % sizeof(struct sock_filter) ||
		    s->prog.len > MAX_INSNS * sizeof(struct sock_filter) || s->index != want ||
		    !thread_known || (i && !s->tid != !ctx->meta.seccomp[0].tid))
			return fail_why("invalid seccomp filter record", "the image is corrupted",
					"checking seccomp filter %zu", i);
		for (j = 0; s->tid && j < i; j++)
			if (ctx->meta.seccomp[j].tid == s->tid && s->index == 0)
				return fail_why("invalid seccomp filter record (a thread's "
						"stack in two places)", "the image is corrupted",
						"checking seccomp filter %zu", i);
	}
	return 0;
}

/* The task of thread tid (the process's main one for 0: all of them). */
static struct remote *task_of(struct restore_ctx *ctx, pid_t tid)
{
	size_t i;

	for (i = 0; tid && i < ctx->ntasks && i < ctx->meta.nthreads; i++)
		if (ctx->meta.threads[i].tid == tid)
			return ctx->tasks[i];
	return tid ? NULL : ctx->remote;
}

static int seccomp_restore(struct restore_ctx *ctx)
{
	size_t i;

	/* Oldest first: each stack is newest first in the image. */
	for (i = ctx->meta.nseccomp; i-- > 0;) {
		const struct seccomp_rec *s = &ctx->meta.seccomp[i];
		struct sock_fprog prog = { s->prog.len / sizeof(struct sock_filter), NULL };
		struct remote *task = task_of(ctx, s->tid);
		uint64_t insns, prog_addr;

		if (!task)
			return fail_why("its thread is not there", "the image is corrupted",
					"installing seccomp filters of thread %d", s->tid);
		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, s->prog.data, s->prog.len, &insns))
			return -1;
		prog.filter = (struct sock_filter *)(uintptr_t)insns;
		/* (The scratch memory is the process's: every thread sees it.) */
		if (remote_scratch_put(ctx->remote, &prog, sizeof(prog), &prog_addr) ||
		    remote_syscall_ok(task, NULL, "installing a seccomp filter",
				      __NR_seccomp, SECCOMP_SET_MODE_FILTER,
				      s->tid ? s->flags & ~(uint64_t)SECCOMP_FILTER_FLAG_TSYNC
					     : s->flags | SECCOMP_FILTER_FLAG_TSYNC,
				      prog_addr, 0, 0, 0))
			return -1;
	}
	for (i = 0; i < ctx->ntasks && i < ctx->meta.nthreads; i++)
		if (ctx->meta.threads[i].seccomp_strict &&
		    remote_syscall_ok(ctx->tasks[i], NULL, "entering strict seccomp mode",
				      __NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0, 0))
			return -1;
	return 0;
}

const struct state_ops seccomp_state_ops = {
	.name = "seccomp",
	.dump = seccomp_dump,
	.check = seccomp_check,
	.restore = seccomp_restore,
};
