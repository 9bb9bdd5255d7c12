/* The image container (see image.h): ustar members in a stream of zstd
 * frames.  The writer never seeks, so an image can go to a pipe; the
 * reader never seeks either and treats everything it reads as untrusted. */
#define LOG_PREFIX "image: "
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define BLOCK 512
#define IO_BUF_SIZE (256 * 1024)
#define FIRST_MEMBER "ckpt-image"
#define END_MEMBER "ckpt-end"
#define END_BODY_MAX 128	/* "members N\nbytes B\n" with 20-digit numbers fits */

#define TRUNC_HINT "the image file is incomplete; re-create it with ckpt"
#define CORRUPT_HINT "the image file is damaged; re-create it with ckpt"
#define NOT_IMAGE_HINT "give an image file written by ckpt"
#define BUG_HINT "this is a bug in ckpt; please report it"

struct tar_header {
	char name[100];
	char mode[8];
	char uid[8];
	char gid[8];
	char size[12];
	char mtime[12];
	char chksum[8];
	char typeflag;
	char linkname[100];
	char magic[6];
	char version[2];
	char uname[32];
	char gname[32];
	char devmajor[8];
	char devminor[8];
	char prefix[155];
	char pad[12];
};
_Static_assert(sizeof(struct tar_header) == BLOCK, "ustar header is one block");

static const uint8_t zero_block[BLOCK];

static size_t tar_padding(uint64_t size)
{
	return (BLOCK - size % BLOCK) % BLOCK;
}

/* Sum of the header bytes with the checksum field read as spaces. */
static unsigned tar_checksum(const struct tar_header *h)
{
	const unsigned char *p = (const unsigned char *)h;
	unsigned sum = 0;

	for (size_t i = 0; i < BLOCK; i++)
		sum += p[i];
	for (size_t i = 0; i < sizeof(h->chksum); i++)
		sum += ' ' - (unsigned char)h->chksum[i];
	return sum;
}

/* ======================================================================
 * Writer
 * ====================================================================== */

struct image_writer {
	int fd;
	ZSTD_CCtx *cctx;
	uint8_t *out;		/* compressed bytes not yet written to fd */
	size_t out_len;
	uint64_t bytes_out;
	uint64_t frame_in;	/* uncompressed bytes in the open frame */
	uint64_t members;	/* finished members and their data bytes, */
	uint64_t data_bytes;	/* for ckpt-end */
	uint64_t mtime;
	char name[IMAGE_NAME_MAX + 1];	/* member being written */
	uint64_t size, left;
	bool in_member;
	bool broken;		/* an I/O or zstd error: the stream is lost */
	bool finished;
};

static const char *write_hint(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return "free some disk space or write the image elsewhere";
	case EPIPE:
		return "the program reading the image exited early";
	default:
		return "check the output file or pipe";
	}
}

static int write_all(struct image_writer *w, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			w->broken = true;
			return fail(err, write_hint(err), "writing image");
		}
		p += n;
		len -= n;
		w->bytes_out += n;
	}
	return 0;
}

static int flush_out(struct image_writer *w)
{
	if (write_all(w, w->out, w->out_len) < 0)
		return -1;
	w->out_len = 0;
	return 0;
}

/* Push len bytes through the compressor.  ZSTD_e_continue returns once
 * the input is consumed; ZSTD_e_end once the frame is fully out. */
static int zstd_feed(struct image_writer *w, const void *data, size_t len,
		     ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { data, len, 0 };
	size_t ret;

	do {
		ZSTD_outBuffer out;

		if (w->out_len == IO_BUF_SIZE && flush_out(w) < 0)
			return -1;
		out = (ZSTD_outBuffer){ w->out + w->out_len, IO_BUF_SIZE - w->out_len, 0 };
		ret = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(ret)) {
			char why[160];

			w->broken = true;
			snprintf(why, sizeof(why), "zstd: %s", ZSTD_getErrorName(ret));
			return fail_why(why, BUG_HINT, "compressing image");
		}
		w->out_len += out.pos;
	} while (mode == ZSTD_e_continue ? in.pos < in.size : ret != 0);
	return 0;
}

