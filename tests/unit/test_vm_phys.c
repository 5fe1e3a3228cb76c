/*
 * test_vm_phys.c: the buddy allocator, segments, domains and page lookup.
 *
 *	- layout: segments and holes as configured, every page free in
 *	  maximal blocks at boot, lookups of every address;
 *	- random sequences of block and bulk allocations and frees: no
 *	  overlap, blocks aligned and inside one segment of the domain, the
 *	  lists' invariants (vm_phys_check) along the way, and complete
 *	  coalescing once everything is freed;
 *	- contiguous allocation over random parameters on fragmented memory,
 *	  checked against a brute-force search for a fitting run;
 *	- the same operations in dense and sparse mode give the same pages;
 *	- the low-memory freelist is used last.
 */
#include "kern/thread.h"
#include "vm_test.h"

#include <string.h>

#define PHYS_MEM (64ull << 20)

static const char *const phys_tun_segs[] = { "vm.phys.segments=4", NULL };
static const char *const phys_tun_sparse[] = { "vm.phys.segments=4",
	"vm.phys.sparse=1", NULL };

/* The free blocks of each order if every segment is fully coalesced. */
static void
phys_expected_blocks(int domain, uint64_t *want)
{
	struct vm_phys_seg *seg;
	vm_paddr_t pa;
	uint64_t left;
	int s, o;

	memset(want, 0, VM_NFREEORDER * sizeof(*want));
	for (s = 0; s < vm_phys_nsegs; s++) {
		seg = &vm_phys_segs[s];
		if (seg->ps_domain != domain)
			continue;
		for (pa = seg->ps_start; pa < seg->ps_end;
		     pa += ptoa(1ull << o)) {
			left = atop(seg->ps_end - pa);
			for (o = VM_MAXORDER; o > 0; o--)
				if ((atop(pa) & ((1ull << o) - 1)) == 0 &&
				    (1ull << o) <= left)
					break;
			want[o]++;
		}
	}
}

/* Every segment of every domain is free and in maximal blocks. */
static void
phys_check_coalesced(void)
{
	uint64_t want[VM_NFREEORDER], have;
	int d, o;

	CHECK(vm_phys_check() == 0);
	for (d = 0; d < vm_ndomains; d++) {
		phys_expected_blocks(d, want);
		vm_domain_free_lock(VM_DOMAIN(d));
		CHECKF(vm_phys_free_pages_count(d) == vm_phys_domain_pages(d),
		    "domain %d: %llu free of %llu", d,
		    (unsigned long long)vm_phys_free_pages_count(d),
		    (unsigned long long)vm_phys_domain_pages(d));
		for (o = 0; o < VM_NFREEORDER; o++) {
			have = vm_phys_free_blocks(d, o);
			CHECKF(have == want[o],
			    "domain %d order %d: %llu blocks, want %llu", d, o,
			    (unsigned long long)have,
			    (unsigned long long)want[o]);
		}
		vm_domain_free_unlock(VM_DOMAIN(d));
	}
}

static void
phys_layout_fn(void *arg)
{
	struct vm_phys_seg *seg;
	struct vm_page *m;
	vm_paddr_t pa;
	int s, nholes = 0, want_nseg = *(int *)arg;

	CHECKF(vm_phys_nsegs >= want_nseg, "%d segments, want >= %d",
	    vm_phys_nsegs, want_nseg);
	for (s = 0; s < vm_phys_nsegs; s++) {
		seg = &vm_phys_segs[s];
		CHECK(seg->ps_start < seg->ps_end);
		CHECK(s == 0 || vm_phys_segs[s - 1].ps_end <= seg->ps_start);
		if (s > 0 && vm_phys_segs[s - 1].ps_end < seg->ps_start)
			nholes++;
	}
	CHECK(want_nseg == 1 || nholes > 0);
	phys_check_coalesced();
	/* Every address: its page, or NULL in holes and past the end. */
	for (pa = 0; pa < vm_phys_end + ptoa(8); pa += PAGE_SIZE) {
		m = PHYS_TO_VM_PAGE(pa + (atop(pa) * 37) % PAGE_SIZE);
		s = vm_phys_seg_of(pa);
		if (s < 0)
			CHECKF(m == NULL, "pa %#llx: page in a hole",
			    (unsigned long long)pa);
		else
			CHECKF(m != NULL && m->phys_addr == pa &&
				m->segind == s &&
				m->domain == vm_phys_segs[s].ps_domain,
			    "pa %#llx: wrong page", (unsigned long long)pa);
	}
}

