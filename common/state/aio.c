/* Linux native AIO contexts (io_setup(2), libaio): each is a ring the
 * kernel maps into the process ("/[aio] (deleted)", shared), whose
 * address is the context's id.  The ring holds the completed events not
 * reaped yet, between head (the process's) and tail (the kernel's).
 *
 * Dump: the ring's pages are saved as memory (read before the process
 * resumes: the kernel writes into them); the record keeps its size in
 * events and its tail.  Only a context of the process itself: a child
 * forked after io_setup() has the mapping but not the context (io_getevents
 * on it fails with EINVAL), and is refused by name.
 *
 * Restore: the memory module maps a placeholder there and writes the
 * saved pages into it; then io_setup() in the process makes a context
 * with a ring of the same size (the kernel sizes it from the events asked
 * for and the CPUs: 64 per page less 2 asks for exactly P pages), moved
 * to the old address with mremap (the kernel follows: the id is the
 * address), its tail brought to the saved one by as many zero-length
 * writes to /dev/null as it counts, completed and reaped (the kernel keeps
 * its own copy of the tail), and the saved pages copied over it but for
 * the first word, the new context's index.
 *
 * Not saved: requests still in flight when the process was frozen (the
 * kernel shows them nowhere); their completions never come. */
#define LOG_PREFIX "aio: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE ARCH_PAGE_SIZE
#define AIO_RING_MAGIC 0xa10a10a1
#define REPLAY_BATCH 64

/* The kernel's struct aio_ring (fs/aio.c), followed by the events. */
struct aio_ring_header {
	uint32_t id;		/* the context's index in the mm's table */
	uint32_t nr;		/* io_events in the ring */
	uint32_t head;
	uint32_t tail;
	uint32_t magic;
	uint32_t compat_features;
	uint32_t incompat_features;
	uint32_t header_length;
};
_Static_assert(sizeof(struct aio_ring_header) == 32, "struct aio_ring is 32 bytes");
_Static_assert(sizeof(struct io_event) == 32, "struct io_event is 32 bytes");

/* The events a ring of len bytes holds (the kernel fills whole pages). */
static uint64_t ring_events(uint64_t len)
{
	return (len - sizeof(struct aio_ring_header)) / sizeof(struct io_event);
}

bool aio_ring_mapping(const char *path)
{
	return !strcmp(path, "/[aio] (deleted)");
}

static const char *ring_what(char *buf, size_t size, uint64_t start)
{
	snprintf(buf, size, "saving the AIO context %#llx (io_setup)", (unsigned long long)start);
	return buf;
}

/* ------------------------------------------------------------------ */
/* dump half                                                          */

int aio_ring_dump(struct dump_ctx *ctx, const struct vma_entry *v, struct vma_rec *rec)
{
	struct aio_ring_header h;
	uint64_t len = v->end - v->start;
	char what[96];
	long ret;

	ring_what(what, sizeof(what), v->start);
	if (remote_read(ctx->remote, v->start, &h, sizeof(h)))
		return -1;
	if (!v->shared || h.magic != AIO_RING_MAGIC || h.header_length != sizeof(h) ||
	    h.nr != ring_events(len) || h.nr == 0)
		return fail_why("its ring is not as the kernel made it (moved in part, or its header "
				"overwritten)", "ckpt saves AIO rings as io_setup() maps them", "%s",
				what);
	/* Its own context?  io_getevents(ctx, 0, 0) reaps nothing. */
	if (remote_syscall(ctx->remote, &ret, __NR_io_getevents, v->start, 0, 0, 0, 0))
		return -1;
	if (ret == -EINVAL)
		return fail_why("the process has the ring mapped but not the context (inherited "
				"through fork, or mapped again)", "ckpt saves the AIO contexts of the "
				"process that made them; checkpoint when the child has exited or "
				"unmapped it", "%s", what);
	rec->aio_nr = h.nr;
	rec->aio_tail = h.tail % h.nr;
	pr_info("context %#llx: %u events, head %u, tail %u", (unsigned long long)v->start,
		h.nr, h.head, h.tail);
	return 0;
}

/* ------------------------------------------------------------------ */
/* restore half                                                       */

int aio_ring_check(const struct vma_rec *v)
{
	uint64_t len = v->end - v->start;

	if (len > (64ull << 20) || v->aio_nr != ring_events(len) || v->aio_tail >= v->aio_nr ||
	    v->file_index >= 0)
		return fail_why("invalid AIO ring record", "the image is corrupted",
				"checking mapping %#llx-%#llx", (unsigned long long)v->start,
				(unsigned long long)v->end);
	return 0;
}

static int inject(struct restore_ctx *ctx, const char *what, long nr, unsigned long a1,
		  unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5,
		  long *ret)
{
	return remote_syscall_ok(ctx->remote, ret, what, nr, a1, a2, a3, a4, a5, 0);
}

/* A context whose ring is v's size, at v's address (where the
 * placeholder was). */
