/* ckpt's work from start to end: preflight checks, seize, every state
 * module's dump, the image written in order, then the process let go. */
#define LOG_PREFIX ""
#include "dump.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>

#include "state/fds.h"
#include "version.h"

volatile int dump_interrupted;

static bool in_vfork(pid_t pid, pid_t ppid)
{
	char *text;
	size_t len;
	long nr = -1;

	if (procfs_read(pid, "syscall", &text, &len) == 0) {
		nr = strtol(text, NULL, 10);
		free(text);
	}
	error_clear();
	return nr == __NR_vfork || (ppid > 0 && syscall(SYS_kcmp, pid, ppid, KCMP_VM, 0, 0) == 0);
}

/* A vfork parent waits for its child to exec or exit, and the child runs
 * on the parent's memory: neither can be saved on its own.  Most children
 * exec at once (posix_spawn, a shell starting a command): waited for, up
 * to a second. */
static int refuse_vfork(pid_t pid, pid_t ppid, const char *comm)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 100 && in_vfork(pid, ppid); i++)
		nanosleep(&tick, NULL);
	if (!in_vfork(pid, ppid))
		return 0;
	if (ppid > 0 && syscall(SYS_kcmp, pid, ppid, KCMP_VM, 0, 0) == 0)
		return fail_why("it is a vfork child still running on its parent's memory, and "
				"has not called exec or exit for a second", "checkpoint once it has "
				"called exec", "checkpointing process %d (%s)", pid, comm);
	return fail_why("it is in vfork(), and its child has not called exec or exit for a "
			"second (the child runs on its memory: neither can be saved alone)",
			"checkpoint once the child has called exec", "checkpointing process %d (%s)",
			pid, comm);
}

/* A process of the tree in a PID namespace below ours (a child of
 * `unshare -pf`): its PIDs are not the ones we would save. */
/* A thread in strict seccomp mode dies of any syscall injected into it
 * but read, write, exit and sigreturn: ckpt reads it only with its
 * seccomp suspended (PTRACE_O_SUSPEND_SECCOMP, which needs CAP_SYS_ADMIN). */
static int refuse_strict_seccomp(pid_t pid, const char *comm)
{
	struct proc_status me, st;
	pid_t *tids;
	size_t n, i;
	int ret = 0;

	if (procfs_read_status(getpid(), &me))
		return -1;
	if (me.cap_eff & (1ull << 21))	/* CAP_SYS_ADMIN */
		return 0;
	if (procfs_list_tasks(pid, &tids, &n))
		return -1;
	for (i = 0; i < n && !ret; i++) {
		if (procfs_read_task_status(pid, tids[i], &st)) {
			error_clear();	/* (a thread that ended meanwhile) */
			continue;
		}
		if (st.seccomp == 1)
			ret = fail_why("a thread of it runs in strict seccomp mode, and ckpt "
				       "cannot suspend it without CAP_SYS_ADMIN (a syscall "
				       "injected into it would kill it)", "run ckpt as root",
				       "checkpointing process %d (%s), thread %d", pid, comm,
				       tids[i]);
	}
	free(tids);
	return ret;
}

