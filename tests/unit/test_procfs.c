/* Unit tests for common/procfs.c.
 *
 * The fixed texts are copied verbatim from this machine's /proc (Debian 12,
 * kernel 6.18, x86_64); the live tests read /proc/self and compare with what
 * the process knows about itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Before check.h: check.h defines a deprecated fail() macro that would
 * clobber the declaration of our fail() in error.h. */
#include "procfs.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#undef fail	/* check.h's; ours is the one in error.h */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The error must be set and its text must contain `s`. */
#define assert_error_mentions(s)                                              \
	do {                                                                  \
		ck_assert_msg(error_is_set(), "no error recorded");           \
		ck_assert_msg(strstr(error_text(), (s)) != NULL,              \
			      "error '%s' does not mention '%s'",             \
			      error_text(), (s));                             \
	} while (0)

static void setup(void)
{
	error_clear();
}

/* ---- fixed texts from this machine ------------------------------------ */

/* cat /proc/self/maps (the locale lines left out). */
static const char maps_text[] =
	"562367a2f000-562367a31000 r--p 00000000 fe:00 247134                     /usr/bin/cat\n"
	"562367a31000-562367a36000 r-xp 00002000 fe:00 247134                     /usr/bin/cat\n"
	"562367a36000-562367a39000 r--p 00007000 fe:00 247134                     /usr/bin/cat\n"
	"562367a39000-562367a3a000 r--p 00009000 fe:00 247134                     /usr/bin/cat\n"
	"562367a3a000-562367a3b000 rw-p 0000a000 fe:00 247134                     /usr/bin/cat\n"
	"5623793ac000-5623793cd000 rw-p 00000000 00:00 0                          [heap]\n"
	"7ffaca9db000-7ffaca9fd000 rw-p 00000000 00:00 0 \n"
	"7ffacaa5b000-7ffacaa5e000 rw-p 00000000 00:00 0 \n"
	"7ffacaa5e000-7ffacaa84000 r--p 00000000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffacaa84000-7ffacabda000 r-xp 00026000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffacabda000-7ffacac2d000 r--p 0017c000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffacac2d000-7ffacac31000 r--p 001cf000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffacac31000-7ffacac33000 rw-p 001d3000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffacac33000-7ffacac40000 rw-p 00000000 00:00 0 \n"
	"7ffacac43000-7ffacac4a000 r--s 00000000 fe:00 332280                     /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache\n"
	"7ffacac4b000-7ffacac4d000 rw-p 00000000 00:00 0 \n"
	"7ffacac4d000-7ffacac51000 r--p 00000000 00:00 0                          [vvar]\n"
	"7ffacac51000-7ffacac53000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
	"7ffacac53000-7ffacac55000 r-xp 00000000 00:00 0                          [vdso]\n"
	"7ffacac55000-7ffacac56000 r--p 00000000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
	"7ffacac56000-7ffacac7c000 r-xp 00001000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
	"7ffacac7c000-7ffacac86000 r--p 00027000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
	"7ffacac86000-7ffacac88000 r--p 00031000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
	"7ffacac88000-7ffacac8a000 rw-p 00033000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
	"7ffd62063000-7ffd62084000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
	;

/* A python process with a MAP_SHARED file that has spaces in its name and
 * one that was unlinked after mmap. */
static const char maps_space[] =
	"7f35b73bc000-7f35b73bd000 rw-s 00000000 fe:00 10952841                   /tmp/sm/my file (x).dat\n";
static const char maps_deleted[] =
	"7f35b73bb000-7f35b73bc000 rw-s 00000000 fe:00 10952896                   /tmp/sm/gone2.dat (deleted)\n";

/* /proc/self/smaps of that python process: ten of its mappings, some with
 * every attribute line, others cut down to a few (all real lines). */
static const char smaps_text[] =
	"5589ee2b8000-5589ee2b9000 r--p 00000000 fe:00 18624                      /root/.pyenv/versions/3.11.7/bin/python3.11\n"
	"Size:                  4 kB\n"
	"KernelPageSize:        4 kB\n"
	"MMUPageSize:           4 kB\n"
	"Rss:                   4 kB\n"
	"Pss:                   4 kB\n"
	"Pss_Dirty:             0 kB\n"
	"Shared_Clean:          0 kB\n"
	"Shared_Dirty:          0 kB\n"
	"Private_Clean:         4 kB\n"
	"Private_Dirty:         0 kB\n"
	"Referenced:            4 kB\n"
	"Anonymous:             0 kB\n"
	"KSM:                   0 kB\n"
	"LazyFree:              0 kB\n"
	"AnonHugePages:         0 kB\n"
	"ShmemPmdMapped:        0 kB\n"
	"FilePmdMapped:         0 kB\n"
	"Shared_Hugetlb:        0 kB\n"
	"Private_Hugetlb:       0 kB\n"
	"Swap:                  0 kB\n"
	"SwapPss:               0 kB\n"
	"Locked:                0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd mr mw me \n"
	"558a0ab16000-558a0aca5000 rw-p 00000000 00:00 0                          [heap]\n"
	"Size:               1596 kB\n"
	"Rss:                1540 kB\n"
	"Pss:                1540 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd wr mr mw me ac \n"
	"7fd876e9c000-7fd876fcf000 rw-p 00000000 00:00 0 \n"
	"Size:               1228 kB\n"
	"Rss:                 768 kB\n"
	"Pss:                 768 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd wr mr mw me ac \n"
	"7fd876fd6000-7fd876fd7000 rw-s 00000000 fe:00 10952842                   /tmp/sm/gone.dat (deleted)\n"
	"Size:                  4 kB\n"
	"KernelPageSize:        4 kB\n"
	"MMUPageSize:           4 kB\n"
	"Rss:                   0 kB\n"
	"Pss:                   0 kB\n"
	"Pss_Dirty:             0 kB\n"
	"Shared_Clean:          0 kB\n"
	"Shared_Dirty:          0 kB\n"
	"Private_Clean:         0 kB\n"
	"Private_Dirty:         0 kB\n"
	"Referenced:            0 kB\n"
	"Anonymous:             0 kB\n"
	"KSM:                   0 kB\n"
	"LazyFree:              0 kB\n"
	"AnonHugePages:         0 kB\n"
	"ShmemPmdMapped:        0 kB\n"
	"FilePmdMapped:         0 kB\n"
	"Shared_Hugetlb:        0 kB\n"
	"Private_Hugetlb:       0 kB\n"
	"Swap:                  0 kB\n"
	"SwapPss:               0 kB\n"
	"Locked:                0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd wr sh mr mw me ms \n"
	"7fd876fd7000-7fd876fd8000 rw-s 00000000 fe:00 10952841                   /tmp/sm/my file (x).dat\n"
	"Size:                  4 kB\n"
	"Rss:                   0 kB\n"
	"Pss:                   0 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd wr sh mr mw me ms \n"
	"7fd877ce9000-7fd877ced000 r--p 00000000 00:00 0                          [vvar]\n"
	"Size:                 16 kB\n"
	"Rss:                   0 kB\n"
	"Pss:                   0 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd mr pf io de dd \n"
	"7fd877ced000-7fd877cef000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
	"Size:                  8 kB\n"
	"Rss:                   0 kB\n"
	"Pss:                   0 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd mr pf io de dd \n"
	"7fd877cef000-7fd877cf1000 r-xp 00000000 00:00 0                          [vdso]\n"
	"Size:                  8 kB\n"
	"Rss:                   4 kB\n"
	"Pss:                   0 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd ex mr mw me de \n"
	"7ffc15634000-7ffc15655000 rw-p 00000000 00:00 0                          [stack]\n"
	"Size:                132 kB\n"
	"Rss:                  60 kB\n"
	"Pss:                  60 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: rd wr mr mw me gd ac \n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
	"Size:                  4 kB\n"
	"KernelPageSize:        4 kB\n"
	"MMUPageSize:           4 kB\n"
	"Rss:                   0 kB\n"
	"Pss:                   0 kB\n"
	"Pss_Dirty:             0 kB\n"
	"Shared_Clean:          0 kB\n"
	"Shared_Dirty:          0 kB\n"
	"Private_Clean:         0 kB\n"
	"Private_Dirty:         0 kB\n"
	"Referenced:            0 kB\n"
	"Anonymous:             0 kB\n"
	"KSM:                   0 kB\n"
	"LazyFree:              0 kB\n"
	"AnonHugePages:         0 kB\n"
	"ShmemPmdMapped:        0 kB\n"
	"FilePmdMapped:         0 kB\n"
	"Shared_Hugetlb:        0 kB\n"
	"Private_Hugetlb:       0 kB\n"
	"Swap:                  0 kB\n"
	"SwapPss:               0 kB\n"
	"Locked:                0 kB\n"
	"THPeligible:           0\n"
	"VmFlags: ex \n"
	;

