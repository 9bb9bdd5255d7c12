/* Unit tests for the record codec (common/record.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "records.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

/* Test-only record types sharing one type id, to play old/new versions. */
#define T1_FIELDS(F, T)				\
	F(T, 1, U64, start)			\
	F(T, 2, STR, path)			\
	F(T, 3, U32, prot)			\
	F(T, 4, I32, fd)
RECORD_DECLARE(t1_rec, T1_FIELDS)
RECORD_DEFINE(t1_rec, 100, T1_FIELDS)

/* A "newer" t1 with fields an old reader does not know. */
#define T2_FIELDS(F, T)				\
	F(T, 1, U64, start)			\
	F(T, 77, I64, future)			\
	F(T, 2, STR, path)			\
	F(T, 1000, STR, note)			\
	F(T, 3, U32, prot)			\
	F(T, 500, BLOB, extra)			\
	F(T, 4, I32, fd)
RECORD_DECLARE(t2_rec, T2_FIELDS)
RECORD_DEFINE(t2_rec, 100, T2_FIELDS)

/* t1 with "path" of the wrong type. */
#define TBAD_FIELDS(F, T) F(T, 1, U64, start) F(T, 2, U64, path)
RECORD_DECLARE(tbad_rec, TBAD_FIELDS)
RECORD_DEFINE(tbad_rec, 100, TBAD_FIELDS)

/* t1 with only some of its fields. */
#define TSUB_FIELDS(F, T) F(T, 3, U32, prot) F(T, 4, I32, fd)
RECORD_DECLARE(tsub_rec, TSUB_FIELDS)
RECORD_DEFINE(tsub_rec, 100, TSUB_FIELDS)

/* t1 with a 64-bit integer where t1 has a 32-bit one. */
#define TWIDE_FIELDS(F, T) F(T, 3, U64, prot)
RECORD_DECLARE(twide_rec, TWIDE_FIELDS)
RECORD_DEFINE(twide_rec, 100, TWIDE_FIELDS)

/* Writes field id 1 twice. */
#define TDUP_FIELDS(F, T) F(T, 1, U64, start) F(T, 1, U64, start_again)
RECORD_DECLARE(tdup_rec, TDUP_FIELDS)
RECORD_DEFINE(tdup_rec, 100, TDUP_FIELDS)

static const struct record_desc *const all_descs[] = {
	&image_header_desc, &process_rec_desc, &thread_rec_desc, &rlimit_rec_desc,
	&file_id_rec_desc, &vma_rec_desc, &fd_rec_desc, &sigaction_rec_desc,
	&sigpending_rec_desc,
};

#define expect_fail(expr, substr)						\
	do {									\
		error_clear();							\
		ck_assert_int_lt((expr), 0);					\
		ck_assert_msg(strstr(error_text(), (substr)) != NULL,		\
			      "error '%s' lacks '%s'", error_text(), (substr));	\
		error_clear();							\
	} while (0)

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = xmalloc(strlen(s) + 1);

	strcpy(p, s);
	return p;
}

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void *field(void *rec, const struct field_desc *f)
{
	return (char *)rec + f->offset;
}

/* Fill every field of rec; variant picks edge cases so that across a few
 * records each type sees extremes, empty/NULL strings and empty/large blobs. */
static void fill_rec(const struct record_desc *d, void *rec, unsigned variant)
{
	static const char *const strs[] = { "", NULL, "/usr/lib/x86_64-linux-gnu/libc.so.6",
					    "tab\there \"quoted\" \\ ünïcode\n" };

	for (unsigned i = 0; i < d->nfields; i++) {
		const struct field_desc *f = &d->fields[i];
		void *p = field(rec, f);
		struct blob *b;

		switch (f->type) {
		case FT_U32:
			*(uint32_t *)p = variant == 0 ? UINT32_MAX : variant * 1000 + i;
			break;
		case FT_U64:
			*(uint64_t *)p = variant == 0 ? UINT64_MAX : 0x7fff00000000ull + i * variant;
			break;
		case FT_I32:
			*(int32_t *)p = variant == 0 ? INT32_MIN : variant == 1 ? INT32_MAX : -(int)i;
			break;
		case FT_I64:
			*(int64_t *)p = variant == 0 ? INT64_MIN : variant == 1 ? INT64_MAX : -(int64_t)i;
			break;
		case FT_STR:
			*(char **)p = strs[variant % 4] ? xstrdup(strs[variant % 4]) : NULL;
			break;
		case FT_BLOB:
			b = p;
			b->len = variant == 0 ? 0 : variant == 1 ? (1u << 20) + 3 : 17 + i;
			b->data = b->len ? xmalloc(b->len) : NULL;
			for (uint32_t k = 0; k < b->len; k++)
				((uint8_t *)b->data)[k] = (uint8_t)(k * 31 + i + variant);
			break;
		}
	}
}

