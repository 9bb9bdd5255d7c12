/* Pseudo-terminal pairs the process holds itself: a /dev/ptmx master, with
 * or without fds on its /dev/pts/N slave, and slaves whose master was
 * closed (hung up: "/dev/pts/N (deleted)").  A slave whose master another
 * process holds is not one of these: it is reopened by its path (a
 * character device, fd_path.c).
 *
 * Dump: the pty's index (fdinfo "tty-index" of the master, the minor of a
 * slave), the slave's termios (termios ioctls on a master reach its slave;
 * the master's own are raw and fixed), the window size, packet mode, the lock
 * (unlockpt), the slave's exclusive mode, whether the slave is the
 * controlling terminal of the session the process leads, and the data
 * queued for each side to read.  Reading the queues consumes them: the
 * slave's is read with it made non-canonical for the time of it (a line not
 * finished yet is readable then); each is given back at once with TIOCSTI,
 * echo and input processing off, so the process goes on with what it had.
 * A pending packet-mode status byte cannot be saved: refused.
 *
 * A controlling terminal no fd holds any more (the session leader opened
 * its slave, made it its terminal, closed it) whose master the process or
 * its tree holds: ckpt opens the slave itself (TIOCGPTPEER on its copy of
 * the master, or by its path when the master is in another process of the
 * tree) and saves it as a file not in the table (fd_rec.inflight, above
 * every fd), the controlling terminal; restart opens it, makes it the
 * terminal again, and closes it.
 *
 * Restore: a new pair is made the first time one of its fds is opened
 * (TIOCGPTPEER opens the slave, whatever its number now), the settings put
 * back, the queued data written again the same way; the controlling
 * terminal is made again (setsid, TIOCSCTTY) before /dev/tty fds are
 * opened (FD_DEVTTY, late).  Once every fd is in place, the lock and
 * exclusive mode come back, and the master of a hung-up slave is closed:
 * the slave is hung up again. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

enum {
	PTY_PACKET = 1,		/* master: TIOCPKT on */
	PTY_LOCKED = 2,		/* master: the slave cannot be opened (no unlockpt) */
	PTY_EXCL = 4,		/* slave: TIOCEXCL */
	PTY_CTTY = 8,		/* slave: controlling terminal of the process's session */
	PTY_HUNGUP = 16,	/* slave: its master was closed */
	PTY_SLAVE_CLOSED = 32,	/* master: its slave was opened and closed since */
	PTY_FLAGS = 63,
};

#define PTY_DATA_MAX 65536	/* well above the n_tty buffer (4 KiB) */

/* SLOT_PTY: the pairs made so far. */
struct pty_pair {
	uint64_t index;		/* at dump */
	int master;		/* where the master is now in the child */
	bool slave_done;	/* the slave's settings are back */
	bool hung_up;		/* its master closed again */
	bool group;		/* made by an ancestor for several processes */
};
struct pty_slot {
	struct pty_pair *pairs;
	size_t n;
};

static bool is_ptmx(const struct fd_dump *d)
{
	int index;

	return S_ISCHR(d->st.st_mode) && d->st.st_rdev == makedev(5, 2) &&
	       fdinfo_scan(d->fdinfo, "tty-index", "%d", &index);
}

static bool is_pts(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) >= 136 && major(st->st_rdev) <= 143;
}

static unsigned pts_index(const struct stat *st)
{
	return (major(st->st_rdev) - 136) * 256 + minor(st->st_rdev);
}

static bool hung_up(const struct fd_dump *d)
{
	size_t len = strlen(d->link);

	return len > 10 && !strcmp(d->link + len - 10, " (deleted)");
}

/* A slave of a pair inside the process: its master is one of its fds, or
 * gone. */
