/* Threads: registers, full xstate, signal mask, alternate signal stack,
 * rseq registration, robust futex list and clear_child_tid of each thread.
 * Every thread is seized at dump; at restore the leader clones the others
 * under their original TIDs (clone3 set_tid), each stopped before it runs. */
#define LOG_PREFIX "threads: "
#include "state.h"

#include <errno.h>
#include <linux/prctl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *read_comm(pid_t pid, const char *name)
{
	char *text;
	size_t len;

	if (procfs_read(pid, name, &text, &len))
		return NULL;
	while (len && text[len - 1] == '\n')
		text[--len] = 0;
	return text;
}

static int dump_altstack(struct remote *r, struct thread_rec *t)
{
	stack_t ss = { 0 };
	uint64_t addr;

	remote_scratch_reset(r);
	if (remote_scratch_put(r, &ss, sizeof(ss), &addr) ||
	    remote_syscall_ok(r, NULL, "reading the alternate signal stack",
			      __NR_sigaltstack, 0, addr, 0, 0, 0, 0) ||
	    remote_read(r, addr, &ss, sizeof(ss)))
		return -1;
	t->altstack_sp = (uint64_t)ss.ss_sp;
	t->altstack_size = ss.ss_size;
	t->altstack_flags = ss.ss_flags;
	return 0;
}

static int dump_tid_address(struct remote *r, struct thread_rec *t)
{
	uint64_t addr, value = 0;

	remote_scratch_reset(r);
	if (remote_scratch_put(r, &value, sizeof(value), &addr) ||
	    remote_syscall_ok(r, NULL, "reading clear_child_tid", __NR_prctl,
			      PR_GET_TID_ADDRESS, addr, 0, 0, 0, 0) ||
	    remote_read(r, addr, &value, sizeof(value)))
		return -1;
	t->clear_child_tid = value;
	return 0;
}

static int dump_thread(struct dump_ctx *ctx, struct remote *r)
{
	struct thread_rec *t;
	struct remote_rseq rs;
	size_t xlen = arch_xstate_size();
	pid_t tid = remote_pid(r);
	char name[64];
	long head = 0;
	size_t len = 0;
	void *xstate;

	t = meta_push(&ctx->meta.threads, &ctx->meta.nthreads, sizeof(*t));
	if (!t)
		return -1;
	t->tid = tid;
	if (blob_set(&t->regs, remote_orig_regs(r), sizeof(arch_regs_t)))
		return fail(ENOMEM, NULL, "saving registers");
	xstate = calloc(1, xlen);
	if (!xstate)
		return fail(ENOMEM, NULL, "saving xstate");
	if (remote_get_xstate(r, xstate, &xlen)) {
		free(xstate);
		return -1;
	}
	t->xstate.data = xstate;
	t->xstate.len = xlen;
	t->sigmask = remote_orig_sigmask(r);
	if (remote_get_rseq(r, &rs))
		return -1;
	t->rseq_addr = rs.addr;
	t->rseq_len = rs.len;
	t->rseq_sig = rs.sig;
	t->rseq_flags = rs.flags;
	if (syscall(__NR_get_robust_list, tid, &head, &len))
		return fail(errno, NULL, "reading the robust futex list of thread %d", tid);
	t->robust_list = head;
	t->robust_len = len;
	snprintf(name, sizeof(name), "task/%d/comm", tid);
	if (!(t->comm = read_comm(ctx->pid, name)))
		return -1;
	if (r != ctx->remote && remote_scratch_borrow(r, ctx->remote))
		return -1;
	return dump_altstack(r, t) || dump_tid_address(r, t);
}

/* The leader had exited (pthread_exit): a zombie thread, neither seized
 * nor able to run.  Its record says so, with no registers nor xstate (a
 * restart that does not know exited refuses the record rather than run
 * it) and nothing of it registered with the kernel (no rseq, robust list,
 * tid address, signal stack): the leader restored exits at once. */
static int dump_exited_leader(struct dump_ctx *ctx)
{
	struct thread_rec *t;

	t = meta_push(&ctx->meta.threads, &ctx->meta.nthreads, sizeof(*t));
	if (!t)
		return -1;
	t->tid = ctx->pid;
	t->exited = 1;
	t->sigmask = ~0ull;
	t->altstack_flags = SS_DISABLE;
	if (!(t->comm = read_comm(ctx->pid, "comm")))
		return -1;
	return 0;
}

static int threads_dump(struct dump_ctx *ctx)
{
	size_t i;

	if (ctx->leader_exited && dump_exited_leader(ctx))
		return -1;
	for (i = 0; i < ctx->ntasks; i++)
		if (dump_thread(ctx, ctx->tasks[i]))
			return -1;
	return 0;
}

static int cmp_tid(const void *a, const void *b)
{
	return *(const int32_t *)a - *(const int32_t *)b;
}

/* Where a thread resumes must be code of the image: an instruction
 * pointer anywhere else (kernel space, data) would only kill the process
 * the moment it runs. */
