/* Mapping attributes that go on once the mappings and their contents are
 * in place (the memory module made them, with the flags mmap and madvise
 * give): guard regions (MADV_GUARD_INSTALL), locks (mlock, mlock2
 * MLOCK_ONFAULT, MAP_LOCKED, mlockall MCL_CURRENT), the names of
 * anonymous mappings (PR_SET_VMA_ANON_NAME), seals (mseal), and the
 * process-wide mlockall(MCL_FUTURE) and PR_SET_MEMORY_MERGE (KSM).
 *
 * Order on restore: mappings kept writable for their pages protected as
 * they were (see vma_protect_late()), guards before locks (the kernel refuses guards in a
 * locked mapping), seals last (a sealed mapping takes no more changes),
 * MCL_FUTURE after every mapping of the image (else restart's own would
 * be locked too).
 *
 * Guard regions are page-table markers, not vma flags: PAGEMAP_SCAN
 * reports them as PAGE_IS_GUARD (Linux 6.14); kept in meta/guards.  MCL_FUTURE is mm->def_flags,
 * which nothing shows: a page mapped in the stopped process tells
 * (counted in VmLck if it is set; present at once unless MCL_ONFAULT). */
#define LOG_PREFIX "mapattrs: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE ARCH_PAGE_SIZE

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef __NR_mseal
#define __NR_mseal 462
#endif

#include "pagemap_scan.h"

static const char *vma_what(const struct vma_rec *v, char *buf, size_t size)
{
	snprintf(buf, size, "mapping %#llx-%#llx %s", (unsigned long long)v->start,
		 (unsigned long long)v->end, v->path);
	return buf;
}

static bool holds_memory(uint32_t kind)
{
	return kind != VMA_VDSO && kind != VMA_VVAR && kind != VMA_VSYSCALL;
}

/* ------------------------------------------------------------------ */
/* dump half                                                          */

/* Record [start, end), cut at mapping boundaries (a scan region may
 * span two adjacent mappings). */
static int add_guard(struct image_meta *m, uint64_t start, uint64_t end)
{
	size_t i;

	for (i = 0; i < m->nvmas && start < end; i++) {
		const struct vma_rec *v = &m->vmas[i];
		struct guard_rec *g;

		if (v->end <= start || v->start >= end)
			continue;
		g = meta_push(&m->guards, &m->nguards, sizeof(*g));
		if (!g)
			return -1;
		g->start = start > v->start ? start : v->start;
		g->end = end < v->end ? end : v->end;
		start = g->end;
	}
	return 0;
}

/* Every guard region of the address space, in one scan. */
static int dump_guards(struct dump_ctx *ctx)
{
	enum { NREG = 256 };
	struct page_region reg[NREG];
	struct pm_scan_arg arg = {
		.size = sizeof(arg), .start = 0, .end = ARCH_TASK_SIZE,
		.vec = (uintptr_t)reg, .vec_len = NREG,
		.category_anyof_mask = PAGE_IS_GUARD, .return_mask = PAGE_IS_GUARD,
	};
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", ctx->live);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, NULL, "opening %s", path);
	while (arg.start < arg.end && !ret) {
		long n = ioctl(fd, PAGEMAP_SCAN, &arg), i;
		uint64_t next = arg.walk_end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOTTY) && arg.start == 0) {
			/* Before 6.14 nothing reports guard regions; 6.13 can
			 * install them.  Say so rather than lose them quietly. */
			pr_warn("this kernel cannot report guard regions (MADV_GUARD_INSTALL, "
				"Linux 6.14): any the process has are not saved");
			break;
		}
		if (n < 0) {
			ret = fail(errno, NULL, "scanning for guard regions at %#llx",
				   (unsigned long long)arg.start);
			break;
		}
		for (i = 0; i < n && !ret; i++)
			ret = add_guard(&ctx->meta, reg[i].start, reg[i].end);
		if (n < NREG)
			break;
		/* A full vector can leave walk_end short (see README). */
		if (next < reg[n - 1].end)
			next = reg[n - 1].end;
		if (next <= arg.start) {
			ret = fail_why("the scan made no progress", "please report it",
				       "scanning for guard regions at %#llx",
				       (unsigned long long)arg.start);
			break;
		}
		arg.start = next;
	}
	close(fd);
	if (ctx->meta.nguards)
		pr_info("%zu guard regions", ctx->meta.nguards);
	return ret;
}

