/* Memory: the address space, described by meta/vmas, and its contents,
 * streamed as pages/ chunks.
 *
 * Data path, top to bottom:
 *   dump:    smaps -> classify each vma -> pagemap picks the pages worth
 *            storing -> process_vm_readv in batches of up to 1 MiB ->
 *            all-zero pages dropped -> one pages/ chunk per batch ->
 *            image writer (zstd frame per ~1 MiB)
 *   restore: image reader -> chunk checked (crc, runs inside a vma) ->
 *            process_vm_writev straight from the chunk buffer
 */
#define LOG_PREFIX "memory: "
#include "state.h"
#include "page_chunk.h"
#include "dirty_track.h"
#include "page_index.h"
#include "progress.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE ARCH_PAGE_SIZE
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#define SCRATCH_SIZE (64 * 1024)

#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)
#define PM_GUARD (1ull << 58)	/* guard region (MADV_GUARD_INSTALL): no page */

/* Pages chosen at dump() for dump_contents(): runs in address order. */
struct run_list {
	struct page_run *runs;
	size_t n, cap;
};

struct held_chunk;

/* Address ranges [start, end), in address order. */
struct range_list {
	struct { uint64_t start, end; } *r;
	size_t n, cap;
};

/* The hashes of the pages of one chunk, filled by the worker building it. */
struct hash_block {
	uint32_t n;
	struct page_hash e[CHUNK_PAGES];
};

/* The dump's state for one process, in dump_ctx.slot[SLOT_MEMORY]. */
struct memory_dump_state {
	struct run_list dump_runs;
	/* Pages a copy-on-write copy would not have as they are now: shared
	 * memory (the process goes on writing it), MADV_DONTFORK (not in the
	 * copy) and MADV_WIPEONFORK (zero in the copy). */
	struct run_list shared_runs;
	/* smaps read by dump_prepare() (see read_vmas()) */
	struct vma_entry *pre_vmas;
	size_t npre_vmas;
	bool flags_unchecked;
	unsigned chunk_seq;		/* next pages/ member number */
	struct held_chunk *held;	/* see memory_dump_shared() */
	size_t nheld;
	/* Incremental: the parent image's page hashes (--parent), and the
	 * hashes of every chunk written, for this image's own index. */
	struct page_index parent;
	struct image_identity parent_id;
	bool has_parent;
	struct hash_block **blocks;
	size_t nblocks;
	/* Dirty-page tracking (dirty_track.h), for the root process: the
	 * mappings registered (tracked) and, of them, the pages written since
	 * the last write-protect (written), as of the freeze. */
	struct dirty_track track;
	bool track_protected;		/* this dump began a new epoch */
	bool track_use;			/* ... and the last one is the parent's */
	struct range_list tracked, written;
};

static int range_add(struct range_list *l, uint64_t start, uint64_t end)
{
	if (l->n && l->r[l->n - 1].end >= start) {	/* adjoining or reported twice */
		if (end > l->r[l->n - 1].end)
			l->r[l->n - 1].end = end;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *grown = realloc(l->r, cap * sizeof(*l->r));

		if (!grown)
			return fail(ENOMEM, NULL, "listing written pages");
		l->r = grown;
		l->cap = cap;
	}
	l->r[l->n].start = start;
	l->r[l->n++].end = end;
	return 0;
}

/* A new hash_block for the next chunk, kept in s->blocks. */
static struct hash_block *new_hash_block(struct memory_dump_state *s)
{
	struct hash_block **grown = realloc(s->blocks, (s->nblocks + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	s->blocks = grown;
	if (!(grown[s->nblocks] = malloc(sizeof(struct hash_block))))
		return NULL;
	grown[s->nblocks]->n = 0;
	return grown[s->nblocks++];
}

static void free_hash_blocks(struct memory_dump_state *s)
{
	while (s->nblocks)
		free(s->blocks[--s->nblocks]);
	free(s->blocks);
	s->blocks = NULL;
}

static struct memory_dump_state *dump_state(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];

	if (!s && (s = calloc(1, sizeof(*s)))) {
		s->track.uffd = -1;
		ctx->slot[SLOT_MEMORY] = s;
	}
	return s;
}

static bool read_before_resume(const struct vma_rec *v)
{
	return v->kind == VMA_ANON_SHARED || v->kind == VMA_AIO_RING ||
	       (v->vmflags & (VMF_DC | VMF_WF));
}

/* ------------------------------------------------------------------ */
/* dump half                                                          */

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lf = strlen(suffix);
	return ls >= lf && !strcmp(s + ls - lf, suffix);
}

static int classify(const struct vma_entry *v, uint32_t *kind)
{
	const char *p = v->path;

	if (!p[0])
		*kind = v->shared ? VMA_ANON_SHARED : VMA_ANON_PRIVATE;
	else if (!strcmp(p, "[heap]"))
		*kind = VMA_HEAP;
	else if (!strcmp(p, "[stack]"))
		*kind = VMA_STACK;
	else if (!strcmp(p, "[vdso]"))
		*kind = VMA_VDSO;
	else if (!strncmp(p, "[vvar", 5))
		*kind = VMA_VVAR;
	else if (!strcmp(p, "[vsyscall]"))
		*kind = VMA_VSYSCALL;
	else if (!strncmp(p, "[anon:", 6))
		*kind = VMA_ANON_PRIVATE;
	else if (!strncmp(p, "[anon_shmem:", 12) || (v->shared && !strcmp(p, "/dev/zero (deleted)")))
		*kind = VMA_ANON_SHARED;
	else if (aio_ring_mapping(p))
		*kind = VMA_AIO_RING;	/* (VM_DONTEXPAND, not a file) */
	else if (p[0] == '[')
		return fail_why("unknown kind of mapping", "this kernel maps something ckpt "
				"does not know; please report it", "mapping %#llx-%#llx %s",
				(unsigned long long)v->start, (unsigned long long)v->end, p);
	else if (!strncmp(p, "socket:[", 8))
		*kind = VMA_PACKET_RING;	/* (or refused: packet_ring_map_dump()) */
	else if (p[0] != '/')
		return fail_why("mapping of a special file (io_uring ring, perf buffer, ...)",
				"ckpt cannot save such mappings", "mapping %#llx-%#llx %s",
				(unsigned long long)v->start, (unsigned long long)v->end, p);
	else	/* deleted files and memfds too: fd_ghost_map_dump() */
		*kind = v->shared ? VMA_FILE_SHARED : VMA_FILE_PRIVATE;
	/* The kernel's own special mappings are VM_IO/PFNMAP too; anything
	 * else that is can only be device memory. */
	if ((v->vmflags & (VMF_IO | VMF_PF)) && *kind != VMA_VDSO && *kind != VMA_VVAR &&
	    *kind != VMA_VSYSCALL)
		return fail_why("device or I/O mapping (VM_IO/VM_PFNMAP)", "ckpt cannot save "
				"device memory; stop the program from mapping the device",
				"mapping %#llx-%#llx %s", (unsigned long long)v->start,
				(unsigned long long)v->end, p);
	return 0;
}

static bool page_wanted(uint32_t kind, uint64_t pm)
{
	if (pm & PM_GUARD)
		return false;
	if (pm & PM_SWAP)
		return true;
	if (!(pm & PM_PRESENT))
		return false;
	/* A private file page still shared with the page cache comes back
	 * from the file; only the copies the process wrote are stored. */
	if (kind == VMA_FILE_PRIVATE)
		return !(pm & PM_FILE);
	return true;
}

#include "pagemap_scan.h"

static int scan_pagemap_entries(int pagemap_fd, struct vma_rec *vma, struct run_list *runs);

static int runs_add_flagged(struct run_list *l, uint64_t addr, uint32_t flags)
{
	struct page_run *last = l->n ? &l->runs[l->n - 1] : NULL;

	if (last && last->addr + (uint64_t)last->npages * PAGE == addr && last->npages < CHUNK_PAGES &&
	    last->flags == flags) {
		last->npages++;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct page_run *r = realloc(l->runs, cap * sizeof(*r));
		if (!r)
			return fail(ENOMEM, NULL, "listing pages to save");
		l->runs = r;
		l->cap = cap;
	}
	l->runs[l->n++] = (struct page_run){ addr, 1, flags };
	return 0;
}

static int runs_add(struct run_list *l, uint64_t addr)
{
	return runs_add_flagged(l, addr, 0);
}

static int runs_add_range(struct run_list *l, uint64_t start, uint64_t end)
{
	for (; start < end; start += PAGE)
		if (runs_add(l, start))
			return -1;
	return 0;
}

/* The pages worth storing of one vma with PAGEMAP_SCAN: present or
 * swapped, not the shared zero page, not a guard region (its marker counts
 * as swapped), and in a private file mapping not a page of the file itself.
 * 1: not supported here (use pagemap). */
static int scan_regions(int pagemap_fd, struct vma_rec *vma, struct run_list *runs)
{
	enum { NREG = 512 };
	static struct page_region reg[NREG];
	struct pm_scan_arg arg = {
		.size = sizeof(arg), .start = vma->start, .end = vma->end,
		.vec = (uintptr_t)reg, .vec_len = NREG,
		.category_inverted = PAGE_IS_PFNZERO, .category_mask = PAGE_IS_PFNZERO,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};
	static bool unsupported, no_guard_category;

	if (unsupported)
		return 1;
	if (!no_guard_category) {
		arg.category_inverted |= PAGE_IS_GUARD;
		arg.category_mask |= PAGE_IS_GUARD;
	}
	if (vma->kind == VMA_FILE_PRIVATE) {
		arg.category_inverted |= PAGE_IS_FILE;
		arg.category_mask |= PAGE_IS_FILE;
	}
	while (arg.start < arg.end) {
		long n = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
		uint64_t next = arg.walk_end;
		long i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && arg.start == vma->start &&
		    (arg.category_mask & PAGE_IS_GUARD)) {
			/* Before 6.14: no such category (nor guard regions seen) */
			no_guard_category = true;
			arg.category_inverted &= ~(uint64_t)PAGE_IS_GUARD;
			arg.category_mask &= ~(uint64_t)PAGE_IS_GUARD;
			continue;
		}
		if (n < 0 && (errno == ENOTTY || errno == EINVAL) && arg.start == vma->start) {
			unsupported = true;
			return 1;
		}
		if (n < 0)
			return fail(errno, NULL, "scanning the page map at %#llx",
				    (unsigned long long)arg.start);
		for (i = 0; i < n; i++) {
			if (runs_add_range(runs, reg[i].start, reg[i].end))
				return -1;
			vma->pages_stored += (reg[i].end - reg[i].start) / PAGE;
		}
		/* Fewer regions than room: done.  A full vector can leave
		 * walk_end short of the last region: go on after it. */
		if (n < NREG)
			break;
		if (next < reg[n - 1].end)
			next = reg[n - 1].end;
		if (next <= arg.start)
			return fail_why("the scan made no progress", "please report it",
					"scanning the page map at %#llx", (unsigned long long)arg.start);
		arg.start = next;
	}
	return 0;
}

/* Walk pagemap for one vma and add the pages worth storing. */
static int scan_pagemap(int pagemap_fd, struct vma_rec *vma, struct run_list *runs)
{
	int ret = scan_regions(pagemap_fd, vma, runs);

	if (ret <= 0)
		return ret;
	return scan_pagemap_entries(pagemap_fd, vma, runs);
}

/* Shared anonymous memory: the pages of its shmem object, found with
 * SEEK_DATA/SEEK_HOLE on it (/proc/PID/map_files), swapped ones included.
 * The page tables of the process miss the pages only another process
 * touched, one that may have exited since (a database's buffers read by
 * a backend gone): they are in the object all the same.  1: cannot open
 * it (scan_shmem_resident()). */
static int scan_shmem(pid_t pid, struct vma_rec *vma, struct run_list *runs)
{
	char path[96];
	off_t off, end = (off_t)(vma->pgoff + (vma->end - vma->start)), hole;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)vma->start, (unsigned long long)vma->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	for (off = (off_t)vma->pgoff; off < end; off = hole) {
		off = lseek(fd, off, SEEK_DATA);
		if (off < 0 || off >= end)
			break;
		hole = lseek(fd, off, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		off &= ~(off_t)(PAGE - 1);
		hole = (hole + PAGE - 1) & ~(off_t)(PAGE - 1);
		if (runs_add_range(runs, vma->start + (off - vma->pgoff),
				   vma->start + (hole - vma->pgoff))) {
			close(fd);
			return -1;
		}
		vma->pages_stored += (hole - off) / PAGE;
	}
	if (off < 0 && errno != ENXIO) {
		int err = errno;
		close(fd);
		return fail(err, NULL, "looking for the pages of %s", path);
	}
	close(fd);
	return 0;
}

