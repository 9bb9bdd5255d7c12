/* Process-wide identity: executable, mm fields (code/data/brk/stack/args/
 * env/auxv), cwd, root, umask, personality, comm, CPU features; and, as a
 * separate last step, credentials and dumpable. */
#define LOG_PREFIX "process: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static char *read_trimmed(pid_t pid, const char *name)
{
	char *text;
	size_t len;

	if (procfs_read(pid, name, &text, &len))
		return NULL;
	while (len && (text[len - 1] == '\n'))
		text[--len] = 0;
	return text;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lf = strlen(suffix);
	return ls >= lf && !strcmp(s + ls - lf, suffix);
}

static int dump_paths(struct dump_ctx *ctx, struct process_rec *p)
{
	char buf[PATH_MAX];
	int idx;

	if (procfs_readlink(ctx->live, "exe", buf, sizeof(buf)))
		return -1;
	if (ends_with(buf, " (deleted)")) {
		/* Deleted or replaced since it started: its contents go in the
		 * image (a bundled file), read through /proc/PID/exe. */
		char proc_path[64];
		snprintf(proc_path, sizeof(proc_path), "/proc/%d/exe", ctx->live);
		buf[strlen(buf) - 10] = 0;
		if (bundle_record_replaced(ctx, buf, proc_path, 1, &idx))
			return -1;
	} else if (file_id_record(&ctx->meta, buf, &idx)) {
		return -1;
	}
	p->exe_file = idx + 1;
	if (!(p->exe = strdup(buf)))
		return fail(ENOMEM, NULL, "recording the executable");
	if (procfs_readlink(ctx->live, "cwd", buf, sizeof(buf)))
		return -1;
	if (ends_with(buf, " (deleted)")) {	/* a removed directory: a ghost */
		char proc_path[64];
		snprintf(proc_path, sizeof(proc_path), "/proc/%d/cwd", ctx->live);
		if (fd_ghost_record(ctx, proc_path, buf, &p->cwd_ghost))
			return -1;
		buf[strlen(buf) - 10] = 0;
	}
	if (!(p->cwd = strdup(buf)))
		return fail(ENOMEM, NULL, "recording the cwd");
	if (procfs_readlink(ctx->live, "root", buf, sizeof(buf)) || !(p->root = strdup(buf)))
		return -1;
	return 0;
}

static int dump_cmdline(struct dump_ctx *ctx, struct process_rec *p)
{
	char *text;
	size_t len, i;

	if (procfs_read(ctx->live, "cmdline", &text, &len))
		return -1;
	for (i = 0; i + 1 < len; i++)
		if (!text[i])
			text[i] = ' ';
	p->cmdline = text;
	return 0;
}

static int dump_cpu(struct process_rec *p)
{
	struct cpu_features f;
	char model[64];

	arch_cpu_features(&f);
	arch_cpu_model(model, sizeof(model));
	p->xcr0 = f.xcr0;
	p->xstate_size = arch_xstate_size();
	if (blob_set(&p->cpuid_features, &f, sizeof(f)) || !(p->cpu_model = strdup(model)))
		return fail(ENOMEM, NULL, "recording CPU features");
	return 0;
}

