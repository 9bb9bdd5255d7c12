/* A unix connection whose ends show given names (unix_named_connection.h).
 *
 * The kernel keeps, as a socket's address, the string given to bind();
 * the file it makes is only how connect() finds the socket, and an
 * accepted socket shares its listener's address.  So a temporary listener
 * is bound under a private root (chroot into a fresh directory of our
 * own, the name's directories made in it), the client connects to the
 * same string there and is accepted, and the directory is removed: both
 * ends show their names and the host's file system is as before.  We
 * leave the private root through a descriptor of the real one kept open
 * (fchdir, chroot "."), and go back to the working directory we had. */
#include "unix_named_connection.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static bool path_name(const struct sockaddr_un *sa, socklen_t len)
{
	return len > SUN_OFF && sa->sun_path[0];
}

/* mkdir -p of the directories above a path name (under the private root,
 * which is also the working directory: a relative name is under it). */
static int make_dirs(const struct sockaddr_un *sa, socklen_t len)
{
	char path[sizeof(sa->sun_path) + 1], *slash;

	memset(path, 0, sizeof(path));
	memcpy(path, sa->sun_path, len - SUN_OFF);
	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			return -1;
		*slash = '/';
	}
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

/* A private root, entered and left (the directory removed). */
struct private_root {
	char dir[32];
	int root, cwd;
	bool made, inside;
};

static int enter_private_root(struct private_root *pr)
{
	snprintf(pr->dir, sizeof(pr->dir), "/tmp/ckpt-names-XXXXXX");
	pr->cwd = -1;
	pr->made = pr->inside = false;
	if ((pr->root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (pr->cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (!mkdtemp(pr->dir))
		return -1;
	pr->made = true;
	if (chroot(pr->dir) || chdir("/"))
		return -1;
	pr->inside = true;
	return 0;
}

static void leave_private_root(struct private_root *pr)
{
	int err = errno;

	if (pr->inside && (fchdir(pr->root) || chroot("."))) {
		/* Root holding the old root open cannot fail here; if it
		 * did, this process must not go on under the wrong root. */
		perror("ckpt: leaving a private root");
		_exit(127);
	}
	if (pr->cwd >= 0 && fchdir(pr->cwd))
		(void)chdir("/");
	if (pr->root >= 0)
		close(pr->root);
	if (pr->cwd >= 0)
		close(pr->cwd);
	if (pr->made)
		nftw(pr->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	errno = err;
}

static int connect_in(int type, const struct sockaddr_un *name0, socklen_t len0,
		      const struct sockaddr_un *name1, socklen_t len1, int sv[2],
		      const char **step)
{
	int l;

	*step = "making a socket";
	if ((l = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0 ||
	    (sv[1] = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0)
		goto err;
	*step = "binding the listener's name";
	if ((path_name(name0, len0) && make_dirs(name0, len0)) ||
	    bind(l, (const struct sockaddr *)name0, len0))
		goto err;
	*step = "listening";
	if (listen(l, 1))
		goto err;
	*step = "binding the client's name";
	if (len1 > SUN_OFF && ((path_name(name1, len1) && make_dirs(name1, len1)) ||
			       bind(sv[1], (const struct sockaddr *)name1, len1)))
		goto err;
	*step = "connecting";
	if (connect(sv[1], (const struct sockaddr *)name0, len0))
		goto err;
	*step = "accepting";
	if ((sv[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		goto err;
	close(l);
	return 0;
err:
	{
		int err = errno;
		if (l >= 0)
			close(l);
		if (sv[1] >= 0)
			close(sv[1]);
		sv[1] = -1;
		errno = err;
	}
	return -1;
}

int unix_named_connection(int type, const struct sockaddr_un *name0, socklen_t len0,
			  const struct sockaddr_un *name1, socklen_t len1, int sv[2],
			  const char **step)
{
	struct private_root pr = { .root = -1, .cwd = -1 };
	int ret;

	sv[0] = sv[1] = -1;
	*step = "checking the names";
	if (len0 <= SUN_OFF || len0 > sizeof(*name0) || len1 > sizeof(*name1) ||
	    (type != SOCK_STREAM && type != SOCK_SEQPACKET)) {
		errno = EINVAL;
		return -1;
	}
	if (path_name(name0, len0) || path_name(name1, len1)) {
		*step = "entering a private root (chroot)";
		if (enter_private_root(&pr)) {
			leave_private_root(&pr);
			return -1;
		}
	}
	ret = connect_in(type, name0, len0, name1, len1, sv, step);
	leave_private_root(&pr);
	return ret;
}
