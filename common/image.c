/* The image container (see image.h): ustar members in a stream of zstd
 * frames.  The writer never seeks, so an image can go to a pipe; the
 * reader never seeks either and treats everything it reads as untrusted. */
#define LOG_PREFIX "image: "
#include "image.h"
#include "frame_pool.h"
#include "sign.h"
#include "crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <openssl/crypto.h>

#define BLOCK 512
/* A frame holds whole members and is closed once it reaches
 * IMAGE_FRAME_SIZE: a member below that size started just before the
 * limit takes it to under twice the size (see put_data()). */
#define FRAME_BUF_SIZE (2 * IMAGE_FRAME_SIZE + 64 * 1024)
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

/* Worker threads for (de)compression: CKPT_THREADS if set (1: none),
 * else one per usable CPU. */
static unsigned image_threads(void)
{
	const char *env = getenv("CKPT_THREADS");

	return env && *env ? (unsigned)strtoul(env, NULL, 10) : 0;
}

/* Enough frames in flight to keep every worker busy while the caller
 * writes (or reads) the oldest. */
static unsigned frame_slots(void)
{
	unsigned n = image_threads();

	if (!n || n > cpus_usable())
		n = cpus_usable();
	if (n > 8)
		n = 8;
	return 2 * n + 2;
}

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
	struct frame_pool *pool;	/* frames compressed on every core */
	struct frame_slot *cur;		/* the open frame, NULL between frames */
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
	const struct sign_key *sign;	/* --sign: a signature after each frame */
	struct sig_hash *hash;	/* of every byte written so far */
	struct crypt_key *crypt;	/* --encrypt: every frame sealed */
	uint64_t seq;			/* of the next frame submitted */
	bool crypt_header_written;
	uint8_t crypt_header[CRYPT_HDR_LEN];
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

/* All of iov[0 .. n) to fd, in order, however the writes are cut. */
static int writev_all(struct image_writer *w, struct iovec *v, size_t n)
{
	/* Everything written is signed, in stream order. */
	for (size_t i = 0; w->hash && i < n; i++)
		sig_hash_update(w->hash, v[i].iov_base, v[i].iov_len);
	while (n) {
		ssize_t done = writev(w->fd, v, (int)n);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0) {
			int err = done < 0 ? errno : EIO;

			w->broken = true;
			return fail(err, write_hint(err), "writing image");
		}
		w->bytes_out += done;
		for (; n && (size_t)done >= v->iov_len; v++, n--)
			done -= v->iov_len;
		if (n) {
			v->iov_base = (uint8_t *)v->iov_base + done;
			v->iov_len -= done;
		}
	}
	return 0;
}

static int write_all(struct image_writer *w, const uint8_t *p, size_t len)
{
	struct iovec v = { (void *)p, len };

	return writev_all(w, &v, len ? 1 : 0);
}

/* A frame of raw blocks: its headers and the data where it lies. */
static int write_raw(struct image_writer *w, struct frame_slot *s)
{
	struct iovec iov[2 * (FRAME_BUF_SIZE / (128 * 1024) + 1) + 2];
	size_t n = zstd_raw_iov(s->out, s->in + s->in_off, s->in_len, iov,
				sizeof(iov) / sizeof(iov[0]));

	if (!n) {
		w->broken = true;
		return fail_why("a raw frame has too many blocks", BUG_HINT, "writing image");
	}
	return writev_all(w, iov, n);
}

/* A member built by a worker (image_write_member_built()). */
struct built_job {
	image_build_fn *build;
	uint64_t mtime;
	size_t cap, arg_len;
	/* build() takes it as its own struct (pointers, 64-bit integers): aligned
	 * like the slot's job[] that holds this. */
	_Alignas(uint64_t) uint8_t arg[IMAGE_BUILD_ARG_MAX];
	char name[IMAGE_NAME_MAX + 1];
};
_Static_assert(sizeof(struct built_job) <= sizeof(((struct frame_slot *)0)->job),
	       "a build job fits in a slot");

static void make_header(struct tar_header *h, const char *name, uint64_t size,
			uint64_t mtime);

/* On a worker: the member's data, its tar header just before it, its
 * padding after it. */
