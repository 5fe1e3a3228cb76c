/*
 * test_vm_pgcache.c: the per-CPU caches of 2 MiB blocks (vm_pgcache.h,
 * "Block caches").
 *
 *	- sizes: the tunables, capped by the domain, and high_2m=0;
 *	- allocation and free of order-9 blocks through the cache: a refill
 *	  of a batch, pops, pushes, a drain of a batch when full, LIFO
 *	  reuse (zeroed on request), and the accounting (cached pages are
 *	  neither free nor allocated; vm_page_check() holds throughout);
 *	- vm_pgcache_drain_all() empties the block caches of every CPU, and
 *	  an allocation short of pages drains them rather than fail;
 *	- a contiguous run that fails for want of contiguity, with the free
 *	  count sufficient, drains the block caches of other CPUs and
 *	  succeeds;
 *	- the caches switched off and on at run time;
 *	- the checker sees a cached block gone bad.
 * Each machine has 1 GiB (512 blocks), so that 2 and 4 CPUs (the sim
 * runs) both get the high of 4 and batch of 2 asked for.
 */
#include "kern/thread.h"
#include "vm/vm_pgcache.h"
#include "vm_test.h"

#include <string.h>

#define PGC_MEM (1ull << 30)
#define PGC_HIGH 4
#define PGC_BATCH 2
#define PGC_ORDER VM_PGCACHE_BLOCK_ORDER
#define PGC_NPAGES (1ull << PGC_ORDER)
#define PGC_MAXBLOCKS 512 /* blocks of the machine */

static const char *const pgc_tun[] = { "vm.pgcache.high_2m=4",
	"vm.pgcache.batch_2m=2", "vm.pageout.enable=0", NULL };

static void
pgc_boot(const char *const *tun)
{
	vm_test_boot(2, 1, PGC_MEM, tun);
}

/* Runs fn(arg) in a thread bound to `cpu' and waits for it. */
static void
pgc_on_cpu(int cpu, void (*fn)(void *), void *arg)
{
	struct thread *td;

	CHECK(kthread_create(fn, arg, cpu, KTHR_BOUND | KTHR_JOINABLE, &td,
		  "pgc%d", cpu) == 0);
	kthread_join(td);
}

static bool
pgc_is_zero(const struct vm_page *m)
{
	const uint8_t *p = vm_page_dmap(m);
	uint64_t i;

	for (i = 0; i < ptoa(PGC_NPAGES); i++)
		if (p[i] != 0)
			return (false);
	return (true);
}

/* Pages cached in single-page caches of domain 0. */
static uint64_t
pgc_single_cached(void)
{
	return (vm_pgcache_count(0) - (vm_pgcache_block_count(0) << PGC_ORDER));
}

/* Blocks in the current CPU's block cache of domain 0. */
static uint64_t
pgc_mine(void)
{
	return (pcpu_load_64(&vm_pgcache_block_get(curcpu, 0)->pc_count));
}

static void
pgc_sizes_fn(void *arg)
{
	(void)arg;
	CHECKF(vm_pgcache_block_high(0) == PGC_HIGH &&
		vm_pgcache_block_batch(0) == PGC_BATCH,
	    "high %u batch %u", vm_pgcache_block_high(0),
	    vm_pgcache_block_batch(0));
	CHECK(vm_test_stat("vm.stats.pgcache.high_2m") == PGC_HIGH);
	CHECK(vm_test_stat("vm.stats.pgcache.batch_2m") == PGC_BATCH);
}

static void
pgc_nocache_fn(void *arg)
{
	struct vm_page *m;

	(void)arg;
	CHECK(vm_pgcache_block_high(0) == 0 && vm_pgcache_block_batch(0) == 0);
	m = vm_page_alloc_block(0, PGC_ORDER);
	CHECK(m != NULL);
	vm_page_free_block(m, PGC_ORDER);
	CHECK(vm_pgcache_block_count(0) == 0);
	CHECK(vm_test_stat("vm.stats.pgcache.alloc_hits_2m") == 0);
	CHECK(vm_page_check() == 0);
}

static void
test_block_sizes(void)
{
	static const char *const none[] = { "vm.pgcache.high_2m=0", NULL };
	static const char *const capped[] = { "vm.pgcache.high_2m=1024",
		"vm.pgcache.batch_2m=256", NULL };

	pgc_boot(pgc_tun);
	test_run(pgc_sizes_fn, NULL);
	test_shutdown();
	/* The cap: 512 blocks / (32 x CPUs); the batch at most half. */
	pgc_boot(capped);
	CHECKF(vm_pgcache_block_high(0) == 512 / (32 * (uint32_t)md_ncpus()),
	    "high %u on %d CPUs", vm_pgcache_block_high(0), md_ncpus());
	CHECK(vm_pgcache_block_batch(0) == vm_pgcache_block_high(0) / 2);
	test_shutdown();
	pgc_boot(none);
	test_run(pgc_nocache_fn, NULL);
	test_shutdown();
}

