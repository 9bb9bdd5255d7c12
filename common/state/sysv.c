/* System V IPC: shared memory segments, semaphore sets, message queues.
 *
 * They are objects of the host (of its IPC namespace), not of a process:
 * ckpt is not in a namespace of its own, so it cannot save "all of them"
 * as CRIU does.  What belongs to the image:
 *   - every segment the process has attached (/proc/PID/maps shows
 *     "/SYSVkkkkkkkk (deleted)", the inode being the shmid), with its
 *     whole contents, read through the process's own mapping (no shmat by
 *     ckpt: the segment's times and pids stay as they are), also one
 *     marked for removal (IPC_RMID while attached);
 *   - every semaphore set one semaphore of which the process was the last
 *     to operate on (semctl GETPID), with all values (GETALL);
 *   - every message queue the process last sent to or received from
 *     (msg_lspid / msg_lrpid), with its messages (msgrcv MSG_COPY).
 * A segment a single process's image holds that another process also has
 * attached is refused (it would be split in two).  SEM_UNDO adjustments
 * cannot be read from outside the process and are not saved.
 *
 * restart makes each object again with its id (/proc/sys/kernel/
 * {shm,sem,msg}_next_id), key, mode, owner and contents before any
 * process exists, once for a tree (the records of several processes name
 * the same id), and each process attaches its segments at their addresses
 * (an injected shmat); a segment marked for removal is removed again once
 * all have attached.  A key or id already taken on the host is refused in
 * check(), before anything is made, unless the object there is the
 * image's own, unchanged (still_here(): after --kill on the same host the
 * objects outlive their process): that one is used as it is. */
#define LOG_PREFIX "sysv: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#define PAGE 4096ul
#define SYSV_CONTENTS_MAX (192ul << 20)	/* meta members are at most 256 MiB */
#define IPC_IDX(id) ((id) & 0x7fff)	/* ipcid_to_idx(), IPCMNI 32768 */

enum sysv_kind { SYSV_SHM, SYSV_SEM, SYSV_MSG };
static const char *const kind_name[] = { "shared memory segment", "semaphore set",
					 "message queue" };
static const char *const kind_proc[] = { "shm", "sem", "msg" };
static const char kind_ipcrm[] = { 'm', 's', 'q' };

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static uint64_t round_page(uint64_t x)
{
	return (x + PAGE - 1) & ~(PAGE - 1);
}

/* The ids of /proc/sysvipc/KIND (second column), with their keys. */
static int list_ids(enum sysv_kind kind, int **ids, int **keys, size_t *n)
{
	char path[64], line[512];
	size_t cap = 0;
	FILE *f;

	*ids = *keys = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind_proc[kind]);
	if (!(f = fopen(path, "re")))
		return fail(errno, "System V IPC support is needed", "reading %s", path);
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;	/* the header */
	while (fgets(line, sizeof(line), f)) {
		int key, id;

		if (sscanf(line, "%d %d", &key, &id) != 2)
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			int *ni = realloc(*ids, nc * sizeof(int)), *nk;
			if (ni)
				*ids = ni;
			nk = ni ? realloc(*keys, nc * sizeof(int)) : NULL;
			if (!nk) {
				fclose(f);
				return fail(ENOMEM, NULL, "reading %s", path);
			}
			*keys = nk;
			cap = nc;
		}
		(*ids)[*n] = id;
		(*keys)[*n] = key;
		(*n)++;
	}
	fclose(f);
	return 0;
}

/* ---- dump ---- */

static bool is_sysv_map(const struct vma_entry *v)
{
	size_t l = strlen(v->path);
	return v->shared && !strncmp(v->path, "/SYSV", 5) && l > 10 &&
	       !strcmp(v->path + l - 10, " (deleted)");
}

static struct sysv_shm_rec *find_shm(const struct image_meta *m, int id)
{
	size_t i;

	for (i = 0; i < m->nsysv_shm; i++)
		if (m->sysv_shm[i].id == id)
			return &m->sysv_shm[i];
	return NULL;
}