static void
test_phys_layout(void)
{
	int one = 1, four = 4;

	vm_test_boot(2, 1, PHYS_MEM, NULL);
	test_run(phys_layout_fn, &one);
	test_shutdown();
	vm_test_boot(2, 1, PHYS_MEM, phys_tun_segs);
	test_run(phys_layout_fn, &four);
	test_shutdown();
	vm_test_boot(4, 2, PHYS_MEM, phys_tun_sparse);
	test_run(phys_layout_fn, &four);
	test_shutdown();
}

/* A random sequence of block operations; hashes what it got. */
struct phys_ops {
	uint64_t po_seed;
	uint64_t po_iters;
	uint64_t po_hash;
};

struct phys_blk {
	struct vm_page *pb_m;
	int pb_order;
};

static void
phys_hash(struct phys_ops *po, uint64_t v)
{
	po->po_hash = (po->po_hash ^ v) * 0x100000001b3ull;
}

/* Checks a block just allocated from `domain' and records it. */
static void
phys_take(struct phys_ops *po, struct vm_test_pageset *ps,
    struct phys_blk *live, int *nlive, struct vm_page *m, int order, int domain)
{
	struct vm_phys_seg *seg = &vm_phys_segs[m->segind];
	vm_paddr_t pa = m->phys_addr, size = ptoa(1ull << order);

	CHECKF((pa & (size - 1)) == 0, "block %#llx order %d misaligned",
	    (unsigned long long)pa, order);
	CHECKF(seg->ps_domain == domain && pa + size <= seg->ps_end,
	    "block %#llx order %d outside domain %d's segment",
	    (unsigned long long)pa, order, domain);
	CHECKF(vm_test_pageset_add(ps, m, 1ull << order),
	    "block %#llx order %d overlaps a held block",
	    (unsigned long long)pa, order);
	live[*nlive].pb_m = m;
	live[*nlive].pb_order = order;
	(*nlive)++;
	phys_hash(po, pa * 16 + (uint64_t)order);
}

static void
phys_op_alloc(struct phys_ops *po, uint64_t *rs, struct vm_test_pageset *ps,
    struct phys_blk *live, int *nlive)
{
	struct vm_page *ma[64], *m;
	int d = (int)(test_rand(rs) % (uint64_t)vm_ndomains), i, n, order;
	int pool = (int)(test_rand(rs) % VM_NFREEPOOL);

	vm_domain_free_lock(VM_DOMAIN(d));
	if (test_rand(rs) % 4 != 0) {
		order = (int)(test_rand(rs) % 8 == 0 ? test_rand(rs) % 13
						     : test_rand(rs) % 4);
		m = vm_phys_alloc_pages(d, pool, order);
		vm_domain_free_unlock(VM_DOMAIN(d));
		if (m != NULL)
			phys_take(po, ps, live, nlive, m, order, d);
		return;
	}
	n = vm_phys_alloc_npages(d, pool, (int)(test_rand(rs) % 64) + 1, ma);
	vm_domain_free_unlock(VM_DOMAIN(d));
	for (i = 0; i < n; i++)
		phys_take(po, ps, live, nlive, ma[i], 0, d);
}

static void
phys_op_free(
    struct vm_test_pageset *ps, struct phys_blk *live, int *nlive, int i)
{
	struct vm_page *m = live[i].pb_m;

	vm_test_pageset_del(ps, m, 1ull << live[i].pb_order);
	vm_domain_free_lock(VM_DOMAIN(m->domain));
	vm_phys_free_pages(m, live[i].pb_order);
	vm_domain_free_unlock(VM_DOMAIN(m->domain));
	live[i] = live[--(*nlive)];
}

