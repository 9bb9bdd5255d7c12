/* files: regular files whose offsets must survive a checkpoint.
 *
 * usage: files INPUT OUTPUT APPENDFILE [-i MS]
 *   INPUT       opened O_RDONLY; one line is read per tick with read(2), one
 *               byte at a time, so the file offset is exactly after it.
 *   OUTPUT      opened O_WRONLY|O_CREAT|O_TRUNC; "line N" written per tick.
 *   APPENDFILE  opened O_WRONLY|O_CREAT|O_APPEND; "append N" per tick.
 *   -i MS       tick interval (default 50 ms)
 * Prints "tick N read LINE" on stdout (line-buffered), "tick N read EOF"
 * once the input is exhausted.  After a restart the read must go on at the
 * next line and OUTPUT/APPENDFILE must hold lines 1..N without gap or
 * duplicate.  Self-checks each tick: the offsets the kernel reports
 * (lseek SEEK_CUR) equal the bytes this program read/wrote, the access modes
 * and O_APPEND are unchanged, the three descriptors still name the same
 * files as when opened (same inode).  Failure: "CORRUPT ..." and exit 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void corrupt(const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("CORRUPT %s\n", msg);
	fflush(stdout);
	exit(3);
}

struct tracked {
	const char *name;
	int fd;
	int flags;		/* O_ACCMODE | O_APPEND part expected */
	uint64_t pos;		/* where this program believes the offset is */
	dev_t dev;
	ino_t ino;
};

static void open_tracked(struct tracked *t, const char *path, int flags)
{
	struct stat st;
	t->name = path;
	t->fd = open(path, flags, 0644);
	if (t->fd < 0) {
		fprintf(stderr, "files: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	t->flags = flags & (O_ACCMODE | O_APPEND);
	t->pos = 0;
	fstat(t->fd, &st);
	t->dev = st.st_dev;
	t->ino = st.st_ino;
}

static void check_tracked(const struct tracked *t)
{
	struct stat st;
	off_t pos = lseek(t->fd, 0, SEEK_CUR);
	int fl = fcntl(t->fd, F_GETFL);
	if (fl < 0 || fstat(t->fd, &st) < 0)
		corrupt("%s: fd %d is not open", t->name, t->fd);
	if ((fl & (O_ACCMODE | O_APPEND)) != t->flags)
		corrupt("%s: flags %#o, expected %#o", t->name, fl & (O_ACCMODE | O_APPEND),
			t->flags);
	if (st.st_dev != t->dev || st.st_ino != t->ino)
		corrupt("%s: fd %d now names another file", t->name, t->fd);
	/* For O_APPEND the offset is the end of the file: other writers are
	 * allowed, so only "not before our own bytes" is checked. */
	if (t->flags & O_APPEND ? (uint64_t)pos < t->pos : (uint64_t)pos != t->pos)
		corrupt("%s: offset %lld, expected %" PRIu64, t->name, (long long)pos, t->pos);
}

static void write_all(struct tracked *t, const char *s)
{
	size_t len = strlen(s);
	ssize_t w = write(t->fd, s, len);
	if (w != (ssize_t)len)
		corrupt("%s: write: %s", t->name, w < 0 ? strerror(errno) : "short");
	if (t->flags & O_APPEND)
		t->pos = (uint64_t)lseek(t->fd, 0, SEEK_CUR);
	else
		t->pos += len;
}

int main(int argc, char **argv)
{
	unsigned interval = 50;
	struct tracked in, out, app;
	char line[4096], buf[64];
	uint64_t n = 0;
	int eof = 0;

	if (argc == 6 && strcmp(argv[4], "-i") == 0)
		interval = (unsigned)strtoul(argv[5], NULL, 10);
	else if (argc != 4) {
		fprintf(stderr, "usage: files INPUT OUTPUT APPENDFILE [-i MS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	open_tracked(&in, argv[1], O_RDONLY);
	open_tracked(&out, argv[2], O_WRONLY | O_CREAT | O_TRUNC);
	open_tracked(&app, argv[3], O_WRONLY | O_CREAT | O_APPEND);
	app.pos = (uint64_t)lseek(app.fd, 0, SEEK_END);

	for (;;) {
		struct timespec ts = { interval / 1000, (long)(interval % 1000) * 1000000L }, rem;
		while (nanosleep(&ts, &rem) < 0 && errno == EINTR)
			ts = rem;
		n++;
		size_t len = 0;
		if (!eof) {
			for (;;) {
				char c;
				ssize_t r = read(in.fd, &c, 1);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0)
					corrupt("%s: read: %s", in.name, strerror(errno));
				if (r == 0) {
					eof = len == 0;
					break;
				}
				in.pos++;
				if (c == '\n')
					break;
				if (len + 1 < sizeof(line))
					line[len++] = c;
			}
		}
		line[len] = 0;
		snprintf(buf, sizeof(buf), "line %" PRIu64 "\n", n);
		write_all(&out, buf);
		snprintf(buf, sizeof(buf), "append %" PRIu64 "\n", n);
		write_all(&app, buf);
		check_tracked(&in);
		check_tracked(&out);
		check_tracked(&app);
		if (eof)
			printf("tick %" PRIu64 " read EOF\n", n);
		else
			printf("tick %" PRIu64 " read %s\n", n, line);
	}
}
