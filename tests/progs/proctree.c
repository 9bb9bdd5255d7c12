/* proctree: a process tree that checks itself, for checkpoint/restart tests.
 *
 * usage: proctree -d DIR [-w N] [-g] [-s] [-z STATUS] [-k SIG] [-t] [-p] [-m] [-i MS]
 *   -d DIR     each process logs "tick N" lines to DIR/NAME.log (root.log,
 *              worker-K.log, ...); DIR/ready appears when all are set up
 *   -w N       N workers (children of the root)
 *   -g         a child "grp" leading its own process group, its child
 *              "grp-kid" in that group, and a child "joiner" of the root
 *              that joined grp's group
 *   -s         a child "sess" leading a new session, its child "sess-kid"
 *   -z STATUS  a child that exited with STATUS, left a zombie: the root
 *              checks it every tick (waitid WNOWAIT) and never reaps it
 *   -k SIG     a child killed by SIG, left a zombie, checked likewise
 *   -t         a child "stopped" (its own group) that stopped itself (SIGTSTP,
 *              what the root's waitid must report): the root
 *              checks every tick that it is stopped until it logs
 *              "continued" (after SIGCONT), then it ticks like the others
 *   -p         a child "reader" reading lines "N" the root writes into a
 *              pipe every tick: it checks they come in order, logs "tick N"
 *   -m         shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS before the
 *              fork): a child "shm" counts in it, the root logs "shm N"
 *              with what it reads there every tick
 *   -f         a child "writer" and the root append lines "NAME N" to
 *              DIR/shared.out through one fd opened before the fork (one
 *              offset, not O_APPEND): a lost sharing shows as lines
 *              overwriting each other
 *   -l PORT    the root listens on 127.0.0.1:PORT before forking the
 *              workers (-w); each worker answers the connections it
 *              accepts with "NAME tick N"
 *   -o         a child "member" in a group whose leader has exited: "lead"
 *              made the group, forked it with CLONE_PARENT (a child of the
 *              root) and exited
 *   -i MS      tick interval (default 50)
 * The root leads its own process group.  Every process checks every tick
 * that its PID, parent, group and session are what they were, and that its
 * private counter (global, heap, stack) is intact; any difference prints
 * "CORRUPT ..." in its log and exits 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static char name[64] = "root";
static FILE *logf;
static long interval_ms = 50;
static pid_t my_pid, my_ppid, my_pgid, my_sid;
static volatile uint64_t g_count;

static void corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void corrupt(const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (logf) {
		fprintf(logf, "CORRUPT %s: %s\n", name, msg);
		fflush(logf);
	}
	fprintf(stderr, "proctree: CORRUPT %s: %s\n", name, msg);
	exit(3);
}

static void open_log(const char *n)
{
	char path[4096];

	snprintf(name, sizeof(name), "%s", n);
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	logf = fopen(path, "a");
	if (!logf) {
		perror(path);
		exit(2);
	}
	setvbuf(logf, NULL, _IOLBF, 0);
}

static void remember_ids(void)
{
	my_pid = getpid();
	my_ppid = getppid();
	my_pgid = getpgid(0);
	my_sid = getsid(0);
}

static void check_ids(void)
{
	if (getpid() != my_pid)
		corrupt("pid %d, was %d", getpid(), my_pid);
	if (my_ppid && getppid() != my_ppid)	/* the root's parent is whoever restarts it */
		corrupt("parent %d, was %d", getppid(), my_ppid);
	if (getpgid(0) != my_pgid)
		corrupt("process group %d, was %d", getpgid(0), my_pgid);
	if (getsid(0) != my_sid)
		corrupt("session %d, was %d", getsid(0), my_sid);
}