static void check_equal(const struct record_desc *d, void *a, void *b)
{
	for (unsigned i = 0; i < d->nfields; i++) {
		const struct field_desc *f = &d->fields[i];
		void *pa = field(a, f), *pb = field(b, f);
		const struct blob *ba = pa, *bb = pb;
		char *sa, *sb;

		switch (f->type) {
		case FT_U32:
		case FT_I32:
			ck_assert_msg(!memcmp(pa, pb, 4), "%s.%s differs", d->name, f->name);
			break;
		case FT_U64:
		case FT_I64:
			ck_assert_msg(!memcmp(pa, pb, 8), "%s.%s differs", d->name, f->name);
			break;
		case FT_STR:
			sa = *(char **)pa;
			sb = *(char **)pb;
			ck_assert_msg(!sa == !sb, "%s.%s NULL-ness differs", d->name, f->name);
			if (sa)
				ck_assert_str_eq(sa, sb);
			break;
		case FT_BLOB:
			ck_assert_uint_eq(ba->len, bb->len);
			ck_assert_msg(ba->len || !bb->data, "empty blob %s.%s has data",
				      d->name, f->name);
			if (ba->len)
				ck_assert(!memcmp(ba->data, bb->data, ba->len));
			break;
		default:
			ck_abort_msg("bad field type");
		}
	}
}

/* n filled records of type d, encoded into out; returns the records. */
static void *make_list(const struct record_desc *d, size_t n, struct buf *out)
{
	char *recs = calloc(n ? n : 1, d->size);

	ck_assert_ptr_nonnull(recs);
	for (size_t i = 0; i < n; i++)
		fill_rec(d, recs + i * d->size, i);
	ck_assert_int_eq(record_encode_list(out, d, recs, n), 0);
	return recs;
}

/* Recompute the crc trailer after a deliberate edit. */
static void fix_crc(uint8_t *p, size_t len)
{
	uint32_t c = crc32c(0, p, len - 4);

	for (int i = 0; i < 4; i++)
		p[len - 4 + i] = c >> (8 * i);
}

static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & -(crc & 1));
	}
	return ~crc;
}

START_TEST(test_crc32c)
{
	uint8_t buf[1000];

	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(0, "", 0), 0);
	ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd();
	/* Every alignment and tail length of the 8-byte path. */
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 40; len++)
			ck_assert_uint_eq(crc32c(7, buf + off, len),
					  crc32c_bitwise(7, buf + off, len));
	ck_assert_uint_eq(crc32c(0, buf, sizeof(buf)), crc32c_bitwise(0, buf, sizeof(buf)));
}
END_TEST

/* Lengths that take the three-stream paths (blocks of 3 x 8 KiB and of
 * 3 x 256 bytes) and the rest after them. */
START_TEST(test_crc32c_long)
{
	static uint8_t buf[3 * 8192 * 2 + 3 * 256 + 77];
	size_t lens[] = { 767, 768, 769, 3 * 256 * 2 + 5, 3 * 8192 - 1, 3 * 8192,
			  3 * 8192 + 3 * 256 + 13, sizeof(buf) - 3 };

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd();
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (size_t off = 0; off < 3; off++)
			ck_assert_uint_eq(crc32c(5, buf + off, lens[i]),
					  crc32c_bitwise(5, buf + off, lens[i]));
}
END_TEST

