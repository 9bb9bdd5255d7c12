/* The pages/ members of an image: memory contents in chunks of up to
 * CHUNK_PAGES pages, each a header, its runs (address order), and the
 * bytes of the runs that are stored, checksummed (crc32c).  Written by
 * memory.c, read by memory.c (restart) and ckpt check.
 *
 * Version 1 chunks hold stored runs only.  Version 2 chunks (incremental
 * images, ckpt --parent) may also hold runs flagged RUN_IN_PARENT: pages
 * the process had at dump time whose contents are those of the same
 * address in the parent image (no bytes here). */
#ifndef CKPT_PAGE_CHUNK_H
#define CKPT_PAGE_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_PAGES 256			/* 1 MiB of data per pages/ member */
#define CHUNK_PAGE_SIZE 4096
#define CHUNK_MAGIC "CKPG"
#define CHUNK_VERSION 1
#define CHUNK_VERSION_REFS 2

struct chunk_header {
	char magic[4];
	uint32_t version;
	uint32_t nruns;
	uint32_t crc;			/* of the stored bytes */
};

#define RUN_IN_PARENT 1u		/* version 2: contents in the parent image */

struct page_run {
	uint64_t addr;
	uint32_t npages;
	uint32_t flags;			/* RUN_*; 0 in version 1 */
};

#define CHUNK_ROOM (sizeof(struct chunk_header) + CHUNK_PAGES * sizeof(struct page_run))
#define CHUNK_CAP (CHUNK_ROOM + CHUNK_PAGES * CHUNK_PAGE_SIZE)

/* A parsed, checked chunk. */
struct chunk_view {
	uint32_t version, nruns;
	struct page_run runs[CHUNK_PAGES];
	const uint8_t *data;		/* stored runs' bytes, in run order */
	uint32_t stored_pages, parent_pages;
};

/* May a run of pages [start, end) be restored (inside mappings that hold
 * contents)? */
typedef bool chunk_range_ok(const void *arg, uint64_t start, uint64_t end);

/* Check a pages/ member as restart takes it: header, runs in address
 * order inside mappings, size, checksum.  On failure *why says what is
 * wrong and -1 is returned (no fail(): runs on reader threads too). */
int chunk_parse(const uint8_t *buf, size_t len, struct chunk_view *v, chunk_range_ok *ok,
		const void *arg, const char **why);

#endif
