/* ckpt check: what this kernel and machine offer checkpoint/restart
 * (probed for real, in throw-away child processes), and whether a given
 * image could be restarted here (every check restart makes before it
 * starts anything, without starting anything). */
#define LOG_PREFIX ""
#include "check.h"
#include "page_chunk.h"
#include "page_index.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/kcmp.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "info.h"
#include "sign.h"
#include "crypt.h"
#include "state.h"
#include "version.h"

static const char usage[] =
"Usage: ckpt check\n"
"       ckpt check IMAGE [--new-pid | --any-pid] [--as-root] [--verify PUBKEY]\n"
"                        [--decrypt KEYFILE]\n"
"\n"
"Without IMAGE: probe what this kernel and machine offer checkpoint and\n"
"restart, one line per feature: \"OK      feature\", or \"MISSING feature: what\n"
"is lost without it\".  Exit status 1 when checkpointing cannot work at all.\n"
"\n"
"With IMAGE (\"-\" reads it from standard input): tell whether restart(1)\n"
"could bring it back here, running every check restart makes before it\n"
"starts anything (image complete and undamaged, executable and mapped files\n"
"identical, CPU features, vDSO, files to reopen, credentials, PIDs free,\n"
"privileges), without starting anything; one line \"OK ...\" or \"FAIL ...\"\n"
"per check.  Exit status 0 if it can be restarted, 1 if not (the first\n"
"problem is also printed on standard error).\n"
"\n"
"Options:\n"
"  -n, --new-pid   check for `restart --new-pid` (a new PID namespace): the\n"
"                  PIDs need not be free here, PID 1 is not in the image,\n"
"                  and restart may create PID and mount namespaces\n"
"      --any-pid   check for `restart --any-pid` (a single process under any\n"
"                  free PID)\n"
"      --as-root   run by root, check another user's image with root's\n"
"                  credentials, as `restart --as-root` (by default as that\n"
"                  user, as restart does: see restart(1))\n"
"      --verify PUBKEY\n"
"                  check as `restart --verify PUBKEY` does: the image must be\n"
"                  signed (ckpt --sign) by the key PUBKEY or by a key of the\n"
"                  *.pub files of the directory PUBKEY, every byte unchanged\n"
"      --decrypt KEYFILE\n"
"                  read an image encrypted with ckpt --encrypt KEYFILE\n"
"  -h, --help      show this help\n"
"\n"
"Exit status: 0, 1 as above, 2 on bad usage.\n";

/* ------------------------------------------------------------------ */
/* ckpt check: the machine                                            */

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif
#define PR_TIMER_CREATE_RESTORE_IDS_GET 2

/* PAGEMAP_SCAN (Linux 6.7), not in every distribution's headers yet. */
struct ckpt_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct ckpt_page_region {
	uint64_t start, end, categories;
};
#define CKPT_PAGEMAP_SCAN _IOWR('f', 16, struct ckpt_pm_scan_arg)
#define CKPT_PAGE_IS_PRESENT (1 << 3)

#define CAP_BIT(n) (1ull << (n))
enum { CAP_NET_ADMIN_ = 12, CAP_SYS_PTRACE_ = 19, CAP_SYS_ADMIN_ = 21, CAP_SYS_RESOURCE_ = 24,
       CAP_CHECKPOINT_RESTORE_ = 40 };

static volatile uint64_t probe_word = 1;

struct probe {
	pid_t child;		/* paused child to probe on, our tracee once seized */
	bool seized;
	int devnull;		/* a file the child has too (inherited) */
	unsigned missing_fatal;
};