static int put(struct image_writer *w, const void *data, size_t len)
{
	if (!len)
		return 0;
	if (zstd_feed(w, data, len, ZSTD_e_continue) < 0)
		return -1;
	w->frame_in += len;
	return 0;
}

static int end_frame(struct image_writer *w)
{
	if (zstd_feed(w, NULL, 0, ZSTD_e_end) < 0)
		return -1;
	w->frame_in = 0;
	return 0;
}

/* Member data.  Members smaller than a frame are kept whole in one frame;
 * longer ones are cut exactly where the frame reaches IMAGE_FRAME_SIZE,
 * so frames stay near that size for parallel (de)compression. */
static int put_data(struct image_writer *w, const uint8_t *p, size_t len)
{
	while (len) {
		size_t n = len;

		if (w->size >= IMAGE_FRAME_SIZE) {
			if (w->frame_in >= IMAGE_FRAME_SIZE && end_frame(w) < 0)
				return -1;
			if (n > IMAGE_FRAME_SIZE - w->frame_in)
				n = IMAGE_FRAME_SIZE - w->frame_in;
		}
		if (put(w, p, n) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int writer_usable(struct image_writer *w)
{
	if (w->broken)
		return fail_why("an earlier write failed", NULL, "writing image");
	if (w->finished)
		return fail_why("the image is already finished", BUG_HINT, "writing image");
	return 0;
}

static void octal(char *field, size_t width, uint64_t v)
{
	/* width - 1 zero-padded digits and a NUL, as ustar wants. */
	snprintf(field, width, "%0*" PRIo64, (int)width - 1, v);
}

static void make_header(struct tar_header *h, const char *name, uint64_t size,
			uint64_t mtime)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->name, name, strlen(name));
	octal(h->mode, sizeof(h->mode), 0644);
	octal(h->uid, sizeof(h->uid), 0);
	octal(h->gid, sizeof(h->gid), 0);
	octal(h->size, sizeof(h->size), size);
	octal(h->mtime, sizeof(h->mtime), mtime);
	h->typeflag = '0';
	memcpy(h->magic, "ustar", 6);
	memcpy(h->version, "00", 2);
	octal(h->devmajor, sizeof(h->devmajor), 0);
	octal(h->devminor, sizeof(h->devminor), 0);
	/* Checksum: six digits, NUL, space (what tar itself writes). */
	snprintf(h->chksum, sizeof(h->chksum), "%06o", tar_checksum(h));
	h->chksum[7] = ' ';
}

static int begin_member(struct image_writer *w, const char *name, uint64_t size)
{
	struct tar_header h;
	size_t nlen = strlen(name);

	if (writer_usable(w) < 0)
		return -1;
	if (w->in_member)
		return fail_why("the previous member was not ended", BUG_HINT,
				"writing image member %s", name);
	/* The reader wants a NUL inside the 100-byte name field. */
	if (nlen == 0 || nlen >= IMAGE_NAME_MAX)
		return fail_why("name must be 1 to 99 bytes", BUG_HINT,
				"writing image member '%.100s'", name);
	if (size >= IMAGE_MEMBER_MAX)
		return fail_why("too large for a ustar member (8 GiB)", BUG_HINT,
				"writing image member %s of %" PRIu64 " bytes", name, size);
	make_header(&h, name, size, w->mtime);
	if (put(w, &h, sizeof(h)) < 0)
		return -1;
	memcpy(w->name, name, nlen + 1);
	w->size = w->left = size;
	w->in_member = true;
	return 0;
}

struct image_writer *image_writer_new(int fd, int level)
{
	struct image_writer *w;
	size_t ret;

	if (level < 1 || level > 19) {
		fail_why("must be 1 to 19", "pick another compression level",
			 "compression level %d", level);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	w->fd = fd;
	w->mtime = time(NULL);
	w->out = malloc(IO_BUF_SIZE);
	w->cctx = ZSTD_createCCtx();
	if (!w->out || !w->cctx)
		goto nomem;
	ret = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(ret))
		ret = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(ret)) {
		char why[160];

		snprintf(why, sizeof(why), "zstd: %s", ZSTD_getErrorName(ret));
		fail_why(why, BUG_HINT, "setting up image compression");
		goto err;
	}
	return w;
nomem:
	fail(ENOMEM, NULL, "setting up image compression");
err:
	image_writer_free(w);
	return NULL;
}

