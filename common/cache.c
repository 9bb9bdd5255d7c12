/* The content-addressed cache of bundled files: see cache.h. */
#define LOG_PREFIX "cache: "
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int mkdir_p(char *path, mode_t mode)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, mode) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, mode) && errno != EEXIST ? -1 : 0;
}

int cache_dir(char *buf, size_t size, bool create)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(buf, size, "%s/ckpt", xdg);
	else if (geteuid() == 0)
		snprintf(buf, size, "/var/cache/ckpt");
	else if (home && home[0] == '/')
		snprintf(buf, size, "%s/.cache/ckpt", home);
	else
		return fail_why("no cache directory", "set XDG_CACHE_HOME or HOME",
				"finding the cache of bundled files");
	if (create && mkdir_p(buf, 0755))
		return fail(errno, "set XDG_CACHE_HOME to a writable directory",
			    "creating the cache of bundled files %s", buf);
	return 0;
}

void cache_entry_path(const char *dir, const uint8_t sha[SHA256_LEN], const char *base,
		      char *buf, size_t size)
{
	char hex[SHA256_HEX_LEN + 1];
	const char *slash = base ? strrchr(base, '/') : NULL;
	char name[96];
	size_t i;

	base = slash ? slash + 1 : base ? base : "";
	snprintf(name, sizeof(name), "%s", base);
	for (i = 0; name[i]; i++)	/* a plain file name, never "." or ".." */
		if (name[i] < 0x20 || name[i] == 0x7f)
			name[i] = '_';
	if (!name[0] || name[0] == '.')
		snprintf(name, sizeof(name), "file");
	sha256_hex(sha, hex);
	snprintf(buf, size, "%s/%s/%s", dir, hex, name);
}

int cache_entry_valid(const char *path, const uint8_t sha[SHA256_LEN])
{
	uint8_t got[SHA256_LEN];
	char dir[PATH_MAX];
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	ret = sha256_fd(fd, got, NULL);
	close(fd);
	if (ret) {
		error_clear();
		return 1;
	}
	if (memcmp(got, sha, SHA256_LEN)) {
		pr_warn("cache entry %s is damaged: replaced from the image", path);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	utimensat(AT_FDCWD, dir, NULL, 0);	/* last use, for ckpt cache prune */
	return 0;
}

int cache_store(struct image_reader *r, uint64_t size, const uint8_t sha[SHA256_LEN],
		const char *path, bool exec)
{
	const size_t cap = 1 << 20;
	char dir[PATH_MAX], tmp[PATH_MAX + 16];
	uint8_t got[SHA256_LEN];
	struct sha256 *s = sha256_new();
	uint8_t *buf = malloc(cap);
	uint64_t done = 0;
	int fd = -1, ret = -1;

	tmp[0] = 0;
	if (!s || !buf) {
		fail(ENOMEM, NULL, "unpacking %s", path);
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fail(errno, NULL, "creating the cache entry %s", dir);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fail(errno, NULL, "creating a file in the cache entry %s", dir);
		tmp[0] = 0;
		goto out;
	}
	while (done < size) {
		size_t n = size - done < cap ? size - done : cap, off = 0;
		if (image_read(r, buf, n))
			goto out;
		sha256_update(s, buf, n);
		while (off < n) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				fail(errno, "free some space, or set XDG_CACHE_HOME elsewhere",
				     "writing %s", path);
				goto out;
			}
			off += w;
		}
		done += n;
	}
	sha256_final(s, got);
	if (memcmp(got, sha, SHA256_LEN)) {
		fail_why("its contents do not match their SHA-256", "the image is corrupted",
			 "unpacking bundled file %s", path);
		goto out;
	}
	if (fchmod(fd, exec ? 0555 : 0444) || close(fd)) {
		fd = -1;
		fail(errno, NULL, "writing %s", path);
		goto out;
	}
	fd = -1;
	/* Atomic: a concurrent restart sees no entry or a whole one.  link()
	 * rather than rename(): an entry another restart put there meanwhile
	 * (and its process may map) is kept, not replaced; only a damaged
	 * one is renamed over. */
	if (link(tmp, path)) {
		int err = errno;
		/* There already and whole: kept.  Damaged, or no hard links on
		 * this filesystem: renamed over. */
		if (err == EEXIST && cache_entry_valid(path, sha) == 0)
			err = 0;
		else if (err == EEXIST || err == EPERM || err == ENOTSUP || err == ENOSYS)
			err = rename(tmp, path) ? errno : 0;
		if (err) {
			fail(err, NULL, "putting the cache entry %s in place", path);
			goto out;
		}
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	free(buf);
	if (s)
		sha256_free(s);
	return ret;
}

/* ------------------------------------------------------------------ */
/* ckpt cache list / prune                                            */

struct entry {
	char name[SHA256_HEX_LEN + 1];
	time_t used;
	uint64_t bytes;
	bool mapped;
};

