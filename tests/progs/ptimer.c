/* ptimer: POSIX timers that must survive a checkpoint.
 *
 * usage: ptimer
 * A periodic CLOCK_MONOTONIC timer (100 ms, SIGRTMIN+1, sigev_value 0x5ca1ab1e)
 * and a one-shot CLOCK_REALTIME timer due in 60 s (SIGEV_NONE).  Every
 * 200 ms it prints
 *   "tick N fired=F oneshot_left_ms=L"
 * and checks: the periodic timer keeps firing (F grows), every delivery
 * carries the sigev_value, and timer_gettime() on both timer_t values (the
 * kernel's ids) still works, with the one-shot's time left only going
 * down.  On failure: "CORRUPT ..." and exit 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COOKIE 0x5ca1ab1e

static volatile sig_atomic_t fired, bad_value;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if ((uintptr_t)si->si_value.sival_ptr != COOKIE)
		bad_value = 1;
	fired++;
}

static void corrupt(const char *what, long v)
{
	printf("CORRUPT %s %ld\n", what, v);
	exit(3);
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_timer, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigevent sev = { 0 };
	struct itimerspec periodic = { { 0, 100000000 }, { 0, 100000000 } };
	struct itimerspec oneshot = { { 0, 0 }, { 60, 0 } }, cur;
	timer_t t1, t2;
	long last_left = 60000, last_fired = 0;
	int tick;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 1;
	sev.sigev_value.sival_ptr = (void *)(uintptr_t)COOKIE;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t1) || timer_settime(t1, 0, &periodic, NULL))
		corrupt("timer_create periodic", 0);
	sev.sigev_notify = SIGEV_NONE;
	if (timer_create(CLOCK_REALTIME, &sev, &t2) || timer_settime(t2, 0, &oneshot, NULL))
		corrupt("timer_create oneshot", 0);
	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 200000000 };
		long left;

		while (nanosleep(&ts, &ts))
			;
		if (bad_value)
			corrupt("sigev_value lost", 0);
		if (timer_gettime(t1, &cur) || cur.it_interval.tv_nsec != 100000000)
			corrupt("periodic timer gone or changed", (long)(intptr_t)t1);
		if (timer_gettime(t2, &cur))
			corrupt("oneshot timer gone", (long)(intptr_t)t2);
		left = cur.it_value.tv_sec * 1000 + cur.it_value.tv_nsec / 1000000;
		if (left > last_left || left == 0)
			corrupt("oneshot time left went up or ran out", left);
		if (tick > 1 && fired == last_fired)
			corrupt("periodic timer stopped firing", fired);
		last_left = left;
		last_fired = fired;
		printf("tick %d fired=%ld oneshot_left_ms=%ld\n", tick, (long)fired, left);
	}
}
