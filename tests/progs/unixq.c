/* unixq: what is queued on unix sockets must come back exactly.
 * usage: unixq DIR
 * At start, and then kept only in the socket queues:
 *   a seqpacket pair with three messages of 5, 0 and 3000 bytes, the first
 *   carrying SCM_RIGHTS a pipe's read end (8 bytes in the pipe, its
 *   writer kept) and a file DIR/f opened at offset 5, and SCM_CREDENTIALS;
 *   the receiver has SO_PASSCRED;
 *   a datagram pair with "one", "" and "three", one of them carrying a
 *   unix socket (the end of a stream pair whose other end holds "inner");
 *   a stream pair with "abcdef" whose sender did shutdown(SHUT_WR): the
 *   data then end of file;
 *   a listener bound to DIR/l (chmod 0604) with a client waiting to be
 *   accepted; a datagram socket bound to DIR/gone whose file was removed,
 *   with a datagram from a named sender DIR/snd;
 *   a datagram socket bound to DIR/d, a sender connected to it, the file
 *   removed, and another socket bound to DIR/d after it, moved to fd 200
 *   (restored after the first, while the file left by the killed process
 *   is there): each must still get what is sent to it;
 *   a datagram socket bound to DIR/srv, to which the test sends "external"
 *   from a socket of another process bound to DIR/ext (gone since);
 *   a datagram pair with SO_PASSCRED on both ends and a datagram queued
 *   each way (sending took an abstract name, autobind): the same names,
 *   and no other, after restart;
 *   (as root) a stream pair made by a child under uid 1234, gid 4321,
 *   passed to us: SO_PEERCRED of its ends shows them;
 *   a datagram socket bound to DIR/ff with a sender connected to it, whose
 *   file was removed and a FIFO made (and opened) in its place;
 *   an epoll fd that is only in a queue (sent, then closed), watching the
 *   read end of a pipe we keep (with data: ready) with data 0x5ca1ab1e.
 * Prints "tick N ok" every 100 ms; on SIGUSR1 reads every queue, checks
 * it and prints "queues ok"; "CORRUPT ..." and exit 3 on a mismatch. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t check_now;

static void corrupt(const char *what)
{
	printf("CORRUPT %s (errno %d)\n", what, errno);
	exit(3);
}

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

static void send_msg(int s, const void *data, size_t len, const int *fds, int nfds, int creds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { NULL, 0, &iov, 1, u.buf, 0, 0 };
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	mh.msg_controllen = (nfds ? CMSG_SPACE(nfds * sizeof(int)) : 0) +
			    (creds ? CMSG_SPACE(sizeof(struct ucred)) : 0);
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	c = mh.msg_control ? CMSG_FIRSTHDR(&mh) : NULL;
	if (nfds) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		c = CMSG_NXTHDR(&mh, c);
	}
	if (creds) {
		struct ucred uc = { getpid(), getuid(), getgid() };
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
	}
	if (sendmsg(s, &mh, 0) != (ssize_t)len)
		corrupt("sendmsg at start");
}

/* One message: its length, the fds it carried, its credentials. */
static ssize_t recv_msg(int s, void *buf, size_t cap, int *fds, int *nfds, struct ucred *cr)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { NULL, 0, &iov, 1, u.buf, sizeof(u.buf), 0 };
	struct cmsghdr *c;
	ssize_t n = recvmsg(s, &mh, MSG_DONTWAIT);

	*nfds = 0;
	if (cr)
		memset(cr, 0, sizeof(*cr));
	if (n < 0)
		return n;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		corrupt("message truncated");
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_type == SCM_RIGHTS) {
			*nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), *nfds * sizeof(int));
		} else if (c->cmsg_type == SCM_CREDENTIALS && cr) {
			memcpy(cr, CMSG_DATA(c), sizeof(*cr));
		}
	}
	return n;
}

static struct sockaddr_un addr_of(const char *dir, const char *name, socklen_t *len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir, name);
	*len = offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1;
	return a;
}

