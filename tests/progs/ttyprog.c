/* ttyprog: a terminal program for checkpoint/restart tests.
 * usage: ttyprog LOG
 * Writes "pid N" to LOG, turns echo off on its terminal (stdin), then every
 * 100 ms appends "tick N fg=F echo=E pgrp_leader=L": F is 1 when its process
 * group is the terminal's foreground group, E the ECHO flag, L 1 when it
 * leads its own process group.  Lines typed on the terminal are appended as
 * "got LINE", so a test can check it still reads its terminal. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct termios t;
	FILE *log;
	char buf[256];
	int tick;

	if (argc < 2 || tcgetattr(0, &t))
		return 2;
	log = fopen(argv[1], "a");
	if (!log)
		return 2;
	setvbuf(log, NULL, _IOLBF, 0);
	fprintf(log, "pid %d\n", getpid());
	t.c_lflag &= ~ECHO;
	tcsetattr(0, TCSANOW, &t);
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 100000000 };
		ssize_t n;

		while (nanosleep(&ts, &ts))
			;
		if (tcgetattr(0, &t))
			return 3;
		fprintf(log, "tick %d fg=%d echo=%d pgrp_leader=%d\n", tick,
			tcgetpgrp(0) == getpgrp(), !!(t.c_lflag & ECHO), getpgrp() == getpid());
		n = read(0, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			buf[strcspn(buf, "\r\n")] = 0;
			fprintf(log, "got %s\n", buf);
		}
	}
}
