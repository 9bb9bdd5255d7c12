/* Unit tests for the pages/ chunk format (common/page_chunk.c) and the page
 * index of incremental images (common/page_index.c): both are read from
 * untrusted images, so every malformed input must be refused. */
#include <stdlib.h>
#include <string.h>

#include "page_chunk.h"
#include "page_index.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

static bool anywhere(const void *arg, uint64_t start, uint64_t end)
{
	(void)arg;
	return start < end && end <= (1ull << 47);
}

/* A chunk: run 0 = 2 stored pages at 0x10000, run 1 = 1 parent page at
 * 0x20000, run 2 = 1 stored page at 0x30000. */
static size_t make_chunk(uint8_t *buf, uint32_t version)
{
	struct chunk_header h = { .version = version, .nruns = 3 };
	struct page_run runs[3] = {
		{ 0x10000, 2, 0 }, { 0x20000, 1, RUN_IN_PARENT }, { 0x30000, 1, 0 },
	};
	uint8_t *data = buf + sizeof(h) + sizeof(runs);
	size_t i;

	for (i = 0; i < 3 * CHUNK_PAGE_SIZE; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	memcpy(h.magic, CHUNK_MAGIC, 4);
	h.crc = crc32c(0, data, 3 * CHUNK_PAGE_SIZE);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), runs, sizeof(runs));
	return sizeof(h) + sizeof(runs) + 3 * CHUNK_PAGE_SIZE;
}

static struct page_run *run_at(uint8_t *buf, int i)
{
	return (struct page_run *)(buf + sizeof(struct chunk_header)) + i;
}

START_TEST(test_chunk_good)
{
	static uint8_t buf[CHUNK_CAP];
	static struct chunk_view v;
	const char *why = NULL;
	size_t len = make_chunk(buf, CHUNK_VERSION_REFS);

	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), 0);
	ck_assert_uint_eq(v.stored_pages, 3);
	ck_assert_uint_eq(v.parent_pages, 1);
	ck_assert_uint_eq(v.nruns, 3);
	ck_assert(v.data == buf + sizeof(struct chunk_header) + 3 * sizeof(struct page_run));
}
END_TEST

START_TEST(test_chunk_bad)
{
	static uint8_t buf[CHUNK_CAP];
	static struct chunk_view v;
	const char *why;
	size_t len;

	/* parent runs in a version 1 chunk */
	len = make_chunk(buf, CHUNK_VERSION);
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	ck_assert_str_eq(why, "bad run flags");
	/* unknown flag */
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	run_at(buf, 1)->flags = 2;
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	/* overlapping runs */
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	run_at(buf, 1)->addr = 0x11000;
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	ck_assert_str_eq(why, "runs overlap or out of order");
	/* unaligned, huge, zero-length runs */
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	run_at(buf, 0)->addr = 0x10001;
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	run_at(buf, 2)->npages = 0;
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	run_at(buf, 2)->addr = ~0ull - 4095;	/* wraps around */
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	/* parent pages counted in the size / data cut short */
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	ck_assert_int_eq(chunk_parse(buf, len + CHUNK_PAGE_SIZE, &v, anywhere, NULL, &why), -1);
	ck_assert_int_eq(chunk_parse(buf, len - 1, &v, anywhere, NULL, &why), -1);
	/* bytes changed */
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	buf[len - 1] ^= 1;
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	ck_assert_str_eq(why, "corrupted (checksum mismatch)");
	/* header: magic, version, nruns */
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	buf[0] = 'X';
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	len = make_chunk(buf, 3);
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	len = make_chunk(buf, CHUNK_VERSION_REFS);
	((struct chunk_header *)buf)->nruns = CHUNK_PAGES + 1;
	ck_assert_int_eq(chunk_parse(buf, len, &v, anywhere, NULL, &why), -1);
	ck_assert_int_eq(chunk_parse(buf, 8, &v, anywhere, NULL, &why), -1);
}
END_TEST

START_TEST(test_index_roundtrip)
{
	static uint8_t pages[3][CHUNK_PAGE_SIZE];
	struct page_hash e[3];
	struct page_index ix = { e, 3 }, back;
	struct buf b = { 0 };
	const struct page_hash *f;

	memset(pages[0], 1, sizeof(pages[0]));
	memset(pages[1], 2, sizeof(pages[1]));
	memset(pages[2], 1, sizeof(pages[2]));
	page_hash_of(0x30000, pages[0], &e[0]);
	page_hash_of(0x10000, pages[1], &e[1]);
	page_hash_of(0x20000, pages[2], &e[2]);
	ck_assert(e[0].lo == e[2].lo && e[0].hi == e[2].hi);	/* same bytes */
	ck_assert(e[0].lo != e[1].lo || e[0].hi != e[1].hi);
	struct page_hash at_20000 = e[2];
	ck_assert_int_eq(page_index_finish(&ix), 0);	/* sorts e */
	ck_assert_uint_eq(ix.e[0].addr, 0x10000);
	ck_assert_int_eq(page_index_encode(&ix, &b), 0);
	ck_assert_int_eq(page_index_decode(b.data, b.len, &back), 0);
	ck_assert_uint_eq(back.n, 3);
	f = page_index_find(&back, 0x20000);
	ck_assert_ptr_nonnull(f);
	ck_assert(f->lo == at_20000.lo && f->hi == at_20000.hi);
	ck_assert_ptr_null(page_index_find(&back, 0x25000));
	page_index_free(&back);

	/* hostile: bad crc, count larger than the data, out of order, duplicates */
	b.data[b.len - 5] ^= 1;
	ck_assert_int_eq(page_index_decode(b.data, b.len, &back), -1);
	error_clear();
	b.data[b.len - 5] ^= 1;
	ck_assert_int_eq(page_index_decode(b.data, b.len - 24, &back), -1);
	error_clear();
	{
		struct page_hash dup[2] = { at_20000, at_20000 };
		struct page_index d = { dup, 2 };
		ck_assert_int_eq(page_index_finish(&d), -1);
		error_clear();
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_image_dir)
{
	char d[64];

	image_dir_of("/a/b/c.tar.zst", d, sizeof(d));
	ck_assert_str_eq(d, "/a/b");
	image_dir_of("c.tar.zst", d, sizeof(d));
	ck_assert_str_eq(d, ".");
	image_dir_of("-", d, sizeof(d));
	ck_assert_str_eq(d, ".");
	image_dir_of("/c.tar.zst", d, sizeof(d));
	ck_assert_str_eq(d, "/");
}
END_TEST

static Suite *page_chunk_suite(void)
{
	Suite *s = suite_create("page_chunk");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_chunk_good);
	tcase_add_test(tc, test_chunk_bad);
	tcase_add_test(tc, test_index_roundtrip);
	tcase_add_test(tc, test_image_dir);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(page_chunk_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
