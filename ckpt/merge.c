/* ckpt merge: fold an incremental image and its parents into one full
 * image (see merge.h, docs/design.md "Incremental images").
 *
 * Three passes, none of which keeps more than one chunk in memory:
 *  1. IMAGE as restart reads it: its metadata (every process of a tree),
 *     each pages/ chunk checked, the pages of RUN_IN_PARENT runs listed
 *     per process, its index/pages kept (what each such page must hash to);
 *  2. the parents, nearest first, found by image_id as restart finds them:
 *     each supplies the pages still owed, each checked against the hash
 *     IMAGE recorded, into an unnamed scratch file;
 *  3. IMAGE again, copied member by member into OUT: the header without
 *     parent_id (and track_pages), every version 2 chunk rewritten as a
 *     version 1 chunk with all its pages stored.
 * Nothing is written under OUT's name unless every pass succeeded. */
#define LOG_PREFIX "merge: "
#include "merge.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "image.h"
#include "output.h"
#include "page_chunk.h"
#include "page_index.h"
#include "record.h"
#include "records.h"
#include "state.h"

#define PAGE CHUNK_PAGE_SIZE

static const char usage[] =
"Usage: ckpt merge IMAGE -o OUT [-l LEVEL] [-v]\n"
"\n"
"Fold the incremental image IMAGE (ckpt --parent, ckpt snapshot) and the\n"
"chain of parent images it depends on into OUT, one self-contained full\n"
"image (\"-\" writes it to standard output).  OUT restarts exactly as IMAGE\n"
"does, without any parent: the parents can then be deleted.\n"
"\n"
"The parents are found as restart(1) finds them: by the image_id each\n"
"image records, among the *.tar.zst files of IMAGE's directory, never by\n"
"name.  Everything is checked as restart checks it before OUT is named:\n"
"IMAGE's metadata and chunks, every parent in the chain, and every page a\n"
"parent supplies against the hash IMAGE recorded for it.  A missing,\n"
"damaged or mixed-up parent fails the merge and writes nothing.\n"
"\n"
"OUT has IMAGE's metadata, its page index and its image_id: an incremental\n"
"image taken with IMAGE as parent stays valid with OUT as its parent, and\n"
"restart prefers a full image when two images of a directory carry the same\n"
"id.  So `ckpt merge IMAGE -o IMAGE` replaces IMAGE in place, and its\n"
"parents can go.  Only the header's parent_id (and track_pages) is dropped;\n"
"dirty tracking goes on from OUT as from IMAGE.  A full IMAGE is copied.\n"
"\n"
"Options:\n"
"  -o, --output OUT     where to write the full image (\"-\" = stdout); written\n"
"                       to an unnamed file, named only when complete (may be\n"
"                       IMAGE itself)\n"
"  -l, --level N        zstd compression level, 1 (default) to 19\n"
"  -v, --verbose        say what is done (-vv: more)\n"
"  -h, --help           this help\n"
"\n"
"Not supported: signed or encrypted images (--verify / --decrypt).\n"
"\n"
"Exit status: 0 OUT written; 1 failure (the message says what and why;\n"
"nothing was written); 2 usage error.\n"
"\n"
"Example: fold the newest snapshot so that its parents can be deleted:\n"
"  ckpt merge snaps/job-20260101T120000Z.tar.zst -o snaps/job-20260101T120000Z.tar.zst\n";

enum { OWED = 0, DEEPER, DONE };

/* One process of the image (a tree has several): the pages it owes. */
struct mproc {
	char prefix[MEMBER_PREFIX_MAX];	/* of its member names: "" or "proc/PID/" */
	struct page_index ix;		/* its index/pages */
	bool has_ix;
	uint64_t *need;			/* sorted addresses of RUN_IN_PARENT pages */
	size_t nneed, cap;
	uint8_t *state;			/* per need: OWED, DEEPER, DONE */
	uint64_t base;			/* its first page slot in the scratch file */
};

struct merge {
	const char *path;
	struct image_identity id;
	char **parents;			/* nearest first */
	size_t nparents;
	struct mproc *procs;
	size_t nprocs;
	uint64_t total_need;
	int scratch;
	uint8_t *buf;			/* one chunk (CHUNK_CAP) */
	uint8_t *out;			/* one rewritten chunk (CHUNK_CAP) */
};

