/* Signed images (ckpt --sign KEY, restart --verify PUBKEY): Ed25519 through
 * libcrypto (OpenSSL 3, already linked for SHA-256).
 *
 * The signature covers the image byte for byte, in stream order, so a
 * pipe still works: after every zstd frame the writer puts a signature
 * frame, a zstd *skippable* frame (ignored by zstd, tar --zstd and older
 * readers) holding an Ed25519 signature of
 *
 *     "ckpt image signature 1\0" | u64 offset | SHA-256(image[0 .. offset))
 *
 * where offset is the position of the signature frame itself: it signs
 * every byte before it, earlier signature frames included.  A verifying
 * reader checks the signature that follows a frame before it decompresses
 * the frame, so no byte of the image is used before it is known to come
 * from a trusted key.  See docs/image-format.md, section 1.5.
 *
 * This file is the codec of signature frames, the keys and the trusted
 * key set; common/image.c does the hashing and placement. */
#ifndef CKPT_SIGN_H
#define CKPT_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SIG_FRAME_MAGIC 0x184D2A5Eu	/* a zstd skippable frame magic */
#define SIG_BODY_MAGIC "CKSG"
#define SIG_VERSION 1
#define SIG_PUBKEY_LEN 32
#define SIG_LEN 64
/* u32 frame magic | u32 body size | "CKSG" | u32 version | u64 offset |
 * public key | signature */
#define SIG_BODY_LEN (4 + 4 + 8 + SIG_PUBKEY_LEN + SIG_LEN)
#define SIG_FRAME_LEN (8 + SIG_BODY_LEN)
#define SIG_DIGEST_LEN 32
#define SIG_FINGERPRINT_LEN 24	/* "SHA256:" + 16 hex digits + NUL */

struct sign_key;	/* a private key, for signing */
struct trust;		/* the public keys a reader accepts */

/* A PEM Ed25519 private key (PKCS#8, as `ckpt keygen` or `openssl genpkey
 * -algorithm ed25519` writes it).  NULL with fail() on error. */
struct sign_key *sign_key_load(const char *path);
void sign_key_free(struct sign_key *k);
/* Write a new key pair: path (private, mode 0600, must not exist) and
 * path.pub (public).  fp gets the key's fingerprint. */
int sign_keygen(const char *path, char fp[SIG_FINGERPRINT_LEN]) must_check;

/* path: a PEM public key file, or a directory whose *.pub files are the
 * trusted keys (e.g. /etc/ckpt/trusted.d).  NULL with fail() if none. */
struct trust *trust_load(const char *path);
size_t trust_count(const struct trust *t);
void trust_free(struct trust *t);

/* "SHA256:" and the first 8 bytes of SHA-256 of the raw public key, hex. */
void sign_fingerprint(const uint8_t pub[SIG_PUBKEY_LEN], char fp[SIG_FINGERPRINT_LEN]);
void sign_key_fingerprint(const struct sign_key *k, char fp[SIG_FINGERPRINT_LEN]);

/* The signature frame for offset and digest = SHA-256 of the bytes before
 * it.  0, or -1 (libcrypto failed; fail() called). */
int sig_frame_make(const struct sign_key *k, uint64_t offset,
		   const uint8_t digest[SIG_DIGEST_LEN], uint8_t out[SIG_FRAME_LEN]) must_check;
/* Do the len bytes at p start with a signature frame?  (Only the magics.) */
bool sig_frame_is(const uint8_t *p, size_t len);
/* Check a signature frame of exactly SIG_FRAME_LEN bytes found at offset
 * with digest of the bytes before it.  NULL if it verifies with a trusted
 * key; otherwise why not (in why), and *untrusted is set when it is a valid
 * frame by a key t does not hold. */
const char *sig_frame_check(const struct trust *t, const uint8_t *frame, uint64_t offset,
			    const uint8_t digest[SIG_DIGEST_LEN], char *why, size_t whylen,
			    bool *untrusted);

/* The running SHA-256 of the stream, read without ending it. */
struct sig_hash;
struct sig_hash *sig_hash_new(void);	/* NULL with fail() */
void sig_hash_update(struct sig_hash *h, const void *data, size_t len);
int sig_hash_peek(const struct sig_hash *h, uint8_t out[SIG_DIGEST_LEN]);
void sig_hash_free(struct sig_hash *h);

#endif
