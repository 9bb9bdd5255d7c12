/* SHA-256 of file contents, for bundled files (content-addressed members
 * and cache entries).  libcrypto's implementation (OpenSSL 3, Debian's
 * libssl3): maintained, and it uses the CPU's SHA extensions (SHA-NI) where
 * present, several times faster than plain C on the libraries and data
 * files a bundle hashes. */
#ifndef CKPT_SHA256_H
#define CKPT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256;	/* an EVP_MD_CTX */

struct sha256 *sha256_new(void);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the digest and resets s for another use. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256 *s);
/* The whole contents of fd, from offset 0 (pread: the offset is kept);
 * *size: bytes hashed.  -1 with fail() on a read error. */
int sha256_fd(int fd, uint8_t out[SHA256_LEN], uint64_t *size) must_check;
void sha256_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX_LEN + 1]);
/* 0 if hex is 64 lowercase hex digits (written to d), -1 otherwise. */
int sha256_parse_hex(const char *hex, uint8_t d[SHA256_LEN]);

#endif
