/* Unit tests for the image container (common/image.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "error.h"
#include "image.h"
#include "frame_pool.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

#define BIG_SIZE ((7u << 19) + 123)	/* 3.5 MiB and change */

struct member {
	const char *name;
	size_t size;
	bool random;		/* incompressible */
	uint8_t *data;
};

static struct member members[] = {
	{ "ckpt-image", 100, false, NULL },
	{ "meta/vmas", 5000, false, NULL },
	{ "meta/empty", 0, false, NULL },
	{ "meta/block", 512, true, NULL },
	{ "a-name-of-ninety-nine-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	  1, false, NULL },
	{ "pages/big", BIG_SIZE, true, NULL },
	{ "meta/after", 700, true, NULL },
};
#define NMEMBERS (sizeof(members) / sizeof(members[0]))
#define BIG_INDEX 5

#define expect_error(substr)							\
	do {									\
		ck_assert_msg(strstr(error_text(), (substr)) != NULL,		\
			      "error '%s' lacks '%s'", error_text(), (substr));	\
		error_clear();							\
	} while (0)

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void setup(void)
{
	uint32_t x = 2463534242u;

	ck_assert_uint_eq(strlen(members[4].name), 99);
	for (size_t i = 0; i < NMEMBERS; i++) {
		struct member *m = &members[i];

		m->data = xmalloc(m->size);
		for (size_t k = 0; k < m->size; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			m->data[k] = m->random ? (uint8_t)x : (uint8_t)("abcdefgh"[k % 8] + i);
		}
	}
}

static void teardown(void)
{
	for (size_t i = 0; i < NMEMBERS; i++) {
		free(members[i].data);
		members[i].data = NULL;
	}
}

/* An unlinked temporary file holding len bytes, positioned at 0. */
static int temp_fd(const void *data, size_t len)
{
	char path[] = "/tmp/ckpt-test-image-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static uint8_t *slurp(int fd, size_t *len)
{
	struct stat st;
	uint8_t *p;

	ck_assert_int_eq(fstat(fd, &st), 0);
	p = xmalloc(st.st_size);
	ck_assert_int_eq(pread(fd, p, st.st_size, 0), st.st_size);
	*len = st.st_size;
	return p;
}

/* Write the test image; the big member goes in odd-sized small chunks. */
static int write_image(int fd, int level)
{
	struct image_writer *w = image_writer_new(fd, level);

	if (!w)
		return -1;
	for (size_t i = 0; i < NMEMBERS; i++) {
		const struct member *m = &members[i];

		if (i != BIG_INDEX) {
			if (image_write_member(w, m->name, m->data, m->size) < 0)
				goto err;
			continue;
		}
		if (image_member_begin(w, m->name, m->size) < 0)
			goto err;
		for (size_t off = 0; off < m->size; off += 4093) {
			size_t n = m->size - off < 4093 ? m->size - off : 4093;

			if (image_member_write(w, m->data + off, n) < 0)
				goto err;
		}
		if (image_member_end(w) < 0)
			goto err;
	}
	if (image_writer_finish(w) < 0)
		goto err;
	image_writer_free(w);
	return 0;
err:
	image_writer_free(w);
	return -1;
}

static int write_image_file(void)
{
	char path[] = "/tmp/ckpt-test-image-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_msg(write_image(fd, 3) == 0, "%s", error_text());
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Read an image and compare with members[]; member 3 is skipped unread
 * and member 1 half read, to exercise skipping. */
static void read_and_check(int fd)
{
	struct image_reader *r = image_reader_new(fd);
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;
	uint8_t *buf;

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < NMEMBERS; i++) {
		const struct member *m = &members[i];
		void *data;
		size_t len;

		error_clear();
		ck_assert_msg(image_next_member(r, name, &size) == 1, "member %zu: %s", i,
			      error_text());
		ck_assert_str_eq(name, m->name);
		ck_assert_uint_eq(size, m->size);
		if (i == 3)
			continue;
		if (i == 1) {
			buf = xmalloc(10);
			ck_assert_int_eq(image_read(r, buf, 10), 0);
			ck_assert(!memcmp(buf, m->data, 10));
			free(buf);
			continue;
		}
		if (i == BIG_INDEX) {
			buf = xmalloc(m->size);
			for (size_t off = 0, n = 1; off < m->size; off += n, n = n * 3 + 1) {
				if (n > m->size - off)
					n = m->size - off;
				ck_assert_msg(image_read(r, buf + off, n) == 0, "%s", error_text());
			}
			ck_assert(!memcmp(buf, m->data, m->size));
			free(buf);
			/* Nothing left: even one more byte is refused. */
			ck_assert_int_lt(image_read(r, name, 1), 0);
			expect_error("past the end");
			continue;
		}
		ck_assert_msg(image_read_all(r, &data, &len) == 0, "%s", error_text());
		ck_assert_uint_eq(len, m->size);
		ck_assert_ptr_nonnull(data);
		ck_assert(!memcmp(data, m->data, len));
		ck_assert_int_eq(((char *)data)[len], '\0');
		free(data);
	}
	ck_assert_msg(image_next_member(r, name, &size) == 0, "%s", error_text());
	ck_assert_int_eq(image_next_member(r, name, &size), 0);
	ck_assert_int_eq(image_next_member(r, name, &size), 0);
	ck_assert_int_lt(image_read(r, name, 1), 0);
	error_clear();
	image_reader_free(r);
}

/* Read a whole (possibly damaged) image; 0 if it is fine, -1 on error. */
static int read_everything(int fd)
{
	struct image_reader *r = image_reader_new(fd);
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;
	int ret;

	ck_assert_ptr_nonnull(r);
	while ((ret = image_next_member(r, name, &size)) > 0) {
		void *data;
		size_t len;

		ret = image_read_all(r, &data, &len);
		if (ret < 0)
			break;
		ck_assert_uint_eq(len, size);
		free(data);
	}
	image_reader_free(r);
	if (ret < 0)
		ck_assert(error_is_set());
	return ret;
}

static int read_bytes(const void *data, size_t len)
{
	int fd = temp_fd(data, len);
	int ret = read_everything(fd);

	close(fd);
	return ret;
}

START_TEST(test_roundtrip_file)
{
	int fd = write_image_file();
	time_t now = time(NULL);
	struct stat st;

	read_and_check(fd);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_gt(st.st_size, BIG_SIZE);	/* random data does not compress */
	close(fd);

	/* Levels at both ends of the range work too. */
	for (int level = 1; level <= 19; level += 18) {
		fd = write_image_file();
		read_and_check(fd);
		close(fd);
	}
	ck_assert_int_le(time(NULL) - now, 60);
}
END_TEST

struct pipe_writer {
	int fd, ret;
	char error[2000];
};

static void *writer_thread(void *arg)
{
	struct pipe_writer *pw = arg;

	pw->ret = write_image(pw->fd, 3);
	snprintf(pw->error, sizeof(pw->error), "%s", error_text());
	close(pw->fd);
	return NULL;
}

START_TEST(test_roundtrip_pipe)
{
	struct pipe_writer pw = { 0 };
	pthread_t t;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	pw.fd = fds[1];
	ck_assert_int_eq(pthread_create(&t, NULL, writer_thread, &pw), 0);
	read_and_check(fds[0]);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(pw.ret == 0, "writer: %s", pw.error);
	close(fds[0]);
}
END_TEST

START_TEST(test_bytes_out)
{
	int fd = temp_fd("", 0);
	struct image_writer *w = image_writer_new(fd, 3);
	struct stat st;

	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(image_writer_bytes_out(w), 0);
	ck_assert_int_eq(image_write_member(w, "ckpt-image", "x", 1), 0);
	ck_assert_int_eq(image_writer_finish(w), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	ck_assert_uint_eq(image_writer_bytes_out(w), st.st_size);
	image_writer_free(w);
	close(fd);
}
END_TEST

/* Every tar header field the way ustar wants it. */
static uint8_t *decompress_all(const uint8_t *src, size_t len, size_t *out_len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	size_t cap = 1 << 20, pos = 0;
	uint8_t *out = xmalloc(cap);
	ZSTD_inBuffer in = { src, len, 0 };

	while (in.pos < in.size) {
		ZSTD_outBuffer ob;
		size_t ret;

		if (pos == cap) {
			uint8_t *grown = realloc(out, cap *= 2);

			ck_assert_ptr_nonnull(grown);
			out = grown;
		}
		ob = (ZSTD_outBuffer){ out + pos, cap - pos, 0 };
		ret = ZSTD_decompressStream(d, &ob, &in);
		ck_assert_msg(!ZSTD_isError(ret), "%s", ZSTD_getErrorName(ret));
		pos += ob.pos;
	}
	ZSTD_freeDCtx(d);
	*out_len = pos;
	return out;
}

static unsigned header_sum(const uint8_t *h)
{
	unsigned sum = 0;

	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum;
}

START_TEST(test_tar_format)
{
	time_t before = time(NULL);
	int fd = write_image_file();
	size_t len, tlen;
	uint8_t *img = slurp(fd, &len);
	uint8_t *tar = decompress_all(img, len, &tlen);
	char chk[8];
	unsigned long mtime;

	ck_assert_uint_eq(tlen % 512, 0);
	ck_assert_str_eq((char *)tar, "ckpt-image");
	ck_assert_str_eq((char *)tar + 100, "0000644");
	ck_assert_str_eq((char *)tar + 108, "0000000");
	ck_assert_str_eq((char *)tar + 116, "0000000");
	ck_assert_str_eq((char *)tar + 124, "00000000144");	/* 100 bytes */
	mtime = strtoul((char *)tar + 136, NULL, 8);
	ck_assert_uint_ge(mtime, (unsigned long)before - 5);
	ck_assert_uint_le(mtime, (unsigned long)time(NULL));
	snprintf(chk, sizeof(chk), "%06o", header_sum(tar));
	ck_assert(!memcmp(tar + 148, chk, 7));
	ck_assert_int_eq(tar[155], ' ');
	ck_assert_int_eq(tar[156], '0');
	ck_assert(!memcmp(tar + 257, "ustar\0" "00", 8));
	/* Data padded to a block: the second header is at 512 + 512. */
	ck_assert_str_eq((char *)tar + 1024, "meta/vmas");
	/* The archive ends with two zero blocks after ckpt-end. */
	for (size_t i = tlen - 1024; i < tlen; i++)
		ck_assert_int_eq(tar[i], 0);
	ck_assert_str_eq((char *)tar + tlen - 2048, "ckpt-end");
	ck_assert(!memcmp(tar + tlen - 1536, "members 7\nbytes ", 16));
	free(tar);
	free(img);
	close(fd);
}
END_TEST

/* Frames: each checksummed, each but the last >= IMAGE_FRAME_SIZE, the big
 * member split across several. */
START_TEST(test_frames)
{
	int fd = write_image_file();
	size_t len, off = 0, nframes = 0;
	uint8_t *img = slurp(fd, &len);

	while (off < len) {
		size_t flen = ZSTD_findFrameCompressedSize(img + off, len - off), dlen;
		uint8_t *d;

		ck_assert(!ZSTD_isError(flen));
		/* Frame_Header_Descriptor bit 2: Content_Checksum_flag. */
		ck_assert_uint_eq(img[off + 4] & 4, 4);
		d = decompress_all(img + off, flen, &dlen);
		free(d);
		off += flen;
		nframes++;
		if (off < len) {
			ck_assert_uint_ge(dlen, IMAGE_FRAME_SIZE);
			ck_assert_uint_le(dlen, 2 * IMAGE_FRAME_SIZE);
		}
	}
	ck_assert_uint_ge(nframes, 4);
	free(img);
	close(fd);
}
END_TEST

START_TEST(test_tar_lists)
{
	char path[] = "/tmp/ckpt-test-image-XXXXXX";
	char cmd[300], line[200], vmas[100];
	int fd = mkstemp(path);
	size_t i = 0;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(write_image(fd, 3) == 0, "%s", error_text());
	close(fd);
	snprintf(cmd, sizeof(cmd), "tar --zstd -tf %s 2>&1", path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (i < NMEMBERS)
			ck_assert_str_eq(line, members[i].name);
		else
			ck_assert_str_eq(line, "ckpt-end");
		i++;
	}
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_uint_eq(i, NMEMBERS + 1);

	/* tar extracts the same bytes. */
	snprintf(vmas, sizeof(vmas), "%s.vmas", path);
	fd = open(vmas, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, members[1].data, members[1].size), (ssize_t)members[1].size);
	close(fd);
	snprintf(cmd, sizeof(cmd), "tar --zstd -xOf %s meta/vmas | cmp -s - %s", path, vmas);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "tar --zstd -xOf %s ckpt-end", path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_str_eq(line, "members 7\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	snprintf(cmd, sizeof(cmd), "bytes %zu\n", 100 + 5000 + 512 + 1 + (size_t)BIG_SIZE + 700);
	ck_assert_str_eq(line, cmd);
	ck_assert_int_eq(pclose(f), 0);
	unlink(vmas);
	unlink(path);
}
END_TEST

START_TEST(test_truncated)
{
	int fd = write_image_file();
	size_t len;
	uint8_t *img = slurp(fd, &len);
	size_t cuts[] = { 4, 5, 6, 10, 13, 20, 50, 100, 300, 511, 512, 1000, 4000,
			  len / 2, len - 1000, len - 100, len - 13, len - 5, len - 4,
			  len - 3, len - 1 };

	close(fd);
	for (size_t i = 1; i < 4; i++) {
		ck_assert_int_lt(read_bytes(img, i), 0);
		expect_error("not a ckpt image");
	}
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		ck_assert_msg(read_bytes(img, cuts[i]) < 0, "cut at %zu read fine", cuts[i]);
		ck_assert_msg(strstr(error_text(), "truncated") ||
			      strstr(error_text(), "corrupted"), "cut at %zu: %s", cuts[i],
			      error_text());
		error_clear();
	}
	for (size_t cut = 7; cut < len; cut += len / 61) {
		ck_assert_msg(read_bytes(img, cut) < 0, "cut at %zu read fine", cut);
		ck_assert_msg(strstr(error_text(), "truncated"), "cut at %zu: %s", cut,
			      error_text());
		error_clear();
	}
	ck_assert_int_eq(read_bytes(img, len), 0);
	free(img);
}
END_TEST

START_TEST(test_flipped_byte)
{
	int fd = write_image_file();
	size_t len;
	uint8_t *img = slurp(fd, &len);
	size_t spots[] = { 5, 8, 12, 20, 40, 100, len / 5, len / 3, len / 2, 2 * len / 3,
			   len - 600, len - 30, len - 8, len - 3 };

	close(fd);
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		img[spots[i]] ^= 0x55;
		ck_assert_msg(read_bytes(img, len) < 0, "flip at %zu read fine", spots[i]);
		error_clear();
		img[spots[i]] ^= 0x55;
	}
	img[len / 2] ^= 1;
	ck_assert_int_lt(read_bytes(img, len), 0);
	expect_error("corrupted");
	img[len / 2] ^= 1;
	ck_assert_int_eq(read_bytes(img, len), 0);
	free(img);
}
END_TEST

START_TEST(test_not_an_image)
{
	static const char text[] = "this is just some text, certainly not zstd\n";
	static const uint8_t zeros[4096];
	char zbuf[256], path[] = "/tmp/ckpt-test-image-XXXXXX", cmd[200];
	size_t zlen;
	int fd;

	ck_assert_int_lt(read_bytes(text, sizeof(text)), 0);
	expect_error("not a ckpt image");
	ck_assert_int_lt(read_bytes("", 0), 0);
	expect_error("not a ckpt image");

	/* `echo hi | zstd`, made by the library and by the tool. */
	zlen = ZSTD_compress(zbuf, sizeof(zbuf), "hi\n", 3, 3);
	ck_assert(!ZSTD_isError(zlen));
	ck_assert_int_lt(read_bytes(zbuf, zlen), 0);
	expect_error("not a ckpt image");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	snprintf(cmd, sizeof(cmd), "echo hi | zstd -q -c > %s", path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_lt(read_everything(fd), 0);
	expect_error("not a ckpt image");
	close(fd);

	/* A real tar of something else, in zstd. */
	snprintf(cmd, sizeof(cmd), "echo data > %s.x && tar --zstd --format=ustar -cf %s "
		 "-C /tmp %s.x", path, path, path + strlen("/tmp/"));
	ck_assert_int_eq(system(cmd), 0);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_lt(read_everything(fd), 0);
	expect_error("not a ckpt image");
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s.x", path);
	unlink(cmd);
	unlink(path);

	/* zstd of zero blocks: an empty tar archive. */
	zlen = ZSTD_compress(zbuf, sizeof(zbuf), zeros, sizeof(zeros), 3);
	ck_assert(!ZSTD_isError(zlen));
	ck_assert_int_lt(read_bytes(zbuf, zlen), 0);
	expect_error("not a ckpt image");
}
END_TEST

/* The writer freed without finish: no ckpt-end. */
START_TEST(test_missing_end)
{
	struct image_writer *w;
	int fd = temp_fd("", 0);

	w = image_writer_new(fd, 1);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(image_write_member(w, members[0].name, members[0].data,
					    members[0].size), 0);
	ck_assert_int_eq(image_write_member(w, "pages/big", members[BIG_INDEX].data,
					    members[BIG_INDEX].size), 0);
	ck_assert_int_eq(image_writer_flush(w), 0);
	image_writer_free(w);
	ck_assert_int_gt(lseek(fd, 0, SEEK_END), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_lt(read_everything(fd), 0);
	expect_error("truncated");
	close(fd);
}
END_TEST

/* Edit the tar inside a good image, recompress, and read it. */
static size_t find_member(const uint8_t *tar, size_t tlen, const char *name)
{
	size_t off = 0;

	while (off + 512 <= tlen && tar[off]) {
		size_t size = strtoul((const char *)tar + off + 124, NULL, 8);

		if (!strcmp((const char *)tar + off, name))
			return off;
		off += 512 + (size + 511) / 512 * 512;
	}
	ck_abort_msg("no member %s", name);
	return 0;
}

/* Compressed again as frames of 1 MiB: a reader takes frames of up to
 * about 2 MiB, wherever they cut the tar stream. */
static int read_recompressed(const uint8_t *tar, size_t tlen)
{
	size_t cap = ZSTD_compressBound(tlen) + 64 * ZSTD_compressBound(0), zlen = 0, off;
	uint8_t *z = xmalloc(cap);
	int ret;

	for (off = 0; off < tlen; off += 1 << 20) {
		size_t n = tlen - off < (1 << 20) ? tlen - off : (1 << 20);
		size_t got = ZSTD_compress(z + zlen, cap - zlen, tar + off, n, 1);

		ck_assert(!ZSTD_isError(got));
		zlen += got;
	}
	ret = read_bytes(z, zlen);
	free(z);
	return ret;
}

/* Frames of raw blocks written by hand for incompressible data: zstd
 * reads them, checks their XXH64, and a changed byte is caught. */
START_TEST(test_raw_frame)
{
	size_t lens[] = { 1, 31, 32, 100, 131072, 131073, (1 << 20) + 5 };
	uint8_t *in = xmalloc((1 << 20) + 5), *z, *back;
	uint32_t x = 88172645u;

	ck_assert_uint_eq(xxh64("", 0), 0xEF46DB3751D8E999ull);
	for (size_t i = 0; i < (1 << 20) + 5; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		in[i] = (uint8_t)x;
	}
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k], cap = ZSTD_compressBound(len), zlen, n;

		z = xmalloc(cap);
		back = xmalloc(len);
		zlen = zstd_raw_frame(z, cap, in, len);
		ck_assert_uint_gt(zlen, len);
		ck_assert_uint_eq(ZSTD_getFrameContentSize(z, zlen), len);
		ck_assert_uint_eq(ZSTD_findFrameCompressedSize(z, zlen), zlen);
		n = ZSTD_decompress(back, len, z, zlen);
		ck_assert_msg(!ZSTD_isError(n), "len %zu: %s", len, ZSTD_getErrorName(n));
		ck_assert_uint_eq(n, len);
		ck_assert(!memcmp(back, in, len));
		z[zlen / 2] ^= 1;	/* in the data (or a block header) */
		ck_assert(ZSTD_isError(ZSTD_decompress(back, len, z, zlen)));
		ck_assert_uint_eq(zstd_raw_frame(z, len, in, len), 0);	/* no room */
		free(z);
		free(back);
	}
	free(in);
}
END_TEST

/* One frame of the whole tar (> 2 MiB): refused, not allocated. */
START_TEST(test_oversized_frame)
{
	int fd = write_image_file();
	size_t len, tlen, cap, zlen;
	uint8_t *img = slurp(fd, &len);
	uint8_t *tar = decompress_all(img, len, &tlen);
	uint8_t *z;

	ck_assert_uint_gt(tlen, 3 << 20);
	cap = ZSTD_compressBound(tlen);
	z = xmalloc(cap);
	zlen = ZSTD_compress(z, cap, tar, tlen, 1);
	ck_assert(!ZSTD_isError(zlen));
	ck_assert_int_lt(read_bytes(z, zlen), 0);
	expect_error("corrupted (a zstd frame");
	free(z);
	free(tar);
	free(img);
	close(fd);
}
END_TEST

static void fix_header_sum(uint8_t *h)
{
	snprintf((char *)h + 148, 8, "%06o", header_sum(h));
	h[155] = ' ';
}

START_TEST(test_edited_tar)
{
	int fd = write_image_file();
	size_t len, tlen, end;
	uint8_t *img = slurp(fd, &len);
	uint8_t *tar = decompress_all(img, len, &tlen);
	size_t vmas = find_member(tar, tlen, "meta/vmas");

	close(fd);
	ck_assert_int_eq(read_recompressed(tar, tlen), 0);

	/* ckpt-end that does not match what came before. */
	end = find_member(tar, tlen, "ckpt-end");
	ck_assert_int_eq(tar[end + 512 + 8], '7');
	tar[end + 512 + 8] = '6';
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("corrupted");
	tar[end + 512 + 8] = '7';

	/* No end-of-archive block after ckpt-end. */
	ck_assert_int_lt(read_recompressed(tar, end + 1024), 0);
	expect_error("truncated");
	/* Archive ending without ckpt-end, at a member boundary. */
	memset(tar + end, 0, 1024);
	ck_assert_int_lt(read_recompressed(tar, end + 1024), 0);
	expect_error("truncated");
	ck_assert_int_lt(read_recompressed(tar, end), 0);
	expect_error("truncated");
	free(tar);
	tar = decompress_all(img, len, &tlen);

	/* A header checksum mismatch. */
	tar[vmas] = 'M';
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("checksum");
	/* A valid checksum over a bad size, a bad type, no magic. */
	tar[vmas] = 'm';
	memcpy(tar + vmas + 124, "0000001x144", 11);
	fix_header_sum(tar + vmas);
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("size");
	memcpy(tar + vmas + 124, "00000011610", 11);	/* 5000 */
	tar[vmas + 156] = '5';
	fix_header_sum(tar + vmas);
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("regular file");
	tar[vmas + 156] = '0';
	tar[vmas + 257] = 'X';
	fix_header_sum(tar + vmas);
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("magic");
	tar[vmas + 257] = 'u';
	/* A 100-byte name without a NUL. */
	memset(tar + vmas, 'n', 100);
	fix_header_sum(tar + vmas);
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("name");
	memset(tar + vmas, 0, 100);
	memcpy(tar + vmas, "meta/vmas", 9);
	/* A member size past the data: reads run into the end. */
	memcpy(tar + vmas + 124, "77777777777", 11);
	fix_header_sum(tar + vmas);
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("truncated");
	memcpy(tar + vmas + 124, "00000011610", 11);
	fix_header_sum(tar + vmas);
	ck_assert_int_eq(read_recompressed(tar, tlen), 0);

	/* First member not ckpt-image. */
	memcpy(tar, "ckpt-imagf", 10);
	fix_header_sum(tar);
	ck_assert_int_lt(read_recompressed(tar, tlen), 0);
	expect_error("not a ckpt image");
	free(tar);
	free(img);
}
END_TEST

START_TEST(test_writer_misuse)
{
	char longname[IMAGE_NAME_MAX + 1];
	struct image_writer *w;
	int fd = temp_fd("", 0);

	ck_assert_ptr_null(image_writer_new(fd, 0));
	expect_error("compression level");
	w = image_writer_new(fd, 3);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_lt(image_write_member(w, "meta/x", "x", 1), 0);
	expect_error("first member");
	ck_assert_int_eq(image_write_member(w, "ckpt-image", "x", 1), 0);
	memset(longname, 'a', IMAGE_NAME_MAX);
	longname[IMAGE_NAME_MAX] = '\0';
	ck_assert_int_lt(image_write_member(w, longname, "x", 1), 0);
	expect_error("name");
	ck_assert_int_lt(image_write_member(w, "", "x", 1), 0);
	expect_error("name");
	ck_assert_int_lt(image_write_member(w, "ckpt-end", "x", 1), 0);
	expect_error("reserved");
	ck_assert_int_lt(image_member_begin(w, "huge", IMAGE_MEMBER_MAX), 0);
	expect_error("too large");
	ck_assert_int_lt(image_member_write(w, "x", 1), 0);
	expect_error("no member");
	ck_assert_int_eq(image_member_begin(w, "meta/y", 4), 0);
	ck_assert_int_lt(image_member_begin(w, "meta/z", 4), 0);
	expect_error("not ended");
	ck_assert_int_lt(image_member_write(w, "12345", 5), 0);
	expect_error("more data");
	ck_assert_int_eq(image_member_write(w, "12", 2), 0);
	ck_assert_int_lt(image_member_end(w), 0);
	expect_error("2 of 4");
	ck_assert_int_lt(image_writer_finish(w), 0);
	expect_error("not ended");
	ck_assert_int_eq(image_member_write(w, "34", 2), 0);
	ck_assert_int_eq(image_member_end(w), 0);
	ck_assert_int_eq(image_writer_finish(w), 0);
	ck_assert_int_lt(image_writer_finish(w), 0);
	expect_error("already finished");
	ck_assert_int_lt(image_write_member(w, "meta/late", "x", 1), 0);
	expect_error("already finished");
	image_writer_free(w);
	image_writer_free(NULL);

	/* What was written is still a good image. */
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(read_everything(fd), 0);
	close(fd);
}
END_TEST

START_TEST(test_write_errors)
{
	struct image_writer *w;
	int fd = open("/dev/full", O_WRONLY);
	int fds[2];

	ck_assert_int_ge(fd, 0);
	w = image_writer_new(fd, 3);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(image_write_member(w, "ckpt-image", "x", 1), 0);
	ck_assert_int_lt(image_writer_finish(w), 0);
	expect_error("writing image: No space left on device");
	ck_assert_int_lt(image_write_member(w, "meta/x", "x", 1), 0);
	expect_error("earlier write failed");
	image_writer_free(w);
	close(fd);

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	w = image_writer_new(fds[1], 3);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(image_write_member(w, "ckpt-image", "x", 1), 0);
	ck_assert_int_lt(image_writer_finish(w), 0);
	expect_error("writing image: Broken pipe");
	image_writer_free(w);
	close(fds[1]);
}
END_TEST

START_TEST(test_reader_misuse)
{
	int fd = write_image_file();
	struct image_reader *r = image_reader_new(fd);
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;
	char buf[200];
	void *data;
	size_t len;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_lt(image_read(r, buf, 1), 0);
	expect_error("no current member");
	ck_assert_int_lt(image_read_all(r, &data, &len), 0);
	expect_error("no current member");
	ck_assert_int_eq(image_next_member(r, name, &size), 1);
	ck_assert_int_lt(image_read(r, buf, 101), 0);
	expect_error("past the end");
	/* A refused read leaves the member readable. */
	ck_assert_int_eq(image_read(r, buf, 100), 0);
	ck_assert(!memcmp(buf, members[0].data, 100));
	ck_assert_int_eq(image_read_all(r, &data, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(data);
	image_reader_free(r);
	image_reader_free(NULL);
	close(fd);
}
END_TEST

/* Random damage anywhere in a small image: an error or success, never a
 * crash or a leak (run under valgrind too). */
START_TEST(test_fuzz)
{
	struct image_writer *w;
	int fd = temp_fd("", 0);
	uint32_t x = 88172645u;
	size_t len;
	uint8_t *img, *copy;

	w = image_writer_new(fd, 3);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(image_write_member(w, "ckpt-image", "header", 6), 0);
	ck_assert_int_eq(image_write_member(w, "meta/a", members[1].data, 3000), 0);
	ck_assert_int_eq(image_writer_finish(w), 0);
	image_writer_free(w);
	img = slurp(fd, &len);
	close(fd);
	copy = xmalloc(len);
	for (int iter = 0; iter < 300; iter++) {
		size_t n = len;

		memcpy(copy, img, len);
		for (int k = 0; k < 3; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			copy[x % len] ^= (uint8_t)(x >> 8) | 1;
		}
		if (iter % 3 == 0)
			n = x % len;
		error_clear();
		if (read_bytes(copy, n) < 0)
			ck_assert(error_text()[0] != '\0');
	}
	error_clear();
	free(copy);
	free(img);
}
END_TEST

static Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip_file);
	tcase_add_test(tc, test_roundtrip_pipe);
	tcase_add_test(tc, test_bytes_out);
	tcase_add_test(tc, test_tar_format);
	tcase_add_test(tc, test_frames);
	tcase_add_test(tc, test_tar_lists);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_oversized_frame);
	tcase_add_test(tc, test_raw_frame);
	tcase_add_test(tc, test_flipped_byte);
	tcase_add_test(tc, test_not_an_image);
	tcase_add_test(tc, test_missing_end);
	tcase_add_test(tc, test_edited_tar);
	tcase_add_test(tc, test_writer_misuse);
	tcase_add_test(tc, test_write_errors);
	tcase_add_test(tc, test_reader_misuse);
	tcase_add_test(tc, test_fuzz);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(image_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