static const char stat_cat[] =
	"3762 (cat) R 3759 3759 2097 0 -1 4194304 121 0 0 0 0 0 0 0 20 0 1 0 394717 3133440 376 18446744073709551615 94871153250304 94871153270185 140720560178240 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94871153286192 94871153287808 94871819554816 140720560183939 140720560183959 140720560183959 140720560185323 0\n";

static const char stat_kthreadd[] =
	"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 1 0 0 20 0 1 0 25 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

/* The 50 fields after comm of stat_cat, to build odd comm cases. */
#define STAT_TAIL "R 3759 3759 2097 0 -1 4194304 121 0 0 0 0 0 0 0 20 0 1 0 394717 3133440 376 18446744073709551615 94871153250304 94871153270185 140720560178240 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94871153286192 94871153287808 94871819554816 140720560183939 140720560183959 140720560183959 140720560185323 0\n"

/* /proc/self/status of python after setgroups, sigmask, signal() and
 * umask(027). */
static const char status_python[] =
	"Name:\tpython3\n"
	"Umask:\t0027\n"
	"State:\tR (running)\n"
	"Tgid:\t3465\n"
	"Ngid:\t0\n"
	"Pid:\t3465\n"
	"PPid:\t3463\n"
	"TracerPid:\t0\n"
	"Uid:\t0\t0\t0\t0\n"
	"Gid:\t0\t0\t0\t0\n"
	"FDSize:\t256\n"
	"Groups:\t4 24 27 1000 \n"
	"NStgid:\t3465\n"
	"NSpid:\t3465\n"
	"NSpgid:\t3463\n"
	"NSsid:\t2097\n"
	"Kthread:\t0\n"
	"VmPeak:\t   16644 kB\n"
	"VmSize:\t   16644 kB\n"
	"VmLck:\t       0 kB\n"
	"VmPin:\t       0 kB\n"
	"VmHWM:\t   13700 kB\n"
	"VmRSS:\t   13700 kB\n"
	"RssAnon:\t    6968 kB\n"
	"RssFile:\t    6732 kB\n"
	"RssShmem:\t       0 kB\n"
	"VmData:\t    7952 kB\n"
	"VmStk:\t     132 kB\n"
	"VmExe:\t       4 kB\n"
	"VmLib:\t    4696 kB\n"
	"VmPTE:\t      76 kB\n"
	"VmSwap:\t       0 kB\n"
	"HugetlbPages:\t       0 kB\n"
	"CoreDumping:\t0\n"
	"THP_enabled:\t1\n"
	"untag_mask:\t0xffffffffffffffff\n"
	"Threads:\t1\n"
	"SigQ:\t0/96365\n"
	"SigPnd:\t0000000000000000\n"
	"ShdPnd:\t0000000000000000\n"
	"SigBlk:\t0000000000000800\n"
	"SigIgn:\t0000000001001000\n"
	"SigCgt:\t0000000000000202\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t000001fffeffffff\n"
	"CapEff:\t000001fffeffffff\n"
	"CapBnd:\t000001fffeffffff\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t0\n"
	"Seccomp:\t0\n"
	"Seccomp_filters:\t0\n"
	"Speculation_Store_Bypass:\tvulnerable\n"
	"SpeculationIndirectBranch:\talways enabled\n"
	"Cpus_allowed:\t3\n"
	"Cpus_allowed_list:\t0-1\n"
	"Mems_allowed:\t00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000001\n"
	"Mems_allowed_list:\t0\n"
	"voluntary_ctxt_switches:\t40\n"
	"nonvoluntary_ctxt_switches:\t9\n";

/* Head of cat's status: no supplementary groups ("Groups:\t \n"), and the
 * NSpid line of a process inside a child pid namespace. */
static const char status_cat_head[] =
	"Name:\tcat\n"
	"Umask:\t0022\n"
	"State:\tR (running)\n"
	"Tgid:\t2739\n"
	"Ngid:\t0\n"
	"Pid:\t2739\n"
	"PPid:\t2735\n"
	"TracerPid:\t0\n"
	"Uid:\t0\t0\t0\t0\n"
	"Gid:\t0\t0\t0\t0\n"
	"FDSize:\t256\n"
	"Groups:\t \n"
	"NStgid:\t3599\t2\n"
	"NSpid:\t3599\t2\n"
	"NSpgid:\t3593\t0\n"
	"NSsid:\t2097\t0\n";

static const char limits_text[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max cpu time              unlimited            unlimited            seconds   \n"
	"Max file size             unlimited            unlimited            bytes     \n"
	"Max data size             unlimited            unlimited            bytes     \n"
	"Max stack size            8388608              unlimited            bytes     \n"
	"Max core file size        0                    unlimited            bytes     \n"
	"Max resident set          unlimited            unlimited            bytes     \n"
	"Max processes             96365                96365                processes \n"
	"Max open files            20000                20000                files     \n"
	"Max locked memory         8388608              8388608              bytes     \n"
	"Max address space         unlimited            unlimited            bytes     \n"
	"Max file locks            unlimited            unlimited            locks     \n"
	"Max pending signals       96365                96365                signals   \n"
	"Max msgqueue size         819200               819200               bytes     \n"
	"Max nice priority         0                    0                    \n"
	"Max realtime priority     0                    0                    \n"
	"Max realtime timeout      unlimited            unlimited            us        \n";

static const char fdinfo_stdin[] =
	"pos:\t0\n"
	"flags:\t0100000\n"
	"mnt_id:\t24\n"
	"ino:\t3\n";

static const char fdinfo_file[] =
	"pos:\t1234\n"
	"flags:\t02100002\n"
	"mnt_id:\t27\n"
	"ino:\t10952896\n";

static const char fdinfo_epoll[] =
	"pos:\t0\n"
	"flags:\t02000002\n"
	"mnt_id:\t17\n"
	"ino:\t1038\n"
	"tfd:        0 events:       19 data:                0  pos:0 ino:16e5 sdev:f\n";

static const char fdinfo_inotify[] =
	"pos:\t0\n"
	"flags:\t00\n"
	"mnt_id:\t17\n"
	"ino:\t1038\n"
	"inotify wd:1 ino:3c51a sdev:fe00000 mask:100 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:1ac5030000000000\n";

/* ---- maps ------------------------------------------------------------- */

/* Parse every line of maps_text; returns how many. */
static size_t parse_maps_text(const char *text, struct vma_entry *out, size_t max)
{
	char line[8192];
	const char *p = text, *nl;
	size_t n = 0;

	while (*p && n < max) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_uint_lt((size_t)(nl - p), sizeof(line));
		memcpy(line, p, nl - p);
		line[nl - p] = '\0';
		ck_assert_msg(procfs_parse_maps_line(line, &out[n]) == 0,
			      "line '%s': %s", line, error_text());
		n++;
		p = nl + 1;
	}
	return n;
}

