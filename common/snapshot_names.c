/* Snapshot file names and retention: see snapshot_names.h. */
#include "snapshot_names.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool snapshot_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > SNAPSHOT_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

bool snapshot_parse(const char *file, struct snapshot_file *out)
{
	size_t len = strlen(file), suffix = strlen(SNAPSHOT_SUFFIX), name_len, i;
	const char *stamp;
	struct tm tm = { 0 };
	char *end;

	if (len < 1 + 1 + SNAPSHOT_STAMP_LEN + suffix ||
	    strcmp(file + len - suffix, SNAPSHOT_SUFFIX))
		return false;
	stamp = file + len - suffix - SNAPSHOT_STAMP_LEN;
	if (stamp[-1] != '-')
		return false;
	name_len = stamp - 1 - file;
	if (name_len > SNAPSHOT_NAME_MAX)
		return false;
	for (i = 0; i < SNAPSHOT_STAMP_LEN; i++) {
		bool digit = isdigit((unsigned char)stamp[i]);
		if (i == 8 ? stamp[i] != 'T' : i == 15 ? stamp[i] != 'Z' : !digit)
			return false;
	}
	end = strptime(stamp, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || end != stamp + SNAPSHOT_STAMP_LEN)
		return false;
	memcpy(out->name, file, name_len);
	out->name[name_len] = 0;
	if (!snapshot_name_ok(out->name))
		return false;
	out->when = timegm(&tm);
	out->file = NULL;
	out->keep = false;
	return true;
}

static int newest_first(const void *a, const void *b)
{
	const struct snapshot_file *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? 1 : -1;
	return strcmp(y->file, x->file);
}

int snapshot_list_dir(const char *dir, const char *name, struct snapshot_list *list)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	list->items = NULL;
	list->n = 0;
	if (!d)
		return fail(errno, "check the directory", "listing snapshots in %s", dir);
	while ((e = readdir(d))) {
		struct snapshot_file f, *grown;

		if (!snapshot_parse(e->d_name, &f) || (name && strcmp(f.name, name)))
			continue;
		grown = realloc(list->items, (list->n + 1) * sizeof(*grown));
		if (!grown || !(f.file = strdup(e->d_name))) {
			if (grown)
				list->items = grown;
			closedir(d);
			snapshot_list_free(list);
			return fail(ENOMEM, NULL, "listing snapshots in %s", dir);
		}
		list->items = grown;
		list->items[list->n++] = f;
	}
	closedir(d);
	if (list->n)	/* (items is NULL then) */
		qsort(list->items, list->n, sizeof(*list->items), newest_first);
	return 0;
}

/* A day or an ISO week as one number, for "the newest of each". */
static long day_of(time_t t)
{
	return (long)(t / 86400);
}

static long week_of(time_t t)
{
	struct tm tm;
	char buf[16];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%G%V", &tm);
	return strtol(buf, NULL, 10);
}

static void keep_newest_per(struct snapshot_list *list, unsigned count, long (*period)(time_t))
{
	long last = 0;
	unsigned periods = 0;
	size_t i;

	for (i = 0; i < list->n && periods < count; i++) {
		long p = period(list->items[i].when);
		if (i > 0 && p == last)
			continue;
		list->items[i].keep = true;
		last = p;
		periods++;
	}
}

void retention_apply(struct snapshot_list *list, const struct retention *keep)
{
	size_t i;

	qsort(list->items, list->n, sizeof(*list->items), newest_first);
	for (i = 0; i < list->n; i++)
		list->items[i].keep = i < keep->last;
	keep_newest_per(list, keep->daily, day_of);
	keep_newest_per(list, keep->weekly, week_of);
}

void snapshot_list_free(struct snapshot_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->items[i].file);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}
