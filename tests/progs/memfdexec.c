/* memfdexec: a script in a memfd, executed through its fd (a program
 * that runs code it generated, as fexecve users and some JITs do).  It
 * makes the memfd, writes "#!/bin/sh\nexit 7\n" into it through a shared
 * writable mapping of it, checks that executing the fd exits with 7,
 * prints "ready", waits for SIGUSR1 (sent after restart) and checks it
 * again: "PASS", or "CORRUPT <what>" (exit 3).  After restart the fd and
 * the mapping must not count as writers of the inode (exec would fail
 * with ETXTBSY).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

/* The exit status of the script run through fd, or -errno of fexecve. */
static int run(int fd)
{
	char *const argv[] = { "script", NULL }, *const envp[] = { NULL };
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		fexecve(fd, argv, envp);
		_exit(100 + errno);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) >= 100 ? -(WEXITSTATUS(status) - 100) : WEXITSTATUS(status);
}

int main(void)
{
	static const char script[] = "#!/bin/sh\nexit 7\n";
	int fd = memfd_create("script", 0), got = -1;
	char *map;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	if (fd < 0 || ftruncate(fd, 4096) ||
	    (map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		printf("FAIL memfd: %s\n", strerror(errno));
		return 2;
	}
	memcpy(map, script, sizeof(script) - 1);
	if (ftruncate(fd, sizeof(script) - 1) || (got = run(fd)) != 7) {
		printf("FAIL the script does not run before the checkpoint (%d)\n", got);
		return 2;
	}
	printf("ready\n");
	while (!go)
		usleep(20000);
	got = run(fd);
	if (got != 7) {
		printf("CORRUPT executing the memfd gives %d (%s)\n", got,
		       got < 0 ? strerror(-got) : "its exit status");
		return 3;
	}
	printf("PASS\n");
	return 0;
}
