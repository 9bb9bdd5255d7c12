/* signals: signal state that must survive a checkpoint.
 *
 * usage: signals [-m plain|pending|pending-shared] [-u N] [-i MS]
 *   SIGUSR1 has an SA_SIGINFO|SA_RESTART handler: each delivery prints
 *   "usr1 N" (N = deliveries so far).  SIGUSR2 is blocked with sigprocmask
 *   and has a handler printing "usr2 delivered code=C" (C = si_code).
 *   -m plain           SIGUSR2 is never sent by the program (default).
 *   -m pending         at start the program raise()s SIGUSR2 (thread-directed,
 *                      si_code SI_TKILL), so it stays pending while blocked.
 *   -m pending-shared  same with kill(getpid()) (process-wide, SI_USER).
 *   -u N               on the N-th SIGUSR1 (default 2) unblock SIGUSR2; in a
 *                      pending mode the pending one is then delivered.
 *   -i MS              tick interval (default 100 ms).
 * Every tick prints
 *   "tick N usr1=K sigblk=HEX sigpnd=HEX shdpnd=HEX"
 * with SigBlk/SigPnd/ShdPnd read from /proc/self/status.
 * Self-checks, each tick: the blocked mask is exactly {SIGUSR2} before the
 * unblock and empty after; both handlers are still installed with their
 * flags; in a pending mode SIGUSR2 is still pending until the unblock and is
 * delivered exactly once, with the right si_signo/si_code; the SIGUSR1 count
 * kept in a global and on the heap agree.  Any failure: "CORRUPT ..." and
 * exit 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count;
static volatile sig_atomic_t *usr1_heap;
static volatile sig_atomic_t usr2_count;
static volatile sig_atomic_t usr1_bad, usr2_bad, usr2_code;
static int expect_usr2_code, check_usr2_code;

static void put_num(char *buf, int *n, long v)
{
	char tmp[24];
	int k = 0;
	if (v < 0) {
		buf[(*n)++] = '-';
		v = -v;
	}
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		buf[(*n)++] = tmp[--k];
}

static void put_str(char *buf, int *n, const char *s)
{
	while (*s)
		buf[(*n)++] = *s++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	char buf[64];
	int n = 0;
	(void)uc;
	if (sig != SIGUSR1 || si->si_signo != SIGUSR1)
		usr1_bad = 1;
	usr1_count++;
	(*usr1_heap)++;
	put_str(buf, &n, "usr1 ");
	put_num(buf, &n, usr1_count);
	buf[n++] = '\n';
	if (write(1, buf, (size_t)n) < 0)
		usr1_bad = 2;
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	char buf[64];
	int n = 0;
	(void)uc;
	if (sig != SIGUSR2 || si->si_signo != SIGUSR2 ||
	    (check_usr2_code && si->si_code != expect_usr2_code))
		usr2_bad = 1;
	usr2_code = si->si_code;
	usr2_count++;
	put_str(buf, &n, "usr2 delivered code=");
	put_num(buf, &n, si->si_code);
	buf[n++] = '\n';
	if (write(1, buf, (size_t)n) < 0)
		usr2_bad = 1001;
}

static void corrupt(const char *what)
{
	printf("CORRUPT %s\n", what);
	fflush(stdout);
	exit(3);
}

/* The hex value of "Key:\t..." in /proc/self/status. */
static unsigned long long status_hex(const char *key)
{
	char line[256];
	unsigned long long v = ~0ull;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		corrupt("cannot open /proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			v = strtoull(line + klen + 1, NULL, 16);
	fclose(f);
	return v;
}

static void check_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction cur;
	char msg[128];
	if (sigaction(sig, NULL, &cur) < 0)
		corrupt("sigaction query failed");
	if (cur.sa_sigaction != fn || (cur.sa_flags & flags) != flags) {
		snprintf(msg, sizeof(msg), "handler of signal %d lost (handler %p flags %#x)", sig,
			 (void *)cur.sa_sigaction, (unsigned)cur.sa_flags);
		corrupt(msg);
	}
}

