/* pages/ members: see page_chunk.h. */
#include "page_chunk.h"

#include <string.h>

#include "image.h"
#include "record.h"

int chunk_parse(const uint8_t *buf, size_t len, struct chunk_view *v, chunk_range_ok *ok,
		const void *arg, const char **why)
{
	struct chunk_header h;
	uint64_t prev_end = 0, data_off;
	size_t i;

	v->stored_pages = v->parent_pages = 0;
	if (len < sizeof(h)) {
		*why = "chunk too short";
		return -1;
	}
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, CHUNK_MAGIC, 4) ||
	    (h.version != CHUNK_VERSION && h.version != CHUNK_VERSION_REFS) || h.nruns == 0 ||
	    h.nruns > CHUNK_PAGES || len < sizeof(h) + h.nruns * sizeof(struct page_run)) {
		*why = "bad chunk header";
		return -1;
	}
	v->version = h.version;
	v->nruns = h.nruns;
	memcpy(v->runs, buf + sizeof(h), h.nruns * sizeof(struct page_run));
	for (i = 0; i < h.nruns; i++) {
		const struct page_run *r = &v->runs[i];
		uint64_t end = r->addr + (uint64_t)r->npages * CHUNK_PAGE_SIZE;
		uint32_t allowed = h.version == CHUNK_VERSION_REFS ? RUN_IN_PARENT : 0;

		if (r->flags & ~allowed) {
			*why = "bad run flags";
			return -1;
		}
		if (r->addr < prev_end) {
			*why = "runs overlap or out of order";
			return -1;
		}
		if (r->addr % CHUNK_PAGE_SIZE || !r->npages || r->npages > CHUNK_PAGES ||
		    end <= r->addr || !ok(arg, r->addr, end)) {
			*why = "pages outside any saved mapping";
			return -1;
		}
		prev_end = end;
		if (r->flags & RUN_IN_PARENT)
			v->parent_pages += r->npages;
		else
			v->stored_pages += r->npages;
	}
	data_off = sizeof(h) + h.nruns * sizeof(struct page_run);
	if (v->stored_pages + v->parent_pages > CHUNK_PAGES ||
	    len != data_off + (uint64_t)v->stored_pages * CHUNK_PAGE_SIZE) {
		*why = "chunk size does not match its runs";
		return -1;
	}
	v->data = buf + data_off;
	if (crc32c(0, v->data, (size_t)v->stored_pages * CHUNK_PAGE_SIZE) != h.crc) {
		*why = "corrupted (checksum mismatch)";
		return -1;
	}
	return 0;
}
