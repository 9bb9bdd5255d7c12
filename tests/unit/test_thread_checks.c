/* Unit tests for restart's checks of the thread records of an untrusted
 * image (common/state/threads.c): where each thread would resume, and the
 * thread list itself, before anything is created. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "state.h"

/* check.h defines a deprecated fail() macro that clashes with error.h. */
#include <check.h>
#undef fail

static struct process_rec proc = { .pid = 10 };
static struct vma_rec vmas[2] = {
	{ .start = 0x400000, .end = 0x401000, .prot = PROT_READ | PROT_EXEC, .kind = VMA_FILE_PRIVATE },
	{ .start = 0x600000, .end = 0x601000, .prot = PROT_READ | PROT_WRITE, .kind = VMA_ANON_PRIVATE },
};
static arch_regs_t regs[2];
static uint8_t xstate[2][1024];
static struct thread_rec threads[2];

static int check_with(uint64_t ip0, int tid1, uint64_t ip1, size_t n)
{
	struct restore_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.meta.process = &proc;
	ctx.meta.nprocess = 1;
	ctx.meta.vmas = vmas;
	ctx.meta.nvmas = 2;
	regs[0].rip = ip0;
	regs[1].rip = ip1;
	threads[0] = (struct thread_rec){ .tid = 10, .regs = { (uint8_t *)&regs[0], sizeof(regs[0]) },
					  .xstate = { xstate[0], sizeof(xstate[0]) } };
	threads[1] = (struct thread_rec){ .tid = tid1, .regs = { (uint8_t *)&regs[1], sizeof(regs[1]) },
					  .xstate = { xstate[1], sizeof(xstate[1]) } };
	ctx.meta.threads = threads;
	ctx.meta.nthreads = n;
	error_clear();
	return threads_state_ops.check(&ctx);
}

START_TEST(test_good)
{
	ck_assert_int_eq(check_with(0x400100, 11, 0x400ffe, 2), 0);
}
END_TEST

START_TEST(test_bad_resume_point)
{
	ck_assert_int_eq(check_with(0xffffffff81000000ull, 11, 0x400100, 2), -1);
	ck_assert(strstr(error_text(), "not in user space"));
	ck_assert_int_eq(check_with(0x400100, 11, 0x600010, 2), -1);	/* data, not code */
	ck_assert(strstr(error_text(), "no executable mapping"));
	ck_assert_int_eq(check_with(0x400100, 11, 0x500000, 2), -1);	/* nothing mapped */
}
END_TEST

START_TEST(test_bad_list)
{
	ck_assert_int_eq(check_with(0x400100, 10, 0x400100, 2), -1);	/* the same tid twice */
	ck_assert(strstr(error_text(), "twice"));
	ck_assert_int_eq(check_with(0x400100, 11, 0x400100, 0), -1);	/* no thread */
	ck_assert_int_eq(check_with(0x400100, -5, 0x400100, 2), -1);
}
END_TEST

START_TEST(test_bad_addresses)
{
	ck_assert_int_eq(check_with(0x400100, 11, 0x400100, 2), 0);
	threads[1].rseq_addr = 0x600020;	/* writable data: fine */
	threads[1].rseq_len = 32;
	ck_assert_int_eq(threads_state_ops.check(&(struct restore_ctx){
		.meta = { .process = &proc, .nprocess = 1, .vmas = vmas, .nvmas = 2,
			  .threads = threads, .nthreads = 2 } }), 0);
	threads[1].rseq_addr = 0x400020;	/* code: not writable */
	error_clear();
	ck_assert_int_eq(threads_state_ops.check(&(struct restore_ctx){
		.meta = { .process = &proc, .nprocess = 1, .vmas = vmas, .nvmas = 2,
			  .threads = threads, .nthreads = 2 } }), -1);
	ck_assert(strstr(error_text(), "rseq"));
	threads[1].rseq_addr = 0;
	threads[1].robust_list = 0xffff888000000000ull;	/* kernel space */
	error_clear();
	ck_assert_int_eq(threads_state_ops.check(&(struct restore_ctx){
		.meta = { .process = &proc, .nprocess = 1, .vmas = vmas, .nvmas = 2,
			  .threads = threads, .nthreads = 2 } }), -1);
	ck_assert(strstr(error_text(), "not in user space"));
	threads[1].robust_list = 0;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("thread_checks");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_bad_resume_point);
	tcase_add_test(tc, test_bad_list);
	tcase_add_test(tc, test_bad_addresses);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
