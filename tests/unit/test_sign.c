/* Unit tests for signed images: the signature frame codec, keys and
 * trusted keys (common/sign.c), and the container signing and verifying
 * every byte in stream order (image_writer_sign(), image_reader_verify()). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "image.h"
#include "sign.h"
#include "crypt.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

#define expect_error(substr)							\
	do {									\
		ck_assert_msg(strstr(error_text(), (substr)) != NULL,		\
			      "error '%s' lacks '%s'", error_text(), (substr));	\
		error_clear();							\
	} while (0)

static char dir[64];
static char key1[128], key2[128], pub1[128], pub2[128];

static void setup(void)
{
	char fp[SIG_FINGERPRINT_LEN];

	snprintf(dir, sizeof(dir), "/tmp/ckpt-test-sign-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(key1, sizeof(key1), "%s/one", dir);
	snprintf(key2, sizeof(key2), "%s/two", dir);
	snprintf(pub1, sizeof(pub1), "%s/one.pub", dir);
	snprintf(pub2, sizeof(pub2), "%s/two.pub", dir);
	ck_assert_msg(sign_keygen(key1, fp) == 0, "%s", error_text());
	ck_assert(!strncmp(fp, "SHA256:", 7) && strlen(fp) == 23);
	ck_assert_msg(sign_keygen(key2, fp) == 0, "%s", error_text());
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_keys)
{
	char fp[SIG_FINGERPRINT_LEN], sub[160];
	struct stat st;
	struct trust *t;
	struct sign_key *k;

	ck_assert_int_eq(stat(key1, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* never overwrites */
	ck_assert_int_lt(sign_keygen(key1, fp), 0);
	expect_error("creating private key");
	k = sign_key_load(key1);
	ck_assert_ptr_nonnull(k);
	sign_key_free(k);
	/* a public key is no signing key, and the other way round */
	ck_assert_ptr_null(sign_key_load(pub1));
	expect_error("not a PEM private key");
	ck_assert_ptr_null(trust_load(key1));
	expect_error("not a PEM public key");
	t = trust_load(pub1);
	ck_assert_uint_eq(trust_count(t), 1);
	trust_free(t);
	/* a directory: its *.pub files */
	t = trust_load(dir);
	ck_assert_msg(t != NULL, "%s", error_text());
	ck_assert_uint_eq(trust_count(t), 2);
	trust_free(t);
	snprintf(sub, sizeof(sub), "%s/empty", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_ptr_null(trust_load(sub));
	expect_error("no *.pub key");
	ck_assert_ptr_null(trust_load("/nonexistent/keys"));
	expect_error("reading trusted keys");
}
END_TEST

