/*
 * test_api.c: the embedding API (include/vmlab/vmlab_page.h,
 * vmlab_sysctl.h) through its front door.
 *
 *	- without a machine: ENXIO, NULL, 0; tunables readable and settable;
 *	- from the host thread of a booted machine: EPERM for pages, EBUSY
 *	  for tunables, statistics readable;
 *	- pages in every domain: zeroed, addresses and domains consistent,
 *	  freed; bad input refused (domains, flags, NULL, handles that are
 *	  not pages, double frees, pages of objects, kernel-thread misuse of
 *	  vmlab_run and vmlab_shutdown);
 *	- contiguous runs: argument checks, alignment and boundary honoured,
 *	  freed in parts, refused frees leave the pages allocated;
 *	- memory full: NOWAIT fails at once; WAIT sleeps until pages are
 *	  freed; WAIT ends with ENOMEM once the page daemon declares OOM; a
 *	  run that is missing with memory free fails without waiting;
 *	- statistics and tunables: values, foreach order and early stop,
 *	  vmlab_tunable_set() values used by the next boot only.
 */
#include "harness.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "md/md_atomic.h"
#include "vm/vm_fault.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_phys.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_MEM (32ull << 20)

static uint64_t
api_stat(const char *name)
{
	uint64_t v = 0;

	CHECKF(vmlab_stat(name, &v) == 0, "no statistic %s", name);
	return (v);
}

static void
api_nothing(void *arg)
{
	(void)arg;
}

/* The page accounting, from a kernel thread (it sends IPIs). */
static void
api_check_fn(void *arg)
{
	(void)arg;
	CHECK(vm_page_check() == 0);
}

static void
test_api_unbooted(void)
{
	struct vmlab_page *p = NULL;
	char buf[64], err[128];
	int64_t v;
	uint64_t u;

	CHECK(!vmlab_booted());
	CHECK(vmlab_page_alloc(VMLAB_DOMAIN_ANY, 0, &p) == ENXIO && p == NULL);
	CHECK(
	    vmlab_page_alloc_contig(0, 0, 1, 0, UINT64_MAX, 0, 0, &p) == ENXIO);
	CHECK(vmlab_page_free(NULL) == ENXIO);
	CHECK(vmlab_page_free_contig(NULL, 1) == ENXIO);
	CHECK(vmlab_page_addr(NULL) == NULL);
	CHECK(vmlab_page_paddr(NULL) == VMLAB_PADDR_NONE);
	CHECK(vmlab_paddr_to_page(0) == NULL);
	CHECK(vmlab_page_domain(NULL) == -1);
	CHECK(vmlab_ndomains() == 0 && vmlab_ncpus() == 0);
	CHECK(vmlab_page_size() == 4096);
	CHECK(vmlab_stat("vm.stats.page.count", &u) == ENOENT);
	CHECK(vmlab_run(api_nothing, NULL) == ENXIO);
	CHECK(vmlab_shutdown() == ENXIO);
	CHECK(vmlab_boot(NULL, err, sizeof(err)) == EINVAL);
	/* Tunables exist without a machine. */
	CHECK(vmlab_tunable_get("vm.pgcache.enable", &v) == 0);
	CHECK(vmlab_tunable_get("no.such.knob", &v) == ENOENT);
	CHECK(vmlab_tunable_get("vm.swap.path", &v) == EINVAL);
	CHECK(vmlab_tunable_get(NULL, &v) == EINVAL);
	CHECK(vmlab_tunable_get("vm.pgcache.enable", NULL) == EINVAL);
	CHECK(vmlab_tunable_get_str("sim.sched", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "time") == 0);
	CHECK(vmlab_tunable_get_str("vm.phys.lowmem", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "16777216") == 0);
	CHECK(vmlab_tunable_get_str("vm.phys.lowmem", buf, 8) == ERANGE);
	CHECK(vmlab_tunable_get_str("vm.phys.lowmem", buf, 0) == EINVAL);
	CHECK(vmlab_tunable_set("vm.pgcache.high", "-1", err, sizeof(err)) ==
	    EINVAL);
	CHECKF(strstr(err, "vm.pgcache.high") != NULL, "message: %s", err);
	CHECK(
	    vmlab_tunable_set("no.such.knob", "1", err, sizeof(err)) == ENOENT);
	CHECK(vmlab_tunable_set(NULL, "1", NULL, 0) == EINVAL);
	CHECK(vmlab_tunable_set("vm.pgcache.high", NULL, NULL, 0) == EINVAL);
}

