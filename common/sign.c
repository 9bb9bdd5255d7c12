/* Signature frames, keys and trusted keys (see sign.h). */
#include "le.h"
#include "sign.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOMAIN "ckpt image signature 1"	/* and its NUL */
#define MSG_LEN (sizeof(DOMAIN) + 8 + SIG_DIGEST_LEN)
#define TRUST_MAX 1024

struct sign_key {
	EVP_PKEY *pkey;
	uint8_t pub[SIG_PUBKEY_LEN];
};

struct trusted_key {
	EVP_PKEY *pkey;
	uint8_t pub[SIG_PUBKEY_LEN];
};

struct trust {
	struct trusted_key *k;
	size_t n;
};

static const char *crypto_why(void)
{
	static __thread char buf[160];
	unsigned long e = ERR_get_error();

	if (!e)
		return "libcrypto failed";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static void message(uint8_t msg[MSG_LEN], uint64_t offset, const uint8_t digest[SIG_DIGEST_LEN])
{
	memcpy(msg, DOMAIN, sizeof(DOMAIN));
	put_le64(msg + sizeof(DOMAIN), offset);
	memcpy(msg + sizeof(DOMAIN) + 8, digest, SIG_DIGEST_LEN);
}

void sign_fingerprint(const uint8_t pub[SIG_PUBKEY_LEN], char fp[SIG_FINGERPRINT_LEN])
{
	struct sha256 *s = sha256_new();
	uint8_t d[SHA256_LEN] = { 0 };
	char hex[SHA256_HEX_LEN + 1];

	if (s) {
		sha256_update(s, pub, SIG_PUBKEY_LEN);
		sha256_final(s, d);
		sha256_free(s);
	}
	sha256_hex(d, hex);
	snprintf(fp, SIG_FINGERPRINT_LEN, "SHA256:%.16s", hex);
}

void sign_key_fingerprint(const struct sign_key *k, char fp[SIG_FINGERPRINT_LEN])
{
	sign_fingerprint(k->pub, fp);
}

static int raw_public(EVP_PKEY *pkey, uint8_t pub[SIG_PUBKEY_LEN])
{
	size_t len = SIG_PUBKEY_LEN;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
		return -1;
	if (!EVP_PKEY_get_raw_public_key(pkey, pub, &len) || len != SIG_PUBKEY_LEN)
		return -1;
	return 0;
}

struct sign_key *sign_key_load(const char *path)
{
	struct sign_key *k;
	FILE *f = fopen(path, "re");
	EVP_PKEY *pkey;

	if (!f) {
		fail(errno, "give the private key file written by `ckpt keygen`",
		     "opening signing key %s", path);
		return NULL;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey) {
		ERR_clear_error();
		fail_why("not a PEM private key", "give the private key written by `ckpt keygen` "
			 "(not the .pub file)", "reading signing key %s", path);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		fail(ENOMEM, NULL, "reading signing key %s", path);
		return NULL;
	}
	k->pkey = pkey;
	if (raw_public(pkey, k->pub)) {
		sign_key_free(k);
		fail_why("not an Ed25519 key", "make one with `ckpt keygen FILE`",
			 "reading signing key %s", path);
		return NULL;
	}
	return k;
}

void sign_key_free(struct sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

int sign_keygen(const char *path, char fp[SIG_FINGERPRINT_LEN])
{
	char pub_path[PATH_MAX];
	EVP_PKEY *pkey = NULL;
	FILE *f = NULL, *g = NULL;
	uint8_t pub[SIG_PUBKEY_LEN];
	int fd = -1, pfd = -1, ret = -1;
	bool made_priv = false, made_pub = false;

	if ((size_t)snprintf(pub_path, sizeof(pub_path), "%s.pub", path) >= sizeof(pub_path))
		return fail_why("path too long", NULL, "creating key %s", path);
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey || raw_public(pkey, pub))
		return fail_why(crypto_why(), NULL, "generating an Ed25519 key");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fail(errno, errno == EEXIST ? "remove it first or choose another name" : NULL,
		     "creating private key %s", path);
		goto out;
	}
	made_priv = true;
	pfd = open(pub_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (pfd < 0) {
		fail(errno, errno == EEXIST ? "remove it first or choose another name" : NULL,
		     "creating public key %s", pub_path);
		goto out;
	}
	made_pub = true;
	f = fdopen(fd, "w");
	if (f)
		fd = -1;
	g = fdopen(pfd, "w");
	if (g)
		pfd = -1;
	errno = 0;
	if (!f || !g || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_PUBKEY(g, pkey) || fflush(f) || fflush(g) || fsync(fileno(f))) {
		fail_why(errno ? strerror(errno) : crypto_why(), NULL, "writing key %s", path);
		goto out;
	}
	sign_fingerprint(pub, fp);
	ret = 0;
out:
	if (f && fclose(f) && !ret)
		ret = fail(errno, NULL, "writing private key %s", path);
	if (g && fclose(g) && !ret)
		ret = fail(errno, NULL, "writing public key %s", pub_path);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	/* Leave no half-written key behind (only files we created). */
	if (ret && made_priv)
		unlink(path);
	if (ret && made_pub)
		unlink(pub_path);
	EVP_PKEY_free(pkey);
	return ret;
}

static int trust_add_file(struct trust *t, const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *pkey;
	struct trusted_key *n;

	if (!f)
		return fail(errno, "give a public key file (FILE.pub of `ckpt keygen FILE`) or "
			    "a directory of them", "opening trusted key %s", path);
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey) {
		ERR_clear_error();
		return fail_why("not a PEM public key", "give the .pub file written by `ckpt "
				"keygen`", "reading trusted key %s", path);
	}
	if (t->n >= TRUST_MAX) {
		EVP_PKEY_free(pkey);
		return fail_why("too many keys", "keep at most 1024 trusted keys",
				"reading trusted key %s", path);
	}
	n = realloc(t->k, (t->n + 1) * sizeof(*t->k));
	if (!n) {
		EVP_PKEY_free(pkey);
		return fail(ENOMEM, NULL, "reading trusted key %s", path);
	}
	t->k = n;
	if (raw_public(pkey, t->k[t->n].pub)) {
		EVP_PKEY_free(pkey);
		return fail_why("not an Ed25519 key", "make keys with `ckpt keygen FILE`",
				"reading trusted key %s", path);
	}
	t->k[t->n++].pkey = pkey;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int trust_add_dir(struct trust *t, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int ret = 0;

	if (!d)
		return fail(errno, NULL, "opening trusted key directory %s", path);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **nn;

		if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".pub"))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(e->d_name))) {
			names = nn ? nn : names;
			ret = fail(ENOMEM, NULL, "reading trusted key directory %s", path);
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		char p[PATH_MAX];

		if (!ret && (size_t)snprintf(p, sizeof(p), "%s/%s", path, names[i]) >= sizeof(p))
			ret = fail_why("path too long", NULL, "reading %s/%s", path, names[i]);
		if (!ret)
			ret = trust_add_file(t, p);
		free(names[i]);
	}
	free(names);
	return ret;
}

