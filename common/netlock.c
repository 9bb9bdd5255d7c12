/* The network lock (netlock.h): nft scripts run in the namespace wanted.
 *
 * The nft binary rather than libnftables: a child is needed anyway to
 * enter the target's network namespace (setns would move ckpt itself),
 * the command language is nftables' stable interface, and ckpt and
 * restart (privileged, reading untrusted images) load no more libraries
 * and keep no build or run-time dependency on nftables: without it only
 * the lock is missing, and said so.  It costs one fork and exec per
 * operation (a few ms; measured in docs/design.md). */
#define LOG_PREFIX "netlock: "
#include "netlock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TABLE "inet ckpt_lock"

/* Serializes ckpt and restart runs on the table (a removal of the table
 * must not race with another one's adding). */
#define LOCK_FILE "/run/ckpt-netlock.lock"

int netlock_tuple(struct netlock_tuple *t, const void *local, size_t llen, const void *peer,
		  size_t plen)
{
	const void *ends[2] = { local, peer };
	size_t lens[2] = { llen, plen };
	int k, fam = 0;

	memset(t, 0, sizeof(*t));
	for (k = 0; k < 2; k++) {
		const struct sockaddr *sa = ends[k];
		uint8_t *addr = k ? t->peer : t->local;
		uint16_t *port = k ? &t->pport : &t->lport;
		int f;

		if (!sa || lens[k] < sizeof(struct sockaddr_in))
			return -1;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *s4 = ends[k];
			memcpy(addr, &s4->sin_addr, 4);
			*port = ntohs(s4->sin_port);
			f = AF_INET;
		} else if (sa->sa_family == AF_INET6 && lens[k] >= sizeof(struct sockaddr_in6)) {
			const struct sockaddr_in6 *s6 = ends[k];
			*port = ntohs(s6->sin6_port);
			if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
				memcpy(addr, &s6->sin6_addr.s6_addr[12], 4);
				f = AF_INET;
			} else {
				memcpy(addr, &s6->sin6_addr, 16);
				f = AF_INET6;
			}
		} else {
			return -1;
		}
		if (k && f != fam)
			return -1;
		fam = f;
	}
	t->family = fam;
	return 0;
}