static void sleep_tick(void)
{
	struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* One tick: the counter in three places agrees, the ids are the same. */
static uint64_t tick(uint64_t *heap, uint64_t *stack)
{
	check_ids();
	if (*heap != g_count || *stack != g_count)
		corrupt("counter: global %llu heap %llu stack %llu", (unsigned long long)g_count,
			(unsigned long long)*heap, (unsigned long long)*stack);
	g_count++;
	(*heap)++;
	(*stack)++;
	fprintf(logf, "tick %llu\n", (unsigned long long)g_count);
	return g_count;
}

/* A plain child: ticks until its parent goes. */
static void ticker(void (*each)(uint64_t n))
{
	uint64_t *heap = calloc(1, sizeof(*heap)), stack = 0;

	for (;;) {
		sleep_tick();
		uint64_t n = tick(heap, &stack);
		if (each)
			each(n);
	}
}

static volatile uint64_t *shm;
static uint64_t shm_mine;
static void shm_each(uint64_t n)
{
	(void)n;
	if (*shm != shm_mine)
		corrupt("shared memory holds %llu, we wrote %llu", (unsigned long long)*shm,
			(unsigned long long)shm_mine);
	*shm = ++shm_mine;
}

static int pipe_fd[2] = { -1, -1 };

static void reader(void)
{
	uint64_t *heap = calloc(1, sizeof(*heap)), stack = 0, want = 1;
	FILE *in = fdopen(pipe_fd[0], "r");
	char line[64];

	remember_ids();
	close(pipe_fd[1]);
	while (fgets(line, sizeof(line), in)) {
		uint64_t got = strtoull(line, NULL, 10);
		if (got != want)
			corrupt("read %llu from the pipe, expected %llu", (unsigned long long)got,
				(unsigned long long)want);
		want++;
		tick(heap, &stack);
	}
	corrupt("the pipe was closed");
}

static pid_t spawn(const char *n, void (*body)(void))
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		fclose(logf);
		open_log(n);
		body();
		exit(0);
	}
	return pid;
}

static int shared_fd = -1;
static void shared_line(uint64_t n)
{
	char line[96];
	int len = snprintf(line, sizeof(line), "%s %llu\n", name, (unsigned long long)n);
	if (write(shared_fd, line, len) != len)
		corrupt("writing shared.out: %s", strerror(errno));
}
static void writer(void) { remember_ids(); ticker(shared_line); }

static int listen_fd = -1;
static void serve(uint64_t n)
{
	struct pollfd p = { listen_fd, POLLIN, 0 };
	char line[96];
	int c, len;

	if (poll(&p, 1, 0) != 1)
		return;
	c = accept(listen_fd, NULL, NULL);
	if (c < 0)
		return;	/* another worker took it */
	len = snprintf(line, sizeof(line), "%s tick %llu\n", name, (unsigned long long)n);
	if (write(c, line, len) != len)
		corrupt("answering: %s", strerror(errno));
	close(c);
}

static void plain(void) { remember_ids(); ticker(listen_fd >= 0 ? serve : NULL); }
static void shm_child(void) { remember_ids(); ticker(shm_each); }

static void grp_kid(void) { remember_ids(); ticker(NULL); }
static void grp(void)
{
	setpgid(0, 0);
	remember_ids();
	spawn("grp-kid", grp_kid);
	ticker(NULL);
}

static pid_t grp_pid;
static void joiner(void)
{
	if (setpgid(0, grp_pid))
		corrupt("joining group %d: %s", grp_pid, strerror(errno));
	remember_ids();
	ticker(NULL);
}

static void member(void) { remember_ids(); ticker(NULL); }
static void lead(void)
{
	pid_t pid;

	setpgid(0, 0);
	fflush(NULL);
	pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		fclose(logf);
		open_log("member");
		member();
	}
	_exit(pid < 0 ? 1 : 0);
}

static void sess_kid(void) { remember_ids(); ticker(NULL); }
static void sess(void)
{
	if (setsid() < 0)
		corrupt("setsid: %s", strerror(errno));
	remember_ids();
	spawn("sess-kid", sess_kid);
	ticker(NULL);
}

static int zombie_status;
static void exiter(void) { _exit(zombie_status); }
static int zombie_sig;
static void killed(void)
{
	signal(zombie_sig, SIG_DFL);
	raise(zombie_sig);
	_exit(99);
}

/* In a group of its own: the root's group becomes orphaned when the
 * restart --detach that made it exits, and an orphaned group with a
 * stopped member gets SIGHUP.  Stopped by SIGTSTP (as by ^Z), which
 * its parent's wait reports. */
static void stopper(void)
{
	setpgid(0, 0);
	remember_ids();
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP);
	fprintf(logf, "continued\n");
	ticker(NULL);
}

static void check_zombie(pid_t pid, int code, int status)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT))
		corrupt("zombie %d: waitid: %s", pid, strerror(errno));
	if (si.si_pid != pid)
		corrupt("zombie %d: not dead", pid);
	if (si.si_code != code || si.si_status != status)
		corrupt("zombie %d: code %d status %d, expected code %d status %d", pid, si.si_code,
			si.si_status, code, status);
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

