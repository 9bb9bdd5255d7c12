/* Ordered pipeline of zstd frames on worker threads (see frame_pool.h). */
#include "frame_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <zstd.h>
#include <zstd_errors.h>

#define MAX_WORKERS 8

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_WORKING, SLOT_DONE };

struct zstd_ctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

struct frame_pool;

struct worker {
	struct frame_pool *pool;
	struct zstd_ctx ctx;
	pthread_t thread;
};

struct frame_pool {
	enum frame_job job;
	int level;
	unsigned nslots;
	struct frame_slot *slots;
	enum slot_state *state;
	/* Sequence numbers: slots[seq % nslots].  head: oldest not released,
	 * tail: next to submit, next_job: next for a worker. */
	uint64_t head, tail, next_job;
	struct zstd_ctx inline_ctx;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct worker workers[MAX_WORKERS];
	unsigned nworkers;
	bool stop;
};

unsigned cpus_usable(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned)n : 1;
}

static int ctx_init(struct frame_pool *p, struct zstd_ctx *c)
{
	if (p->job == FRAME_DECOMPRESS)
		return (c->dctx = ZSTD_createDCtx()) ? 0 : -1;
	c->cctx = ZSTD_createCCtx();
	if (!c->cctx ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, p->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1)))
		return -1;
	return 0;
}

static void ctx_free(struct zstd_ctx *c)
{
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	c->cctx = NULL;
	c->dctx = NULL;
}

/* ---- incompressible frames ----
 * zstd level 1 spends ~0.3 s per GiB of random data finding nothing to
 * compress, then stores it raw anyway.  A frame whose samples do not
 * compress is written as a zstd frame of raw blocks directly, with its
 * content checksum (XXH64, which zstd checks on decompression), at the
 * speed of a copy. */

#define P64_1 0x9E3779B185EBCA87ull
#define P64_2 0xC2B2AE3D27D4EB4Full
#define P64_3 0x165667B19E3779F9ull
#define P64_4 0x85EBCA77C2B2AE63ull
#define P64_5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t xxh_round(uint64_t acc, uint64_t in)
{
	return rotl64(acc + in * P64_2, 31) * P64_1;
}

static inline uint64_t xxh_merge(uint64_t acc, uint64_t v)
{
	return (acc ^ xxh_round(0, v)) * P64_1 + P64_4;
}

/* XXH64 with seed 0 (little-endian hosts), as zstd's content checksum. */
uint64_t xxh64(const void *data, size_t len)
{
	const uint8_t *p = data, *end = p + len;
	uint64_t h;

	if (len >= 32) {
		uint64_t v1 = P64_1 + P64_2, v2 = P64_2, v3 = 0, v4 = -P64_1;

		for (; p + 32 <= end; p += 32) {
			v1 = xxh_round(v1, rd64(p));
			v2 = xxh_round(v2, rd64(p + 8));
			v3 = xxh_round(v3, rd64(p + 16));
			v4 = xxh_round(v4, rd64(p + 24));
		}
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = xxh_merge(h, v1);
		h = xxh_merge(h, v2);
		h = xxh_merge(h, v3);
		h = xxh_merge(h, v4);
	} else {
		h = P64_5;
	}
	h += len;
	for (; p + 8 <= end; p += 8)
		h = rotl64(h ^ xxh_round(0, rd64(p)), 27) * P64_1 + P64_4;
	if (p + 4 <= end) {
		uint32_t w;

		memcpy(&w, p, 4);
		h = rotl64(h ^ (uint64_t)w * P64_1, 23) * P64_2 + P64_3;
		p += 4;
	}
	for (; p < end; p++)
		h = rotl64(h ^ *p * P64_5, 11) * P64_1;
	h ^= h >> 33;
	h *= P64_2;
	h ^= h >> 29;
	h *= P64_3;
	return h ^ (h >> 32);
}

#define RAW_BLOCK (128 * 1024)

static size_t raw_blocks(size_t len)
{
	return len ? (len + RAW_BLOCK - 1) / RAW_BLOCK : 1;
}