/* Without PAGEMAP_SCAN: one 64-bit entry per page. */
static int scan_pagemap_entries(int pagemap_fd, struct vma_rec *vma, struct run_list *runs)
{
	enum { BATCH = 65536 };
	static uint64_t pm[BATCH];
	uint64_t addr = vma->start;

	while (addr < vma->end) {
		size_t want = (vma->end - addr) / PAGE, i;
		ssize_t n;

		if (want > BATCH)
			want = BATCH;
		n = pread(pagemap_fd, pm, want * 8, (addr / PAGE) * 8);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(n < 0 ? errno : EIO, NULL, "reading the page map at %#llx",
				    (unsigned long long)addr);
		for (i = 0; i < (size_t)n / 8; i++, addr += PAGE) {
			if (!page_wanted(vma->kind, pm[i]))
				continue;
			if (runs_add(runs, addr))
				return -1;
			vma->pages_stored++;
		}
	}
	return 0;
}

/* Shared anonymous memory without /proc/PID/map_files (no
 * CAP_CHECKPOINT_RESTORE): every page of the shmem object in memory, as
 * mincore() run in the process tells (the object's, not the page
 * tables': a page only an exited child wrote is there), and every page
 * the page map shows present or swapped. */
static int scan_shmem_resident(struct dump_ctx *ctx, int pagemap_fd, struct vma_rec *vma,
			       struct run_list *runs)
{
	enum { BATCH = 32768 };		/* pages: a vector of half the scratch */
	static uint8_t vec[BATCH];
	static uint64_t pm[BATCH];
	uint64_t addr = vma->start, at;
	char what[96];

	snprintf(what, sizeof(what), "looking for the pages of shared memory at %#llx",
		 (unsigned long long)vma->start);
	while (addr < vma->end) {
		size_t want = (vma->end - addr) / PAGE, i;
		ssize_t n;

		if (want > BATCH)
			want = BATCH;
		memset(vec, 0, want);
		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, vec, want, &at) ||
		    remote_syscall_ok(ctx->remote, NULL, what, __NR_mincore, addr, want * PAGE, at,
				      0, 0, 0) ||
		    remote_read(ctx->remote, at, vec, want))
			return -1;
		n = pread(pagemap_fd, pm, want * 8, (addr / PAGE) * 8);
		if (n != (ssize_t)(want * 8))
			return fail(n < 0 ? errno : EIO, NULL, "reading the page map at %#llx",
				    (unsigned long long)addr);
		for (i = 0; i < want; i++, addr += PAGE) {
			if (!(vec[i] & 1) && !page_wanted(vma->kind, pm[i]))
				continue;
			if (runs_add(runs, addr))
				return -1;
			vma->pages_stored++;
		}
	}
	return 0;
}

/* A mapped file: recorded in meta/files.  One replaced since it was
 * mapped (another inode at its path now), or deleted (bundle_deleted()), is
 * bundled from the process's own view of it (map_files). */
static int record_mapped_file(struct dump_ctx *ctx, const struct vma_entry *v, uint32_t replaced,
			      int *index)
{
	char proc_path[96], path[PATH_MAX];
	struct stat st;

	snprintf(proc_path, sizeof(proc_path), "/proc/%d/map_files/%llx-%llx", ctx->live,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	if (replaced) {	/* deleted (bundle_deleted()) */
		snprintf(path, sizeof(path), "%.*s", (int)(strlen(v->path) - 10), v->path);
		return bundle_record_replaced(ctx, path, proc_path, replaced, index);
	}
	if (stat(v->path, &st))
		return fail(errno, "the file was renamed or removed while mapped",
			    "checking mapped file %s", v->path);
	if (st.st_ino != v->inode)
		return bundle_record_replaced(ctx, v->path, proc_path, 2, index);
	return file_id_record(&ctx->meta, v->path, index);
}

static bool same_inode(const struct vma_entry *a, const struct vma_entry *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

/* Does an fd of the process hold the inode of v? */
static bool fd_holds(const struct dump_ctx *ctx, const struct vma_entry *v)
{
	return fd_on_mapped_inode(ctx->live, v) != -1;	/* (cannot tell: as if) */
}

/* A private mapping of a deleted regular file (its executable, a library
 * an upgrade replaced) that no fd and no shared mapping of the process
 * holds: only its contents matter, so it is bundled (once per content,
 * mapped from restart's cache) rather than kept as a ghost.  A file also
 * open or mapped shared stays a ghost: one inode for all of them. */
static bool bundle_deleted(const struct dump_ctx *ctx, const struct vma_entry *vmas, size_t n,
			   const struct vma_entry *v)
{
	size_t i;

	if (v->shared || !ends_with(v->path, " (deleted)") || v->path[0] != '/' ||
	    !strncmp(v->path, "/memfd:", 7) || !strncmp(v->path, "/SYSV", 5) ||
	    !strncmp(v->path, "/anon_hugepage", 14))
		return false;
	for (i = 0; i < n; i++)
		if (vmas[i].shared && same_inode(&vmas[i], v))
			return false;
	return !fd_holds(ctx, v);
}

/* /proc/PID/smaps walks every page table entry (~10 ms per GiB
 * resident): when the process is to resume early, it is read before the
 * process is stopped, and dump() only checks with /proc/PID/maps (no walk)
 * that the layout is the same.  The flags (VmFlags) are then checked in
 * dump_late() against the smaps of the copy, which are the process's as of
 * the freeze: a mapping whose flags changed in between fails the dump. */
static int memory_dump_prepare(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = dump_state(ctx);

	if (!s)
		return fail(ENOMEM, NULL, "reading mappings");
	if (ctx->opts->parent) {
		unsigned long long t0 = now_ns();
		/* A chain shares its key: the parent is read with --encrypt's. */
		struct image_keys keys = { ctx->opts->parent_trust, ctx->opts->encrypt };

		if (page_index_load(ctx->opts->parent, ctx->pid, &keys, &s->parent, &s->parent_id))
			return -1;
		s->has_parent = true;
		pr_info("parent image: %zu page hashes read in %.1f ms", s->parent.n,
			(now_ns() - t0) / 1e6);
	}
	if (ctx->opts->kill_after || ctx->opts->no_cow)
		return 0;
	return procfs_read_vmas(ctx->live, &s->pre_vmas, &s->npre_vmas);
}

static bool same_layout(const struct vma_entry *a, size_t na, const struct vma_entry *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].prot != b[i].prot ||
		    a[i].shared != b[i].shared || a[i].pgoff != b[i].pgoff ||
		    a[i].inode != b[i].inode || a[i].dev_major != b[i].dev_major ||
		    a[i].dev_minor != b[i].dev_minor || strcmp(a[i].path, b[i].path))
			return false;
	return true;
}

/* The mappings with their flags: from dump_prepare() if the layout is
 * still the same, else from smaps now. */
static int read_vmas(struct dump_ctx *ctx, struct vma_entry **vmas, size_t *n)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];
	struct vma_entry *now;
	size_t nnow;

	s->flags_unchecked = false;
	if (s->pre_vmas) {
		if (procfs_read_maps(ctx->live, &now, &nnow))
			return -1;
		if (same_layout(s->pre_vmas, s->npre_vmas, now, nnow)) {
			free(now);
			*vmas = s->pre_vmas;
			*n = s->npre_vmas;
			s->pre_vmas = NULL;
			s->flags_unchecked = true;
			return 0;
		}
		free(now);
		free(s->pre_vmas);
		s->pre_vmas = NULL;
		pr_info("mappings changed since they were read: reading them again");
	}
	return procfs_read_vmas(ctx->live, vmas, n);
}

/* Flags that a forked copy has as its parent had them. */
#define VMF_INHERITED (VMF_DC | VMF_WF | VMF_IO | VMF_PF | VMF_GD | VMF_NR | VMF_HG | VMF_NH | \
		       VMF_DD | VMF_MG)
#define VMF_VITAL (VMF_DC | VMF_WF | VMF_IO | VMF_PF)

static int changed_meanwhile(const struct vma_rec *v, const char *how)
{
	return fail_why(how, "run ckpt again; it happens only when the program changes its "
			"mappings at the very moment it is checkpointed",
			"checking mapping %#llx-%#llx %s", (unsigned long long)v->start,
			(unsigned long long)v->end, v->path);
}

/* The flags read before the freeze against the source's, as of the
 * freeze.  A mapping absent from the copy is MADV_DONTFORK. */
static int check_flags(struct dump_ctx *ctx)
{
	struct vma_entry *src;
	size_t nsrc, i, j = 0;
	bool copy = ctx->source != ctx->remote;
	int ret = 0;

	if (!((struct memory_dump_state *)ctx->slot[SLOT_MEMORY])->flags_unchecked)
		return 0;
	if (procfs_read_vmas(remote_pid(ctx->source), &src, &nsrc))
		return -1;
	for (i = 0; i < ctx->meta.nvmas && !ret; i++) {
		struct vma_rec *v = &ctx->meta.vmas[i];

		if (v->kind == VMA_VSYSCALL)
			continue;
		while (j < nsrc && src[j].end <= v->start)
			j++;
		if (j == nsrc || src[j].start != v->start || src[j].end != v->end) {
			if (!copy || !(v->vmflags & VMF_DC))
				ret = changed_meanwhile(v, copy ? "it was marked MADV_DONTFORK while "
							"being checkpointed" : "it changed while being "
							"checkpointed");
			continue;
		}
		if ((v->vmflags ^ src[j].vmflags) & VMF_VITAL)
			ret = changed_meanwhile(v, "its flags changed while it was checkpointed");
		v->vmflags = (v->vmflags & ~VMF_INHERITED) | (src[j].vmflags & VMF_INHERITED);
	}
	free(src);
	return ret;
}

/* Mappings whose nature the flags tell and that ckpt cannot make again:
 * refused by name before anything else is said about them. */
static int refuse_by_flags(const struct vma_entry *v, uint64_t vmflags)
{
	static const struct {
		uint64_t vmf;
		const char *why, *hint;
	} refused[] = {
		{ VMF_HT, "hugetlb mapping (MAP_HUGETLB, hugetlbfs or SHM_HUGETLB)",
		  "ckpt cannot restore huge-page pool mappings yet" },
		{ VMF_SS, "shadow stack (CET user shadow stack)",
		  "ckpt cannot restore shadow stacks; run the program without them" },
		{ VMF_UM | VMF_UW | VMF_UI, "registered with a userfaultfd",
		  "ckpt cannot restore userfaultfd registrations (if ckpt --track made it, "
		  "run ckpt with the same CKPT_TRACK_DIR: its state file is there)" },
	};
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (vmflags & refused[i].vmf)
			return fail_why(refused[i].why, refused[i].hint, "mapping %#llx-%#llx %s",
					(unsigned long long)v->start, (unsigned long long)v->end,
					v->path);
	return 0;
}

/* ---- dirty-page tracking (dirty_track.h) ---- */

static bool trackable(uint32_t kind, uint64_t vmflags)
{
	return (kind == VMA_ANON_PRIVATE || kind == VMA_HEAP || kind == VMA_STACK) &&
	       !(vmflags & (VMF_DC | VMF_WF | VMF_UM | VMF_UI));
}

/* Before the mappings are read (the process stopped): attach to its
 * tracking, or begin it, and register every private anonymous mapping.
 * Registering may merge neighbours: read_vmas() then sees the layout as
 * it is now. */
static int track_start(struct dump_ctx *ctx, struct memory_dump_state *s)
{
	bool create = ctx->opts->track && !ctx->opts->kill_after;
	struct vma_entry *maps;
	size_t n, i;

	if (track_begin(&s->track, ctx->remote, ctx->live, ctx->stat.starttime, create))
		return -1;
	if (s->track.uffd < 0)
		return 0;
	if (procfs_read_maps(ctx->live, &maps, &n))
		return -1;
	for (i = 0; i < n; i++) {
		const char *p = maps[i].path;

		if (!maps[i].shared && (!p[0] || !strcmp(p, "[heap]") || !strcmp(p, "[stack]") ||
					!strncmp(p, "[anon:", 6)))
			(void)track_register(&s->track, maps[i].start, maps[i].end);
	}
	free(maps);
	return 0;
}

/* The pages of one tracked mapping written since they were last
 * write-protected, protected again in the same pass (PM_SCAN_WP_MATCHING:
 * no write can fall between reading a bit and setting it).  1: the
 * mapping is not registered after all (then it is not tracked). */