static int process_dump(struct dump_ctx *ctx)
{
	const struct proc_status *s = &ctx->status;
	const struct proc_stat *st = &ctx->stat;
	struct process_rec *p;
	char *text;
	size_t len;
	long ret;

	p = meta_push(&ctx->meta.process, &ctx->meta.nprocess, sizeof(*p));
	if (!p)
		return -1;
	p->pid = ctx->pid;
	p->ppid = st->ppid;
	p->pgid = st->pgrp;
	p->sid = st->session;
	p->umask = s->umask;
	p->ruid = s->uid[0]; p->euid = s->uid[1]; p->suid = s->uid[2]; p->fsuid = s->uid[3];
	p->rgid = s->gid[0]; p->egid = s->gid[1]; p->sgid = s->gid[2]; p->fsgid = s->gid[3];
	if (blob_set(&p->groups, s->groups, s->ngroups * sizeof(s->groups[0])))
		return fail(ENOMEM, NULL, "recording groups");
	p->cap_inh = s->cap_inh; p->cap_prm = s->cap_prm; p->cap_eff = s->cap_eff;
	p->cap_bnd = s->cap_bnd; p->cap_amb = s->cap_amb;
	p->start_code = st->start_code; p->end_code = st->end_code;
	p->start_data = st->start_data; p->end_data = st->end_data;
	p->start_brk = st->start_brk;
	p->start_stack = st->startstack;
	p->arg_start = st->arg_start; p->arg_end = st->arg_end;
	p->env_start = st->env_start; p->env_end = st->env_end;
	/* brk is not in /proc: ask the process (brk(0) returns it). */
	if (remote_syscall_ok(ctx->remote, &ret, "reading the program break", __NR_brk,
			      0, 0, 0, 0, 0, 0))
		return -1;
	p->brk = ret;
	if (remote_syscall_ok(ctx->remote, &ret, "reading dumpable", __NR_prctl,
			      PR_GET_DUMPABLE, 0, 0, 0, 0, 0))
		return -1;
	p->dumpable = ret;
	if (!(p->comm = read_trimmed(ctx->pid, "comm")))
		return -1;
	if (!(text = read_trimmed(ctx->live, "personality")))
		return -1;
	p->personality = strtoull(text, NULL, 16);
	free(text);
	if (procfs_read(ctx->live, "auxv", &text, &len))
		return -1;
	p->auxv.data = text;
	p->auxv.len = len;
	if (dump_paths(ctx, p) || dump_cmdline(ctx, p) || dump_cpu(p))
		return -1;
	return 0;
}

static int check_cpu(const struct process_rec *p)
{
	struct cpu_features have, need = { 0 };
	char missing[512];

	if (p->cpuid_features.len != sizeof(need))
		return fail_why("CPU feature record has an unknown size", "the image is corrupted",
				"checking CPU features");
	memcpy(&need, p->cpuid_features.data, sizeof(need));
	arch_cpu_features(&have);
	if (getenv("CKPT_TEST_HIDE_CPU_FEATURES"))	/* tests: pretend an older CPU */
		memset(&have.leaf7_ebx, 0, sizeof(have.leaf7_ebx));
	if (arch_cpu_features_missing(&need, &have, missing, sizeof(missing)))
		return fail_why("this CPU lacks features the process may use", "restart on a "
				"CPU with at least the same features (image CPU: see ckpt info)",
				"checking CPU features (missing: %s)", missing);
	return 0;
}

/* meta/process names the executable twice: by path, and by its index in
 * meta/files (exe_file, 0 in images from before it).  Both must agree, so
 * that the file restart executes is the one whose identity it checked. */
static bool exe_verified(const struct image_meta *m)
{
	const struct process_rec *p = m->process;
	size_t i;

	if (p->exe_file)
		return p->exe_file <= m->nfiles && m->files[p->exe_file - 1].path &&
		       !strcmp(m->files[p->exe_file - 1].path, p->exe);
	for (i = 0; i < m->nfiles; i++)
		if (m->files[i].path && !strcmp(m->files[i].path, p->exe))
			return true;
	return false;
}

static int process_check(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	size_t i;

	if (!image_path_ok(p->exe) || !image_path_ok(p->cwd) || !image_path_ok(p->root) ||
	    p->cwd_ghost > ctx->meta.nghosts ||
	    (p->cwd_ghost && ctx->meta.ghosts[p->cwd_ghost - 1].kind != GHOST_DIR))
		return fail_why("invalid process record", "the image is corrupted",
				"checking the image");
	/* The executable restart runs is one of the files it verifies. */
	if (!exe_verified(&ctx->meta))
		return fail_why("the executable is not among the files the image records",
				"the image is damaged or was made to run another program",
				"checking the executable %s", p->exe);
	for (i = 0; i < ctx->meta.nfiles; i++) {
		const struct file_id_rec *f = &ctx->meta.files[i];
		if (!image_path_ok(f->path))
			return fail_why("invalid file record", "the image is corrupted",
					"checking the image");
		if (file_id_check(ctx, i, strcmp(f->path, p->exe) ? "mapped file" : "executable"))
			return -1;
	}
	if (p->auxv.len > 2 * 8 * 64 || p->auxv.len % 16)
		return fail_why("invalid auxv", "the image is corrupted", "checking the image");
	return check_cpu(p);
}

