/*
 * test_vm_page.c: page allocation, classes and thresholds, vm_wait, the
 * per-CPU caches and the accounting checker.
 *
 *	- single, bulk, zeroed, block and contiguous allocations;
 *	- the threshold formulas, and each class stopping at its floor;
 *	- vm_wait_severe and a VM_ALLOC_WAITOK allocation block below the
 *	  severe threshold and resume exactly when frees cross severe and
 *	  min (on the simulated machine exactly in virtual time: asleep
 *	  TEST_SIM_LATENCY_NS after the last free below the threshold,
 *	  running within TEST_SIM_LATENCY_NS after the free that reaches it);
 *	- pages cached on another CPU are drained, not stranded, when an
 *	  allocation runs short;
 *	- the caches switched off and on at run time;
 *	- domains: the local one first, then the others;
 *	- the checker itself finds a page taken behind its back.
 */
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "vm/vm_pgcache.h"
#include "vm_test.h"

#include <string.h>

/* Runs fn(arg) in a thread bound to `cpu' and waits for it. */
static void
page_on_cpu(int cpu, void (*fn)(void *), void *arg)
{
	struct thread *td;

	CHECK(kthread_create(fn, arg, cpu, KTHR_BOUND | KTHR_JOINABLE, &td,
		  "oncpu%d", cpu) == 0);
	kthread_join(td);
}

/* A growable array of pages held by a test. */
struct page_list {
	struct vm_page **pl_pages;
	uint64_t pl_n, pl_cap;
};

static void
page_list_add(struct page_list *pl, struct vm_page *m)
{
	if (pl->pl_n == pl->pl_cap) {
		pl->pl_cap = pl->pl_cap == 0 ? 1024 : pl->pl_cap * 2;
		pl->pl_pages =
		    realloc(pl->pl_pages, pl->pl_cap * sizeof(*pl->pl_pages));
	}
	pl->pl_pages[pl->pl_n++] = m;
}

static void
page_list_free(struct page_list *pl)
{
	vm_page_free_bulk(pl->pl_pages, (int)pl->pl_n);
	free(pl->pl_pages);
	memset(pl, 0, sizeof(*pl));
}

/* Allocates pages of class `req' until one fails; returns how many. */
static uint64_t
page_fill(struct page_list *pl, int req)
{
	struct vm_page *m;
	uint64_t n = 0;

	while ((m = vm_page_alloc_noobj(req)) != NULL) {
		page_list_add(pl, m);
		n++;
	}
	return (n);
}

static bool
page_is_zero(const struct vm_page *m, uint64_t npages)
{
	const uint8_t *p = vm_page_dmap(m);
	uint64_t i;

	for (i = 0; i < ptoa(npages); i++)
		if (p[i] != 0)
			return (false);
	return (true);
}

static void
page_basic_fn(void *arg)
{
	struct vm_test_pageset ps;
	struct vm_page *ma[200], *m;
	int i, n;

	(void)arg;
	vm_test_pageset_init(&ps);
	/* Dirty pages come back zeroed with VM_ALLOC_ZERO. */
	for (i = 0; i < 200; i++) {
		ma[i] = vm_page_alloc_noobj(0);
		memset(vm_page_dmap(ma[i]), 0xab, PAGE_SIZE);
		CHECK(vm_test_pageset_add(&ps, ma[i], 1));
		CHECK(ma[i]->object == NULL && (ma[i]->flags & PG_FREE) == 0);
	}
	vm_test_pageset_del(&ps, ma[0], 0);
	vm_page_free_bulk(ma, 200);
	CHECK(vm_page_check() == 0);
	for (i = 0; i < 200; i++) {
		ma[i] = vm_page_alloc_noobj(VM_ALLOC_ZERO);
		CHECK(page_is_zero(ma[i], 1));
	}
	vm_page_free_bulk(ma, 200);
	/* Bulk: more than a cache holds, all distinct. */
	n = vm_page_alloc_bulk(0, ma, 200);
	CHECK(n == 200);
	vm_test_pageset_fini(&ps);
	vm_test_pageset_init(&ps);
	for (i = 0; i < n; i++)
		CHECK(vm_test_pageset_add(&ps, ma[i], 1));
	CHECK(vm_page_check() == 0);
	vm_page_free_bulk(ma, n);
	/* A 2 MiB block, and a contiguous run. */
	m = vm_page_alloc_block(VM_ALLOC_ZERO, VM_LEVEL_0_ORDER);
	CHECK(m != NULL && (m->phys_addr & (VM_LEVEL_0_SIZE - 1)) == 0);
	CHECK(m != NULL && page_is_zero(m, VM_LEVEL_0_NPAGES));
	vm_page_free_block(m, VM_LEVEL_0_ORDER);
	m = vm_page_alloc_contig(0, 100, ptoa(1000), vm_phys_end, 1 << 16, 0);
	CHECK(m != NULL && (m->phys_addr & 0xffff) == 0 &&
	    m->phys_addr >= ptoa(1000));
	CHECK(vm_page_check() == 0);
	vm_page_free_contig(m, 100);
	CHECK(vm_page_check() == 0);
	CHECK(vm_phys_check() == 0);
	vm_test_pageset_fini(&ps);
}

