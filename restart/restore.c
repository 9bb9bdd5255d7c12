/* restart's work from start to end: read and check all metadata, create
 * the process (original PID via clone3 set_tid), let it set up what exec
 * keeps, exec the original binary stopped at PTRACE_EVENT_EXEC, overlay
 * the rest with injected syscalls, and let it run. */
#define LOG_PREFIX ""
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Is pid being checkpointed right now (traced by a ckpt)?  Then it is most
 * likely the source of the image in `ckpt PID --kill -o - | restart -`,
 * and will be gone once ckpt has written everything. */
static bool being_checkpointed(pid_t pid)
{
	struct proc_status st;
	struct proc_stat tracer;

	if (procfs_read_status(pid, &st) || !st.tracer_pid ||
	    procfs_read_stat(st.tracer_pid, &tracer)) {
		error_clear();
		return false;
	}
	return !strcmp(tracer.comm, "ckpt");
}

static pid_t clone_with_pid(pid_t want)
{
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&want,
		.set_tid_size = 1,
	};
	return syscall(SYS_clone3, &args, sizeof(args));
}

/* Fallback for kernels without clone3 set_tid: ns_last_pid then fork. */
static pid_t fork_with_pid(pid_t want)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	int len = snprintf(buf, sizeof(buf), "%d", want - 1);
	pid_t pid;

	if (fd < 0)
		return -1;
	if (write(fd, buf, len) != len) {
		close(fd);
		return -1;
	}
	close(fd);
	pid = fork();
	if (pid > 0 && pid != want) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = EEXIST;
		return -1;
	}
	return pid;
}

static pid_t create_process(struct restore_ctx *ctx)
{
	pid_t want = ctx->meta.process->pid, pid;

	if (ctx->opts->new_pid)
		return fork();
	pid = clone_with_pid(want);
	if (pid < 0 && (errno == ENOSYS || errno == E2BIG))
		pid = fork_with_pid(want);
	if (pid < 0) {
		if (errno == EEXIST)
			fail_why("the PID is in use", "restart with --new-pid",
				 "reclaiming PID %d", want);
		else if (errno == EPERM)
			fail(errno, "run restart as root (CAP_CHECKPOINT_RESTORE), or use --new-pid",
			     "reclaiming PID %d", want);
		else
			fail(errno, "use --new-pid", "reclaiming PID %d", want);
	}
	return pid;
}

/* In the new process: wait until we trace it, set up what exec keeps,
 * exec the original binary.  Errors go to the parent as text. */
static void child_main(struct restore_ctx *ctx, int go_fd)
{
	const struct state_ops *const *ops;
	const char *exe = bundle_exe_path(ctx);	/* the host's, or the bundle's copy */
	char *argv[] = { (char *)exe, NULL }, *envp[] = { NULL };
	char c;

	if (read(go_fd, &c, 1) != 1)
		_exit(127);
	close(go_fd);
	for (ops = state_table; *ops; ops++)
		if ((*ops)->restore_child && (*ops)->restore_child(ctx))
			goto err;
	execve(exe, argv, envp);
	if (errno == ENOENT && access(exe, F_OK) == 0) {
		/* The program interpreter it names (PT_INTERP) is not on this
		 * host.  Nothing of what exec maps is kept anyway: restart's
		 * own binary stands in, and the process module makes exe the
		 * process's executable (PR_SET_MM_MAP exe_fd). */
		execve("/proc/self/exe", argv, envp);
		errno = ENOENT;
	}
	fail(errno, errno == ENOENT ? "its program interpreter (PT_INTERP) may be missing here" :
	     NULL, "executing %s", exe);
err:
	if (write(ctx->child_error_fd, error_text(), strlen(error_text())) < 0)
		_exit(126);
	_exit(127);
}

