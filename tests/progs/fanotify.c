/* fanotify: a process with a fanotify group and marks of every kind, for
 * t-fanotify.sh.
 *
 * usage: fanotify DIR
 *   Makes a group on fd 200 (FAN_CLASS_NOTIF | FAN_UNLIMITED_QUEUE | FAN_NONBLOCK,
 *   event flags O_RDONLY | O_LARGEFILE) and marks: DIR/watched (modify,
 *   access, open, close), DIR/gone (open, close-write; the file is held
 *   open and unlinked), the mount of DIR (on-dir, open, close; and an
 *   ignored mask modify | access surviving modification), opens its own
 *   /proc/self/fdinfo of the group and keeps it, then prints "ready" and
 *   waits until DIR/go exists.  Then it checks that the
 *   group's flags and each mark's kind, flags, mask and ignored mask in
 *   fdinfo are as they were (not inode numbers or mount ids: a restart may
 *   change them), that writing DIR/watched and the held deleted file
 *   (reopened) both bring a close-after-write event, that the fdinfo fd
 *   held still reads the group's fdinfo, and prints "PASS",
 *   or "FAIL why" (exit 1).
 *   stdout is line-buffered. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

static _Noreturn void die(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* fdinfo of fd, each "fanotify" line reduced to what a restart keeps. */
static void marks_of(int fd, char *out, size_t size)
{
	char path[64], line[1024];
	size_t used = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (!(f = fopen(path, "r")))
		die("opening fdinfo");
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *kind = NULL, *m = strstr(line, " mflags:");
		char rest[1100] = "";

		if (!strncmp(line, "fanotify flags:", 15))
			snprintf(rest, sizeof(rest), "%s", line);
		else if (!strncmp(line, "fanotify ino:", 13))
			kind = "inode";
		else if (!strncmp(line, "fanotify mnt_id:", 16))
			kind = "mount";
		else if (!strncmp(line, "fanotify sdev:", 14))
			kind = "filesystem";
		if (kind && m) {
			unsigned mflags, mask, ignored;
			if (sscanf(m, " mflags:%x mask:%x ignored_mask:%x", &mflags, &mask,
				   &ignored) != 3)
				die("parsing fdinfo");
			snprintf(rest, sizeof(rest), "%s mflags:%x mask:%x ignored:%x\n", kind,
				 mflags, mask, ignored);
		}
		if (rest[0] && used + strlen(rest) < size) {
			strcpy(out + used, rest);
			used += strlen(rest);
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	char watched[PATH_MAX], gone[PATH_MAX], go[PATH_MAX], before[4096], after[4096];
	char buf[8192];
	int fan, fd, held, info, events = 0;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: fanotify DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(watched, sizeof(watched), "%s/watched", argv[1]);
	snprintf(gone, sizeof(gone), "%s/gone", argv[1]);
	snprintf(go, sizeof(go), "%s/go", argv[1]);
	fan = fanotify_init(FAN_NONBLOCK | FAN_CLASS_NOTIF | FAN_UNLIMITED_QUEUE,
			    O_RDONLY | O_LARGEFILE);
	if (fan < 0)
		die("fanotify_init");
	/* (on fd 200: a number restart itself does not hold) */
	if (dup2(fan, 200) != 200 || close(fan))
		die("moving the group to fd 200");
	fan = 200;
	if ((fd = open(watched, O_CREAT | O_TRUNC | O_WRONLY, 0644)) < 0)
		die("creating DIR/watched");
	close(fd);
	if ((held = open(gone, O_CREAT | O_TRUNC | O_RDWR, 0644)) < 0)
		die("creating DIR/gone");
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY | FAN_ACCESS | FAN_OPEN | FAN_CLOSE,
			  AT_FDCWD, watched) ||
	    fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, gone) ||
	    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_ONDIR | FAN_OPEN | FAN_CLOSE,
			  AT_FDCWD, argv[1]) ||
	    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT | FAN_MARK_IGNORED_MASK |
			  FAN_MARK_IGNORED_SURV_MODIFY, FAN_MODIFY | FAN_ACCESS, AT_FDCWD, argv[1]))
		die("fanotify_mark");
	if (unlink(gone))
		die("unlinking DIR/gone");
	marks_of(fan, before, sizeof(before));
	/* Its own fdinfo of the group, held open (as a leaked FILE would be). */
	snprintf(buf, sizeof(buf), "/proc/self/fdinfo/%d", fan);
	if ((info = open(buf, O_RDONLY)) < 0)
		die("opening its fdinfo");
	printf("ready\n");
	while (access(go, F_OK))
		usleep(20000);
	marks_of(fan, after, sizeof(after));
	if (strcmp(before, after)) {
		printf("FAIL the group or its marks changed:\nbefore:\n%safter:\n%s", before, after);
		return 1;
	}
	n = pread(info, buf, sizeof(buf) - 1, 0);
	if (n <= 0 || (buf[n] = 0, !strstr(buf, "fanotify flags:")))
		die("reading its fdinfo through the fd held on it");
	while (read(fan, buf, sizeof(buf)) > 0)
		;	/* (what the checks made) */
	if ((fd = open(watched, O_WRONLY)) < 0 || write(fd, "x", 1) != 1 || close(fd))
		die("writing DIR/watched");
	/* (modify events are ignored on the mount: a close after writing) */
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", held);
	if ((fd = open(buf, O_WRONLY)) < 0 || write(fd, "y", 1) != 1 || close(fd))
		die("writing the deleted file");
	usleep(100000);
	while ((n = read(fan, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *e = (struct fanotify_event_metadata *)buf;
		for (; FAN_EVENT_OK(e, n); e = FAN_EVENT_NEXT(e, n)) {
			if (e->mask & FAN_CLOSE_WRITE)
				events++;
			if (e->fd >= 0)
				close(e->fd);
		}
	}
	if (events < 2) {
		printf("FAIL %d close-after-write events, expected one for each file\n", events);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
