/* vforker: a vfork parent and child, frozen mid-flight for ckpt to refuse.
 * usage: vforker SECONDS — prints "parent PID child PID" then the child
 * sleeps SECONDS before _exit (the parent waits in vfork meanwhile). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned secs = argc > 1 ? atoi(argv[1]) : 10;
	pid_t parent = getpid(), child;

	setvbuf(stdout, NULL, _IONBF, 0);
	child = vfork();
	if (child == 0) {
		/* Only async-signal-safe calls on the parent's memory. */
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "parent %d child %d\n", parent, getpid());
		if (write(1, buf, n) != n)
			_exit(1);
		sleep(secs);
		_exit(0);
	}
	return 0;
}