int image_member_begin(struct image_writer *w, const char *name, uint64_t size)
{
	if (!strcmp(name, END_MEMBER))
		return fail_why("the name is reserved", BUG_HINT, "writing image member %s", name);
	if (w->members == 0 && !w->in_member && strcmp(name, FIRST_MEMBER))
		return fail_why("the first member must be " FIRST_MEMBER, BUG_HINT,
				"writing image member %s", name);
	return begin_member(w, name, size);
}

int image_member_write(struct image_writer *w, const void *data, size_t len)
{
	if (writer_usable(w) < 0)
		return -1;
	if (!w->in_member)
		return fail_why("no member was begun", BUG_HINT, "writing image");
	if (len > w->left)
		return fail_why("more data than the size announced", BUG_HINT,
				"writing %zu bytes to image member %s with %" PRIu64 " of %"
				PRIu64 " left", len, w->name, w->left, w->size);
	if (put_data(w, data, len) < 0)
		return -1;
	w->left -= len;
	return 0;
}

int image_member_end(struct image_writer *w)
{
	if (writer_usable(w) < 0)
		return -1;
	if (!w->in_member)
		return fail_why("no member was begun", BUG_HINT, "writing image");
	if (w->left)
		return fail_why("less data than the size announced", BUG_HINT,
				"ending image member %s after %" PRIu64 " of %" PRIu64 " bytes",
				w->name, w->size - w->left, w->size);
	if (put(w, zero_block, tar_padding(w->size)) < 0)
		return -1;
	w->in_member = false;
	w->members++;
	w->data_bytes += w->size;
	/* A member boundary: close the frame if it is big enough. */
	if (w->frame_in >= IMAGE_FRAME_SIZE && end_frame(w) < 0)
		return -1;
	return 0;
}

int image_write_member(struct image_writer *w, const char *name, const void *data, size_t len)
{
	if (image_member_begin(w, name, len) < 0 || image_member_write(w, data, len) < 0)
		return -1;
	return image_member_end(w);
}

int image_writer_finish(struct image_writer *w)
{
	char body[END_BODY_MAX];
	int n;

	if (writer_usable(w) < 0)
		return -1;
	if (w->in_member)
		return fail_why("member was not ended", BUG_HINT,
				"finishing image with member %s open", w->name);
	n = snprintf(body, sizeof(body), "members %" PRIu64 "\nbytes %" PRIu64 "\n",
		     w->members, w->data_bytes);
	if (begin_member(w, END_MEMBER, n) < 0 || image_member_write(w, body, n) < 0 ||
	    image_member_end(w) < 0)
		return -1;
	/* ckpt-end is not counted: it is the trailer, not content. */
	if (put(w, zero_block, BLOCK) < 0 || put(w, zero_block, BLOCK) < 0)
		return -1;
	if (end_frame(w) < 0 || flush_out(w) < 0)
		return -1;
	w->finished = true;
	return 0;
}

uint64_t image_writer_bytes_out(const struct image_writer *w)
{
	return w->bytes_out;
}

void image_writer_free(struct image_writer *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w);
}

/* ======================================================================
 * Reader
 * ====================================================================== */

