/* tcpecho: a TCP server for checkpoint/restart tests.
 * usage: tcpecho PORT [ADDR]
 * Listens on ADDR:PORT (default 127.0.0.1) (SO_REUSEADDR, backlog 7), prints "listening",
 * accepts connections one at a time and answers each line L with
 * "N L" (N counts lines over the server's life).  A failed read or write
 * prints "CLOSED <why>"; the next client is then accepted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, ls, c, n = 0;
	char buf[4096], out[4200];

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	a.sin_port = htons(atoi(argv[1]));
	if (argc > 2 && inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
		fprintf(stderr, "tcpecho: %s is not an IPv4 address\n", argv[2]);
		return 2;
	}
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 7)) {
		perror("bind/listen");
		return 1;
	}
	printf("listening\n");
	for (;;) {
		c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		printf("accepted\n");
		for (;;) {
			ssize_t r = read(c, buf, sizeof(buf) - 1), len;
			if (r <= 0) {
				printf("CLOSED %s\n", r ? strerror(errno) : "eof");
				break;
			}
			buf[r] = 0;
			len = snprintf(out, sizeof(out), "%d %s", ++n, buf);
			if (write(c, out, len) != len) {
				printf("CLOSED write %s\n", strerror(errno));
				break;
			}
		}
		close(c);
	}
}
