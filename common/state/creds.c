/* Credentials, per thread (the kernel keeps them per thread; glibc only
 * makes them look process-wide): uid/gid sets, supplementary groups,
 * capabilities (permitted, effective, inheritable, bounding, ambient) and
 * securebits.  Checked before anything starts, restored last, in each
 * thread: whatever else needs privileges is done by then. */
#define LOG_PREFIX "creds: "
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <poll.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

static int dump_thread_creds(struct dump_ctx *ctx, struct remote *r, struct thread_rec *t)
{
	struct proc_status st;
	long ret;

	if (procfs_read_task_status(ctx->pid, t->tid, &st))
		return -1;
	t->ruid = st.uid[0]; t->euid = st.uid[1]; t->suid = st.uid[2]; t->fsuid = st.uid[3];
	t->rgid = st.gid[0]; t->egid = st.gid[1]; t->sgid = st.gid[2]; t->fsgid = st.gid[3];
	t->cap_inh = st.cap_inh; t->cap_prm = st.cap_prm; t->cap_eff = st.cap_eff;
	t->cap_bnd = st.cap_bnd; t->cap_amb = st.cap_amb;
	if (blob_set(&t->groups, st.groups, st.ngroups * sizeof(st.groups[0])))
		return fail(ENOMEM, NULL, "recording groups");
	if (remote_syscall_ok(r, &ret, "reading securebits", __NR_prctl, PR_GET_SECUREBITS,
			      0, 0, 0, 0, 0))
		return -1;
	t->securebits = ret;
	return 0;
}

static int creds_dump(struct dump_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nthreads; i++)
		if (dump_thread_creds(ctx, dump_thread_task(ctx, i), &ctx->meta.threads[i]))
			return -1;
	return 0;
}

/* Our own credentials, as a thread record, to compare with the image's. */
static int own_creds(struct thread_rec *me, struct proc_status *st)
{
	char *text;
	size_t len;
	int err;

	if (procfs_read_file("/proc/thread-self/status", &text, &len))
		return -1;
	err = procfs_parse_status(text, st);
	free(text);
	if (err)
		return -1;
	memset(me, 0, sizeof(*me));
	me->ruid = st->uid[0]; me->euid = st->uid[1]; me->suid = st->uid[2]; me->fsuid = st->uid[3];
	me->rgid = st->gid[0]; me->egid = st->gid[1]; me->sgid = st->gid[2]; me->fsgid = st->gid[3];
	me->cap_inh = st->cap_inh; me->cap_prm = st->cap_prm; me->cap_eff = st->cap_eff;
	me->cap_bnd = st->cap_bnd; me->cap_amb = st->cap_amb;
	me->groups.data = st->groups;
	me->groups.len = st->ngroups * sizeof(st->groups[0]);
	me->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	return 0;
}

static bool same_ids(const struct thread_rec *a, const struct thread_rec *b)
{
	return a->ruid == b->ruid && a->euid == b->euid && a->suid == b->suid &&
	       a->fsuid == b->fsuid && a->rgid == b->rgid && a->egid == b->egid &&
	       a->sgid == b->sgid && a->fsgid == b->fsgid && a->groups.len == b->groups.len &&
	       (!a->groups.len || !memcmp(a->groups.data, b->groups.data, a->groups.len));
}

static bool same_creds(const struct thread_rec *a, const struct thread_rec *b)
{
	return same_ids(a, b) && a->cap_inh == b->cap_inh && a->cap_prm == b->cap_prm &&
	       a->cap_eff == b->cap_eff && a->cap_bnd == b->cap_bnd && a->cap_amb == b->cap_amb &&
	       a->securebits == b->securebits;
}

static int creds_check(struct restore_ctx *ctx)
{
	struct thread_rec me;
	struct proc_status st;
	size_t i;

	if (own_creds(&me, &st))
		return -1;
	for (i = 0; i < ctx->meta.nthreads; i++) {
		const struct thread_rec *t = &ctx->meta.threads[i];
		if (t->groups.len % 4 || t->groups.len > 4 * 65536)
			return fail_why("invalid groups", "the image is corrupted",
					"checking thread %d", t->tid);
		if (geteuid() != 0 && !same_ids(t, &me))
			return fail_why("the process ran as another user", "only root restores "
					"other credentials, and root restores another user's image "
					"as that user unless told --as-root", "restoring credentials of "
					"thread %d (uid %u, gid %u; restart runs as uid %u)", t->tid,
					t->ruid, t->rgid, me.ruid);
	}
	return 0;
}