static int scan_written(int pagemap_fd, const struct vma_rec *v, struct range_list *out)
{
	enum { NREG = 512 };
	static struct page_region reg[NREG];
	struct pm_scan_arg arg = {
		.size = sizeof(arg), .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = v->start, .end = v->end, .vec = (uintptr_t)reg, .vec_len = NREG,
		.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
	};

	while (arg.start < arg.end) {
		long n = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg), i;
		uint64_t next = arg.walk_end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPERM || errno == EINVAL) && arg.start == v->start)
			return 1;
		if (n < 0)
			return fail(errno, NULL, "scanning the written pages at %#llx",
				    (unsigned long long)arg.start);
		for (i = 0; i < n; i++)
			if (range_add(out, reg[i].start, reg[i].end))
				return -1;
		/* (see scan_regions(): a full vector, a short walk_end) */
		if (n < NREG)
			break;
		if (next < reg[n - 1].end)
			next = reg[n - 1].end;
		if (next <= arg.start)
			return fail_why("the scan made no progress", "please report it",
					"scanning the written pages at %#llx",
					(unsigned long long)arg.start);
		arg.start = next;
	}
	return 0;
}

/* A tracked mapping of the stopped process: its written pages now, and
 * write-protected again.  The first one invalidates the holder's epoch. */
static int track_mapping(struct memory_dump_state *s, int pagemap_fd, const struct vma_rec *v)
{
	int ret;

	if (!s->track_protected) {
		if (track_invalidate(&s->track))
			return -1;
		s->track_protected = true;
	}
	ret = scan_written(pagemap_fd, v, &s->written);
	if (ret == 1)
		pr_info("tracking: mapping %#llx-%#llx is not registered: its pages are hashed",
			(unsigned long long)v->start, (unsigned long long)v->end);
	if (ret)
		return ret < 0 ? -1 : 0;
	return range_add(&s->tracked, v->start, v->end);
}

/* Are the written bits relative to exactly the parent image?  Recorded
 * in the header either way: this image begins the next epoch. */
static int track_decide(struct dump_ctx *ctx, struct memory_dump_state *s)
{
	const char *why = NULL;
	uint64_t written = 0, tracked = 0;
	size_t k;

	if (!s->track_protected)
		return 0;
	if (!s->has_parent)
		;
	else if (!s->track.holder)
		why = "tracking begins with this image";
	else if (!s->parent_id.has_track_epoch)
		why = "the parent image was not written with tracking";
	else if (!s->track.epoch_valid)
		why = "the dump after the parent image did not complete";
	else if (memcmp(s->parent_id.track_epoch, s->track.epoch, TRACK_EPOCH_LEN))
		why = "the parent image is not the last tracked one";
	else
		s->track_use = true;
	if (why)
		pr_info("tracking: %s: pages compared by hashes", why);
	for (k = 0; k < s->written.n; k++)
		written += (s->written.r[k].end - s->written.r[k].start) / PAGE;
	for (k = 0; k < s->tracked.n; k++)
		tracked += (s->tracked.r[k].end - s->tracked.r[k].start) / PAGE;
	pr_info("tracking: %llu of %llu tracked pages written since the last dump%s",
		(unsigned long long)written, (unsigned long long)tracked,
		s->track_use ? ": only those are read" : "");
	ctx->meta.header->track_pages = s->track_use;
	return blob_set(&ctx->meta.header->track_epoch, s->track.new_epoch, TRACK_EPOCH_LEN);
}

/* Pages of tracked mappings not written since the parent image: flagged
 * RUN_IN_PARENT in the list, never read (build_chunk() takes their hash
 * from the parent's index); those the parent's index does not have were
 * all-zero there, and still are: left out. */
static int mark_unwritten(struct dump_ctx *ctx, struct memory_dump_state *s)
{
	struct run_list out = { 0 };
	size_t i, t = 0, w = 0, x = 0;
	uint64_t zero = 0;
	uint32_t p;

	for (i = 0; i < s->dump_runs.n; i++) {
		const struct page_run *r = &s->dump_runs.runs[i];

		for (p = 0; p < r->npages; p++) {
			uint64_t a = r->addr + (uint64_t)p * PAGE;
			bool tracked, written;

			while (t < s->tracked.n && s->tracked.r[t].end <= a)
				t++;
			while (w < s->written.n && s->written.r[w].end <= a)
				w++;
			tracked = t < s->tracked.n && s->tracked.r[t].start <= a;
			written = w < s->written.n && s->written.r[w].start <= a;
			if (tracked && !written) {
				while (x < s->parent.n && s->parent.e[x].addr < a)
					x++;
				if (x == s->parent.n || s->parent.e[x].addr != a) {
					zero++;
					continue;
				}
			}
			if (runs_add_flagged(&out, a, tracked && !written ? RUN_IN_PARENT : 0)) {
				free(out.runs);
				return -1;
			}
		}
	}
	free(s->dump_runs.runs);
	s->dump_runs = out;
	ctx->pages_zero += zero;
	return 0;
}

static int memory_dump(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = dump_state(ctx);
	struct vma_entry *vmas = NULL;
	char path[64];
	size_t n, i;
	int pagemap_fd = -1, ret = -1;

	if (!s)
		return fail(ENOMEM, NULL, "reading mappings");
	/* The root of the image (a tree's other processes: those the parent
	 * image holds, whose pages are taken from it by hash) names its parent. */
	if (s->has_parent && !ctx->prefix[0] && s->parent_id.pid != ctx->pid)
		return fail_why("it is an image of another process", "give an image of "
				"this process", "using %s (PID %d) as parent image of "
				"process %d", ctx->opts->parent, s->parent_id.pid, ctx->pid);
	if (s->has_parent && ctx->meta.header &&
	    blob_set(&ctx->meta.header->parent_id, s->parent_id.id, IMAGE_ID_LEN))
		return -1;
	if (!ctx->prefix[0] && ctx->meta.header && track_start(ctx, s))
		return -1;
	if (read_vmas(ctx, &vmas, &n))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", ctx->live);
	pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0) {
		fail(errno, NULL, "opening %s", path);
		goto out;
	}
	s->dump_runs.n = s->shared_runs.n = 0;
	for (i = 0; i < n; i++) {
		const struct vma_entry *v = &vmas[i];
		struct vma_rec *rec;
		uint32_t kind = 0;
		uint64_t vmflags = v->vmflags;
		bool ours = false;

		if (v->shared && !strncmp(v->path, "/SYSV", 5) && ends_with(v->path, " (deleted)") &&
		    !(v->vmflags & VMF_HT))
			continue;	/* System V shared memory: sysv.c (huge pages: refused) */
		if (v->shared && !strcmp(v->path, "/memfd:dev/zero (deleted)") && !fd_holds(ctx, v))
			kind = VMA_ANON_SHARED;	/* what restart makes of it without root */
		else if (classify(v, &kind))
			goto out;
		/* Registered with our uffd (registering it again succeeds),
		 * not with one of the process's own (EBUSY). */
		if (s->track.uffd >= 0 && trackable(kind, vmflags & ~VMF_UW) &&
		    track_register(&s->track, v->start, v->end) == 0) {
			ours = true;
			vmflags &= ~VMF_UW;
		}
		if (refuse_by_flags(v, vmflags))
			goto out;
		rec = meta_push(&ctx->meta.vmas, &ctx->meta.nvmas, sizeof(*rec));
		if (!rec)
			goto out;
		rec->start = v->start;
		rec->end = v->end;
		rec->prot = v->prot;
		rec->kind = kind;
		rec->pgoff = v->pgoff;
		rec->vmflags = vmflags;
		rec->file_index = -1;
		if (kind == VMA_ANON_SHARED)	/* the same object elsewhere? */
			rec->shm_ino = v->inode;
		rec->path = strdup(v->path);
		if (!rec->path) {
			fail(ENOMEM, NULL, "recording mappings");
			goto out;
		}
		if (kind == VMA_FILE_PRIVATE && bundle_deleted(ctx, vmas, n, v)) {
			if (record_mapped_file(ctx, v, 1, &rec->file_index))
				goto out;
		} else if ((kind == VMA_FILE_PRIVATE || kind == VMA_FILE_SHARED) &&
		    ends_with(v->path, " (deleted)")) {
			if (fd_ghost_map_dump(ctx, v))
				goto out;
		} else if (kind == VMA_FILE_PRIVATE || kind == VMA_FILE_SHARED) {
			if (record_mapped_file(ctx, v, 0, &rec->file_index))
				goto out;
		}
		if ((kind == VMA_AIO_RING && aio_ring_dump(ctx, v, rec)) ||
		    (kind == VMA_PACKET_RING && packet_ring_map_dump(ctx, v, rec)))
			goto out;
		if (kind == VMA_VDSO) {
			size_t len = v->end - v->start;
			if (!(ctx->meta.vdso.data = malloc(len))) {
				fail(ENOMEM, NULL, "saving the vDSO");
				goto out;
			}
			ctx->meta.vdso.len = len;
			if (remote_read(ctx->remote, v->start, ctx->meta.vdso.data, len))
				goto out;
			remote_vdso_scrub(ctx->remote, v->start, ctx->meta.vdso.data, len);
		}
		/* The other pages are picked in dump_late(), from the copy. */
		if (vma_kind_has_contents(kind) && read_before_resume(rec)) {
			int r = kind == VMA_ANON_SHARED ? scan_shmem(ctx->live, rec, &s->shared_runs) : 1;
			if (r > 0 && kind == VMA_ANON_SHARED)
				r = scan_shmem_resident(ctx, pagemap_fd, rec, &s->shared_runs);
			if (r < 0 || (r > 0 && scan_pagemap(pagemap_fd, rec, &s->shared_runs)))
				goto out;
		}
		if (ours && track_mapping(s, pagemap_fd, rec))
			goto out;
	}
	if (track_decide(ctx, s))
		goto out;
	pr_info("%zu mappings, %zu page runs of shared memory", n, s->shared_runs.n);
	ret = 0;
out:
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	free(vmas);
	return ret;
}

