/* libmigrate: let a program checkpoint itself.
 *
 *   #include <libmigrate.h>
 *   int r = migrate_checkpoint("/var/lib/job/state.tar.zst", 0);
 *   if (r < 0) perror-like: migrate_strerror()...
 *   else if (r == MIGRATE_RESTORED) ... we are the restarted copy ...
 *   else ... the image is written, we go on ...
 *
 * Link with -lmigrate (static library, no dependencies); the ckpt binary
 * must be installed (or named by the CKPT_BIN environment variable).
 * See libmigrate(3).
 */
#ifndef LIBMIGRATE_H
#define LIBMIGRATE_H

#ifdef __cplusplus
extern "C" {
#endif

#define MIGRATE_CHECKPOINTED 0	/* image written, this is the original */
#define MIGRATE_RESTORED 1	/* this process was brought back by restart */

/* Flags for migrate_checkpoint(). */
#define MIGRATE_EXIT 1u		/* end the process once the image is written */
#define MIGRATE_BUNDLE 2u	/* carry the executable and mapped files (ckpt --bundle) */

/* Write an image of the calling process to path ("-" is not allowed).
 * Returns MIGRATE_CHECKPOINTED in the original process, MIGRATE_RESTORED
 * when the process returns here after restart(1), or -1 with errno set
 * (ckpt's own message went to stderr).  Single-threaded callers only. */
int migrate_checkpoint(const char *path, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif
