/* The metadata members of an image: one table says which member holds
 * which record list, and both reading and writing walk it. */
#define LOG_PREFIX "meta: "
#include "state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct meta_member {
	const char *name;
	const struct record_desc *desc;	/* NULL: raw blob member */
	size_t array_off, count_off;
	bool exactly_one;
};

#define LIST(member_name, desc, field, one) \
	{ member_name, &desc, offsetof(struct image_meta, field), \
	  offsetof(struct image_meta, n##field), one }

static const struct meta_member meta_members[] = {
	LIST("ckpt-image", image_header_desc, header, true),
	LIST("meta/tree", tree_rec_desc, tree, false),	/* root only */
	LIST("meta/process", process_rec_desc, process, true),
	LIST("meta/threads", thread_rec_desc, threads, false),
	LIST("meta/rlimits", rlimit_rec_desc, rlimits, false),
	LIST("meta/files", file_id_rec_desc, files, false),
	LIST("meta/vmas", vma_rec_desc, vmas, false),
	LIST("meta/guards", guard_rec_desc, guards, false),
	LIST("meta/ghosts", ghost_rec_desc, ghosts, false),
	LIST("meta/ghost-maps", ghost_map_rec_desc, ghost_maps, false),
	LIST("meta/cow-pages", cow_page_rec_desc, cow_pages, false),
	LIST("meta/fds", fd_rec_desc, fds, false),
	LIST("meta/epoll", epoll_rec_desc, epolls, false),
	LIST("meta/inotify", inotify_rec_desc, inotify, false),
	LIST("meta/fanotify", fanotify_rec_desc, fanotify, false),
	LIST("meta/locks", lock_rec_desc, locks, false),
	LIST("meta/sockopts", sockopt_rec_desc, sockopts, false),
	LIST("meta/unix-queue", unix_msg_rec_desc, unix_msgs, false),
	LIST("meta/sigactions", sigaction_rec_desc, sigactions, false),
	LIST("meta/sigpending", sigpending_rec_desc, sigpending, false),
	LIST("meta/timers", timer_rec_desc, timers, false),
	LIST("meta/seccomp", seccomp_rec_desc, seccomp, false),
	LIST("meta/backtraces", backtrace_rec_desc, backtraces, false),
	LIST("meta/timerslack", timerslack_rec_desc, timerslack, false),
	LIST("meta/sysv-shm", sysv_shm_rec_desc, sysv_shm, false),
	LIST("meta/sysv-attach", sysv_attach_rec_desc, sysv_attach, false),
	LIST("meta/sysv-sem", sysv_sem_rec_desc, sysv_sem, false),
	LIST("meta/sysv-msg", sysv_msg_rec_desc, sysv_msg, false),
	{ "meta/vdso", NULL, offsetof(struct image_meta, vdso), 0, false },
};
#define NR_MEMBERS (sizeof(meta_members) / sizeof(meta_members[0]))

static void **array_of(const struct image_meta *m, const struct meta_member *mm)
{
	return (void **)((char *)m + mm->array_off);
}

static size_t *count_of(const struct image_meta *m, const struct meta_member *mm)
{
	return (size_t *)((char *)m + mm->count_off);
}

/* Members of the root only (not repeated under proc/PID/). */
static bool root_only(const struct meta_member *mm)
{
	return mm == &meta_members[0] || !strcmp(mm->name, "meta/tree");
}

int meta_write_as(struct image_writer *w, const struct image_meta *m, const char *prefix)
{
	char name[IMAGE_NAME_MAX + 1];
	struct buf b = { 0 };
	unsigned i;
	int ret = 0;

	for (i = 0; i < NR_MEMBERS && !ret; i++) {
		const struct meta_member *mm = &meta_members[i];
		if (*prefix && root_only(mm))
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, mm->name);
		if (!mm->desc) {
			const struct blob *bl = (const struct blob *)((const char *)m + mm->array_off);
			ret = image_write_member(w, name, bl->data, bl->len);
			continue;
		}
		b.len = 0;
		ret = record_encode_list(&b, mm->desc, *array_of(m, mm), *count_of(m, mm));
		if (!ret)
			ret = image_write_member(w, name, b.data, b.len);
	}
	buf_free(&b);
	return ret;
}

int meta_write(struct image_writer *w, const struct image_meta *m)
{
	return meta_write_as(w, m, "");
}

static const struct meta_member *find_member(const char *name)
{
	unsigned i;
	for (i = 0; i < NR_MEMBERS; i++)
		if (!strcmp(meta_members[i].name, name))
			return &meta_members[i];
	return NULL;
}

static int check_header(const struct image_meta *m)
{
	const struct image_header *h = m->header;

	if (h->format_version != IMAGE_FORMAT_VERSION)
		return fail_why("unsupported image format version",
				"this restart reads format version " "1"
				"; use the ckpt/restart release that wrote the image",
				"reading image (format version %u, written by %s)",
				h->format_version, h->tool_version ? h->tool_version : "?");
	if (!h->arch || strcmp(h->arch, ARCH_NAME))
		return fail_why("image is for another architecture", "restart it on a "
				"machine of that architecture", "reading image (arch %s)",
				h->arch ? h->arch : "?");
	return 0;
}

int meta_read_as(struct image_reader *r, struct image_meta *m, const char *prefix,
		 struct member_cursor *next)
{
	bool seen[NR_MEMBERS] = { false };
	size_t plen = strlen(prefix);
	bool first = *prefix != 0;	/* next holds our first member already */
	unsigned i;

	memset(m, 0, sizeof(*m));
	for (;;) {
		const struct meta_member *mm;
		const char *name;
		void *data;
		size_t len;
		int ret;

		if (first) {
			ret = next->state;
			first = false;
		} else {
			ret = image_next_member(r, next->name, &next->size);
			if (ret < 0)
				return -1;
			next->state = ret;
		}
		if (ret == 0 || strncmp(next->name, prefix, plen))
			break;
		name = next->name + plen;
		if (strncmp(name, "meta/", 5) && (plen || strcmp(name, "ckpt-image")))
			break;
		mm = find_member(name);
		if (!mm || (plen && root_only(mm)))
			continue;	/* a newer writer's member: skip it */
		if (seen[mm - meta_members])
			return fail_why("member appears twice", "the image is corrupted",
					"reading image member %s", next->name);
		seen[mm - meta_members] = true;
		if (next->size > (256u << 20))
			return fail_why("member too large", "the image is corrupted",
					"reading image member %s", next->name);
		if (image_read_all(r, &data, &len))
			return -1;
		if (!mm->desc) {
			struct blob *bl = (struct blob *)((char *)m + mm->array_off);
			bl->data = data;
			bl->len = len;
			continue;
		}
		ret = record_decode_list(data, len, mm->desc, array_of(m, mm), count_of(m, mm));
		free(data);
		if (ret)
			return -1;
		if (mm->exactly_one && *count_of(m, mm) != 1)
			return fail_why("expected exactly one record", "the image is corrupted",
					"reading image member %s", next->name);
		if (mm == &meta_members[0] && check_header(m))
			return -1;
	}
	for (i = 0; i < NR_MEMBERS; i++)
		if (meta_members[i].exactly_one && !seen[i] && !(plen && root_only(&meta_members[i])))
			return fail_why("required member missing", "the image is incomplete or "
					"not written by ckpt", "reading image member %s%s",
					prefix, meta_members[i].name);
	return 0;
}

int meta_read(struct image_reader *r, struct image_meta *m, struct member_cursor *next)
{
	return meta_read_as(r, m, "", next);
}

void meta_free(struct image_meta *m)
{
	unsigned i;

	for (i = 0; i < NR_MEMBERS; i++) {
		const struct meta_member *mm = &meta_members[i];
		if (!mm->desc) {
			free(((struct blob *)((char *)m + mm->array_off))->data);
			continue;
		}
		record_free_list(mm->desc, *array_of(m, mm), *count_of(m, mm));
	}
	memset(m, 0, sizeof(*m));
}

void *meta_push(void *array_ptr, size_t *n, size_t elem_size)
{
	void **arr = array_ptr;
	char *grown = realloc(*arr, (*n + 1) * elem_size);

	if (!grown) {
		fail(ENOMEM, NULL, "growing a record list");
		return NULL;
	}
	*arr = grown;
	memset(grown + *n * elem_size, 0, elem_size);
	return grown + (*n)++ * elem_size;
}

bool meta_member_at(const struct image_meta *m, unsigned i, const char **name,
		    const struct record_desc **desc, const void **recs, size_t *n)
{
	if (i >= NR_MEMBERS)
		return false;
	*name = meta_members[i].name;
	*desc = meta_members[i].desc;
	*recs = *desc ? *array_of(m, &meta_members[i]) : NULL;
	*n = *desc ? *count_of(m, &meta_members[i]) : 0;
	return true;
}

const struct vma_rec *meta_find_vma(const struct image_meta *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nvmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < m->vmas[mid].start)
			hi = mid;
		else if (addr >= m->vmas[mid].end)
			lo = mid + 1;
		else
			return &m->vmas[mid];
	}
	return NULL;
}

int meta_read_others(struct image_reader *r, const struct image_meta *m,
		     struct member_cursor *next, struct image_meta **others, size_t *n)
{
	size_t k;

	*others = NULL;
	*n = 0;
	for (k = 1; k < m->ntree; k++) {
		struct image_meta *grown;
		char prefix[MEMBER_PREFIX_MAX];
		int ret;

		if (m->tree[k].state == TREE_ZOMBIE)
			continue;
		grown = realloc(*others, (*n + 1) * sizeof(*grown));
		if (!grown)
			return fail(ENOMEM, NULL, "reading the image");
		*others = grown;
		snprintf(prefix, sizeof(prefix), "proc/%d/", m->tree[k].pid);
		ret = meta_read_as(r, &grown[*n], prefix, next);
		grown[*n].header = m->header;	/* the root's */
		grown[(*n)++].nheader = m->nheader;
		if (ret)
			return -1;
	}
	return 0;
}

void meta_free_others(struct image_meta *others, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		others[k].header = NULL;	/* the root's */
		others[k].nheader = 0;
		meta_free(&others[k]);
	}
	free(others);
}