START_TEST(test_maps_real)
{
	static struct vma_entry v[32];
	size_t n = parse_maps_text(maps_text, v, ARRAY_SIZE(v));

	ck_assert_uint_eq(n, 26);
	/* 562367a2f000-562367a31000 r--p 00000000 fe:00 247134 /usr/bin/cat */
	ck_assert_uint_eq(v[0].start, 0x562367a2f000ull);
	ck_assert_uint_eq(v[0].end, 0x562367a31000ull);
	ck_assert_int_eq(v[0].prot, PROT_READ);
	ck_assert(!v[0].shared);
	ck_assert_uint_eq(v[0].pgoff, 0);
	ck_assert_uint_eq(v[0].dev_major, 0xfe);
	ck_assert_uint_eq(v[0].dev_minor, 0);
	ck_assert_uint_eq(v[0].inode, 247134);
	ck_assert_str_eq(v[0].path, "/usr/bin/cat");
	ck_assert_uint_eq(v[0].vmflags, 0);
	/* text segment */
	ck_assert_int_eq(v[1].prot, PROT_READ | PROT_EXEC);
	ck_assert_uint_eq(v[1].pgoff, 0x2000);
	ck_assert_int_eq(v[4].prot, PROT_READ | PROT_WRITE);
	ck_assert_uint_eq(v[4].pgoff, 0xa000);
	ck_assert_str_eq(v[5].path, "[heap]");
	/* anonymous: the kernel leaves a trailing blank and no path */
	ck_assert_str_eq(v[6].path, "");
	ck_assert_uint_eq(v[6].inode, 0);
	ck_assert_uint_eq(v[6].dev_major, 0);
	ck_assert_uint_eq(v[9].pgoff, 0x26000);
	/* gconv cache is mapped shared */
	ck_assert(v[14].shared);
	ck_assert_int_eq(v[14].prot, PROT_READ);
	ck_assert_str_eq(v[14].path, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
	ck_assert_str_eq(v[16].path, "[vvar]");
	ck_assert_str_eq(v[17].path, "[vvar_vclock]");
	ck_assert_str_eq(v[18].path, "[vdso]");
	ck_assert_int_eq(v[18].prot, PROT_READ | PROT_EXEC);
	ck_assert_uint_eq(v[18].end - v[18].start, 0x2000);
	ck_assert_str_eq(v[24].path, "[stack]");
	ck_assert_str_eq(v[25].path, "[vsyscall]");
	ck_assert_uint_eq(v[25].start, 0xffffffffff600000ull);
	ck_assert_uint_eq(v[25].end, 0xffffffffff601000ull);
	ck_assert_int_eq(v[25].prot, PROT_EXEC);
}
END_TEST

START_TEST(test_maps_odd_paths)
{
	struct vma_entry v;

	/* The line may come with its newline. */
	ck_assert_int_eq(procfs_parse_maps_line(maps_space, &v), 0);
	ck_assert_str_eq(v.path, "/tmp/sm/my file (x).dat");
	ck_assert(v.shared);
	ck_assert_int_eq(v.prot, PROT_READ | PROT_WRITE);
	ck_assert_uint_eq(v.inode, 10952841);

	ck_assert_int_eq(procfs_parse_maps_line(maps_deleted, &v), 0);
	ck_assert_str_eq(v.path, "/tmp/sm/gone2.dat (deleted)");

	/* Anonymous without the trailing blank, and a path with a trailing
	 * blank of its own (kept: it is part of the name). */
	ck_assert_int_eq(procfs_parse_maps_line("1000-2000 ---p 00000000 00:00 0", &v), 0);
	ck_assert_str_eq(v.path, "");
	ck_assert_int_eq(v.prot, 0);
	ck_assert_int_eq(procfs_parse_maps_line(
		"1000-2000 r--p 00001000 103:0a 99 /x/a b \n", &v), 0);
	ck_assert_str_eq(v.path, "/x/a b ");
	ck_assert_uint_eq(v.dev_major, 0x103);
	ck_assert_uint_eq(v.dev_minor, 0xa);
	ck_assert_uint_eq(v.pgoff, 0x1000);

	/* Named anonymous memory and memfd. */
	ck_assert_int_eq(procfs_parse_maps_line(
		"7f0000000000-7f0000001000 rw-p 00000000 00:00 0                          [anon:my name]", &v), 0);
	ck_assert_str_eq(v.path, "[anon:my name]");
	ck_assert_int_eq(procfs_parse_maps_line(
		"7f0000000000-7f0000001000 rw-s 00000000 00:01 1036                       /memfd:buf (deleted)", &v), 0);
	ck_assert_str_eq(v.path, "/memfd:buf (deleted)");
}
END_TEST

static const char *const bad_maps[] = {
	"",
	"xyz",
	"1000-2000",
	"1000 2000 r-xp 00000000 00:00 0",
	"10g0-2000 r-xp 00000000 00:00 0",
	"2000-1000 r-xp 00000000 00:00 0",
	"1000-1000 r-xp 00000000 00:00 0",
	"1000-2000 rwxq 00000000 00:00 0",
	"1000-2000 r-x 00000000 00:00 0",
	"1000-2000 R-xp 00000000 00:00 0",
	"1000-2000 r-xp zz 00:00 0",
	"1000-2000 r-xp 00000000 0000 0",
	"1000-2000 r-xp 00000000 00:00 x",
	"1000-2000 r-xp 00000000 00:00 12x /a",
	"1000-2000 r-xp 00000000 00:00 -1",
	"1000-2000 r-xp 00000000 1ffffffff:00 0",
	"1000-10000000000000000 r-xp 00000000 00:00 0",
	" 1000-2000 r-xp 00000000 00:00 0",
	"1000-2000 r-xp 00000000 00:00 0 /a\n1000-2000 r-xp 00000000 00:00 0",
};

START_TEST(test_maps_malformed)
{
	char prefix[40];
	struct vma_entry v;

	snprintf(prefix, sizeof(prefix), "'%.20s", bad_maps[_i]);
	prefix[strcspn(prefix, "\n")] = '\0';
	ck_assert_int_lt(procfs_parse_maps_line(bad_maps[_i], &v), 0);
	assert_error_mentions("/maps");
	assert_error_mentions("unexpected line");
	assert_error_mentions(prefix);
	error_clear();
	ck_assert(!error_is_set());
}
END_TEST

START_TEST(test_maps_long_path)
{
	static char line[PATH_MAX + 200];
	struct vma_entry v;
	int n;

	/* A path of PATH_MAX-1 bytes fits exactly, one more does not. */
	n = snprintf(line, sizeof(line), "1000-2000 r--p 00000000 00:00 0 ");
	memset(line + n, 'a', PATH_MAX - 1);
	line[n] = '/';
	line[n + PATH_MAX - 1] = '\0';
	ck_assert_int_eq(procfs_parse_maps_line(line, &v), 0);
	ck_assert_uint_eq(strlen(v.path), PATH_MAX - 1);

	strcat(line, "a");
	ck_assert_int_lt(procfs_parse_maps_line(line, &v), 0);
	assert_error_mentions("path too long");
	assert_error_mentions("'1000-2000 r--p");
	/* The quoted line is clipped so the message stays readable. */
	ck_assert_uint_lt(strlen(error_text()), 1000);
}
END_TEST

START_TEST(test_error_quoting)
{
	struct vma_entry v;
	struct proc_stat st;

	/* Control characters never reach the terminal raw. */
	ck_assert_int_lt(procfs_parse_maps_line("1000-2000 r\033xp 0 00:00 0", &v), 0);
	assert_error_mentions("unexpected line '1000-2000 r?xp 0 00:00 0': expected permissions");
	error_clear();
	ck_assert_int_lt(procfs_parse_stat("5 (a\nb) R 1\n", &st), 0);
	assert_error_mentions("/stat: unexpected line '5 (a?b) R 1': too few fields");
	error_clear();
	/* The first error wins: later failures do not overwrite it. */
	ck_assert_int_lt(procfs_parse_maps_line("first", &v), 0);
	ck_assert_int_lt(procfs_parse_maps_line("second", &v), 0);
	assert_error_mentions("'first'");
}
END_TEST

/* ---- smaps ------------------------------------------------------------ */

START_TEST(test_smaps_real)
{
	struct vma_entry *v = NULL;
	size_t n = 0;

	ck_assert_msg(procfs_parse_smaps(smaps_text, &v, &n) == 0, "%s", error_text());
	ck_assert_uint_eq(n, 10);
	ck_assert_str_eq(v[0].path, "/root/.pyenv/versions/3.11.7/bin/python3.11");
	ck_assert_uint_eq(v[0].inode, 18624);
	ck_assert_uint_eq(v[0].vmflags, VMF_RD | VMF_MR | VMF_MW | VMF_ME);

	ck_assert_str_eq(v[1].path, "[heap]");
	ck_assert_uint_eq(v[1].vmflags, VMF_RD | VMF_WR | VMF_MR | VMF_MW | VMF_ME | VMF_AC);

	ck_assert_str_eq(v[2].path, "");
	ck_assert_uint_eq(v[2].start, 0x7fd876e9c000ull);
	ck_assert_uint_eq(v[2].vmflags, VMF_RD | VMF_WR | VMF_MR | VMF_MW | VMF_ME | VMF_AC);

	ck_assert_str_eq(v[3].path, "/tmp/sm/gone.dat (deleted)");
	ck_assert(v[3].shared);
	ck_assert_uint_eq(v[3].vmflags,
			  VMF_RD | VMF_WR | VMF_SH | VMF_MR | VMF_MW | VMF_ME | VMF_MS);
	ck_assert_str_eq(v[4].path, "/tmp/sm/my file (x).dat");

	ck_assert_str_eq(v[5].path, "[vvar]");
	ck_assert_uint_eq(v[5].vmflags, VMF_RD | VMF_MR | VMF_PF | VMF_IO | VMF_DE | VMF_DD);
	ck_assert_str_eq(v[6].path, "[vvar_vclock]");
	ck_assert_uint_eq(v[6].vmflags, v[5].vmflags);
	ck_assert_str_eq(v[7].path, "[vdso]");
	ck_assert_int_eq(v[7].prot, PROT_READ | PROT_EXEC);
	ck_assert_uint_eq(v[7].vmflags, VMF_RD | VMF_EX | VMF_MR | VMF_MW | VMF_ME | VMF_DE);
	ck_assert_str_eq(v[8].path, "[stack]");
	ck_assert_uint_eq(v[8].vmflags,
			  VMF_RD | VMF_WR | VMF_MR | VMF_MW | VMF_ME | VMF_GD | VMF_AC);

	/* vsyscall: above the user address range, only "ex", last entry. */
	ck_assert_str_eq(v[9].path, "[vsyscall]");
	ck_assert_uint_eq(v[9].start, 0xffffffffff600000ull);
	ck_assert_int_eq(v[9].prot, PROT_EXEC);
	ck_assert_uint_eq(v[9].vmflags, VMF_EX);
	free(v);
}
END_TEST

START_TEST(test_smaps_flags)
{
	static const char text[] =
		"1000-2000 rw-p 00000000 00:00 0 \n"
		"Size:                  4 kB\n"
		"VmFlags: rd wr mr mw me ac sd \n"
		"2000-3000 rw-p 00000000 00:00 0 \n"
		"VmFlags: rd wr zz mr lo dc wf mg um uw ss sl ht nr hg nh mm sf ar sr rr \n"
		"3000-4000 rw-p 00000000 00:00 0 \n"
		"ProtectionKey:         0\n"
		"VmFlags:\n"
		"4000-5000 rw-p 00000000 00:00 0\n";
	struct vma_entry *v = NULL;
	size_t n = 0;

	ck_assert_msg(procfs_parse_smaps(text, &v, &n) == 0, "%s", error_text());
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(v[0].vmflags,
			  VMF_RD | VMF_WR | VMF_MR | VMF_MW | VMF_ME | VMF_AC | VMF_SD);
	/* "zz" is unknown: kept as VMF_OTHER, the rest still decoded. */
	ck_assert_uint_eq(v[1].vmflags,
			  VMF_RD | VMF_WR | VMF_OTHER | VMF_MR | VMF_LO | VMF_DC |
			  VMF_WF | VMF_MG | VMF_UM | VMF_UW | VMF_SS | VMF_SL |
			  VMF_HT | VMF_NR | VMF_HG | VMF_NH | VMF_MM | VMF_SF |
			  VMF_AR | VMF_SR | VMF_RR);
	ck_assert_uint_eq(v[2].vmflags, 0);
	/* No VmFlags line at all (old kernels): zero. */
	ck_assert_uint_eq(v[3].vmflags, 0);
	free(v);
}
END_TEST

START_TEST(test_smaps_plain_maps_and_empty)
{
	struct vma_entry *v = NULL;
	size_t n = 99;

	/* Plain maps text is smaps without attributes. */
	ck_assert_int_eq(procfs_parse_smaps(maps_text, &v, &n), 0);
	ck_assert_uint_eq(n, 26);
	ck_assert_str_eq(v[25].path, "[vsyscall]");
	ck_assert_uint_eq(v[25].vmflags, 0);
	free(v);

	/* A kernel thread or zombie has no mappings. */
	v = (void *)1;
	ck_assert_int_eq(procfs_parse_smaps("", &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(v);
}
END_TEST

static const struct {
	const char *text;
	const char *mention;
} bad_smaps[] = {
	{ "Size:                  4 kB\n", "line 1: unexpected line 'Size:" },
	{ "1000-2000 rw-p 00000000 00:00 0 \nSize 4 kB\n", "line 2: unexpected line 'Size 4 kB'" },
	{ "1000-2000 rw-p 00000000 00:00 0 \nVmFlags: rd\njunk\n", "line 3: unexpected line 'junk'" },
	{ "1000-2000 rw-p 00000000 00:00 0 \n\n", "line 2: unexpected line ''" },
	{ "1000-2000 rw-p 00000000 00:00 0 \n2000-1000 rw-p 00000000 00:00 0 \n",
	  "line 2: unexpected line '2000-1000" },
	{ "1000-2000 rw-p 00000000 00:00 0 \n 2000-3000 rw-p 00000000 00:00 0\n",
	  "line 2: unexpected line ' 2000-3000" },
};

START_TEST(test_smaps_malformed)
{
	struct vma_entry *v = (void *)1;
	size_t n = 1234;

	ck_assert_int_lt(procfs_parse_smaps(bad_smaps[_i].text, &v, &n), 0);
	assert_error_mentions("/smaps");
	assert_error_mentions(bad_smaps[_i].mention);
	/* Outputs untouched on failure: nothing to free. */
	ck_assert_ptr_eq(v, (void *)1);
	ck_assert_uint_eq(n, 1234);
	error_clear();
}
END_TEST

/* ---- stat ------------------------------------------------------------- */

START_TEST(test_stat_real)
{
	struct proc_stat st;

	ck_assert_msg(procfs_parse_stat(stat_cat, &st) == 0, "%s", error_text());
	ck_assert_int_eq(st.pid, 3762);
	ck_assert_str_eq(st.comm, "cat");
	ck_assert_int_eq(st.state, 'R');
	ck_assert_int_eq(st.ppid, 3759);
	ck_assert_int_eq(st.pgrp, 3759);
	ck_assert_int_eq(st.session, 2097);
	ck_assert_int_eq(st.tty_nr, 0);
	ck_assert_uint_eq(st.flags, 4194304);
	ck_assert_int_eq(st.num_threads, 1);
	ck_assert_uint_eq(st.starttime, 394717);
	ck_assert_uint_eq(st.start_code, 94871153250304ul);
	ck_assert_uint_eq(st.end_code, 94871153270185ul);
	ck_assert_uint_eq(st.startstack, 140720560178240ul);
	ck_assert_int_eq(st.exit_signal, 17);	/* SIGCHLD */
	ck_assert_uint_eq(st.start_data, 94871153286192ul);
	ck_assert_uint_eq(st.end_data, 94871153287808ul);
	ck_assert_uint_eq(st.start_brk, 94871819554816ul);
	ck_assert_uint_eq(st.arg_start, 140720560183939ul);
	ck_assert_uint_eq(st.arg_end, 140720560183959ul);
	ck_assert_uint_eq(st.env_start, 140720560183959ul);
	ck_assert_uint_eq(st.env_end, 140720560185323ul);
	ck_assert_int_eq(st.exit_code, 0);

	ck_assert_int_eq(procfs_parse_stat(stat_kthreadd, &st), 0);
	ck_assert_str_eq(st.comm, "kthreadd");
	ck_assert_int_eq(st.state, 'S');
	ck_assert_int_eq(st.ppid, 0);
	ck_assert_uint_ne(st.flags & 0x00200000, 0);	/* PF_KTHREAD */
	ck_assert_uint_eq(st.start_code, 0);
	ck_assert_uint_eq(st.starttime, 25);
}
END_TEST

START_TEST(test_stat_odd_comm)
{
	static const struct {
		const char *text, *comm;
	} cases[] = {
		{ "1 (a) b) " STAT_TAIL, "a) b" },
		{ "1 (tmux: server) " STAT_TAIL, "tmux: server" },
		{ "1 ((sd-pam)) " STAT_TAIL, "(sd-pam)" },
		{ "1 () " STAT_TAIL, "" },
		{ "1 ( ) ) ) " STAT_TAIL, " ) ) " },
		{ "1 (a\nb) " STAT_TAIL, "a\nb" },	/* comm is not escaped */
		{ "1 (R 1 2 3) " STAT_TAIL, "R 1 2 3" },
	};
	struct proc_stat st;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_msg(procfs_parse_stat(cases[i].text, &st) == 0,
			      "case %zu: %s", i, error_text());
		ck_assert_str_eq(st.comm, cases[i].comm);
		ck_assert_int_eq(st.state, 'R');
		ck_assert_int_eq(st.ppid, 3759);
		ck_assert_int_eq(st.exit_code, 0);
	}
}
END_TEST

START_TEST(test_stat_long_comm_and_extra_fields)
{
	char text[1024];
	struct proc_stat st;

	/* Longer than comm[]: truncated, not overflowed. */
	snprintf(text, sizeof(text), "7 (%0100d) %.*s 53 54\n", 0,
		 (int)strlen(STAT_TAIL) - 1, STAT_TAIL);
	ck_assert_msg(procfs_parse_stat(text, &st) == 0, "%s", error_text());
	ck_assert_uint_eq(strlen(st.comm), sizeof(st.comm) - 1);
	ck_assert_int_eq(st.pid, 7);
	ck_assert_uint_eq(st.env_end, 140720560185323ul);

	/* Negative exit code and no trailing newline. */
	snprintf(text, sizeof(text), "8 (x) %.*s", (int)strlen(STAT_TAIL) - 2, STAT_TAIL);
	strcat(text, "-9");
	ck_assert_msg(procfs_parse_stat(text, &st) == 0, "%s", error_text());
	ck_assert_int_eq(st.exit_code, -9);
}
END_TEST

static const char *const bad_stat[] = {
	"",
	"garbage",
	"123 cat R 1",
	"123 (cat R 1 2 3",
	"-x (cat) " STAT_TAIL,
	"99999999999 (cat) " STAT_TAIL,
	"123 (cat) R 1 2 3\n",
	"123 (cat) RR 3759 3759 2097 0 -1 4194304 121 0 0 0 0 0 0 0 20 0 1 0 394717 3133440 376 18446744073709551615 94871153250304 94871153270185 140720560178240 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94871153286192 94871153287808 94871819554816 140720560183939 140720560183959 140720560183959 140720560185323 0\n",
	"123 (cat) R x 3759 2097 0 -1 4194304 121 0 0 0 0 0 0 0 20 0 1 0 394717 3133440 376 18446744073709551615 94871153250304 94871153270185 140720560178240 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94871153286192 94871153287808 94871819554816 140720560183939 140720560183959 140720560183959 140720560185323 0\n",
	"123 (cat) R 3759 3759 2097 0 -1 4194304 121 0 0 0 0 0 0 0 20 0 1 0 394717 3133440 376 18446744073709551615 948711532503040000000000 94871153270185 140720560178240 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94871153286192 94871153287808 94871819554816 140720560183939 140720560183959 140720560183959 140720560185323 0\n",
	"123 (cat) R 3759 3759 2097 0 -1 4194304 121 0 0 0 0 0 0 0 20 0 1 0 394717 3133440 376 18446744073709551615 94871153250304 94871153270185 140720560178240 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94871153286192 94871153287808 94871819554816 140720560183939 140720560183959 140720560183959 140720560185323\n",
};

START_TEST(test_stat_malformed)
{
	char prefix[24];
	struct proc_stat st;

	snprintf(prefix, sizeof(prefix), "'%.12s", bad_stat[_i]);
	ck_assert_int_lt(procfs_parse_stat(bad_stat[_i], &st), 0);
	assert_error_mentions("/stat");
	assert_error_mentions(prefix);
	error_clear();
}
END_TEST

/* ---- status ----------------------------------------------------------- */

START_TEST(test_status_real)
{
	struct proc_status st;

	ck_assert_msg(procfs_parse_status(status_python, &st) == 0, "%s", error_text());
	ck_assert_str_eq(st.name, "python3");
	ck_assert_int_eq(st.state, 'R');
	ck_assert_int_eq(st.tgid, 3465);
	ck_assert_int_eq(st.pid, 3465);
	ck_assert_int_eq(st.ppid, 3463);
	ck_assert_int_eq(st.tracer_pid, 0);
	ck_assert_uint_eq(st.umask, 027);
	ck_assert_uint_eq(st.uid[0], 0);
	ck_assert_uint_eq(st.gid[3], 0);
	ck_assert_uint_eq(st.ngroups, 4);
	ck_assert_uint_eq(st.groups[0], 4);
	ck_assert_uint_eq(st.groups[1], 24);
	ck_assert_uint_eq(st.groups[2], 27);
	ck_assert_uint_eq(st.groups[3], 1000);
	ck_assert_int_eq(st.threads, 1);
	ck_assert_uint_eq(st.sig_pnd, 0);
	ck_assert_uint_eq(st.sig_blk, 1ull << (SIGUSR2 - 1));
	ck_assert_uint_eq(st.sig_ign, 0x1001000ull);
	ck_assert_uint_eq(st.sig_cgt, (1ull << (SIGUSR1 - 1)) | (1ull << (SIGINT - 1)));
	ck_assert_uint_eq(st.cap_inh, 0);
	ck_assert_uint_eq(st.cap_prm, 0x1fffeffffffull);
	ck_assert_uint_eq(st.cap_eff, 0x1fffeffffffull);
	ck_assert_uint_eq(st.cap_bnd, 0x1fffeffffffull);
	ck_assert_uint_eq(st.cap_amb, 0);
	ck_assert_int_eq(st.no_new_privs, 0);
	ck_assert_int_eq(st.seccomp, 0);
	ck_assert_int_eq(st.nspid_count, 1);
	ck_assert_int_eq(st.nspid[0], 3465);
}
END_TEST

START_TEST(test_status_empty_groups_nested_ns)
{
	struct proc_status st;

	ck_assert_msg(procfs_parse_status(status_cat_head, &st) == 0, "%s", error_text());
	ck_assert_str_eq(st.name, "cat");
	ck_assert_uint_eq(st.umask, 022);
	ck_assert_uint_eq(st.ngroups, 0);
	ck_assert_int_eq(st.nspid_count, 2);
	ck_assert_int_eq(st.nspid[0], 3599);
	ck_assert_int_eq(st.nspid[1], 2);
	/* Lines not present stay zero. */
	ck_assert_int_eq(st.threads, 0);
	ck_assert_uint_eq(st.cap_eff, 0);

	/* "Groups:" with nothing at all after the colon. */
	ck_assert_int_eq(procfs_parse_status("Groups:\nThreads:\t3\n", &st), 0);
	ck_assert_uint_eq(st.ngroups, 0);
	ck_assert_int_eq(st.threads, 3);
}
END_TEST

START_TEST(test_status_names)
{
	struct proc_status st;

	ck_assert_int_eq(procfs_parse_status("Name:\ttmux: server\n", &st), 0);
	ck_assert_str_eq(st.name, "tmux: server");
	/* The kernel escapes '\n' and '\\' in Name:. */
	ck_assert_int_eq(procfs_parse_status("Name:\ta\\nb\\\\c\n", &st), 0);
	ck_assert_str_eq(st.name, "a\nb\\c");
	ck_assert_int_eq(procfs_parse_status("Name:\t x \n", &st), 0);
	ck_assert_str_eq(st.name, " x ");
	ck_assert_int_eq(procfs_parse_status("Name:\t\nState:\tZ (zombie)\n", &st), 0);
	ck_assert_str_eq(st.name, "");
	ck_assert_int_eq(st.state, 'Z');
}
END_TEST

START_TEST(test_status_groups_limit)
{
	char text[4096];
	struct proc_status st;
	int i, n;

	n = snprintf(text, sizeof(text), "Groups:\t");
	for (i = 0; i < 256; i++)
		n += snprintf(text + n, sizeof(text) - n, "%d ", 1000 + i);
	snprintf(text + n, sizeof(text) - n, "\n");
	ck_assert_msg(procfs_parse_status(text, &st) == 0, "%s", error_text());
	ck_assert_uint_eq(st.ngroups, 256);
	ck_assert_uint_eq(st.groups[255], 1255);

	snprintf(text + n, sizeof(text) - n, "2000\n");
	ck_assert_int_lt(procfs_parse_status(text, &st), 0);
	assert_error_mentions("line 1: unexpected line 'Groups:");
}
END_TEST

static const struct {
	const char *text, *mention;
} bad_status[] = {
	{ "no colon here\n", "line 1: unexpected line 'no colon here'" },
	{ "\n", "line 1: unexpected line ''" },
	{ "Name:\tx\n\n", "line 2: unexpected line ''" },
	{ " Pid:\t1\n", "line 1: unexpected line ' Pid:" },
	{ "Name:\tx\nPid:\tx\n", "line 2: unexpected line 'Pid: x'" },
	{ "Pid:\t\n", "unexpected line 'Pid: '" },
	{ "Pid:\t1 2\n", "unexpected line 'Pid: 1 2'" },
	{ "Pid:\t99999999999\n", "unexpected line 'Pid: 99999999999'" },
	{ "State:\t\n", "unexpected line 'State: '" },
	{ "Umask:\t0089\n", "unexpected line 'Umask: 0089'" },
	{ "Uid:\t0\t0\t0\n", "unexpected line 'Uid: 0 0 0'" },
	{ "Uid:\t0\t0\t0\t0\t0\n", "unexpected line 'Uid:" },
	{ "Gid:\t0\t0\t-1\t0\n", "unexpected line 'Gid: 0 0 -1 0'" },
	{ "Groups:\t1 x 3\n", "unexpected line 'Groups: 1 x 3'" },
	{ "SigBlk:\tzz\n", "unexpected line 'SigBlk: zz'" },
	{ "CapEff:\t10000000000000000\n", "unexpected line 'CapEff:" },
	{ "NSpid:\n", "unexpected line 'NSpid:'" },
	{ "NSpid:\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "unexpected line 'NSpid:" },
};

START_TEST(test_status_malformed)
{
	struct proc_status st;

	ck_assert_int_lt(procfs_parse_status(bad_status[_i].text, &st), 0);
	assert_error_mentions("/status line");
	assert_error_mentions(bad_status[_i].mention);
	error_clear();
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

START_TEST(test_limits_real)
{
	struct rlimit lim[RLIM_NLIMITS];

	memset(lim, 0xaa, sizeof(lim));
	ck_assert_msg(procfs_parse_limits(limits_text, lim) == 0, "%s", error_text());
	ck_assert_uint_eq(lim[RLIMIT_CPU].rlim_cur, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_FSIZE].rlim_max, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_STACK].rlim_cur, 8388608);
	ck_assert_uint_eq(lim[RLIMIT_STACK].rlim_max, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_CORE].rlim_cur, 0);
	ck_assert_uint_eq(lim[RLIMIT_CORE].rlim_max, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_NPROC].rlim_cur, 96365);
	ck_assert_uint_eq(lim[RLIMIT_NOFILE].rlim_cur, 20000);
	ck_assert_uint_eq(lim[RLIMIT_NOFILE].rlim_max, 20000);
	ck_assert_uint_eq(lim[RLIMIT_MEMLOCK].rlim_max, 8388608);
	ck_assert_uint_eq(lim[RLIMIT_AS].rlim_cur, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_LOCKS].rlim_cur, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_SIGPENDING].rlim_max, 96365);
	ck_assert_uint_eq(lim[RLIMIT_MSGQUEUE].rlim_cur, 819200);
	ck_assert_uint_eq(lim[RLIMIT_NICE].rlim_cur, 0);
	ck_assert_uint_eq(lim[RLIMIT_RTPRIO].rlim_max, 0);
	ck_assert_uint_eq(lim[RLIMIT_RTTIME].rlim_cur, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_DATA].rlim_cur, RLIM_INFINITY);
	ck_assert_uint_eq(lim[RLIMIT_RSS].rlim_cur, RLIM_INFINITY);
}
END_TEST