/* 1: a pages/ member, 2: index/pages, 0: anything else; prefix: its process. */
static int member_kind(const char *name, char prefix[MEMBER_PREFIX_MAX])
{
	const char *rest = name;

	prefix[0] = 0;
	if (!strncmp(name, "proc/", 5)) {
		const char *slash = strchr(name + 5, '/');
		if (!slash || (size_t)(slash + 1 - name) >= MEMBER_PREFIX_MAX)
			return 0;
		snprintf(prefix, MEMBER_PREFIX_MAX, "%.*s", (int)(slash + 1 - name), name);
		rest = slash + 1;
	}
	if (!strncmp(rest, "pages/", 6))
		return 1;
	if (!strcmp(rest, PAGE_INDEX_MEMBER))
		return 2;
	return 0;
}

static struct mproc *proc_of(struct merge *g, const char *prefix, bool create)
{
	struct mproc *grown;
	size_t i;

	for (i = 0; i < g->nprocs; i++)
		if (!strcmp(g->procs[i].prefix, prefix))
			return &g->procs[i];
	if (!create)
		return NULL;
	grown = realloc(g->procs, (g->nprocs + 1) * sizeof(*grown));
	if (!grown) {
		fail(ENOMEM, NULL, "merging %s", g->path);
		return NULL;
	}
	g->procs = grown;
	memset(&grown[g->nprocs], 0, sizeof(*grown));
	snprintf(grown[g->nprocs].prefix, MEMBER_PREFIX_MAX, "%s", prefix);
	return &grown[g->nprocs++];
}