START_TEST(test_buf_append)
{
	struct buf b = { 0 };

	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_append(&b, "abc", 3), 0);
	ck_assert_int_eq(buf_append(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.len, 3000);
	ck_assert(!memcmp(b.data + 2997, "abc", 3));
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

/* Every record type in records.h, every field type, with extremes. */
START_TEST(test_roundtrip_all_types)
{
	for (size_t t = 0; t < sizeof(all_descs) / sizeof(all_descs[0]); t++) {
		const struct record_desc *d = all_descs[t];
		struct buf b = { 0 };
		size_t n = 6, got_n;
		char *recs = make_list(d, n, &b);
		void *got;

		error_clear();
		ck_assert_msg(record_decode_list(b.data, b.len, d, &got, &got_n) == 0,
			      "%s: %s", d->name, error_text());
		ck_assert_uint_eq(got_n, n);
		for (size_t i = 0; i < n; i++)
			check_equal(d, recs + i * d->size, (char *)got + i * d->size);
		record_free_list(d, got, got_n);
		record_free_list(d, recs, n);
		buf_free(&b);
	}
}
END_TEST

START_TEST(test_empty_list)
{
	struct buf b = { 0 };
	void *got = (void *)1;
	size_t n = 99;

	ck_assert_int_eq(record_encode_list(&b, &vma_rec_desc, NULL, 0), 0);
	ck_assert_uint_eq(b.len, 16);
	ck_assert_int_eq(record_decode_list(b.data, b.len, &vma_rec_desc, &got, &n), 0);
	ck_assert_uint_eq(n, 0);
	record_free_list(&vma_rec_desc, got, n);
	buf_free(&b);
}
END_TEST

/* NULL and "" stay distinct; empty blobs decode to NULL/0; a large blob. */
START_TEST(test_strings_and_blobs)
{
	struct t2_rec in[3] = { 0 }, *out;
	struct buf b = { 0 };
	size_t n;

	in[0].path = "";
	in[0].note = NULL;
	in[1].path = NULL;
	in[1].note = "x";
	ck_assert_int_eq(blob_set(&in[2].extra, NULL, 0), 0);
	in[2].extra.len = 8u << 20;
	in[2].extra.data = xmalloc(in[2].extra.len);
	memset(in[2].extra.data, 0xa5, in[2].extra.len);
	ck_assert_int_eq(record_encode_list(&b, &t2_rec_desc, in, 3), 0);
	ck_assert_int_eq(record_decode_list(b.data, b.len, &t2_rec_desc, (void **)&out, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_nonnull(out[0].path);
	ck_assert_str_eq(out[0].path, "");
	ck_assert_ptr_null(out[0].note);
	ck_assert_ptr_null(out[1].path);
	ck_assert_str_eq(out[1].note, "x");
	ck_assert_ptr_null(out[0].extra.data);
	ck_assert_uint_eq(out[0].extra.len, 0);
	ck_assert_uint_eq(out[2].extra.len, 8u << 20);
	ck_assert(!memcmp(out[2].extra.data, in[2].extra.data, 8u << 20));
	free(in[2].extra.data);
	record_free_list(&t2_rec_desc, out, n);
	buf_free(&b);
}
END_TEST

START_TEST(test_blob_set)
{
	struct blob bl = { 0 };

	ck_assert_int_eq(blob_set(&bl, "hello", 5), 0);
	ck_assert_uint_eq(bl.len, 5);
	ck_assert(!memcmp(bl.data, "hello", 5));
	ck_assert_int_eq(blob_set(&bl, "hi", 2), 0);
	ck_assert_uint_eq(bl.len, 2);
	ck_assert_int_eq(blob_set(&bl, NULL, 0), 0);
	ck_assert_ptr_null(bl.data);
	ck_assert_uint_eq(bl.len, 0);
}
END_TEST

/* Encoding appends after what the buffer holds; a bad record leaves the
 * buffer as it was. */
START_TEST(test_encode_append_and_failure)
{
	struct t2_rec r = { .start = 5 };
	struct t1_rec *out;
	struct buf b = { 0 };
	size_t n, len;

	ck_assert_int_eq(buf_append(&b, "prefix", 6), 0);
	ck_assert_int_eq(record_encode_list(&b, &t2_rec_desc, &r, 1), 0);
	ck_assert_int_eq(record_decode_list(b.data + 6, b.len - 6, &t1_rec_desc,
					    (void **)&out, &n), 0);
	ck_assert_uint_eq(out[0].start, 5);
	record_free_list(&t1_rec_desc, out, n);
	len = b.len;
	r.extra.len = 10;	/* length without data */
	expect_fail(record_encode_list(&b, &t2_rec_desc, &r, 1), "extra");
	ck_assert_uint_eq(b.len, len);
	buf_free(&b);
}
END_TEST

/* A newer writer's extra fields are skipped by an older reader. */
START_TEST(test_forward_compat)
{
	struct t2_rec in[2] = {
		{ .start = 0x1000, .future = -5, .path = "/bin/sh", .note = "new",
		  .prot = 7, .fd = -1 },
		{ .start = 0x2000, .path = "", .prot = 1, .fd = 3 },
	};
	struct t1_rec *out;
	struct buf b = { 0 };
	size_t n;

	ck_assert_int_eq(blob_set(&in[0].extra, "abcdef", 6), 0);
	ck_assert_int_eq(record_encode_list(&b, &t2_rec_desc, in, 2), 0);
	ck_assert_int_eq(record_decode_list(b.data, b.len, &t1_rec_desc, (void **)&out, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].start, 0x1000);
	ck_assert_str_eq(out[0].path, "/bin/sh");
	ck_assert_uint_eq(out[0].prot, 7);
	ck_assert_int_eq(out[0].fd, -1);
	ck_assert_uint_eq(out[1].start, 0x2000);
	ck_assert_str_eq(out[1].path, "");
	ck_assert_int_eq(out[1].fd, 3);
	record_free_list(&t1_rec_desc, out, n);
	free(in[0].extra.data);
	buf_free(&b);
}
END_TEST

/* Missing fields decode as zero / NULL. */
START_TEST(test_missing_fields)
{
	struct tsub_rec in = { .prot = 5, .fd = -2 };
	struct t2_rec *out;
	struct buf b = { 0 };
	size_t n;

	ck_assert_int_eq(record_encode_list(&b, &tsub_rec_desc, &in, 1), 0);
	ck_assert_int_eq(record_decode_list(b.data, b.len, &t2_rec_desc, (void **)&out, &n), 0);
	ck_assert_uint_eq(out[0].start, 0);
	ck_assert_ptr_null(out[0].path);
	ck_assert_ptr_null(out[0].extra.data);
	ck_assert_uint_eq(out[0].prot, 5);
	ck_assert_int_eq(out[0].fd, -2);
	record_free_list(&t2_rec_desc, out, n);
	buf_free(&b);
}
END_TEST

/* Cutting the list anywhere must fail, never crash: first with the crc
 * intact (checksum mismatch), then with the crc fixed up so the structural
 * checks are what catches it. */
START_TEST(test_truncation_every_offset)
{
	struct buf b = { 0 };
	char *recs = make_list(&vma_rec_desc, 4, &b);
	uint8_t *copy = xmalloc(b.len);
	void *got;
	size_t n;

	for (size_t len = 0; len < b.len; len++) {
		error_clear();
		memcpy(copy, b.data, len);
		ck_assert_int_lt(record_decode_list(copy, len, &vma_rec_desc, &got, &n), 0);
		ck_assert_ptr_null(got);
		ck_assert(strstr(error_text(), "vma_rec") != NULL);
		if (len < 4) {
			ck_assert(strstr(error_text(), "truncated") != NULL);
		} else {
			/* The crc is checked before anything else. */
			ck_assert(strstr(error_text(), "checksum") != NULL);
			/* Drop the bytes before the old crc, keep a valid crc. */
			memcpy(copy, b.data, len - 4);
			fix_crc(copy, len);
			error_clear();
			ck_assert_msg(record_decode_list(copy, len, &vma_rec_desc, &got, &n) < 0,
				      "cut at %zu decoded", len);
			ck_assert(error_is_set());
			if (len < 16)
				ck_assert(strstr(error_text(), "truncated") != NULL);
		}
	}
	error_clear();
	free(copy);
	record_free_list(&vma_rec_desc, recs, 4);
	buf_free(&b);
}
END_TEST

START_TEST(test_flip_every_byte)
{
	static const uint8_t masks[] = { 0x01, 0xff };
	struct buf b = { 0 };
	/* vma_rec: every field type but large blobs, so flipping each byte
	 * of the encoding stays fast. */
	char *recs = make_list(&vma_rec_desc, 1, &b);
	void *got;
	size_t n;

	for (size_t i = 0; i < b.len; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			b.data[i] ^= masks[m];
			expect_fail(record_decode_list(b.data, b.len, &vma_rec_desc, &got, &n),
				    "corrupted (checksum mismatch)");
			b.data[i] ^= masks[m];
		}
	}
	ck_assert_int_eq(record_decode_list(b.data, b.len, &vma_rec_desc, &got, &n), 0);
	record_free_list(&vma_rec_desc, got, n);
	record_free_list(&vma_rec_desc, recs, 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_wrong_type_id)
{
	struct buf b = { 0 };
	char *recs = make_list(&vma_rec_desc, 2, &b);
	void *got;
	size_t n;

	expect_fail(record_decode_list(b.data, b.len, &fd_rec_desc, &got, &n), "type");
	expect_fail(record_decode_list(b.data, b.len, &fd_rec_desc, &got, &n), "fd_rec");
	record_free_list(&vma_rec_desc, recs, 2);
	buf_free(&b);
}
END_TEST

START_TEST(test_bad_magic)
{
	struct buf b = { 0 };
	void *got;
	size_t n;

	ck_assert_int_eq(record_encode_list(&b, &t1_rec_desc, NULL, 0), 0);
	b.data[0] = 'X';
	fix_crc(b.data, b.len);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, &got, &n), "magic");
	buf_free(&b);
}
END_TEST

START_TEST(test_type_mismatch)
{
	struct tbad_rec in = { .start = 1, .path = 2 };
	struct buf b = { 0 };
	void *got;
	size_t n;

	ck_assert_int_eq(record_encode_list(&b, &tbad_rec_desc, &in, 1), 0);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, &got, &n), "path");
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, &got, &n), "t1_rec");
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, &got, &n), "expected str");
	buf_free(&b);
}
END_TEST

