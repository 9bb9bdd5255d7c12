/* Encrypted images (ckpt --encrypt KEYFILE, restart --decrypt KEYFILE):
 * ChaCha20-Poly1305 (libcrypto) per zstd frame, so frames stay
 * independent and are encrypted and decrypted on the compression threads.
 *
 * The stream starts with a header frame (a zstd skippable frame) holding a
 * random 16-byte salt; the image key is HMAC-SHA256(secret, "ckpt image
 * key 1" | salt), the secret being the key file's bytes (32 or more), so
 * every image has its own key and a frame's nonce can be its sequence
 * number.  Every zstd frame is then replaced by an encrypted frame (also a
 * skippable frame):
 *
 *   u32 0x184D2A5C | u32 size | u64 seq | ciphertext | tag[16]
 *
 * nonce = u32 0 | u64 seq (LE), no AAD; seq increases strictly through the
 * image.  See docs/image-format.md, section 1.6. */
#ifndef CKPT_CRYPT_H
#define CKPT_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CRYPT_HDR_MAGIC 0x184D2A5Du
#define CRYPT_FRAME_MAGIC 0x184D2A5Cu
#define CRYPT_SALT_LEN 16
#define CRYPT_CHECK_LEN 8
/* u32 magic | u32 size | "CKEN" | u32 version | u32 algorithm | salt |
 * key check (HMAC-SHA256(image key, "ckpt key check") first 8 bytes) */
#define CRYPT_HDR_LEN (8 + 12 + CRYPT_SALT_LEN + CRYPT_CHECK_LEN)
#define CRYPT_TAG_LEN 16
#define CRYPT_OVERHEAD (8 + 8 + CRYPT_TAG_LEN)	/* per frame */
#define CRYPT_SECRET_MIN 32
#define CRYPT_SECRET_MAX 1024

struct crypt_key {
	uint8_t secret[CRYPT_SECRET_MAX];
	size_t secret_len;
	uint8_t salt[CRYPT_SALT_LEN];
	uint8_t key[32];	/* of this image */
	bool ready;		/* key derived */
};

/* A key file: 32 to 1024 bytes of secret (e.g. `head -c 32 /dev/urandom`).
 * NULL with fail(). */
struct crypt_key *crypt_key_load(const char *path);
void crypt_key_free(struct crypt_key *k);

/* Writer: a new salt, the image key, and the header frame. */
int crypt_header_make(struct crypt_key *k, uint8_t out[CRYPT_HDR_LEN]) must_check;
/* Reader: derive the image key from a header frame (len bytes); NULL, or
 * why not (wrong key, damaged header) in why. */
const char *crypt_header_read(struct crypt_key *k, const uint8_t *p, size_t len, char *why,
			      size_t whylen);
bool crypt_is_header(const uint8_t *p, size_t len);
bool crypt_is_frame(const uint8_t *p, size_t len);

/* buf[0 .. len) (plaintext) becomes the encrypted frame buf[0 .. returned);
 * cap >= len + CRYPT_OVERHEAD.  0 on error.  Thread-safe. */
size_t crypt_seal(const struct crypt_key *k, uint64_t seq, uint8_t *buf, size_t len, size_t cap);
/* An encrypted frame of len bytes, decrypted in place: the plaintext is
 * frame[*off .. *off + *plen).  NULL, or why not.  Thread-safe. */
const char *crypt_open(const struct crypt_key *k, uint8_t *frame, size_t len, uint64_t *seq,
		       size_t *off, size_t *plen);

#endif