size_t zstd_raw_headers(uint8_t *out, size_t cap, const uint8_t *in, size_t len)
{
	uint64_t sum;
	size_t nblocks = raw_blocks(len), o, i;

	if (len > 0xffffffffu || cap < 9 + nblocks * 3 + 4)
		return 0;
	/* Magic; descriptor: 4-byte content size, single segment, checksum. */
	memcpy(out, "\x28\xb5\x2f\xfd", 4);
	out[4] = (2 << 6) | (1 << 5) | (1 << 2);
	for (i = 0; i < 4; i++)
		out[5 + i] = (uint8_t)(len >> (8 * i));
	for (i = 0, o = 9; i < nblocks; i++, o += 3) {
		size_t n = len - i * RAW_BLOCK < RAW_BLOCK ? len - i * RAW_BLOCK : RAW_BLOCK;
		uint32_t hdr = (uint32_t)(n << 3) | (i + 1 == nblocks);	/* type 0: raw */

		out[o] = (uint8_t)hdr;
		out[o + 1] = (uint8_t)(hdr >> 8);
		out[o + 2] = (uint8_t)(hdr >> 16);
	}
	sum = xxh64(in, len);
	for (i = 0; i < 4; i++)
		out[o + i] = (uint8_t)(sum >> (8 * i));
	return o + 4;
}

size_t zstd_raw_iov(const uint8_t *hdrs, const uint8_t *in, size_t len, struct iovec *iov,
		    size_t max)
{
	size_t nblocks = raw_blocks(len), k = 0, i;

	if (max < 2 * nblocks + 2)
		return 0;
	iov[k++] = (struct iovec){ (void *)hdrs, 9 };
	for (i = 0; i < nblocks; i++) {
		size_t n = len - i * RAW_BLOCK < RAW_BLOCK ? len - i * RAW_BLOCK : RAW_BLOCK;

		iov[k++] = (struct iovec){ (void *)(hdrs + 9 + 3 * i), 3 };
		if (n)
			iov[k++] = (struct iovec){ (void *)(in + i * RAW_BLOCK), n };
	}
	iov[k++] = (struct iovec){ (void *)(hdrs + 9 + 3 * nblocks), 4 };
	return k;
}

size_t zstd_raw_frame(uint8_t *out, size_t cap, const uint8_t *in, size_t len)
{
	struct iovec iov[2 * (2 * 1024 * 1024 / RAW_BLOCK + 2) + 2];
	uint8_t hdrs[9 + 3 * (2 * 1024 * 1024 / RAW_BLOCK + 2) + 4];
	size_t n, k, o = 0;

	if (len > 2 * 1024 * 1024 || cap < 9 + raw_blocks(len) * 3 + len + 4 ||
	    !zstd_raw_headers(hdrs, sizeof(hdrs), in, len))
		return 0;
	n = zstd_raw_iov(hdrs, in, len, iov, sizeof(iov) / sizeof(iov[0]));
	for (k = 0; k < n; k++) {
		memcpy(out + o, iov[k].iov_base, iov[k].iov_len);
		o += iov[k].iov_len;
	}
	return o;
}

/* Do two 8 KiB samples (a quarter and three quarters in: a frame starts
 * with headers and ends with tar padding) fail to shrink by 3%? */
static bool looks_incompressible(ZSTD_CCtx *cctx, const uint8_t *in, size_t len)
{
	enum { SAMPLE = 8192 };
	uint8_t out[SAMPLE + 512];
	size_t at[2] = { len / 4, len / 4 * 3 - SAMPLE }, i;

	if (len < 4 * SAMPLE)
		return false;
	for (i = 0; i < 2; i++) {
		size_t n = ZSTD_compress2(cctx, out, sizeof(out), in + at[i], SAMPLE);

		if (ZSTD_isError(n) || n < SAMPLE - SAMPLE / 32)
			return false;
	}
	return true;
}

