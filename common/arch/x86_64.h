/* Everything x86_64-specific behind one small interface: register layout,
 * the syscall calling convention and restart rules, xstate and CPU
 * features.  Nothing else in the tree looks inside user_regs_struct. */
#ifndef CKPT_ARCH_X86_64_H
#define CKPT_ARCH_X86_64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#include "error.h"

typedef struct user_regs_struct arch_regs_t;

#define ARCH_NAME "x86_64"
#define ARCH_SYSCALL_INSN_LEN 2		/* 0f 05 */
#define ARCH_PAGE_SIZE 4096ul
#define ARCH_TASK_SIZE 0x7ffffffff000ul	/* 47-bit user space */

static inline uint64_t arch_ip(const arch_regs_t *r) { return r->rip; }
static inline uint64_t arch_sp(const arch_regs_t *r) { return r->rsp; }
static inline long arch_syscall_ret(const arch_regs_t *r) { return (long)r->rax; }

/* Registers that run syscall nr(args) from a `syscall` instruction at ip.
 * orig_rax = -1 keeps the kernel's restart logic away from them. */
void arch_regs_for_syscall(arch_regs_t *r, uint64_t ip, long nr, const unsigned long args[6]);
/* Code that runs a table of syscalls (struct remote_call, 64 bytes each)
 * in order, stopping at the first that fails, then traps (int3).
 * Copied into the task; arch_regs_for_batch() points it at the table. */
extern const unsigned char arch_batch_stub[], arch_batch_stub_end[];
void arch_regs_for_batch(arch_regs_t *r, uint64_t code, uint64_t table, uint64_t n);

/* The return stub: code placed in the task (in the unused tail of its
 * vDSO, while ckpt holds it) that runs one syscall and then returns to
 * the task's original state by itself: temporary mappings unmapped, the
 * signal mask, every general register, flags, rip and rsp put back from
 * a frame on the thread's stack (below the red zone, where a signal frame
 * would go).  A tracer that dies at any moment leaves a thread either at
 * its original state or in the stub, which finishes the call and returns
 * there.  Position independent; entries at offset 0 (any syscall),
 * arch_stub_clone (a clone: its child exits at once) and arch_stub_mmap
 * (an mmap: the new mapping is unmapped again, until the tracer has put
 * it in the frame's list and moved the thread to offset 2).  When the tracer
 * lives, it stops the thread after the syscall and never lets it run the
 * rest. */
extern const unsigned char arch_return_stub[], arch_stub_clone[], arch_stub_mmap[],
	arch_return_stub_end[];
#define ARCH_RETURN_UNMAP_MAX 6
#define ARCH_RETURN_FRAME_SIZE 272
/* The frame returning to orig (its restartable syscall restarted as the
 * kernel would) with sigmask, after unmapping n (address, length) pairs;
 * written into buf (ARCH_RETURN_FRAME_SIZE bytes). */
void arch_return_frame(const arch_regs_t *orig, uint64_t sigmask, const uint64_t (*unmap)[2],
		       size_t n, void *buf);
/* Where the frame goes for a thread stopped with orig. */
uint64_t arch_return_frame_addr(const arch_regs_t *orig);
static inline void arch_set_sp(arch_regs_t *r, uint64_t sp) { r->rsp = sp; }
static inline void arch_set_ip(arch_regs_t *r, uint64_t ip) { r->rip = ip; }

/* The thread was stopped inside a syscall that the kernel would restart
 * on return to user space.  Rewrite the registers the way the kernel's
 * no-handler path would (rax = orig_rax or restart_syscall, ip back over
 * the syscall instruction) and set orig_rax = -1, so the registers mean the
 * same thing from any kind of ptrace stop and in a new process. */
void arch_regs_resume_syscall(arch_regs_t *r);
/* Name of the syscall-restart state for humans ("", "in syscall 35"...). */
bool arch_regs_in_syscall(const arch_regs_t *r, long *nr, long *ret);

/* CRC-32C with the SSE4.2 instruction: crc is the running (inverted)
 * value.  Returns false, doing nothing, on a CPU without SSE4.2. */
bool arch_crc32c_update(uint32_t *crc, const void *data, size_t len);

/* CPU features that user code may rely on (glibc ifuncs pick code paths
 * from these).  Recorded at dump, compared at restart. */
struct cpu_features {
	uint32_t version;	/* 1 */
	uint32_t leaf1_ecx, leaf1_edx;
	uint32_t leaf7_ebx, leaf7_ecx, leaf7_edx;
	uint32_t leaf7_1_eax;
	uint32_t leafd_1_eax;	/* xsaveopt, xsavec, xgetbv1, xsaves */
	uint32_t ext1_ecx, ext1_edx;	/* 0x80000001 */
	uint64_t xcr0;
};
void arch_cpu_features(struct cpu_features *f);
/* Write into buf a description of features in need but missing in have
 * ("avx512f amx-tile ..."); returns the number of missing features. */
int arch_cpu_features_missing(const struct cpu_features *need,
			      const struct cpu_features *have, char *buf, size_t size);
void arch_cpu_model(char *buf, size_t size);
/* Size of the NT_X86_XSTATE regset for the features enabled in XCR0. */
uint32_t arch_xstate_size(void);
/* The xstate area's XSTATE_BV/XCR0 view: features the area uses. */
uint64_t arch_xstate_features(const void *xstate, uint32_t size);

#endif