/*
 * Alloc and free through the cache of one CPU, with the accounting at each
 * step: pages cached are out of the free count and count in
 * vm_pgcache_count(); pages handed out count in the net allocations.
 */
static void
pgc_alloc_free_fn(void *arg)
{
	struct vm_page *ma[2 * PGC_HIGH], *m;
	uint64_t free0, single0, hits0, blocks0, drains0;
	int64_t net0;
	int i;

	(void)arg;
	CHECK(vm_pgcache_block_count(0) == 0);
	free0 = vm_page_free_count();
	single0 = pgc_single_cached();
	net0 = vm_pgcache_net_allocs(0);
	hits0 = vm_test_stat("vm.stats.pgcache.alloc_hits_2m");
	blocks0 = vm_test_stat("vm.stats.page.blocks");
	/* The first allocation refills a batch and hands out one block. */
	ma[0] = vm_page_alloc_block(0, PGC_ORDER);
	CHECK(ma[0] != NULL);
	CHECK(pgc_mine() == PGC_BATCH - 1);
	CHECK(vm_page_free_count() == free0 - PGC_BATCH * PGC_NPAGES);
	CHECK(vm_test_stat("vm.stats.pgcache.refills_2m") == 1);
	for (i = 1; i < 2 * PGC_HIGH; i++)
		CHECK((ma[i] = vm_page_alloc_block(0, PGC_ORDER)) != NULL);
	for (i = 0; i < 2 * PGC_HIGH; i++) {
		m = ma[i];
		CHECK((m->phys_addr & (VM_LEVEL_0_SIZE - 1)) == 0);
		CHECK(m->flags == PG_PCPU_CACHE && m->object == NULL);
	}
	/* Every block came from the cache; none straight from the buddy. */
	CHECK(vm_test_stat("vm.stats.pgcache.alloc_hits_2m") - hits0 ==
	    2 * PGC_HIGH);
	CHECK(vm_test_stat("vm.stats.page.blocks") == blocks0);
	CHECK(vm_pgcache_net_allocs(0) - net0 ==
	    (int64_t)(2 * PGC_HIGH * PGC_NPAGES));
	CHECK(pgc_single_cached() == single0);
	CHECK(vm_page_check() == 0);
	/* Frees fill the cache, then drain a batch at a time. */
	drains0 = vm_test_stat("vm.stats.pgcache.drains_2m");
	for (i = 0; i < 2 * PGC_HIGH; i++)
		vm_page_free_block(ma[i], PGC_ORDER);
	CHECKF(pgc_mine() > PGC_HIGH - PGC_BATCH && pgc_mine() <= PGC_HIGH,
	    "%llu blocks cached", (unsigned long long)pgc_mine());
	CHECK(vm_test_stat("vm.stats.pgcache.drains_2m") > drains0);
	CHECK(vm_test_stat("vm.stats.pgcache.free_hits_2m") == 2 * PGC_HIGH);
	CHECK(vm_page_free_count() == free0 - pgc_mine() * PGC_NPAGES);
	CHECK(vm_pgcache_count(0) == single0 + pgc_mine() * PGC_NPAGES);
	CHECK(vm_pgcache_net_allocs(0) == net0);
	CHECK(vm_page_check() == 0);
	/* LIFO: the block freed last comes back first, zeroed if asked. */
	m = ma[2 * PGC_HIGH - 1];
	memset(vm_page_dmap(m), 0xab, PAGE_SIZE);
	CHECK(vm_page_alloc_block(VM_ALLOC_ZERO, PGC_ORDER) == m);
	CHECK(pgc_is_zero(m));
	vm_page_free_block(m, PGC_ORDER);
	CHECK(vm_page_check() == 0);
	/* Blocks of other orders bypass the block caches. */
	m = vm_page_alloc_block(0, PGC_ORDER + 1);
	CHECK(m != NULL && m->flags == 0);
	vm_page_free_block(m, PGC_ORDER + 1);
	CHECK(vm_pgcache_count(0) == single0 + pgc_mine() * PGC_NPAGES);
	CHECK(vm_page_check() == 0 && vm_phys_check() == 0);
	/* A drain gives every cached block back. */
	CHECK(vm_pgcache_drain_all() >= pgc_mine() * PGC_NPAGES);
	CHECK(vm_pgcache_count(0) == 0);
	CHECK(vm_page_free_count() == free0 + single0);
	CHECK(vm_page_check() == 0);
}