START_TEST(test_frame_codec)
{
	struct sign_key *k = sign_key_load(key1), *k2 = sign_key_load(key2);
	struct trust *t = trust_load(pub1);
	uint8_t digest[SIG_DIGEST_LEN], frame[SIG_FRAME_LEN];
	char why[300];
	bool untrusted;

	ck_assert(k && k2 && t);
	for (size_t i = 0; i < sizeof(digest); i++)
		digest[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(sig_frame_make(k, 12345, digest, frame), 0);
	/* a zstd skippable frame of the documented size */
	ck_assert_uint_eq(frame[0] | frame[1] << 8 | frame[2] << 16 | (uint32_t)frame[3] << 24,
			  SIG_FRAME_MAGIC);
	ck_assert_uint_eq(frame[4], SIG_BODY_LEN);
	ck_assert(sig_frame_is(frame, sizeof(frame)));
	ck_assert(!sig_frame_is(frame, 11));
	ck_assert_ptr_null(sig_frame_check(t, frame, 12345, digest, why, sizeof(why), &untrusted));
	/* another offset, another digest */
	ck_assert_ptr_nonnull(sig_frame_check(t, frame, 12346, digest, why, sizeof(why),
					      &untrusted));
	ck_assert(!untrusted);
	digest[5] ^= 1;
	ck_assert_ptr_nonnull(sig_frame_check(t, frame, 12345, digest, why, sizeof(why),
					      &untrusted));
	ck_assert(strstr(why, "does not verify"));
	digest[5] ^= 1;
	/* every bit of the frame matters */
	for (size_t i = 0; i < sizeof(frame); i++)
		for (int b = 0; b < 8; b++) {
			frame[i] ^= (uint8_t)(1 << b);
			ck_assert_msg(sig_frame_check(t, frame, 12345, digest, why, sizeof(why),
						      &untrusted) != NULL, "bit %d of byte %zu", b, i);
			frame[i] ^= (uint8_t)(1 << b);
		}
	/* a valid signature by a key not trusted */
	ck_assert_int_eq(sig_frame_make(k2, 12345, digest, frame), 0);
	ck_assert_ptr_nonnull(sig_frame_check(t, frame, 12345, digest, why, sizeof(why),
					      &untrusted));
	ck_assert(untrusted);
	ck_assert(strstr(why, "not trusted"));
	sign_key_free(k);
	sign_key_free(k2);
	trust_free(t);
}
END_TEST

/* A small image with a 3 MiB member (several frames), signed with key
 * (NULL: unsigned), in an unlinked file; its bytes in *img. */
#define BIG (3u << 20)
static uint8_t *make_image_enc(const char *key, struct crypt_key *ek, size_t *len);
static uint8_t *make_image(const char *key, size_t *len)
{
	return make_image_enc(key, NULL, len);
}

static uint8_t *make_image_enc(const char *key, struct crypt_key *ek, size_t *len)
{
	char path[] = "/tmp/ckpt-test-sign-img-XXXXXX";
	int fd = mkstemp(path);
	struct image_writer *w = image_writer_new(fd, 1);
	struct sign_key *k = key ? sign_key_load(key) : NULL;
	uint8_t *big = malloc(BIG), *img;
	uint32_t x = 12345;
	struct stat st;

	ck_assert(fd >= 0 && w && big && (!key || k));
	unlink(path);
	for (size_t i = 0; i < BIG; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[i] = i < BIG / 2 ? (uint8_t)x : (uint8_t)(i % 7);
	}
	if (k)
		ck_assert_int_eq(image_writer_sign(w, k), 0);
	if (ek)
		ck_assert_int_eq(image_writer_encrypt(w, ek), 0);
	ck_assert_int_eq(image_write_member(w, "ckpt-image", "header", 6), 0);
	ck_assert_int_eq(image_write_member(w, "meta/process", "process", 7), 0);
	ck_assert_int_eq(image_write_member(w, "pages/00000000", big, BIG), 0);
	ck_assert_int_eq(image_write_member(w, "index/pages", "index", 5), 0);
	ck_assert_msg(image_writer_finish(w) == 0, "%s", error_text());
	image_writer_free(w);
	sign_key_free(k);
	ck_assert_int_eq(fstat(fd, &st), 0);
	img = malloc(st.st_size);
	ck_assert_int_eq(pread(fd, img, st.st_size, 0), st.st_size);
	close(fd);
	free(big);
	*len = st.st_size;
	return img;
}

/* Read every member of the image in img; with trust, verifying. */
static int read_image_enc(const uint8_t *img, size_t len, const struct trust *t,
			  struct crypt_key *ek, unsigned *members);
static int read_image(const uint8_t *img, size_t len, const struct trust *t, unsigned *members)
{
	return read_image_enc(img, len, t, NULL, members);
}

static int read_image_enc(const uint8_t *img, size_t len, const struct trust *t,
			  struct crypt_key *ek, unsigned *members)
{
	char path[] = "/tmp/ckpt-test-sign-img-XXXXXX", name[IMAGE_NAME_MAX + 1];
	int fd = mkstemp(path), ret;
	struct image_reader *r;
	uint64_t size;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, img, len), (ssize_t)len);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	r = image_reader_new(fd);
	ck_assert_ptr_nonnull(r);
	*members = 0;
	ret = t ? image_reader_verify(r, t) : 0;
	if (!ret && ek)
		ret = image_reader_decrypt(r, ek);
	while (!ret && (ret = image_next_member(r, name, &size)) > 0) {
		void *data;
		size_t n;

		ret = image_read_all(r, &data, &n);
		free(data);
		++*members;
	}
	image_reader_free(r);
	close(fd);
	return ret;
}

START_TEST(test_image_signed)
{
	struct trust *t = trust_load(pub1), *t2 = trust_load(pub2), *all = trust_load(dir);
	size_t len, ulen, nsig = 0;
	uint8_t *img = make_image(key1, &len), *uimg = make_image(NULL, &ulen);
	unsigned n;

	ck_assert(t && t2 && all);
	/* One signature after each frame: more than 3 here. */
	for (size_t i = 0; i + SIG_FRAME_LEN <= len; i++)
		if (sig_frame_is(img + i, SIG_FRAME_LEN))
			nsig++;
	ck_assert_uint_ge(nsig, 3);
	ck_assert_msg(read_image(img, len, t, &n) == 0, "%s", error_text());
	ck_assert_uint_eq(n, 4);
	ck_assert_msg(read_image(img, len, all, &n) == 0, "%s", error_text());
	/* A reader that does not verify skips the signatures. */
	ck_assert_msg(read_image(img, len, NULL, &n) == 0, "%s", error_text());
	ck_assert_uint_eq(n, 4);
	/* Wrong key, unsigned: refused before the first member. */
	ck_assert_int_lt(read_image(img, len, t2, &n), 0);
	ck_assert_uint_eq(n, 0);
	expect_error("not trusted");
	ck_assert_int_lt(read_image(uimg, ulen, t, &n), 0);
	ck_assert_uint_eq(n, 0);
	expect_error("not signed");
	free(img);
	free(uimg);
	trust_free(t);
	trust_free(t2);
	trust_free(all);
}
END_TEST

