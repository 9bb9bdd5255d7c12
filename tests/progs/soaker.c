/* soaker: a process for the soak test (make soak, tests/soak/t-soak.sh):
 * threads, a file, sockets and timers at once, each checked every tick.
 *
 * usage: soaker DIR [-i MS]
 *   3 worker threads each count in their own slot (each must advance
 *   between ticks);
 *   DIR/soaker.data, open O_APPEND: one 16-byte record appended per tick,
 *   and its size must be 16 * ticks (the offset and the contents survive);
 *   a stream unix socketpair: one numbered record sent each tick on one
 *   end and read from the other, in sequence;
 *   a timerfd (periodic, 20 ms) that must have expired since the last tick,
 *   and a POSIX timer (periodic, 20 ms, SIGRTMIN+2) that must have fired.
 * (Each of these may take up to a second more: a tick can come at once
 * after a restore, before the other threads and the timers ran again.)
 * Every tick (default 50 ms) it prints "tick N"; anything wrong prints
 * "CORRUPT <what>" and exits 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3

static atomic_ulong slots[WORKERS];
static volatile sig_atomic_t fired;

static void corrupt(const char *what, long v)
{
	printf("CORRUPT %s %ld\n", what, v);
	exit(3);
}

static void *worker(void *arg)
{
	atomic_ulong *slot = arg;

	for (;;) {
		struct timespec ts = { 0, 5000000 };

		atomic_fetch_add(slot, 1);
		while (nanosleep(&ts, &ts))
			;
	}
	return NULL;
}

static void on_timer(int sig)
{
	(void)sig;
	fired++;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_timer, .sa_flags = SA_RESTART };
	struct itimerspec every = { { 0, 20000000 }, { 0, 20000000 } };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL };
	unsigned long last[WORKERS] = { 0 };
	long interval = 50, tick, last_fired = 0;
	int sv[2], tfd, fd, i;
	char path[4096];
	timer_t timer;

	if (argc < 2) {
		fprintf(stderr, "usage: soaker DIR [-i MS]\n");
		return 2;
	}
	if (argc == 4 && !strcmp(argv[2], "-i"))
		interval = atol(argv[3]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/soaker.data", argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		corrupt("setup", errno);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (tfd < 0 || timerfd_settime(tfd, 0, &every, NULL))
		corrupt("timerfd", errno);
	sigaction(SIGRTMIN + 2, &sa, NULL);
	sev.sigev_signo = SIGRTMIN + 2;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) || timer_settime(timer, 0, &every, NULL))
		corrupt("timer_create", errno);
	for (i = 0; i < WORKERS; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, &slots[i]))
			corrupt("pthread_create", i);
	}
	for (tick = 1;; tick++) {
		struct timespec ts = { interval / 1000, interval % 1000 * 1000000 };
		char rec[24], got[17], want[24];
		uint64_t exp;
		struct stat st;

		while (nanosleep(&ts, &ts))
			;
		/* (A tick may come at once after a restore, before the workers
		 * ran again: give each a second.) */
		for (i = 0; i < WORKERS; i++) {
			unsigned long now;
			int wait;

			for (wait = 0; (now = atomic_load(&slots[i])) == last[i] && wait < 100; wait++)
				usleep(10000);
			if (now == last[i])
				corrupt("a worker thread stopped", i);
			last[i] = now;
		}
		snprintf(rec, sizeof(rec), "%015ld\n", tick);
		if (write(fd, rec, 16) != 16 || fstat(fd, &st) || st.st_size != 16 * tick)
			corrupt("data file size", (long)st.st_size);
		if (write(sv[0], rec, 16) != 16 || read(sv[1], got, 16) != 16)
			corrupt("socketpair", errno);
		got[16] = 0;
		snprintf(want, sizeof(want), "%015ld\n", tick);
		if (strcmp(got, want))
			corrupt("socketpair record out of sequence", tick);
		for (i = 0; read(tfd, &exp, sizeof(exp)) != sizeof(exp) && i < 100; i++)
			usleep(10000);
		if (i == 100)
			corrupt("timerfd did not expire", errno);
		for (i = 0; fired == last_fired && i < 100; i++)
			usleep(10000);
		if (fired == last_fired)
			corrupt("POSIX timer stopped firing", (long)fired);
		last_fired = fired;
		printf("tick %ld\n", tick);
	}
}
