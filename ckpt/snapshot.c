/* ckpt snapshot: one scheduled snapshot of a process into a directory,
 * under a time-stamped name, then the directory rotated by a retention
 * policy.  Made for cron and systemd timers: a lock so runs never pile
 * up, one log line per run, exit codes that say what happened. */
#define LOG_PREFIX ""
#include "snapshot.h"
#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "output.h"
#include "page_index.h"
#include "pidns.h"
#include "snapshot_names.h"
#include "sign.h"
#include "crypt.h"

static const char usage[] =
"Usage: ckpt snapshot (--pid PID | --pidfile FILE | --unit UNIT) --dir DIR\n"
"                     [--name NAME] [--keep N] [--keep-daily D] [--keep-weekly W]\n"
"                     [--full-every K] [--compress-level N] [--no-cow] [--no-track]\n"
"                     [--bundle] [--kill [--no-tcp-lock]] [--sign KEY] [--encrypt KEYFILE] [-v]\n"
"\n"
"Take one snapshot of a running process, for cron jobs and systemd timers:\n"
"the image is written to DIR/NAME-YYYYmmddTHHMMSSZ.tar.zst (UTC; it appears\n"
"under that name only once complete), then DIR is rotated: snapshots of NAME\n"
"that the retention policy does not keep are deleted.  The process goes on\n"
"running; it is stopped only as long as a ckpt(1) checkpoint stops it.\n"
"One line per snapshot on standard error: file, full or incremental, size,\n"
"freeze and dump time, pages written of all.  Bring the newest one back with\n"
"`restart DIR`.\n"
"\n"
"Which process (one of):\n"
"  -p, --pid PID           the process PID\n"
"  -f, --pidfile FILE      the PID written in FILE (as daemons write them)\n"
"  -u, --unit UNIT         the main process of systemd unit UNIT (MainPID)\n"
"\n"
"Options:\n"
"  -d, --dir DIR           where snapshots go (created with its parents if\n"
"                          missing, mode 0700)\n"
"  -n, --name NAME         the file name prefix (default: the unit name, or\n"
"                          the process's command name)\n"
"      --keep N            keep the N newest snapshots (default 10 when no\n"
"                          --keep-daily / --keep-weekly is given)\n"
"      --keep-daily D      also keep the newest snapshot of each of the D\n"
"                          latest days that have one (UTC days)\n"
"      --keep-weekly W     also keep the newest snapshot of each of the W\n"
"                          latest weeks that have one (ISO weeks)\n"
"                          (the policies add up: a snapshot any of them keeps\n"
"                          is kept; the one just taken always is)\n"
"  -l, --compress-level N  zstd level, 1 (default) to 19\n"
"      --full-every K      a full image every K snapshots, incremental ones in\n"
"                          between (only the pages changed since the newest\n"
"                          snapshot, see ckpt --parent); default 8, 1 = all full.\n"
"                          Rotation keeps the images a kept one depends on.\n"
"      --merge-old         instead, fold each kept snapshot whose parent the\n"
"                          policy would delete into a full image in place\n"
"                          (ckpt merge: same image id, so newer snapshots\n"
"                          stay valid), and delete the parents\n"
"      --no-track          do not track the pages the process writes between\n"
"                          snapshots: compare every page's hash instead.  By\n"
"                          default a small \"ckpt-track\" process keeps a\n"
"                          userfaultfd write-protect registration of the\n"
"                          process's private memory (see ckpt --track), so\n"
"                          that an incremental snapshot reads only the pages\n"
"                          written since the one before; the log line says\n"
"                          \"tracked\" when it did\n"
"      --no-cow            keep the process stopped while its memory is\n"
"                          written (see ckpt --help)\n"
"  -b, --bundle            carry the executable and every mapped file in the\n"
"                          image, for a restart on a host where they differ\n"
"                          (see ckpt --bundle)\n"
"      --sign KEY          sign every snapshot (see ckpt --sign); `restart DIR\n"
"                          --verify PUBKEY` then takes the newest snapshot\n"
"                          whose whole chain verifies, older ones with a warning\n"
"      --encrypt KEYFILE   encrypt every snapshot (see ckpt --encrypt); the\n"
"                          incremental ones read their parent with the same\n"
"                          key, so a chain shares it (restart --decrypt KEYFILE)\n"
"  -k, --kill              the last snapshot: end the process (and its\n"
"                          descendants) once the image is fully written; it\n"
"                          stays stopped until then, so it does nothing the\n"
"                          image lacks.  On failure it goes on running.\n"
"                          Its TCP connections are locked as with ckpt --kill\n"
"      --no-tcp-lock       with --kill: without the network lock (ckpt(1))\n"
"  -v, --verbose           say what is done; -vv for more\n"
"  -h, --help              show this help\n"
"\n"
"Exit status:\n"
"  0  the snapshot was written (and the directory rotated)\n"
"  1  it failed (the message says why); the process runs on as before\n"
"  2  bad usage\n"
"  3  the process is gone (not running, empty pidfile, unit stopped): nothing\n"
"     was written; a schedule for it can end\n"
"  4  another snapshot of NAME into DIR is still running: nothing was done\n"
"  5  the disk (or quota) is full: nothing was left behind\n"
"\n"
"Example crontab line (every 15 minutes, 8 kept plus one a day for a week):\n"
"  */15 * * * * ckpt snapshot --pidfile /run/job.pid --dir /var/lib/ckpt/job \\\n"
"               --keep 8 --keep-daily 7\n"
"systemd: scripts/systemd/ckpt-snapshot@.timer (see docs/ckpt.1).\n";

