/* vmaflags: a process whose address space carries every mapping attribute
 * ckpt restores; every tick (200 ms) it compares its whole /proc/self/smaps
 * (each mapping's range, permissions, offset, path and VmFlags) with the
 * one it recorded at start, its regions' contents, and its guard pages,
 * printing "tick N ok" or "CORRUPT <what>" (exit 3).  Regions:
 *   locked     mlock()                           lo
 *   onfault    mlock2(MLOCK_ONFAULT), one page   lo lf
 *   maplocked  mmap(MAP_LOCKED)                  lo
 *   dontfork   MADV_DONTFORK                     dc
 *   dontdump   MADV_DONTDUMP                     dd
 *   huge       MADV_HUGEPAGE                     hg
 *   nohuge     MADV_NOHUGEPAGE                   nh
 *   wipe       MADV_WIPEONFORK                   wf
 *   mergeable  MADV_MERGEABLE (if KSM is there)  mg
 *   seq, rand  MADV_SEQUENTIAL, MADV_RANDOM      sr, rr
 *   droppable  MAP_DROPPABLE (if the kernel has it) dp (its contents not checked)
 *   none       PROT_NONE, contents written before
 *   guarded    8 pages, MADV_GUARD_INSTALL on pages 2-3 and 6 (pagemap bit 58)
 *   growsdown  MAP_GROWSDOWN                     gd
 *   named      PR_SET_VMA_ANON_NAME "vmaflags-named" (if CONFIG_ANON_VMA_NAME)
 *   devzero    MAP_SHARED of /dev/zero
 *   sealed     mseal() (if the kernel has it)    sl
 * With -f it also calls mlockall(MCL_FUTURE | MCL_ONFAULT) last and checks
 * every tick that a new mapping comes out "lo lf".
 * usage: vmaflags [-f]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ul
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef __NR_mseal
#define __NR_mseal 462
#endif

struct region {
	const char *name;
	char *addr;
	size_t len;
	int prot;		/* what the contents can be read with */
	uint32_t sum;		/* of the contents at start */
};

static struct region regions[32];
static size_t nregions;
static char *guarded;

static void corrupt(const char *fmt, const char *arg)
{
	printf("CORRUPT ");
	printf(fmt, arg);
	printf("\n");
	fflush(stdout);
	exit(3);
}

