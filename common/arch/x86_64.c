#define LOG_PREFIX "arch: "
#include "arch/x86_64.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

/* Kernel-internal restart codes, visible in rax of a stopped thread. */
#define ERESTARTSYS		512
#define ERESTARTNOINTR		513
#define ERESTARTNOHAND		514
#define ERESTART_RESTARTBLOCK	516

void arch_regs_for_syscall(arch_regs_t *r, uint64_t ip, long nr, const unsigned long a[6])
{
	r->rip = ip;
	r->rax = nr;
	r->orig_rax = (unsigned long)-1;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
}

/* rbx: the table, r12: how many.  Each entry: nr, six arguments, and
 * the result written back.  rcx and r11 are clobbered by syscall. */
__asm__(".pushsection .rodata\n"
	".globl arch_batch_stub\n"
	"arch_batch_stub:\n"
	"1:	movq 0(%rbx), %rax\n"
	"	movq 8(%rbx), %rdi\n"
	"	movq 16(%rbx), %rsi\n"
	"	movq 24(%rbx), %rdx\n"
	"	movq 32(%rbx), %r10\n"
	"	movq 40(%rbx), %r8\n"
	"	movq 48(%rbx), %r9\n"
	"	syscall\n"
	"	movq %rax, 56(%rbx)\n"
	"	cmpq $-4095, %rax\n"
	"	jae 2f\n"
	"	addq $64, %rbx\n"
	"	decq %r12\n"
	"	jnz 1b\n"
	"2:	int3\n"
	".globl arch_batch_stub_end\n"
	"arch_batch_stub_end:\n"
	".popsection\n");

void arch_regs_for_batch(arch_regs_t *r, uint64_t code, uint64_t table, uint64_t n)
{
	r->rip = code;
	r->rbx = table;
	r->r12 = n;
	r->orig_rax = (unsigned long)-1;
}

/* The return stub (see x86_64.h).  Entry 0 runs the syscall set up by
 * arch_regs_for_stub(); entry arch_stub_clone is the same for a clone whose
 * child must end at once, entry arch_stub_mmap for an mmap whose mapping
 * the frame does not list yet (undone at once).  Then, with rsp at the
 * frame: the listed
 * mappings unmapped, the signal mask back (rt_sigprocmask), every general
 * register popped, and iretq to the original rip, cs, rflags, rsp, ss. */
__asm__(".pushsection .rodata\n"
	".globl arch_return_stub\n"
	".globl arch_stub_clone\n"
	".globl arch_stub_mmap\n"
	".globl arch_return_stub_end\n"
	"arch_return_stub:\n"
	"	syscall\n"
	"	jmp 3f\n"
	"arch_stub_mmap:\n"		/* an mmap not in the frame's list yet: */
	"	syscall\n"
	"	cmpq $-4095, %rax\n"
	"	jae 3f\n"
	"	movq %rax, %rdi\n"		/* munmap(it, rsi: its length) */
	"	movl $11, %eax\n"
	"	syscall\n"
	"	jmp 3f\n"
	"arch_stub_clone:\n"
	"	syscall\n"
	"	testq %rax, %rax\n"
	"	jnz 3f\n"
	"	movl $231, %eax\n"	/* the child: exit_group(0) */
	"	xorl %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	"3:	movq 8(%rsp), %r12\n"	/* munmap each of the count entries */
	"	leaq 16(%rsp), %rbx\n"
	"4:	testq %r12, %r12\n"
	"	jz 5f\n"
	"	movl $11, %eax\n"
	"	movq (%rbx), %rdi\n"
	"	movq 8(%rbx), %rsi\n"
	"	syscall\n"
	"	addq $16, %rbx\n"
	"	decq %r12\n"
	"	jmp 4b\n"
	"5:	movl $14, %eax\n"	/* rt_sigprocmask(SIG_SETMASK, frame, NULL, 8) */
	"	movl $2, %edi\n"
	"	movq %rsp, %rsi\n"
	"	xorl %edx, %edx\n"
	"	movl $8, %r10d\n"
	"	syscall\n"
	"	leaq 112(%rsp), %rsp\n"	/* mask, count, 6 entries */
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	popq %r11\n"
	"	popq %r10\n"
	"	popq %r9\n"
	"	popq %r8\n"
	"	popq %rax\n"
	"	popq %rcx\n"
	"	popq %rdx\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"	iretq\n"
	"arch_return_stub_end:\n"
	".popsection\n");