static bool any_range(const void *arg, uint64_t start, uint64_t end)
{
	(void)arg;
	return start < end;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static ssize_t find_need(const struct mproc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nneed;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->need[mid] == addr)
			return (ssize_t)mid;
		if (p->need[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int read_chunk(struct image_reader *r, const char *name, uint64_t size, uint8_t *buf,
		      struct chunk_view *v, const char *what, const char *path)
{
	const char *why;

	memset(v, 0, sizeof(*v));
	if (size > CHUNK_CAP)
		return fail_why("chunk too large", "the image is corrupted", "reading %s of %s %s",
				name, what, path);
	if (image_read(r, buf, size))
		return -1;
	if (chunk_parse(buf, size, v, any_range, NULL, &why))
		return fail_why(why, "the image is corrupted", "reading %s of %s %s", name, what,
				path);
	return 0;
}

/* Pass 1: IMAGE as restart reads it; what it owes, per process. */
static int scan_image(struct merge *g)
{
	struct image_meta m = { 0 }, *others = NULL;
	struct member_cursor next = { 0 };
	struct image_reader *r = NULL;
	size_t nothers = 0, i, k;
	int fd = open(g->path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (fd < 0)
		return fail(errno, "check the path of the image", "opening image %s", g->path);
	if (!(r = image_reader_new(fd)) || meta_read(r, &m, &next) ||
	    meta_read_others(r, &m, &next, &others, &nothers))
		goto out;
	image_identity_of(m.header, &g->id);
	if (!g->id.has_id) {
		fail_why("it was written by an older ckpt, without an image id", "restart it and "
			 "take a new checkpoint", "merging %s", g->path);
		goto out;
	}
	while (next.state > 0) {
		char prefix[MEMBER_PREFIX_MAX];
		int kind = member_kind(next.name, prefix), n;
		struct chunk_view v;
		struct mproc *p;

		if (kind && !(p = proc_of(g, prefix, true)))
			goto out;
		if (kind == 1) {
			if (read_chunk(r, next.name, next.size, g->buf, &v, "image", g->path))
				goto out;
			if (v.version == CHUNK_VERSION_REFS && !g->id.has_parent) {
				fail_why("a chunk refers to a parent image but the image has no "
					 "parent_id", "the image is corrupted", "reading %s of %s",
					 next.name, g->path);
				goto out;
			}
			for (i = 0; i < v.nruns; i++) {
				const struct page_run *run = &v.runs[i];
				if (!(run->flags & RUN_IN_PARENT))
					continue;
				if (p->nneed + run->npages > p->cap) {
					size_t cap = p->cap ? p->cap * 2 : 4096;
					uint64_t *grown;
					while (cap < p->nneed + run->npages)
						cap *= 2;
					if (!(grown = realloc(p->need, cap * sizeof(*grown)))) {
						fail(ENOMEM, NULL, "merging %s", g->path);
						goto out;
					}
					p->need = grown;
					p->cap = cap;
				}
				for (k = 0; k < run->npages; k++)
					p->need[p->nneed++] = run->addr + k * PAGE;
			}
		} else if (kind == 2) {
			void *data;
			size_t len;

			if (p->has_ix) {
				fail_why("member appears twice", "the image is corrupted",
					 "reading %s of %s", next.name, g->path);
				goto out;
			}
			if (image_read_all(r, &data, &len))
				goto out;
			n = page_index_decode(data, len, &p->ix);
			free(data);
			if (n)
				goto out;
			p->has_ix = true;
		} else if (strncmp(next.name, "files/", 6)) {
			fail_why("unexpected member after the metadata", "the image is corrupted",
				 "reading image member %s of %s", next.name, g->path);
			goto out;
		}
		n = image_next_member(r, next.name, &next.size);
		if (n < 0)
			goto out;
		next.state = n;
	}
	for (i = 0; i < g->nprocs; i++) {
		struct mproc *p = &g->procs[i];

		if (!p->nneed)
			continue;
		if (!p->has_ix) {
			fail_why("it takes pages from a parent image but has no page index",
				 "the image is corrupted", "merging %s", g->path);
			goto out;
		}
		qsort(p->need, p->nneed, sizeof(*p->need), cmp_u64);
		for (k = 1; k < p->nneed; k++)
			if (p->need[k] == p->need[k - 1]) {
				fail_why("a page is listed twice", "the image is corrupted",
					 "merging %s (page %#" PRIx64 ")", g->path, p->need[k]);
				goto out;
			}
		if (!(p->state = calloc(p->nneed, 1))) {
			fail(ENOMEM, NULL, "merging %s", g->path);
			goto out;
		}
		p->base = g->total_need;
		g->total_need += p->nneed;
	}
	ret = 0;
out:
	if (r)
		image_reader_free(r);
	close(fd);
	meta_free_others(others, nothers);
	meta_free(&m);
	return ret;
}

/* Pass 2, one parent: every owed page it stores, checked, into the scratch
 * file; those it takes from its own parent are left for the next one. */
static int take_from_parent(struct merge *g, const char *path)
{
	struct image_meta pm = { 0 };
	struct member_cursor next = { 0 };
	struct image_reader *r = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;
	uint64_t taken = 0;

	if (fd < 0)
		return fail(errno, NULL, "opening parent image %s", path);
	if (!(r = image_reader_new(fd)) || meta_read(r, &pm, &next))
		goto out;
	while (next.state > 0) {
		char prefix[MEMBER_PREFIX_MAX];
		struct mproc *p;
		struct chunk_view v;
		int n;

		if (member_kind(next.name, prefix) == 1 && (p = proc_of(g, prefix, false)) &&
		    p->nneed) {
			const uint8_t *data;
			size_t i, j;

			if (read_chunk(r, next.name, next.size, g->buf, &v, "parent image", path))
				goto out;
			data = v.data;
			for (i = 0; i < v.nruns; i++) {
				for (j = 0; j < v.runs[i].npages; j++) {
					uint64_t addr = v.runs[i].addr + j * PAGE;
					ssize_t k = find_need(p, addr);
					const struct page_hash *want;
					struct page_hash got;
					const uint8_t *page = data;

					if (v.runs[i].flags & RUN_IN_PARENT) {
						if (k >= 0 && p->state[k] == OWED)
							p->state[k] = DEEPER;
						continue;
					}
					data += PAGE;
					if (k < 0 || p->state[k] != OWED)
						continue;
					want = page_index_find(&p->ix, addr);
					page_hash_of(addr, page, &got);
					if (!want || want->lo != got.lo || want->hi != got.hi) {
						fail_why("its contents are not those the incremental "
							 "image was taken against", "the images are "
							 "mixed up or damaged", "taking page %#" PRIx64
							 " from parent image %s", addr, path);
						goto out;
					}
					if (pwrite(g->scratch, page, PAGE,
						   (off_t)((p->base + (uint64_t)k) * PAGE)) != PAGE) {
						fail(errno ? errno : EIO, "free space in $TMPDIR (default "
						     "/var/tmp)", "writing the merge's scratch file");
						goto out;
					}
					p->state[k] = DONE;
					taken++;
				}
			}
		}
		n = image_next_member(r, next.name, &next.size);
		if (n < 0)
			goto out;
		next.state = n;
	}
	pr_info("%" PRIu64 " pages from parent image %s", taken, path);
	ret = 0;
out:
	if (ret && !strstr(error_text(), path)) {	/* say which image of the chain */
		char why[1024];

		snprintf(why, sizeof(why), "%s", error_text());
		error_clear();
		fail_why(why, NULL, "reading parent image %s", path);
	}
	if (r)
		image_reader_free(r);
	close(fd);
	meta_free(&pm);
	return ret;
}

static int open_scratch(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(errno, "set TMPDIR to a writable directory", "creating a scratch file "
			    "in %s", dir);
	return fd;
}

/* Pass 2: the chain, as restart follows it. */
static int take_from_parents(struct merge *g)
{
	char dir[PATH_MAX];
	size_t k, i, j, left = g->total_need;

	if (!g->id.has_parent)
		return 0;
	image_dir_of(g->path, dir, sizeof(dir));
	if (image_find_parents(dir, NULL, &g->id, &g->parents, &g->nparents))
		return -1;
	pr_info("incremental image: %zu parent image%s in %s", g->nparents,
		g->nparents == 1 ? "" : "s", dir);
	if (!left)
		return 0;
	if ((g->scratch = open_scratch()) < 0)
		return -1;
	for (k = 0; k < g->nparents && left; k++) {
		if (take_from_parent(g, g->parents[k]))
			return -1;
		for (left = 0, i = 0; i < g->nprocs; i++) {
			struct mproc *p = &g->procs[i];
			for (j = 0; j < p->nneed; j++) {
				if (p->state[j] == OWED)
					return fail_why("the parent image holds no such page", "the "
							"images are mixed up or damaged", "taking page "
							"%#" PRIx64 " from parent image %s", p->need[j],
							g->parents[k]);
				if (p->state[j] == DEEPER) {
					p->state[j] = OWED;
					left++;
				}
			}
		}
	}
	if (left)
		return fail_why("the last parent image takes them from a parent of its own",
				"the chain of images is incomplete", "merging %zu pages of %s", left,
				g->path);
	return 0;
}

/* The header without parent_id: a full image, keeping IMAGE's id. */
static int write_header(struct image_writer *w, const void *data, size_t len, const char *path)
{
	struct image_header *h = NULL;
	struct buf out = { 0 };
	size_t n = 0;
	int ret = -1;

	if (record_decode_list(data, len, &image_header_desc, (void **)&h, &n))
		return -1;
	if (n != 1) {
		fail_why("not exactly one header record", "the image is corrupted", "reading %s",
			 path);
		goto out;
	}
	free(h->parent_id.data);
	h->parent_id = (struct blob){ 0 };
	h->track_pages = 0;
	if (record_encode_list(&out, &image_header_desc, h, 1) ||
	    image_write_member(w, "ckpt-image", out.data, out.len))
		goto out;
	ret = 0;
out:
	buf_free(&out);
	record_free_list(&image_header_desc, h, n);
	return ret;
}

/* A version 2 chunk with every page stored: version 1. */
static int write_chunk(struct merge *g, struct image_writer *w, const char *name,
		       const struct chunk_view *v)
{
	struct chunk_header h = { .version = CHUNK_VERSION };
	struct page_run *runs = (struct page_run *)(g->out + sizeof(h));
	const uint8_t *data = v->data;
	uint8_t *at;
	char prefix[MEMBER_PREFIX_MAX];
	struct mproc *p;
	size_t i, j, pages = v->stored_pages + v->parent_pages;

	member_kind(name, prefix);
	if (!(p = proc_of(g, prefix, false)))
		return fail_why("chunk of an unknown process", "the image is corrupted",
				"reading %s", name);
	for (i = 0; i < v->nruns; i++) {
		const struct page_run *r = &v->runs[i];
		if (h.nruns && runs[h.nruns - 1].addr + (uint64_t)runs[h.nruns - 1].npages * PAGE ==
				       r->addr)
			runs[h.nruns - 1].npages += r->npages;
		else
			runs[h.nruns++] = (struct page_run){ r->addr, r->npages, 0 };
	}
	at = g->out + sizeof(h) + h.nruns * sizeof(struct page_run);
	for (i = 0; i < v->nruns; i++) {
		const struct page_run *r = &v->runs[i];
		if (!(r->flags & RUN_IN_PARENT)) {
			memcpy(at, data, (size_t)r->npages * PAGE);
			data += (size_t)r->npages * PAGE;
			at += (size_t)r->npages * PAGE;
			continue;
		}
		for (j = 0; j < r->npages; j++, at += PAGE) {
			ssize_t k = find_need(p, r->addr + j * PAGE);
			if (k < 0 || p->state[k] != DONE)
				return fail_why("a page was not found in the parents", "the images "
						"changed while merging", "merging %s", name);
			if (pread(g->scratch, at, PAGE, (off_t)((p->base + (uint64_t)k) * PAGE)) !=
			    PAGE)
				return fail(errno ? errno : EIO, NULL, "reading the merge's "
					    "scratch file");
		}
	}
	memcpy(h.magic, CHUNK_MAGIC, 4);
	h.crc = crc32c(0, at - pages * PAGE, pages * PAGE);
	memcpy(g->out, &h, sizeof(h));
	return image_write_member(w, name, g->out, (size_t)(at - g->out));
}

/* Pass 3: IMAGE again, into OUT. */
static int write_merged(struct merge *g, struct output *o, int level)
{
	struct image_reader *r = NULL;
	struct image_writer *w = NULL;
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;
	int fd = open(g->path, O_RDONLY | O_CLOEXEC), n, ret = -1;

	if (fd < 0)
		return fail(errno, NULL, "opening image %s", g->path);
	if (!(r = image_reader_new(fd)) || !(w = image_writer_new(o->fd, level))) {
		if (!w)
			fail(ENOMEM, NULL, "writing %s", o->path);
		goto out;
	}
	while ((n = image_next_member(r, name, &size)) > 0) {
		char prefix[MEMBER_PREFIX_MAX];
		struct chunk_view v;

		if (!strcmp(name, "ckpt-image")) {
			void *data;
			size_t len;

			if (image_read_all(r, &data, &len))
				goto out;
			n = write_header(w, data, len, g->path);
			free(data);
			if (n)
				goto out;
		} else if (member_kind(name, prefix) == 1) {
			if (read_chunk(r, name, size, g->buf, &v, "image", g->path))
				goto out;
			if (v.version == CHUNK_VERSION ? image_write_member(w, name, g->buf, size) :
			    write_chunk(g, w, name, &v))
				goto out;
		} else {
			if (image_member_begin(w, name, size))
				goto out;
			while (size) {
				size_t len = size < CHUNK_CAP ? (size_t)size : CHUNK_CAP;
				if (image_read(r, g->buf, len) || image_member_write(w, g->buf, len))
					goto out;
				size -= len;
			}
			if (image_member_end(w))
				goto out;
		}
	}
	if (n < 0 || image_writer_finish(w))
		goto out;
	ret = 0;
out:
	if (w) {
		if (ret)
			image_writer_quiesce(w);
		image_writer_free(w);
	}
	if (r)
		image_reader_free(r);
	close(fd);
	return ret;
}

int merge_image(const char *image, const char *out, int level)
{
	struct output o = { .path = out, .fd = -1, .confirm_fd = -1 };
	struct merge g = { .path = image, .scratch = -1 };
	int ret = -1;
	size_t i;

	g.buf = malloc(CHUNK_CAP);
	g.out = malloc(CHUNK_CAP);
	if (!g.buf || !g.out)
		fail(ENOMEM, NULL, "merging %s", g.path);
	else if (!scan_image(&g) && !take_from_parents(&g) && !open_output(&o) &&
		 !write_merged(&g, &o, level) && !commit_output(&o))
		ret = 0;
	if (!ret)
		pr_info("%s: %" PRIu64 " pages taken from %zu parent image%s", o.path,
			g.total_need, g.nparents, g.nparents == 1 ? "" : "s");
	close_output(&o);
	if (g.scratch >= 0)
		close(g.scratch);
	for (i = 0; i < g.nprocs; i++) {
		page_index_free(&g.procs[i].ix);
		free(g.procs[i].need);
		free(g.procs[i].state);
	}
	free(g.procs);
	image_paths_free(g.parents, g.nparents);
	free(g.buf);
	free(g.out);
	return ret;
}

int merge_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "level", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *out = NULL;
	int c, level = 1, verbose = 0;

	while ((c = getopt_long(argc, argv, "o:l:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'l':
			level = atoi(optarg);
			if (level < 1 || level > 19) {
				fprintf(stderr, "ckpt merge: --level must be 1 to 19\n");
				return 2;
			}
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !out) {
		fputs(usage, stderr);
		return 2;
	}
	log_level += verbose;
	if (!strcmp(argv[optind], "-")) {
		fprintf(stderr, "ckpt merge: IMAGE must be a file (it is read twice, and its "
			"parents are found beside it)\n");
		return 2;
	}
	if (merge_image(argv[optind], out, level)) {
		error_print();
		return 1;
	}
	return 0;
}