static void
test_page_basic(void)
{
	test_boot(2, NULL);
	test_run(page_basic_fn, NULL);
	test_shutdown();
}

static void
page_classes_fn(void *arg)
{
	struct vm_domain *vmd = VM_DOMAIN(0);
	struct page_list pl = { 0 };
	uint64_t p = vm_phys_domain_pages(0), res;

	(void)arg;
	res = 32 + 34 + p / 768;
	CHECK(vmd->vmd_free_reserved == res);
	CHECK(vmd->vmd_free_min == res + p / 200);
	CHECK(vmd->vmd_free_severe == res + p / 400);
	CHECK(vmd->vmd_free_target == res + 4 * (p / 200));
	CHECK(vmd->vmd_free_severe < vmd->vmd_free_min);
	CHECK(page_fill(&pl, VM_ALLOC_NORMAL) == p - res);
	CHECKF(vm_domain_free_count(vmd) == res, "free %llu, reserved %llu",
	    (unsigned long long)vm_domain_free_count(vmd),
	    (unsigned long long)res);
	CHECK(vm_pgcache_count(0) == 0);
	CHECK(vm_page_count_min() && vm_page_count_severe());
	CHECK(page_fill(&pl, VM_ALLOC_SYSTEM) == res - 2);
	CHECK(page_fill(&pl, VM_ALLOC_INTERRUPT) == 2);
	CHECK(vm_domain_free_count(vmd) == 0);
	CHECK(vm_page_check() == 0);
	page_list_free(&pl);
	(void)vm_pgcache_drain_all();
	CHECK(vm_domain_free_count(vmd) == p);
	CHECK(!vm_page_count_min());
	CHECK(vm_page_check() == 0);
}

static void
test_page_classes(void)
{
	test_boot(2, NULL);
	test_run(page_classes_fn, NULL);
	test_shutdown();
}

/* vm_wait: threads that sleep below a threshold. */
struct page_waiter {
	bool pw_alloc; /* VM_ALLOC_WAITOK allocation, else severe */
	struct vm_page *pw_m;
	uint64_t pw_woke_at; /* virtual time the wait ended */
	uint32_t pw_woke;    /* (a) */
	struct thread *pw_td;
};

static void
page_waiter_fn(void *arg)
{
	struct page_waiter *pw = arg;

	if (pw->pw_alloc)
		pw->pw_m = vm_page_alloc_noobj(VM_ALLOC_WAITOK);
	else
		vm_wait_severe();
	pw->pw_woke_at = md_nanotime();
	/* Release: pw_m and pw_woke_at before the flag. */
	atomic_store_rel_int(&pw->pw_woke, 1);
}

static bool
page_waiter_asleep(const struct page_waiter *pw)
{
	return (atomic_load_int(&pw->pw_td->td_state) == TDS_SLEEPING &&
	    atomic_load_int(&pw->pw_woke) == 0);
}

