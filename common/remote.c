#define LOG_PREFIX "remote: "
#include "remote.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"

#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif

struct remote {
	pid_t pid;
	bool attached;
	int stop_sig;			/* group-stopped when seized: by this signal */
	arch_regs_t orig_regs;
	uint64_t orig_sigmask;
	uint64_t syscall_ip;		/* address of a `syscall` insn */
	int mem_fd;
	uint64_t scratch, scratch_size, scratch_used;
	bool scratch_borrowed;		/* another thread's: not ours to unmap */
	uint64_t batch_code;		/* the batch stub in an exec scratch, or 0 */
	uint64_t scratch_mapped;	/* bytes mapped (the stub is past scratch_size) */
	uint64_t deferred_signals;	/* caught during injection, re-sent after */
	/* A seized task (not ours: it must survive our death at any moment)
	 * runs injected syscalls through the return stub (arch/x86_64.h). */
	bool safe;
	bool controlled;		/* registers and mask read (take_control) */
	bool in_stub;			/* its registers may point into the stub */
	bool broken;			/* a call in the stub failed half-way */
	bool leader;			/* the thread group leader (cured last) */
	bool mask_full;			/* its signal mask is all-blocked now */
	bool frame_written;		/* the return frame is on its stack, as now */
	uint64_t stub;			/* the stub in the vDSO's tail, or 0 */
	uint64_t vdso_tail;		/* room for the stub at the vDSO's end */
	/* Mappings our injected mmaps made: the stub unmaps them if we die. */
	uint64_t temp_maps[ARCH_RETURN_UNMAP_MAX][2];
	size_t ntemp_maps;
};

#define STUB_ROOM 256			/* bytes at the end of the vDSO */
#define STUB_KEEP (STUB_ROOM - 1)	/* its last byte: 1 = a thread was let
					   go inside the stub: leave it there */

/* Seccomp filters must not judge the syscalls we inject (nor the ones a
 * restored process needs before its filters are complete): suspend them
 * while we hold the task.  Needs CAP_SYS_ADMIN; without it, go on. */
/* A process restart made: ours to the end (EXITKILL). */
#define RESTORE_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC | \
			 PTRACE_O_TRACECLONE)

static int set_options(pid_t pid, long options)
{
	if (!ptrace(PTRACE_SETOPTIONS, pid, 0, options | PTRACE_O_SUSPEND_SECCOMP))
		return 0;
	return ptrace(PTRACE_SETOPTIONS, pid, 0, options) ? -1 : 0;
}

static int ptrace_fail(struct remote *r, const char *what)
{
	int err = errno;
	if (err == ESRCH)
		return fail_why("the process exited or was killed", NULL,
				"%s of process %d", what, r->pid);
	return fail(err, NULL, "%s of process %d", what, r->pid);
}

/* Wait for the next ptrace-stop of the task.  Returns the wait status. */
static int wait_stop(struct remote *r, int *status)
{
	for (;;) {
		pid_t p = waitpid(r->pid, status, __WALL);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return fail(errno, NULL, "waiting for process %d", r->pid);
		}
		if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
			r->attached = false;
			if (WIFSIGNALED(*status))
				return fail_why(strsignal(WTERMSIG(*status)), NULL,
						"process %d was killed while under control", r->pid);
			return fail_why("it exited", NULL, "process %d ended while under control",
					r->pid);
		}
		return 0;
	}
}

static bool is_syscall_stop(int status)
{
	return WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80);
}

static bool is_event_stop(int status)
{
	return WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP;
}

static int read_sigmask(struct remote *r)
{
	if (ptrace(PTRACE_GETSIGMASK, r->pid, sizeof(uint64_t), &r->orig_sigmask))
		return ptrace_fail(r, "reading the signal mask");
	return 0;
}

static int block_all_signals(struct remote *r)
{
	return remote_set_sigmask(r, ~0ull);
}

static int open_mem(struct remote *r)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", r->pid);
	r->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->mem_fd < 0)
		return fail(errno, NULL, "opening %s", path);
	return 0;
}

static struct remote *remote_new(pid_t pid)
{
	struct remote *r = calloc(1, sizeof(*r));
	if (!r) {
		fail(ENOMEM, NULL, "allocating ptrace state");
		return NULL;
	}
	r->pid = pid;
	r->mem_fd = -1;
	return r;
}

static int resume_to_syscall_stop(struct remote *r, int want_op);
static int inject(struct remote *r, uint64_t entry, long *ret, long nr, const unsigned long args[6]);
static int ensure_stub(struct remote *r);
static int find_vdso_tail(struct remote *r);
static int vdso_tail_set(struct remote *r, bool stub);
static void resend_deferred(struct remote *r);

/* A ckpt killed while its stub was in the vDSO's tail left it there:
 * zero it before anything reads the vDSO (the image must hold the
 * kernel's bytes), unless this thread is still in it (stopped there). */
