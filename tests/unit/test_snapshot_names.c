/* Unit tests for snapshot file names and retention (common/snapshot_names.c):
 * which names are snapshots, and which of them a policy keeps. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot_names.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

START_TEST(test_parse_names)
{
	struct snapshot_file f;

	ck_assert(snapshot_parse("job-20261202T150405Z.tar.zst", &f));
	ck_assert_str_eq(f.name, "job");
	ck_assert_int_eq(f.when, 1796223845);	/* date -u -d 2026-12-02T15:04:05 +%s */
	ck_assert(snapshot_parse("my-job.2-20260101T000000Z.tar.zst", &f));
	ck_assert_str_eq(f.name, "my-job.2");
	/* not snapshots */
	ck_assert(!snapshot_parse("job-20261202T150405Z.tar", &f));
	ck_assert(!snapshot_parse("job-20261202T1504Z.tar.zst", &f));
	ck_assert(!snapshot_parse("job_20261202T150405Z.tar.zst", &f));
	ck_assert(!snapshot_parse("-20261202T150405Z.tar.zst", &f));
	ck_assert(!snapshot_parse(".job-20261202T150405Z.tar.zst", &f));
	ck_assert(!snapshot_parse("job-2026120xT150405Z.tar.zst", &f));
	ck_assert(!snapshot_parse("job-20261202X150405Z.tar.zst", &f));
	ck_assert(!snapshot_parse("a b-20261202T150405Z.tar.zst", &f));
	ck_assert(!snapshot_parse("job-20261302T150405Z.tar.zst", &f));	/* month 13 */
	ck_assert(!snapshot_parse(".job.ckpt-AbCdEf", &f));
}
END_TEST

START_TEST(test_name_ok)
{
	char long_name[80];

	ck_assert(snapshot_name_ok("nginx"));
	ck_assert(snapshot_name_ok("a.b_c-d9"));
	ck_assert(!snapshot_name_ok(""));
	ck_assert(!snapshot_name_ok(".hidden"));
	ck_assert(!snapshot_name_ok("a/b"));
	ck_assert(!snapshot_name_ok("a b"));
	memset(long_name, 'x', 65);
	long_name[65] = 0;
	ck_assert(!snapshot_name_ok(long_name));
	long_name[64] = 0;
	ck_assert(snapshot_name_ok(long_name));
}
END_TEST

static struct snapshot_list make_list(const char *const *files, size_t n)
{
	struct snapshot_list l = { calloc(n, sizeof(struct snapshot_file)), n };
	size_t i;

	for (i = 0; i < n; i++) {
		ck_assert(snapshot_parse(files[i], &l.items[i]));
		l.items[i].file = strdup(files[i]);
	}
	return l;
}

static bool kept(const struct snapshot_list *l, const char *file)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].file, file))
			return l->items[i].keep;
	ck_abort_msg("%s not in the list", file);
	return false;
}

START_TEST(test_retention)
{
	static const char *const files[] = {
		"j-20260101T100000Z.tar.zst", "j-20260105T100000Z.tar.zst",	/* Thu, Mon */
		"j-20260103T100000Z.tar.zst", "j-20260103T230000Z.tar.zst",	/* Sat */
		"j-20260106T080000Z.tar.zst", "j-20260106T090000Z.tar.zst",	/* Tue */
		"j-20251220T000000Z.tar.zst",
	};
	struct snapshot_list l = make_list(files, 7);
	struct retention keep_last = { .last = 2 }, daily = { .daily = 3 },
			 weekly = { .weekly = 2 }, none = { 0 };

	retention_apply(&l, &keep_last);
	ck_assert_str_eq(l.items[0].file, "j-20260106T090000Z.tar.zst");	/* newest first */
	ck_assert(kept(&l, "j-20260106T090000Z.tar.zst") && kept(&l, "j-20260106T080000Z.tar.zst"));
	ck_assert(!kept(&l, "j-20260105T100000Z.tar.zst"));

	retention_apply(&l, &daily);	/* Jan 6, 5, 3: the newest of each */
	ck_assert(kept(&l, "j-20260106T090000Z.tar.zst"));
	ck_assert(!kept(&l, "j-20260106T080000Z.tar.zst"));
	ck_assert(kept(&l, "j-20260105T100000Z.tar.zst"));
	ck_assert(kept(&l, "j-20260103T230000Z.tar.zst"));
	ck_assert(!kept(&l, "j-20260103T100000Z.tar.zst"));
	ck_assert(!kept(&l, "j-20260101T100000Z.tar.zst"));

	/* ISO weeks: 2026-W02 (Jan 5-6), 2026-W01 (Dec 29 - Jan 4) */
	retention_apply(&l, &weekly);
	ck_assert(kept(&l, "j-20260106T090000Z.tar.zst"));
	ck_assert(kept(&l, "j-20260103T230000Z.tar.zst"));
	ck_assert(!kept(&l, "j-20260105T100000Z.tar.zst"));
	ck_assert(!kept(&l, "j-20260101T100000Z.tar.zst"));
	ck_assert(!kept(&l, "j-20251220T000000Z.tar.zst"));

	retention_apply(&l, &none);
	ck_assert(!kept(&l, "j-20260106T090000Z.tar.zst"));
	snapshot_list_free(&l);
}
END_TEST

static Suite *snapshot_names_suite(void)
{
	Suite *s = suite_create("snapshot_names");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_names);
	tcase_add_test(tc, test_name_ok);
	tcase_add_test(tc, test_retention);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(snapshot_names_suite());
	int failed;

	setenv("TZ", "Pacific/Kiritimati", 1);	/* names are UTC whatever the zone */
	tzset();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
