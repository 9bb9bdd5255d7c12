/* The fd table: which fds, of which kind, sharing which open files; and
 * its reconstruction in the restart child, before exec (which keeps it).
 * Each kind of file is handled in its own fd_*.c (see fds.h). */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef __O_TMPFILE
#define __O_TMPFILE (O_TMPFILE & ~O_DIRECTORY)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Asked in this order; the first that matches takes the fd. */
static const struct fd_kind_ops *const fd_kinds[] = {
	&fd_pty_master_kind, &fd_pty_slave_kind, &fd_devtty_kind,
	&fd_memfd_kind, &fd_deleted_kind, &fd_opath_kind, &fd_regular_kind, &fd_directory_kind,
	&fd_chardev_kind, &fd_fifo_kind, &fd_fifo_deleted_kind, &fd_ext_pipe_kind, &fd_pipe_kind,
	&fd_eventfd_kind, &fd_timerfd_kind, &fd_signalfd_kind, &fd_epoll_kind, &fd_tcp_kind,
	&fd_udp_kind, &fd_ping_kind, &fd_raw_kind, &fd_netlink_kind,
	&fd_packet_kind, &fd_ext_unix_kind, &fd_unix_kind,
	&fd_inotify_kind, &fd_fanotify_kind, &fd_nsfs_kind, &fd_pidfd_kind, NULL,
};

static const struct fd_kind_ops *kind_of(uint32_t kind)
{
	const struct fd_kind_ops *const *k;

	for (k = fd_kinds; *k; k++)
		if ((*k)->kind == kind)
			return *k;
	return NULL;
}

const char *fd_kind_tag(uint32_t kind)
{
	const struct fd_kind_ops *k = kind_of(kind);

	if (kind == FD_STDIO)
		return "stdio";
	return k ? k->tag : "?";
}

bool fdinfo_scan(const char *fdinfo, const char *key, const char *fmt, void *out)
{
	size_t klen = strlen(key);
	const char *line;

	for (line = fdinfo; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return sscanf(line + klen + 1, fmt, out) == 1;
	return false;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* pid may be a thread other than the leader (the live thread of a process
 * whose leader has exited, whose own fd table is gone): a thread pidfd. */
int fd_steal(pid_t pid, int fd)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0), copy;

	if (pidfd < 0 && (errno == EINVAL || errno == ENOENT))
		pidfd = syscall(SYS_pidfd_open, pid, PIDFD_THREAD);

	if (pidfd < 0)
		return fail(errno, NULL, "opening a pidfd for %d", pid);
	copy = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (copy < 0)
		fail(errno, NULL, "copying fd %d of %d (pidfd_getfd)", fd, pid);
	close(pidfd);
	return copy;
}

int fd_spare(struct fd_child *c, int fd)
{
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, c->spare_base);

	if (moved < 0)
		return fail(errno, NULL, "keeping fd %d aside", fd);
	close(fd);
	return moved;
}

int fd_reopen_flags(const struct fd_rec *rec)
{
	int flags = rec->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC);

	/* O_TMPFILE shows as __O_TMPFILE | O_DIRECTORY: a regular file. */
	if (flags & __O_TMPFILE)
		flags &= ~(__O_TMPFILE | O_DIRECTORY);
	return flags;
}

/* Terminals: ttyN/ttySN (4), tty/console/ptmx (5), pseudo-terminals. */
static bool is_terminal(const struct stat *st)
{
	unsigned maj = major(st->st_rdev);
	return S_ISCHR(st->st_mode) && (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143));
}

static bool is_stdio(const struct fd_dump *d)
{
	/* A pipe on 0-2 counts as stdio unless the process holds both ends. */
	return d->fd <= 2 && (is_terminal(&d->st) || S_ISSOCK(d->st.st_mode) ||
			      (S_ISFIFO(d->st.st_mode) && d->link[0] != '/' &&
			       !fd_pipe_inside(d)));
}