static int dump_shm(struct dump_ctx *ctx, uint64_t *total)
{
	struct vma_entry *vmas;
	size_t n, i, k;
	int ret = -1;

	if (procfs_read_maps(ctx->live, &vmas, &n))
		return -1;
	for (i = 0; i < n; i++) {
		const struct vma_entry *v = &vmas[i];
		struct sysv_attach_rec *a;
		struct sysv_shm_rec *s;
		struct shmid_ds ds;
		int id = (int)v->inode;

		size_t last = i, pieces;

		if (!is_sysv_map(v))
			continue;
		/* One attachment mprotected in parts is several mappings,
		 * one after the other through the segment. */
		while (last + 1 < n && is_sysv_map(&vmas[last + 1]) && vmas[last + 1].inode == v->inode &&
		       vmas[last + 1].start == vmas[last].end && vmas[last + 1].pgoff ==
		       vmas[last].pgoff + (vmas[last].end - vmas[last].start))
			last++;
		pieces = last - i + 1;
		if (shmctl(id, IPC_STAT, &ds) < 0) {
			fail(errno, NULL, "reading System V shared memory segment %d (mapped at "
			     "%#llx)", id, (unsigned long long)v->start);
			goto out;
		}
		if (v->pgoff || vmas[last].end - v->start != round_page(ds.shm_segsz)) {
			fail_why("only part of the segment is mapped there (partly unmapped "
				 "or remapped)", "ckpt saves whole attachments only",
				 "saving System V shared memory segment %d at %#llx-%#llx", id,
				 (unsigned long long)v->start, (unsigned long long)vmas[last].end);
			goto out;
		}
		if (!(s = find_shm(&ctx->meta, id))) {
			*total += ds.shm_segsz;
			if (*total > SYSV_CONTENTS_MAX) {
				fail_why("more than 192 MiB of segments", "this version of ckpt "
					 "keeps segment contents in the image's metadata",
					 "saving System V shared memory segment %d", id);
				goto out;
			}
			if (!(s = meta_push(&ctx->meta.sysv_shm, &ctx->meta.nsysv_shm, sizeof(*s))))
				goto out;
			s->id = id;
			s->key = ds.shm_perm.__key;
			s->mode = ds.shm_perm.mode & (0777 | SHM_DEST);
			s->size = ds.shm_segsz;
			s->uid = ds.shm_perm.uid;
			s->gid = ds.shm_perm.gid;
			if (!(s->contents.data = malloc(ds.shm_segsz ? ds.shm_segsz : 1))) {
				fail(ENOMEM, NULL, "saving System V shared memory segment %d", id);
				goto out;
			}
			s->contents.len = ds.shm_segsz;
			if (remote_read(ctx->remote, v->start, s->contents.data, ds.shm_segsz))
				goto out;
			/* One process alone: nobody else may hold it. */
			if (!ctx->tree_pipes) {
				size_t att = 0;
				/* (The kernel counts mappings: one split by
				 * mprotect counts twice.) */
				for (k = 0; k < n; k++)
					att += is_sysv_map(&vmas[k]) && (int)vmas[k].inode == id;
				if (ds.shm_nattch > att) {
					fail_why("also attached by a process outside the image",
						 "checkpoint the tree that shares it (without "
						 "--no-children), or detach it elsewhere",
						 "saving System V shared memory segment %d (key %#x)",
						 id, (unsigned)s->key);
					goto out;
				}
			}
			pr_info("segment %d (key %#x, %llu bytes%s)", id, (unsigned)s->key,
				(unsigned long long)s->size, s->mode & SHM_DEST ? ", removed" : "");
		}
		if (!(a = meta_push(&ctx->meta.sysv_attach, &ctx->meta.nsysv_attach, sizeof(*a))))
			goto out;
		a->id = id;
		a->start = v->start;
		a->end = vmas[last].end;
		a->prot = 0;
		for (k = i; k <= last; k++)
			a->prot |= vmas[k].prot;
		if (pieces > 1) {
			struct sysv_attach_piece *p = calloc(pieces, sizeof(*p));

			if (!p) {
				fail(ENOMEM, NULL, "saving System V shared memory segment %d", id);
				goto out;
			}
			for (k = i; k <= last; k++)
				p[k - i] = (struct sysv_attach_piece){ vmas[k].start, vmas[k].end,
								       vmas[k].prot, 0 };
			a->pieces.data = p;
			a->pieces.len = pieces * sizeof(*p);
		}
		i = last;
	}
	ret = 0;
out:
	free(vmas);
	return ret;
}

