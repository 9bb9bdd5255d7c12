/* Unit tests for bundles: SHA-256 (common/sha256.c), cache entry names
 * and validation (common/cache.c), and file identity by content
 * (common/file_id.c file_id_same). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "sha256.h"
#include "state.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

static int temp_file(const char *data, size_t len, char *path)
{
	int fd;

	strcpy(path, "/tmp/test_bundle.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

START_TEST(test_sha256_vectors)
{
	uint8_t d[SHA256_LEN], back[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1], path[64];
	uint64_t size;
	int fd;

	fd = temp_file("abc", 3, path);
	ck_assert_int_eq(sha256_fd(fd, d, &size), 0);
	ck_assert_uint_eq(size, 3);
	sha256_hex(d, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(sha256_parse_hex(hex, back), 0);
	ck_assert_mem_eq(back, d, SHA256_LEN);
	close(fd);
	unlink(path);
	fd = temp_file("", 0, path);
	ck_assert_int_eq(sha256_fd(fd, d, &size), 0);
	sha256_hex(d, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	close(fd);
	unlink(path);
}
END_TEST

START_TEST(test_parse_hex_refuses)
{
	uint8_t d[SHA256_LEN];
	char hex[80];

	memset(hex, 'a', 64);
	hex[64] = 0;
	ck_assert_int_eq(sha256_parse_hex(hex, d), 0);
	hex[10] = 'A';			/* uppercase */
	ck_assert_int_eq(sha256_parse_hex(hex, d), -1);
	hex[10] = 'a';
	hex[63] = 0;			/* short */
	ck_assert_int_eq(sha256_parse_hex(hex, d), -1);
	hex[63] = 'a';
	hex[64] = 'a';			/* long */
	hex[65] = 0;
	ck_assert_int_eq(sha256_parse_hex(hex, d), -1);
	ck_assert_int_eq(sha256_parse_hex("../../etc/passwd", d), -1);
}
END_TEST

START_TEST(test_entry_path)
{
	uint8_t sha[SHA256_LEN] = { 0xab };
	char buf[4096];

	cache_entry_path("/c", sha, "/usr/lib/libc.so.6", buf, sizeof(buf));
	ck_assert_str_eq(buf, "/c/ab00000000000000000000000000000000000000000000000000000000000000/libc.so.6");
	/* Never a name that leaves the entry or hides: ".", "..", "", ".x" */
	cache_entry_path("/c", sha, "/a/..", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "/file"));
	cache_entry_path("/c", sha, "/a/", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "/file"));
	cache_entry_path("/c", sha, "/a/.hidden", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "/file"));
	cache_entry_path("/c", sha, "/a/b\nc", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "/b_c"));
}
END_TEST

START_TEST(test_entry_valid)
{
	uint8_t d[SHA256_LEN];
	char path[64];
	int fd = temp_file("contents", 8, path);

	ck_assert_int_eq(sha256_fd(fd, d, NULL), 0);
	ck_assert_int_eq(cache_entry_valid(path, d), 0);
	ck_assert_int_eq(pwrite(fd, "X", 1, 0), 1);
	ck_assert_int_eq(cache_entry_valid(path, d), 1);	/* damaged */
	close(fd);
	unlink(path);
	ck_assert_int_eq(cache_entry_valid(path, d), 1);	/* gone */
}
END_TEST

START_TEST(test_same_by_content)
{
	struct file_id_rec f;
	struct stat st;
	uint8_t d[SHA256_LEN];
	char path[64];
	int fd = temp_file("not an ELF file", 15, path);

	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(sha256_fd(fd, d, NULL), 0);
	memset(&f, 0, sizeof(f));
	f.path = path;
	f.size = 15;
	f.mtime_ns = 1;		/* another mtime: the content decides */
	f.sha256.data = d;
	f.sha256.len = SHA256_LEN;
	ck_assert_int_eq(file_id_same(&f), 0);
	ck_assert_int_eq(pwrite(fd, "N", 1, 0), 1);	/* same size, other bytes */
	ck_assert_int_eq(file_id_same(&f), 1);
	f.sha256.len = 0;	/* no hash: size and mtime */
	ck_assert_int_eq(file_id_same(&f), 1);
	f.mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	close(fd);
	unlink(path);
	ck_assert_int_eq(file_id_same(&f), 1);	/* missing */
}
END_TEST

static Suite *bundle_suite(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sha256_vectors);
	tcase_add_test(tc, test_parse_hex_refuses);
	tcase_add_test(tc, test_entry_path);
	tcase_add_test(tc, test_entry_valid);
	tcase_add_test(tc, test_same_by_content);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bundle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