static bool is_pty_slave(const struct fd_dump *d)
{
	size_t j;
	int index;

	if (!is_pts(&d->st))
		return false;
	if (hung_up(d))
		return true;
	for (j = 0; j < d->nall; j++)
		if (is_ptmx(&d->all[j]) &&
		    fdinfo_scan(d->all[j].fdinfo, "tty-index", "%d", &index) &&
		    (unsigned)index == pts_index(&d->st))
			return true;
	/* Its master in another process of the tree. */
	for (j = 0; d->tree_pipes && j < d->tree_pipes->n; j++)
		if (d->tree_pipes->ends[j].ptmx && d->tree_pipes->ends[j].ino == pts_index(&d->st))
			return true;
	return false;
}

static bool is_devtty(const struct fd_dump *d)
{
	return S_ISCHR(d->st.st_mode) && d->st.st_rdev == makedev(5, 0);
}

/* Queue data for a side to read again, as typed with echo and input
 * processing off: t is the slave's settings (already set), NULL for the
 * master, whose own settings are raw and fixed (termios ioctls on a master
 * reach its slave). */
static int put_queue(int fd, const struct termios *t, const void *data, size_t len,
		     const char *what)
{
	struct termios in;
	size_t i;

	if (!len)
		return 0;
	for (i = 0; !t && i < len; i++)
		if (ioctl(fd, TIOCSTI, (const char *)data + i))
			return fail(errno, errno == EPERM || errno == EIO ? "TIOCSTI needs "
				    "CAP_SYS_ADMIN" : NULL, "restoring the queue of %s", what);
	if (!t)
		return 0;
	in = *t;
	in.c_iflag = 0;
	in.c_lflag &= ICANON | EXTPROC;
	for (i = 0; i < NCCS; i++)
		if (i != VEOL && i != VEOL2 && i != VMIN && i != VTIME)
			in.c_cc[i] = _POSIX_VDISABLE;
	if (tcsetattr(fd, TCSANOW, &in))
		return fail(errno, NULL, "restoring the queue of %s", what);
	for (i = 0; i < len; i++)
		if (ioctl(fd, TIOCSTI, (const char *)data + i))
			return fail(errno, errno == EPERM || errno == EIO ? "TIOCSTI needs "
				    "CAP_SYS_ADMIN" : NULL, "restoring the queue of %s", what);
	if (tcsetattr(fd, TCSANOW, t))
		return fail(errno, NULL, "restoring the settings of %s", what);
	return 0;
}

/* The master's queue (what the slave wrote): FIONREAD bytes can be read
 * without blocking (its settings are raw, VMIN 1), once a poll has made
 * the kernel hand what it holds to the line discipline. */
static int take_master_queue(int fd, struct blob *out, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *buf = NULL;
	size_t len = 0;
	int n, ret = -1;

	poll(&pfd, 1, 0);
	while (!ioctl(fd, FIONREAD, &n) && n > 0) {
		char *more = len + n <= PTY_DATA_MAX ? realloc(buf, len + n) : NULL;
		ssize_t got;

		if (!more) {
			fail_why("too much data queued", NULL, "reading the queue of %s", what);
			goto out;
		}
		buf = more;
		got = read(fd, buf + len, n);
		if (got <= 0) {
			fail(got ? errno : EIO, NULL, "reading the queue of %s", what);
			goto out;
		}
		len += got;
	}
	ret = 0;
out:
	if (put_queue(fd, NULL, buf, len, what))
		ret = -1;
	if (!ret && len && blob_set(out, buf, len))
		ret = -1;
	free(buf);
	return ret;
}

/* The slave's queue (what the master wrote), with t its settings, and give
 * it back. */