uid_t creds_image_owner(const struct image_header *h, const struct restore_opts *o, gid_t *gid)
{
	*gid = 0;
	if (o && o->image_supplier_known && o->image_supplier_uid != 0) {
		*gid = o->image_supplier_gid;
		return o->image_supplier_uid;
	}
	if (h && h->owner_uid > 1) {
		*gid = h->owner_gid ? h->owner_gid - 1 : h->owner_uid - 1;
		return h->owner_uid - 1;
	}
	return 0;
}

/* The first uid and gid other than root of process pid (real, effective,
 * saved, fs: a set-user-ID writer counts as its user); false if it has none. */
static bool unprivileged_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	struct proc_status st;
	char path[64], text[4096];
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = 0;
	if (procfs_parse_status(text, &st)) {
		error_clear();	/* (a process of the host: not ours to report) */
		return false;
	}
	for (i = 0; i < 4; i++)
		if (st.uid[i]) {
			*uid = st.uid[i];
			*gid = st.gid[i] ? st.gid[i] : st.gid[0];
			return true;
		}
	return false;
}

/* Does process pid hold the pipe (dev, ino) open for writing? */
static bool writes_to(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if (!(d = opendir(path)))
		return false;
	while (!found && (e = readdir(d))) {
		struct proc_fdinfo fi;
		char name[320], text[512];
		struct stat st;
		ssize_t n;
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(name, sizeof(name), "/proc/%d/fd/%s", pid, e->d_name);
		if (stat(name, &st) || st.st_ino != ino || st.st_dev != dev)
			continue;
		snprintf(name, sizeof(name), "/proc/%d/fdinfo/%s", pid, e->d_name);
		if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (n <= 0)
			continue;
		text[n] = 0;
		if (procfs_parse_fdinfo(text, &fi)) {
			error_clear();
			continue;
		}
		found = (fi.flags & O_ACCMODE) != O_RDONLY;
	}
	closedir(d);
	return found;
}

void creds_image_supplier(int fd, bool unread, struct restore_opts *o)
{
	struct stat st;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	struct dirent *e;
	DIR *d;

	if (fstat(fd, &st))
		return;
	if (S_ISREG(st.st_mode)) {
		o->image_supplier_known = true;
		o->image_supplier_uid = st.st_uid;
		o->image_supplier_gid = st.st_gid;
		return;
	}
	if (S_ISSOCK(st.st_mode)) {
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) && len == sizeof(uc) &&
		    uc.pid > 0 && uc.uid != (uid_t)-1) {
			o->image_supplier_known = true;
			o->image_supplier_uid = uc.uid;
			o->image_supplier_gid = uc.gid;
		}
		return;
	}
	if (!S_ISFIFO(st.st_mode))
		return;
	if (st.st_uid) {	/* a FIFO's owner; the user who made a pipe */
		o->image_supplier_known = true;
		o->image_supplier_uid = st.st_uid;
		o->image_supplier_gid = st.st_gid;
		return;
	}
	/* The writers still there (one that wrote all and went is not
	 * found): a user other than root among them supplies the image.
	 * Looked for once it has written (restart would wait for that
	 * anyway): not while it may still be a root parent about to exec
	 * or change its user. */
	if (unread) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	if (!(d = opendir("/proc")))
		return;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
		uid_t uid;
		gid_t gid;

		if (pid <= 0 || pid == getpid() || !writes_to(pid, st.st_dev, st.st_ino) ||
		    !unprivileged_ids(pid, &uid, &gid))
			continue;
		o->image_supplier_known = true;
		o->image_supplier_uid = uid;
		o->image_supplier_gid = gid;
		break;
	}
	closedir(d);
}

static int own_capset(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)caps, (uint32_t)caps, (uint32_t)caps },
		{ (uint32_t)(caps >> 32), (uint32_t)(caps >> 32), (uint32_t)(caps >> 32) },
	};

	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

/* The groups of the user named by uid that it may have: the passwd and
 * group databases' (without an entry: gid alone).  *n entries, malloc'ed. */
static gid_t *user_groups(uid_t uid, gid_t gid, int *n)
{
	struct passwd *pw = getpwuid(uid);
	gid_t *groups = malloc(sizeof(*groups));
	int size = 1;

	*n = 1;
	if (!groups)
		return NULL;
	groups[0] = gid;
	if (!pw)
		return groups;
	for (;;) {
		gid_t *grown = realloc(groups, size * sizeof(*groups));
		int got = size;

		if (!grown) {
			free(groups);
			return NULL;
		}
		groups = grown;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &got) >= 0) {
			*n = got;
			return groups;
		}
		if (got <= size || got > 65536) {
			groups[0] = pw->pw_gid;
			*n = 1;
			return groups;
		}
		size = got;
	}
}