static void
pgc_alloc_free_main(void *arg)
{
	pgc_on_cpu(0, pgc_alloc_free_fn, arg);
}

static void
test_block_alloc_free(void)
{
	pgc_boot(pgc_tun);
	test_run(pgc_alloc_free_main, NULL);
	test_shutdown();
}

/* Fills the current CPU's block cache: allocates and frees a high's worth. */
static void
pgc_fill_fn(void *arg)
{
	struct vm_page *ma[PGC_HIGH];
	int i;

	(void)arg;
	for (i = 0; i < PGC_HIGH; i++)
		CHECK((ma[i] = vm_page_alloc_block(0, PGC_ORDER)) != NULL);
	for (i = 0; i < PGC_HIGH; i++)
		if (ma[i] != NULL)
			vm_page_free_block(ma[i], PGC_ORDER);
	CHECK(pgc_mine() == PGC_HIGH);
}

struct pgc_held {
	struct vm_page *ph_m[PGC_MAXBLOCKS];
	int ph_n;
};

static void
pgc_release(struct pgc_held *ph)
{
	while (ph->ph_n > 0)
		vm_page_free_block(ph->ph_m[--ph->ph_n], PGC_ORDER);
}

/* Blocks cached on CPU 1 are drained, not stranded, when CPU 0 runs out. */
static void
pgc_shortage_fn(void *arg)
{
	struct pgc_held *ph = arg;
	struct vm_page *m;
	uint64_t drains = vm_test_stat("vm.stats.pgcache.shortage_drains");

	CHECK(vm_pgcache_block_count(0) == PGC_HIGH);
	while (ph->ph_n < PGC_MAXBLOCKS &&
	    (m = vm_page_alloc_block(0, PGC_ORDER)) != NULL)
		ph->ph_m[ph->ph_n++] = m;
	CHECK(vm_pgcache_block_count(0) == 0);
	CHECK(vm_test_stat("vm.stats.pgcache.shortage_drains") > drains);
	CHECK(vm_page_check() == 0);
	pgc_release(ph);
	CHECK(vm_pgcache_drain_all() > 0);
	CHECK(vm_page_check() == 0);
}

static void
pgc_shortage_main(void *arg)
{
	pgc_on_cpu(1, pgc_fill_fn, NULL);
	pgc_on_cpu(0, pgc_shortage_fn, arg);
}

static void
test_block_drained_under_shortage(void)
{
	struct pgc_held *ph = calloc(1, sizeof(*ph));

	pgc_boot(pgc_tun);
	test_run(pgc_shortage_main, ph);
	test_shutdown();
	free(ph);
}

/*
 * A 2 MiB-aligned run of 512 pages, with enough free pages but none of
 * them in a whole 2 MiB block, while CPU 1 caches blocks: the run fails
 * for want of contiguity, drains the block caches and succeeds.
 *	1. CPU 1 fills its block cache.
 *	2. CPU 0 takes every 2 MiB block left (interrupt class: no floor),
 *	   from one domain without a retry, so nothing is drained.
 *	3. CPU 0 gives four of them back as runs and takes one page of each:
 *	   2044 free pages, no whole block.
 *	4. The run of 512 pages.
 */