static void die(const char *what)
{
	printf("setup failed: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* pages of anonymous memory with a hole on each side, so that no two
 * regions ever merge. */
static char *map(size_t pages, int flags)
{
	char *p = mmap(NULL, (pages + 2) * PAGE, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	munmap(p, PAGE);
	munmap(p + (pages + 1) * PAGE, PAGE);
	return p + PAGE;
}

static uint32_t checksum(const char *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

/* A region filled with bytes that depend on its name and address. */
static struct region *add(const char *name, char *addr, size_t len)
{
	struct region *r = &regions[nregions++];
	size_t i;

	for (i = 0; i < len; i++)
		addr[i] = (char)((uintptr_t)(addr + i) * 31 + name[0]);
	*r = (struct region){ name, addr, len, PROT_READ, checksum(addr, len) };
	return r;
}

/* /proc/self/smaps reduced to what must come back identical: one line per
 * mapping, "range perms offset path | VmFlags", the stack by name only
 * (it grows). */
#define LAYOUT_MAX (256 * 1024)
static char layout_start[LAYOUT_MAX], layout_now[LAYOUT_MAX];

/* Into a static buffer: a malloc'd one would move the heap's end. */
static char *layout(char *out)
{
	static char line[4096];
	size_t cap = LAYOUT_MAX, len = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		die("reading smaps");
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, off;
		char perms[8], dev[16], path[1024] = "", add_line[2048];
		unsigned long ino;
		int n;

		if (!strncmp(line, "VmFlags:", 8)) {
			n = snprintf(add_line, sizeof(add_line), " |%s", line + 8);
		} else if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %1023[^\n]", &s, &e, perms, &off,
				  dev, &ino, path) >= 6 && strchr(line, '-') < strchr(line, ' ')) {
			char *p = path;
			while (*p == ' ')
				p++;
			if (!strcmp(p, "[stack]"))
				n = snprintf(add_line, sizeof(add_line), "[stack] %s", perms);
			else
				n = snprintf(add_line, sizeof(add_line), "%lx-%lx %s %lx %s", s, e,
					     perms, off, p);
		} else {
			continue;
		}
		if (len + n + 1 > cap)
			die("smaps too long");
		memcpy(out + len, add_line, n + 1);
		len += n;
	}
	fclose(f);
	return out;
}

/* Opened for each look: an open /proc file is not ours to test here. */
static int is_guard(const char *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t pm = 0;

	if (fd < 0 || pread(fd, &pm, 8, ((uintptr_t)addr / PAGE) * 8) != 8)
		die("reading pagemap");
	close(fd);
	return (pm >> 58) & 1;
}

static void check_guards(void)
{
	static const int want[8] = { 0, 0, 1, 1, 0, 0, 1, 0 };
	int i;

	for (i = 0; i < 8; i++)
		if (is_guard(guarded + i * PAGE) != want[i]) {
			char what[32];
			snprintf(what, sizeof(what), "%d", i);
			corrupt("guard region: page %s of the guarded mapping", what);
		}
}

/* The first line that differs between two layouts. */
static void report_layout_change(const char *a, const char *b)
{
	while (*a && *b) {
		const char *ea = strchrnul(a, '\n'), *eb = strchrnul(b, '\n');
		if (ea - a != eb - b || memcmp(a, b, ea - a)) {
			printf("was: %.*s\nnow: %.*s\n", (int)(ea - a), a, (int)(eb - b), b);
			corrupt("%s", "mapping list (smaps) changed");
		}
		a = *ea ? ea + 1 : ea;
		b = *eb ? eb + 1 : eb;
	}
	corrupt("%s", "mapping list (smaps) changed: a mapping more or less");
}

static void check_future_lock(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *now, key[64], *at, *eol;

	if (p == MAP_FAILED)
		die("mmap");
	now = layout(layout_now);
	snprintf(key, sizeof(key), "%lx-%lx ", (unsigned long)p, (unsigned long)p + PAGE);
	at = strstr(now, key);
	if (at && (at = strchr(at, '|')) && (eol = strchr(at, '\n')))
		*eol = 0;
	if (!at || !strstr(at, " lo lf"))
		corrupt("%s", "mlockall(MCL_FUTURE|MCL_ONFAULT): a new mapping is not locked on fault");
	munmap(p, PAGE);
}

int main(int argc, char **argv)
{
	int future = argc > 1 && !strcmp(argv[1], "-f");
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct region *r;
	char *p;
	int fd, i;
	unsigned n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Two pages apart each, so that neighbours never merge. */
	p = map(4, MAP_PRIVATE);
	add("locked", p, 4 * PAGE);
	if (mlock(p, 4 * PAGE))
		die("mlock");

	p = map(4, MAP_PRIVATE);
	if (syscall(SYS_mlock2, p, 4 * PAGE, MLOCK_ONFAULT))
		die("mlock2");
	add("onfault", p, PAGE);

	p = map(4, MAP_PRIVATE | MAP_LOCKED);
	add("maplocked", p, 4 * PAGE);

	p = map(4, MAP_PRIVATE);
	add("dontfork", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_DONTFORK))
		die("MADV_DONTFORK");

	p = map(4, MAP_PRIVATE);
	add("dontdump", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_DONTDUMP))
		die("MADV_DONTDUMP");

	p = map(4, MAP_PRIVATE);
	add("huge", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_HUGEPAGE))
		die("MADV_HUGEPAGE");

	p = map(4, MAP_PRIVATE);
	add("nohuge", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_NOHUGEPAGE))
		die("MADV_NOHUGEPAGE");

	p = map(4, MAP_PRIVATE);
	add("wipe", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_WIPEONFORK))
		die("MADV_WIPEONFORK");

	p = map(4, MAP_PRIVATE);
	add("mergeable", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_MERGEABLE))
		printf("no KSM here (%s): mergeable not tested\n", strerror(errno));

	p = map(4, MAP_PRIVATE);
	add("seq", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_SEQUENTIAL))
		die("MADV_SEQUENTIAL");

	p = map(4, MAP_PRIVATE);
	add("rand", p, 4 * PAGE);
	if (madvise(p, 4 * PAGE, MADV_RANDOM))
		die("MADV_RANDOM");

	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		printf("no MAP_DROPPABLE here (%s): droppable not tested\n", strerror(errno));

	p = map(4, MAP_PRIVATE);
	r = add("none", p, 4 * PAGE);
	r->prot = PROT_NONE;
	if (mprotect(p, 4 * PAGE, PROT_NONE))
		die("mprotect");

	guarded = map(8, MAP_PRIVATE);
	add("guarded", guarded, 2 * PAGE);
	add("guarded-mid", guarded + 4 * PAGE, 2 * PAGE);
	if (madvise(guarded + 2 * PAGE, 2 * PAGE, MADV_GUARD_INSTALL) ||
	    madvise(guarded + 6 * PAGE, PAGE, MADV_GUARD_INSTALL))
		die("MADV_GUARD_INSTALL (Linux 6.13)");

	p = map(4, MAP_PRIVATE | MAP_GROWSDOWN);
	add("growsdown", p + PAGE, 3 * PAGE);

	p = map(4, MAP_PRIVATE);
	add("named", p, 4 * PAGE);
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, 4 * PAGE, "vmaflags-named"))
		printf("no anonymous names here (%s): named not tested\n", strerror(errno));

	fd = open("/dev/zero", O_RDWR);
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd < 0 || p == MAP_FAILED)
		die("mapping /dev/zero");
	close(fd);
	add("devzero", p, 4 * PAGE);

	p = map(4, MAP_PRIVATE);
	add("sealed", p, 4 * PAGE);
	if (mprotect(p, 4 * PAGE, PROT_READ))
		die("mprotect");
	if (syscall(__NR_mseal, p, 4 * PAGE, 0))
		printf("no mseal here (%s): sealed not tested\n", strerror(errno));

	/* Last: the kernel takes no guard regions in locked mappings. */
	if (future && mlockall(MCL_FUTURE | MCL_ONFAULT))
		die("mlockall");
	for (i = 0; i < 3; i++)		/* let stdio and the layout settle */
		layout(layout_start);
	printf("ready pid %d\n", getpid());
	for (n = 1;; n++) {
		size_t k;

		nanosleep(&tick, NULL);
		for (k = 0; k < nregions; k++) {
			struct region *g = &regions[k];
			uint32_t sum;
			if (g->prot == PROT_NONE && mprotect(g->addr, g->len, PROT_READ))
				die("mprotect");
			sum = checksum(g->addr, g->len);
			if (g->prot == PROT_NONE && mprotect(g->addr, g->len, PROT_NONE))
				die("mprotect");
			if (sum != g->sum)
				corrupt("contents of %s", g->name);
		}
		check_guards();
		if (strcmp(layout(layout_now), layout_start))
			report_layout_change(layout_start, layout_now);
		if (future)
			check_future_lock();
		printf("tick %u ok\n", n);
	}
}
