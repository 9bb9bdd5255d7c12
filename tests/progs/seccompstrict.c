/* seccompstrict: a process with one thread in strict seccomp mode (read,
 * write, exit and sigreturn only), for t-seccomp-strict.sh.
 *
 * usage: seccompstrict
 * A second thread enters SECCOMP_MODE_STRICT and answers, on a pipe, each
 * byte the main thread sends it on another.  Every 100 ms the main thread
 * sends one, reads the answer, and prints "tick N strict=1 main=0" after
 * checking the threads' modes in /proc (the second thread's "Seccomp: 1",
 * its own "Seccomp: 0"); otherwise "CORRUPT ..." and exit 3.  A syscall
 * other than those four in the strict thread kills the whole process.
 * stdout is line-buffered. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int ask[2], answer[2];
static volatile pid_t strict_tid;

static void *strict_thread(void *arg)
{
	char c;

	(void)arg;
	strict_tid = (pid_t)syscall(SYS_gettid);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
		return NULL;
	for (;;)
		if (read(ask[0], &c, 1) == 1 && write(answer[1], &c, 1) != 1)
			syscall(SYS_exit, 1);
}

static int mode_of(pid_t tid)
{
	char path[64], line[256];
	int mode = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "Seccomp: %d", &mode);
	fclose(f);
	return mode;
}

int main(void)
{
	pthread_t t;
	unsigned long n;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(ask) || pipe(answer) || pthread_create(&t, NULL, strict_thread, NULL)) {
		perror("seccompstrict: setting up");
		return 1;
	}
	for (n = 1;; n++) {
		int strict, own;

		c = (char)n;
		if (write(ask[1], &c, 1) != 1 || read(answer[0], &c, 1) != 1 || c != (char)n) {
			printf("CORRUPT tick %lu: no answer from the strict thread\n", n);
			return 3;
		}
		strict = mode_of(strict_tid);
		own = mode_of((pid_t)syscall(SYS_gettid));
		if (strict != 1 || own != 0) {
			printf("CORRUPT tick %lu: strict thread in mode %d, main thread %d\n", n,
			       strict, own);
			return 3;
		}
		printf("tick %lu strict=1 main=0\n", n);
		usleep(100000);
	}
}
