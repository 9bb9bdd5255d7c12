#define LOG_PREFIX "arch: "
#include "arch/x86_64.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
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

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	for (; len && ((uintptr_t)p & 7); len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
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