static int take_slave_queue(int fd, const struct termios *t, struct blob *out, const char *what)
{
	struct termios raw = *t;
	char *buf = NULL;
	size_t len = 0;
	int ret = -1;

	raw.c_lflag &= ~ICANON;
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &raw))
		return fail(errno, NULL, "reading the queue of %s", what);
	/* A read, unlike FIONREAD, first waits for what the kernel has not
	 * handed to the line discipline yet; it ends with 0 (or EAGAIN, EIO
	 * once the other side is closed) when the queue is empty. */
	for (;;) {
		char *more = len < PTY_DATA_MAX ? realloc(buf, len + 4096) : NULL;
		ssize_t got;

		if (!more) {
			fail_why("too much data queued", NULL, "reading the queue of %s", what);
			goto out;
		}
		buf = more;
		got = read(fd, buf + len, 4096);
		if (got <= 0)
			break;
		len += got;
	}
	ret = 0;
out:
	/* Back to its settings (the queue is empty: nothing else changes), then
	 * the data again. */
	if (tcsetattr(fd, TCSANOW, t))
		ret = fail(errno, NULL, "restoring the settings of %s", what);
	if (put_queue(fd, t, buf, len, what))
		ret = -1;
	if (!ret && len && blob_set(out, buf, len))
		ret = -1;
	free(buf);
	return ret;
}

/* Can ckpt give a queue back (TIOCSTI on a terminal not its own needs
 * CAP_SYS_ADMIN)?  Without it a queue is only read when there is none:
 * FIONREAD says so, but not of a canonical-mode slave (a line not finished
 * yet does not count), which is refused then. */
static bool can_give_back(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	return !syscall(SYS_capget, &h, data) && (data[0].effective & (1u << CAP_SYS_ADMIN));
}

static int check_queue_readable(int fd, bool canonical, const char *what)
{
	int n = 0;

	if (can_give_back())
		return 0;
	if (canonical || (!ioctl(fd, FIONREAD, &n) && n > 0))
		return fail_why("saving what its terminal has queued needs CAP_SYS_ADMIN "
				"(TIOCSTI gives it back)", "checkpoint as root", "checking %s",
				what);
	return 1;
}

/* A process other than pid, and not of the tree tp being dumped, holding
 * the slave of index open (its terminal, a child's): the pair is not the
 * tree's alone.  0 if none. */
static pid_t slave_elsewhere(pid_t pid, const struct tree_pipes *tp, unsigned index)
{
	DIR *proc = opendir("/proc"), *fds;
	struct dirent *p, *f;
	char path[300];
	struct stat st;
	pid_t found = 0;

	while (proc && !found && (p = readdir(proc))) {
		pid_t other = atoi(p->d_name);

		if (other <= 0 || other == pid || other == getpid() || tree_has_pid(tp, other))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", other);
		if (!(fds = opendir(path)))
			continue;
		while (!found && (f = readdir(fds))) {
			if (f->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", other, f->d_name);
			if (!stat(path, &st) && is_pts(&st) && pts_index(&st) == index)
				found = other;
		}
		closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

static int dump_master(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct termios t;
	struct winsize ws;
	struct pollfd pfd = { .events = POLLPRI };
	int fd, index, packet = 0, locked = 0, off = 0, on = 1, ret = -1;
	pid_t other;
	char what[64];

	fdinfo_scan(d->fdinfo, "tty-index", "%d", &index);
	rec->object_id = index;
	snprintf(what, sizeof(what), "pty master fd %d", d->fd);
	if ((other = slave_elsewhere(ctx->pid, ctx->tree_pipes, index)))
		return fail_why("its slave is open in a process outside the tree being "
				"checkpointed", "checkpoint a common ancestor of the processes "
				"holding the pty, with its descendants",
				"checking %s (/dev/pts/%d open in process %d)", what, index, other);
	if ((fd = fd_steal(ctx->live, d->fd)) < 0)
		return -1;
	if (tcgetattr(fd, &t) || ioctl(fd, TIOCGWINSZ, &ws) || ioctl(fd, TIOCGPKT, &packet) ||
	    ioctl(fd, TIOCGPTLCK, &locked)) {
		fail(errno, NULL, "reading the settings of %s", what);
		goto out;
	}
	rec->pty_flags = (packet ? PTY_PACKET : 0) | (locked ? PTY_LOCKED : 0);
	pfd.fd = fd;
	/* No slave open (none is in the process, nor elsewhere): POLLHUP
	 * tells one was, and reads say EIO, not EAGAIN. */
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP))
		rec->pty_flags |= PTY_SLAVE_CLOSED;
	if (packet && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLPRI)) {
		fail_why("a packet-mode status byte is pending (it cannot be saved)",
			 "read it from the master before checkpointing", "checking %s", what);
		goto out;
	}
	if (blob_set(&rec->termios, &t, sizeof(t)) || blob_set(&rec->winsize, &ws, sizeof(ws)))
		goto out;
	/* Packet mode would put a status byte before the data read: off for
	 * the time of it (no status is pending, nothing is lost). */
	if (packet && ioctl(fd, TIOCPKT, &off)) {
		fail(errno, NULL, "reading the queue of %s", what);
		goto out;
	}
	ret = check_queue_readable(fd, false, what);
	ret = ret ? (ret < 0 ? -1 : 0) : take_master_queue(fd, &rec->data, what);
	if (packet && ioctl(fd, TIOCPKT, &on))
		ret = fail(errno, NULL, "restoring packet mode of %s", what);
out:
	close(fd);
	return ret;
}

