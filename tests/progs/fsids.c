/* fsids: a process whose filesystem ids differ from its effective ids, as
 * a file server sets them (setfsuid/setfsgid) to act for a client.
 *
 * usage: fsids RUID EUID SUID FSUID RGID EGID SGID FSGID   (run as root)
 * Sets the group ids, the filesystem group id, the user ids, then the
 * filesystem user id (setfsuid needs CAP_SETUID, gone after setresuid: so
 * FSUID must be one of RUID/EUID/SUID), and prints "tick N" every 100 ms.
 * It checks its ids before each tick (setfs*id(-1) reads them back) and
 * prints "CORRUPT ..." and exits 3 if one changed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned v[8];
	uid_t r, e, s;
	gid_t gr, ge, gs;
	unsigned long n;
	int i;

	if (argc != 9) {
		fprintf(stderr, "usage: fsids RUID EUID SUID FSUID RGID EGID SGID FSGID\n");
		return 2;
	}
	for (i = 0; i < 8; i++)
		v[i] = (unsigned)strtoul(argv[i + 1], NULL, 10);
	if (setresgid(v[4], v[5], v[6]) || (setfsgid(v[7]), (unsigned)setfsgid(-1) != v[7]) ||
	    setresuid(v[0], v[1], v[2]) || (setfsuid(v[3]), (unsigned)setfsuid(-1) != v[3])) {
		perror("fsids: setting the ids");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (n = 1;; n++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (getresuid(&r, &e, &s) || getresgid(&gr, &ge, &gs) || r != v[0] || e != v[1] ||
		    s != v[2] || (unsigned)setfsuid(-1) != v[3] || gr != v[4] || ge != v[5] ||
		    gs != v[6] || (unsigned)setfsgid(-1) != v[7]) {
			printf("CORRUPT ids: uid %u %u %u fsuid %d gid %u %u %u fsgid %d\n", r, e,
			       s, setfsuid(-1), gr, ge, gs, setfsgid(-1));
			return 3;
		}
		printf("tick %lu\n", n);
		nanosleep(&ts, NULL);
	}
}
