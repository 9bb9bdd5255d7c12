/* leasetree: a write lease being broken whose owner (the parent, which
 * set it and was sent its break signal) has closed its fd, while a child
 * holds the open file.  usage: leasetree FILE.  The parent counts the
 * SIGIO it gets (one, for the break), prints "ready" once the child
 * runs, waits for SIGUSR1 (sent after restart) and checks that it got no
 * other SIGIO and that the child still sees the lease broken (F_GETLEASE
 * F_UNLCK): "PASS", or "CORRUPT <what>" (exit 3).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go, breaks;
static void on_usr1(int sig) { (void)sig; go = 1; }
static void on_io(int sig) { (void)sig; breaks++; }

int main(int argc, char **argv)
{
	int fd, st, p[2];
	pid_t kid;
	char c;

	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	signal(SIGIO, on_io);
	fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0 || fcntl(fd, F_SETLEASE, F_WRLCK) || fcntl(fd, F_SETSIG, SIGIO)) {
		printf("FAIL lease: %s\n", strerror(errno));
		return 2;
	}
	if (open(argv[1], O_WRONLY | O_NONBLOCK) >= 0 || errno != EWOULDBLOCK) {
		printf("FAIL the lease does not break\n");
		return 2;
	}
	while (!breaks)
		usleep(10000);
	if (pipe(p))
		return 2;
	kid = fork();
	if (kid == 0) {
		close(p[0]);
		signal(SIGIO, SIG_DFL);	/* (it must get none either) */
		if (write(p[1], "k", 1) != 1)
			_exit(2);
		for (;;) {
			if (fcntl(fd, F_GETLEASE) != F_UNLCK)
				_exit(4);	/* the lease is not being broken any more */
			usleep(20000);
		}
	}
	close(p[1]);
	close(fd);
	if (read(p[0], &c, 1) != 1)
		return 2;
	printf("ready\n");
	while (!go)
		usleep(20000);
	usleep(200000);
	if (breaks != 1) {
		printf("CORRUPT the owner got %d break signals, not 1\n", (int)breaks);
		kill(kid, SIGKILL);
		return 3;
	}
	if (waitpid(kid, &st, WNOHANG) != 0) {
		printf("CORRUPT the child ended (status %#x)\n", st);
		return 3;
	}
	kill(kid, SIGKILL);
	waitpid(kid, &st, 0);
	printf("PASS\n");
	return 0;
}