/* The controlling terminal of the session the process leads, a pty
 * slave no fd of it holds, whose master it (or its tree) holds: our own
 * copy of the slave, as a file not in the table (see the top). */
static int collect_ctty(struct dump_ctx *ctx, struct fd_dump **all, size_t *n)
{
	dev_t tty = (dev_t)ctx->stat.tty_nr;
	struct fd_dump *grown;
	int master = -1, index, fd = -1, number;
	bool tree_master = false;
	struct stat st;
	char path[64];
	size_t i;

	if (!tty || ctx->stat.session != ctx->pid || major(tty) < 136 || major(tty) > 143)
		return 0;
	index = (major(tty) - 136) * 256 + minor(tty);
	for (i = 0; i < *n; i++) {
		int x;
		if ((*all)[i].own_fd < 0 && is_pts(&(*all)[i].st) && (*all)[i].st.st_rdev == tty)
			return 0;	/* an fd of it: saved with it */
		if ((*all)[i].own_fd < 0 && master < 0 && is_ptmx(&(*all)[i]) &&
		    fdinfo_scan((*all)[i].fdinfo, "tty-index", "%d", &x) && x == index)
			master = (*all)[i].fd;
	}
	for (i = 0; ctx->tree_pipes && i < ctx->tree_pipes->n; i++)
		tree_master |= ctx->tree_pipes->ends[i].ptmx &&
			       ctx->tree_pipes->ends[i].ino == (uint64_t)index;
	if (master < 0 && !tree_master)
		return 0;	/* restart's terminal stands in (tty.c) */
	if (master >= 0) {
		int m = fd_steal(ctx->live, master);
		if (m < 0)
			return -1;
		fd = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		close(m);
	} else {
		snprintf(path, sizeof(path), "/dev/pts/%d", index);
		fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && (fstat(fd, &st) || st.st_rdev != tty)) {
			close(fd);
			fd = -1;
			errno = ENOENT;
		}
	}
	if (fd < 0)
		return fail(errno, NULL, "opening the controlling terminal of process %d "
			    "(/dev/pts/%d, no fd of it open) to save it", ctx->pid, index);
	number = *n ? (*all)[*n - 1].fd + 1 : 0;
	if (!(grown = realloc(*all, (*n + 2) * sizeof(**all)))) {
		close(fd);
		return fail(ENOMEM, NULL, "recording fds");
	}
	*all = grown;
	memset(&grown[*n + 1], 0, sizeof(grown[*n + 1]));
	if (fd_dump_read_own(fd, number, &grown[*n])) {
		close(fd);
		return -1;
	}
	(*n)++;
	return 0;
}

