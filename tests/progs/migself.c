/* migself: a program that checkpoints, clones or moves itself with
 * libmigrate, with threads and children's reapers around the call.
 *
 * usage: migself [-t THREADS] [-T] [-s dfl|ign|reap|wall] [-e] [-f FLAGS]
 *                [-u SOCKET] [-2] ACTION ARG
 *   ACTION ckpt IMAGE | clone HOST | to HOST  (the libmigrate call)
 *   -t N   N worker threads counting (and checking their own memory)
 *   -T     make the call from a worker thread, not the main thread
 *   -s     SIGCHLD: dfl (default), ign (SIG_IGN), reap (a handler reaping
 *          every child with waitpid(-1)), wall (a thread reaping every
 *          child, clones too, with waitpid(-1, __WALL) in a loop)
 *   -e     the call is expected to fail: print why and go on
 *   -f     the flags of the call (a number; MIGRATE_EXIT is 1, see
 *          libmigrate.h)
 *   -u     connect a unix stream socket to SOCKET first (a peer outside)
 *   -2     (ckpt) another thread checkpoints to ARG.2 at the same time;
 *          prints "second RESULT" (0 checkpointed, 1 restored, -1 failed)
 *
 * Lines on stdout (open it for appending: a copy writes there too):
 *   "start PID"; after the call, as the case may be:
 *   "checkpointed" / "restored" (ckpt), "original copy=PID" / "copy PID"
 *   (clone), "moved PID" (to), "failed errno=E: MESSAGE" (-e);
 *   then "ok ROLE" once the state checks out (threads still counting, their
 *   memory and a buffer intact), and the process exits 0.  Anything wrong:
 *   "CORRUPT ..." and exit 1.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libmigrate.h"

#define MAXT 8
#define BUF (1 << 20)

static atomic_long counters[MAXT];
static atomic_int reaped;
static unsigned char *buffer;
static int nthreads, expect_fail;
static unsigned flags;

static const char *action, *arg;
static atomic_int result_ready;
static long call_result;
static int call_errno;
static char call_msg[1100];

static atomic_int second_done;
static int second_result;

static void *second_caller(void *p)
{
	char path[4096];

	(void)p;
	snprintf(path, sizeof(path), "%s.2", arg);
	second_result = migrate_checkpoint(path, 0);
	atomic_store(&second_done, 1);
	return NULL;
}

static void corrupt(const char *fmt, const char *what) __attribute__((noreturn));
static void corrupt(const char *fmt, const char *what)
{
	printf("CORRUPT ");
	printf(fmt, what);
	printf("\n");
	exit(1);
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void do_call(void)
{
	if (!strcmp(action, "ckpt"))
		call_result = migrate_checkpoint(arg, flags);
	else if (!strcmp(action, "clone"))
		call_result = migrate_clone(arg, flags);
	else
		call_result = migrate_to(arg, flags);
	call_errno = errno;
	snprintf(call_msg, sizeof(call_msg), "%s", migrate_strerror());
}

static void *worker(void *p)
{
	int id = (int)(long)p, i;
	unsigned char mine[4096];

	memset(mine, 0x40 + id, sizeof(mine));
	if (id == 0 && getenv("MIGSELF_CALLER_THREAD")) {
		do_call();
		atomic_store(&result_ready, 1);
	}
	for (;;) {
		atomic_fetch_add(&counters[id], 1);
		for (i = 0; i < (int)sizeof(mine); i += 512)
			if (mine[i] != 0x40 + id)
				corrupt("thread memory of %s changed", "a worker");
		pause_ms(2);
	}
	return NULL;
}

static void on_chld(int sig)
{
	int e = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		atomic_fetch_add(&reaped, 1);
	errno = e;
}

static void *wall_reaper(void *p)
{
	(void)p;
	for (;;) {
		if (waitpid(-1, NULL, __WALL) > 0)
			atomic_fetch_add(&reaped, 1);
		else
			pause_ms(1);
	}
	return NULL;
}

/* Threads still count, their memory and the buffer are intact. */
static void check_state(const char *role)
{
	long before[MAXT];
	int i;

	for (i = 0; i < nthreads; i++)
		before[i] = atomic_load(&counters[i]);
	pause_ms(100);
	for (i = 0; i < nthreads; i++)
		if (atomic_load(&counters[i]) == before[i])
			corrupt("%s: a worker thread does not run", role);
	for (i = 0; i < BUF; i += 4093)
		if (buffer[i] != (unsigned char)(i * 7))
			corrupt("%s: the buffer changed", role);
	printf("ok %s\n", role);
}

