/* fsshare: processes sharing one cwd/root/umask (clone CLONE_FS).
 *
 * usage: fsshare -d DIR [-u]
 *   The root makes DIR/a and DIR/b, clones "kid" with CLONE_FS, which
 *   clones "grandkid" with CLONE_FS (all three share one fs_struct), and
 *   forks "own" (a copy, not shared), all starting in DIR with umask 022.
 *   Every tick N the root enters DIR/a or DIR/b (by N's parity) and sets
 *   umask 022 or 027, then writes N on a pipe to kid, which checks that
 *   its cwd and umask changed with it, tells grandkid (another pipe),
 *   which checks too and answers; the root waits for that answer before
 *   the next tick.  own checks every tick that its cwd stays DIR and its
 *   umask 022.  Each logs "tick N" to DIR/NAME.log ("CORRUPT ..." when
 *   not).  DIR/ready appears when all are set up.
 *   -u: instead, the root clones "kid" and "kid2" with CLONE_FS and then
 *   unshares its own (unshare CLONE_FS): two siblings share, their parent
 *   does not (what ckpt refuses); they just sleep. */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

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

static pid_t clone_fs(void)
{
	return syscall(SYS_clone, CLONE_FS | SIGCHLD, 0, NULL, NULL, 0);
}

static mode_t get_umask(void)
{
	mode_t m = umask(0);
	umask(m);	/* (shared: the root changes it only while we wait) */
	return m;
}

/* Tick n: where the root has put everyone sharing its fs. */
static void expected(unsigned long n, char *cwd, size_t size, mode_t *mask)
{
	snprintf(cwd, size, "%s/%s", dir, n % 2 ? "a" : "b");
	*mask = n % 2 ? 022 : 027;
}

static int check(FILE *log, unsigned long n)
{
	char want[PATH_MAX + 16], cwd[PATH_MAX];
	mode_t mask, m = get_umask();

	expected(n, want, sizeof(want), &mask);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, want) || m != mask) {
		fprintf(log, "CORRUPT tick %lu: cwd %s (want %s) umask %03o (want %03o)\n", n,
			cwd, want, m, mask);
		return -1;
	}
	fprintf(log, "tick %lu\n", n);
	return 0;
}

static _Noreturn void relay(const char *name, int in, int out)
{
	FILE *log = open_log(name);
	unsigned long n;

	for (;;) {
		if (read(in, &n, sizeof(n)) != sizeof(n))
			_exit(1);
		check(log, n);
		if (write(out, &n, sizeof(n)) != sizeof(n))
			_exit(1);
	}
}

int main(int argc, char **argv)
{
	char path[PATH_MAX + 16], home[PATH_MAX];
	int opt, down[2], mid[2], up[2];
	int unshare_mode = 0;
	unsigned long n;
	FILE *f, *log;

	while ((opt = getopt(argc, argv, "d:u")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'u')
			unshare_mode = 1;
		else
			return 2;
	}
	if (!dir || chdir(dir) || !getcwd(home, sizeof(home)))
		return 2;
	dir = home;
	umask(022);
	snprintf(path, sizeof(path), "%s/a", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/b", dir);
	mkdir(path, 0755);
	if (unshare_mode) {
		for (opt = 0; opt < 2; opt++) {
			pid_t pid = clone_fs();
			if (pid < 0)
				return 1;
			if (pid == 0)
				for (;;)
					pause();
		}
		if (unshare(CLONE_FS))
			return 1;
	} else {
		pid_t pid;

		if (pipe(down) || pipe(mid) || pipe(up))
			return 1;
		pid = fork();
		if (pid == 0) {
			FILE *own = open_log("own");
			for (n = 1;; n++) {
				char cwd[PATH_MAX];
				mode_t m = get_umask();
				if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, dir) || m != 022)
					fprintf(own, "CORRUPT cwd %s (want %s) umask %03o\n", cwd, dir, m);
				else
					fprintf(own, "tick %lu\n", n);
				nap();
			}
		}
		pid = clone_fs();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			pid = clone_fs();
			if (pid < 0)
				_exit(1);
			if (pid == 0)
				relay("grandkid", mid[0], up[1]);
			relay("kid", down[0], mid[1]);
		}
	}
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fclose(f);
	if (unshare_mode)
		for (;;)
			pause();
	log = open_log("root");
	for (n = 1;; n++) {
		char want[PATH_MAX + 16];
		mode_t mask;
		unsigned long back;

		expected(n, want, sizeof(want), &mask);
		if (chdir(want))
			return 1;
		umask(mask);
		check(log, n);
		if (write(down[1], &n, sizeof(n)) != sizeof(n) ||
		    read(up[0], &back, sizeof(back)) != sizeof(back))
			return 1;
		if (back != n)
			fprintf(log, "CORRUPT answer %lu to %lu\n", back, n);
		nap();
	}
}
