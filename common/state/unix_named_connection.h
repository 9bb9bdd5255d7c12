/* A unix stream connection made again between processes of a tree, as
 * one accepted by a listener: the accepted end shows the listener's name,
 * its client shows that as its peer's (and its own name, if it had one). */
#ifndef CKPT_UNIX_NAMED_CONNECTION_H
#define CKPT_UNIX_NAMED_CONNECTION_H

#include <sys/socket.h>
#include <sys/un.h>

/* A connection of type (SOCK_STREAM or SOCK_SEQPACKET): sv[0] is
 * accepted by a listener bound to name0, from sv[1] bound to name1
 * (len1 <= offsetof sun_path: unnamed).  name0 is a name.  A socket
 * shows the string it was bound with, wherever its file is: path names
 * are bound in a private directory made the root for the time of it, and
 * their files go with it, so no file on the host is made, moved or
 * removed, and the live listener bound to the same path is no obstacle
 * (this needs CAP_SYS_CHROOT).  An abstract name0 is free again after
 * (the listener is closed); it must be free meanwhile.  Close-on-exec
 * fds.  0, or -1 with errno set and *step what failed. */
int unix_named_connection(int type, const struct sockaddr_un *name0, socklen_t len0,
			  const struct sockaddr_un *name1, socklen_t len1, int sv[2],
			  const char **step);

#endif