int main(int argc, char **argv)
{
	const char *mode = "plain";
	int unblock_at = 2, interval = 100, opt;
	int pending = 0, unblocked = 0;
	unsigned long long tick = 0;
	char msg[256];

	while ((opt = getopt(argc, argv, "m:u:i:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'u': unblock_at = atoi(optarg); break;
		case 'i': interval = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: signals [-m plain|pending|pending-shared] [-u N] [-i MS]\n");
			return 2;
		}
	}
	if (strcmp(mode, "pending") == 0) {
		pending = 1;
		expect_usr2_code = SI_TKILL;
		check_usr2_code = 1;
	} else if (strcmp(mode, "pending-shared") == 0) {
		pending = 2;
		expect_usr2_code = SI_USER;
		check_usr2_code = 1;
	} else if (strcmp(mode, "plain") != 0) {
		fprintf(stderr, "signals: unknown mode %s\n", mode);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	usr1_heap = calloc(1, sizeof(*usr1_heap));

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = on_usr2;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR2, &sa, NULL);

	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	if (pending == 1)
		raise(SIGUSR2);
	else if (pending == 2)
		kill(getpid(), SIGUSR2);
	printf("signals mode %s pid %d\n", mode, (int)getpid());

	for (;;) {
		struct timespec ts = { interval / 1000, (long)(interval % 1000) * 1000000L };
		nanosleep(&ts, NULL);	/* EINTR from SIGUSR1 is fine */
		tick++;

		if (usr1_bad)
			corrupt("SIGUSR1 handler got a wrong siginfo");
		if (usr2_bad) {
			snprintf(msg, sizeof(msg), "SIGUSR2 siginfo wrong (si_code %d, expected %d)",
				 (int)usr2_code, expect_usr2_code);
			corrupt(msg);
		}
		if (usr1_count != *usr1_heap) {
			snprintf(msg, sizeof(msg), "usr1 count: global %d heap %d", (int)usr1_count,
				 (int)*usr1_heap);
			corrupt(msg);
		}
		check_handler(SIGUSR1, on_usr1, SA_SIGINFO | SA_RESTART);
		check_handler(SIGUSR2, on_usr2, SA_SIGINFO);

		if (!unblocked && usr1_count >= unblock_at) {
			unblocked = 1;
			printf("unblocking usr2\n");
			sigprocmask(SIG_UNBLOCK, &usr2, NULL);
			/* A pending unblocked signal is delivered before this returns. */
			if (pending && usr2_count != 1)
				corrupt("pending SIGUSR2 was not delivered on unblock");
		}
		if (usr2_count > 1)
			corrupt("SIGUSR2 delivered more than once");
		if (!pending && usr2_count)
			corrupt("SIGUSR2 delivered but never sent");

		sigset_t cur, pend;
		sigprocmask(SIG_BLOCK, NULL, &cur);
		sigpending(&pend);
		unsigned long long blk = status_hex("SigBlk");
		unsigned long long want = unblocked ? 0 : 1ull << (SIGUSR2 - 1);
		if (blk != want || sigismember(&cur, SIGUSR2) != !unblocked) {
			snprintf(msg, sizeof(msg), "blocked mask %016llx, expected %016llx", blk, want);
			corrupt(msg);
		}
		if (pending && !unblocked && !sigismember(&pend, SIGUSR2))
			corrupt("pending SIGUSR2 lost");
		if (unblocked && sigismember(&pend, SIGUSR2))
			corrupt("SIGUSR2 still pending after unblock");

		printf("tick %llu usr1=%d sigblk=%016llx sigpnd=%016llx shdpnd=%016llx\n", tick,
		       (int)usr1_count, blk, status_hex("SigPnd"), status_hex("ShdPnd"));
	}
}