static int dump_sem(struct dump_ctx *ctx)
{
	int *ids, *keys;
	size_t n, i;
	int ret = -1;

	if (list_ids(SYSV_SEM, &ids, &keys, &n))
		return -1;
	for (i = 0; i < n; i++) {
		struct semid_ds ds;
		struct sysv_sem_rec *r;
		unsigned short *vals;
		unsigned long k;
		bool ours = false;

		if (semctl(ids[i], 0, IPC_STAT, (union semun){ .buf = &ds }) < 0)
			continue;	/* gone meanwhile */
		for (k = 0; k < ds.sem_nsems && !ours; k++)
			ours = semctl(ids[i], (int)k, GETPID) == ctx->pid;
		if (!ours)
			continue;
		if (!(r = meta_push(&ctx->meta.sysv_sem, &ctx->meta.nsysv_sem, sizeof(*r))))
			goto out;
		r->id = ids[i];
		r->key = ds.sem_perm.__key;
		r->mode = ds.sem_perm.mode & 0777;
		r->uid = ds.sem_perm.uid;
		r->gid = ds.sem_perm.gid;
		if (!(vals = malloc(ds.sem_nsems * sizeof(*vals)))) {
			fail(ENOMEM, NULL, "saving semaphore set %d", ids[i]);
			goto out;
		}
		r->values.data = vals;
		r->values.len = ds.sem_nsems * sizeof(*vals);
		if (semctl(ids[i], 0, GETALL, (union semun){ .array = vals }) < 0) {
			fail(errno, NULL, "reading the values of semaphore set %d", ids[i]);
			goto out;
		}
		pr_info("semaphore set %d (key %#x, %lu semaphores)", r->id, (unsigned)r->key,
			(unsigned long)ds.sem_nsems);
	}
	ret = 0;
out:
	free(ids);
	free(keys);
	return ret;
}

/* The messages of queue id (ds: its IPC_STAT) read in order without taking
 * them (MSG_COPY), in the image's form: per message int64 mtype, uint64
 * length, bytes.  *out is malloc'd. */
static int copy_messages(int id, const struct msqid_ds *ds, uint8_t **out, size_t *len)
{
	size_t size = ds->__msg_cbytes + sizeof(long), cap = ds->__msg_cbytes + 16 * ds->msg_qnum;
	char *buf = malloc(size);
	unsigned long k;

	*len = 0;
	*out = malloc(cap + 1);
	if (!buf || !*out) {
		free(buf);
		free(*out);
		*out = NULL;
		return fail(ENOMEM, NULL, "reading message queue %d", id);
	}
	for (k = 0; k < ds->msg_qnum; k++) {
		ssize_t got = msgrcv(id, buf, size - sizeof(long), (long)k, IPC_NOWAIT | MSG_COPY);
		int64_t type;
		uint64_t l;

		if (got < 0) {
			fail(errno, errno == ENOSYS ? "the kernel needs CONFIG_CHECKPOINT_RESTORE" :
			     NULL, "reading message %lu of message queue %d", k, id);
			goto err;
		}
		if (*len + 16 + (size_t)got > cap) {
			fail_why("the queue changed while it was read", "run it again",
				 "reading message queue %d", id);
			goto err;
		}
		type = *(long *)buf;
		l = (uint64_t)got;
		memcpy(*out + *len, &type, 8);
		memcpy(*out + *len + 8, &l, 8);
		memcpy(*out + *len + 16, buf + sizeof(long), got);
		*len += 16 + got;
	}
	free(buf);
	return 0;
err:
	free(buf);
	free(*out);
	*out = NULL;
	return -1;
}

static int dump_msg(struct dump_ctx *ctx)
{
	int *ids, *keys;
	size_t n, i;
	int ret = -1;

	if (list_ids(SYSV_MSG, &ids, &keys, &n))
		return -1;
	for (i = 0; i < n; i++) {
		struct msqid_ds ds;
		struct sysv_msg_rec *r;
		uint8_t *out;
		size_t len;

		if (msgctl(ids[i], IPC_STAT, &ds) < 0)
			continue;
		if (ds.msg_lspid != ctx->pid && ds.msg_lrpid != ctx->pid)
			continue;
		if (!(r = meta_push(&ctx->meta.sysv_msg, &ctx->meta.nsysv_msg, sizeof(*r))))
			goto out;
		r->id = ids[i];
		r->key = ds.msg_perm.__key;
		r->mode = ds.msg_perm.mode & 0777;
		r->uid = ds.msg_perm.uid;
		r->gid = ds.msg_perm.gid;
		r->qbytes = ds.msg_qbytes;
		if (copy_messages(ids[i], &ds, &out, &len))
			goto out;
		r->messages.data = out;
		r->messages.len = len;
		pr_info("message queue %d (key %#x, %lu messages)", r->id, (unsigned)r->key,
			(unsigned long)ds.msg_qnum);
	}
	ret = 0;
out:
	free(ids);
	free(keys);
	return ret;
}

