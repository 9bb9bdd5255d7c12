/* inetsock: inet socket state that must survive checkpoint/restart, checked
 * by the process itself.  It sets the state up, prints "ready", waits for
 * SIGUSR1 (sent after restart), checks, and prints "PASS" or "CORRUPT
 * <what>" (exit 3).
 *   opts PORT      many options on TCP (v4 unbound, bound; v6 listening; one
 *                  sharing the bound one's port by SO_REUSEPORT, cleared
 *                  after its bind), UDP (one bound to 192.0.2.7 with
 *                  IP_FREEBIND, cleared after its bind, keeps the address),
 *                  UDP-Lite and unix sockets: every option's bytes as
 *                  getsockopt gave them after setting must be the same;
 *   shutdown PORT  a connected UDP pair, one end SHUT_WR, the other
 *                  SHUT_RD, and an accepted TCP connection SHUT_RD: sending
 *                  on the first fails with EPIPE, the others report RDHUP,
 *                  the UDP pair still carries a datagram the other way;
 *   tcpbuf PORT    a TCP connection with both ends in the process, small
 *                  buffers, both queues full in both directions; the
 *                  listener (without SO_REUSEADDR) has a higher fd than the
 *                  accepted connection (with it) on its port: after restart
 *                  every byte comes in order, SO_REUSEADDR is as it was on
 *                  both, and the listener accepts a new connection;
 *   closewait PORT an accepted TCP connection whose peer sent "bye" and
 *                  closed (CLOSE_WAIT): after restart, reads give "bye", then
 *                  end of file;
 *   finwait PORT   a TCP connection with both ends in the process, one end
 *                  shut down for writing after "a-data" (FIN_WAIT2), the
 *                  other (CLOSE_WAIT) with "b-data" sent back: after
 *                  restart each reads what is queued, the first cannot send
 *                  and gets to FIN_WAIT2 again, the second reads end of file
 *                  and can still send;
 *   ended PORT     connections that ended while the process holds them
 *                  (TCP_CLOSE): a pair with both ends in the process, each
 *                  shut down for writing, and a client reset by its peer
 *                  (SO_LINGER 0), its error read: after restart each is
 *                  still TCP_CLOSE with its addresses (getsockname,
 *                  SO_PEERNAME), reads end of file, cannot send, and no
 *                  error is pending;
 *   ping PORT      an ICMP echo socket bound to 127.0.0.1 with PORT as its
 *                  echo id, connected, IP_TTL 9: after restart, same id and
 *                  TTL, and an echo request sent gets its reply (prints
 *                  "skip" when net.ipv4.ping_group_range forbids them);
 *   raw PORT       raw IP sockets (CAP_NET_RAW), one of protocol 262 (above
 *                  255, as the kernel takes): ICMP bound to and connected
 *                  to 127.0.0.1 letting only echo replies through
 *                  (ICMP_FILTER), IP_TTL 7; UDP with IP_HDRINCL and
 *                  IP_FREEBIND; IPv6 UDP with IPV6_CHECKSUM and
 *                  IPV6_RECVPKTINFO; ICMPv6 with an ICMP6_FILTER of two
 *                  types: after restart the options are as they
 *                  were, the ICMP one is still bound and connected, and an
 *                  echo request it sends gets its reply (PORT: the echo id);
 *   udpqueue PORT  a UDP socket with a datagram waiting (ckpt refuses it);
 *   udpcork PORT   a UDP socket with corked data not sent (refused);
 *   filter PORT    a UDP socket bound to PORT with a classic BPF filter that
 *                  keeps only datagrams starting with 'k', locked
 *                  (SO_LOCK_FILTER): after restart the same filter, locked,
 *                  and of "drop" then "keep" sent to it, only "keep" comes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif
#include <netinet/ip_icmp.h>
#ifndef ICMP_FILTER
#define ICMP_FILTER 1		/* <linux/icmp.h>: a u32, a set bit drops that type */
#endif
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/filter.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define UDPLITE_SEND_CSCOV 10

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void die(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

static void corrupt(const char *fmt, const char *what)
{
	printf("CORRUPT ");
	printf(fmt, what);
	printf("\n");
	exit(3);
}

static int sock(int domain, int type, int proto)
{
	int s = socket(domain, type, proto);
	if (s < 0)
		die("socket");
	return s;
}

static struct sockaddr_in in4(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* ---- opts ---- */
static int shared, freebound;
struct watched {
	int fd, level, opt;
	const char *name;
	unsigned char val[64];
	socklen_t len;
};
static struct watched w[64];
static int nw;

static void set_opt(int fd, int level, int opt, const char *name, const void *v, socklen_t len)
{
	if (setsockopt(fd, level, opt, v, len))
		die(name);
	w[nw].fd = fd;
	w[nw].level = level;
	w[nw].opt = opt;
	w[nw].name = name;
	nw++;
}

/* What the kernel made of them once all are set (IP_TOS also sets
 * SO_PRIORITY, for one). */
static void snapshot(void)
{
	int i;

	for (i = 0; i < nw; i++) {
		w[i].len = sizeof(w[i].val);
		if (getsockopt(w[i].fd, w[i].level, w[i].opt, w[i].val, &w[i].len))
			die(w[i].name);
	}
}
#define SETI(fd, lvl, opt, v) do { int x_ = (v); set_opt(fd, lvl, opt, #opt, &x_, sizeof(x_)); } while (0)

static void setup_opts(int port)
{
	int tcp = sock(AF_INET, SOCK_STREAM, 0), bound = sock(AF_INET, SOCK_STREAM, 0);
	int l6 = sock(AF_INET6, SOCK_STREAM, 0), udp = sock(AF_INET, SOCK_DGRAM, 0);
	int lite = sock(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE), ux = sock(AF_UNIX, SOCK_STREAM, 0);
	struct linger lg = { 1, 9 };
	struct timeval rt = { 2, 500000 }, st = { 1, 250000 };
	struct sockaddr_in a = in4("127.0.0.1", port), u = in4("127.0.0.1", port + 2);
	struct sockaddr_in nonlocal = in4("192.0.2.7", port);	/* (TEST-NET-1) */
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port + 1),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	shared = sock(AF_INET, SOCK_STREAM, 0);
	freebound = sock(AF_INET, SOCK_DGRAM, 0);

	SETI(tcp, SOL_SOCKET, SO_PRIORITY, 5);
	SETI(tcp, SOL_SOCKET, SO_RCVLOWAT, 7);
	SETI(tcp, SOL_SOCKET, SO_MARK, 3);
	SETI(tcp, SOL_SOCKET, SO_KEEPALIVE, 1);
	SETI(tcp, SOL_SOCKET, SO_OOBINLINE, 1);
	SETI(tcp, SOL_SOCKET, SO_RCVBUF, 50000);
	SETI(tcp, SOL_SOCKET, SO_SNDBUF, 60000);
	SETI(tcp, SOL_SOCKET, SO_BUF_LOCK, 2);	/* (the receive buffer sized by the kernel again) */
	set_opt(tcp, SOL_SOCKET, SO_LINGER, "SO_LINGER", &lg, sizeof(lg));
	set_opt(tcp, SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO", &rt, sizeof(rt));
	set_opt(tcp, SOL_SOCKET, SO_SNDTIMEO, "SO_SNDTIMEO", &st, sizeof(st));
	SETI(tcp, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	SETI(tcp, IPPROTO_TCP, TCP_KEEPINTVL, 11);
	SETI(tcp, IPPROTO_TCP, TCP_KEEPCNT, 4);
	SETI(tcp, IPPROTO_TCP, TCP_NODELAY, 1);
	SETI(tcp, IPPROTO_TCP, TCP_CORK, 1);
	SETI(tcp, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345);
	set_opt(tcp, IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION", "reno", 4);
	SETI(tcp, IPPROTO_IP, IP_TOS, 0x10);
	SETI(tcp, IPPROTO_IP, IP_TTL, 33);
	SETI(tcp, IPPROTO_IP, IP_FREEBIND, 1);

	SETI(bound, SOL_SOCKET, SO_REUSEADDR, 1);
	SETI(bound, SOL_SOCKET, SO_REUSEPORT, 1);
	SETI(bound, SOL_SOCKET, SO_BUF_LOCK, 1);	/* (locked at its default size) */
	SETI(bound, IPPROTO_TCP, TCP_QUICKACK, 0);
	if (bind(bound, (struct sockaddr *)&a, sizeof(a)))
		die("bind tcp");
	/* Its port shared with bound by SO_REUSEPORT, which it cleared after
	 * its bind; another bound to an address not on the host with
	 * IP_FREEBIND, which it cleared after. */
	SETI(shared, SOL_SOCKET, SO_REUSEPORT, 1);
	if (bind(shared, (struct sockaddr *)&a, sizeof(a)))
		die("bind tcp with SO_REUSEPORT");
	SETI(shared, SOL_SOCKET, SO_REUSEPORT, 0);
	SETI(freebound, IPPROTO_IP, IP_FREEBIND, 1);
	if (bind(freebound, (struct sockaddr *)&nonlocal, sizeof(nonlocal)))
		die("bind udp with IP_FREEBIND");
	SETI(freebound, IPPROTO_IP, IP_FREEBIND, 0);

	SETI(l6, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	SETI(l6, IPPROTO_IPV6, IPV6_TCLASS, 0x20);
	SETI(l6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 17);
	SETI(l6, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
	if (bind(l6, (struct sockaddr *)&a6, sizeof(a6)) || listen(l6, 7))
		die("listen v6");

	SETI(udp, SOL_SOCKET, SO_BROADCAST, 1);
	SETI(udp, SOL_SOCKET, SO_TIMESTAMPNS, 1);
	set_opt(udp, SOL_SOCKET, SO_BINDTODEVICE, "SO_BINDTODEVICE", "lo", 3);
	SETI(udp, IPPROTO_IP, IP_PKTINFO, 1);
	SETI(udp, IPPROTO_IP, IP_MULTICAST_TTL, 9);
	SETI(udp, IPPROTO_IP, IP_RECVERR, 1);
	if (bind(udp, (struct sockaddr *)&u, sizeof(u)))
		die("bind udp");

	SETI(lite, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 20);
	if (connect(lite, (struct sockaddr *)&u, sizeof(u)))
		die("connect udplite");

	SETI(ux, SOL_SOCKET, SO_PASSCRED, 1);
	SETI(ux, SOL_SOCKET, SO_SNDBUF, 70000);
	snapshot();
}

static void check_opts(void)
{
	int i;

	if (freebound) {
		struct sockaddr_in b;
		socklen_t len = sizeof(b);

		if (getsockname(freebound, (struct sockaddr *)&b, &len) ||
		    b.sin_addr.s_addr != inet_addr("192.0.2.7"))
			corrupt("%s", "the socket bound with IP_FREEBIND lost its address");
	}

	for (i = 0; i < nw; i++) {
		unsigned char now[64];
		socklen_t len = sizeof(now);
		if (getsockopt(w[i].fd, w[i].level, w[i].opt, now, &len))
			corrupt("%s cannot be read", w[i].name);
		if (len != w[i].len || memcmp(now, w[i].val, len)) {
			printf("# fd %d %s: %d -> %d\n", w[i].fd, w[i].name, *(int *)w[i].val, *(int *)now);
			corrupt("%s changed", w[i].name);
		}
	}
}

/* ---- shutdown ---- */
static int u1, u2, tacc, tcli;

static void setup_shutdown(int port)
{
	struct sockaddr_in a1 = in4("127.0.0.1", port), a2 = in4("127.0.0.1", port + 1);
	struct sockaddr_in la = in4("127.0.0.1", port + 2);
	int l = sock(AF_INET, SOCK_STREAM, 0), one = 1;

	u1 = sock(AF_INET, SOCK_DGRAM, 0);
	u2 = sock(AF_INET, SOCK_DGRAM, 0);
	if (bind(u1, (struct sockaddr *)&a1, sizeof(a1)) || bind(u2, (struct sockaddr *)&a2, sizeof(a2)) ||
	    connect(u1, (struct sockaddr *)&a2, sizeof(a2)) || connect(u2, (struct sockaddr *)&a1, sizeof(a1)))
		die("udp pair");
	if (shutdown(u1, SHUT_WR) || shutdown(u2, SHUT_RD))
		die("shutdown udp");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	tcli = sock(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&la, sizeof(la)) || listen(l, 1) ||
	    connect(tcli, (struct sockaddr *)&la, sizeof(la)))
		die("tcp");
	tacc = accept(l, NULL, NULL);
	if (tacc < 0 || shutdown(tacc, SHUT_RD))
		die("accept/shutdown tcp");
	close(l);
}

static bool rdhup(int fd)
{
	struct pollfd p = { fd, POLLRDHUP, 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP);
}

static void check_shutdown(void)
{
	char buf[16];

	if (send(u1, "x", 1, MSG_DONTWAIT) >= 0 || errno != EPIPE)
		corrupt("%s", "sent on a SHUT_WR UDP socket");
	if (!rdhup(u2))
		corrupt("%s", "the SHUT_RD UDP socket does not report RDHUP");
	if (rdhup(u1))
		corrupt("%s", "the SHUT_WR UDP socket reports RDHUP");
	if (send(u2, "hello", 5, 0) != 5 || recv(u1, buf, sizeof(buf), 0) != 5)
		corrupt("%s", "the UDP pair does not carry a datagram any more");
	if (!rdhup(tacc))
		corrupt("%s", "the SHUT_RD TCP socket does not report RDHUP");
	if (send(tacc, "abc", 3, 0) != 3 || recv(tcli, buf, sizeof(buf), 0) != 3)
		corrupt("%s", "the SHUT_RD TCP connection does not carry data the other way");
}

/* ---- tcpbuf ---- */
static int cli, acc, lst;
static long sent[2];	/* 0: cli -> acc, 1: acc -> cli */

static unsigned char pattern(long i, int dir)
{
	return (unsigned char)(i * 7 + dir * 13 + (i >> 9));
}

static long fill(int from, int dir)
{
	unsigned char buf[4096];
	long total = 0;

	for (;;) {
		ssize_t n;
		int i;
		for (i = 0; i < (int)sizeof(buf); i++)
			buf[i] = pattern(sent[dir] + i, dir);
		n = send(from, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN)
				return total;
			die("send");
		}
		sent[dir] += n;
		total += n;
	}
}

static void setup_tcpbuf(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	int one = 1, small = 20000, l;

	l = sock(AF_INET, SOCK_STREAM, 0);	/* no SO_REUSEADDR */
	cli = sock(AF_INET, SOCK_STREAM, 0);
	setsockopt(cli, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(cli, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    connect(cli, (struct sockaddr *)&a, sizeof(a)))
		die("tcp connect");
	acc = accept(l, NULL, NULL);
	if (acc < 0 || setsockopt(acc, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("accept");
	small = 30000;
	setsockopt(acc, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(acc, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	/* The listener above the connection on its port, as after an accept
	 * loop that reopened it. */
	lst = dup2(l, 40);
	close(l);
	fill(cli, 0);
	fill(acc, 1);
	usleep(200000);
	fill(cli, 0);
	fill(acc, 1);
	printf("# queued %ld and %ld bytes\n", sent[0], sent[1]);
}

static void drain(int to, int dir)
{
	unsigned char buf[4096];
	long got = 0;

	while (got < sent[dir]) {
		struct pollfd p = { to, POLLIN, 0 };
		ssize_t n;
		int i;
		if (poll(&p, 1, 5000) != 1)
			corrupt("%s", dir ? "bytes from the accepted end missing" :
				"bytes from the client end missing");
		n = recv(to, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			corrupt("%s", n ? strerror(errno) : "connection closed");
		for (i = 0; i < n; i++)
			if (buf[i] != pattern(got + i, dir))
				corrupt("%s", "a byte of the stream changed");
		got += n;
	}
	if (recv(to, buf, 1, MSG_DONTWAIT) >= 0)
		corrupt("%s", "more bytes than were sent");
}

static void check_tcpbuf(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	int v = 0, c2, a2;
	socklen_t len = sizeof(v);

	drain(acc, 0);
	drain(cli, 1);
	if (getsockopt(acc, SOL_SOCKET, SO_REUSEADDR, &v, &len) || v != 1)
		corrupt("%s", "SO_REUSEADDR of the accepted connection lost");
	if (getsockopt(lst, SOL_SOCKET, SO_REUSEADDR, &v, &len) || v != 0)
		corrupt("%s", "SO_REUSEADDR of the listener set");
	c2 = sock(AF_INET, SOCK_STREAM, 0);
	if (connect(c2, (struct sockaddr *)&a, sizeof(a)) || (a2 = accept(lst, NULL, NULL)) < 0)
		corrupt("%s", "the listener does not accept");
	if (send(c2, "ping", 4, 0) != 4 || recv(a2, &v, 4, 0) != 4)
		corrupt("%s", "the new connection does not carry data");
}

/* ---- closewait ---- */
static int cw;

static void setup_closewait(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	int l = sock(AF_INET, SOCK_STREAM, 0), c = sock(AF_INET, SOCK_STREAM, 0);

	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) || (cw = accept(l, NULL, NULL)) < 0)
		die("tcp");
	if (send(c, "bye", 3, 0) != 3)
		die("send");
	close(c);
	close(l);
	usleep(100000);
}

static void check_closewait(void)
{
	char buf[16];
	int lock = -1;
	socklen_t len = sizeof(lock);
	ssize_t n;

	/* Its buffers were never set: the kernel still sizes them (no
	 * SO_SNDBUF/SO_RCVBUF lock, as a restored buffer size would set). */
	if (getsockopt(cw, SOL_SOCKET, SO_BUF_LOCK, &lock, &len) || lock != 0)
		corrupt("%s", "the kernel does not size the buffers of the connection any more (SO_BUF_LOCK)");
	n = recv(cw, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != 3 || memcmp(buf, "bye", 3))
		corrupt("%s", "the bytes queued before the peer closed are lost");
	if (!rdhup(cw))
		corrupt("%s", "no RDHUP after the peer closed");
	if ((n = recv(cw, buf, sizeof(buf), MSG_DONTWAIT)) != 0)
		corrupt("%s", "no end of file after the peer closed");
}

/* ---- finwait ---- */
static int fa, fb;

static void setup_finwait(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	int l = sock(AF_INET, SOCK_STREAM, 0);

	fa = sock(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    connect(fa, (struct sockaddr *)&a, sizeof(a)) || (fb = accept(l, NULL, NULL)) < 0)
		die("tcp");
	close(l);
	if (send(fa, "a-data", 6, 0) != 6 || shutdown(fa, SHUT_WR) || send(fb, "b-data", 6, 0) != 6)
		die("send/shutdown");
	usleep(100000);
}

static int tcp_state(int s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len) ? -1 : ti.tcpi_state;
}

static void check_finwait(void)
{
	char buf[16];
	int i;

	if (recv(fa, buf, sizeof(buf), MSG_DONTWAIT) != 6 || memcmp(buf, "b-data", 6))
		corrupt("%s", "the bytes sent to the shut down end are lost");
	if (send(fa, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 || errno != EPIPE)
		corrupt("%s", "the end shut down for writing can send");
	if (recv(fb, buf, sizeof(buf), MSG_DONTWAIT) != 6 || memcmp(buf, "a-data", 6))
		corrupt("%s", "the bytes sent before the FIN are lost");
	if (recv(fb, buf, sizeof(buf), MSG_DONTWAIT) != 0)
		corrupt("%s", "no end of file after the FIN");
	if (send(fb, "more", 4, 0) != 4)
		corrupt("%s", "the half-closed connection cannot carry data back");
	for (i = 0; i < 100; i++) {
		struct pollfd p = { fa, POLLIN, 0 };
		if (poll(&p, 1, 50) == 1)
			break;
	}
	if (recv(fa, buf, sizeof(buf), MSG_DONTWAIT) != 4 || memcmp(buf, "more", 4))
		corrupt("%s", "the bytes sent back after restart did not arrive");
	for (i = 0; i < 100 && tcp_state(fa) != TCP_FIN_WAIT2; i++)
		usleep(50000);
	if (tcp_state(fa) != TCP_FIN_WAIT2)
		corrupt("%s", "the shut down end does not get back to FIN_WAIT2");
}

/* ---- ended ---- */
static int ended[3];
static struct sockaddr_in ended_local[3], ended_peer[3];

static void setup_ended(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	struct linger lg = { 1, 0 };
	int l = sock(AF_INET, SOCK_STREAM, 0), on = 1, rst, i;
	char c;

	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 2))
		die("listen");
	ended[0] = sock(AF_INET, SOCK_STREAM, 0);
	ended[2] = sock(AF_INET, SOCK_STREAM, 0);
	if (connect(ended[0], (struct sockaddr *)&a, sizeof(a)) ||
	    (ended[1] = accept(l, NULL, NULL)) < 0 ||
	    connect(ended[2], (struct sockaddr *)&a, sizeof(a)) || (rst = accept(l, NULL, NULL)) < 0)
		die("tcp");
	close(l);
	if (shutdown(ended[0], SHUT_WR) || shutdown(ended[1], SHUT_WR) ||
	    setsockopt(rst, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) || close(rst))
		die("shutdown/reset");
	usleep(100000);
	if (recv(ended[2], &c, 1, 0) >= 0 || errno != ECONNRESET)
		die("the reset did not come");
	for (i = 0; i < 3; i++) {
		socklen_t len = sizeof(ended_local[i]);
		if (getsockname(ended[i], (struct sockaddr *)&ended_local[i], &len) ||
		    getsockopt(ended[i], SOL_SOCKET, SO_PEERNAME, &ended_peer[i], &len) ||
		    tcp_state(ended[i]) != TCP_CLOSE)
			die("not ended");
	}
}

static void check_ended(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		struct sockaddr_in l, p;
		socklen_t len = sizeof(l);
		int err = -1;
		char c;

		if (tcp_state(ended[i]) != TCP_CLOSE)
			corrupt("%s", "an ended connection is not TCP_CLOSE");
		if (getsockname(ended[i], (struct sockaddr *)&l, &len) ||
		    memcmp(&l, &ended_local[i], sizeof(l)))
			corrupt("%s", "an ended connection's local address changed");
		len = sizeof(p);
		if (getsockopt(ended[i], SOL_SOCKET, SO_PEERNAME, &p, &len) ||
		    memcmp(&p, &ended_peer[i], sizeof(p)))
			corrupt("%s", "an ended connection's peer address is lost");
		len = sizeof(err);
		if (getsockopt(ended[i], SOL_SOCKET, SO_ERROR, &err, &len) || err)
			corrupt("%s", "an ended connection has an error pending");
		if (recv(ended[i], &c, 1, MSG_DONTWAIT) != 0)
			corrupt("no end of file on an ended connection: %s", strerror(errno));
		if (send(ended[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 || errno != EPIPE)
			corrupt("%s", "an ended connection can send");
	}
}

/* ---- ping ---- */
static int pg;

static bool setup_ping(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port), d = in4("127.0.0.1", 0);
	int ttl = 9;

	pg = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (pg < 0 && errno == EACCES)
		return false;
	if (pg < 0 || bind(pg, (struct sockaddr *)&a, sizeof(a)) ||
	    connect(pg, (struct sockaddr *)&d, sizeof(d)) ||
	    setsockopt(pg, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)))
		die("ping socket");
	return true;
}

static void check_ping(int port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct icmphdr h = { .type = ICMP_ECHO, .un.echo.sequence = htons(7) };
	unsigned char buf[64];
	struct pollfd p = { pg, POLLIN, 0 };
	int ttl = 0;

	if (getsockname(pg, (struct sockaddr *)&a, &len) || ntohs(a.sin_port) != port)
		corrupt("%s", "the echo id changed");
	len = sizeof(ttl);
	if (getsockopt(pg, IPPROTO_IP, IP_TTL, &ttl, &len) || ttl != 9)
		corrupt("%s", "IP_TTL changed");
	if (send(pg, &h, sizeof(h), 0) != sizeof(h))
		corrupt("cannot send an echo request: %s", strerror(errno));
	if (poll(&p, 1, 5000) != 1 || recv(pg, buf, sizeof(buf), 0) < (ssize_t)sizeof(h) ||
	    buf[0] != ICMP_ECHOREPLY || ntohs(((struct icmphdr *)buf)->un.echo.sequence) != 7)
		corrupt("%s", "no echo reply");
}

/* ---- filter ---- */
static int flt, plain;
/* Accept a datagram whose first byte is 'k' (whole), drop others (the
 * filter of a UDP socket sees the UDP header first). */
static struct sock_filter keep_k[] = {
	{ 0x30, 0, 0, 0x00000008 },	/* ldb [8]: after the UDP header */
	{ 0x15, 0, 1, 'k' },		/* jeq #'k', accept, drop */
	{ 0x06, 0, 0, 0xffffffff },	/* ret #-1 */
	{ 0x06, 0, 0, 0x00000000 },	/* ret #0 */
};

static void setup_filter(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	struct sock_fprog prog = { sizeof(keep_k) / sizeof(keep_k[0]), keep_k };
	int one = 1;

	flt = sock(AF_INET, SOCK_DGRAM, 0);
	plain = sock(AF_INET, SOCK_DGRAM, 0);
	if (bind(flt, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(flt, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    setsockopt(flt, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)))
		die("filter");
}

static void check_filter(int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	struct sock_filter now[16];
	socklen_t n = 16;
	int lock = 0;
	socklen_t len = sizeof(lock);
	char buf[8];
	struct pollfd p = { flt, POLLIN, 0 };

	if (getsockopt(flt, SOL_SOCKET, SO_GET_FILTER, now, &n) ||
	    n != sizeof(keep_k) / sizeof(keep_k[0]) || memcmp(now, keep_k, sizeof(keep_k)))
		corrupt("%s", "the socket filter is not the one attached");
	if (getsockopt(flt, SOL_SOCKET, SO_LOCK_FILTER, &lock, &len) || lock != 1)
		corrupt("%s", "the socket filter is not locked any more");
	if (sendto(plain, "drop", 4, 0, (struct sockaddr *)&a, sizeof(a)) != 4 ||
	    sendto(plain, "keep", 4, 0, (struct sockaddr *)&a, sizeof(a)) != 4)
		corrupt("%s", "cannot send to the filtered socket");
	if (poll(&p, 1, 5000) != 1 || recv(flt, buf, sizeof(buf), 0) != 4 || memcmp(buf, "keep", 4))
		corrupt("%s", "the filter let the wrong datagram through, or none");
	if (poll(&p, 1, 200) != 0)
		corrupt("%s", "the filter let a datagram through it should drop");
}

/* ---- raw ---- */
static int raw4, raw_big;

static void setup_raw(void)
{
	struct sockaddr_in lo = in4("127.0.0.1", 0);
	int hdr = sock(AF_INET, SOCK_RAW, IPPROTO_UDP), r6 = sock(AF_INET6, SOCK_RAW, IPPROTO_UDP);
	int icmp6 = sock(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	uint32_t only_replies = ~(1u << ICMP_ECHOREPLY);	/* (a set bit drops the type) */
	struct icmp6_filter f6;

	raw4 = sock(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	raw_big = sock(AF_INET, SOCK_RAW, IPPROTO_MPTCP);	/* (a protocol above 255) */
	if (bind(raw4, (struct sockaddr *)&lo, sizeof(lo)) ||
	    connect(raw4, (struct sockaddr *)&lo, sizeof(lo)))
		die("raw ICMP socket");
	set_opt(raw4, SOL_RAW, ICMP_FILTER, "ICMP_FILTER", &only_replies, sizeof(only_replies));
	SETI(raw4, IPPROTO_IP, IP_TTL, 7);
	SETI(hdr, IPPROTO_IP, IP_HDRINCL, 1);
	SETI(hdr, IPPROTO_IP, IP_FREEBIND, 1);
	SETI(r6, IPPROTO_IPV6, IPV6_CHECKSUM, 6);
	SETI(r6, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	ICMP6_FILTER_SETBLOCKALL(&f6);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
	ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &f6);
	set_opt(icmp6, IPPROTO_ICMPV6, ICMP6_FILTER, "ICMP6_FILTER", &f6, sizeof(f6));
	snapshot();
}

static uint16_t icmp_sum(const void *p, size_t n)
{
	const uint16_t *w16 = p;
	uint32_t s = 0;

	for (; n > 1; n -= 2)
		s += *w16++;
	if (n)
		s += *(const uint8_t *)w16;
	s = (s >> 16) + (s & 0xffff);
	return (uint16_t)~(s + (s >> 16));
}

static void check_raw(int port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct icmphdr h = { .type = ICMP_ECHO, .un.echo.id = htons(port),
			     .un.echo.sequence = htons(9) };
	unsigned char buf[256];
	struct pollfd p = { raw4, POLLIN, 0 };
	ssize_t n;
	int ihl;

	check_opts();
	len = sizeof(ihl);
	if (getsockopt(raw_big, SOL_SOCKET, SO_PROTOCOL, &ihl, &len) || ihl != IPPROTO_MPTCP)
		corrupt("%s", "the raw socket of protocol 262 is not that any more");
	len = sizeof(a);
	if (getsockname(raw4, (struct sockaddr *)&a, &len) || a.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		corrupt("%s", "the raw socket is not bound to 127.0.0.1 any more");
	h.checksum = icmp_sum(&h, sizeof(h));
	/* (No address: it must still be connected; getpeername knows no raw
	 * peer, it has no port.) */
	if (send(raw4, &h, sizeof(h), 0) != sizeof(h))
		corrupt("cannot send an echo request (not connected any more?): %s", strerror(errno));
	for (;;) {
		if (poll(&p, 1, 5000) != 1 || (n = recv(raw4, buf, sizeof(buf), 0)) < 20)
			corrupt("%s", "no echo reply");
		ihl = (buf[0] & 15) * 4;	/* (a raw socket reads the IP header too) */
		if (n >= ihl + (ssize_t)sizeof(h) && buf[ihl] != ICMP_ECHOREPLY)
			corrupt("%s", "ICMP_FILTER let a packet other than an echo reply through");
		if (n >= ihl + (ssize_t)sizeof(h) &&
		    ((struct icmphdr *)(buf + ihl))->un.echo.id == htons(port) &&
		    ntohs(((struct icmphdr *)(buf + ihl))->un.echo.sequence) == 9)
			break;	/* (another's reply: on to ours) */
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[1] : "";
	int port = argc > 2 ? atoi(argv[2]) : 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	if (!strcmp(mode, "opts"))
		setup_opts(port);
	else if (!strcmp(mode, "shutdown"))
		setup_shutdown(port);
	else if (!strcmp(mode, "tcpbuf"))
		setup_tcpbuf(port);
	else if (!strcmp(mode, "closewait"))
		setup_closewait(port);
	else if (!strcmp(mode, "finwait"))
		setup_finwait(port);
	else if (!strcmp(mode, "ended"))
		setup_ended(port);
	else if (!strcmp(mode, "ping")) {
		if (!setup_ping(port)) {
			printf("skip\n");
			return 0;
		}
	}
	else if (!strcmp(mode, "raw"))
		setup_raw();
	else if (!strcmp(mode, "udpqueue")) {
		struct sockaddr_in a = in4("127.0.0.1", port);
		int r = sock(AF_INET, SOCK_DGRAM, 0), t = sock(AF_INET, SOCK_DGRAM, 0);
		if (bind(r, (struct sockaddr *)&a, sizeof(a)) ||
		    sendto(t, "queued", 6, 0, (struct sockaddr *)&a, sizeof(a)) != 6)
			die("udp");
	} else if (!strcmp(mode, "udpcork")) {
		struct sockaddr_in a = in4("127.0.0.1", port);
		int t = sock(AF_INET, SOCK_DGRAM, 0), one = 1;
		if (setsockopt(t, IPPROTO_UDP, UDP_CORK, &one, sizeof(one)) ||
		    sendto(t, "corked", 6, 0, (struct sockaddr *)&a, sizeof(a)) != 6)
			die("udp cork");
	} else if (!strcmp(mode, "filter")) {
		setup_filter(port);
	} else {
		fprintf(stderr, "usage: inetsock opts|shutdown|tcpbuf|closewait|finwait|ended|ping|raw|udpqueue|udpcork|filter PORT\n");
		return 2;
	}
	printf("ready\n");
	while (!go)
		usleep(20000);
	if (!strcmp(mode, "opts"))
		check_opts();
	else if (!strcmp(mode, "shutdown"))
		check_shutdown();
	else if (!strcmp(mode, "tcpbuf"))
		check_tcpbuf(port);
	else if (!strcmp(mode, "closewait"))
		check_closewait();
	else if (!strcmp(mode, "finwait"))
		check_finwait();
	else if (!strcmp(mode, "ended"))
		check_ended();
	else if (!strcmp(mode, "ping"))
		check_ping(port);
	else if (!strcmp(mode, "raw"))
		check_raw(port);
	else if (!strcmp(mode, "filter"))
		check_filter(port);
	printf("PASS\n");
	return 0;
}