static int read_vmlck(pid_t pid, uint64_t *kb)
{
	char *text, *at;
	size_t len;

	if (procfs_read(pid, "status", &text, &len))
		return -1;
	at = strstr(text, "\nVmLck:");
	if (!at) {
		free(text);
		return fail_why("no VmLck in /proc/PID/status", NULL, "reading locked memory");
	}
	*kb = strtoull(at + 7, NULL, 10);
	free(text);
	return 0;
}

/* mlockall(MCL_FUTURE): map one shared page (shmem never merges with the
 * process's mappings) and see whether the kernel locked it. */
static int dump_mlock_future(struct dump_ctx *ctx)
{
	uint64_t before, after, pm = 0;
	char path[64];
	long addr;
	int fd;

	if (read_vmlck(ctx->live, &before) ||
	    remote_syscall(ctx->remote, &addr, __NR_mmap, 0, PAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0))
		return -1;
	if (addr == -EAGAIN)
		return fail_why("the locked-memory limit (RLIMIT_MEMLOCK) is reached and new "
				"mappings are locked (mlockall MCL_FUTURE)", "raise the process's "
				"RLIMIT_MEMLOCK a little (prlimit --memlock) and checkpoint again",
				"testing for mlockall(MCL_FUTURE)");
	if (addr < 0 && addr > -4096)
		return fail((int)-addr, NULL, "testing for mlockall(MCL_FUTURE)");
	if (read_vmlck(ctx->live, &after))
		goto unmap;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", ctx->live);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &pm, 8, (addr / PAGE) * 8) != 8) {
		fail(errno, NULL, "reading %s", path);
		if (fd >= 0)
			close(fd);
		goto unmap;
	}
	close(fd);
	if (remote_syscall_ok(ctx->remote, NULL, "unmapping the test page", __NR_munmap, addr,
			      PAGE, 0, 0, 0, 0))
		return -1;
	if (after > before)
		ctx->meta.process->mlock_future = MCL_FUTURE | (pm >> 63 ? 0 : MCL_ONFAULT);
	return 0;
unmap:
	if (remote_syscall(ctx->remote, &addr, __NR_munmap, addr, PAGE, 0, 0, 0, 0))
		pr_warn("could not unmap the test page at %#lx", addr);
	return -1;
}

static int mapattrs_dump(struct dump_ctx *ctx)
{
	long ret;

	if (dump_guards(ctx) || dump_mlock_future(ctx))
		return -1;
	/* EINVAL: a kernel without KSM, nothing to restore. */
	if (remote_syscall(ctx->remote, &ret, __NR_prctl, PR_GET_MEMORY_MERGE, 0, 0, 0, 0, 0))
		return -1;
	if (ret < 0 && ret != -EINVAL)
		return fail((int)-ret, NULL, "reading PR_GET_MEMORY_MERGE");
	ctx->meta.process->memory_merge = ret > 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* restore half                                                       */

static bool has_cap(int cap)
{
	struct proc_status st;

	return !procfs_read_status(getpid(), &st) && (st.cap_eff >> cap) & 1;
}

static uint64_t memlock_limit(const struct image_meta *m)
{
	size_t i;

	for (i = 0; i < m->nrlimits; i++)
		if (m->rlimits[i].resource == RLIMIT_MEMLOCK)
			return m->rlimits[i].cur;
	return RLIM_INFINITY;
}

/* In order, page aligned, each inside one mapping holding memory. */
static int check_guards(const struct image_meta *m)
{
	uint64_t prev = 0;
	size_t i;

	for (i = 0; i < m->nguards; i++) {
		const struct guard_rec *g = &m->guards[i];
		const struct vma_rec *v = meta_find_vma(m, g->start);

		if (g->start % PAGE || g->end % PAGE || g->start < prev || g->end <= g->start ||
		    !v || !holds_memory(v->kind) || g->end > v->end)
			return fail_why("invalid guard region record", "the image is corrupted",
					"checking guard region %#llx-%#llx",
					(unsigned long long)g->start, (unsigned long long)g->end);
		prev = g->end;
	}
	return 0;
}

static int mapattrs_check(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	const uint32_t future = m->process->mlock_future;
	uint64_t locked = 0, limit = memlock_limit(m);
	size_t i;

	if (future && future != MCL_FUTURE && future != (MCL_FUTURE | MCL_ONFAULT))
		return fail_why("invalid mlockall flags", "the image is corrupted",
				"checking mlockall(%#x)", future);
	if (check_guards(m))
		return -1;
	for (i = 0; i < m->nvmas; i++) {
		if (m->vmas[i].vmflags & VMF_LO)
			locked += m->vmas[i].end - m->vmas[i].start;
	}
	/* The restored process runs with restart's credentials until the
	 * last step: without CAP_IPC_LOCK the image's RLIMIT_MEMLOCK bounds
	 * what it may lock, and restart cannot raise it (no CAP_SYS_RESOURCE
	 * either, usually). */
	if (locked && limit != RLIM_INFINITY && locked > limit && !has_cap(CAP_IPC_LOCK))
		return fail_why("more memory is locked than the process's RLIMIT_MEMLOCK allows, "
				"and restart lacks CAP_IPC_LOCK", "run restart as root (or with "
				"CAP_IPC_LOCK)", "restoring %llu KiB of locked memory (limit %llu KiB)",
				(unsigned long long)locked >> 10, (unsigned long long)limit >> 10);
	return 0;
}

/* The name of an anonymous mapping, from its path: "[anon:NAME]" or
 * "[anon_shmem:NAME]"; NULL if it has none. */
static const char *anon_name(const struct vma_rec *v, char *buf, size_t size)
{
	const char *p = v->path, *name;
	size_t len;

	if (v->kind != VMA_ANON_PRIVATE && v->kind != VMA_ANON_SHARED)
		return NULL;
	if (!strncmp(p, "[anon:", 6))
		name = p + 6;
	else if (!strncmp(p, "[anon_shmem:", 12))
		name = p + 12;
	else
		return NULL;
	len = strlen(name);
	if (!len || name[len - 1] != ']' || len >= size)
		return NULL;
	memcpy(buf, name, len - 1);
	buf[len - 1] = 0;
	return buf;
}

static int restore_names(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	char name[256], what[PATH_MAX + 64];
	uint64_t addr;
	size_t i;

	for (i = 0; i < m->nvmas; i++) {
		const struct vma_rec *v = &m->vmas[i];

		if (!anon_name(v, name, sizeof(name)))
			continue;
		snprintf(what, sizeof(what), "naming mapping %#llx-%#llx %s",
			 (unsigned long long)v->start, (unsigned long long)v->end, v->path);
		remote_scratch_reset(ctx->remote);
		if (remote_scratch_put(ctx->remote, name, strlen(name) + 1, &addr) ||
		    remote_syscall_ok(ctx->remote, NULL, what, __NR_prctl, PR_SET_VMA,
				      PR_SET_VMA_ANON_NAME, v->start, v->end - v->start, addr, 0))
			return -1;
	}
	return 0;
}

enum { STEP_PROTECT, STEP_GUARD, STEP_LOCK, STEP_SEAL, NSTEPS };

static const char *const step_what[NSTEPS] = {
	[STEP_PROTECT] = "protecting",
	[STEP_GUARD] = "installing a guard region in",
	[STEP_LOCK] = "locking",
	[STEP_SEAL] = "sealing",
};

/* The calls of one step, for every mapping (owner: its index). */
static size_t step_calls(const struct image_meta *m, int step, struct remote_call *calls,
			 size_t *owner)
{
	size_t i, n = 0;

	if (step == STEP_GUARD) {
		for (i = 0; i < m->nguards; i++) {
			const struct guard_rec *g = &m->guards[i];
			owner[n] = meta_find_vma(m, g->start) - m->vmas;
			calls[n++] = (struct remote_call){ .nr = __NR_madvise,
				.arg = { g->start, g->end - g->start, MADV_GUARD_INSTALL } };
		}
		return n;
	}
	for (i = 0; i < m->nvmas; i++) {
		const struct vma_rec *v = &m->vmas[i];

		if (!holds_memory(v->kind))
			continue;
		if (step == STEP_PROTECT && vma_protect_late(v)) {
			owner[n] = i;
			calls[n++] = (struct remote_call){ .nr = __NR_mprotect,
				.arg = { v->start, v->end - v->start, v->prot } };
		} else if (step == STEP_LOCK && (v->vmflags & VMF_LO)) {
			owner[n] = i;
			calls[n++] = (struct remote_call){ .nr = __NR_mlock2, .arg = { v->start,
				v->end - v->start, v->vmflags & VMF_LF ? MLOCK_ONFAULT : 0 } };
		} else if (step == STEP_SEAL && (v->vmflags & VMF_SL)) {
			owner[n] = i;
			calls[n++] = (struct remote_call){ .nr = __NR_mseal,
				.arg = { v->start, v->end - v->start, 0 } };
		}
	}
	return n;
}

static int step_failed(const struct image_meta *m, int step, const struct remote_call *c,
		       size_t owner)
{
	char what[PATH_MAX + 64];
	int err = (int)-c->ret;

	vma_what(&m->vmas[owner], what, sizeof(what));
	if (step == STEP_LOCK && (err == ENOMEM || err == EPERM || err == EAGAIN))
		return fail(err, "the process's RLIMIT_MEMLOCK is too low for what it had "
			    "locked, and restart cannot raise it: run restart as root (or with "
			    "CAP_IPC_LOCK)", "locking %s", what);
	if (step == STEP_GUARD && err == EINVAL)
		return fail(err, "this kernel does not take guard regions there "
			    "(MADV_GUARD_INSTALL needs Linux 6.13)", "%s %s", step_what[step], what);
	if (step == STEP_SEAL && err == ENOSYS)
		return fail(err, "mseal needs Linux 6.10", "%s %s", step_what[step], what);
	return fail(err, NULL, "%s %s", step_what[step], what);
}

static int mapattrs_restore(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	const struct process_rec *p = m->process;
	struct remote_call *calls = NULL;
	size_t *owner = NULL, max, n, k;
	int step, ret = -1;

	max = m->nguards + m->nvmas * NSTEPS;
	calls = malloc((max + 1) * sizeof(*calls));
	owner = malloc((max + 1) * sizeof(*owner));
	if (!calls || !owner) {
		fail(ENOMEM, NULL, "restoring mapping attributes");
		goto out;
	}
	for (step = 0; step < NSTEPS; step++) {
		if (step == STEP_SEAL && restore_names(ctx))
			goto out;
		n = step_calls(m, step, calls, owner);
		if (!n)
			continue;
		if (remote_syscall_batch(ctx->remote, calls, n))
			goto out;
		for (k = 0; k < n; k++)
			if (calls[k].ret < 0 && calls[k].ret > -4096) {
				step_failed(m, step, &calls[k], owner[k]);
				goto out;
			}
	}
	if (p->memory_merge &&
	    remote_syscall_ok(ctx->remote, NULL, "restoring PR_SET_MEMORY_MERGE", __NR_prctl,
			      PR_SET_MEMORY_MERGE, 1, 0, 0, 0, 0))
		goto out;
	if (p->mlock_future &&
	    remote_syscall_ok(ctx->remote, NULL, "restoring mlockall(MCL_FUTURE)", __NR_mlockall,
			      p->mlock_future, 0, 0, 0, 0, 0))
		goto out;
	ret = 0;
out:
	free(calls);
	free(owner);
	return ret;
}

const struct state_ops mapattrs_state_ops = {
	.name = "mapping attributes",
	.dump = mapattrs_dump,
	.check = mapattrs_check,
	.restore = mapattrs_restore,
};
