/* split: a computation that forks itself onto another host halfway.
 *
 * It counts the primes below N.  After the first quarter it calls
 * migrate_clone(): from there the original counts the second quarter and
 * the copy (on HOST) the second half, both starting from the same state
 * (the count so far).  The copy writes its count to RESULT; the original
 * waits for it and prints the total.
 *
 * usage: split N HOST RESULT
 *   HOST: a libmigrate host (ssh destination or command, see libmigrate(3));
 *   RESULT: a path both hosts can reach (here: the same machine).
 * Output (stdout, opened for appending):
 *   "copy: PID counted [A, B)"              (from the copy)
 *   "primes below N: TOTAL (copy on HOST: PID)"  (from the original)
 * Exit status 0 when combined, 1 if the copy did not report in 60 s.
 *
 * Build: cc split.c $(pkg-config --cflags --libs libmigrate)
 */
#include <libmigrate.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int is_prime(long n)
{
	long d;

	if (n < 2)
		return 0;
	for (d = 2; d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

static long count(long from, long to)
{
	long n, c = 0;

	for (n = from; n < to; n++)
		c += is_prime(n);
	return c;
}

int main(int argc, char **argv)
{
	long limit, quarter, half, so_far, mine, theirs = -1;
	char tmp[4096];
	pid_t copy;
	FILE *f;
	int i;

	if (argc != 4 || (limit = atol(argv[1])) < 4) {
		fprintf(stderr, "usage: split N HOST RESULT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	quarter = limit / 4;
	half = limit / 2;
	so_far = count(0, quarter);

	copy = migrate_clone(argv[2], 0);
	if (copy < 0) {
		/* No second host: do it all here. */
		fprintf(stderr, "split: no copy (%s): counting alone\n", migrate_strerror());
		printf("primes below %ld: %ld (alone)\n", limit, so_far + count(quarter, limit));
		return 0;
	}
	if (copy == 0) {
		/* The copy: the second half, reported through RESULT. */
		mine = count(half, limit);
		snprintf(tmp, sizeof(tmp), "%s.tmp", argv[3]);
		if (!(f = fopen(tmp, "w")) || fprintf(f, "%ld\n", mine) < 0 || fclose(f) ||
		    rename(tmp, argv[3]))
			return 1;
		printf("copy: %d counted [%ld, %ld)\n", (int)getpid(), half, limit);
		return 0;
	}
	/* The original: the second quarter, then the copy's half. */
	mine = so_far + count(quarter, half);
	for (i = 0; i < 600 && theirs < 0; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		if ((f = fopen(argv[3], "r"))) {
			if (fscanf(f, "%ld", &theirs) != 1)
				theirs = -1;
			fclose(f);
		}
		if (theirs < 0)
			nanosleep(&ts, NULL);
	}
	if (theirs < 0) {
		fprintf(stderr, "split: the copy (PID %d) did not report\n", (int)copy);
		return 1;
	}
	printf("primes below %ld: %ld (copy on %s: %d)\n", limit, mine + theirs, argv[2], (int)copy);
	return 0;
}
