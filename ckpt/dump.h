#ifndef CKPT_DUMP_H
#define CKPT_DUMP_H

#include <sys/types.h>

#include "state.h"

/* Check pid, seize it and all its descendants (unless opts->no_children),
 * write their image to out_fd, then let them go on (or kill them with
 * opts->kill_after, once commit() accepted the image).  commit is called
 * after the image is completely written (fsync+rename); if it fails, the
 * processes are left running.  On any failure every process is left
 * running exactly as before.  (ckpt/tree.c) */
int dump_tree(pid_t pid, const struct dump_opts *opts, int out_fd,
	      int (*commit)(void *arg), void *arg) must_check;

extern volatile int dump_interrupted;

/* ckpt/pidns.c: inside a tree's own PID namespace, have its init killed
 * by the ckpt outside (which ends us too). */
_Noreturn void pidns_kill_init(int fd);
/* Tell it the image is complete: the processes are about to be killed,
 * after which an init of the namespace not in the image ends it. */
void pidns_image_complete(int fd);

/* One process of the image (ckpt/dump.c), in the order tree.c calls them. */
int dump_preflight(pid_t pid, struct dump_ctx *ctx) must_check;
int dump_run_prepare_hooks(struct dump_ctx *ctx) must_check;
int dump_seize_all(struct dump_ctx *ctx) must_check;
int dump_write_header(struct dump_ctx *ctx) must_check;
int dump_run_dump_hooks(struct dump_ctx *ctx) must_check;
int dump_run_shared_hooks(struct dump_ctx *ctx) must_check;
int dump_resume_if_possible(struct dump_ctx *ctx) must_check;
int resume_early(struct dump_ctx *ctx) must_check;
int dump_run_late_hooks(struct dump_ctx *ctx) must_check;
int dump_run_contents_hooks(struct dump_ctx *ctx) must_check;
int dump_release_all(struct dump_ctx *ctx) must_check;
void reap_copy(struct dump_ctx *ctx);
void dump_print_backtraces(const struct image_meta *m);
void dump_ctx_end(struct dump_ctx *ctx);

#endif