/* Integers are 8 bytes on the wire; 32-bit fields are range-checked.
 * Layout of one t1 with path "abc": hdr 12 | nbytes 4 | start 8+8 |
 * path 8+3 | prot 8+8 | fd 8+8 | crc 4. */
#define PROT_VAL (12 + 4 + 16 + 11 + 8)
#define FD_VAL (PROT_VAL + 16)

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

START_TEST(test_integer_range)
{
	struct t1_rec in = { .path = "abc", .prot = UINT32_MAX, .fd = INT32_MIN }, *out;
	struct twide_rec wide = { .prot = 1 };
	struct buf b = { 0 };
	size_t n;

	/* The limits themselves fit, and I32 is sign-extended on the wire. */
	ck_assert_int_eq(record_encode_list(&b, &t1_rec_desc, &in, 1), 0);
	ck_assert_uint_eq(b.len, FD_VAL + 8 + 4);
	ck_assert(!memcmp(b.data + FD_VAL, "\x00\x00\x00\x80\xff\xff\xff\xff", 8));
	ck_assert_int_eq(record_decode_list(b.data, b.len, &t1_rec_desc, (void **)&out, &n), 0);
	ck_assert_uint_eq(out[0].prot, UINT32_MAX);
	ck_assert_int_eq(out[0].fd, INT32_MIN);
	record_free_list(&t1_rec_desc, out, n);

	put_le64(b.data + PROT_VAL, (uint64_t)UINT32_MAX + 1);
	fix_crc(b.data, b.len);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, (void **)&out, &n),
		    "out of range");
	put_le64(b.data + PROT_VAL, 0);
	put_le64(b.data + FD_VAL, (uint64_t)((int64_t)INT32_MIN - 1));
	fix_crc(b.data, b.len);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, (void **)&out, &n), "fd");
	put_le64(b.data + FD_VAL, (uint64_t)INT32_MAX + 1);
	fix_crc(b.data, b.len);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, (void **)&out, &n),
		    "out of range");
	put_le64(b.data + FD_VAL, (uint64_t)-1);
	fix_crc(b.data, b.len);
	ck_assert_int_eq(record_decode_list(b.data, b.len, &t1_rec_desc, (void **)&out, &n), 0);
	ck_assert_int_eq(out[0].fd, -1);
	record_free_list(&t1_rec_desc, out, n);

	/* A u64 on the wire for a u32 field is a type mismatch, not a cast. */
	b.len = 0;
	ck_assert_int_eq(record_encode_list(&b, &twide_rec_desc, &wide, 1), 0);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, (void **)&out, &n),
		    "field prot has type u64");
	buf_free(&b);
}
END_TEST

