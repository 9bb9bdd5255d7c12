/* Ghosts: files the process holds that have no name any more — files
 * deleted while open, removed directories and symlinks, memfds (never
 * linked).  Each inode is one record of meta/ghosts however many fds,
 * mappings (memory.c) or the cwd (process.c) use it, so that they come
 * back as one inode again.
 *
 * Dump: the inode is read through /proc/PID/fd/N (or map_files, or cwd),
 * opened anew read-only, which works whatever the process opened it with
 * (O_WRONLY, O_PATH); its data extents only (SEEK_DATA/SEEK_HOLE: holes
 * stay holes), mode, owner, size and times.  A file whose path was removed
 * while another link keeps it alive is not copied: its file handle is
 * saved, and restart opens that very inode again (open_by_handle_at).
 *
 * Restore: the first fd on a ghost creates it — an O_TMPFILE file in its
 * old directory (linkable only if it was an O_TMPFILE file too), a memfd
 * of the same name, a directory or symlink created and removed again —
 * and the following ones reopen it through /proc/self/fd of the first.
 * Mappings open it in the process through the same fd.  memfd seals are
 * added last (ghosts_state_ops, after memory), as a seal can forbid the
 * very mappings the process has. */
#define LOG_PREFIX "ghosts: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_SAVED (64ull << 20)	/* bytes of data of one ghost kept in the image */
#define MAX_HANDLE 128		/* MAX_HANDLE_SZ */
#define MFD_NAME_MAX 249		/* NAME_MAX - strlen("memfd:"): memfd_create refuses more */
#ifndef __O_TMPFILE
#define __O_TMPFILE (O_TMPFILE & ~O_DIRECTORY)
#endif

static uint64_t ns_of(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + t->tv_nsec;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lf = strlen(suffix);
	return ls >= lf && !strcmp(s + ls - lf, suffix);
}

/* ------------------------------------------------------------------ */
/* dump half                                                          */

/* Data extents (SEEK_DATA/SEEK_HOLE) into g->extents and g->data. */
static int save_extents(int fd, struct ghost_rec *g, const char *what)
{
	struct buf ext = { 0 }, data = { 0 };
	off_t at = 0, end, size = g->size;
	char chunk[65536];
	int ret = -1;

	while (at < size) {
		uint64_t pair[2];

		at = lseek(fd, at, SEEK_DATA);
		if (at < 0 && errno == ENXIO)
			break;			/* only a hole up to the end */
		if (at < 0) {			/* no SEEK_DATA here: all data */
			at = 0;
			end = size;
		} else {
			end = lseek(fd, at, SEEK_HOLE);
			if (end < 0 || end > size)
				end = size;
		}
		if (data.len + (end - at) > MAX_SAVED) {
			fail_why("the deleted file is too large to save", "at most 64 MiB of "
				 "data of a deleted file are saved; keep the file linked while "
				 "checkpointing", "saving %s (%llu MiB of data or more)", what,
				 (unsigned long long)((data.len + (end - at)) >> 20));
			goto out;
		}
		pair[0] = at;
		pair[1] = end - at;
		if (buf_append(&ext, pair, sizeof(pair)))
			goto nomem;
		while (at < end) {
			size_t want = end - at > (off_t)sizeof(chunk) ? sizeof(chunk) : (size_t)(end - at);
			ssize_t n = pread(fd, chunk, want, at);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fail(n < 0 ? errno : EIO, NULL, "reading %s", what);
				goto out;
			}
			if (buf_append(&data, chunk, n))
				goto nomem;
			at += n;
		}
	}
	if (blob_set(&g->extents, ext.data, ext.len) || blob_set(&g->data, data.data, data.len))
		goto nomem;
	ret = 0;
	goto out;
nomem:
	fail(ENOMEM, NULL, "saving %s", what);
out:
	buf_free(&ext);
	buf_free(&data);
	return ret;
}

static int save_handle(int fd, struct ghost_rec *g, const char *what)
{
	struct {
		struct file_handle h;
		unsigned char bytes[MAX_HANDLE];
	} fh = { .h.handle_bytes = MAX_HANDLE };
	int mount_id;

	if (name_to_handle_at(fd, "", &fh.h, &mount_id, AT_EMPTY_PATH))
		return fail(errno, "its path was removed but another link keeps it, and this "
			    "filesystem cannot reopen a file by handle; keep the path while "
			    "checkpointing", "saving %s", what);
	g->handle_type = fh.h.handle_type;
	return blob_set(&g->handle, fh.h.f_handle, fh.h.handle_bytes) ?
		fail(ENOMEM, NULL, "saving %s", what) : 0;
}

static int save_symlink(int fd, struct ghost_rec *g, const char *what)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

	if (n < 0)
		return fail(errno, NULL, "reading the removed symlink %s", what);
	target[n] = 0;
	return (g->target = strdup(target)) ? 0 : fail(ENOMEM, NULL, "saving %s", what);
}

static int save_ghost(const char *proc_path, const struct stat *st, struct ghost_rec *g,
		      const char *what)
{
	int flags = S_ISDIR(st->st_mode) ? O_RDONLY | O_DIRECTORY :
		    S_ISREG(st->st_mode) ? O_RDONLY : O_PATH;
	int fd = open(proc_path, flags | O_NOATIME | O_CLOEXEC), ret = 0, seals;

	if (fd < 0 && errno == EPERM)
		fd = open(proc_path, flags | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, NULL, "opening %s again (through %s)", what, proc_path);
	switch (g->kind) {
	case GHOST_FILE:
		ret = save_extents(fd, g, what);
		break;
	case GHOST_MEMFD:
		ret = save_extents(fd, g, what);
		seals = fcntl(fd, F_GET_SEALS);
		g->seals = seals < 0 ? 0 : seals;
		break;
	case GHOST_LINKED:
		ret = save_handle(fd, g, what);
		break;
	case GHOST_SYMLINK:
		ret = save_symlink(fd, g, what);
		break;
	}
	close(fd);
	return ret;
}

int fd_ghost_record(struct dump_ctx *ctx, const char *proc_path, const char *link,
		    uint32_t *ghost)
{
	struct image_meta *m = &ctx->meta;
	struct ghost_rec *g;
	struct stat st;
	size_t i;

	if (stat(proc_path, &st))
		return fail(errno, (errno == EPERM || errno == EACCES) && strstr(proc_path,
			    "/map_files/") ? "a mapping of a deleted file or memfd is read through "
			    "/proc/PID/map_files, which needs CAP_CHECKPOINT_RESTORE: run ckpt as "
			    "root, or keep an fd on the file open" : NULL, "checking %s", link);
	for (i = 0; i < m->nghosts; i++)
		if (m->ghosts[i].dev == st.st_dev && m->ghosts[i].ino == st.st_ino) {
			*ghost = i + 1;
			return 0;
		}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode) &&
	    !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return fail_why("a deleted file of this kind is not supported yet", "keep it "
				"linked while checkpointing", "checking %s", link);
	g = meta_push(&m->ghosts, &m->nghosts, sizeof(*g));
	if (!g)
		return -1;
	g->kind = S_ISDIR(st.st_mode) ? GHOST_DIR : S_ISLNK(st.st_mode) ? GHOST_SYMLINK :
		  S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? GHOST_DEV :
		  !strncmp(link, "/memfd:", 7) ? GHOST_MEMFD :
		  st.st_nlink ? GHOST_LINKED : GHOST_FILE;
	g->rdev = st.st_rdev;
	g->path = has_suffix(link, " (deleted)") ? strndup(link, strlen(link) - 10) : strdup(link);
	if (!g->path)
		return fail(ENOMEM, NULL, "saving %s", link);
	g->mode = st.st_mode;
	g->uid = st.st_uid;
	g->gid = st.st_gid;
	g->size = st.st_size;
	g->atime_ns = ns_of(&st.st_atim);
	g->mtime_ns = ns_of(&st.st_mtim);
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	*ghost = m->nghosts;
	return save_ghost(proc_path, &st, g, link);
}

/* Terminals: ttyN/ttySN (4), tty/console/ptmx (5), pseudo-terminals. */
static bool is_terminal(const struct stat *st)
{
	unsigned maj = major(st->st_rdev);
	return S_ISCHR(st->st_mode) && (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143));
}

/* An fd on something that lost its name: regular files, directories,
 * (O_PATH) symlinks, device nodes; deleted FIFOs, sockets and terminals
 * are other kinds'. */
