/* Identity of the files an image depends on (the executable, mapped
 * libraries): size, mtime and ELF build-id, recorded at dump and checked
 * before restart starts anything. */
#define LOG_PREFIX "files: "
#include "state.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read the GNU build-id note of an ELF file; 0 bytes if none or not ELF. */
static int read_build_id(const char *path, uint8_t *id, size_t size)
{
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	int fd, len = 0;
	struct stat st;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	/* The path comes from an image: it may name a FIFO (open would wait for
	 * a writer forever) or a device.  Never wait, read regular files only. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out;
	while ((scn = elf_nextscn(elf, scn)) && !len) {
		GElf_Shdr shdr;
		Elf_Data *data;
		GElf_Nhdr nhdr;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
			if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) &&
			    nhdr.n_descsz <= size) {
				memcpy(id, (char *)data->d_buf + desc_off, nhdr.n_descsz);
				len = nhdr.n_descsz;
				break;
			}
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return len;
}

/* Identity of the file at path, read through src (the same file, or the
 * process's own view of it: /proc/PID/exe, map_files). */
int file_id_record_from(struct image_meta *m, const char *path, const char *src, uint32_t replaced,
			int *index)
{
	struct file_id_rec *f;
	struct stat st;
	uint8_t id[64];
	int len;
	size_t i;

	for (i = 0; i < m->nfiles; i++) {
		if (!strcmp(m->files[i].path, path) && m->files[i].replaced == replaced) {
			*index = i;
			return 0;
		}
	}
	if (stat(src, &st))
		return fail(errno, NULL, "recording the identity of %s", path);
	f = meta_push(&m->files, &m->nfiles, sizeof(*f));
	if (!f)
		return -1;
	f->path = strdup(path);
	f->size = st.st_size;
	f->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mode = st.st_mode;
	f->replaced = replaced;
	len = read_build_id(src, id, sizeof(id));
	if (!f->path || (len && blob_set(&f->build_id, id, len)))
		return fail(ENOMEM, NULL, "recording the identity of %s", path);
	*index = m->nfiles - 1;
	return 0;
}

int file_id_record(struct image_meta *m, const char *path, int *index)
{
	return file_id_record_from(m, path, path, 0, index);
}

int file_id_same(const struct file_id_rec *f)
{
	struct stat st;
	uint8_t id[64], sum[SHA256_LEN];
	uint64_t size;
	int len, fd, ret;

	if (stat(f->path, &st))
		return errno == ENOENT || errno == ENOTDIR ? 1 :
		       fail(errno, NULL, "checking %s", f->path);
	if ((uint64_t)st.st_size != f->size || !S_ISREG(st.st_mode))
		return 1;
	if (f->build_id.len) {
		len = read_build_id(f->path, id, sizeof(id));
		return (uint32_t)len == f->build_id.len && !memcmp(id, f->build_id.data, len) ? 0 : 1;
	}
	if (f->sha256.len != SHA256_LEN)
		return (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec ==
		       f->mtime_ns ? 0 : 1;
	fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	ret = sha256_fd(fd, sum, &size);
	close(fd);
	if (ret)
		return -1;
	return size == f->size && !memcmp(sum, f->sha256.data, SHA256_LEN) ? 0 : 1;
}

int file_id_verify(const struct file_id_rec *f, const char *role)
{
	struct stat st;
	uint8_t id[64];
	int len;
	uint64_t mtime;
	bool other_build = false;

	if (stat(f->path, &st)) {
		if (errno == ENOENT)
			return fail_why("file is missing", "put the same file back at that path, "
					"restart on a host that has it, or checkpoint with ckpt --bundle",
					"checking %s %s", role, f->path);
		return fail(errno, NULL, "checking %s %s", role, f->path);
	}
	if (!S_ISREG(st.st_mode))
		return fail_why("not a regular file", "an executable or a mapped file is always "
				"one; the image is damaged or was made to harm this host",
				"checking %s %s", role, f->path);
	mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	len = read_build_id(f->path, id, sizeof(id));
	if (f->build_id.len) {
		if ((uint32_t)len != f->build_id.len || memcmp(id, f->build_id.data, len)) {
			other_build = true;
			goto changed;
		}
		if ((uint64_t)st.st_size != f->size)
			goto changed;
		return 0;	/* same build: a copy with another mtime is fine */
	}
	if ((uint64_t)st.st_size == f->size && mtime == f->mtime_ns)
		return 0;
changed: {
		char why[256];
		snprintf(why, sizeof(why), "file changed since the checkpoint (size %llu -> %llu, "
			 "mtime %llu -> %llu%s)", (unsigned long long)f->size,
			 (unsigned long long)st.st_size, (unsigned long long)(f->mtime_ns / 1000000000ull),
			 (unsigned long long)(mtime / 1000000000ull),
			 other_build ? ", different build-id" : "");
		return fail_why(why, "the process's memory refers to the old file; put the "
				"original file back, or checkpoint with ckpt --bundle",
				"checking %s %s", role, f->path);
	}
}
