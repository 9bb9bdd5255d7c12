/* leaderexit: the main thread calls pthread_exit while a second thread
 * runs on (printing "tick N" every 50 ms): a zombie thread-group leader
 * with a live thread, which ckpt refuses by name. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *ticker(void *arg)
{
	(void)arg;
	for (unsigned long n = 1;; n++) {
		printf("tick %lu\n", n);
		fflush(stdout);
		usleep(50000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, ticker, NULL))
		return 1;
	pthread_exit(NULL);
}
