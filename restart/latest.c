/* restart DIR: pick the newest snapshot that verifies (see latest.h). */
#define LOG_PREFIX ""
#include "latest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "page_index.h"
#include "snapshot_names.h"
#include "state.h"

/* The image and, if it is incremental, every parent it needs. */
static int verify_chain(const char *dir, const struct image_keys *keys, const char *path)
{
	struct image_identity id;
	char **parents;
	size_t n, i;
	int ret = 0;

	if (image_read_whole(path, keys) || image_identity_read(path, keys, &id))
		return -1;
	if (image_find_parents(dir, keys, &id, &parents, &n))
		return -1;
	for (i = 0; i < n && !ret; i++)
		ret = image_read_whole(parents[i], keys);
	image_paths_free(parents, n);
	return ret;
}

int latest_image(const char *dir, const struct image_keys *keys, char *path, size_t size)
{
	struct snapshot_list list;
	size_t i;
	int ret = -1;

	if (snapshot_list_dir(dir, NULL, &list))
		return -1;
	if (list.n == 0) {
		snapshot_list_free(&list);
		return fail_why("it holds no snapshot (NAME-YYYYmmddTHHMMSSZ.tar.zst)",
				"give the image file, or the directory ckpt snapshot --dir wrote",
				"finding the newest snapshot in %s", dir);
	}
	for (i = 1; i < list.n; i++)
		if (strcmp(list.items[i].name, list.items[0].name)) {
			fail_why("it holds snapshots of several programs", "give the image file",
				 "finding the newest snapshot in %s (%s, %s...)", dir,
				 list.items[0].name, list.items[i].name);
			goto out;
		}
	for (i = 0; i < list.n; i++) {
		snprintf(path, size, "%s/%s", dir, list.items[i].file);
		if (verify_chain(dir, keys, path) == 0) {
			if (i > 0)
				pr_warn("restarting from the older snapshot %s", list.items[i].file);
			else
				pr_info("newest snapshot: %s", path);
			ret = 0;
			goto out;
		}
		pr_warn("snapshot %s is damaged, skipped: %s", list.items[i].file, error_text());
		error_clear();
	}
	fail_why("every one of them is damaged", "see the warnings above",
		 "finding a snapshot to restart in %s (%zu found)", dir, list.n);
out:
	snapshot_list_free(&list);
	return ret;
}
