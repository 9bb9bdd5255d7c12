/* Holding TCP connections after a checkpoint (tcphold.h): nft scripts. */
#define LOG_PREFIX "tcp hold: "
#include "tcphold.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TABLE "inet ckpt_hold"

int tcp_hold_conn(struct tcp_hold_conn *c, const void *local, size_t llen, const void *peer,
		  size_t plen)
{
	const void *ends[2] = { local, peer };
	size_t lens[2] = { llen, plen };
	int k, fam = 0;

	memset(c, 0, sizeof(*c));
	for (k = 0; k < 2; k++) {
		const struct sockaddr *sa = ends[k];
		uint8_t *addr = k ? c->peer : c->local;
		uint16_t *port = k ? &c->pport : &c->lport;
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
			f = IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) ? AF_INET : AF_INET6;
			memcpy(addr, f == AF_INET ? &s6->sin6_addr.s6_addr[12] : s6->sin6_addr.s6_addr,
			       f == AF_INET ? 4 : 16);
		} else {
			return -1;
		}
		if (k && f != fam)
			return -1;
		fam = f;
	}
	c->family = fam;
	return 0;
}

static const char *nft_path(void)
{
	static const char *const paths[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

bool tcp_hold_available(void)
{
	return nft_path() != NULL;
}

/* A growing nft script. */
struct script {
	char *text;
	size_t len, cap;
	bool failed;
};

static void add_line(struct script *s, const char *fmt, ...) printf_like(2, 3);
static void add_line(struct script *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = s->cap - s->len;
		va_start(ap, fmt);
		n = s->text ? vsnprintf(s->text + s->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n + 1 < room) {
			s->len += n;
			s->text[s->len++] = '\n';
			s->text[s->len] = 0;
			return;
		}
		char *grown = realloc(s->text, s->cap * 2 + 4096);
		if (!grown) {
			s->failed = true;
			return;
		}
		s->text = grown;
		s->cap = s->cap * 2 + 4096;
	}
}

/* nft -f - with the script on its standard input, in the network
 * namespace of ns_pid (0: ours).  0, or -1 with nft's first line of
 * complaint in msg. */
static int run_nft(pid_t ns_pid, const char *script, char *msg, size_t msglen)
{
	const char *nft = nft_path();
	int in[2] = { -1, -1 }, err[2] = { -1, -1 }, ns = -1, status = 0;
	struct stat mine, theirs;
	char path[64];
	size_t left = strlen(script), got = 0;
	pid_t child;

	msg[0] = 0;
	if (!nft) {
		snprintf(msg, msglen, "nft is not installed");
		errno = ENOENT;
		return -1;
	}
	if (ns_pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", ns_pid);
		if (stat("/proc/self/ns/net", &mine) || stat(path, &theirs))
			return -1;
		if (mine.st_ino != theirs.st_ino && (ns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		child = -1;
		goto out;
	}
	child = fork();
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);
		if ((ns >= 0 && setns(ns, CLONE_NEWNET)) || dup2(in[0], 0) < 0 || null < 0 ||
		    dup2(null, 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execl(nft, "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	if (child < 0)
		goto out;
	close(in[0]);
	close(err[1]);
	in[0] = err[1] = -1;
	while (left) {
		ssize_t n = write(in[1], script, left);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		script += n;
		left -= n;
	}
	close(in[1]);
	in[1] = -1;
	for (;;) {
		ssize_t n = got + 1 < msglen ? read(err[0], msg + got, msglen - 1 - got) : 0;
		char drain[256];
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			got += n;
			continue;
		}
		if (got + 1 >= msglen && read(err[0], drain, sizeof(drain)) > 0)
			continue;
		break;
	}
	msg[got] = 0;
	msg[strcspn(msg, "\n")] = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
out:
	if (ns >= 0)
		close(ns);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (child < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (!msg[0])
			snprintf(msg, msglen, "nft failed (status %d)", status);
		errno = EIO;
		return -1;
	}
	return 0;
}

static void format_end(const struct tcp_hold_conn *c, const uint8_t *addr, uint16_t port,
		       char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, addr, a, sizeof(a));
	snprintf(buf, len, "%s . %u", a, port);
}

/* The elements of c: out (local . peer) and in (peer . local). */
static void elements(const struct tcp_hold_conn *c, char *out, char *in, size_t len)
{
	char l[INET6_ADDRSTRLEN + 12], p[INET6_ADDRSTRLEN + 12];

	format_end(c, c->local, c->lport, l, sizeof(l));
	format_end(c, c->peer, c->pport, p, sizeof(p));
	snprintf(out, len, "%s . %s", l, p);
	snprintf(in, len, "%s . %s", p, l);
}

static void table_lines(struct script *s)
{
	static const char *const fam[2][2] = { { "4", "ip" }, { "6", "ip6" } };
	int k;

	add_line(s, "add table " TABLE);
	for (k = 0; k < 2; k++) {
		add_line(s, "add set " TABLE " out%s { typeof %s saddr . tcp sport . %s daddr . "
			 "tcp dport; flags timeout; }", fam[k][0], fam[k][1], fam[k][1]);
		add_line(s, "add set " TABLE " in%s { typeof %s saddr . tcp sport . %s daddr . "
			 "tcp dport; flags timeout; }", fam[k][0], fam[k][1], fam[k][1]);
	}
	add_line(s, "add chain " TABLE " out { type filter hook output priority -300; }");
	add_line(s, "add chain " TABLE " in { type filter hook input priority -300; }");
	/* The rules once, however many runs add them (one transaction). */
	add_line(s, "flush chain " TABLE " out");
	add_line(s, "flush chain " TABLE " in");
	for (k = 0; k < 2; k++) {
		const char *f = fam[k][1], *n = fam[k][0];
		add_line(s, "add rule " TABLE " out tcp flags & (fin | rst) != 0 %s saddr . tcp sport"
			 " . %s daddr . tcp dport @out%s drop", f, f, n);
		add_line(s, "add rule " TABLE " in %s saddr . tcp sport . %s daddr . tcp dport @in%s"
			 " socket transparent 0 accept", f, f, n);
		add_line(s, "add rule " TABLE " in %s saddr . tcp sport . %s daddr . tcp dport @in%s"
			 " socket transparent 1 accept", f, f, n);
		add_line(s, "add rule " TABLE " in %s saddr . tcp sport . %s daddr . tcp dport @in%s"
			 " drop", f, f, n);
	}
}

int tcp_hold_add(pid_t ns_pid, const struct tcp_hold_conn *c, size_t n, unsigned seconds)
{
	struct script s = { 0 };
	char out[128], in[128], msg[256];
	size_t i;
	int ret;

	if (!n || !seconds)
		return 0;
	table_lines(&s);
	for (i = 0; i < n; i++) {
		const char *v = c[i].family == AF_INET6 ? "6" : "4";
		elements(&c[i], out, in, sizeof(out));
		add_line(&s, "add element " TABLE " out%s { %s timeout %us }", v, out, seconds);
		add_line(&s, "add element " TABLE " in%s { %s timeout %us }", v, in, seconds);
	}
	if (s.failed) {
		free(s.text);
		return fail(ENOMEM, NULL, "holding TCP connections");
	}
	ret = run_nft(ns_pid, s.text, msg, sizeof(msg));
	free(s.text);
	if (ret)
		return fail_why(msg[0] ? msg : strerror(errno), "install nftables, or give "
				"--tcp-hold 0", "holding %zu TCP connection%s for %u s", n,
				n == 1 ? "" : "s", seconds);
	pr_info("%zu TCP connection%s held for %u s", n, n == 1 ? "" : "s", seconds);
	return 0;
}

void tcp_hold_release(const struct tcp_hold_conn *c, size_t n)
{
	struct script s = { 0 };
	char out[128], in[128], msg[256];
	size_t i;

	if (!n || !tcp_hold_available())
		return;
	/* Nothing to do unless a hold was taken here. */
	if (run_nft(0, "list table " TABLE "\n", msg, sizeof(msg)))
		return;
	/* Added, then deleted, in one transaction: gone whether or not it was
	 * there (a delete alone fails on an element that timed out). */
	for (i = 0; i < n; i++) {
		const char *v = c[i].family == AF_INET6 ? "6" : "4";
		elements(&c[i], out, in, sizeof(out));
		add_line(&s, "add element " TABLE " out%s { %s timeout 1s }", v, out);
		add_line(&s, "delete element " TABLE " out%s { %s }", v, out);
		add_line(&s, "add element " TABLE " in%s { %s timeout 1s }", v, in);
		add_line(&s, "delete element " TABLE " in%s { %s }", v, in);
	}
	if (!s.failed && run_nft(0, s.text, msg, sizeof(msg)))
		pr_warn("ending the hold of %zu TCP connection%s: %s (it ends by itself)", n,
			 n == 1 ? "" : "s", msg);
	free(s.text);
}
