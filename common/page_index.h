/* Incremental images (ckpt --parent): every image ends with the member
 * "index/pages", the content hash (XXH3-128) of each page of the process
 * that is not all-zero, stored in this image or in one of its parents, in
 * address order.  A later dump compares its pages with its parent's
 * index and stores only those that differ (the others become
 * RUN_IN_PARENT runs, see page_chunk.h); restart follows the chain of
 * parents, found by image_id in the header, never by file name. */
#ifndef CKPT_PAGE_INDEX_H
#define CKPT_PAGE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "records.h"

struct image_reader;
struct trust;
struct crypt_key;

#define PAGE_INDEX_MEMBER "index/pages"
#define IMAGE_ID_LEN 16

struct page_hash {
	uint64_t addr;
	uint64_t lo, hi;		/* XXH3-128 of the page */
};

struct page_index {
	struct page_hash *e;		/* sorted by addr */
	size_t n;
};

/* The hash of one page (CHUNK_PAGE_SIZE bytes). */
void page_hash_of(uint64_t addr, const void *page, struct page_hash *out);
/* The entry for addr, or NULL. */
const struct page_hash *page_index_find(const struct page_index *ix, uint64_t addr);
/* Sort and check for duplicates (after filling e in any order). */
int page_index_finish(struct page_index *ix) must_check;
/* The member body: "CKPI" | u32 version | u64 count | entries | u32 crc32c. */
int page_index_encode(const struct page_index *ix, struct buf *out) must_check;
int page_index_decode(const void *data, size_t len, struct page_index *ix) must_check;
void page_index_free(struct page_index *ix);

/* What an image's header says of it, read from its first member only. */
struct image_identity {
	uint8_t id[IMAGE_ID_LEN];
	uint8_t parent[IMAGE_ID_LEN];
	uint8_t track_epoch[IMAGE_ID_LEN];	/* dirty tracking (common/dirty_track.h) */
	bool has_id, has_parent, has_track_epoch;
	int32_t pid;
};
/* How a reader reads the images of a chain (restart --verify/--decrypt):
 * every image of it, its header included, is verified with trust and
 * decrypted with decrypt (each NULL: not asked for). */
struct image_keys {
	const struct trust *trust;
	struct crypt_key *decrypt;
};
/* Set up a new reader as keys says (keys may be NULL). */
int image_reader_use_keys(struct image_reader *r, const struct image_keys *keys) must_check;
int image_identity_read(const char *path, const struct image_keys *keys,
			struct image_identity *out) must_check;
/* From a decoded header (either blob may be absent: older images). */
void image_identity_of(const struct image_header *h, struct image_identity *out);
/* Read the whole image at path: the index of process pid into ix (the
 * root's index/pages, or proc/PID/index/pages of another process of a
 * tree; empty if the image has no such process), its identity into id. */
int page_index_load(const char *path, pid_t pid, const struct image_keys *keys,
		    struct page_index *ix, struct image_identity *id) must_check;

/* The chain of parents of an image whose header names parent: each found
 * by its image_id among the *.tar.zst files of dir, nearest first (the
 * last one has no parent).  paths: malloc'd array of malloc'd strings.
 * With keys, an image whose header does not verify (or decrypt) is not a
 * candidate: its id is not believed. */
int image_find_parents(const char *dir, const struct image_keys *keys,
		       const struct image_identity *child, char ***paths, size_t *n) must_check;
void image_paths_free(char **paths, size_t n);
/* Read the whole image at path as keys says: every frame verified and
 * decrypted, every member decompressed (zstd checksums), the metadata
 * decoded, the end record matching what came before it. */
int image_read_whole(const char *path, const struct image_keys *keys) must_check;
/* The directory of an image's path, where its parents are looked for
 * ("." for "-", standard input). */
void image_dir_of(const char *path, char *buf, size_t size);
/* "3f2a...": the first bytes of an id, for messages. */
void image_id_text(const uint8_t *id, char *buf, size_t size);

#endif
