/*
 * test_boot.c: boot, run, shutdown; kernel threads and joins.
 */
#include "harness.h"
#include "kern/thread.h"
#include "vmlab/vmlab.h"

#include <stdio.h>

static int boot_ran;

static void
boot_fn(void *arg)
{
	CHECK(arg == &boot_ran);
	CHECK(curthread != NULL);
	CHECK(curcpu >= 0 && curcpu < md_ncpus());
	boot_ran = 1;
}

static void
test_boot_run_shutdown(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		boot_ran = 0;
		test_boot(2, NULL);
		test_run(boot_fn, &boot_ran);
		CHECK(boot_ran == 1);
		test_shutdown();
	}
}

static uint64_t join_sum;

static void
join_child(void *arg)
{
	__atomic_fetch_add(
	    &join_sum, (uint64_t)(uintptr_t)arg, __ATOMIC_RELAXED);
}

static void
join_parent(void *arg)
{
	struct thread *tds[64];
	int i, n = 64;

	(void)arg;
	for (i = 0; i < n; i++)
		CHECK(kthread_create(join_child, (void *)(uintptr_t)(i + 1), -1,
			  KTHR_JOINABLE, &tds[i], "child%d", i) == 0);
	for (i = 0; i < n; i++)
		kthread_join(tds[i]);
	CHECK(join_sum == (uint64_t)n * (n + 1) / 2);
}

static void
test_kthread_join(void)
{
	test_boot(2, NULL);
	join_sum = 0;
	test_run(join_parent, NULL);
	test_shutdown();
}

static void
test_bad_config(void)
{
	struct vmlab_config cfg;
	const char *bad[] = { "no.such.knob=1" };
	char err[256];

	vmlab_config_default(&cfg);
	cfg.ncpus = 2000;
	CHECK(vmlab_boot(&cfg, err, sizeof(err)) != 0);
	CHECK(!vmlab_booted());
	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.tunables = bad;
	cfg.ntunables = 1;
	CHECK(vmlab_boot(&cfg, err, sizeof(err)) != 0);
	CHECK(!vmlab_booted());
}

static const struct test_case cases[] = {
	TEST_CASE(test_boot_run_shutdown),
	TEST_CASE(test_kthread_join),
	TEST_CASE(test_bad_config),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