static void
test_api_host_thread(void)
{
	struct vmlab_page *p;
	char err[128];
	uint64_t u;

	test_boot_mem(2, 1, API_MEM, NULL);
	CHECK(vmlab_booted() && vmlab_ndomains() == 1 && vmlab_ncpus() >= 2);
	/* Pages need a kernel thread. */
	CHECK(vmlab_page_alloc(VMLAB_DOMAIN_ANY, 0, &p) == EPERM);
	CHECK(vmlab_page_free(NULL) == EPERM);
	/* Statistics and accessors do not. */
	CHECK(
	    vmlab_stat("vm.stats.page.count", &u) == 0 && u == API_MEM / 4096);
	CHECK(vmlab_paddr_to_page(0) != NULL);
	CHECK(vmlab_page_paddr(vmlab_paddr_to_page(4096 + 17)) == 4096);
	CHECK(vmlab_paddr_to_page(API_MEM) == NULL);
	CHECK(vmlab_paddr_to_page(UINT64_MAX) == NULL);
	CHECK(vmlab_tunable_set("vm.pgcache.high", "64", err, sizeof(err)) ==
	    EBUSY);
	CHECKF(strstr(err, "booted") != NULL, "message: %s", err);
	test_shutdown();
}

/* fn of vm_fault_touch(): nothing to do with the bytes. */
static void
api_touch(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	(void)pindex;
	(void)arg;
	data[0] = 1;
}

/* Handles that name no page, and pages the embedder does not own. */
static void
api_bad_handles(void)
{
	struct vmlab_page *p, *bogus;
	struct vm_object *obj;
	struct vm_page *m;
	char local;

	CHECK(vmlab_page_alloc(VMLAB_DOMAIN_ANY, 0, &p) == 0);
	bogus = (struct vmlab_page *)(void *)((char *)p + 1);
	CHECK(vmlab_page_free(bogus) == EINVAL);
	CHECK(vmlab_page_addr(bogus) == NULL);
	CHECK(vmlab_page_domain(bogus) == -1);
	bogus = (struct vmlab_page *)(void *)&local;
	CHECK(vmlab_page_free(bogus) == EINVAL);
	CHECK(vmlab_page_paddr(bogus) == VMLAB_PADDR_NONE);
	CHECK(vmlab_page_free(p) == 0);
	/* Freed twice: refused while nobody has it. */
	CHECK(vmlab_page_free(p) == EINVAL);
	CHECK(vmlab_page_free_contig(p, 1) == EINVAL);
	/* A page of an object belongs to the VM. */
	obj = vm_object_allocate(OBJT_DEFAULT, 1);
	CHECK(vm_fault_touch(obj, 0, VM_TOUCH_WRITE, api_touch, NULL) == 0);
	vm_object_lock(obj);
	m = vm_page_lookup(obj, 0);
	vm_object_unlock(obj);
	CHECK(m != NULL);
	CHECK(vmlab_page_free((struct vmlab_page *)(void *)m) == EINVAL);
	vm_object_deallocate(obj);
}

static void
api_pages_fn(void *arg)
{
	struct vmlab_page *p[8];
	unsigned char *b;
	uint64_t pa;
	size_t k;
	int d, i, nz;

	(void)arg;
	for (d = 0; d < vmlab_ndomains(); d++) {
		for (i = 0; i < 8; i++) {
			CHECK(
			    vmlab_page_alloc(d, VMLAB_ALLOC_ZERO, &p[i]) == 0);
			b = vmlab_page_addr(p[i]);
			for (k = 0, nz = 0; k < 4096; k++)
				nz += b[k] != 0;
			CHECKF(nz == 0,
			    "page %d of domain %d: %d bytes not zero", i, d,
			    nz);
			memset(b, 0xa5, 4096);
			pa = vmlab_page_paddr(p[i]);
			CHECK(
			    pa % 4096 == 0 && vmlab_paddr_to_page(pa) == p[i]);
			CHECK(vmlab_page_domain(p[i]) == d);
		}
		for (i = 0; i < 8; i++)
			CHECK(vmlab_page_free(p[i]) == 0);
	}
	CHECK(vmlab_page_alloc(VMLAB_DOMAIN_ANY, VMLAB_ALLOC_WAIT, &p[0]) == 0);
	CHECK(vmlab_page_free(p[0]) == 0);
	/* Bad input. */
	CHECK(vmlab_page_alloc(vmlab_ndomains(), 0, &p[0]) == EINVAL);
	CHECK(vmlab_page_alloc(-2, 0, &p[0]) == EINVAL);
	CHECK(vmlab_page_alloc(0, 0x100, &p[0]) == EINVAL);
	CHECK(vmlab_page_alloc(0, 0, NULL) == EINVAL);
	CHECK(vmlab_page_free(NULL) == EINVAL);
	api_bad_handles();
	/* The host thread's calls, from a kernel thread. */
	CHECK(vmlab_run(api_nothing, NULL) == EPERM);
	CHECK(vmlab_shutdown() == EPERM);
	CHECK(vmlab_tunable_set("vm.pgcache.high", "8", NULL, 0) == EBUSY);
}

