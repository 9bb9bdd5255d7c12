/* Clocks across hosts: CLOCK_MONOTONIC and CLOCK_BOOTTIME as the process
 * saw them at the freeze (process_rec clock_*_ns); restart puts the
 * restored process in a new time namespace (Linux 5.6+) whose offsets make
 * them go on from there, so they never jump backwards nor by the
 * difference of the hosts' uptimes (`restart --no-timens`: the host's
 * clocks).  The time spent frozen does not show either.
 *
 * Offsets of a time namespace are relative to the kernel's clocks, while
 * clock_gettime() gives the caller's own view: both sides read
 * /proc/PID/timens_offsets (the process's, ours) to get from one to the
 * other. */
#define LOG_PREFIX "timens: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct offsets {
	int64_t mono, boot;	/* ns */
};

/* The offsets of pid's time namespace (0 when it is the host's, or the
 * kernel has none). */
static void read_offsets(const char *path, struct offsets *o)
{
	char name[32];
	long long sec, nsec;
	FILE *f = fopen(path, "re");

	memset(o, 0, sizeof(*o));
	if (!f)
		return;
	while (fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3) {
		int64_t v = sec * 1000000000ll + nsec;
		if (!strcmp(name, "monotonic") || !strcmp(name, "1"))
			o->mono = v;
		else if (!strcmp(name, "boottime") || !strcmp(name, "7"))
			o->boot = v;
	}
	fclose(f);
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int timens_dump(struct dump_ctx *ctx)
{
	struct process_rec *p = ctx->meta.process;
	struct offsets ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", ctx->live);
	read_offsets("/proc/self/timens_offsets", &ours);
	read_offsets(path, &theirs);
	p->clock_monotonic_ns = clock_ns(CLOCK_MONOTONIC) - ours.mono + theirs.mono;
	p->clock_boottime_ns = clock_ns(CLOCK_BOOTTIME) - ours.boot + theirs.boot;
	return 0;
}

/* Seconds rounded down and nanoseconds in [0, 1e9): what the kernel takes. */
static long long sec_of(int64_t ns)
{
	return ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
}

static long long nsec_of(int64_t ns)
{
	return ns - sec_of(ns) * 1000000000ll;
}

bool timens_available(void)
{
	return access("/proc/self/ns/time", F_OK) == 0;
}

int timens_prepare(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	struct offsets ours;
	int64_t mono, boot;
	char text[128];
	int fd, len;

	if (ctx->opts->no_timens || !p->clock_monotonic_ns || !p->clock_boottime_ns)
		return 0;
	if (!timens_available()) {
		pr_info("no time namespaces here (Linux 5.6+): the process sees this host's "
			"clocks");
		return 0;
	}
	read_offsets("/proc/self/timens_offsets", &ours);
	mono = (int64_t)p->clock_monotonic_ns - (clock_ns(CLOCK_MONOTONIC) - ours.mono);
	boot = (int64_t)p->clock_boottime_ns - (clock_ns(CLOCK_BOOTTIME) - ours.boot);
	if (unshare(CLONE_NEWTIME)) {
		if (errno == EPERM) {
			pr_warn("no time namespace (it needs CAP_SYS_ADMIN): CLOCK_MONOTONIC "
				"jumps by %+.3f s for the process", -mono / 1e9);
			return 0;
		}
		return fail(errno, "restart with --no-timens", "creating a time namespace");
	}
	/* Written before any process is in it: the restored one is the first. */
	len = snprintf(text, sizeof(text), "monotonic %lld %lld\nboottime %lld %lld\n",
		       sec_of(mono), nsec_of(mono), sec_of(boot), nsec_of(boot));
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != len) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return fail(err, "restart with --no-timens", "setting the clock offsets of the "
			    "time namespace (monotonic %+.3f s, boottime %+.3f s)", mono / 1e9,
			    boot / 1e9);
	}
	close(fd);
	pr_info("time namespace: CLOCK_MONOTONIC %+.3f s, CLOCK_BOOTTIME %+.3f s from this "
		"host's", mono / 1e9, boot / 1e9);
	return 0;
}

const struct state_ops timens_state_ops = {
	.name = "clocks",
	.dump = timens_dump,
};
