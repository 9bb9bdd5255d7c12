/* Page hashes and chains of incremental images: see page_index.h. */
#include "page_index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "image.h"
#include "page_chunk.h"
#include "state.h"

#define INDEX_MAGIC "CKPI"
#define INDEX_VERSION 1
#define INDEX_MAX_ENTRIES (1ull << 34)	/* 64 TiB of pages: beyond, corrupted */

void page_hash_of(uint64_t addr, const void *page, struct page_hash *out)
{
	XXH128_hash_t h = XXH3_128bits(page, CHUNK_PAGE_SIZE);

	out->addr = addr;
	out->lo = h.low64;
	out->hi = h.high64;
}

const struct page_hash *page_index_find(const struct page_index *ix, uint64_t addr)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->e[mid].addr == addr)
			return &ix->e[mid];
		if (ix->e[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int by_addr(const void *a, const void *b)
{
	const struct page_hash *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int page_index_finish(struct page_index *ix)
{
	size_t i;

	for (i = 1; i < ix->n && ix->e[i - 1].addr < ix->e[i].addr; i++)
		;
	if (i < ix->n)	/* (most often in order already: no sort) */
		qsort(ix->e, ix->n, sizeof(*ix->e), by_addr);
	for (i = 1; i < ix->n; i++)
		if (ix->e[i].addr == ix->e[i - 1].addr)
			return fail_why("a page appears twice", NULL, "indexing page %#llx",
					(unsigned long long)ix->e[i].addr);
	return 0;
}

int page_index_encode(const struct page_index *ix, struct buf *out)
{
	uint32_t version = INDEX_VERSION, crc;
	uint64_t count = ix->n;
	size_t start = out->len;

	if (buf_append(out, INDEX_MAGIC, 4) || buf_append(out, &version, 4) ||
	    buf_append(out, &count, 8) || buf_append(out, ix->e, ix->n * sizeof(*ix->e)))
		return -1;
	crc = crc32c(0, out->data + start, out->len - start);
	return buf_append(out, &crc, 4);
}

int page_index_decode(const void *data, size_t len, struct page_index *ix)
{
	const uint8_t *p = data;
	uint32_t version, crc;
	uint64_t count;
	size_t i;

	ix->e = NULL;
	ix->n = 0;
	if (len < 20 || memcmp(p, INDEX_MAGIC, 4))
		return fail_why("not a page index", "the image is corrupted",
				"reading image member " PAGE_INDEX_MEMBER);
	memcpy(&version, p + 4, 4);
	memcpy(&count, p + 8, 8);
	memcpy(&crc, p + len - 4, 4);
	if (version != INDEX_VERSION)
		return fail_why("unknown page index version", "use a newer restart",
				"reading image member " PAGE_INDEX_MEMBER);
	if (count > INDEX_MAX_ENTRIES || len != 20 + count * sizeof(struct page_hash))
		return fail_why("its size does not match its count", "the image is corrupted",
				"reading image member " PAGE_INDEX_MEMBER);
	if (crc32c(0, p, len - 4) != crc)
		return fail_why("checksum mismatch", "the image is corrupted",
				"reading image member " PAGE_INDEX_MEMBER);
	ix->e = malloc(count ? count * sizeof(*ix->e) : 1);
	if (!ix->e)
		return fail(ENOMEM, NULL, "reading image member " PAGE_INDEX_MEMBER);
	memcpy(ix->e, p + 16, count * sizeof(*ix->e));
	ix->n = count;
	for (i = 0; i < ix->n; i++)
		if (ix->e[i].addr % CHUNK_PAGE_SIZE || (i && ix->e[i].addr <= ix->e[i - 1].addr)) {
			page_index_free(ix);
			return fail_why("pages out of order", "the image is corrupted",
					"reading image member " PAGE_INDEX_MEMBER);
		}
	return 0;
}

void page_index_free(struct page_index *ix)
{
	free(ix->e);
	ix->e = NULL;
	ix->n = 0;
}

void image_identity_of(const struct image_header *h, struct image_identity *out)
{
	memset(out, 0, sizeof(*out));
	out->pid = h->pid;
	if (h->image_id.len == IMAGE_ID_LEN) {
		memcpy(out->id, h->image_id.data, IMAGE_ID_LEN);
		out->has_id = true;
	}
	if (h->parent_id.len == IMAGE_ID_LEN) {
		memcpy(out->parent, h->parent_id.data, IMAGE_ID_LEN);
		out->has_parent = true;
	}
	if (h->track_epoch.len == IMAGE_ID_LEN) {
		memcpy(out->track_epoch, h->track_epoch.data, IMAGE_ID_LEN);
		out->has_track_epoch = true;
	}
}

/* The header of an open reader, positioned at its first member. */
static int read_identity(struct image_reader *r, const char *path, struct image_identity *out)
{
	char name[IMAGE_NAME_MAX + 1];
	struct image_header *h;
	uint64_t size;
	size_t n;
	void *data;
	size_t len;
	int ret;

	ret = image_next_member(r, name, &size);
	if (ret < 0)
		return -1;
	if (ret == 0 || strcmp(name, "ckpt-image") || size > (1u << 20))
		return fail_why("it does not start with a ckpt image header", NULL, "reading %s",
				path);
	if (image_read_all(r, &data, &len))
		return -1;
	ret = record_decode_list(data, len, &image_header_desc, (void **)&h, &n);
	free(data);
	if (ret)
		return -1;
	if (n != 1) {
		record_free_list(&image_header_desc, h, n);
		return fail_why("expected one header record", "the image is corrupted",
				"reading %s", path);
	}
	image_identity_of(h, out);
	record_free_list(&image_header_desc, h, n);
	return 0;
}

int image_reader_use_keys(struct image_reader *r, const struct image_keys *keys)
{
	if (!keys)
		return 0;
	if (keys->trust && image_reader_verify(r, keys->trust))
		return -1;
	if (keys->decrypt && image_reader_decrypt(r, keys->decrypt))
		return -1;
	return 0;
}

int image_identity_read(const char *path, const struct image_keys *keys,
			struct image_identity *out)
{
	struct image_reader *r;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (fd < 0)
		return fail(errno, NULL, "opening %s", path);
	r = image_reader_new(fd);
	if (r && image_reader_use_keys(r, keys)) {
		image_reader_free(r);
		r = NULL;
	}
	if (r) {
		ret = read_identity(r, path, out);
		image_reader_free(r);
	}
	close(fd);
	return ret;
}

int page_index_load(const char *path, pid_t pid, const struct image_keys *keys,
		    struct page_index *ix, struct image_identity *id)
{
	char name[IMAGE_NAME_MAX + 1], want[IMAGE_NAME_MAX + 1];
	struct image_reader *r;
	uint64_t size;
	bool found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	ix->e = NULL;
	ix->n = 0;
	if (fd < 0)
		return fail(errno, "give the image of an earlier checkpoint of this process",
			    "opening parent image %s", path);
	r = image_reader_new(fd);
	if (!r || image_reader_use_keys(r, keys) || read_identity(r, path, id))
		goto out;
	if (!id->has_id) {
		fail_why("it was written by an older ckpt, without an image id", "take a full "
			 "checkpoint first", "using %s as parent image", path);
		goto out;
	}
	if (id->pid == pid)
		snprintf(want, sizeof(want), "%s", PAGE_INDEX_MEMBER);
	else
		snprintf(want, sizeof(want), "proc/%d/%s", (int)pid, PAGE_INDEX_MEMBER);
	while ((ret = image_next_member(r, name, &size)) > 0) {
		void *data;
		size_t len;

		if (strcmp(name, want))
			continue;
		if (found || image_read_all(r, &data, &len)) {
			ret = found ? fail_why("member appears twice", "the image is corrupted",
					       "reading %s", path) : -1;
			break;
		}
		ret = page_index_decode(data, len, ix);
		free(data);
		if (ret)
			break;
		found = true;
	}
	if (ret == 0 && !found && id->pid == pid)
		ret = fail_why("it has no page index (written by an older ckpt)", "take a full "
			       "checkpoint first", "using %s as parent image", path);
	/* (A process the parent image does not have: all its pages stored.) */
out:
	if (r)
		image_reader_free(r);
	close(fd);
	if (ret)
		page_index_free(ix);
	return ret ? -1 : 0;
}

int image_read_whole(const char *path, const struct image_keys *keys)
{
	struct image_reader *r;
	struct image_meta m = { 0 };
	struct member_cursor next;
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, NULL, "opening %s", path);
	r = image_reader_new(fd);
	if (!r || image_reader_use_keys(r, keys))
		goto out;
	if (meta_read(r, &m, &next))
		goto out;
	ret = next.state;
	while (ret > 0)
		ret = image_next_member(r, name, &size);
out:
	if (r)
		image_reader_free(r);
	meta_free(&m);
	close(fd);
	return ret < 0 ? -1 : 0;
}

void image_dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!strcmp(path, "-") || !slash)
		snprintf(buf, size, ".");
	else if (slash == path)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

void image_id_text(const uint8_t *id, char *buf, size_t size)
{
	snprintf(buf, size, "%02x%02x%02x%02x%02x%02x", id[0], id[1], id[2], id[3], id[4], id[5]);
}

void image_paths_free(char **paths, size_t n)
{
	while (n)
		free(paths[--n]);
	free(paths);
}

/* Every image in dir with its identity (unreadable files are skipped). */
struct candidate {
	char *path;
	struct image_identity id;
};

/* refused: how many images of dir did not verify or decrypt, and why the
 * first did not (in why). */
static int list_candidates(const char *dir, const struct image_keys *keys,
			   struct candidate **out, size_t *n, size_t *refused, char *why,
			   size_t whylen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t len;

	*out = NULL;
	*n = 0;
	if (!d)
		return fail(errno, NULL, "looking for parent images in %s", dir);
	while ((e = readdir(d))) {
		struct candidate c, *grown;
		char path[4096];

		len = strlen(e->d_name);
		if (len < 8 || strcmp(e->d_name + len - 8, ".tar.zst") || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (image_identity_read(path, keys, &c.id) || !c.id.has_id) {
			if (keys && (keys->trust || keys->decrypt) && error_text()[0]) {
				if (!(*refused)++)
					snprintf(why, whylen, "%s", error_text());
			}
			error_clear();
			continue;
		}
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown || !(c.path = strdup(path))) {
			if (grown)
				*out = grown;
			closedir(d);
			return fail(ENOMEM, NULL, "looking for parent images");
		}
		*out = grown;
		(*out)[(*n)++] = c;
	}
	closedir(d);
	return 0;
}

int image_find_parents(const char *dir, const struct image_keys *keys,
		       const struct image_identity *child, char ***paths, size_t *n)
{
	struct candidate *c = NULL;
	size_t nc = 0, i, k, refused = 0;
	char why[600] = "";
	struct image_identity at = *child;
	char idtext[16];
	int ret = -1;

	*paths = NULL;
	*n = 0;
	if (!child->has_parent)
		return 0;
	if (list_candidates(dir, keys, &c, &nc, &refused, why, sizeof(why)))
		goto out;
	while (at.has_parent) {
		char **grown;

		/* Two images with one id (ckpt merge keeps the id): the full one. */
		for (i = 0, k = nc; i < nc; i++)
			if (!memcmp(c[i].id.id, at.parent, IMAGE_ID_LEN) &&
			    (k == nc || (c[k].id.has_parent && !c[i].id.has_parent)))
				k = i;
		i = k;
		image_id_text(at.parent, idtext, sizeof(idtext));
		if (i == nc && refused) {
			/* Its header may claim the id: not believed unverified. */
			fail_why("no verified image there has its id", "every image of a chain "
				 "must be signed and encrypted as the image itself is",
				 "finding parent image %s... of an incremental image in %s (%zu "
				 "image%s there refused, the first: %s)", idtext, dir, refused,
				 refused == 1 ? "" : "s", why);
			goto out;
		}
		if (i == nc) {
			fail_why("no image there has its id", "put the parent images next to it "
				 "(ckpt snapshot keeps them), or restart a full image",
				 "finding parent image %s... of an incremental image in %s", idtext,
				 dir);
			goto out;
		}
		if (*n >= nc || c[i].id.pid != child->pid) {
			fail_why(*n >= nc ? "the chain of parents loops" : "it is an image of "
				 "another process", "the images are corrupted or mixed up",
				 "following parent image %s", c[i].path);
			goto out;
		}
		grown = realloc(*paths, (*n + 1) * sizeof(*grown));
		if (grown)
			*paths = grown;
		if (!grown || !((*paths)[*n] = strdup(c[i].path))) {
			fail(ENOMEM, NULL, "finding parent images");
			goto out;
		}
		++*n;
		at = c[i].id;
	}
	ret = 0;
out:
	for (i = 0; i < nc; i++)
		free(c[i].path);
	free(c);
	if (ret) {
		image_paths_free(*paths, *n);
		*paths = NULL;
		*n = 0;
	}
	return ret;
}