enum reader_state { RD_START, RD_MEMBERS, RD_DONE, RD_FAILED };

struct image_reader {
	int fd;
	int spool_fd;		/* ours to close: the spooled rest of the input */
	ZSTD_DCtx *dctx;
	uint8_t *in;
	ZSTD_inBuffer inb;
	bool eof;		/* read() returned 0 */
	uint8_t *out;		/* decompressed bytes, out[out_pos..out_len) unread */
	size_t out_pos, out_len;
	bool frame_open;	/* inside a zstd frame: EOF now is truncation */
	bool flush_pending;	/* zstd may hold output without needing input */
	enum reader_state state;
	uint64_t members, data_bytes;	/* seen so far, checked against ckpt-end */
	char name[IMAGE_NAME_MAX + 1];	/* current (or last) member */
	uint64_t size, left;
	bool in_member;
};

static int reader_fail(struct image_reader *r, const char *hint, const char *fmt, ...)
	printf_like(3, 4);

/* Record the error and stop: after a stream error nothing read later
 * could be trusted. */
static int reader_fail(struct image_reader *r, const char *hint, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r->state = RD_FAILED;
	return fail_why(why, hint, "reading image");
}

static ssize_t read_some(struct image_reader *r, uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = read(r->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->state = RD_FAILED;
		return fail(errno, "check the image file or pipe", "reading image");
	}
	return n;
}

/* Decompress the next chunk into r->out.  1: data, 0: end of input,
 * negative: error. */
static int fill(struct image_reader *r)
{
	for (;;) {
		ZSTD_outBuffer out = { r->out, IO_BUF_SIZE, 0 };
		size_t ret, in_before;

		if (r->inb.pos == r->inb.size && !r->flush_pending) {
			ssize_t n;

			if (r->eof)
				return 0;
			n = read_some(r, r->in, IO_BUF_SIZE);
			if (n < 0)
				return -1;
			if (n == 0) {
				r->eof = true;
				return 0;
			}
			r->inb = (ZSTD_inBuffer){ r->in, n, 0 };
		}
		in_before = r->inb.pos;
		ret = ZSTD_decompressStream(r->dctx, &out, &r->inb);
		if (ZSTD_isError(ret))
			return reader_fail(r, CORRUPT_HINT, "corrupted (zstd: %s)",
					   ZSTD_getErrorName(ret));
		/* 0 means a frame just ended; the next call starts a new one. */
		r->frame_open = ret != 0;
		r->flush_pending = ret != 0 && out.pos == out.size;
		if (out.pos) {
			r->out_pos = 0;
			r->out_len = out.pos;
			return 1;
		}
		if (r->inb.pos == in_before && !r->flush_pending && r->inb.pos < r->inb.size)
			return reader_fail(r, CORRUPT_HINT, "corrupted (zstd made no progress)");
	}
}

/* Take len decompressed bytes (dst NULL: discard them).  0: all there,
 * 1: input ended first (*got says how far), negative: error. */
static int pull(struct image_reader *r, void *dst, uint64_t len, uint64_t *got)
{
	*got = 0;
	while (*got < len) {
		size_t n = r->out_len - r->out_pos;

		if (!n) {
			int ret = fill(r);

			if (ret <= 0)
				return ret < 0 ? -1 : 1;
			n = r->out_len - r->out_pos;
		}
		if (n > len - *got)
			n = len - *got;
		if (dst)
			memcpy((uint8_t *)dst + *got, r->out + r->out_pos, n);
		r->out_pos += n;
		*got += n;
	}
	return 0;
}