START_TEST(test_duplicate_field)
{
	struct tdup_rec in = { 1, 2 };
	struct buf b = { 0 };
	void *got;
	size_t n;

	ck_assert_int_eq(record_encode_list(&b, &tdup_rec_desc, &in, 1), 0);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, &got, &n), "twice");
	buf_free(&b);
}
END_TEST

/* Hand-edited lists with a valid crc: each structural check. */
START_TEST(test_structural_checks)
{
	struct t1_rec in = { .start = 1, .path = "abc" };
	struct buf b = { 0 };
	uint8_t *p;
	void *got;
	size_t n;

	ck_assert_int_eq(record_encode_list(&b, &t1_rec_desc, &in, 1), 0);
	p = b.data;
	/* Layout: hdr 12 | nbytes 4 | start: 8+8 | path: 8+3 | prot | fd | crc */
	ck_assert(!memcmp(p + 12 + 4 + 16 + 8, "abc", 3));

	p[12 + 4 + 16 + 8 + 1] = '\0';		/* NUL inside the string */
	fix_crc(p, b.len);
	expect_fail(record_decode_list(p, b.len, &t1_rec_desc, &got, &n), "NUL");
	p[12 + 4 + 16 + 8 + 1] = 'b';

	p[8] = 2;				/* count 2, one record */
	fix_crc(p, b.len);
	expect_fail(record_decode_list(p, b.len, &t1_rec_desc, &got, &n), "truncated");
	p[8] = 0xff, p[9] = 0xff, p[10] = 0xff, p[11] = 0xff;	/* absurd count */
	fix_crc(p, b.len);
	expect_fail(record_decode_list(p, b.len, &t1_rec_desc, &got, &n), "cannot fit");
	p[8] = 1, p[9] = p[10] = p[11] = 0;

	p[12] += 1;				/* record longer than the body */
	fix_crc(p, b.len);
	expect_fail(record_decode_list(p, b.len, &t1_rec_desc, &got, &n), "truncated");
	p[12] -= 1;

	p[12 + 4 + 4] = 9;			/* int field of length 9 */
	fix_crc(p, b.len);
	expect_fail(record_decode_list(p, b.len, &t1_rec_desc, &got, &n), "start");
	p[12 + 4 + 4] = 8;

	p[12 + 4 + 3] = 1;			/* reserved byte */
	fix_crc(p, b.len);
	expect_fail(record_decode_list(p, b.len, &t1_rec_desc, &got, &n), "reserved");
	p[12 + 4 + 3] = 0;

	fix_crc(p, b.len);
	ck_assert_int_eq(record_decode_list(p, b.len, &t1_rec_desc, &got, &n), 0);
	record_free_list(&t1_rec_desc, got, n);

	/* Stray bytes between the last record and the crc. */
	b.len -= 4;
	ck_assert_int_eq(buf_append(&b, "\0\0\0\0\0\0\0\0", 8), 0);
	fix_crc(b.data, b.len);
	expect_fail(record_decode_list(b.data, b.len, &t1_rec_desc, &got, &n), "stray");
	buf_free(&b);
}
END_TEST