static int process_restore_child(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;

	if (ctx->fs_from_parent)
		goto personality;	/* one fs_struct: its parent sets it */
	if (strcmp(p->root, "/") && chroot(p->root))
		return fail(errno, NULL, "changing root to %s", p->root);
	if (p->cwd_ghost) {
		/* Removed: made again, entered, removed again. */
		int fd = fd_ghost_create(&ctx->meta, p->cwd_ghost - 1);
		if (fd < 0)
			return -1;
		if (fchdir(fd)) {
			close(fd);
			return fail(errno, NULL, "changing directory to %s (removed)", p->cwd);
		}
		close(fd);
	} else if (chdir(p->cwd)) {
		return fail(errno, "the directory must exist on this host",
			    "changing directory to %s", p->cwd);
	}
	umask(p->umask);
personality:
	if (personality(p->personality) < 0)
		return fail(errno, NULL, "setting personality %#llx",
			    (unsigned long long)p->personality);
	return 0;
}

/* After exec of a stand-in (restart/restore.c: the executable's program
 * interpreter missing here), an fd in the process on the executable it
 * should have, for PR_SET_MM_MAP's exe_fd; -1 when exec ran the right one
 * (then it must stay: that file is mapped, and the kernel refuses to
 * replace a mapped exe). */
static int exe_fd_needed(struct restore_ctx *ctx, long *fd)
{
	const char *exe = bundle_exe_path(ctx);
	char proc_exe[64];
	struct stat want, have;
	uint64_t addr;

	*fd = -1;
	snprintf(proc_exe, sizeof(proc_exe), "/proc/%d/exe", ctx->pid);
	if (stat(exe, &want) || stat(proc_exe, &have) ||
	    (want.st_dev == have.st_dev && want.st_ino == have.st_ino))
		return 0;
	pr_info("exec ran a stand-in (%s's program interpreter is missing here): "
		"setting the executable", exe);
	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, exe, strlen(exe) + 1, &addr))
		return -1;
	return remote_syscall_ok(ctx->remote, fd, "opening the executable", __NR_openat,
				 AT_FDCWD, addr, O_RDONLY | O_CLOEXEC, 0, 0, 0);
}

static int set_mm(struct restore_ctx *ctx, const struct process_rec *p)
{
	struct prctl_mm_map map = {
		.start_code = p->start_code, .end_code = p->end_code,
		.start_data = p->start_data, .end_data = p->end_data,
		.start_brk = p->start_brk, .brk = p->brk,
		.start_stack = p->start_stack,
		.arg_start = p->arg_start, .arg_end = p->arg_end,
		.env_start = p->env_start, .env_end = p->env_end,
		.auxv_size = p->auxv.len,
		.exe_fd = (uint32_t)-1,	/* exec already set the same executable */
	};
	uint64_t auxv_addr, map_addr;
	long exe_fd;
	int ret;

	if (exe_fd_needed(ctx, &exe_fd))
		return -1;
	map.exe_fd = exe_fd < 0 ? (uint32_t)-1 : (uint32_t)exe_fd;
	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, p->auxv.data, p->auxv.len, &auxv_addr))
		return -1;
	map.auxv = (__u64 *)auxv_addr;
	if (remote_scratch_put(ctx->remote, &map, sizeof(map), &map_addr))
		return -1;
	ret = remote_syscall_ok(ctx->remote, NULL, "restoring mm fields (PR_SET_MM_MAP)",
				__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, map_addr, sizeof(map), 0, 0);
	if (exe_fd >= 0 && remote_syscall_ok(ctx->remote, NULL, "closing the executable",
					     __NR_close, exe_fd, 0, 0, 0, 0, 0))
		ret = -1;
	return ret;
}

static int process_restore(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	char comm[16] = { 0 };
	uint64_t addr;

	if (set_mm(ctx, p))
		return -1;
	snprintf(comm, sizeof(comm), "%s", p->comm ? p->comm : "");
	remote_scratch_reset(ctx->remote);
	if (remote_scratch_put(ctx->remote, comm, sizeof(comm), &addr))
		return -1;
	return remote_syscall_ok(ctx->remote, NULL, "restoring the command name", __NR_prctl,
				 PR_SET_NAME, addr, 0, 0, 0, 0);
}

const struct state_ops process_state_ops = {
	.name = "process",
	.dump = process_dump,
	.check = process_check,
	.restore_child = process_restore_child,
	.restore = process_restore,
};