START_TEST(test_image_tampered)
{
	struct trust *t = trust_load(pub1);
	size_t len;
	uint8_t *img = make_image(key1, &len);
	unsigned n;

	/* A byte changed anywhere (frames, signatures, the last one) is a
	 * signature error, not a zstd one: caught before decompression. */
	for (size_t off = 0; off < len; off += off < 400 || off > len - 400 ? 3 : 4999) {
		img[off] ^= 0x20;
		ck_assert_msg(read_image(img, len, t, &n) < 0, "flip at %zu of %zu read fine", off,
			      len);
		ck_assert_msg(strstr(error_text(), "signature") ||
			      strstr(error_text(), "not a ckpt image"),
			      "flip at %zu: %s", off, error_text());
		error_clear();
		img[off] ^= 0x20;
	}
	/* Cut anywhere: refused. */
	for (size_t cut = 1; cut < len; cut += cut > len - 300 ? 7 : 40009) {
		ck_assert_msg(read_image(img, cut, t, &n) < 0, "cut at %zu of %zu read fine", cut,
			      len);
		error_clear();
	}
	/* Cut exactly before the last signature. */
	ck_assert_int_lt(read_image(img, len - SIG_FRAME_LEN, t, &n), 0);
	expect_error("signature after byte");
	/* Nothing after the last signature is needed. */
	ck_assert_int_eq(read_image(img, len, t, &n), 0);
	free(img);
	trust_free(t);
}
END_TEST

static struct crypt_key *secret(const char *name, char c)
{
	char path[160];
	char buf[40];
	FILE *f;

	memset(buf, c, sizeof(buf));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
	fclose(f);
	return crypt_key_load(path);
}

START_TEST(test_encrypted)
{
	struct crypt_key *ek = secret("e1", 'a'), *ek2 = secret("e2", 'b'), *rk = secret("e1b", 'a');
	struct trust *t = trust_load(pub1);
	size_t len, len2, slen;
	uint8_t *img = make_image_enc(NULL, ek, &len), *img2 = make_image_enc(NULL, ek, &len2);
	uint8_t *simg = make_image_enc(key1, ek, &slen), *plain;
	size_t plen;
	unsigned n;
	char path[160];
	FILE *f;

	ck_assert(ek && ek2 && rk && t);
	/* too short a secret */
	snprintf(path, sizeof(path), "%s/short", dir);
	f = fopen(path, "w");
	fputs("short", f);
	fclose(f);
	ck_assert_ptr_null(crypt_key_load(path));
	expect_error("shorter than 32 bytes");
	/* Round trip; nothing of the content in clear; another salt each time. */
	ck_assert_msg(read_image_enc(img, len, NULL, rk, &n) == 0, "%s", error_text());
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_null(memmem(img, len, "ckpt-image", 10));
	ck_assert_ptr_null(memmem(img, len, "meta/process", 12));
	ck_assert(len != len2 || memcmp(img, img2, len));	/* (sizes may differ by a byte) */
	/* signed and encrypted */
	ck_assert_msg(read_image_enc(simg, slen, t, rk, &n) == 0, "%s", error_text());
	ck_assert_uint_eq(n, 4);
	/* no key, wrong key */
	ck_assert_int_lt(read_image(img, len, NULL, &n), 0);
	expect_error("encrypted");
	ck_assert_int_lt(read_image_enc(img, len, NULL, ek2, &n), 0);
	ck_assert_uint_eq(n, 0);
	expect_error("wrong key");
	/* an image in clear with --decrypt */
	plain = make_image(NULL, &plen);
	ck_assert_int_lt(read_image_enc(plain, plen, NULL, rk, &n), 0);
	expect_error("not encrypted");
	free(plain);
	/* every byte is authenticated */
	for (size_t off = 0; off < len; off += off < 300 || off > len - 300 ? 3 : 4999) {
		img[off] ^= 0x01;
		ck_assert_msg(read_image_enc(img, len, NULL, rk, &n) < 0, "flip at %zu of %zu read "
			      "fine", off, len);
		error_clear();
		img[off] ^= 0x01;
	}
	/* a frame from another image of the same key (another salt) */
	ck_assert_msg(read_image_enc(img, len, NULL, rk, &n) == 0, "%s", error_text());
	ck_assert(len > 200 && len2 > 200);
	memcpy(img + len - 200, img2 + len2 - 200, 200);
	ck_assert_int_lt(read_image_enc(img, len, NULL, rk, &n), 0);
	expect_error("does not authenticate");
	free(img);
	free(img2);
	free(simg);
	crypt_key_free(ek);
	crypt_key_free(ek2);
	crypt_key_free(rk);
	trust_free(t);
}
END_TEST

static Suite *sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_frame_codec);
	tcase_add_test(tc, test_image_signed);
	tcase_add_test(tc, test_image_tampered);
	tcase_add_test(tc, test_encrypted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sign_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