static void
test_api_pages(void)
{
	test_boot_mem(2, 2, API_MEM, NULL);
	test_run(api_pages_fn, NULL);
	test_run(api_check_fn, NULL);
	test_shutdown();
}

static void
api_contig_fn(void *arg)
{
	struct vmlab_page *run, *m;
	uint64_t pa, i, total = api_stat("vm.stats.page.count");
	const uint64_t mib2 = 2ull << 20;

	(void)arg;
	CHECK(vmlab_page_alloc_contig(0, 0, 0, 0, UINT64_MAX, 0, 0, &run) ==
	    EINVAL);
	CHECK(
	    vmlab_page_alloc_contig(0, 0, 1, 8192, 8192, 0, 0, &run) == EINVAL);
	CHECK(vmlab_page_alloc_contig(
		  0, 0, 1, 0, UINT64_MAX, 3 * 4096, 0, &run) == EINVAL);
	CHECK(vmlab_page_alloc_contig(
		  0, 0, 1, 0, UINT64_MAX, 0, 3 * 4096, &run) == EINVAL);
	CHECK(vmlab_page_alloc_contig(0, 0, 4, 0, UINT64_MAX, 0, 8192, &run) ==
	    EINVAL);
	CHECK(vmlab_page_alloc_contig(0, 0x10, 1, 0, UINT64_MAX, 0, 0, &run) ==
	    EINVAL);
	CHECK(vmlab_page_alloc_contig(2, 0, 1, 0, UINT64_MAX, 0, 0, &run) ==
	    EINVAL);
	CHECK(vmlab_page_alloc_contig(0, 0, 1, 0, UINT64_MAX, 0, 0, NULL) ==
	    EINVAL);
	CHECK(vmlab_page_alloc_contig(
		  0, 0, total + 1, 0, UINT64_MAX, 0, 0, &run) == ENOMEM);
	/* A window too small for the run: no waiting, memory is free. */
	CHECK(vmlab_page_alloc_contig(
		  0, VMLAB_ALLOC_WAIT, 4, 0, 3 * 4096, 0, 0, &run) == ENOMEM);

	/* 512 pages cannot keep off a multiple of 1 MiB. */
	CHECK(vmlab_page_alloc_contig(
		  1, 0, 512, 0, UINT64_MAX, mib2, 1ull << 20, &run) == EINVAL);
	CHECK(vmlab_page_alloc_contig(1, VMLAB_ALLOC_ZERO, 256, 0, UINT64_MAX,
		  mib2, mib2, &run) == 0);
	pa = vmlab_page_paddr(run);
	CHECKF(pa % mib2 == 0, "run at %#llx", (unsigned long long)pa);
	CHECK(vmlab_page_domain(run) == 1);
	for (i = 0; i < 256; i++) {
		m = vmlab_paddr_to_page(pa + i * 4096);
		CHECK(m != NULL && vmlab_page_domain(m) == 1);
		CHECK((char *)vmlab_page_addr(m) ==
		    (char *)vmlab_page_addr(run) + i * 4096);
	}
	/* Freed in parts: the last page alone, then a refused free. */
	m = vmlab_paddr_to_page(pa + 255 * 4096);
	CHECK(vmlab_page_free(m) == 0);
	CHECK(vmlab_page_free_contig(run, 256) == EINVAL);
	CHECK(vmlab_page_free_contig(run, 0) == EINVAL);
	CHECK(vmlab_page_free_contig(run, UINT64_MAX) == EINVAL);
	/* The refusal freed nothing: the first half, then the rest. */
	CHECK(vmlab_page_free_contig(run, 128) == 0);
	CHECK(vmlab_page_free_contig(
		  vmlab_paddr_to_page(pa + 128 * 4096), 127) == 0);
	/* Any domain, page-aligned; low and high rounded. */
	CHECK(vmlab_page_alloc_contig(
		  VMLAB_DOMAIN_ANY, 0, 3, 4095, UINT64_MAX, 1, 0, &run) == 0);
	CHECK(vmlab_page_paddr(run) >= 4096);
	CHECK(vmlab_page_free_contig(run, 3) == 0);
}

