/* deadproc: fds on files of /proc/PID of a child that has exited since
 * they were opened (a monitor that kept /proc/PID/status of a worker it
 * has reaped): a file (status), a directory (/proc/PID) and an O_PATH fd
 * (/proc/PID/mountinfo).  Prints "ready", waits for SIGUSR1 (sent after
 * restart; "child PID" before it), checks that each fd is still open, without close-on-exec,
 * names /proc/PID of a PID (the same when restart could reclaim it, which
 * "same" as the first argument demands), and that reading the file fails
 * with ESRCH as it did: "PASS", or "CORRUPT <what>" (exit 3).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

_Noreturn static void corrupt(const char *what, int fd)
{
	printf("CORRUPT fd %d: %s\n", fd, what);
	exit(3);
}

static void check(int fd, pid_t pid, const char *suffix, bool same)
{
	char link[64], want[64], got[256];
	ssize_t n;
	long dead;
	char *end;

	if (fcntl(fd, F_GETFD) != 0)
		corrupt("closed, or close-on-exec", fd);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, got, sizeof(got) - 1);
	if (n < 0)
		corrupt("no link", fd);
	got[n] = 0;
	if (n > 10 && !strcmp(got + n - 10, " (deleted)"))
		got[n - 10] = 0;	/* the directory of a process gone */
	snprintf(want, sizeof(want), "/proc/%d%s", pid, suffix);
	dead = strncmp(got, "/proc/", 6) ? -1 : strtol(got + 6, &end, 10);
	if (dead <= 0 || strcmp(end, suffix) || (same && strcmp(got, want))) {
		printf("CORRUPT fd %d names %s, not %s\n", fd, got, want);
		exit(3);
	}
}

int main(int argc, char **argv)
{
	bool same = argc > 1 && !strcmp(argv[1], "same");
	int status, file, dir, opath;
	char buf[64], path[64];
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	file = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	dir = open(path, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	opath = open(path, O_PATH);
	if (file < 0 || dir < 0 || opath < 0) {
		printf("FAIL open %s: %s\n", path, strerror(errno));
		return 2;
	}
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid) {
		printf("FAIL waitpid: %s\n", strerror(errno));
		return 2;
	}
	if (read(file, buf, sizeof(buf)) >= 0 || errno != ESRCH) {
		printf("FAIL reading the status of a dead child does not fail with ESRCH\n");
		return 2;
	}
	printf("child %d\nready\n", pid);
	while (!go)
		usleep(20000);
	check(file, pid, "/status", same);
	check(dir, pid, "", same);
	check(opath, pid, "/mountinfo", same);
	errno = 0;
	if (read(file, buf, sizeof(buf)) >= 0 || errno != ESRCH)
		corrupt("reading it does not fail with ESRCH", file);
	if (openat(dir, "status", O_RDONLY) >= 0)
		corrupt("a file of the dead process's directory opens", dir);
	printf("PASS\n");
	return 0;
}
