#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int log_level;
static const char *program = "ckpt";

static __thread struct {
	bool set;
	int errnum;		/* of fail(), 0 for fail_why() */
	char what[512];
	char why[512];
	char hint[512];
	char text[1600];
} last_error;

static int record(const char *why, const char *hint, const char *fmt, va_list ap)
{
	if (last_error.set)
		return -1;
	last_error.set = true;
	vsnprintf(last_error.what, sizeof(last_error.what), fmt, ap);
	snprintf(last_error.why, sizeof(last_error.why), "%s", why);
	snprintf(last_error.hint, sizeof(last_error.hint), "%s", hint ? hint : "");
	return -1;
}

int fail(int errnum, const char *hint, const char *what_fmt, ...)
{
	va_list ap;
	va_start(ap, what_fmt);
	if (!last_error.set)
		last_error.errnum = errnum;
	record(errnum ? strerror(errnum) : "failed", hint, what_fmt, ap);
	va_end(ap);
	return -1;
}

int fail_why(const char *why, const char *hint, const char *what_fmt, ...)
{
	va_list ap;
	va_start(ap, what_fmt);
	if (!last_error.set)
		last_error.errnum = 0;
	record(why, hint, what_fmt, ap);
	va_end(ap);
	return -1;
}

int error_errno(void)
{
	return last_error.set ? last_error.errnum : 0;
}

bool error_is_set(void)
{
	return last_error.set;
}

void error_clear(void)
{
	last_error.set = false;
}

const char *error_why(void)
{
	return last_error.set ? last_error.why : "";
}

const char *error_text(void)
{
	if (!last_error.set)
		return "";
	if (last_error.hint[0])
		snprintf(last_error.text, sizeof(last_error.text), "%s: %s (%s)",
			 last_error.what, last_error.why, last_error.hint);
	else
		snprintf(last_error.text, sizeof(last_error.text), "%s: %s",
			 last_error.what, last_error.why);
	return last_error.text;
}

void error_print(void)
{
	if (!last_error.set)
		fail_why("internal error", "please report this with the -vv output",
			 "unknown failure");
	fprintf(stderr, "%s: %s\n", program, error_text());
}

void log_set_program(const char *prog)
{
	program = prog;
}

const char *log_program(void)
{
	return program;
}

void log_msg(int level, const char *prefix, const char *fmt, ...)
{
	va_list ap;
	if (level > log_level)
		return;
	fprintf(stderr, "%s: %s", program, prefix);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void warn_msg(const char *prefix, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: warning: %s", program, prefix);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
