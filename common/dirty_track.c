/* Dirty-page tracking: the userfaultfd, its holder, its state file.  See
 * dirty_track.h; the pages themselves are picked in state/memory.c. */
#define LOG_PREFIX "tracking: "
#include "dirty_track.h"
#include "remote.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

/* Linux 6.7; Debian 12's headers predate them. */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define HOLDER_COMM "ckpt-track"
#define HOLDER_UFFD_FD 3
#define HOLDER_PIDFD_FD 4
#define STATE_MAGIC "ckpt-track 1"

void track_state_dir(char *buf, size_t size)
{
	const char *env = getenv("CKPT_TRACK_DIR");

	if (env && env[0])
		snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, size, "/run/ckpt");
	else
		snprintf(buf, size, "/tmp/ckpt-%u", (unsigned)geteuid());
}

static void hex(const uint8_t *b, char *out)
{
	int i;

	for (i = 0; i < TRACK_EPOCH_LEN; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static bool unhex(const char *s, uint8_t *b)
{
	int i;

	if (strlen(s) != 2 * TRACK_EPOCH_LEN)
		return false;
	for (i = 0; i < TRACK_EPOCH_LEN; i++)
		if (sscanf(s + 2 * i, "%2hhx", &b[i]) != 1)
			return false;
	return true;
}

/* The state file, written whole and renamed into place. */
static int write_state(const struct dirty_track *t, pid_t holder, const uint8_t *epoch)
{
	char tmp[PATH_MAX + 8], ep[2 * TRACK_EPOCH_LEN + 1] = "none";
	FILE *f;

	if (epoch)
		hex(epoch, ep);
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->state_path);
	f = fopen(tmp, "w");
	if (!f)
		return fail(errno, NULL, "writing %s", tmp);
	fprintf(f, "%s\nholder %d\nfd %d\npid %d\nstart %llu\nepoch %s\n", STATE_MAGIC, (int)holder,
		HOLDER_UFFD_FD, (int)t->pid, t->start, ep);
	if (fflush(f) || ferror(f)) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		return fail(e, NULL, "writing %s", tmp);
	}
	fclose(f);
	if (rename(tmp, t->state_path)) {
		int e = errno;
		unlink(tmp);
		return fail(e, NULL, "writing %s", t->state_path);
	}
	return 0;
}

struct state {
	pid_t holder, pid;
	int fd;
	unsigned long long start;
	bool epoch_valid;
	uint8_t epoch[TRACK_EPOCH_LEN];
};

static bool read_state(const char *path, struct state *st)
{
	char magic[32] = "", ep[64] = "";
	int holder, pid;
	bool ok;
	FILE *f = fopen(path, "r");
	struct stat sb;

	if (!f)
		return false;
	/* Ours only: a file someone else planted names nothing to us. */
	ok = !fstat(fileno(f), &sb) && sb.st_uid == geteuid() && !(sb.st_mode & 022) &&
	     fscanf(f, "%31[^\n]\nholder %d\nfd %d\npid %d\nstart %llu\nepoch %63s", magic, &holder,
		    &st->fd, &pid, &st->start, ep) == 6 &&
	     !strcmp(magic, STATE_MAGIC);
	fclose(f);
	if (!ok)
		return false;
	st->holder = holder;
	st->pid = pid;
	st->epoch_valid = unhex(ep, st->epoch);
	return true;
}

static bool read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return true;
}

/* The holder's uffd, if the holder is the one the state names. */
static int attach_holder(struct dirty_track *t, const struct state *st)
{
	char path[64], link[64], comm[32];
	struct stat sb;
	ssize_t n;
	int pidfd, fd;

	if (st->pid != t->pid || st->start != t->start || st->holder <= 0) {
		pr_info("state file %s is of an earlier process", t->state_path);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)st->holder);
	if (!read_small(path, comm, sizeof(comm)) || strcmp(comm, HOLDER_COMM "\n")) {
		pr_info("holder %d is gone", (int)st->holder);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)st->holder);
	if (stat(path, &sb) || sb.st_uid != geteuid())
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)st->holder, st->fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || (link[n] = 0, strcmp(link, "anon_inode:[userfaultfd]"))) {
		pr_info("holder %d holds no userfaultfd", (int)st->holder);
		return -1;
	}
	pidfd = syscall(SYS_pidfd_open, st->holder, 0);
	if (pidfd < 0)
		return -1;
	fd = syscall(SYS_pidfd_getfd, pidfd, st->fd, 0);
	close(pidfd);
	if (fd < 0) {
		pr_info("cannot take the userfaultfd of holder %d: %s", (int)st->holder,
			strerror(errno));
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	t->uffd = fd;
	t->holder = st->holder;
	t->epoch_valid = st->epoch_valid;
	memcpy(t->epoch, st->epoch, TRACK_EPOCH_LEN);
	return 0;
}

