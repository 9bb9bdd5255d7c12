/* libmigrate: a program checkpoints, clones or moves itself with ckpt(1).
 *
 *   #include <libmigrate.h>
 *
 *   int r = migrate_checkpoint("/var/lib/job/state.tar.zst", 0);
 *   if (r < 0)
 *           fprintf(stderr, "checkpoint: %s\n", migrate_strerror());
 *   else if (r == MIGRATE_RESTORED)
 *           ... this is the copy brought back by restart(1) ...
 *   else
 *           ... MIGRATE_CHECKPOINTED: the image is written, we go on ...
 *
 *   pid_t pid = migrate_clone("node7", 0);   // remote fork: 0 in the copy
 *   if (migrate_to("node7", 0) == 0) ...     // now running on node7
 *
 * Build with `pkg-config --cflags --libs libmigrate` (shared or static,
 * no dependencies).  ckpt must be installed: found through $MIGRATE_CKPT,
 * the prefix libmigrate was configured with, or PATH.  Thread-safe; any
 * thread may call.  See libmigrate(3).
 */
#ifndef LIBMIGRATE_H
#define LIBMIGRATE_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* migrate_checkpoint() results. */
#define MIGRATE_CHECKPOINTED 0	/* image written, this is the original */
#define MIGRATE_RESTORED 1	/* this process was brought back by restart(1) */

/* Flags (OR them). */
#define MIGRATE_EXIT 0x1u	/* checkpoint: end the process once the image is written */
#define MIGRATE_EXT_UNIX 0x2u	/* allow unix sockets to other processes (ckpt --ext-unix) */
#define MIGRATE_BUNDLE 0x4u	/* carry the binaries in the image (ckpt --bundle), if
				   the installed ckpt has that option */
#define MIGRATE_NEW_PID 0x8u	/* migrate_to an ssh host: any free PID there */
#define MIGRATE_TREE 0x10u	/* the calling process and all its descendants; without
				   it the process alone, refused if it has children */
/* zstd level 1 (fastest, default) to 19 (smallest image). */
#define MIGRATE_COMPRESS(level) (((unsigned)(level) & 0x1fu) << 8)
#define MIGRATE_COMPRESS_LEVEL(flags) (((flags) >> 8) & 0x1fu)

/* Write an image of the calling process (every thread) to path, a file
 * ("-" is not allowed).  Returns MIGRATE_CHECKPOINTED in the original,
 * MIGRATE_RESTORED when the process comes back here from that image, or -1
 * with errno set and the reason in migrate_strerror(); the process then
 * goes on as before.  With MIGRATE_EXIT the original ends once the image
 * is written (the call returns only in restored copies, or -1). */
int migrate_checkpoint(const char *path, unsigned flags);

/* Start a copy of the calling process on host (a remote fork).  Returns
 * the copy's PID (on host) in the original and 0 in the copy, or -1 with
 * errno in the original.  host is an ssh destination, or a command (any
 * string with a blank in it) run by /bin/sh that reads the image on its
 * standard input and runs `restart - --detach ...` wherever it likes,
 * printing restart's output (the PID) on its standard output. */
pid_t migrate_clone(const char *host, unsigned flags);

/* Move the calling process to host (see migrate_clone for host).  On
 * success the original ends (_exit(0)) once the copy runs, and the call
 * returns 0 in the copy.  On failure it returns -1 with errno in the
 * original, which keeps running. */
int migrate_to(const char *host, unsigned flags);

/* The reason for the last failure of a libmigrate call in the calling
 * thread: ckpt's (or restart's) own one-line message, or libmigrate's.
 * "" if none has failed.  The string belongs to the thread; it stays
 * valid until its next libmigrate call. */
const char *migrate_strerror(void);

#ifdef __cplusplus
}
#endif

#endif
