/* SHA-256 through libcrypto's EVP interface (see sha256.h for why). */
#include "sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct sha256 *sha256_new(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c && !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	return (struct sha256 *)c;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	EVP_DigestUpdate((EVP_MD_CTX *)s, data, len);
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	unsigned int n = SHA256_LEN;

	EVP_DigestFinal_ex((EVP_MD_CTX *)s, out, &n);
	EVP_DigestInit_ex((EVP_MD_CTX *)s, EVP_sha256(), NULL);
}

void sha256_free(struct sha256 *s)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)s);
}

int sha256_fd(int fd, uint8_t out[SHA256_LEN], uint64_t *size)
{
	const size_t cap = 1 << 20;
	struct sha256 *s = sha256_new();
	uint8_t *buf = malloc(cap);
	uint64_t off = 0;
	int ret = -1;

	if (!s || !buf) {
		fail(ENOMEM, NULL, "hashing a file");
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, cap, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(errno, NULL, "reading a file to hash it");
			goto out;
		}
		if (n == 0)
			break;
		sha256_update(s, buf, n);
		off += n;
	}
	sha256_final(s, out);
	if (size)
		*size = off;
	ret = 0;
out:
	free(buf);
	if (s)
		sha256_free(s);
	return ret;
}

void sha256_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX_LEN + 1])
{
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

int sha256_parse_hex(const char *hex, uint8_t d[SHA256_LEN])
{
	int i;

	for (i = 0; i < SHA256_HEX_LEN; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2)
			d[i / 2] |= v;
		else
			d[i / 2] = v << 4;
	}
	return hex[SHA256_HEX_LEN] ? -1 : 0;
}
