/* Unit tests for what restart trusts in an image (issue 15): whose image
 * it is when root restores it (common/state/creds.c creds_image_owner),
 * and records that name a thread the image does not have (timers, queued
 * signals: common/state/timers.c, signals.c), refused before anything is
 * created. */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

START_TEST(test_owner)
{
	struct image_header h = { 0 };
	struct restore_opts o = { 0 };
	gid_t gid;

	/* Nothing known (an old image through a pipe): root's. */
	ck_assert_uint_eq(creds_image_owner(&h, &o, &gid), 0);
	ck_assert_uint_eq(creds_image_owner(NULL, NULL, &gid), 0);
	/* The header says root wrote it (owner_uid is 1 + uid). */
	h.owner_uid = 1;
	ck_assert_uint_eq(creds_image_owner(&h, &o, &gid), 0);
	/* ... or a user: that user, with the header's group. */
	h.owner_uid = 1001;
	h.owner_gid = 2001;
	ck_assert_uint_eq(creds_image_owner(&h, &o, &gid), 1000);
	ck_assert_uint_eq(gid, 2000);
	/* A file owned by root: the header's user still counts (less power). */
	o.image_supplier_known = true;
	o.image_supplier_uid = 0;
	ck_assert_uint_eq(creds_image_owner(&h, &o, &gid), 1000);
	/* A file owned by a user: that user, whatever the header claims. */
	o.image_supplier_uid = 65534;
	o.image_supplier_gid = 65533;
	h.owner_uid = 1;
	ck_assert_uint_eq(creds_image_owner(&h, &o, &gid), 65534);
	ck_assert_uint_eq(gid, 65533);
}
END_TEST

static struct thread_rec threads[2] = { { .tid = 10 }, { .tid = 11 } };

static void ctx_init(struct restore_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->meta.threads = threads;
	ctx->meta.nthreads = 2;
	error_clear();
}

/* Paths an image names must be absolute and normalised. */
START_TEST(test_image_path)
{
	static const char *good[] = { "/", "/usr/lib/x.so", "/a..b/.c/..d", "/tmp/x (deleted)",
				      "/memfd:a b (deleted)" };
	static const char *bad[] = { "", "lib/x.so", "/usr/../etc/shadow", "/..", "/.",
				     "/a/./b", "/a//b", "/a/", "/a/..", "./x" };
	char *lng = malloc(PATH_MAX + 2);
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(image_path_ok(good[i]), "refused %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!image_path_ok(bad[i]), "accepted %s", bad[i]);
	ck_assert(!image_path_ok(NULL));
	ck_assert_ptr_nonnull(lng);
	lng[0] = '/';
	memset(lng + 1, 'a', PATH_MAX);
	lng[PATH_MAX + 1] = 0;
	ck_assert(!image_path_ok(lng));
	free(lng);
}
END_TEST

START_TEST(test_has_thread)
{
	struct restore_ctx ctx;

	ctx_init(&ctx);
	ck_assert(meta_has_thread(&ctx.meta, 10));
	ck_assert(meta_has_thread(&ctx.meta, 11));
	ck_assert(!meta_has_thread(&ctx.meta, 12));
	ck_assert(!meta_has_thread(&ctx.meta, 0));
}
END_TEST

START_TEST(test_timer_thread)
{
	struct timer_rec t = { .id = 0, .signo = SIGALRM, .notify = SIGEV_SIGNAL | 4 /* THREAD_ID */,
			       .notify_tid = 11 };
	struct restore_ctx ctx;

	ctx_init(&ctx);
	ctx.meta.timers = &t;
	ctx.meta.ntimers = 1;
	ck_assert_int_eq(timers_state_ops.check(&ctx), 0);
	t.notify_tid = 99;
	ck_assert_int_eq(timers_state_ops.check(&ctx), -1);
	ck_assert(strstr(error_text(), "not in the image"));
	t.notify = SIGEV_SIGNAL;	/* process-directed: the tid is not used */
	ck_assert_int_eq(timers_state_ops.check(&ctx), 0);
}
END_TEST

START_TEST(test_sigpending_thread)
{
	static uint8_t info[128];
	struct sigpending_rec s = { .tid = 11, .siginfo = { info, sizeof(info) } };
	struct restore_ctx ctx;

	ctx_init(&ctx);
	ctx.meta.sigpending = &s;
	ctx.meta.nsigpending = 1;
	ck_assert_int_eq(signals_state_ops.check(&ctx), 0);
	s.tid = 0;	/* shared by the process */
	ck_assert_int_eq(signals_state_ops.check(&ctx), 0);
	s.tid = 4242;
	ck_assert_int_eq(signals_state_ops.check(&ctx), -1);
	ck_assert(strstr(error_text(), "not in the image"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image_trust");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_owner);
	tcase_add_test(tc, test_image_path);
	tcase_add_test(tc, test_has_thread);
	tcase_add_test(tc, test_timer_thread);
	tcase_add_test(tc, test_sigpending_thread);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