static void build_member(struct frame_slot *s)
{
	const struct built_job *j = (const void *)s->job;
	size_t start = 0;
	ssize_t n = j->build(j->arg, s->in + BLOCK, j->cap, &start, s->error, sizeof(s->error));

	s->produced = 0;
	s->in_off = s->in_len = 0;
	if (n <= 0)
		return;
	make_header((struct tar_header *)(s->in + start), j->name, n, j->mtime);
	memset(s->in + BLOCK + start + n, 0, tar_padding(n));
	s->in_off = start;
	s->in_len = BLOCK + n + tar_padding(n);
	s->produced = n;
}

/* --sign: the signature frame of every byte written so far. */
static int write_signature(struct image_writer *w)
{
	uint8_t digest[SIG_DIGEST_LEN], frame[SIG_FRAME_LEN];

	if (sig_hash_peek(w->hash, digest)) {
		w->broken = true;
		return fail_why("libcrypto failed", NULL, "signing the image");
	}
	if (sig_frame_make(w->sign, w->bytes_out, digest, frame)) {
		w->broken = true;
		return -1;
	}
	return write_all(w, frame, sizeof(frame));
}

/* On a worker, after compressing: the frame sealed in place (a frame of
 * raw blocks is first copied whole into out). */
static void seal_frame(struct frame_slot *s)
{
	size_t n;

	if (s->raw) {
		uint8_t hdrs[256];
		struct iovec iov[2 * (FRAME_BUF_SIZE / (128 * 1024) + 1) + 2];
		size_t k, o = 0;

		if (s->out_len > sizeof(hdrs))
			goto bug;
		memcpy(hdrs, s->out, s->out_len);
		n = zstd_raw_iov(hdrs, s->in + s->in_off, s->in_len, iov,
				 sizeof(iov) / sizeof(iov[0]));
		for (k = 0; k < n; k++)
			o += iov[k].iov_len;
		if (!n || o + CRYPT_OVERHEAD > s->out_cap)
			goto bug;
		for (k = 0, o = 0; k < n; k++) {
			memcpy(s->out + o, iov[k].iov_base, iov[k].iov_len);
			o += iov[k].iov_len;
		}
		s->out_len = o;
		s->raw = false;
	}
	n = crypt_seal(s->crypt, s->seq, s->out, s->out_len, s->out_cap);
	if (!n)
		goto bug;
	s->out_len = n;
	return;
bug:
	snprintf(s->error, sizeof(s->error), "encrypting a frame failed");
}

/* Before the first frame of an encrypted image: its header (signed too). */
static int write_crypt_header(struct image_writer *w)
{
	w->crypt_header_written = true;
	if (write_all(w, w->crypt_header, sizeof(w->crypt_header)) < 0)
		return -1;
	return w->sign ? write_signature(w) : 0;
}

/* Write the oldest compressed frame out, in order. */
static int write_oldest(struct image_writer *w)
{
	struct frame_slot *s = frame_pool_oldest(w->pool);
	int ret = 0;

	if (!s)
		return 0;
	if (w->crypt && !w->crypt_header_written && !s->error[0] && write_crypt_header(w) < 0) {
		frame_pool_release(w->pool, s);
		return -1;
	}
	if (s->error[0]) {
		w->broken = true;
		if (s->prepare)
			return fail_why(s->error, NULL, "saving image member %s",
					((const struct built_job *)(const void *)s->job)->name);
		return fail_why(s->error, BUG_HINT, "compressing image");
	}
	if (s->prepare && s->produced) {
		w->members++;
		w->data_bytes += s->produced;
	}
	if (s->raw)
		ret = write_raw(w, s);
	else if (s->in_len)
		ret = write_all(w, s->out, s->out_len);
	if (!ret && w->sign && (s->raw || s->in_len))
		ret = write_signature(w);
	frame_pool_release(w->pool, s);
	return ret;
}

/* Write out every submitted frame (not the open one). */
static int drain(struct image_writer *w)
{
	while (frame_pool_pending(w->pool))
		if (write_oldest(w) < 0)
			return -1;
	return 0;
}

/* A free slot for the next frame, writing older ones out as needed. */
static struct frame_slot *next_slot(struct image_writer *w)
{
	struct frame_slot *s;

	while (!(s = frame_pool_free_slot(w->pool)))
		if (write_oldest(w) < 0)
			return NULL;
	s->in_off = s->in_len = 0;
	s->prepare = NULL;
	return s;
}