static int read_one(pid_t pid, int fd, struct fd_dump *d)
{
	char name[64];
	size_t len;

	d->fd = fd;
	snprintf(name, sizeof(name), "fd/%d", fd);
	if (procfs_readlink(pid, name, d->link, sizeof(d->link)) ||
	    procfs_read_fdinfo(pid, fd, &d->fi))
		return -1;
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	if (procfs_read(pid, name, &d->fdinfo, &len))
		return -1;
	snprintf(name, sizeof(name), "/proc/%d/fd/%d", pid, fd);
	if (stat(name, &d->st))
		return fail(errno, NULL, "checking fd %d (%s)", fd, d->link);
	d->sock_domain = d->sock_type = d->sock_protocol = -1;
	d->own_fd = -1;
	if (S_ISSOCK(d->st.st_mode)) {
		socklen_t len = sizeof(int);
		int copy = fd_steal(pid, fd);
		if (copy < 0)
			return -1;
		getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &d->sock_domain, &len);
		len = sizeof(int);
		getsockopt(copy, SOL_SOCKET, SO_TYPE, &d->sock_type, &len);
		len = sizeof(int);
		getsockopt(copy, SOL_SOCKET, SO_PROTOCOL, &d->sock_protocol, &len);
		close(copy);
	}
	return 0;
}

int fd_dump_read_own(int own_fd, int number, struct fd_dump *d)
{
	memset(d, 0, sizeof(*d));
	if (read_one(getpid(), own_fd, d))
		return -1;
	d->fd = number;
	d->own_fd = own_fd;
	return 0;
}

/* A file in flight is dumped from our own copy, as if it were an fd of
 * ours (the kinds that allow it read it through /proc/self and
 * pidfd_getfd of ourselves), under its number in the image. */
static int dump_inflight(struct dump_ctx *ctx, struct fd_dump *d, struct fd_rec *rec,
			 const struct fd_kind_ops *k)
{
	struct dump_ctx self = *ctx;
	size_t nepolls = ctx->meta.nepolls, i;
	int number = d->fd, ret;

	if (!k->inflight_ok)
		return fail_why("it is in flight in a unix socket queue (SCM_RIGHTS), and a "
				"file of this kind cannot be saved from there yet",
				"receive it before checkpointing", "checking the %s %s",
				k->name, d->link);
	rec->inflight = 1;
	rec->cloexec = 0;		/* our copy's; an fd in flight has none */
	free(rec->description);
	if (asprintf(&rec->description, "%s (in flight)", d->link) < 0) {
		rec->description = NULL;
		return fail(ENOMEM, NULL, "recording fds");
	}
	self.pid = self.live = getpid();
	self.leader_exited = false;
	d->fd = d->own_fd;
	ret = k->dump ? k->dump(&self, d, rec) : 0;
	d->fd = number;
	ctx->meta = self.meta;
	memcpy(ctx->slot, self.slot, sizeof(ctx->slot));
	rec->fd = number;
	/* An epoll in flight: its watches are its own under its number. */
	for (i = nepolls; i < ctx->meta.nepolls; i++)
		ctx->meta.epolls[i].epfd = number;
	return ret;
}

/* Who gets SIGIO/SIGURG and lease breaks for the open file (F_SETOWN_EX,
 * F_SETSIG): it belongs to the open file, so a copy of the fd reads it. */
static int dump_owner(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct f_owner_ex owner = { 0 };
	int copy, sig;

	if (d->fi.flags & O_PATH)	/* no owner: fcntl says EBADF */
		return 0;
	copy = fd_steal(ctx->live, d->fd);
	if (copy < 0)
		return -1;
	sig = fcntl(copy, F_GETSIG);
	if (fcntl(copy, F_GETOWN_EX, &owner) || sig < 0) {
		close(copy);
		return fail(errno, NULL, "reading the owner of fd %d (%s)", d->fd, d->link);
	}
	close(copy);
	rec->fown_type = owner.type;
	rec->fown_pid = owner.pid;
	rec->fown_sig = sig;
	if (owner.pid && owner.type == F_OWNER_TID && owner.pid != ctx->pid)
		return fail_why("its signal owner is a thread other than the main one (not "
				"supported yet)", "F_SETOWN_EX the main thread or the process",
				"checking fd %d (%s)", d->fd, d->link);
	return 0;
}

