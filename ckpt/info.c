/* ckpt info: a ps/pmap/lsof-like view of the frozen process in an image,
 * from its metadata members only (pages are never read, so it is quick
 * even on a huge image, and works on a stream: `... | ckpt info -`). */
#define LOG_PREFIX ""
#include "info.h"
#include "state/fds.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "sign.h"
#include "crypt.h"

static const char usage[] =
"Usage: ckpt info IMAGE [--json] [--verify PUBKEY] [--decrypt KEYFILE]\n"
"\n"
"Show what the process saved in IMAGE looked like when it was checkpointed,\n"
"like ps, pmap and lsof would have: the image header, command line, PIDs,\n"
"credentials, every thread with its state and backtrace, the memory map,\n"
"the open files, signals, timers, resource limits and seccomp filters.\n"
"Only the metadata is read (not the memory contents).  IMAGE \"-\" reads the\n"
"image from standard input.\n"
"\n"
"Options:\n"
"  -j, --json     print one JSON object with every record of the image\n"
"      --verify PUBKEY\n"
"                 show it only if signed by a key of PUBKEY (a .pub file or a\n"
"                 directory of them, see restart --verify): every frame read\n"
"                 is verified before it is used (only the metadata is read:\n"
"                 ckpt check --verify verifies the whole image)\n"
"      --decrypt KEYFILE\n"
"                 read an image encrypted with ckpt --encrypt KEYFILE\n"
"  -h, --help     show this help\n"
"\n"
"Exit status: 0, 1 if the image cannot be read, 2 on bad usage.\n";

int info_open_image(const char *path, int *fd, struct image_reader **r,
		    struct image_meta *m, struct member_cursor *next, const struct trust *trust,
		    struct crypt_key *key)
{
	memset(m, 0, sizeof(*m));
	*r = NULL;
	if (!strcmp(path, "-")) {
		*fd = STDIN_FILENO;
	} else {
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return fail(errno, "check the path of the image", "opening image %s", path);
	}
	*r = image_reader_new(*fd);
	if (!*r || (trust && image_reader_verify(*r, trust)) || (key && image_reader_decrypt(*r, key)))
		return -1;
	return meta_read(*r, m, next);
}

/* ---- names for numbers ---- */

static const char *syscall_name(long nr)
{
	static const struct { int nr; const char *name; } names[] = {
		{ 0, "read" }, { 1, "write" }, { 7, "poll" }, { 17, "pread64" },
		{ 19, "readv" }, { 20, "writev" }, { 23, "select" }, { 34, "pause" },
		{ 35, "nanosleep" }, { 43, "accept" }, { 44, "sendto" }, { 45, "recvfrom" },
		{ 46, "sendmsg" }, { 47, "recvmsg" }, { 61, "wait4" }, { 72, "fcntl" },
		{ 128, "rt_sigtimedwait" }, { 130, "rt_sigsuspend" }, { 202, "futex" },
		{ 219, "restart_syscall" }, { 230, "clock_nanosleep" }, { 232, "epoll_wait" },
		{ 247, "waitid" }, { 270, "pselect6" }, { 271, "ppoll" }, { 281, "epoll_pwait" },
		{ 288, "accept4" }, { 299, "recvmmsg" }, { 441, "epoll_pwait2" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == nr)
			return names[i].name;
	return NULL;
}

static const char *vma_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[VMA_ANON_PRIVATE] = "anon", [VMA_ANON_SHARED] = "anon-shared",
		[VMA_FILE_PRIVATE] = "file", [VMA_FILE_SHARED] = "file-shared",
		[VMA_HEAP] = "heap", [VMA_STACK] = "stack", [VMA_VDSO] = "vdso",
		[VMA_VVAR] = "vvar", [VMA_VSYSCALL] = "vsyscall", [VMA_AIO_RING] = "aio-ring",
		[VMA_PACKET_RING] = "packet-ring",
	};
	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "?";
}

static const char *rlimit_name(uint32_t res)
{
	static const char *const names[] = {
		[RLIMIT_CPU] = "CPU", [RLIMIT_FSIZE] = "FSIZE", [RLIMIT_DATA] = "DATA",
		[RLIMIT_STACK] = "STACK", [RLIMIT_CORE] = "CORE", [RLIMIT_RSS] = "RSS",
		[RLIMIT_NPROC] = "NPROC", [RLIMIT_NOFILE] = "NOFILE",
		[RLIMIT_MEMLOCK] = "MEMLOCK", [RLIMIT_AS] = "AS", [RLIMIT_LOCKS] = "LOCKS",
		[RLIMIT_SIGPENDING] = "SIGPENDING", [RLIMIT_MSGQUEUE] = "MSGQUEUE",
		[RLIMIT_NICE] = "NICE", [RLIMIT_RTPRIO] = "RTPRIO", [RLIMIT_RTTIME] = "RTTIME",
	};
	return res < sizeof(names) / sizeof(names[0]) && names[res] ? names[res] : "?";
}

