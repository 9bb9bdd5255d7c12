/* Remote control of a stopped task through ptrace: the only module that
 * touches ptrace requests and registers of another process.
 *
 * Lifecycle (like CRIU's compel):
 *   remote_seize(pid)      attach to a running task and stop it, or
 *   remote_adopt(pid)      take over our own child stopped at exec;
 *   remote_syscall(...)    run syscalls inside it (a seized task: through
 *                          the return stub, arch/x86_64.h, so that it
 *                          survives our death at any moment; an adopted
 *                          one: from a `syscall` instruction found in its
 *                          vDSO), remote_read/write memory,
 *                          remote_scratch_* for arguments in its memory;
 *   remote_cure(r)         put back everything (scratch, registers,
 *                          signal mask) and detach: the target continues
 *                          exactly as before; or
 *   remote_release(r, regs) detach with new registers (restore side); or
 *   remote_kill(r)         kill it (failed restore, ckpt --kill).
 * While a task runs injected syscalls its signal mask is full, so no
 * signal handler runs in the middle; signals arriving stay pending.
 * Nothing is set on a seized task that would harm it if we died: no
 * PTRACE_O_EXITKILL (only on processes we create), its registers either
 * its own or in the return stub (docs/design.md, "ckpt may die").
 */
#ifndef CKPT_REMOTE_H
#define CKPT_REMOTE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/x86_64.h"
#include "error.h"

struct remote;

int remote_seize(pid_t pid, struct remote **out) must_check;
int remote_adopt(pid_t pid, struct remote **out) must_check;
/* Take over a thread just created by an injected clone (auto-attached
 * through PTRACE_O_TRACECLONE), waiting for its first stop. */
int remote_adopt_thread(pid_t tid, struct remote **out) must_check;

pid_t remote_pid(const struct remote *r);
/* Registers and signal mask the task had when we took it. */
const arch_regs_t *remote_orig_regs(const struct remote *r);
uint64_t remote_orig_sigmask(const struct remote *r);
/* The signal that had stopped the task (a group-stop: SIGSTOP, SIGTSTP,
 * SIGTTIN or SIGTTOU) when it was seized; 0 if it was not stopped. */
int remote_stop_signal(const struct remote *r);

/* A copy of the task's vDSO (len bytes read at start) as the kernel made
 * it: without ckpt's return stub, which sits in its unused tail while
 * the task is held (or was left there by a ckpt that was killed). */
void remote_vdso_scrub(const struct remote *r, uint64_t start, void *data, size_t len);

/* (Re)locate the `syscall` instruction used for injection: in [vdso]. */
int remote_find_syscall_insn(struct remote *r) must_check;

/* Run syscall nr in the task.  *ret gets the raw return (-errno on error).
 * Returns 0 if the syscall ran (whatever it returned), <0 if ptrace failed. */
int remote_syscall6(struct remote *r, long *ret, long nr, unsigned long a1,
		    unsigned long a2, unsigned long a3, unsigned long a4,
		    unsigned long a5, unsigned long a6) must_check;
