/* The PAGEMAP_SCAN ioctl, shared by the memory and mapping-attribute
 * modules. */
#ifndef CKPT_PAGEMAP_SCAN_H
#define CKPT_PAGEMAP_SCAN_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

/* PAGEMAP_SCAN (Linux 6.7): the kernel returns ranges of pages of the
 * wanted kinds instead of one pagemap entry per page.  Debian 12's
 * headers predate it. */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#endif
#ifndef PAGE_IS_WRITTEN
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)	/* no uffd-wp bit: written since protected */
#endif
#ifndef PM_SCAN_WP_MATCHING
#define PM_SCAN_WP_MATCHING (1 << 0)	/* write-protect the pages reported */
#define PM_SCAN_CHECK_WPASYNC (1 << 1)	/* EPERM unless uffd-wp async registered */
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8)	/* Linux 6.14 */
#endif

#endif