static bool is_hex_name(const char *s)
{
	uint8_t d[SHA256_LEN];
	return strlen(s) == SHA256_HEX_LEN && !sha256_parse_hex(s, d);
}

/* Remove one entry directory: its files, then itself. */
static void remove_entry(const char *dir, const char *name)
{
	char path[PATH_MAX + 80];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(path);
}

/* Is any file of the cache mapped or run by a process?  (Prune keeps it:
 * unlinking it would not free the space, and the process's next
 * checkpoint would have to treat it as deleted.) */
static void mark_mapped(const char *dir, struct entry *e, size_t n)
{
	size_t dlen = strlen(dir), i;
	struct dirent *de;
	DIR *proc = opendir("/proc");
	char path[320], line[PATH_MAX + 128];

	if (!proc)
		return;
	while ((de = readdir(proc))) {
		FILE *f;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *p = strstr(line, dir);
			if (!p || p[dlen] != '/')
				continue;
			for (i = 0; i < n; i++)
				if (!strncmp(p + dlen + 1, e[i].name, SHA256_HEX_LEN))
					e[i].mapped = true;
		}
		fclose(f);
	}
	closedir(proc);
}

static int read_entries(const char *dir, struct entry **out, size_t *nout)
{
	struct entry *e = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	*out = NULL;
	*nout = 0;
	if (!d)
		return errno == ENOENT ? 0 : fail(errno, NULL, "reading the cache %s", dir);
	while ((de = readdir(d))) {
		char path[PATH_MAX + 300];
		struct dirent *fe;
		struct stat st;
		DIR *sub;
		struct entry *grown;

		if (!is_hex_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		grown = realloc(e, (n + 1) * sizeof(*e));
		if (!grown) {
			free(e);
			closedir(d);
			return fail(ENOMEM, NULL, "reading the cache");
		}
		e = grown;
		memset(&e[n], 0, sizeof(e[n]));
		memcpy(e[n].name, de->d_name, SHA256_HEX_LEN);	/* is_hex_name: 64 bytes */
		e[n].used = st.st_mtime;
		if ((sub = opendir(path))) {
			while ((fe = readdir(sub))) {
				struct stat fst;
				if (!fstatat(dirfd(sub), fe->d_name, &fst, AT_SYMLINK_NOFOLLOW) &&
				    S_ISREG(fst.st_mode))
					e[n].bytes += (uint64_t)fst.st_blocks * 512;
			}
			closedir(sub);
		}
		n++;
	}
	closedir(d);
	*out = e;
	*nout = n;
	return 0;
}

static int by_use(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->used < y->used ? -1 : x->used > y->used;
}

int cache_list(FILE *out)
{
	char dir[PATH_MAX];
	struct entry *e;
	size_t n, i;
	uint64_t total = 0;

	if (cache_dir(dir, sizeof(dir), false) || read_entries(dir, &e, &n))
		return -1;
	mark_mapped(dir, e, n);
	qsort(e, n, sizeof(*e), by_use);
	for (i = 0; i < n; i++) {
		char when[32];
		struct tm tm;
		localtime_r(&e[i].used, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		fprintf(out, "%s  %8llu KiB  used %s%s\n", e[i].name,
			(unsigned long long)(e[i].bytes >> 10), when, e[i].mapped ? "  in use" : "");
		total += e[i].bytes;
	}
	fprintf(out, "%zu entr%s, %llu KiB in %s\n", n, n == 1 ? "y" : "ies",
		(unsigned long long)(total >> 10), dir);
	free(e);
	return 0;
}

int cache_prune(uint64_t max_bytes, uint64_t max_age, bool dry_run, FILE *out)
{
	char dir[PATH_MAX];
	struct entry *e;
	size_t n, i, removed = 0;
	uint64_t total = 0, freed = 0;
	time_t now = time(NULL);

	if (cache_dir(dir, sizeof(dir), false) || read_entries(dir, &e, &n))
		return -1;
	mark_mapped(dir, e, n);
	qsort(e, n, sizeof(*e), by_use);	/* least recently used first */
	for (i = 0; i < n; i++)
		total += e[i].bytes;
	for (i = 0; i < n; i++) {
		bool old = (uint64_t)(now - e[i].used) > max_age;
		if (e[i].mapped || (!old && total - freed <= max_bytes))
			continue;
		fprintf(out, "%s %s (%llu KiB, %s)\n", dry_run ? "would remove" : "removed",
			e[i].name, (unsigned long long)(e[i].bytes >> 10),
			old ? "unused too long" : "over the size limit");
		if (!dry_run)
			remove_entry(dir, e[i].name);
		freed += e[i].bytes;
		removed++;
	}
	fprintf(out, "%s %zu entr%s (%llu KiB); %llu KiB left in %s\n",
		dry_run ? "would remove" : "removed", removed, removed == 1 ? "y" : "ies",
		(unsigned long long)(freed >> 10), (unsigned long long)((total - freed) >> 10), dir);
	free(e);
	return 0;
}