static int put(struct image_writer *w, const void *data, size_t len)
{
	if (!len)
		return 0;
	if (!w->cur && !(w->cur = next_slot(w)))
		return -1;
	if (len > w->cur->in_cap - w->cur->in_len) {
		w->broken = true;
		return fail_why("a frame outgrew its buffer", BUG_HINT, "writing image");
	}
	memcpy(w->cur->in + w->cur->in_len, data, len);
	w->cur->in_len += len;
	w->frame_in += len;
	return 0;
}

/* Encrypted images: every frame is sealed by the worker that compresses
 * it, under the next sequence number. */
static void submit(struct image_writer *w, struct frame_slot *s)
{
	if (w->crypt) {
		s->crypt = w->crypt;
		s->seq = w->seq++;
		s->finish = seal_frame;
	}
	frame_pool_submit(w->pool, s);
}

static int end_frame(struct image_writer *w)
{
	if (w->cur && w->cur->in_len)
		submit(w, w->cur);
	w->cur = NULL;
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

	if (level < 1 || level > 19) {
		fail_why("must be 1 to 19", "pick another compression level",
			 "compression level %d", level);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		fail(ENOMEM, NULL, "setting up image compression");
		return NULL;
	}
	w->fd = fd;
	w->mtime = time(NULL);
	w->pool = frame_pool_new(FRAME_COMPRESS, level, frame_slots(), FRAME_BUF_SIZE,
				 ZSTD_compressBound(FRAME_BUF_SIZE) + CRYPT_OVERHEAD + 64);
	if (!w->pool || frame_pool_start_workers(w->pool, image_threads()) < 0) {
		image_writer_free(w);
		return NULL;
	}
	return w;
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
	/* Members built by workers are counted once written out. */
	if (drain(w) < 0)
		return -1;
	n = snprintf(body, sizeof(body), "members %" PRIu64 "\nbytes %" PRIu64 "\n",
		     w->members, w->data_bytes);
	if (begin_member(w, END_MEMBER, n) < 0 || image_member_write(w, body, n) < 0 ||
	    image_member_end(w) < 0)
		return -1;
	/* ckpt-end is not counted: it is the trailer, not content. */
	if (put(w, zero_block, BLOCK) < 0 || put(w, zero_block, BLOCK) < 0)
		return -1;
	if (end_frame(w) < 0 || drain(w) < 0)
		return -1;
	w->finished = true;
	return 0;
}

int image_write_member_built(struct image_writer *w, const char *name, size_t cap,
			     image_build_fn *build, const void *arg, size_t arg_len)
{
	struct frame_slot *s;
	struct built_job *j;

	if (writer_usable(w) < 0)
		return -1;
	if (w->in_member || !w->members || strlen(name) >= IMAGE_NAME_MAX ||
	    arg_len > IMAGE_BUILD_ARG_MAX || cap > IMAGE_BUILD_CAP_MAX || !strcmp(name, END_MEMBER))
		return fail_why("invalid use", BUG_HINT, "writing image member %s", name);
	/* The member gets a frame of its own. */
	if (end_frame(w) < 0 || !(s = next_slot(w)))
		return -1;
	j = (struct built_job *)(void *)s->job;
	j->build = build;
	j->mtime = w->mtime;
	j->cap = cap;
	j->arg_len = arg_len;
	snprintf(j->name, sizeof(j->name), "%s", name);
	memcpy(j->arg, arg, arg_len);
	s->prepare = build_member;
	submit(w, s);
	return 0;
}

void image_writer_quiesce(struct image_writer *w)
{
	frame_pool_quiesce(w->pool);
}

int image_writer_flush(struct image_writer *w)
{
	if (writer_usable(w) < 0)
		return -1;
	if (!w->in_member && end_frame(w) < 0)
		return -1;
	return drain(w);
}

int image_writer_sign(struct image_writer *w, const struct sign_key *k)
{
	if (w->bytes_out || w->members || w->in_member || w->cur)
		return fail_why("data was written already", BUG_HINT, "signing the image");
	if (!w->hash && !(w->hash = sig_hash_new()))
		return -1;
	w->sign = k;
	return 0;
}

int image_writer_encrypt(struct image_writer *w, struct crypt_key *k)
{
	if (w->bytes_out || w->members || w->in_member || w->cur)
		return fail_why("data was written already", BUG_HINT, "encrypting the image");
	/* The image key is made now, before any worker seals a frame. */
	if (crypt_header_make(k, w->crypt_header) < 0)
		return -1;
	w->crypt = k;
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
	frame_pool_free(w->pool);
	sig_hash_free(w->hash);
	free(w);
}

