/* Shared anonymous memory that only an exited child wrote (t-shmexit.sh).
 *
 *   shmexit DIR
 *
 * Maps 4 MiB MAP_SHARED|MAP_ANONYMOUS; a child writes a pattern in every
 * other 64 KiB block and exits; the parent, which never touches those
 * pages, reaps it, creates DIR/ready and logs "tick N" to DIR/main.log
 * every 20 ms.  On SIGUSR1 it checks the pattern and writes "ok" or
 * "FAIL: why" to DIR/check. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIZE (4 << 20)
#define BLOCK (64 << 10)

static volatile sig_atomic_t asked;
static void on_usr1(int sig) { (void)sig; asked = 1; }

static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f))
		exit(1);
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned char *p;
	char path[4096];
	unsigned long n = 0;
	FILE *log;
	pid_t pid;
	long i;

	if (argc != 2)
		return 2;
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	if ((pid = fork()) == 0) {
		for (i = 0; i < SIZE; i++)
			if ((i / BLOCK) % 2)
				p[i] = (unsigned char)(i * 13 + 1);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, NULL, 0) != pid)
		return 1;
	signal(SIGUSR1, on_usr1);
	snprintf(path, sizeof(path), "%s/main.log", argv[1]);
	if (!(log = fopen(path, "a")))
		return 1;
	setvbuf(log, NULL, _IOLBF, 0);
	put(argv[1], "ready", "1\n");
	for (;;) {
		if (asked) {
			char why[128] = "ok\n";
			asked = 0;
			for (i = 0; i < SIZE; i++)
				if (p[i] != ((i / BLOCK) % 2 ? (unsigned char)(i * 13 + 1) : 0)) {
					snprintf(why, sizeof(why), "FAIL: byte %ld is %u\n", i, p[i]);
					break;
				}
			put(argv[1], "check", why);
		}
		fprintf(log, "tick %lu\n", ++n);
		nanosleep(&tick, NULL);
	}
}