static void say_ok(const char *fmt, ...) printf_like(1, 2);
static void say_ok(const char *fmt, ...)
{
	va_list ap;

	fputs("OK      ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static void say_missing(const char *feature, int err, const char *lost, ...) printf_like(3, 4);
static void say_missing(const char *feature, int err, const char *lost, ...)
{
	va_list ap;

	printf("MISSING %s: ", feature);
	va_start(ap, lost);
	vprintf(lost, ap);
	va_end(ap);
	if (err)
		printf(" (%s)", strerror(err));
	fputc('\n', stdout);
}

static uint64_t own_caps(void)
{
	struct proc_status st;

	if (procfs_read_status(getpid(), &st)) {
		error_clear();
		return 0;
	}
	return st.cap_eff;
}

static void probe_ptrace(struct probe *p)
{
	struct __ptrace_syscall_info info;
	struct { uint64_t ptr; uint32_t size, sig, flags, pad; } rseq;
	int status;
	long n;

	if (ptrace(PTRACE_SEIZE, p->child, 0, 0)) {
		p->missing_fatal++;
		say_missing("ptrace SEIZE/INTERRUPT", errno, "no process can be checkpointed");
	} else if (ptrace(PTRACE_INTERRUPT, p->child, 0, 0) ||
		   waitpid(p->child, &status, __WALL) != p->child || !WIFSTOPPED(status) ||
		   status >> 16 != PTRACE_EVENT_STOP) {
		p->missing_fatal++;
		say_missing("ptrace SEIZE/INTERRUPT", errno, "a process cannot be stopped "
			    "without a signal it would see: nothing can be checkpointed");
	} else {
		p->seized = true;
		say_ok("ptrace SEIZE/INTERRUPT");
	}
	n = p->seized ? ptrace(PTRACE_GET_SYSCALL_INFO, p->child, sizeof(info), &info) : -1;
	if (n > 0)
		say_ok("PTRACE_GET_SYSCALL_INFO");
	else
		say_missing("PTRACE_GET_SYSCALL_INFO", p->seized ? errno : 0, "syscalls cannot be "
			    "injected: nothing can be checkpointed or restarted (Linux 5.3+)");
	if (p->seized && !ptrace(PTRACE_SETOPTIONS, p->child, 0, PTRACE_O_SUSPEND_SECCOMP))
		say_ok("PTRACE_O_SUSPEND_SECCOMP");
	else
		say_missing("PTRACE_O_SUSPEND_SECCOMP", p->seized ? errno : 0, "a process whose "
			    "seccomp filters forbid the syscalls ckpt injects cannot be checkpointed "
			    "or restarted (needs CAP_SYS_ADMIN)");
	n = p->seized ? ptrace(PTRACE_GET_RSEQ_CONFIGURATION, p->child, sizeof(rseq), &rseq) : -1;
	if (n > 0)
		say_ok("PTRACE_GET_RSEQ_CONFIGURATION");
	else
		say_missing("PTRACE_GET_RSEQ_CONFIGURATION", p->seized ? errno : 0, "rseq "
			    "registrations are not saved: restored threads run without rseq "
			    "(Linux 5.13+)");
}

/* A free PID above the last one handed out, taken with clone3 set_tid. */
static void probe_clone3_set_tid(void)
{
	char *text;
	size_t len;
	long last = 300, max = 32768;
	int tries, err = 0;

	if (!procfs_read_file("/proc/sys/kernel/ns_last_pid", &text, &len)) {
		last = strtol(text, NULL, 10);
		free(text);
	}
	if (!procfs_read_file("/proc/sys/kernel/pid_max", &text, &len)) {
		max = strtol(text, NULL, 10);
		free(text);
	}
	error_clear();
	for (tries = 0; tries < 50; tries++) {
		pid_t want = (pid_t)((last + 1000 + 97 * tries) % max), got;
		struct clone_args args = {
			.exit_signal = SIGCHLD,
			.set_tid = (uint64_t)(uintptr_t)&want,
			.set_tid_size = 1,
		};
		char path[32];

		if (want < 300)
			continue;
		snprintf(path, sizeof(path), "/proc/%d", want);
		if (!access(path, F_OK))
			continue;
		got = syscall(SYS_clone3, &args, sizeof(args));
		if (got == 0)
			_exit(0);
		if (got > 0) {
			waitpid(got, NULL, 0);
			if (got == want) {
				say_ok("clone3 with set_tid (a process created as PID %d)", want);
				return;
			}
			err = 0;
			break;
		}
		err = errno;
		if (err != EEXIST)
			break;
	}
	say_missing("clone3 with set_tid", err, "restart cannot give a process its original "
		    "PID: only `restart --any-pid` works%s", err == EPERM ? " (needs "
		    "CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)" : err == ENOSYS || err == E2BIG ?
		    " (Linux 5.9+)" : "");
}

/* In a child of its own: PR_SET_MM_MAP_SIZE, then PR_SET_MM_MAP with the
 * child's own values (changes nothing). */
static void probe_set_mm_map(void)
{
	int *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	if (res == MAP_FAILED) {
		say_missing("PR_SET_MM_MAP", errno, "could not be probed");
		return;
	}
	res[0] = -1;
	res[1] = 0;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct proc_stat st;
		unsigned size = 0;
		struct prctl_mm_map map;

		if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0)) {
			res[0] = 1;
			res[1] = errno;
			_exit(0);
		}
		if (procfs_read_stat(getpid(), &st)) {
			res[0] = 2;
			res[1] = EIO;
			_exit(0);
		}
		map = (struct prctl_mm_map){
			.start_code = st.start_code, .end_code = st.end_code,
			.start_data = st.start_data, .end_data = st.end_data,
			.start_brk = st.start_brk, .brk = (uint64_t)(uintptr_t)sbrk(0),
			.start_stack = st.startstack,
			.arg_start = st.arg_start, .arg_end = st.arg_end,
			.env_start = st.env_start, .env_end = st.env_end,
			.exe_fd = (uint32_t)-1,
		};
		if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0)) {
			res[0] = 2;
			res[1] = errno;
			_exit(0);
		}
		res[0] = 0;
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (res[0] == 0)
		say_ok("PR_SET_MM_MAP");
	else
		say_missing("PR_SET_MM_MAP", res[0] > 0 ? res[1] : errno, "restart cannot put "
			    "back the process's command line, environment, auxv and heap "
			    "pointers: nothing can be restarted%s", res[0] == 1 ?
			    " (kernel without CONFIG_CHECKPOINT_RESTORE)" : "");
	munmap(res, 4096);
}