static int tidy_vdso(struct remote *r)
{
	unsigned char tail[STUB_ROOM], zero[STUB_ROOM] = { 0 };
	uint64_t ip = arch_ip(&r->orig_regs);

	if (find_vdso_tail(r)) {
		error_clear();	/* no room: ensure_stub() says so if it matters */
		r->vdso_tail = 0;
		return 0;
	}
	if (ip >= r->vdso_tail && ip < r->vdso_tail + STUB_ROOM)
		return fail_why("it is stopped inside the return code of a ckpt that was killed",
				"continue it (kill -CONT) and try again",
				"checkpointing thread %d", r->pid);
	if (remote_read(r, r->vdso_tail, tail, sizeof(tail)))
		return -1;
	if (memcmp(tail, zero, sizeof(zero)) && vdso_tail_set(r, false))
		return -1;
	return 0;
}
static int mem_io(struct remote *r, uint64_t addr, void *buf, size_t len, bool write);

/* Common tail of seize and adopt: remember state, block signals. */
static int take_control(struct remote *r)
{
	if (remote_get_regs(r, &r->orig_regs) || read_sigmask(r) || open_mem(r))
		return -1;
	/* A seized task keeps its own mask until its registers point into the
	 * return stub, which puts the mask back by itself (see inject()). */
	if (!r->safe && block_all_signals(r))
		return -1;
	r->mask_full = !r->safe;
	r->controlled = true;
	return 0;
}

int remote_seize(pid_t pid, struct remote **out)
{
	struct remote *r = remote_new(pid);
	int status, tries;

	if (!r)
		return -1;
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP) &&
	    (errno != EPERM || ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD))) {
		int err = errno;
		free(r);
		if (err == EPERM)
			return fail(err, "run as root, or with CAP_SYS_PTRACE; check "
				    "/proc/sys/kernel/yama/ptrace_scope",
				    "attaching to process %d", pid);
		if (err == ESRCH)
			return fail_why("no such process", "check the PID with ps",
					"attaching to process %d", pid);
		return fail(err, NULL, "attaching to process %d", pid);
	}
	r->attached = true;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0)) {
		ptrace_fail(r, "stopping");
		goto err;
	}
	/* A signal may be on its way to delivery: let it be delivered as it
	 * would have been, then take the interrupt stop. */
	for (tries = 0; tries < 64; tries++) {
		if (wait_stop(r, &status))
			goto err;
		if (is_event_stop(status)) {
			int sig = WSTOPSIG(status);
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				r->stop_sig = sig;
			break;
		}
		if (ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(status))) {
			ptrace_fail(r, "delivering a pending signal");
			goto err;
		}
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0)) {
			ptrace_fail(r, "stopping");
			goto err;
		}
	}
	if (tries == 64) {
		fail_why("it keeps receiving signals", "try again", "stopping process %d", pid);
		goto err;
	}
	r->safe = true;
	{
		struct proc_status st;
		if (procfs_read_status(pid, &st))
			goto err;
		r->leader = st.tgid == pid;
	}
	if (take_control(r) || tidy_vdso(r))
		goto err;
	*out = r;
	return 0;
err:
	remote_free(r);
	return -1;
}

int remote_adopt(pid_t pid, struct remote **out)
{
	struct remote *r = remote_new(pid);

	if (!r)
		return -1;
	r->attached = true;
	if (set_options(pid, RESTORE_OPTIONS)) {
		ptrace_fail(r, "setting ptrace options");
		goto err;
	}
	/* The exec event stop is inside execve, which has yet to store its
	 * return value into rax: step out of it first. */
	if (resume_to_syscall_stop(r, PTRACE_SYSCALL_INFO_EXIT))
		goto err;
	if (take_control(r))
		goto err;
	*out = r;
	return 0;
err:
	r->attached = false;
	remote_free(r);
	return -1;
}

int remote_adopt_thread(pid_t tid, struct remote **out)
{
	struct remote *r = remote_new(tid);
	int status;

	if (!r)
		return -1;
	r->attached = true;
	/* An auto-attached clone starts in an event stop, before any of its
	 * user code runs; its ptrace options are inherited. */
	for (;;) {
		if (wait_stop(r, &status))
			goto err;
		if (is_event_stop(status))
			break;
		if (ptrace(PTRACE_CONT, tid, 0, 0)) {
			ptrace_fail(r, "starting a new thread");
			goto err;
		}
	}
	if (take_control(r))
		goto err;
	*out = r;
	return 0;
err:
	r->attached = false;
	remote_free(r);
	return -1;
}

