/* Seccomp filters (mode 2): read per thread with PTRACE_SECCOMP_GET_FILTER;
 * every thread must have the same stack of filters (the usual case: they
 * were installed before the threads, or with TSYNC).  restart installs them
 * oldest first with TSYNC, after every other privileged step and before
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

/* Which threads are in strict mode (their status: "Seccomp: 1"). */
static int dump_strict(struct dump_ctx *ctx)
{
	size_t i, strict = 0;

	for (i = 0; i < ctx->meta.nthreads; i++) {
		struct thread_rec *t = &ctx->meta.threads[i];
		struct proc_status st;

		if (t->exited)
			continue;
		if (procfs_read_task_status(ctx->pid, t->tid, &st))
			return -1;
		t->seccomp_strict = st.seccomp == 1;
		strict += t->seccomp_strict;
	}
	if (strict)
		pr_info("%zu thread%s in strict seccomp mode", strict, strict == 1 ? "" : "s");
	return 0;
}

static int seccomp_dump(struct dump_ctx *ctx)
{
	size_t i;

	if (dump_strict(ctx))
		return -1;
	if (ctx->status.seccomp != 2)
		return 0;
	if (read_filters(ctx->remote, &ctx->meta.seccomp, &ctx->meta.nseccomp))
		return -1;
	for (i = 1; i < ctx->ntasks; i++) {
		struct seccomp_rec *other;
		size_t n;
		bool same;

		if (read_filters(ctx->tasks[i], &other, &n))
			return -1;
		same = same_filters(ctx->meta.seccomp, ctx->meta.nseccomp, other, n);
		record_free_list(&seccomp_rec_desc, other, n);
		if (!same)
			return fail_why("its threads have different seccomp filters", "this "
					"version saves one filter stack for all threads",
					"checkpointing process %d", ctx->pid);
	}
	pr_info("%zu seccomp filters", ctx->meta.nseccomp);
	return 0;
}

static int seccomp_check(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nthreads; i++) {
		const struct thread_rec *t = &ctx->meta.threads[i];
		if (t->seccomp_strict > 1 || (t->seccomp_strict && (ctx->meta.nseccomp ||
								    t->exited)))
			return fail_why("invalid seccomp mode (strict mode with filters, or on "
					"an exited thread)", "the image is corrupted",
					"checking thread %d", t->tid);
	}

	for (i = 0; i < ctx->meta.nseccomp; i++) {
		const struct seccomp_rec *s = &ctx->meta.seccomp[i];
		if (!s->prog.len || s->prog.len % sizeof(struct sock_filter) ||
		    s->prog.len > MAX_INSNS * sizeof(struct sock_filter) || s->index != i)
			return fail_why("invalid seccomp filter record", "the image is corrupted",
					"checking seccomp filter %zu", i);
	}
	return 0;
}

static int seccomp_restore(struct restore_ctx *ctx)
{
	size_t i;

	for (i = ctx->meta.nseccomp; i-- > 0;) {
		const struct seccomp_rec *s = &ctx->meta.seccomp[i];
		struct sock_fprog prog = { s->prog.len / sizeof(struct sock_filter), NULL };
		uint64_t insns, prog_addr;

		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, s->prog.data, s->prog.len, &insns))
			return -1;
		prog.filter = (struct sock_filter *)(uintptr_t)insns;
		if (remote_scratch_put(ctx->remote, &prog, sizeof(prog), &prog_addr) ||
		    remote_syscall_ok(ctx->remote, NULL, "installing a seccomp filter",
				      __NR_seccomp, SECCOMP_SET_MODE_FILTER,
				      s->flags | SECCOMP_FILTER_FLAG_TSYNC, prog_addr, 0, 0, 0))
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