static void probe_memory_access(struct probe *p)
{
	uint64_t addr = (uint64_t)(uintptr_t)&probe_word, value = 0x5ca1ab1e, back = 0, entry = 0;
	struct iovec local = { &value, sizeof(value) }, remote = { (void *)(uintptr_t)addr, 8 };
	struct ckpt_page_region region;
	struct ckpt_pm_scan_arg scan = {
		.size = sizeof(scan), .start = addr & ~4095ull, .end = (addr & ~4095ull) + 4096,
		.vec = (uint64_t)(uintptr_t)&region, .vec_len = 1,
		.category_anyof_mask = CKPT_PAGE_IS_PRESENT, .return_mask = CKPT_PAGE_IS_PRESENT,
	};
	char path[64];
	int fd, err;

	if (process_vm_writev(p->child, &local, 1, &remote, 1, 0) != 8) {
		err = errno;
		p->missing_fatal++;
		say_missing("process_vm_readv/writev", err, "memory cannot be read or written "
			    "quickly: nothing can be checkpointed");
	} else {
		local.iov_base = &back;
		if (process_vm_readv(p->child, &local, 1, &remote, 1, 0) != 8 || back != value) {
			err = errno;
			p->missing_fatal++;
			say_missing("process_vm_readv/writev", err, "memory cannot be read "
				    "quickly: nothing can be checkpointed");
		} else {
			say_ok("process_vm_readv/writev");
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &entry, 8, (addr / 4096) * 8) != 8) {
		err = errno;
		p->missing_fatal++;
		say_missing("/proc/PID/pagemap", err, "the pages in use cannot be found: nothing "
			    "can be checkpointed");
	} else if (!(entry & (1ull << 63))) {
		p->missing_fatal++;
		say_missing("/proc/PID/pagemap", 0, "it shows a page in use as absent: nothing "
			    "can be checkpointed");
	} else {
		say_ok("/proc/PID/pagemap");
	}
	if (fd >= 0 && ioctl(fd, CKPT_PAGEMAP_SCAN, &scan) >= 0)
		say_ok("PAGEMAP_SCAN ioctl");
	else
		say_missing("PAGEMAP_SCAN ioctl", fd >= 0 ? errno : 0, "not used yet: pages are "
			    "found by reading pagemap entry by entry, slower on large sparse "
			    "mappings (Linux 6.7+)");
	if (fd >= 0)
		close(fd);
}

static void probe_fds(struct probe *p)
{
	int pidfd = syscall(SYS_pidfd_open, p->child, 0), copy = -1, err;
	long same;

	if (pidfd >= 0)
		copy = syscall(SYS_pidfd_getfd, pidfd, p->devnull, 0);
	err = errno;
	if (copy >= 0)
		say_ok("pidfd_getfd");
	else
		say_missing("pidfd_getfd", err, "the contents of pipes, deleted files and memfds "
			    "cannot be saved: processes having them cannot be checkpointed "
			    "(Linux 5.6+)");
	if (copy >= 0)
		close(copy);
	if (pidfd >= 0)
		close(pidfd);
	same = syscall(SYS_kcmp, getpid(), p->child, KCMP_FILE, p->devnull, p->devnull);
	if (same == 0)
		say_ok("kcmp");
	else
		say_missing("kcmp", same < 0 ? errno : 0, "shared open files are restored as "
			    "separate ones (offsets no longer shared) and vfork children are not "
			    "recognized (CONFIG_KCMP)");
}

static void probe_misc(void)
{
	struct vma_entry *vmas = NULL;
	size_t n = 0, i, nblock = 0;
	char names[256] = "";
	int fd, one = 1;
	long ret;

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		say_ok("userfaultfd");
		close(fd);
	} else {
		say_missing("userfaultfd", errno, "not used yet: restoring memory lazily (on "
			    "first touch) would need it");
	}
	ret = prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0);
	if (ret >= 0)
		say_ok("PR_TIMER_CREATE_RESTORE_IDS");
	else
		say_missing("PR_TIMER_CREATE_RESTORE_IDS", errno, "POSIX timers get new ids: a "
			    "process with timers restarts only if its ids come out the same "
			    "(Linux 6.15+)");
	if (procfs_read_vmas(getpid(), &vmas, &n)) {
		say_missing("vDSO", 0, "%s", error_text());
		error_clear();
	} else {
		bool vdso = false;
		for (i = 0; i < n; i++) {
			if (strcmp(vmas[i].path, "[vdso]") && strncmp(vmas[i].path, "[vvar", 5))
				continue;
			vdso |= !strcmp(vmas[i].path, "[vdso]");
			nblock++;
			if (strlen(names) + strlen(vmas[i].path) + 2 < sizeof(names))
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
					 names[0] ? " " : "", vmas[i].path);
		}
		if (vdso)
			say_ok("vDSO layout: %s (%zu mapping%s)", names, nblock, nblock == 1 ? "" : "s");
		else
			say_missing("vDSO", 0, "no [vdso] mapping: ckpt injects syscalls from the "
				    "vDSO's syscall instruction, so nothing can be checkpointed");
	}
	free(vmas);
	if (timens_available())
		say_ok("time namespaces (a restored process's CLOCK_MONOTONIC and CLOCK_BOOTTIME "
		       "go on from the checkpoint)");
	else
		say_missing("time namespaces", ENOENT, "CLOCK_MONOTONIC and CLOCK_BOOTTIME of "
			    "a restored process jump to this host's (Linux 5.6+)");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one)))
		say_ok("TCP_REPAIR");
	else
		say_missing("TCP_REPAIR", errno, "a process with established TCP connections "
			    "cannot be checkpointed or restarted (needs CAP_NET_ADMIN)");
	if (fd >= 0)
		close(fd);
}