static int dump_one(struct dump_ctx *ctx, struct fd_dump *d, size_t index)
{
	const struct fd_kind_ops *const *k;
	struct fd_rec *rec = meta_push(&ctx->meta.fds, &ctx->meta.nfds, sizeof(*rec));
	size_t j;

	if (!rec)
		return -1;
	rec->fd = d->fd;
	rec->flags = d->fi.flags & ~O_CLOEXEC;
	rec->cloexec = !!(d->fi.flags & O_CLOEXEC);
	rec->pos = d->fi.pos;
	rec->size = d->st.st_size;
	rec->mtime_ns = (uint64_t)d->st.st_mtim.tv_sec * 1000000000ull + d->st.st_mtim.tv_nsec;
	if (!(rec->description = strdup(d->link)))
		return fail(ENOMEM, NULL, "recording fds");
	if (d->own_fd >= 0) {
		for (k = fd_kinds; *k; k++)
			if ((*k)->match(d)) {
				rec->kind = (*k)->kind;
				return dump_inflight(ctx, d, rec, *k);
			}
		return fail_why("it is in flight in a unix socket queue (SCM_RIGHTS), and this "
				"kind of file is not supported", "receive it before checkpointing",
				"checking %s", d->link);
	}
	/* dup'ed (or inherited) fds share one open file: offset and flags. */
	for (j = 0; j < index; j++) {
		if (syscall(SYS_kcmp, ctx->live, ctx->live, KCMP_FILE, d->all[j].fd, d->fd) == 0) {
			rec->share_index = j + 1;
			rec->kind = ctx->meta.fds[j].kind;
			return 0;
		}
	}
	if (is_stdio(d)) {
		rec->kind = FD_STDIO;
		return 0;
	}
	for (k = fd_kinds; *k; k++) {
		if (!(*k)->match(d))
			continue;
		rec->kind = (*k)->kind;
		if ((*k)->dump && (*k)->dump(ctx, d, rec))
			return -1;
		return dump_owner(ctx, d, rec) || fd_locks_dump(ctx, d) ? -1 : 0;
	}
	return fail_why(S_ISSOCK(d->st.st_mode) ? "sockets are not supported yet" :
			"this kind of file descriptor is not supported yet",
			"close it before checkpointing, or wait for a newer ckpt",
			"checking fd %d (%s)", d->fd, d->link);
}

static int fds_dump(struct dump_ctx *ctx)
{
	const struct fd_kind_ops *const *k;
	struct fd_dump *all;
	int *fds;
	size_t n, i;
	int ret = -1;

	if (procfs_list_fds(ctx->live, &fds, &n))
		return -1;
	all = calloc(n + 1, sizeof(*all));
	if (!all) {
		free(fds);
		return fail(ENOMEM, NULL, "recording fds");
	}
	for (i = 0; i < n; i++)
		if (read_one(ctx->live, fds[i], &all[i]))
			goto out;
	for (k = fd_kinds; *k; k++)
		if ((*k)->collect && (*k)->collect(ctx, &all, &n))
			goto out;
	for (i = 0; i < n; i++) {
		all[i].all = all;
		all[i].nall = n;
		all[i].pid = ctx->pid;
		all[i].live = all[i].own_fd >= 0 ? getpid() : ctx->live;
		all[i].tree_pipes = ctx->tree_pipes;
		all[i].ext_unix = ctx->opts && ctx->opts->ext_unix;
	}
	for (i = 0; i < n; i++)
		if (dump_one(ctx, &all[i], i))
			goto out;
	ret = 0;
out:
	for (i = 0; i < n; i++) {
		free(all[i].fdinfo);
		if (all[i].own_fd >= 0)
			close(all[i].own_fd);
	}
	free(all);
	free(fds);
	return ret;
}

bool tree_has_pid(const struct tree_pipes *tp, pid_t pid)
{
	size_t i;

	for (i = 0; tp && i < tp->npids; i++)
		if (tp->pids[i] == pid)
			return true;
	return false;
}

