/* procattrs: process-wide kernel state set at start and checked every tick
 * (200 ms), printing "tick N ok" or "CORRUPT <what>" (exit 3):
 *   membarrier   registered for every expedited command the kernel offers:
 *                each command works (EPERM if not registered) and
 *                MEMBARRIER_CMD_GET_REGISTRATIONS lists them all;
 *   timer slack  123457 ns in the main thread, 654321 ns in a second one;
 *   KSM          PR_SET_MEMORY_MERGE (when the kernel has KSM);
 *   THP          PR_SET_THP_DISABLE, with PR_THP_DISABLE_EXCEPT_ADVISED
 *                where the kernel has it (6.18);
 *   subreaper    PR_SET_CHILD_SUBREAPER;
 *   pdeathsig    SIGWINCH (ignored by default: harmless when it fires);
 *   personality  ADDR_NO_RANDOMIZE added.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)
#endif

#define MAIN_SLACK 123457ul
#define THREAD_SLACK 654321ul

static const struct {
	int reg, cmd;
	const char *name;
} barriers[] = {
	{ MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, MEMBARRIER_CMD_GLOBAL_EXPEDITED, "global" },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, MEMBARRIER_CMD_PRIVATE_EXPEDITED, "private" },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
	  MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, "sync-core" },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
	  "rseq" },
};

static int registered, merge, personality_set, thp;
static volatile int thread_slack_bad;

static long membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void corrupt(const char *what, long got)
{
	printf("CORRUPT %s (got %ld)\n", what, got);
	exit(3);
}

static void *slack_thread(void *arg)
{
	struct timespec t = { 0, 50 * 1000 * 1000 };

	(void)arg;
	prctl(PR_SET_TIMERSLACK, THREAD_SLACK);
	for (;;) {
		nanosleep(&t, NULL);
		if (prctl(PR_GET_TIMERSLACK) != (int)THREAD_SLACK)
			thread_slack_bad = 1;
	}
	return NULL;
}

static void check(void)
{
	long v;
	int reaper = 0, sig = 0;
	size_t i;

	for (i = 0; i < sizeof(barriers) / sizeof(barriers[0]); i++)
		if ((registered & barriers[i].reg) && membarrier(barriers[i].cmd))
			corrupt(barriers[i].name, -errno);
	v = membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS);
	if (v >= 0 && v != registered)
		corrupt("membarrier registrations", v);
	if ((v = prctl(PR_GET_TIMERSLACK)) != (long)MAIN_SLACK)
		corrupt("timer slack of the main thread", v);
	if (thread_slack_bad)
		corrupt("timer slack of the second thread", 0);
	if (merge && (v = prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0)) != 1)
		corrupt("PR_GET_MEMORY_MERGE", v);
	if ((v = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)) != thp)
		corrupt("PR_GET_THP_DISABLE", v);
	if (prctl(PR_GET_CHILD_SUBREAPER, &reaper) || reaper != 1)
		corrupt("child subreaper", reaper);
	if (prctl(PR_GET_PDEATHSIG, &sig) || sig != SIGWINCH)
		corrupt("parent-death signal", sig);
	if ((v = personality(0xffffffff)) != personality_set)
		corrupt("personality", v);
}

int main(void)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	pthread_t th;
	long supported;
	size_t i;
	unsigned n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	supported = membarrier(MEMBARRIER_CMD_QUERY);
	for (i = 0; supported > 0 && i < sizeof(barriers) / sizeof(barriers[0]); i++) {
		if (!(supported & barriers[i].reg))
			continue;
		if (membarrier(barriers[i].reg))
			printf("cannot register membarrier %s: %s\n", barriers[i].name,
			       strerror(errno));
		else
			registered |= barriers[i].reg;
	}
	if (prctl(PR_SET_TIMERSLACK, MAIN_SLACK) || pthread_create(&th, NULL, slack_thread, NULL))
		return 2;
	merge = !prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0);
	if (!merge)
		printf("no KSM here (%s): PR_SET_MEMORY_MERGE not tested\n", strerror(errno));
	thp = prctl(PR_SET_THP_DISABLE, 1, 2, 0, 0) ? 1 : 3;	/* 2: except advised */
	if ((thp == 1 && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) || prctl(PR_SET_CHILD_SUBREAPER, 1) ||
	    prctl(PR_SET_PDEATHSIG, SIGWINCH))
		return 2;
	personality_set = personality(0xffffffff) | ADDR_NO_RANDOMIZE;
	if (personality(personality_set) < 0)
		return 2;
	printf("membarrier registered %#x\n", registered);
	nanosleep(&tick, NULL);
	check();
	printf("ready pid %d\n", getpid());
	for (n = 1;; n++) {
		nanosleep(&tick, NULL);
		check();
		printf("tick %u ok\n", n);
	}
}
