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

/* Read the whole image: every member decompressed (zstd checksums), the
 * metadata decoded, the end record matching what came before it. */
static int verify_image(const char *path)
{
	struct image_reader *r;
	struct image_meta m = { 0 };
	struct member_cursor next;
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, NULL, "opening %s", path);
	r = image_reader_new(fd);
	if (!r)
		goto out;
	if (meta_read(r, &m, &next))
		goto out;
	ret = next.state;
	while (ret > 0)
		ret = image_next_member(r, name, &size);
out:
	if (r)
		image_reader_free(r);
	meta_free(&m);
	close(fd);
	return ret < 0 ? -1 : 0;
}

/* The image and, if it is incremental, every parent it needs. */
static int verify_chain(const char *dir, const char *path)
{
	struct image_identity id;
	char **parents;
	size_t n, i;
	int ret = 0;

	if (verify_image(path) || image_identity_read(path, &id))
		return -1;
	if (image_find_parents(dir, &id, &parents, &n))
		return -1;
	for (i = 0; i < n && !ret; i++)
		ret = verify_image(parents[i]);
	image_paths_free(parents, n);
	return ret;
}

int latest_image(const char *dir, char *path, size_t size)
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
		if (verify_chain(dir, path) == 0) {
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