struct trust *trust_load(const char *path)
{
	struct trust *t = calloc(1, sizeof(*t));
	struct stat st;

	if (!t) {
		fail(ENOMEM, NULL, "reading trusted keys");
		return NULL;
	}
	if (stat(path, &st)) {
		fail(errno, "give a public key file (FILE.pub of `ckpt keygen FILE`) or a "
		     "directory of *.pub files", "reading trusted keys %s", path);
		goto err;
	}
	if (S_ISDIR(st.st_mode) ? trust_add_dir(t, path) : trust_add_file(t, path))
		goto err;
	if (!t->n) {
		fail_why("it holds no *.pub key", "put the public keys of the hosts allowed to "
			 "send images there", "reading trusted keys %s", path);
		goto err;
	}
	return t;
err:
	trust_free(t);
	return NULL;
}

size_t trust_count(const struct trust *t)
{
	return t ? t->n : 0;
}

void trust_free(struct trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		EVP_PKEY_free(t->k[i].pkey);
	free(t->k);
	free(t);
}

int sig_frame_make(const struct sign_key *k, uint64_t offset,
		   const uint8_t digest[SIG_DIGEST_LEN], uint8_t out[SIG_FRAME_LEN])
{
	uint8_t msg[MSG_LEN], *p = out;
	size_t siglen = SIG_LEN;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	message(msg, offset, digest);
	put_le32(p, SIG_FRAME_MAGIC);
	put_le32(p + 4, SIG_BODY_LEN);
	memcpy(p + 8, SIG_BODY_MAGIC, 4);
	put_le32(p + 12, SIG_VERSION);
	put_le64(p + 16, offset);
	memcpy(p + 24, k->pub, SIG_PUBKEY_LEN);
	ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, k->pkey) &&
	     EVP_DigestSign(c, p + 24 + SIG_PUBKEY_LEN, &siglen, msg, sizeof(msg)) &&
	     siglen == SIG_LEN;
	EVP_MD_CTX_free(c);
	if (!ok)
		return fail_why(crypto_why(), NULL, "signing the image");
	return 0;
}

