/* nlsock: netlink socket state that must survive checkpoint/restart,
 * checked by the process itself.  It sets the state up, prints "ready",
 * waits for SIGUSR1 (sent after restart), checks, and prints "PASS" or
 * "CORRUPT <what>" (exit 3).
 *   state    a NETLINK_ROUTE socket bound to port id 0x7e570000 + PID% 0x10000,
 *            member of RTNLGRP_LINK (bound) and RTNLGRP_BRVLAN (33, joined
 *            after: above what an address holds), NETLINK_NO_ENOBUFS and
 *            NETLINK_EXT_ACK set; another one autobound (it sent a
 *            request whose reply it read); a NETLINK_USERSOCK socket bound
 *            to a port id and another connected to it.  After restart:
 *            the same port ids, groups, options; the route socket asks
 *            for the links and gets the kernel's reply; the connected
 *            one sends a message its peer receives.
 *   queued   a NETLINK_ROUTE socket with a reply waiting (ckpt refuses it);
 *            after the refusal the reply is still there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define GROUP_BRVLAN 33		/* RTNLGRP_BRVLAN */

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

static int nl(int proto)
{
	int s = socket(AF_NETLINK, SOCK_RAW, proto);
	if (s < 0)
		die("socket");
	return s;
}

static struct sockaddr_nl addr_of(int s)
{
	struct sockaddr_nl a = { 0 };
	socklen_t len = sizeof(a);
	if (getsockname(s, (struct sockaddr *)&a, &len))
		corrupt("getsockname fails");
	return a;
}

/* An RTM_GETLINK dump request on s, numbered seq. */
static void ask_links(int s, uint32_t seq)
{
	struct { struct nlmsghdr h; struct rtgenmsg g; } req = {
		.h = { sizeof(req), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0 },
		.g = { AF_UNSPEC },
	};
	if (send(s, &req, sizeof(req), 0) != sizeof(req))
		die("send RTM_GETLINK");
}

/* The type of the first message numbered seq s receives (NLMSG_ERROR on
 * error), -1 if none comes within 5 s. */
static int reply_type(int s, uint32_t seq)
{
	char buf[65536];
	struct pollfd p = { s, POLLIN, 0 };
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, 5000) != 1)
			return -1;
		n = recv(s, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(*h))
			return -1;
		if (h->nlmsg_seq == seq)
			return h->nlmsg_type;
	}
}

static void drain(int s, uint32_t seq)
{
	char buf[65536];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct pollfd p = { s, POLLIN, 0 };

	while (poll(&p, 1, 200) == 1 && recv(s, buf, sizeof(buf), 0) > 0)
		if (h->nlmsg_seq == seq && h->nlmsg_type == NLMSG_DONE)
			break;
}

static int opt(int s, int o)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (getsockopt(s, SOL_NETLINK, o, &v, &len))
		return -1;
	return v;
}

static int route, autob, usr, usr_c;
static struct sockaddr_nl route_a, autob_a, usr_a;

static void setup_state(void)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	int one = 1, g = GROUP_BRVLAN;

	route = nl(NETLINK_ROUTE);
	a.nl_pid = 0x7e570000u + (uint32_t)(getpid() % 0x10000);
	a.nl_groups = RTMGRP_LINK;
	if (bind(route, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)))
		die("route socket");
	route_a = addr_of(route);

	autob = nl(NETLINK_ROUTE);	/* bound by its first send */
	ask_links(autob, 1);
	drain(autob, 1);
	autob_a = addr_of(autob);
	if (!autob_a.nl_pid)
		die("autobind");

	usr = nl(NETLINK_USERSOCK);
	usr_c = nl(NETLINK_USERSOCK);
	a.nl_pid = 0x7e580000u + (uint32_t)(getpid() % 0x10000);
	a.nl_groups = 0;
	if (bind(usr, (struct sockaddr *)&a, sizeof(a)) ||
	    connect(usr_c, (struct sockaddr *)&a, sizeof(a)))
		die("usersock");
	usr_a = addr_of(usr);
}

static void check_state(void)
{
	struct sockaddr_nl a, peer = { 0 };
	socklen_t len = sizeof(peer);
	uint32_t groups[8] = { 0 };
	struct nlmsghdr msg = { sizeof(msg), 0x4242, NLM_F_REQUEST, 77, 0 }, got;
	struct pollfd p = { 0, POLLIN, 0 };

	a = addr_of(route);
	if (a.nl_pid != route_a.nl_pid)
		corrupt("the route socket's port id changed");
	if (a.nl_groups != RTMGRP_LINK)
		corrupt("the route socket is not in RTNLGRP_LINK any more");
	len = sizeof(groups);
	if (getsockopt(route, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &len) ||
	    !(groups[(GROUP_BRVLAN - 1) / 32] & (1u << ((GROUP_BRVLAN - 1) % 32))))
		corrupt("the route socket is not in group 33 any more");
	if (opt(route, NETLINK_NO_ENOBUFS) != 1 || opt(route, NETLINK_EXT_ACK) != 1)
		corrupt("an option of the route socket changed");
	ask_links(route, 9);
	if (reply_type(route, 9) != RTM_NEWLINK)
		corrupt("the route socket gets no reply from the kernel");
	if (addr_of(autob).nl_pid != autob_a.nl_pid)
		corrupt("the autobound socket's port id changed");
	ask_links(autob, 10);
	if (reply_type(autob, 10) != RTM_NEWLINK)
		corrupt("the autobound socket gets no reply from the kernel");
	if (addr_of(usr).nl_pid != usr_a.nl_pid)
		corrupt("the usersock socket's port id changed");
	len = sizeof(peer);
	if (getpeername(usr_c, (struct sockaddr *)&peer, &len) || peer.nl_pid != usr_a.nl_pid)
		corrupt("the connected usersock socket is not connected to its peer any more");
	if (send(usr_c, &msg, sizeof(msg), 0) != sizeof(msg))
		corrupt("the connected usersock socket cannot send");
	p.fd = usr;
	if (poll(&p, 1, 5000) != 1 || recv(usr, &got, sizeof(got), 0) != sizeof(got) ||
	    got.nlmsg_type != 0x4242 || got.nlmsg_seq != 77)
		corrupt("the message sent to the usersock socket did not come");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int q = -1;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, on_usr1);
	if (!strcmp(mode, "state"))
		setup_state();
	else if (!strcmp(mode, "queued")) {
		q = nl(NETLINK_ROUTE);
		ask_links(q, 5);
		usleep(100000);
	} else {
		fprintf(stderr, "usage: nlsock state|queued\n");
		return 2;
	}
	printf("ready\n");
	while (!go)
		usleep(20000);
	if (!strcmp(mode, "state"))
		check_state();
	else if (reply_type(q, 5) != RTM_NEWLINK)
		corrupt("the waiting reply is gone");
	printf("PASS\n");
	return 0;
}