static int sysv_dump(struct dump_ctx *ctx)
{
	uint64_t total = 0;

	return dump_shm(ctx, &total) || dump_sem(ctx) || dump_msg(ctx) ? -1 : 0;
}

/* ---- restore ---- */

static int corrupt(const char *what, int id)
{
	return fail_why(what, "the image is corrupted", "checking System V IPC object %d", id);
}

/* The messages blob: calls each(arg, type, data, len) per message. */
static int walk_messages(const struct sysv_msg_rec *r, int (*each)(void *, int64_t, const void *,
			 size_t), void *arg)
{
	const uint8_t *p = r->messages.data;
	size_t off = 0;

	while (off < r->messages.len) {
		int64_t type;
		uint64_t l;

		if (r->messages.len - off < 16)
			return corrupt("truncated message", r->id);
		memcpy(&type, p + off, 8);
		memcpy(&l, p + off + 8, 8);
		if (type <= 0 || l > r->messages.len - off - 16)
			return corrupt("invalid message", r->id);
		if (each && each(arg, type, p + off + 16, l))
			return -1;
		off += 16 + l;
	}
	return 0;
}

/* Is the object the record names still on this host exactly as in the
 * image: the same id (its slot and sequence number: IPC_STAT of another
 * object's id fails), key, owner, mode, size and contents?  A process
 * checkpointed with --kill and restarted where it ran finds its objects
 * there: they outlive their processes.  Such an object is the image's
 * own, and restart uses it as it is instead of making it.  Anything else
 * that differs (a value changed since, another owner) is not. */
static bool shm_still_here(const struct sysv_shm_rec *r)
{
	struct shmid_ds ds;
	bool same;
	void *p;

	if (shmctl(r->id, IPC_STAT, &ds) || ds.shm_perm.__key != r->key ||
	    ds.shm_perm.uid != r->uid || ds.shm_perm.gid != r->gid ||
	    (ds.shm_perm.mode & (0777 | SHM_DEST)) != r->mode || ds.shm_segsz != r->size)
		return false;
	if ((p = shmat(r->id, NULL, SHM_RDONLY)) == (void *)-1)
		return false;
	same = !memcmp(p, r->contents.data, r->size);
	shmdt(p);
	return same;
}

static bool sem_still_here(const struct sysv_sem_rec *r)
{
	struct semid_ds ds;
	unsigned short *vals;
	bool same;

	if (semctl(r->id, 0, IPC_STAT, (union semun){ .buf = &ds }) ||
	    ds.sem_perm.__key != r->key || ds.sem_perm.uid != r->uid ||
	    ds.sem_perm.gid != r->gid || (ds.sem_perm.mode & 0777) != r->mode ||
	    ds.sem_nsems * 2 != r->values.len || !(vals = malloc(r->values.len)))
		return false;
	same = !semctl(r->id, 0, GETALL, (union semun){ .array = vals }) &&
	       !memcmp(vals, r->values.data, r->values.len);
	free(vals);
	return same;
}

static bool msg_still_here(const struct sysv_msg_rec *r)
{
	struct msqid_ds ds;
	uint8_t *out;
	size_t len;
	bool same;

	if (msgctl(r->id, IPC_STAT, &ds) || ds.msg_perm.__key != r->key ||
	    ds.msg_perm.uid != r->uid || ds.msg_perm.gid != r->gid ||
	    (ds.msg_perm.mode & 0777) != r->mode || ds.msg_qbytes != r->qbytes)
		return false;
	if (copy_messages(r->id, &ds, &out, &len)) {
		error_clear();
		return false;
	}
	same = len == r->messages.len && !memcmp(out, r->messages.data, len);
	free(out);
	return same;
}

