/* Linked into ckpt and restart by `make check-sanitize` only.  The
 * options ASan and UBSan take when ASAN_OPTIONS / UBSAN_OPTIONS do not
 * reach the program (a test that runs restart under
 * systemd-socket-activate, which starts it with an empty environment):
 * the same as the Makefile passes.  No leak detection: ckpt and restart
 * end through one error path that leaves freeing to exit. */
#ifndef SAN_REPORTS
#define SAN_REPORTS "/tmp"
#endif

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=0:allow_user_segv_handler=1:log_path=" SAN_REPORTS "/asan";
}

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1:log_path=" SAN_REPORTS "/ubsan";
}