/* Does the process hold a userfaultfd of its own?  Then it uses
 * userfaultfd itself, and a registration of ours could get in its way. */
static bool has_own_uffd(pid_t pid)
{
	char dir[64], path[64 + 258], link[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(dir)))
		return true;
	while (!found && (de = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		found = n > 0 && (link[n] = 0, !strcmp(link, "anon_inode:[userfaultfd]"));
	}
	closedir(d);
	return found;
}

/* A new uffd bound to the process's memory: made by the process itself. */
static int make_uffd(struct dirty_track *t, struct remote *r)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	long rfd = -1, ignored;
	int pidfd, fd;

	/* User-mode-only needs no privilege; async faults never reach it. */
	if (remote_syscall(r, &rfd, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY))
		return -1;
	if (rfd < 0) {
		pr_info("not available: userfaultfd in the process: %s", strerror((int)-rfd));
		return 0;
	}
	pidfd = syscall(SYS_pidfd_open, t->pid, 0);
	fd = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, (int)rfd, 0);
	if (pidfd >= 0)
		close(pidfd);
	if (remote_syscall(r, &ignored, SYS_close, rfd)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0) {
		pr_info("not available: pidfd_getfd: %s", strerror(errno));
		return 0;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (ioctl(fd, UFFDIO_API, &api)) {
		pr_info("not available: no write-protect async mode (UFFDIO_API: %s)",
			strerror(errno));
		close(fd);
		return 0;
	}
	t->uffd = fd;
	return 0;
}

/* The process has begun to use userfaultfd itself: our registrations
 * would make its own fail (EBUSY).  Every one of ours is undone now (the
 * holder, whose state file goes, exits soon after). */
static void stop_tracking(struct dirty_track *t)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			unsigned long long a, b;
			struct uffdio_range range;

			if (sscanf(line, "%llx-%llx", &a, &b) != 2)
				continue;
			range = (struct uffdio_range){ a, b - a };
			(void)ioctl(t->uffd, UFFDIO_UNREGISTER, &range);	/* not ours: EINVAL */
		}
		fclose(f);
	}
	unlink(t->state_path);
	close(t->uffd);
	t->uffd = -1;
	t->holder = 0;
	pr_info("ends: the process now has a userfaultfd of its own");
}

int track_begin(struct dirty_track *t, struct remote *r, pid_t pid, unsigned long long start,
		bool create)
{
	char dir[PATH_MAX - 32];
	struct state st;

	memset(t, 0, sizeof(*t));
	t->uffd = -1;
	t->pid = pid;
	t->start = start;
	track_state_dir(dir, sizeof(dir));
	snprintf(t->state_path, sizeof(t->state_path), "%s/track-%d", dir, (int)pid);
	if (getrandom(t->new_epoch, TRACK_EPOCH_LEN, 0) != TRACK_EPOCH_LEN)
		return fail(errno, NULL, "making a tracking epoch");
	if (read_state(t->state_path, &st) && !attach_holder(t, &st)) {
		pr_info("holder %d, epoch %s", (int)t->holder, t->epoch_valid ? "valid" : "none");
		if (has_own_uffd(pid))
			stop_tracking(t);
		return 0;
	}
	if (!create)
		return 0;
	if (has_own_uffd(pid)) {
		pr_info("not used: the process has a userfaultfd of its own");
		return 0;
	}
	return make_uffd(t, r);
}

