/* Data generators shared by the benchmark programs (limits.c, workload.c),
 * so that "random", "zero" and "text" mean the same bytes in both.
 *
 * random: splitmix64 output, incompressible.
 * zero:   all-zero bytes.
 * text:   words drawn from a fixed dictionary of pseudo-words, separated by
 *         spaces with an occasional newline: about 3:1 with zstd level 1
 *         on independent 1 MiB frames.
 */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Anonymous read-write memory, not reserved in swap; NULL on failure. */
static inline uint8_t *gen_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline uint64_t gen_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void gen_random(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v = gen_next(&seed);
		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)gen_next(&seed);
}

#define GEN_WORDS 512		/* dictionary size: sets the ratio (512: ~3.0:1) */
#define GEN_WORD_MAX 12

struct gen_dict {
	char word[GEN_WORDS][GEN_WORD_MAX];
	uint8_t len[GEN_WORDS];
};

static inline void gen_dict_init(struct gen_dict *d)
{
	uint64_t s = 12345;
	size_t i, k;

	for (i = 0; i < GEN_WORDS; i++) {
		d->len[i] = (uint8_t)(2 + gen_next(&s) % 9);	/* 2..10 letters */
		for (k = 0; k < d->len[i]; k++)
			d->word[i][k] = (char)('a' + gen_next(&s) % 26);
	}
}

static inline void gen_text(const struct gen_dict *d, uint8_t *p, size_t len, uint64_t seed)
{
	size_t pos = 0;

	while (pos < len) {
		uint64_t r = gen_next(&seed);
		unsigned w = (unsigned)(r % GEN_WORDS);
		size_t n = d->len[w];

		if (n > len - pos)
			n = len - pos;
		memcpy(p + pos, d->word[w], n);
		pos += n;
		if (pos < len)
			p[pos++] = ((r >> 32) % 12) ? ' ' : '\n';
	}
}

#endif