static bool still_here(enum sysv_kind kind, const void *rec)
{
	if (kind == SYSV_SHM)
		return shm_still_here(rec);
	if (kind == SYSV_SEM)
		return sem_still_here(rec);
	return msg_still_here(rec);
}

/* The key and the id's slot are free on this host, or the object there
 * is the image's own (still_here). */
static int host_free(enum sysv_kind kind, int id, int key, const void *rec)
{
	int *ids, *keys;
	size_t n, i;
	char fix[160];
	int ret = 0;

	if (list_ids(kind, &ids, &keys, &n))
		return -1;
	for (i = 0; i < n && !ret; i++) {
		if (ids[i] == id && still_here(kind, rec)) {
			pr_info("System V %s %d (key %#x) is still here as in the image: using "
				"it", kind_name[kind], id, (unsigned)key);
			continue;
		}
		snprintf(fix, sizeof(fix), "remove it with `ipcrm -%c %d` if it is a leftover, or "
			 "restart on a host where it is free", kind_ipcrm[kind], ids[i]);
		if (key != IPC_PRIVATE && keys[i] == key)
			ret = fail_why(ids[i] == id ? "its key is taken on this host (by the "
				       "object itself, changed since the checkpoint)" :
				       "its key is taken on this host", fix, "restoring System V "
				       "%s %d (key %#x): %s %d has it", kind_name[kind], id,
				       (unsigned)key, kind_name[kind], ids[i]);
		else if (IPC_IDX(ids[i]) == IPC_IDX(id))
			ret = fail_why("its id is taken on this host", fix, "restoring System V "
				       "%s %d (key %#x): %s %d uses its slot", kind_name[kind], id,
				       (unsigned)key, kind_name[kind], ids[i]);
	}
	free(ids);
	free(keys);
	return ret;
}

static int sysv_check(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	size_t i, k;

	for (i = 0; i < m->nsysv_shm; i++) {
		const struct sysv_shm_rec *s = &m->sysv_shm[i];
		if (s->id < 0 || s->contents.len != s->size || !s->size ||
		    (s->mode & ~(0777u | SHM_DEST)) || find_shm(m, s->id) != s)
			return corrupt("invalid shared memory segment record", s->id);
	}
	for (i = 0; i < m->nsysv_attach; i++) {
		const struct sysv_attach_rec *a = &m->sysv_attach[i];
		const struct sysv_shm_rec *s = find_shm(m, a->id);
		const struct sysv_attach_piece *p = a->pieces.data;
		size_t k, np = a->pieces.len / sizeof(*p);
		uint64_t at = a->start;

		if (!s || (a->start & (PAGE - 1)) || a->end - a->start != round_page(s->size) ||
		    a->end <= a->start || (a->prot & ~7u) || a->pieces.len % sizeof(*p) || np == 1)
			return corrupt("invalid attachment record", a->id);
		/* Its parts: one after the other, covering it, in pages. */
		for (k = 0; k < np; at = p[k++].end)
			if (p[k].start != at || p[k].end <= p[k].start || p[k].end > a->end ||
			    (p[k].end & (PAGE - 1)) || (p[k].prot & ~a->prot))
				return corrupt("invalid attachment record", a->id);
		if (np && at != a->end)
			return corrupt("invalid attachment record", a->id);
	}
	for (i = 0; i < m->nsysv_sem; i++) {
		const struct sysv_sem_rec *r = &m->sysv_sem[i];
		if (r->id < 0 || !r->values.len || r->values.len % 2 || (r->mode & ~0777u))
			return corrupt("invalid semaphore set record", r->id);
	}
	for (i = 0; i < m->nsysv_msg; i++) {
		const struct sysv_msg_rec *r = &m->sysv_msg[i];
		if (r->id < 0 || (r->mode & ~0777u) || walk_messages(r, NULL, NULL))
			return corrupt("invalid message queue record", r->id);
	}
	if (!m->nsysv_shm && !m->nsysv_sem && !m->nsysv_msg)
		return 0;
	for (k = 0; k < 3; k++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", kind_proc[k]);
		if (access(path, W_OK))
			return fail(errno, "restart needs root and a kernel with "
				    "CONFIG_CHECKPOINT_RESTORE to make System V IPC objects with "
				    "their ids", "checking %s", path);
	}
	for (i = 0; i < m->nsysv_shm; i++)
		if (host_free(SYSV_SHM, m->sysv_shm[i].id, m->sysv_shm[i].key, &m->sysv_shm[i]))
			return -1;
	for (i = 0; i < m->nsysv_sem; i++)
		if (host_free(SYSV_SEM, m->sysv_sem[i].id, m->sysv_sem[i].key, &m->sysv_sem[i]))
			return -1;
	for (i = 0; i < m->nsysv_msg; i++)
		if (host_free(SYSV_MSG, m->sysv_msg[i].id, m->sysv_msg[i].key, &m->sysv_msg[i]))
			return -1;
	return 0;
}

