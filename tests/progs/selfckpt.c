/* selfckpt: a program that checkpoints itself with libmigrate.
 *
 * usage: selfckpt IMAGE [AT_TICK [bundle]]
 * Counts "tick N" every 50 ms; at tick AT_TICK (default 5) it calls
 * migrate_checkpoint(IMAGE, MIGRATE_EXIT), which writes the image and ends
 * the process.  When the image is restarted the call returns
 * MIGRATE_RESTORED: it prints "restored at tick N" and counts on to
 * AT_TICK + 5, then exits 0.  Errors print "FAILED ..." and exit 1.
 * "bundle": MIGRATE_EXIT | MIGRATE_BUNDLE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>

#include "libmigrate.h"

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int at = argc > 2 ? atoi(argv[2]) : 5, tick, r;

	if (argc < 2) {
		fprintf(stderr, "usage: selfckpt IMAGE [AT_TICK]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (tick = 1; tick <= at + 5; tick++) {
		printf("tick %d\n", tick);
		if (tick == at) {
			r = migrate_checkpoint(argv[1], MIGRATE_EXIT | (argc > 3 &&
					       !strcmp(argv[3], "bundle") ? MIGRATE_BUNDLE : 0));
			if (r == MIGRATE_RESTORED)
				printf("restored at tick %d\n", tick);
			else {
				printf("FAILED migrate_checkpoint: %d %s\n", r, strerror(errno));
				return 1;
			}
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}
