/* Unit tests for common/sessions.c: which processes of a tree were forked
 * before their parent's setsid(). */
#include <stdlib.h>

#include "sessions.h"

#include <check.h>
#undef fail

/* zdtm session01's tree (its testcase PIDs): 9 under leader 8 and 12 under
 * leader 11 (itself under leader 10) are in the root's session 2. */
START_TEST(test_chain)
{
	const struct session_node n[] = {
		{ 2, 2, -1, false },	/* 0: the root, leading session 2 */
		{ 8, 8, 0, false },	/* 1 */
		{ 9, 2, 1, false },	/* 2: forked by 8 before its setsid */
		{ 10, 10, 0, false },	/* 3 */
		{ 11, 11, 3, false },	/* 4: forked by 10 before its setsid */
		{ 12, 2, 4, false },	/* 5: by 11 before its setsid */
		{ 5, 2, 0, false },	/* 6: an ordinary member */
		{ 14, 6, 0, false },	/* 7: a gone leader's session: not early */
	};
	bool early[8];

	sessions_born_early(n, 8, early);
	ck_assert(!early[0] && !early[1] && early[2] && !early[3]);
	ck_assert(early[4] && early[5] && !early[6] && !early[7]);
}
END_TEST

/* What restart could not make is not early: a leader's children in two
 * different other sessions, a zombie, a child of the root. */
START_TEST(test_not_early)
{
	const struct session_node n[] = {
		{ 2, 2, -1, false },	/* 0 */
		{ 3, 3, 0, false },	/* 1 */
		{ 4, 2, 1, false },	/* 2: session 2 */
		{ 5, 7, 1, false },	/* 3: session 7: 3 cannot have been in both */
		{ 6, 2, 1, true },	/* 4: a zombie */
		{ 8, 9, 0, false },	/* 5: the root's child in another session */
	};
	bool early[6];

	sessions_born_early(n, 6, early);
	/* 3 was born in one session: 2 or 7, and the root forked it in
	 * 2 only; its children are refused (by ckpt) rather than half made. */
	ck_assert(!early[2] && !early[3] && !early[4] && !early[5]);
}
END_TEST

/* The root's session may be 0: its leader is outside our PID namespace (a
 * CI runner's).  0 is a session like any other, not "no constraint". */
START_TEST(test_session_zero)
{
	const struct session_node n[] = {
		{ 20, 0, -1, false },	/* 0: the root, in session 0 */
		{ 21, 21, 0, false },	/* 1: a leader now */
		{ 22, 0, 1, false },	/* 2: forked by 21 before its setsid */
		{ 23, 21, 1, false },	/* 3: forked after it */
	};
	bool early[4];

	sessions_born_early(n, 4, early);
	ck_assert(!early[0] && !early[1] && early[2] && !early[3]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sessions");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_not_early);
	tcase_add_test(tc, test_session_zero);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
