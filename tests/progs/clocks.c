/* clocks: CLOCK_MONOTONIC and CLOCK_BOOTTIME as a process sees them, across
 * checkpoint and restart.
 *
 * usage: clocks
 * Every 50 ms prints "tick N mono MS boot MS" (milliseconds of each clock),
 * line-buffered.  If either clock went backwards since the previous tick it
 * prints "CORRUPT <clock> went back by MS ms" and exits 3.  How far they may
 * jump forwards is the test's to judge (from the log).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ms(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int main(void)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	long long mono, boot, last_mono = 0, last_boot = 0;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (n = 1;; n++) {
		mono = ms(CLOCK_MONOTONIC);
		boot = ms(CLOCK_BOOTTIME);
		if (mono < last_mono || boot < last_boot) {
			printf("CORRUPT %s went back by %lld ms\n", mono < last_mono ? "CLOCK_MONOTONIC" :
			       "CLOCK_BOOTTIME", mono < last_mono ? last_mono - mono : last_boot - boot);
			return 3;
		}
		last_mono = mono;
		last_boot = boot;
		printf("tick %ld mono %lld boot %lld\n", n, mono, boot);
		nanosleep(&nap, NULL);
	}
}