static int refuse_other_pidns(pid_t pid, const char *comm)
{
	char path[64], mine[64] = "", its[64] = "";
	ssize_t n;

	n = readlink("/proc/self/ns/pid", mine, sizeof(mine) - 1);
	mine[n > 0 ? n : 0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	n = readlink(path, its, sizeof(its) - 1);
	its[n > 0 ? n : 0] = 0;
	if (!mine[0] || !its[0] || !strcmp(mine, its))
		return 0;
	return fail_why("it runs in a PID namespace below ckpt's (a tree spanning PID "
			"namespaces)", "checkpoint the init of that namespace on its own: ckpt "
			"saves it with the PIDs seen there, for restart --new-pid",
			"checkpointing process %d (%s)", pid, comm);
}

/* The main thread has exited (pthread_exit) while other threads run on:
 * the leader is a zombie thread without memory, files or namespaces of
 * its own in /proc.  Everything per process is read through a live
 * thread; the leader is saved as exited, made again and made to exit at
 * restore. */
static int find_live_thread(struct dump_ctx *ctx)
{
	pid_t *tids;
	size_t n, i;

	if (procfs_list_tasks(ctx->pid, &tids, &n))
		return -1;
	for (i = 0; i < n; i++) {
		struct proc_stat st;

		if (tids[i] == ctx->pid)
			continue;
		if (procfs_read_stat(tids[i], &st)) {
			error_clear();	/* exited meanwhile */
			continue;
		}
		if (st.state == 'Z' || st.state == 'X')
			continue;
		ctx->live = tids[i];
		ctx->leader_exited = true;
		free(tids);
		/* The leader's stat has no memory layout any more: the live
		 * thread's (same address space). */
		ctx->stat.startstack = st.startstack;
		ctx->stat.start_code = st.start_code;
		ctx->stat.end_code = st.end_code;
		ctx->stat.start_data = st.start_data;
		ctx->stat.end_data = st.end_data;
		ctx->stat.start_brk = st.start_brk;
		ctx->stat.arg_start = st.arg_start;
		ctx->stat.arg_end = st.arg_end;
		ctx->stat.env_start = st.env_start;
		ctx->stat.env_end = st.env_end;
		pr_info("process %d: its main thread has exited (pthread_exit); read through "
			"thread %d", ctx->pid, ctx->live);
		return 0;
	}
	free(tids);
	return 0;	/* no live thread left: the process is exiting, a zombie */
}

int dump_preflight(pid_t pid, struct dump_ctx *ctx)
{
	char comm[64];

	if (pid <= 0)
		return fail_why("not a valid PID", "give the PID of a running process",
				"checkpointing process %d", pid);
	if (kill(pid, 0) && errno == ESRCH)
		return fail_why("no such process", "check the PID with ps",
				"checkpointing process %d", pid);
	if (procfs_read_stat(pid, &ctx->stat))
		return -1;
	snprintf(comm, sizeof(comm), "%s", ctx->stat.comm);
	if (pid == getpid())
		return fail_why("that is ckpt itself", "give the PID of another process",
				"checkpointing process %d", pid);
	if (pid == getppid())
		return fail_why("that is ckpt's parent (the process waiting for ckpt)",
				"run ckpt from another shell, or use libmigrate to checkpoint "
				"a program from inside", "checkpointing process %d (%s)", pid, comm);
	if (ctx->stat.flags & 0x00200000)	/* PF_KTHREAD */
		return fail_why("it is a kernel thread", "only user processes can be "
				"checkpointed", "checkpointing process %d (%s)", pid, comm);
	if (ctx->stat.state == 'Z' && ctx->stat.num_threads > 1 && find_live_thread(ctx))
		return -1;
	if ((ctx->stat.state == 'Z' && !ctx->leader_exited) || ctx->stat.state == 'X')
		return fail_why("it is a zombie (it has exited; its parent has not reaped it)",
				"nothing is left to checkpoint", "checkpointing process %d (%s)",
				pid, comm);
	if (procfs_read_status(ctx->live, &ctx->status))
		return -1;
	if (ctx->status.tgid != pid)
		return fail_why("it is a thread, not a process", "give the process ID "
				"(Tgid in /proc/PID/status)", "checkpointing %d (%s)", pid, comm);
	if (ctx->status.tracer_pid) {
		struct proc_stat tr;
		const char *tracer = procfs_read_stat(ctx->status.tracer_pid, &tr) ? "?" : tr.comm;
		error_clear();
		return fail_why("it is already traced", "detach the debugger or tracer first: "
				"only one tracer can attach",
				"checkpointing process %d (%s), traced by %d (%s)", pid, comm,
				ctx->status.tracer_pid, tracer);
	}
	if (refuse_other_pidns(pid, comm))
		return -1;
	if (refuse_strict_seccomp(pid, comm))
		return -1;
	return refuse_vfork(ctx->live, ctx->stat.ppid, comm);
}

static bool seized(const struct dump_ctx *ctx, pid_t tid)
{
	size_t i;
	for (i = 0; i < ctx->ntasks; i++)
		if (remote_pid(ctx->tasks[i]) == tid)
			return true;
	return false;
}

static int seize_one(struct dump_ctx *ctx, pid_t tid)
{
	struct remote **grown = realloc(ctx->tasks, (ctx->ntasks + 1) * sizeof(*grown));
	char path[64];

	if (!grown)
		return fail(ENOMEM, NULL, "seizing threads");
	ctx->tasks = grown;
	if (remote_seize(tid, &ctx->tasks[ctx->ntasks])) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d", ctx->pid, tid);
		if ((tid != ctx->pid || ctx->leader_exited) && access(path, F_OK)) {
			error_clear();	/* the thread exited meanwhile */
			return 0;
		}
		return -1;
	}
	ctx->ntasks++;
	return 0;
}