static int check_magic(struct image_reader *r)
{
	static const uint8_t magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };	/* LE 0xFD2FB528 */

	while (r->inb.size < sizeof(magic)) {
		ssize_t n = read_some(r, r->in + r->inb.size, IO_BUF_SIZE - r->inb.size);

		if (n < 0)
			return -1;
		if (n == 0) {
			r->eof = true;
			break;
		}
		r->inb.size += n;
	}
	if (r->inb.size == 0)
		return reader_fail(r, NOT_IMAGE_HINT, "not a ckpt image (the input is empty)");
	if (r->inb.size < sizeof(magic) || memcmp(r->in, magic, sizeof(magic)))
		return reader_fail(r, NOT_IMAGE_HINT, "not a ckpt image (not zstd-compressed)");
	return 0;
}

/* The rest of the current member and its padding. */
static int skip_member(struct image_reader *r)
{
	uint64_t want = r->left + tar_padding(r->size), got;
	int ret = pull(r, NULL, want, &got);

	if (ret < 0)
		return -1;
	if (ret > 0) {
		uint64_t done = r->size - r->left + got;

		if (done > r->size)
			done = r->size;
		return reader_fail(r, TRUNC_HINT, "truncated: member %s ends after %" PRIu64
				   " of %" PRIu64 " bytes", r->name, done, r->size);
	}
	r->left = 0;
	r->in_member = false;
	return 0;
}

/* One 512-byte block: a tar header, or the end-of-archive block. */
static int read_block(struct image_reader *r, void *block, bool header)
{
	uint64_t got;
	int ret = pull(r, block, BLOCK, &got);

	if (ret <= 0)
		return ret;
	if (r->state == RD_START && !r->frame_open)
		return reader_fail(r, NOT_IMAGE_HINT, "not a ckpt image (decompresses to %"
				   PRIu64 " bytes, not a tar archive)", got);
	if (r->state == RD_START)
		return reader_fail(r, TRUNC_HINT, "truncated: the input ends inside the "
				   "first tar header");
	if (!header)
		return reader_fail(r, TRUNC_HINT, "truncated: no end-of-archive block after "
				   END_MEMBER);
	if (got == 0 && !r->frame_open)
		return reader_fail(r, TRUNC_HINT, "truncated: the image ends after member %s "
				   "(%" PRIu64 " members) without " END_MEMBER, r->name, r->members);
	return reader_fail(r, TRUNC_HINT, "truncated: the image ends inside the tar header "
			   "after member %s", r->name);
}

/* Parse a ustar number: optional leading spaces, octal digits, then NUL,
 * space or the end of the field. */
