/* Dirty-page tracking between the dumps of one process (ckpt --track,
 * ckpt snapshot): a userfaultfd of the process, in write-protect async
 * mode, kept alive between ckpt runs by a tiny holder process, so that
 * PAGEMAP_SCAN's PAGE_IS_WRITTEN tells which pages were written since the
 * last dump (docs/design.md "Dirty-page tracking").
 *
 * The uffd is made inside the stopped process (an injected userfaultfd(2),
 * the only way to bind one to its memory), copied out with pidfd_getfd and
 * closed there at once: the process never sees it.  After the image is
 * committed, a holder ("ckpt-track", /proc/self/exe re-executed) keeps it
 * and watches the process; its state file (the tracking epoch of the last
 * image) lets the next dump find it.  Async mode never blocks a fault, so
 * the process cannot wait on the holder; if the holder dies the kernel
 * unregisters everything and the process goes on as if never tracked. */
#ifndef CKPT_DIRTY_TRACK_H
#define CKPT_DIRTY_TRACK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define TRACK_EPOCH_LEN 16

struct remote;

struct dirty_track {
	int uffd;			/* -1: not tracking */
	pid_t pid;			/* the tracked process */
	unsigned long long start;	/* its start time (stat field 22) */
	pid_t holder;			/* 0: none yet (track_commit() starts one) */
	bool epoch_valid;		/* epoch is that of the holder's last image */
	bool invalidated;		/* the state file says "none" (see track_invalidate) */
	uint8_t epoch[TRACK_EPOCH_LEN];
	uint8_t new_epoch[TRACK_EPOCH_LEN];	/* begun by this dump's write-protect */
	char state_path[PATH_MAX];
};

/* Attach to the holder of pid's tracking, or (create) make a new uffd in
 * the process, stopped, r its leader.  Returns 0 with t->uffd == -1 when
 * there is nothing to attach to or tracking is not possible here (said
 * with -v); -1 only for a failure that must fail the dump. */
int track_begin(struct dirty_track *t, struct remote *r, pid_t pid, unsigned long long start,
		bool create) must_check;
/* Register [start, end) (one whole mapping) for write-protect tracking:
 * 0 done (or already ours), 1 this mapping cannot be tracked, 2 another
 * userfaultfd (the process's own) has it. */
int track_register(struct dirty_track *t, uint64_t start, uint64_t end);
/* Before the first page is write-protected again: the state file says no
 * image matches the written bits any more (a failed dump leaves it so, and
 * the next one compares hashes). */
int track_invalidate(struct dirty_track *t) must_check;
/* The image is committed: the holder (started now if new) keeps the uffd
 * and the state file names new_epoch.  Failures are warnings: the image
 * is good, the next dump compares hashes. */
void track_commit(struct dirty_track *t);
/* Close this run's uffd (the holder keeps its own). */
void track_end(struct dirty_track *t);
/* Where state files go: $CKPT_TRACK_DIR, /run/ckpt (root) or /tmp/ckpt-UID. */
void track_state_dir(char *buf, size_t size);
/* bin/ckpt's hidden "--track-holder STATEFILE" (uffd on fd 3, the
 * process's pidfd on fd 4): wait until the process exits or the state
 * file no longer names this holder.  Never returns. */
void track_holder_main(const char *state_path) __attribute__((noreturn));

#endif