/* ======================================================================
 * Reader
 * ====================================================================== */

enum reader_state { RD_START, RD_MEMBERS, RD_DONE, RD_FAILED };

/* Compressed input is read in pieces of this size until a whole frame is
 * there; what comes after the frame is carried over to the next one. */
#define READ_CHUNK (128 * 1024)

struct image_reader {
	int fd;
	int spool_fd;		/* ours to close: the spooled rest of the input */
	struct frame_pool *pool;	/* whole frames, decompressed ahead */
	uint8_t *carry;		/* input read past the last staged frame */
	size_t carry_len;
	bool eof;		/* read() returned 0 */
	bool input_done;	/* every frame of the input is staged */
	bool input_bad;		/* ... up to an error: */
	char stage_error[400];
	const char *stage_hint;
	struct frame_slot *cur;	/* frame being consumed */
	uint8_t *out;		/* its bytes, out[out_pos..out_len) unread */
	size_t out_pos, out_len;
	enum reader_state state;
	uint64_t members, data_bytes;	/* seen so far, checked against ckpt-end */
	char name[IMAGE_NAME_MAX + 1];	/* current (or last) member */
	uint64_t size, left;
	bool in_member;
	bool member_handled;	/* by the hook, on a worker */
	image_member_hook *hook;
	void *hook_arg;
	char hook_prefix[48];		/* "proc/PID/pages/" */
	const struct trust *trust;	/* --verify: the keys a signature may be by */
	struct sig_hash *hash;		/* of every input byte staged so far */
	uint64_t offset;		/* input bytes staged (and hashed) */
	uint64_t signatures;		/* verified */
	uint8_t signer[SIG_PUBKEY_LEN];	/* of the first one */
	struct crypt_key *crypt;	/* --decrypt: every frame must be sealed */
	struct crypt_key crypt_own;	/* this image's copy of the key (salt, image key) */
	bool crypt_header_read;
	bool seq_any;
	uint64_t last_seq;
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

static int stage_failed(struct image_reader *r, const char *hint, const char *fmt, ...)
	printf_like(3, 4);

static int stage_failed(struct image_reader *r, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->stage_error, sizeof(r->stage_error), fmt, ap);
	va_end(ap);
	r->stage_hint = hint;
	return -1;
}

#define UNSIGNED_HINT "sign images with ckpt --sign KEY, or read it without --verify if " \
	"you trust where it came from"
#define UNTRUSTED_HINT "add the signer's public key to the trusted keys (--verify FILE or " \
	"DIR/*.pub) if you trust it"
#define TAMPER_HINT "the image was changed after it was signed, or damaged; do not use it"

/* --verify: frame (len bytes) was just staged; the signature frame that
 * follows it must verify over every byte up to it before the frame is
 * used at all (not even decompressed). */
static int verify_frame(struct image_reader *r, const uint8_t *frame, size_t len)
{
	uint8_t digest[SIG_DIGEST_LEN];
	char why[300];
	bool untrusted;

	sig_hash_update(r->hash, frame, len);
	r->offset += len;
	while (r->carry_len < SIG_FRAME_LEN && !r->eof) {
		ssize_t n;

		do
			n = read(r->fd, r->carry + r->carry_len, READ_CHUNK - r->carry_len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return stage_failed(r, "check the image file or pipe", "%s", strerror(errno));
		if (n == 0)
			r->eof = true;
		r->carry_len += n;
	}
	if (!sig_frame_is(r->carry, r->carry_len)) {
		if (!r->signatures)
			return stage_failed(r, UNSIGNED_HINT, "not signed (--verify was given and "
					    "the image carries no signature)");
		if (r->eof && r->carry_len < SIG_FRAME_LEN)
			return stage_failed(r, TRUNC_HINT, "truncated: the signature after byte %"
					    PRIu64 " is missing", r->offset);
		return stage_failed(r, TAMPER_HINT, "bad signature: no signature after byte %"
				    PRIu64, r->offset);
	}
	if (r->carry_len < SIG_FRAME_LEN)
		return stage_failed(r, TRUNC_HINT, "truncated: the signature after byte %" PRIu64
				    " is cut off", r->offset);
	if (sig_hash_peek(r->hash, digest))
		return stage_failed(r, BUG_HINT, "libcrypto failed hashing the image");
	if (sig_frame_check(r->trust, r->carry, r->offset, digest, why, sizeof(why), &untrusted))
		return stage_failed(r, untrusted ? UNTRUSTED_HINT : TAMPER_HINT, "%s%s",
				    untrusted ? "untrusted signature: " : "bad signature: ", why);
	if (!r->signatures)
		memcpy(r->signer, r->carry + 24, SIG_PUBKEY_LEN);
	sig_hash_update(r->hash, r->carry, SIG_FRAME_LEN);
	r->offset += SIG_FRAME_LEN;
	r->carry_len -= SIG_FRAME_LEN;
	memmove(r->carry, r->carry + SIG_FRAME_LEN, r->carry_len);
	r->signatures++;
	return 0;
}

/* On a worker, before decompressing: open the sealed frame in place. */
static void open_frame(struct frame_slot *s)
{
	size_t off, len;
	uint64_t seq;
	const char *why = crypt_open(s->crypt, s->in + s->in_off, s->in_len, &seq, &off, &len);

	if (why) {
		snprintf(s->error, sizeof(s->error), "%s", why);
		s->in_len = 0;
		return;
	}
	s->in_off += off;
	s->in_len = len;
}

#define DECRYPT_HINT "give the key it was encrypted with: restart --decrypt KEYFILE"

/* What the frame just staged in s (len bytes at s->in) is: 1 a frame to
 * decompress (sealed: s->prepare opens it), 2 the encryption header, read
 * (stage the next frame instead), negative: refused. */
static int classify_frame(struct image_reader *r, struct frame_slot *s, size_t len)
{
	const uint8_t *p = s->in;
	uint64_t seq;
	char why[200];

	s->prepare = NULL;
	s->crypt = NULL;
	if (crypt_is_header(p, len)) {
		if (!r->crypt)
			return stage_failed(r, DECRYPT_HINT, "encrypted (ckpt --encrypt): it cannot "
					    "be read without its key");
		if (r->crypt_header_read)
			return stage_failed(r, CORRUPT_HINT, "corrupted (a second encryption "
					    "header at byte %" PRIu64 ")", r->offset);
		if (crypt_header_read(r->crypt, p, len, why, sizeof(why)))
			return stage_failed(r, DECRYPT_HINT, "%s", why);
		r->crypt_header_read = true;
		return 2;
	}
	if (crypt_is_frame(p, len)) {
		if (!r->crypt)
			return stage_failed(r, DECRYPT_HINT, "encrypted (ckpt --encrypt): it cannot "
					    "be read without its key");
		if (!r->crypt_header_read || len < CRYPT_OVERHEAD)
			return stage_failed(r, CORRUPT_HINT, "corrupted (an encrypted frame without "
					    "the encryption header)");
		seq = (uint64_t)p[8] | (uint64_t)p[9] << 8 | (uint64_t)p[10] << 16 |
		      (uint64_t)p[11] << 24 | (uint64_t)p[12] << 32 | (uint64_t)p[13] << 40 |
		      (uint64_t)p[14] << 48 | (uint64_t)p[15] << 56;
		/* Strictly increasing: no frame repeated or moved back. */
		if (r->seq_any && seq <= r->last_seq)
			return stage_failed(r, CORRUPT_HINT, "corrupted (encrypted frame %" PRIu64
					    " after frame %" PRIu64 ")", seq, r->last_seq);
		r->seq_any = true;
		r->last_seq = seq;
		s->crypt = r->crypt;
		s->prepare = open_frame;
		return 1;
	}
	/* --decrypt: an image in clear, or a frame in clear slipped in. */
	if (r->crypt && len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return stage_failed(r, "read it without --decrypt if it is meant to be in clear",
				    "not encrypted (--decrypt was given and the image has a "
				    "frame in clear)");
	return 1;
}

static int stage_one(struct image_reader *r, struct frame_slot *s);

/* The next frame to decompress, staged into s (see stage_one()). */
static int stage_frame(struct image_reader *r, struct frame_slot *s)
{
	for (;;) {
		int ret = stage_one(r, s);

		if (ret <= 0)
			return ret;
		ret = classify_frame(r, s, s->in_len);
		if (ret != 2)
			return ret;
	}
}

/* Move the next whole compressed frame of the input into s.  1: staged,
 * 0: the input ended cleanly before it, negative: the input is bad from
 * here on, said in r->stage_error: reported only when the frames staged
 * before are used up, so that a valid image followed by junk reads well. */
static int stage_one(struct image_reader *r, struct frame_slot *s)
{
	memcpy(s->in, r->carry, r->carry_len);
	s->in_len = r->carry_len;
	r->carry_len = 0;
	for (;;) {
		ssize_t n;

		if (s->in_len) {
			size_t len = ZSTD_findFrameCompressedSize(s->in, s->in_len);

			if (!ZSTD_isError(len)) {
				r->carry_len = s->in_len - len;
				memcpy(r->carry, s->in + len, r->carry_len);
				s->in_len = len;
				if (r->trust && verify_frame(r, s->in, len) < 0)
					return -1;
				return 1;
			}
			if (ZSTD_getErrorCode(len) != ZSTD_error_srcSize_wrong) {
				if (r->trust)
					return stage_failed(r, TAMPER_HINT, "bad signature: no "
							    "signed frame at byte %" PRIu64
							    " (zstd: %s)", r->offset,
							    ZSTD_getErrorName(len));
				snprintf(r->stage_error, sizeof(r->stage_error), "corrupted (zstd: "
					 "%s)", ZSTD_getErrorName(len));
				r->stage_hint = CORRUPT_HINT;
				return -1;
			}
		}
		if (r->eof) {
			if (!s->in_len)
				return 0;
			snprintf(r->stage_error, sizeof(r->stage_error), "truncated: the last "
				 "zstd frame is cut off%s", r->trust ? " (or changed: no signature "
				 "verifies it)" : "");
			r->stage_hint = TRUNC_HINT;
			return -1;
		}
		if (s->in_cap - s->in_len < READ_CHUNK) {
			snprintf(r->stage_error, sizeof(r->stage_error), "corrupted (a zstd frame "
				 "is larger than %zu bytes)", s->in_cap - READ_CHUNK);
			r->stage_hint = CORRUPT_HINT;
			return -1;
		}
		do
			n = read(r->fd, s->in + s->in_len, READ_CHUNK);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			snprintf(r->stage_error, sizeof(r->stage_error), "%s", strerror(errno));
			r->stage_hint = "check the image file or pipe";
			return -1;
		}
		if (n == 0)
			r->eof = true;
		s->in_len += n;
	}
}

/* Can another frame be staged without waiting for the writer? */
static bool input_ready(struct image_reader *r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

	if (r->carry_len && !ZSTD_isError(ZSTD_findFrameCompressedSize(r->carry, r->carry_len)))
		return true;
	return poll(&pfd, 1, 0) > 0;
}

static const char *parse_header(const struct tar_header *h, char *name, uint64_t *size);

/* On a worker, after decompressing: a frame that is exactly one member
 * with the hook's prefix goes to the hook. */
static void reader_finish(struct frame_slot *s)
{
	struct image_reader *r = (struct image_reader *)(uintptr_t)s->job[0];
	char name[IMAGE_NAME_MAX + 1];
	uint64_t size;

	s->produced = 0;
	if (s->out_len < BLOCK || parse_header((const struct tar_header *)s->out, name, &size) ||
	    strncmp(name, r->hook_prefix, strlen(r->hook_prefix)) ||
	    BLOCK + size + tar_padding(size) != s->out_len)
		return;
	s->produced = r->hook(r->hook_arg, name, s->out + BLOCK, size, s->error,
			      sizeof(s->error)) ? 2 : 1;
}

void image_reader_set_member_hook(struct image_reader *r, const char *prefix,
				  image_member_hook *hook, void *arg)
{
	frame_pool_quiesce(r->pool);
	r->hook = hook;
	r->hook_arg = arg;
	snprintf(r->hook_prefix, sizeof(r->hook_prefix), "%s", prefix ? prefix : "");
}

bool image_member_handled(const struct image_reader *r)
{
	return r->member_handled;
}

/* Make the next decompressed frame current.  Frames are staged ahead
 * while slots are free, without blocking on the input when one is
 * already on its way.  1: data, 0: end of input, negative: error. */
static int fill(struct image_reader *r)
{
	if (r->cur) {
		frame_pool_release(r->pool, r->cur);
		r->cur = NULL;
	}
	r->out_pos = r->out_len = 0;
	for (;;) {
		struct frame_slot *s;

		while (!r->input_done && (s = frame_pool_free_slot(r->pool))) {
			int ret;

			if (frame_pool_pending(r->pool) &&
			    (!frame_pool_workers(r->pool) || !input_ready(r)))
				break;
			ret = stage_frame(r, s);
			if (ret <= 0) {
				r->input_done = true;
				r->input_bad = ret < 0;
				break;
			}
			s->finish = r->hook ? reader_finish : NULL;
			s->job[0] = (uintptr_t)r;
			frame_pool_submit(r->pool, s);
		}
		s = frame_pool_oldest(r->pool);
		if (!s && r->input_bad)
			return reader_fail(r, r->stage_hint, "%s", r->stage_error);
		if (!s)
			return 0;
		if (s->error[0] && s->produced == 2)
			return reader_fail(r, "the image is corrupted or the process cannot take "
					   "its memory", "%s", s->error);
		if (s->error[0])
			return reader_fail(r, CORRUPT_HINT, "corrupted (%s)", s->error);
		if (!s->out_len) {
			frame_pool_release(r->pool, s);
			continue;
		}
		r->cur = s;
		r->out = s->out;
		r->out_len = s->out_len;
		return 1;
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

	while (r->carry_len < sizeof(magic)) {
		ssize_t n = read_some(r, r->carry + r->carry_len, READ_CHUNK - r->carry_len);

		if (n < 0)
			return -1;
		if (n == 0) {
			r->eof = true;
			break;
		}
		r->carry_len += n;
	}
	if (r->carry_len == 0)
		return reader_fail(r, NOT_IMAGE_HINT, "not a ckpt image (the input is empty)");
	/* An encrypted image starts with its header, a skippable frame. */
	if (r->carry_len >= sizeof(magic) && crypt_is_header(r->carry, r->carry_len))
		return 0;
	if (r->carry_len < sizeof(magic) || memcmp(r->carry, magic, sizeof(magic)))
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
	/* A frame cut off was reported while staging it: the input ended
	 * after whole frames. */
	if (r->state == RD_START)
		return reader_fail(r, NOT_IMAGE_HINT, "not a ckpt image (decompresses to %"
				   PRIu64 " bytes, not a tar archive)", got);
	if (!header)
		return reader_fail(r, TRUNC_HINT, "truncated: no end-of-archive block after "
				   END_MEMBER);
	if (got == 0)
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
	r->carry = malloc(READ_CHUNK);
	if (!r->carry)
		goto nomem;
	/* Frames decompress in one go into a buffer of FRAME_BUF_SIZE: a
	 * hostile frame cannot make us allocate more. */
	r->pool = frame_pool_new(FRAME_DECOMPRESS, 0, frame_slots(),
				 ZSTD_compressBound(FRAME_BUF_SIZE) + READ_CHUNK, FRAME_BUF_SIZE);
	if (!r->pool) {
		image_reader_free(r);
		return NULL;
	}
	return r;
nomem:
	fail(ENOMEM, NULL, "setting up image reading");
	image_reader_free(r);
	return NULL;
}

int image_reader_verify(struct image_reader *r, const struct trust *t)
{
	if (r->state != RD_START || r->carry_len || r->offset)
		return fail_why("reading began already", BUG_HINT, "verifying the image");
	if (t && !r->hash && !(r->hash = sig_hash_new()))
		return -1;
	r->trust = t;
	return 0;
}

bool image_reader_signer(const struct image_reader *r, uint8_t pub[32])
{
	if (!r->signatures)
		return false;
	memcpy(pub, r->signer, SIG_PUBKEY_LEN);
	return true;
}

int image_reader_decrypt(struct image_reader *r, struct crypt_key *k)
{
	if (r->state != RD_START || r->carry_len || r->offset)
		return fail_why("reading began already", BUG_HINT, "decrypting the image");
	/* A copy: the header of this image derives its own key into it, so
	 * one secret reads several images at once (an incremental chain). */
	r->crypt = NULL;
	if (k) {
		r->crypt_own = *k;
		r->crypt_own.ready = false;
		r->crypt = &r->crypt_own;
	}
	return 0;
}

int image_reader_start_threads(struct image_reader *r)
{
	return frame_pool_start_workers(r->pool, image_threads());
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
	/* The hook saw this member if it fills the frame its header opens. */
	r->member_handled = r->cur && r->cur->produced == 1 && r->out_pos == BLOCK;
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
	frame_pool_free(r->pool);
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	free(r->carry);
	sig_hash_free(r->hash);
	OPENSSL_cleanse(&r->crypt_own, sizeof(r->crypt_own));
	free(r);
}