static void
phys_random_fn(void *arg)
{
	struct phys_ops *po = arg;
	struct vm_test_pageset ps;
	struct phys_blk *live;
	uint64_t it, rs = po->po_seed, nfree;
	int nlive = 0, maxlive = 20000, d;

	vm_test_pageset_init(&ps);
	live = calloc((size_t)maxlive + 64, sizeof(*live));
	for (it = 0; it < po->po_iters; it++) {
		if (nlive < maxlive - 64 && test_rand(&rs) % 100 < 55)
			phys_op_alloc(po, &rs, &ps, live, &nlive);
		else if (nlive > 0)
			phys_op_free(&ps, live, &nlive,
			    (int)(test_rand(&rs) % (uint64_t)nlive));
		if (it % 1000 != 999)
			continue;
		CHECK(vm_phys_check() == 0);
		for (nfree = 0, d = 0; d < vm_ndomains; d++) {
			vm_domain_free_lock(VM_DOMAIN(d));
			nfree += vm_phys_free_pages_count(d);
			vm_domain_free_unlock(VM_DOMAIN(d));
		}
		CHECK(nfree + ps.ps_count == vm_page_count_total());
	}
	while (nlive > 0)
		phys_op_free(&ps, live, &nlive, nlive - 1);
	phys_check_coalesced();
	free(live);
	vm_test_pageset_fini(&ps);
}

static void
test_phys_random_ops(void)
{
	struct phys_ops po;
	int round;

	for (round = 0; round < 3; round++) {
		vm_test_boot(2, 1 + round % 2, PHYS_MEM,
		    round == 0 ? NULL : phys_tun_segs);
		po.po_seed = test_seed() + (uint64_t)round;
		po.po_iters = vm_test_size(60000, 15000);
		po.po_hash = 0;
		test_run(phys_random_fn, &po);
		test_shutdown();
	}
}

/* The same operations in dense and in sparse mode give the same pages. */
static void
phys_lookup_hash_fn(void *arg)
{
	struct phys_ops *po = arg;
	struct vm_page *m;
	uint64_t rs = po->po_seed, i;
	vm_paddr_t pa;

	phys_random_fn(po);
	for (i = 0; i < 20000; i++) {
		pa = test_rand(&rs) % (vm_phys_end + ptoa(64));
		m = PHYS_TO_VM_PAGE(pa);
		phys_hash(po, m == NULL ? ~0ull : m->phys_addr);
	}
}

static void
test_phys_sparse_dense_identical(void)
{
	struct phys_ops dense, sparse;

	dense.po_seed = sparse.po_seed = test_seed() ^ 0x5eed;
	dense.po_iters = sparse.po_iters = vm_test_size(30000, 8000);
	dense.po_hash = sparse.po_hash = 0;
	vm_test_boot(2, 2, PHYS_MEM, phys_tun_segs);
	test_run(phys_lookup_hash_fn, &dense);
	test_shutdown();
	vm_test_boot(2, 2, PHYS_MEM, phys_tun_sparse);
	test_run(phys_lookup_hash_fn, &sparse);
	test_shutdown();
	CHECKF(dense.po_hash == sparse.po_hash,
	    "dense trace %#llx != sparse trace %#llx",
	    (unsigned long long)dense.po_hash,
	    (unsigned long long)sparse.po_hash);
}

/*
 * Contiguous allocation.  Memory is fragmented first (every page taken,
 * then a random share given back); then random requests are compared with a
 * brute-force search over the pages the test does not hold.
 */
struct contig_req {
	uint64_t cr_npages;
	vm_paddr_t cr_low, cr_high;
	uint64_t cr_align;
	vm_paddr_t cr_boundary;
};

static bool
contig_fits(const struct contig_req *cr, vm_paddr_t pa)
{
	vm_paddr_t end = pa + ptoa(cr->cr_npages);

	return (pa >= cr->cr_low && end <= cr->cr_high &&
	    (pa & (cr->cr_align - 1)) == 0 &&
	    (cr->cr_boundary == 0 ||
		((pa ^ (end - 1)) & ~(cr->cr_boundary - 1)) == 0));
}

/* Is there a fitting run of pages of `domain' that the test does not hold? */
static bool
contig_exists(
    const struct contig_req *cr, struct vm_test_pageset *ps, int domain)
{
	struct vm_phys_seg *seg;
	uint64_t i, run;
	vm_paddr_t pa;
	int s;

	for (s = 0; s < vm_phys_nsegs; s++) {
		seg = &vm_phys_segs[s];
		if (seg->ps_domain != domain)
			continue;
		run = 0;
		for (i = 0; i < atop(seg->ps_end - seg->ps_start); i++) {
			run = vm_test_pageset_has(ps, &seg->ps_first_page[i])
			    ? 0
			    : run + 1;
			if (run < cr->cr_npages)
				continue;
			pa = seg->ps_start + ptoa(i + 1 - cr->cr_npages);
			if (contig_fits(cr, pa))
				return (true);
		}
	}
	return (false);
}

