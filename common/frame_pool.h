/* An ordered pipeline of zstd frames, (de)compressed on every core.
 *
 * The image is a sequence of independent zstd frames of about 1 MiB (see
 * image.h), so they can be compressed and decompressed in parallel.  The
 * pool holds a ring of slots; each slot has an input and an output buffer
 * of fixed capacity, so memory stays bounded whatever the image size.
 * One thread (the image writer or reader) fills slots in order and takes
 * the results back in the same order; worker threads do the zstd work in
 * between.
 *
 *   slot = frame_pool_free_slot(p)     NULL: the ring is full, take the
 *                                      oldest result first
 *   fill slot->in, slot->in_len
 *   frame_pool_submit(p, slot)
 *   ...
 *   slot = frame_pool_oldest(p)        waits for the oldest submitted slot
 *   use slot->out, slot->out_len (or slot->error)
 *   frame_pool_release(p, slot)
 *
 * A slot's prepare function, if set, runs on the worker first: the
 * image writer uses it to have workers build whole members (read the
 * target's pages, drop zero pages, checksum) so that the calling thread
 * only writes frames out.
 *
 * With no worker threads (frame_pool_start_workers() not called, or only
 * one CPU) the work is done inside frame_pool_submit(): restart creates the
 * process before any pages are read, and a raw clone3 of a process whose
 * worker threads might hold a lock is best avoided, so it starts workers
 * only once the process exists.  Workers never call fail(): errors are
 * text in slot->error, reported by the thread that takes the slot.
 */
#ifndef CKPT_FRAME_POOL_H
#define CKPT_FRAME_POOL_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "error.h"

enum frame_job { FRAME_COMPRESS, FRAME_DECOMPRESS };

struct frame_slot {
	uint8_t *in;
	size_t in_off, in_len, in_cap;	/* the input is in[in_off .. in_off + in_len) */
	uint8_t *out;
	size_t out_len, out_cap;
	char error[160];	/* "" or what went wrong */
	/* Optional work for the worker before compressing: makes the input
	 * from job (arguments copied in by the submitter); may leave
	 * in_len 0 for "nothing to write", or set error. */
	void (*prepare)(struct frame_slot *s);
	uint64_t job[48];
	uint64_t produced;	/* set by prepare or finish, for the submitter */
	/* Optional work for the worker after a frame was (de)compressed
	 * without error; may set error. */
	void (*finish)(struct frame_slot *s);
	/* The input did not compress: out holds only the headers of a zstd
	 * frame of raw blocks, to be sent around in (zstd_raw_iov()). */
	bool raw;
	/* Encrypted images: the key and this frame's sequence number, for
	 * a prepare (decrypt) or finish (encrypt) function. */
	const struct crypt_key *crypt;
	uint64_t seq;
};

struct frame_pool;

/* nslots slots with in_cap/out_cap bytes each.  level: zstd level for
 * FRAME_COMPRESS (frames get a content checksum and their size). */
struct frame_pool *frame_pool_new(enum frame_job job, int level, unsigned nslots,
				  size_t in_cap, size_t out_cap);
/* Start up to n worker threads (0: the number of CPUs this process may
 * run on, at most 8).  Fewer than 2 CPUs: none, the work stays inline. */
int frame_pool_start_workers(struct frame_pool *p, unsigned n) must_check;
struct frame_slot *frame_pool_free_slot(struct frame_pool *p);
void frame_pool_submit(struct frame_pool *p, struct frame_slot *s);
/* The oldest submitted slot, once done; NULL when none is submitted. */
struct frame_slot *frame_pool_oldest(struct frame_pool *p);
void frame_pool_release(struct frame_pool *p, struct frame_slot *s);
/* Wait until the workers have finished every submitted slot. */
void frame_pool_quiesce(struct frame_pool *p);
/* Submitted and not yet released. */
unsigned frame_pool_pending(const struct frame_pool *p);
unsigned frame_pool_workers(const struct frame_pool *p);
/* Stops the workers (after their current frame) and frees everything. */
void frame_pool_free(struct frame_pool *p);

/* XXH64 (seed 0), the checksum zstd puts at the end of a frame. */
uint64_t xxh64(const void *data, size_t len);
/* A zstd frame of raw blocks holding in, with its content size and
 * checksum, without copying in: zstd_raw_headers() packs the frame's own
 * bytes (9 + 3 per 128 KiB block + 4) into out, zstd_raw_iov() lists the
 * frame in order as pieces of out and in (at most 2 per block + 2).
 * zstd_raw_frame() copies it all into out (up to 2 MiB of in).  0: no room. */
size_t zstd_raw_headers(uint8_t *out, size_t cap, const uint8_t *in, size_t len);
size_t zstd_raw_iov(const uint8_t *hdrs, const uint8_t *in, size_t len, struct iovec *iov,
		    size_t max);
size_t zstd_raw_frame(uint8_t *out, size_t cap, const uint8_t *in, size_t len);

/* CPUs this process may run on (sched_getaffinity), at least 1. */
unsigned cpus_usable(void);

#endif
