/* pidhold: hold the given PIDs, so that a restore cannot reclaim them.
 *
 * usage: pidhold PID...
 * Each PID is taken by a child created under it (clone3 set_tid, needs
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN) that sleeps until pidhold ends
 * (PR_SET_PDEATHSIG); prints "held N" once every PID is held, exits 1 if
 * one cannot be taken.  Ends on SIGTERM or SIGINT, its children with it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		pid_t want = (pid_t)atoi(argv[i]), pid;
		struct clone_args args = {
			.exit_signal = SIGCHLD,
			.set_tid = (uint64_t)(uintptr_t)&want,
			.set_tid_size = 1,
		};

		pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid < 0) {
			fprintf(stderr, "pidhold: taking PID %d: %s\n", want, strerror(errno));
			return 1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	}
	printf("held %d\n", argc - 1);
	fflush(stdout);
	for (;;)
		pause();
}
