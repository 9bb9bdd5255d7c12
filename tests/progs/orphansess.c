/* orphansess: a session (and its group) whose leader has exited, its
 * members reparented to the root (a subreaper), as CRIU's zombie_leader.
 *
 * usage: orphansess -d DIR [-z]
 *   The root becomes a child subreaper and forks "lead", which calls
 *   setsid() and forks "kid" (in the session's group) and "own" (which
 *   leads a group of its own in the session), then exits.  Without -z the
 *   root reaps it (the session has no leader at all); with -z it stays a
 *   zombie of the root (checked every tick with waitid WNOWAIT).  kid and
 *   own, now children of the root, check every tick that getsid(),
 *   getpgid() and getppid() are what they were, and log "tick N" to
 *   DIR/kid.log and DIR/own.log ("CORRUPT ..." if not).  DIR/ids holds
 *   "LEAD KID OWN" once all is set up, DIR/ready appears last. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

static FILE *open_log(const char *name)
{
	char path[4096];
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

/* A member: wait until reparented to the root, then check every tick. */
static _Noreturn void member(const char *name, pid_t root, pid_t sid, pid_t pgid)
{
	FILE *log = open_log(name);
	unsigned long n;

	while (getppid() != root)
		nap();
	for (n = 1;; n++) {
		if (getsid(0) != sid || getpgid(0) != pgid || getppid() != root)
			fprintf(log, "CORRUPT sid %d (want %d) pgid %d (want %d) ppid %d (want %d)\n",
				getsid(0), sid, getpgid(0), pgid, getppid(), root);
		else
			fprintf(log, "tick %lu\n", n);
		nap();
	}
}

int main(int argc, char **argv)
{
	bool zombie = false;
	pid_t root = getpid(), lead, ids[2];
	int opt, p[2], status;
	char path[4096];
	unsigned long n;
	FILE *f, *log;

	while ((opt = getopt(argc, argv, "d:z")) != -1) {
		if (opt == 'd')
			dir = optarg;
		else if (opt == 'z')
			zombie = true;
		else
			return 2;
	}
	if (!dir || prctl(PR_SET_CHILD_SUBREAPER, 1) || pipe(p))
		return 2;
	lead = fork();
	if (lead < 0)
		return 1;
	if (lead == 0) {
		pid_t s = setsid(), kid, own;

		if (s < 0)
			_exit(1);
		kid = fork();
		if (kid == 0)
			member("kid", root, s, s);
		own = fork();
		if (own == 0) {
			setpgid(0, 0);
			member("own", root, s, getpid());
		}
		ids[0] = kid;
		ids[1] = own;
		if (write(p[1], ids, sizeof(ids)) != sizeof(ids))
			_exit(1);
		_exit(3);
	}
	close(p[1]);
	if (read(p[0], ids, sizeof(ids)) != sizeof(ids))
		return 1;
	if (zombie) {
		siginfo_t si;
		if (waitid(P_PID, lead, &si, WEXITED | WNOWAIT))
			return 1;
	} else if (waitpid(lead, &status, 0) != lead) {
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ids", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%d %d %d\n", lead, ids[0], ids[1]);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fclose(f);
	log = open_log("root");
	for (n = 1;; n++) {
		siginfo_t si = { 0 };

		if (zombie && (waitid(P_PID, lead, &si, WEXITED | WNOWAIT) || si.si_pid != lead ||
			       si.si_code != CLD_EXITED || si.si_status != 3))
			fprintf(log, "CORRUPT zombie %d: %s code %d status %d\n", lead,
				strerror(errno), si.si_code, si.si_status);
		else
			fprintf(log, "tick %lu\n", n);
		nap();
	}
}
