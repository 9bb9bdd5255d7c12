/* Unit tests for common/state/unix_named_connection.c: a connection whose
 * ends show given names, made without touching the host's files. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "state/unix_named_connection.h"

#include <check.h>
#undef fail

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static socklen_t name_of(struct sockaddr_un *sa, const char *path, int abstract)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	ck_assert(strlen(path) < sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path + !!abstract, path, strlen(path));
	return (socklen_t)(SUN_OFF + !!abstract + strlen(path) + !abstract);
}

static void assert_name(int s, int peer, const struct sockaddr_un *want, socklen_t len)
{
	struct sockaddr_un got;
	socklen_t glen = sizeof(got);

	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(peer ? getpeername(s, (struct sockaddr *)&got, &glen) :
			 getsockname(s, (struct sockaddr *)&got, &glen), 0);
	ck_assert_int_eq(glen, len);
	ck_assert(!memcmp(&got, want, len));
}

static int cannot_chroot(void)
{
	return geteuid() != 0;
}

/* Path names: the accepted end shows the listener's name, the client its
 * own and the listener's as its peer's; no file appears at either path,
 * even in a directory that does not exist; a live socket bound to the
 * same path is no obstacle; data flows; the working directory is ours. */
START_TEST(test_paths)
{
	char dir[] = "/tmp/test-unix-named-XXXXXX", lpath[128], cpath[128], cwd[4096], now[4096];
	struct sockaddr_un ln, cn;
	socklen_t llen, clen;
	const char *step = NULL;
	struct stat st;
	int sv[2], live;
	char c = 0;

	if (cannot_chroot())
		return;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(lpath, sizeof(lpath), "%s/l.sock", dir);
	snprintf(cpath, sizeof(cpath), "%s/not/there/c.sock", dir);
	llen = name_of(&ln, lpath, 0);
	clen = name_of(&cn, cpath, 0);
	live = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(live, (struct sockaddr *)&ln, llen), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(unix_named_connection(SOCK_STREAM, &ln, llen, &cn, clen, sv, &step), 0);
	ck_assert_ptr_nonnull(getcwd(now, sizeof(now)));
	ck_assert_str_eq(cwd, now);
	assert_name(sv[0], 0, &ln, llen);
	assert_name(sv[1], 1, &ln, llen);
	assert_name(sv[1], 0, &cn, clen);
	assert_name(sv[0], 1, &cn, clen);
	ck_assert_int_eq(lstat(cpath, &st), -1);
	snprintf(cpath, sizeof(cpath), "%s/not", dir);
	ck_assert_int_eq(lstat(cpath, &st), -1);
	ck_assert_int_eq(lstat(lpath, &st), 0);	/* the live one's, still there */
	ck_assert_int_eq(lstat("/tmp/../etc/passwd", &st), 0);	/* our root is back */
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	ck_assert_int_eq(read(sv[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	close(sv[0]);
	close(sv[1]);
	close(live);
	unlink(lpath);
	rmdir(dir);
}
END_TEST

/* An abstract name is free again once the connection is made; taken, it
 * fails with EADDRINUSE and leaves nothing open. */
START_TEST(test_abstract)
{
	struct sockaddr_un ln;
	socklen_t llen;
	const char *step = NULL;
	char name[64];
	int sv[2], again;

	snprintf(name, sizeof(name), "test-unix-named-%d", getpid());
	llen = name_of(&ln, name, 1);
	ck_assert_int_eq(unix_named_connection(SOCK_SEQPACKET, &ln, llen, NULL, 0, sv, &step), 0);
	assert_name(sv[0], 0, &ln, llen);
	assert_name(sv[1], 1, &ln, llen);
	again = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(again, (struct sockaddr *)&ln, llen), 0);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(unix_named_connection(SOCK_STREAM, &ln, llen, NULL, 0, sv, &step), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert(sv[0] == -1 && sv[1] == -1);
	close(again);
	/* A datagram "connection" is not one. */
	ck_assert_int_eq(unix_named_connection(SOCK_DGRAM, &ln, llen, NULL, 0, sv, &step), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("unix_named");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_abstract);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
