/* fdshare: processes sharing one fd table (clone CLONE_FILES).
 *
 * usage: fdshare -d DIR
 *   The root opens DIR/start as fd 100, clones "kid" with CLONE_FILES,
 *   which clones "grandkid" with CLONE_FILES (all three share one table)
 *   and forks "own" (a copy of the table, not shared).  Every tick N the
 *   root puts DIR/a or DIR/b (by N's parity) at fd 100, then writes N on a
 *   pipe to kid, which checks that its fd 100 changed with it, tells
 *   grandkid (another pipe), which checks too, puts DIR/a or DIR/b (the
 *   other one) at fd 101 and answers; the root then checks fd 101.  own
 *   checks every tick that its fd 100 stays DIR/start and it has no fd
 *   101.  The root also writes N in a page of shared anonymous memory
 *   (mapped before the clones) that kid and grandkid check.  Each logs
 *   "tick N" to DIR/NAME.log ("CORRUPT ..." when not).  DIR/ready
 *   appears when all are set up. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static volatile unsigned long *shared_tick;

static FILE *open_log(const char *name)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	f = fopen(path, "a");
	if (!f) {
		perror(path);
		exit(1);
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

static void nap(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static pid_t clone_files(void)
{
	return syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
}

static void put(int fd, const char *name)
{
	char path[PATH_MAX + 16];
	int f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = open(path, O_RDONLY | O_CREAT, 0644);
	if (f < 0 || dup2(f, fd) != fd)
		exit(1);
	close(f);
}

/* fd names DIR/name ("" : is not open). */
static int holds(FILE *log, unsigned long n, int fd, const char *name)
{
	char link[64], got[PATH_MAX], want[PATH_MAX + 16];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, got, sizeof(got) - 1);
	got[len < 0 ? 0 : len] = 0;
	snprintf(want, sizeof(want), "%s%s%s", *name ? dir : "", *name ? "/" : "", name);
	if (strcmp(got, want)) {
		fprintf(log, "CORRUPT tick %lu: fd %d is %s, want %s\n", n, fd,
			len < 0 ? "closed" : got, *name ? want : "closed");
		return -1;
	}
	return 0;
}

static const char *which(unsigned long n)
{
	return n % 2 ? "a" : "b";
}

static _Noreturn void relay(const char *name, int in, int out, int last)
{
	FILE *log = open_log(name);
	unsigned long n;

	for (;;) {
		if (read(in, &n, sizeof(n)) != sizeof(n))
			_exit(1);
		if (*shared_tick != n)
			fprintf(log, "CORRUPT tick %lu: shared memory says %lu\n", n, *shared_tick);
		else if (!holds(log, n, 100, which(n)))
			fprintf(log, "tick %lu\n", n);
		if (last)
			put(101, which(n + 1));
		if (write(out, &n, sizeof(n)) != sizeof(n))
			_exit(1);
	}
}

int main(int argc, char **argv)
{
	char home[PATH_MAX];
	int opt, down[2], mid[2], up[2];
	unsigned long n;
	FILE *f, *log;
	pid_t pid;

	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else
			return 2;
	}
	if (!dir || chdir(dir) || !getcwd(home, sizeof(home)))
		return 2;
	dir = home;
	if (pipe(down) || pipe(mid) || pipe(up))
		return 1;
	shared_tick = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_tick == MAP_FAILED)
		return 1;
	put(100, "start");
	pid = clone_files();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		pid = clone_files();
		if (pid < 0)
			_exit(1);
		if (pid == 0)
			relay("grandkid", mid[0], up[1], 1);
		pid = fork();
		if (pid < 0)
			_exit(1);
		if (pid == 0) {
			FILE *own = open_log("own");

			for (n = 1;; n++) {
				if (!holds(own, n, 100, "start") && !holds(own, n, 101, ""))
					fprintf(own, "tick %lu\n", n);
				nap();
			}
		}
		relay("kid", down[0], mid[1], 0);
	}
	while (access("own.log", F_OK))
		nap();
	f = fopen("ready", "w");
	if (!f)
		return 1;
	fclose(f);
	log = open_log("root");
	for (n = 1;; n++) {
		unsigned long back;

		put(100, which(n));
		*shared_tick = n;
		if (write(down[1], &n, sizeof(n)) != sizeof(n) ||
		    read(up[0], &back, sizeof(back)) != sizeof(back))
			return 1;
		if (back != n)
			fprintf(log, "CORRUPT answer %lu to %lu\n", back, n);
		else if (!holds(log, n, 101, which(n + 1)))
			fprintf(log, "tick %lu\n", n);
		nap();
	}
}
