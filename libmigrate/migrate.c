/* libmigrate's calls: migrate_checkpoint(), migrate_clone(), migrate_to(),
 * migrate_strerror().  How a call works is told in internal.h; the helper
 * process is in helper.c. */
#include "libmigrate.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MIGRATE_PREFIX
#define MIGRATE_PREFIX "/usr/local"
#endif

#define KNOWN_FLAGS (MIGRATE_EXIT | MIGRATE_EXT_UNIX | MIGRATE_BUNDLE | MIGRATE_NEW_PID | MIGRATE_TREE | \
		     MIGRATE_COMPRESS(0x1f))

extern char **environ;

/* One call at a time per process: a second ckpt could not attach anyway. */
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread char last_error[1024];

const char *migrate_strerror(void)
{
	return last_error;
}

__attribute__((format(printf, 2, 3)))
static int set_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/* ------------------------------------------------------------ tools */

static bool executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* name in PATH (name itself if it has a slash); NULL if not found. */
static char *search_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[PATH_MAX];

	if (strchr(name, '/'))
		return executable(name) ? strdup(name) : NULL;
	for (p = path ? path : "/usr/local/bin:/usr/bin:/bin"; ; p = end + 1) {
		end = strchrnul(p, ':');
		if (snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "",
			     name) < (int)sizeof(buf) && executable(buf))
			return strdup(buf);
		if (!*end)
			return NULL;
	}
}

/* ckpt: $MIGRATE_CKPT, then $CKPT_BIN (the binary or its directory), then
 * the configured prefix, then PATH. */
