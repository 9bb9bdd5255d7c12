/* threads: a multi-threaded process for checkpoint/restart tests.
 *
 * usage: threads [-n WORKERS] [-i MS]
 *   WORKERS threads (default 4) each count in their own slot, sleeping
 *   MS (default 20) between counts; plus a producer/consumer pair on a
 *   mutex + condition variable, and a thread blocked in pthread_join on a
 *   thread that sleeps forever.
 * At start it prints "tids T..." (the TIDs of every thread, main first).
 * Every 200 ms the main thread prints
 *   "tick N workers=MIN produced=P consumed=C cpu=K"
 * and checks: every worker advanced since the previous tick (a thread that
 * was not brought back would be stuck), consumed <= produced and both
 * advancing, each worker's gettid() unchanged, sched_getcpu() valid
 * (glibc reads it from rseq).  On failure: "CORRUPT ..." and exit 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 1024

static volatile unsigned long counts[MAX_WORKERS];
static pid_t worker_tids[MAX_WORKERS];
static int nworkers = 4, interval_ms = 20;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned long produced, consumed, queued;
static pid_t special_tids[3];

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts))
		;
}

static void corrupt(const char *fmt, unsigned long a, unsigned long b)
{
	printf("CORRUPT ");
	printf(fmt, a, b);
	printf("\n");
	exit(3);
}

static void *worker(void *arg)
{
	long i = (long)arg;

	worker_tids[i] = gettid();
	for (;;) {
		if (gettid() != worker_tids[i])
			corrupt("worker %lu changed tid to %lu", i, gettid());
		counts[i]++;
		sleep_ms(interval_ms);
	}
	return NULL;
}

static void *producer(void *arg)
{
	(void)arg;
	special_tids[0] = gettid();
	for (;;) {
		pthread_mutex_lock(&lock);
		produced++;
		queued++;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&lock);
		sleep_ms(20);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	special_tids[1] = gettid();
	for (;;) {
		pthread_mutex_lock(&lock);
		while (!queued)
			pthread_cond_wait(&cond, &lock);
		queued--;
		consumed++;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void *forever(void *arg)
{
	(void)arg;
	for (;;)
		sleep_ms(1000);
	return NULL;
}

static void *joiner(void *arg)
{
	pthread_t *target = arg;
	special_tids[2] = gettid();
	pthread_join(*target, NULL);
	corrupt("pthread_join returned%.0lu%.0lu", 0, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	static pthread_t th[MAX_WORKERS + 4];
	unsigned long last[MAX_WORKERS] = { 0 }, last_consumed = 0, last_produced = 0;
	int opt, i, tick;

	while ((opt = getopt(argc, argv, "n:i:")) != -1) {
		if (opt == 'n')
			nworkers = atoi(optarg);
		else if (opt == 'i')
			interval_ms = atoi(optarg);
		else
			return 2;
	}
	if (nworkers < 0 || nworkers > MAX_WORKERS)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(long)i))
			corrupt("pthread_create %lu%.0lu", i, 0);
	pthread_create(&th[nworkers], NULL, producer, NULL);
	pthread_create(&th[nworkers + 1], NULL, consumer, NULL);
	pthread_create(&th[nworkers + 2], NULL, forever, NULL);
	pthread_create(&th[nworkers + 3], NULL, joiner, &th[nworkers + 2]);
	sleep_ms(300);
	printf("tids %d", getpid());
	for (i = 0; i < nworkers; i++)
		printf(" %d", worker_tids[i]);
	printf(" %d %d %d\n", special_tids[0], special_tids[1], special_tids[2]);
	for (tick = 1;; tick++) {
		unsigned long min = ~0ul, p, c;
		int cpu = sched_getcpu();

		sleep_ms(200 + 2 * interval_ms);
		for (i = 0; i < nworkers; i++) {
			unsigned long v = counts[i];
			if (tick > 1 && v == last[i])
				corrupt("worker %lu stuck at %lu", i, v);
			last[i] = v;
			if (v < min)
				min = v;
		}
		pthread_mutex_lock(&lock);
		p = produced;
		c = consumed;
		pthread_mutex_unlock(&lock);
		if (c > p)
			corrupt("consumed %lu > produced %lu", c, p);
		if (tick > 1 && (p == last_produced || c == last_consumed))
			corrupt("producer/consumer stuck at %lu/%lu", p, c);
		last_produced = p;
		last_consumed = c;
		if (cpu < 0 || cpu >= CPU_SETSIZE)
			corrupt("sched_getcpu returned %lu%.0lu", (unsigned long)cpu, 0);
		printf("tick %d workers=%lu produced=%lu consumed=%lu cpu=%d\n", tick,
		       nworkers ? min : 0, p, c, cpu);
	}
}
