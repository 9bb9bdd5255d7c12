/* Bundles: the executable and the mapped files of a process carried in
 * its image, so that it can be restarted on a host that lacks them or has
 * other versions.
 *
 * ckpt --bundle hashes every file of meta/files (SHA-256, recorded in the
 * file's record) and writes each distinct content once, as member
 * files/<sha256 hex>, after the metadata and before the memory pages (the
 * stream is read in order: restart needs the files before it creates the
 * process).  A file the process uses that is not the one at its path any
 * more (its executable deleted, a mapped file replaced since it was mapped)
 * is always bundled, --bundle or not: nothing else could bring it back.
 *
 * restart takes the host's own file when it is identical (size + build-id,
 * else size + SHA-256), else the bundled copy, unpacked into the
 * content-addressed cache (common/cache.c) and mapped or executed from
 * there.  This module is first in the state table: its dump_contents
 * writes files/ before memory writes pages/, its check decides, before
 * the process module verifies files, which come from the bundle. */
#define LOG_PREFIX "bundle: "
#include "state.h"
#include "cache.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* dump half                                                          */

struct bundle_dump {
	int *fd;		/* per meta.files index: where its contents are read, -1 */
	size_t n;
};

static struct bundle_dump *dump_state(struct dump_ctx *ctx)
{
	struct bundle_dump *s = ctx->slot[SLOT_BUNDLE];

	if (!s && (s = calloc(1, sizeof(*s))))
		ctx->slot[SLOT_BUNDLE] = s;
	return s;
}

/* Room for an fd per file recorded so far. */
static int grow_fds(struct bundle_dump *s, size_t n)
{
	int *grown;

	if (n <= s->n)
		return 0;
	grown = realloc(s->fd, n * sizeof(*grown));
	if (!grown)
		return fail(ENOMEM, NULL, "bundling files");
	while (s->n < n)
		grown[s->n++] = -1;
	s->fd = grown;
	return 0;
}

int bundle_record_replaced(struct dump_ctx *ctx, const char *path, const char *proc_path,
			   uint32_t why, int *index)
{
	struct bundle_dump *s = dump_state(ctx);

	if (!s)
		return fail(ENOMEM, NULL, "bundling %s", path);
	if (file_id_record_from(&ctx->meta, path, proc_path, why, index) ||
	    grow_fds(s, ctx->meta.nfiles))
		return -1;
	if (s->fd[*index] >= 0)
		return 0;
	/* Opened now, while the process holds it: the only way to its data. */
	s->fd[*index] = open(proc_path, O_RDONLY | O_CLOEXEC);
	if (s->fd[*index] < 0)
		return fail(errno, NULL, "opening %s (%s, %s since the process started)",
			    proc_path, path, why == 1 ? "deleted" : "replaced");
	pr_info("%s was %s since the process started: bundled", path,
		why == 1 ? "deleted" : "replaced");
	return 0;
}

/* Process running again (or still stopped with --kill): hash what is to
 * be bundled.  A file opened by path now must still be the inode mapped. */
static int bundle_dump_late(struct dump_ctx *ctx)
{
	struct bundle_dump *s = dump_state(ctx);
	unsigned long long t0 = now_ns();
	uint64_t bytes = 0;
	size_t i, nb = 0;

	if (!s || grow_fds(s, ctx->meta.nfiles))
		return fail(ENOMEM, NULL, "bundling files");
	for (i = 0; i < ctx->meta.nfiles; i++) {
		struct file_id_rec *f = &ctx->meta.files[i];
		uint8_t sum[SHA256_LEN];
		struct stat st;
		uint64_t size;

		if (s->fd[i] < 0 && !ctx->opts->bundle)
			continue;
		if (s->fd[i] < 0) {
			s->fd[i] = open(f->path, O_RDONLY | O_CLOEXEC);
			if (s->fd[i] < 0)
				return fail(errno, NULL, "opening %s to bundle it", f->path);
			if (fstat(s->fd[i], &st) || st.st_ino != f->ino || st.st_dev != f->dev)
				return fail_why("the file was replaced during the checkpoint",
						"run ckpt again", "bundling %s", f->path);
		}
		if (sha256_fd(s->fd[i], sum, &size))
			return -1;
		if (size != f->size)
			return fail_why("the file changed size during the checkpoint",
					"run ckpt again", "bundling %s (%llu bytes, now %llu)",
					f->path, (unsigned long long)f->size,
					(unsigned long long)size);
		if (blob_set(&f->sha256, sum, sizeof(sum)))
			return fail(ENOMEM, NULL, "bundling %s", f->path);
		f->bundled = 1;
		bytes += size;
		nb++;
	}
	if (nb)
		pr_info("hashed %zu files to bundle (%llu KiB) in %.2f ms", nb,
			(unsigned long long)(bytes >> 10), (now_ns() - t0) / 1e6);
	return 0;
}