/* limits_text with row `row` (1-based, after the header) replaced. */
static void limits_with(char *out, size_t size, int row, const char *repl)
{
	const char *p = limits_text, *nl;
	size_t o = 0;
	int i;

	for (i = 0; *p; i++, p = nl + 1) {
		nl = strchr(p, '\n');
		if (i == row)
			o += snprintf(out + o, size - o, "%s", repl);
		else
			o += snprintf(out + o, size - o, "%.*s", (int)(nl - p + 1), p);
	}
}

START_TEST(test_limits_edge)
{
	char text[4096];
	struct rlimit lim[RLIM_NLIMITS];

	/* Without the header, tabs as separators, unit missing everywhere. */
	limits_with(text, sizeof(text), 0, "");
	ck_assert_int_eq(procfs_parse_limits(text, lim), 0);
	limits_with(text, sizeof(text), 8, "Max open files\t1024\t1048576\n");
	ck_assert_int_eq(procfs_parse_limits(text, lim), 0);
	ck_assert_uint_eq(lim[RLIMIT_NOFILE].rlim_cur, 1024);
	ck_assert_uint_eq(lim[RLIMIT_NOFILE].rlim_max, 1048576);
	/* Largest finite value the kernel can print. */
	limits_with(text, sizeof(text), 3,
		    "Max data size             18446744073709551614 unlimited bytes\n");
	ck_assert_int_eq(procfs_parse_limits(text, lim), 0);
	ck_assert_uint_eq(lim[RLIMIT_DATA].rlim_cur, 18446744073709551614ull);
}
END_TEST