static void
pgc_contig_fn(void *arg)
{
	struct pgc_held *ph = arg;
	struct vm_domain *vmd = VM_DOMAIN(0);
	struct vm_page *m, *single[4] = { NULL };
	uint64_t j;
	int i, o;

	/* Step 2. */
	CHECK(vm_pgcache_block_count(0) == PGC_HIGH);
	while (ph->ph_n < PGC_MAXBLOCKS &&
	    (m = vm_page_alloc_block_domain(
		 0, VM_ALLOC_INTERRUPT, PGC_ORDER)) != NULL)
		ph->ph_m[ph->ph_n++] = m;
	CHECK(ph->ph_n > 4 && pgc_mine() == 0);
	/* Step 3. */
	for (i = 0; i < 4 && ph->ph_n > 0; i++) {
		m = ph->ph_m[--ph->ph_n];
		for (j = 0; j < PGC_NPAGES; j++)
			m[j].flags = 0; /* set up as a run, to free as one */
		vm_page_free_contig(m, PGC_NPAGES);
		single[i] = vm_page_alloc_contig(VM_ALLOC_INTERRUPT, 1,
		    m->phys_addr, m->phys_addr + PAGE_SIZE, PAGE_SIZE, 0);
		CHECK(single[i] == m);
	}
	vm_domain_free_lock(vmd);
	for (o = PGC_ORDER; o < VM_NFREEORDER; o++)
		CHECKF(vm_phys_free_blocks(0, o) == 0,
		    "free blocks of order %d", o);
	vm_domain_free_unlock(vmd);
	CHECKF(
	    vm_domain_free_count(vmd) >= vm_domain_floor(vmd, 0) + PGC_NPAGES,
	    "free %llu", (unsigned long long)vm_domain_free_count(vmd));
	CHECK(vm_pgcache_block_count(0) == PGC_HIGH);
	/* Step 4. */
	m = vm_page_alloc_contig(
	    0, PGC_NPAGES, 0, vm_phys_end, VM_LEVEL_0_SIZE, 0);
	CHECK(m != NULL);
	CHECK(vm_pgcache_block_count(0) == 0);
	CHECK(vm_page_check() == 0);
	if (m != NULL)
		vm_page_free_contig(m, PGC_NPAGES);
	for (i = 0; i < 4; i++)
		if (single[i] != NULL)
			vm_page_free_contig(single[i], 1);
	pgc_release(ph);
	(void)vm_pgcache_drain_all();
	CHECK(vm_page_check() == 0);
}

static void
pgc_contig_main(void *arg)
{
	/* Step 1. */
	pgc_on_cpu(1, pgc_fill_fn, NULL);
	pgc_on_cpu(0, pgc_contig_fn, arg);
}

static void
test_block_drained_for_contiguity(void)
{
	struct pgc_held *ph = calloc(1, sizeof(*ph));

	pgc_boot(pgc_tun);
	test_run(pgc_contig_main, ph);
	test_shutdown();
	free(ph);
}

static void
pgc_toggle_fn(void *arg)
{
	struct vm_page *ma[PGC_HIGH];
	uint64_t hits;
	int i;

	(void)arg;
	pgc_fill_fn(NULL);
	vm_pgcache_set_enabled(false);
	CHECK(vm_pgcache_block_count(0) == 0 && vm_pgcache_count(0) == 0);
	hits = vm_test_stat("vm.stats.pgcache.alloc_hits_2m");
	for (i = 0; i < PGC_HIGH; i++) {
		CHECK((ma[i] = vm_page_alloc_block(0, PGC_ORDER)) != NULL);
		CHECK(vm_page_check() == 0);
	}
	for (i = 0; i < PGC_HIGH; i++)
		if (ma[i] != NULL)
			vm_page_free_block(ma[i], PGC_ORDER);
	CHECK(vm_test_stat("vm.stats.pgcache.alloc_hits_2m") == hits);
	CHECK(vm_pgcache_block_count(0) == 0);
	CHECK(vm_page_check() == 0);
	vm_pgcache_set_enabled(true);
	pgc_fill_fn(NULL);
	CHECK(vm_test_stat("vm.stats.pgcache.alloc_hits_2m") > hits);
	CHECK(vm_page_check() == 0);
}

static void
pgc_toggle_main(void *arg)
{
	pgc_on_cpu(0, pgc_toggle_fn, arg);
}

static void
test_block_toggle(void)
{
	pgc_boot(pgc_tun);
	test_run(pgc_toggle_main, NULL);
	test_shutdown();
}

/* The checker is not blind: a cached block that lost PG_FREE is reported. */
static void
pgc_checker_fn(void *arg)
{
	struct vm_pgcache *pc;
	struct vm_page *m;

	(void)arg;
	pgc_fill_fn(NULL);
	CHECK(vm_page_check() == 0);
	pc = vm_pgcache_block_get(curcpu, 0);
	m = pc->pc_pages[0];
	m->flags = PG_PCPU_CACHE;
	CHECK(vm_page_check() > 0);
	m->flags = PG_PCPU_CACHE | PG_FREE;
	CHECK(vm_page_check() == 0);
}

static void
pgc_checker_main(void *arg)
{
	pgc_on_cpu(0, pgc_checker_fn, arg);
}

static void
test_block_checker_detects(void)
{
	pgc_boot(pgc_tun);
	test_run(pgc_checker_main, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_block_sizes),
	TEST_CASE(test_block_alloc_free),
	TEST_CASE(test_block_drained_under_shortage),
	TEST_CASE(test_block_drained_for_contiguity),
	TEST_CASE(test_block_toggle),
	TEST_CASE(test_block_checker_detects),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