struct snapshot_args {
	pid_t pid;
	const char *pidfile, *unit, *dir, *name;
	struct retention keep;
	unsigned full_every;		/* a full image every K snapshots (1: always) */
	bool merge_old;			/* --merge-old: fold chains instead of keeping parents */
	struct dump_opts dump;
};

/* Exit codes, in --help. */
enum { SNAP_OK = 0, SNAP_FAILED = 1, SNAP_USAGE = 2, SNAP_GONE = 3, SNAP_LOCKED = 4,
       SNAP_DISK_FULL = 5 };

static int gone(const char *why, const char *what)
{
	fprintf(stderr, "ckpt snapshot: %s: %s (nothing to snapshot)\n", what, why);
	return SNAP_GONE;
}

static int parse_pid_text(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\t')
		end++;
	if (errno || *end || end == s || v <= 0 || v > INT_MAX)
		return -1;
	*pid = v;
	return 0;
}

/* The unit's MainPID through systemctl (0: not running). */
static int unit_main_pid(const char *unit, pid_t *pid)
{
	char cmd[512], line[64];
	FILE *p;
	long v;

	if (strpbrk(unit, "'\\\n"))
		return fail_why("it contains a quote, a backslash or a newline", NULL,
				"finding the main process of unit %s", unit);
	snprintf(cmd, sizeof(cmd), "systemctl show --property=MainPID --value -- '%s' 2>/dev/null",
		 unit);
	p = popen(cmd, "r");
	if (!p)
		return fail(errno, NULL, "running systemctl");
	if (!fgets(line, sizeof(line), p)) {
		pclose(p);
		return fail_why("systemctl printed nothing", "check that systemd runs here and "
				"that the unit exists", "finding the main process of unit %s",
				unit);
	}
	pclose(p);
	v = strtol(line, NULL, 10);
	*pid = v > 0 && v <= INT_MAX ? (pid_t)v : 0;
	return 0;
}

/* The process to snapshot; SNAP_GONE (after one line) when there is none. */
static int resolve_pid(struct snapshot_args *a)
{
	char text[64], what[PATH_MAX + 32];
	ssize_t n;
	int fd;

	if (a->pidfile) {
		snprintf(what, sizeof(what), "pidfile %s", a->pidfile);
		fd = open(a->pidfile, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				return gone("it does not exist", what);
			return fail(errno, NULL, "reading pidfile %s", a->pidfile);
		}
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (n < 0)
			return fail(errno, NULL, "reading pidfile %s", a->pidfile);
		text[n] = 0;
		if (n == 0)
			return gone("it is empty", what);
		if (parse_pid_text(text, &a->pid))
			return fail_why("it does not hold a PID", "check what writes it",
					"reading pidfile %s", a->pidfile);
	} else if (a->unit) {
		if (unit_main_pid(a->unit, &a->pid))
			return -1;
		if (!a->pid) {
			snprintf(what, sizeof(what), "unit %s", a->unit);
			return gone("it has no main process (not running)", what);
		}
	}
	if (kill(a->pid, 0) && errno == ESRCH) {
		snprintf(what, sizeof(what), "process %d", a->pid);
		return gone("it is not running", what);
	}
	return 0;
}

