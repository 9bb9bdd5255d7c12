/* The image container: a ustar tar stream compressed with zstd, readable by
 * `tar --zstd -tvf`.  Members are written and read strictly in order, so an
 * image can be streamed through a pipe.  The first member is "ckpt-image"
 * (the image header record), metadata members ("meta/...") come next, then
 * memory contents ("pages/..."), and the last member is "ckpt-end", which
 * lists how many members and data bytes came before it, so truncation at a
 * member boundary is detected.  zstd frames carry content checksums; each
 * member body carries its own check (records: crc32c trailer; pages: crc32c
 * in the chunk header).
 *
 * The compressed stream is a sequence of independent zstd frames, each
 * holding whole tar members and closed once it holds >= IMAGE_FRAME_SIZE
 * bytes (large members are split into several frames); a member built by a
 * worker thread (image_write_member_built(): memory pages) is a frame of
 * its own.  Frames are compressed and decompressed in parallel; a frame
 * decompresses to at most 2 MiB + 64 KiB, so a reader's buffers stay
 * bounded.
 */
#ifndef CKPT_IMAGE_H
#define CKPT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define IMAGE_FRAME_SIZE (1u << 20)
#define IMAGE_NAME_MAX 100	/* ustar name field */
#define IMAGE_MEMBER_MAX (1ull << 33)	/* ustar size field limit */

struct image_writer;
struct image_reader;
struct sign_key;
struct trust;
struct crypt_key;

/* Writer on an open fd (a file or a pipe).  level: zstd level (1..19).
 * Does not close fd. */
struct image_writer *image_writer_new(int fd, int level);
/* Whole member at once. */
int image_write_member(struct image_writer *w, const char *name,
		       const void *data, size_t len) must_check;
/* Streamed member: size is announced first, then exactly size bytes. */
int image_member_begin(struct image_writer *w, const char *name, uint64_t size) must_check;
int image_member_write(struct image_writer *w, const void *data, size_t len) must_check;
int image_member_end(struct image_writer *w) must_check;
/* Write "ckpt-end", the tar end-of-archive blocks, end the zstd frame and
 * flush everything to fd.  Must be called for the image to be valid. */
int image_writer_finish(struct image_writer *w) must_check;
/* A member built on a worker thread and compressed as a frame of its own,
 * written in order with the others: for bulk data (memory pages) so that
 * reading and checksumming it runs on every core too.  build() writes the
 * member's data to buf[*start .. *start + n) within cap bytes and returns n
 * (0: no member after all), or -1 with err filled.  It runs on another
 * thread: no fail(), no ptrace.  arg (arg_len bytes, at most
 * IMAGE_BUILD_ARG_MAX) is copied.  Whatever build() reads must stay valid
 * until image_writer_flush() or image_writer_finish() returns. */
#define IMAGE_BUILD_ARG_MAX 128
#define IMAGE_BUILD_CAP_MAX (IMAGE_FRAME_SIZE + 64 * 1024)
typedef ssize_t image_build_fn(const void *arg, uint8_t *buf, size_t cap, size_t *start,
			       char *err, size_t errlen);
int image_write_member_built(struct image_writer *w, const char *name, size_t cap,
			     image_build_fn *build, const void *arg, size_t arg_len) must_check;
/* After a failure: wait until no worker runs a build() any more, so that
 * what they read can be freed. */
void image_writer_quiesce(struct image_writer *w);
/* Write out every frame compressed so far (between members: the open
 * frame too), waiting for the compression threads. */
int image_writer_flush(struct image_writer *w) must_check;
/* Sign the image with k (ckpt --sign): a signature frame after every
 * frame, over every byte before it (see sign.h).  Before any member. */
int image_writer_sign(struct image_writer *w, const struct sign_key *k) must_check;
/* Encrypt the image with k (ckpt --encrypt): each frame sealed on the
 * worker that compresses it (see crypt.h).  Before any member; k must
 * outlive the writer. */
int image_writer_encrypt(struct image_writer *w, struct crypt_key *k) must_check;
/* Bytes written to fd so far (compressed). */
uint64_t image_writer_bytes_out(const struct image_writer *w);
void image_writer_free(struct image_writer *w);

/* Reader on an open fd.  Does not close fd. */
struct image_reader *image_reader_new(int fd);
/* --verify: accept only an image signed by a key of t, each frame's
 * signature checked before the frame is used.  Before the first member. */
int image_reader_verify(struct image_reader *r, const struct trust *t) must_check;
/* --decrypt: the image must be encrypted with k, every frame of it. */
int image_reader_decrypt(struct image_reader *r, struct crypt_key *k) must_check;
/* The public key (32 bytes) of the signatures verified so far: false if none. */
bool image_reader_signer(const struct image_reader *r, uint8_t pub[32]);
/* From now on, decompress frames ahead on every core.  Not before a raw
 * clone of this process: until then all work happens in the caller. */
int image_reader_start_threads(struct image_reader *r) must_check;
/* Have the decompressing threads hand each member whose name starts with
 * prefix, when it fills a frame of its own (ckpt writes every pages/
 * member so), to hook(arg, name, data, len, err, errlen) right away: the
 * caller then skips it (image_member_handled()).  The hook runs on other
 * threads: no fail(); -1 with err filled fails the read when that member
 * is reached.  NULL: no hook; returns once no thread runs it any more. */
typedef int image_member_hook(void *arg, const char *name, const uint8_t *data, size_t len,
			      char *err, size_t errlen);
void image_reader_set_member_hook(struct image_reader *r, const char *prefix,
				  image_member_hook *hook, void *arg);
/* The current member was passed to the hook already. */
bool image_member_handled(const struct image_reader *r);
/* Advance to the next member (skipping any unread rest of the current one).
 * Returns 1 and fills name/size for a member, 0 after "ckpt-end" was read
 * and verified (end of image), negative on error (fail() called: truncated,
 * corrupted, not a ckpt image). */
int image_next_member(struct image_reader *r, char name[IMAGE_NAME_MAX + 1],
		      uint64_t *size) must_check;
/* Read exactly len bytes of the current member's data. */
int image_read(struct image_reader *r, void *buf, size_t len) must_check;
/* Read the rest of the current member into a malloc'd buffer. */
int image_read_all(struct image_reader *r, void **data, size_t *len) must_check;
/* Read the rest of the raw input now, into an unnamed file in $TMPDIR
 * (default /var/tmp), and go on reading from that: for when the writer at
 * the other end of a pipe must finish before we can go on. */
int image_reader_spool(struct image_reader *r) must_check;
void image_reader_free(struct image_reader *r);

#endif