static int check_resume_point(const struct restore_ctx *ctx, const struct thread_rec *t)
{
	arch_regs_t regs;
	const struct vma_rec *v;
	uint64_t ip;

	memcpy(&regs, t->regs.data, sizeof(regs));
	ip = arch_ip(&regs);
	v = meta_find_vma(&ctx->meta, ip);
	if (!v || !(v->prot & PROT_EXEC))
		return fail_why(ip >= ARCH_TASK_SIZE && (!v || v->kind != VMA_VSYSCALL) ?
				"its instruction pointer is not in user space" :
				"its instruction pointer is in no executable mapping of the image",
				"the image is corrupted", "checking thread %d (ip %#llx)", t->tid,
				(unsigned long long)ip);
	return 0;
}

/* What the kernel is given for the thread: its rseq area in writable
 * memory of the image, the robust list, tid address and signal stack in
 * user space. */
static int check_thread_addrs(struct restore_ctx *ctx, const struct thread_rec *t)
{
	const struct vma_rec *v;

	if (t->rseq_addr && t->rseq_len &&
	    (t->rseq_len > 4096 || !(v = meta_find_vma(&ctx->meta, t->rseq_addr)) ||
	     !(v->prot & PROT_WRITE) || t->rseq_addr + t->rseq_len > v->end))
		return fail_why("its rseq area is not in writable memory of the image",
				"the image is corrupted", "checking thread %d (rseq %#llx)", t->tid,
				(unsigned long long)t->rseq_addr);
	if (t->robust_list >= ARCH_TASK_SIZE || t->clear_child_tid >= ARCH_TASK_SIZE ||
	    t->altstack_sp >= ARCH_TASK_SIZE || t->altstack_size >= ARCH_TASK_SIZE)
		return fail_why("an address of the thread is not in user space", "the image is "
				"corrupted", "checking thread %d", t->tid);
	return 0;
}

/* /proc/sys/kernel/threads-max, -1 if unreadable. */
static long threads_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/threads-max", "re");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

bool meta_has_thread(const struct image_meta *m, int32_t tid)
{
	size_t i;

	for (i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid)
			return true;
	return false;
}

static int threads_check(struct restore_ctx *ctx)
{
	int32_t *tids;
	size_t i;

	long max = threads_max();

	if (ctx->meta.nthreads < 1 || ctx->meta.nthreads > 65536 ||
	    (max > 0 && ctx->meta.nthreads > (size_t)max))
		return fail_why("more threads than this host allows", "raise "
				"/proc/sys/kernel/threads-max, or the image is corrupted",
				"checking the image (%zu threads, at most %ld here)",
				ctx->meta.nthreads, max);
	if (
	    ctx->meta.threads[0].tid != ctx->meta.process->pid)
		return fail_why("invalid thread list", "the image is corrupted",
				"checking the image (%zu threads)", ctx->meta.nthreads);
	for (i = 0; i < ctx->meta.nthreads; i++) {
		const struct thread_rec *t = &ctx->meta.threads[i];
		/* Only the leader exits before its threads, which run on; it
		 * has no registers (it exits at once) nor anything registered. */
		if (t->exited > 1 || (t->exited && (i || ctx->meta.nthreads < 2)))
			return fail_why("an exited thread other than a leader with threads "
					"running on", "the image is corrupted",
					"checking thread %d", t->tid);
		if (t->exited) {
			if (t->regs.len || t->xstate.len || t->rseq_addr || t->robust_list ||
			    t->clear_child_tid || !(t->altstack_flags & SS_DISABLE) || t->tid <= 0)
				return fail_why("invalid record of an exited leader", "the image is "
						"corrupted", "checking thread %d", t->tid);
			continue;
		}
		if (t->regs.len != sizeof(arch_regs_t) || t->xstate.len < 576 ||
		    t->xstate.len > (1 << 20) || t->tid <= 0)
			return fail_why("invalid thread record", "the image is corrupted",
					"checking thread %d", t->tid);
		if (check_resume_point(ctx, t) || check_thread_addrs(ctx, t))
			return -1;
	}
	tids = malloc(ctx->meta.nthreads * sizeof(*tids));
	if (!tids)
		return fail(ENOMEM, NULL, "checking the thread list");
	for (i = 0; i < ctx->meta.nthreads; i++)
		tids[i] = ctx->meta.threads[i].tid;
	qsort(tids, ctx->meta.nthreads, sizeof(*tids), cmp_tid);
	for (i = 1; i < ctx->meta.nthreads && tids[i] != tids[i - 1]; i++)
		;
	if (i < ctx->meta.nthreads) {
		fail_why("a thread appears twice", "the image is corrupted",
			 "checking thread %d", tids[i]);
		free(tids);
		return -1;
	}
	free(tids);
	return 0;
}

static int restore_xstate(struct remote *r, const struct thread_rec *t)
{
	size_t here = arch_xstate_size(), len = t->xstate.len > here ? t->xstate.len : here;
	uint8_t *buf = calloc(1, len);
	int ret;

	/* The XSAVE layout is fixed per feature (non-compacted), so an image
	 * from a CPU with fewer features fits a larger area as it is. */
	if (!buf)
		return fail(ENOMEM, NULL, "restoring xstate");
	memcpy(buf, t->xstate.data, t->xstate.len);
	ret = remote_set_xstate(r, buf, here);
	free(buf);
	return ret;
}

