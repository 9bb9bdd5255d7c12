/* vforker: a vfork parent and child, frozen mid-flight for ckpt.
 * usage: vforker SECONDS [exec] — prints "parent PID child PID" then the
 * child sleeps SECONDS before _exit (the parent waits in vfork meanwhile);
 * with "exec", the child sleeps SECONDS/10 then execs `sleep 60`, and the
 * parent, let go, sleeps on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned secs = argc > 1 ? atoi(argv[1]) : 10;
	int then_exec = argc > 2 && !strcmp(argv[2], "exec");
	pid_t parent = getpid(), child;

	setvbuf(stdout, NULL, _IONBF, 0);
	child = vfork();
	if (child == 0) {
		/* Only async-signal-safe calls on the parent's memory. */
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "parent %d child %d\n", parent, getpid());
		if (write(1, buf, n) != n)
			_exit(1);
		if (then_exec) {
			struct timespec t = { secs / 10, (long)(secs % 10) * 100000000L };
			nanosleep(&t, NULL);
			execl("/bin/sleep", "sleep", "60", (char *)NULL);
			_exit(127);
		}
		sleep(secs);
		_exit(0);
	}
	while (then_exec)
		sleep(1);
	return 0;
}