int remote_fork_copy(struct remote *r, bool sibling, struct remote **copy)
{
	unsigned long args[6] = { sibling ? CLONE_PARENT : 0, 0, 0, 0, 0, 0 };
	long child;
	int ret;

	if (!r->safe)
		return fail_why("not a seized process", "this is a bug in ckpt",
				"creating a copy-on-write copy of process %d", r->pid);
	/* TRACECLONE: the copy is ours from its first instruction (a clone
	 * with exit signal 0 counts as a clone, not a fork).  CLONE_PARENT:
	 * it is the process's sibling, never its zombie: its parent reaps it;
	 * else the process's own child, told to nobody, which we reap
	 * (docs/design.md).  No EXITKILL on the process itself: only the
	 * copy gets it, once it is ours; if we die before, the copy runs
	 * the stub's clone path, which ends it at once. */
	if (set_options(r->pid, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE))
		return ptrace_fail(r, "setting ptrace options");
	ret = inject(r, arch_stub_clone - arch_return_stub, &child, __NR_clone, args);
	if (!ret && child < 0 && child > -4096)
		ret = fail((int)-child, NULL, "creating a copy-on-write copy of the process");
	if (set_options(r->pid, PTRACE_O_TRACESYSGOOD) && !ret)
		ret = ptrace_fail(r, "setting ptrace options");
	if (ret)
		return -1;
	if (remote_adopt_thread(child, copy))
		return -1;
	if (set_options(child, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) {
		ptrace_fail(*copy, "setting ptrace options");
		remote_kill(*copy);
		remote_free(*copy);
		*copy = NULL;
		return -1;
	}
	return 0;
}

int remote_fork_child(struct remote *r, const pid_t *set_tid, size_t nset,
		      unsigned long clone_flags, struct remote **child)
{
	struct clone_args args = { .flags = clone_flags & (CLONE_FS | CLONE_FILES),
				   .exit_signal = SIGCHLD };
	uint64_t tid_addr, args_addr;
	long pid;
	int ret;

	remote_scratch_reset(r);
	if (nset && remote_scratch_put(r, set_tid, nset * sizeof(*set_tid), &tid_addr))
		return -1;
	if (nset) {
		args.set_tid = tid_addr;
		args.set_tid_size = nset;
	}
	if (remote_scratch_put(r, &args, sizeof(args), &args_addr))
		return -1;
	/* TRACEFORK: the child (exit signal SIGCHLD: a fork) is ours, in an
	 * event stop, before its first instruction; EXITKILL is inherited. */
	if (set_options(r->pid, RESTORE_OPTIONS | PTRACE_O_TRACEFORK))
		return ptrace_fail(r, "setting ptrace options");
	ret = remote_syscall_ok(r, &pid, "forking a child", __NR_clone3, args_addr, sizeof(args),
				0, 0, 0, 0);
	if (set_options(r->pid, RESTORE_OPTIONS) && !ret)
		ret = ptrace_fail(r, "setting ptrace options");
	if (ret)
		return -1;
	return remote_adopt_thread((pid_t)pid, child);
}

int remote_reap_copy(struct remote *r, pid_t copy)
{
	long ret;

	if (remote_syscall_ok(r, &ret, "reaping the copy-on-write copy", __NR_wait4, copy, 0,
			      __WALL, 0, 0, 0))
		return -1;
	return ret == copy ? 0 : fail_why("wait4 did not return it", NULL, "reaping the "
					  "copy-on-write copy %d of process %d", copy, r->pid);
}

int remote_scratch_borrow(struct remote *r, struct remote *owner)
{
	if (!owner->scratch && remote_scratch_map(owner, 0, 64 * 1024))
		return -1;
	r->scratch = owner->scratch;
	r->scratch_size = owner->scratch_size;
	r->scratch_mapped = owner->scratch_mapped;
	r->scratch_used = 0;
	r->scratch_borrowed = true;
	r->syscall_ip = owner->syscall_ip;
	return 0;
}

pid_t remote_pid(const struct remote *r) { return r->pid; }
const arch_regs_t *remote_orig_regs(const struct remote *r) { return &r->orig_regs; }
uint64_t remote_orig_sigmask(const struct remote *r) { return r->orig_sigmask; }
int remote_stop_signal(const struct remote *r) { return r->stop_sig; }
int remote_mem_fd(struct remote *r) { return r->mem_fd; }

int remote_find_syscall_insn(struct remote *r)
{
	struct vma_entry *vmas = NULL;
	size_t n, i, j;
	uint8_t *code = NULL;
	int ret = -1;

	if (procfs_read_maps(r->pid, &vmas, &n))
		return -1;
	for (i = 0; i < n; i++) {
		size_t len = vmas[i].end - vmas[i].start;
		if (strcmp(vmas[i].path, "[vdso]") || len > (1 << 20))
			continue;
		code = malloc(len);
		if (!code) {
			fail(ENOMEM, NULL, "reading the vDSO");
			goto out;
		}
		if (remote_read(r, vmas[i].start, code, len))
			goto out;
		/* Execution starts at the address we set, so any 0f 05 pair
		 * decodes as `syscall`, whatever instruction it is part of. */
		for (j = 0; j + 1 < len; j++) {
			if (code[j] == 0x0f && code[j + 1] == 0x05) {
				r->syscall_ip = vmas[i].start + j;
				ret = 0;
				goto out;
			}
		}
	}
	fail_why("no vDSO with a syscall instruction", "ckpt needs the kernel's vDSO (vdso=1)",
		 "preparing to control process %d", r->pid);
out:
	free(code);
	free(vmas);
	return ret;
}

static int syscall_stop_op(struct remote *r)
{
	struct __ptrace_syscall_info info;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, r->pid, sizeof(info), &info) <= 0)
		return ptrace_fail(r, "reading syscall stop information");
	return info.op;
}

/* Resume until the task reaches a syscall stop of the kind wanted
 * (PTRACE_SYSCALL_INFO_ENTRY or _EXIT).  From an exec event stop the first
 * stop is execve's own exit: skipped here. */