static bool page_is_zero(const void *page)
{
	const uint64_t *w = page;
	size_t i;

	for (i = 0; i < PAGE / 8; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return false;
	return true;
}

/* One pages/ member, built on a worker thread of the image writer: the
 * pages of runs[0 .. nruns) (at most CHUNK_PAGES) read from the process,
 * all-zero pages dropped, the rest checksummed.  The pages are read
 * straight into the frame buffer after room for the largest run list, so
 * that the header and run list go just before them and nothing is
 * copied but the pages after a dropped one. */
struct chunk_job {
	pid_t pid;
	int mem_fd;		/* /proc/PID/mem, for pages readv cannot read */
	bool mem_only;		/* read through mem_fd only (see write_runs()) */
	const struct page_run *runs;
	size_t nruns;
	uint64_t *pages_stored, *pages_zero, *pages_parent;	/* statistics, atomically */
	const struct page_index *parent;	/* NULL: a full image */
	struct hash_block *hashes;	/* out: the hash of every page not all-zero */
};

static int read_chunk_pages(const struct chunk_job *j, uint8_t *data, char *err, size_t errlen)
{
	struct iovec local = { data, 0 }, remote[CHUNK_PAGES];
	size_t i, n = 0, off = 0;

	for (i = 0; i < j->nruns; i++) {
		if (j->runs[i].flags & RUN_IN_PARENT)
			continue;	/* not written since the parent: not read */
		remote[n].iov_base = (void *)j->runs[i].addr;
		remote[n].iov_len = (size_t)j->runs[i].npages * PAGE;
		local.iov_len += remote[n++].iov_len;
	}
	if (!n || (!j->mem_only &&
		   process_vm_readv(j->pid, &local, 1, remote, n, 0) == (ssize_t)local.iov_len))
		return 0;
	/* Some run is not readable that way (PROT_NONE...): /proc/PID/mem. */
	for (i = 0; i < n; i++) {
		int e;
		uint64_t at = remote_mem_transfer(j->mem_fd, (uintptr_t)remote[i].iov_base, data + off,
						  remote[i].iov_len, false, &e);

		if (at) {
			snprintf(err, errlen, "reading memory of process %d at %#llx: %s", j->pid,
				 (unsigned long long)at, strerror(e));
			return -1;
		}
		off += remote[i].iov_len;
	}
	return 0;
}

/* Append the page at addr to the runs, as a stored page or one of the
 * parent image. */
static void add_page(struct page_run *runs, uint32_t *nruns, struct page_run **last, uint64_t addr,
		     uint32_t flags)
{
	if (*last && (*last)->flags == flags && (*last)->addr + (uint64_t)(*last)->npages * PAGE == addr)
		(*last)->npages++;
	else
		*(*last = &runs[(*nruns)++]) = (struct page_run){ addr, 1, flags };
}

static ssize_t build_chunk(const void *arg, uint8_t *buf, size_t cap, size_t *start,
			   char *err, size_t errlen)
{
	const struct chunk_job *j = arg;
	struct page_run runs[CHUNK_PAGES], *last = NULL;
	struct chunk_header h = { .version = CHUNK_VERSION };
	uint8_t *data = buf + CHUNK_ROOM, *src = data;
	size_t k, p, npages = 0, zero = 0, in_parent = 0;

	if (cap < CHUNK_CAP) {
		snprintf(err, errlen, "chunk buffer too small");
		return -1;
	}
	if (read_chunk_pages(j, data, err, errlen))
		return -1;
	for (k = 0; k < j->nruns; k++) {
		if (j->runs[k].flags & RUN_IN_PARENT) {
			/* Tracked, not written since the parent: as it was there
			 * (all-zero if the parent's index has no such page). */
			const struct page_hash *old = j->parent ?
				page_index_find(j->parent, j->runs[k].addr) : NULL;
			const struct page_hash *end = j->parent ? j->parent->e + j->parent->n : NULL;

			for (p = 0; p < j->runs[k].npages; p++) {
				uint64_t addr = j->runs[k].addr + p * PAGE;

				/* (the index is in address order: no search after the first) */
				if (p && old && old + 1 < end && old[1].addr == addr)
					old++;
				else if (p)
					old = j->parent ? page_index_find(j->parent, addr) : NULL;
				if (!old || old->addr != addr) {
					zero++;
					continue;
				}
				j->hashes->e[j->hashes->n++] = *old;
				add_page(runs, &h.nruns, &last, addr, RUN_IN_PARENT);
				h.version = CHUNK_VERSION_REFS;
				in_parent++;
			}
			continue;
		}
		for (p = 0; p < j->runs[k].npages; p++, src += PAGE) {
			uint64_t addr = j->runs[k].addr + p * PAGE;
			struct page_hash *ph;
			const struct page_hash *old;

			if (page_is_zero(src)) {
				zero++;
				continue;
			}
			ph = &j->hashes->e[j->hashes->n++];
			page_hash_of(addr, src, ph);
			old = j->parent ? page_index_find(j->parent, addr) : NULL;
			if (old && old->lo == ph->lo && old->hi == ph->hi) {
				add_page(runs, &h.nruns, &last, addr, RUN_IN_PARENT);
				h.version = CHUNK_VERSION_REFS;
				in_parent++;
				continue;
			}
			add_page(runs, &h.nruns, &last, addr, 0);
			if (data + npages * PAGE != src)
				memmove(data + npages * PAGE, src, PAGE);
			npages++;
		}
	}
	__atomic_fetch_add(j->pages_zero, zero, __ATOMIC_RELAXED);
	__atomic_fetch_add(j->pages_stored, npages, __ATOMIC_RELAXED);
	__atomic_fetch_add(j->pages_parent, in_parent, __ATOMIC_RELAXED);
	if (!h.nruns)
		return 0;
	memcpy(h.magic, CHUNK_MAGIC, 4);
	h.crc = crc32c(0, data, npages * PAGE);
	*start = CHUNK_ROOM - sizeof(h) - h.nruns * sizeof(struct page_run);
	memcpy(buf + *start, &h, sizeof(h));
	memcpy(buf + *start + sizeof(h), runs, h.nruns * sizeof(struct page_run));
	return sizeof(h) + h.nruns * sizeof(struct page_run) + npages * PAGE;
}

/* Write the pages of runs as pages/ members, read from src by the image
 * writer's threads; returns once every page was read and compressed. */
static int write_runs(struct dump_ctx *ctx, struct run_list *runs, struct remote *src,
		      const char *what, unsigned *seq)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];
	struct chunk_job job = {
		.pid = remote_pid(src), .mem_fd = remote_mem_fd(src),
		.pages_stored = &ctx->pages_stored, .pages_zero = &ctx->pages_zero,
		.pages_parent = &ctx->pages_parent,
		.parent = s->has_parent ? &s->parent : NULL,
		/* process_vm_readv pins pages, and pinning an anonymous page
		 * shared copy-on-write with the process makes the kernel copy
		 * it: from the copy, /proc/PID/mem reads without pinning. */
		.mem_only = src == ctx->copy,
	};
	size_t i = 0, k;
	uint64_t total = 0, done = 0;
	struct progress progress;
	int ret = -1;

	for (k = 0; k < runs->n; k++)
		total += (uint64_t)runs->runs[k].npages * PAGE;
	progress_start(&progress, what, total);
	while (i < runs->n) {
		size_t first = i, pages = 0;
		char name[IMAGE_NAME_MAX + 1];

		while (i < runs->n && pages + runs->runs[i].npages <= CHUNK_PAGES)
			pages += runs->runs[i++].npages;
		job.runs = &runs->runs[first];
		job.nruns = i - first;
		if (!(job.hashes = new_hash_block(s))) {
			fail(ENOMEM, NULL, "%s", what);
			goto out;
		}
		snprintf(name, sizeof(name), "%spages/%08u", ctx->prefix, (*seq)++);
		if (image_write_member_built(ctx->writer, name, CHUNK_CAP, build_chunk, &job,
					     sizeof(job)))
			goto out;
		done += pages * PAGE;
		progress_update(&progress, done);
	}
	/* The workers read runs and src: all of it must be done first. */
	image_writer_quiesce(ctx->writer);
	progress_end(&progress, done);
	ret = 0;
out:
	if (ret)
		image_writer_quiesce(ctx->writer);
	free(runs->runs);
	*runs = (struct run_list){ 0 };
	return ret;
}

/* Shared memory read before the process resumes is held as finished
 * pages/ members until the metadata is written; above this, the process
 * stays stopped until it is written instead. */
#define SHARED_HOLD_MAX (64ull << 20)

struct held_chunk {
	uint8_t *buf;
	size_t start, len;
};

static void free_held(struct memory_dump_state *s)
{
	while (s->nheld)
		free(s->held[--s->nheld].buf);
	free(s->held);
	s->held = NULL;
}

static int memory_dump_shared(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];
	struct chunk_job job = {
		.pid = ctx->pid, .mem_fd = remote_mem_fd(ctx->remote),
		.pages_stored = &ctx->pages_stored, .pages_zero = &ctx->pages_zero,
		.pages_parent = &ctx->pages_parent,
		.parent = s->has_parent ? &s->parent : NULL,
	};
	uint64_t total = 0;
	size_t i = 0, k;
	char err[256];

	s->chunk_seq = 0;
	for (k = 0; k < s->shared_runs.n; k++)
		total += (uint64_t)s->shared_runs.runs[k].npages * PAGE;
	if (total > SHARED_HOLD_MAX) {
		ctx->stay_frozen = "more than 64 MiB of shared memory";
		return 0;	/* written in dump_contents() */
	}
	s->held = calloc(s->shared_runs.n + 1, sizeof(*s->held));
	if (!s->held)
		return fail(ENOMEM, NULL, "saving shared memory");
	while (i < s->shared_runs.n) {
		struct held_chunk *h = &s->held[s->nheld];
		size_t pages = 0;
		ssize_t len;

		job.runs = &s->shared_runs.runs[i];
		while (i < s->shared_runs.n && pages + s->shared_runs.runs[i].npages <= CHUNK_PAGES)
			pages += s->shared_runs.runs[i++].npages;
		job.nruns = &s->shared_runs.runs[i] - job.runs;
		if (!(job.hashes = new_hash_block(s)) || !(h->buf = malloc(CHUNK_CAP)))
			return fail(ENOMEM, NULL, "saving shared memory");
		len = build_chunk(&job, h->buf, CHUNK_CAP, &h->start, err, sizeof(err));
		if (len < 0) {
			free(h->buf);
			return fail_why(err, NULL, "saving shared memory");
		}
		if (len == 0) {
			free(h->buf);	/* all-zero pages only */
			continue;
		}
		h->len = len;
		s->nheld++;
	}
	free(s->shared_runs.runs);
	s->shared_runs = (struct run_list){ 0 };
	return 0;
}

/* Which pages to save, from the copy when there is one: its page tables
 * are the process's as of the freeze (shared, MADV_DONTFORK and
 * MADV_WIPEONFORK memory excepted: dump() picked those). */
#define PM_PFN_MASK ((1ull << 55) - 1)

static const struct vma_rec *vma_at(const struct image_meta *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nvmas;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->vmas[mid].end <= addr)
			lo = mid + 1;
		else if (m->vmas[mid].start > addr)
			hi = mid;
		else
			return &m->vmas[mid];
	}
	return NULL;
}

/* Private memory whose stored pages are anonymous: those of a private
 * file mapping too (only its written pages are stored, its others are the
 * file's). */
static bool cow_kind(uint32_t kind)
{
	return kind == VMA_ANON_PRIVATE || kind == VMA_HEAP || kind == VMA_STACK ||
	       kind == VMA_FILE_PRIVATE;
}

/* A run lies in one mapping (v: addr's): restart checks it so. */
static int cow_add(struct image_meta *m, const struct vma_rec *v, uint64_t addr)
{
	struct cow_page_rec *last = m->ncow_pages ? &m->cow_pages[m->ncow_pages - 1] : NULL;

	if (last && last->start + last->npages * PAGE == addr && addr != v->start) {
		last->npages++;
		return 0;
	}
	last = meta_push(&m->cow_pages, &m->ncow_pages, sizeof(*last));
	if (!last)
		return -1;
	*last = (struct cow_page_rec){ addr, 1 };
	return 0;
}

/* A process of a tree: of the pages to save, those it still shares
 * copy-on-write with its parent (the same physical page at the same
 * address in both copies: identical, written by neither since the fork)
 * become meta/cow-pages, taken from the restored parent by restart, and
 * are not stored twice.  Needs the page frame numbers of pagemap (root:
 * CAP_SYS_ADMIN); without them, or with a parent image (incremental),
 * every page is stored. */
static int split_cow_pages(struct dump_ctx *ctx, struct memory_dump_state *s, int child_fd)
{
	const struct dump_ctx *parent = ctx->tree_parent;
	struct run_list own = { 0 };
	uint64_t *pc = NULL, *pp = NULL, shared = 0;
	char path[64];
	size_t i, k;
	int pfd, ret = -1;

	if (!parent || !parent->source || s->has_parent || !s->dump_runs.n)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", remote_pid(parent->source));
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return 0;	/* (its copy is gone: nothing shared to find) */
	pc = malloc(CHUNK_PAGES * sizeof(*pc));
	pp = malloc(CHUNK_PAGES * sizeof(*pp));
	if (!pc || !pp) {
		fail(ENOMEM, NULL, "comparing pages with the parent's");
		goto out;
	}
	for (i = 0; i < s->dump_runs.n; i++) {
		const struct page_run *r = &s->dump_runs.runs[i];
		struct vma_rec *v = (struct vma_rec *)vma_at(&ctx->meta, r->addr);
		size_t len = (size_t)r->npages * sizeof(*pc);
		off_t off = (off_t)(r->addr / PAGE * sizeof(*pc));
		bool compare = !r->flags && v && cow_kind(v->kind) && r->npages <= CHUNK_PAGES &&
			       pread(child_fd, pc, len, off) == (ssize_t)len &&
			       pread(pfd, pp, len, off) == (ssize_t)len;

		for (k = 0; k < r->npages; k++) {
			uint64_t addr = r->addr + k * PAGE, c = compare ? pc[k] : 0;
			bool cow;

			if (v && addr >= v->end)	/* (a run may go on into the next) */
				v = (struct vma_rec *)vma_at(&ctx->meta, addr);
			cow = v && cow_kind(v->kind) && (c & PM_PRESENT) && !(c & PM_SWAP) &&
			      (c & PM_PFN_MASK) && (pp[k] & PM_PRESENT) &&
			      (pp[k] & PM_PFN_MASK) == (c & PM_PFN_MASK);

			if (compare && (c & PM_PRESENT) && !(c & PM_PFN_MASK)) {
				/* No frame numbers shown to us: store all. */
				free(own.runs);
				own = (struct run_list){ 0 };
				ctx->meta.ncow_pages = 0;
				ret = 0;
				goto out;
			}
			if (cow ? cow_add(&ctx->meta, v, addr) : runs_add_flagged(&own, addr, r->flags))
				goto out;
			if (cow) {
				shared++;
				v->pages_stored--;
			}
		}
	}
	free(s->dump_runs.runs);
	s->dump_runs = own;
	own = (struct run_list){ 0 };
	pr_info("%llu pages shared copy-on-write with the parent: taken from it",
		(unsigned long long)shared);
	ret = 0;
out:
	free(own.runs);
	free(pc);
	free(pp);
	close(pfd);
	return ret;
}

static int memory_dump_late(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];
	char path[64];
	size_t i;
	int fd, ret = 0;

	if (check_flags(ctx))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", remote_pid(ctx->source));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, NULL, "opening %s", path);
	s->dump_runs.n = 0;
	for (i = 0; i < ctx->meta.nvmas && !ret; i++) {
		struct vma_rec *v = &ctx->meta.vmas[i];

		if (vma_kind_has_contents(v->kind) && !read_before_resume(v))
			ret = scan_pagemap(fd, v, &s->dump_runs);
	}
	if (!ret)
		ret = split_cow_pages(ctx, s, fd);
	close(fd);
	if (!ret && s->track_use)
		ret = mark_unwritten(ctx, s);
	pr_info("%zu page runs to save", s->dump_runs.n);
	return ret;
}

