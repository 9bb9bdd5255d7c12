/* tracer: attach to a process the way a debugger or strace would and stay
 * attached, so ckpt can be tested on a process that is already traced.
 *
 * usage: tracer PID
 * PTRACE_SEIZEs PID, prints "tracing PID" on stdout, then stays attached
 * until killed (the kernel detaches the tracee then) or until the tracee
 * exits.  Like strace, it lets every stop go on at once: signal-delivery
 * stops are resumed with their signal, group-stops with PTRACE_LISTEN, so
 * the tracee keeps running normally.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: tracer PID\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		fprintf(stderr, "tracer: PTRACE_SEIZE %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	printf("tracing %d\n", (int)pid);
	fflush(stdout);
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tracer: waitpid: %s\n", strerror(errno));
			return 1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			printf("tracee %d ended\n", (int)pid);
			return 0;
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status);
		if (status >> 16 == PTRACE_EVENT_STOP) {
			/* group-stop (or PTRACE_INTERRUPT): stay stopped the way an
			 * untraced process would, without holding it. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				ptrace(PTRACE_LISTEN, pid, NULL, NULL);
			else
				ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else {
			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
		}
	}
}