static int resume_to_syscall_stop(struct remote *r, int want_op)
{
	int status, op;

	for (;;) {
		if (ptrace(PTRACE_SYSCALL, r->pid, 0, 0))
			return ptrace_fail(r, "running an injected syscall");
		if (wait_stop(r, &status))
			return -1;
		if (is_syscall_stop(status)) {
			op = syscall_stop_op(r);
			if (op < 0)
				return -1;
			if (op == want_op)
				return 0;
			continue;
		}
		if (is_event_stop(status) || (status >> 16))
			continue;	/* a group-stop, interrupt or event: go on */
		/* A signal that cannot be blocked (SIGSTOP...): hold it back
		 * and send it again once we let go of the task. */
		r->deferred_signals |= 1ull << (WSTOPSIG(status) - 1);
	}
}

/* The vDSO's unused tail: the end of its last page, past everything its
 * ELF image holds (headers, segments, section headers), all zero -- or
 * holding our stub, left by a ckpt killed at the wrong moment. */
static int find_vdso_tail(struct remote *r)
{
	struct vma_entry *vmas = NULL;
	size_t n, i, stub_len = arch_return_stub_end - arch_return_stub;
	Elf64_Ehdr eh;
	unsigned char tail[STUB_ROOM];
	uint64_t start = 0, end = 0, image_end;
	int ret = -1;

	if (procfs_read_maps(r->pid, &vmas, &n))
		return -1;
	for (i = 0; i < n; i++)
		if (!strcmp(vmas[i].path, "[vdso]")) {
			start = vmas[i].start;
			end = vmas[i].end;
		}
	free(vmas);
	if (!start)
		return fail_why("no vDSO", "ckpt needs the kernel's vDSO (vdso=1)",
				"preparing to control process %d", r->pid);
	if (stub_len > STUB_ROOM)
		return fail_why("the return stub is too big", "this is a bug in ckpt",
				"preparing to control process %d", r->pid);
	if (remote_read(r, start, &eh, sizeof(eh)))
		return -1;
	image_end = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_shoff > end - start ||
	    image_end > end - start - STUB_ROOM)
		goto no_room;
	if (remote_read(r, end - STUB_ROOM, tail, sizeof(tail)))
		return -1;
	for (i = 0; i < STUB_ROOM; i++)
		if (tail[i] && (i >= stub_len || tail[i] != arch_return_stub[i]) &&
		    !(i == STUB_KEEP && tail[i] == 1))
			goto no_room;
	r->vdso_tail = end - STUB_ROOM;
	ret = 0;
	return ret;
no_room:
	return fail_why("the vDSO has no unused tail for ckpt's return code",
			"this kernel's vDSO is laid out differently: report it",
			"preparing to control process %d", r->pid);
}

/* The stub's bytes into the tail (the keep mark as it is), or all zero. */
static int vdso_tail_set(struct remote *r, bool stub)
{
	unsigned char buf[STUB_ROOM] = { 0 };

	if (stub)
		return mem_io(r, r->vdso_tail, (void *)arch_return_stub,
			      arch_return_stub_end - arch_return_stub, true);
	return mem_io(r, r->vdso_tail, buf, sizeof(buf), true);
}

/* Registers and mask back to the original (the mask first: while the
 * registers still point into the stub, the stub restores the mask itself). */
static int park(struct remote *r)
{
	arch_regs_t regs = r->orig_regs;

	arch_regs_resume_syscall(&regs);
	if (r->mask_full && remote_set_sigmask(r, r->orig_sigmask))
		return -1;
	r->mask_full = false;
	if (remote_set_regs(r, &regs))
		return -1;
	r->in_stub = false;
	return 0;
}

/* The stub in the vDSO's tail, for as long as ckpt holds the process
 * (zeroed again by the leader's cure, the last one). */
static int ensure_stub(struct remote *r)
{
	if (r->stub)
		return 0;
	if ((!r->vdso_tail && find_vdso_tail(r)) || vdso_tail_set(r, true))
		return -1;
	r->stub = r->vdso_tail;
	return 0;
}

static int write_frame(struct remote *r)
{
	unsigned char frame[ARCH_RETURN_FRAME_SIZE];

	arch_return_frame(&r->orig_regs, r->orig_sigmask, r->temp_maps, r->ntemp_maps, frame);
	if (remote_write(r, arch_return_frame_addr(&r->orig_regs), frame, sizeof(frame)))
		return -1;
	r->frame_written = true;
	return 0;
}

/* The frame's list of our mappings, kept up to date around each call:
 * an mmap runs at the stub's mmap entry (undone by the stub if we die
 * before it is listed), then is listed, then the thread is moved past
 * the undo; a munmap is taken off the list once the registers are set
 * for it (if we die, the stub makes the call anyway). */
static int track_before(struct remote *r, long nr, const unsigned long args[6])
{
	size_t i;

	if (nr != __NR_munmap)
		return 0;
	for (i = 0; i < r->ntemp_maps; i++)
		if (r->temp_maps[i][0] == args[0]) {
			memmove(r->temp_maps[i], r->temp_maps[i + 1],
				(r->ntemp_maps - i - 1) * sizeof(r->temp_maps[0]));
			r->ntemp_maps--;
			return write_frame(r);
		}
	return 0;
}