/* The hash of every page this image holds or takes from its parent, as
 * index/pages: what a later incremental image compares with. */
static int write_page_index(struct dump_ctx *ctx, struct memory_dump_state *s)
{
	struct page_index ix = { 0 };
	struct buf body = { 0 };
	char name[IMAGE_NAME_MAX + 1];
	size_t i, total = 0;
	int ret = -1;

	for (i = 0; i < s->nblocks; i++)
		total += s->blocks[i]->n;
	ix.e = malloc((total + 1) * sizeof(*ix.e));
	if (!ix.e)
		return fail(ENOMEM, NULL, "indexing pages");
	for (i = 0; i < s->nblocks; i++) {
		memcpy(ix.e + ix.n, s->blocks[i]->e, s->blocks[i]->n * sizeof(*ix.e));
		ix.n += s->blocks[i]->n;
	}
	free_hash_blocks(s);
	if (page_index_finish(&ix) || page_index_encode(&ix, &body))
		goto out;
	snprintf(name, sizeof(name), "%s" PAGE_INDEX_MEMBER, ctx->prefix);
	ret = image_write_member(ctx->writer, name, body.data, body.len);
out:
	buf_free(&body);
	page_index_free(&ix);
	return ret;
}

static int memory_dump_contents(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];
	size_t i;

	for (i = 0; i < s->nheld; i++) {
		char name[IMAGE_NAME_MAX + 1];

		snprintf(name, sizeof(name), "%spages/%08u", ctx->prefix, s->chunk_seq++);
		if (image_write_member(ctx->writer, name, s->held[i].buf + s->held[i].start,
				       s->held[i].len))
			return -1;
	}
	free_held(s);
	if (s->shared_runs.n &&
	    write_runs(ctx, &s->shared_runs, ctx->remote, "saving shared memory", &s->chunk_seq))
		return -1;
	if (write_runs(ctx, &s->dump_runs, ctx->source, "saving memory", &s->chunk_seq))
		return -1;
	return write_page_index(ctx, s);
}

/* The image is committed: the holder keeps the written bits, counted
 * from this image's freeze, for the next dump. */
static void memory_dump_committed(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];

	if (s && s->track_protected)
		track_commit(&s->track);
}

static void memory_dump_release(struct dump_ctx *ctx)
{
	struct memory_dump_state *s = ctx->slot[SLOT_MEMORY];

	if (!s)
		return;
	track_end(&s->track);
	free(s->tracked.r);
	free(s->written.r);
	free_held(s);
	free_hash_blocks(s);
	page_index_free(&s->parent);
	free(s->dump_runs.runs);
	free(s->shared_runs.runs);
	free(s->pre_vmas);
	free(s);
	ctx->slot[SLOT_MEMORY] = NULL;
}

/* ------------------------------------------------------------------ */
/* restore half                                                       */

static bool is_vdso_block(uint32_t kind)
{
	return kind == VMA_VDSO || kind == VMA_VVAR;
}

/* Restore state of an incremental image, in restore_ctx.slot[SLOT_MEMORY]. */
struct interval {
	uint64_t start, end;
};

struct memory_restore_state {
	char **parents;			/* the chain, nearest first */
	size_t nparents;
	pthread_mutex_t lock;		/* for need, from the reader's threads */
	uint64_t *need;			/* pages of RUN_IN_PARENT runs (any order) */
	size_t nneed, capneed;
	struct page_index index;	/* its index/pages: what each page must hash to */
	/* Forked from its parent (restore_ctx.fork_parent): the ranges of
	 * private memory kept as the fork left them, sorted. */
	struct interval *kept;
	bool *kept_shared;		/* per kept range: of shared memory */
	size_t nkept;
};

static struct memory_restore_state *restore_state(struct restore_ctx *ctx)
{
	struct memory_restore_state *st = ctx->slot[SLOT_MEMORY];

	if (!st && (st = calloc(1, sizeof(*st)))) {
		pthread_mutex_init(&st->lock, NULL);
		ctx->slot[SLOT_MEMORY] = st;
	}
	return st;
}

/* An incremental image: every parent is there before anything starts. */
static int check_parents(struct restore_ctx *ctx)
{
	struct memory_restore_state *st;
	struct image_identity id;
	const char *dir = ctx->opts->image_dir ? ctx->opts->image_dir : ".";
	/* Every parent read as the image itself is, its header included. */
	struct image_keys keys = { ctx->opts->trust, ctx->opts->decrypt };

	image_identity_of(ctx->meta.header, &id);
	if (!id.has_parent)
		return 0;
	if (!(st = restore_state(ctx)))
		return fail(ENOMEM, NULL, "finding parent images");
	if (st->parents)
		return 0;	/* checked already (ckpt check, then restore) */
	if (image_find_parents(dir, &keys, &id, &st->parents, &st->nparents))
		return -1;
	/* --verify/--decrypt: every parent read whole, every frame verified,
	 * before anything is created (restoring reads them again). */
	for (size_t i = 0; (keys.trust || keys.decrypt) && i < st->nparents; i++)
		if (image_read_whole(st->parents[i], &keys)) {
			char why[600], path[4096];

			snprintf(why, sizeof(why), "%s", error_text());
			snprintf(path, sizeof(path), "%s", st->parents[i]);
			error_clear();
			image_paths_free(st->parents, st->nparents);
			st->parents = NULL;
			st->nparents = 0;
			return fail_why(why, "every image of a chain must be signed and encrypted "
					"as the image itself is", "verifying parent image %s", path);
		}
	pr_info("incremental image: %zu parent image%s in %s", st->nparents,
		st->nparents == 1 ? "" : "s", dir);
	return 0;
}

static int memory_check(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	uint64_t prev_end = 0;
	size_t i;

	for (i = 0; i < m->nvmas; i++) {
		const struct vma_rec *v = &m->vmas[i];
		if (v->start >= v->end || v->start % PAGE || v->end % PAGE || v->start < prev_end ||
		    (v->kind != VMA_VSYSCALL && v->end > ARCH_TASK_SIZE) ||
		    v->kind < VMA_ANON_PRIVATE || v->kind > VMA_PACKET_RING ||
		    (is_vdso_block(v->kind) && (!v->path || v->path[0] != '[')) ||
		    ((v->kind == VMA_FILE_PRIVATE || v->kind == VMA_FILE_SHARED) &&
		     (v->file_index < 0 ? !fd_ghost_of_map(m, v->start) :
		      (size_t)v->file_index >= m->nfiles)))
			return fail_why("invalid mapping record", "the image is corrupted",
					"checking mapping %zu (%#llx-%#llx)", i,
					(unsigned long long)v->start, (unsigned long long)v->end);
		prev_end = v->end;
		if ((v->kind == VMA_AIO_RING && aio_ring_check(v)) ||
		    (v->kind == VMA_PACKET_RING && packet_ring_map_check(m, v)))
			return -1;
		if (v->kind == VMA_VDSO && v->end - v->start != m->vdso.len)
			return fail_why("vDSO size does not match its contents", "the image is "
					"corrupted", "checking the vDSO record");
	}
	/* Pages of the parent: inside private mappings of this process (that
	 * it has a parent to take them from is restart's to check: it knows
	 * the tree, restart/restore.c). */
	for (i = 0; i < m->ncow_pages; i++) {
		const struct cow_page_rec *c = &m->cow_pages[i];
		const struct vma_rec *v = vma_at(m, c->start);

		if (c->start % PAGE || !c->npages || c->npages > (1ull << 40) ||
		    !v || !cow_kind(v->kind) || c->npages * PAGE > v->end - c->start)
			return fail_why("invalid record of pages shared with the parent", "the image "
					"is corrupted", "checking meta/cow-pages %zu", i);
	}
	return check_parents(ctx);
}

/* meta/cow-pages: copied from the restored parent (its memory is in place:
 * processes are restored in the image's order, parents first), 1 MiB at a
 * time, on one thread per CPU (the child's first touch of each page is
 * most of the cost). */
struct cow_copy {
	const struct restore_ctx *ctx;
	struct { uint64_t addr; size_t len; } *batch;
	size_t nbatch, next;		/* next: taken atomically */
	uint64_t pages;
	int err;			/* the first errno, and where */
	uint64_t err_addr;
	bool err_read;
	pthread_mutex_t lock;
};

static void *cow_copy_worker(void *arg)
{
	struct cow_copy *cc = arg;
	uint8_t *buf = malloc(CHUNK_PAGES * PAGE);
	size_t i;

	while (buf && (i = __atomic_fetch_add(&cc->next, 1, __ATOMIC_RELAXED)) < cc->nbatch &&
	       !__atomic_load_n(&cc->err, __ATOMIC_RELAXED)) {
		size_t n = cc->batch[i].len;
		struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)cc->batch[i].addr, n };
		bool rd = process_vm_readv(cc->ctx->tree_parent_pid, &local, 1, &remote, 1, 0) ==
			  (ssize_t)n;

		if (!rd || process_vm_writev(cc->ctx->pid, &local, 1, &remote, 1, 0) != (ssize_t)n) {
			pthread_mutex_lock(&cc->lock);
			if (!cc->err) {
				cc->err = errno ? errno : EIO;
				cc->err_addr = cc->batch[i].addr;
				cc->err_read = !rd;
			}
			pthread_mutex_unlock(&cc->lock);
			break;
		}
		__atomic_fetch_add(&cc->pages, n / PAGE, __ATOMIC_RELAXED);
	}
	if (!buf)
		__atomic_store_n(&cc->err, ENOMEM, __ATOMIC_RELAXED);
	free(buf);
	return NULL;
}

/* Is [start, end) wholly inside private memory kept from the parent's
 * fork?  (A run of meta/cow-pages is one mapping's: inside one range.) */
static bool kept_covers(const struct restore_ctx *ctx, uint64_t start, uint64_t end)
{
	const struct memory_restore_state *st = ctx->slot[SLOT_MEMORY];
	size_t i;

	for (i = 0; st && i < st->nkept; i++)
		if (st->kept[i].start <= start && end <= st->kept[i].end)
			return true;
	return false;
}

