/* Image records: each kind of record is described once, as an X-macro list
 * of fields, and that one description generates
 *   - the C struct both halves (dump and restore) use,
 *   - the field table the generic codec encodes, decodes, validates and
 *     prints from (ckpt info, --json).
 *
 * Declaring a record (see records.h):
 *   #define VMA_FIELDS(F, T) F(T, 1, U64, start) F(T, 2, STR, path) ...
 *   RECORD_DECLARE(vma_rec, VMA_FIELDS)      -- in a header
 *   RECORD_DEFINE(vma_rec, 3, VMA_FIELDS)    -- in exactly one .c file
 * Field ids are part of the image format: never reuse or renumber one.
 *
 * Wire format of one member holding a list of records (little endian):
 *   "CKR1" | u32 type_id | u32 count | count * record | u32 crc32c
 *   record = u32 nbytes | fields ...
 *   field  = u16 id | u8 type | u8 0 | u32 len | value[len]
 *   integers are 8-byte LE on the wire (range-checked on decode),
 *   STR is bytes without NUL, BLOB is raw bytes.
 * crc32c covers every byte before it.  Unknown field ids are skipped
 * (forward compatible); missing fields decode as zero / NULL.
 * Input is untrusted: every length is bounds-checked.
 */
#ifndef CKPT_RECORD_H
#define CKPT_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

enum field_type { FT_U32 = 1, FT_U64, FT_I32, FT_I64, FT_STR, FT_BLOB };

struct blob {
	void *data;
	uint32_t len;
};

struct field_desc {
	uint16_t id;
	uint8_t type;		/* enum field_type */
	const char *name;
	size_t offset;
};

struct record_desc {
	const char *name;	/* e.g. "vma" */
	uint32_t type_id;
	size_t size;		/* sizeof(struct name) */
	const struct field_desc *fields;
	unsigned nfields;
};

#define REC_CTYPE_U32 uint32_t
#define REC_CTYPE_U64 uint64_t
#define REC_CTYPE_I32 int32_t
#define REC_CTYPE_I64 int64_t
#define REC_CTYPE_STR char *
#define REC_CTYPE_BLOB struct blob

#define REC_MEMBER(T, id, type, name) REC_CTYPE_##type name;
#define REC_FIELD(T, id, type, name) { id, FT_##type, #name, offsetof(struct T, name) },

#define RECORD_DECLARE(tag, FIELDS)				\
	struct tag { FIELDS(REC_MEMBER, tag) };			\
	extern const struct record_desc tag##_desc;

#define RECORD_DEFINE(tag, type_id, FIELDS)			\
	static const struct field_desc tag##_fields[] = { FIELDS(REC_FIELD, tag) }; \
	const struct record_desc tag##_desc = {			\
		#tag, type_id, sizeof(struct tag), tag##_fields,	\
		sizeof(tag##_fields) / sizeof(tag##_fields[0]) };

/* Growable byte buffer. */
struct buf {
	uint8_t *data;
	size_t len, cap;
};
int buf_append(struct buf *b, const void *data, size_t len) must_check;
void buf_free(struct buf *b);

/* Encode n records (an array of struct desc->name) as one member body,
 * appended to out. */
int record_encode_list(struct buf *out, const struct record_desc *desc,
		       const void *recs, size_t n) must_check;
/* Decode a member body.  On success *recs is a calloc'd array of *n structs
 * (strings and blobs separately allocated, STR always NUL-terminated).
 * Errors (bad magic, wrong type, truncation, bad crc, type mismatch,
 * integer out of range) are reported with fail() naming desc->name. */
int record_decode_list(const void *data, size_t len, const struct record_desc *desc,
		       void **recs, size_t *n) must_check;
void record_free_list(const struct record_desc *desc, void *recs, size_t n);

/* Human-readable dump ("name: value" lines, indent spaces) and JSON object. */
void record_print(FILE *f, const struct record_desc *desc, const void *rec, int indent);
void record_print_json(FILE *f, const struct record_desc *desc, const void *rec);

/* Convenience for blobs and strings owned by records. */
int blob_set(struct blob *b, const void *data, size_t len) must_check;

uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
