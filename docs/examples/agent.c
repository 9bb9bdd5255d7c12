/* agent: a program that travels.  It moves itself to each host in turn
 * with migrate_to(), notes on each where it is (the host's name) and what
 * it finds there (a hash of FILE as that host has it), then comes home and
 * prints its notes.  Its memory is its luggage: the notes travel with it.
 *
 * usage: agent FILE HOME HOST...
 *   HOME and each HOST are libmigrate hosts: an ssh destination, or a
 *   command that reads the image on stdin and restarts it, e.g.
 *     "ssh node7 restart - --detach"
 *     "unshare -u sh -c 'hostname hop1; exec restart - --detach --any-pid'"
 *
 * Output (stdout; give it a file opened for appending, it is written by
 * the agent at home):
 *   visited N hosts
 *   hop I: HOSTNAME FNV1A64-OF-FILE        (or: hop I: unreachable: WHY)
 *   home: HOSTNAME
 * Exit status 0 when it came home, 1 if it could not.
 *
 * Build: cc agent.c $(pkg-config --cflags --libs libmigrate)
 */
#include <libmigrate.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_HOPS 32

struct note {
	char where[256];	/* hostname, or why the hop failed */
	uint64_t hash;
	int reached;
};

/* FNV-1a, 64 bits, of the whole file; 0 if it cannot be read. */
static uint64_t hash_file(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char buf[65536];
	ssize_t n, i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	close(fd);	/* nothing of the host's stays open: the agent travels light */
	return n < 0 ? 0 : h;
}

int main(int argc, char **argv)
{
	struct note notes[MAX_HOPS];
	char home[256];
	int i, nhops = argc - 3;

	if (argc < 4 || nhops > MAX_HOPS) {
		fprintf(stderr, "usage: agent FILE HOME HOST... (at most %d hosts)\n", MAX_HOPS);
		return 2;
	}
	for (i = 0; i < nhops; i++) {
		struct note *n = &notes[i];

		if (migrate_to(argv[3 + i], 0) < 0) {
			/* Still where we were: note why and go on from here. */
			snprintf(n->where, sizeof(n->where), "unreachable: %s", migrate_strerror());
			n->reached = 0;
			continue;
		}
		/* Here now: the original has exited, this is the agent on host i. */
		gethostname(n->where, sizeof(n->where));
		n->hash = hash_file(argv[1]);
		n->reached = 1;
	}
	if (migrate_to(argv[2], 0) < 0) {
		fprintf(stderr, "agent: cannot come home: %s\n", migrate_strerror());
		return 1;
	}
	gethostname(home, sizeof(home));
	printf("visited %d hosts\n", nhops);
	for (i = 0; i < nhops; i++) {
		if (notes[i].reached)
			printf("hop %d: %s %016" PRIx64 "\n", i + 1, notes[i].where, notes[i].hash);
		else
			printf("hop %d: %s\n", i + 1, notes[i].where);
	}
	printf("home: %s\n", home);
	return 0;
}