#define remote_syscall(r, ret, nr, ...) \
	remote_syscall_n(r, ret, nr, ##__VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define remote_syscall_n(r, ret, nr, a1, a2, a3, a4, a5, a6, ...) \
	remote_syscall6(r, ret, nr, (unsigned long)(a1), (unsigned long)(a2), \
			(unsigned long)(a3), (unsigned long)(a4), \
			(unsigned long)(a5), (unsigned long)(a6))
/* Same, but a negative return is an error reported with fail(): what names
 * the operation for the user ("restoring mapping 0x400000-0x401000"). */
int remote_syscall_ok(struct remote *r, long *ret, const char *what, long nr,
		      unsigned long a1, unsigned long a2, unsigned long a3,
		      unsigned long a4, unsigned long a5, unsigned long a6) must_check;

/* Memory of the task: process_vm_readv/writev, falling back to
 * /proc/PID/mem for pages they cannot reach (PROT_NONE, read-only). */
int remote_read(struct remote *r, uint64_t addr, void *buf, size_t len) must_check;
int remote_write(struct remote *r, uint64_t addr, const void *buf, size_t len) must_check;
int remote_mem_fd(struct remote *r);
/* All of len bytes through /proc/PID/mem (mem_fd) at addr: 0, or the
 * address where it failed with *err set.  No fail(): safe on any thread. */
uint64_t remote_mem_transfer(int mem_fd, uint64_t addr, void *buf, size_t len, bool write,
			     int *err);

/* Several syscalls in one stop/resume, for work that injects hundreds
 * (one mmap per mapping on restore): a stub copied into the end of an
 * executable scratch area (remote_scratch_map_exec()) runs them in order
 * and stops at the first that fails.  Each call's ret is filled in; calls
 * not run keep -ECANCELED.  Without an executable scratch, one by one. */
struct remote_call {
	long nr;
	unsigned long arg[6];
	long ret;
};
int remote_syscall_batch(struct remote *r, struct remote_call *calls, size_t n) must_check;
int remote_scratch_map_exec(struct remote *r, uint64_t addr, size_t size) must_check;

/* Have the (stopped, seized) task fork a copy of its process through an
 * injected raw clone: no atfork handlers run.  sibling: CLONE_PARENT, the
 * copy is the process's sibling, reaped by their parent (which gets a
 * SIGCHLD), never a zombie of the process; else it is the process's
 * child with exit signal 0 (no SIGCHLD, unseen by wait() without
 * __WALL), to be reaped by remote_reap_copy().  The copy is ours (ptrace,
 * killed if we die) and never runs; its memory is the process's as of
 * now, copy-on-write.  When done with it: remote_kill(). */
int remote_fork_copy(struct remote *r, bool sibling, struct remote **copy) must_check;
/* Reap the (killed) child copy from inside the process, through r (one
 * of its threads, stopped and seized): wait4(copy, __WALL). */
int remote_reap_copy(struct remote *r, pid_t copy) must_check;

/* restart: have the (adopted) process fork a child under the PIDs
 * set_tid gives (clone3, innermost namespace first; nset 0: any), with
 * clone_flags (CLONE_FS, CLONE_FILES: what it shares with the process)
 * and exit signal SIGCHLD: a copy of the process as
 * it is now, ours (in an event stop, killed if we die) before it runs an
 * instruction. */
int remote_fork_child(struct remote *r, const pid_t *set_tid, size_t nset,
		      unsigned long clone_flags, struct remote **child) must_check;

/* Scratch memory mapped in the task for syscall arguments.  addr 0 lets
 * the kernel choose.  remote_scratch_put copies data in and returns its
 * address in the task; remote_scratch_reset forgets what was put. */
int remote_scratch_map(struct remote *r, uint64_t addr, size_t size) must_check;
int remote_scratch_unmap(struct remote *r) must_check;
/* Use owner's scratch (threads share one address space); never unmapped
 * through r. */
int remote_scratch_borrow(struct remote *r, struct remote *owner) must_check;
int remote_scratch_put(struct remote *r, const void *data, size_t len, uint64_t *addr) must_check;
void remote_scratch_reset(struct remote *r);
bool remote_scratch_range(const struct remote *r, uint64_t *start, uint64_t *end);

int remote_get_regs(struct remote *r, arch_regs_t *regs) must_check;
int remote_set_regs(struct remote *r, const arch_regs_t *regs) must_check;
int remote_get_xstate(struct remote *r, void *buf, size_t *len) must_check;
int remote_set_xstate(struct remote *r, const void *buf, size_t len) must_check;
int remote_set_sigmask(struct remote *r, uint64_t mask) must_check;

/* rseq registration (PTRACE_GET_RSEQ_CONFIGURATION); all zero if none. */
struct remote_rseq {
	uint64_t addr;
	uint32_t len, sig, flags;
};
int remote_get_rseq(struct remote *r, struct remote_rseq *rs) must_check;
/* Queued signals, without dequeuing them: shared = process-wide queue.
 * infos must hold max 128-byte entries; *n gets how many there are. */
int remote_peek_siginfo(struct remote *r, bool shared, void *infos, size_t max,
			size_t *n) must_check;

/* Seccomp filter number index (0 = the newest) as BPF instructions (8
 * bytes each, at most max), and its SECCOMP_FILTER_FLAG_* flags.
 * Returns 1 if there is one, 0 past the oldest. */
int remote_get_seccomp_filter(struct remote *r, unsigned index, void *insns, size_t max,
			       size_t *n, uint64_t *flags) must_check;

int remote_cure(struct remote *r) must_check;
int remote_release(struct remote *r, const arch_regs_t *regs, uint64_t sigmask) must_check;
/* Detach from a thread (restore side) made to call exit (SYS_exit, that
 * thread only) as its first instruction, every signal blocked: a leader
 * that had exited, its threads running on. */
int remote_release_exit(struct remote *r) must_check;
void remote_kill(struct remote *r);
/* Free the handle; if still attached, detach as remote_cure would. */
void remote_free(struct remote *r);

#endif