static int dump_slave(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	struct termios t;
	int fd, excl = 0, ret;
	size_t j;
	char what[64];

	rec->object_id = pts_index(&d->st);
	if (hung_up(d)) {
		rec->pty_flags = PTY_HUNGUP;
		return 0;
	}
	if (d->own_fd >= 0) {
		/* Our copy of its controlling terminal (collect_ctty); not a
		 * slave in flight in a unix socket queue. */
		char *text;
		if ((dev_t)ctx->stat.tty_nr != d->st.st_rdev || ctx->stat.session != ctx->stat.pid)
			return fail_why("it is in flight in a unix socket queue (SCM_RIGHTS), and "
					"a pty slave cannot be saved from there yet", "receive it "
					"before checkpointing", "checking %s", d->link);
		rec->pty_flags |= PTY_CTTY;
		if (asprintf(&text, "/dev/pts/%u (controlling terminal, no fd open)",
			     pts_index(&d->st)) < 0)
			return fail(ENOMEM, NULL, "recording fds");
		free(rec->description);
		rec->description = text;
	}
	/* The settings and the queue are the slave's, whatever its fds: with
	 * the first of them. */
	for (j = 0; &d->all[j] != d; j++)
		if (is_pts(&d->all[j].st) && d->all[j].st.st_rdev == d->st.st_rdev)
			return 0;
	if (d->own_fd < 0 && ctx->stat.tty_nr && (dev_t)ctx->stat.tty_nr == d->st.st_rdev &&
	    ctx->stat.session == ctx->pid)
		rec->pty_flags |= PTY_CTTY;
	snprintf(what, sizeof(what), "pty slave fd %d (%s)", d->fd, d->link);
	if ((fd = fd_steal(ctx->live, d->fd)) < 0)
		return -1;
	if (tcgetattr(fd, &t) || ioctl(fd, TIOCGEXCL, &excl)) {
		close(fd);
		return fail(errno, NULL, "reading the settings of %s", what);
	}
	if (excl)
		rec->pty_flags |= PTY_EXCL;
	ret = blob_set(&rec->termios, &t, sizeof(t)) ? -1 :
	      check_queue_readable(fd, t.c_lflag & ICANON, what);
	ret = ret ? (ret < 0 ? -1 : 0) : take_slave_queue(fd, &t, &rec->data, what);
	close(fd);
	if (!ret && (t.c_lflag & ICANON) && rec->data.len && memchr(rec->data.data, 0, rec->data.len))
		return fail_why("its queued input holds a NUL or end-of-file mark (they cannot "
				"be told apart)", "read it before checkpointing", "checking %s",
				what);
	return ret;
}

static const struct fd_rec *master_rec(const struct image_meta *m, uint64_t index)
{
	size_t i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].kind == FD_PTY_MASTER && !m->fds[i].share_index &&
		    m->fds[i].object_id == index)
			return &m->fds[i];
	return NULL;
}

static int check_pty(struct restore_ctx *ctx, const struct fd_rec *rec)
{
	bool master = rec->kind == FD_PTY_MASTER;
	/* Its master may be in another process: restart/shared.c checks. */
	bool in_tree = ctx->prefix[0] || ctx->meta.ntree > 1;

	if (rec->object_id >= (1 << 20) || (rec->pty_flags & ~PTY_FLAGS) ||
	    (rec->termios.len && rec->termios.len != sizeof(struct termios)) ||
	    (rec->winsize.len && rec->winsize.len != sizeof(struct winsize)) ||
	    rec->data.len > PTY_DATA_MAX ||
	    (master && (rec->pty_flags & (PTY_EXCL | PTY_CTTY | PTY_HUNGUP))) ||
	    (!master && (rec->pty_flags & (PTY_PACKET | PTY_LOCKED | PTY_SLAVE_CLOSED))) ||
	    (!master && !(rec->pty_flags & PTY_HUNGUP) && !in_tree &&
	     !master_rec(&ctx->meta, rec->object_id)))
		return fail_why("invalid pty record", "the image is corrupted", "checking fd %d",
				rec->fd);
	if (!master && (rec->pty_flags & PTY_HUNGUP) && master_rec(&ctx->meta, rec->object_id))
		return fail_why("invalid pty record (hung up, with its master)",
				"the image is corrupted", "checking fd %d", rec->fd);
	return 0;
}