static char *find_ckpt(void)
{
	const char *env = getenv("MIGRATE_CKPT");
	char buf[PATH_MAX];
	struct stat st;

	if (env && *env) {
		if (executable(env))
			return strdup(env);
		set_error(ENOENT, "libmigrate: MIGRATE_CKPT=%s is not an executable file", env);
		return NULL;
	}
	env = getenv("CKPT_BIN");
	if (env && *env) {
		if (stat(env, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(buf, sizeof(buf), "%s/ckpt", env);
			env = buf;
		}
		if (executable(env))
			return strdup(env);
		set_error(ENOENT, "libmigrate: CKPT_BIN=%s is not ckpt", env);
		return NULL;
	}
	if (executable(MIGRATE_PREFIX "/bin/ckpt"))
		return strdup(MIGRATE_PREFIX "/bin/ckpt");
	if ((env = search_path("ckpt")))
		return (char *)env;
	set_error(ENOENT, "libmigrate: ckpt not found in " MIGRATE_PREFIX "/bin or PATH "
		  "(install ckpt or set MIGRATE_CKPT)");
	return NULL;
}

/* A host with a blank in it is a command; otherwise an ssh destination. */
static bool host_is_command(const char *host)
{
	return strpbrk(host, " \t\n") != NULL;
}

/* ------------------------------------------------------------ identity */

/* Which process this is: its start time, the machine's boot and its time
 * namespace.  A copy restarted from an image was started later, or on
 * another boot; restart puts it in a time namespace of its own whose
 * offsets continue the clocks from the checkpoint, which makes its start
 * time (as it reads it) close to the moment of the checkpoint: close
 * enough to equal the original's when the call came right after the
 * program started.  The namespace tells them apart. */
struct identity {
	char text[256];
};

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static void identity_get(struct identity *id)
{
	char stat[1024], boot[64] = "", timens[64] = "";
	const char *p;
	ssize_t n;
	int field;

	id->text[0] = 0;
	if (read_small("/proc/self/stat", stat, sizeof(stat)) || !(p = strrchr(stat, ')')))
		return;
	for (field = 2; *p && field < 22; p++)	/* starttime is field 22 */
		if (*p == ' ')
			field++;
	read_small("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
	n = readlink("/proc/self/ns/time", timens, sizeof(timens) - 1);
	timens[n > 0 ? n : 0] = 0;
	snprintf(id->text, sizeof(id->text), "%.*s %.40s %s", (int)strcspn(p, " "), p, boot,
		 timens);
}

static bool identity_same(const struct identity *a)
{
	struct identity b;

	identity_get(&b);
	return a->text[0] && !strcmp(a->text, b.text);
}

/* ------------------------------------------------------------ outcome */

/* The last line of msg starting with prefix (not a warning; with "", the
 * last line not from ckpt), into out. */
static bool find_line(const char *msg, const char *prefix, char *out, size_t size)
{
	const char *line, *end, *found = NULL;
	size_t plen = strlen(prefix), flen = 0;

	for (line = msg; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (end == line)
			continue;
		if (plen && (strncmp(line, prefix, plen) || !strncmp(line + plen, "warning:", 8)))
			continue;
		if (!plen && !strncmp(line, "ckpt: ", 6))	/* any line but ckpt's */
			continue;
		found = line;
		flen = (size_t)(end - line);
	}
	if (!found)
		return false;
	snprintf(out, size, "%.*s", (int)flen, found);
	return true;
}

/* The errno whose text a ckpt or restart message gives as the reason
 * ("...: No space left on device (...)"), or dflt. */
static int errno_of(const char *line, int dflt)
{
	size_t best = 0;
	int e, found = dflt;

	for (e = 1; e < 134; e++) {
		const char *text = strerrordesc_np(e);
		char pat[128];
		size_t n;

		if (!text)
			continue;
		n = (size_t)snprintf(pat, sizeof(pat), ": %s", text);
		if (n > best && strstr(line, pat)) {
			best = n;
			found = e;
		}
	}
	return found;
}

static void describe_status(char *out, size_t size, const char *what, int st)
{
	if (WIFSIGNALED(st))
		snprintf(out, size, "libmigrate: %s was killed by signal %d (%s)", what, WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(out, size, "libmigrate: %s exited with status %d", what, WEXITSTATUS(st));
}

static bool status_ok(int st)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The outcome the helper wrote (done is set): 0, or -1 with the reason. */
static int outcome(const struct mig_job *job, pid_t *copy_pid)
{
	const struct mig_shared *sh = job->sh;
	bool ckpt_ok = status_ok(sh->ckpt_status), host_ok;
	char line[sizeof(last_error)];
	const char *p;

	if (sh->setup_errno)
		return set_error(sh->setup_errno, "libmigrate: the helper could not start: %s",
				 strerror(sh->setup_errno));
	if (sh->exec_errno && (sh->exec_tool == MIG_TOOL_CKPT || job->kind == MIG_CHECKPOINT))
		return set_error(sh->exec_errno, "libmigrate: cannot run %s: %s (install ckpt "
				 "or set MIGRATE_CKPT)", job->ckpt, strerror(sh->exec_errno));
	if (sh->exec_errno)
		return set_error(sh->exec_errno, "libmigrate: cannot run %s: %s", job->host_path,
				 strerror(sh->exec_errno));
	if (job->kind == MIG_CHECKPOINT) {
		if (ckpt_ok)
			return 0;
		if (!find_line(sh->msg, "ckpt: ", line, sizeof(line)))
			describe_status(line, sizeof(line), "ckpt", sh->ckpt_status);
		return set_error(errno_of(line, ECANCELED), "%s", line);
	}
	host_ok = status_ok(sh->host_status);
	/* ckpt's own failure, unless it only lost its reader: then the host
	 * command's message says why. */
	if (!ckpt_ok && find_line(sh->msg, "ckpt: ", line, sizeof(line)) &&
	    (host_ok || !strstr(line, strerror(EPIPE))))
		return set_error(errno_of(line, ECANCELED), "%s", line);
	if (!host_ok) {
		if (!find_line(sh->msg, "restart: ", line, sizeof(line)) &&
		    !find_line(sh->msg, "", line, sizeof(line)))
			describe_status(line, sizeof(line), "the host command", sh->host_status);
		return set_error(errno_of(line, EREMOTEIO), "%s", line);
	}
	if (!ckpt_ok) {
		describe_status(line, sizeof(line), "ckpt", sh->ckpt_status);
		return set_error(ECANCELED, "%s", line);
	}
	for (p = sh->out; *p; p = strchrnul(p, '\n'), p += !!*p) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end > p && pid > 0 && pid <= INT_MAX && (*end == '\n' || !*end)) {
			*copy_pid = (pid_t)pid;
			return 0;
		}
	}
	return set_error(EPROTO, "libmigrate: the host command printed no PID (it must run "
			 "restart - --detach and pass on its output)");
}

/* ------------------------------------------------------------ the call */

static bool yama_needs_ptracer(void)
{
	char buf[16];
	return read_small("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)) == 0 &&
	       buf[0] == '1';
}

/* 0 in the original (the helper's outcome), 1 in the restored copy, -1 on
 * failure in the original. */
static int run(struct mig_job *job, pid_t *copy_pid)
{
	struct identity self;
	bool ptracer = false, reaped = false;
	int st = 0, ret;
	long helper;

	identity_get(&self);
	job->sh = mmap(NULL, sizeof(*job->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (job->sh == MAP_FAILED)
		return set_error(errno, "libmigrate: cannot map the page shared with the helper: %s",
				 strerror(errno));
	job->caller = getpid();
	job->envp = environ;
	/* The copy must not write out again what the original has buffered.
	 * Only stdout: fflush(NULL) would lock every stream, and a thread
	 * blocked reading one holds its lock. */
	fflush(stdout);

	/* A copy of this process with exit signal 0 (see helper.c). */
	helper = syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);
	if (helper == 0)
		mig_helper(job);
	if (helper < 0) {
		ret = set_error(errno, "libmigrate: cannot start the helper: %s", strerror(errno));
		goto out;
	}
	/* Yama ptrace_scope 1: only ancestors may attach, and ckpt is our
	 * grandchild.  Let the helper and its children attach. */
	if (yama_needs_ptracer())
		ptracer = prctl(PR_SET_PTRACER, (unsigned long)helper, 0, 0, 0) == 0;
	__atomic_store_n(&job->sh->go, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &job->sh->go, FUTEX_WAKE, 1, NULL, NULL, 0);

	/* The image is taken while we wait here.  In the copy restarted from
	 * it there is no helper: the wait ends at once, and done reads 0. */
	for (;;) {
		pid_t r = waitpid((pid_t)helper, &st, __WALL);
		if (r == helper) {
			reaped = true;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		break;	/* ECHILD: the copy, or someone else reaped it */
	}
	if (__atomic_load_n(&job->sh->done, __ATOMIC_ACQUIRE)) {
		if (ptracer)
			prctl(PR_SET_PTRACER, 0UL, 0, 0, 0);
		ret = outcome(job, copy_pid);
		if (ret == 0 && job->sh->bundle_missing)
			snprintf(last_error, sizeof(last_error), "libmigrate: this ckpt has no "
				 "--bundle: the image does not carry the binaries");
	} else if (!identity_same(&self)) {
		ret = 1;
	} else {
		char what[256];
		if (reaped)
			describe_status(what, sizeof(what), "the helper process", st);
		else
			snprintf(what, sizeof(what), "libmigrate: the helper process vanished "
				 "(reaped by someone else)");
		ret = set_error(EIO, "%s without a result", what);
	}
out:
	munmap(job->sh, sizeof(*job->sh));
	job->sh = NULL;
	return ret;
}

/* ckpt and its arguments: ckpt PID -o OUT [options]. */
static int prepare_ckpt(struct mig_job *job, const char *out, unsigned flags)
{
	unsigned level = MIGRATE_COMPRESS_LEVEL(flags);
	char **a = job->ckpt_argv_buf;
	size_t i = 0;

	if (level > 19)
		return set_error(EINVAL, "libmigrate: compression level %u (1 to 19)", level);
	if (!(job->ckpt = find_ckpt()))
		return -1;
	snprintf(job->pid_text, sizeof(job->pid_text), "%d", (int)getpid());
	a[i++] = job->ckpt;
	a[i++] = job->pid_text;
	a[i++] = "--from-inside";	/* our helper (its child) is not part of the image */
	if (!(flags & MIGRATE_TREE))
		a[i++] = "--no-children";
	a[i++] = "-o";
	a[i++] = (char *)out;
	if (flags & MIGRATE_EXIT) {
		a[i++] = "--kill";
	} else {
		/* We go on: our connections are ours, not held for a copy
		 * (the hold would pause them; ckpt(1) --tcp-hold). */
		a[i++] = "--tcp-hold";
		a[i++] = "0";
	}
	if (flags & MIGRATE_EXT_UNIX)
		a[i++] = "--ext-unix";
	if (level) {
		snprintf(job->level_text, sizeof(job->level_text), "%u", level);
		a[i++] = "--compress-level";
		a[i++] = job->level_text;
	}
	job->bundle_slot = (int)i;
	if (flags & MIGRATE_BUNDLE) {
		a[i++] = "--bundle";
		job->help_argv = job->help_argv_buf;
		job->help_argv[0] = job->ckpt;
		job->help_argv[1] = "--help";
		job->help_argv[2] = NULL;
	}
	a[i] = NULL;
	job->ckpt_argv = a;
	return 0;
}

/* The host command: sh -c HOST, or ssh HOST restart ... */
static int prepare_host(struct mig_job *job, const char *host, unsigned flags)
{
	const char *restart = getenv("MIGRATE_RESTART"), *ssh = getenv("MIGRATE_SSH");
	char **a = job->host_argv_buf;
	size_t i = 0;

	job->host_argv = a;
	if (host_is_command(host)) {
		a[i++] = "sh";
		a[i++] = "-c";
		a[i++] = (char *)host;
		a[i] = NULL;
		if (!(job->host_path = strdup("/bin/sh")))
			return set_error(ENOMEM, "libmigrate: out of memory");
		return 0;
	}
	if (!ssh || !*ssh)
		ssh = "ssh";
	if (!(job->host_path = search_path(ssh)))
		return set_error(ENOENT, "libmigrate: %s not found in PATH (needed for host %s)",
				 ssh, host);
	a[i++] = "ssh";
	a[i++] = "-o";
	a[i++] = "BatchMode=yes";
	a[i++] = "--";
	a[i++] = (char *)host;
	a[i++] = (char *)(restart && *restart ? restart : "restart");
	a[i++] = "-";
	a[i++] = "--detach";
	if (job->kind == MIG_CLONE || (flags & MIGRATE_NEW_PID))
		a[i++] = "--any-pid";
	/* ssh lasts as long as anything holds its channel. */
	a[i++] = "--stdout";
	a[i++] = "/dev/null";
	a[i++] = "--stderr";
	a[i++] = "/dev/null";
	a[i] = NULL;
	return 0;
}

static int start_call(unsigned flags, int *cancel_state)
{
	if (flags & ~KNOWN_FLAGS)
		return set_error(EINVAL, "libmigrate: unknown flags %#x", flags & ~KNOWN_FLAGS);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, cancel_state);
	pthread_mutex_lock(&call_lock);
	last_error[0] = 0;
	return 0;
}

static void end_call(int cancel_state, int saved_errno)
{
	pthread_mutex_unlock(&call_lock);
	pthread_setcancelstate(cancel_state, NULL);
	errno = saved_errno;
}

int migrate_checkpoint(const char *path, unsigned flags)
{
	struct mig_job job = { .kind = MIG_CHECKPOINT };
	int cancel, ret = -1;
	pid_t unused;

	if (!path || !path[0] || !strcmp(path, "-"))
		return set_error(EINVAL, "libmigrate: migrate_checkpoint needs the path of a file");
	if (flags & MIGRATE_NEW_PID)
		return set_error(EINVAL, "libmigrate: MIGRATE_NEW_PID is for migrate_to");
	if (start_call(flags, &cancel))
		return -1;
	if (prepare_ckpt(&job, path, flags) == 0) {
		ret = run(&job, &unused);
		if (ret == 1)
			ret = MIGRATE_RESTORED;
	}
	free(job.ckpt);
	end_call(cancel, errno);
	return ret;
}

/* Clone or move: 0 (PID in *copy_pid) in the original, 1 in the copy, -1. */
static int to_host(enum mig_kind kind, const char *host, unsigned flags, pid_t *copy_pid)
{
	struct mig_job job = { .kind = kind };
	int cancel, ret = -1;

	if (!host || !host[0] || host[0] == '-')
		return set_error(EINVAL, "libmigrate: no host (an ssh destination or a command)");
	if (flags & MIGRATE_EXIT)
		return set_error(EINVAL, "libmigrate: MIGRATE_EXIT is for migrate_checkpoint");
	if (start_call(flags, &cancel))
		return -1;
	if (prepare_ckpt(&job, "-", flags) == 0 && prepare_host(&job, host, flags) == 0)
		ret = run(&job, copy_pid);
	free(job.ckpt);
	free(job.host_path);
	end_call(cancel, errno);
	return ret;
}

pid_t migrate_clone(const char *host, unsigned flags)
{
	pid_t pid = 0;
	int r = to_host(MIG_CLONE, host, flags, &pid);

	if (r < 0)
		return -1;
	return r == 1 ? 0 : pid;
}

int migrate_to(const char *host, unsigned flags)
{
	pid_t pid = 0;
	int r = to_host(MIG_TO, host, flags, &pid);

	if (r < 0)
		return -1;
	if (r == 1)
		return 0;
	_exit(0);	/* the copy runs on host: this one is done (no atexit, no flush) */
}