/* Waits up to ~2 s for cond; returns it. */
static bool
page_wait_for(bool (*cond)(const struct page_waiter *), struct page_waiter *pw)
{
	int i;

	for (i = 0; i < 2000 && !cond(pw); i++)
		pause_ns("pagewt", 1000000);
	return (cond(pw));
}

static bool
page_waiter_done(const struct page_waiter *pw)
{
	return (atomic_load_acq_int(&pw->pw_woke) != 0);
}

/* Frees held pages until the free count is `target'. */
static void
page_free_to(struct page_list *pl, uint64_t target)
{
	while (vm_page_free_count() < target && pl->pl_n > 0)
		vm_page_free(pl->pl_pages[--pl->pl_n]);
	CHECKF(vm_page_free_count() == target, "free %llu, want %llu",
	    (unsigned long long)vm_page_free_count(),
	    (unsigned long long)target);
}

/*
 * The waiters stay asleep after a free that leaves the count below their
 * threshold: on the host we look 20 ms later, which a late host thread
 * may outlast; on the simulated machine exactly TEST_SIM_LATENCY_NS after
 * the free, by when a waiter it let through would have run.  (Each free
 * from severe up to min wakes every waiter, see
 * vm_domain_freecnt_inc_locked(): the allocation waiter checks and sleeps
 * again, also within TEST_SIM_LATENCY_NS.)
 */
static void
page_settle(void)
{
	if (test_sim())
		(void)test_sleep_until(md_nanotime() + TEST_SIM_LATENCY_NS);
	else
		pause_ns("pagewt", 20000000);
}

static void
page_vm_wait_fn(void *arg)
{
	struct vm_domain *vmd = VM_DOMAIN(0);
	struct page_waiter sev = { .pw_alloc = false },
			   al = { .pw_alloc = true };
	struct page_list pl = { 0 };
	uint64_t t;

	(void)arg;
	(void)page_fill(&pl, VM_ALLOC_NORMAL);
	CHECK(vm_page_count_severe());
	CHECK(kthread_create(page_waiter_fn, &sev, 1,
		  KTHR_BOUND | KTHR_JOINABLE, &sev.pw_td, "sevwait") == 0);
	CHECK(kthread_create(page_waiter_fn, &al, 1, KTHR_BOUND | KTHR_JOINABLE,
		  &al.pw_td, "allocwait") == 0);
	CHECK(page_wait_for(page_waiter_asleep, &sev));
	CHECK(page_wait_for(page_waiter_asleep, &al));
	/* Just below severe: both still asleep. */
	page_free_to(&pl, vmd->vmd_free_severe - 1);
	page_settle();
	CHECK(page_waiter_asleep(&sev) && page_waiter_asleep(&al));
	/* At severe: the severe waiter runs, the allocation waits for min. */
	t = md_nanotime();
	page_free_to(&pl, vmd->vmd_free_severe);
	CHECK(page_wait_for(page_waiter_done, &sev));
	if (test_sim())
		CHECK_WITHIN("the severe waiter woke", sev.pw_woke_at,
		    "the free that reached severe", t, TEST_SIM_LATENCY_NS);
	page_free_to(&pl, vmd->vmd_free_min - 1);
	page_settle();
	CHECK(page_waiter_asleep(&al));
	t = md_nanotime();
	page_free_to(&pl, vmd->vmd_free_min);
	CHECK(page_wait_for(page_waiter_done, &al));
	if (test_sim())
		CHECK_WITHIN("the allocation woke", al.pw_woke_at,
		    "the free that reached min", t, TEST_SIM_LATENCY_NS);
	kthread_join(sev.pw_td);
	kthread_join(al.pw_td);
	CHECK(al.pw_m != NULL);
	CHECK(vm_test_stat("vm.stats.page.waits") >= 2);
	if (al.pw_m != NULL)
		page_list_add(&pl, al.pw_m);
	CHECK(vm_page_check() == 0);
	page_list_free(&pl);
	CHECK(vm_page_check() == 0);
}

static void
test_page_vm_wait(void)
{
	test_boot(2, NULL);
	test_run(page_vm_wait_fn, NULL);
	test_shutdown();
}