static int track_after(struct remote *r, long nr, const unsigned long args[6], long ret)
{
	arch_regs_t regs;

	if (nr != __NR_mmap || (ret < 0 && ret > -4096))
		return 0;
	if (r->ntemp_maps == ARCH_RETURN_UNMAP_MAX) {
		unsigned long undo[6] = { ret, args[1], 0, 0, 0, 0 };
		long res;

		if (inject(r, 0, &res, __NR_munmap, undo))
			return -1;
		return fail_why("too many temporary mappings", "this is a bug in ckpt",
				"mapping memory in process %d", r->pid);
	}
	r->temp_maps[r->ntemp_maps][0] = ret;
	r->temp_maps[r->ntemp_maps][1] = args[1];
	r->ntemp_maps++;
	if (write_frame(r) || remote_get_regs(r, &regs))
		return -1;
	arch_set_ip(&regs, r->stub + ARCH_SYSCALL_INSN_LEN);	/* past the undo */
	return remote_set_regs(r, &regs);
}

/* Run syscall nr at entry (an offset into the stub).  Order matters for
 * a tracer that may die after any step: the stub and the return frame
 * first (the thread is at its original state), then the registers into
 * the stub, then the full mask (the stub would put the original back). */
static int inject(struct remote *r, uint64_t entry, long *ret, long nr, const unsigned long args[6])
{
	arch_regs_t regs = r->orig_regs;

	if (r->broken)
		return fail_why("an earlier injected call failed half-way", NULL,
				"controlling process %d", r->pid);
	if (ensure_stub(r) || (!r->frame_written && write_frame(r)))
		return -1;
	if (nr == __NR_mmap && !entry)
		entry = arch_stub_mmap - arch_return_stub;
	arch_regs_for_syscall(&regs, r->stub + entry, nr, args);
	arch_set_sp(&regs, arch_return_frame_addr(&r->orig_regs));
	r->in_stub = true;	/* from here on, whatever fails */
	if (remote_set_regs(r, &regs) || track_before(r, nr, args))
		goto broken;
	if (!r->mask_full) {
		if (block_all_signals(r))
			goto broken;
		r->mask_full = true;
	}
	if (resume_to_syscall_stop(r, PTRACE_SYSCALL_INFO_ENTRY) ||
	    resume_to_syscall_stop(r, PTRACE_SYSCALL_INFO_EXIT))
		goto broken;
	if (remote_get_regs(r, &regs))
		goto broken;
	*ret = arch_syscall_ret(&regs);
	pr_debug("pid %d: syscall %ld(%#lx, %#lx, %#lx, ...) = %ld", r->pid, nr, args[0],
		 args[1], args[2], *ret);
	if (track_after(r, nr, args, *ret))
		goto broken;
	return 0;
broken:
	/* Where in the call the thread is, we cannot tell: the stub takes
	 * it home when it is let go (remote_cure). */
	r->broken = true;
	return -1;
}

/* Unmap what our injected mmaps left mapped (the scratch...). */
static int unmap_temps(struct remote *r)
{
	while (r->ntemp_maps) {
		unsigned long args[6] = { r->temp_maps[r->ntemp_maps - 1][0],
					  r->temp_maps[r->ntemp_maps - 1][1], 0, 0, 0, 0 };
		long ret;

		/* Off the list whatever it returns (track_before()). */
		if (inject(r, 0, &ret, __NR_munmap, args))
			return -1;
		if (args[0] == r->scratch) {
			r->scratch = 0;
			r->batch_code = 0;
		}
	}
	if (r->scratch_borrowed)
		r->scratch = 0;
	return 0;
}

/* A thread whose call failed half-way is let go inside the stub, which
 * finishes the call, undoes our mappings, restores its mask and returns
 * it to where it was, as if we had died; the stub stays in the vDSO's
 * tail (marked: the leader leaves it, the next dump tidies it). */
static int let_go_in_stub(struct remote *r)
{
	unsigned char keep = 1;
	int err;

	if (r->vdso_tail)	/* best effort, the first error kept */
		remote_mem_transfer(r->mem_fd, r->vdso_tail + STUB_KEEP, &keep, 1, true, &err);
	if (ptrace(PTRACE_DETACH, r->pid, 0, 0) && errno != ESRCH) {
		err = errno;
		return fail(err, NULL, "detaching from process %d", r->pid);
	}
	r->attached = false;
	resend_deferred(r);
	return 0;
}

/* Before detaching: back to the original state; the leader, the last
 * thread let go, takes the stub out of the vDSO (no other thread can be
 * in it any more). */
static int drop_stub(struct remote *r)
{
	if (!r->safe)
		return 0;
	if (park(r))
		return -1;
	if (r->leader && r->vdso_tail && r->stub) {
		unsigned char keep = 0;

		if (remote_read(r, r->vdso_tail + STUB_KEEP, &keep, 1))
			return -1;
		if (!keep && vdso_tail_set(r, false))
			return -1;
	}
	r->stub = 0;
	return 0;
}

