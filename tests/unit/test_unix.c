/* Unit tests for unix sockets (common/state/fd_socket_unix.c): how restart
 * checks the socket records and queued messages it reads from an untrusted
 * image, and that a queued message survives the record codec whole. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/tcp.h>

#include "state/fds.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

static struct fd_rec fds[3];
static struct unix_msg_rec msg;
static int32_t msg_fds[2];
static struct sockaddr_un from;
static struct restore_ctx ctx;

/* fd 3 and 4: a datagram pair; fd 5: a pipe end (in flight). */
static void setup(void)
{
	memset(fds, 0, sizeof(fds));
	memset(&msg, 0, sizeof(msg));
	memset(&ctx, 0, sizeof(ctx));
	fds[0] = (struct fd_rec){ .fd = 3, .kind = FD_UNIX, .sock_domain = AF_UNIX,
				  .sock_type = SOCK_DGRAM, .sock_state = TCP_ESTABLISHED,
				  .object_id = 100, .peer_id = 101 };
	fds[1] = fds[0];
	fds[1].fd = 4;
	fds[1].object_id = 101;
	fds[1].peer_id = 100;
	fds[2] = (struct fd_rec){ .fd = 5, .kind = FD_PIPE, .inflight = 1, .object_id = 7 };
	msg_fds[0] = 5;
	msg_fds[1] = 4;
	msg.fd = 3;
	msg.data = (struct blob){ "hello", 5 };
	msg.fds = (struct blob){ msg_fds, sizeof(msg_fds) };
	msg.has_creds = 1;
	msg.pid = 42;
	ctx.meta.fds = fds;
	ctx.meta.nfds = 3;
	ctx.meta.unix_msgs = &msg;
	ctx.meta.nunix_msgs = 1;
}

static int check(int i)
{
	return fd_unix_kind.check(&ctx, &fds[i]);
}

START_TEST(test_valid_queue)
{
	setup();
	ck_assert_int_eq(check(0), 0);
	ck_assert_int_eq(check(1), 0);
}
END_TEST

START_TEST(test_bad_fds)
{
	setup();
	msg_fds[1] = 9;			/* no such fd in the image */
	ck_assert_int_eq(check(0), -1);
	setup();
	msg.fds.len = 5;		/* not a whole number of fds */
	ck_assert_int_eq(check(0), -1);
	setup();
	msg.has_creds = 2;
	ck_assert_int_eq(check(0), -1);
	setup();
	msg.fd = 5;			/* queued on a pipe */
	ck_assert_int_eq(check(0), -1);
	setup();
	msg.fd = 8;			/* on no fd at all */
	ck_assert_int_eq(check(0), -1);
}
END_TEST

START_TEST(test_bad_sender)
{
	setup();
	/* A datagram from a name no socket of the image has. */
	from.sun_family = AF_UNIX;
	strcpy(from.sun_path, "/nowhere");
	msg.from = (struct blob){ &from, offsetof(struct sockaddr_un, sun_path) + 9 };
	ck_assert_int_eq(check(0), -1);
	/* The same, once the peer has that name. */
	fds[1].local_addr = msg.from;
	ck_assert_int_eq(check(0), 0);
	setup();
	msg.from.len = sizeof(from) + 1;
	ck_assert_int_eq(check(0), -1);
}
END_TEST

START_TEST(test_bad_socket_fields)
{
	setup();
	fds[0].shutdown = 4;
	ck_assert_int_eq(check(0), -1);
	setup();
	fds[0].sock_type = 77;
	ck_assert_int_eq(check(0), -1);
	setup();
	fds[0].icons = (struct blob){ msg_fds, 4 };	/* not u64s */
	ck_assert_int_eq(check(0), -1);
	setup();
	fds[0].waiting_on = 101;	/* not a listener */
	ck_assert_int_eq(check(0), -1);
	setup();
	fds[0].sock_state = TCP_LISTEN;	/* a listener with a peer */
	ck_assert_int_eq(check(0), -1);
	setup();
	/* A stream socket with data but no peer to send it from. */
	fds[0].sock_type = SOCK_STREAM;
	fds[0].peer_id = 0;
	ck_assert_int_eq(check(0), -1);
	fds[0].peer_gone = 1;
	ck_assert_int_eq(check(0), 0);
}
END_TEST

/* fd 3 of a socket pair whose other end is in another process of the tree. */
START_TEST(test_tree_pair)
{
	setup();
	fds[0].sock_type = SOCK_STREAM;
	fds[0].peer_id = 555;		/* not in this process */
	fds[0].peer_pid = 1234;
	msg.fds.len = 0;
	ck_assert_int_eq(check(0), 0);
	msg.fds.len = sizeof(msg_fds);	/* fds are not sent across processes */
	ck_assert_int_eq(check(0), -1);
	msg.fds.len = 0;
	fds[0].peer_pid = -1;
	ck_assert_int_eq(check(0), -1);
	fds[0].peer_pid = 1234;
	fds[0].peer_id = 101;		/* its peer is in this process after all */
	ck_assert_int_eq(check(0), -1);
	fds[0].peer_id = 555;
	fds[0].local_addr = (struct blob){ &from, offsetof(struct sockaddr_un, sun_path) + 2 };
	from.sun_family = AF_UNIX;
	strcpy(from.sun_path, "x");
	ck_assert_int_eq(check(0), 0);	/* named: a connection through a listener */
	fds[0].name_gone = 1;
	ck_assert_int_eq(check(0), -1);	/* which binds no file */
	fds[0].name_gone = 0;
	fds[0].sock_type = SOCK_DGRAM;
	ck_assert_int_eq(check(0), -1);	/* a named datagram end is not rebuilt */
	fds[0].sock_type = SOCK_STREAM;
	fds[0].local_addr.len = 0;
	fds[0].peer_gone = 1;
	ck_assert_int_eq(check(0), -1);
}
END_TEST

START_TEST(test_codec_round_trip)
{
	struct buf b = { 0 };
	struct unix_msg_rec *back = NULL;
	size_t n = 0;

	setup();
	ck_assert_int_eq(record_encode_list(&b, &unix_msg_rec_desc, &msg, 1), 0);
	ck_assert_int_eq(record_decode_list(b.data, b.len, &unix_msg_rec_desc, (void **)&back, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(back->fd, 3);
	ck_assert_int_eq(back->data.len, 5);
	ck_assert(!memcmp(back->data.data, "hello", 5));
	ck_assert_int_eq(back->fds.len, sizeof(msg_fds));
	ck_assert(!memcmp(back->fds.data, msg_fds, sizeof(msg_fds)));
	ck_assert_int_eq(back->pid, 42);
	record_free_list(&unix_msg_rec_desc, back, n);
	buf_free(&b);
}
END_TEST

static Suite *unix_suite(void)
{
	Suite *s = suite_create("unix");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_valid_queue);
	tcase_add_test(tc, test_bad_fds);
	tcase_add_test(tc, test_bad_sender);
	tcase_add_test(tc, test_bad_socket_fields);
	tcase_add_test(tc, test_tree_pair);
	tcase_add_test(tc, test_codec_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(unix_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
