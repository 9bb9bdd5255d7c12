/* Progress on stderr for work that takes longer than a second: silent
 * before that, then one update a second ("\r" on a terminal, one line
 * each otherwise), and a final line when done. */
#ifndef CKPT_PROGRESS_H
#define CKPT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	const char *what;		/* "writing memory" */
	uint64_t total;			/* bytes, 0 if unknown */
	unsigned long long start_ns, last_ns;
	bool shown, tty;
};

void progress_start(struct progress *p, const char *what, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p, uint64_t done);

#endif