static void
contig_random_req(struct contig_req *cr, uint64_t *rs)
{
	uint64_t k, r = test_rand(rs) % 4;

	cr->cr_npages = r < 2 ? test_rand(rs) % 9 + 1
	    : r == 2	      ? test_rand(rs) % 55 + 10
			      : test_rand(rs) % 600 + 65;
	cr->cr_low = ptoa(test_rand(rs) % atop(vm_phys_end));
	r = test_rand(rs) % 4;
	/* Narrow windows make runs that span several free blocks count. */
	cr->cr_high = r < 2
	    ? cr->cr_low + ptoa(cr->cr_npages + test_rand(rs) % 64)
	    : r == 2 ? cr->cr_low + ptoa(test_rand(rs) % 4096 + 1)
		     : vm_phys_end;
	cr->cr_align = PAGE_SIZE
	    << (test_rand(rs) % 3 == 0 ? test_rand(rs) % 8 : 0);
	k = 64 - (uint64_t)__builtin_clzll(ptoa(cr->cr_npages) - 1);
	cr->cr_boundary =
	    test_rand(rs) % 2 == 0 ? 0 : 1ull << (k + test_rand(rs) % 3);
}

static void
contig_check_run(const struct contig_req *cr, struct vm_page *m)
{
	uint64_t i;

	CHECKF(contig_fits(cr, m->phys_addr),
	    "run %#llx + %llu pages misses low %#llx high %#llx align %#llx "
	    "boundary %#llx",
	    (unsigned long long)m->phys_addr, (unsigned long long)cr->cr_npages,
	    (unsigned long long)cr->cr_low, (unsigned long long)cr->cr_high,
	    (unsigned long long)cr->cr_align,
	    (unsigned long long)cr->cr_boundary);
	for (i = 1; i < cr->cr_npages; i++)
		CHECKF(m[i].phys_addr == m->phys_addr + ptoa(i) &&
			m[i].segind == m->segind,
		    "run %#llx is not contiguous at page %llu",
		    (unsigned long long)m->phys_addr, (unsigned long long)i);
}

/* Takes every page, then gives a random share (30% to 70%) back. */
static void
contig_fragment(struct vm_test_pageset *ps, uint64_t *rs)
{
	struct vm_page *ma[64], *m;
	uint64_t keep = test_rand(rs) % 5 + 3, i; /* tenths kept */
	int d, k, n;

	for (d = 0; d < vm_ndomains; d++) {
		vm_domain_free_lock(VM_DOMAIN(d));
		while ((n = vm_phys_alloc_npages(d, 0, 64, ma)) > 0)
			for (k = 0; k < n; k++)
				(void)vm_test_pageset_add(ps, ma[k], 1);
		vm_domain_free_unlock(VM_DOMAIN(d));
	}
	for (i = 0; i < vm_page_array_size; i++) {
		m = &vm_page_array[i];
		if (m->segind == VM_PHYSSEG_NONE || test_rand(rs) % 10 < keep)
			continue;
		vm_test_pageset_del(ps, m, 1);
		vm_domain_free_lock(VM_DOMAIN(m->domain));
		vm_phys_free_pages(m, 0);
		vm_domain_free_unlock(VM_DOMAIN(m->domain));
	}
}

static uint64_t contig_stat_ok; /* successful requests */

static void
contig_one(struct vm_test_pageset *ps, uint64_t *rs, int d)
{
	struct contig_req cr;
	struct vm_page *m;
	bool exists;

	contig_random_req(&cr, rs);
	exists = contig_exists(&cr, ps, d);
	vm_domain_free_lock(VM_DOMAIN(d));
	m = vm_phys_alloc_contig(d, cr.cr_npages, cr.cr_low, cr.cr_high,
	    cr.cr_align, cr.cr_boundary);
	vm_domain_free_unlock(VM_DOMAIN(d));
	CHECKF((m != NULL) == exists,
	    "contig %llu pages [%#llx, %#llx) align %#llx boundary %#llx: "
	    "got %p, a run exists: %d",
	    (unsigned long long)cr.cr_npages, (unsigned long long)cr.cr_low,
	    (unsigned long long)cr.cr_high, (unsigned long long)cr.cr_align,
	    (unsigned long long)cr.cr_boundary, (void *)m, exists);
	if (m == NULL)
		return;
	contig_stat_ok++;
	contig_check_run(&cr, m);
	CHECKF(vm_test_pageset_add(ps, m, cr.cr_npages),
	    "run %#llx overlaps held pages", (unsigned long long)m->phys_addr);
	if (test_rand(rs) % 2 == 0) {
		vm_test_pageset_del(ps, m, cr.cr_npages);
		vm_domain_free_lock(VM_DOMAIN(d));
		vm_phys_free_contig(m, cr.cr_npages);
		vm_domain_free_unlock(VM_DOMAIN(d));
	}
}