int track_register(struct dirty_track *t, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = {
		.range = { start, end - start }, .mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (t->uffd < 0)
		return 1;
	if (!ioctl(t->uffd, UFFDIO_REGISTER, &reg))
		return 0;
	if (errno == EBUSY)
		return 2;
	if (errno == ESRCH || errno == ENOMEM) {
		/* The memory the uffd was made for is gone (the kernel says
		 * ENOMEM): the process ran exec since.  Tracking ends (the
		 * holder follows: no state); so it does on a real ENOMEM. */
		pr_info("ends: the process replaced its memory (exec)");
		if (t->holder)
			unlink(t->state_path);
		close(t->uffd);
		t->uffd = -1;
		t->holder = 0;
		return 1;
	}
	pr_info("mapping %#llx-%#llx not tracked: %s", (unsigned long long)start,
		(unsigned long long)end, strerror(errno));
	return 1;
}

int track_invalidate(struct dirty_track *t)
{
	if (t->invalidated || !t->holder)
		return 0;
	t->invalidated = true;
	return write_state(t, t->holder, NULL);
}

/* A holder for t->uffd: forked twice (no zombie, own session), then
 * /proc/self/exe re-executed so that none of ckpt's memory stays. */
static pid_t start_holder(struct dirty_track *t)
{
	int pfd[2], pidfd = syscall(SYS_pidfd_open, t->pid, 0);
	pid_t c, holder = 0;

	if (pidfd < 0 || pipe2(pfd, O_CLOEXEC)) {
		if (pidfd >= 0)
			close(pidfd);
		return 0;
	}
	c = fork();
	if (c == 0) {
		int devnull;

		setsid();
		if (fork() != 0)
			_exit(0);
		int u, p;

		holder = getpid();
		if (write(pfd[1], &holder, sizeof(holder)) != sizeof(holder))
			_exit(1);
		/* Above 4 first: either may be fd 3 or 4 now. */
		u = fcntl(t->uffd, F_DUPFD, 10);
		p = fcntl(pidfd, F_DUPFD, 10);
		if (u < 0 || p < 0 || dup2(u, HOLDER_UFFD_FD) < 0 || dup2(p, HOLDER_PIDFD_FD) < 0)
			_exit(1);
		if (chdir("/"))	/* pin no directory */
			_exit(1);
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		syscall(SYS_close_range, HOLDER_PIDFD_FD + 1, ~0u, 0);
		execl("/proc/self/exe", "ckpt", "--track-holder", t->state_path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	close(pidfd);
	if (c > 0) {
		waitpid(c, NULL, 0);
		if (read(pfd[0], &holder, sizeof(holder)) != sizeof(holder))
			holder = 0;
	}
	close(pfd[0]);
	return holder;
}

void track_commit(struct dirty_track *t)
{
	char dir[PATH_MAX];

	if (t->uffd < 0)
		return;
	if (!t->holder) {
		struct stat sb;

		track_state_dir(dir, sizeof(dir));
		if (mkdir(dir, 0700) && errno != EEXIST) {
			pr_warn("dirty tracking stops: cannot create %s: %s (the next dump "
				"compares hashes)", dir, strerror(errno));
			return;
		}
		if (lstat(dir, &sb) || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
		    (sb.st_mode & 022)) {
			pr_warn("dirty tracking stops: %s is not a directory of this user's "
				"that only it may write (set CKPT_TRACK_DIR)", dir);
			return;
		}
		if (!(t->holder = start_holder(t))) {
			pr_warn("dirty tracking stops: no holder process could be started "
				"(the next dump compares hashes)");
			return;
		}
	}
	if (write_state(t, t->holder, t->new_epoch)) {
		pr_warn("dirty tracking stops: its state could not be written (the next dump "
			"compares hashes)");
		return;
	}
	pr_info("holder %d keeps the written bits for the next dump", (int)t->holder);
}

void track_end(struct dirty_track *t)
{
	if (t->uffd >= 0)
		close(t->uffd);
	t->uffd = -1;
}

void track_holder_main(const char *state_path)
{
	struct pollfd p = { .fd = HOLDER_PIDFD_FD, .events = POLLIN };
	struct state st;
	int i;

	prctl(PR_SET_NAME, HOLDER_COMM);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* The state file may not name us yet (track_commit() writes it
	 * once we run): a few seconds' grace. */
	for (i = 0;; i++) {
		int n = poll(&p, 1, i < 5 ? 1000 : 10000);

		if (n > 0)
			break;	/* the process exited */
		if (!read_state(state_path, &st) || st.holder != getpid()) {
			if (i < 5)
				continue;
			_exit(0);	/* replaced or removed: tracking ended */
		}
	}
	if (read_state(state_path, &st) && st.holder == getpid())
		unlink(state_path);
	_exit(0);
}