int main(int argc, char **argv)
{
	int workers = 0, c, i;
	bool want_grp = false, want_sess = false, want_stop = false, want_pipe = false,
	     want_shm = false, want_zombie = false, want_file = false, want_orphan = false;
	int port = 0;
	pid_t zombie = 0, sigzombie = 0, stopped = 0;
	uint64_t *heap, stack = 0;
	char path[4096];

	while ((c = getopt(argc, argv, "d:w:gsz:k:tpmfl:oi:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'w': workers = atoi(optarg); break;
		case 'g': want_grp = true; break;
		case 's': want_sess = true; break;
		case 'z': want_zombie = true; zombie_status = atoi(optarg); break;
		case 'k': zombie_sig = atoi(optarg); break;
		case 't': want_stop = true; break;
		case 'p': want_pipe = true; break;
		case 'm': want_shm = true; break;
		case 'f': want_file = true; break;
		case 'o': want_orphan = true; break;
		case 'l': port = atoi(optarg); break;
		case 'i': interval_ms = atol(optarg); break;
		default:
			fprintf(stderr, "usage: proctree -d DIR [-w N] [-g] [-s] [-z STATUS] [-k SIG] "
				"[-t] [-p] [-m] [-i MS]\n");
			return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "proctree: -d DIR is required\n");
		return 2;
	}
	setpgid(0, 0);
	open_log("root");
	remember_ids();
	my_ppid = 0;
	if (want_shm) {
		shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shm == MAP_FAILED)
			corrupt("mmap: %s", strerror(errno));
	}
	if (port) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;
		listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(listen_fd, 16))
			corrupt("listening on port %d: %s", port, strerror(errno));
	}
	if (want_file) {
		snprintf(path, sizeof(path), "%s/shared.out", dir);
		shared_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (shared_fd < 0)
			corrupt("%s: %s", path, strerror(errno));
	}
	for (i = 0; i < workers; i++) {
		char n[32];
		snprintf(n, sizeof(n), "worker-%d", i);
		spawn(n, plain);
	}
	if (want_grp) {
		grp_pid = spawn("grp", grp);
		while (getpgid(grp_pid) != grp_pid)
			usleep(1000);
		spawn("joiner", joiner);
	}
	if (want_sess)
		spawn("sess", sess);
	if (want_orphan) {
		pid_t l = spawn("lead", lead);
		int st;
		if (waitpid(l, &st, 0) != l || !WIFEXITED(st) || WEXITSTATUS(st))
			corrupt("the group leader failed");
	}
	if (want_zombie)
		zombie = spawn("zombie", exiter);
	if (zombie_sig)
		sigzombie = spawn("sigzombie", killed);
	if (want_stop) {
		stopped = spawn("stopped", stopper);
		while (proc_state(stopped) != 'T')
			usleep(1000);
	}
	if (want_pipe) {
		if (pipe(pipe_fd))
			corrupt("pipe: %s", strerror(errno));
		spawn("reader", reader);
		close(pipe_fd[0]);
	}
	if (want_shm)
		spawn("shm", shm_child);
	if (want_file)
		spawn("writer", writer);
	for (;;) {	/* the zombies are zombies */
		siginfo_t si = { 0 };
		if ((!zombie || (!waitid(P_PID, zombie, &si, WEXITED | WNOHANG | WNOWAIT) &&
				 si.si_pid)) &&
		    (!sigzombie || (!waitid(P_PID, sigzombie, &si, WEXITED | WNOHANG | WNOWAIT) &&
				    si.si_pid)))
			break;
		usleep(1000);
	}
	snprintf(path, sizeof(path), "%s/ready", dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	heap = calloc(1, sizeof(*heap));
	for (;;) {
		uint64_t n;

		sleep_tick();
		n = tick(heap, &stack);
		if (zombie)
			check_zombie(zombie, CLD_EXITED, zombie_status);
		if (sigzombie)
			check_zombie(sigzombie, CLD_KILLED, zombie_sig);
		if (stopped) {
			char st = proc_state(stopped);
			snprintf(path, sizeof(path), "%s/stopped.log", dir);
			FILE *f = fopen(path, "r");
			char line[64];
			bool cont = false;
			while (f && fgets(line, sizeof(line), f))
				cont |= !strncmp(line, "continued", 9);
			if (f)
				fclose(f);
			if (!cont && st != 'T')
				corrupt("child %d is not stopped (state %c)", stopped, st);
			if (!cont) {
				siginfo_t si = { 0 };

				if (waitid(P_PID, stopped, &si, WSTOPPED | WNOHANG | WNOWAIT) ||
				    si.si_pid != stopped || si.si_code != CLD_STOPPED ||
				    si.si_status != SIGTSTP)
					corrupt("child %d: wait reports code %d status %d, not "
						"stopped by SIGTSTP", stopped, si.si_code, si.si_status);
			}
		}
		if (want_pipe) {
			char line[32];
			int len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)n);
			if (write(pipe_fd[1], line, len) != len)
				corrupt("writing the pipe: %s", strerror(errno));
		}
		if (want_shm)
			fprintf(logf, "shm %llu\n", (unsigned long long)*shm);
		if (want_file)
			shared_line(n);
	}
}
