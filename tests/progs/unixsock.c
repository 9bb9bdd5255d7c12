/* unixsock: unix sockets that must survive a checkpoint.
 * usage: unixsock DIR
 *   a stream socketpair filled at start with 100 records each way
 *   ("a000".."a099" one way, "b000".."b099" the other); one record is read
 *   from each end per tick and must be the next of its sequence;
 *   a listening socket bound to DIR/sock and one to the abstract name
 *   "ckpt-unixsock-PID", both non-blocking: every tick accepts what came
 *   and answers "hello from path" / "hello from abstract".
 * Prints "tick N ok" every 100 ms, "CORRUPT ..." and exit 3 on a mismatch. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void corrupt(const char *what)
{
	printf("CORRUPT %s\n", what);
	exit(3);
}

static int listener(const char *name, int abstract)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	strncpy(a.sun_path + !!abstract, name, sizeof(a.sun_path) - 2);
	len = offsetof(struct sockaddr_un, sun_path) + !!abstract + strlen(name) + !abstract;
	if (s < 0 || bind(s, (struct sockaddr *)&a, len) || listen(s, 5))
		corrupt("cannot listen");
	return s;
}

static void serve(int ls, const char *hello)
{
	int c = accept(ls, NULL, NULL);

	if (c < 0) {
		if (errno != EAGAIN)
			corrupt("accept failed");
		return;
	}
	if (write(c, hello, strlen(hello)) < 0)
		corrupt("write to client failed");
	close(c);
	printf("served %s\n", hello);
}

int main(int argc, char **argv)
{
	char path[200], abs_name[64], rec[8], want[8];
	int sv[2], lp, la, tick, i;

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		corrupt("socketpair");
	for (i = 0; i < 100; i++) {
		snprintf(rec, sizeof(rec), "a%03d", i);
		if (write(sv[0], rec, 4) != 4)
			corrupt("filling a");
		snprintf(rec, sizeof(rec), "b%03d", i);
		if (write(sv[1], rec, 4) != 4)
			corrupt("filling b");
	}
	snprintf(path, sizeof(path), "%s/sock", argv[1]);
	snprintf(abs_name, sizeof(abs_name), "ckpt-unixsock-%d", getpid());
	unlink(path);
	lp = listener(path, 0);
	la = listener(abs_name, 1);
	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 100000000 };
		while (nanosleep(&ts, &ts))
			;
		snprintf(want, sizeof(want), "a%03d", tick - 1);
		if (read(sv[1], rec, 4) != 4 || memcmp(rec, want, 4))
			corrupt("pair a->b out of sequence");
		want[0] = 'b';
		if (read(sv[0], rec, 4) != 4 || memcmp(rec, want, 4))
			corrupt("pair b->a out of sequence");
		serve(lp, "hello from path\n");
		serve(la, "hello from abstract\n");
		printf("tick %d ok\n", tick);
		if (tick == 99) {
			printf("done\n");
			return 0;
		}
	}
}
