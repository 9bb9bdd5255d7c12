/* restart's work from start to end: read and check all metadata, create
 * the process (original PID via clone3 set_tid), let it set up what exec
 * keeps, exec the original binary stopped at PTRACE_EVENT_EXEC, overlay
 * the rest with injected syscalls, and let it run. */
#define LOG_PREFIX ""
#include "sessions.h"
#include "restore.h"
#include "pidns.h"
#include "state/fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <stddef.h>
#include <sys/resource.h>

/* Is pid being checkpointed right now (traced by a ckpt)?  Then it is most
 * likely the source of the image in `ckpt PID --kill -o - | restart -`,
 * and will be gone once ckpt has written everything. */
static bool being_checkpointed(pid_t pid)
{
	struct proc_status st;
	struct proc_stat tracer;

	if (procfs_read_status(pid, &st) || !st.tracer_pid ||
	    procfs_read_stat(st.tracer_pid, &tracer)) {
		error_clear();
		return false;
	}
	return !strcmp(tracer.comm, "ckpt");
}

/* Why PID pid cannot be had (clone3 set_tid: EEXIST), for the message:
 * a process has it, or it names the session or process group of a
 * process that is not restart's to give back (the kernel keeps such a PID
 * taken until that session or group is empty). */
static const char *pid_in_use(pid_t pid, char *buf, size_t size)
{
	struct proc_stat st;
	struct dirent *e;
	DIR *d;

	snprintf(buf, size, "the PID is in use");
	if (!procfs_read_stat(pid, &st)) {
		snprintf(buf, size, "the PID is in use, by process %d (%s)", pid, st.comm);
		return buf;
	}
	error_clear();
	if (!(d = opendir("/proc")))
		return buf;
	while ((e = readdir(d))) {
		pid_t p = (pid_t)strtol(e->d_name, NULL, 10);

		if (p <= 0)
			continue;
		if (procfs_read_stat(p, &st)) {
			error_clear();
			continue;
		}
		if (st.session == pid || st.pgrp == pid) {
			snprintf(buf, size, "the PID is in use, as the %s of process %d (%s), "
				 "which is not in the image: it is taken until that %s is empty",
				 st.session == pid ? "session" : "process group", p, st.comm,
				 st.session == pid ? "session" : "group");
			break;
		}
	}
	closedir(d);
	return buf;
}

static pid_t clone_with_pid(pid_t want)
{
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&want,
		.set_tid_size = 1,
	};
	return syscall(SYS_clone3, &args, sizeof(args));
}

/* A process of the tree under its PID; in a nested namespace (the root
 * is its PID 1) under the same PID in restart's namespace too, so that
 * restart sees every process but the root by the PID of the image. */
static pid_t clone_in_tree_flags(const struct rtree *t, pid_t want, uint64_t flags)
{
	pid_t tids[2] = { want, want };
	struct clone_args args = {
		.flags = flags,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)tids,
		.set_tid_size = t->nested ? 2 : 1,
	};
	return syscall(SYS_clone3, &args, sizeof(args));
}

static pid_t clone_in_tree(const struct rtree *t, pid_t want)
{
	return clone_in_tree_flags(t, want, 0);
}

/* The root of an image taken in a PID namespace of its own, whose init it
 * was: PID 1 of a new namespace again. */
static pid_t clone_nested_init(void)
{
	pid_t one = 1;
	struct clone_args args = {
		.flags = CLONE_NEWPID,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&one,
		.set_tid_size = 1,
	};
	return syscall(SYS_clone3, &args, sizeof(args));
}

/* Fallback for kernels without clone3 set_tid: ns_last_pid then fork. */
static pid_t fork_with_pid(pid_t want)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	int len = snprintf(buf, sizeof(buf), "%d", want - 1);
	pid_t pid;

	if (fd < 0)
		return -1;
	if (write(fd, buf, len) != len) {
		close(fd);
		return -1;
	}
	close(fd);
	pid = fork();
	if (pid > 0 && pid != want) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = EEXIST;
		return -1;
	}
	return pid;
}

/* PID 1 (or a thread of it) in the image: the init of its namespace. */
static bool pidns_has_init(const struct image_meta *m)
{
	size_t i;

	for (i = 0; i < m->ntree; i++)
		if (m->tree[i].pid == 1)
			return true;
	for (i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == 1)
			return true;
	return m->process->pid == 1;
}

static pid_t create_process(struct restore_ctx *ctx)
{
	pid_t want = ctx->meta.process->pid, pid;

	if (ctx->opts->any_pid)
		return fork();
	if (ctx->pidns_nested) {
		pid = clone_nested_init();
		if (pid < 0)
			fail(errno, NULL, "creating the PID namespace of the image's init");
		return pid;
	}
	pid = clone_with_pid(want);
	if (pid < 0 && (errno == ENOSYS || errno == E2BIG))
		pid = fork_with_pid(want);
	if (pid < 0) {
		char why[256];

		if (errno == EEXIST)
			fail_why(pid_in_use(want, why, sizeof(why)), "restart with --new-pid: a new "
				 "PID namespace, where it keeps its PID", "reclaiming PID %d", want);
		else if (errno == EPERM)
			fail(errno, "run restart as root (CAP_CHECKPOINT_RESTORE), or use --new-pid "
			     "(its PIDs in a new PID namespace) or --any-pid (one process, any PID)",
			     "reclaiming PID %d", want);
		else
			fail(errno, "use --new-pid or --any-pid", "reclaiming PID %d", want);
	}
	return pid;
}

/* The restart children tell restart about themselves through one pipe
 * (report), in messages of one write each: "I exist, trace me" and "I
 * failed, here is why". */
struct report_msg {
	int32_t index;			/* in tree order */
	int32_t type;			/* 'C' created, 'E' error */
	int32_t pid;
	char text[1500];
};

static void report(int fd, size_t index, int type, const char *text)
{
	struct report_msg m = { .index = (int32_t)index, .type = type, .pid = getpid() };
	size_t len = text ? strlen(text) : 0;

	if (len >= sizeof(m.text))
		len = sizeof(m.text) - 1;
	if (text)
		memcpy(m.text, text, len);
	/* Whole messages, each one write (atomic: below PIPE_BUF). */
	if (write(fd, &m, sizeof(m)) < 0)
		_exit(126);
}

void report_value(struct rtree *t, int type, int index, int value)
{
	struct report_msg m = { .index = index, .type = type, .pid = value };

	if (write(t->report_fd, &m, sizeof(m)) < 0)
		_exit(126);
}

void report_child(struct rtree *t, size_t i, int type)
{
	report(t->p[i]->ctx.child_error_fd, i, type, NULL);
}

