/* Errors and logging shared by ckpt and restart.
 *
 * Every fallible function returns a negative value and records *one* error:
 * what failed, why (errno text or a sentence) and what the user can do.
 * The first error recorded in a thread wins; callers higher up return the
 * same negative value without overwriting it.  main() prints it once as
 *     prog: <what failed>: <why> (<what to do>)
 * and exits non-zero.
 */
#ifndef CKPT_ERROR_H
#define CKPT_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

#define must_check __attribute__((warn_unused_result))
#define printf_like(a, b) __attribute__((format(printf, a, b)))

/* Record an error.  errnum is an errno value (0: no errno text, use why).
 * hint may be NULL.  Returns -1 always, so `return fail(...)` reads well. */
int fail(int errnum, const char *hint, const char *what_fmt, ...) printf_like(3, 4);
/* Same, with an explicit "why" sentence instead of strerror(errnum). */
int fail_why(const char *why, const char *hint, const char *what_fmt, ...) printf_like(3, 4);

bool error_is_set(void);
/* The errno value of the recorded error (fail()), 0 if none or fail_why(). */
int error_errno(void);
void error_clear(void);
/* Text of the recorded error ("what: why (hint)"), "" if none. */
const char *error_text(void);
/* Its "why" alone, for a caller that says what to do itself. */
const char *error_why(void);
/* Print "prog: what: why (hint)" to stderr. */
void error_print(void);

/* Logging.  log_level: 0 quiet (errors, warnings), 1 -v, 2 -vv. */
extern int log_level;
void log_set_program(const char *prog);
const char *log_program(void);
void log_msg(int level, const char *prefix, const char *fmt, ...) printf_like(3, 4);
void warn_msg(const char *prefix, const char *fmt, ...) printf_like(2, 3);

/* Each .c file may define LOG_PREFIX "module: " before including this. */
#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif
#define pr_info(...)  log_msg(1, LOG_PREFIX, __VA_ARGS__)
#define pr_debug(...) log_msg(2, LOG_PREFIX, __VA_ARGS__)
#define pr_warn(...)  warn_msg(LOG_PREFIX, __VA_ARGS__)

/* Monotonic clock in nanoseconds, for phase timings. */
unsigned long long now_ns(void);

#endif
