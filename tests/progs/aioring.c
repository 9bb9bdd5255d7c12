/* aioring: Linux native AIO contexts (io_setup) with completions waiting
 * in their rings.  Usage: aioring FILE [fork]
 *
 * Makes three contexts and destroys the first, so that the two left have
 * the indexes 1 and 0 in the kernel's table (restart must keep each
 * working whatever index it gets).  Context B writes 300 records of 8
 * bytes to FILE, reaping each completion but the last 3: its ring (127
 * events) has wrapped, head != tail.  Context C writes 5 records, all
 * left in its ring.  Prints "ready", and on SIGUSR1 checks: both rings'
 * nr, head and tail as they were, the 8 waiting completions (data, iocb,
 * result) reaped in order, FILE's contents, then 200 more writes through
 * each context (B wraps again), each completion right.  Prints "PASS",
 * or "CORRUPT <what>" (exit 3).
 *
 * fork: a child forked after io_setup() has the rings mapped but not the
 * contexts; it waits for SIGTERM.
 *
 * tree: a child forked first makes a context of its own (its ring likely
 * where the parent's is, in its own address space) with one completion
 * waiting; on SIGUSR1 the parent passes the signal on, and the child
 * checks its ring, reaps the completion and goes on through 150 more
 * writes (exit 0, or 3 after a CORRUPT line); the parent then checks its
 * own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct ring {
	unsigned id, nr, head, tail, magic, compat, incompat, header_length;
};

#define B_RECORDS 300
#define B_WAITING 3
#define C_RECORDS 5
#define MORE 200

static int fd;
static struct iocb cbs[B_RECORDS + C_RECORDS + 2 * MORE];
static uint64_t values[B_RECORDS + C_RECORDS + 2 * MORE];
static volatile sig_atomic_t go;

static void corrupt(const char *what, long got)
{
	printf("CORRUPT %s (got %ld, errno %d)\n", what, got, errno);
	exit(3);
}

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/* Record k: value k * 7 + 1 at offset 8 * k. */
static void submit(aio_context_t ctx, unsigned k)
{
	struct iocb *cb = &cbs[k];
	long r;

	values[k] = (uint64_t)k * 7 + 1;
	memset(cb, 0, sizeof(*cb));
	cb->aio_data = 1000 + k;
	cb->aio_lio_opcode = IOCB_CMD_PWRITE;
	cb->aio_fildes = fd;
	cb->aio_buf = (uintptr_t)&values[k];
	cb->aio_nbytes = sizeof(values[k]);
	cb->aio_offset = (int64_t)k * 8;
	r = syscall(__NR_io_submit, ctx, 1, &cb);
	if (r != 1)
		corrupt("io_submit", r);
}

static void reap(aio_context_t ctx, unsigned k)
{
	struct io_event ev;
	struct timespec ts = { 5, 0 };
	long r = syscall(__NR_io_getevents, ctx, 1, 1, &ev, &ts);

	if (r != 1)
		corrupt("io_getevents", r);
	if (ev.data != 1000 + k)
		corrupt("completion data", (long)ev.data);
	if (ev.obj != (uintptr_t)&cbs[k])
		corrupt("completion iocb", (long)ev.obj);
	if (ev.res != 8)
		corrupt("completion result", (long)ev.res);
}

static void check_ring(aio_context_t ctx, const struct ring *was, const char *name)
{
	const struct ring *now = (const struct ring *)ctx;
	char what[64];

	snprintf(what, sizeof(what), "ring %s head", name);
	if (now->head != was->head)
		corrupt(what, now->head);
	snprintf(what, sizeof(what), "ring %s tail", name);
	if (now->tail != was->tail)
		corrupt(what, now->tail);
	snprintf(what, sizeof(what), "ring %s nr", name);
	if (now->nr != was->nr || now->magic != was->magic)
		corrupt(what, now->nr);
}

static void child_context(void)
{
	aio_context_t d = 0;
	struct ring was;
	unsigned k;

	if (syscall(__NR_io_setup, 16, &d))
		corrupt("child io_setup", 0);
	submit(d, 0);
	reap(d, 0);
	submit(d, 1);
	memcpy(&was, (void *)d, sizeof(was));
	printf("child ready\n");
	while (!go)
		pause();
	check_ring(d, &was, "of the child");
	reap(d, 1);
	for (k = 2; k < 152; k++) {
		submit(d, k);
		reap(d, k);
	}
	exit(0);
}

int main(int argc, char **argv)
{
	aio_context_t a = 0, b = 0, c = 0;
	struct ring b_was, c_was;
	pid_t child = 0;
	int status;
	unsigned k, n;
	uint64_t v;
	long r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		corrupt("open", fd);
	signal(SIGUSR1, on_usr1);
	if (argc > 2 && !strcmp(argv[2], "tree") && (child = fork()) == 0)
		child_context();
	if (child > 0)
		usleep(200 * 1000);	/* (the child's ready line first) */
	if (syscall(__NR_io_setup, 4, &a) || syscall(__NR_io_setup, 32, &b) ||
	    syscall(__NR_io_setup, 8, &c) || syscall(__NR_io_destroy, a))
		corrupt("io_setup", 0);
	for (k = 0; k < B_RECORDS; k++) {
		submit(b, k);
		if (k < B_RECORDS - B_WAITING)
			reap(b, k);
	}
	for (k = B_RECORDS; k < B_RECORDS + C_RECORDS; k++)
		submit(c, k);
	memcpy(&b_was, (void *)b, sizeof(b_was));
	memcpy(&c_was, (void *)c, sizeof(c_was));
	if (b_was.nr >= B_RECORDS || (b_was.tail + b_was.nr - b_was.head) % b_was.nr != B_WAITING)
		corrupt("ring B is not as expected", b_was.tail);
	if (argc > 2 && !strcmp(argv[2], "fork") && fork() == 0) {
		signal(SIGTERM, SIG_DFL);
		for (;;)
			pause();
	}
	printf("ready\n");
	while (!go)
		pause();

	if (child > 0) {
		kill(child, SIGUSR1);
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			corrupt("the child's context", status);
	}
	check_ring(b, &b_was, "B");
	check_ring(c, &c_was, "C");
	for (k = B_RECORDS - B_WAITING; k < B_RECORDS; k++)
		reap(b, k);
	for (k = B_RECORDS; k < B_RECORDS + C_RECORDS; k++)
		reap(c, k);
	for (k = 0; k < B_RECORDS + C_RECORDS; k++) {
		if ((r = pread(fd, &v, sizeof(v), (off_t)k * 8)) != sizeof(v) || v != values[k])
			corrupt("file contents", k);
	}
	/* Both contexts go on: B wraps again. */
	for (n = 0; n < MORE; n++) {
		k = B_RECORDS + C_RECORDS + 2 * n;
		submit(b, k);
		submit(c, k + 1);
		reap(b, k);
		reap(c, k + 1);
	}
	r = syscall(__NR_io_getevents, b, 0, 1, NULL, NULL);
	if (r != 0)
		corrupt("ring B not empty", r);
	printf("PASS\n");
	return 0;
}