static const struct {
	int row;
	const char *repl, *mention;
} bad_limits[] = {
	{ 8, "", "limit 'Max open files': row missing" },
	{ 16, "", "limit 'Max realtime timeout': row missing" },
	{ 8, "Max open files            abc                  1024                 files\n",
	  "line 9: unexpected line 'Max open files            abc" },
	{ 8, "Max open files            1024\n", "line 9: unexpected line 'Max open files            1024'" },
	{ 8, "Max open files            1 2 files extra\n", "unexpected line 'Max open files            1 2 files extra'" },
	{ 8, "Max open files            -1 2 files\n", "'Max open files            -1 2 files'" },
	{ 8, "Max open files            18446744073709551616 2 files\n", "line 9" },
	{ 8, "Max open filesx 1 2 files\n", "unknown limit" },
	{ 8, "Max bogus thing           1 2 things\n", "line 9: unexpected line 'Max bogus thing" },
	{ 8, "Max cpu time              unlimited            unlimited            seconds   \n",
	  "limit listed twice" },
	{ 8, "\n", "line 9: unexpected line ''" },
	{ 5, "Max core file size        unlimite             unlimited            bytes\n", "unlimite " },
};

START_TEST(test_limits_malformed)
{
	char text[4096];
	struct rlimit lim[RLIM_NLIMITS];

	limits_with(text, sizeof(text), bad_limits[_i].row, bad_limits[_i].repl);
	ck_assert_int_lt(procfs_parse_limits(text, lim), 0);
	assert_error_mentions("/limits");
	assert_error_mentions(bad_limits[_i].mention);
	error_clear();
}
END_TEST