struct return_frame {
	uint64_t mask, count;
	uint64_t unmap[ARCH_RETURN_UNMAP_MAX][2];
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct return_frame) == ARCH_RETURN_FRAME_SIZE, "frame layout");
_Static_assert(offsetof(struct return_frame, r15) == 112, "the stub skips 112 bytes");

void arch_return_frame(const arch_regs_t *orig, uint64_t sigmask, const uint64_t (*unmap)[2],
		       size_t n, void *buf)
{
	arch_regs_t r = *orig;
	struct return_frame f;

	arch_regs_resume_syscall(&r);
	f = (struct return_frame){
		.mask = sigmask, .count = n,
		.r15 = r.r15, .r14 = r.r14, .r13 = r.r13, .r12 = r.r12,
		.rbp = r.rbp, .rbx = r.rbx, .r11 = r.r11, .r10 = r.r10, .r9 = r.r9, .r8 = r.r8,
		.rax = r.rax, .rcx = r.rcx, .rdx = r.rdx, .rsi = r.rsi, .rdi = r.rdi,
		.rip = r.rip, .cs = r.cs, .rflags = r.eflags, .rsp = r.rsp, .ss = r.ss,
	};
	if (n > ARCH_RETURN_UNMAP_MAX)
		n = f.count = ARCH_RETURN_UNMAP_MAX;
	memcpy(f.unmap, unmap, n * sizeof(f.unmap[0]));
	memcpy(buf, &f, sizeof(f));
}

uint64_t arch_return_frame_addr(const arch_regs_t *orig)
{
	/* Below the red zone, as the kernel places a signal frame. */
	return (orig->rsp - 128 - ARCH_RETURN_FRAME_SIZE) & ~15ull;
}

bool arch_regs_in_syscall(const arch_regs_t *r, long *nr, long *ret)
{
	if ((long)r->orig_rax < 0)
		return false;
	if (nr)
		*nr = (long)r->orig_rax;
	if (ret)
		*ret = (long)r->rax;
	return true;
}

void arch_regs_resume_syscall(arch_regs_t *r)
{
	if ((long)r->orig_rax < 0)
		return;
	switch ((long)r->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		r->rax = r->orig_rax;
		r->rip -= ARCH_SYSCALL_INSN_LEN;
		break;
	case -ERESTART_RESTARTBLOCK:
		r->rax = __NR_restart_syscall;
		r->rip -= ARCH_SYSCALL_INSN_LEN;
		break;
	}
	r->orig_rax = (unsigned long)-1;
}

/* crc32c with the SSE4.2 instruction, three streams at a time: the
 * instruction has a latency of three cycles and a throughput of one, so
 * three independent crcs over three blocks run at three times the speed
 * of one; the block crcs are then joined by "shifting" a crc over a block
 * of zeros (an operator on GF(2) polynomials, precomputed as tables for
 * the two block sizes).  The approach is Mark Adler's (crc32c.c, 2013). */
#define CRC_POLY 0x82f63b78u
#define CRC_LONG 8192
#define CRC_SHORT 256

static uint32_t crc_long[4][256], crc_short[4][256];
static pthread_once_t crc_tables_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* The operator appending len zero bytes (len a power of two) to a crc. */
static void crc_zeros_op(uint32_t *even, size_t len)
{
	uint32_t odd[32], row = 1;

	odd[0] = CRC_POLY;
	for (int n = 1; n < 32; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd);
	gf2_square(odd, even);
	do {
		gf2_square(even, odd);
		len >>= 1;
		if (!len)
			return;
		gf2_square(odd, even);
		len >>= 1;
	} while (len);
	memcpy(even, odd, sizeof(odd));
}

static void crc_zeros_table(uint32_t table[4][256], size_t len)
{
	uint32_t op[32];

	crc_zeros_op(op, len);
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			table[k][n] = gf2_times(op, n << (8 * k));
}

static void crc_tables_init(void)
{
	crc_zeros_table(crc_long, CRC_LONG);
	crc_zeros_table(crc_short, CRC_SHORT);
}

