#ifndef RESTART_LATEST_H
#define RESTART_LATEST_H

#include <stddef.h>

#include "error.h"

/* `restart DIR`: the newest snapshot in DIR (ckpt snapshot's names) that
 * reads back whole and undamaged, into path; older ones are tried, with a
 * warning for each damaged one, when the newest is not.  With keys
 * (restart --verify/--decrypt), a snapshot is whole only if it and every
 * parent it needs verify and decrypt with them. */
struct image_keys;
int latest_image(const char *dir, const struct image_keys *keys, char *path,
		 size_t size) must_check;

#endif