static bool ghost_fd(const struct fd_dump *d)
{
	return d->link[0] == '/' && has_suffix(d->link, " (deleted)") && !fd_dead_proc_dir(d->link) &&
	       (S_ISREG(d->st.st_mode) || S_ISDIR(d->st.st_mode) || S_ISLNK(d->st.st_mode) ||
		((S_ISCHR(d->st.st_mode) || S_ISBLK(d->st.st_mode)) && !is_terminal(&d->st)));
}

static bool is_memfd(const struct fd_dump *d)
{
	return ghost_fd(d) && S_ISREG(d->st.st_mode) && !strncmp(d->link, "/memfd:", 7);
}

static bool is_deleted(const struct fd_dump *d)
{
	return ghost_fd(d) && !is_memfd(d);
}

static int dump_ghost_fd(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	char proc_path[64];

	snprintf(proc_path, sizeof(proc_path), "/proc/%d/fd/%d", ctx->live, d->fd);
	if (fd_ghost_record(ctx, proc_path, d->link, &rec->ghost))
		return -1;
	/* An O_TMPFILE file may be linked by the program later (linkat). */
	if (d->fi.flags & __O_TMPFILE)
		ctx->meta.ghosts[rec->ghost - 1].linkable = 1;
	rec->path = strdup(ctx->meta.ghosts[rec->ghost - 1].path);
	return rec->path ? 0 : fail(ENOMEM, NULL, "recording fds");
}

/* A mapping of a deleted file or memfd (memory.c): its ghost, by the
 * vma's start in meta/ghost-maps. */
int fd_ghost_map_dump(struct dump_ctx *ctx, const struct vma_entry *v)
{
	struct ghost_map_rec *gm;
	char proc_path[96];
	struct stat st;
	uint32_t ghost;
	int fd;

	if (!strncmp(v->path, "/SYSV", 5) || !strncmp(v->path, "/anon_hugepage", 14))
		return fail_why(v->path[1] == 'S' ? "System V shared memory in huge pages (SHM_HUGETLB) is not supported yet" :
				"shared anonymous huge pages are not supported yet", NULL,
				"mapping %#llx-%#llx %s", (unsigned long long)v->start,
				(unsigned long long)v->end, v->path);
	snprintf(proc_path, sizeof(proc_path), "/proc/%d/map_files/%llx-%llx", ctx->live,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	/* Without the privilege map_files needs: through an fd on the file. */
	if (stat(proc_path, &st) && (errno == EPERM || errno == EACCES) &&
	    (fd = fd_on_mapped_inode(ctx->live, v)) >= 0)
		snprintf(proc_path, sizeof(proc_path), "/proc/%d/fd/%d", ctx->live, fd);
	if (fd_ghost_record(ctx, proc_path, v->path, &ghost))
		return -1;
	if (!S_ISREG(ctx->meta.ghosts[ghost - 1].mode))
		return fail_why("mapping of something not a regular file", NULL,
				"mapping %#llx-%#llx %s", (unsigned long long)v->start,
				(unsigned long long)v->end, v->path);
	gm = meta_push(&ctx->meta.ghost_maps, &ctx->meta.nghost_maps, sizeof(*gm));
	if (!gm)
		return -1;
	gm->start = v->start;
	gm->ghost = ghost;
	return 0;
}

/* ------------------------------------------------------------------ */
/* restore half                                                       */

static int check_ghost(const struct ghost_rec *g, size_t i)
{
	size_t next = g->extents.len / 16, k;
	uint64_t total = 0, end = 0;
	const uint64_t *ext = g->extents.data;

	if (!image_path_ok(g->path) || g->kind < GHOST_FILE || g->kind > GHOST_DEV ||
	    (g->kind == GHOST_DEV) != (S_ISCHR(g->mode) || S_ISBLK(g->mode)) ||
	    g->extents.len % 16 ||
	    (g->kind == GHOST_DIR) != S_ISDIR(g->mode) ||
	    (g->kind == GHOST_SYMLINK) != S_ISLNK(g->mode) ||
	    (g->kind == GHOST_SYMLINK && !g->target) ||
	    (g->kind == GHOST_MEMFD && (strncmp(g->path, "/memfd:", 7) || !S_ISREG(g->mode) ||
					strlen(g->path + 7) > MFD_NAME_MAX)) ||
	    (g->kind == GHOST_LINKED && (!g->handle.len || g->handle.len > MAX_HANDLE)))
		goto bad;
	for (k = 0; k < next; k++) {
		uint64_t off, len;
		memcpy(&off, &ext[2 * k], 8);
		memcpy(&len, &ext[2 * k + 1], 8);
		if (off < end || len > g->size || off > g->size - len)
			goto bad;
		end = off + len;
		total += len;
	}
	if (total != g->data.len)
		goto bad;
	return 0;
bad:
	return fail_why("invalid ghost record", "the image is corrupted", "checking ghost %zu",
			i);
}

static int ghosts_check(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	size_t i;

	for (i = 0; i < m->nghosts; i++)
		if (check_ghost(&m->ghosts[i], i))
			return -1;
	for (i = 0; i < m->nghost_maps; i++)
		if (!m->ghost_maps[i].ghost || m->ghost_maps[i].ghost > m->nghosts ||
		    !S_ISREG(m->ghosts[m->ghost_maps[i].ghost - 1].mode))
			return fail_why("invalid ghost mapping record", "the image is corrupted",
					"checking mapping at %#llx",
					(unsigned long long)m->ghost_maps[i].start);
	return 0;
}

/* The nearest directory that exists on the way up from dirname(path). */
static int existing_parent(const char *path, char *dir, size_t size)
{
	struct stat st;
	char *slash;

	snprintf(dir, size, "%s", path);
	for (;;) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			snprintf(dir, size, "/");
			return 0;
		}
		*slash = 0;
		if (!stat(dir, &st) && S_ISDIR(st.st_mode))
			return 0;
	}
}

