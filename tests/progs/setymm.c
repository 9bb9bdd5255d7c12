/* setymm: change one 32-bit lane of the upper half of a thread's ymm3 from
 * outside, with ptrace (PTRACE_GETREGSET / SETREGSET of NT_X86_XSTATE), for
 * the test of the avx test program.  gdb 13 cannot write the xstate of a
 * CPU with AMX, so tests must not use it for this.
 *
 * usage: setymm TID    (lane 6 of ymm3, that is lane 2 of its upper half,
 *                      is set to 0)
 */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	static uint8_t xs[64 * 1024];
	struct iovec iov = { xs, sizeof(xs) };
	unsigned eax, ebx, ecx, edx, off;
	pid_t tid;
	int status;

	if (argc != 2 || (tid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: setymm TID\n");
		return 2;
	}
	/* Where the upper halves of ymm0-15 are in the XSAVE area. */
	if (!__get_cpuid_count(0xd, 2, &eax, &ebx, &ecx, &edx) || !eax) {
		fprintf(stderr, "setymm: no AVX state on this CPU\n");
		return 1;
	}
	off = ebx + 3 * 16 + 8;		/* ymm3's upper half, lane 2 */
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0) ||
	    waitpid(tid, &status, __WALL) != tid) {
		fprintf(stderr, "setymm: attaching to %d: %s\n", tid, strerror(errno));
		return 1;
	}
	if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov) || iov.iov_len < off + 4) {
		fprintf(stderr, "setymm: reading the xstate of %d: %s\n", tid, strerror(errno));
		return 1;
	}
	memset(xs + off, 0, 4);
	xs[512] |= 4;			/* XSTATE_BV: the AVX component is in use */
	if (ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE, &iov)) {
		fprintf(stderr, "setymm: writing the xstate of %d: %s\n", tid, strerror(errno));
		return 1;
	}
	ptrace(PTRACE_DETACH, tid, 0, 0);
	printf("ymm3 lane 6 of %d set to 0\n", tid);
	return 0;
}