static int restore_thread_name(struct remote *r, const struct thread_rec *t)
{
	char comm[16] = { 0 };
	uint64_t addr;

	if (!t->comm)
		return 0;
	snprintf(comm, sizeof(comm), "%s", t->comm);
	remote_scratch_reset(r);
	if (remote_scratch_put(r, comm, sizeof(comm), &addr) ||
	    remote_syscall_ok(r, NULL, "restoring the thread name", __NR_prctl,
			      PR_SET_NAME, addr, 0, 0, 0, 0))
		return -1;
	return 0;
}

/* What each thread registers for itself: injected in that thread. */
static int restore_thread_state(struct remote *r, const struct thread_rec *t)
{
	stack_t ss = { (void *)t->altstack_sp, t->altstack_flags & ~SS_ONSTACK, t->altstack_size };
	uint64_t addr;

	remote_scratch_reset(r);
	if (!(t->altstack_flags & SS_DISABLE) &&
	    (remote_scratch_put(r, &ss, sizeof(ss), &addr) ||
	     remote_syscall_ok(r, NULL, "restoring the alternate signal stack", __NR_sigaltstack,
			       addr, 0, 0, 0, 0, 0)))
		return -1;
	if (t->robust_list &&
	    remote_syscall_ok(r, NULL, "restoring the robust futex list", __NR_set_robust_list,
			      t->robust_list, t->robust_len, 0, 0, 0, 0))
		return -1;
	if (remote_syscall_ok(r, NULL, "restoring clear_child_tid", __NR_set_tid_address,
			      t->clear_child_tid, 0, 0, 0, 0, 0))
		return -1;
	if (t->rseq_addr &&
	    remote_syscall_ok(r, NULL, "registering rseq", __NR_rseq, t->rseq_addr,
			      t->rseq_len, 0, t->rseq_sig, 0, 0))
		return -1;
	if (restore_thread_name(r, t))
		return -1;
	return restore_xstate(r, t);
}

/* A new thread of the restored process, under its original TID, cloned
 * from the leader and stopped before it runs anything. */
static int create_thread(struct restore_ctx *ctx, const struct thread_rec *t,
			 struct remote **out)
{
	struct clone_args args = {
		.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			 CLONE_SYSVSEM,
	};
	pid_t want[2] = { t->tid, t->tid };
	uint64_t tid_addr, args_addr;
	char what[64];
	long tid;

	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, want, sizeof(want), &tid_addr))
		return -1;
	if (!ctx->opts->any_pid) {
		args.set_tid = tid_addr;
		args.set_tid_size = ctx->pidns_nested ? 2 : 1;
	}
	if (remote_scratch_put(ctx->remote, &args, sizeof(args), &args_addr))
		return -1;
	snprintf(what, sizeof(what), "creating thread %d", t->tid);
	if (remote_syscall_ok(ctx->remote, &tid, what, __NR_clone3, args_addr, sizeof(args),
			      0, 0, 0, 0))
		return -1;
	if (remote_adopt_thread(tid, out))
		return -1;
	return remote_scratch_borrow(*out, ctx->remote);
}

static int threads_restore(struct restore_ctx *ctx)
{
	size_t i;

	ctx->tasks = calloc(ctx->meta.nthreads, sizeof(*ctx->tasks));
	if (!ctx->tasks)
		return fail(ENOMEM, NULL, "restoring threads");
	ctx->tasks[0] = ctx->remote;
	ctx->ntasks = 1;
	for (i = 1; i < ctx->meta.nthreads; i++) {
		if (create_thread(ctx, &ctx->meta.threads[i], &ctx->tasks[i]))
			return -1;
		ctx->ntasks++;
	}
	for (i = 0; i < ctx->meta.nthreads; i++)
		if (!ctx->meta.threads[i].exited &&
		    restore_thread_state(ctx->tasks[i], &ctx->meta.threads[i]))
			return -1;
	/* An exited leader keeps its name only: it exits at let_go, nothing
	 * of it registered (restore_leader_exit, restart/restore.c). */
	if (ctx->meta.threads[0].exited && restore_thread_name(ctx->remote, &ctx->meta.threads[0]))
		return -1;
	return 0;
}

pid_t restore_tid(const struct restore_ctx *ctx, pid_t original)
{
	size_t i;

	for (i = 0; i < ctx->ntasks && i < ctx->meta.nthreads; i++)
		if (ctx->meta.threads[i].tid == original)
			/* As the process sees it: restart may see it under
			 * another (the root of a nested PID namespace). */
			return ctx->opts->any_pid ? remote_pid(ctx->tasks[i]) : original;
	return 0;
}

const struct state_ops threads_state_ops = {
	.name = "threads",
	.dump = threads_dump,
	.check = threads_check,
	.restore = threads_restore,
};
