/* libFuzzer harness: the record decoder (common/record.c).
 * Input: one member body ("CKR1" | type | count | records | crc32c).
 * It is decoded with the description of every meta member whose record
 * type it names (after setting its crc32c trailer right, so that mutations
 * reach the decoder's other checks), printed (text and JSON, as ckpt info does), encoded again
 * and decoded again: the second decoding must succeed and give the same
 * encoding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static FILE *devnull;

static void one(const struct record_desc *desc, const uint8_t *data, size_t len)
{
	struct buf a = { 0 }, b = { 0 };
	void *recs = NULL, *again = NULL;
	size_t n = 0, n2 = 0, i;

	if (record_decode_list(data, len, desc, &recs, &n)) {
		error_clear();
		return;
	}
	for (i = 0; i < n; i++) {
		record_print(devnull, desc, (char *)recs + i * desc->size, 2);
		record_print_json(devnull, desc, (char *)recs + i * desc->size);
	}
	if (record_encode_list(&a, desc, recs, n) ||
	    record_decode_list(a.data, a.len, desc, &again, &n2) ||
	    record_encode_list(&b, desc, again, n2))
		abort();	/* what was decoded must encode and decode again */
	if (n2 != n || a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	record_free_list(desc, recs, n);
	record_free_list(desc, again, n2);
	buf_free(&a);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct image_meta m;
	const struct record_desc *desc;
	const char *name;
	const void *recs;
	uint32_t type;
	size_t n;
	unsigned i;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	uint8_t *copy;
	uint32_t crc;

	if (len < 12 || !(copy = malloc(len)))
		return 0;
	memcpy(copy, data, len);
	crc = crc32c(0, copy, len - 4);
	memcpy(copy + len - 4, &crc, 4);
	memcpy(&type, copy + 4, 4);
	for (i = 0; meta_member_at(&m, i, &name, &desc, &recs, &n); i++)
		if (desc && desc->type_id == type)
			one(desc, copy, len);
	free(copy);
	return 0;
}