static void
test_api_contig(void)
{
	test_boot_mem(2, 2, API_MEM, NULL);
	test_run(api_contig_fn, NULL);
	test_run(api_check_fn, NULL);
	test_shutdown();
}

/* Every page the embedder can get, NOWAIT. */
struct api_hoard {
	struct vmlab_page **ah_pages;
	uint64_t ah_n;
};

static void
api_hoard_fill(struct api_hoard *ah)
{
	uint64_t total = api_stat("vm.stats.page.count");
	struct vmlab_page *p;
	int error;

	ah->ah_pages = calloc(total, sizeof(*ah->ah_pages));
	ah->ah_n = 0;
	while ((error = vmlab_page_alloc(VMLAB_DOMAIN_ANY, 0, &p)) == 0)
		ah->ah_pages[ah->ah_n++] = p;
	CHECKF(error == ENOMEM, "fill ended with %d", error);
	CHECKF(ah->ah_n > total / 2, "only %llu of %llu pages",
	    (unsigned long long)ah->ah_n, (unsigned long long)total);
}

static void
api_hoard_free(struct api_hoard *ah, uint64_t n)
{
	while (n-- > 0 && ah->ah_n > 0)
		CHECK(vmlab_page_free(ah->ah_pages[--ah->ah_n]) == 0);
}

struct api_waiter {
	uint32_t aw_started; /* (a) */
	int aw_error;
	struct vmlab_page *aw_page;
};

static void
api_waiter_fn(void *arg)
{
	struct api_waiter *aw = arg;

	/* Release: the test frees pages only after we began. */
	atomic_store_rel_int(&aw->aw_started, 1);
	aw->aw_error = vmlab_page_alloc(VMLAB_DOMAIN_ANY,
	    VMLAB_ALLOC_WAIT | VMLAB_ALLOC_ZERO, &aw->aw_page);
}

static void
api_wait_fn(void *arg)
{
	struct api_waiter aw = { 0, -1, NULL };
	struct api_hoard ah;
	struct vmlab_page *p;
	struct thread *td;
	uint64_t fails;

	(void)arg;
	api_hoard_fill(&ah);
	CHECK(vmlab_page_alloc(0, 0, &p) == ENOMEM);
	/* A waiting allocation sleeps until pages are freed. */
	fails = api_stat("vm.stats.page.alloc_fail");
	CHECK(kthread_create(
		  api_waiter_fn, &aw, -1, KTHR_JOINABLE, &td, "waiter") == 0);
	/* Acquire: pairs with the waiter's release store. */
	while (atomic_load_acq_int(&aw.aw_started) == 0)
		pause_ns("apistart", 1000000);
	pause_ns("apiwait", 20000000);
	api_hoard_free(&ah, 1024);
	kthread_join(td);
	CHECKF(aw.aw_error == 0, "waiter: error %d", aw.aw_error);
	CHECKF(api_stat("vm.stats.page.alloc_fail") > fails,
	    "the waiter never failed, so never waited");
	if (aw.aw_error == 0)
		CHECK(vmlab_page_free(aw.aw_page) == 0);
	api_hoard_free(&ah, ah.ah_n);
	free(ah.ah_pages);
}

static void
test_api_wait(void)
{
	/* The daemon must not declare OOM while the test holds memory. */
	static const char *const tun[] = { "vm.pageout.oom_seq=1000000", NULL };

	test_boot_mem(2, 1, API_MEM, tun);
	test_run(api_wait_fn, NULL);
	test_run(api_check_fn, NULL);
	test_shutdown();
}

static void
api_oom_fn(void *arg)
{
	struct api_hoard ah;
	struct vmlab_page *p;

	(void)arg;
	api_hoard_fill(&ah);
	/* Nothing can be freed: the daemon declares OOM, WAIT gives up. */
	CHECK(
	    vmlab_page_alloc(VMLAB_DOMAIN_ANY, VMLAB_ALLOC_WAIT, &p) == ENOMEM);
	CHECK(api_stat("vm.pageout.oom") > 0);
	CHECK(vmlab_page_alloc_contig(
		  0, VMLAB_ALLOC_WAIT, 2, 0, UINT64_MAX, 0, 0, &p) == ENOMEM);
	api_hoard_free(&ah, ah.ah_n);
	free(ah.ah_pages);
}

static void
test_api_oom(void)
{
	static const char *const tun[] = { "vm.pageout.oom_seq=2", NULL };

	test_boot_mem(2, 1, API_MEM, tun);
	test_run(api_oom_fn, NULL);
	test_shutdown();
}

struct api_walk {
	char aw_last[128];
	int aw_n, aw_stop, aw_unsorted;
};

static int
api_walk_fn(const char *name, uint64_t value, const char *descr, void *arg)
{
	struct api_walk *w = arg;

	(void)value;
	(void)descr;
	if (strcmp(w->aw_last, name) >= 0)
		w->aw_unsorted++;
	snprintf(w->aw_last, sizeof(w->aw_last), "%s", name);
	if (strcmp(name, "vm.pgcache.high") == 0) /* a tunable */
		w->aw_unsorted += 1000;
	return (++w->aw_n == w->aw_stop ? 42 : 0);
}

static void
api_stats_fn(void *arg)
{
	struct api_walk w;
	uint64_t v;
	int64_t high;
	int all;

	(void)arg;
	CHECK(vmlab_stat("vm.stats.page.count", &v) == 0 &&
	    v == vm_page_count_total());
	CHECK(vmlab_stat("vm.pgcache.high", &v) == ENOENT);
	CHECK(vmlab_stat(NULL, &v) == EINVAL);
	CHECK(vmlab_stat("vm.stats.page.count", NULL) == EINVAL);
	memset(&w, 0, sizeof(w));
	CHECK(vmlab_stat_foreach(api_walk_fn, &w) == 0);
	CHECKF(w.aw_n > 20 && w.aw_unsorted == 0, "%d statistics, %d wrong",
	    w.aw_n, w.aw_unsorted);
	all = w.aw_n;
	memset(&w, 0, sizeof(w));
	w.aw_stop = 5;
	CHECK(vmlab_stat_foreach(api_walk_fn, &w) == 42 && w.aw_n == 5 &&
	    all > 5);
	CHECK(vmlab_stat_foreach(NULL, NULL) == EINVAL);
	/* Set before this boot, overridden by the configuration. */
	CHECK(vmlab_tunable_get("vm.pgcache.high", &high) == 0 && high == 64);
	CHECK(vmlab_tunable_get("vm.pgcache.batch", &high) == 0 && high == 8);
}

static void
test_api_stats_tunables(void)
{
	static const char *const tun[] = { "vm.pgcache.batch=8", NULL };
	char err[128];
	int64_t v;

	CHECK(
	    vmlab_tunable_set("vm.pgcache.high", "64", err, sizeof(err)) == 0);
	CHECK(
	    vmlab_tunable_set("vm.pgcache.batch", "16", err, sizeof(err)) == 0);
	/* Shown at once, before any boot. */
	CHECK(vmlab_tunable_get("vm.pgcache.high", &v) == 0 && v == 64);
	test_boot_mem(2, 1, API_MEM, tun);
	test_run(api_stats_fn, NULL);
	test_shutdown();
	/* The next boot starts from the defaults again. */
	test_boot_mem(2, 1, API_MEM, NULL);
	CHECK(vmlab_tunable_get("vm.pgcache.high", &v) == 0 && v == 256);
	CHECK(vmlab_tunable_get("vm.pgcache.batch", &v) == 0 && v == 32);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_api_unbooted),
	TEST_CASE(test_api_host_thread),
	TEST_CASE(test_api_pages),
	TEST_CASE(test_api_contig),
	TEST_CASE(test_api_wait),
	TEST_CASE(test_api_oom),
	TEST_CASE(test_api_stats_tunables),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
