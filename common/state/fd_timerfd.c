/* timerfd: clock, time left, interval and expirations not yet read, from
 * fdinfo; re-armed relative to now, ticks put back with TFD_IOC_SET_TICKS. */
#define LOG_PREFIX "fds: "
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static bool is_timerfd(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[timerfd]");
}

static bool scan_time(const char *fdinfo, const char *key, uint64_t *ns)
{
	const char *at = strstr(fdinfo, key);
	long long sec, nsec;

	if (!at || sscanf(at + strlen(key), ": (%lld, %lld)", &sec, &nsec) != 2)
		return false;
	*ns = sec * 1000000000ull + nsec;
	return true;
}

static int dump_timerfd(struct dump_ctx *ctx, const struct fd_dump *d, struct fd_rec *rec)
{
	unsigned long long ticks;
	int clockid;

	(void)ctx;
	if (!fdinfo_scan(d->fdinfo, "clockid", "%d", &clockid) ||
	    !fdinfo_scan(d->fdinfo, "ticks", "%llu", &ticks) ||
	    !scan_time(d->fdinfo, "it_value", &rec->value_ns) ||
	    !scan_time(d->fdinfo, "it_interval", &rec->interval_ns))
		return fail_why("unexpected timerfd fdinfo", NULL, "checking fd %d", d->fd);
	rec->clockid = clockid;
	rec->count = ticks;
	return 0;
}

static int open_timerfd(struct fd_child *c, const struct fd_rec *rec)
{
	struct itimerspec its = {
		{ rec->interval_ns / 1000000000ull, rec->interval_ns % 1000000000ull },
		{ rec->value_ns / 1000000000ull, rec->value_ns % 1000000000ull },
	};
	uint64_t ticks = rec->count;
	int fd = timerfd_create(rec->clockid, rec->flags & O_NONBLOCK ? TFD_NONBLOCK : 0);

	(void)c;
	/* A periodic timer that expired and was not read yet shows no time
	 * left (the kernel re-arms it on read): its next expiry is one
	 * period on, after the ticks restored below. */
	if (!rec->value_ns && rec->interval_ns)
		its.it_value = its.it_interval;
	if (fd < 0)
		return fail(errno, NULL, "recreating timerfd %d (clock %d)", rec->fd, rec->clockid);
	if (((its.it_value.tv_sec || its.it_value.tv_nsec) && timerfd_settime(fd, 0, &its, NULL)) ||
	    (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks))) {
		fail(errno, NULL, "re-arming timerfd %d", rec->fd);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_kind_ops fd_timerfd_kind = {
	.kind = FD_TIMERFD,
	.name = "timerfd",
	.tag = "timerfd",
	.match = is_timerfd,
	.dump = dump_timerfd,
	.open = open_timerfd,
};
