/* The content-addressed cache of bundled files (restart, ckpt cache).
 *
 * Where: $XDG_CACHE_HOME/ckpt when XDG_CACHE_HOME is set (an absolute
 * path); else /var/cache/ckpt for root; else $HOME/.cache/ckpt.
 * Layout: DIR/<sha256 hex>/<file name>, e.g.
 * /var/cache/ckpt/3f1a.../libc.so.6, so /proc/PID/maps of a restored
 * process shows which library it is.  An entry is written under a temporary
 * name in its directory and renamed into place once its hash is verified,
 * so concurrent restarts never see half a file; an entry found already
 * there is hashed again before it is used.  The entry directory's mtime is
 * its last use (ckpt cache prune removes the least recently used). */
#ifndef CKPT_CACHE_H
#define CKPT_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "image.h"
#include "sha256.h"

/* The cache directory; created (mode 0755) if create. */
int cache_dir(char *buf, size_t size, bool create) must_check;
/* The entry's path for the file named base (its path at checkpoint). */
void cache_entry_path(const char *dir, const uint8_t sha[SHA256_LEN], const char *base,
		      char *buf, size_t size);
/* 0 if the entry at path is there and holds exactly sha (its use
 * recorded), 1 if not. */
int cache_entry_valid(const char *path, const uint8_t sha[SHA256_LEN]);
/* Write the current image member (size bytes) as the entry at path,
 * checking its hash is sha; exec: mode 0555 instead of 0444. */
int cache_store(struct image_reader *r, uint64_t size, const uint8_t sha[SHA256_LEN],
		const char *path, bool exec) must_check;
/* ckpt cache: list entries, or remove those unused for max_age seconds
 * and then the least recently used ones until at most max_bytes remain;
 * entries mapped by a running process are kept. */
int cache_list(FILE *out) must_check;
int cache_prune(uint64_t max_bytes, uint64_t max_age, bool dry_run, FILE *out) must_check;

#endif