static void probe_cpu(void)
{
	static const char *const notable[] = {
		"sse4.2", "avx", "avx2", "fma", "bmi2", "avx512f", "avx512bw", "avx512vl",
		"avx512vnni", "avx512fp16", "amx-tile", "sha", "vaes",
	};
	struct cpu_features have, none = { 0 };
	char all[1024], padded[sizeof(all) + 2], some[256] = "", model[64];
	size_t i;
	int count;

	arch_cpu_features(&have);
	arch_cpu_model(model, sizeof(model));
	say_ok("xstate: %u bytes (XCR0 %#" PRIx64 ")", arch_xstate_size(), have.xcr0);
	/* Every feature this CPU has is "missing" from none. */
	count = arch_cpu_features_missing(&have, &none, all, sizeof(all));
	snprintf(padded, sizeof(padded), " %s ", all);
	for (i = 0; i < sizeof(notable) / sizeof(notable[0]); i++) {
		char word[32];
		snprintf(word, sizeof(word), " %s ", notable[i]);
		if (strstr(padded, word))
			snprintf(some + strlen(some), sizeof(some) - strlen(some), "%s%s",
				 some[0] ? " " : "", notable[i]);
	}
	say_ok("CPU features: %s: %d recorded, among them %s", model, count,
	       some[0] ? some : "none of the AVX family");
}

static void probe_privileges(void)
{
	uint64_t caps = own_caps();
	char *text;
	size_t len;
	long yama = 0;
	char have[160] = "";
	static const struct { int bit; const char *name; } list[] = {
		{ CAP_SYS_PTRACE_, "CAP_SYS_PTRACE" }, { CAP_CHECKPOINT_RESTORE_, "CAP_CHECKPOINT_RESTORE" },
		{ CAP_SYS_ADMIN_, "CAP_SYS_ADMIN" }, { CAP_SYS_RESOURCE_, "CAP_SYS_RESOURCE" },
		{ CAP_NET_ADMIN_, "CAP_NET_ADMIN" },
	};
	size_t i;

	if (!procfs_read_file("/proc/sys/kernel/yama/ptrace_scope", &text, &len)) {
		yama = strtol(text, NULL, 10);
		free(text);
	}
	error_clear();
	for (i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		if (caps & CAP_BIT(list[i].bit))
			snprintf(have + strlen(have), sizeof(have) - strlen(have), " %s", list[i].name);
	if (yama >= 3)
		say_missing("privileges", 0, "Yama ptrace_scope is 3: no process can be traced, "
			    "so nothing can be checkpointed");
	else if (!(caps & CAP_BIT(CAP_SYS_PTRACE_)))
		say_missing("privileges", 0, "without CAP_SYS_PTRACE only processes of this user%s "
			    "can be checkpointed, and no PID can be reclaimed (euid %u)",
			    yama >= 1 ? " that descend from ckpt" : "", geteuid());
	else if (!(caps & (CAP_BIT(CAP_CHECKPOINT_RESTORE_) | CAP_BIT(CAP_SYS_ADMIN_))))
		say_missing("privileges", 0, "without CAP_CHECKPOINT_RESTORE restart cannot "
			    "reclaim PIDs (euid %u)", geteuid());
	else
		say_ok("privileges: euid %u,%s", geteuid(), have);
}

static int check_machine(void)
{
	struct probe p = { .child = -1, .devnull = -1 };

	p.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fflush(NULL);
	p.child = fork();
	if (p.child == 0) {
		probe_word = 2;		/* a private, present page */
		for (;;)
			pause();
	}
	if (p.child < 0) {
		fail(errno, NULL, "starting a process to probe");
		error_print();
		return 1;
	}
	probe_ptrace(&p);
	probe_memory_access(&p);
	probe_fds(&p);
	kill(p.child, SIGKILL);
	waitpid(p.child, NULL, __WALL);
	probe_clone3_set_tid();
	probe_set_mm_map();
	probe_misc();
	probe_cpu();
	probe_privileges();
	if (p.devnull >= 0)
		close(p.devnull);
	fflush(stdout);
	if (p.missing_fatal) {
		fail_why("checkpointing cannot work here", "see the MISSING lines above",
			 "checking this machine (%u essential feature%s missing)", p.missing_fatal,
			 p.missing_fatal == 1 ? "" : "s");
		error_print();
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* ckpt check IMAGE                                                   */

struct report {
	const struct image_meta *m;
	const struct restore_ctx *ctx;
	unsigned failed;
	char first[1600];	/* the first failure, for stderr */
};

static void report_fail(struct report *rep, const char *text)
{
	printf("FAIL    %s\n", text);
	if (!rep->failed++)
		snprintf(rep->first, sizeof(rep->first), "%s", text);
}

/* Each file this host lacks or has in another version that the bundle
 * covers (the process module fails for one it does not). */
static void report_files(struct report *rep)
{
	const struct image_meta *m = rep->m;
	size_t i;

	for (i = 0; i < m->nfiles; i++) {
		const struct file_id_rec *f = &m->files[i];
		bool missing;
		int src = bundle_file_source(rep->ctx, i, &missing);
		const char *role = i + 1 == m->process->exe_file ? "executable" : "mapped file";
		const char *state = f->replaced == 1 ? "deleted since it started" :
				    f->replaced == 2 ? "replaced since it was mapped" :
				    missing ? "missing here" : "different here";

		/* One not covered fails the process module's check. */
		if (src == FROM_BUNDLE)
			say_ok("%s %s: %s, in the bundle", role, f->path, state);
	}
}

/* What each module's check() covers, in words. */
static void report_module(void *arg, const char *module, const char *error)
{
	struct report *rep = arg;
	const struct image_meta *m = rep->m;
	size_t nfiles = m->nfiles ? m->nfiles - 1 : 0;

	if (error) {
		report_fail(rep, error);
		return;
	}
	if (!strcmp(module, "bundle")) {
		report_files(rep);
	} else if (!strcmp(module, "process")) {
		size_t i, from_bundle = 0;
		bool missing;
		for (i = 0; i < m->nfiles; i++)
			from_bundle += bundle_file_source(rep->ctx, i, &missing) == FROM_BUNDLE;
		if (from_bundle)
			say_ok("executable and %zu mapped file%s: %zu identical here, %zu from the "
			       "bundle", nfiles, nfiles == 1 ? "" : "s", m->nfiles - from_bundle,
			       from_bundle);
		else
			say_ok("executable and %zu mapped file%s identical", nfiles,
			       nfiles == 1 ? "" : "s");
		say_ok("CPU features (image taken on: %s)", m->process->cpu_model ?
		       m->process->cpu_model : "?");
	} else if (!strcmp(module, "memory")) {
		say_ok("memory map: %zu mappings", m->nvmas);
	} else if (!strcmp(module, "threads")) {
		say_ok("threads: %zu", m->nthreads);
	} else if (!strcmp(module, "fds")) {
		say_ok("file descriptors: %zu, every file to reopen is there", m->nfds);
	} else if (!strcmp(module, "credentials")) {
		say_ok("credentials: uid %u gid %u can be restored", m->process->euid,
		       m->process->egid);
	} else if (!strcmp(module, "signals")) {
		say_ok("signals: %zu handlers, %zu queued", m->nsigactions, m->nsigpending);
	} else if (!strcmp(module, "timers")) {
		say_ok("POSIX timers: %zu", m->ntimers);
	} else if (!strcmp(module, "seccomp")) {
		say_ok("seccomp filters: %zu", m->nseccomp);
	} else if (!strcmp(module, "rlimits")) {
		say_ok("resource limits: %zu", m->nrlimits);
	} else {
		say_ok("%s", module);
	}
}

/* As restart requires: every page of the run in mappings that hold
 * contents (a run may span adjacent ones). */
static bool in_vmas(const struct image_meta *m, uint64_t start, uint64_t end)
{
	size_t i;

	for (i = 0; i < m->nvmas && m->vmas[i].end <= start; i++)
		;
	for (; i < m->nvmas && m->vmas[i].start <= start; i++) {
		if (!vma_kind_has_contents(m->vmas[i].kind))
			return false;
		if (end <= m->vmas[i].end)
			return true;
		start = m->vmas[i].end;
	}
	return false;
}

static bool chunk_in_vmas(const void *m, uint64_t start, uint64_t end)
{
	return in_vmas(m, start, end);
}

/* A pages/ member as restart will take it: header, runs, size, crc32c. */
static int check_chunk(const struct image_meta *m, const char *name, const uint8_t *buf,
		       size_t len, uint64_t *pages)
{
	struct chunk_view v;
	const char *why;

	if (chunk_parse(buf, len, &v, chunk_in_vmas, m, &why))
		return fail_why(why, "the image is corrupted", "reading image member %s", name);
	*pages += v.stored_pages;
	return 0;
}

/* The process whose pages/ member name is (a tree: proc/PID/pages/...). */
static const struct image_meta *pages_of(const char *name, const struct image_meta *m,
					 const struct image_meta *others, size_t nothers)
{
	char prefix[MEMBER_PREFIX_MAX + 8];
	size_t k;

	if (!strncmp(name, "pages/", 6))
		return m;
	for (k = 0; k < nothers; k++) {
		snprintf(prefix, sizeof(prefix), "proc/%d/pages/", others[k].process->pid);
		if (!strncmp(name, prefix, strlen(prefix)))
			return &others[k];
	}
	return NULL;
}

/* index/pages, or proc/PID/index/pages of another process of a tree. */
static bool is_index_member(const char *name)
{
	size_t len = strlen(name), ilen = strlen(PAGE_INDEX_MEMBER);

	return !strcmp(name, PAGE_INDEX_MEMBER) ||
	       (!strncmp(name, "proc/", 5) && len > ilen && name[len - ilen - 1] == '/' &&
		!strcmp(name + len - ilen, PAGE_INDEX_MEMBER));
}

/* Read what follows the metadata to the end, as restart would. */
static int check_contents(struct restore_ctx *ctx, const struct image_meta *others,
			  size_t nothers, size_t *chunks, uint64_t *pages, size_t *nbundled,
			  uint64_t *bundled_bytes)
{
	struct image_reader *r = ctx->reader;
	const struct image_meta *root = &ctx->meta;
	struct member_cursor *next = &ctx->next;
	int state = next->state;
	struct page_index ix;

	while (state > 0) {
		const struct image_meta *m = pages_of(next->name, root, others, nothers);
		void *data;
		size_t len;

		if (!strncmp(next->name, "files/", 6) && !*chunks) {
			/* Bundled files, before the pages: every one hashed. */
			if (bundle_check_member(ctx, next->name, next->size))
				return -1;
			++*nbundled;
			*bundled_bytes += next->size;
		} else if (m) {
			if (next->size > (2u << 20))
				return fail_why("member too large", "the image is corrupted",
						"reading image member %s", next->name);
			if (image_read_all(r, &data, &len))
				return -1;
			state = check_chunk(m, next->name, data, len, pages);
			free(data);
			if (state)
				return -1;
			++*chunks;
		} else if (is_index_member(next->name)) {
			if (image_read_all(r, &data, &len))
				return -1;
			state = page_index_decode(data, len, &ix);
			free(data);
			page_index_free(&ix);
			if (state)
				return -1;
		} else {
			return fail_why("unexpected member after the metadata", "the image is "
					"corrupted", "reading image member %s", next->name);
		}
		state = image_next_member(r, next->name, &next->size);
		if (state < 0)
			return -1;
	}
	return 0;
}

/* This kernel's vDSO block against the image's (restart compares the
 * new process's; every process of one kernel has the same). */
static int check_vdso(const struct image_meta *m)
{
	struct vma_entry *cur = NULL;
	size_t ncur, i, j, nimg = 0, ncurblock = 0;
	int ret = 0;

	if (procfs_read_vmas(getpid(), &cur, &ncur))
		return -1;
	for (i = 0; i < ncur; i++)
		if (!strcmp(cur[i].path, "[vdso]") || !strncmp(cur[i].path, "[vvar", 5))
			ncurblock++;
	for (i = 0; i < m->nvmas && !ret; i++) {
		const struct vma_rec *v = &m->vmas[i];
		if (v->kind != VMA_VDSO && v->kind != VMA_VVAR)
			continue;
		nimg++;
		for (j = 0; j < ncur; j++)
			if (v->path && !strcmp(cur[j].path, v->path) &&
			    cur[j].end - cur[j].start == v->end - v->start)
				break;
		if (j == ncur || (v->kind == VMA_VDSO &&
				  (m->vdso.len != v->end - v->start ||
				   memcmp((const void *)(uintptr_t)cur[j].start, m->vdso.data,
					  m->vdso.len))))
			ret = 1;
	}
	free(cur);
	if (ret || nimg != ncurblock) {
		struct utsname u;
		uname(&u);
		return fail_why("this kernel's vDSO differs from the one in the image",
				"restart on a host running the same kernel as at checkpoint time",
				"checking the vDSO (image kernel %s, this kernel %s)",
				m->header->kernel ? m->header->kernel : "?", u.release);
	}
	return 0;
}

static void check_pids(struct report *rep, const struct image_meta *m)
{
	size_t i, busy = 0;

	for (i = 0; i < m->nthreads; i++) {
		pid_t tid = m->threads[i].tid;
		struct proc_stat st;
		char why[1600];

		if (!restore_pid_free(tid, false))
			continue;
		busy++;
		snprintf(why, sizeof(why), "%s", error_text());	/* restart's own words */
		error_clear();
		if (procfs_read_stat(tid, &st) == 0)
			printf("FAIL    %s %d in use by '%s'%s\n", i ? "TID" : "PID", tid, st.comm,
			       st.state == 'Z' ? " (a zombie not reaped yet)" : "");
		else
			printf("FAIL    %s\n", why);
		error_clear();
		if (!rep->failed++)
			snprintf(rep->first, sizeof(rep->first), "%s", why);
	}
	if (!busy)
		say_ok("PID %d%s free", m->process->pid, m->nthreads > 1 ? " and every thread ID" : "");
}

static void check_privileges(struct report *rep, const struct image_meta *m, bool new_pid,
			     bool any_pid)
{
	uint64_t caps = own_caps();
	char line[256];
	size_t i;

	if (new_pid) {
		for (i = 0; i < m->ntree && m->tree[i].pid != 1; i++)
			;
		if (i && i < m->ntree) {
			report_fail(rep, "restoring process 1 with --new-pid: PID 1 of the new PID "
				    "namespace is restart's init");
			return;
		}
		if (!(caps & CAP_BIT(CAP_SYS_ADMIN_))) {
			report_fail(rep, "creating a new PID namespace (--new-pid): not permitted: "
				    "it needs CAP_SYS_ADMIN (run restart as root)");
			return;
		}
		say_ok("PIDs: restored in a new PID namespace (with its own /proc), every process "
		       "under its PID%s (euid %u, CAP_SYS_ADMIN)", m->process->pid == 1 ?
		       ", the root as its init" : "", geteuid());
		return;
	}
	if (m->header->own_pidns && !new_pid) {
		report_fail(rep, "restoring the image: its PIDs are those of the PID namespace it "
			    "ran in (restart it with --new-pid)");
		return;
	}
	if (any_pid && m->ntree > 1) {
		report_fail(rep, "restoring a tree with --any-pid: --any-pid is for a single process "
			    "(use --new-pid: a new PID namespace)");
		return;
	}
	if (any_pid) {
		say_ok("privileges: none needed to restart under a new PID (euid %u)", geteuid());
		return;
	}
	if (caps & (CAP_BIT(CAP_CHECKPOINT_RESTORE_) | CAP_BIT(CAP_SYS_ADMIN_))) {
		say_ok("privileges: may reclaim PID %d (euid %u, %s)", m->process->pid, geteuid(),
		       caps & CAP_BIT(CAP_CHECKPOINT_RESTORE_) ? "CAP_CHECKPOINT_RESTORE" :
		       "CAP_SYS_ADMIN");
		return;
	}
	snprintf(line, sizeof(line), "reclaiming PID %d: not permitted: it needs "
		 "CAP_CHECKPOINT_RESTORE (run restart as root)", m->process->pid);
	report_fail(rep, line);
}

static int check_image(const char *path, bool new_pid, bool any_pid, bool as_root,
		       const struct trust *trust, struct crypt_key *decrypt)
{
	struct restore_opts opts = { .new_pid = new_pid, .any_pid = any_pid, .stdio_fd = { 0, 1, 2 },
				     .as_root = as_root, .trust = trust, .decrypt = decrypt };
	struct restore_ctx ctx = { .opts = &opts, .child_error_fd = -1 };
	char dir[PATH_MAX];
	struct report rep = { .m = &ctx.meta };
	struct restore_ctx *others = NULL;	/* a tree's other processes */
	size_t chunks = 0, nothers = 0, k, nbundled = 0;
	struct image_meta *metas = NULL;
	uint64_t pages = 0, bundled_bytes = 0;
	bool new_pid_only = false;
	int fd = -1, ret;

	image_dir_of(path, dir, sizeof(dir));
	opts.image_dir = dir;
	/* (standard input: who writes it, before it is read) */
	if (geteuid() == 0 && !strcmp(path, "-"))
		creds_image_supplier(STDIN_FILENO, true, &opts);
	ret = info_open_image(path, &fd, &ctx.reader, &ctx.meta, &ctx.next, trust, decrypt);
	if (!ret)
		ret = meta_read_others(ctx.reader, &ctx.meta, &ctx.next, &metas, &nothers);
	/* As restart: root checks another user's image as that user. */
	if (!ret) {
		gid_t gid;
		uid_t owner;

		if (geteuid() == 0 && strcmp(path, "-"))
			creds_image_supplier(fd, false, &opts);
		owner = creds_image_owner(ctx.meta.header, &opts, &gid);
		if (geteuid() == 0 && !as_root && owner) {
			say_ok("owner: the image belongs to uid %u: checked with that user's "
			       "credentials, as restart run by root restores it (--as-root: root's)",
			       owner);
			ret = creds_drop_for_image(&ctx);
		}
	}
	if (!ret && nothers && !(others = calloc(nothers, sizeof(*others))))
		ret = fail(ENOMEM, NULL, "reading the image");
	for (k = 0; !ret && k < nothers; k++) {
		/* (shallow: metas[] owns the records) */
		others[k] = (struct restore_ctx){ .opts = &opts, .child_error_fd = -1,
						  .reader = ctx.reader, .meta = metas[k] };
		snprintf(others[k].prefix, MEMBER_PREFIX_MAX, "proc/%d/", metas[k].process->pid);
	}
	if (ret) {
		printf("FAIL    %s\n", error_text());
		fflush(stdout);
		error_print();
		goto out;
	}
	say_ok("image: format version %u, %s, of PID %d (%s), taken on %s", ctx.meta.header->format_version,
	       ctx.meta.header->tool_version ? ctx.meta.header->tool_version : "?",
	       ctx.meta.process->pid, ctx.meta.process->comm ? ctx.meta.process->comm : "?",
	       ctx.meta.header->hostname ? ctx.meta.header->hostname : "?");
	if (nothers)
		say_ok("a tree of %zu processes", ctx.meta.ntree);
	rep.ctx = &ctx;
	if (check_contents(&ctx, metas, nothers, &chunks, &pages, &nbundled, &bundled_bytes)) {
		report_fail(&rep, error_text());
		error_clear();
	} else {
		bundle_members_done(&ctx);
		say_ok("image complete and undamaged: %zu page chunk%s, %" PRIu64 " KiB of memory",
		       chunks, chunks == 1 ? "" : "s", pages * 4);
		if (trust) {
			uint8_t pub[SIG_PUBKEY_LEN];
			char fp[SIG_FINGERPRINT_LEN] = "?";

			if (image_reader_signer(ctx.reader, pub))
				sign_fingerprint(pub, fp);
			say_ok("signature: every frame signed by trusted key %s", fp);
		}
		if (nbundled)
			say_ok("bundle: %zu file%s, %" PRIu64 " KiB, every one matching its SHA-256",
			       nbundled, nbundled == 1 ? "" : "s", bundled_bytes >> 10);
	}
	(void)!restore_run_checks_each(&ctx, report_module, &rep);
	for (k = 0; k < nothers; k++)
		(void)!restore_run_checks_each(&others[k], report_module, &rep);
	if (check_vdso(&ctx.meta)) {
		report_fail(&rep, error_text());
		error_clear();
	} else {
		say_ok("vDSO identical to this kernel's");
	}
	if (ctx.meta.process->clock_monotonic_ns) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timens_available())
			say_ok("clocks: CLOCK_MONOTONIC goes on from %.1f s, in a time namespace",
			       ctx.meta.process->clock_monotonic_ns / 1e9);
		else
			printf("WARN    clocks: no time namespaces here (Linux 5.6+): CLOCK_MONOTONIC "
			       "jumps from %.1f s to this host's %.1f s\n",
			       ctx.meta.process->clock_monotonic_ns / 1e9, now.tv_sec + now.tv_nsec / 1e9);
	}
	if (ctx.meta.ntimers && prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET,
				      0, 0, 0) < 0)
		printf("WARN    POSIX timers: this kernel cannot create them under chosen ids "
		       "(Linux 6.15+): restart works only if they come out the same\n");
	if (ctx.meta.header->own_pidns)
		new_pid_only = true;	/* (its PIDs mean nothing on this host) */
	if (!new_pid && !any_pid && !new_pid_only)
		check_pids(&rep, &ctx.meta);
	for (k = 0; !new_pid && !any_pid && !new_pid_only && k < nothers; k++)
		check_pids(&rep, &others[k].meta);
	check_privileges(&rep, &ctx.meta, new_pid, any_pid);
	fflush(stdout);
	ret = rep.failed ? -1 : 0;
	if (rep.failed)
		fprintf(stderr, "%s: %s\n", log_program(), rep.first);
out:
	state_restore_release(&ctx);
	if (ctx.reader)
		image_reader_free(ctx.reader);
	for (k = 0; others && k < nothers; k++)
		state_restore_release(&others[k]);
	free(others);
	meta_free_others(metas, nothers);
	meta_free(&ctx.meta);
	if (fd > STDIN_FILENO)
		close(fd);
	return ret ? 1 : 0;
}