/* The objects restart made (or found still here: adopted, never
 * removed by restart), in the root's slot. */
struct sysv_made {
	struct { enum sysv_kind kind; int id; bool rmid, adopted; } *obj;
	size_t n;
};

static int set_next_id(enum sysv_kind kind, int id)
{
	char path[64], buf[16];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", kind_proc[kind]);
	len = snprintf(buf, sizeof(buf), "%d", id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != len)
		ret = fail(errno, NULL, "writing %s", path);
	if (fd >= 0)
		close(fd);
	return ret;
}

static void remove_obj(enum sysv_kind kind, int id)
{
	if (kind == SYSV_SHM)
		shmctl(id, IPC_RMID, NULL);
	else if (kind == SYSV_SEM)
		semctl(id, 0, IPC_RMID);
	else
		msgctl(id, IPC_RMID, NULL);
}

static bool made(const struct sysv_made *s, enum sysv_kind kind, int id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->obj[i].kind == kind && s->obj[i].id == id)
			return true;
	return false;
}

/* Make one object with its id: get(key, flags) after *_next_id. */
static int make_obj(struct sysv_made *s, enum sysv_kind kind, int id, int key, int got)
{
	int err = errno;
	void *p;

	if (got < 0 || got != id) {
		if (got >= 0)
			remove_obj(kind, got);
		else
			set_next_id(kind, -1);
		if (got < 0)
			return fail(err, NULL, "making System V %s %d (key %#x)", kind_name[kind],
				    id, (unsigned)key);
		return fail_why("the kernel gave it another id (made by someone else "
				"meanwhile?)", "run restart again", "making System V %s %d (key "
				"%#x): it is %d", kind_name[kind], id, (unsigned)key, got);
	}
	p = realloc(s->obj, (s->n + 1) * sizeof(*s->obj));
	if (!p) {
		remove_obj(kind, id);
		return fail(ENOMEM, NULL, "making System V IPC objects");
	}
	s->obj = p;
	s->obj[s->n].kind = kind;
	s->obj[s->n].id = id;
	s->obj[s->n].rmid = false;
	s->obj[s->n].adopted = false;
	s->n++;
	return 0;
}

/* The object of rec is still here as in the image: used as it is. */
static int adopt_obj(struct sysv_made *s, enum sysv_kind kind, int id, int key, const void *rec,
		     bool *adopted)
{
	void *p;

	*adopted = false;
	if (!still_here(kind, rec))
		return 0;
	if (!(p = realloc(s->obj, (s->n + 1) * sizeof(*s->obj))))
		return fail(ENOMEM, NULL, "making System V IPC objects");
	s->obj = p;
	s->obj[s->n].kind = kind;
	s->obj[s->n].id = id;
	s->obj[s->n].rmid = false;
	s->obj[s->n].adopted = true;
	s->n++;
	*adopted = true;
	pr_info("using System V %s %d (key %#x), still here as in the image", kind_name[kind],
		id, (unsigned)key);
	return 0;
}

struct msg_send { int id; char *buf; };

static int send_one(void *arg, int64_t type, const void *data, size_t len)
{
	struct msg_send *ms = arg;
	long *b = realloc(ms->buf, sizeof(long) + len);

	if (!b)
		return fail(ENOMEM, NULL, "refilling message queue %d", ms->id);
	ms->buf = (char *)b;
	b[0] = type;
	memcpy(b + 1, data, len);
	if (msgsnd(ms->id, b, len, IPC_NOWAIT))
		return fail(errno, NULL, "refilling message queue %d", ms->id);
	return 0;
}