static bool same_sha(const struct file_id_rec *a, const struct file_id_rec *b)
{
	return a->sha256.len == SHA256_LEN && b->sha256.len == SHA256_LEN &&
	       !memcmp(a->sha256.data, b->sha256.data, SHA256_LEN);
}

/* One member per content, streamed (so -o - works with any size), hashed
 * again on the way: a file written to meanwhile fails the dump. */
static int write_member(struct dump_ctx *ctx, const struct file_id_rec *f, int fd, uint8_t *buf,
			size_t cap, struct sha256 *sha)
{
	char name[IMAGE_NAME_MAX + 1], hex[SHA256_HEX_LEN + 1];
	uint8_t sum[SHA256_LEN];
	uint64_t off = 0;

	sha256_hex(f->sha256.data, hex);
	snprintf(name, sizeof(name), "files/%s", hex);
	if (image_member_begin(ctx->writer, name, f->size))
		return -1;
	while (off < f->size) {
		size_t want = f->size - off < cap ? f->size - off : cap;
		ssize_t n = pread(fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(errno, NULL, "reading %s to bundle it", f->path);
		if (n == 0)
			return fail_why("the file shrank during the checkpoint", "run ckpt again",
					"bundling %s", f->path);
		sha256_update(sha, buf, n);
		if (image_member_write(ctx->writer, buf, n))
			return -1;
		off += n;
	}
	sha256_final(sha, sum);
	if (memcmp(sum, f->sha256.data, SHA256_LEN))
		return fail_why("the file was written to during the checkpoint", "run ckpt again",
				"bundling %s", f->path);
	return image_member_end(ctx->writer);
}

static int bundle_dump_contents(struct dump_ctx *ctx)
{
	struct bundle_dump *s = ctx->slot[SLOT_BUNDLE];
	const size_t cap = 1 << 20;
	struct sha256 *sha = NULL;
	uint8_t *buf = NULL;
	size_t i, j;
	int ret = -1;

	if (!s)
		return 0;
	if (!(buf = malloc(cap)) || !(sha = sha256_new())) {
		fail(ENOMEM, NULL, "bundling files");
		goto out;
	}
	for (i = 0; i < ctx->meta.nfiles && i < s->n; i++) {
		const struct file_id_rec *f = &ctx->meta.files[i];
		if (!f->bundled || s->fd[i] < 0)
			continue;
		for (j = 0; j < i && !(ctx->meta.files[j].bundled && same_sha(f, &ctx->meta.files[j])); j++)
			;
		if (j < i)
			continue;	/* that content is in the image already */
		if (write_member(ctx, f, s->fd[i], buf, cap, sha))
			goto out;
	}
	ret = 0;
out:
	free(buf);
	if (sha)
		sha256_free(sha);
	return ret;
}

static void bundle_dump_release(struct dump_ctx *ctx)
{
	struct bundle_dump *s = ctx->slot[SLOT_BUNDLE];
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	free(s->fd);
	free(s);
	ctx->slot[SLOT_BUNDLE] = NULL;
}

/* ------------------------------------------------------------------ */
/* restore half                                                       */

struct bundle_restore {
	size_t n;
	enum file_source *src;
	bool *missing;		/* UNCOVERED / FROM_BUNDLE: no file at path at all */
	bool *unpacked;
	char **path;		/* FROM_BUNDLE: the cache entry */
	bool members_checked;	/* ckpt check read every files/ member */
	uint8_t (*seen)[SHA256_LEN];
	size_t nseen;
	bool checked;
};

static struct bundle_restore *restore_state(struct restore_ctx *ctx)
{
	struct bundle_restore *s = ctx->slot[SLOT_BUNDLE];

	if (!s && (s = calloc(1, sizeof(*s))))
		ctx->slot[SLOT_BUNDLE] = s;
	return s;
}

static int check_records(const struct image_meta *m)
{
	size_t i;

	if (m->process->exe_file > m->nfiles)
		goto bad;
	for (i = 0; i < m->nfiles; i++) {
		const struct file_id_rec *f = &m->files[i];
		if ((f->sha256.len && f->sha256.len != SHA256_LEN) ||
		    (f->bundled && f->sha256.len != SHA256_LEN) || f->bundled > 1 ||
		    f->replaced > 2 || (f->replaced && !f->bundled) || !image_path_ok(f->path))
			goto bad;
	}
	return 0;
bad:
	return fail_why("invalid file record", "the image is corrupted", "checking the image");
}

static bool seen_member(const struct bundle_restore *s, const struct file_id_rec *f)
{
	size_t i;

	for (i = 0; i < s->nseen; i++)
		if (!memcmp(s->seen[i], f->sha256.data, SHA256_LEN))
			return true;
	return false;
}

static int bundle_check(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	struct bundle_restore *s = restore_state(ctx);
	char dir[PATH_MAX] = "";
	size_t i, nbundle = 0;
	/* Tests and benchmarks: as on a host lacking every bundled file. */
	bool force = getenv("CKPT_TEST_FORCE_BUNDLE") != NULL;

	if (!s)
		return fail(ENOMEM, NULL, "checking files");
	if (check_records(m))
		return -1;
	if (!s->src) {
		s->n = m->nfiles;
		s->src = calloc(s->n + 1, sizeof(*s->src));
		s->missing = calloc(s->n + 1, sizeof(*s->missing));
		s->unpacked = calloc(s->n + 1, sizeof(*s->unpacked));
		s->path = calloc(s->n + 1, sizeof(*s->path));
		if (!s->src || !s->missing || !s->unpacked || !s->path)
			return fail(ENOMEM, NULL, "checking files");
	}
	for (i = 0; i < m->nfiles; i++) {
		const struct file_id_rec *f = &m->files[i];
		struct stat st;
		int same = f->replaced || (force && f->bundled) ? 1 : file_id_same(f);

		if (same < 0)
			return -1;
		s->missing[i] = stat(f->path, &st) != 0;
		if (!same) {
			s->src[i] = FROM_HOST;
			continue;
		}
		if (!f->bundled) {
			s->src[i] = UNCOVERED;	/* the process module says why */
			continue;
		}
		if (s->members_checked && !seen_member(s, f))
			return fail_why("the image's bundle lacks it", "the image is incomplete "
					"or corrupted", "checking bundled file %s", f->path);
		if (!dir[0] && cache_dir(dir, sizeof(dir), false))
			return -1;
		s->src[i] = FROM_BUNDLE;
		free(s->path[i]);
		if (!(s->path[i] = malloc(PATH_MAX)))
			return fail(ENOMEM, NULL, "checking files");
		cache_entry_path(dir, f->sha256.data, f->path, s->path[i], PATH_MAX);
		nbundle++;
		pr_info("%s: %s here, from the bundle (%s)", f->path,
			f->replaced ? (f->replaced == 1 ? "was deleted" : "was replaced") :
			s->missing[i] ? "missing" : "different", s->path[i]);
	}
	s->checked = true;
	return 0;
}

int file_id_check(struct restore_ctx *ctx, size_t index, const char *role)
{
	const struct bundle_restore *s = ctx->slot[SLOT_BUNDLE];
	const struct file_id_rec *f = &ctx->meta.files[index];

	if (!s || !s->checked || index >= s->n)
		return file_id_verify(f, role);
	if (s->src[index] != UNCOVERED)
		return 0;
	if (file_id_verify(f, role))
		return -1;
	/* Same size and mtime, other contents (SHA-256). */
	return fail_why("file changed since the checkpoint (other contents, same size and mtime)",
			"put the original file back, or checkpoint with ckpt --bundle",
			"checking %s %s", role, f->path);
}

const char *file_id_path(const struct restore_ctx *ctx, size_t index)
{
	const struct bundle_restore *s = ctx->slot[SLOT_BUNDLE];

	if (s && index < s->n && s->src[index] == FROM_BUNDLE)
		return s->path[index];
	return ctx->meta.files[index].path;
}

const char *bundle_exe_path(const struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	size_t i;

	if (p->exe_file && p->exe_file <= ctx->meta.nfiles)
		return file_id_path(ctx, p->exe_file - 1);
	for (i = 0; i < ctx->meta.nfiles; i++)
		if (!strcmp(ctx->meta.files[i].path, p->exe))
			return file_id_path(ctx, i);
	return p->exe;
}

static int parse_member(const char *name, uint8_t sha[SHA256_LEN])
{
	if (strncmp(name, "files/", 6) || sha256_parse_hex(name + 6, sha))
		return fail_why("invalid bundled file name", "the image is corrupted",
				"reading image member %s", name);
	return 0;
}

int bundle_unpack(struct restore_ctx *ctx)
{
	struct bundle_restore *s = ctx->slot[SLOT_BUNDLE];
	const struct image_meta *m = &ctx->meta;
	unsigned long long t0 = now_ns();
	char dir[PATH_MAX];
	size_t i, j, stored = 0, reused = 0;
	bool have_dir = false;

	while (ctx->next.state == 1 && !strncmp(ctx->next.name, "files/", 6)) {
		uint8_t sha[SHA256_LEN];
		const char *path = NULL;
		int r;

		if (parse_member(ctx->next.name, sha))
			return -1;
		for (i = 0; s && i < s->n; i++) {
			if (s->src[i] != FROM_BUNDLE || s->unpacked[i] ||
			    memcmp(m->files[i].sha256.data, sha, SHA256_LEN))
				continue;
			if (!path) {
				bool exec = (m->files[i].mode & 0111) || i + 1 == m->process->exe_file;
				if (!have_dir && cache_dir(dir, sizeof(dir), true))
					return -1;
				have_dir = true;
				path = s->path[i];
				if (m->files[i].size != ctx->next.size)
					return fail_why("its size is not the recorded one", "the image "
							"is corrupted", "reading image member %s",
							ctx->next.name);
				if (cache_entry_valid(path, sha) == 0) {
					reused++;
				} else {
					if (cache_store(ctx->reader, ctx->next.size, sha, path, exec))
						return -1;
					stored++;
				}
			} else {
				/* The same contents under another name: one entry. */
				snprintf(s->path[i], PATH_MAX, "%s", path);
			}
			s->unpacked[i] = true;
		}
		r = image_next_member(ctx->reader, ctx->next.name, &ctx->next.size);
		if (r < 0)
			return -1;
		ctx->next.state = r;
	}
	for (i = 0; s && i < s->n; i++) {
		char hex[SHA256_HEX_LEN + 1];
		if (s->src[i] != FROM_BUNDLE || s->unpacked[i])
			continue;
		for (j = 0; j < i; j++)	/* the same file twice (deleted and current)? */
			if (s->src[j] == FROM_BUNDLE && s->unpacked[j] &&
			    same_sha(&m->files[i], &m->files[j]))
				break;
		if (j < i) {
			snprintf(s->path[i], PATH_MAX, "%s", s->path[j]);
			continue;
		}
		sha256_hex(m->files[i].sha256.data, hex);
		return fail_why("the image's bundle lacks it", "the image is incomplete or "
				"corrupted", "unpacking bundled file %s (member files/%s)",
				m->files[i].path, hex);
	}
	if (stored || reused)
		pr_info("bundled files: %zu unpacked into the cache, %zu already there, in %.2f ms",
			stored, reused, (now_ns() - t0) / 1e6);
	return 0;
}

int bundle_check_member(struct restore_ctx *ctx, const char *name, uint64_t size)
{
	struct bundle_restore *s = restore_state(ctx);
	const size_t cap = 1 << 20;
	uint8_t sha[SHA256_LEN], got[SHA256_LEN], (*grown)[SHA256_LEN];
	struct sha256 *h = NULL;
	uint8_t *buf = NULL;
	uint64_t done = 0;
	int ret = -1;

	if (!s)
		return fail(ENOMEM, NULL, "checking %s", name);
	s->members_checked = true;
	if (parse_member(name, sha))
		return -1;
	if (!(buf = malloc(cap)) || !(h = sha256_new())) {
		fail(ENOMEM, NULL, "checking %s", name);
		goto out;
	}
	while (done < size) {
		size_t n = size - done < cap ? size - done : cap;
		if (image_read(ctx->reader, buf, n))
			goto out;
		sha256_update(h, buf, n);
		done += n;
	}
	sha256_final(h, got);
	if (memcmp(got, sha, SHA256_LEN)) {
		fail_why("its contents do not match their SHA-256", "the image is corrupted",
			 "reading image member %s", name);
		goto out;
	}
	grown = realloc(s->seen, (s->nseen + 1) * sizeof(*grown));
	if (!grown) {
		fail(ENOMEM, NULL, "checking %s", name);
		goto out;
	}
	s->seen = grown;
	memcpy(s->seen[s->nseen++], sha, SHA256_LEN);
	ret = 0;
out:
	free(buf);
	if (h)
		sha256_free(h);
	return ret;
}

void bundle_members_done(struct restore_ctx *ctx)
{
	struct bundle_restore *s = restore_state(ctx);

	if (s)
		s->members_checked = true;
}

int bundle_file_source(const struct restore_ctx *ctx, size_t index, bool *missing)
{
	const struct bundle_restore *s = ctx->slot[SLOT_BUNDLE];

	*missing = s && index < s->n && s->missing[index];
	if (!s || !s->checked || index >= s->n)
		return -1;
	return s->src[index];
}

static void bundle_restore_release(struct restore_ctx *ctx)
{
	struct bundle_restore *s = ctx->slot[SLOT_BUNDLE];
	size_t i;

	if (!s)
		return;
	for (i = 0; s->path && i < s->n; i++)
		free(s->path[i]);
	free(s->path);
	free(s->src);
	free(s->missing);
	free(s->unpacked);
	free(s->seen);
	free(s);
	ctx->slot[SLOT_BUNDLE] = NULL;
}

const struct state_ops bundle_state_ops = {
	.name = "bundle",
	.dump_late = bundle_dump_late,
	.dump_contents = bundle_dump_contents,
	.dump_release = bundle_dump_release,
	.check = bundle_check,
	.restore_release = bundle_restore_release,
};