static void process(struct frame_pool *p, struct zstd_ctx *c, struct frame_slot *s)
{
	size_t ret;

	s->error[0] = '\0';
	if (s->prepare) {
		s->prepare(s);
		if (s->error[0] || !s->in_len) {
			s->out_len = 0;
			return;
		}
	}
	if (p->job == FRAME_COMPRESS) {
		ret = 0;
		/* The frame's headers only: the writer sends them around
		 * the data where it lies (zstd_raw_iov()). */
		if (looks_incompressible(c->cctx, s->in + s->in_off, s->in_len))
			ret = zstd_raw_headers(s->out, s->out_cap, s->in + s->in_off, s->in_len);
		s->raw = ret != 0;
		if (!ret)
			ret = ZSTD_compress2(c->cctx, s->out, s->out_cap, s->in + s->in_off,
					     s->in_len);
	} else {
		ret = ZSTD_decompressDCtx(c->dctx, s->out, s->out_cap, s->in + s->in_off,
					  s->in_len);
	}
	if (ZSTD_isError(ret)) {
		if (p->job == FRAME_DECOMPRESS && ZSTD_getErrorCode(ret) == ZSTD_error_dstSize_tooSmall)
			snprintf(s->error, sizeof(s->error), "a zstd frame holds more than %zu "
				 "bytes", s->out_cap);
		else
			snprintf(s->error, sizeof(s->error), "zstd: %s", ZSTD_getErrorName(ret));
		s->out_len = 0;
		return;
	}
	s->out_len = ret;
	if (s->finish)
		s->finish(s);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct frame_pool *p = w->pool;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t seq;
		struct frame_slot *s;

		while (!p->stop && p->next_job == p->tail)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		seq = p->next_job++;
		s = &p->slots[seq % p->nslots];
		p->state[seq % p->nslots] = SLOT_WORKING;
		pthread_mutex_unlock(&p->lock);
		process(p, &w->ctx, s);
		pthread_mutex_lock(&p->lock);
		p->state[seq % p->nslots] = SLOT_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct frame_pool *frame_pool_new(enum frame_job job, int level, unsigned nslots,
				  size_t in_cap, size_t out_cap)
{
	struct frame_pool *p = calloc(1, sizeof(*p));
	unsigned i;

	if (!p)
		goto nomem;
	p->job = job;
	p->level = level;
	p->nslots = nslots;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->slots = calloc(nslots, sizeof(*p->slots));
	p->state = calloc(nslots, sizeof(*p->state));
	if (!p->slots || !p->state)
		goto nomem;
	for (i = 0; i < nslots; i++) {
		p->slots[i].in = malloc(in_cap);
		p->slots[i].out = malloc(out_cap);
		if (!p->slots[i].in || !p->slots[i].out)
			goto nomem;
		p->slots[i].in_cap = in_cap;
		p->slots[i].out_cap = out_cap;
	}
	if (ctx_init(p, &p->inline_ctx))
		goto nomem;
	return p;
nomem:
	fail(ENOMEM, NULL, "setting up image %scompression", job == FRAME_COMPRESS ? "" : "de");
	frame_pool_free(p);
	return NULL;
}

int frame_pool_start_workers(struct frame_pool *p, unsigned n)
{
	unsigned cpus = cpus_usable();

	if (p->nworkers)
		return 0;
	if (!n || n > cpus)
		n = cpus;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	if (n < 2)
		return 0;
	for (; p->nworkers < n; p->nworkers++) {
		struct worker *w = &p->workers[p->nworkers];
		int err;

		w->pool = p;
		if (ctx_init(p, &w->ctx)) {
			ctx_free(&w->ctx);
			return fail(ENOMEM, NULL, "starting (de)compression threads");
		}
		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			ctx_free(&w->ctx);
			return fail(err, NULL, "starting (de)compression threads");
		}
	}
	return 0;
}

struct frame_slot *frame_pool_free_slot(struct frame_pool *p)
{
	if (p->tail - p->head == p->nslots)
		return NULL;
	return &p->slots[p->tail % p->nslots];
}

void frame_pool_submit(struct frame_pool *p, struct frame_slot *s)
{
	unsigned i = (unsigned)(s - p->slots);

	if (!p->nworkers) {
		process(p, &p->inline_ctx, s);
		p->state[i] = SLOT_DONE;
		p->tail++;
		p->next_job = p->tail;
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->state[i] = SLOT_QUEUED;
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

struct frame_slot *frame_pool_oldest(struct frame_pool *p)
{
	unsigned i = (unsigned)(p->head % p->nslots);

	if (p->head == p->tail)
		return NULL;
	if (p->nworkers) {
		pthread_mutex_lock(&p->lock);
		while (p->state[i] != SLOT_DONE)
			pthread_cond_wait(&p->done, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
	return &p->slots[i];
}

void frame_pool_release(struct frame_pool *p, struct frame_slot *s)
{
	s->prepare = NULL;
	s->finish = NULL;
	s->produced = 0;
	s->raw = false;
	s->crypt = NULL;
	s->in_off = s->in_len = 0;
	p->state[s - p->slots] = SLOT_FREE;
	p->head++;
}

void frame_pool_quiesce(struct frame_pool *p)
{
	uint64_t seq;

	if (!p->nworkers)
		return;
	pthread_mutex_lock(&p->lock);
	for (seq = p->head; seq < p->tail; seq++)
		while (p->state[seq % p->nslots] != SLOT_DONE)
			pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

unsigned frame_pool_pending(const struct frame_pool *p)
{
	return (unsigned)(p->tail - p->head);
}

unsigned frame_pool_workers(const struct frame_pool *p)
{
	return p->nworkers;
}

void frame_pool_free(struct frame_pool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nworkers; i++) {
		pthread_join(p->workers[i].thread, NULL);
		ctx_free(&p->workers[i].ctx);
	}
	ctx_free(&p->inline_ctx);
	for (i = 0; p->slots && i < p->nslots; i++) {
		free(p->slots[i].in);
		free(p->slots[i].out);
	}
	free(p->slots);
	free(p->state);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