static int make_shm(struct sysv_made *s, const struct sysv_shm_rec *r)
{
	struct shmid_ds ds;
	bool adopted;
	void *p;

	if (made(s, SYSV_SHM, r->id))
		return 0;
	if (adopt_obj(s, SYSV_SHM, r->id, r->key, r, &adopted))
		return -1;
	if (adopted)
		return 0;
	if (set_next_id(SYSV_SHM, r->id) ||
	    make_obj(s, SYSV_SHM, r->id, r->key, shmget(r->key, r->size, IPC_CREAT | IPC_EXCL |
							 (r->mode & 0777))))
		return -1;
	s->obj[s->n - 1].rmid = r->mode & SHM_DEST;
	if ((p = shmat(r->id, NULL, 0)) == (void *)-1)
		return fail(errno, NULL, "filling System V shared memory segment %d", r->id);
	memcpy(p, r->contents.data, r->size);
	shmdt(p);
	if (shmctl(r->id, IPC_STAT, &ds))
		return fail(errno, NULL, "making System V shared memory segment %d", r->id);
	ds.shm_perm.uid = r->uid;
	ds.shm_perm.gid = r->gid;
	ds.shm_perm.mode = r->mode & 0777;
	if (shmctl(r->id, IPC_SET, &ds))
		return fail(errno, NULL, "setting the owner of System V shared memory segment %d",
			    r->id);
	pr_info("made segment %d (key %#x, %llu bytes)", r->id, (unsigned)r->key,
		(unsigned long long)r->size);
	return 0;
}

static int make_sem(struct sysv_made *s, const struct sysv_sem_rec *r)
{
	int nsems = r->values.len / 2;
	struct semid_ds ds;
	bool adopted;

	if (made(s, SYSV_SEM, r->id))
		return 0;
	if (adopt_obj(s, SYSV_SEM, r->id, r->key, r, &adopted))
		return -1;
	if (adopted)
		return 0;
	if (set_next_id(SYSV_SEM, r->id) ||
	    make_obj(s, SYSV_SEM, r->id, r->key, semget(r->key, nsems, IPC_CREAT | IPC_EXCL |
							 (r->mode & 0777))))
		return -1;
	if (semctl(r->id, 0, SETALL, (union semun){ .array = r->values.data }) ||
	    semctl(r->id, 0, IPC_STAT, (union semun){ .buf = &ds }))
		return fail(errno, NULL, "setting the values of semaphore set %d", r->id);
	ds.sem_perm.uid = r->uid;
	ds.sem_perm.gid = r->gid;
	ds.sem_perm.mode = r->mode;
	if (semctl(r->id, 0, IPC_SET, (union semun){ .buf = &ds }))
		return fail(errno, NULL, "setting the owner of semaphore set %d", r->id);
	pr_info("made semaphore set %d (key %#x)", r->id, (unsigned)r->key);
	return 0;
}

static int make_msg(struct sysv_made *s, const struct sysv_msg_rec *r)
{
	struct msg_send ms = { r->id, NULL };
	struct msqid_ds ds;
	bool adopted;
	int ret;

	if (made(s, SYSV_MSG, r->id))
		return 0;
	if (adopt_obj(s, SYSV_MSG, r->id, r->key, r, &adopted))
		return -1;
	if (adopted)
		return 0;
	if (set_next_id(SYSV_MSG, r->id) ||
	    make_obj(s, SYSV_MSG, r->id, r->key, msgget(r->key, IPC_CREAT | IPC_EXCL |
							 (r->mode & 0777))))
		return -1;
	if (msgctl(r->id, IPC_STAT, &ds))
		return fail(errno, NULL, "making message queue %d", r->id);
	if (ds.msg_qbytes != r->qbytes) {
		ds.msg_qbytes = r->qbytes;
		if (msgctl(r->id, IPC_SET, &ds))
			return fail(errno, errno == EPERM ? "raising a queue above "
				    "/proc/sys/kernel/msgmnb needs CAP_SYS_RESOURCE" : NULL,
				    "setting the size of message queue %d to %llu bytes", r->id,
				    (unsigned long long)r->qbytes);
	}
	ret = walk_messages(r, send_one, &ms);
	free(ms.buf);
	if (ret)
		return -1;
	ds.msg_perm.uid = r->uid;
	ds.msg_perm.gid = r->gid;
	ds.msg_perm.mode = r->mode;
	if (msgctl(r->id, IPC_SET, &ds))
		return fail(errno, NULL, "setting the owner of message queue %d", r->id);
	pr_info("made message queue %d (key %#x)", r->id, (unsigned)r->key);
	return 0;
}