static int make_context(struct restore_ctx *ctx, const struct vma_rec *v, const char *what)
{
	uint64_t len = v->end - v->start, zero = 0, idp, id;
	struct aio_ring_header h;
	long ret;

	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, &zero, sizeof(zero), &idp))
		return -1;
	if (remote_syscall(ctx->remote, &ret, __NR_io_setup, len / PAGE * 64 - 2, idp))
		return -1;
	if (ret == -EAGAIN)
		return fail_why("the host's limit of AIO events is reached", "raise "
				"/proc/sys/fs/aio-max-nr, or end programs holding AIO contexts",
				"%s", what);
	if (ret < 0)
		return fail((int)-ret, NULL, "%s: io_setup", what);
	if (remote_read(ctx->remote, idp, &id, sizeof(id)) ||
	    remote_read(ctx->remote, id, &h, sizeof(h)))
		return -1;
	if (h.nr != v->aio_nr)
		return fail_why("this host makes a larger ring (the kernel sizes it by the CPUs)",
				"restart on a host with as many CPUs as the one of the checkpoint, or "
				"fewer", "%s (%u events, here %u)", what, v->aio_nr, h.nr);
	/* The placeholder goes only now: the new ring cannot have taken its
	 * place (mremap refuses to move a mapping onto itself). */
	if (inject(ctx, what, __NR_munmap, v->start, len, 0, 0, 0, NULL) ||
	    inject(ctx, what, __NR_mremap, id, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   v->start, &ret))
		return -1;
	if ((uint64_t)ret != v->start)
		return fail_why("the kernel put it elsewhere", NULL, "%s: mremap", what);
	return 0;
}

/* Complete and reap v->aio_tail requests: the kernel's tail follows. */
static int replay_tail(struct restore_ctx *ctx, const struct vma_rec *v, const char *what)
{
	static const char dev_null[] = "/dev/null";
	struct iocb cbs[REPLAY_BATCH];
	uint64_t ptrs[REPLAY_BATCH], path, cbs_at, ptrs_at, events_at;
	struct io_event events[REPLAY_BATCH];
	uint32_t left = v->aio_tail;
	long fd, ret;
	size_t i, n;
	int err = 0;

	if (!left)
		return 0;
	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, dev_null, sizeof(dev_null), &path) ||
	    inject(ctx, what, __NR_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0, 0, &fd))
		return -1;
	memset(events, 0, sizeof(events));
	while (left && !err) {
		n = left < REPLAY_BATCH ? left : REPLAY_BATCH;
		if (n > (v->aio_nr - 1) / 2)
			n = (v->aio_nr - 1) / 2 ? (v->aio_nr - 1) / 2 : 1;
		memset(cbs, 0, sizeof(cbs));
		for (i = 0; i < n; i++) {
			cbs[i].aio_lio_opcode = IOCB_CMD_PWRITE;
			cbs[i].aio_fildes = (uint32_t)fd;
			cbs[i].aio_buf = path;	/* (zero bytes of it) */
		}
		remote_scratch_reset(ctx->remote);
		err = remote_scratch_put(ctx->remote, cbs, n * sizeof(cbs[0]), &cbs_at);
		for (i = 0; i < n; i++)
			ptrs[i] = cbs_at + i * sizeof(cbs[0]);
		err = err || remote_scratch_put(ctx->remote, ptrs, n * sizeof(ptrs[0]), &ptrs_at) ||
		      remote_scratch_put(ctx->remote, events, n * sizeof(events[0]), &events_at) ||
		      inject(ctx, what, __NR_io_submit, v->start, n, ptrs_at, 0, 0, &ret);
		if (!err && ret != (long)n)
			err = fail_why("the kernel took fewer requests", NULL, "%s: io_submit (%ld of "
				       "%zu)", what, ret, n);
		err = err || inject(ctx, what, __NR_io_getevents, v->start, n, n, events_at, 0, &ret);
		if (!err && ret != (long)n)
			err = fail_why("fewer completions came back", NULL, "%s: io_getevents (%ld "
				       "of %zu)", what, ret, n);
		left -= n;
	}
	if (inject(ctx, what, __NR_close, fd, 0, 0, 0, 0, NULL))
		err = -1;
	return err ? -1 : 0;
}

/* Each ring of the image, its saved pages in a placeholder at its
 * address (memory.c): made a context again. */
int aio_rings_restore(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	uint8_t *saved = NULL;
	char what[96];
	size_t i;
	int ret = 0;

	for (i = 0; i < m->nvmas && !ret; i++) {
		const struct vma_rec *v = &m->vmas[i];
		uint64_t len = v->end - v->start;
		const size_t skip = sizeof(uint32_t);	/* the id: the new context's */

		if (v->kind != VMA_AIO_RING)
			continue;
		snprintf(what, sizeof(what), "restoring the AIO context %#llx",
			 (unsigned long long)v->start);
		free(saved);
		if (!(saved = malloc(len))) {
			ret = fail(ENOMEM, NULL, "%s", what);
			break;
		}
		ret = remote_read(ctx->remote, v->start, saved, len) || make_context(ctx, v, what) || replay_tail(ctx, v, what) ||
		      remote_write(ctx->remote, v->start + skip, saved + skip, len - skip) ||
		      (v->prot != (PROT_READ | PROT_WRITE) &&
		       inject(ctx, what, __NR_mprotect, v->start, len, v->prot, 0, 0, NULL)) ? -1 : 0;
		if (!ret)
			pr_info("context %#llx: %u events, tail %u", (unsigned long long)v->start,
				v->aio_nr, v->aio_tail);
	}
	free(saved);
	return ret;
}