/* Stop every thread, leader first.  Threads may be created while we
 * seize: list again until a listing brings no new thread. */
int dump_seize_all(struct dump_ctx *ctx)
{
	int round;

	if (!ctx->leader_exited && seize_one(ctx, ctx->pid))
		return -1;
	for (round = 0; round < 100; round++) {
		pid_t *tids;
		size_t n, i;
		bool added = false;

		if (procfs_list_tasks(ctx->pid, &tids, &n))
			return -1;
		for (i = 0; i < n; i++) {
			if (seized(ctx, tids[i]) || (ctx->leader_exited && tids[i] == ctx->pid))
				continue;
			if (seize_one(ctx, tids[i])) {
				free(tids);
				return -1;
			}
			added = true;
		}
		free(tids);
		if (!ctx->ntasks)
			return fail_why("its last threads exited meanwhile", NULL,
					"stopping every thread of process %d", ctx->pid);
		/* Everything goes through tasks[0]: the leader, or the first
		 * live thread (it cannot exit while held). */
		ctx->remote = ctx->tasks[0];
		ctx->live = remote_pid(ctx->remote);
		if (!added)
			return 0;
	}
	return fail_why("it keeps creating threads", "try again when it is quieter",
			"stopping every thread of process %d", ctx->pid);
}

int dump_release_all(struct dump_ctx *ctx)
{
	size_t i;

	if (ctx->released)
		return 0;
	ctx->frozen_ns = now_ns() - ctx->frozen_ns;
	ctx->released = true;

	/* TCP connections left repair mode as they were read; with --kill
	 * they are in it again (since the commit) until the process is
	 * gone, so its death sends nothing to the peers. */
	if (!ctx->opts->kill_after)
		state_dump_resume(ctx, false);

	/* The init of our PID namespace ignores our SIGKILL: the ckpt outside
	 * sends it, which ends every process of the namespace, us too. */
	if (ctx->opts->kill_after && ctx->opts->own_pidns && ctx->pid == 1)
		pidns_kill_init(ctx->opts->kill_init_fd);
	/* Not its init (restart --new-pid's is): once they are gone, the
	 * init ends the namespace, us too; the ckpt outside knows the image
	 * is complete. */
	if (ctx->opts->kill_after && ctx->opts->own_pidns)
		pidns_image_complete(ctx->opts->kill_init_fd);
	/* Last thread first: a leader is reaped after its threads. */
	for (i = ctx->ntasks; i-- > 0;) {
		if (ctx->opts->kill_after)
			remote_kill(ctx->tasks[i]);
		else if (remote_cure(ctx->tasks[i]))
			return -1;
	}
	if (ctx->opts->kill_after)
		state_dump_resume(ctx, true);
	return 0;
}

