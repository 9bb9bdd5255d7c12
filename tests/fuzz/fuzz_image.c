/* libFuzzer harness: the container reader (common/image.c) and what
 * restart and ckpt check read through it (common/meta.c, pages/ members,
 * index/pages).  Input: one byte choosing the form, then
 *   form 0: the uncompressed tar stream (`zstd -d < image.tar.zst`), which
 *           the harness compresses into independent frames of up to 1 MiB
 *           as ckpt does, so that mutations reach the tar and member
 *           layers;
 *   form 1: the compressed image as is (the zstd layer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "image.h"
#include "page_chunk.h"
#include "page_index.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int write_all(int fd, const void *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p = (const uint8_t *)p + n;
		len -= (size_t)n;
	}
	return 0;
}

static int compress_frames(int fd, const uint8_t *data, size_t len)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(IMAGE_FRAME_SIZE), off = 0;
	uint8_t *out = malloc(cap);
	int ret = -1;

	if (!c || !out)
		goto out;
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
	while (off < len) {
		size_t n = len - off < IMAGE_FRAME_SIZE ? len - off : IMAGE_FRAME_SIZE;
		size_t z = ZSTD_compress2(c, out, cap, data + off, n);

		if (ZSTD_isError(z) || write_all(fd, out, z))
			goto out;
		off += n;
	}
	ret = 0;
out:
	free(out);
	ZSTD_freeCCtx(c);
	return ret;
}

/* Inside saved mappings, adjacent ones included (as ckpt check takes it). */
static bool in_vmas(const void *arg, uint64_t start, uint64_t end)
{
	const struct image_meta *m = arg;
	const struct vma_rec *v;

	while ((v = meta_find_vma(m, start))) {
		if (end <= v->end)
			return true;
		start = v->end;
	}
	return false;
}

/* The members after the metadata, as restart reads them. */
static void rest(struct image_reader *r, const struct image_meta *m, struct member_cursor *next)
{
	struct chunk_view *v = malloc(sizeof(*v));
	int state = next->state;

	while (v && state > 0) {
		void *body;
		size_t len;

		if (!strncmp(next->name, "pages/", 6) && next->size <= CHUNK_CAP) {
			const char *why;

			if (image_read_all(r, &body, &len))
				break;
			(void)chunk_parse(body, len, v, in_vmas, m, &why);
			free(body);
		} else if (!strcmp(next->name, PAGE_INDEX_MEMBER) && next->size <= (64u << 20)) {
			struct page_index ix;

			if (image_read_all(r, &body, &len))
				break;
			if (!page_index_decode(body, len, &ix))
				page_index_free(&ix);
			free(body);
		}
		state = image_next_member(r, next->name, &next->size);
	}
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct image_meta m, *others = NULL;
	struct member_cursor next;
	struct image_reader *r;
	size_t nothers = 0;
	int fd;

	if (len < 1)
		return 0;
	fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if ((data[0] & 1) ? write_all(fd, data + 1, len - 1) : compress_frames(fd, data + 1, len - 1))
		goto out;
	if (lseek(fd, 0, SEEK_SET) || !(r = image_reader_new(fd)))
		goto out;
	if (!meta_read(r, &m, &next)) {
		if (!meta_read_others(r, &m, &next, &others, &nothers))
			rest(r, &m, &next);
		meta_free_others(others, nothers);
	}
	meta_free(&m);
	image_reader_free(r);
out:
	error_clear();
	close(fd);
	return 0;
}
