/* ckpt of a process in a PID namespace below ckpt's own (a tree started
 * with `unshare -pf --mount-proc PROG`, checkpointed by the PID of PROG):
 * its PIDs, those of its descendants, groups, sessions and threads are
 * saved as they are seen in that namespace, not as this host numbers them.
 *
 * Rather than translating each PID ckpt reads (/proc, ptrace, kcmp,
 * SO_PEERCRED, fdinfo...), ckpt dumps from inside: it joins the process's
 * PID namespace (setns, which places only its children there) and forks;
 * the child makes a private mount namespace with a /proc of that PID
 * namespace and runs the ordinary dump of the process under its PID
 * there, marking the image `own_pidns` (restart then restores it only
 * with --new-pid, into a new PID namespace, the root as its PID 1 again
 * when it was).  The init of a namespace cannot be killed from inside it:
 * with --kill, the child asks the ckpt outside, once the image is
 * committed, to send the SIGKILL, which ends every process of the
 * namespace, the child too. */
#define LOG_PREFIX ""
#include "pidns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump.h"
#include "procfs.h"

static volatile pid_t inside_pid;

static void forward(int sig)
{
	if (inside_pid > 0)
		kill(inside_pid, sig);
}

bool pidns_below(pid_t pid)
{
	struct proc_status me, it;

	if (procfs_read_status(getpid(), &me) || procfs_read_status(pid, &it)) {
		error_clear();
		return false;	/* (the dump says why) */
	}
	return it.nspid_count > me.nspid_count;
}

pid_t pidns_own_pid(pid_t pid)
{
	struct proc_status st;

	if (procfs_read_status(pid, &st) || st.nspid_count < 1) {
		error_clear();
		return pid;
	}
	return st.nspid[st.nspid_count - 1];
}

_Noreturn void pidns_kill_init(int fd)
{
	int i;

	if (write(fd, "k", 1) != 1)
		_exit(1);
	for (i = 0; i < 100; i++)	/* it kills us with the namespace */
		usleep(100000);
	_exit(1);
}

void pidns_image_complete(int fd)
{
	if (write(fd, "c", 1) != 1)
		pr_debug("telling ckpt outside: %s", strerror(errno));
}

static int inside(pid_t inner, struct dump_opts *opts, struct output *out)
{
	if (unshare(CLONE_NEWNS))
		return fail(errno, "run ckpt as root (CAP_SYS_ADMIN)", "creating a mount "
			    "namespace for the PID namespace's /proc");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return fail(errno, NULL, "making the new mount namespace private");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return fail(errno, NULL, "mounting /proc of the process's PID namespace");
	if (open_output(out))
		return -1;
	return dump_tree(inner, opts, out->fd, commit_output, out);
}

/* Not root: the PID namespace of a tree that restart --new-pid made in a
 * user namespace of its own (restart(1)) is entered from that user
 * namespace, where its owner, our user, holds every capability.  0, or -1
 * with errno EPERM when the process's user namespace is ours or cannot be
 * entered. */
static int enter_user_ns(pid_t pid)
{
	struct stat ours, theirs;
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &theirs) || stat("/proc/self/ns/user", &ours) ||
	    theirs.st_ino == ours.st_ino) {
		if (fd >= 0)
			close(fd);
		errno = EPERM;
		return -1;
	}
	ret = setns(fd, CLONE_NEWUSER);
	close(fd);
	if (ret) {
		errno = EPERM;
		return -1;
	}
	pr_info("entered the user namespace of process %d", pid);
	return 0;
}

int pidns_dump(pid_t pid, struct dump_opts *opts, struct output *out)
{
	struct sigaction sa = { .sa_handler = forward };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct proc_status st;
	char path[64], c;
	int nsfd, kp[2], status, ret;
	bool killed = false;
	pid_t inner, child;
	unsigned i;
	struct dump_stats *want_stats = opts->stats, *stats = NULL;

	if (procfs_read_status(pid, &st))
		return -1;
	inner = st.nspid[st.nspid_count - 1];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return fail(errno, NULL, "opening the PID namespace of process %d", pid);
	if (setns(nsfd, CLONE_NEWPID) && (errno != EPERM || enter_user_ns(pid) ||
					   setns(nsfd, CLONE_NEWPID))) {
		int err = errno;
		close(nsfd);
		return fail(err, err == EPERM ? "run ckpt as root (CAP_SYS_ADMIN)" : NULL,
			    "entering the PID namespace of process %d", pid);
	}
	close(nsfd);
	/* The dump's figures (ckpt snapshot logs them) come back through
	 * memory shared with the child. */
	if (want_stats) {
		stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
		if (stats == MAP_FAILED)
			return fail(errno, NULL, "sharing memory with ckpt inside the PID namespace");
	}
	if (pipe2(kp, O_CLOEXEC)) {
		ret = fail(errno, NULL, "creating a pipe");
		goto unmap;
	}
	pr_info("process %d is PID %d in a PID namespace of its own: checkpointed from there",
		pid, inner);
	fflush(NULL);
	child = fork();
	if (child < 0) {
		close(kp[0]);
		close(kp[1]);
		ret = fail(errno, NULL, "starting ckpt inside the PID namespace of process %d", pid);
		goto unmap;
	}
	if (child == 0) {
		close(kp[0]);
		if (opts->track)	/* its state is named by host PIDs (dirty_track.c) */
			pr_info("no dirty-page tracking from inside a PID namespace: pages "
				"are compared by hashes");
		opts->track = false;
		opts->stats = stats;
		opts->own_pidns = true;
		opts->kill_init_fd = kp[1];
		ret = inside(inner, opts, out);
		close_output(out);
		if (ret)
			error_print();
		_exit(ret ? 1 : 0);
	}
	close(kp[1]);
	inside_pid = child;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	for (;;) {
		ssize_t n = read(kp[0], &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1 && c == 'k' && !killed) {
			killed = true;
			kill(pid, SIGKILL);
			continue;
		}
		if (n == 1 && c == 'c') {
			killed = true;	/* (the namespace may end it now) */
			continue;
		}
		break;
	}
	close(kp[0]);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			ret = fail(errno, NULL, "waiting for ckpt inside the PID namespace");
			goto unmap;
		}
	if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
	    /* with the namespace, after the image was complete: */
	    (killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
		if (stats)
			*want_stats = *stats;
		ret = 0;
	} else if (WIFSIGNALED(status)) {
		ret = fail_why("it was killed", NULL, "ckpt inside the PID namespace of "
			       "process %d (signal %d)", pid, WTERMSIG(status));
	} else {
		ret = 1;	/* it said why */
	}
unmap:
	if (stats)
		munmap(stats, sizeof(*stats));
	return ret;
}