static void
contig_release_all(struct vm_test_pageset *ps)
{
	struct vm_page *m;
	uint64_t i;

	for (i = 0; i < vm_page_array_size; i++) {
		m = &vm_page_array[i];
		if (m->segind == VM_PHYSSEG_NONE || !vm_test_pageset_has(ps, m))
			continue;
		vm_test_pageset_del(ps, m, 1);
		vm_domain_free_lock(VM_DOMAIN(m->domain));
		vm_phys_free_pages(m, 0);
		vm_domain_free_unlock(VM_DOMAIN(m->domain));
	}
}

static void
phys_contig_fn(void *arg)
{
	struct vm_test_pageset ps;
	uint64_t rs = *(uint64_t *)arg, i, n = vm_test_size(1500, 300);

	vm_test_pageset_init(&ps);
	contig_stat_ok = 0;
	contig_fragment(&ps, &rs);
	for (i = 0; i < n; i++) {
		contig_one(&ps, &rs, (int)(i % (uint64_t)vm_ndomains));
		if (i % 100 == 99)
			CHECK(vm_phys_check() == 0);
	}
	/* The test exercises both outcomes. */
	CHECKF(contig_stat_ok > n / 20 && contig_stat_ok < n - n / 20,
	    "%llu of %llu requests succeeded",
	    (unsigned long long)contig_stat_ok, (unsigned long long)n);
	contig_release_all(&ps);
	phys_check_coalesced();
	vm_test_pageset_fini(&ps);
}

static void
test_phys_contig_random(void)
{
	uint64_t seed = test_seed();

	vm_test_boot(2, 1, 32ull << 20, phys_tun_segs);
	test_run(phys_contig_fn, &seed);
	test_shutdown();
	seed++;
	vm_test_boot(2, 2, 32ull << 20, phys_tun_sparse);
	test_run(phys_contig_fn, &seed);
	test_shutdown();
}

/* Low memory is handed out only once the default freelist is empty. */
static void
phys_lowmem_fn(void *arg)
{
	struct vm_page *m;
	vm_paddr_t lowmem = 16ull << 20;
	uint64_t n = 0, high = 0;

	(void)arg;
	vm_domain_free_lock(VM_DOMAIN(0));
	m = vm_phys_alloc_freelist_pages(
	    0, VM_FREELIST_LOWMEM, VM_FREEPOOL_DEFAULT, 0);
	CHECK(m != NULL && m->phys_addr < lowmem);
	vm_phys_free_pages(m, 0);
	while ((m = vm_phys_alloc_pages(0, VM_FREEPOOL_DEFAULT, 0)) != NULL) {
		if (m->phys_addr >= lowmem)
			high++;
		else
			CHECKF(high == vm_phys_domain_pages(0) - atop(lowmem),
			    "low page %#llx handed out after %llu high pages",
			    (unsigned long long)m->phys_addr,
			    (unsigned long long)high);
		n++;
	}
	CHECK(n == vm_phys_domain_pages(0));
	vm_domain_free_unlock(VM_DOMAIN(0));
	vm_domain_free_lock(VM_DOMAIN(0));
	for (n = 0; n < vm_page_array_size; n++)
		vm_phys_free_pages(&vm_page_array[n], 0);
	vm_domain_free_unlock(VM_DOMAIN(0));
	phys_check_coalesced();
}

static void
test_phys_lowmem(void)
{
	vm_test_boot(2, 1, 32ull << 20, NULL);
	test_run(phys_lowmem_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_phys_layout),
	TEST_CASE(test_phys_random_ops),
	TEST_CASE(test_phys_sparse_dense_identical),
	TEST_CASE(test_phys_contig_random),
	TEST_CASE(test_phys_lowmem),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