static int default_name(struct snapshot_args *a, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	if (a->name)
		return snprintf(buf, size, "%s", a->name) < (int)size ? 0 : -1;
	if (a->unit) {
		/* "nginx.service" -> "nginx" */
		const char *dot = strrchr(a->unit, '.');
		size_t len = dot && dot != a->unit ? (size_t)(dot - a->unit) : strlen(a->unit);
		snprintf(buf, size, "%.*s", (int)(len < size ? len : size - 1), a->unit);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", a->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, NULL, "reading the command name of process %d", a->pid);
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return fail(n < 0 ? errno : 0, NULL, "reading the command name of process %d",
			    a->pid);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* mkdir -p, new directories mode 0700. */
static int make_dir(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	char *p;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return fail_why("the path is too long", NULL, "snapshot directory %s", dir);
	for (p = path + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			return fail(errno, "give another --dir", "creating snapshot directory %s",
				    path);
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return fail(errno, "create its parent or give another --dir",
			    "creating snapshot directory %s", dir);
	if (stat(dir, &st))
		return fail(errno, NULL, "snapshot directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return fail_why("it is not a directory", "give a directory with --dir",
				"snapshot directory %s", dir);
	return 0;
}

/* DIR/.NAME.lock held (flock) for the whole run; SNAP_LOCKED if taken. */
static int take_lock(const char *dir, const char *name, int *lock_fd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/.%s.lock", dir, name);
	*lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0)
		return fail(errno, "check that the directory is writable", "creating lock %s",
			    path);
	if (flock(*lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		fprintf(stderr, "ckpt snapshot: %s: another snapshot of %s is still running "
			"(nothing done; the next run will take one)\n", path, name);
		return SNAP_LOCKED;
	}
	return fail(errno, NULL, "locking %s", path);
}

/* DIR/NAME-<now>.tar.zst, not taken yet (one snapshot a second at most:
 * a second run within the same second waits for the next one). */
static int snapshot_path(const char *dir, const char *name, char *path, size_t size)
{
	int tries;

	for (tries = 0; tries < 3; tries++) {
		char stamp[SNAPSHOT_STAMP_LEN + 1];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		if (snprintf(path, size, "%s/%s-%s.tar.zst", dir, name, stamp) >= (int)size)
			return fail_why("the path is too long", NULL, "naming the snapshot in %s",
					dir);
		if (access(path, F_OK))
			return 0;
		struct timespec ts, wait = { 0, 0 };
		clock_gettime(CLOCK_REALTIME, &ts);
		wait.tv_nsec = 1000000000 - ts.tv_nsec;	/* to the next second */
		nanosleep(&wait, NULL);
	}
	return fail_why("a snapshot with this time stamp exists already", "check the clock",
			"naming the snapshot %s", path);
}

static void human_size(uint64_t bytes, char *buf, size_t size)
{
	if (bytes >= 10ull << 30)
		snprintf(buf, size, "%.1f GiB", bytes / 1073741824.0);
	else if (bytes >= 10ull << 20)
		snprintf(buf, size, "%.1f MiB", bytes / 1048576.0);
	else
		snprintf(buf, size, "%.1f KiB", bytes / 1024.0);
}

/* The identities of the snapshots of a list (unreadable ones: no id).
 * Encrypted ones are read with --encrypt's key (the key of a chain), and
 * older ones in clear as they are, so rotation keeps their parents too. */
static struct image_identity *identities(const char *dir, const struct snapshot_list *list,
					 struct crypt_key *key)
{
	struct image_identity *ids = calloc(list->n + 1, sizeof(*ids));
	struct image_keys keys = { NULL, key };
	size_t i;

	for (i = 0; ids && i < list->n; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", dir, list->items[i].file);
		if (image_identity_read(path, &keys, &ids[i]) &&
		    (error_clear(), !key || image_identity_read(path, NULL, &ids[i]))) {
			error_clear();
			memset(&ids[i], 0, sizeof(ids[i]));
		}
	}
	return ids;
}

static ssize_t find_id(const struct image_identity *ids, size_t n, const uint8_t *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i].has_id && !memcmp(ids[i].id, id, IMAGE_ID_LEN))
			return i;
	return -1;
}

/* A kept incremental snapshot keeps the chain of parents it needs. */
static void keep_parents(const char *dir, struct snapshot_list *list, struct crypt_key *key)
{
	struct image_identity *ids = identities(dir, list, key);
	size_t i;

	if (!ids) {
		for (i = 0; i < list->n; i++)	/* cannot tell: delete nothing */
			list->items[i].keep = true;
		return;
	}
	/* Newest first: a parent is always older, so one pass follows chains. */
	for (i = 0; i < list->n; i++) {
		ssize_t p;

		if (!list->items[i].keep || !ids[i].has_parent)
			continue;
		p = find_id(ids, list->n, ids[i].parent);
		if (p >= 0)
			list->items[p].keep = true;
	}
	free(ids);
}

/* The newest snapshot as parent of the next one, unless a full image is
 * due (full_every) or it cannot serve (not of this process, damaged). */
static int choose_parent(struct snapshot_args *a, const char *name, char *parent, size_t size)
{
	struct snapshot_list list;
	struct image_identity *ids;
	unsigned depth = 1;
	ssize_t at = 0;

	parent[0] = 0;
	if (a->full_every <= 1)
		return 0;
	if (snapshot_list_dir(a->dir, name, &list))
		return -1;
	if (!list.n) {
		snapshot_list_free(&list);
		return 0;
	}
	ids = identities(a->dir, &list, a->dump.encrypt);
	if (!ids) {
		snapshot_list_free(&list);
		return fail(ENOMEM, NULL, "reading snapshots");
	}
	/* How many incremental images since the last full one (a chain
	 * with a missing image: a full one now). */
	while (at >= 0 && ids[at].has_parent && depth < a->full_every) {
		at = find_id(ids, list.n, ids[at].parent);
		depth++;
	}
	if (at >= 0 && ids[0].has_id && ids[0].pid == pidns_own_pid(a->pid) && depth < a->full_every)
		snprintf(parent, size, "%s/%s", a->dir, list.items[0].file);
	free(ids);
	snapshot_list_free(&list);
	return 0;
}

/* --merge-old: each kept incremental snapshot whose parent the policy
 * does not keep is folded in place (ckpt merge, same image_id), oldest
 * first, so that its parents can go.  One that cannot be merged keeps
 * its parents (keep_parents), with a warning. */
static void fold_kept(const char *dir, struct snapshot_list *list, int level)
{
	struct image_identity *ids = identities(dir, list, NULL);
	size_t i;

	if (!ids)
		return;
	for (i = list->n; i-- > 0;) {	/* oldest first */
		char path[PATH_MAX];
		ssize_t p;

		if (!list->items[i].keep || !ids[i].has_parent)
			continue;
		p = find_id(ids, list->n, ids[i].parent);
		if (p >= 0 && list->items[p].keep)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, list->items[i].file);
		if (merge_image(path, path, level)) {
			pr_warn("could not fold %s into a full image (its parents are kept): %s",
				list->items[i].file, error_text());
			error_clear();
			continue;
		}
		pr_info("folded %s into a full image (its parents can go)", list->items[i].file);
	}
	free(ids);
}

