/* Parsers for /proc/PID files.  Each parser has a pure text form
 * (procfs_parse_*: unit-tested on fixed strings) and a reader that fetches
 * the file for a pid.  All return 0 or a negative value after fail(). */
#ifndef CKPT_PROCFS_H
#define CKPT_PROCFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "error.h"

/* Read a whole (pseudo-)file into a NUL-terminated malloc'd buffer. */
int procfs_read_file(const char *path, char **text, size_t *len) must_check;
/* Same for /proc/<pid>/<name>. */
int procfs_read(pid_t pid, const char *name, char **text, size_t *len) must_check;

/* VmFlags letters from smaps, as bits. */
enum {
	VMF_RD = 1ull << 0, VMF_WR = 1ull << 1, VMF_EX = 1ull << 2, VMF_SH = 1ull << 3,
	VMF_MR = 1ull << 4, VMF_MW = 1ull << 5, VMF_ME = 1ull << 6, VMF_MS = 1ull << 7,
	VMF_GD = 1ull << 8,	/* grows down */
	VMF_PF = 1ull << 9,	/* pure PFN range */
	VMF_LO = 1ull << 10,	/* locked */
	VMF_IO = 1ull << 11,
	VMF_SR = 1ull << 12, VMF_RR = 1ull << 13,	/* madvise seq / random */
	VMF_DC = 1ull << 14,	/* do not copy on fork (MADV_DONTFORK) */
	VMF_DE = 1ull << 15,	/* do not expand on remap */
	VMF_AC = 1ull << 16,	/* accountable */
	VMF_NR = 1ull << 17,	/* swap space not reserved */
	VMF_HT = 1ull << 18,	/* huge tlb */
	VMF_SF = 1ull << 19,	/* sync fault */
	VMF_AR = 1ull << 20,	/* arch specific */
	VMF_WF = 1ull << 21,	/* wipe on fork */
	VMF_DD = 1ull << 22,	/* do not dump */
	VMF_SD = 1ull << 23,	/* soft dirty */
	VMF_MM = 1ull << 24,	/* mixed map */
	VMF_HG = 1ull << 25,	/* huge page advise */
	VMF_NH = 1ull << 26,	/* no huge page advise */
	VMF_MG = 1ull << 27,	/* mergeable (KSM) */
	VMF_UM = 1ull << 28, VMF_UW = 1ull << 29,	/* userfaultfd missing / wp */
	VMF_SS = 1ull << 30,	/* shadow stack */
	VMF_SL = 1ull << 31,	/* sealed */
	VMF_LF = 1ull << 32,	/* locked on fault (MLOCK_ONFAULT, MCL_ONFAULT) */
	VMF_GU = 1ull << 33,	/* may hold guard regions (MADV_GUARD_INSTALL) */
	VMF_UI = 1ull << 34,	/* userfaultfd minor faults */
	VMF_DP = 1ull << 35,	/* droppable (MAP_DROPPABLE) */
	VMF_OTHER = 1ull << 63,	/* a letter pair not known above */
};

struct vma_entry {
	uint64_t start, end;
	int prot;		/* PROT_READ|PROT_WRITE|PROT_EXEC */
	bool shared;		/* 's' vs 'p' */
	uint64_t pgoff;		/* offset in bytes */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char path[PATH_MAX];	/* "" for anonymous; "[heap]", "[vdso]" ...;
				   " (deleted)" suffix kept as the kernel prints it */
	uint64_t vmflags;	/* VMF_* (0 when parsed from maps only) */
};

/* One line of /proc/PID/maps (also the header lines of smaps). */
int procfs_parse_maps_line(const char *line, struct vma_entry *vma) must_check;
/* Whole /proc/PID/smaps text: every mapping with its VmFlags.  *vmas is a
 * malloc'd array. */
int procfs_parse_smaps(const char *text, struct vma_entry **vmas, size_t *n) must_check;
int procfs_read_vmas(pid_t pid, struct vma_entry **vmas, size_t *n) must_check;
/* Same from /proc/PID/maps: no VmFlags (vmflags 0), but no page table
 * walk either (smaps costs ~10 ms per GiB resident). */
int procfs_read_maps(pid_t pid, struct vma_entry **vmas, size_t *n) must_check;

/* /proc/PID/stat.  comm may contain spaces and ')' — the parser uses the last
 * ')' of the line. */
struct proc_stat {
	int pid;
	char comm[64];
	char state;
	int ppid, pgrp, session, tty_nr;
	unsigned long flags;		/* PF_* (PF_KTHREAD = 0x00200000) */
	long num_threads;
	unsigned long long starttime;
	unsigned long startstack;	/* field 28 */
	int exit_signal;		/* 38: sent to the parent at exit (0: none) */
	unsigned long start_code, end_code;	/* fields 26, 27 */
	unsigned long start_data, end_data, start_brk;	/* 45, 46, 47 */
	unsigned long arg_start, arg_end, env_start, env_end;	/* 48-51 */
	int exit_code;			/* 52 */
};
int procfs_parse_stat(const char *text, struct proc_stat *st) must_check;
int procfs_read_stat(pid_t pid, struct proc_stat *st) must_check;

/* /proc/PID/status. */
struct proc_status {
	char name[64];
	char state;			/* first letter of State: */
	int tgid, pid, ppid, tracer_pid;
	unsigned umask;			/* Umask: (octal) */
	unsigned uid[4], gid[4];	/* real, effective, saved, fs */
	unsigned ngroups;
	unsigned groups[256];
	int threads;
	uint64_t sig_pnd, shd_pnd, sig_blk, sig_ign, sig_cgt;	/* hex masks */
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int seccomp;			/* 0 none, 1 strict, 2 filter */
	int nspid_count;
	int nspid[8];			/* NSpid: outermost first */
};
int procfs_parse_status(const char *text, struct proc_status *st) must_check;
int procfs_read_status(pid_t pid, struct proc_status *st) must_check;
/* /proc/PID/task/TID/status: one thread's. */
int procfs_read_task_status(pid_t pid, pid_t tid, struct proc_status *st) must_check;

/* /proc/PID/limits: all RLIM_NLIMITS rows, "unlimited" = RLIM_INFINITY.
 * Rows are matched by their name ("Max open files" -> RLIMIT_NOFILE). */
int procfs_parse_limits(const char *text, struct rlimit lim[RLIM_NLIMITS]) must_check;
int procfs_read_limits(pid_t pid, struct rlimit lim[RLIM_NLIMITS]) must_check;

/* /proc/PID/fdinfo/FD (common lines only; kind-specific lines ignored). */
struct proc_fdinfo {
	uint64_t pos;
	unsigned flags;			/* octal "flags:" incl. O_CLOEXEC bit */
	int mnt_id;
	uint64_t ino;
};
int procfs_parse_fdinfo(const char *text, struct proc_fdinfo *fi) must_check;
int procfs_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi) must_check;

/* /proc/PID/fd: sorted fd numbers (malloc'd). */
int procfs_list_fds(pid_t pid, int **fds, size_t *n) must_check;
/* /proc/PID/task: sorted tids (malloc'd). */
int procfs_list_tasks(pid_t pid, pid_t **tids, size_t *n) must_check;

/* readlink of /proc/PID/<name> (cwd, root, exe, fd/N) into buf. */
int procfs_readlink(pid_t pid, const char *name, char *buf, size_t size) must_check;

#endif
