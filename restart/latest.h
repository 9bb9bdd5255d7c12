#ifndef RESTART_LATEST_H
#define RESTART_LATEST_H

#include <stddef.h>

#include "error.h"

/* `restart DIR`: the newest snapshot in DIR (ckpt snapshot's names) that
 * reads back whole and undamaged, into path; older ones are tried, with a
 * warning for each damaged one, when the newest is not. */
int latest_image(const char *dir, char *path, size_t size) must_check;

#endif