static int wait_for_exec(struct restore_ctx *ctx, int err_fd)
{
	int status;

	for (;;) {
		if (waitpid(ctx->pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return fail(errno, NULL, "waiting for the new process");
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			char msg[1024];
			ssize_t n = read(err_fd, msg, sizeof(msg) - 1);
			ctx->pid = 0;
			if (n > 0) {
				msg[n] = 0;
				return fail_why(msg, NULL, "preparing the new process");
			}
			return fail_why("it died before exec", NULL, "preparing the new process");
		}
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
			return 0;
		/* Any other stop before exec: pass signals on. */
		ptrace(PTRACE_CONT, ctx->pid, 0,
		       (status >> 16) == 0 ? WSTOPSIG(status) : 0);
	}
}

static int start_process(struct restore_ctx *ctx)
{
	int go[2], err[2];
	int ret = -1;

	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return fail(errno, NULL, "creating pipes");
	ctx->child_error_fd = err[1];
	fflush(NULL);
	ctx->pid = create_process(ctx);
	if (ctx->pid < 0) {
		ctx->pid = 0;
		goto out;
	}
	if (ctx->pid == 0) {
		close(go[1]);
		close(err[0]);
		child_main(ctx, go[0]);
	}
	if (ptrace(PTRACE_SEIZE, ctx->pid, 0,
		   PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)) {
		fail(errno, NULL, "attaching to the new process %d", ctx->pid);
		kill(ctx->pid, SIGKILL);
		waitpid(ctx->pid, NULL, 0);
		ctx->pid = 0;
		goto out;
	}
	close(err[1]);
	err[1] = -1;
	if (write(go[1], "g", 1) != 1) {
		fail(errno, NULL, "starting the new process");
		goto out;
	}
	ret = wait_for_exec(ctx, err[0]);
	if (!ret)
		ret = remote_adopt(ctx->pid, &ctx->remote);
out:
	close(go[0]);
	close(go[1]);
	close(err[0]);
	if (err[1] >= 0)
		close(err[1]);
	return ret;
}

/* Name the step in the one error line: what fails inside a step can be as
 * anonymous as "setting registers of process 1234" (a ptrace request). */
static int step_failed(const char *step)
{
	char text[1600];

	if (!error_is_set())
		return fail_why("failed", "please report this with the -vv output",
				"restoring %s", step);
	snprintf(text, sizeof(text), "%s", error_text());
	error_clear();
	return fail_why(text, NULL, "restoring %s", step);
}

static int run_restore_hooks(struct restore_ctx *ctx)
{
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++) {
		unsigned long long t0 = now_ns();
		if ((*ops)->restore && (*ops)->restore(ctx))
			return step_failed((*ops)->name);
		pr_info("restored %s in %.2f ms", (*ops)->name, (now_ns() - t0) / 1e6);
	}
	return 0;
}

static int let_go(struct restore_ctx *ctx)
{
	const struct thread_rec *t;
	arch_regs_t regs;

	if (ctx->next.state != 0)
		return fail_why("unexpected data after memory contents", "the image is corrupted",
				"reading image member %s", ctx->next.name);
	size_t i;

	if (remote_scratch_unmap(ctx->remote))
		return -1;
	/* The leader last: when it runs, all its threads are in place. */
	for (i = ctx->ntasks; i-- > 0;) {
		t = &ctx->meta.threads[i];
		memcpy(&regs, t->regs.data, sizeof(regs));
		if (remote_release(ctx->tasks[i], &regs, t->sigmask))
			return -1;
	}
	return 0;
}

int restore_image(int image_fd, const struct restore_opts *opts, pid_t *pid)
{
	struct restore_ctx ctx = { .opts = opts, .child_error_fd = -1 };
	unsigned long long t0 = now_ns();
	int ret = -1;

	ctx.reader = image_reader_new(image_fd);
	if (!ctx.reader)
		goto out;
	if (meta_read(ctx.reader, &ctx.meta, &ctx.next) || restore_run_checks(&ctx))
		goto out;
	pr_info("image of PID %d (%s) read and checked in %.2f ms", ctx.meta.process->pid,
		ctx.meta.process->comm, (now_ns() - t0) / 1e6);
	if (!opts->new_pid) {
		size_t i;
		/* Let a ckpt still writing into our pipe finish (and end its
		 * process, with --kill) before we need the PID. */
		if (being_checkpointed(ctx.meta.process->pid) && image_reader_spool(ctx.reader))
			goto out;
		for (i = 0; i < ctx.meta.nthreads; i++)
			if (restore_pid_free(ctx.meta.threads[i].tid, true))
				goto out;
	}
	if (bundle_unpack(&ctx) || timens_prepare(&ctx) || start_process(&ctx) ||
	    run_restore_hooks(&ctx) || let_go(&ctx))
		goto out;
	*pid = ctx.pid;
	pr_info("process %d running, restored in %.1f ms", ctx.pid, (now_ns() - t0) / 1e6);
	ret = 0;
out:
	if (ret && ctx.pid > 0) {
		/* Nothing half-restored is left running. */
		if (ctx.remote) {
			size_t i;
			for (i = ctx.ntasks; i-- > 1;)
				remote_kill(ctx.tasks[i]);
			remote_kill(ctx.remote);
		} else {
			kill(ctx.pid, SIGKILL);
			waitpid(ctx.pid, NULL, __WALL);
		}
	}
	if (ctx.tasks) {
		size_t i;
		for (i = ctx.ntasks; i-- > 1;)
			remote_free(ctx.tasks[i]);
		free(ctx.tasks);
	}
	if (ctx.remote)
		remote_free(ctx.remote);
	state_restore_release(&ctx);
	if (ctx.reader)
		image_reader_free(ctx.reader);
	meta_free(&ctx.meta);
	return ret;
}
