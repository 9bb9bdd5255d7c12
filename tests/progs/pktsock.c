/* pktsock: packet socket state that must survive checkpoint/restart,
 * checked by the process itself.  It sets the state up, prints "ready",
 * waits for SIGUSR1 (sent after restart), checks, and prints "PASS" or
 * "CORRUPT <what>" (exit 3).
 *   state PORT  a SOCK_DGRAM packet socket of ETH_P_IP bound to lo, with
 *               PACKET_AUXDATA, PACKET_ORIGDEV, PACKET_RESERVE 8, and the
 *               all-multicast membership of lo added twice; a SOCK_RAW one
 *               of ETH_P_ALL bound to lo in fanout group 77 (hash); an
 *               unbound SOCK_RAW one with PACKET_VERSION 2.  After restart:
 *               the same bindings and options (the membership: lo's
 *               allmulti count, which t-packet reads), and a UDP datagram sent
 *               to 127.0.0.1:PORT comes to the first as an IP packet.
 *   ring PORT   a packet socket with a receive ring (ckpt refuses it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

static _Noreturn void die(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(2);
}

static _Noreturn void corrupt(const char *what)
{
	printf("CORRUPT %s\n", what);
	exit(3);
}

static int pkt(int type, int proto)
{
	int s = socket(AF_PACKET, type, proto);
	if (s < 0)
		die("socket");
	return s;
}

static int getint(int s, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (getsockopt(s, SOL_PACKET, opt, &v, &len))
		return -1;
	return v;
}

static void setint(int s, int opt, int v, const char *what)
{
	if (setsockopt(s, SOL_PACKET, opt, &v, sizeof(v)))
		die(what);
}

static int ip_sk, all_sk, raw_sk;
static unsigned lo;
#define FANOUT (77 | (PACKET_FANOUT_HASH << 16))

static void bind_lo(int s, int proto)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(proto),
				 .sll_ifindex = (int)lo };
	if (bind(s, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
}

static struct packet_mreq allmulti(void)
{
	struct packet_mreq m = { .mr_ifindex = (int)lo, .mr_type = PACKET_MR_ALLMULTI };
	return m;
}

static void setup_state(void)
{
	struct packet_mreq m = allmulti();

	lo = if_nametoindex("lo");
	if (!lo)
		die("lo");
	m.mr_ifindex = (int)lo;
	ip_sk = pkt(SOCK_DGRAM, htons(ETH_P_IP));
	bind_lo(ip_sk, ETH_P_IP);
	setint(ip_sk, PACKET_AUXDATA, 1, "PACKET_AUXDATA");
	setint(ip_sk, PACKET_ORIGDEV, 1, "PACKET_ORIGDEV");
	setint(ip_sk, PACKET_RESERVE, 8, "PACKET_RESERVE");
	if (setsockopt(ip_sk, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &m, sizeof(m)) ||
	    setsockopt(ip_sk, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &m, sizeof(m)))
		die("PACKET_ADD_MEMBERSHIP");
	all_sk = pkt(SOCK_RAW, htons(ETH_P_ALL));
	bind_lo(all_sk, ETH_P_ALL);
	setint(all_sk, PACKET_FANOUT, FANOUT, "PACKET_FANOUT");
	raw_sk = pkt(SOCK_RAW, 0);
	setint(raw_sk, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
}

static void check_bound(int s, int proto, unsigned ifindex, const char *what)
{
	struct sockaddr_ll a = { 0 };
	socklen_t len = sizeof(a);

	if (getsockname(s, (struct sockaddr *)&a, &len) || a.sll_protocol != htons(proto) ||
	    (unsigned)a.sll_ifindex != ifindex)
		corrupt(what);
}

static void check_state(int port)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned char buf[2048];
	struct pollfd p = { ip_sk, POLLIN, 0 };

	check_bound(ip_sk, ETH_P_IP, lo, "the IP packet socket is not bound to lo any more");
	check_bound(all_sk, ETH_P_ALL, lo, "the ETH_P_ALL packet socket is not bound to lo any more");
	check_bound(raw_sk, 0, 0, "the unbound packet socket is bound");
	if (getint(ip_sk, PACKET_AUXDATA) != 1 || getint(ip_sk, PACKET_ORIGDEV) != 1 ||
	    getint(ip_sk, PACKET_RESERVE) != 8)
		corrupt("an option of the IP packet socket changed");
	if (getint(all_sk, PACKET_FANOUT) != FANOUT)
		corrupt("the fanout group changed");
	if (getint(raw_sk, PACKET_VERSION) != TPACKET_V2)
		corrupt("PACKET_VERSION changed");
	if (u < 0 || sendto(u, "frame", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		corrupt("cannot send a datagram");
	for (;;) {
		const struct iphdr *ip = (const struct iphdr *)buf;
		ssize_t n;

		if (poll(&p, 1, 5000) != 1 || (n = recv(ip_sk, buf, sizeof(buf), 0)) < 0)
			corrupt("the IP packet socket receives nothing");
		if (n >= (ssize_t)sizeof(*ip) + 13 && ip->protocol == IPPROTO_UDP &&
		    !memcmp(buf + ip->ihl * 4 + 8, "frame", 5))
			break;	/* (others' traffic on lo comes too) */
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[1] : "";
	int port = argc > 2 ? atoi(argv[2]) : 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	if (!strcmp(mode, "state"))
		setup_state();
	else if (!strcmp(mode, "ring")) {
		struct tpacket_req r = { 4096, 1, 2048, 2 };
		int s = pkt(SOCK_RAW, htons(ETH_P_ALL));
		if (setsockopt(s, SOL_PACKET, PACKET_RX_RING, &r, sizeof(r)))
			die("PACKET_RX_RING");
	} else {
		fprintf(stderr, "usage: pktsock state|ring PORT\n");
		return 2;
	}
	printf("ready\n");
	while (!go)
		usleep(20000);
	if (!strcmp(mode, "state"))
		check_state(port);
	printf("PASS\n");
	return 0;
}
