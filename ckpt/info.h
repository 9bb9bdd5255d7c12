#ifndef CKPT_INFO_H
#define CKPT_INFO_H

/* `ckpt info IMAGE [--json]`: what the frozen process in an image looked
 * like, from the image's metadata alone (memory contents are not read).
 * argv[0] is "info".  Returns the exit status. */
int info_main(int argc, char **argv);

struct image_reader;
struct image_meta;
struct member_cursor;
/* Open an image (a path, or "-" for stdin) and read its metadata (every
 * member before the first pages/ one).  The caller frees *r and m (also on
 * failure) and closes *fd unless it is stdin. */
struct trust;
struct crypt_key;
/* trust: NULL, or --verify's keys (image_reader_verify()); key: NULL, or
 * --decrypt's (image_reader_decrypt()). */
int info_open_image(const char *path, int *fd, struct image_reader **r,
		    struct image_meta *m, struct member_cursor *next, const struct trust *trust,
		    struct crypt_key *key);

#endif
