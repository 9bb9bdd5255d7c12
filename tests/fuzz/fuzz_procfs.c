/* libFuzzer harness: the procfs parsers (common/procfs.c).
 * Input: one byte choosing the parser, then the text it parses (what the
 * kernel would have printed in /proc/PID/maps, smaps, stat, status,
 * limits or fdinfo/N). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct vma_entry vma;
	struct vma_entry *vmas = NULL;
	struct rlimit lim[RLIM_NLIMITS];
	struct proc_status status;
	struct proc_fdinfo fi;
	struct proc_stat st;
	char *text;
	size_t n = 0;

	if (len < 1)
		return 0;
	/* The readers hand the parsers NUL-terminated text. */
	if (!(text = malloc(len)))
		return 0;
	memcpy(text, data + 1, len - 1);
	text[len - 1] = 0;
	switch (data[0] % 6) {
	case 0:
		(void)!procfs_parse_maps_line(text, &vma);
		break;
	case 1:
		if (!procfs_parse_smaps(text, &vmas, &n))
			free(vmas);
		break;
	case 2:
		(void)!procfs_parse_stat(text, &st);
		break;
	case 3:
		(void)!procfs_parse_status(text, &status);
		break;
	case 4:
		(void)!procfs_parse_limits(text, lim);
		break;
	case 5:
		(void)!procfs_parse_fdinfo(text, &fi);
		break;
	}
	error_clear();
	free(text);
	return 0;
}
