/* Encrypted frames (see crypt.h). */
#include "le.h"
#include "crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_LABEL "ckpt image key 1"
#define CHECK_LABEL "ckpt key check"
#define ALG_CHACHA20_POLY1305 1

struct crypt_key *crypt_key_load(const char *path)
{
	struct crypt_key *k = calloc(1, sizeof(*k));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, got;

	if (!k || fd < 0) {
		fail(!k ? ENOMEM : errno, "give a file of 32 or more secret bytes (head -c 32 "
		     "/dev/urandom > FILE)", "opening encryption key %s", path);
		goto err;
	}
	while ((got = read(fd, k->secret + n, sizeof(k->secret) - n)) > 0 &&
	       (size_t)(n += got) < sizeof(k->secret))
		;
	if (got < 0) {
		fail(errno, NULL, "reading encryption key %s", path);
		goto err;
	}
	if (n < CRYPT_SECRET_MIN || (size_t)n == sizeof(k->secret)) {
		fail_why(n < CRYPT_SECRET_MIN ? "shorter than 32 bytes" : "longer than 1023 bytes",
			 "make one with head -c 32 /dev/urandom > FILE",
			 "reading encryption key %s", path);
		goto err;
	}
	k->secret_len = n;
	close(fd);
	return k;
err:
	if (fd >= 0)
		close(fd);
	crypt_key_free(k);
	return NULL;
}

void crypt_key_free(struct crypt_key *k)
{
	if (!k)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static int hmac(const uint8_t *key, size_t klen, const void *a, size_t alen, const void *b,
		size_t blen, uint8_t out[32])
{
	uint8_t msg[64];
	size_t outlen = 0;

	if (alen + blen > sizeof(msg))
		return -1;
	memcpy(msg, a, alen);
	if (blen)
		memcpy(msg + alen, b, blen);
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, msg, alen + blen, out, 32,
		       &outlen) || outlen != 32)
		return -1;
	return 0;
}

/* The image key from the secret and salt, and its check value. */
static int derive(struct crypt_key *k, uint8_t check[CRYPT_CHECK_LEN])
{
	uint8_t c[32];

	if (hmac(k->secret, k->secret_len, KEY_LABEL, sizeof(KEY_LABEL) - 1, k->salt,
		 CRYPT_SALT_LEN, k->key) ||
	    hmac(k->key, sizeof(k->key), CHECK_LABEL, sizeof(CHECK_LABEL) - 1, NULL, 0, c))
		return -1;
	memcpy(check, c, CRYPT_CHECK_LEN);
	k->ready = true;
	return 0;
}

int crypt_header_make(struct crypt_key *k, uint8_t out[CRYPT_HDR_LEN])
{
	if (RAND_bytes(k->salt, CRYPT_SALT_LEN) != 1)
		return fail_why("no random bytes from libcrypto", NULL, "encrypting the image");
	put_le32(out, CRYPT_HDR_MAGIC);
	put_le32(out + 4, CRYPT_HDR_LEN - 8);
	memcpy(out + 8, "CKEN", 4);
	put_le32(out + 12, 1);
	put_le32(out + 16, ALG_CHACHA20_POLY1305);
	memcpy(out + 20, k->salt, CRYPT_SALT_LEN);
	if (derive(k, out + 20 + CRYPT_SALT_LEN))
		return fail_why("libcrypto failed", NULL, "deriving the image key");
	return 0;
}

bool crypt_is_header(const uint8_t *p, size_t len)
{
	return len >= 4 && get_le32(p) == CRYPT_HDR_MAGIC;
}

bool crypt_is_frame(const uint8_t *p, size_t len)
{
	return len >= 4 && get_le32(p) == CRYPT_FRAME_MAGIC;
}

const char *crypt_header_read(struct crypt_key *k, const uint8_t *p, size_t len, char *why,
			      size_t whylen)
{
	uint8_t check[CRYPT_CHECK_LEN];

	if (len != CRYPT_HDR_LEN || get_le32(p + 4) != CRYPT_HDR_LEN - 8 ||
	    memcmp(p + 8, "CKEN", 4) || get_le32(p + 12) != 1) {
		snprintf(why, whylen, "a damaged encryption header");
		return why;
	}
	if (get_le32(p + 16) != ALG_CHACHA20_POLY1305) {
		snprintf(why, whylen, "encrypted with unknown algorithm %u", get_le32(p + 16));
		return why;
	}
	memcpy(k->salt, p + 20, CRYPT_SALT_LEN);
	if (derive(k, check)) {
		snprintf(why, whylen, "libcrypto failed deriving the image key");
		return why;
	}
	if (CRYPTO_memcmp(check, p + 20 + CRYPT_SALT_LEN, CRYPT_CHECK_LEN)) {
		k->ready = false;
		snprintf(why, whylen, "wrong key: the image was encrypted with another key");
		return why;
	}
	return NULL;
}

static void nonce(uint8_t iv[12], uint64_t seq)
{
	memset(iv, 0, 4);
	put_le64(iv + 4, seq);
}

size_t crypt_seal(const struct crypt_key *k, uint64_t seq, uint8_t *buf, size_t len, size_t cap)
{
	EVP_CIPHER_CTX *c;
	uint8_t iv[12], *ct = buf + 16;
	int n = 0, m = 0, ok;

	if (!k->ready || cap < len + CRYPT_OVERHEAD || len > 0x7fffffff - CRYPT_OVERHEAD)
		return 0;
	memmove(ct, buf, len);
	nonce(iv, seq);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, k->key, iv) &&
	     EVP_EncryptUpdate(c, ct, &n, ct, (int)len) &&
	     EVP_EncryptFinal_ex(c, ct + n, &m) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, CRYPT_TAG_LEN, ct + len);
	EVP_CIPHER_CTX_free(c);
	if (!ok || (size_t)(n + m) != len)
		return 0;
	put_le32(buf, CRYPT_FRAME_MAGIC);
	put_le32(buf + 4, (uint32_t)(len + 8 + CRYPT_TAG_LEN));
	put_le64(buf + 8, seq);
	return len + CRYPT_OVERHEAD;
}

const char *crypt_open(const struct crypt_key *k, uint8_t *frame, size_t len, uint64_t *seq,
		       size_t *off, size_t *plen)
{
	EVP_CIPHER_CTX *c;
	uint8_t iv[12], *ct = frame + 16;
	size_t ctlen;
	int n = 0, m = 0, ok;

	if (len < CRYPT_OVERHEAD || !crypt_is_frame(frame, len) || get_le32(frame + 4) != len - 8)
		return "a damaged encrypted frame";
	ctlen = len - CRYPT_OVERHEAD;
	*seq = get_le64(frame + 8);
	nonce(iv, *seq);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, k->key, iv) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, CRYPT_TAG_LEN, ct + ctlen) &&
	     EVP_DecryptUpdate(c, ct, &n, ct, (int)ctlen) &&
	     EVP_DecryptFinal_ex(c, ct + n, &m) > 0;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return "an encrypted frame does not authenticate (changed, or not of this image)";
	*off = 16;
	*plen = ctlen;
	return NULL;
}