/* Pages cached on CPU 1 are drained when CPU 0 runs short. */
static void
page_cache_fill_fn(void *arg)
{
	struct vm_page *ma[200];
	int i;

	(void)arg;
	for (i = 0; i < 200; i++)
		ma[i] = vm_page_alloc_noobj(0);
	vm_page_free_bulk(ma, 200);
}

static void
page_shortage_fn(void *arg)
{
	struct page_list *pl = arg;
	uint64_t p = vm_phys_domain_pages(0), drains;

	CHECKF(vm_pgcache_count(0) >= 200, "%llu pages cached",
	    (unsigned long long)vm_pgcache_count(0));
	drains = vm_test_stat("vm.stats.pgcache.shortage_drains");
	CHECK(page_fill(pl, VM_ALLOC_NORMAL) ==
	    p - VM_DOMAIN(0)->vmd_free_reserved);
	CHECK(vm_pgcache_count(0) == 0);
	CHECK(vm_test_stat("vm.stats.pgcache.shortage_drains") > drains);
	CHECK(vm_page_check() == 0);
}

static void
page_cache_shortage_fn(void *arg)
{
	struct page_list pl = { 0 };

	(void)arg;
	page_on_cpu(1, page_cache_fill_fn, NULL);
	page_on_cpu(0, page_shortage_fn, &pl);
	page_list_free(&pl);
	CHECK(vm_page_check() == 0);
}

static void
test_pgcache_drained_under_shortage(void)
{
	test_boot(2, NULL);
	test_run(page_cache_shortage_fn, NULL);
	test_shutdown();
}

static void
page_toggle_fn(void *arg)
{
	struct vm_page *ma[100];
	uint64_t hits;
	int i;

	(void)arg;
	page_cache_fill_fn(NULL);
	CHECK(vm_pgcache_count(0) > 0);
	vm_test_set("vm.pgcache.enable", 0);
	CHECK(!vm_pgcache_enabled() && vm_pgcache_count(0) == 0);
	hits = vm_test_stat("vm.stats.pgcache.alloc_hits");
	for (i = 0; i < 100; i++)
		ma[i] = vm_page_alloc_noobj(0);
	vm_page_free_bulk(ma, 100);
	CHECK(vm_test_stat("vm.stats.pgcache.alloc_hits") == hits);
	CHECK(vm_pgcache_count(0) == 0);
	CHECK(vm_page_check() == 0);
	vm_test_set("vm.pgcache.enable", 1);
	page_cache_fill_fn(NULL);
	CHECK(vm_test_stat("vm.stats.pgcache.alloc_hits") > hits);
	CHECK(vm_page_check() == 0);
}

static void
test_pgcache_toggle(void)
{
	test_boot(2, NULL);
	test_run(page_toggle_fn, NULL);
	test_shutdown();
}

static void
page_domains_fn(void *arg)
{
	struct page_list pl = { 0 };
	struct vm_page *m;
	uint64_t n1;
	int local = curpcpu_get()->pc_domain;

	(void)arg;
	/*
	 * Other CPUs' caches may hold pages of this domain (from the previous
	 * pass): an allocation tries the other domains before it drains
	 * them, so start from empty caches to know where the floor is.
	 */
	(void)vm_pgcache_drain_all();
	m = vm_page_alloc_noobj(0);
	CHECK(m != NULL && m->domain == local);
	page_list_add(&pl, m);
	/* The local domain first, to its floor; then the other one. */
	n1 = vm_phys_domain_pages(local) - VM_DOMAIN(local)->vmd_free_reserved;
	while (pl.pl_n < n1 && (m = vm_page_alloc_noobj(0)) != NULL) {
		CHECK(m->domain == local);
		page_list_add(&pl, m);
	}
	m = vm_page_alloc_noobj(0);
	CHECK(m != NULL && m->domain != local);
	if (m != NULL)
		page_list_add(&pl, m);
	CHECK(vm_test_stat("vm.stats.page.alloc_remote") >= 1);
	CHECK(vm_page_check() == 0);
	page_list_free(&pl);
	CHECK(vm_page_check() == 0);
}