static bool in_groups(const gid_t *groups, int n, gid_t g)
{
	int i;

	for (i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

int creds_drop_for_image(struct restore_ctx *ctx)
{
	const uint64_t keep = 1ull << CAP_CHECKPOINT_RESTORE;
	const struct thread_rec *t = ctx->meta.nthreads ? &ctx->meta.threads[0] : NULL;
	gid_t gid, *allowed, *groups;
	int nallowed, ngroups = 0;
	struct passwd *pw;
	uid_t uid;
	size_t i;

	if (geteuid() != 0 || (ctx->opts && ctx->opts->as_root))
		return 0;
	uid = creds_image_owner(ctx->meta.header, ctx->opts, &gid);
	if (!uid)
		return 0;
	if ((pw = getpwuid(uid)))
		gid = pw->pw_gid;
	/* Of the groups the process had, those the user may have; the
	 * image's group if the user may have it, else the user's own. */
	if (!(allowed = user_groups(uid, gid, &nallowed)) ||
	    !(groups = malloc((t ? t->groups.len / 4 : 0) * sizeof(*groups) + 1))) {
		free(allowed);
		return fail(ENOMEM, NULL, "dropping to the image owner's credentials");
	}
	for (i = 0; t && i < t->groups.len / 4; i++) {
		uint32_t g;
		memcpy(&g, (const char *)t->groups.data + 4 * i, 4);
		if (in_groups(allowed, nallowed, g))
			groups[ngroups++] = g;
	}
	if (t && t->ruid == uid && t->rgid == t->egid && in_groups(allowed, nallowed, t->rgid))
		gid = t->rgid;
	free(allowed);
	pr_info("the image belongs to uid %u (gid %u): restoring with that user's credentials "
		"(restart --as-root keeps root's)", uid, gid);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(ngroups, groups) ||
	    setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		free(groups);
		return fail(errno, "restart --as-root restores with root's credentials, if the "
			    "image is trusted", "dropping to the credentials of the image's owner "
			    "(uid %u)", uid);
	}
	free(groups);
	/* Only PID reclaim stays (clone3 set_tid, in restart and, through the
	 * ambient set, in the process until its credentials are restored). */
	if (own_capset(keep) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHECKPOINT_RESTORE, 0, 0)) {
		pr_warn("cannot keep CAP_CHECKPOINT_RESTORE (%s): without it the process "
			"cannot get its PIDs back (restart --any-pid or --new-pid does without)", strerror(errno));
		if (own_capset(0))
			return fail(errno, NULL, "dropping capabilities");
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return fail(errno, NULL, "dropping to the credentials of the image's owner");
	if (getuid() != uid || geteuid() != uid || getegid() != gid)
		return fail_why("the credentials did not change", NULL, "dropping to uid %u", uid);
	return 0;
}

static int inject(struct remote *r, const char *what, long nr, unsigned long a1,
		  unsigned long a2, unsigned long a3)
{
	return remote_syscall_ok(r, NULL, what, nr, a1, a2, a3, 0, 0, 0);
}

static int set_caps(struct remote *r, uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};
	uint64_t hdr_addr, data_addr;

	remote_scratch_reset(r);
	if (remote_scratch_put(r, &hdr, sizeof(hdr), &hdr_addr) ||
	    remote_scratch_put(r, data, sizeof(data), &data_addr))
		return -1;
	return inject(r, "restoring capabilities", __NR_capset, hdr_addr, data_addr, 0);
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int cap = 40;

	if (f) {
		if (fscanf(f, "%d", &cap) != 1)
			cap = 40;
		fclose(f);
	}
	return cap;
}

/* The capability sets, keep-caps and ambient set of t, in its thread. */
static int restore_thread_caps(struct remote *r, const struct thread_rec *t)
{
	int cap;

	if (inject(r, "restoring keep-caps", __NR_prctl, PR_SET_KEEPCAPS,
		   !!(t->securebits & SECBIT_KEEP_CAPS), 0) ||
	    inject(r, "clearing the ambient capabilities", __NR_prctl, PR_CAP_AMBIENT,
		   PR_CAP_AMBIENT_CLEAR_ALL, 0) ||
	    set_caps(r, t->cap_eff, t->cap_prm, t->cap_inh))
		return -1;
	for (cap = 0; cap < 64; cap++)
		if ((t->cap_amb & (1ull << cap)) &&
		    inject(r, "restoring an ambient capability", __NR_prctl, PR_CAP_AMBIENT,
			   PR_CAP_AMBIENT_RAISE, cap))
			return -1;
	return 0;
}

