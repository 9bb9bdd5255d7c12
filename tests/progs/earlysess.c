/* earlysess: a child that calls setsid() after forking a child of its
 * own, which so stays in the root's session (zdtm session00/01).  The
 * root prints "ready A B" (A the new session's leader, B its child in the
 * root's session) and waits; the test compares sessions after restart. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	pid_t a, b;

	if (pipe(p))
		return 1;
	a = fork();
	if (a < 0)
		return 1;
	if (a == 0) {
		b = fork();
		if (b < 0)
			_exit(1);
		if (b == 0)
			for (;;)
				pause();
		if (setsid() < 0 || write(p[1], &b, sizeof(b)) != sizeof(b))
			_exit(1);
		for (;;)
			pause();
	}
	if (read(p[0], &b, sizeof(b)) != sizeof(b))
		return 1;
	printf("ready %d %d\n", a, b);
	fflush(stdout);
	for (;;)
		pause();
}