/* The pair of index, made now if it is not yet: the master with the
 * flags and settings of its record, unlocked (locked again in finish). */
static struct pty_pair *pair_of(struct fd_child *c, uint64_t index)
{
	const struct fd_rec *m = master_rec(&c->ctx->meta, index);
	struct pty_slot *s = c->ctx->slot[SLOT_PTY];
	struct pty_pair *p, *more;
	int fd, unlock = 0;
	size_t i;

	if (!s && !(s = c->ctx->slot[SLOT_PTY] = calloc(1, sizeof(*s)))) {
		fail(ENOMEM, NULL, "restoring ptys");
		return NULL;
	}
	for (i = 0; i < s->n; i++)
		if (s->pairs[i].index == index)
			return &s->pairs[i];
	if (!(more = realloc(s->pairs, (s->n + 1) * sizeof(*more)))) {
		fail(ENOMEM, NULL, "restoring ptys");
		return NULL;
	}
	s->pairs = more;
	fd = open("/dev/ptmx", (m ? fd_reopen_flags(m) : O_RDWR) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		fail(errno, NULL, "making a new pty (/dev/ptmx)");
		return NULL;
	}
	if (ioctl(fd, TIOCSPTLCK, &unlock) ||
	    (m && m->termios.len && tcsetattr(fd, TCSANOW, m->termios.data)) ||
	    (m && m->winsize.len && ioctl(fd, TIOCSWINSZ, m->winsize.data)) ||
	    (m && put_queue(fd, NULL, m->data.data, m->data.len, "a pty master"))) {
		fail(errno, NULL, "setting up a new pty");
		close(fd);
		return NULL;
	}
	if ((fd = fd_spare(c, fd)) < 0)
		return NULL;
	p = &s->pairs[s->n++];
	*p = (struct pty_pair){ .index = index, .master = fd };
	return p;
}

static int open_master(struct fd_child *c, const struct fd_rec *rec)
{
	struct pty_pair *p = pair_of(c, rec->object_id);
	int fd;

	if (!p)
		return -1;
	/* From now on at its place. */
	fd = p->master;
	p->master = rec->fd;
	return fd;
}

static int open_slave(struct fd_child *c, const struct fd_rec *rec)
{
	struct pty_pair *p = pair_of(c, rec->object_id);
	char what[64];
	int fd;

	if (!p)
		return -1;
	snprintf(what, sizeof(what), "pty slave fd %d", rec->fd);
	fd = ioctl(p->master, TIOCGPTPEER, fd_reopen_flags(rec) | O_NOCTTY);
	if (fd < 0)
		return fail(errno, NULL, "opening the slave of a new pty (fd %d)", rec->fd);
	if (!rec->termios.len)
		return fd;
	/* The first slave fd: the slave's own settings, its queue. */
	if (tcsetattr(fd, TCSANOW, rec->termios.data) ||
	    put_queue(fd, rec->termios.data, rec->data.data, rec->data.len, what))
		goto err;
	/* Its controlling terminal again (not with restart --pty, whose own
	 * terminal it gets). */
	if ((rec->pty_flags & PTY_CTTY) && !c->ctx->opts->pty_slave) {
		if (getsid(0) != getpid() && setsid() < 0) {
			fail(errno, NULL, "starting a session for its terminal (fd %d)", rec->fd);
			goto err;
		}
		if (ioctl(fd, TIOCSCTTY, 0)) {
			fail(errno, NULL, "making fd %d the controlling terminal", rec->fd);
			goto err;
		}
	}
	p->slave_done = true;
	return fd;
err:
	close(fd);
	return -1;
}