static int restore_cow_pages(struct restore_ctx *ctx)
{
	struct cow_copy cc = { .ctx = ctx, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t tid[8];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i, nt, started = 0, cap = 0;

	if (!ctx->meta.ncow_pages)
		return 0;
	if (!ctx->tree_parent_pid)
		return fail_why("it has no parent in the image to take them from", "the image "
				"is corrupted", "restoring the pages process %d shared with its "
				"parent", ctx->meta.process ? ctx->meta.process->pid : 0);
	for (i = 0; i < ctx->meta.ncow_pages; i++) {
		const struct cow_page_rec *c = &ctx->meta.cow_pages[i];
		uint64_t done;

		for (done = 0; done < c->npages; done += CHUNK_PAGES) {
			uint64_t at = c->start + done * PAGE;
			size_t len = (size_t)(c->npages - done < CHUNK_PAGES ? c->npages - done :
					      CHUNK_PAGES) * PAGE;

			if (kept_covers(ctx, at, at + len))
				continue;	/* there already: forked from the parent */
			if (cc.nbatch == cap) {
				void *grown;
				cap = cap ? cap * 2 : 256;
				grown = realloc(cc.batch, cap * sizeof(*cc.batch));
				if (!grown) {
					free(cc.batch);
					return fail(ENOMEM, NULL, "copying pages from the parent");
				}
				cc.batch = grown;
			}
			cc.batch[cc.nbatch].addr = at;
			cc.batch[cc.nbatch++].len = len;
		}
	}
	nt = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (size_t)ncpu;
	if (!cc.nbatch) {
		free(cc.batch);
		return 0;
	}
	if (nt > cc.nbatch)
		nt = cc.nbatch;
	for (i = 1; i < nt; i++)
		started += pthread_create(&tid[started], NULL, cow_copy_worker, &cc) == 0;
	cow_copy_worker(&cc);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(cc.batch);
	ctx->pages_restored += cc.pages;
	if (cc.err)
		return fail(cc.err, cc.err_read ? "the image is corrupted, or the parent's memory "
			    "is not as it was" : NULL, "%s the pages at %#llx shared with the parent "
			    "%d", cc.err_read ? "reading" : "writing", (unsigned long long)cc.err_addr,
			    ctx->tree_parent_pid);
	return 0;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Lowest gap of size bytes above 1 MiB that none of the intervals touch. */
static uint64_t find_gap(struct interval *iv, size_t n, uint64_t size)
{
	uint64_t at = 1 << 20;
	size_t i;

	qsort(iv, n, sizeof(*iv), cmp_interval);
	for (i = 0; i < n; i++) {
		if (iv[i].end <= at)
			continue;
		if (iv[i].start >= at + size)
			break;
		at = (iv[i].end + PAGE - 1) & ~(PAGE - 1);
	}
	return at + size <= ARCH_TASK_SIZE ? at : 0;
}

static struct interval *collect_intervals(const struct image_meta *m, const struct vma_entry *cur,
					  size_t ncur, size_t *n)
{
	struct interval *iv = malloc((m->nvmas + m->nsysv_attach + ncur + 1) * sizeof(*iv));
	size_t i, k = 0;

	if (!iv)
		return NULL;
	for (i = 0; i < m->nvmas; i++)
		iv[k++] = (struct interval){ m->vmas[i].start, m->vmas[i].end };
	for (i = 0; i < m->nsysv_attach; i++)	/* sysv.c attaches there */
		iv[k++] = (struct interval){ m->sysv_attach[i].start, m->sysv_attach[i].end };
	for (i = 0; i < ncur; i++)
		iv[k++] = (struct interval){ cur[i].start, cur[i].end };
	*n = k;
	return iv;
}

static int inject(struct restore_ctx *ctx, const char *what, long nr, unsigned long a1,
		  unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5,
		  unsigned long a6, long *ret)
{
	return remote_syscall_ok(ctx->remote, ret, what, nr, a1, a2, a3, a4, a5, a6);
}

/* The kernel's vDSO block must be the one of the image (same kernel):
 * compare, then move each piece to the address the process knows. */
static int check_vdso(struct restore_ctx *ctx, const struct vma_entry *cur, size_t ncur)
{
	const struct image_meta *m = &ctx->meta;
	size_t i, j, nimg = 0, ncurblock = 0;
	uint8_t *bytes;
	int ret;

	for (i = 0; i < ncur; i++)
		if (!strcmp(cur[i].path, "[vdso]") || !strncmp(cur[i].path, "[vvar", 5))
			ncurblock++;
	for (i = 0; i < m->nvmas; i++) {
		const struct vma_rec *v = &m->vmas[i];
		if (!is_vdso_block(v->kind))
			continue;
		nimg++;
		for (j = 0; j < ncur; j++)
			if (!strcmp(cur[j].path, v->path) &&
			    cur[j].end - cur[j].start == v->end - v->start)
				break;
		if (j == ncur)
			goto differs;
		if (v->kind != VMA_VDSO)
			continue;
		bytes = malloc(m->vdso.len);
		if (!bytes)
			return fail(ENOMEM, NULL, "comparing the vDSO");
		ret = remote_read(ctx->remote, cur[j].start, bytes, m->vdso.len);
		if (!ret && memcmp(bytes, m->vdso.data, m->vdso.len))
			ret = 1;
		free(bytes);
		if (ret < 0)
			return -1;
		if (ret)
			goto differs;
	}
	if (nimg == ncurblock)
		return 0;
differs:
	return fail_why("this kernel's vDSO differs from the one in the image",
			"restart on a host running the same kernel as at checkpoint time",
			"checking the vDSO (image kernel %s)", m->header->kernel);
}

static int move_vdso_block(struct restore_ctx *ctx, const struct vma_entry *cur, size_t ncur,
			   uint64_t block_start, uint64_t temp)
{
	const struct image_meta *m = &ctx->meta;
	size_t i, j;
	int pass, order;

	/* Two passes (to a free area, then home) so no piece lands on
	 * another one not moved yet.  vvar first, vdso last: injected
	 * syscalls run from the vDSO, so re-locate it after each pass. */
	for (pass = 0; pass < 2; pass++) {
		for (order = 0; order < 2; order++) {
			for (i = 0; i < m->nvmas; i++) {
				const struct vma_rec *v = &m->vmas[i];
				uint64_t len = v->end - v->start, from, to;
				if (!is_vdso_block(v->kind) || (v->kind == VMA_VDSO) != (order == 1))
					continue;
				for (j = 0; j < ncur && strcmp(cur[j].path, v->path); j++)
					;
				if (j == ncur)
					return fail_why("missing piece", NULL, "moving %s", v->path);
				from = pass == 0 ? cur[j].start : temp + (v->start - block_start);
				to = pass == 0 ? temp + (v->start - block_start) : v->start;
				if (inject(ctx, "moving the vDSO", __NR_mremap, from, len, len,
					   MREMAP_MAYMOVE | MREMAP_FIXED, to, 0, NULL))
					return -1;
			}
		}
		if (remote_find_syscall_insn(ctx->remote))
			return -1;
	}
	return 0;
}

static int open_in_target(struct restore_ctx *ctx, int file_index, bool writable, long *fd)
{
	const char *path = file_id_path(ctx, file_index);	/* the host's, or the bundle's */
	uint64_t path_addr;
	char what[PATH_MAX + 32];

	if (ctx->target_file_fds[file_index] >= 0) {
		*fd = ctx->target_file_fds[file_index];
		return 0;
	}
	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, path, strlen(path) + 1, &path_addr))
		return -1;
	snprintf(what, sizeof(what), "opening %s", path);
	if (inject(ctx, what, __NR_openat, AT_FDCWD, path_addr,
		   (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0, 0, 0, fd))
		return -1;
	ctx->target_file_fds[file_index] = *fd;
	return 0;
}

static const struct {
	uint64_t vmf;
	int advice;
} vma_advice[] = {
	{ VMF_DC, MADV_DONTFORK }, { VMF_WF, MADV_WIPEONFORK }, { VMF_HG, MADV_HUGEPAGE },
	{ VMF_NH, MADV_NOHUGEPAGE }, { VMF_DD, MADV_DONTDUMP }, { VMF_MG, MADV_MERGEABLE },
	{ VMF_SR, MADV_SEQUENTIAL }, { VMF_RR, MADV_RANDOM },
};
#define MAX_CALLS_PER_VMA (1 + sizeof(vma_advice) / sizeof(vma_advice[0]))

/* The mmap and madvise calls that re-create v (all of the image's mapping
 * vi, or a part of it), appended to calls. */
static int map_calls(struct restore_ctx *ctx, const struct vma_rec *v, size_t vi,
		     struct remote_call *calls, size_t *n)
{
	int flags = MAP_FIXED, prot = v->prot;
	int shm_fd = ctx->vma_shm_fd ? ctx->vma_shm_fd[vi] : -1;
	long fd = -1;
	uint64_t pgoff = 0;
	unsigned i;

	switch (v->kind) {
	case VMA_ANON_SHARED:
		if (shm_fd >= 0) {
			/* Shared with other processes of a tree: its object. */
			flags |= MAP_SHARED;
			fd = shm_fd;
			pgoff = v->pgoff;
			break;
		}
		flags |= MAP_SHARED | MAP_ANONYMOUS;
		break;
	case VMA_PACKET_RING:
		/* The socket is in place (fds come before exec): a new ring,
		 * empty; the kernel fills it from its first frame. */
		flags |= v->vmflags & VMF_SH ? MAP_SHARED : MAP_PRIVATE;
		fd = v->ring_fd;
		pgoff = v->pgoff;
		break;
	case VMA_FILE_PRIVATE:
	case VMA_FILE_SHARED:
		flags |= v->kind == VMA_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE;
		if (v->file_index < 0 && shm_fd >= 0) {
			/* A ghost other processes of a tree hold too: its one file. */
			fd = shm_fd;
		} else if (v->file_index < 0 ?
		    fd_ghost_map_fd(ctx, v->start, v->kind == VMA_FILE_SHARED && (v->vmflags & VMF_MW),
				    &fd) :
		    open_in_target(ctx, v->file_index,
				   v->kind == VMA_FILE_SHARED && (v->vmflags & VMF_MW), &fd))
			return -1;
		pgoff = v->pgoff;
		break;
	default:
		/* MAP_DROPPABLE (6.11): the kernel may free its pages any time */
		flags |= (v->vmflags & VMF_DP ? MAP_DROPPABLE : MAP_PRIVATE) | MAP_ANONYMOUS;
	}
	if (v->vmflags & VMF_GD)
		flags |= MAP_GROWSDOWN;
	if (v->vmflags & VMF_NR)
		flags |= MAP_NORESERVE;
	if (vma_protect_late(v))
		prot |= PROT_WRITE;	/* mapattrs protects it as it was */
	calls[(*n)++] = (struct remote_call){ .nr = __NR_mmap, .arg = { v->start,
		v->end - v->start, prot, flags, fd, pgoff } };
	for (i = 0; i < sizeof(vma_advice) / sizeof(vma_advice[0]); i++)
		if (v->vmflags & vma_advice[i].vmf)
			calls[(*n)++] = (struct remote_call){ .nr = __NR_madvise, .arg = {
				v->start, v->end - v->start, vma_advice[i].advice } };
	return 0;
}

/* The part [start, end) of the image's mapping vi (nothing if empty): what
 * a fork from the parent did not keep of it. */
static int map_part(struct restore_ctx *ctx, size_t vi, uint64_t start, uint64_t end,
		    struct remote_call *calls, size_t *n)
{
	struct vma_rec part = ctx->meta.vmas[vi];
	const struct vma_rec *v = &ctx->meta.vmas[vi];

	if (start >= end)
		return 0;
	part.start = start;
	part.end = end;
	part.pgoff = v->pgoff + (start - v->start);
	return map_calls(ctx, &part, vi, calls, n);
}

/* Every mapping of the image, with as few stops of the process as
 * possible: one injected mmap per mapping used to cost ~70 us each. */
static int map_all(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	const struct memory_restore_state *st = ctx->slot[SLOT_MEMORY];
	size_t nkept = st ? st->nkept : 0, max = (m->nvmas + nkept) * MAX_CALLS_PER_VMA;
	struct remote_call *calls = malloc(max * sizeof(*calls));
	size_t *owner = malloc(max * sizeof(*owner));
	size_t n = 0, i, k, j = 0;
	int ret = -1;

	if (!calls || !owner) {
		fail(ENOMEM, NULL, "restoring mappings");
		goto out;
	}
	for (i = 0; i < m->nvmas; i++) {
		const struct vma_rec *v = &m->vmas[i];
		uint64_t at = v->start;

		if (is_vdso_block(v->kind) || v->kind == VMA_VSYSCALL)
			continue;
		k = n;
		/* Forked from the parent: only what the kept ranges leave
		 * (mapped by address: the part's offset follows). */
		while (j < nkept && st->kept[j].end <= v->start)
			j++;
		if (j >= nkept || st->kept[j].start >= v->end) {
			if (map_calls(ctx, v, i, calls, &n))
				goto out;
		} else {
			for (; j < nkept && st->kept[j].start < v->end; j++) {
				if (map_part(ctx, i, at, st->kept[j].start, calls, &n))
					goto out;
				at = st->kept[j].end;
				if (at >= v->end)
					break;	/* (it may go on into the next one) */
			}
			if (map_part(ctx, i, at, v->end, calls, &n))
				goto out;
		}
		for (; k < n; k++)
			owner[k] = i;
	}
	if (remote_syscall_batch(ctx->remote, calls, n))
		goto out;
	for (k = 0; k < n; k++) {
		const struct vma_rec *v = &m->vmas[owner[k]];
		long r = calls[k].ret;

		if (r < 0 && r > -4096) {
			fail((int)-r, NULL, "%s mapping %#llx-%#llx %s",
			     calls[k].nr == __NR_mmap ? "creating" : "advising",
			     (unsigned long long)v->start, (unsigned long long)v->end, v->path);
			goto out;
		}
		if (calls[k].nr == __NR_mmap && (uint64_t)r != calls[k].arg[0]) {
			fail_why("the kernel put it elsewhere", NULL, "mapping %#llx-%#llx %s",
				 (unsigned long long)v->start, (unsigned long long)v->end, v->path);
			goto out;
		}
	}
	ret = 0;
out:
	free(calls);
	free(owner);
	return ret;
}

static int unmap_all_but(struct restore_ctx *ctx, struct interval *keep, size_t nkeep)
{
	uint64_t at = 0;
	size_t i;

	qsort(keep, nkeep, sizeof(*keep), cmp_interval);
	for (i = 0; i <= nkeep; i++) {
		uint64_t end = i < nkeep ? keep[i].start : ARCH_TASK_SIZE;
		if (end > at && inject(ctx, "clearing the address space", __NR_munmap, at, end - at,
				       0, 0, 0, 0, NULL))
			return -1;
		if (i < nkeep && keep[i].end > at)
			at = keep[i].end;
	}
	return 0;
}

/* Runs may span adjacent mappings; every page must be in one that holds
 * contents. */
static bool range_restorable(const struct image_meta *m, uint64_t start, uint64_t end)
{
	const struct vma_rec *v = meta_find_vma(m, start);

	if (end <= start)
		return false;
	while (v && vma_kind_has_contents(v->kind)) {
		if (end <= v->end)
			return true;
		if (v + 1 >= m->vmas + m->nvmas || v[1].start != v->end)
			return false;
		v++;
	}
	return false;
}

/* Where chunks go: safe to use from the image reader's threads (no
 * fail(), no ptrace; /proc/PID/mem through pwrite). */
struct chunk_target {
	const struct image_meta *meta;
	pid_t pid;
	int mem_fd;
	uint64_t pages;		/* restored so far, atomically */
	struct memory_restore_state *st;	/* NULL: a full image */
};

static int chunk_error(char *err, size_t errlen, const char *name, const char *why)
{
	snprintf(err, errlen, "%s in image member %s", why, name);
	return -1;
}

/* Remember the pages of a RUN_IN_PARENT run (reader threads: no fail()). */
static int need_pages(struct memory_restore_state *st, const struct page_run *r)
{
	int ret = 0;
	size_t p;

	pthread_mutex_lock(&st->lock);
	if (st->nneed + r->npages > st->capneed) {
		size_t cap = st->capneed ? st->capneed * 2 : 4096;
		uint64_t *grown;

		while (cap < st->nneed + r->npages)
			cap *= 2;
		grown = realloc(st->need, cap * sizeof(*grown));
		if (grown) {
			st->need = grown;
			st->capneed = cap;
		} else {
			ret = -1;
		}
	}
	for (p = 0; !ret && p < r->npages; p++)
		st->need[st->nneed++] = r->addr + p * PAGE;
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static bool chunk_range_restorable(const void *meta, uint64_t start, uint64_t end)
{
	return range_restorable(meta, start, end);
}

/* Check one pages/ member and write its stored pages into the process. */
static int apply_chunk(struct chunk_target *t, const uint8_t *buf, size_t len, const char *name,
		       char *err, size_t errlen)
{
	struct chunk_view v;
	struct iovec local, remote[CHUNK_PAGES];
	const char *why;
	const uint8_t *data;
	size_t i, n = 0;

	if (chunk_parse(buf, len, &v, chunk_range_restorable, t->meta, &why))
		return chunk_error(err, errlen, name, why);
	if (v.parent_pages && !t->st)
		return chunk_error(err, errlen, name, "pages of a parent image in an image "
				   "that names none");
	for (i = 0; i < v.nruns; i++) {
		if (v.runs[i].flags & RUN_IN_PARENT) {
			if (need_pages(t->st, &v.runs[i]))
				return chunk_error(err, errlen, name, "out of memory");
			continue;
		}
		remote[n].iov_base = (void *)v.runs[i].addr;
		remote[n++].iov_len = (size_t)v.runs[i].npages * PAGE;
	}
	data = v.data;
	local = (struct iovec){ (void *)data, (size_t)v.stored_pages * PAGE };
	if (n && process_vm_writev(t->pid, &local, 1, remote, n, 0) != (ssize_t)local.iov_len) {
		/* Read-only or PROT_NONE pages: /proc/PID/mem can write them. */
		for (i = 0; i < n; i++) {
			int e;
			uint64_t at = remote_mem_transfer(t->mem_fd, (uint64_t)remote[i].iov_base,
							  (void *)data, remote[i].iov_len, true, &e);

			if (at) {
				snprintf(err, errlen, "writing memory of process %d at %#llx: %s",
					 t->pid, (unsigned long long)at, strerror(e));
				return -1;
			}
			data += remote[i].iov_len;
		}
	}
	__atomic_fetch_add(&t->pages, v.stored_pages, __ATOMIC_RELAXED);
	return 0;
}

/* On the reader's threads, right after a frame that is one whole pages/
 * member is decompressed. */
static int chunk_hook(void *arg, const char *name, const uint8_t *data, size_t len, char *err,
		      size_t errlen)
{
	return apply_chunk(arg, data, len, name, err, errlen);
}

enum need_state { NEED_PENDING, NEED_DONE, NEED_DEEPER };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static ssize_t find_need(const struct memory_restore_state *st, uint64_t addr)
{
	size_t lo = 0, hi = st->nneed;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->need[mid] == addr)
			return mid;
		if (st->need[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool any_range(const void *arg, uint64_t start, uint64_t end)
{
	(void)arg;
	return end <= ARCH_TASK_SIZE && start < end;
}

/* Write the pages of a parent's chunk that the image takes from it, each
 * checked against the hash the image recorded for it. */
static int apply_parent_chunk(struct restore_ctx *ctx, struct memory_restore_state *st,
			      uint8_t *state, const uint8_t *buf, size_t len, const char *path,
			      const char *name)
{
	struct chunk_view v;
	struct iovec local[CHUNK_PAGES], remote[CHUNK_PAGES];
	const uint8_t *data;
	const char *why;
	size_t i, p, n = 0, bytes = 0;

	if (chunk_parse(buf, len, &v, any_range, NULL, &why))
		return fail_why(why, "the parent image is corrupted", "reading %s of parent image %s",
				name, path);
	data = v.data;
	for (i = 0; i < v.nruns; i++) {
		for (p = 0; p < v.runs[i].npages; p++) {
			uint64_t addr = v.runs[i].addr + p * PAGE;
			ssize_t k = find_need(st, addr);
			const uint8_t *page = data;
			const struct page_hash *want;
			struct page_hash got;

			if (v.runs[i].flags & RUN_IN_PARENT) {
				if (k >= 0 && state[k] == NEED_PENDING)
					state[k] = NEED_DEEPER;
				continue;
			}
			data += PAGE;
			if (k < 0 || state[k] != NEED_PENDING)
				continue;
			want = page_index_find(&st->index, addr);
			page_hash_of(addr, page, &got);
			if (!want || want->lo != got.lo || want->hi != got.hi)
				return fail_why("its contents are not those the incremental image was "
						"taken against", "the images are mixed up or damaged",
						"taking page %#llx from parent image %s",
						(unsigned long long)addr, path);
			state[k] = NEED_DONE;
			if (n && (const uint8_t *)remote[n - 1].iov_base + remote[n - 1].iov_len ==
				 (const uint8_t *)(uintptr_t)addr &&
			    (const uint8_t *)local[n - 1].iov_base + local[n - 1].iov_len == page) {
				remote[n - 1].iov_len += PAGE;
				local[n - 1].iov_len += PAGE;
			} else {
				remote[n] = (struct iovec){ (void *)(uintptr_t)addr, PAGE };
				local[n++] = (struct iovec){ (void *)page, PAGE };
			}
			bytes += PAGE;
		}
	}
	if (!n || process_vm_writev(ctx->pid, local, n, remote, n, 0) == (ssize_t)bytes)
		goto done;
	for (i = 0; i < n; i++) {
		int e;
		uint64_t at = remote_mem_transfer(remote_mem_fd(ctx->remote),
						  (uint64_t)(uintptr_t)remote[i].iov_base,
						  local[i].iov_base, local[i].iov_len, true, &e);
		if (at)
			return fail(e, NULL, "writing memory of process %d at %#llx", ctx->pid,
				    (unsigned long long)at);
	}
done:
	ctx->pages_restored += bytes / PAGE;
	return 0;
}

/* One parent of the chain: every page still pending it stores is written;
 * those it takes from its own parent are left for the next one. */
static int restore_from_parent(struct restore_ctx *ctx, struct memory_restore_state *st,
			       uint8_t *state, const char *path)
{
	struct image_reader *r = NULL;
	struct image_meta pm = { 0 };
	struct member_cursor next = { 0 };
	uint8_t *buf = malloc(CHUNK_CAP);
	char pages[MEMBER_PREFIX_MAX + 8];
	size_t plen = (size_t)snprintf(pages, sizeof(pages), "%spages/", ctx->prefix);
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (fd < 0 || !buf) {
		fail(fd < 0 ? errno : ENOMEM, NULL, "opening parent image %s", path);
		goto out;
	}
	if (!(r = image_reader_new(fd)) ||
	    (ctx->opts->trust && image_reader_verify(r, ctx->opts->trust)) ||
	    (ctx->opts->decrypt && image_reader_decrypt(r, ctx->opts->decrypt)) ||
	    meta_read(r, &pm, &next))
		goto out;
	while (next.state == 1) {
		int n;

		if (!strncmp(next.name, pages, plen)) {
			if (next.size > CHUNK_CAP) {
				fail_why("chunk too large", "the parent image is corrupted",
					 "reading %s of parent image %s", next.name, path);
				goto out;
			}
			if (image_read(r, buf, next.size) ||
			    apply_parent_chunk(ctx, st, state, buf, next.size, path, next.name))
				goto out;
		}
		n = image_next_member(r, next.name, &next.size);
		if (n < 0)
			goto out;
		next.state = n;
	}
	ret = 0;
out:
	if (r)
		image_reader_free(r);
	if (fd >= 0)
		close(fd);
	meta_free(&pm);
	free(buf);
	return ret;
}

/* An incremental image: the pages it did not store, from its parents. */
static int restore_from_parents(struct restore_ctx *ctx, struct memory_restore_state *st)
{
	uint8_t *state;
	size_t k, i, left = st->nneed;
	int ret = -1;

	if (!st->nneed)
		return 0;
	if (!st->index.n)
		return fail_why("it takes pages from a parent image but has no page index",
				"the image is corrupted", "reading an incremental image");
	qsort(st->need, st->nneed, sizeof(*st->need), cmp_u64);
	for (i = 1; i < st->nneed; i++)
		if (st->need[i] == st->need[i - 1])
			return fail_why("a page is listed twice", "the image is corrupted",
					"reading an incremental image (page %#llx)",
					(unsigned long long)st->need[i]);
	state = calloc(st->nneed, 1);
	if (!state)
		return fail(ENOMEM, NULL, "reading parent images");
	for (k = 0; k < st->nparents && left; k++) {
		unsigned long long t0 = now_ns();
		uint64_t before = ctx->pages_restored;

		if (restore_from_parent(ctx, st, state, st->parents[k]))
			goto out;
		for (i = 0, left = 0; i < st->nneed; i++) {
			if (state[i] == NEED_PENDING) {
				fail_why("the parent image holds no such page", "the images are "
					 "mixed up or damaged", "taking page %#llx from parent image %s",
					 (unsigned long long)st->need[i], st->parents[k]);
				goto out;
			}
			if (state[i] == NEED_DEEPER) {
				state[i] = NEED_PENDING;
				left++;
			}
		}
		pr_info("%llu pages from parent image %s in %.1f ms",
			(unsigned long long)(ctx->pages_restored - before), st->parents[k],
			(now_ns() - t0) / 1e6);
	}
	if (left) {
		fail_why("the last parent image takes them from a parent of its own", "the chain of "
			 "images is incomplete", "restoring %zu pages of an incremental image", left);
		goto out;
	}
	ret = 0;
out:
	free(state);
	return ret;
}

static int restore_pages(struct restore_ctx *ctx)
{
	size_t cap = CHUNK_CAP;
	struct memory_restore_state *st = ctx->slot[SLOT_MEMORY];
	struct chunk_target target = {
		.meta = &ctx->meta, .pid = ctx->pid, .mem_fd = remote_mem_fd(ctx->remote),
		.st = st && st->parents ? st : NULL,
	};
	uint8_t *buf = malloc(cap);
	struct progress progress;
	uint64_t total = 0;
	char err[512], pages[MEMBER_PREFIX_MAX + 8], index[MEMBER_PREFIX_MAX + 16];
	unsigned seq = 0;
	size_t i, plen;
	int ret = -1;

	snprintf(pages, sizeof(pages), "%spages/", ctx->prefix);
	snprintf(index, sizeof(index), "%s" PAGE_INDEX_MEMBER, ctx->prefix);
	plen = strlen(pages);
	if (!buf)
		return fail(ENOMEM, NULL, "allocating the page buffer");
	/* The process exists now: frames may be decompressed ahead, and
	 * those holding one pages/ member each written in by the thread that
	 * decompressed it. */
	image_reader_set_member_hook(ctx->reader, pages, chunk_hook, &target);
	if (image_reader_start_threads(ctx->reader))
		goto out;
	for (i = 0; i < ctx->meta.nvmas; i++)
		total += ctx->meta.vmas[i].pages_stored * PAGE;	/* zero pages left out */
	progress_start(&progress, "restoring memory", total);
	while (ctx->next.state == 1) {
		int r;
		/* The next process's members (a tree): its turn. */
		if (strncmp(ctx->next.name, pages, plen) && strcmp(ctx->next.name, index) &&
		    !strncmp(ctx->next.name, "proc/", 5))
			break;
		if (!strncmp(ctx->next.name, pages, plen)) {
			/* Numbered in increasing order; a chunk that held only
			 * all-zero pages was not written, so numbers may skip. */
			const char *num = ctx->next.name + plen;
			char *end;
			unsigned long n = strtoul(num, &end, 10);

			if (strlen(num) != 8 || *end || n < seq || n > UINT32_MAX - 1) {
				fail_why("page members out of order", "the image is corrupted",
					 "reading image member %s (expected %s%08u or later)",
					 ctx->next.name, pages, seq);
				goto out;
			}
			seq = n + 1;
		}
		if (!strncmp(ctx->next.name, pages, plen) && !image_member_handled(ctx->reader)) {
			if (ctx->next.size > cap) {
				fail_why("chunk too large", "the image is corrupted",
					 "reading image member %s", ctx->next.name);
				goto out;
			}
			if (image_read(ctx->reader, buf, ctx->next.size))
				goto out;
			if (apply_chunk(&target, buf, ctx->next.size, ctx->next.name, err,
					sizeof(err))) {
				fail_why(err, "the image is corrupted or the process cannot take "
					 "its memory", "reading image");
				goto out;
			}
		} else if (!strcmp(ctx->next.name, index) && !target.st) {
			;	/* a full image's index: for images taken after it */
		} else if (!strcmp(ctx->next.name, index)) {
			void *data;
			size_t len;

			if (target.st->index.e) {
				fail_why("member appears twice", "the image is corrupted",
					 "reading image member %s", ctx->next.name);
				goto out;
			}
			if (ctx->next.size > (16ull << 30) ||
			    image_read_all(ctx->reader, &data, &len))
				goto out;
			r = page_index_decode(data, len, &target.st->index);
			free(data);
			if (r)
				goto out;
		} else if (strncmp(ctx->next.name, pages, plen)) {
			/* (restart would ignore it, and ckpt check refuses it) */
			fail_why("unexpected member after the memory contents", "the image is "
				 "corrupted", "reading image member %s", ctx->next.name);
			goto out;
		}
		progress_update(&progress, __atomic_load_n(&target.pages, __ATOMIC_RELAXED) * PAGE);
		r = image_next_member(ctx->reader, ctx->next.name, &ctx->next.size);
		if (r < 0)
			goto out;
		ctx->next.state = r;
	}
	/* No thread may write into the process any more. */
	image_reader_set_member_hook(ctx->reader, NULL, NULL, NULL);
	ctx->pages_restored = target.pages;
	if (target.st && restore_from_parents(ctx, target.st))
		goto out;
	if (restore_cow_pages(ctx))
		goto out;
	progress_end(&progress, ctx->pages_restored * PAGE);
	ret = 0;
out:
	/* No thread may write into the process once we return. */
	image_reader_set_member_hook(ctx->reader, NULL, NULL, NULL);
	free(buf);
	return ret;
}

static int close_target_fds(struct restore_ctx *ctx)
{
	size_t i, j;

	/* The objects of shared memory came through exec: each fd once. */
	for (i = 0; ctx->vma_shm_fd && i < ctx->meta.nvmas; i++) {
		int fd = ctx->vma_shm_fd[i];

		if (fd < 0)
			continue;
		for (j = i; j < ctx->meta.nvmas; j++)
			if (ctx->vma_shm_fd[j] == fd)
				ctx->vma_shm_fd[j] = -1;
		if (inject(ctx, "closing shared memory", __NR_close, fd, 0, 0, 0, 0, 0, NULL))
			return -1;
	}
	for (i = 0; i < ctx->meta.nfiles; i++) {
		if (ctx->target_file_fds[i] < 0)
			continue;
		if (inject(ctx, "closing a mapped file", __NR_close, ctx->target_file_fds[i], 0, 0,
			   0, 0, 0, NULL))
			return -1;
		ctx->target_file_fds[i] = -1;
	}
	return 0;
}

/* Forked from its parent: where a private mapping of the process is the
 * parent's too (same kind, protection, flags, file and offset), the fork
 * left the parent's pages in it, shared copy-on-write.  Not what the fork
 * does not copy as it is (MADV_DONTFORK, MADV_WIPEONFORK, droppable).
 * Shared anonymous memory both map (one object: shm_ino) at the same
 * offset the fork left mapped as it is, the object itself. */
static bool vma_inheritable(const struct image_meta *m, const struct vma_rec *v,
			    const struct image_meta *pm, const struct vma_rec *u)
{
	const struct file_id_rec *f, *g;

	if (v->kind != u->kind || v->prot != u->prot || v->vmflags != u->vmflags ||
	    (v->vmflags & (VMF_DC | VMF_WF | VMF_DP)))
		return false;
	switch (v->kind) {
	case VMA_ANON_PRIVATE:
	case VMA_HEAP:
	case VMA_STACK:
		return true;
	case VMA_ANON_SHARED:
		return v->shm_ino && v->shm_ino == u->shm_ino && v->pgoff - v->start == u->pgoff - u->start;
	case VMA_FILE_PRIVATE:
		if (v->file_index < 0 || u->file_index < 0 || (size_t)v->file_index >= m->nfiles ||
		    (size_t)u->file_index >= pm->nfiles)
			return false;
		f = &m->files[v->file_index];
		g = &pm->files[u->file_index];
		return f->path && g->path && !strcmp(f->path, g->path) && f->dev == g->dev &&
		       f->ino == g->ino && f->bundled == g->bundled &&
		       v->pgoff - v->start == u->pgoff - u->start;
	default:
		return false;
	}
}

bool memory_vma_kept_by_fork(const struct image_meta *m, const struct vma_rec *v,
			     const struct image_meta *pm)
{
	size_t k;

	for (k = 0; k < pm->nvmas; k++)
		if (pm->vmas[k].start <= v->start && v->end <= pm->vmas[k].end &&
		    vma_inheritable(m, v, pm, &pm->vmas[k]))
			return true;
	return false;
}

/* The ranges kept as the fork from the parent left them (sorted). */
static int find_kept(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta, *pm = ctx->fork_parent;
	struct memory_restore_state *st = restore_state(ctx);
	size_t i, j = 0, k;

	if (!st || !(st->kept = malloc((m->nvmas + pm->nvmas + 1) * sizeof(*st->kept))) ||
	    !(st->kept_shared = malloc((m->nvmas + pm->nvmas + 1) * sizeof(*st->kept_shared))))
		return fail(ENOMEM, NULL, "restoring memory");
	for (i = 0; i < m->nvmas; i++) {
		const struct vma_rec *v = &m->vmas[i];

		while (j < pm->nvmas && pm->vmas[j].end <= v->start)
			j++;
		for (k = j; k < pm->nvmas && pm->vmas[k].start < v->end; k++) {
			const struct vma_rec *u = &pm->vmas[k];

			if (!vma_inheritable(m, v, pm, u))
				continue;
			st->kept_shared[st->nkept] = v->kind == VMA_ANON_SHARED;
			st->kept[st->nkept++] = (struct interval){
				v->start > u->start ? v->start : u->start,
				v->end < u->end ? v->end : u->end };
		}
	}
	return 0;
}

/* In the kept ranges, what this process had differs from the parent's
 * except the pages meta/cow-pages names: the rest is dropped (zero, or
 * the file's again) before its own pages are written in. */
static int drop_unshared(struct restore_ctx *ctx)
{
	const struct memory_restore_state *st = ctx->slot[SLOT_MEMORY];
	const struct image_meta *m = &ctx->meta;
	struct interval *cow = malloc((m->ncow_pages + 1) * sizeof(*cow));
	struct remote_call *calls = NULL;
	size_t n = 0, i, c = 0;
	int ret = -1;

	if (!cow || !(calls = malloc((st->nkept + m->ncow_pages + 1) * sizeof(*calls)))) {
		fail(ENOMEM, NULL, "restoring memory");
		goto out;
	}
	for (i = 0; i < m->ncow_pages; i++)
		cow[i] = (struct interval){ m->cow_pages[i].start,
					    m->cow_pages[i].start + m->cow_pages[i].npages * PAGE };
	qsort(cow, m->ncow_pages, sizeof(*cow), cmp_interval);
	for (i = 0; i < st->nkept; i++) {
		uint64_t at = st->kept[i].start, end = st->kept[i].end;

		if (st->kept_shared[i])
			continue;	/* (the object is the parent's: nothing to drop) */
		while (c < m->ncow_pages && cow[c].end <= at)
			c++;
		for (; at < end; c++) {
			uint64_t stop = c < m->ncow_pages && cow[c].start < end ? cow[c].start : end;

			if (stop > at)
				calls[n++] = (struct remote_call){ .nr = __NR_madvise,
					.arg = { at, stop - at, MADV_DONTNEED } };
			if (stop >= end)
				break;
			at = cow[c].end;
		}
	}
	if (remote_syscall_batch(ctx->remote, calls, n))
		goto out;
	for (i = 0; i < n; i++)
		if (calls[i].ret < 0) {
			fail((int)-calls[i].ret, NULL, "clearing memory at %#lx of the parent's fork",
			     calls[i].arg[0]);
			goto out;
		}
	ret = 0;
out:
	free(cow);
	free(calls);
	return ret;
}

static int memory_restore(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	struct vma_entry *cur = NULL;
	struct interval *iv = NULL, *keep = NULL;
	const struct memory_restore_state *st;
	size_t ncur, niv, nkeep = 0, i;
	uint64_t scratch, temp, block_start = 0, block_end = 0;
	unsigned long long t_start = now_ns(), t0, t1;
	int ret = -1;

	ctx->target_file_fds = malloc((m->nfiles + 1) * sizeof(long));
	if (!ctx->target_file_fds)
		return fail(ENOMEM, NULL, "restoring memory");
	for (i = 0; i < m->nfiles; i++)
		ctx->target_file_fds[i] = -1;
	if (procfs_read_maps(ctx->pid, &cur, &ncur) || check_vdso(ctx, cur, ncur) ||
	    (ctx->fork_parent && find_kept(ctx)))
		goto out;
	st = ctx->slot[SLOT_MEMORY];
	for (i = 0; i < m->nvmas; i++) {
		if (!is_vdso_block(m->vmas[i].kind))
			continue;
		if (!block_end)
			block_start = m->vmas[i].start;
		block_end = m->vmas[i].end;
	}
	/* Scratch and a temporary home for the vDSO block, away from both
	 * the old layout and the one being restored. */
	iv = collect_intervals(m, cur, ncur, &niv);
	if (!iv) {
		fail(ENOMEM, NULL, "restoring memory");
		goto out;
	}
	scratch = find_gap(iv, niv, SCRATCH_SIZE);
	iv[niv++] = (struct interval){ scratch, scratch + SCRATCH_SIZE };
	temp = find_gap(iv, niv, block_end - block_start + PAGE);
	if (!scratch || !temp) {
		fail_why("no free address range", NULL, "preparing the address space");
		goto out;
	}
	if (remote_scratch_map_exec(ctx->remote, scratch, SCRATCH_SIZE))
		goto out;
	keep = malloc((ncur + 1 + (st ? st->nkept : 0)) * sizeof(*keep));
	if (!keep) {
		fail(ENOMEM, NULL, "restoring memory");
		goto out;
	}
	keep[nkeep++] = (struct interval){ scratch, scratch + SCRATCH_SIZE };
	for (i = 0; i < ncur; i++)
		if (!strcmp(cur[i].path, "[vdso]") || !strncmp(cur[i].path, "[vvar", 5))
			keep[nkeep++] = (struct interval){ cur[i].start, cur[i].end };
	for (i = 0; st && i < st->nkept; i++)
		keep[nkeep++] = st->kept[i];
	if (unmap_all_but(ctx, keep, nkeep))
		goto out;
	/* Everything but the vDSO block is gone: it may move anywhere. */
	if (block_end && move_vdso_block(ctx, cur, ncur, block_start, temp))
		goto out;
	t0 = now_ns();
	if (map_all(ctx))
		goto out;
	t1 = now_ns();
	if ((st && st->nkept && drop_unshared(ctx)) || restore_pages(ctx) ||
	    aio_rings_restore(ctx) || close_target_fds(ctx))
		goto out;
	pr_info("address space prepared in %.2f ms, %zu mappings in %.2f ms, %llu pages written "
		"in %.2f ms", (t0 - t_start) / 1e6, m->nvmas, (t1 - t0) / 1e6,
		(unsigned long long)ctx->pages_restored, (now_ns() - t1) / 1e6);
	ret = 0;
out:
	free(keep);
	free(iv);
	free(cur);
	return ret;
}

static void memory_restore_release(struct restore_ctx *ctx)
{
	struct memory_restore_state *st = ctx->slot[SLOT_MEMORY];

	free(ctx->target_file_fds);
	ctx->target_file_fds = NULL;
	if (st) {
		image_paths_free(st->parents, st->nparents);
		free(st->need);
		free(st->kept);
		free(st->kept_shared);
		page_index_free(&st->index);
		pthread_mutex_destroy(&st->lock);
		free(st);
		ctx->slot[SLOT_MEMORY] = NULL;
	}
}

const struct state_ops memory_state_ops = {
	.name = "memory",
	.dump_prepare = memory_dump_prepare,
	.dump = memory_dump,
	.dump_shared = memory_dump_shared,
	.dump_late = memory_dump_late,
	.dump_contents = memory_dump_contents,
	.dump_committed = memory_dump_committed,
	.dump_release = memory_dump_release,
	.check = memory_check,
	.restore = memory_restore,
	.restore_release = memory_restore_release,
};
