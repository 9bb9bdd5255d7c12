/* failnth.so: an LD_PRELOAD shim that makes one call of ckpt fail, for
 * the fault-injection tests (tests/integration/t-faults-ckpt.sh).
 *
 *   FAIL_CALL=ptrace|process_vm_readv|process_vm_writev|write|writev|pwrite|pread
 *                   (write and writev: only on fds above 2)
 *   FAIL_NTH=N      the Nth call of it fails (1-based; 0: none fails)
 *   FAIL_ERRNO=E    with this errno (default EIO)
 *   FAIL_COUNT=FILE at exit, write how many calls of FAIL_CALL were made
 *   FAIL_CALL=tcp_repair_on  setsockopt(SOL_TCP, TCP_REPAIR, 1)
 *   FAIL_CALL=tcp_repair_off setsockopt(SOL_TCP, TCP_REPAIR, 0)
 *   FAIL_ACTION=kill   (the tcp_repair calls) the call is made, then ckpt
 *                   kills itself (SIGKILL): ckpt dying at that point
 *   FAIL_ACTION=stop   the call is made, then ckpt stops itself (SIGSTOP):
 *                   the test looks at that moment, then kills it
 *
 * Only the calls ckpt makes through libc are seen (not raw syscall()).
 * Counting is per process and thread-safe. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned long calls;
static pid_t first_pid;

__attribute__((constructor)) static void start(void)
{
	first_pid = getpid();
}

static int fail_now(const char *name)
{
	const char *want = getenv("FAIL_CALL"), *nth, *err;
	unsigned long n;

	if (!want || strcmp(want, name))
		return 0;
	n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	nth = getenv("FAIL_NTH");
	if (!nth || strtoul(nth, NULL, 10) != n)
		return 0;
	err = getenv("FAIL_ERRNO");
	errno = err ? atoi(err) : EIO;
	return 1;
}

__attribute__((destructor)) static void report(void)
{
	const char *file = getenv("FAIL_COUNT");
	char buf[32];
	int fd, len;

	if (!file || getpid() != first_pid)
		return;	/* a child ckpt forked: not the count of the dump */
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "%lu\n", calls);
	if (write(fd, buf, len) < 0)
		len = 0;
	close(fd);
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

long ptrace(enum __ptrace_request req, ...)
{
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, req);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);
	if (fail_now("ptrace"))
		return -1;
	return REAL(ptrace)(req, pid, addr, data);
}

ssize_t process_vm_readv(pid_t pid, const struct iovec *l, unsigned long nl,
			 const struct iovec *r, unsigned long nr, unsigned long flags)
{
	if (fail_now("process_vm_readv"))
		return -1;
	return REAL(process_vm_readv)(pid, l, nl, r, nr, flags);
}

ssize_t process_vm_writev(pid_t pid, const struct iovec *l, unsigned long nl,
			  const struct iovec *r, unsigned long nr, unsigned long flags)
{
	if (fail_now("process_vm_writev"))
		return -1;
	return REAL(process_vm_writev)(pid, l, nl, r, nr, flags);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	if (fd > 2 && fail_now("write"))
		return -1;
	return REAL(write)(fd, buf, len);
}

ssize_t writev(int fd, const struct iovec *v, int n)
{
	if (fd > 2 && fail_now("writev"))
		return -1;
	return REAL(writev)(fd, v, n);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fail_now("pwrite"))
		return -1;
	return REAL(pwrite)(fd, buf, len, off);
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	if (fail_now("pread"))
		return -1;
	return REAL(pread)(fd, buf, len, off);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	const char *action = getenv("FAIL_ACTION");
	/* (ckpt's own calls: not those of the guard it forks, which undoes) */
	bool repair = level == SOL_TCP && name == TCP_REPAIR && len == sizeof(int) &&
		      getpid() == first_pid;
	int hit = repair && fail_now(*(const int *)val == 1 ? "tcp_repair_on" :
				     *(const int *)val == 0 ? "tcp_repair_off" : "tcp_repair"), ret;
	bool kill_self = action && !strcmp(action, "kill"), stop_self = action && !strcmp(action, "stop");

	if (hit && !kill_self && !stop_self)
		return -1;
	ret = REAL(setsockopt)(fd, level, name, val, len);
	if (hit)
		kill(getpid(), kill_self ? SIGKILL : SIGSTOP);
	return ret;
}