void remote_vdso_scrub(const struct remote *r, uint64_t start, void *data, size_t len)
{
	if (r->safe && r->vdso_tail >= start && r->vdso_tail + STUB_ROOM <= start + len)
		memset((char *)data + (r->vdso_tail - start), 0, STUB_ROOM);
}

int remote_syscall6(struct remote *r, long *ret, long nr, unsigned long a1,
		    unsigned long a2, unsigned long a3, unsigned long a4,
		    unsigned long a5, unsigned long a6)
{
	unsigned long args[6] = { a1, a2, a3, a4, a5, a6 };
	arch_regs_t regs = r->orig_regs;

	if (r->safe)
		return inject(r, 0, ret, nr, args);
	if (!r->syscall_ip && remote_find_syscall_insn(r))
		return -1;
	arch_regs_for_syscall(&regs, r->syscall_ip, nr, args);
	if (remote_set_regs(r, &regs))
		return -1;
	if (resume_to_syscall_stop(r, PTRACE_SYSCALL_INFO_ENTRY) ||
	    resume_to_syscall_stop(r, PTRACE_SYSCALL_INFO_EXIT))
		return -1;
	if (remote_get_regs(r, &regs))
		return -1;
	*ret = arch_syscall_ret(&regs);
	pr_debug("pid %d: syscall %ld(%#lx, %#lx, %#lx, ...) = %ld", r->pid, nr, a1, a2, a3, *ret);
	return 0;
}

int remote_syscall_ok(struct remote *r, long *ret, const char *what, long nr,
		      unsigned long a1, unsigned long a2, unsigned long a3,
		      unsigned long a4, unsigned long a5, unsigned long a6)
{
	long res;

	if (remote_syscall6(r, &res, nr, a1, a2, a3, a4, a5, a6))
		return -1;
	if (ret)
		*ret = res;
	if (res < 0 && res > -4096)
		return fail((int)-res, NULL, "%s", what);
	return 0;
}

uint64_t remote_mem_transfer(int mem_fd, uint64_t addr, void *buf, size_t len, bool write,
			     int *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(mem_fd, (char *)buf + done, len - done, addr + done)
				  : pread(mem_fd, (char *)buf + done, len - done, addr + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n < 0 ? errno : EIO;
			return addr + done;
		}
		done += n;
	}
	return 0;
}

static int mem_io(struct remote *r, uint64_t addr, void *buf, size_t len, bool write)
{
	int err;
	uint64_t at = remote_mem_transfer(r->mem_fd, addr, buf, len, write, &err);

	if (at)
		return fail(err, NULL, "%s memory of process %d at %#llx",
			    write ? "writing" : "reading", r->pid, (unsigned long long)at);
	return 0;
}

int remote_read(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	return mem_io(r, addr, buf, len, false);
}

int remote_write(struct remote *r, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_writev(r->pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	return mem_io(r, addr, (void *)buf, len, true);
}

static int scratch_map(struct remote *r, uint64_t addr, size_t size, int prot)
{
	long ret;
	/* Shared: a shmem mapping never merges with the process's own. */
	int flags = MAP_SHARED | MAP_ANONYMOUS | (addr ? MAP_FIXED_NOREPLACE : 0);

	if (remote_syscall_ok(r, &ret, "mapping scratch memory in the process", __NR_mmap,
			      addr, size, prot, flags, -1, 0))
		return -1;
	r->scratch = ret;
	r->scratch_size = size;
	r->scratch_used = 0;
	r->scratch_mapped = size;
	r->batch_code = 0;
	return 0;
}

int remote_scratch_map(struct remote *r, uint64_t addr, size_t size)
{
	return scratch_map(r, addr, size, PROT_READ | PROT_WRITE);
}

int remote_scratch_map_exec(struct remote *r, uint64_t addr, size_t size)
{
	size_t code_len = arch_batch_stub_end - arch_batch_stub, room = 256;

	if (scratch_map(r, addr, size, PROT_READ | PROT_WRITE | PROT_EXEC))
		return -1;
	if (code_len > room)
		return fail_why("the batch stub is too big", "this is a bug in ckpt",
				"preparing process %d", r->pid);
	r->scratch_size -= room;
	if (remote_write(r, r->scratch + r->scratch_size, arch_batch_stub, code_len))
		return -1;
	r->batch_code = r->scratch + r->scratch_size;
	return 0;
}

/* Run the stub until its int3. */
static int run_batch(struct remote *r, uint64_t table, size_t n)
{
	arch_regs_t regs = r->orig_regs;
	int status;

	arch_regs_for_batch(&regs, r->batch_code, table, n);
	if (remote_set_regs(r, &regs))
		return -1;
	for (;;) {
		if (ptrace(PTRACE_CONT, r->pid, 0, 0))
			return ptrace_fail(r, "running injected syscalls");
		if (wait_stop(r, &status))
			return -1;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP && !(status >> 16))
			return 0;
		if (is_event_stop(status) || (status >> 16))
			continue;
		if (WSTOPSIG(status) == SIGSEGV || WSTOPSIG(status) == SIGBUS ||
		    WSTOPSIG(status) == SIGILL)
			return fail_why(strsignal(WSTOPSIG(status)), "this is a bug in ckpt",
					"running injected syscalls in process %d", r->pid);
		r->deferred_signals |= 1ull << (WSTOPSIG(status) - 1);
	}
}

