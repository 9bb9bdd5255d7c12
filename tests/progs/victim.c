/* victim: a target for killing ckpt at any moment of a dump.
 *
 * usage: victim MIB [THREADS]
 *   Allocates MIB MiB filled with a pattern, blocks SIGUSR2, starts
 *   THREADS-1 more threads (default 1 in all) that loop on the same
 *   register and mask checks, then loops:
 *   a raw nanosleep(200 us) with magic values in every register the kernel
 *   preserves across a syscall (rbx, rbp, r8-r10, r12-r15, rdi, rsi, rdx,
 *   xmm8), then a spin of a few thousand iterations with the same magic in
 *   the callee-saved registers, checks them all, checks its signal mask and
 *   one page of the pattern (round robin), and every 10 ms prints
 *   "tick N".  SIGUSR1 has a handler (it counts; the handler checks the
 *   mask the kernel gave it).  The nanosleep must return 0: a sleep interrupted by ptrace
 *   is restarted by the kernel, never seen by the program; EINTR, which
 *   a restored process gets once (its restart block is gone), prints
 *   "EINTR" and goes on (not when the SIGUSR1 handler ran meanwhile).
 *   Anything wrong: "BAD <what>" on stdout, exit 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static void bad(const char *what, unsigned long long v)
{
	printf("BAD %s %#llx\n", what, v);
	fflush(stdout);
	exit(3);
}

static uint64_t pattern(size_t page, size_t word)
{
	return (page * 0x9e3779b97f4a7c15ull) ^ (word * 0xc2b2ae3d27d4eb4full) ^ 0x5a5a;
}

/* One round: a raw nanosleep and a spin, registers checked in asm.
 * Returns 0, or which register was wrong (1-based), or the syscall's
 * return value with bit 62 set. */
static long round_trip(const struct timespec *ts)
{
	long res, bad_reg;

	__asm__ volatile(
		"push %%rbp\n"
		"push %%rbx\n"
		"push %%r12\n"
		"push %%r13\n"
		"push %%r14\n"
		"push %%r15\n"
		"movq %%rdi, %%xmm9\n"
		"movabs $0x1111111111111111, %%rbx\n"
		"movabs $0x2222222222222222, %%rbp\n"
		"movabs $0x3333333333333333, %%r12\n"
		"movabs $0x4444444444444444, %%r13\n"
		"movabs $0x5555555555555555, %%r14\n"
		"movabs $0x6666666666666666, %%r15\n"
		"movabs $0x7777777777777777, %%r8\n"
		"movabs $0x8888888888888888, %%r9\n"
		"movabs $0x9999999999999999, %%rdx\n"
		"movq %%rbx, %%xmm8\n"
		"mov $0, %%esi\n"
		"mov %[nr], %%eax\n"
		"syscall\n"
		"mov %%rax, %%r11\n"
		"mov $1, %%ecx\n"
		"movabs $0x1111111111111111, %%rax\n"
		"cmp %%rax, %%rbx\n jne 9f\n"
		"inc %%ecx\n movq %%xmm8, %%r10\n cmp %%rax, %%r10\n jne 9f\n"
		"inc %%ecx\n movabs $0x2222222222222222, %%rax\n cmp %%rax, %%rbp\n jne 9f\n"
		"inc %%ecx\n movabs $0x3333333333333333, %%rax\n cmp %%rax, %%r12\n jne 9f\n"
		"inc %%ecx\n movabs $0x4444444444444444, %%rax\n cmp %%rax, %%r13\n jne 9f\n"
		"inc %%ecx\n movabs $0x5555555555555555, %%rax\n cmp %%rax, %%r14\n jne 9f\n"
		"inc %%ecx\n movabs $0x6666666666666666, %%rax\n cmp %%rax, %%r15\n jne 9f\n"
		"inc %%ecx\n movabs $0x7777777777777777, %%rax\n cmp %%rax, %%r8\n jne 9f\n"
		"inc %%ecx\n movabs $0x8888888888888888, %%rax\n cmp %%rax, %%r9\n jne 9f\n"
		"inc %%ecx\n movabs $0x9999999999999999, %%rax\n cmp %%rax, %%rdx\n jne 9f\n"
		"inc %%ecx\n movq %%xmm9, %%rax\n cmp %%rax, %%rdi\n jne 9f\n"
		"inc %%ecx\n test %%rsi, %%rsi\n jne 9f\n"
		/* the spin: stopped here, the thread is in user code */
		"mov $20000, %%r10d\n"
		"1: add %%rbx, %%r8\n sub %%rbx, %%r8\n dec %%r10\n jnz 1b\n"
		"inc %%ecx\n movabs $0x7777777777777777, %%rax\n cmp %%rax, %%r8\n jne 9f\n"
		"inc %%ecx\n movabs $0x1111111111111111, %%rax\n cmp %%rax, %%rbx\n jne 9f\n"
		"inc %%ecx\n movabs $0x6666666666666666, %%rax\n cmp %%rax, %%r15\n jne 9f\n"
		"xor %%ecx, %%ecx\n"
		"9: mov %%r11, %%rax\n"
		"pop %%r15\n"
		"pop %%r14\n"
		"pop %%r13\n"
		"pop %%r12\n"
		"pop %%rbx\n"
		"pop %%rbp\n"
		: "=a"(res), "=c"(bad_reg), "+D"(ts)
		: [nr] "i"(__NR_nanosleep)
		: "rdx", "rsi", "r8", "r9", "r10", "r11", "xmm8", "xmm9", "memory", "cc");
	if (bad_reg)
		return bad_reg;
	if (res)
		return res | (1l << 62);
	return 0;
}

