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
 *   ring PORT   rings not mapped: a TPACKET_V2 socket bound to lo with
 *               PACKET_RESERVE 32, a receive ring (2 blocks of 8 KiB, 8
 *               frames of 2 KiB) and a transmit ring (1 block of 4 KiB, 2
 *               frames); a TPACKET_V3 one with a receive ring (2 blocks of
 *               8 KiB, 16 bytes of private area, 100 ms block timeout).  Each
 *               was mapped, looked at and unmapped before "ready".  After
 *               restart: the versions, the rings there (PACKET_VERSION is
 *               refused, EBUSY), of the same total size (mmap of any other
 *               size fails), the V3 block's first packet at the same offset
 *               (the private area), and a UDP datagram sent to
 *               127.0.0.1:PORT lands in the V2 receive ring.
 *   mapped PORT a TPACKET_V2 socket bound to lo whose receive ring (1 block
 *               of 8 KiB, 4 frames) and transmit ring (1 block of 4 KiB) are
 *               mapped (and mapped again, private and read-only), the
 *               receive ring's first frame taken: after restart
 *               the mapping is there, of the socket, and a UDP datagram sent
 *               to 127.0.0.1:PORT lands in it.
 *   partial PORT the same, the transmit ring unmapped again (ckpt refuses
 *               it: mmap makes the rings whole).
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static int v2_sk, v3_sk;
static uint32_t v3_first_offset;
#define V2_MAP (2 * 8192 + 4096)
#define V3_MAP (2 * 8192)

static void set_ring(int s, int opt, unsigned bsize, unsigned bnr, unsigned fsize, unsigned tov,
		     unsigned priv)
{
	struct tpacket_req3 r = { bsize, bnr, fsize, bsize / fsize * bnr, tov, priv, 0 };
	if (setsockopt(s, SOL_PACKET, opt, &r, sizeof(r)))
		die("setting a ring");
}

/* The rings of s are len bytes in all: mapped, or NULL if corrupt. */
static void *map_rings(int s, size_t len)
{
	void *m;

	if (mmap(NULL, len - 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0) != MAP_FAILED ||
	    mmap(NULL, len + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0) != MAP_FAILED)
		return NULL;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	return m == MAP_FAILED ? NULL : m;
}