static void format_end(const struct netlock_tuple *t, const uint8_t *addr, uint16_t port,
		       char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(t->family, addr, a, sizeof(a));
	snprintf(buf, len, t->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

const char *netlock_describe(const struct netlock_tuple *t, char *buf, size_t len)
{
	char l[INET6_ADDRSTRLEN + 8], p[INET6_ADDRSTRLEN + 8];

	format_end(t, t->local, t->lport, l, sizeof(l));
	format_end(t, t->peer, t->pport, p, sizeof(p));
	snprintf(buf, len, "%s -> %s", l, p);
	return buf;
}

/* "ADDR . PORT . ADDR . PORT", an element of set v4 or v6. */
static void element(const struct netlock_tuple *t, char *buf, size_t len)
{
	char l[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];

	inet_ntop(t->family, t->local, l, sizeof(l));
	inet_ntop(t->family, t->peer, p, sizeof(p));
	snprintf(buf, len, "%s . %u . %s . %u", l, t->lport, p, t->pport);
}

static const char *nft_path(void)
{
	static const char *const paths[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft",
					     "/bin/nft" };
	const char *env = getenv("CKPT_NFT");	/* another nft (tests: a missing one) */
	size_t i;

	if (env && *env)
		return access(env, X_OK) ? NULL : env;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

bool netlock_available(void)
{
	return nft_path() != NULL;
}

/* The namespace of l's process when it is not ours: an fd to setns to,
 * -1 for ours (or on error, recorded: -2). */
static int other_netns(const struct netlock *l)
{
	char path[64];
	struct stat mine, its;
	int fd;

	if (!l->ns_pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", l->ns_pid);
	if (stat("/proc/self/ns/net", &mine) || stat(path, &its)) {
		fail(errno, NULL, "finding the network namespace of process %d", l->ns_pid);
		return -2;
	}
	if (mine.st_dev == its.st_dev && mine.st_ino == its.st_ino)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(errno, NULL, "entering the network namespace of process %d", l->ns_pid);
		return -2;
	}
	return fd;
}

static int memfd_with(const char *name, const char *text)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t len = text ? strlen(text) : 0, done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += n;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The first line of what nft said (stderr, else stdout) into msg. */
static void read_back(int fd, char *msg, size_t len)
{
	ssize_t n;
	char *nl;

	if (!msg || !len)
		return;
	msg[0] = 0;
	lseek(fd, 0, SEEK_SET);
	n = read(fd, msg, len - 1);
	msg[n > 0 ? n : 0] = 0;
	if ((nl = strchr(msg, '\n')))
		*nl = 0;
}

/* nft -f - with script on its standard input, in l's namespace.  0 when
 * nft succeeded; 1 when it refused the script (its first line in msg);
 * -1 on error (recorded).  out: what it printed, if wanted (malloc'd). */
static int run_nft(const struct netlock *l, const char *script, char *msg, size_t msglen,
		   char **out)
{
	const char *nft = nft_path();
	int in = -1, err = -1, so = -1, ns, status = 0, ret = -1;
	pid_t pid;

	if (!nft)
		return fail_why("nft (nftables) is not installed", "install nftables (Debian: "
				"apt-get install nftables)", "running nft");
	ns = other_netns(l);
	if (ns == -2)
		return -1;
	in = memfd_with("nft-in", script);
	err = memfd_with("nft-err", NULL);
	so = memfd_with("nft-out", NULL);
	if (in < 0 || err < 0 || so < 0) {
		fail(errno, NULL, "running nft");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		fail(errno, NULL, "running nft");
		goto out;
	}
	if (pid == 0) {
		if ((ns >= 0 && setns(ns, CLONE_NEWNET)) || dup2(in, 0) < 0 || dup2(so, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		execl(nft, "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fail(errno, NULL, "waiting for nft");
			goto out;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) >= 126) {
		fail_why(WIFEXITED(status) && WEXITSTATUS(status) == 126 ?
			 "could not enter the network namespace" : "nft could not be run", NULL,
			 "running %s", nft);
		goto out;
	}
	if (out) {
		struct stat st;
		*out = NULL;
		if (!fstat(so, &st) && (*out = calloc(1, st.st_size + 1)) && st.st_size > 0) {
			lseek(so, 0, SEEK_SET);
			if (read(so, *out, st.st_size) < 0)
				(*out)[0] = 0;
		}
	}
	ret = WEXITSTATUS(status) ? 1 : 0;
	if (ret)
		read_back(err, msg, msglen);
out:
	if (ns >= 0)
		close(ns);
	if (in >= 0)
		close(in);
	if (err >= 0)
		close(err);
	if (so >= 0)
		close(so);
	return ret;
}

static int lock_file(void)
{
	int fd = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd >= 0)
		while (flock(fd, LOCK_EX) && errno == EINTR)
			;
	return fd;	/* -1: go on unserialized (no /run) */
}

static void unlock_file(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* A script: its text grown line by line. */
struct script {
	char *text;
	size_t len, cap;
	bool oom;
};

static void add_line(struct script *s, const char *fmt, ...) printf_like(2, 3);
static void add_line(struct script *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(s->text ? s->text + s->len : NULL, s->text ? s->cap - s->len : 0,
			      fmt, ap);
		va_end(ap);
		if (n < 0) {
			s->oom = true;
			return;
		}
		if (s->text && s->len + n + 2 <= s->cap)
			break;
		char *grown = realloc(s->text, s->cap + n + 4096);
		if (!grown) {
			s->oom = true;
			return;
		}
		s->text = grown;
		s->cap += n + 4096;
	}
	s->len += n;
	s->text[s->len++] = '\n';
	s->text[s->len] = 0;
}

static const char *set_of(const struct netlock_tuple *t)
{
	return t->family == AF_INET6 ? "v6" : "v4";
}

/* Each of t[0..n-1] in its set, expiring seconds from now: added, deleted
 * and added again in the one transaction of the script, so that an element
 * there already (ckpt's, restart taking it over; a hold) gets the new
 * timeout, and one that timed out meanwhile is no error (nft 1.0.6 has no
 * "destroy"; a delete alone fails on it).  No moment passes between. */
static void set_elements(struct script *s, const struct netlock_tuple *t, size_t n,
			 unsigned seconds)
{
	char el[2 * INET6_ADDRSTRLEN + 32];
	size_t i;

	for (i = 0; i < n; i++) {
		element(&t[i], el, sizeof(el));
		add_line(s, "add element %s %s { %s timeout 1s }", TABLE, set_of(&t[i]), el);
		add_line(s, "delete element %s %s { %s }", TABLE, set_of(&t[i]), el);
		if (seconds)
			add_line(s, "add element %s %s { %s timeout %us }", TABLE,
				 set_of(&t[i]), el, seconds);
	}
}

/* Run s (then freed) in l's namespace, under the lock file if take_lock
 * (callers of delete_elements hold it already); as run_nft. */
static int run_script(const struct netlock *l, struct script *s, bool take_lock,
		      const char *doing, char *msg, size_t msglen)
{
	int lk = -1, ret;

	if (s->oom) {
		free(s->text);
		return fail(ENOMEM, NULL, "%s", doing);
	}
	if (take_lock)
		lk = lock_file();
	ret = run_nft(l, s->text, msg, msglen, NULL);
	unlock_file(lk);
	free(s->text);
	return ret;
}

int netlock_add(struct netlock *l, const struct netlock_tuple *t, size_t n)
{
	struct script s = { 0 };
	struct netlock_tuple *grown;
	char msg[512], what[160];
	unsigned timeout = l->timeout_s ? l->timeout_s : NETLOCK_TIMEOUT_DEFAULT;
	int ret;

	if (!n)
		return 0;
	netlock_describe(&t[0], what, sizeof(what));
	if (n > 1)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " and %zu more", n - 1);
	grown = realloc(l->t, (l->n + n) * sizeof(*grown));
	if (!grown)
		return fail(ENOMEM, NULL, "locking TCP connections");
	l->t = grown;
	/* The table, its sets and chains: "add" keeps what is there; the
	 * chains' rules are made again (flush, add) so that there is one
	 * of each, whoever came first. */
	add_line(&s, "add table %s", TABLE);
	add_line(&s, "add set %s v4 { type ipv4_addr . inet_service . ipv4_addr . "
		 "inet_service; flags timeout; }", TABLE);
	add_line(&s, "add set %s v6 { type ipv6_addr . inet_service . ipv6_addr . "
		 "inet_service; flags timeout; }", TABLE);
	add_line(&s, "add chain %s input { type filter hook input priority -300; "
		 "policy accept; }", TABLE);
	add_line(&s, "add chain %s output { type filter hook output priority -300; "
		 "policy accept; }", TABLE);
	add_line(&s, "flush chain %s input", TABLE);
	add_line(&s, "flush chain %s output", TABLE);
	add_line(&s, "add rule %s input ip daddr . tcp dport . ip saddr . tcp sport @v4 drop",
		 TABLE);
	add_line(&s, "add rule %s input ip6 daddr . tcp dport . ip6 saddr . tcp sport @v6 drop",
		 TABLE);
	add_line(&s, "add rule %s output ip saddr . tcp sport . ip daddr . tcp dport @v4 drop",
		 TABLE);
	add_line(&s, "add rule %s output ip6 saddr . tcp sport . ip6 daddr . tcp dport @v6 drop",
		 TABLE);
	set_elements(&s, t, n, timeout);
	ret = run_script(l, &s, true, "locking TCP connections", msg, sizeof(msg));
	if (ret < 0)
		return fail_why(error_text(), NULL, "locking TCP connection %s", what);
	if (ret)
		return fail_why(msg[0] ? msg : "nft failed", "nft needs CAP_NET_ADMIN and a kernel "
				"with nf_tables; --no-tcp-lock goes on without the lock", "locking TCP connection %s", what);
	memcpy(l->t + l->n, t, n * sizeof(*t));
	l->n += n;
	pr_info("dropping the packets of %s (for %u s at most)", what, timeout);
	return 0;
}

void netlock_forget(struct netlock *l)
{
	free(l->t);
	l->t = NULL;
	l->n = 0;
}

static int delete_elements(const struct netlock *l, const struct netlock_tuple *t, size_t n,
			   char *msg, size_t msglen)
{
	struct script s = { 0 };

	set_elements(&s, t, n, 0);
	return run_script(l, &s, false, "unlocking TCP connections", msg, msglen);
}

int netlock_retime(struct netlock *l, unsigned seconds)
{
	struct script s = { 0 };
	char msg[512];
	int ret;

	if (!l->n)
		return 0;
	set_elements(&s, l->t, l->n, seconds);
	ret = run_script(l, &s, true, "holding TCP connections", msg, sizeof(msg));
	if (ret > 0)
		return fail_why(msg[0] ? msg : "nft failed", NULL, "holding %zu TCP connection%s "
				"for %u s", l->n, l->n == 1 ? "" : "s", seconds);
	return ret;
}

/* Nothing locked or held any more: no table left behind (under the lock
 * file). */
static void drop_table_if_empty(const struct netlock *l)
{
	char msg[512], *listing = NULL;

	if (run_nft(l, "list table " TABLE "\n", msg, sizeof(msg), &listing) == 0 &&
	    listing && !strstr(listing, "elements ="))
		(void)run_nft(l, "delete table " TABLE "\n", msg, sizeof(msg), NULL);
	free(listing);
}

void netlock_release(struct netlock *l)
{
	char msg[512];
	/* Called on failure paths too: their error is the one to report. */
	bool had_error = error_is_set();
	int lk, ret;

	if (!l->n)
		return;
	lk = lock_file();
	ret = delete_elements(l, l->t, l->n, msg, sizeof(msg));
	if (ret > 0 && strstr(msg, "No such file"))
		ret = 0;	/* no table or set: nothing is locked any more */
	if (ret) {
		pr_warn("could not unlock %zu TCP connection%s (%s): they stay locked until the "
			"lock's timeout", l->n, l->n == 1 ? "" : "s",
			ret > 0 ? msg : had_error ? "nft failed" : error_text());
	} else {
		pr_info("packets of %zu TCP connection%s let through again", l->n,
			l->n == 1 ? "" : "s");
		drop_table_if_empty(l);
	}
	if (!had_error)
		error_clear();
	unlock_file(lk);
	netlock_forget(l);
}
