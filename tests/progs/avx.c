/* avx: vector registers that must survive a checkpoint taken in the middle of
 * a system call.  Built with -mavx2.
 *
 * usage: avx [-i MS] [-y]
 *   -i MS  tick interval (default 50 ms)
 *   -y     check only ymm0-15 even when the CPU has AVX-512
 *
 * Every tick, one inline-asm block loads a tick-dependent pattern into every
 * vector register (ymm0-15, or zmm0-31 and the opmask registers k1-k7 on a
 * CPU with AVX-512F/BW), calls nanosleep with the `syscall` instruction
 * itself (so no C code can touch the registers), and stores all registers
 * back to memory right after the syscall returns; C then compares them with
 * the pattern.  A checkpoint is almost always taken inside that syscall, so a
 * restart that loses the upper YMM/ZMM halves, the high registers or the
 * opmasks is caught.  The rounding mode (x87 and MXCSR: toward zero) is
 * checked too.  Prints "tick N ok" or "CORRUPT avx ..." (exit 3).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fenv.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NY 16
#define NZ 32
#define NK 8			/* k0 is not checked (the hardware uses it as "no mask") */

static uint8_t ypat[NY][32] __attribute__((aligned(64)));
static uint8_t yout[NY][32] __attribute__((aligned(64)));
static uint8_t zpat[NZ][64] __attribute__((aligned(64)));
static uint8_t zout[NZ][64] __attribute__((aligned(64)));
static uint64_t kpat[NK], kout[NK];
static volatile uint64_t g_tick;

#define YLD(i) "vmovdqu " #i "*32(%[p]), %%ymm" #i "\n\t"
#define YST(i) "vmovdqu %%ymm" #i ", " #i "*32(%[o])\n\t"
#define Y16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) \
	M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

static long sleep_keeping_ymm(const struct timespec *ts)
{
	long ret = SYS_nanosleep;
	__asm__ volatile(Y16(YLD)
			 "syscall\n\t"
			 Y16(YST)
			 : "+a"(ret)
			 : [p] "r"(ypat), [o] "r"(yout), "D"(ts), "S"(0L)
			 : "rcx", "r11", "memory",
			   "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return ret;
}

#define ZLD(i) "vmovdqu64 " #i "*64(%[p]), %%zmm" #i "\n\t"
#define ZST(i) "vmovdqu64 %%zmm" #i ", " #i "*64(%[o])\n\t"
#define Z32(M) Y16(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) \
	M(24) M(25) M(26) M(27) M(28) M(29) M(30) M(31)
#define KLD(i) "kmovq " #i "*8(%[kp]), %%k" #i "\n\t"
#define KST(i) "kmovq %%k" #i ", " #i "*8(%[ko])\n\t"
#define K7(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

__attribute__((target("avx512f,avx512bw")))
static long sleep_keeping_zmm(const struct timespec *ts)
{
	long ret = SYS_nanosleep;
	__asm__ volatile(Z32(ZLD) K7(KLD)
			 "syscall\n\t"
			 Z32(ZST) K7(KST)
			 : "+a"(ret)
			 : [p] "r"(zpat), [o] "r"(zout), [kp] "r"(kpat), [ko] "r"(kout),
			   "D"(ts), "S"(0L)
			 : "rcx", "r11", "memory",
			   "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
			   "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
			   "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
			   "k1", "k2", "k3", "k4", "k5", "k6", "k7");
	return ret;
}

static uint8_t pattern_byte(uint64_t tick, unsigned reg, unsigned byte)
{
	/* Distinct in every register, every byte and every tick; never zero
	 * in the upper halves, so cleared upper halves are always caught. */
	return (uint8_t)((tick * 31 + reg * 64 + byte * 7 + 1) | (byte >= 16 ? 0x80 : 0));
}

static void corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#include <stdarg.h>
static void corrupt(const char *fmt, ...)
{
	va_list ap;
	char msg[256];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("CORRUPT avx %s\n", msg);
	fflush(stdout);
	exit(3);
}

static void compare(const char *kind, unsigned nregs, unsigned width, const uint8_t *pat,
		    const uint8_t *out)
{
	for (unsigned r = 0; r < nregs; r++)
		for (unsigned b = 0; b < width; b++)
			if (pat[r * width + b] != out[r * width + b])
				corrupt("%s%u byte %u: 0x%02x, expected 0x%02x (%s half)", kind, r, b,
					out[r * width + b], pat[r * width + b],
					b < 16 ? "xmm" : b < 32 ? "upper ymm" : "upper zmm");
}

static unsigned get_mxcsr(void)
{
	unsigned m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

int main(int argc, char **argv)
{
	unsigned interval = 50;
	int want_zmm = 1, opt;

	while ((opt = getopt(argc, argv, "i:y")) != -1) {
		switch (opt) {
		case 'i': interval = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'y': want_zmm = 0; break;
		default:
			fprintf(stderr, "usage: avx [-i MS] [-y]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2")) {
		printf("avx: this CPU has no AVX2\n");
		return 77;
	}
	int zmm = want_zmm && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
	printf("avx pid %d checking %s\n", (int)getpid(), zmm ? "zmm0-31 k1-7" : "ymm0-15");

	fesetround(FE_TOWARDZERO);
	struct timespec ts = { interval / 1000, (long)(interval % 1000) * 1000000L };
	uint64_t n = 0;
	for (;;) {
		n++;
		g_tick = n;
		long ret;
		if (zmm) {
			for (unsigned r = 0; r < NZ; r++)
				for (unsigned b = 0; b < 64; b++)
					zpat[r][b] = pattern_byte(n, r, b);
			for (unsigned k = 1; k < NK; k++)
				kpat[k] = 0x0123456789abcdefull * (n + k) | 1ull << 63;
			memset(zout, 0, sizeof(zout));
			memset(kout, 0, sizeof(kout));
			ret = sleep_keeping_zmm(&ts);
			compare("zmm", NZ, 64, &zpat[0][0], &zout[0][0]);
			for (unsigned k = 1; k < NK; k++)
				if (kout[k] != kpat[k])
					corrupt("k%u: %#" PRIx64 ", expected %#" PRIx64, k, kout[k],
						kpat[k]);
		} else {
			for (unsigned r = 0; r < NY; r++)
				for (unsigned b = 0; b < 32; b++)
					ypat[r][b] = pattern_byte(n, r, b);
			memset(yout, 0, sizeof(yout));
			ret = sleep_keeping_ymm(&ts);
			compare("ymm", NY, 32, &ypat[0][0], &yout[0][0]);
		}
		if (ret != 0)
			printf("note: nanosleep returned %ld\n", ret);
		if (fegetround() != FE_TOWARDZERO)
			corrupt("x87/SSE rounding mode lost (fegetround %#x)", (unsigned)fegetround());
		if ((get_mxcsr() & 0x6000) != 0x6000)
			corrupt("MXCSR rounding lost (mxcsr %#x)", get_mxcsr());
		if (g_tick != n)
			corrupt("tick: memory %" PRIu64 ", register %" PRIu64, (uint64_t)g_tick, n);
		printf("tick %" PRIu64 " ok\n", n);
	}
}