static int fds_check(struct restore_ctx *ctx)
{
	size_t i;

	/* restart --inherit-fd first: a mistake there is told alone, before
	 * the warnings about the external ends it does not connect. */
	if (fd_external_check_opts(ctx))
		return -1;

	for (i = 0; i < ctx->meta.nfds; i++) {
		const struct fd_rec *f = &ctx->meta.fds[i];
		const struct fd_kind_ops *k = kind_of(f->kind);

		if (f->fd < 0 || f->fd > (1 << 20) || (i && f->fd <= ctx->meta.fds[i - 1].fd) ||
		    f->share_index > i || (f->kind == FD_STDIO && f->fd > 2) ||
		    f->fown_type < F_OWNER_TID || f->fown_type > F_OWNER_PGRP ||
		    f->fown_pid < 0 || f->fown_sig < 0 || f->fown_sig > 64 || f->inflight > 1 ||
		    (i && !f->inflight && ctx->meta.fds[i - 1].inflight) || f->tree_pid < 0 ||
		    (f->tree_pid && (f->share_index || f->kind == FD_STDIO || f->inflight)) ||
		    (f->kind != FD_STDIO && !k))
			return fail_why("invalid fd record", "the image is corrupted",
					"checking fd %d", f->fd);
		if (!f->share_index && k && k->check && k->check(ctx, f))
			return -1;
	}
	return 0;
}

static int place_fd(int from, int to)
{
	if (from == to)
		return 0;
	if (dup2(from, to) < 0)
		return -1;
	return close(from);
}

/* The signal owner, in the restart child: the process itself (whatever
 * its PID now) or its process group (restart's, unless it led its own), or
 * another process that must exist. */
static int restore_owner(struct restore_ctx *ctx, const struct fd_rec *f)
{
	const struct process_rec *p = ctx->meta.process;
	struct f_owner_ex owner = { .type = f->fown_type, .pid = f->fown_pid };

	if (f->fown_sig && fcntl(f->fd, F_SETSIG, f->fown_sig))
		return fail(errno, NULL, "setting the signal of fd %d (%d)", f->fd, f->fown_sig);
	if (!f->fown_pid)
		return 0;
	if (f->fown_type != F_OWNER_PGRP && f->fown_pid == p->pid)
		owner.pid = getpid();
	else if (f->fown_type == F_OWNER_PGRP && f->fown_pid == p->pgid)
		owner.pid = p->pgid == p->pid ? getpid() : getpgrp();
	if (fcntl(f->fd, F_SETOWN_EX, &owner))
		return fail(errno, errno == ESRCH ? "that process is gone" : NULL,
			    "setting the owner of fd %d (%s %d)", f->fd,
			    f->fown_type == F_OWNER_PGRP ? "process group" : "process", f->fown_pid);
	return 0;
}

/* Signal-driven I/O (O_ASYNC): open() ignores the flag, F_SETFL sets it
 * (and registers the file for SIGIO), once its owner is in place. */
static int restore_async(const struct fd_rec *f)
{
	int fl;

	if (!(f->flags & O_ASYNC))
		return 0;
	fl = fcntl(f->fd, F_GETFL);
	if (fl < 0 || fcntl(f->fd, F_SETFL, fl | O_ASYNC))
		return fail(errno, NULL, "restoring signal-driven I/O (O_ASYNC) of fd %d (%s)",
			    f->fd, f->description);
	return 0;
}