/* The filesystem ids (setfsuid/setfsgid), after setresuid has made them
 * the effective ids.  Another value needs CAP_SETUID/CAP_SETGID in
 * effective, which a uid change away from root has just cleared (keep-caps
 * keeps only the permitted set): raise root's kept capabilities for a
 * moment (restore_thread_caps puts the image's back).  setfs*id never
 * fail, they return the previous value: each one is read back. */
static int restore_fs_ids(struct remote *r, const struct thread_rec *t,
			  const struct thread_rec *me)
{
	long was = 0;

	if (t->fsuid == t->euid && t->fsgid == t->egid)
		return 0;
	if (set_caps(r, me->cap_prm, me->cap_prm, me->cap_inh) ||
	    remote_syscall(r, &was, __NR_setfsgid, t->fsgid) ||
	    remote_syscall(r, &was, __NR_setfsuid, t->fsuid) ||
	    remote_syscall(r, &was, __NR_setfsgid, -1))
		return -1;
	if ((uint32_t)was != t->fsgid)
		return fail_why("the kernel kept another one", NULL,
				"restoring the filesystem group id %u", t->fsgid);
	if (remote_syscall(r, &was, __NR_setfsuid, -1))
		return -1;
	if ((uint32_t)was != t->fsuid)
		return fail_why("the kernel kept another one", NULL,
				"restoring the filesystem user id %u", t->fsuid);
	return 0;
}

/* In the thread itself, still with restart's (root) credentials: bounding
 * set first (needs CAP_SETPCAP), then ids keeping capabilities, then the
 * capability sets, ambient set and securebits. */
static int restore_thread_creds(struct remote *r, const struct thread_rec *t,
				const struct thread_rec *me)
{
	uint64_t groups;
	int cap, top = last_cap();

	for (cap = 0; cap <= top && cap < 64; cap++)
		if (!(t->cap_bnd & (1ull << cap)) &&
		    inject(r, "dropping a capability from the bounding set", __NR_prctl,
			   PR_CAPBSET_DROP, cap, 0))
			return -1;
	remote_scratch_reset(r);
	if (inject(r, "keeping capabilities across the uid change", __NR_prctl, PR_SET_KEEPCAPS,
		   1, 0) ||
	    remote_scratch_put(r, t->groups.data ? t->groups.data : "", t->groups.len, &groups) ||
	    inject(r, "restoring supplementary groups", __NR_setgroups, t->groups.len / 4, groups,
		   0) ||
	    inject(r, "restoring group ids", __NR_setresgid, t->rgid, t->egid, t->sgid) ||
	    inject(r, "restoring user ids", __NR_setresuid, t->ruid, t->euid, t->suid))
		return -1;
	if (restore_fs_ids(r, t, me))
		return -1;
	/* Only the keep-caps bit (ours from above) needs no privilege to
	 * change; other securebits need CAP_SETPCAP in effective, so raise
	 * the root capabilities kept across the uid change for a moment. */
	if ((t->securebits & ~SECBIT_KEEP_CAPS) &&
	    (set_caps(r, me->cap_prm, me->cap_prm, me->cap_inh) ||
	     inject(r, "restoring securebits", __NR_prctl, PR_SET_SECUREBITS, t->securebits, 0)))
		return -1;
	return restore_thread_caps(r, t);
}

static int creds_restore(struct restore_ctx *ctx)
{
	struct thread_rec me;
	struct proc_status st;
	size_t i;

	if (own_creds(&me, &st))
		return -1;
	for (i = 0; i < ctx->ntasks; i++) {
		const struct thread_rec *t = &ctx->meta.threads[i];
		if (same_creds(t, &me))
			continue;	/* exec gave it ours: nothing to change */
		/* The same user (restart dropped to the image's owner): only
		 * capabilities to lower, which needs no privilege. */
		if (geteuid() != 0 && same_ids(t, &me) &&
		    (t->securebits & ~SECBIT_KEEP_CAPS) == (me.securebits & ~SECBIT_KEEP_CAPS)) {
			if (restore_thread_caps(ctx->tasks[i], t))
				return -1;
			continue;
		}
		if (restore_thread_creds(ctx->tasks[i], t, &me))
			return -1;
	}
	/* A uid change resets dumpable: put the image's value back. */
	return remote_syscall_ok(ctx->remote, NULL, "restoring dumpable", __NR_prctl,
				 PR_SET_DUMPABLE, ctx->meta.process->dumpable, 0, 0, 0, 0);
}

const struct state_ops creds_state_ops = {
	.name = "credentials",
	.dump = creds_dump,
	.check = creds_check,
	.restore = creds_restore,
};