static const struct timespec sleep_ts = { 0, 200000 };
static volatile unsigned long usr1;

static void on_usr1(int sig)
{
	sigset_t in;

	(void)sig;
	sigprocmask(SIG_BLOCK, NULL, &in);
	if (!sigismember(&in, SIGUSR1) || !sigismember(&in, SIGUSR2) || sigismember(&in, SIGTERM))
		bad("mask in the SIGUSR1 handler", 0);
	usr1++;
}

static void *worker(void *arg)
{
	sigset_t want = *(sigset_t *)arg, have;

	for (;;) {
		unsigned long handled = usr1;
		long r = round_trip(&sleep_ts);

		if (r == ((-EINTR & ~(1l << 62)) | (1l << 62))) {
			if (usr1 == handled)	/* not a handler's EINTR */
				puts("EINTR");
		}
		else if (r & (1l << 62))
			bad("nanosleep returned (thread)", (unsigned long long)(r & ~(1l << 62)));
		else if (r)
			bad("register (thread)", r);
		pthread_sigmask(SIG_BLOCK, NULL, &have);
		if (memcmp(&have, &want, sizeof(have)))
			bad("signal mask (thread)", 0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 1, i;
	pthread_t th;
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1, pages, p, w, next = 0;
	struct timespec t0, t;
	unsigned long long tick = 0;
	sigset_t want, have;
	uint64_t *mem;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pages = mib * 256;
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		bad("mmap", errno);
	for (p = 0; p < pages; p++)
		for (w = 0; w < PAGE / 8; w++)
			mem[p * PAGE / 8 + w] = pattern(p, w);
	sigemptyset(&want);
	sigaddset(&want, SIGUSR2);
	sigaddset(&want, SIGWINCH);
	sigprocmask(SIG_SETMASK, &want, NULL);
	signal(SIGUSR1, on_usr1);
	for (i = 1; i < threads; i++)
		if (pthread_create(&th, NULL, worker, &want))
			bad("pthread_create", i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("ready %zu MiB\n", mib);
	for (;;) {
		unsigned long handled = usr1;
		long r = round_trip(&sleep_ts);

		if (r == ((-EINTR & ~(1l << 62)) | (1l << 62))) {
			if (usr1 == handled)	/* not a handler's EINTR */
				puts("EINTR");
		}
		else if (r & (1l << 62))
			bad("nanosleep returned", (unsigned long long)(r & ~(1l << 62)));
		else if (r)
			bad("register", r);
		sigprocmask(SIG_BLOCK, NULL, &have);
		if (memcmp(&have, &want, sizeof(have))) {
			unsigned long long m;
			memcpy(&m, &have, sizeof(m));
			bad("signal mask", m);
		}
		for (w = 0; w < PAGE / 8; w++)
			if (mem[next * PAGE / 8 + w] != pattern(next, w))
				bad("memory page", next);
		next = (next + 1) % pages;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000ll + t.tv_nsec - t0.tv_nsec > 10000000) {
			printf("tick %llu\n", ++tick);
			t0 = t;
		}
	}
}