int dump_write_header(struct dump_ctx *ctx)
{
	struct image_header *h = meta_push(&ctx->meta.header, &ctx->meta.nheader, sizeof(*h));
	uint8_t id[16];
	struct utsname u;
	struct timespec ts;
	const char *forced = getenv("CKPT_TEST_FORMAT_VERSION");	/* tests only */

	if (!h)
		return -1;
	uname(&u);
	clock_gettime(CLOCK_REALTIME, &ts);
	h->format_version = forced ? (uint32_t)atoi(forced) : IMAGE_FORMAT_VERSION;
	h->tool_version = strdup("ckpt " CKPT_VERSION);
	h->created_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	h->hostname = strdup(u.nodename);
	h->kernel = strdup(u.release);
	h->arch = strdup(ARCH_NAME);
	h->pid = ctx->pid;
	h->own_pidns = ctx->opts->own_pidns;
	h->comm = strdup(ctx->stat.comm);
	h->owner_uid = getuid() + 1;	/* who supplies the image: docs/security.md */
	h->owner_gid = getgid() + 1;
	if (getrandom(id, sizeof(id), 0) != sizeof(id))
		return fail(errno, NULL, "making an image id");
	if (blob_set(&h->image_id, id, sizeof(id)))
		return -1;
	if (!h->tool_version || !h->hostname || !h->kernel || !h->arch || !h->comm)
		return fail(ENOMEM, NULL, "writing the image header");
	return 0;
}

int dump_run_prepare_hooks(struct dump_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++) {
		unsigned long long t0 = now_ns();

		if (!(*ops)->dump_prepare)
			continue;
		if ((*ops)->dump_prepare(ctx))
			return -1;
		pr_info("prepared %s in %.2f ms (process running)", (*ops)->name,
			(now_ns() - t0) / 1e6);
	}
	return 0;
}

int dump_run_dump_hooks(struct dump_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++) {
		unsigned long long t0 = now_ns();
		if ((*ops)->dump && (*ops)->dump(ctx))
			return -1;
		pr_info("dumped %s in %.2f ms", (*ops)->name, (now_ns() - t0) / 1e6);
	}
	return 0;
}

/* -v: where each thread was, innermost frame first. */
void dump_print_backtraces(const struct image_meta *m)
{
	char line[PATH_MAX + 256];
	size_t i;

	if (log_level < 1)
		return;
	for (i = 0; i < m->nbacktraces; i++) {
		backtrace_format(&m->backtraces[i], line, sizeof(line));
		pr_info("thread %d: %s", m->backtraces[i].tid, line);
	}
}

/* Let the process go on while its memory is written: it forks a frozen
 * copy-on-write copy that we read from instead.  Not possible (fork
 * refused: RLIMIT_NPROC, pids cgroup, seccomp, memory): stay frozen. */
int resume_early(struct dump_ctx *ctx)
{
	unsigned long long t0 = now_ns();

	/* The copy is the process's sibling when its parent is not of the
	 * image (a shell, a supervisor: it reaps one more child).  A parent
	 * of the tree is the program itself, which must not see a child it
	 * never made die (PostgreSQL's postmaster takes it for a crashed
	 * backend and restarts them all): there the copy is the process's
	 * own child, which nobody is told of, reaped from inside after. */
	ctx->copy_is_child = ctx->tree_pipes && tree_has_pid(ctx->tree_pipes, ctx->stat.ppid);
	/* Reaped by the guard if ckpt dies before it does (state/tcp_guard.h). */
	if ((ctx->copy_is_child && tcp_guard_ready(&ctx->tcp_guard, ctx->pid)) ||
	    remote_fork_copy(ctx->remote, !ctx->copy_is_child, &ctx->copy) ||
	    (ctx->copy_is_child && tcp_guard_copy(&ctx->tcp_guard, ctx->pid,
						  remote_pid(ctx->copy)))) {
		pr_info("no copy-on-write copy (%s): the process stays stopped until its memory "
			"is written", error_text());
		error_clear();
		if (ctx->copy)
			reap_copy(ctx);	/* (made, but not in the guard's care) */
		ctx->copy = NULL;
		return 0;
	}
	ctx->source = ctx->copy;
	pr_info("forked a copy-on-write copy (pid %d) in %.2f ms", remote_pid(ctx->copy),
		(now_ns() - t0) / 1e6);
	return dump_release_all(ctx);
}