/* ---- fdinfo ----------------------------------------------------------- */

START_TEST(test_fdinfo_real)
{
	struct proc_fdinfo fi;

	ck_assert_int_eq(procfs_parse_fdinfo(fdinfo_stdin, &fi), 0);
	ck_assert_uint_eq(fi.pos, 0);
	ck_assert_uint_eq(fi.flags, 0100000);	/* kernel O_LARGEFILE */
	ck_assert_int_eq(fi.mnt_id, 24);
	ck_assert_uint_eq(fi.ino, 3);

	ck_assert_int_eq(procfs_parse_fdinfo(fdinfo_file, &fi), 0);
	ck_assert_uint_eq(fi.pos, 1234);
	/* O_LARGEFILE is 0 in 64-bit userspace, so spell out the kernel bits */
	ck_assert_uint_eq(fi.flags, 02000000 | 0100000 | O_RDWR);
	ck_assert_int_eq(fi.mnt_id, 27);
	ck_assert_uint_eq(fi.ino, 10952896);

	/* Kind-specific lines with their own "pos:"/"ino:" words are ignored. */
	ck_assert_int_eq(procfs_parse_fdinfo(fdinfo_epoll, &fi), 0);
	ck_assert_uint_eq(fi.pos, 0);
	ck_assert_uint_eq(fi.flags, O_CLOEXEC | O_RDWR);
	ck_assert_uint_eq(fi.ino, 1038);
	ck_assert_int_eq(procfs_parse_fdinfo(fdinfo_inotify, &fi), 0);
	ck_assert_uint_eq(fi.flags, 0);
	ck_assert_uint_eq(fi.ino, 1038);
	ck_assert_int_eq(fi.mnt_id, 17);

	/* Old kernels: no mnt_id/ino lines. */
	ck_assert_int_eq(procfs_parse_fdinfo("pos:\t5\nflags:\t02\n", &fi), 0);
	ck_assert_uint_eq(fi.pos, 5);
	ck_assert_int_eq(fi.mnt_id, 0);
}
END_TEST