/* Random damage behind a valid crc: must fail or succeed, never crash or
 * leak (run under valgrind). */
START_TEST(test_fuzz)
{
	struct buf b = { 0 };
	char *recs = calloc(3, thread_rec_desc.size);
	uint8_t *copy;

	ck_assert_ptr_nonnull(recs);
	for (int i = 0; i < 3; i++) {
		struct thread_rec *t = (struct thread_rec *)recs + i;

		t->tid = i;
		t->comm = xstrdup("worker");
		ck_assert_int_eq(blob_set(&t->regs, "0123456789", 10), 0);
	}
	ck_assert_int_eq(record_encode_list(&b, &thread_rec_desc, recs, 3), 0);
	copy = xmalloc(b.len);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = b.len, flips = 1 + rnd() % 4;
		void *got;
		size_t n;

		memcpy(copy, b.data, len);
		if (rnd() % 4 == 0)
			len = 16 + rnd() % (b.len - 16);
		for (size_t k = 0; len > 16 && k < flips; k++)
			copy[12 + rnd() % (len - 16)] = rnd();
		fix_crc(copy, len);
		error_clear();
		if (record_decode_list(copy, len, &thread_rec_desc, &got, &n) == 0)
			record_free_list(&thread_rec_desc, got, n);
		else
			ck_assert(error_is_set());
	}
	error_clear();
	free(copy);
	record_free_list(&thread_rec_desc, recs, 3);
	buf_free(&b);
}
END_TEST

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(f);
	fn(f, arg);
	fclose(f);
	return text;
}

