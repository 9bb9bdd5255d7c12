/* peercred: unix socket pairs made by a helper that shared our fd table
 * (clone with CLONE_VM and CLONE_FILES) and has exited, as zdtm sock_peercred does:
 * their SO_PEERCRED names the helper's PID, user and group (it ran as
 * nobody, 65534, when we are root).  One pair keeps both ends, the other
 * only one (its peer closed).  Prints "ready", waits for SIGUSR1 (sent
 * after restart), checks the credentials again: "PASS", or "CORRUPT
 * <what>" (exit 3).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

static int pair[2], lone[2];
static uid_t want_uid;
static gid_t want_gid;

static int helper(void *arg)
{
	(void)arg;
	if ((want_gid != getgid() && setgid(want_gid)) || (want_uid != getuid() && setuid(want_uid)))
		return 1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) || socketpair(AF_UNIX, SOCK_DGRAM, 0, lone))
		return 1;
	return 0;
}

static int check(int fd, pid_t pid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len))
		return -1;
	if (uc.pid != pid || uc.uid != want_uid || uc.gid != want_gid) {
		printf("fd %d: pid %d uid %u gid %u, not %d %u %u\n", fd, uc.pid, uc.uid, uc.gid,
		       pid, want_uid, want_gid);
		return -1;
	}
	return 0;
}

int main(void)
{
	static char stack[256 * 1024];
	int status;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	want_uid = getuid() ? getuid() : 65534;
	want_gid = getgid() ? getgid() : 65534;
	pid = clone(helper, stack + sizeof(stack), CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status) {
		printf("FAIL the helper: %s\n", strerror(errno));
		return 2;
	}
	close(lone[1]);
	if (check(pair[0], pid) || check(pair[1], pid) || check(lone[0], pid)) {
		printf("FAIL wrong credentials before the checkpoint\n");
		return 2;
	}
	printf("helper %d\nready\n", pid);
	while (!go)
		usleep(20000);
	if (check(pair[0], pid) || check(pair[1], pid))
		printf("CORRUPT the pair's credentials\n");
	else if (check(lone[0], pid))
		printf("CORRUPT the lone socket's credentials\n");
	else if (write(pair[0], "x", 1) != 1 || read(pair[1], &status, 1) != 1)
		printf("CORRUPT the pair is not connected\n");
	else {
		printf("PASS\n");
		return 0;
	}
	return 3;
}