static int parse_octal(const char *field, size_t width, uint64_t max, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	bool digits = false;

	while (i < width && field[i] == ' ')
		i++;
	for (; i < width && field[i] >= '0' && field[i] <= '7'; i++) {
		v = v * 8 + (uint64_t)(field[i] - '0');
		if (v > max)
			return -1;
		digits = true;
	}
	if (!digits)
		return -1;
	for (; i < width; i++)
		if (field[i] != '\0' && field[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

/* Check one header; on failure why says what is wrong with it. */
static const char *parse_header(const struct tar_header *h, char *name, uint64_t *size)
{
	uint64_t sum;
	size_t nlen;

	if (!memcmp(h, zero_block, BLOCK))
		return "end-of-archive block before " END_MEMBER;
	if (parse_octal(h->chksum, sizeof(h->chksum), 07777777, &sum) < 0)
		return "tar header with an unreadable checksum";
	if (sum != tar_checksum(h))
		return "tar header checksum mismatch";
	if (memcmp(h->magic, "ustar", 6) || memcmp(h->version, "00", 2))
		return "tar header without the ustar magic";
	if (h->typeflag != '0' && h->typeflag != '\0')
		return "tar member is not a regular file";
	nlen = strnlen(h->name, sizeof(h->name));
	if (nlen == 0 || nlen == sizeof(h->name) || h->prefix[0])
		return "tar member name is empty or too long";
	if (parse_octal(h->size, sizeof(h->size), IMAGE_MEMBER_MAX, size) < 0)
		return "tar member size is unreadable or too large";
	memcpy(name, h->name, nlen + 1);
	return NULL;
}

/* After the ckpt-end header: its body must match what was read, the
 * end-of-archive block must follow, and the frame holding them must end
 * (its checksum is verified only then). */
static int read_end(struct image_reader *r)
{
	char body[END_BODY_MAX + 1], want[END_BODY_MAX];
	uint8_t block[BLOCK];
	uint64_t got;
	int n, ret;

	if (r->size > END_BODY_MAX)
		return reader_fail(r, CORRUPT_HINT, "corrupted (" END_MEMBER " is %" PRIu64
				   " bytes)", r->size);
	ret = pull(r, body, r->size, &got);
	if (ret < 0)
		return -1;
	if (ret > 0)
		return reader_fail(r, TRUNC_HINT, "truncated: the image ends inside " END_MEMBER);
	r->left = 0;
	r->in_member = true;
	if (skip_member(r) < 0)		/* its padding */
		return -1;
	body[r->size] = '\0';
	n = snprintf(want, sizeof(want), "members %" PRIu64 "\nbytes %" PRIu64 "\n",
		     r->members, r->data_bytes);
	if ((uint64_t)n != r->size || memcmp(body, want, n))
		return reader_fail(r, CORRUPT_HINT, "corrupted (" END_MEMBER " does not match "
				   "the %" PRIu64 " members and %" PRIu64 " bytes before it)",
				   r->members, r->data_bytes);
	if (read_block(r, block, false) < 0)
		return -1;
	if (memcmp(block, zero_block, BLOCK))
		return reader_fail(r, CORRUPT_HINT, "corrupted (data after " END_MEMBER ")");
	r->out_pos = r->out_len;
	while (r->frame_open) {
		ret = fill(r);
		if (ret < 0)
			return -1;
		if (ret == 0)
			return reader_fail(r, TRUNC_HINT, "truncated: the last zstd frame is cut off");
		r->out_pos = r->out_len;
	}
	r->state = RD_DONE;
	return 0;
}

int image_reader_spool(struct image_reader *r)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	uint8_t *buf;
	int fd;

	if (r->eof || r->spool_fd >= 0)
		return 0;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(errno, "set TMPDIR to a writable directory with room for the image",
			    "creating a temporary file in %s", dir);
	buf = malloc(IO_BUF_SIZE);
	if (!buf) {
		close(fd);
		return fail(ENOMEM, NULL, "spooling the image");
	}
	for (;;) {
		ssize_t n = read(r->fd, buf, IO_BUF_SIZE), done = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(errno, NULL, "reading image");
			goto err;
		}
		if (n == 0)
			break;
		while (done < n) {
			ssize_t w = write(fd, buf + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				fail(errno, "set TMPDIR to a directory with room for the image",
				     "spooling the image to %s", dir);
				goto err;
			}
			done += w;
		}
	}
	free(buf);
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return fail(errno, NULL, "spooling the image");
	}
	r->fd = r->spool_fd = fd;
	return 0;
err:
	free(buf);
	close(fd);
	return -1;
}

struct image_reader *image_reader_new(int fd)
{
	struct image_reader *r = calloc(1, sizeof(*r));

	if (!r)
		goto nomem;
	r->fd = fd;
	r->spool_fd = -1;
	r->in = malloc(IO_BUF_SIZE);
	r->out = malloc(IO_BUF_SIZE);
	r->dctx = ZSTD_createDCtx();
	if (!r->in || !r->out || !r->dctx)
		goto nomem;
	r->inb = (ZSTD_inBuffer){ r->in, 0, 0 };
	/* Cap the window a hostile frame can ask for (ours use <= 8 MiB). */
	if (ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, 27))) {
		fail_why("zstd refused the window limit", BUG_HINT, "setting up image reading");
		goto err;
	}
	return r;
nomem:
	fail(ENOMEM, NULL, "setting up image reading");
err:
	image_reader_free(r);
	return NULL;
}