bool sig_frame_is(const uint8_t *p, size_t len)
{
	return len >= 12 && get_le32(p) == SIG_FRAME_MAGIC && !memcmp(p + 8, SIG_BODY_MAGIC, 4);
}

const char *sig_frame_check(const struct trust *t, const uint8_t *frame, uint64_t offset,
			    const uint8_t digest[SIG_DIGEST_LEN], char *why, size_t whylen,
			    bool *untrusted)
{
	const uint8_t *pub = frame + 24, *sig = frame + 24 + SIG_PUBKEY_LEN;
	const struct trusted_key *key = NULL;
	char fp[SIG_FINGERPRINT_LEN];
	uint8_t msg[MSG_LEN];
	EVP_MD_CTX *c;
	int ok;

	*untrusted = false;
	if (!sig_frame_is(frame, SIG_FRAME_LEN) || get_le32(frame + 4) != SIG_BODY_LEN) {
		snprintf(why, whylen, "a damaged signature frame");
		return why;
	}
	if (get_le32(frame + 12) != SIG_VERSION) {
		snprintf(why, whylen, "a signature of unknown version %u", get_le32(frame + 12));
		return why;
	}
	if (get_le64(frame + 16) != offset) {
		snprintf(why, whylen, "the signature of bytes 0 to %llu found at byte %llu "
			 "(frames were removed, added or moved)",
			 (unsigned long long)get_le64(frame + 16), (unsigned long long)offset);
		return why;
	}
	for (size_t i = 0; t && i < t->n && !key; i++)
		if (!memcmp(t->k[i].pub, pub, SIG_PUBKEY_LEN))
			key = &t->k[i];
	if (!key) {
		sign_fingerprint(pub, fp);
		snprintf(why, whylen, "signed with key %s, which is not trusted", fp);
		*untrusted = true;
		return why;
	}
	message(msg, offset, digest);
	c = EVP_MD_CTX_new();
	ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, key->pkey) &&
	     EVP_DigestVerify(c, sig, SIG_LEN, msg, sizeof(msg)) == 1;
	EVP_MD_CTX_free(c);
	ERR_clear_error();
	if (!ok) {
		snprintf(why, whylen, "the signature of bytes 0 to %llu does not verify",
			 (unsigned long long)offset);
		return why;
	}
	return NULL;
}

struct sig_hash *sig_hash_new(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c && !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	if (!c)
		fail_why(crypto_why(), NULL, "setting up image signatures");
	return (struct sig_hash *)c;
}

void sig_hash_update(struct sig_hash *h, const void *data, size_t len)
{
	EVP_DigestUpdate((EVP_MD_CTX *)h, data, len);
}

int sig_hash_peek(const struct sig_hash *h, uint8_t out[SIG_DIGEST_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = SIG_DIGEST_LEN;
	int ok = c && EVP_MD_CTX_copy_ex(c, (const EVP_MD_CTX *)h) &&
		 EVP_DigestFinal_ex(c, out, &n);

	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

void sig_hash_free(struct sig_hash *h)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)h);
}
