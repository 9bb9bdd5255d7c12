/* Unit tests for socket options (common/state/sockopts.c): what ckpt
 * records of a socket, and how restart checks records it reads from an
 * untrusted image. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "state/fds.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

static struct fd_rec tcp_rec(int fd)
{
	struct fd_rec r;

	memset(&r, 0, sizeof(r));
	r.fd = fd;
	r.kind = FD_TCP;
	r.sock_domain = AF_INET;
	r.sock_type = SOCK_STREAM;
	r.sock_protocol = IPPROTO_TCP;
	return r;
}

static int check_one(const char *option, int64_t value, const char *text)
{
	struct restore_ctx ctx;
	struct sockopt_rec o = { .fd = 3, .option = (char *)option, .value = value,
				 .text = (char *)text };
	struct fd_rec r = tcp_rec(3);

	memset(&ctx, 0, sizeof(ctx));
	ctx.meta.sockopts = &o;
	ctx.meta.nsockopts = 1;
	return sockopts_check(&ctx, &r);
}

START_TEST(test_check_accepts_known)
{
	ck_assert_int_eq(check_one("SO_PRIORITY", 6, NULL), 0);
	ck_assert_int_eq(check_one("TCP_KEEPIDLE", 77, NULL), 0);
	ck_assert_int_eq(check_one("SO_LINGER", -1, NULL), 0);
	ck_assert_int_eq(check_one("TCP_CONGESTION", 0, "reno"), 0);
	/* A classic BPF filter: whole instructions (8 bytes) in hex. */
	ck_assert_int_eq(check_one("SO_ATTACH_FILTER", 0, "0600000000000000"), 0);
	ck_assert_int_eq(check_one("SO_LOCK_FILTER", 1, NULL), 0);
}
END_TEST

/* A structure option (ICMPV6_FILTER) of a raw ICMPv6 socket: up to 32
 * bytes in hex, nothing else. */
START_TEST(test_check_hex)
{
	struct restore_ctx ctx;
	struct sockopt_rec o = { .fd = 3, .option = "ICMPV6_FILTER" };
	struct fd_rec r = tcp_rec(3);
	char too_long[67];

	r.kind = FD_RAW;
	r.sock_domain = AF_INET6;
	r.sock_type = SOCK_RAW;
	r.sock_protocol = IPPROTO_ICMPV6;
	memset(&ctx, 0, sizeof(ctx));
	ctx.meta.sockopts = &o;
	ctx.meta.nsockopts = 1;
	o.text = "ffffffff00000000ffffffffffffffffffffffffffffffffffffffffffffffff";
	ck_assert_int_eq(sockopts_check(&ctx, &r), 0);
	o.text = "fff";			/* odd */
	ck_assert_int_eq(sockopts_check(&ctx, &r), -1);
	o.text = "zz";			/* not hex */
	ck_assert_int_eq(sockopts_check(&ctx, &r), -1);
	memset(too_long, 'a', 66);
	too_long[66] = 0;
	o.text = too_long;		/* 33 bytes */
	ck_assert_int_eq(sockopts_check(&ctx, &r), -1);
	o.text = NULL;
	ck_assert_int_eq(sockopts_check(&ctx, &r), -1);
	/* Not an option of a TCP socket. */
	ck_assert_int_eq(check_one("ICMPV6_FILTER", 0, "00"), -1);
}
END_TEST

START_TEST(test_check_refuses_bad)
{
	ck_assert_int_eq(check_one("SO_BOGUS", 1, NULL), -1);
	ck_assert_int_eq(check_one(NULL, 1, NULL), -1);
	/* Not an option of a TCP socket. */
	ck_assert_int_eq(check_one("IPV6_V6ONLY", 1, NULL), -1);
	ck_assert_int_eq(check_one("UDP_CORK", 1, NULL), -1);
	/* Out of range for an int, a linger, a timeout. */
	ck_assert_int_eq(check_one("SO_PRIORITY", (int64_t)1 << 40, NULL), -1);
	ck_assert_int_eq(check_one("SO_LINGER", -2, NULL), -1);
	ck_assert_int_eq(check_one("SO_RCVTIMEO", -5, NULL), -1);
	/* Text missing or too long for its option. */
	ck_assert_int_eq(check_one("TCP_CONGESTION", 0, NULL), -1);
	ck_assert_int_eq(check_one("SO_BINDTODEVICE", 0, "a-device-name-far-too-long"), -1);
	/* A filter: no text, not hex, a piece of an instruction, empty. */
	ck_assert_int_eq(check_one("SO_ATTACH_FILTER", 0, NULL), -1);
	ck_assert_int_eq(check_one("SO_ATTACH_FILTER", 0, "06000000000000zz"), -1);
	ck_assert_int_eq(check_one("SO_ATTACH_FILTER", 0, "060000000000"), -1);
	ck_assert_int_eq(check_one("SO_ATTACH_FILTER", 0, ""), -1);
}
END_TEST

/* Records of another fd are not this socket's business. */
START_TEST(test_check_other_fd)
{
	struct restore_ctx ctx;
	struct sockopt_rec o = { .fd = 4, .option = "SO_BOGUS" };
	struct fd_rec r = tcp_rec(3);

	memset(&ctx, 0, sizeof(ctx));
	ctx.meta.sockopts = &o;
	ctx.meta.nsockopts = 1;
	ck_assert_int_eq(sockopts_check(&ctx, &r), 0);
}
END_TEST

/* Only what differs from a new socket is recorded, by name. */
START_TEST(test_dump_differences)
{
	struct dump_ctx ctx;
	int s = socket(AF_INET, SOCK_STREAM, 0), prio = 4, idle = 99;
	size_t i;
	bool saw_prio = false, saw_idle = false;

	ck_assert_int_ge(s, 0);
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio)), 0);
	ck_assert_int_eq(setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)), 0);
	ck_assert_int_eq(sockopts_dump(&ctx, s, 7, AF_INET, SOCK_STREAM, IPPROTO_TCP), 0);
	ck_assert_uint_eq(ctx.meta.nsockopts, 2);
	for (i = 0; i < ctx.meta.nsockopts; i++) {
		const struct sockopt_rec *r = &ctx.meta.sockopts[i];
		ck_assert_int_eq(r->fd, 7);
		if (!strcmp(r->option, "SO_PRIORITY") && r->value == 4)
			saw_prio = true;
		if (!strcmp(r->option, "TCP_KEEPIDLE") && r->value == 99)
			saw_idle = true;
	}
	ck_assert(saw_prio && saw_idle);
	record_free_list(&sockopt_rec_desc, ctx.meta.sockopts, ctx.meta.nsockopts);
	close(s);
}
END_TEST

static Suite *sockopts_suite(void)
{
	Suite *s = suite_create("sockopts");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_check_accepts_known);
	tcase_add_test(tc, test_check_refuses_bad);
	tcase_add_test(tc, test_check_hex);
	tcase_add_test(tc, test_check_other_fd);
	tcase_add_test(tc, test_dump_differences);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sockopts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
