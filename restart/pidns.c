/* restart --new-pid: the restore inside a new PID namespace, where every
 * process of the image gets its own PID and TIDs back whatever this host's
 * processes hold.
 *
 * restart (the "outer" one) unshares CLONE_NEWPID, which only decides the
 * namespace of its next child, and forks: that child is PID 1 of the new
 * namespace, our init.  The init makes a mount namespace of its own
 * (propagation private, so nothing leaks to the host's mounts), mounts a
 * fresh /proc there, and then runs the ordinary restore: inside the
 * namespace the image's PIDs are plain clone3 set_tid values (one level,
 * the innermost) and /proc/PID names the restored processes by the PIDs
 * they see themselves.  Once they run, the init stays as their init: it
 * forwards the signals restart forwards (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2) to the image's root, reaps every process that is
 * orphaned inside the namespace, and passes the root's exit status on;
 * it exits when the last process of the namespace is gone (the kernel
 * would kill them all when PID 1 exits).
 *
 * The init talks to the outer restart through one pipe: 'R' with the
 * root's PID once it runs (--detach: the outer restart prints the root's
 * PID as this host sees it and exits 0), 'X' with the exit code once the
 * root has ended (foreground: the outer restart exits with it).  An end
 * of file without either means the init failed (it printed why, as
 * restart always does) or was killed: the outer restart exits with its
 * status.  Until the restore is done the init dies with the outer restart
 * (PR_SET_PDEATHSIG), taking the half-restored namespace with it. */
#define LOG_PREFIX ""
#include "pidns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"

struct pidns_msg {
	int32_t type;			/* 'R' running, 'X' exited */
	int32_t value;			/* the root's PID inside / its exit code */
};

static int exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The root's PID as this host sees it: the init's child that is inner in
 * the init's namespace (the root may have one of its own below). */
static pid_t outer_pid(pid_t init, pid_t inner)
{
	struct proc_status is;
	char path[64], buf[4096];
	ssize_t n;
	char *p, *end;
	int fd;

	if (procfs_read_status(init, &is) || is.nspid_count < 2) {
		error_clear();
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", init, init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (p = buf; *p; p = end) {
		struct proc_status st;
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (procfs_read_status((pid_t)pid, &st)) {
			error_clear();
			continue;
		}
		if (st.nspid_count >= is.nspid_count && st.nspid[is.nspid_count - 1] == inner)
			return (pid_t)pid;
	}
	return -1;
}

/* The outer restart: wait for the init's word, then exit. */
static _Noreturn void outer_wait(int rd, pid_t init, volatile pid_t *forward_to)
{
	struct pidns_msg m;
	int status;
	ssize_t n;

	*forward_to = init;
	for (;;) {
		n = read(rd, &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n == (ssize_t)sizeof(m) && m.type == 'R') {
		pid_t pid = outer_pid(init, m.value);

		if (pid < 0) {
			fprintf(stderr, "restart: finding the restored process %d of the new PID "
				"namespace (init %d) from outside: %s\n", m.value, init,
				strerror(errno ? errno : ESRCH));
			exit(1);
		}
		printf("%d\n", pid);
		exit(0);
	}
	if (n == (ssize_t)sizeof(m) && m.type == 'X')
		exit(m.value & 0xff);
	while (waitpid(init, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "restart: waiting for the init of the new PID namespace "
				"(%d): %s\n", init, strerror(errno));
			exit(1);
		}
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "restart: the init of the new PID namespace (%d) was killed "
			"by signal %d (%s)\n", init, WTERMSIG(status), strsignal(WTERMSIG(status)));
		exit(1);
	}
	exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
}

/* The namespace's own /proc, seen by nothing outside. */
int pidns_own_proc(void)
{
	if (unshare(CLONE_NEWNS))
		return fail(errno, "run restart as root (CAP_SYS_ADMIN)",
			    "creating a mount namespace for the new PID namespace's /proc");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return fail(errno, NULL, "making the new mount namespace private");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return fail(errno, NULL, "mounting /proc for the new PID namespace");
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* Without the privilege of a PID namespace of its own (not root): a user
 * namespace first, where restart's user and group are themselves (one
 * line each in uid_map and gid_map) and restart holds every capability,
 * until the restored processes exec (they hold none, as before); the
 * PID namespace is made in it.  0, or -1 with errno (no user namespaces:
 * then the caller says EPERM of the PID namespace). */
static int own_user_ns(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWPID)) {
		errno = EPERM;
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) ||
	    write_file("/proc/self/setgroups", "deny\n"))
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (write_file("/proc/self/gid_map", map))
		return -1;
	pr_info("in a user namespace of our own (not root): uid %u, gid %u as here",
		(unsigned)uid, (unsigned)gid);
	return 0;
}

int pidns_enter(struct pidns *ns, volatile pid_t *forward_to)
{
	int p[2];
	pid_t init;

	ns->fd = -1;
	if (pipe2(p, O_CLOEXEC))
		return fail(errno, NULL, "creating a pipe");
	if (unshare(CLONE_NEWPID) && (errno != EPERM || own_user_ns())) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		return fail(err, err == EPERM ? "run restart as root (CAP_SYS_ADMIN), or restart "
			    "a single process with --any-pid" : NULL,
			    "creating a new PID namespace (--new-pid)");
	}
	fflush(NULL);
	init = fork();
	if (init < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		return fail(err, NULL, "starting the init of the new PID namespace");
	}
	if (init > 0) {
		close(p[1]);
		outer_wait(p[0], init, forward_to);
	}
	close(p[0]);
	ns->fd = p[1];
	/* Until the process runs, nothing outlives restart. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		_exit(1);
	return pidns_own_proc();
}

static void report(struct pidns *ns, int type, int value)
{
	struct pidns_msg m = { .type = type, .value = value };

	if (ns->fd < 0)
		return;
	signal(SIGPIPE, SIG_IGN);	/* restart may be gone: we go on */
	if (write(ns->fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		pr_debug("telling restart: %s", strerror(errno));
	close(ns->fd);
	ns->fd = -1;
}

/* Hold nothing of restart's caller: its terminal, pipes, the image. */
static void let_go_of_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC), i;

	for (i = 0; i < 3 && fd >= 0; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
	close_range(3, ~0u, 0);
	prctl(PR_SET_PDEATHSIG, 0);
}

/* Every process of the namespace reaped, then exit as the root did. */
static _Noreturn void reap_all(pid_t root, int code)
{
	int status;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, __WALL);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (pid == root)
			code = exit_code(status);
	}
	_exit(code & 0xff);
}

void pidns_restored(void)
{
	/* From now on the processes outlive restart, as without --new-pid.
	 * (Named only now: zombies of the image are forks of ours.) */
	prctl(PR_SET_PDEATHSIG, 0);
	prctl(PR_SET_NAME, "restart-init", 0, 0, 0);
}

int pidns_wait_root(pid_t root)
{
	int status;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, __WALL);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) {
			fprintf(stderr, "restart: waiting for process %d: %s\n", root,
				strerror(errno));
			return 1;
		}
		if (pid == root)
			return exit_code(status);
	}
}

void pidns_detached(struct pidns *ns, pid_t root)
{
	prctl(PR_SET_PDEATHSIG, 0);
	report(ns, 'R', root);
	let_go_of_stdio();
	reap_all(root, 0);
}

void pidns_exited(struct pidns *ns, int code)
{
	prctl(PR_SET_PDEATHSIG, 0);
	fflush(NULL);
	report(ns, 'X', code);
	let_go_of_stdio();
	reap_all(0, code);
}
