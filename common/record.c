/* The generic record codec: encodes, decodes, validates and prints any
 * record described by a struct record_desc (see record.h for the wire
 * format).  Decoding treats its input as hostile: every length is checked
 * against what is left before it is used. */
#define LOG_PREFIX "record: "
#include "record.h"
#include "arch/x86_64.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define REC_MAGIC "CKR1"
#define LIST_HDR_LEN 12		/* magic, type_id, count */
#define CRC_LEN 4
#define REC_HDR_LEN 4		/* nbytes */
#define FIELD_HDR_LEN 8		/* id, type, reserved, len */

#define DECODE_HINT "the image is damaged or was written by an incompatible ckpt version; re-create it with ckpt"

/* ---- little-endian helpers (the wire format is LE on every host) ---- */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* ---- crc32c ---- */

#define CRC32C_POLY 0x82F63B78u

/* Slicing-by-8 tables: table[k][b] is the crc of byte b followed by k zero
 * bytes, so eight input bytes are folded per step.  Built once on first
 * use; pthread_once because dump and restore may checksum from threads. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[0][i] = c;
	}
	for (int i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
					  crc_table[0][crc_table[k - 1][i] & 0xff];
}

static uint32_t crc_byte(uint32_t crc, uint8_t b)
{
	return crc_table[0][(crc ^ b) & 0xff] ^ (crc >> 8);
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	if (arch_crc32c_update(&crc, data, len))
		return ~crc;
	pthread_once(&crc_once, crc_init);
	while (len && ((uintptr_t)p & 7)) {
		crc = crc_byte(crc, *p++);
		len--;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= crc;
		crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
	}
#endif
	while (len--)
		crc = crc_byte(crc, *p++);
	return ~crc;
}

/* ---- growable buffer ---- */

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX - b->len)
		return fail(ENOMEM, NULL, "growing a buffer past %zu bytes", b->len);
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + len)
			cap = cap > SIZE_MAX / 2 ? b->len + len : cap * 2;
		p = realloc(b->data, cap);
		if (!p)
			return fail(ENOMEM, NULL, "growing a buffer to %zu bytes", cap);
		b->data = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int blob_set(struct blob *b, const void *data, size_t len)
{
	void *p = NULL;

	if (len > UINT32_MAX)
		return fail_why("larger than 4 GiB", NULL, "storing a %zu-byte blob", len);
	if (len) {
		p = malloc(len);
		if (!p)
			return fail(ENOMEM, NULL, "storing a %zu-byte blob", len);
		memcpy(p, data, len);
	}
	free(b->data);
	b->data = p;
	b->len = len;
	return 0;
}

/* ---- field access ---- */

