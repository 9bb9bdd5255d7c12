/* One sock_diag dump (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY | NLM_F_DUMP)
 * for every socket family that has it: inet, unix, packet.  The request
 * is the family's; each message of the answer goes to a callback until
 * the dump is done. */
#include "fds.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIAG_BUF (64 * 1024)

int sock_diag_dump(const void *req, size_t len,
		   int (*each)(const struct nlmsghdr *h, void *arg), void *arg)
{
	char *buf = malloc(DIAG_BUF);
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int ret = -1, err = ENOMEM;

	if (!buf || nl < 0 || send(nl, req, len, 0) < 0) {
		err = buf ? errno : ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(nl, buf, DIAG_BUF, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n <= 0) {
			err = n ? errno : EIO;
			goto out;
		}
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				ret = 0;
				goto out;
			}
			/* (An NLMSG_ERROR goes to each() too, and ends the dump.) */
			if ((ret = each(h, arg)) != 0 || h->nlmsg_type == NLMSG_ERROR) {
				err = errno;
				goto out;
			}
		}
	}
out:
	if (nl >= 0)
		close(nl);
	free(buf);
	errno = err;
	return ret;
}