static const struct {
	const char *text, *mention;
} bad_fdinfo[] = {
	{ "pos:\tabc\nflags:\t02\n", "line 1: unexpected line 'pos: abc'" },
	{ "pos:\t1\nflags:\t08\n", "line 2: unexpected line 'flags: 08'" },
	{ "pos:\t1\nflags:\t02 x\n", "line 2: unexpected line 'flags: 02 x'" },
	{ "pos:\t1\nflags:\t02\nmnt_id:\t\n", "line 3: unexpected line 'mnt_id: '" },
	{ "pos:\t-1\nflags:\t02\n", "line 1: unexpected line 'pos: -1'" },
	{ "pos:\t1\nflags:\t02\nino:\t0x10\n", "line 3: unexpected line 'ino: 0x10'" },
	{ "flags:\t02\n", "'pos:' or 'flags:' line missing" },
	{ "pos:\t0\n", "'pos:' or 'flags:' line missing" },
	{ "", "'pos:' or 'flags:' line missing" },
};

START_TEST(test_fdinfo_malformed)
{
	struct proc_fdinfo fi;

	ck_assert_int_lt(procfs_parse_fdinfo(bad_fdinfo[_i].text, &fi), 0);
	assert_error_mentions("/fdinfo/FD");
	assert_error_mentions(bad_fdinfo[_i].mention);
	error_clear();
}
END_TEST

/* ---- live tests on this process ----------------------------------------- */

/* Our executable, as the kernel names it. */
static const char *self_exe(void)
{
	static char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	return exe;
}

static const struct vma_entry *find_vma(const struct vma_entry *v, size_t n,
					uintptr_t addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].start <= addr && addr < v[i].end)
			return &v[i];
	return NULL;
}

START_TEST(test_live_vmas)
{
	volatile int local = 42;
	struct vma_entry *v = NULL;
	const struct vma_entry *e;
	size_t n = 0, i;

	ck_assert_msg(procfs_read_vmas(getpid(), &v, &n) == 0, "%s", error_text());
	ck_assert_uint_gt(n, 5);
	for (i = 1; i < n; i++)
		ck_assert_uint_le(v[i - 1].end, v[i].start);	/* sorted, disjoint */

	e = find_vma(v, n, (uintptr_t)&local);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->prot & (PROT_READ | PROT_WRITE), PROT_READ | PROT_WRITE);
	ck_assert_uint_ne(e->vmflags & VMF_RD, 0);
	ck_assert_uint_ne(e->vmflags & VMF_WR, 0);

	e = find_vma(v, n, (uintptr_t)&find_vma);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_ne(e->prot & PROT_EXEC, 0);
	ck_assert_uint_ne(e->vmflags & VMF_EX, 0);
	ck_assert_str_eq(e->path, self_exe());
	free(v);
}
END_TEST

int main(int argc, char **argv);

/* Valgrind runs us inside its own process image and fakes some rlimits, so
 * the kernel's view differs from ours on those points. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

START_TEST(test_live_stat)
{
	struct proc_stat st;

	ck_assert_msg(procfs_read_stat(getpid(), &st) == 0, "%s", error_text());
	ck_assert_int_eq(st.pid, getpid());
	ck_assert_int_eq(st.ppid, getppid());
	ck_assert_int_eq(st.pgrp, getpgrp());
	ck_assert_int_eq(st.session, getsid(0));
	ck_assert_int_eq(st.state, 'R');
	ck_assert_int_ge(st.num_threads, 1);
	if (!under_valgrind()) {
		ck_assert_uint_le(st.start_code, (uintptr_t)&main);
		ck_assert_uint_lt((uintptr_t)&main, st.end_code);
	}
	ck_assert_uint_le(st.start_code, st.end_code);
	ck_assert_uint_le(st.arg_start, st.arg_end);
	ck_assert_uint_le(st.env_start, st.env_end);
	ck_assert_uint_eq(st.flags & 0x00200000, 0);	/* not a kernel thread */
}
END_TEST

START_TEST(test_live_status)
{
	struct proc_status st;
	mode_t old = umask(0027);

	ck_assert_msg(procfs_read_status(getpid(), &st) == 0, "%s", error_text());
	umask(old);
	ck_assert_int_eq(st.pid, getpid());
	ck_assert_int_eq(st.tgid, getpid());
	ck_assert_int_eq(st.ppid, getppid());
	ck_assert_uint_eq(st.umask, 0027);
	ck_assert_uint_eq(st.uid[0], getuid());
	ck_assert_uint_eq(st.uid[1], geteuid());
	ck_assert_uint_eq(st.gid[0], getgid());
	ck_assert_uint_eq(st.ngroups, (unsigned)getgroups(0, NULL));
	ck_assert_int_ge(st.threads, 1);
	ck_assert_int_ge(st.nspid_count, 1);
	ck_assert_int_eq(st.nspid[st.nspid_count - 1], getpid());
}
END_TEST

START_TEST(test_live_limits)
{
	struct rlimit lim[RLIM_NLIMITS], r;
	int i;

	ck_assert_msg(procfs_read_limits(getpid(), lim) == 0, "%s", error_text());
	if (under_valgrind())
		return;	/* it fakes NOFILE, DATA and STACK */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	ck_assert_uint_eq(lim[RLIMIT_NOFILE].rlim_cur, r.rlim_cur);
	ck_assert_uint_eq(lim[RLIMIT_NOFILE].rlim_max, r.rlim_max);
	for (i = 0; i < RLIM_NLIMITS; i++) {
		ck_assert_int_eq(getrlimit(i, &r), 0);
		ck_assert_msg(lim[i].rlim_cur == r.rlim_cur && lim[i].rlim_max == r.rlim_max,
			      "limit %d differs", i);
	}
}
END_TEST

START_TEST(test_live_fds_and_fdinfo)
{
	struct proc_fdinfo fi;
	struct stat sb;
	char link[PATH_MAX];
	int *fds = NULL, fd, hi;
	size_t n = 0, i;
	bool found = false, found_hi = false;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	hi = fcntl(fd, F_DUPFD, 1000);	/* checks numeric, not lexical, order */
	ck_assert_int_ge(hi, 1000);
	ck_assert_int_eq(lseek(fd, 7, SEEK_SET), 7);

	ck_assert_msg(procfs_list_fds(getpid(), &fds, &n) == 0, "%s", error_text());
	for (i = 0; i < n; i++) {
		if (i)
			ck_assert_int_lt(fds[i - 1], fds[i]);
		found |= fds[i] == fd;
		found_hi |= fds[i] == hi;
	}
	ck_assert(found && found_hi);
	free(fds);

	ck_assert_msg(procfs_read_fdinfo(getpid(), fd, &fi) == 0, "%s", error_text());
	ck_assert_uint_eq(fi.pos, 7);
	ck_assert_uint_ne(fi.flags & O_CLOEXEC, 0);
	ck_assert_uint_eq(fi.flags & O_ACCMODE, O_RDONLY);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_uint_eq(fi.ino, sb.st_ino);
	ck_assert_msg(procfs_read_fdinfo(getpid(), hi, &fi) == 0, "%s", error_text());
	ck_assert_uint_eq(fi.flags & O_CLOEXEC, 0);	/* F_DUPFD clears it */

	snprintf(link, sizeof(link), "fd/%d", fd);
	ck_assert_msg(procfs_readlink(getpid(), link, link, sizeof(link)) == 0,
		      "%s", error_text());
	ck_assert_str_eq(link + strlen(link) - strlen("/status"), "/status");
	close(hi);
	close(fd);
}
END_TEST

static void *waiter(void *arg)
{
	int *tid = arg;

	*tid = (int)syscall(SYS_gettid);
	pause();	/* cancelled by the test */
	return NULL;
}