static int restore_one(struct fd_child *c, const struct fd_rec *f, const int stdio[3])
{
	const struct image_meta *m = &c->ctx->meta;
	int fd;

	int inherited = c->ctx->inherited ? c->ctx->inherited[f - m->fds] : -1;

	if (inherited >= 0 && !f->share_index) {
		/* The same open file as an ancestor's: made there, inherited. */
		if (dup2(inherited, f->fd) < 0)
			return fail(errno, NULL, "placing fd %d (%s)", f->fd, f->description);
		if (restore_owner(c->ctx, f) || restore_async(f))
			return -1;
	} else if (f->share_index) {
		if (dup2(m->fds[f->share_index - 1].fd, f->fd) < 0)
			return fail(errno, NULL, "sharing fd %d with fd %d", f->fd,
				    m->fds[f->share_index - 1].fd);
	} else if (f->kind == FD_STDIO) {
		if (dup2(stdio[f->fd], f->fd) < 0)
			return fail(errno, NULL, "placing stdio fd %d", f->fd);
	} else {
		fd = kind_of(f->kind)->open(c, f);
		if (fd < 0)
			return -1;
		if (place_fd(fd, f->fd))
			return fail(errno, NULL, "placing fd %d (%s)", f->fd, f->description);
		if (restore_owner(c->ctx, f) || restore_async(f))
			return -1;
	}
	/* Every fd must survive our exec: close-on-exec is set after it. */
	if (fcntl(f->fd, F_SETFD, 0))
		return fail(errno, NULL, "preparing fd %d", f->fd);
	return 0;
}

static bool is_late(const struct fd_rec *f, const struct image_meta *m)
{
	const struct fd_rec *owner = f->share_index ? &m->fds[f->share_index - 1] : f;
	const struct fd_kind_ops *k = kind_of(owner->kind);
	return k && (k->late || (k->late_for && k->late_for(owner)));
}

/* In the child, before exec.  Our own fds that must survive (the error
 * pipe, stdio stand-ins) are moved above the image's highest fd first;
 * everything a kind keeps for later (the other end of a pipe) goes there
 * too. */
static int fds_restore_child(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	struct fd_child c = { ctx, 0, NULL };
	int maxfd = 2, stdio[3], i, pass, *given = NULL;
	size_t k;

	for (k = 0; k < m->nfds; k++)
		if (m->fds[k].fd > maxfd)
			maxfd = m->fds[k].fd;
	c.spare_base = maxfd + 1;
	for (i = 0; i < 3; i++) {
		stdio[i] = fcntl(ctx->opts->stdio_fd[i], F_DUPFD_CLOEXEC, c.spare_base);
		if (stdio[i] < 0)
			return fail(errno, NULL, "preparing stdio");
	}
	i = fcntl(ctx->child_error_fd, F_DUPFD_CLOEXEC, c.spare_base);
	if (i < 0)
		return fail(errno, NULL, "preparing fds");
	ctx->child_error_fd = i;
	/* restart --inherit-fd: its fds, out of the way too (fd_external.c). */
	if (ctx->opts->ninherit) {
		if (!(given = calloc(ctx->opts->ninherit, sizeof(*given))))
			return fail(ENOMEM, NULL, "preparing fds");
		for (k = 0; k < ctx->opts->ninherit; k++)
			if (!fd_external_entry_here(ctx, &ctx->opts->inherit[k]))
				given[k] = -1;	/* (another process's) */
			else if ((given[k] = fcntl(ctx->opts->inherit[k].fd, F_DUPFD_CLOEXEC,
						   c.spare_base)) < 0)
				return fail(errno, NULL, "preparing fd %d (--inherit-fd)",
					    ctx->opts->inherit[k].n);
		c.given = given;	/* (the child execs or dies: not freed) */
	}
	if (close_range(0, maxfd, 0))
		return fail(errno, NULL, "closing fds");
	for (pass = 0; pass < 2; pass++)
		for (k = 0; k < m->nfds; k++)
			if (is_late(&m->fds[k], m) == (pass == 1) && restore_one(&c, &m->fds[k], stdio))
				return -1;
	for (k = 0; k < m->nfds; k++) {
		const struct fd_kind_ops *ops = kind_of(m->fds[k].kind);
		if (m->fds[k].tree_pid)
			continue;	/* finished by the process holding it first */
		if (!m->fds[k].share_index && ops && ops->finish && ops->finish(&c, &m->fds[k]))
			return -1;
	}
	/* Files in flight are in their queues now: not the process's fds.
	 * (Before the locks: a close drops the POSIX locks on the file.) */
	for (k = 0; k < m->nfds; k++)
		if (m->fds[k].inflight && close(m->fds[k].fd))
			return fail(errno, NULL, "closing fd %d (in flight)", m->fds[k].fd);
	for (k = 0; k < ctx->ntree_fds; k++)
		close(ctx->tree_fds[k]);
	if (fd_locks_restore_child(ctx))
		return -1;
	/* Whatever else restart had open goes away at exec. */
	if (close_range(maxfd + 1, ~0U, CLOSE_RANGE_CLOEXEC))
		return fail(errno, NULL, "closing fds");
	return 0;
}