static _Noreturn void child_failed(struct rtree *t, size_t i)
{
	/* (fds.c moves the pipe out of the way of the image's fds.) */
	report(t->p[i]->ctx.child_error_fd, i, 'E', error_text());
	_exit(127);
}

/* The signal that had stopped process r (0: it was not stopped). */
static int stop_signal(const struct tree_rec *r)
{
	if (!r || r->state != TREE_STOPPED)
		return 0;
	return r->stop_sig ? (int)r->stop_sig : SIGSTOP;	/* (older images: 0) */
}

/* A zombie of the image: in its session and group, it exits as it did. */
static _Noreturn void become_zombie(struct rtree *t, size_t i)
{
	int status = t->p[i]->rec->exit_status;

	if (t->p[i]->rec->comm)	/* (ps shows a zombie by its name) */
		prctl(PR_SET_NAME, t->p[i]->rec->comm, 0, 0, 0);

	if (WIFSIGNALED(status)) {
		struct rlimit no_core = { 0, 0 };
		sigset_t all;

		setrlimit(RLIMIT_CORE, &no_core);
		signal(WTERMSIG(status), SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		raise(WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

static _Noreturn void child_main(struct rtree *t, size_t i);

static const struct restore_opts *ctx_opts(const struct rtree *t)
{
	return t->p[0]->ctx.opts;
}

/* Process i is in a session that is neither its own nor its parent's:
 * the session's leader exited after forking it, and it was reparented
 * (to a subreaper of the tree).  Its session id, else 0. */
static pid_t foreign_session(const struct rtree *t, size_t i)
{
	const struct tree_rec *me = t->p[i]->rec;

	if (!i || !me || me->sid == me->pid || me->sid == t->p[t->p[i]->parent]->rec->sid ||
	    t->p[i]->early)
		return 0;
	return me->sid;
}

static int tree_index(const struct rtree *t, pid_t pid)
{
	size_t j;

	for (j = 0; j < t->n; j++)
		if (t->p[j]->rec && t->p[j]->rec->pid == pid)
			return (int)j;
	return -1;
}

/* Process i is in a session whose leader is gone (not in the tree at
 * all): its parent lends the session a leader for a moment. */
static bool gone_session_leader(const struct rtree *t, size_t i)
{
	pid_t s = foreign_session(t, i);

	return s && tree_index(t, s) < 0;
}

/* Process i's group has no leader in the tree: it had exited. */
static bool dead_leader(const struct rtree *t, size_t i)
{
	const struct tree_rec *me = t->p[i]->rec;
	size_t j;

	if (!i || me->pgid == me->pid || me->pgid == t->p[0]->rec->pgid)
		return false;
	if (me->pgid == me->sid && me->sid != t->p[0]->rec->sid)
		return false;	/* the session's group: made with the session */
	for (j = 0; j < t->n; j++)
		if (t->p[j]->rec->pid == me->pgid)
			return false;
	return true;
}

/* Leaders lent to the groups of process i's children whose leaders are
 * gone: a process under that PID makes the group, the children join it,
 * then it exits and i reaps it, all before i execs. */
struct helpers {
	size_t n;
	pid_t pid[16];
	int hold[16];			/* its end of a pipe: closed, it exits */
};

static int lend_leaders(struct rtree *t, size_t i, struct helpers *h)
{
	size_t j, k;

	for (j = i + 1; j < t->n; j++) {
		pid_t g = t->p[j]->rec->pgid, pid;
		int p[2];
		char c;

		if (t->p[j]->parent != (int)i || !dead_leader(t, j))
			continue;
		for (k = 0; k < h->n && h->pid[k] != g; k++)
			;
		if (k < h->n)
			continue;
		if (h->n == 16)
			return fail_why("too many groups without a leader", NULL,
					"recreating process group %d", g);
		if (pipe2(p, O_CLOEXEC))
			return fail(errno, NULL, "recreating process group %d", g);
		pid = clone_in_tree(t, g);
		if (pid < 0) {
			close(p[0]);
			close(p[1]);
			return fail(errno, errno == EEXIST ? "the PID is in use" : NULL,
				    "recreating process group %d (a process under its PID)", g);
		}
		if (pid == 0) {
			close(p[1]);
			if (setpgid(0, 0))
				_exit(1);
			while (read(p[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		close(p[0]);
		while (getpgid(pid) != pid) {	/* its group exists */
			if (kill(pid, 0)) {
				close(p[1]);
				return fail_why("its stand-in leader died", NULL,
						"recreating process group %d", g);
			}
			usleep(200);
		}
		h->pid[h->n] = pid;
		h->hold[h->n++] = p[1];
	}
	return 0;
}

/* A process of the tree created by the caller with CLONE_PARENT: a child
 * of the caller's parent, in the caller's session. */
static pid_t clone_sibling(const struct rtree *t, pid_t want, uint64_t flags)
{
	pid_t tids[2] = { want, want };
	struct clone_args args = {
		.flags = CLONE_PARENT | flags,	/* (exit_signal: the caller's) */
		.set_tid = (uint64_t)(uintptr_t)tids,
		.set_tid_size = t->nested ? 2 : 1,
	};
	return syscall(SYS_clone3, &args, sizeof(args));
}

/* In the leader of session s (a zombie of the image, or a helper lent the
 * session's PID), a child of process pi: create pi's children that are
 * members of s, as siblings (CLONE_PARENT), so they are in session s and
 * children of pi, as they were once their leader had exited. */
static void make_session_members(struct rtree *t, size_t pi, pid_t s)
{
	size_t j;

	for (j = pi + 1; j < t->n; j++) {
		pid_t pid;

		if (t->p[j]->parent != (int)pi || foreign_session(t, j) != s)
			continue;
		/* (The leader shares its parent's fs: a zombie's or a
		 * stand-in's is no one's concern.) */
		pid = clone_sibling(t, t->p[j]->rec->pid, t->p[j]->rec->share_fs ? CLONE_FS : 0);
		if (pid < 0) {
			char why[256];

			if (errno == EEXIST)
				fail_why(pid_in_use(t->p[j]->rec->pid, why, sizeof(why)), NULL,
					 "reclaiming PID %d of session %d", t->p[j]->rec->pid, s);
			else
				fail(errno, NULL, "reclaiming PID %d of session %d",
				     t->p[j]->rec->pid, s);
			child_failed(t, pi);
		}
		if (pid == 0)
			child_main(t, j);
	}
}

/* In process i: sessions of its children whose leader is gone get one
 * under the session's PID for a moment: it calls setsid(), creates the
 * members, exits, and i reaps it; the session lives on without a leader,
 * as in the original. */
static int lend_session_leaders(struct rtree *t, size_t i)
{
	size_t j, k;

	for (j = i + 1; j < t->n; j++) {
		pid_t s = foreign_session(t, j), pid;
		int status;

		if (t->p[j]->parent != (int)i || !gone_session_leader(t, j))
			continue;
		for (k = i + 1; k < j; k++)
			if (t->p[k]->parent == (int)i && foreign_session(t, k) == s)
				break;
		if (k < j)
			continue;	/* made with an earlier member */
		pid = clone_in_tree_flags(t, s, CLONE_FS);
		if (pid < 0)
			return fail(errno, errno == EEXIST ? "the PID is in use" : NULL,
				    "recreating session %d (its leader had exited: a "
				    "process under its PID)", s);
		if (pid == 0) {
			if (setsid() < 0) {
				fail(errno, NULL, "recreating session %d", s);
				child_failed(t, i);
			}
			make_session_members(t, i, s);
			_exit(0);
		}
		while (waitpid(pid, &status, __WALL) < 0)
			if (errno != EINTR)
				return fail(errno, NULL, "recreating session %d", s);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return fail_why("its stand-in leader failed", NULL,
					"recreating session %d", s);
	}
	return 0;
}

/* Once every child in such a group has joined it. */
static int release_leaders(struct rtree *t, size_t i, struct helpers *h)
{
	size_t j, k;
	int waited = 0, ret = 0;

	for (j = i + 1; j < t->n && !ret; j++) {
		const struct rproc *c = t->p[j];

		if (c->parent != (int)i || !dead_leader(t, j) || c->zombie)
			continue;
		while (getpgid(c->rec->pid) != c->rec->pgid) {
			if (waited++ > 25000) {	/* 5 s */
				ret = fail_why("it did not join it", NULL, "recreating process "
					       "group %d of process %d", c->rec->pgid, c->rec->pid);
				break;
			}
			usleep(200);
		}
	}
	for (k = 0; k < h->n; k++) {
		close(h->hold[k]);
		while (waitpid(h->pid[k], NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	return ret;
}

/* In process i: its child j, under its PID. */
static void fork_child(struct rtree *t, size_t i, size_t j)
{
	/* CLONE_FS: sharing its cwd, root and umask (kept by exec); a
	 * zombie's fs is no one's concern, and one that made a session's
	 * members passes it on to those that share it. */
	pid_t pid = clone_in_tree_flags(t, t->p[j]->rec->pid, t->p[j]->rec->share_fs ||
					t->p[j]->zombie ? CLONE_FS : 0);

	if (pid < 0) {
		char why[256];

		if (errno == EEXIST)
			fail_why(pid_in_use(t->p[j]->rec->pid, why, sizeof(why)),
				 "restart with --new-pid: a new PID namespace, where it "
				 "keeps its PID", "reclaiming PID %d", t->p[j]->rec->pid);
		else
			fail(errno, NULL, "reclaiming PID %d", t->p[j]->rec->pid);
		child_failed(t, i);
	}
	if (pid == 0)
		child_main(t, j);
	if (t->p[j]->zombie) {
		/* Dead before we exec: its SIGCHLD is for restart code. */
		siginfo_t si;
		while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) && errno == EINTR)
			;
	}
}

/* In process i, before exec: its session and group, then its children,
 * each created under its PID by its real parent. */
static void make_children(struct rtree *t, size_t i)
{
	const struct tree_rec *me = t->p[i]->rec;
	struct helpers helpers = { .n = 0 };
	bool early = false;
	pid_t want;
	size_t j;

	if (!me) {	/* one process, without a tree record */
		if (shared_make(t, i))
			child_failed(t, i);
		return;
	}
	/* Children forked before its setsid() (in the session it was born
	 * in) are forked before it, with what it shares with them. */
	for (j = i + 1; j < t->n && !early; j++)
		early = t->p[j]->parent == (int)i && t->p[j]->early;
	if (early) {
		if (shared_make(t, i))
			child_failed(t, i);
		for (j = i + 1; j < t->n; j++)
			if (t->p[j]->parent == (int)i && t->p[j]->early)
				fork_child(t, i, j);
	}
	/* (The root's own group, or a new terminal's session: tty.c.)  A root
	 * that led a session without a terminal (a daemon) leads one again:
	 * in restart's, its group would be orphaned when restart exits, and a
	 * stopped member would get SIGHUP.  So does one whose terminal is a
	 * pty of its own (of the tree), made again in it (fd_pty.c). */
	if (me->sid == me->pid && (i || (!ctx_opts(t)->pty_slave &&
					 (!t->p[0]->ctx.meta.process->tty_nr ||
					  fd_pty_makes_ctty(&t->p[0]->ctx.meta))))) {
		if (setsid() < 0) {
			fail(errno, NULL, "starting the session of process %d", me->pid);
			child_failed(t, i);
		}
	} else if (!i && ctx_opts(t)->detach && stop_signal(me)) {
		/* A stopped root that restart --detach leaves behind leads a
		 * session of its own: in restart's, its group would be orphaned
		 * when restart exits, and the kernel would send it SIGHUP. */
		if (setsid() < 0) {
			fail(errno, NULL, "starting a session for the stopped process %d", me->pid);
			child_failed(t, i);
		}
	} else if (me->pgid == me->pid && getpgrp() != getpid() && !ctx_opts(t)->pty_slave &&
		   setpgid(0, 0)) {
		fail(errno, NULL, "making process %d lead its group", me->pid);
		child_failed(t, i);
	}
	want = me->pgid == t->p[0]->rec->pgid ? getpgid(t->p[0]->rec->pid) : me->pgid;
	if ((t->p[i]->zombie || dead_leader(t, i)) && me->pgid != me->pid && want != getpgrp() &&
	    setpgid(0, want)) {
		fail(errno, "its group's leader is not made yet", "putting the zombie %d in its "
		     "process group %d", me->pid, me->pgid);
		child_failed(t, i);
	}
	if (!t->p[i]->zombie && !early && shared_make(t, i))
		child_failed(t, i);
	/* A zombie that led a session its parent's other children are in:
	 * it makes them, as siblings, before it exits. */
	if (t->p[i]->zombie && i && me->sid == me->pid)
		make_session_members(t, (size_t)t->p[i]->parent, me->pid);
	if (lend_leaders(t, i, &helpers) || lend_session_leaders(t, i))
		child_failed(t, i);
	for (j = i + 1; j < t->n; j++)
		if (t->p[j]->parent == (int)i && !foreign_session(t, j) &&
		    !t->p[j]->early)
			fork_child(t, i, j);
	for (j = i + 1; j < t->n; j++) {
		siginfo_t si;

		if (t->p[j]->parent != (int)i || !foreign_session(t, j) || !t->p[j]->zombie)
			continue;
		while (waitid(P_PID, t->p[j]->rec->pid, &si, WEXITED | WNOWAIT) && errno == EINTR)
			;
	}
	if (helpers.n && release_leaders(t, i, &helpers))
		child_failed(t, i);
}

/* In the new process: wait until we trace it, set up what exec keeps,
 * exec the original binary.  Errors go to restart through the report
 * pipe. */
static _Noreturn void child_main(struct rtree *t, size_t i)
{
	struct restore_ctx *ctx = &t->p[i]->ctx;
	const struct state_ops *const *ops;
	const char *exe;
	char *argv[2], *envp[] = { NULL };
	size_t j;
	char c;

	/* Only restart says go: an end of file means it gave up. */
	for (j = 0; j < t->n; j++) {
		if (t->p[j]->go[1] >= 0)
			close(t->p[j]->go[1]);
		t->p[j]->go[1] = -1;	/* (the number may be reused, inherited) */
	}
	if (!i && t->nested && pidns_own_proc())
		child_failed(t, i);
	if (t->p[i]->zombie) {
		make_children(t, i);
		become_zombie(t, i);
	}
	if (i)
		report(t->report_fd, i, 'C', NULL);
	if (read(t->p[i]->go[0], &c, 1) != 1)
		_exit(127);
	make_children(t, i);
	if (shared_attach(t, i))
		child_failed(t, i);
	exe = bundle_exe_path(ctx);	/* the host's, or the bundle's copy */
	argv[0] = (char *)exe;
	argv[1] = NULL;
	for (ops = state_table; *ops; ops++)
		if ((*ops)->restore_child && (*ops)->restore_child(ctx))
			child_failed(t, i);
	if (shared_keep(t, i))
		child_failed(t, i);
	if (t->p[i]->by_fork)
		fork_donor_exit(t, i);
	fork_reap_donors(t, i);
	execve(exe, argv, envp);
	if (errno == ENOENT && access(exe, F_OK) == 0) {
		/* The program interpreter it names (PT_INTERP) is not on this
		 * host.  Nothing of what exec maps is kept anyway: restart's
		 * own binary stands in, and the process module makes exe the
		 * process's executable (PR_SET_MM_MAP exe_fd). */
		execve("/proc/self/exe", argv, envp);
		errno = ENOENT;
	}
	fail(errno, errno == ENOENT ? "its program interpreter (PT_INTERP) may be missing here" :
	     NULL, "executing %s", exe);
	child_failed(t, i);
}

static struct rproc *find_proc(struct rtree *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->p[i]->pid == pid)
			return t->p[i];
	return NULL;
}

static int seize_new(struct rproc *p, pid_t pid)
{
	p->pid = pid;
	p->ctx.pid = pid;
	if (ptrace(PTRACE_SEIZE, pid, 0,
		   PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD))
		return fail(errno, NULL, "attaching to the new process %d", pid);
	p->seized = true;
	if (write(p->go[1], "g", 1) != 1)
		return fail(errno, NULL, "starting the new process %d", pid);
	return 0;
}

/* Messages from the restart children: new ones to trace, failures. */
static int read_reports(struct rtree *t)
{
	struct report_msg m;

	for (;;) {
		ssize_t n = read(t->report_rd, &m, sizeof(m));

		if ((n < 0 && errno == EAGAIN) || n == 0)
			return 0;	/* (0: every one has exec'd or died) */
		if (n != (ssize_t)sizeof(m) || m.index < 0 ||
		    (m.type != 'S' && (size_t)m.index >= t->n))
			return fail(n < 0 ? errno : EIO, NULL, "reading from the new processes");
		m.text[sizeof(m.text) - 1] = 0;
		if (m.type == 'S' && (size_t)m.index < t->nshms) {
			t->shms[m.index].fd = m.pid;	/* an fd number, there */
			continue;
		}
		if (m.type == 'E')
			return fail_why(m.text, NULL, "preparing the new process %d", m.pid);
		if (m.type == 'C' && !t->p[m.index]->seized && seize_new(t->p[m.index], m.pid))
			return -1;
		if (m.type == 'F' && t->p[m.index]->by_fork && !t->p[m.index]->donor_done &&
		    t->p[m.index]->pid == m.pid && fork_take_fds(t->p[m.index]))
			return -1;
	}
}

/* Every process created, traced and stopped at the exec of its binary. */
static int wait_all_exec(struct rtree *t)
{
	size_t pending = 0, i;

	for (i = 0; i < t->n; i++)
		pending += !t->p[i]->zombie;
	while (pending) {
		struct pollfd pfd = { t->report_rd, POLLIN, 0 };
		struct rproc *p;
		int status;
		pid_t pid;

		if (poll(&pfd, 1, 20) < 0 && errno != EINTR)
			return fail(errno, NULL, "waiting for the new processes");
		if (read_reports(t))
			return -1;
		while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
			p = find_proc(t, pid);
			if (!p || p->zombie)
				continue;
			if (p->donor_done && (WIFEXITED(status) || WIFSIGNALED(status))) {
				/* Its fds taken: forked from its parent later. */
				p->seized = false;
				p->pid = p->ctx.pid = 0;
				pending--;
				continue;
			}
			if (WIFEXITED(status) || WIFSIGNALED(status)) {
				p->seized = false;
				p->pid = p->ctx.pid = 0;
				usleep(10000);
				if (read_reports(t))
					return -1;
				return fail_why("it died before exec", NULL,
						"preparing the new process %d (%s %d)", pid,
						WIFSIGNALED(status) ? "signal" : "exit status",
						WIFSIGNALED(status) ? WTERMSIG(status) :
						WEXITSTATUS(status));
			}
			if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
				if (!p->at_exec)
					pending--;
				p->at_exec = true;
				continue;
			}
			/* Any other stop before exec: pass signals on. */
			ptrace(PTRACE_CONT, pid, 0, (status >> 16) == 0 ? WSTOPSIG(status) : 0);
		}
	}
	return 0;
}

static int start_tree(struct rtree *t)
{
	struct rproc *root = t->p[0];
	int rep[2];
	size_t i;

	fork_plan(t);
	if (pipe2(rep, O_CLOEXEC))
		return fail(errno, NULL, "creating pipes");
	t->report_rd = rep[0];
	t->report_fd = rep[1];
	if (fcntl(rep[0], F_SETFL, O_NONBLOCK))
		return fail(errno, NULL, "creating pipes");
	for (i = 0; i < t->n; i++) {
		t->p[i]->ctx.child_error_fd = rep[1];
		if (!t->p[i]->zombie && pipe2(t->p[i]->go, O_CLOEXEC))
			return fail(errno, NULL, "creating pipes");
	}
	fflush(NULL);
	root->pid = create_process(&root->ctx);
	if (root->pid < 0) {
		root->pid = 0;
		return -1;
	}
	if (root->pid == 0) {
		close(rep[0]);
		child_main(t, 0);
	}
	root->ctx.pid = root->pid;
	root->is_child = true;
	if (seize_new(root, root->pid))
		return -1;
	close(rep[1]);
	t->report_fd = -1;
	for (i = 0; i < t->n; i++) {
		if (t->p[i]->go[0] >= 0)
			close(t->p[i]->go[0]);
		t->p[i]->go[0] = -1;
	}
	if (wait_all_exec(t) || read_reports(t))
		return -1;
	for (i = 0; i < t->n; i++)
		if (!t->p[i]->zombie && (shared_attach_memory(t, i) ||
					 (!t->p[i]->by_fork &&
					  remote_adopt(t->p[i]->pid, &t->p[i]->ctx.remote))))
			return -1;
	return 0;
}

/* In the new namespace (--new-pid), before anything is created: every
 * later PID restart's own threads take comes after all the image's, so
 * none takes one a process of the image needs. */
static int pidns_reserve(const struct rtree *t)
{
	pid_t top = 1;
	size_t i, k;
	char buf[32];
	int fd, len;

	for (i = 0; i < t->n; i++) {
		const struct tree_rec *r = t->p[i]->rec;
		const struct image_meta *m = &t->p[i]->ctx.meta;

		if (r && r->pid > top)
			top = r->pid;
		if (r && r->pgid > top)
			top = r->pgid;
		if (r && r->sid > top)
			top = r->sid;	/* (a stand-in session leader) */
		for (k = 0; !t->p[i]->zombie && k < m->nthreads; k++)
			if (m->threads[k].tid > top)
				top = m->threads[k].tid;
		if (!t->p[i]->zombie && m->process->pid > top)
			top = m->process->pid;
	}
	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	len = snprintf(buf, sizeof(buf), "%d", top);
	if (fd < 0 || write(fd, buf, len) != len) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return fail(err, NULL, "setting the new PID namespace's last PID to %d", top);
	}
	close(fd);
	return 0;
}

/* Name the step in the one error line: what fails inside a step can be as
 * anonymous as "setting registers of process 1234" (a ptrace request). */
static int step_failed(const char *step)
{
	char text[1600];

	if (!error_is_set())
		return fail_why("failed", "please report this with the -vv output",
				"restoring %s", step);
	snprintf(text, sizeof(text), "%s", error_text());
	error_clear();
	return fail_why(text, NULL, "restoring %s", step);
}

static int run_restore_hooks(struct rtree *t, size_t i)
{
	struct restore_ctx *ctx = &t->p[i]->ctx;
	const struct state_ops *const *ops;

	for (ops = state_table; *ops; ops++) {
		unsigned long long t0 = now_ns();
		if ((*ops)->restore && (*ops)->restore(ctx))
			return step_failed((*ops)->name);
		pr_info("restored %s in %.2f ms", (*ops)->name, (now_ns() - t0) / 1e6);
		/* Its memory in place: the children that share it fork now. */
		if (*ops == &memory_state_ops && fork_children(t, i))
			return step_failed("the children forked from it");
	}
	return 0;
}

/* The leader had exited (pthread_exit) with threads running on: made to
 * exit again (SYS_exit, that thread only) before any of its threads runs,
 * so that they find it a zombie, as they left it. */
static int leader_exit(struct restore_ctx *ctx)
{
	struct proc_stat st;
	int i;

	if (remote_release_exit(ctx->remote))
		return -1;
	for (i = 0; i < 5000; i++) {
		if (procfs_read_stat(ctx->pid, &st))
			return -1;
		if (st.state == 'Z')
			return 0;
		usleep(1000);
	}
	return fail_why("it did not exit within 5 s", NULL, "making the main thread of process "
			"%d exit again (it had called pthread_exit)", ctx->pid);
}

/* Whether the process group of process pid is orphaned now (no member
 * has a parent outside it in its session): the kernel discards a
 * SIGTSTP, SIGTTIN or SIGTTOU sent to a member of such a group. */
static bool group_orphaned(pid_t pid)
{
	struct proc_stat me, st, parent;
	struct dirent *e;
	bool orphaned = true;
	DIR *d;

	if (procfs_read_stat(pid, &me) || !(d = opendir("/proc"))) {
		error_clear();
		return true;
	}
	while (orphaned && (e = readdir(d))) {
		pid_t p = (pid_t)strtol(e->d_name, NULL, 10);

		if (p <= 0 || procfs_read_stat(p, &st) || st.pgrp != me.pgrp || st.ppid <= 0 ||
		    procfs_read_stat(st.ppid, &parent)) {
			error_clear();	/* (gone meanwhile, or not a process) */
			continue;
		}
		orphaned = !(parent.session == me.session && parent.pgrp != me.pgrp);
	}
	closedir(d);
	return orphaned;
}

/* stop_sig: the signal that had stopped it (0: it was not stopped). */
static int let_go(struct restore_ctx *ctx, int stop_sig)
{
	const struct thread_rec *t;
	bool exited = ctx->meta.threads[0].exited;
	arch_regs_t regs;
	size_t i;

	if (remote_scratch_unmap(ctx->remote))
		return -1;
	if (exited && leader_exit(ctx))
		return -1;
	/* A stopped process stops before its first instruction, by the
	 * signal that had stopped it (what its parent's wait reports): it
	 * waits, queued, as no syscall is injected any more. */
	if (stop_sig && stop_sig != SIGSTOP && group_orphaned(ctx->pid)) {
		pr_warn("process %d had been stopped by SIG%s, which does not stop a process "
			"whose group is orphaned, as its group is here: it is stopped by "
			"SIGSTOP", ctx->pid, sigabbrev_np(stop_sig));
		stop_sig = SIGSTOP;
	}
	if (stop_sig && kill(ctx->pid, stop_sig))
		return fail(errno, NULL, "stopping process %d again", ctx->pid);
	/* The leader last: when it runs, all its threads are in place. */
	for (i = ctx->ntasks; i-- > (exited ? 1 : 0);) {
		t = &ctx->meta.threads[i];
		memcpy(&regs, t->regs.data, sizeof(regs));
		if (remote_release(ctx->tasks[i], &regs, t->sigmask))
			return -1;
	}
	return 0;
}

static const struct tree_rec *tree_find(const struct image_meta *root, pid_t pid, size_t *index)
{
	size_t i;

	for (i = 0; i < root->ntree; i++)
		if (root->tree[i].pid == pid) {
			if (index)
				*index = i;
			return &root->tree[i];
		}
	return NULL;
}

/* meta/tree, before anything is trusted: the root first, each parent
 * (alive) before its children, PIDs once each, sessions and groups such
 * as ckpt accepts them. */
/* A process in a session whose leader exited after forking it (it was
 * reparented): the leader, a zombie of the tree, or a stand-in for it, is
 * a child of the member's parent, and creates it with CLONE_PARENT.  So
 * every such member of the session has the same parent, and their groups
 * are the session's, their own or that of a process of the tree. */
static bool session_ok(const struct image_meta *m, size_t i)
{
	const struct tree_rec *t = m->tree, *leader = tree_find(m, t[i].sid, NULL), *g;
	size_t j;

	if (leader && (leader->state != TREE_ZOMBIE || leader->ppid != t[i].ppid))
		return false;
	for (j = 1; j < m->ntree; j++) {
		const struct tree_rec *pj = tree_find(m, t[j].ppid, NULL);

		if (t[j].sid == t[i].sid && pj && pj->sid != t[i].sid && t[j].pid != t[i].sid &&
		    t[j].ppid != t[i].ppid)
			return false;
	}
	if (t[i].pgid == t[i].pid || t[i].pgid == t[i].sid)
		return true;
	g = tree_find(m, t[i].pgid, NULL);
	return g && g->sid == t[i].sid;
}

/* Which processes of the image were forked before their parent's
 * setsid() (sessions.h, as ckpt found them); NULL on ENOMEM. */
static bool *tree_born_early(const struct image_meta *m)
{
	struct session_node *n = calloc(m->ntree ? m->ntree : 1, sizeof(*n));
	bool *early = calloc(m->ntree ? m->ntree : 1, sizeof(*early));
	size_t i, j;

	if (!n || !early) {
		free(n);
		free(early);
		fail(ENOMEM, NULL, "reading meta/tree");
		return NULL;
	}
	for (i = 0; i < m->ntree; i++) {
		n[i] = (struct session_node){ m->tree[i].pid, m->tree[i].sid, -1,
					      m->tree[i].state == TREE_ZOMBIE };
		for (j = 0; i && j < i; j++)
			if (m->tree[j].pid == m->tree[i].ppid)
				n[i].parent = (int)j;
	}
	sessions_born_early(n, m->ntree, early);
	free(n);
	return early;
}

static int check_tree(const struct image_meta *m)
{
	const struct tree_rec *t = m->tree, *root;
	size_t i, j;

	if (!m->ntree)
		return 0;	/* (t is NULL then) */
	root = &t[0];
	if (m->ntree > 1u << 16 || root->pid != m->process->pid || root->state == TREE_ZOMBIE)
		return fail_why("invalid process tree", "the image is corrupted", "reading meta/tree");
	for (i = 0; i < m->ntree; i++) {
		const struct tree_rec *parent = NULL, *leader;

		if (t[i].pid <= 0 || t[i].state < TREE_RUNNING || t[i].state > TREE_ZOMBIE ||
		    (t[i].stop_sig && (t[i].state != TREE_STOPPED ||
				       (t[i].stop_sig != SIGSTOP && t[i].stop_sig != SIGTSTP &&
					t[i].stop_sig != SIGTTIN && t[i].stop_sig != SIGTTOU))))
			return fail_why("invalid process", "the image is corrupted",
					"reading meta/tree entry %zu", i);
		for (j = 0; j < i; j++) {
			if (t[j].pid == t[i].pid)
				return fail_why("PID appears twice", "the image is corrupted",
						"reading meta/tree entry %zu", i);
			if (t[j].pid == t[i].ppid)
				parent = &t[j];
		}
		if (!i)
			continue;
		if (!parent || parent->state == TREE_ZOMBIE)
			return fail_why("its parent is not before it", "the image is corrupted",
					"reading meta/tree entry %zu (PID %d)", i, t[i].pid);
		if (t[i].sid != t[i].pid && t[i].sid != parent->sid && !session_ok(m, i)) {
			bool *early = tree_born_early(m), ok = early && early[i];

			free(early);
			if (!ok)
				return fail_why("its session cannot be made", "the image is "
						"corrupted", "reading meta/tree entry %zu (PID %d)",
						i, t[i].pid);
		}
		if (t[i].pgid == t[i].pid || (t[i].pgid == root->pgid && t[i].sid == root->sid))
			continue;
		if (t[i].pgid == t[i].sid && t[i].sid != root->sid)
			continue;	/* the session's own group */
		leader = tree_find(m, t[i].pgid, NULL);
		if (leader && leader->sid == t[i].sid)
			continue;
		/* A group whose leader is gone: lent one by the members' parent,
		 * all of them its children. */
		for (j = 1; !leader && j < m->ntree; j++)
			if (t[j].pgid == t[i].pgid && t[j].ppid != t[i].ppid)
				break;
		if (leader || j < m->ntree)
			return fail_why("its process group cannot be made", "the image is corrupted",
					"reading meta/tree entry %zu (PID %d)", i, t[i].pid);
	}
	return 0;
}

static struct rproc *new_proc(struct rtree *t, const struct restore_opts *opts)
{
	struct rproc **grown = realloc(t->p, (t->n + 1) * sizeof(*grown));
	struct rproc *p = calloc(1, sizeof(*p));

	if (!grown || !p) {
		free(p);
		if (grown)
			t->p = grown;
		fail(ENOMEM, NULL, "reading the image");
		return NULL;
	}
	t->p = grown;
	t->p[t->n++] = p;
	p->ctx.opts = opts;
	p->ctx.child_error_fd = -1;
	p->go[0] = p->go[1] = -1;
	p->parent = -1;
	return p;
}

/* Every process's metadata, in the image's order, each checked. */
static int read_tree(struct rtree *t, struct image_reader *r, const struct restore_opts *opts)
{
	struct rproc *root = new_proc(t, opts);
	const struct image_meta *rm;
	size_t i, j;

	if (!root)
		return -1;
	root->ctx.reader = r;
	if (meta_read(r, &root->ctx.meta, &root->ctx.next))
		return -1;
	/* Root restoring another user's image becomes that user before any
	 * check opens a file for it; the time namespace (CAP_SYS_ADMIN) is
	 * made just before. */
	if (geteuid() == 0 && !opts->as_root &&
	    creds_image_owner(root->ctx.meta.header, opts, &(gid_t){ 0 })) {
		if (timens_prepare(&root->ctx))
			return -1;
		t->timens_done = true;
	}
	if (creds_drop_for_image(&root->ctx) || check_tree(&root->ctx.meta) ||
	    restore_run_checks(&root->ctx))
		return -1;
	if (root->ctx.meta.ncow_pages)
		return fail_why("the root takes pages from a parent (it has none in the image)",
				"the image is corrupted", "checking meta/cow-pages");
	rm = &root->ctx.meta;
	if (rm->ntree)
		root->rec = &rm->tree[0];
	if (rm->ntree > 1 && opts->any_pid)
		return fail_why("--any-pid is for a single process", "restart the tree under its "
				"PIDs, or in a new PID namespace with --new-pid", "restoring %zu "
				"processes", rm->ntree);
	if (rm->header->own_pidns && !opts->new_pid)
		return fail_why("its PIDs are those of the PID namespace it ran in", "restart it "
				"with --new-pid", "restoring the image of PID %d", rm->process->pid);
	/* The root as PID 1: the init of the namespace it ran in. */
	t->nested = opts->new_pid && rm->process->pid == 1;
	root->ctx.pidns_nested = t->nested;
	if (opts->new_pid && !t->nested && pidns_has_init(rm))
		return fail_why("PID 1 of the new PID namespace is its root or restart's init",
				"the image is corrupted", "restoring process 1 with --new-pid");
	for (i = 1; i < rm->ntree; i++) {
		struct rproc *p = new_proc(t, opts), *prev = t->p[t->n - 2];

		if (!p)
			return -1;
		p->rec = &rm->tree[i];
		for (j = 0; j < i; j++)
			if (rm->tree[j].pid == p->rec->ppid)
				p->parent = (int)j;
		p->zombie = p->rec->state == TREE_ZOMBIE;
		p->ctx.fs_from_parent = p->rec->share_fs != 0;
		p->ctx.reader = r;
		p->ctx.next = prev->ctx.next;
		p->ctx.pidns_nested = t->nested;
		if (p->zombie)
			continue;
		snprintf(p->ctx.prefix, sizeof(p->ctx.prefix), "proc/%d/", p->rec->pid);
		if (meta_read_as(r, &p->ctx.meta, p->ctx.prefix, &p->ctx.next))
			return -1;
		if (p->ctx.meta.process->pid != p->rec->pid)
			return fail_why("its metadata is of another process", "the image is corrupted",
					"reading %smeta/process", p->ctx.prefix);
		/* The image header is the root's. */
		p->ctx.meta.header = rm->header;
		p->ctx.meta.nheader = rm->nheader;
		/* (Its PID in the image, for the checks: the restored one's
		 * once it exists, restore_all.) */
		if (p->parent >= 0 && !t->p[p->parent]->zombie)
			p->ctx.tree_parent_pid = t->p[p->parent]->rec ? t->p[p->parent]->rec->pid : 0;
		if (restore_run_checks(&p->ctx))
			return -1;
		if (p->ctx.meta.ncow_pages && !p->ctx.tree_parent_pid)
			return fail_why("it takes pages from a parent it does not have in the image",
					"the image is corrupted", "checking %smeta/cow-pages",
					p->ctx.prefix);
	}
	/* The root's memory comes right after the last metadata. */
	root->ctx.next = t->p[t->n - 1]->ctx.next;
	if (rm->ntree > 1) {
		bool *early = tree_born_early(rm);

		if (!early)
			return -1;
		for (i = 0; i < rm->ntree; i++)
			t->p[i]->early = early[i];
		free(early);
	}
	return 0;
}

/* A group led by a process of the tree, or the root's: joined after
 * exec, once every leader exists (leaders made theirs before forking). */
static int fix_groups(struct rtree *t)
{
	pid_t root_pgid = getpgid(t->p[0]->pid);
	size_t i;

	for (i = 1; i < t->n; i++) {
		const struct tree_rec *r = t->p[i]->rec;
		pid_t want = r->pgid == t->p[0]->rec->pgid ? root_pgid : r->pgid;

		if (t->p[i]->zombie || t->p[i]->by_fork || r->pgid == r->pid ||
		    getpgid(r->pid) == want)
			continue;
		if (remote_syscall_ok(t->p[i]->ctx.remote, NULL, "joining its process group",
				      __NR_setpgid, 0, want, 0, 0, 0, 0))
			return -1;
	}
	for (i = 1; i < t->n; i++) {
		const struct tree_rec *r = t->p[i]->rec;
		pid_t want = r->pgid == t->p[0]->rec->pgid ? root_pgid : r->pgid;

		if (!t->p[i]->by_fork && getpgid(r->pid) != want)
			return fail_why("it is not in its process group", NULL, "restoring process "
					"%d (group %d, not %d)", r->pid, want, getpgid(r->pid));
	}
	return 0;
}

static void kill_all(struct rtree *t)
{
	size_t i, k;

	for (i = 0; i < t->n; i++) {
		struct rproc *p = t->p[i];

		if (p->go[1] >= 0)
			close(p->go[1]);	/* those not traced yet give up */
		p->go[1] = -1;
		if (p->pid <= 0 || p->zombie)
			continue;
		if (p->ctx.remote) {
			for (k = p->ctx.ntasks; k-- > 1;)
				remote_kill(p->ctx.tasks[k]);
			remote_kill(p->ctx.remote);
		} else {
			kill(p->pid, SIGKILL);
			if (p->seized || p->is_child)
				waitpid(p->pid, NULL, __WALL);
		}
	}
	/* The root's children, zombies included, go to init when it dies. */
	if (t->p[0]->pid > 0 && t->p[0]->ctx.remote)
		waitpid(t->p[0]->pid, NULL, __WALL | WNOHANG);
}

static void free_tree(struct rtree *t)
{
	size_t i, k;

	shared_free(t);
	for (i = t->n; i-- > 0;) {
		struct restore_ctx *ctx = &t->p[i]->ctx;

		if (ctx->tasks) {
			for (k = ctx->ntasks; k-- > 1;)
				remote_free(ctx->tasks[k]);
			free(ctx->tasks);
		}
		if (ctx->remote)
			remote_free(ctx->remote);
		state_restore_release(ctx);
		fork_free(t->p[i]);
		if (i) {
			ctx->meta.header = NULL;
			ctx->meta.nheader = 0;
		}
		meta_free(&ctx->meta);
		if (t->p[i]->go[0] >= 0)
			close(t->p[i]->go[0]);
		if (t->p[i]->go[1] >= 0)
			close(t->p[i]->go[1]);
		free(t->p[i]);
	}
	if (t->report_rd >= 0)
		close(t->report_rd);
	if (t->report_fd >= 0)
		close(t->report_fd);
	free(t->p);
}

/* Memory contents come in the metadata's order: the root's first. */
static int restore_all(struct rtree *t)
{
	struct member_cursor next = t->p[0]->ctx.next;
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct rproc *p = t->p[i];

		if (p->zombie)
			continue;
		p->ctx.next = next;
		/* Pages it shares with its parent come from it (memory.c). */
		p->ctx.tree_parent_pid = p->parent >= 0 && !t->p[p->parent]->zombie ?
					 t->p[p->parent]->ctx.pid : 0;
		if (t->n > 1)
			pr_info("restoring process %d", p->pid);
		if (run_restore_hooks(t, i))
			return -1;
		next = p->ctx.next;
	}
	if (next.state != 0)
		return fail_why("unexpected data after memory contents", "the image is corrupted",
				"reading image member %s", next.name);
	if (sysv_finish(&t->p[0]->ctx))	/* all attached: segments marked removed go */
		return -1;
	/* Children before their parents: a parent that runs finds them
	 * let go already (a stopped child stopped, not traced). */
	for (i = t->n; i-- > 0;)
		if (!t->p[i]->zombie && let_go(&t->p[i]->ctx, stop_signal(t->p[i]->rec)))
			return -1;
	return 0;
}

/* System V IPC objects, made before any process (common/state/sysv.c). */
static int prepare_sysv(struct rtree *t)
{
	struct restore_ctx **ctxs = malloc(t->n * sizeof(*ctxs));
	size_t i, n = 0;
	int ret;

	if (!ctxs)
		return fail(ENOMEM, NULL, "making System V IPC objects");
	for (i = 0; i < t->n; i++)
		if (!t->p[i]->zombie || !i)
			ctxs[n++] = &t->p[i]->ctx;
	ret = sysv_prepare(ctxs, n);
	free(ctxs);
	return ret;
}

/* The network lock (common/netlock.h): the packets of every connection
 * rebuilt are dropped from before its socket exists until every process
 * is let go (a peer's segment finding no socket would reset it; one
 * finding it in repair mode would be lost).  On the host ckpt ran on,
 * its lock (--kill) or its hold (a checkpoint the process survived) may
 * still be there: adding takes it over, and removing ends both.  Not
 * rebuilt (--tcp-close) or not locked (--no-tcp-lock): what ckpt left is
 * only removed at the end. */
static int lock_connections(struct rtree *t, const struct restore_opts *opts)
{
	struct netlock_tuple *tuples = NULL;
	size_t i, n = 0;
	bool by_ckpt = false;
	char what[160];

	for (i = 0; i < t->n; i++)
		if (!t->p[i]->zombie &&
		    fd_tcp_lock_tuples(&t->p[i]->ctx.meta, &tuples, &n, &by_ckpt)) {
			free(tuples);
			return -1;
		}
	if (!n)
		return 0;
	t->tcp_lock.timeout_s = opts->tcp_lock_timeout;
	if (opts->tcp_close || opts->no_tcp_lock) {
		if (netlock_available()) {
			t->tcp_lock.t = tuples;	/* only removed */
			t->tcp_lock.n = n;
		} else {
			free(tuples);
		}
		return 0;
	}
	if (by_ckpt && !netlock_available()) {
		fail_why("nft (nftables) is not installed: restart could not lift the lock, "
			 "which would hold the connections until it times out", "install "
			 "nftables (apt-get install nftables); restart --no-tcp-lock rebuilds "
			 "them anyway (on the host ckpt ran on, blocked until the lock's timeout)",
			 "taking over ckpt's network lock of TCP connection %s%s",
			 netlock_describe(&tuples[0], what, sizeof(what)),
			 n > 1 ? " and the others" : "");
		free(tuples);
		return -1;
	}
	if (netlock_add(&t->tcp_lock, tuples, n)) {
		if (by_ckpt) {
			free(tuples);
			return -1;
		}
		pr_warn("TCP connection %s%s rebuilt without the network lock (%s): a packet of "
			"the peer before the restore ends may reset it",
			netlock_describe(&tuples[0], what, sizeof(what)),
			n > 1 ? " and the others" : "", error_text());
		error_clear();
	}
	free(tuples);
	return 0;
}

int restore_image(int image_fd, const struct restore_opts *opts, pid_t *pid)
{
	struct rtree t = { .report_rd = -1, .report_fd = -1 };
	struct image_reader *reader;
	unsigned long long t0 = now_ns();
	const struct image_meta *rm;
	size_t i, k;
	int ret = -1;

	reader = image_reader_new(image_fd);
	if (!reader)
		return -1;
	if ((opts->trust && image_reader_verify(reader, opts->trust)) ||
	    (opts->decrypt && image_reader_decrypt(reader, opts->decrypt)))
		goto out;
	if (read_tree(&t, reader, opts))
		goto out;
	rm = &t.p[0]->ctx.meta;
	pr_info("image of PID %d (%s)%s read and checked in %.2f ms", rm->process->pid,
		rm->process->comm, t.n > 1 ? " and its descendants" : "", (now_ns() - t0) / 1e6);
	if (!opts->any_pid && !opts->new_pid) {
		/* Let a ckpt still writing into our pipe finish (and end its
		 * processes, with --kill) before we need the PIDs. */
		if (being_checkpointed(rm->process->pid) && image_reader_spool(reader))
			goto out;
		for (i = 0; i < t.n; i++) {
			const struct image_meta *m = &t.p[i]->ctx.meta;
			if (t.p[i]->zombie && restore_pid_free(t.p[i]->rec->pid, true))
				goto out;
			if (dead_leader(&t, i) && restore_pid_free(t.p[i]->rec->pgid, true))
				goto out;	/* for its stand-in leader */
			if (gone_session_leader(&t, i) && restore_pid_free(t.p[i]->rec->sid, true))
				goto out;	/* for its session's stand-in leader */
			for (k = 0; k < m->nthreads; k++)
				if (restore_pid_free(m->threads[k].tid, true))
					goto out;
		}
	}
	if (opts->new_pid && pidns_reserve(&t))
		goto out;
	if (lock_connections(&t, opts) || bundle_unpack(&t.p[0]->ctx) || (!t.timens_done && timens_prepare(&t.p[0]->ctx)) ||
	    shared_plan(&t) || prepare_sysv(&t) || start_tree(&t) ||
	    (t.n > 1 && fix_groups(&t)) || restore_all(&t))
		goto out;
	sysv_keep(&t.p[0]->ctx);
	*pid = t.p[0]->pid;
	pr_info("%s %d running, restored in %.1f ms", t.n > 1 ? "process tree of" : "process",
		t.p[0]->pid, (now_ns() - t0) / 1e6);
	ret = 0;
out:
	if (ret) {
		kill_all(&t);	/* nothing half-restored is left running */
		for (i = 0; i < t.n; i++)
			t.p[i]->ctx.failed = true;	/* release hooks undo what they made */
	}
	/* Every process runs (or, on failure, is gone): packets go through. */
	netlock_release(&t.tcp_lock);
	free_tree(&t);
	image_reader_free(reader);
	return ret;
}
