/* leaderexit [-n N] [-s STATUS]: the main thread calls pthread_exit while
 * two threads run on: one printing "tick N" every 50 ms, one blocked in
 * pause().  A zombie thread-group leader with live threads.  With -n, the
 * ticker ends the process after tick N with exit(STATUS) (default 0). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned long last;
static int status;

static void *ticker(void *arg)
{
	(void)arg;
	for (unsigned long n = 1;; n++) {
		printf("tick %lu\n", n);
		fflush(stdout);
		if (n == last)
			exit(status);
		usleep(50000);
	}
	return NULL;
}

static void *idler(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	int c;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		if (c == 'n')
			last = strtoul(optarg, NULL, 10);
		else if (c == 's')
			status = atoi(optarg);
		else
			return 2;
	}
	if (pthread_create(&t, NULL, idler, NULL) || pthread_create(&t, NULL, ticker, NULL))
		return 1;
	pthread_exit(NULL);
}
