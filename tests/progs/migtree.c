/* migtree: a process with a child checkpoints itself with libmigrate.
 *
 * usage: migtree IMAGE tree|alone
 * Forks a child that counts "child N" lines on stdout every 50 ms; the
 * parent prints "tick N" likewise.  At tick 3 the parent calls
 * migrate_checkpoint(IMAGE, MIGRATE_EXIT | (tree ? MIGRATE_TREE : 0)).
 * "alone" must fail (the child would be lost): it prints "refused: MSG",
 * kills the child and exits 0.  "tree": the original ends there (with its
 * child); restarted from IMAGE, it prints "restored", checks that its
 * child is its child still (a waitpid WNOHANG on its PID answers 0) and
 * goes on to tick 8, then kills the child and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libmigrate.h"

static void nap(void)
{
	struct timespec ts = { 0, 50 * 1000000 };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	pid_t child;
	int tick, r;
	bool tree;

	if (argc != 3 || (strcmp(argv[2], "tree") && strcmp(argv[2], "alone"))) {
		fprintf(stderr, "usage: migtree IMAGE tree|alone\n");
		return 2;
	}
	tree = !strcmp(argv[2], "tree");
	setvbuf(stdout, NULL, _IOLBF, 0);
	child = fork();
	if (child == 0) {
		for (tick = 1;; tick++) {
			printf("child %d\n", tick);
			nap();
		}
	}
	for (tick = 1; tick <= 8; tick++) {
		printf("tick %d\n", tick);
		nap();
		if (tick != 3)
			continue;
		r = migrate_checkpoint(argv[1], MIGRATE_EXIT | (tree ? MIGRATE_TREE : 0));
		if (r < 0) {
			printf("refused: %s\n", migrate_strerror());
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			return tree ? 1 : 0;
		}
		if (r != MIGRATE_RESTORED) {
			printf("CORRUPT migrate_checkpoint returned %d with MIGRATE_EXIT\n", r);
			return 1;
		}
		printf("restored\n");
		if (waitpid(child, NULL, WNOHANG) != 0) {
			printf("CORRUPT the child %d is not our child any more (%s)\n", (int)child,
			       strerror(errno));
			return 1;
		}
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
