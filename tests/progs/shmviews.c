/* shmviews MODE: one shared anonymous memory object that a single process
 * reaches in several ways, each of which must still reach the same object
 * after restart (a write through one seen through all the others):
 *   views  a second view of it at another address (mremap with old size 0,
 *          as "magic" ring buffers make), and a view moved away (mremap),
 *          so that the three mappings' offsets differ
 *   fd     an fd on it (opened through /proc/self/map_files), a shared
 *          mapping of that fd at another offset and a private one whose
 *          unwritten pages still show the object (zdtm shmemfd-priv)
 * Prints "ready", waits for SIGUSR1 (sent after restart), checks: "PASS",
 * or "CORRUPT <what>" (exit 3).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096
#define NPAGES 8

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

_Noreturn static void die(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(2);
}

_Noreturn static void corrupt(const char *what)
{
	printf("CORRUPT %s\n", what);
	exit(3);
}

static int *at(char *base, int page) { return (int *)(base + (size_t)page * PG); }

static void wait_go(void)
{
	printf("ready\n");
	while (!go)
		usleep(20000);
}

static void views(char *a)
{
	char *b, *moved;
	int i;

	for (i = 0; i < NPAGES; i++)
		*at(a, i) = 100 + i;
	b = mremap(a, 0, NPAGES * PG, MREMAP_MAYMOVE);	/* a second view */
	if (b == MAP_FAILED)
		die("mremap (second view)");
	/* A third, at a distance from a: its last four pages moved. */
	moved = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (moved == MAP_FAILED)
		die("mmap");
	moved = mremap(b + 4 * PG, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, moved);
	if (moved == MAP_FAILED)
		die("mremap (moving a part)");
	wait_go();
	for (i = 0; i < 4; i++)
		if (*at(b, i) != 100 + i || *at(moved, i) != 104 + i)
			corrupt("a view lost the object's contents");
	*at(b, 1) = 201;
	*at(moved, 2) = 306;
	*at(a, 3) = 403;
	if (*at(a, 1) != 201)
		corrupt("a write through the second view is not seen in the first");
	if (*at(a, 6) != 306)
		corrupt("a write through the moved view is not seen in the first");
	if (*at(b, 3) != 403)
		corrupt("a write through the first view is not seen in the second");
}

static void through_fd(char *a)
{
	char path[96], *shared2, *priv;
	int fd, v = 0;

	for (int i = 0; i < NPAGES; i++)
		*at(a, i) = 100 + i;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)a,
		 (unsigned long)a + NPAGES * PG);
	fd = open(path, O_RDWR);
	if (fd < 0)
		die(path);
	shared2 = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PG);
	priv = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
	if (shared2 == MAP_FAILED || priv == MAP_FAILED)
		die("mmap of the fd");
	*at(priv, 1) = 22;			/* its own copy of page 2 */
	if (lseek(fd, 5 * PG, SEEK_SET) != 5 * PG)
		die("lseek");
	wait_go();
	if (*at(priv, 1) != 22 || *at(priv, 0) != 101 || *at(shared2, 0) != 102)
		corrupt("the mappings of the fd lost their contents");
	*at(shared2, 0) = 333;			/* page 2 */
	if (*at(a, 2) != 333)
		corrupt("a write through the fd's shared mapping is not seen in the first");
	*at(a, 3) = 444;
	if (*at(priv, 2) != 444)
		corrupt("a private mapping's unwritten page does not show the object");
	if (*at(priv, 1) != 22)
		corrupt("a private mapping's own copy changed");
	if (lseek(fd, 0, SEEK_CUR) != 5 * PG)
		corrupt("the fd's offset moved");
	if (read(fd, &v, sizeof(v)) != sizeof(v) || v != 105)
		corrupt("reading the fd does not give the object's contents");
	v = 555;
	if (pwrite(fd, &v, sizeof(v), 7 * PG) != sizeof(v) || *at(a, 7) != 555)
		corrupt("a write through the fd is not seen in the mapping");
}

int main(int argc, char **argv)
{
	char *a;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	if (argc != 2 || (strcmp(argv[1], "views") && strcmp(argv[1], "fd"))) {
		fprintf(stderr, "usage: shmviews views|fd\n");
		return 2;
	}
	a = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		die("mmap");
	if (!strcmp(argv[1], "views"))
		views(a);
	else
		through_fd(a);
	printf("PASS\n");
	return 0;
}