int sysv_prepare(struct restore_ctx *const *ctxs, size_t n)
{
	struct sysv_made *s;
	size_t i, k;

	for (i = 0; i < n; i++)
		if (ctxs[i]->meta.nsysv_shm || ctxs[i]->meta.nsysv_sem || ctxs[i]->meta.nsysv_msg)
			break;
	if (i == n)
		return 0;
	if (!(s = calloc(1, sizeof(*s))))
		return fail(ENOMEM, NULL, "making System V IPC objects");
	ctxs[0]->slot[SLOT_SYSV] = s;
	for (i = 0; i < n; i++) {
		const struct image_meta *m = &ctxs[i]->meta;

		for (k = 0; k < m->nsysv_shm; k++)
			if (make_shm(s, &m->sysv_shm[k]))
				return -1;
		for (k = 0; k < m->nsysv_sem; k++)
			if (make_sem(s, &m->sysv_sem[k]))
				return -1;
		for (k = 0; k < m->nsysv_msg; k++)
			if (make_msg(s, &m->sysv_msg[k]))
				return -1;
	}
	return 0;
}

int sysv_finish(struct restore_ctx *root)
{
	struct sysv_made *s = root->slot[SLOT_SYSV];
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (s->obj[i].rmid && shmctl(s->obj[i].id, IPC_RMID, NULL))
			return fail(errno, NULL, "removing System V shared memory segment %d "
				    "again", s->obj[i].id);
	return 0;
}

void sysv_keep(struct restore_ctx *root)
{
	struct sysv_made *s = root->slot[SLOT_SYSV];

	if (s)
		s->n = 0;	/* the restored processes' now */
}

static void sysv_undo(struct restore_ctx *root)
{
	struct sysv_made *s = root->slot[SLOT_SYSV];
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (!s->obj[i].adopted)
			remove_obj(s->obj[i].kind, s->obj[i].id);
	if (s)
		s->n = 0;
}

/* After exec: each segment attached again where it was. */
static int sysv_restore(struct restore_ctx *ctx)
{
	const struct image_meta *m = &ctx->meta;
	size_t i;

	for (i = 0; i < m->nsysv_attach; i++) {
		const struct sysv_attach_rec *a = &m->sysv_attach[i];
		const struct sysv_attach_piece *pieces = a->pieces.data;
		int flags = (a->prot & PROT_WRITE ? 0 : SHM_RDONLY) |
			    (a->prot & PROT_EXEC ? SHM_EXEC : 0);
		char what[96];
		size_t k;
		long got;

		snprintf(what, sizeof(what), "attaching System V shared memory segment %d at %#llx",
			 a->id, (unsigned long long)a->start);
		if (remote_syscall_ok(ctx->remote, &got, what, __NR_shmat, a->id, a->start, flags,
				      0, 0, 0))
			return -1;
		if ((uint64_t)got != a->start)
			return fail_why("attached at another address", NULL, "%s", what);
		if (!(a->prot & PROT_READ) &&
		    remote_syscall_ok(ctx->remote, NULL, what, __NR_mprotect, a->start,
				      a->end - a->start, a->prot, 0, 0, 0))
			return -1;
		/* Its parts with protections of their own. */
		for (k = 0; k < a->pieces.len / sizeof(*pieces); k++)
			if (remote_syscall_ok(ctx->remote, NULL, what, __NR_mprotect,
					      pieces[k].start, pieces[k].end - pieces[k].start,
					      pieces[k].prot, 0, 0, 0))
				return -1;
	}
	return 0;
}

static void sysv_restore_release(struct restore_ctx *ctx)
{
	struct sysv_made *s = ctx->slot[SLOT_SYSV];

	if (s) {
		sysv_undo(ctx);	/* not kept: the restore failed */
		free(s->obj);
		free(s);
		ctx->slot[SLOT_SYSV] = NULL;
	}
}

const struct state_ops sysv_state_ops = {
	.name = "System V IPC",
	.dump = sysv_dump,
	.check = sysv_check,
	.restore = sysv_restore,
	.restore_release = sysv_restore_release,
};