static void print_vma(FILE *f, const void *rec)
{
	record_print(f, &vma_rec_desc, rec, 2);
}

static void print_vma_json(FILE *f, const void *rec)
{
	record_print_json(f, &vma_rec_desc, rec);
}

static void print_t2_json(FILE *f, const void *rec)
{
	record_print_json(f, &t2_rec_desc, rec);
}

START_TEST(test_print)
{
	struct vma_rec v = {
		.start = 0x7f0000001000, .end = 0x7f0000002000, .prot = 5, .kind = VMA_HEAP,
		.pgoff = 4096, .path = "/lib/a\nb", .file_index = -1, .pages_stored = 3,
	};
	char *text = capture(print_vma, &v);

	ck_assert_msg(strstr(text, "  start: 0x7f0000001000\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  end: 0x7f0000002000\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  prot: 5\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  pgoff: 4096\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  file_index: -1\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  path: /lib/a\\x0ab\n") != NULL, "%s", text);
	free(text);

	text = capture(print_vma_json, &v);
	ck_assert_msg(strstr(text, "{\"start\": 139637976731648, \"end\": ") == text, "%s", text);
	ck_assert_msg(strstr(text, "\"path\": \"/lib/a\\u000ab\"") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\"file_index\": -1") != NULL, "%s", text);
	ck_assert_msg(text[strlen(text) - 1] == '}', "%s", text);
	free(text);
}
END_TEST

START_TEST(test_print_json_escapes)
{
	struct t2_rec r = { .path = "q\"b\\s\t\x7f\xc3\xa9\xff", .note = NULL, .fd = -3 };
	char *text;

	ck_assert_int_eq(blob_set(&r.extra, "\x00\x01\xab", 3), 0);
	text = capture(print_t2_json, &r);
	ck_assert_msg(strstr(text, "\"path\": \"q\\\"b\\\\s\\u0009\\u007f\xc3\xa9\\ufffd\"") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "\"note\": null") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\"extra\": \"0001ab\"") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\"fd\": -3}") != NULL, "%s", text);
	free(text);
	free(r.extra.data);
}
END_TEST

static void print_t2(FILE *f, const void *rec)
{
	record_print(f, &t2_rec_desc, rec, 0);
}

START_TEST(test_print_blob_null)
{
	struct t2_rec r = { .path = NULL };
	char *text;

	ck_assert_int_eq(blob_set(&r.extra, "abcd", 4), 0);
	text = capture(print_t2, &r);
	ck_assert_msg(strstr(text, "extra: <4 bytes>\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "path: (none)\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "future: 0\n") != NULL, "%s", text);
	free(text);
	free(r.extra.data);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_crc32c);
	tcase_add_test(tc, test_crc32c_long);
	tcase_add_test(tc, test_buf_append);
	tcase_add_test(tc, test_roundtrip_all_types);
	tcase_add_test(tc, test_empty_list);
	tcase_add_test(tc, test_strings_and_blobs);
	tcase_add_test(tc, test_blob_set);
	tcase_add_test(tc, test_encode_append_and_failure);
	tcase_add_test(tc, test_forward_compat);
	tcase_add_test(tc, test_missing_fields);
	tcase_add_test(tc, test_truncation_every_offset);
	tcase_add_test(tc, test_flip_every_byte);
	tcase_add_test(tc, test_wrong_type_id);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_type_mismatch);
	tcase_add_test(tc, test_integer_range);
	tcase_add_test(tc, test_duplicate_field);
	tcase_add_test(tc, test_structural_checks);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_print_json_escapes);
	tcase_add_test(tc, test_print_blob_null);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(record_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