int main(int argc, char **argv)
{
	const char *sigchld = "dfl", *sock = NULL;
	pthread_t tids[MAXT], reaper;
	int c, i, from_thread = 0, second = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "t:Ts:ef:u:2")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'T': from_thread = 1; break;
		case 's': sigchld = optarg; break;
		case 'e': expect_fail = 1; break;
		case 'f': flags = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'u': sock = optarg; break;
		case '2': second = 1; break;
		default: return 2;
		}
	}
	if (optind + 2 != argc || nthreads < 0 || nthreads > MAXT || (from_thread && !nthreads)) {
		fprintf(stderr, "usage: migself [-t N] [-T] [-s dfl|ign|reap|wall] [-e] "
			"[-f FLAGS] [-u SOCKET] [-2] ckpt|clone|to ARG\n");
		return 2;
	}
	action = argv[optind];
	arg = argv[optind + 1];
	buffer = malloc(BUF);
	for (i = 0; i < BUF; i++)
		buffer[i] = (unsigned char)(i * 7);

	if (!strcmp(sigchld, "ign")) {
		signal(SIGCHLD, SIG_IGN);
	} else if (!strcmp(sigchld, "reap") || !strcmp(sigchld, "wall")) {
		struct sigaction sa = { .sa_handler = on_chld, .sa_flags = SA_RESTART };
		sigaction(SIGCHLD, &sa, NULL);
		if (!strcmp(sigchld, "wall"))
			pthread_create(&reaper, NULL, wall_reaper, NULL);
		/* The reaper works: a child of ours is gone without our wait. */
		if (fork() == 0)
			_exit(0);
		for (i = 0; i < 1000 && !atomic_load(&reaped); i++)
			pause_ms(2);
		if (!atomic_load(&reaped))
			corrupt("the %s reaper did not reap a child", sigchld);
	}
	if (sock) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			corrupt("cannot connect to %s", sock);
	}
	if (from_thread)
		setenv("MIGSELF_CALLER_THREAD", "1", 1);
	for (i = 0; i < nthreads; i++)
		pthread_create(&tids[i], NULL, worker, (void *)(long)i);
	printf("start %d\n", (int)getpid());
	pause_ms(50);

	if (second) {
		pthread_t t2;
		pthread_create(&t2, NULL, second_caller, NULL);
	}
	if (from_thread) {
		while (!atomic_load(&result_ready))
			pause_ms(5);
	} else {
		do_call();
	}

	if (call_result < 0) {
		printf("failed errno=%d: %s\n", call_errno, call_msg);
		if (!expect_fail)
			corrupt("the call failed: %s", call_msg);
		if (!call_msg[0])
			corrupt("%s", "no message from migrate_strerror()");
		check_state("after-failure");
		return 0;
	}
	if (expect_fail)
		corrupt("the call did not fail (%s)", action);
	if (call_msg[0])
		printf("note %s\n", call_msg);
	if (second) {
		while (!atomic_load(&second_done))
			pause_ms(5);
		printf("second %d\n", second_result);
	}
	if (!strcmp(action, "ckpt")) {
		printf("%s\n", call_result == MIGRATE_RESTORED ? "restored" : "checkpointed");
		check_state(call_result == MIGRATE_RESTORED ? "restored" : "original");
	} else if (!strcmp(action, "clone")) {
		if (call_result > 0)
			printf("original copy=%ld\n", call_result);
		else
			printf("copy %d\n", (int)getpid());
		check_state(call_result > 0 ? "original" : "copy");
	} else {
		printf("moved %d\n", (int)getpid());
		check_state("moved");
	}
	return 0;
}