/* Delete what the policy does not keep; the snapshot just taken stays. */
static int rotate(const char *dir, const char *name, const char *newest,
		  const struct retention *keep, struct crypt_key *key, bool merge_old, int level)
{
	struct snapshot_list list;
	size_t i, deleted = 0;
	int ret = 0;

	if (snapshot_list_dir(dir, name, &list))
		return -1;
	retention_apply(&list, keep);
	if (merge_old && !key)	/* (ckpt merge reads no encrypted image) */
		fold_kept(dir, &list, level);
	keep_parents(dir, &list, key);
	for (i = 0; i < list.n; i++) {
		char path[PATH_MAX];

		if (list.items[i].keep || !strcmp(list.items[i].file, newest))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, list.items[i].file);
		if (unlink(path) && errno != ENOENT) {
			ret = fail(errno, NULL, "deleting old snapshot %s", path);
			break;
		}
		pr_info("deleted %s (retention)", list.items[i].file);
		deleted++;
	}
	snapshot_list_free(&list);
	if (!ret && deleted)
		pr_info("%zu old snapshot%s deleted", deleted, deleted == 1 ? "" : "s");
	return ret;
}

static void on_signal(int sig)
{
	(void)sig;
	dump_interrupted = 1;
}

/* One dump into out.  A process restored with `restart --new-pid` (or
 * started by `unshare -pf`) lives in a PID namespace below ours: it is
 * checkpointed from inside (ckpt/pidns.c), with its PIDs as it sees them. */