int remote_syscall_batch(struct remote *r, struct remote_call *calls, size_t n)
{
	enum { PER_ROUND = 256 };
	size_t done = 0, i;

	for (i = 0; i < n; i++)
		calls[i].ret = -ECANCELED;
	if (!r->batch_code) {
		for (i = 0; i < n; i++) {
			if (remote_syscall6(r, &calls[i].ret, calls[i].nr, calls[i].arg[0],
					    calls[i].arg[1], calls[i].arg[2], calls[i].arg[3],
					    calls[i].arg[4], calls[i].arg[5]))
				return -1;
			if (calls[i].ret < 0 && calls[i].ret > -4096)
				break;
		}
		return 0;
	}
	_Static_assert(sizeof(struct remote_call) == 64, "the stub walks 64-byte entries");
	while (done < n) {
		size_t k = n - done < PER_ROUND ? n - done : PER_ROUND;
		uint64_t table;

		remote_scratch_reset(r);
		if (remote_scratch_put(r, calls + done, k * sizeof(*calls), &table) ||
		    run_batch(r, table, k) ||
		    remote_read(r, table, calls + done, k * sizeof(*calls)))
			return -1;
		for (i = done; i < done + k; i++)
			if (calls[i].ret < 0 && calls[i].ret > -4096)
				return 0;
		done += k;
	}
	return 0;
}

int remote_scratch_unmap(struct remote *r)
{
	long ret;

	if (!r->scratch)
		return 0;
	if (r->scratch_borrowed) {
		r->scratch = 0;
		return 0;
	}
	if (remote_syscall_ok(r, &ret, "unmapping scratch memory", __NR_munmap,
			      r->scratch, r->scratch_mapped, 0, 0, 0, 0))
		return -1;
	r->scratch = 0;
	r->batch_code = 0;
	return 0;
}

int remote_scratch_put(struct remote *r, const void *data, size_t len, uint64_t *addr)
{
	uint64_t at = (r->scratch_used + 15) & ~15ull;

	if (!r->scratch && remote_scratch_map(r, 0, 64 * 1024))
		return -1;
	if (at + len > r->scratch_size)
		return fail_why("out of scratch memory", "this is a bug in ckpt",
				"passing %zu bytes to process %d", len, r->pid);
	if (remote_write(r, r->scratch + at, data, len))
		return -1;
	r->scratch_used = at + len;
	*addr = r->scratch + at;
	return 0;
}

void remote_scratch_reset(struct remote *r)
{
	r->scratch_used = 0;
}

bool remote_scratch_range(const struct remote *r, uint64_t *start, uint64_t *end)
{
	if (!r->scratch)
		return false;
	*start = r->scratch;
	*end = r->scratch + r->scratch_mapped;
	return true;
}

int remote_get_regs(struct remote *r, arch_regs_t *regs)
{
	if (ptrace(PTRACE_GETREGS, r->pid, 0, regs))
		return ptrace_fail(r, "reading registers");
	return 0;
}

int remote_set_regs(struct remote *r, const arch_regs_t *regs)
{
	if (ptrace(PTRACE_SETREGS, r->pid, 0, regs))
		return ptrace_fail(r, "setting registers");
	return 0;
}

int remote_get_xstate(struct remote *r, void *buf, size_t *len)
{
	struct iovec iov = { buf, *len };

	if (ptrace(PTRACE_GETREGSET, r->pid, NT_X86_XSTATE, &iov))
		return ptrace_fail(r, "reading the extended register state (xstate)");
	*len = iov.iov_len;
	return 0;
}

int remote_set_xstate(struct remote *r, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	if (ptrace(PTRACE_SETREGSET, r->pid, NT_X86_XSTATE, &iov))
		return ptrace_fail(r, "setting the extended register state (xstate)");
	return 0;
}

int remote_set_sigmask(struct remote *r, uint64_t mask)
{
	if (ptrace(PTRACE_SETSIGMASK, r->pid, sizeof(mask), &mask))
		return ptrace_fail(r, "setting the signal mask");
	return 0;
}

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef PTRACE_PEEKSIGINFO
#define PTRACE_PEEKSIGINFO 0x4209
#endif
#define PEEKSIGINFO_SHARED 1

int remote_get_rseq(struct remote *r, struct remote_rseq *rs)
{
	struct {
		uint64_t rseq_abi_pointer;
		uint32_t rseq_abi_size, signature, flags, pad;
	} conf = { 0 };

	memset(rs, 0, sizeof(*rs));
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, r->pid, sizeof(conf), &conf) < 0) {
		if (errno == EIO || errno == EINVAL)
			return 0;	/* kernel without rseq */
		return ptrace_fail(r, "reading the rseq registration");
	}
	rs->addr = conf.rseq_abi_pointer;
	rs->len = conf.rseq_abi_size;
	rs->sig = conf.signature;
	rs->flags = conf.flags;
	return 0;
}

