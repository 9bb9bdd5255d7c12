/* libmigrate internals: the job a call hands to its helper process, and
 * the page the two share.
 *
 * A call maps one shared anonymous page (struct mig_shared), clones a
 * helper (a copy of the process with exit signal 0: no SIGCHLD, invisible
 * to waitpid(-1) and to SIG_IGN auto-reaping) and waits for it with
 * waitpid(helper, __WALL).  The helper runs ckpt (and the host command)
 * and writes the outcome into the page, setting `done` last, only after
 * ckpt has exited: the image, taken while the caller waits, always records
 * done == 0.  So: done set = this is the original and the page holds the
 * result; done clear = the copy restarted from the image (checked against
 * the process's identity, in case the helper died without a word). */
#ifndef LIBMIGRATE_INTERNAL_H
#define LIBMIGRATE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#define MIG_MSG_MAX 3072
#define MIG_OUT_MAX 256

enum mig_kind { MIG_CHECKPOINT, MIG_CLONE, MIG_TO };

/* Which child of the helper could not be executed. */
enum mig_tool { MIG_TOOL_NONE, MIG_TOOL_CKPT, MIG_TOOL_HOST };

struct mig_shared {
	uint32_t go;		/* caller -> helper: start (ptrace permission given) */
	uint32_t done;		/* helper -> caller: the fields below are final */
	int32_t ckpt_status;	/* wait status of ckpt, -1 if not run */
	int32_t host_status;	/* wait status of the host command, -1 if not run */
	int32_t exec_errno;	/* errno of the execve that failed, 0 if none */
	int32_t exec_tool;	/* enum mig_tool */
	int32_t setup_errno;	/* the helper could not set up (pipe, clone...) */
	uint32_t bundle_missing; /* MIGRATE_BUNDLE asked, ckpt has no --bundle */
	uint32_t msg_len;	/* stderr of ckpt and of the host command */
	uint32_t out_len;	/* stdout of the host command (restart's PID) */
	char msg[MIG_MSG_MAX];
	char out[MIG_OUT_MAX];
};

/* Everything the helper needs, prepared by the caller before the clone:
 * the helper only makes async-signal-safe calls (the caller may be
 * multi-threaded). */
struct mig_job {
	enum mig_kind kind;
	pid_t caller;
	struct mig_shared *sh;
	char *ckpt;		/* path of ckpt (malloc'd) */
	char **ckpt_argv;
	char **help_argv;	/* ckpt --help, to probe for --bundle; NULL if not asked */
	int bundle_slot;	/* index in ckpt_argv where "--bundle" goes */
	char *host_path;	/* /bin/sh or ssh (malloc'd); NULL for MIG_CHECKPOINT */
	char **host_argv;
	char **envp;
	/* Storage for the above. */
	char *ckpt_argv_buf[16], *help_argv_buf[3], *host_argv_buf[16];
	char pid_text[16], level_text[8];
};

/* helper.c: the helper process's whole life; never returns. */
void mig_helper(const struct mig_job *job) __attribute__((noreturn));

#endif