int check_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "new-pid", no_argument, NULL, 'n' },
		{ "any-pid", no_argument, NULL, 'a' },
		{ "as-root", no_argument, NULL, 'R' },
		{ "verify", required_argument, NULL, 'K' },
		{ "decrypt", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool new_pid = false, any_pid = false, as_root = false;
	const char *verify = NULL, *decrypt = NULL;
	struct trust *trust = NULL;
	struct crypt_key *key = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			new_pid = true;
			break;
		case 'a':
			any_pid = true;
			break;
		case 'R':
			as_root = true;
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
			fputs("Try 'ckpt check --help'.\n", stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fputs("ckpt: too many arguments\nUsage: ckpt check [IMAGE [--new-pid]]\n"
		      "Try 'ckpt check --help'.\n", stderr);
		return 2;
	}
	if (optind == argc) {
		if (new_pid || any_pid) {
			fputs("ckpt: --new-pid and --any-pid need an IMAGE\nTry 'ckpt check --help'.\n", stderr);
			return 2;
		}
		if (verify || decrypt) {
			fputs("ckpt: --verify and --decrypt need an IMAGE\nTry 'ckpt check --help'.\n", stderr);
			return 2;
		}
		return check_machine();
	}
	if (new_pid && any_pid) {
		fputs("ckpt: --new-pid and --any-pid exclude each other\nTry 'ckpt check --help'.\n",
		      stderr);
		return 2;
	}
	if ((verify && !(trust = trust_load(verify))) || (decrypt && !(key = crypt_key_load(decrypt)))) {
		error_print();
		trust_free(trust);
		return 1;
	}
	c = check_image(argv[optind], new_pid, any_pid, as_root, trust, key);
	trust_free(trust);
	crypt_key_free(key);
	return c;
}
