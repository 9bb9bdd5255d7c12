/* seccomp: a process under a seccomp filter, for checkpoint/restart tests.
 *
 * usage: seccomp [-t|-p]
 * Sets no_new_privs and installs a filter under which uname(2) fails with
 * EPERM and everything else is allowed (with -t, after starting a second
 * thread, using SECCOMP_FILTER_FLAG_TSYNC; with -p, the second thread
 * installs it for itself only: the main thread has no filter, uname
 * works there, and its status says Seccomp: 0).  Every 100 ms it prints
 * "tick N seccomp=MODE uname=EPERM", checking that the filter still
 * applies (uname fails with EPERM, /proc/self/status says Seccomp: 2) in
 * the main thread and in the second thread.  Otherwise "CORRUPT ..." and
 * exit 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static volatile int thread_ok = 1, thread_checks, own_filter;
static struct sock_fprog prog;

static int uname_blocked(void)
{
	struct utsname u;
	return syscall(SYS_uname, &u) == -1 && errno == EPERM;
}

static int seccomp_mode(void)
{
	char line[256];
	int mode = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	if (f)
		fclose(f);
	return mode;
}

static void *second(void *arg)
{
	struct timespec ts = { 0, 50000000 };
	(void)arg;
	if (own_filter && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
			   syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)))
		thread_ok = 0;
	for (;;) {
		if (thread_checks > 0 && (!uname_blocked() || (own_filter && seccomp_mode() != 2)))
			thread_ok = 0;
		thread_checks++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	int tsync = argc > 1 && !strcmp(argv[1], "-t");
	pthread_t th;
	int tick;

	prog = (struct sock_fprog){ sizeof(insns) / sizeof(insns[0]), insns };
	own_filter = argc > 1 && !strcmp(argv[1], "-p");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tsync || own_filter)
		pthread_create(&th, NULL, second, NULL);
	if (own_filter) {
		while (!thread_checks)
			usleep(10000);
	} else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0,
		    &prog)) {
		printf("CORRUPT cannot install the filter: %s\n", strerror(errno));
		return 3;
	}
	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		if (uname_blocked() == own_filter || seccomp_mode() != (own_filter ? 0 : 2) ||
		    !thread_ok) {
			printf("CORRUPT filter lost: uname_blocked=%d mode=%d thread_ok=%d\n",
			       uname_blocked(), seccomp_mode(), thread_ok);
			return 3;
		}
		printf("tick %d seccomp=2 uname=EPERM\n", tick);
	}
}
