/*
 * test_alloc_fail.c: every allocation of the kernel's own memory may fail
 * (md_malloc_fail_nth(), as SQLite's test harness fails its Nth malloc),
 * and each failure is reported: nothing panics, nothing leaks (the ASan
 * build checks leaks at exit), and the process boots again.
 *
 * Rounds n = 1, 2, ...: the nth allocation from the start of the round
 * fails, in a boot and a small VM workload (objects, zero-fill and
 * read-back touches, a shadow object with copy-on-write and its
 * collapse, a phys object, a vnode-less swap device).  A boot that fails
 * must fail with ENOMEM and a one-line message; a workload step that
 * fails must return ENOMEM (or NULL where that is the contract), and the
 * page accounting must hold afterwards.  The rounds end with the first
 * one whose failure point was never reached: every allocation of a boot
 * and the workload has then failed once.
 */
#include "harness.h"
#include "kern/sysctl.h"
#include "md/md.h"
#include "vm/vm_fault.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AF_PAGES 96	   /* pages of the anonymous object */
#define AF_MAXROUNDS 20000 /* far beyond a boot and the workload */

struct af_work {
	uint64_t aw_round;
	int aw_errors; /* workload steps that reported a failure */
	int aw_bad;    /* pages read back wrong */
};

static void
af_fill(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	(void)arg;
	memset(data, (int)(pindex & 0xff) | 1, 64);
}

static void
af_check(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	struct af_work *aw = arg;
	int i;

	for (i = 0; i < 64; i++)
		if (data[i] != ((pindex & 0xff) | 1)) {
			aw->aw_bad++;
			return;
		}
}

/* A touch that may fail only for want of memory. */
static void
af_touch(struct af_work *aw, struct vm_object *obj, vm_pindex_t i, bool write)
{
	int error =
	    vm_fault_touch(obj, i, write ? VM_TOUCH_WRITE : VM_TOUCH_READ,
		write ? af_fill : af_check, aw);

	CHECKF(error == 0 || error == ENOMEM,
	    "touch of page %llu: error %d, not ENOMEM", (unsigned long long)i,
	    error);
	aw->aw_errors += error != 0;
}

static void
af_work_fn(void *arg)
{
	struct af_work *aw = arg;
	struct vm_object *obj, *shadow, *phys;
	vm_pindex_t i;

	if ((obj = vm_object_allocate(OBJT_DEFAULT, AF_PAGES)) == NULL) {
		aw->aw_errors++;
		return;
	}
	for (i = 0; i < AF_PAGES; i++)
		af_touch(aw, obj, i, true);
	/* Reads see what was written (a failed write left zeros: skipped). */
	if (aw->aw_errors == 0)
		for (i = 0; i < AF_PAGES; i++)
			af_touch(aw, obj, i, false);
	vm_object_reference(obj);
	shadow = obj;
	if (vm_object_shadow(&shadow, 0, AF_PAGES) != 0) {
		aw->aw_errors++;
		vm_object_deallocate(obj);
	} else {
		for (i = 0; i < AF_PAGES; i += 3)
			af_touch(aw, shadow, i, true);
		/* Ours goes: the backing object collapses into the shadow. */
		vm_object_deallocate(obj);
	}
	vm_object_deallocate(shadow);
	if ((phys = vm_object_allocate(OBJT_PHYS, 8)) != NULL) {
		for (i = 0; i < 8; i++)
			af_touch(aw, phys, i, true);
		vm_object_deallocate(phys);
	} else
		aw->aw_errors++;
	/* The checker's own memory is not under test. */
	md_malloc_fail_nth(0);
	vm_pageout_pause();
	(void)vm_pagequeue_drain_all();
	CHECKF(vm_page_check() == 0,
	    "round %llu: page accounting after the workload (%d steps failed)",
	    (unsigned long long)aw->aw_round, aw->aw_errors);
	vm_pageout_resume();
}

/* One round; returns whether the nth allocation was reached. */
static bool
af_round(uint64_t n, int *nboot, int *nwork)
{
	static const char *const tun[] = { "vm.swap.size=1m" };
	struct af_work aw = { n, 0, 0 };
	struct vmlab_config cfg;
	uint64_t failed0 = md_malloc_failed();
	char err[256];
	int error;

	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.physmem = 8ull << 20;
	cfg.backend = test_sim() ? VMLAB_BACKEND_SIM : VMLAB_BACKEND_HOST;
	cfg.seed = test_seed();
	cfg.tunables = tun;
	cfg.ntunables = 1;
	md_malloc_fail_nth(n);
	error = vmlab_boot(&cfg, err, sizeof(err));
	if (error != 0) {
		CHECKF(error == ENOMEM && err[0] != '\0' &&
			strchr(err, '\n') == NULL,
		    "round %llu: boot failed with error %d (\"%s\"), not "
		    "ENOMEM with a message",
		    (unsigned long long)n, error, err);
		CHECK(!vmlab_booted());
		(*nboot)++;
	} else {
		error = vmlab_run(af_work_fn, &aw);
		CHECKF(error == 0 || error == ENOMEM,
		    "round %llu: vmlab_run %d", (unsigned long long)n, error);
		CHECKF(aw.aw_bad == 0, "round %llu: %d pages read back wrong",
		    (unsigned long long)n, aw.aw_bad);
		*nwork += error != 0 || aw.aw_errors != 0;
		error = vmlab_shutdown();
		CHECKF(error == 0, "round %llu: vmlab_shutdown %d",
		    (unsigned long long)n, error);
	}
	md_malloc_fail_nth(0);
	return (md_malloc_failed() > failed0);
}

static void
test_alloc_fail_rounds(void)
{
	int nboot = 0, nwork = 0;
	uint64_t n;

	(void)vmlab_tunables_init();
	for (n = 1; n < AF_MAXROUNDS && test_failures() == 0; n++)
		if (!af_round(n, &nboot, &nwork))
			break;
	CHECKF(n < AF_MAXROUNDS, "still failing after %d rounds", AF_MAXROUNDS);
	printf("  %llu rounds: %d failed boots, %d workloads that saw a "
	       "failure, then a round without one\n",
	    (unsigned long long)n, nboot, nwork);
	CHECK(nboot > 10 && nwork > 0);
	/* And the machine still boots and works. */
	CHECK(!af_round(0, &nboot, &nwork));
}

static const struct test_case cases[] = {
	TEST_CASE(test_alloc_fail_rounds),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