static void
page_domains_main(void *arg)
{
	(void)arg;
	page_on_cpu(3, page_domains_fn, NULL);
	page_on_cpu(0, page_domains_fn, NULL);
}

static void
test_page_domains(void)
{
	vm_test_boot(4, 2, 64ull << 20, NULL);
	CHECK(vm_ndomains == 2);
	test_run(page_domains_main, NULL);
	test_shutdown();
}

/* The checker is not blind: a page taken behind its back is reported. */
static void
page_checker_fn(void *arg)
{
	struct vm_page *m;

	(void)arg;
	CHECK(vm_page_check() == 0);
	vm_domain_free_lock(VM_DOMAIN(0));
	m = vm_phys_alloc_pages(0, VM_FREEPOOL_DEFAULT, 0);
	vm_domain_free_unlock(VM_DOMAIN(0));
	CHECK(vm_page_check() > 0);
	vm_domain_free_lock(VM_DOMAIN(0));
	vm_phys_free_pages(m, 0);
	vm_domain_free_unlock(VM_DOMAIN(0));
	CHECK(vm_page_check() == 0);
}

static void
test_page_checker_detects(void)
{
	test_boot(2, NULL);
	test_run(page_checker_fn, NULL);
	test_shutdown();
}

/*
 * Contiguous runs freed one page at a time, in random order, with a
 * random half of each batch kept (what the build scenario's aging does):
 * afterwards every page the allocator hands out is one nobody holds.
 */
static void
page_contig_singly_fn(void *arg)
{
	struct vm_test_pageset ps;
	struct page_list held, all;
	static struct vm_page
	    *batch[8 * VM_LEVEL_0_NPAGES]; /* not on the stack */
	struct vm_page *m;
	uint64_t rng = 7, i, j, n, round;

	(void)arg;
	memset(&held, 0, sizeof(held));
	memset(&all, 0, sizeof(all));
	for (round = 0; round < 64; round++) {
		for (n = 0; n < nitems(batch); n += VM_LEVEL_0_NPAGES) {
			m = vm_page_alloc_contig(0, VM_LEVEL_0_NPAGES, 0,
			    vm_phys_end, VM_LEVEL_0_SIZE, 0);
			if (m == NULL)
				break;
			for (i = 0; i < VM_LEVEL_0_NPAGES; i++)
				batch[n + i] =
				    PHYS_TO_VM_PAGE(m->phys_addr + ptoa(i));
		}
		for (i = n; i > 1; i--) {
			rng = rng * 6364136223846793005ull +
			    1442695040888963407ull;
			j = (rng >> 33) % i;
			m = batch[i - 1];
			batch[i - 1] = batch[j];
			batch[j] = m;
		}
		for (i = 0; i < n / 2; i++)
			page_list_add(&held, batch[i]);
		for (i = n / 2; i < n; i++)
			vm_page_free(batch[i]);
		CHECK(vm_page_check() == 0);
		if (n < nitems(batch))
			break;
	}
	CHECK(vm_phys_check() == 0);
	/* Everything else, single pages: none of them held. */
	vm_test_pageset_init(&ps);
	for (i = 0; i < held.pl_n; i++)
		CHECK(vm_test_pageset_add(&ps, held.pl_pages[i], 1));
	while ((m = vm_page_alloc_noobj(0)) != NULL) {
		CHECKF(vm_test_pageset_add(&ps, m, 1),
		    "page %#llx handed out while held",
		    (unsigned long long)m->phys_addr);
		page_list_add(&all, m);
	}
	vm_test_pageset_fini(&ps);
	page_list_free(&all);
	page_list_free(&held);
	CHECK(vm_page_check() == 0);
	CHECK(vm_phys_check() == 0);
}

static void
test_page_contig_singly(void)
{
	test_boot(4, NULL);
	test_run(page_contig_singly_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_page_contig_singly),
	TEST_CASE(test_page_basic),
	TEST_CASE(test_page_classes),
	TEST_CASE(test_page_vm_wait),
	TEST_CASE(test_pgcache_drained_under_shortage),
	TEST_CASE(test_pgcache_toggle),
	TEST_CASE(test_page_domains),
	TEST_CASE(test_page_checker_detects),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