static uint32_t crc_shift(const uint32_t table[4][256], uint32_t crc)
{
	return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^
	       table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

__attribute__((target("sse4.2")))
static uint64_t crc32c_3way(uint64_t c0, const uint8_t **pp, size_t *lenp,
			    size_t block, const uint32_t table[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;

	while (len >= 3 * block) {
		uint64_t c1 = 0, c2 = 0;
		const uint8_t *end = p + block;

		do {
			c0 = __builtin_ia32_crc32di(c0, load64(p));
			c1 = __builtin_ia32_crc32di(c1, load64(p + block));
			c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * block));
			p += 8;
		} while (p < end);
		c0 = crc_shift(table, (uint32_t)c0) ^ c1;
		c0 = crc_shift(table, (uint32_t)c0) ^ c2;
		p += 2 * block;
		len -= 3 * block;
	}
	*pp = p;
	*lenp = len;
	return c0;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	for (; len && ((uintptr_t)p & 7); len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	if (len >= 3 * CRC_SHORT) {
		pthread_once(&crc_tables_once, crc_tables_init);
		c = crc32c_3way(c, &p, &len, CRC_LONG, crc_long);
		c = crc32c_3way(c, &p, &len, CRC_SHORT, crc_short);
	}
	for (; len >= 8; len -= 8, p += 8)
		c = __builtin_ia32_crc32di(c, load64(p));
	for (; len; len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

bool arch_crc32c_update(uint32_t *crc, const void *data, size_t len)
{
	static int have = -1;

	if (have < 0) {
		unsigned a, b, c, d;
		__cpuid(1, a, b, c, d);
		have = !!(c & (1u << 20));
	}
	if (!have)
		return false;
	*crc = crc32c_sse42(*crc, data, len);
	return true;
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

void arch_cpu_features(struct cpu_features *f)
{
	unsigned a, b, c, d, max;

	memset(f, 0, sizeof(*f));
	f->version = 1;
	max = __get_cpuid_max(0, NULL);
	__cpuid(1, a, b, c, d);
	f->leaf1_ecx = c;
	f->leaf1_edx = d;
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		f->leaf7_ebx = b;
		f->leaf7_ecx = c;
		f->leaf7_edx = d;
		__cpuid_count(7, 1, a, b, c, d);
		f->leaf7_1_eax = a;
	}
	if (max >= 0xd) {
		__cpuid_count(0xd, 1, a, b, c, d);
		f->leafd_1_eax = a;
	}
	if ((unsigned)__get_cpuid_max(0x80000000, NULL) >= 0x80000001) {
		__cpuid(0x80000001, a, b, c, d);
		f->ext1_ecx = c;
		f->ext1_edx = d;
	}
	if (f->leaf1_ecx & (1u << 27))	/* OSXSAVE */
		f->xcr0 = xgetbv0();
}

struct feature_name {
	size_t offset;		/* of the uint32_t word in struct cpu_features */
	unsigned bit;
	const char *name;
};

#define W(field) offsetof(struct cpu_features, field)
/* The features compilers and glibc dispatch on; enough to explain a refusal. */
static const struct feature_name feature_names[] = {
	{ W(leaf1_ecx), 0, "sse3" }, { W(leaf1_ecx), 9, "ssse3" }, { W(leaf1_ecx), 12, "fma" },
	{ W(leaf1_ecx), 19, "sse4.1" }, { W(leaf1_ecx), 20, "sse4.2" }, { W(leaf1_ecx), 22, "movbe" },
	{ W(leaf1_ecx), 23, "popcnt" }, { W(leaf1_ecx), 25, "aes" }, { W(leaf1_ecx), 26, "xsave" },
	{ W(leaf1_ecx), 28, "avx" }, { W(leaf1_ecx), 29, "f16c" }, { W(leaf1_ecx), 30, "rdrand" },
	{ W(leaf1_edx), 25, "sse" }, { W(leaf1_edx), 26, "sse2" },
	{ W(leaf7_ebx), 3, "bmi1" }, { W(leaf7_ebx), 5, "avx2" }, { W(leaf7_ebx), 8, "bmi2" },
	{ W(leaf7_ebx), 9, "erms" }, { W(leaf7_ebx), 16, "avx512f" }, { W(leaf7_ebx), 17, "avx512dq" },
	{ W(leaf7_ebx), 18, "rdseed" }, { W(leaf7_ebx), 19, "adx" }, { W(leaf7_ebx), 21, "avx512ifma" },
	{ W(leaf7_ebx), 28, "avx512cd" }, { W(leaf7_ebx), 29, "sha" }, { W(leaf7_ebx), 30, "avx512bw" },
	{ W(leaf7_ebx), 31, "avx512vl" },
	{ W(leaf7_ecx), 1, "avx512vbmi" }, { W(leaf7_ecx), 6, "avx512vbmi2" }, { W(leaf7_ecx), 8, "gfni" },
	{ W(leaf7_ecx), 9, "vaes" }, { W(leaf7_ecx), 10, "vpclmulqdq" }, { W(leaf7_ecx), 11, "avx512vnni" },
	{ W(leaf7_ecx), 12, "avx512bitalg" }, { W(leaf7_ecx), 14, "avx512vpopcntdq" },
	{ W(leaf7_edx), 4, "fsrm" }, { W(leaf7_edx), 22, "amx-bf16" }, { W(leaf7_edx), 23, "avx512fp16" },
	{ W(leaf7_edx), 24, "amx-tile" }, { W(leaf7_edx), 25, "amx-int8" },
	{ W(leaf7_1_eax), 4, "avx-vnni" }, { W(leaf7_1_eax), 5, "avx512bf16" },
	{ W(leafd_1_eax), 0, "xsaveopt" }, { W(leafd_1_eax), 1, "xsavec" },
	{ W(ext1_ecx), 0, "lahf_lm" }, { W(ext1_ecx), 5, "abm" }, { W(ext1_ecx), 6, "sse4a" },
};
#undef W

static void append_word(char *buf, size_t size, const char *word)
{
	size_t len = strlen(buf);
	if (len + strlen(word) + 2 < size)
		snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
}

int arch_cpu_features_missing(const struct cpu_features *need,
			      const struct cpu_features *have, char *buf, size_t size)
{
	const uint32_t *n = (const uint32_t *)need, *h = (const uint32_t *)have;
	int missing = 0;
	unsigned i, w;
	char tmp[64];

	buf[0] = 0;
	for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
		const struct feature_name *fn = &feature_names[i];
		uint32_t nw = *(const uint32_t *)((const char *)need + fn->offset);
		uint32_t hw = *(const uint32_t *)((const char *)have + fn->offset);
		if ((nw & (1u << fn->bit)) && !(hw & (1u << fn->bit))) {
			append_word(buf, size, fn->name);
			missing++;
		}
	}
	/* Any other bit of the feature words (after version) counts too. */
	for (w = 1; w < offsetof(struct cpu_features, xcr0) / 4; w++) {
		uint32_t extra = n[w] & ~h[w];
		if (extra && !missing) {
			snprintf(tmp, sizeof(tmp), "cpuid-word%u:%#x", w, extra);
			append_word(buf, size, tmp);
			missing++;
		}
	}
	if (need->xcr0 & ~have->xcr0) {
		snprintf(tmp, sizeof(tmp), "xstate-features:%#llx",
			 (unsigned long long)(need->xcr0 & ~have->xcr0));
		append_word(buf, size, tmp);
		missing++;
	}
	return missing;
}

void arch_cpu_model(char *buf, size_t size)
{
	unsigned regs[12];
	unsigned i;

	if ((unsigned)__get_cpuid_max(0x80000000, NULL) < 0x80000004) {
		snprintf(buf, size, "unknown");
		return;
	}
	for (i = 0; i < 3; i++)
		__cpuid(0x80000002 + i, regs[i * 4], regs[i * 4 + 1], regs[i * 4 + 2], regs[i * 4 + 3]);
	snprintf(buf, size, "%.48s", (const char *)regs);
}

uint32_t arch_xstate_size(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 0xd)
		return 512;
	__cpuid_count(0xd, 0, a, b, c, d);
	return b;	/* size for the features enabled in XCR0 */
}

uint64_t arch_xstate_features(const void *xstate, uint32_t size)
{
	uint64_t bv;

	if (size < 512 + 8)
		return 0;
	memcpy(&bv, (const char *)xstate + 512, sizeof(bv));	/* XSTATE_BV */
	return bv;
}