int remote_peek_siginfo(struct remote *r, bool shared, void *infos, size_t max, size_t *n)
{
	struct {
		uint64_t off;
		uint32_t flags;
		int32_t nr;
	} args = { 0, shared ? PEEKSIGINFO_SHARED : 0, 0 };
	long got;

	*n = 0;
	while (*n < max) {
		args.off = *n;
		args.nr = max - *n;
		got = ptrace(PTRACE_PEEKSIGINFO, r->pid, &args, (char *)infos + *n * 128);
		if (got < 0)
			return ptrace_fail(r, "reading queued signals");
		if (got == 0)
			return 0;
		*n += got;
	}
	return fail_why("too many queued signals", NULL, "reading queued signals of process %d",
			r->pid);
}

int remote_get_seccomp_filter(struct remote *r, unsigned index, void *insns, size_t max,
			       size_t *n, uint64_t *flags)
{
	struct {
		uint64_t filter_off, flags;
	} md = { index, 0 };
	long got = ptrace(PTRACE_SECCOMP_GET_FILTER, r->pid, (long)index, NULL);

	if (got < 0 && errno == ENOENT)
		return 0;
	if (got < 0)
		return fail(errno, "reading seccomp filters needs CAP_SYS_ADMIN",
			    "reading seccomp filter %u of %d", index, r->pid);
	if ((size_t)got > max)
		return fail_why("filter too long", NULL, "reading seccomp filter %u of %d",
				index, r->pid);
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, r->pid, (long)index, insns) != got)
		return ptrace_fail(r, "reading a seccomp filter");
	if (ptrace(PTRACE_SECCOMP_GET_METADATA, r->pid, sizeof(md), &md) < 0)
		return ptrace_fail(r, "reading seccomp filter flags");
	*n = got;
	*flags = md.flags;
	return 1;
}

static void resend_deferred(struct remote *r)
{
	int sig;

	for (sig = 1; sig <= 64; sig++)
		if (r->deferred_signals & (1ull << (sig - 1)))
			kill(r->pid, sig);
	r->deferred_signals = 0;
}

int remote_release(struct remote *r, const arch_regs_t *regs, uint64_t sigmask)
{
	arch_regs_t final = *regs;

	/* A thread stopped inside a restartable syscall: restart it the way
	 * the kernel would, whatever kind of stop we detach from. */
	arch_regs_resume_syscall(&final);
	/* The mask first: until the registers change, a thread in the return
	 * stub would restore the mask by itself. */
	if (remote_set_sigmask(r, sigmask) || remote_set_regs(r, &final))
		return -1;
	r->mask_full = false;
	if (ptrace(PTRACE_DETACH, r->pid, 0, 0))
		return ptrace_fail(r, "detaching");
	r->attached = false;
	resend_deferred(r);
	return 0;
}

int remote_release_exit(struct remote *r)
{
	unsigned long args[6] = { 0 };
	arch_regs_t regs = r->orig_regs;

	if (!r->syscall_ip && remote_find_syscall_insn(r))
		return -1;
	arch_regs_for_syscall(&regs, r->syscall_ip, __NR_exit, args);
	if (remote_set_sigmask(r, ~0ull) || remote_set_regs(r, &regs))
		return -1;
	r->mask_full = true;
	if (ptrace(PTRACE_DETACH, r->pid, 0, 0))
		return ptrace_fail(r, "detaching");
	r->attached = false;
	resend_deferred(r);
	return 0;
}

int remote_cure(struct remote *r)
{
	if (!r->attached)
		return 0;
	if (!r->safe) {
		if (remote_scratch_unmap(r))
			return -1;
		return remote_release(r, &r->orig_regs, r->orig_sigmask);
	}
	if (!r->controlled) {
		/* Seized, nothing changed (its registers or mask unread). */
		if (ptrace(PTRACE_DETACH, r->pid, 0, 0) && errno != ESRCH)
			return ptrace_fail(r, "detaching");
		r->attached = false;
		return 0;
	}
	if (!r->broken && unmap_temps(r) == 0 && drop_stub(r) == 0)
		return remote_release(r, &r->orig_regs, r->orig_sigmask);
	if (r->in_stub)
		return let_go_in_stub(r);
	return remote_release(r, &r->orig_regs, r->orig_sigmask);
}

void remote_kill(struct remote *r)
{
	int status;

	if (!r->attached)
		return;
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, &status, __WALL) >= 0 && !WIFEXITED(status) && !WIFSIGNALED(status))
		;
	r->attached = false;
}

void remote_free(struct remote *r)
{
	if (!r)
		return;
	if (r->attached) {
		/* Best effort: keep the first error, put the task back. */
		bool had_error = error_is_set();
		if (remote_cure(r) && !had_error)
			pr_warn("could not restore process %d cleanly: %s", r->pid, error_text());
		if (r->attached)
			ptrace(PTRACE_DETACH, r->pid, 0, 0);
	}
	if (r->mem_fd >= 0)
		close(r->mem_fd);
	free(r);
}