static int dump_one(struct snapshot_args *a, struct output *out)
{
	int ret;

	if (pidns_below(a->pid))
		return pidns_dump(a->pid, &a->dump, out);
	ret = open_output(out) ? -1 : dump_tree(a->pid, &a->dump, out->fd, commit_output, out);
	close_output(out);
	return ret;
}

static int take_snapshot(struct snapshot_args *a)
{
	struct dump_stats stats = { 0 };
	struct output out = { .fd = -1, .confirm_fd = -1 };
	char name[128], path[PATH_MAX], parent[PATH_MAX], size[32];
	const char *file;
	int lock_fd = -1, ret;

	ret = resolve_pid(a);
	if (ret)
		return ret;
	if (default_name(a, name, sizeof(name)))
		return -1;
	if (!snapshot_name_ok(name))
		return fail_why("a name must be 1-64 letters, digits, '.', '_' or '-', not "
				"starting with '.'", "give one with --name",
				"naming snapshots \"%s\"", name);
	if (make_dir(a->dir))
		return -1;
	ret = take_lock(a->dir, name, &lock_fd);
	if (ret)
		return ret;
	if (choose_parent(a, name, parent, sizeof(parent)) ||
	    snapshot_path(a->dir, name, path, sizeof(path))) {
		ret = -1;
		goto out;
	}
	out.path = path;
	a->dump.stats = &stats;
	a->dump.parent = parent[0] ? parent : NULL;
	ret = dump_one(a, &out);
	if (ret && parent[0] && kill(a->pid, 0) == 0 && error_errno() != ENOSPC) {
		/* The newest snapshot could not serve as parent: a full one. */
		pr_warn("%s; taking a full snapshot instead", error_text());
		error_clear();
		a->dump.parent = NULL;
		parent[0] = 0;
		out = (struct output){ .fd = -1, .confirm_fd = -1, .path = path };
		ret = dump_one(a, &out);
	}
	if (ret)
		goto out;
	file = strrchr(path, '/') + 1;
	human_size(stats.bytes_out, size, sizeof(size));
	fprintf(stderr, "ckpt snapshot: %s: %s%s, %s, process %d frozen %.1f ms, dump %.0f ms, "
		"%llu of %llu pages written (%llu all-zero skipped)%s\n", path,
		parent[0] ? "incremental on " : "full", parent[0] ? strrchr(parent, '/') + 1 : "",
		size, a->pid, stats.frozen_ns / 1e6, stats.total_ns / 1e6,
		(unsigned long long)stats.pages_stored,
		(unsigned long long)(stats.pages_stored + stats.pages_parent),
		(unsigned long long)stats.pages_zero,
		!parent[0] ? "" : stats.tracked ? ", tracked" : ", by hashes");
	ret = rotate(a->dir, name, file, &a->keep, a->dump.encrypt, a->merge_old,
		     a->dump.compress_level);
out:
	if (ret < 0 && lock_fd >= 0) {
		int e = error_errno();
		if (e == ENOSPC || e == EDQUOT) {
			error_print();
			ret = SNAP_DISK_FULL;
		} else if (kill(a->pid, 0) && errno == ESRCH) {
			char what[32];
			error_clear();
			snprintf(what, sizeof(what), "process %d", a->pid);
			ret = gone("it ended during the snapshot", what);
		}
	}
	a->dump.stats = NULL;	/* (it was ours, on this stack) */
	if (lock_fd >= 0)
		close(lock_fd);
	return ret;
}

static int parse_count(const char *opt, const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 100000) {
		fprintf(stderr, "ckpt snapshot: %s needs a count from 0 to 100000, not '%s'\n", opt,
			s);
		return -1;
	}
	*out = v;
	return 0;
}