static void setup_rings(void)
{
	struct tpacket_block_desc *b;
	void *m;

	lo = if_nametoindex("lo");
	if (!lo)
		die("lo");
	v2_sk = pkt(SOCK_RAW, htons(ETH_P_ALL));
	setint(v2_sk, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
	setint(v2_sk, PACKET_RESERVE, 32, "PACKET_RESERVE");
	bind_lo(v2_sk, ETH_P_ALL);
	set_ring(v2_sk, PACKET_RX_RING, 8192, 2, 2048, 0, 0);
	set_ring(v2_sk, PACKET_TX_RING, 4096, 1, 2048, 0, 0);
	if (!(m = map_rings(v2_sk, V2_MAP)) || munmap(m, V2_MAP))
		die("mapping the V2 rings");
	v3_sk = pkt(SOCK_RAW, htons(ETH_P_ALL));
	setint(v3_sk, PACKET_VERSION, TPACKET_V3, "PACKET_VERSION");
	set_ring(v3_sk, PACKET_RX_RING, 8192, 2, 2048, 100, 16);
	if (!(m = map_rings(v3_sk, V3_MAP)))
		die("mapping the V3 ring");
	b = m;
	v3_first_offset = b->hdr.bh1.offset_to_first_pkt;
	if (munmap(m, V3_MAP))
		die("munmap");
}

/* A UDP datagram sent to 127.0.0.1:port lands in one of the nframes
 * TPACKET_V2 frames (2 KiB) of the receive ring mapped at m. */
static void datagram_lands(int port, const unsigned char *m, int nframes, const char *otherwise)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int u = socket(AF_INET, SOCK_DGRAM, 0), i, tries;

	if (u < 0 || sendto(u, "frame", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		corrupt("cannot send a datagram");
	for (tries = 0; tries < 500; tries++) {
		for (i = 0; i < nframes; i++) {
			const struct tpacket2_hdr *h = (const void *)(m + i * 2048);
			if ((h->tp_status & TP_STATUS_USER) && h->tp_snaplen >= 5 &&
			    h->tp_mac + h->tp_snaplen <= 2048 &&
			    memmem(m + i * 2048 + h->tp_mac, h->tp_snaplen, "frame", 5))
				return;
		}
		usleep(10000);
	}
	corrupt(otherwise);
}

static void check_rings(int port)
{
	struct tpacket_block_desc *b;
	unsigned char *m;

	if (getint(v2_sk, PACKET_VERSION) != TPACKET_V2 || getint(v2_sk, PACKET_RESERVE) != 32 ||
	    getint(v3_sk, PACKET_VERSION) != TPACKET_V3)
		corrupt("the version or reserve of a ringed socket changed");
	if (!setsockopt(v2_sk, SOL_PACKET, PACKET_VERSION, &(int){ TPACKET_V1 }, sizeof(int)) ||
	    errno != EBUSY)
		corrupt("the V2 socket has no ring any more");
	check_bound(v2_sk, ETH_P_ALL, lo, "the V2 socket is not bound to lo any more");
	if (!(b = map_rings(v3_sk, V3_MAP)))
		corrupt("the V3 ring is not of the same size");
	if (b->hdr.bh1.offset_to_first_pkt != v3_first_offset)
		corrupt("the V3 ring's private area changed");
	if (!(m = map_rings(v2_sk, V2_MAP)))
		corrupt("the V2 rings are not of the same size");
	/* Frames of 2 KiB, 4 to a block of 8 KiB. */
	datagram_lands(port, m, 8, "the datagram did not land in the V2 receive ring");
}

static unsigned char *mapped, *mapped_private;
#define MAPPED_LEN (8192 + 4096)

static void setup_mapped(void)
{
	lo = if_nametoindex("lo");
	if (!lo)
		die("lo");
	v2_sk = pkt(SOCK_RAW, htons(ETH_P_ALL));
	setint(v2_sk, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
	bind_lo(v2_sk, ETH_P_ALL);
	set_ring(v2_sk, PACKET_RX_RING, 8192, 1, 2048, 0, 0);
	set_ring(v2_sk, PACKET_TX_RING, 4096, 1, 2048, 0, 0);
	mapped = mmap(NULL, MAPPED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, v2_sk, 0);
	if (mapped == MAP_FAILED)
		die("mmap");
	((struct tpacket2_hdr *)mapped)->tp_status = TP_STATUS_USER;	/* (taken) */
	mapped_private = mmap(NULL, MAPPED_LEN, PROT_READ, MAP_PRIVATE, v2_sk, 0);
	if (mapped_private == MAP_FAILED)
		die("mmap MAP_PRIVATE");
}

/* Does /proc/self/maps show the socket s mapped at addr? */
static int socket_mapped_at(const void *addr, int s)
{
	char line[512], want[64];
	struct stat st;
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f || fstat(s, &st))
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)st.st_ino);
	while (!found && fgets(line, sizeof(line), f))
		found = strtoul(line, NULL, 16) == (uintptr_t)addr && strstr(line, want);
	fclose(f);
	return found;
}

static void check_mapped(int port)
{
	if (!socket_mapped_at(mapped, v2_sk) || !socket_mapped_at(mapped_private, v2_sk))
		corrupt("the rings are not mapped where they were");
	datagram_lands(port, mapped, 4, "the datagram did not land in the mapped receive ring");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[1] : "";
	int port = argc > 2 ? atoi(argv[2]) : 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	if (!strcmp(mode, "state"))
		setup_state();
	else if (!strcmp(mode, "ring"))
		setup_rings();
	else if (!strcmp(mode, "mapped"))
		setup_mapped();
	else if (!strcmp(mode, "partial")) {
		setup_mapped();
		if (munmap(mapped + 8192, 4096))	/* the transmit ring */
			die("munmap");
	}
	else {
		fprintf(stderr, "usage: pktsock state|ring|mapped|partial PORT\n");
		return 2;
	}
	printf("ready\n");
	while (!go)
		usleep(20000);
	if (!strcmp(mode, "state"))
		check_state(port);
	if (!strcmp(mode, "ring"))
		check_rings(port);
	if (!strcmp(mode, "mapped"))
		check_mapped(port);
	printf("PASS\n");
	return 0;
}
