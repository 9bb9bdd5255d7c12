/* ghosts: files without a name, held through fds, mappings and the cwd,
 * checked every tick (200 ms): "tick N ok" or "CORRUPT <what>" (exit 3).
 *
 *   wronly    a file open O_WRONLY only, sparse (4 KiB of data, a 1 MiB
 *             hole, 100 bytes), mode 06604, mtime 123456, atime 654321,
 *             unlinked; a second fd opened O_RDONLY through a second link
 *             (also removed) must be the same inode; the hole stays a hole;
 *   mapped    a deleted file open O_RDWR and mapped MAP_SHARED and
 *             MAP_PRIVATE (one private page written: copy-on-write kept);
 *             each tick writes through the fd and reads it in the shared map;
 *   memfd     a sealed memfd (GROW|SHRINK), mapped shared; a second memfd
 *             mapped only (its fd closed): name and contents;
 *   dirs      the cwd is a removed directory, and an fd on the same removed
 *             directory is that very directory (same inode, nlink 0);
 *   linked    a file whose path was removed while another link keeps it:
 *             the same inode as that link;
 *             Another such file is only mapped (shared, read-only): a write
 *             through the link that stays shows in the mapping;
 *   opath     O_PATH|O_NOFOLLOW on a symlink (readlinkat gives its target)
 *             and on a removed symlink;
 *   tmpfile   an O_TMPFILE file: on SIGUSR1 it is linked (linkat) as
 *             DIR/tmp.linked, printing "tmpfile linked" (once only: a
 *             linked file is not linkable any more);
 *   device    a removed device node (a /dev/zero made with mknod; left out
 *             where mknod is not allowed): mode, rdev, reads zeros;
 *   owner     F_SETOWN_EX/F_SETSIG: the process on one fd, its process group
 *             on another;
 *   lease     a read lease (F_GETLEASE), and a write lease being broken
 *             (downgraded to read: it opened the file itself, O_NONBLOCK).
 * usage: ghosts DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define HOLE_AT (1 << 20)

static void corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void corrupt(const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("CORRUPT %s (errno %d)\n", msg, errno);
	fflush(stdout);
	exit(3);
}

static volatile sig_atomic_t link_tmpfile;

static void on_usr1(int sig)
{
	(void)sig;
	link_tmpfile = 1;
}

static int xopen(const char *dir, const char *name, int flags)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags, 0644);
	if (fd < 0)
		corrupt("opening %s", path);
	return fd;
}

static void xunlink(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path))
		corrupt("unlinking %s", path);
}

static void same_inode(int a, int b, const char *what)
{
	struct stat x, y;

	if (fstat(a, &x) || fstat(b, &y) || x.st_dev != y.st_dev || x.st_ino != y.st_ino)
		corrupt("%s: not the same inode", what);
}

int main(int argc, char **argv)
{
	char path[4096], buf[4096], link2[4096], *shared, *private, *mshared, *monly, *mlinked;
	int wr, rd, mapped, mfd, mfd2, dirfd, linked, other, sl, gone_sl, tmp, lease, wlease, dev, tick;
	struct timespec times[2] = { { 654321, 0 }, { 123456, 0 } };
	struct stat st;
	const char *dir;

	if (argc < 2)
		return 2;
	dir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* wronly: sparse, odd mode and times, two links both removed */
	wr = xopen(dir, "wronly", O_WRONLY | O_CREAT | O_TRUNC);
	memset(buf, 'A', sizeof(buf));
	if (write(wr, buf, sizeof(buf)) != sizeof(buf) || pwrite(wr, "B", 1, HOLE_AT + 99) != 1 ||
	    pwrite(wr, buf, 99, HOLE_AT) != 99)
		corrupt("writing wronly");
	snprintf(path, sizeof(path), "%s/wronly", dir);
	snprintf(link2, sizeof(link2), "%s/wronly.link", dir);
	if (link(path, link2))
		corrupt("linking wronly");
	rd = xopen(dir, "wronly.link", O_RDONLY | O_NOATIME);	/* atime stays */
	if (fchmod(wr, 06604) || futimens(wr, times))
		corrupt("setting attributes");
	xunlink(dir, "wronly");
	xunlink(dir, "wronly.link");

	/* mapped: shared and private mappings of a deleted file */
	mapped = xopen(dir, "mapped", O_RDWR | O_CREAT | O_TRUNC);
	if (ftruncate(mapped, 2 * 4096) || pwrite(mapped, "file", 4, 4096) != 4)
		corrupt("sizing mapped");
	shared = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mapped, 0);
	private = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, mapped, 0);
	if (shared == MAP_FAILED || private == MAP_FAILED)
		corrupt("mapping mapped");
	strcpy(private, "private copy");
	xunlink(dir, "mapped");

	/* memfds */
	mfd = memfd_create("ghosts-sealed", MFD_ALLOW_SEALING);
	if (mfd < 0 || ftruncate(mfd, 4096) || pwrite(mfd, "sealed", 6, 0) != 6 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		corrupt("setting up the memfd");
	mshared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	mfd2 = memfd_create("ghosts-maponly", 0);
	if (mfd2 < 0 || ftruncate(mfd2, 4096) || pwrite(mfd2, "only mapped", 11, 0) != 11)
		corrupt("setting up the second memfd");
	monly = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd2, 0);
	if (mshared == MAP_FAILED || monly == MAP_FAILED)
		corrupt("mapping the memfds");
	close(mfd2);

	/* dirs: cwd and an fd on one removed directory */
	snprintf(path, sizeof(path), "%s/gone", dir);
	if (mkdir(path, 0751) || chdir(path))
		corrupt("making gone");
	dirfd = open(".", O_RDONLY | O_DIRECTORY);
	if (dirfd < 0 || rmdir(path))
		corrupt("removing gone");

	/* linked: path removed, another link stays */
	linked = xopen(dir, "linked", O_RDWR | O_CREAT | O_TRUNC);
	snprintf(path, sizeof(path), "%s/linked", dir);
	snprintf(link2, sizeof(link2), "%s/linked.stays", dir);
	if (link(path, link2) || write(linked, "linked", 6) != 6)
		corrupt("linking linked");
	xunlink(dir, "linked");

	other = xopen(dir, "maplinked", O_RDWR | O_CREAT | O_TRUNC);
	snprintf(path, sizeof(path), "%s/maplinked", dir);
	snprintf(link2, sizeof(link2), "%s/maplinked.stays", dir);
	if (ftruncate(other, 4096) || link(path, link2))
		corrupt("linking maplinked");
	mlinked = mmap(NULL, 4096, PROT_READ, MAP_SHARED, other, 0);
	if (mlinked == MAP_FAILED)
		corrupt("mapping maplinked");
	close(other);
	xunlink(dir, "maplinked");

	/* opath on symlinks */
	snprintf(path, sizeof(path), "%s/symlink", dir);
	if (symlink("/the/target", path))
		corrupt("making symlink");
	sl = open(path, O_PATH | O_NOFOLLOW);
	snprintf(path, sizeof(path), "%s/symlink.gone", dir);
	if (symlink("gone/target", path))
		corrupt("making symlink.gone");
	gone_sl = open(path, O_PATH | O_NOFOLLOW);
	if (sl < 0 || gone_sl < 0)
		corrupt("opening symlinks");
	xunlink(dir, "symlink.gone");

	tmp = open(dir, O_TMPFILE | O_RDWR, 0600);
	if (tmp < 0 || write(tmp, "tmp", 3) != 3)
		corrupt("O_TMPFILE");

	lease = xopen(dir, "leased", O_RDONLY | O_CREAT);
	if (fcntl(lease, F_SETLEASE, F_RDLCK))
		corrupt("taking a read lease");

	snprintf(path, sizeof(path), "%s/zero", dir);
	dev = -1;
	if (!mknod(path, S_IFCHR | 0640, makedev(1, 5))) {
		dev = xopen(dir, "zero", O_RDONLY);
		xunlink(dir, "zero");
	}

	signal(SIGIO, SIG_IGN);		/* the lease break */
	wlease = xopen(dir, "breaking", O_RDWR | O_CREAT);
	snprintf(path, sizeof(path), "%s/breaking", dir);
	if (fcntl(wlease, F_SETLEASE, F_WRLCK) ||
	    open(path, O_RDONLY | O_NONBLOCK) != -1 || errno != EWOULDBLOCK)
		corrupt("breaking a write lease");
	{
		struct f_owner_ex me = { F_OWNER_PID, getpid() }, group = { F_OWNER_PGRP, getpgrp() };
		if (fcntl(mapped, F_SETOWN_EX, &me) || fcntl(mapped, F_SETSIG, SIGRTMIN + 1) ||
		    fcntl(rd, F_SETOWN_EX, &group))
			corrupt("setting owners");
	}
	signal(SIGUSR1, on_usr1);
	printf("ready pid %d\n", getpid());
	for (tick = 1;; tick++) {
		struct timespec ts = { 0, 200000000 };
		off_t data, hole;
		int again;

		while (nanosleep(&ts, &ts))
			;
		/* wronly */
		if ((fcntl(wr, F_GETFL) & O_ACCMODE) != O_WRONLY || fstat(wr, &st))
			corrupt("wronly: access mode");
		if (st.st_nlink || (st.st_mode & 07777) != 06604 || st.st_mtime != 123456 ||
		    st.st_atime != 654321 || st.st_size != HOLE_AT + 100)
			corrupt("wronly: attributes (mode %o mtime %ld atime %ld size %ld)",
				st.st_mode & 07777, (long)st.st_mtime, (long)st.st_atime,
				(long)st.st_size);
		same_inode(wr, rd, "wronly and its second link");
		if (pread(rd, buf, 4096, 0) != 4096 || buf[0] != 'A' || buf[4095] != 'A' ||
		    pread(rd, buf, 100, HOLE_AT) != 100 || buf[0] != 'A' || buf[99] != 'B')
			corrupt("wronly: contents");
		data = lseek(rd, 4096, SEEK_DATA);
		hole = lseek(rd, 0, SEEK_HOLE);
		if (hole != 4096 || data != (HOLE_AT & ~4095))
			corrupt("wronly: the hole was filled (hole at %ld, data at %ld)", (long)hole,
				(long)data);
		/* mapped */
		snprintf(buf, sizeof(buf), "tick %d", tick);
		if (pwrite(mapped, buf, strlen(buf) + 1, 0) != (ssize_t)strlen(buf) + 1 ||
		    strcmp(shared, buf) || memcmp(shared + 4096, "file", 4))
			corrupt("mapped: a write through the fd is not in the shared map");
		if (strcmp(private, "private copy") || memcmp(private + 4096, "file", 4))
			corrupt("mapped: private map");
		/* memfds */
		if (strcmp(mshared, "sealed") || strcmp(monly, "only mapped") ||
		    fcntl(mfd, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW))
			corrupt("memfd contents or seals");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
		if (readlink(path, buf, sizeof(buf)) < 0 || strncmp(buf, "/memfd:ghosts-sealed", 20))
			corrupt("memfd name");
		/* dirs */
		again = open(".", O_RDONLY | O_DIRECTORY);
		if (again < 0 || fstat(dirfd, &st))
			corrupt("cwd");
		same_inode(again, dirfd, "cwd and the fd on it");
		close(again);
		if (!S_ISDIR(st.st_mode) || st.st_nlink || (st.st_mode & 07777) != 0751)
			corrupt("removed dir (nlink %ld mode %o)", (long)st.st_nlink, st.st_mode);
		/* linked */
		other = xopen(dir, "linked.stays", O_RDONLY);
		same_inode(linked, other, "linked and the link that stays");
		close(other);
		other = xopen(dir, "maplinked.stays", O_WRONLY);
		if (pwrite(other, buf, snprintf(buf, sizeof(buf), "tick %d", tick) + 1, 0) <= 0 ||
		    strcmp(mlinked, buf))
			corrupt("a write through the link that stays is not in the mapping");
		close(other);
		/* opath */
		if (readlinkat(sl, "", buf, sizeof(buf)) != 11 || memcmp(buf, "/the/target", 11) ||
		    readlinkat(gone_sl, "", buf, sizeof(buf)) != 11 || memcmp(buf, "gone/target", 11) ||
		    !(fcntl(sl, F_GETFL) & O_PATH))
			corrupt("O_PATH symlinks");
		/* tmpfile */
		if (link_tmpfile) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", tmp);
			snprintf(link2, sizeof(link2), "%s/tmp.linked", dir);
			if (linkat(AT_FDCWD, path, AT_FDCWD, link2, AT_SYMLINK_FOLLOW))
				corrupt("O_TMPFILE file cannot be linked");
			printf("tmpfile linked\n");
			link_tmpfile = 0;
		}
		/* owner */
		{
			struct f_owner_ex a, b;
			if (fcntl(mapped, F_GETOWN_EX, &a) || fcntl(rd, F_GETOWN_EX, &b) ||
			    a.type != F_OWNER_PID || a.pid != getpid() ||
			    b.type != F_OWNER_PGRP || b.pid != getpgrp() ||
			    fcntl(mapped, F_GETSIG) != SIGRTMIN + 1 || fcntl(rd, F_GETSIG) != 0)
				corrupt("fd owners or signals");
		}
		/* device */
		if (dev >= 0) {
			buf[0] = 1;
			if (fstat(dev, &st) || st.st_nlink || st.st_mode != (S_IFCHR | 0640) ||
			    st.st_rdev != makedev(1, 5) || read(dev, buf, 1) != 1 || buf[0])
				corrupt("removed device node");
		}
		/* lease */
		if (fcntl(lease, F_GETLEASE) != F_RDLCK || fcntl(wlease, F_GETLEASE) != F_RDLCK)
			corrupt("leases");
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", wlease);
		other = open(path, O_RDONLY);
		memset(buf, 0, sizeof(buf));
		if (other < 0 || read(other, buf, sizeof(buf) - 1) <= 0 ||
		    !strstr(buf, "LEASE  BREAKING  READ"))
			corrupt("the write lease is not being broken: %s", buf);
		close(other);
		printf("tick %d ok\n", tick);
	}
}