int fds_open_inherited(struct restore_ctx *holder, const struct fd_rec *rec, int spare_base)
{
	const struct fd_kind_ops *k = kind_of(rec->kind);
	struct fd_child c = { holder, spare_base, NULL };
	int fd, moved;

	if (!k || rec->kind == FD_STDIO)
		return fail_why("not a kind that can be shared", "the image is corrupted",
				"opening fd %d (%s) for the children", rec->fd, rec->description);
	/* (Its finish() runs in the process that holds it first.) */
	fd = k->open(&c, rec);
	if (fd < 0)
		return -1;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, spare_base);
	close(fd);
	if (moved < 0)
		return fail(errno, NULL, "keeping fd %d (%s) for the children", rec->fd,
			    rec->description);
	return moved;
}

int fd_on_mapped_inode(pid_t pid, const struct vma_entry *v)
{
	char dir[64], path[64 + 258];
	struct dirent *de;
	struct stat st;
	int fd = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	if (!(d = opendir(dir)))
		return -2;
	while (fd < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!stat(path, &st) && st.st_ino == v->inode &&
		    major(st.st_dev) == v->dev_major && minor(st.st_dev) == v->dev_minor)
			fd = atoi(de->d_name);
	}
	closedir(d);
	return fd;
}

/* After exec: close-on-exec, which belongs to each fd (not to the open
 * file), where the image has it. */
static int fds_restore(struct restore_ctx *ctx)
{
	struct fd_child c = { ctx, 0, NULL };
	size_t i;

	for (i = 0; i < ctx->meta.nfds; i++) {
		const struct fd_rec *f = &ctx->meta.fds[i];
		if (f->cloexec && !f->inflight &&
		    remote_syscall_ok(ctx->remote, NULL, "setting close-on-exec", __NR_fcntl,
				      f->fd, F_SETFD, FD_CLOEXEC, 0, 0, 0))
			return -1;
	}
	/* Every process of the tree is at its exec stop by now (restart
	 * waited for all), each with all its fds. */
	for (i = 0; i < ctx->meta.nfds; i++) {
		const struct fd_rec *f = &ctx->meta.fds[i];
		const struct fd_kind_ops *ops = kind_of(f->kind);
		int s, rc;

		if (f->tree_pid || f->share_index || f->inflight || !ops || !ops->finish_tree)
			continue;
		s = fd_steal(ctx->pid, f->fd);
		if (s < 0)
			return -1;
		rc = ops->finish_tree(&c, s, f);
		close(s);
		if (rc)
			return -1;
	}
	return 0;
}

static void fds_dump_resume(struct dump_ctx *ctx, bool killed)
{
	fd_tcp_release_repaired(ctx, killed);
}

static void fds_dump_committed(struct dump_ctx *ctx)
{
	if (ctx->opts->kill_after) {
		tcp_guard_commit(&ctx->tcp_guard);	/* the process is to end now */
		fd_tcp_repair_again(ctx);
	}
	fd_tcp_hold(ctx);
}

static void fds_dump_release(struct dump_ctx *ctx)
{
	fd_tcp_end_hold(ctx);
}

static void fds_restore_release(struct restore_ctx *ctx)
{
	const struct fd_kind_ops *const *k;

	for (k = fd_kinds; *k; k++)
		if ((*k)->release)
			(*k)->release(ctx);
}

const struct state_ops fds_state_ops = {
	.name = "fds",
	.dump_resume = fds_dump_resume,
	.dump_committed = fds_dump_committed,
	.dump_release = fds_dump_release,
	.restore_release = fds_restore_release,
	.dump = fds_dump,
	.check = fds_check,
	.restore_child = fds_restore_child,
	.restore = fds_restore,
};