/* Every fd in place: the lock, exclusive mode, packet mode; a slave opened
 * and closed again for a master whose slave was; a hung-up slave's master
 * closed. */
static int finish_pty(struct fd_child *c, const struct fd_rec *rec)
{
	struct pty_pair *p = pair_of(c, rec->object_id);
	int on = 1;

	if (!p)
		return -1;
	if ((rec->pty_flags & PTY_PACKET) && ioctl(rec->fd, TIOCPKT, &on))
		return fail(errno, NULL, "setting packet mode on pty master fd %d", rec->fd);
	if (rec->pty_flags & PTY_SLAVE_CLOSED) {
		int s = ioctl(rec->fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0)
			return fail(errno, NULL, "opening and closing the slave of pty master "
				    "fd %d", rec->fd);
		close(s);
	}
	if ((rec->pty_flags & PTY_LOCKED) && ioctl(rec->fd, TIOCSPTLCK, &on))
		return fail(errno, NULL, "locking pty master fd %d", rec->fd);
	if ((rec->pty_flags & PTY_EXCL) && ioctl(rec->fd, TIOCEXCL))
		return fail(errno, NULL, "setting exclusive mode on pty slave fd %d", rec->fd);
	/* A pair made by an ancestor: the controlling terminal is this
	 * process's own business. */
	if (p->group && (rec->pty_flags & PTY_CTTY) && !c->ctx->opts->pty_slave) {
		if (getsid(0) != getpid() && setsid() < 0)
			return fail(errno, NULL, "starting a session for its terminal (fd %d)",
				    rec->fd);
		if (ioctl(rec->fd, TIOCSCTTY, 0))
			return fail(errno, NULL, "making fd %d the controlling terminal", rec->fd);
	}
	if ((rec->pty_flags & PTY_HUNGUP) && !p->hung_up) {
		close(p->master);
		p->hung_up = true;
	}
	return 0;
}

bool fd_pty_index(const struct fd_rec *rec, uint64_t *index)
{
	if (rec->kind != FD_PTY_MASTER &&
	    (rec->kind != FD_PTY_SLAVE || (rec->pty_flags & PTY_HUNGUP)))
		return false;
	*index = rec->object_id;
	return true;
}

bool fd_pty_makes_ctty(const struct image_meta *m)
{
	size_t i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].kind == FD_PTY_SLAVE && (m->fds[i].pty_flags & PTY_CTTY))
			return true;
	return false;
}

/* Remember in ctx that the pair of index is made (its master at mfd). */
static int group_pair(struct restore_ctx *ctx, uint64_t index, int mfd)
{
	struct pty_slot *s = ctx->slot[SLOT_PTY];
	struct pty_pair *more;
	size_t i;

	if (!s && !(s = ctx->slot[SLOT_PTY] = calloc(1, sizeof(*s))))
		return fail(ENOMEM, NULL, "restoring ptys");
	for (i = 0; i < s->n; i++)
		if (s->pairs[i].index == index)
			return 0;
	if (!(more = realloc(s->pairs, (s->n + 1) * sizeof(*more))))
		return fail(ENOMEM, NULL, "restoring ptys");
	s->pairs = more;
	s->pairs[s->n++] = (struct pty_pair){ .index = index, .master = mfd,
					      .slave_done = true, .group = true };
	return 0;
}