static const char *type_name(unsigned type)
{
	static const char *const names[] = {
		[FT_U32] = "u32", [FT_U64] = "u64", [FT_I32] = "i32",
		[FT_I64] = "i64", [FT_STR] = "str", [FT_BLOB] = "blob",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

static void *field_ptr(void *rec, const struct field_desc *f)
{
	return (char *)rec + f->offset;
}

static const void *field_cptr(const void *rec, const struct field_desc *f)
{
	return (const char *)rec + f->offset;
}

static const struct field_desc *find_field(const struct record_desc *desc,
					   uint16_t id, unsigned *index)
{
	for (unsigned i = 0; i < desc->nfields; i++) {
		if (desc->fields[i].id == id) {
			*index = i;
			return &desc->fields[i];
		}
	}
	return NULL;
}

/* ---- encoding ---- */

static int encode_fail(const struct record_desc *desc, const struct field_desc *f,
		       const char *why)
{
	return fail_why(why, "this is a bug in ckpt; please report it",
			"encoding field %s of %s records", f->name, desc->name);
}

/* Append one field.  A NULL string is left out, so it decodes as NULL
 * again, while "" is written with length 0 and decodes as "". */
static int encode_field(struct buf *out, const struct record_desc *desc,
			const struct field_desc *f, const void *rec)
{
	const void *p = field_cptr(rec, f);
	uint8_t hdr[FIELD_HDR_LEN], num[8];
	const void *val = num;
	size_t len = 8;

	switch (f->type) {
	case FT_U32:
		put_u64(num, *(const uint32_t *)p);
		break;
	case FT_U64:
		put_u64(num, *(const uint64_t *)p);
		break;
	case FT_I32:
		put_u64(num, (uint64_t)(int64_t)*(const int32_t *)p);
		break;
	case FT_I64:
		put_u64(num, (uint64_t)*(const int64_t *)p);
		break;
	case FT_STR:
		val = *(char *const *)p;
		if (!val)
			return 0;
		len = strlen(val);
		break;
	case FT_BLOB:
		val = ((const struct blob *)p)->data;
		len = ((const struct blob *)p)->len;
		if (len && !val)
			return encode_fail(desc, f, "blob has a length but no data");
		break;
	default:
		return encode_fail(desc, f, "unknown field type in the record table");
	}
	if (len > UINT32_MAX)
		return encode_fail(desc, f, "value is larger than 4 GiB");
	put_u16(hdr, f->id);
	hdr[2] = f->type;
	hdr[3] = 0;
	put_u32(hdr + 4, len);
	if (buf_append(out, hdr, sizeof(hdr)) < 0 || buf_append(out, val, len) < 0)
		return -1;
	return 0;
}

static int encode_record(struct buf *out, const struct record_desc *desc, const void *rec)
{
	static const uint8_t zero[REC_HDR_LEN];
	size_t start = out->len;

	if (buf_append(out, zero, sizeof(zero)) < 0)
		return -1;
	for (unsigned i = 0; i < desc->nfields; i++)
		if (encode_field(out, desc, &desc->fields[i], rec) < 0)
			return -1;
	if (out->len - start - REC_HDR_LEN > UINT32_MAX)
		return fail_why("record is larger than 4 GiB", NULL,
				"encoding %s records", desc->name);
	put_u32(out->data + start, out->len - start - REC_HDR_LEN);
	return 0;
}

int record_encode_list(struct buf *out, const struct record_desc *desc,
		       const void *recs, size_t n)
{
	size_t start = out->len;
	uint8_t hdr[LIST_HDR_LEN], crc[CRC_LEN];

	if (n > UINT32_MAX)
		return fail_why("more than 2^32 records", NULL,
				"encoding %zu %s records", n, desc->name);
	memcpy(hdr, REC_MAGIC, 4);
	put_u32(hdr + 4, desc->type_id);
	put_u32(hdr + 8, n);
	if (buf_append(out, hdr, sizeof(hdr)) < 0)
		goto err;
	for (size_t i = 0; i < n; i++)
		if (encode_record(out, desc, (const char *)recs + i * desc->size) < 0)
			goto err;
	put_u32(crc, crc32c(0, out->data + start, out->len - start));
	if (buf_append(out, crc, sizeof(crc)) < 0)
		goto err;
	return 0;
err:
	/* Leave out as it was, so a caller can carry on or report. */
	out->len = start;
	return -1;
}

/* ---- decoding ---- */

static int decode_fail(const struct record_desc *desc, const char *fmt, ...) printf_like(2, 3);

static int decode_fail(const struct record_desc *desc, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return fail_why(why, DECODE_HINT, "decoding %s records", desc->name);
}

static int decode_int(const struct record_desc *desc, const struct field_desc *f,
		      size_t idx, const uint8_t *val, uint32_t len, void *dst)
{
	uint64_t v;

	if (len != 8)
		return decode_fail(desc, "record %zu: field %s is %" PRIu32
				   " bytes long, integers are 8", idx, f->name, len);
	v = get_u64(val);
	switch (f->type) {
	case FT_U32:
		if (v > UINT32_MAX)
			goto range;
		*(uint32_t *)dst = v;
		break;
	case FT_I32:
		if ((int64_t)v < INT32_MIN || (int64_t)v > INT32_MAX)
			goto range;
		*(int32_t *)dst = (int32_t)(int64_t)v;
		break;
	case FT_U64:
		*(uint64_t *)dst = v;
		break;
	default:
		*(int64_t *)dst = (int64_t)v;
		break;
	}
	return 0;
range:
	return decode_fail(desc, "record %zu: field %s value 0x%" PRIx64
			   " is out of range for %s", idx, f->name, v, type_name(f->type));
}

static int decode_value(const struct record_desc *desc, const struct field_desc *f,
			size_t idx, const uint8_t *val, uint32_t len, void *rec)
{
	void *dst = field_ptr(rec, f);
	char *s;
	struct blob *b;

	switch (f->type) {
	case FT_STR:
		if (memchr(val, 0, len))
			return decode_fail(desc, "record %zu: string field %s contains a NUL byte",
					   idx, f->name);
		s = malloc((size_t)len + 1);
		if (!s)
			return fail(ENOMEM, NULL, "decoding %s records", desc->name);
		memcpy(s, val, len);
		s[len] = '\0';
		*(char **)dst = s;
		return 0;
	case FT_BLOB:
		b = dst;
		if (!len)
			return 0;
		b->data = malloc(len);
		if (!b->data)
			return fail(ENOMEM, NULL, "decoding %s records", desc->name);
		memcpy(b->data, val, len);
		b->len = len;
		return 0;
	default:
		return decode_int(desc, f, idx, val, len, dst);
	}
}

/* Decode the fields of record idx, p[0..len), into rec.  seen has one byte
 * per known field, cleared by the caller, to catch a field given twice
 * (which would otherwise leak the first string or hide corruption). */
static int decode_record(const struct record_desc *desc, size_t idx, const uint8_t *p,
			 uint32_t len, void *rec, uint8_t *seen)
{
	uint32_t pos = 0;

	while (pos < len) {
		const struct field_desc *f;
		uint32_t flen;
		unsigned fi;
		uint16_t id;
		uint8_t type;

		if (len - pos < FIELD_HDR_LEN)
			return decode_fail(desc, "truncated: record %zu has %" PRIu32
					   " stray bytes where a field header should be",
					   idx, len - pos);
		id = get_u16(p + pos);
		type = p[pos + 2];
		flen = get_u32(p + pos + 4);
		pos += FIELD_HDR_LEN;
		if (flen > len - pos)
			return decode_fail(desc, "truncated: record %zu field id %u is %" PRIu32
					   " bytes but only %" PRIu32 " are left in the record",
					   idx, id, flen, len - pos);
		f = find_field(desc, id, &fi);
		if (!f) {
			/* Written by a newer ckpt: skip what we don't know. */
			pos += flen;
			continue;
		}
		if (seen[fi])
			return decode_fail(desc, "record %zu: field %s appears twice", idx, f->name);
		seen[fi] = 1;
		if (type != f->type)
			return decode_fail(desc, "record %zu: field %s has type %s (%u), expected %s",
					   idx, f->name, type_name(type), type,
					   type_name(f->type));
		if (p[pos - FIELD_HDR_LEN + 3] != 0)
			return decode_fail(desc, "record %zu: field %s has a non-zero reserved byte",
					   idx, f->name);
		if (decode_value(desc, f, idx, p + pos, flen, rec) < 0)
			return -1;
		pos += flen;
	}
	return 0;
}

/* Check everything about the list that can be checked before allocating:
 * the crc first, so random damage reads as corruption rather than as
 * whichever structural check it happens to trip. */
static int check_list(const uint8_t *p, size_t len, const struct record_desc *desc,
		      uint32_t *count)
{
	uint32_t stored, type_id;
	size_t body;

	if (len < CRC_LEN)
		return decode_fail(desc, "truncated: %zu bytes, a record list takes at least %d",
				   len, LIST_HDR_LEN + CRC_LEN);
	stored = get_u32(p + len - CRC_LEN);
	if (crc32c(0, p, len - CRC_LEN) != stored)
		return decode_fail(desc, "corrupted (checksum mismatch)");
	if (len < LIST_HDR_LEN + CRC_LEN)
		return decode_fail(desc, "truncated: %zu bytes, a record list takes at least %d",
				   len, LIST_HDR_LEN + CRC_LEN);
	if (memcmp(p, REC_MAGIC, 4) != 0)
		return decode_fail(desc, "not a record list (bad magic)");
	type_id = get_u32(p + 4);
	if (type_id != desc->type_id)
		return decode_fail(desc, "holds records of type %" PRIu32 ", expected %" PRIu32
				   " (%s)", type_id, desc->type_id, desc->name);
	*count = get_u32(p + 8);
	body = len - LIST_HDR_LEN - CRC_LEN;
	if (*count > body / REC_HDR_LEN)
		return decode_fail(desc, "truncated: %" PRIu32 " records cannot fit in %zu bytes",
				   *count, body);
	return 0;
}

int record_decode_list(const void *data, size_t len, const struct record_desc *desc,
		       void **recs, size_t *n)
{
	const uint8_t *p = data;
	uint8_t *seen = NULL;
	char *out = NULL;
	uint32_t count = 0;
	size_t pos, end;

	*recs = NULL;
	*n = 0;
	if (check_list(p, len, desc, &count) < 0)
		return -1;
	seen = malloc(desc->nfields ? desc->nfields : 1);
	if (count)
		out = calloc(count, desc->size);
	if (!seen || (count && !out)) {
		fail(ENOMEM, NULL, "decoding %" PRIu32 " %s records", count, desc->name);
		goto err;
	}
	pos = LIST_HDR_LEN;
	end = len - CRC_LEN;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t rlen;

		if (end - pos < REC_HDR_LEN) {
			decode_fail(desc, "truncated: the list ends after %" PRIu32 " of %" PRIu32
				    " records", i, count);
			goto err;
		}
		rlen = get_u32(p + pos);
		pos += REC_HDR_LEN;
		if (rlen > end - pos) {
			decode_fail(desc, "truncated: record %" PRIu32 " is %" PRIu32
				    " bytes but only %zu are left", i, rlen, end - pos);
			goto err;
		}
		memset(seen, 0, desc->nfields ? desc->nfields : 1);
		if (decode_record(desc, i, p + pos, rlen, out + (size_t)i * desc->size, seen) < 0)
			goto err;
		pos += rlen;
	}
	if (pos != end) {
		decode_fail(desc, "%zu stray bytes after the last of %" PRIu32 " records",
			    end - pos, count);
		goto err;
	}
	free(seen);
	*recs = out;
	*n = count;
	return 0;
err:
	/* calloc zeroed every record, so freeing all of them is safe. */
	free(seen);
	record_free_list(desc, out, count);
	return -1;
}

void record_free_list(const struct record_desc *desc, void *recs, size_t n)
{
	if (!recs)
		return;
	for (size_t i = 0; i < n; i++) {
		void *rec = (char *)recs + i * desc->size;

		for (unsigned k = 0; k < desc->nfields; k++) {
			const struct field_desc *f = &desc->fields[k];

			if (f->type == FT_STR)
				free(*(char **)field_ptr(rec, f));
			else if (f->type == FT_BLOB)
				free(((struct blob *)field_ptr(rec, f))->data);
		}
	}
	free(recs);
}

/* ---- printing ---- */

/* Integers that hold addresses read better in hex.  Matched per '_'-word,
 * so "altstack_sp" is an address but "altstack_size" is not. */
static bool is_address_name(const char *name)
{
	static const char *const words[] = {
		"start", "end", "addr", "sp", "handler", "restorer", "brk",
		"code", "data", "stack",
	};
	static const char *const names[] = { "robust_list", "clear_child_tid" };

	if (!strncmp(name, "arg_", 4) || !strncmp(name, "env_", 4))
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	while (*name) {
		size_t wlen = strcspn(name, "_");

		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (wlen == strlen(words[i]) && !strncmp(name, words[i], wlen))
				return true;
		name += wlen;
		if (*name == '_')
			name++;
	}
	return false;
}

static bool int_value(const struct field_desc *f, const void *p, uint64_t *u, int64_t *s)
{
	switch (f->type) {
	case FT_U32:
		*u = *(const uint32_t *)p;
		return false;
	case FT_U64:
		*u = *(const uint64_t *)p;
		return false;
	case FT_I32:
		*s = *(const int32_t *)p;
		*u = (uint64_t)*s;
		return true;
	default:
		*s = *(const int64_t *)p;
		*u = (uint64_t)*s;
		return true;
	}
}

/* Strings come from the traced process (paths, comm) and may hold any
 * byte; keep control characters from reaching the terminal. */
static void print_escaped(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

void record_print(FILE *f, const struct record_desc *desc, const void *rec, int indent)
{
	for (unsigned i = 0; i < desc->nfields; i++) {
		const struct field_desc *fd = &desc->fields[i];
		const void *p = field_cptr(rec, fd);
		bool is_signed;
		const char *s;
		uint64_t u;
		int64_t v;

		fprintf(f, "%*s%s: ", indent, "", fd->name);
		switch (fd->type) {
		case FT_STR:
			s = *(char *const *)p;
			if (s)
				print_escaped(f, s);
			else
				fputs("(none)", f);
			break;
		case FT_BLOB:
			fprintf(f, "<%" PRIu32 " bytes>", ((const struct blob *)p)->len);
			break;
		default:
			is_signed = int_value(fd, p, &u, &v);
			if (is_address_name(fd->name))
				fprintf(f, "0x%" PRIx64, u);
			else if (is_signed)
				fprintf(f, "%" PRId64, v);
			else
				fprintf(f, "%" PRIu64, u);
			break;
		}
		fputc('\n', f);
	}
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none:
 * no overlong forms, surrogates or code points past U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* JSON strings must be valid UTF-8: bytes that are not become U+FFFD. */
static void json_string(FILE *f, const char *str)
{
	const unsigned char *p = (const unsigned char *)str;
	size_t n = strlen(str);

	fputc('"', f);
	while (n) {
		size_t len = utf8_len(p, n);

		if (!len) {
			fputs("\\ufffd", f);
			len = 1;
		} else if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
		} else {
			fwrite(p, 1, len, f);
		}
		p += len;
		n -= len;
	}
	fputc('"', f);
}

void record_print_json(FILE *f, const struct record_desc *desc, const void *rec)
{
	fputc('{', f);
	for (unsigned i = 0; i < desc->nfields; i++) {
		const struct field_desc *fd = &desc->fields[i];
		const void *p = field_cptr(rec, fd);
		const struct blob *b;
		const char *s;
		uint64_t u;
		int64_t v;

		fprintf(f, "%s\"%s\": ", i ? ", " : "", fd->name);
		switch (fd->type) {
		case FT_STR:
			s = *(char *const *)p;
			if (s)
				json_string(f, s);
			else
				fputs("null", f);
			break;
		case FT_BLOB:
			b = p;
			fputc('"', f);
			for (uint32_t k = 0; k < b->len; k++)
				fprintf(f, "%02x", ((const uint8_t *)b->data)[k]);
			fputc('"', f);
			break;
		default:
			if (int_value(fd, p, &u, &v))
				fprintf(f, "%" PRId64, v);
			else
				fprintf(f, "%" PRIu64, u);
			break;
		}
	}
	fputc('}', f);
}