/* A sibling copy (CLONE_PARENT), killed here, is reaped by their parent,
 * as any child is, and the process itself is not stopped again.  A child
 * copy is reaped from inside: through the stopped threads when the dump
 * failed, else by stopping one thread again for a wait4 (docs/design.md). */
void reap_copy(struct dump_ctx *ctx)
{
	pid_t copy = remote_pid(ctx->copy);
	bool had_error = error_is_set();
	struct remote *r = NULL;

	remote_kill(ctx->copy);
	remote_free(ctx->copy);
	ctx->copy = NULL;
	if (!ctx->copy_is_child)
		return;
	if (!ctx->released && ctx->remote) {
		if (!remote_reap_copy(ctx->remote, copy)) {
			tcp_guard_copy_reaped(&ctx->tcp_guard);
			return;
		}
	} else if (!remote_seize(ctx->live, &r)) {
		int bad = remote_reap_copy(r, copy);
		bad |= remote_cure(r);
		remote_free(r);
		if (!bad) {
			tcp_guard_copy_reaped(&ctx->tcp_guard);
			return;
		}
	}
	tcp_guard_copy_reaped(&ctx->tcp_guard);
	if (kill(ctx->pid, 0) == 0)
		pr_warn("process %d keeps a zombie child %d (its copy-on-write copy, exit signal 0: "
			"unseen by wait() without __WALL)%s%s", ctx->pid, copy,
			had_error ? "" : ": ", had_error ? "" : error_text());
	if (!had_error)
		error_clear();
}

/* Before any process of the image resumes: what a copy-on-write copy
 * would not have as it is. */
int dump_run_shared_hooks(struct dump_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++)
		if ((*ops)->dump_shared && (*ops)->dump_shared(ctx))
			return -1;
	return 0;
}

/* Let the process go on now if it may (its memory read from a copy). */
int dump_resume_if_possible(struct dump_ctx *ctx)
{
	if (ctx->opts->kill_after || ctx->opts->no_cow)
		return 0;
	if (ctx->stay_frozen) {
		pr_info("process %d stays stopped until its memory is written: %s", ctx->pid,
			ctx->stay_frozen);
		return 0;
	}
	return resume_early(ctx);
}

int dump_run_late_hooks(struct dump_ctx *ctx)
{
	const struct state_ops *const *ops;
	unsigned long long t0 = now_ns();

	for (ops = state_table; *ops; ops++)
		if ((*ops)->dump_late && (*ops)->dump_late(ctx))
			return -1;
	pr_info("picked the pages of process %d to save in %.2f ms", ctx->pid,
		(now_ns() - t0) / 1e6);
	return 0;
}

int dump_run_contents_hooks(struct dump_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++) {
		if (dump_interrupted)
			return fail_why("interrupted by a signal", NULL, "writing the image");
		if ((*ops)->dump_contents && (*ops)->dump_contents(ctx))
			return -1;
	}
	if (dump_interrupted)
		return fail_why("interrupted by a signal", NULL, "writing the image");
	return 0;
}

/* End of a dump, failed or not: the copy reaped, threads put back (on
 * failure) or already let go, everything freed. */
void dump_ctx_end(struct dump_ctx *ctx)
{
	if (ctx->copy)
		reap_copy(ctx);
	state_dump_resume(ctx, false);	/* on failure: connections live again */
	while (ctx->ntasks)	/* on failure: puts every thread back */
		remote_free(ctx->tasks[--ctx->ntasks]);
	free(ctx->tasks);
	ctx->tasks = NULL;
	ctx->remote = NULL;
	state_dump_release(ctx);
	tcp_guard_end(&ctx->tcp_guard);	/* (gone already unless something was left) */
	meta_free(&ctx->meta);
}
