/* Snapshot directories (ckpt snapshot, restart DIR): files named
 * NAME-YYYYmmddTHHMMSSZ.tar.zst (UTC), the retention policy that picks
 * which of them to keep. */
#ifndef CKPT_SNAPSHOT_NAMES_H
#define CKPT_SNAPSHOT_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

#define SNAPSHOT_STAMP_LEN 16		/* 20261202T150405Z */
#define SNAPSHOT_SUFFIX ".tar.zst"
#define SNAPSHOT_NAME_MAX 64

struct snapshot_file {
	char *file;			/* the entry name in the directory */
	char name[SNAPSHOT_NAME_MAX + 1];
	time_t when;			/* from the stamp */
	bool keep;			/* retention_apply() */
};

/* Sorted newest first. */
struct snapshot_list {
	struct snapshot_file *items;
	size_t n;
};

struct retention {
	unsigned last;			/* the newest N */
	unsigned daily;			/* the newest of each of the D latest days */
	unsigned weekly;		/* ... of each of the W latest ISO weeks */
};

/* A NAME is 1-64 of [A-Za-z0-9._-], not starting with '.'. */
bool snapshot_name_ok(const char *name);
/* Parse "NAME-STAMP.tar.zst"; false if file is not such a name. */
bool snapshot_parse(const char *file, struct snapshot_file *out);
/* The snapshots in dir; only those of name unless name is NULL. */
int snapshot_list_dir(const char *dir, const char *name, struct snapshot_list *list) must_check;
/* Sort (newest first) and mark what the policy keeps. */
void retention_apply(struct snapshot_list *list, const struct retention *keep);
void snapshot_list_free(struct snapshot_list *list);

#endif
