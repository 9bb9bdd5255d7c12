/* System V IPC for t-sysv*.sh.
 *
 *   sysvipc -d DIR -k KEY [-c]
 *
 * Makes, with keys KEY, KEY+1, KEY+2: a 64 KiB shared memory segment
 * (mode 0640) filled with a pattern, attached read-write (its last page
 * then made read-only with mprotect) and also read-only elsewhere; an 8 KiB private segment attached and then marked
 * for removal (IPC_RMID); a set of 3 semaphores (5, 7, 9); a message queue
 * with 3 messages.  Writes their ids to DIR/ids and creates DIR/ready,
 * then every 20 ms counts in the first word of the key segment and logs
 * "tick N" to DIR/main.log.  With -c a child forked after all that counts
 * in the removed segment (which it inherited) and the parent logs "shm N"
 * with the child's count.
 * On SIGUSR1 the parent checks everything it made (ids, pattern, modes,
 * read-only attachment, removal mark, semaphore values, messages in order)
 * and writes "ok" or "FAIL: why" to DIR/check. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define BIG (64 * 1024)
#define SMALL 8192

static volatile sig_atomic_t check_asked;
static char dir[512];
static int shm_a, shm_b, sem, msq;
static unsigned char *a_rw, *a_ro;
static volatile unsigned long *b;

struct msg { long type; char text[32]; };

static void on_usr1(int sig) { (void)sig; check_asked = 1; }

static void die(const char *what)
{
	fprintf(stderr, "sysvipc: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put(const char *name, const char *text)
{
	char path[600], tmp[610];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")) || fputs(text, f) < 0 || fclose(f) || rename(tmp, path))
		die(path);
}

/* The mapping at addr is read-only in /proc/self/maps. */
static int perms_at(void *addr, char *perms)
{
	char line[512];
	unsigned long s, e;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && s == (unsigned long)addr) {
			fclose(f);
			return 0;
		}
	fclose(f);
	return -1;
}

static const char *check(int want_a, int want_b, int want_sem, int want_msq, key_t key)
{
	static char why[256];
	struct shmid_ds ds;
	unsigned short vals[3];
	struct msg m;
	char perms[8];
	int i;

	if (shmget(key, 0, 0) != want_a || shm_a != want_a || shm_b != want_b)
		return "segment ids changed";
	if (shmctl(shm_a, IPC_STAT, &ds) || (ds.shm_perm.mode & 0777) != 0640 ||
	    ds.shm_segsz != BIG)
		return "key segment: wrong mode or size";
	for (i = 8; i < BIG; i++)
		if (a_rw[i] != (unsigned char)(i * 7 + 3)) {
			snprintf(why, sizeof(why), "key segment: byte %d is %u", i, a_rw[i]);
			return why;
		}
	if (memcmp(a_rw, a_ro, BIG))
		return "the read-only attachment differs from the read-write one";
	if (perms_at(a_ro, perms) || strcmp(perms, "r--s"))
		return "the read-only attachment is not read-only";
	if (perms_at(a_rw, perms) || strcmp(perms, "rw-s"))
		return "the read-write attachment is not read-write";
	if (perms_at(a_rw + BIG - 4096, perms) || strcmp(perms, "r--s"))
		return "the last page of the read-write attachment is not read-only any more";
	if (shmctl(shm_b, IPC_STAT, &ds) || !(ds.shm_perm.mode & SHM_DEST))
		return "the removed segment is not marked removed";
	if (semget(key + 1, 0, 0) != want_sem ||
	    semctl(sem, 0, GETALL, vals) || vals[0] != 5 || vals[1] != 7 || vals[2] != 9)
		return "semaphore values lost";
	if (msgget(key + 2, 0) != want_msq)
		return "message queue id changed";
	for (i = 1; i <= 3; i++) {
		char want[32];
		snprintf(want, sizeof(want), "message %d", i);
		if (msgrcv(msq, &m, sizeof(m.text), 0, IPC_NOWAIT) < 0 || m.type != i ||
		    strcmp(m.text, want))
			return "messages lost or out of order";
	}
	if (msgrcv(msq, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0)
		return "an extra message";
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned short vals[3] = { 5, 7, 9 };
	key_t key = 0;
	int opt, child = 0, i, w_a, w_b, w_sem, w_msq;
	unsigned long n = 0;
	char text[768];
	FILE *log;

	while ((opt = getopt(argc, argv, "d:k:c")) != -1) {
		if (opt == 'd')
			snprintf(dir, sizeof(dir), "%s", optarg);
		else if (opt == 'k')
			key = (key_t)strtol(optarg, NULL, 0);
		else if (opt == 'c')
			child = 1;
		else
			return 2;
	}
	if (!dir[0] || !key)
		return 2;
	if ((shm_a = shmget(key, BIG, IPC_CREAT | IPC_EXCL | 0640)) < 0)
		die("shmget key");
	if ((shm_b = shmget(IPC_PRIVATE, SMALL, IPC_CREAT | 0600)) < 0)
		die("shmget private");
	if ((a_rw = shmat(shm_a, NULL, 0)) == (void *)-1 ||
	    (a_ro = shmat(shm_a, NULL, SHM_RDONLY)) == (void *)-1 ||
	    (b = shmat(shm_b, NULL, 0)) == (void *)-1)
		die("shmat");
	for (i = 0; i < BIG; i++)
		a_rw[i] = (unsigned char)(i * 7 + 3);
	/* (One attachment in two mappings: its last page made read-only.) */
	if (mprotect(a_rw + BIG - 4096, 4096, PROT_READ))
		die("mprotect");
	memset((void *)a_rw, 0, 8);
	if (shmctl(shm_b, IPC_RMID, NULL))
		die("IPC_RMID");
	if ((sem = semget(key + 1, 3, IPC_CREAT | IPC_EXCL | 0600)) < 0 || semctl(sem, 0, SETALL, vals))
		die("semaphores");
	if ((msq = msgget(key + 2, IPC_CREAT | IPC_EXCL | 0600)) < 0)
		die("msgget");
	for (i = 1; i <= 3; i++) {
		struct msg m = { i, "" };
		snprintf(m.text, sizeof(m.text), "message %d", i);
		if (msgsnd(msq, &m, strlen(m.text) + 1, 0))
			die("msgsnd");
	}
	w_a = shm_a, w_b = shm_b, w_sem = sem, w_msq = msq;
	snprintf(text, sizeof(text), "%d %d %d %d\n", shm_a, shm_b, sem, msq);
	put("ids", text);
	if (child) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			for (;;) {
				b[0]++;
				nanosleep(&tick, NULL);
			}
		}
	}
	signal(SIGUSR1, on_usr1);
	snprintf(text, sizeof(text), "%s/main.log", dir);
	if (!(log = fopen(text, "a")))
		die(text);
	setvbuf(log, NULL, _IOLBF, 0);
	put("ready", "1\n");
	for (;;) {
		if (check_asked) {
			const char *why = check(w_a, w_b, w_sem, w_msq, key);
			check_asked = 0;
			snprintf(text, sizeof(text), why ? "FAIL: %s\n" : "ok\n", why);
			put("check", text);
		}
		*(volatile unsigned long *)a_rw = ++n;
		if (*(volatile unsigned long *)a_ro != n)
			fprintf(log, "corrupt: read-only view %lu, wrote %lu\n",
				*(volatile unsigned long *)a_ro, n);
		fprintf(log, "tick %lu\n", n);
		if (child)
			fprintf(log, "shm %lu\n", b[0]);
		nanosleep(&tick, NULL);
	}
}