int main(int argc, char **argv)
{
	int sq[2], dg[2], st[2], inner[2], p[2], lis, cli, gone, snd, f, one = 1, tick, n, fds[8];
	int d1, d1snd, d2, srv, pc[2];
	struct sockaddr_un pcname[2];
	int pp[2] = { -1, -1 };
	int ffs, ffsnd, fifo, eq[2], ep[2], epfd = -1;
	socklen_t pclen[2];
	char big[3000], buf[4096], path[300];
	struct sockaddr_un a;
	struct ucred cr;
	socklen_t alen;
	struct stat sb;
	int i;

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = 'a' + i % 26;

	/* seqpacket: boundaries, a pipe and a file in flight, credentials */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) || pipe(p) ||
	    setsockopt(sq[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		corrupt("seqpacket setup");
	snprintf(path, sizeof(path), "%s/f", argv[1]);
	f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f < 0 || write(f, "0123456789", 10) != 10 || lseek(f, 5, SEEK_SET) != 5 ||
	    write(p[1], "pipedata", 8) != 8)
		corrupt("file setup");
	fds[0] = p[0];
	fds[1] = f;
	send_msg(sq[0], "hello", 5, fds, 2, 1);
	send_msg(sq[0], "", 0, NULL, 0, 0);
	send_msg(sq[0], big, sizeof(big), NULL, 0, 0);
	close(p[0]);
	close(f);

	/* datagrams, one carrying a unix socket with a queue of its own */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || socketpair(AF_UNIX, SOCK_STREAM, 0, inner) ||
	    write(inner[1], "inner", 5) != 5)
		corrupt("datagram setup");
	send_msg(dg[0], "one", 3, NULL, 0, 0);
	send_msg(dg[0], "", 0, &inner[0], 1, 0);
	send_msg(dg[0], "three", 5, NULL, 0, 0);
	close(inner[0]);
	close(inner[1]);

	/* stream with the writer shut down */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || write(st[0], "abcdef", 6) != 6 ||
	    shutdown(st[0], SHUT_WR))
		corrupt("stream setup");

	/* a listener (chmod'ed) with a client waiting */
	a = addr_of(argv[1], "l", &alen);
	unlink(a.sun_path);
	lis = socket(AF_UNIX, SOCK_STREAM, 0);
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lis < 0 || cli < 0 || bind(lis, (struct sockaddr *)&a, alen) || listen(lis, 4) ||
	    chmod(a.sun_path, 0604) || connect(cli, (struct sockaddr *)&a, alen))
		corrupt("listener setup");

	/* a bound datagram socket whose file is gone, with a datagram queued */
	a = addr_of(argv[1], "gone", &alen);
	gone = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (gone < 0 || bind(gone, (struct sockaddr *)&a, alen))
		corrupt("gone setup");
	{
		struct sockaddr_un sa;
		socklen_t slen;
		sa = addr_of(argv[1], "snd", &slen);
		unlink(sa.sun_path);
		snd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (snd < 0 || bind(snd, (struct sockaddr *)&sa, slen) ||
		    sendto(snd, "from snd", 8, 0, (struct sockaddr *)&a, alen) != 8)
			corrupt("sender setup");
	}
	unlink(a.sun_path);

	/* two sockets of one path, the first one's file removed */
	a = addr_of(argv[1], "d", &alen);
	d1 = socket(AF_UNIX, SOCK_DGRAM, 0);
	d1snd = socket(AF_UNIX, SOCK_DGRAM, 0);
	d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (d1 < 0 || d1snd < 0 || d2 < 0 || bind(d1, (struct sockaddr *)&a, alen) ||
	    connect(d1snd, (struct sockaddr *)&a, alen) || unlink(a.sun_path) ||
	    bind(d2, (struct sockaddr *)&a, alen) || dup2(d2, 200) != 200 || close(d2))
		corrupt("same path setup");
	d2 = 200;
	a = addr_of(argv[1], "srv", &alen);
	unlink(a.sun_path);
	srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&a, alen))
		corrupt("srv setup");

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pc) ||
	    setsockopt(pc[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(pc[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    write(pc[0], "p0", 2) != 2 || write(pc[1], "p1", 2) != 2)
		corrupt("passcred pair setup");
	for (i = 0; i < 2; i++) {
		pclen[i] = sizeof(pcname[i]);
		if (getsockname(pc[i], (struct sockaddr *)&pcname[i], &pclen[i]))
			corrupt("passcred pair names");
	}

	a = addr_of(argv[1], "ff", &alen);
	ffs = socket(AF_UNIX, SOCK_DGRAM, 0);
	ffsnd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (ffs < 0 || ffsnd < 0 || bind(ffs, (struct sockaddr *)&a, alen) ||
	    connect(ffsnd, (struct sockaddr *)&a, alen) || unlink(a.sun_path) ||
	    mkfifo(a.sun_path, 0600) || (fifo = open(a.sun_path, O_RDWR)) < 0)
		corrupt("fifo upon socket setup");

	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x5ca1ab1e };
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, eq) || pipe(ep) ||
		    write(ep[1], "e", 1) != 1 || (epfd = epoll_create1(0)) < 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, ep[0], &ev))
			corrupt("epoll in flight setup");
		send_msg(eq[0], "ep", 2, &epfd, 1, 0);
		close(epfd);
	}

	if (getuid() == 0) {
		int ctl[2], st2;
		pid_t kid;
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, ctl))
			corrupt("peercred setup");
		kid = fork();
		if (kid == 0) {
			int mine[2];
			if (setgid(4321) || setuid(1234) || socketpair(AF_UNIX, SOCK_STREAM, 0, mine))
				_exit(1);
			send_msg(ctl[1], "p", 1, mine, 2, 0);
			_exit(0);
		}
		if (kid < 0 || waitpid(kid, &st2, 0) != kid || st2 ||
		    recv_msg(ctl[0], buf, sizeof(buf), pp, &n, NULL) != 1 || n != 2)
			corrupt("peercred setup (child)");
		close(ctl[0]);
		close(ctl[1]);
	}

	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		if (!check_now) {
			printf("tick %d ok\n", tick);
			continue;
		}
		/* seqpacket */
		n = recv_msg(sq[1], buf, sizeof(buf), fds, &i, &cr);
		if (n != 5 || memcmp(buf, "hello", 5) || i != 2)
			corrupt("seqpacket message 1 (length, data or fds)");
		if (cr.pid != getpid() || cr.uid != getuid() || cr.gid != getgid())
			corrupt("seqpacket credentials");
		if (read(fds[0], buf, sizeof(buf)) != 8 || memcmp(buf, "pipedata", 8))
			corrupt("pipe passed in flight: its data");
		if (write(p[1], "more", 4) != 4 || read(fds[0], buf, 4) != 4 || memcmp(buf, "more", 4))
			corrupt("pipe passed in flight: not the same pipe");
		if (lseek(fds[1], 0, SEEK_CUR) != 5 || read(fds[1], buf, 5) != 5 ||
		    memcmp(buf, "56789", 5))
			corrupt("file passed in flight: offset or data");
		if (fstat(fds[1], &sb) || !S_ISREG(sb.st_mode))
			corrupt("file passed in flight: kind");
		if (recv_msg(sq[1], buf, sizeof(buf), fds, &i, NULL) != 0)
			corrupt("seqpacket message 2 (empty)");
		if (recv_msg(sq[1], buf, sizeof(buf), fds, &i, NULL) != (ssize_t)sizeof(big) ||
		    memcmp(buf, big, sizeof(big)))
			corrupt("seqpacket message 3");
		if (recv_msg(sq[1], buf, sizeof(buf), fds, &i, NULL) >= 0 || errno != EAGAIN)
			corrupt("seqpacket: more than was queued");
		/* datagrams */
		if (recv_msg(dg[1], buf, sizeof(buf), fds, &i, NULL) != 3 || memcmp(buf, "one", 3))
			corrupt("datagram 1");
		if (recv_msg(dg[1], buf, sizeof(buf), fds, &i, NULL) != 0 || i != 1)
			corrupt("datagram 2 (empty, with a socket)");
		if (read(fds[0], buf, sizeof(buf)) != 5 || memcmp(buf, "inner", 5))
			corrupt("socket passed in flight: its queue");
		if (recv_msg(dg[1], buf, sizeof(buf), fds, &i, NULL) != 5 || memcmp(buf, "three", 5))
			corrupt("datagram 3");
		/* stream, shut down */
		if (read(st[1], buf, sizeof(buf)) != 6 || memcmp(buf, "abcdef", 6))
			corrupt("stream data");
		if (read(st[1], buf, sizeof(buf)) != 0)
			corrupt("stream: no end of file after the data");
		/* listener */
		a = addr_of(argv[1], "l", &alen);
		if (stat(a.sun_path, &sb) || (sb.st_mode & 07777) != 0604)
			corrupt("listener's socket file mode");
		i = accept(lis, NULL, NULL);
		if (i < 0 || write(cli, "x", 1) != 1 || read(i, buf, 1) != 1)
			corrupt("waiting client not connected");
		/* gone name */
		a = addr_of(argv[1], "gone", &alen);
		if (!stat(a.sun_path, &sb))
			corrupt("removed socket file came back");
		{
			struct sockaddr_un from;
			socklen_t flen = sizeof(from);
			n = recvfrom(gone, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
			if (n != 8 || memcmp(buf, "from snd", 8) || !strstr(from.sun_path, "/snd"))
				corrupt("datagram to the socket whose file is gone");
		}
		/* one path, two sockets */
		if (send(d1snd, "to d1", 5, 0) != 5 || recv(d1, buf, sizeof(buf), MSG_DONTWAIT) != 5 ||
		    memcmp(buf, "to d1", 5))
			corrupt("the socket whose file was removed lost its connected sender");
		a = addr_of(argv[1], "d", &alen);
		i = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (sendto(i, "to d2", 5, 0, (struct sockaddr *)&a, alen) != 5 ||
		    recv(d2, buf, sizeof(buf), MSG_DONTWAIT) != 5 || memcmp(buf, "to d2", 5))
			corrupt("the socket file of the path is not the live socket's");
		{
			struct sockaddr_un from;
			socklen_t flen = sizeof(from);
			n = recvfrom(srv, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
			if (n != 8 || memcmp(buf, "external", 8) || !strstr(from.sun_path, "/ext"))
				corrupt("datagram from another process (data or sender's name)");
			a = addr_of(argv[1], "ext", &alen);
			if (!stat(a.sun_path, &sb))
				corrupt("the other process's socket file was left behind");
		}
		for (i = 0; i < 2; i++) {
			struct sockaddr_un me;
			socklen_t mlen = sizeof(me);
			if (recv_msg(pc[i], buf, sizeof(buf), fds, &n, &cr) != 2 ||
			    memcmp(buf, i ? "p0" : "p1", 2) || cr.pid != getpid())
				corrupt("passcred pair: datagram or credentials");
			if (getsockname(pc[i], (struct sockaddr *)&me, &mlen) || mlen != pclen[i] ||
			    memcmp(&me, &pcname[i], mlen))
				corrupt("passcred pair: not the names it had");
		}
		for (i = 0; i < 2 && pp[0] >= 0; i++) {
			socklen_t clen = sizeof(cr);
			if (getsockopt(pp[i], SOL_SOCKET, SO_PEERCRED, &cr, &clen) || cr.uid != 1234 ||
			    cr.gid != 4321)
				corrupt("SO_PEERCRED of a pair made under another user");
		}
		a = addr_of(argv[1], "ff", &alen);
		if (stat(a.sun_path, &sb) || !S_ISFIFO(sb.st_mode) || write(fifo, "f", 1) != 1 ||
		    read(fifo, buf, 1) != 1)
			corrupt("the FIFO made where a socket's file was");
		if (send(ffsnd, "ff", 2, 0) != 2 || recv(ffs, buf, sizeof(buf), MSG_DONTWAIT) != 2)
			corrupt("the socket whose file a FIFO took lost its sender");
		{
			struct epoll_event ev;
			if (recv_msg(eq[1], buf, sizeof(buf), fds, &n, NULL) != 2 || n != 1 ||
			    epoll_wait(fds[0], &ev, 1, 0) != 1 || ev.data.u64 != 0x5ca1ab1e ||
			    !(ev.events & EPOLLIN))
				corrupt("the epoll in flight: its watch of the pipe");
			if (read(ep[0], buf, 1) != 1 || epoll_wait(fds[0], &ev, 1, 0) != 0)
				corrupt("the epoll in flight does not watch our pipe");
		}
		printf("queues ok\n");
		return 0;
	}
}