/* A device node's attributes, by name: its fd is O_PATH. */
static int set_attrs_at(const char *name, const struct ghost_rec *g)
{
	struct timespec times[2] = {
		{ g->atime_ns / 1000000000ull, g->atime_ns % 1000000000ull },
		{ g->mtime_ns / 1000000000ull, g->mtime_ns % 1000000000ull },
	};

	if (chown(name, g->uid, g->gid) || chmod(name, g->mode & 07777) ||
	    utimensat(AT_FDCWD, name, times, 0))
		return fail(errno, NULL, "re-creating %s (attributes of %s)", g->path, name);
	return 0;
}

/* Create a named object next to where the ghost was (its own name if
 * free), open it, and remove the name again. */
static int create_named(const struct ghost_rec *g, const char *dir)
{
	const char *base = strrchr(g->path, '/') + 1;
	char name[PATH_MAX];
	int i, fd = -1, made;

	for (i = 0; i < 100; i++) {
		if (i == 0 && *base)
			snprintf(name, sizeof(name), "%s/%s", dir, base);
		else
			snprintf(name, sizeof(name), "%s/.ckpt-ghost-%d-%d", dir, getpid(), i);
		if (g->kind == GHOST_DIR)
			made = mkdir(name, 0700);
		else if (g->kind == GHOST_SYMLINK)
			made = symlink(g->target, name);
		else if (g->kind == GHOST_DEV)
			made = mknod(name, (g->mode & S_IFMT) | 0600, g->rdev);
		else
			made = (fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0;
		if (!made)
			break;
		if (errno != EEXIST)
			return fail(errno, NULL, "re-creating %s (in %s)", g->path, dir);
	}
	if (i == 100)
		return fail_why("no free name", NULL, "re-creating %s (in %s)", g->path, dir);
	if (g->kind == GHOST_DIR)
		fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (g->kind == GHOST_SYMLINK)
		fd = open(name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	else if (g->kind == GHOST_DEV && !set_attrs_at(name, g))
		fd = open(name, O_PATH | O_CLOEXEC);	/* the device is opened by the fds */
	if (fd < 0)
		fail(errno, NULL, "re-creating %s (opening %s)", g->path, name);
	if ((g->kind == GHOST_DIR ? rmdir(name) : unlink(name)) && fd >= 0) {
		fail(errno, NULL, "re-creating %s (removing %s)", g->path, name);
		close(fd);
		return -1;
	}
	return fd;
}

int fd_ghost_write_data(const struct ghost_rec *g, int fd)
{
	const uint64_t *ext = g->extents.data;
	const char *data = g->data.data;
	size_t k;

	for (k = 0; k < g->extents.len / 16; k++) {
		uint64_t off, len, done = 0;

		memcpy(&off, &ext[2 * k], 8);
		memcpy(&len, &ext[2 * k + 1], 8);
		while (done < len) {
			ssize_t n = pwrite(fd, data + done, len - done, off + done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fail(n < 0 ? errno : EIO, NULL, "re-creating %s", g->path);
			done += n;
		}
		data += len;
	}
	return 0;
}

static int fill(int fd, const struct ghost_rec *g)
{
	if (ftruncate(fd, g->size))
		return fail(errno, NULL, "re-creating %s (size %llu)", g->path,
			    (unsigned long long)g->size);
	return fd_ghost_write_data(g, fd);
}

/* Owner, then mode (chown clears set-id bits), then times (last: the
 * writes changed them). */
static int set_attrs(int fd, const struct ghost_rec *g)
{
	struct timespec times[2] = {
		{ g->atime_ns / 1000000000ull, g->atime_ns % 1000000000ull },
		{ g->mtime_ns / 1000000000ull, g->mtime_ns % 1000000000ull },
	};

	if (fchown(fd, g->uid, g->gid))
		return fail(errno, NULL, "re-creating %s (owner %u:%u)", g->path, g->uid, g->gid);
	if (fchmod(fd, g->mode & 07777))
		return fail(errno, NULL, "re-creating %s (mode %o)", g->path, g->mode & 07777);
	if (futimens(fd, times))
		return fail(errno, NULL, "re-creating %s (times)", g->path);
	return 0;
}

static int create_file(const struct ghost_rec *g, const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | (g->linkable ? 0 : O_EXCL), 0600);

	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		fd = create_named(g, dir);
	else if (fd < 0)
		fail(errno, NULL, "re-creating %s (in %s)", g->path, dir);
	return fd;
}

static int open_linked(const struct ghost_rec *g, const char *dir, int flags)
{
	struct {
		struct file_handle h;
		unsigned char bytes[MAX_HANDLE];
	} fh;
	int mount_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (mount_fd < 0)
		return fail(errno, NULL, "reopening %s (opening %s)", g->path, dir);
	fh.h.handle_bytes = g->handle.len;
	fh.h.handle_type = g->handle_type;
	memcpy(fh.h.f_handle, g->handle.data, g->handle.len);
	fd = open_by_handle_at(mount_fd, &fh.h, flags | O_CLOEXEC);
	close(mount_fd);
	if (fd < 0)
		return fail(errno, errno == ESTALE ? "the file is gone since the checkpoint" : NULL,
			    "reopening %s by handle", g->path);
	return fd;
}

/* A new fd on the re-created ghost g (index): read-write for the files
 * made here, read-only for one reopened by handle. */
int fd_ghost_create(const struct image_meta *m, uint32_t index)
{
	const struct ghost_rec *g = &m->ghosts[index];
	char dir[PATH_MAX];
	int fd;

	if (existing_parent(g->path, dir, sizeof(dir)))
		return -1;
	switch (g->kind) {
	case GHOST_MEMFD:
		/* A memfd made without MFD_ALLOW_SEALING shows exactly F_SEAL_SEAL. */
		fd = memfd_create(g->path + 7, MFD_CLOEXEC |
				  (g->seals == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING));
		if (fd < 0)
			return fail(errno, NULL, "re-creating %s", g->path);
		break;
	case GHOST_LINKED:	/* only mapped: reopened through /proc as needed */
		return open_linked(g, dir, O_RDONLY);
	default:
		fd = g->kind == GHOST_FILE ? create_file(g, dir) : create_named(g, dir);
		/* Where it was may be read-only or not ours here: /tmp will do
		 * (no warning: this may run in the restart child, whose stderr
		 * may already be the process's own). */
		if (fd < 0 && strcmp(dir, "/tmp")) {
			error_clear();
			fd = g->kind == GHOST_FILE ? create_file(g, "/tmp") : create_named(g, "/tmp");
		}
	}
	if (fd < 0)
		return -1;
	if ((S_ISREG(g->mode) && fill(fd, g)) ||
	    (g->kind != GHOST_SYMLINK && g->kind != GHOST_DEV && set_attrs(fd, g))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int reopen(int fd, const char *fmt, int flags, const char *what)
{
	char self[64];
	int again;

	snprintf(self, sizeof(self), fmt, fd);
	again = open(self, flags);
	if (again < 0)
		fail(errno, NULL, "reopening %s", what);
	return again;
}

/* In the restart child: the first fd on a ghost creates it; the others
 * (and a removed cwd, made before) reopen it. */
static int open_ghost_fd(struct fd_child *c, const struct fd_rec *rec)
{
	const struct image_meta *m = &c->ctx->meta;
	const struct ghost_rec *g = &m->ghosts[rec->ghost - 1];
	int flags = fd_reopen_flags(rec) & ~(__O_TMPFILE | O_NOFOLLOW), fd, made;
	size_t i;

	if (S_ISREG(g->mode))
		flags &= ~O_DIRECTORY;
	if (c->ctx->ghost_shm_fd && c->ctx->ghost_shm_fd[rec->ghost - 1] >= 0)
		/* Other processes of the tree hold it too: made by their
		 * common ancestor (restart/shared.c). */
		return reopen(c->ctx->ghost_shm_fd[rec->ghost - 1], "/proc/self/fd/%d", flags,
			      rec->path);
	for (i = 0; &m->fds[i] < rec; i++)
		if (m->fds[i].ghost == rec->ghost)
			return reopen(m->fds[i].fd, "/proc/self/fd/%d", flags, rec->path);
	if (m->process->cwd_ghost == rec->ghost)
		return reopen(0, "/proc/self/cwd", flags, rec->path);
	if (g->kind == GHOST_LINKED) {
		char dir[PATH_MAX];
		if (existing_parent(g->path, dir, sizeof(dir)))
			return -1;
		return open_linked(g, dir, flags);
	}
	made = fd_ghost_create(m, rec->ghost - 1);
	if (made < 0)
		return -1;
	/* A memfd read-write, as memfd_create made it: that very file.  It
	 * does not count as a writer of the inode, and a reopening would
	 * (executing the memfd would fail with ETXTBSY, as it did not). */
	if (g->kind == GHOST_MEMFD && (flags & O_ACCMODE) == O_RDWR) {
		if (fcntl(made, F_SETFL, flags & (O_APPEND | O_NONBLOCK | O_NOATIME | O_DIRECT))) {
			fail(errno, NULL, "restoring the flags of fd %d (%s)", rec->fd, rec->path);
			close(made);
			return -1;
		}
		return made;
	}
	fd = reopen(made, "/proc/self/fd/%d", flags, rec->path);
	close(made);
	return fd;
}

static int check_ghost_fd(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	if (!rec->ghost || rec->ghost > ctx->meta.nghosts || !rec->path ||
	    (rec->kind == FD_MEMFD) != (ctx->meta.ghosts[rec->ghost - 1].kind == GHOST_MEMFD))
		return fail_why("invalid fd record (or an image of an older ckpt)",
				"the image is corrupted", "checking fd %d", rec->fd);
	return 0;
}

static int open_deleted(struct fd_child *c, const struct fd_rec *rec)
{
	int fd = open_ghost_fd(c, rec);

	if (fd >= 0 && S_ISREG(c->ctx->meta.ghosts[rec->ghost - 1].mode) &&
	    !(rec->flags & O_PATH) && lseek(fd, rec->pos, SEEK_SET) < 0) {
		fail(errno, NULL, "seeking fd %d (%s)", rec->fd, rec->path);
		close(fd);
		return -1;
	}
	return fd;
}

/* For memory.c: the ghost mapped at v->start, if any (index + 1). */
uint32_t fd_ghost_of_map(const struct image_meta *m, uint64_t start)
{
	size_t i;

	for (i = 0; i < m->nghost_maps; i++)
		if (m->ghost_maps[i].start == start)
			return m->ghost_maps[i].ghost;
	return 0;
}

/* For memory.c, after exec: an fd in the process on the ghost mapped at
 * v->start, opened through one of its fds on it, or, for a ghost only
 * mapped, re-created here and opened through /proc/<restart>/fd.  Kept in
 * the SLOT_GHOSTS slot (two per ghost: read-only, read-write; -1 none)
 * until ghosts_restore. */
int fd_ghost_map_fd(struct restore_ctx *ctx, uint64_t start, bool writable, long *fd)
{
	const struct image_meta *m = &ctx->meta;
	uint32_t ghost = fd_ghost_of_map(m, start);
	char path[64], what[PATH_MAX + 32];
	uint64_t path_addr;
	long *slot, *fds;
	size_t i;
	int mine = -1, ret;

	if (!ghost)
		return fail_why("mapping without its file", "the image is corrupted",
				"mapping %#llx", (unsigned long long)start);
	if (!(fds = ctx->slot[SLOT_GHOSTS])) {
		fds = ctx->slot[SLOT_GHOSTS] = malloc(2 * m->nghosts * sizeof(long));
		if (!fds)
			return fail(ENOMEM, NULL, "mapping ghosts");
		for (i = 0; i < 2 * m->nghosts; i++)
			fds[i] = -1;
	}
	slot = &fds[2 * (ghost - 1) + writable];
	if (*slot >= 0) {
		*fd = *slot;
		return 0;
	}
	for (i = 0; i < m->nfds && m->fds[i].ghost != ghost; i++)
		;
	/* A memfd mapped writable through the process's read-write fd on it
	 * (memfd_create's file, open_ghost_fd): that fd, as a new opening
	 * would count as a writer of the inode (and exec of it would fail
	 * with ETXTBSY while the mapping lasts). */
	if (i < m->nfds && writable && m->ghosts[ghost - 1].kind == GHOST_MEMFD &&
	    (m->fds[i].flags & O_ACCMODE) == O_RDWR && !m->fds[i].share_index &&
	    !(ctx->ghost_shm_fd && ctx->ghost_shm_fd[ghost - 1] >= 0)) {
		*fd = m->fds[i].fd;
		return 0;
	}
	if (i < m->nfds) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fds[i].fd);
	} else {
		for (i = 0; i < 2 && fds[2 * (ghost - 1) + i] < 0; i++)
			;
		if (i < 2) {
			snprintf(path, sizeof(path), "/proc/self/fd/%ld", fds[2 * (ghost - 1) + i]);
		} else {
			mine = fd_ghost_create(m, ghost - 1);
			if (mine < 0)
				return -1;
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), mine);
		}
	}
	snprintf(what, sizeof(what), "opening %s", m->ghosts[ghost - 1].path);
	remote_scratch_reset(ctx->remote);
	ret = remote_scratch_put(ctx->remote, path, strlen(path) + 1, &path_addr);
	if (!ret)
		ret = remote_syscall_ok(ctx->remote, fd, what, __NR_openat, AT_FDCWD, path_addr,
					(writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0, 0, 0);
	if (mine >= 0)
		close(mine);
	if (!ret)
		*slot = *fd;
	return ret;
}

/* After memory and fds: memfd seals (a seal may forbid mappings the
 * process has, so they come once those exist), then the fds opened for
 * mappings are closed. */
static int ghosts_restore(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	long *fds = ctx->slot[SLOT_GHOSTS];
	size_t i, j;
	int ret = 0;

	for (i = 0; i < m->nghosts && !ret; i++) {
		const struct ghost_rec *g = &m->ghosts[i];
		char path[64];
		long target = -1;
		int fd;

		if (g->kind != GHOST_MEMFD || !g->seals || g->seals == F_SEAL_SEAL)
			continue;
		for (j = 0; j < m->nfds && target < 0; j++)
			if (m->fds[j].ghost == i + 1)
				target = m->fds[j].fd;
		for (j = 0; j < 2 && target < 0 && fds; j++)
			target = fds[2 * i + j];
		if (target < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", ctx->pid, target);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || fcntl(fd, F_ADD_SEALS, g->seals))
			ret = fail(errno, NULL, "sealing %s (seals %#x)", g->path, g->seals);
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; fds && i < 2 * m->nghosts; i++) {
		if (fds[i] < 0)
			continue;
		if (!ret)
			ret = remote_syscall_ok(ctx->remote, NULL, "closing a mapped ghost", __NR_close,
						fds[i], 0, 0, 0, 0, 0);
		fds[i] = -1;
	}
	return ret;
}

static void ghosts_restore_release(struct restore_ctx *ctx)
{
	free(ctx->slot[SLOT_GHOSTS]);
	ctx->slot[SLOT_GHOSTS] = NULL;
}

const struct state_ops ghosts_state_ops = {
	.name = "ghosts",
	.check = ghosts_check,
	.restore = ghosts_restore,
	.restore_release = ghosts_restore_release,
};

const struct fd_kind_ops fd_deleted_kind = {
	.kind = FD_DELETED,
	.name = "deleted file",
	.tag = "deleted",
	.match = is_deleted,
	.dump = dump_ghost_fd,
	.check = check_ghost_fd,
	.open = open_deleted,
};
const struct fd_kind_ops fd_memfd_kind = {
	.kind = FD_MEMFD,
	.name = "memfd",
	.tag = "memfd",
	.match = is_memfd,
	.dump = dump_ghost_fd,
	.check = check_ghost_fd,
	.open = open_deleted,
};
