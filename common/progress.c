#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "error.h"

void progress_start(struct progress *p, const char *what, uint64_t total)
{
	p->what = what;
	p->total = total;
	p->start_ns = p->last_ns = now_ns();
	p->shown = false;
	p->tty = isatty(STDERR_FILENO);
}

static void show(struct progress *p, uint64_t done, unsigned long long t, const char *end)
{
	double secs = (t - p->start_ns) / 1e9;

	if (p->total)
		fprintf(stderr, "%s%s: %s: %llu of %llu MiB (%.0f%%), %.1f s%s", p->tty ? "\r" : "",
			log_program(), p->what, (unsigned long long)(done >> 20),
			(unsigned long long)(p->total >> 20), 100.0 * done / p->total, secs, end);
	else
		fprintf(stderr, "%s%s: %s: %llu MiB, %.1f s%s", p->tty ? "\r" : "", log_program(),
			p->what, (unsigned long long)(done >> 20), secs, end);
	p->shown = true;
}

void progress_update(struct progress *p, uint64_t done)
{
	unsigned long long t = now_ns();

	if (t - p->start_ns < 1000000000ull || t - p->last_ns < 1000000000ull)
		return;
	p->last_ns = t;
	show(p, done, t, p->tty ? "" : "\n");
}

void progress_end(struct progress *p, uint64_t done)
{
	if (p->shown)
		show(p, done, now_ns(), "\n");
}