START_TEST(test_live_tasks)
{
	pthread_t th;
	volatile int tid = 0;
	pid_t *tids = NULL;
	size_t n = 0, i;
	bool main_seen = false, thread_seen = false;

	ck_assert_int_eq(pthread_create(&th, NULL, waiter, (void *)&tid), 0);
	while (!tid)
		usleep(1000);
	ck_assert_msg(procfs_list_tasks(getpid(), &tids, &n) == 0, "%s", error_text());
	ck_assert_uint_ge(n, 2);
	for (i = 0; i < n; i++) {
		if (i)
			ck_assert_int_lt(tids[i - 1], tids[i]);
		main_seen |= tids[i] == getpid();
		thread_seen |= tids[i] == tid;
	}
	ck_assert(main_seen && thread_seen);
	free(tids);
	pthread_cancel(th);
	pthread_join(th, NULL);
}
END_TEST

START_TEST(test_live_readlink)
{
	char cwd[PATH_MAX], buf[PATH_MAX], tiny[4];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_msg(procfs_readlink(getpid(), "cwd", buf, sizeof(buf)) == 0,
		      "%s", error_text());
	ck_assert_str_eq(buf, cwd);
	ck_assert_int_eq(procfs_readlink(getpid(), "root", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/");
	ck_assert_int_eq(procfs_readlink(getpid(), "exe", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, self_exe());

	/* "/" fits in 4 bytes, the exe path does not: an error, never a cut
	 * path. */
	ck_assert_int_eq(procfs_readlink(getpid(), "root", tiny, sizeof(tiny)), 0);
	ck_assert_str_eq(tiny, "/");
	ck_assert_int_lt(procfs_readlink(getpid(), "exe", tiny, sizeof(tiny)), 0);
	assert_error_mentions("/exe");
	error_clear();
	ck_assert_int_lt(procfs_readlink(getpid(), "no-such-link", buf, sizeof(buf)), 0);
	assert_error_mentions("No such file or directory");
	ck_assert_ptr_null(strstr(error_text(), "no such process"));
}
END_TEST

START_TEST(test_live_read_file)
{
	char *text = NULL;
	size_t len = 0;

	/* smaps is far bigger than one read buffer. */
	ck_assert_int_eq(procfs_read(getpid(), "smaps", &text, &len), 0);
	ck_assert_uint_gt(len, 8192);
	ck_assert_uint_eq(strlen(text), len);
	free(text);

	/* len is optional; an empty pseudo-file gives "". */
	ck_assert_int_eq(procfs_read_file("/proc/self/attr/../personality", &text, NULL), 0);
	free(text);

	ck_assert_int_lt(procfs_read(getpid(), "no-such-file", &text, &len), 0);
	assert_error_mentions("/no-such-file");
	assert_error_mentions("No such file or directory");
	error_clear();
	ck_assert_int_lt(procfs_read_file("/nonexistent/x", &text, &len), 0);
	assert_error_mentions("opening /nonexistent/x: No such file or directory");
	error_clear();
	ck_assert_int_lt(procfs_read_file("/proc/self", &text, &len), 0);
	assert_error_mentions("Is a directory");
}
END_TEST

/* A pid with no process: scan down from pid_max. */
static pid_t free_pid(void)
{
	char path[64];
	long max = 32768;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	pid_t p;

	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 32768;
		fclose(f);
	}
	for (p = max - 1; p > 1; p--) {
		snprintf(path, sizeof(path), "/proc/%d", p);
		if (kill(p, 0) < 0 && errno == ESRCH && access(path, F_OK) < 0)
			return p;
	}
	return -1;
}

START_TEST(test_live_no_such_process)
{
	struct vma_entry *v;
	struct proc_stat st;
	struct proc_status ss;
	struct rlimit lim[RLIM_NLIMITS];
	struct proc_fdinfo fi;
	char buf[64];
	int *fds;
	size_t n;
	pid_t p = free_pid();

	ck_assert_int_gt(p, 1);
	ck_assert_int_lt(procfs_read_stat(p, &st), 0);
	assert_error_mentions("no such process");
	error_clear();
	ck_assert_int_lt(procfs_read_vmas(p, &v, &n), 0);
	assert_error_mentions("no such process");
	error_clear();
	ck_assert_int_lt(procfs_read_status(p, &ss), 0);
	assert_error_mentions("no such process");
	error_clear();
	ck_assert_int_lt(procfs_read_limits(p, lim), 0);
	assert_error_mentions("no such process");
	error_clear();
	ck_assert_int_lt(procfs_read_fdinfo(p, 0, &fi), 0);
	assert_error_mentions("no such process");
	error_clear();
	ck_assert_int_lt(procfs_list_fds(p, &fds, &n), 0);
	assert_error_mentions("no such process");
	error_clear();
	ck_assert_int_lt(procfs_list_tasks(p, &fds, &n), 0);
	assert_error_mentions("no such process");
	error_clear();
	ck_assert_int_lt(procfs_readlink(p, "exe", buf, sizeof(buf)), 0);
	assert_error_mentions("no such process");
	snprintf(buf, sizeof(buf), "/proc/%d/exe", p);
	assert_error_mentions(buf);
}
END_TEST

/* A process that exited but was not reaped still has its /proc entry. */
START_TEST(test_live_zombie)
{
	struct proc_stat st;
	struct vma_entry *v = NULL;
	size_t n = 1;
	pid_t child = fork();

	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(3);
	for (;;) {
		ck_assert_int_eq(procfs_read_stat(child, &st), 0);
		if (st.state == 'Z')
			break;
		usleep(1000);
	}
	ck_assert_int_eq(st.exit_code, 3 << 8);
	ck_assert_int_eq(procfs_read_vmas(child, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(v);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, NULL);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *procfs_suite(void)
{
	Suite *s = suite_create("procfs");
	TCase *tc;

	tc = tcase(s, "maps");
	tcase_add_test(tc, test_maps_real);
	tcase_add_test(tc, test_maps_odd_paths);
	tcase_add_loop_test(tc, test_maps_malformed, 0, ARRAY_SIZE(bad_maps));
	tcase_add_test(tc, test_maps_long_path);
	tcase_add_test(tc, test_error_quoting);

	tc = tcase(s, "smaps");
	tcase_add_test(tc, test_smaps_real);
	tcase_add_test(tc, test_smaps_flags);
	tcase_add_test(tc, test_smaps_plain_maps_and_empty);
	tcase_add_loop_test(tc, test_smaps_malformed, 0, ARRAY_SIZE(bad_smaps));

	tc = tcase(s, "stat");
	tcase_add_test(tc, test_stat_real);
	tcase_add_test(tc, test_stat_odd_comm);
	tcase_add_test(tc, test_stat_long_comm_and_extra_fields);
	tcase_add_loop_test(tc, test_stat_malformed, 0, ARRAY_SIZE(bad_stat));

	tc = tcase(s, "status");
	tcase_add_test(tc, test_status_real);
	tcase_add_test(tc, test_status_empty_groups_nested_ns);
	tcase_add_test(tc, test_status_names);
	tcase_add_test(tc, test_status_groups_limit);
	tcase_add_loop_test(tc, test_status_malformed, 0, ARRAY_SIZE(bad_status));

	tc = tcase(s, "limits");
	tcase_add_test(tc, test_limits_real);
	tcase_add_test(tc, test_limits_edge);
	tcase_add_loop_test(tc, test_limits_malformed, 0, ARRAY_SIZE(bad_limits));

	tc = tcase(s, "fdinfo");
	tcase_add_test(tc, test_fdinfo_real);
	tcase_add_loop_test(tc, test_fdinfo_malformed, 0, ARRAY_SIZE(bad_fdinfo));

	tc = tcase(s, "live");
	tcase_add_test(tc, test_live_vmas);
	tcase_add_test(tc, test_live_stat);
	tcase_add_test(tc, test_live_status);
	tcase_add_test(tc, test_live_limits);
	tcase_add_test(tc, test_live_fds_and_fdinfo);
	tcase_add_test(tc, test_live_tasks);
	tcase_add_test(tc, test_live_readlink);
	tcase_add_test(tc, test_live_read_file);
	tcase_add_test(tc, test_live_no_such_process);
	tcase_add_test(tc, test_live_zombie);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr = srunner_create(procfs_suite());
	int failed;

	(void)argc;
	(void)argv;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