int fd_pty_open_group(struct restore_ctx **ctxs, const struct fd_rec **recs, size_t n,
		      int spare_base, int *fds)
{
	const struct fd_rec *m = NULL;
	bool slave_done = false;
	int fd, mfd, unlock = 0;
	size_t i;

	for (i = 0; i < n && !m; i++)
		if (recs[i]->kind == FD_PTY_MASTER)
			m = recs[i];
	if (!m)
		return fail_why("a pty between processes without its master", "the image is "
				"corrupted", "checking pty fd %d", recs[0]->fd);
	for (i = 0; i < n; i++)
		fds[i] = -1;
	fd = open("/dev/ptmx", fd_reopen_flags(m) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, NULL, "making a new pty (/dev/ptmx) for the children");
	mfd = fcntl(fd, F_DUPFD_CLOEXEC, spare_base);
	close(fd);
	if (mfd < 0 || ioctl(mfd, TIOCSPTLCK, &unlock) ||
	    (m->termios.len && tcsetattr(mfd, TCSANOW, m->termios.data)) ||
	    (m->winsize.len && ioctl(mfd, TIOCSWINSZ, m->winsize.data)) ||
	    put_queue(mfd, NULL, m->data.data, m->data.len, "a pty master"))
		goto fail;
	for (i = 0; i < n; i++) {
		if (recs[i]->kind == FD_PTY_MASTER) {
			fds[i] = fcntl(mfd, F_DUPFD_CLOEXEC, spare_base);
		} else {
			fd = ioctl(mfd, TIOCGPTPEER, fd_reopen_flags(recs[i]) | O_NOCTTY | O_CLOEXEC);
			fds[i] = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, spare_base);
			if (fd >= 0)
				close(fd);
		}
		if (fds[i] < 0)
			goto fail;
		/* The slave's own settings and queue, once for the pair. */
		if (recs[i]->kind == FD_PTY_SLAVE && recs[i]->termios.len && !slave_done) {
			if (tcsetattr(fds[i], TCSANOW, recs[i]->termios.data) ||
			    put_queue(fds[i], recs[i]->termios.data, recs[i]->data.data,
				      recs[i]->data.len, "a pty slave"))
				goto fail;
			slave_done = true;
		}
	}
	for (i = 0; i < n; i++)
		if (group_pair(ctxs[i], m->object_id, mfd))
			goto fail;
	return 0;
fail:
	if (!error_is_set())
		fail(errno, NULL, "setting up a new pty for the children");
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (mfd >= 0)
		close(mfd);
	return -1;
}

static void release_pty(struct restore_ctx *ctx)
{
	struct pty_slot *s = ctx->slot[SLOT_PTY];

	if (!s)
		return;
	free(s->pairs);
	free(s);
	ctx->slot[SLOT_PTY] = NULL;
}

/* /dev/tty: the controlling terminal, once it is there again. */
static int open_devtty(struct fd_child *c, const struct fd_rec *rec)
{
	int fd = open("/dev/tty", fd_reopen_flags(rec) | O_NOCTTY);

	(void)c;
	if (fd < 0)
		return fail(errno, errno == ENXIO ? "the process has no controlling terminal" :
			    NULL, "reopening fd %d (/dev/tty)", rec->fd);
	return fd;
}

const struct fd_kind_ops fd_pty_master_kind = {
	.kind = FD_PTY_MASTER,
	.name = "pty master",
	.tag = "ptmx",
	.match = is_ptmx,
	.dump = dump_master,
	.check = check_pty,
	.open = open_master,
	.finish = finish_pty,
	.release = release_pty,
};
const struct fd_kind_ops fd_pty_slave_kind = {
	.kind = FD_PTY_SLAVE,
	.name = "pty slave",
	.tag = "pts",
	.match = is_pty_slave,
	.dump = dump_slave,
	.collect = collect_ctty,
	.inflight_ok = true,	/* only its own controlling terminal */
	.check = check_pty,
	.open = open_slave,
	.finish = finish_pty,
};
const struct fd_kind_ops fd_devtty_kind = {
	.kind = FD_DEVTTY,
	.name = "/dev/tty",
	.tag = "devtty",
	.match = is_devtty,
	.open = open_devtty,
	.late = true,
};