int image_next_member(struct image_reader *r, char name[IMAGE_NAME_MAX + 1], uint64_t *size)
{
	struct tar_header h;
	const char *why;

	if (r->state == RD_DONE)
		return 0;
	if (r->state == RD_FAILED)
		return fail_why("an earlier error stopped reading", NULL, "reading image");
	if (r->state == RD_START && check_magic(r) < 0)
		return -1;
	if (r->in_member && skip_member(r) < 0)
		return -1;
	if (read_block(r, &h, true) < 0)
		return -1;
	why = parse_header(&h, r->name, &r->size);
	if (why && r->state == RD_START)
		return reader_fail(r, NOT_IMAGE_HINT, "not a ckpt image (%s)", why);
	if (why && !memcmp(&h, zero_block, BLOCK))
		return reader_fail(r, TRUNC_HINT, "truncated: the archive ends after %" PRIu64
				   " members without " END_MEMBER, r->members);
	if (why)
		return reader_fail(r, CORRUPT_HINT, "corrupted (%s after member %s)", why, r->name);
	if (r->state == RD_START) {
		if (strcmp(r->name, FIRST_MEMBER))
			return reader_fail(r, NOT_IMAGE_HINT, "not a ckpt image (first member is "
					   "'%s', not " FIRST_MEMBER ")", r->name);
		r->state = RD_MEMBERS;
	}
	if (!strcmp(r->name, END_MEMBER))
		return read_end(r);
	r->members++;
	r->data_bytes += r->size;
	r->left = r->size;
	r->in_member = true;
	memcpy(name, r->name, sizeof(r->name));
	*size = r->size;
	return 1;
}

int image_read(struct image_reader *r, void *buf, size_t len)
{
	uint64_t got;
	int ret;

	if (r->state == RD_FAILED)
		return fail_why("an earlier error stopped reading", NULL, "reading image");
	if (!r->in_member || r->state != RD_MEMBERS)
		return fail_why("no current member", BUG_HINT, "reading image");
	if (len > r->left)
		return fail_why("past the end of the member", BUG_HINT,
				"reading %zu bytes of image member %s with %" PRIu64 " left",
				len, r->name, r->left);
	ret = pull(r, buf, len, &got);
	if (ret < 0)
		return -1;
	if (ret > 0)
		return reader_fail(r, TRUNC_HINT, "truncated: member %s ends after %" PRIu64
				   " of %" PRIu64 " bytes", r->name, r->size - r->left + got,
				   r->size);
	r->left -= len;
	return 0;
}

/* The buffer grows as data arrives rather than trusting the header's
 * size up front: a damaged header must not cost 8 GiB of memory.  It is
 * NUL-terminated (not counted in *len) for text members. */
int image_read_all(struct image_reader *r, void **data, size_t *len)
{
	uint64_t total = r->left;
	size_t cap = 0, done = 0;
	char *buf = NULL, *p;

	*data = NULL;
	*len = 0;
	if (!r->in_member || r->state != RD_MEMBERS)
		return fail_why("no current member", BUG_HINT, "reading image");
	if (total >= SIZE_MAX)
		return fail(ENOMEM, NULL, "reading image member %s", r->name);
	do {
		if (done == cap) {
			cap = cap ? cap * 2 : 64 * 1024;
			if (cap > total)
				cap = total;
			p = realloc(buf, cap + 1);
			if (!p) {
				fail(ENOMEM, NULL, "reading image member %s", r->name);
				goto err;
			}
			buf = p;
		}
		if (image_read(r, buf + done, cap - done) < 0)
			goto err;
		done = cap;
	} while (done < total);
	buf[done] = '\0';
	*data = buf;
	*len = done;
	return 0;
err:
	free(buf);
	return -1;
}

void image_reader_free(struct image_reader *r)
{
	if (!r)
		return;
	ZSTD_freeDCtx(r->dctx);
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	free(r->in);
	free(r->out);
	free(r);
}
