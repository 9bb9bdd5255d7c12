/* libFuzzer harness: the pages readers, chunk_parse() (common/page_chunk.c,
 * the pages/ members) and page_index_decode() (common/page_index.c, the
 * index/pages member).  Input: one byte choosing the reader, then the
 * member body.  Checksums are set right first, so that mutations reach
 * the other checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "page_chunk.h"
#include "page_index.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static bool any_range(const void *arg, uint64_t start, uint64_t end)
{
	(void)arg;
	return start < end;
}

/* Like restart: user space only, below the usual top of the stack. */
static bool user_range(const void *arg, uint64_t start, uint64_t end)
{
	(void)arg;
	return start >= 0x10000 && end <= 0x7ffffffff000ull;
}

static void chunk(uint8_t *buf, size_t len, bool fix, chunk_range_ok *ok)
{
	struct chunk_header h;
	struct chunk_view *v = malloc(sizeof(*v));
	const char *why;
	uint64_t stored = 0;

	if (!v)
		return;
	if (fix && len >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		if (h.nruns <= CHUNK_PAGES && len >= sizeof(h) + h.nruns * sizeof(struct page_run)) {
			const struct page_run *r = (const void *)(buf + sizeof(h));
			size_t off = sizeof(h) + h.nruns * sizeof(struct page_run);
			uint32_t i;

			for (i = 0; i < h.nruns; i++)
				if (!(r[i].flags & RUN_IN_PARENT))
					stored += r[i].npages;
			if (stored * CHUNK_PAGE_SIZE <= len - off) {
				h.crc = crc32c(0, buf + off, stored * CHUNK_PAGE_SIZE);
				memcpy(buf, &h, sizeof(h));
			}
		}
	}
	if (!chunk_parse(buf, len, v, ok, NULL, &why)) {
		/* What it accepted must hold. */
		if (v->stored_pages + v->parent_pages > CHUNK_PAGES ||
		    v->data + (size_t)v->stored_pages * CHUNK_PAGE_SIZE != buf + len)
			abort();
	}
	free(v);
}

static void pindex(uint8_t *buf, size_t len)
{
	struct page_index ix;
	uint32_t crc;
	size_t i;

	if (len >= 4) {
		crc = crc32c(0, buf, len - 4);
		memcpy(buf + len - 4, &crc, 4);
	}
	if (page_index_decode(buf, len, &ix)) {
		error_clear();
		return;
	}
	for (i = 0; i < ix.n; i++)
		if (page_index_find(&ix, ix.e[i].addr) != &ix.e[i])
			abort();
	(void)page_index_find(&ix, 0x1000);
	page_index_free(&ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *buf;

	if (len < 1 || !(buf = malloc(len)))
		return 0;
	memcpy(buf, data + 1, len - 1);
	switch (data[0] % 4) {
	case 0:
		chunk(buf, len - 1, true, any_range);
		break;
	case 1:
		chunk(buf, len - 1, true, user_range);
		break;
	case 2:
		chunk(buf, len - 1, false, any_range);
		break;
	case 3:
		pindex(buf, len - 1);
		break;
	}
	free(buf);
	return 0;
}