static const char *clock_name(int clock)
{
	static const char *const names[] = {
		"CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID",
		"CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE",
		"CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM",
		"CLOCK_BOOTTIME_ALARM", NULL, "CLOCK_TAI",
	};
	return clock >= 0 && clock < (int)(sizeof(names) / sizeof(names[0])) && names[clock] ?
	       names[clock] : "clock ?";
}

static void sig_name(int sig, char *buf, size_t size)
{
	const char *abbrev = sig > 0 && sig < 32 ? sigabbrev_np(sig) : NULL;

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else if (sig >= 34 && sig <= 64)
		snprintf(buf, size, sig == 34 ? "SIGRTMIN" : "SIGRTMIN+%d", sig - 34);
	else
		snprintf(buf, size, "SIG%d", sig);
}

/* Untrusted text from the image, on a terminal: control bytes escaped. */
static void put_text(FILE *f, const char *s)
{
	if (!s) {
		fputs("?", f);
		return;
	}
	for (; *s; s++) {
		unsigned char c = *s;
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void put_sigmask(FILE *f, uint64_t mask)
{
	char name[32];
	int sig, shown = 0;

	if (!mask) {
		fputs("none", f);
		return;
	}
	if (mask == ~0ull) {
		fputs("all", f);
		return;
	}
	for (sig = 1; sig <= 64; sig++) {
		if (!(mask & (1ull << (sig - 1))))
			continue;
		sig_name(sig, name, sizeof(name));
		fprintf(f, "%s%s", shown++ ? " " : "", name);
	}
}

static void put_duration(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03" PRIu64 " s", ns / 1000000000u, ns / 1000000 % 1000);
}

static void put_open_flags(FILE *f, uint32_t flags, bool cloexec)
{
	static const struct { uint32_t bit; const char *name; } bits[] = {
		{ O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" }, { O_DIRECT, "O_DIRECT" },
		{ O_NOATIME, "O_NOATIME" }, { O_PATH, "O_PATH" }, { O_DIRECTORY, "O_DIRECTORY" },
		{ O_ASYNC, "O_ASYNC" },
	};
	size_t i;

	fputs((flags & O_ACCMODE) == O_RDONLY ? "O_RDONLY" :
	      (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDWR", f);
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (flags & bits[i].bit)
			fprintf(f, "|%s", bits[i].name);
	if ((flags & O_SYNC) == O_SYNC)
		fputs("|O_SYNC", f);
	else if (flags & O_DSYNC)
		fputs("|O_DSYNC", f);
	if (cloexec)
		fputs("|O_CLOEXEC", f);
}

static const arch_regs_t *thread_regs(const struct thread_rec *t)
{
	return t->regs.len == sizeof(arch_regs_t) ? t->regs.data : NULL;
}

/* "in syscall 230 (clock_nanosleep)" or "in user space". */
static void thread_state(const struct thread_rec *t, char *buf, size_t size)
{
	const arch_regs_t *regs = thread_regs(t);
	const char *name;
	long nr;

	if (t->exited)
		snprintf(buf, size, "exited (pthread_exit), a zombie thread");
	else if (!regs)
		snprintf(buf, size, "?");
	else if (!arch_regs_in_syscall(regs, &nr, NULL))
		snprintf(buf, size, "in user space");
	else if ((name = syscall_name(nr)))
		snprintf(buf, size, "in syscall %ld (%s)", nr, name);
	else
		snprintf(buf, size, "in syscall %ld", nr);
}

/* ---- human output ---- */

static void print_header(FILE *f, const struct image_meta *m)
{
	const struct image_header *h = m->header;
	const struct process_rec *p = m->process;
	time_t secs = h->created_ns / 1000000000ull;
	struct tm tm;
	char when[64] = "?";

	if (localtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	fprintf(f, "Image:     format version %u, written by ", h->format_version);
	put_text(f, h->tool_version);
	fprintf(f, "\nCreated:   %s on ", when);
	put_text(f, h->hostname);
	fputs(" (Linux ", f);
	put_text(f, h->kernel);
	fputs(", ", f);
	put_text(f, h->arch);
	fputs(")", f);
	if (h->track_epoch.len) {	/* ckpt --track (common/dirty_track.h) */
		const uint8_t *e = h->track_epoch.data;
		size_t k;

		fputs("\nTracking:  dirty-page epoch ", f);
		for (k = 0; k < 4 && k < h->track_epoch.len; k++)
			fprintf(f, "%02x", e[k]);
		fputs(h->track_pages ? "; pages: those written since the parent image (tracked)" :
		      "; pages: all read (epoch begun here)", f);
	}
	fputs("\nCommand:   ", f);
	put_text(f, p->cmdline);
	fprintf(f, "\nPID:       %d   PPID: %d   PGID: %d   SID: %d\n", p->pid, p->ppid, p->pgid,
		p->sid);
	fputs("Comm:      ", f);
	put_text(f, p->comm);
	fputs("\nExe:       ", f);
	put_text(f, p->exe);
	fputs("\nCwd:       ", f);
	put_text(f, p->cwd);
	if (p->root && strcmp(p->root, "/")) {
		fputs("   (root ", f);
		put_text(f, p->root);
		fputs(")", f);
	}
	fprintf(f, "\nUser:      uid %u/%u/%u/%u  gid %u/%u/%u/%u (real/effective/saved/fs)",
		p->ruid, p->euid, p->suid, p->fsuid, p->rgid, p->egid, p->sgid, p->fsgid);
	if (p->groups.len >= 4) {
		uint32_t k, g;
		fputs("  groups", f);
		for (k = 0; k + 4 <= p->groups.len; k += 4) {
			memcpy(&g, (const char *)p->groups.data + k, 4);
			fprintf(f, " %u", g);
		}
	}
	fprintf(f, "\nCaps:      effective %#" PRIx64 "  permitted %#" PRIx64 "  bounding %#"
		PRIx64 "\n", p->cap_eff, p->cap_prm, p->cap_bnd);
	fprintf(f, "Umask:     %04o   no_new_privs: %u   oom_score_adj: %d\n", p->umask,
		p->no_new_privs, p->oom_score_adj);
}

static void print_cpu(FILE *f, const struct image_meta *m)
{
	const struct process_rec *p = m->process;
	struct cpu_features have = { 0 }, none = { 0 };
	char names[1024];

	fputs("CPU:       ", f);
	put_text(f, p->cpu_model);
	fprintf(f, "\n           xstate %u bytes, XCR0 %#" PRIx64, p->xstate_size, p->xcr0);
	if (p->cpuid_features.len == sizeof(have)) {
		memcpy(&have, p->cpuid_features.data, sizeof(have));
		/* Everything the image's CPU had is "missing" from none. */
		arch_cpu_features_missing(&have, &none, names, sizeof(names));
		fprintf(f, "\n           features: %s", names);
	}
	fputc('\n', f);
}

/* The backtrace records of each thread, found in O(log n): an image may
 * hold many threads and many frames (a loop over all frames for every
 * thread made `ckpt info` quadratic: minutes for a small crafted image). */
struct bt_index {
	const struct image_meta *m;
	size_t *ix;		/* indices into m->backtraces by (tid, position) */
};

static int bt_cmp(const void *a, const void *b, void *arg)
{
	const struct image_meta *m = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int32_t tx = m->backtraces[x].tid, ty = m->backtraces[y].tid;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void bt_index_build(struct bt_index *bi, const struct image_meta *m)
{
	size_t k;

	bi->m = m;
	bi->ix = m->nbacktraces ? malloc(m->nbacktraces * sizeof(*bi->ix)) : NULL;
	if (!bi->ix)
		return;
	for (k = 0; k < m->nbacktraces; k++)
		bi->ix[k] = k;
	qsort_r(bi->ix, m->nbacktraces, sizeof(*bi->ix), bt_cmp, (void *)m);
}

/* The first position in bi->ix of thread tid's frames; *end past its last. */
static size_t bt_range(const struct bt_index *bi, int32_t tid, size_t *end)
{
	size_t lo = 0, hi = bi->ix ? bi->m->nbacktraces : 0, first;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (bi->m->backtraces[bi->ix[mid]].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < (bi->ix ? bi->m->nbacktraces : 0) && bi->m->backtraces[bi->ix[lo]].tid == tid)
		lo++;
	*end = lo;
	return first;
}

static void print_threads(FILE *f, const struct image_meta *m)
{
	size_t i, k, end;
	struct bt_index bi;

	bt_index_build(&bi, m);
	fprintf(f, "\nThreads: %zu\n", m->nthreads);
	for (i = 0; i < m->nthreads; i++) {
		const struct thread_rec *t = &m->threads[i];
		const arch_regs_t *regs = thread_regs(t);
		char state[64], line[PATH_MAX + 256];
		bool any = false;

		thread_state(t, state, sizeof(state));
		fprintf(f, "  TID %d  ", t->tid);
		put_text(f, t->comm);
		fprintf(f, "  %s", state);
		if (regs && !t->exited)
			fprintf(f, "  ip %#" PRIx64 "  sp %#" PRIx64, (uint64_t)arch_ip(regs),
				(uint64_t)arch_sp(regs));
		fputc('\n', f);
		for (k = bt_range(&bi, t->tid, &end); k < end; k++) {
			backtrace_format(&m->backtraces[bi.ix[k]], line, sizeof(line));
			fputs("    ", f);
			put_text(f, line);
			fputc('\n', f);
			any = true;
		}
		if (!any)
			fputs("    (no backtrace in the image)\n", f);
	}
	free(bi.ix);
}

static void print_vmas(FILE *f, const struct image_meta *m)
{
	uint64_t total = 0, stored = 0;
	size_t i;

	for (i = 0; i < m->nvmas; i++) {
		total += m->vmas[i].end - m->vmas[i].start;
		stored += m->vmas[i].pages_stored;
	}
	fprintf(f, "\nMemory map: %zu mappings, %" PRIu64 " KiB mapped, %" PRIu64
		" KiB stored\n", m->nvmas, total >> 10, stored * 4);
	fprintf(f, "  %-33s %-5s %-12s %10s %10s  %s\n", "START-END", "PERMS", "KIND", "SIZE",
		"STORED", "PATH");
	for (i = 0; i < m->nvmas; i++) {
		const struct vma_rec *v = &m->vmas[i];
		bool shared = v->kind == VMA_ANON_SHARED || v->kind == VMA_FILE_SHARED ||
			      (v->vmflags & VMF_SH);
		char range[40], perms[5] = {
			v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
			v->prot & PROT_EXEC ? 'x' : '-', shared ? 's' : 'p', 0 };

		snprintf(range, sizeof(range), "%012" PRIx64 "-%012" PRIx64, v->start, v->end);
		fprintf(f, "  %-33s %-5s %-12s %6" PRIu64 " KiB %6" PRIu64 " KiB  ", range, perms,
			vma_kind_name(v->kind), (v->end - v->start) >> 10, v->pages_stored * 4);
		put_text(f, v->path && v->path[0] ? v->path : "");
		fputc('\n', f);
	}
}

/* The executable and mapped files restart needs: bundled or not. */
static void print_files(FILE *f, const struct image_meta *m)
{
	uint64_t bundled = 0;
	size_t i, nb = 0;

	for (i = 0; i < m->nfiles; i++)
		if (m->files[i].bundled) {
			nb++;
			bundled += m->files[i].size;
		}
	fprintf(f, "\nFiles: %zu (executable and mapped), %zu bundled (%" PRIu64 " KiB)\n",
		m->nfiles, nb, bundled >> 10);
	for (i = 0; i < m->nfiles; i++) {
		const struct file_id_rec *r = &m->files[i];
		fprintf(f, "  %-8s %10" PRIu64 " KiB  ", r->bundled ? "bundled" : "-", r->size >> 10);
		put_text(f, r->path ? r->path : "");
		if (r->replaced)
			fputs(r->replaced == 1 ? " (deleted since it started)" :
			      " (replaced since it was mapped)", f);
		fputc('\n', f);
	}
}

/* What a ghost (a file without a name) is, after its fd's path. */
static void put_ghost(FILE *f, const struct image_meta *m, uint32_t ghost)
{
	static const char *const what[] = {
		[GHOST_FILE] = "deleted", [GHOST_MEMFD] = "memfd", [GHOST_DIR] = "removed dir",
		[GHOST_SYMLINK] = "removed symlink", [GHOST_LINKED] = "path removed, linked elsewhere",
		[GHOST_DEV] = "removed device node",
	};
	const struct ghost_rec *g;

	if (!ghost || ghost > m->nghosts)
		return;
	g = &m->ghosts[ghost - 1];
	fprintf(f, " (%s, mode %04o", g->kind < sizeof(what) / sizeof(what[0]) && what[g->kind] ?
		what[g->kind] : "?", g->mode & 07777);
	if (g->kind == GHOST_FILE || g->kind == GHOST_MEMFD)
		fprintf(f, ", %" PRIu64 " bytes, %u saved", g->size, g->data.len);
	if (g->seals)
		fprintf(f, ", seals %#x", g->seals);
	fputc(')', f);
}

/* The options of a socket that differ from a new socket's, on one line. */
static void print_sockopts(FILE *f, const struct image_meta *m, int fd)
{
	bool any = false;
	size_t i;

	for (i = 0; i < m->nsockopts; i++) {
		const struct sockopt_rec *o = &m->sockopts[i];
		if (o->fd != fd || !o->option)
			continue;
		fputs(any ? " " : "       options: ", f);
		put_text(f, o->option);
		if (o->text) {
			fputc('=', f);
			put_text(f, o->text);
		} else {
			fprintf(f, "=%" PRId64, o->value);
		}
		any = true;
	}
	if (any)
		fputc('\n', f);
}

/* What is queued on a unix socket (meta/unix-queue), in one line. */
static void print_unix_queue(FILE *f, const struct image_meta *m, int fd)
{
	size_t i, n = 0, fds = 0, creds = 0;
	uint64_t bytes = 0;

	for (i = 0; i < m->nunix_msgs; i++)
		if (m->unix_msgs[i].fd == fd) {
			n++;
			bytes += m->unix_msgs[i].data.len;
			fds += m->unix_msgs[i].fds.len / sizeof(int32_t);
			creds += m->unix_msgs[i].has_creds;
		}
	if (n)
		fprintf(f, "       queued: %zu message%s, %" PRIu64 " bytes, %zu fds, %zu with "
			"credentials\n", n, n == 1 ? "" : "s", bytes, fds, creds);
}

static void print_fds(FILE *f, const struct image_meta *m)
{
	size_t i;

	fprintf(f, "\nFile descriptors: %zu\n", m->nfds);
	fprintf(f, "  %4s %-9s %-28s %12s  %s\n", "FD", "KIND", "FLAGS", "OFFSET", "PATH");
	for (i = 0; i < m->nfds; i++) {
		const struct fd_rec *d = &m->fds[i];
		char *flags = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&flags, &len);

		if (mem) {
			put_open_flags(mem, d->flags, d->cloexec);
			fclose(mem);
		}
		fprintf(f, "  %4d %-9s %-28s %12" PRIu64 "  ", d->fd, fd_kind_tag(d->kind),
			flags ? flags : "?", d->pos);
		free(flags);
		put_text(f, d->path ? d->path : d->description);
		put_ghost(f, m, d->ghost);
		if (d->kind == FD_STDIO) {
			fputs(" (", f);
			put_text(f, d->description);
			fputs(", replaced by restart's own)", f);
		}
		if (d->kind == FD_EXT_PIPE || d->kind == FD_EXT_UNIX) {
			char what[PATH_MAX + 128];
			fd_external_describe(d, what, sizeof(what));
			fputs(" (external end: ", f);
			put_text(f, what);
			if (d->data.len)
				fprintf(f, "; %u bytes queued for it saved", d->data.len);
			fputs("; restart --inherit-fd connects it)", f);
		}
		fputc('\n', f);
		print_sockopts(f, m, d->fd);
		print_unix_queue(f, m, d->fd);
	}
}

static void print_signals(FILE *f, const struct image_meta *m)
{
	const struct process_rec *p = m->process;
	char name[32];
	size_t i;

	fputs("\nSignals:\n  handlers:", f);
	if (!m->nsigactions)
		fputs(" none", f);
	fputc('\n', f);
	for (i = 0; i < m->nsigactions; i++) {
		const struct sigaction_rec *s = &m->sigactions[i];
		sig_name(s->sig, name, sizeof(name));
		fprintf(f, "    %-12s handler %#" PRIx64 "  flags %#" PRIx64 "%s%s%s%s  mask ",
			name, s->handler, s->flags, s->flags & SA_SIGINFO ? " SA_SIGINFO" : "",
			s->flags & SA_RESTART ? " SA_RESTART" : "",
			s->flags & SA_ONSTACK ? " SA_ONSTACK" : "",
			s->flags & SA_NODEFER ? " SA_NODEFER" : "");
		put_sigmask(f, s->mask);
		fputc('\n', f);
	}
	fputs("  ignored:  ", f);
	put_sigmask(f, p->sig_ignored);
	fputs("\n  blocked:  ", f);
	for (i = 0; i < m->nthreads; i++) {
		fprintf(f, "%sthread %d: ", i ? "; " : "", m->threads[i].tid);
		put_sigmask(f, m->threads[i].sigmask);
	}
	fputs("\n  pending:  ", f);
	if (!m->nsigpending)
		fputs("none", f);
	for (i = 0; i < m->nsigpending; i++) {
		const struct sigpending_rec *s = &m->sigpending[i];
		int signo = 0;
		if (s->siginfo.len >= sizeof(int))
			memcpy(&signo, s->siginfo.data, sizeof(int));
		sig_name(signo, name, sizeof(name));
		if (s->tid)
			fprintf(f, "%s%s (thread %d)", i ? ", " : "", name, s->tid);
		else
			fprintf(f, "%s%s (process)", i ? ", " : "", name);
	}
	fputc('\n', f);
}

static void print_timers(FILE *f, const struct image_meta *m)
{
	const struct process_rec *p = m->process;
	const struct { const char *name; uint64_t interval, value; } it[] = {
		{ "ITIMER_REAL", p->itimer_real_interval_us, p->itimer_real_value_us },
		{ "ITIMER_VIRTUAL", p->itimer_virt_interval_us, p->itimer_virt_value_us },
		{ "ITIMER_PROF", p->itimer_prof_interval_us, p->itimer_prof_value_us },
	};
	char name[32];
	size_t i;
	bool any = false;

	fputs("\nTimers:\n", f);
	for (i = 0; i < 3; i++) {
		if (!it[i].value && !it[i].interval)
			continue;
		any = true;
		fprintf(f, "  %-14s next in ", it[i].name);
		put_duration(f, it[i].value * 1000);
		fputs(", interval ", f);
		put_duration(f, it[i].interval * 1000);
		fputc('\n', f);
	}
	for (i = 0; i < m->ntimers; i++) {
		const struct timer_rec *t = &m->timers[i];
		any = true;
		sig_name(t->signo, name, sizeof(name));
		fprintf(f, "  POSIX timer %d: %s, ", t->id, clock_name(t->clock));
		if ((t->notify & ~4) == SIGEV_NONE)
			fputs("no notification", f);
		else if (t->notify & 4)
			fprintf(f, "%s to thread %d", name, t->notify_tid);
		else
			fputs(name, f);
		if (t->value_ns) {
			fputs(", next in ", f);
			put_duration(f, t->value_ns);
		} else {
			fputs(", disarmed", f);
		}
		if (t->interval_ns) {
			fputs(", interval ", f);
			put_duration(f, t->interval_ns);
		}
		fputc('\n', f);
	}
	if (!any)
		fputs("  none\n", f);
}

static void print_rlimits(FILE *f, const struct image_meta *m)
{
	size_t i;

	fputs("\nResource limits (soft / hard):\n", f);
	for (i = 0; i < m->nrlimits; i++) {
		const struct rlimit_rec *r = &m->rlimits[i];
		char cur[32], max[32];

		snprintf(cur, sizeof(cur), r->cur == RLIM_INFINITY ? "unlimited" : "%" PRIu64, r->cur);
		snprintf(max, sizeof(max), r->max == RLIM_INFINITY ? "unlimited" : "%" PRIu64, r->max);
		fprintf(f, "  RLIMIT_%-11s %12s / %s\n", rlimit_name(r->resource), cur, max);
	}
}

static void print_tree(FILE *f, const struct image_meta *m)
{
	static const char *const states[] = { "?", "running", "stopped", "zombie" };
	size_t i, j;

	if (!m->ntree)
		return;
	fprintf(f, "\nProcess tree: %zu processes\n", m->ntree);
	fprintf(f, "  %-24s %7s %7s %7s  %s\n", "PID", "PPID", "PGID", "SID", "STATE");
	for (i = 0; i < m->ntree; i++) {
		const struct tree_rec *t = &m->tree[i];
		char pid[64];
		int depth = 0;
		pid_t up = t->ppid;

		for (j = i; j-- > 0;)	/* parents come first */
			if (m->tree[j].pid == up) {
				depth++;
				up = m->tree[j].ppid;
			}
		snprintf(pid, sizeof(pid), "%*s%d %s", depth * 2, "", t->pid, t->comm ? t->comm : "?");
		fprintf(f, "  %-24s %7d %7d %7d  %s", pid, t->ppid, t->pgid, t->sid,
			states[t->state <= TREE_ZOMBIE ? t->state : 0]);
		if (t->state == TREE_STOPPED && t->stop_sig)
			fprintf(f, " (by SIG%s)", sigabbrev_np((int)t->stop_sig) ?
				sigabbrev_np((int)t->stop_sig) : "?");
		if (t->state == TREE_ZOMBIE) {
			if (WIFSIGNALED(t->exit_status))
				fprintf(f, " (killed by signal %d)", WTERMSIG(t->exit_status));
			else
				fprintf(f, " (exit status %d)", WEXITSTATUS(t->exit_status));
		}
		fputc('\n', f);
	}
}

/* System V objects of the process (only when it has some). */
static void print_sysv(FILE *f, const struct image_meta *m)
{
	size_t i, k, n;

	if (!m->nsysv_shm && !m->nsysv_sem && !m->nsysv_msg)
		return;
	fputs("\nSystem V IPC:\n", f);
	for (i = 0; i < m->nsysv_shm; i++) {
		const struct sysv_shm_rec *s = &m->sysv_shm[i];
		fprintf(f, "  shm %d: key %#x, %" PRIu64 " bytes, mode %03o%s, attached at",
			s->id, (unsigned)s->key, s->size, s->mode & 0777,
			s->mode & 01000 ? ", marked removed" : "");
		for (k = 0; k < m->nsysv_attach; k++)
			if (m->sysv_attach[k].id == s->id)
				fprintf(f, " %#" PRIx64 "%s", m->sysv_attach[k].start,
					m->sysv_attach[k].prot & PROT_WRITE ? "" : " (read-only)");
		fputc('\n', f);
	}
	for (i = 0; i < m->nsysv_sem; i++)
		fprintf(f, "  sem %d: key %#x, %u semaphores, mode %03o\n", m->sysv_sem[i].id,
			(unsigned)m->sysv_sem[i].key, m->sysv_sem[i].values.len / 2,
			m->sysv_sem[i].mode);
	for (i = 0; i < m->nsysv_msg; i++) {
		const struct sysv_msg_rec *q = &m->sysv_msg[i];
		uint64_t off = 0, l;
		for (n = 0; off + 16 <= q->messages.len; n++) {
			memcpy(&l, (const char *)q->messages.data + off + 8, 8);
			if (l > q->messages.len - off - 16)
				break;
			off += 16 + l;
		}
		fprintf(f, "  msg %d: key %#x, %zu messages, mode %03o\n", q->id, (unsigned)q->key,
			n, q->mode);
	}
}

static void print_human(FILE *f, const struct image_meta *m)
{
	size_t i;
	uint64_t insns = 0;

	print_header(f, m);
	print_tree(f, m);
	print_cpu(f, m);
	print_threads(f, m);
	print_vmas(f, m);
	print_files(f, m);
	print_fds(f, m);
	print_signals(f, m);
	print_timers(f, m);
	print_sysv(f, m);
	print_rlimits(f, m);
	for (i = 0; i < m->nseccomp; i++)
		insns += m->seccomp[i].prog.len / 8;
	fprintf(f, "\nSeccomp: %zu filter%s", m->nseccomp, m->nseccomp == 1 ? "" : "s");
	if (m->nseccomp)
		fprintf(f, " (%" PRIu64 " BPF instructions)", insns);
	fputc('\n', f);
}

/* ---- JSON ---- */

/* One thread record, with what a reader would otherwise have to decode
 * from its registers, and its backtrace. */
static void json_thread(FILE *f, const struct bt_index *bi, const struct thread_rec *t)
{
	size_t end;
	const arch_regs_t *regs = thread_regs(t);
	char *obj = NULL;
	size_t len = 0, k, n = 0;
	FILE *mem = open_memstream(&obj, &len);
	long nr;

	if (!mem)
		return;
	record_print_json(mem, &thread_rec_desc, t);
	fclose(mem);
	if (len && obj[len - 1] == '}')
		obj[--len] = 0;
	fputs(obj, f);
	free(obj);
	if (regs) {
		fprintf(f, ", \"ip\": %" PRIu64 ", \"sp\": %" PRIu64, (uint64_t)arch_ip(regs),
			(uint64_t)arch_sp(regs));
		if (arch_regs_in_syscall(regs, &nr, NULL))
			fprintf(f, ", \"state\": \"in syscall\", \"syscall\": %ld", nr);
		else
			fputs(", \"state\": \"in user space\", \"syscall\": null", f);
	}
	fputs(", \"backtrace\": [", f);
	for (k = bt_range(bi, t->tid, &end); k < end; k++) {
		fputs(n++ ? ", " : "", f);
		record_print_json(f, &backtrace_rec_desc, &bi->m->backtraces[bi->ix[k]]);
	}
	fputs("]}", f);
}

static void print_json(FILE *f, const struct image_meta *m, const struct image_meta *others,
		       size_t nothers)
{
	const struct record_desc *desc;
	const char *name;
	const void *recs;
	size_t n, k;
	unsigned i;
	bool first = true;
	struct bt_index bi;

	fputc('{', f);
	for (i = 0; meta_member_at(m, i, &name, &desc, &recs, &n); i++) {
		const char *key = !strncmp(name, "meta/", 5) ? name + 5 :
				  !strcmp(name, "ckpt-image") ? "image" : name;

		if (!desc || !strcmp(name, "meta/backtraces"))	/* in "threads" */
			continue;
		fprintf(f, "%s\n\"%s\": ", first ? "" : ",", key);
		first = false;
		if (!strcmp(name, "ckpt-image") || !strcmp(name, "meta/process")) {
			if (n == 1)
				record_print_json(f, desc, recs);
			else
				fputs("null", f);
			continue;
		}
		fputc('[', f);
		if (desc == &thread_rec_desc)
			bt_index_build(&bi, m);
		for (k = 0; k < n; k++) {
			fputs(k ? ",\n  " : "\n  ", f);
			if (desc == &thread_rec_desc)
				json_thread(f, &bi, &m->threads[k]);
			else
				record_print_json(f, desc, (const char *)recs + k * desc->size);
		}
		if (desc == &thread_rec_desc)
			free(bi.ix);
		fputc(']', f);
	}
	fprintf(f, ",\n\"vdso_size\": %u", m->vdso.len);
	if (others) {	/* a tree: every other process, in meta/tree's order */
		fputs(",\n\"processes\": [", f);
		for (k = 0; k < nothers; k++) {
			fputs(k ? ",\n" : "\n", f);
			print_json(f, &others[k], NULL, 0);
		}
		fputs("]", f);
	}
	fputs("\n}\n", f);
}

int info_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "verify", required_argument, NULL, 'K' },
		{ "decrypt", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verify = NULL, *decrypt = NULL;
	struct trust *trust = NULL;
	struct crypt_key *key = NULL;
	struct image_reader *r = NULL;
	struct image_meta m;
	struct member_cursor next;
	struct image_meta *others = NULL;	/* a tree's other processes */
	size_t nothers = 0, k;
	bool json = false;
	int c, fd = -1, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'K':
			verify = optarg;
			break;
		case 'D':
			decrypt = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'ckpt info --help'.\n", stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "ckpt: %s\nUsage: ckpt info IMAGE [--json]\nTry 'ckpt info --help'.\n",
			optind >= argc ? "missing IMAGE" : "too many arguments");
		return 2;
	}
	memset(&m, 0, sizeof(m));
	if ((verify && !(trust = trust_load(verify))) || (decrypt && !(key = crypt_key_load(decrypt))))
		ret = -1;
	else
		ret = info_open_image(argv[optind], &fd, &r, &m, &next, trust, key);
	/* A tree: every other process's metadata, after the root's. */
	if (!ret)
		ret = meta_read_others(r, &m, &next, &others, &nothers);
	if (!ret) {
		if (json) {
			print_json(stdout, &m, m.ntree ? others : NULL, nothers);
		} else {
			print_human(stdout, &m);
			for (k = 0; k < nothers; k++) {
				fprintf(stdout, "\n==== Process %d (%s), child of %d\n",
					others[k].process->pid, others[k].process->comm,
					others[k].process->ppid);
				print_human(stdout, &others[k]);
			}
		}
		if (fflush(stdout) || ferror(stdout))
			ret = fail(errno, NULL, "writing to standard output");
	}
	if (r)
		image_reader_free(r);
	meta_free_others(others, nothers);
	meta_free(&m);
	if (fd > STDIN_FILENO)
		close(fd);
	trust_free(trust);
	crypt_key_free(key);
	if (ret) {
		error_print();
		return 1;
	}
	return 0;
}
