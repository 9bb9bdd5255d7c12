/* Ordered pipeline of zstd frames on worker threads (see frame_pool.h). */
#include "frame_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (p->job == FRAME_COMPRESS)
		ret = ZSTD_compress2(c->cctx, s->out, s->out_cap, s->in + s->in_off, s->in_len);
	else
		ret = ZSTD_decompressDCtx(c->dctx, s->out, s->out_cap, s->in + s->in_off,
					  s->in_len);
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