int snapshot_main(int argc, char **argv)
{
	enum { OPT_KEEP = 256, OPT_DAILY, OPT_WEEKLY, OPT_NOCOW, OPT_FULL_EVERY, OPT_NO_TRACK,
	       OPT_SIGN, OPT_ENCRYPT, OPT_MERGE_OLD, OPT_NO_TCP_LOCK };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "pidfile", required_argument, NULL, 'f' },
		{ "unit", required_argument, NULL, 'u' },
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "keep-daily", required_argument, NULL, OPT_DAILY },
		{ "keep-weekly", required_argument, NULL, OPT_WEEKLY },
		{ "compress-level", required_argument, NULL, 'l' },
		{ "no-cow", no_argument, NULL, OPT_NOCOW },
		{ "no-track", no_argument, NULL, OPT_NO_TRACK },
		{ "merge-old", no_argument, NULL, OPT_MERGE_OLD },
		{ "full-every", required_argument, NULL, OPT_FULL_EVERY },
		{ "bundle", no_argument, NULL, 'b' },
		{ "kill", no_argument, NULL, 'k' },
		{ "no-tcp-lock", no_argument, NULL, OPT_NO_TCP_LOCK },
		{ "sign", required_argument, NULL, OPT_SIGN },
		{ "encrypt", required_argument, NULL, OPT_ENCRYPT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct snapshot_args a = { .dump = { .compress_level = 1, .track = true }, .full_every = 8 };
	struct sigaction sa = { .sa_handler = on_signal };
	bool keep_given = false;
	const char *sign_path = NULL, *encrypt_path = NULL;
	struct sign_key *key = NULL;
	int c, sources = 0, ret;

	argv[0] = "ckpt snapshot";
	while ((c = getopt_long(argc, argv, "p:f:u:d:n:l:bkvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid_text(optarg, &a.pid)) {
				fprintf(stderr, "ckpt snapshot: '%s' is not a PID\n", optarg);
				return SNAP_USAGE;
			}
			sources++;
			break;
		case 'f':
			a.pidfile = optarg;
			sources++;
			break;
		case 'u':
			a.unit = optarg;
			sources++;
			break;
		case 'd':
			a.dir = optarg;
			break;
		case 'n':
			a.name = optarg;
			break;
		case OPT_KEEP:
			if (parse_count("--keep", optarg, &a.keep.last))
				return SNAP_USAGE;
			keep_given = true;
			break;
		case OPT_DAILY:
			if (parse_count("--keep-daily", optarg, &a.keep.daily))
				return SNAP_USAGE;
			keep_given = true;
			break;
		case OPT_WEEKLY:
			if (parse_count("--keep-weekly", optarg, &a.keep.weekly))
				return SNAP_USAGE;
			keep_given = true;
			break;
		case 'l':
			a.dump.compress_level = atoi(optarg);
			if (a.dump.compress_level < 1 || a.dump.compress_level > 19) {
				fprintf(stderr, "ckpt snapshot: --compress-level must be 1 to 19\n");
				return SNAP_USAGE;
			}
			break;
		case OPT_MERGE_OLD:
			a.merge_old = true;
			break;
		case OPT_NO_TRACK:
			a.dump.track = false;
			break;
		case OPT_NOCOW:
			a.dump.no_cow = true;
			break;
		case 'b':
			a.dump.bundle = true;
			break;
		case 'k':
			a.dump.kill_after = true;
			break;
		case OPT_NO_TCP_LOCK:
			a.dump.no_tcp_lock = true;
			break;
		case OPT_SIGN:
			sign_path = optarg;
			break;
		case OPT_ENCRYPT:
			encrypt_path = optarg;
			break;
		case OPT_FULL_EVERY:
			if (parse_count("--full-every", optarg, &a.full_every))
				return SNAP_USAGE;
			if (!a.full_every) {
				fprintf(stderr, "ckpt snapshot: --full-every must be at least 1\n");
				return SNAP_USAGE;
			}
			break;
		case 'v':
			log_level++;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'ckpt snapshot --help'.\n", stderr);
			return SNAP_USAGE;
		}
	}
	if (sources != 1 || !a.dir || optind != argc) {
		fprintf(stderr, "ckpt snapshot: %s\nTry 'ckpt snapshot --help'.\n",
			optind != argc ? "unexpected argument" :
			sources > 1 ? "give only one of --pid, --pidfile, --unit" :
			!sources ? "which process? (--pid, --pidfile or --unit)" : "missing --dir DIR");
		return SNAP_USAGE;
	}
	if (!keep_given)
		a.keep.last = 10;
	/* The keys before the process is touched: a bad key stops nothing. */
	if ((sign_path && !(a.dump.sign = key = sign_key_load(sign_path))) ||
	    (encrypt_path && !(a.dump.encrypt = crypt_key_load(encrypt_path)))) {
		error_print();
		sign_key_free(key);
		return SNAP_FAILED;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	ret = take_snapshot(&a);
	if (ret < 0) {
		error_print();
		ret = SNAP_FAILED;
	}
	sign_key_free(key);
	crypt_key_free(a.dump.encrypt);
	return ret;
}
