/*
 * test_vm_reserv.c: superpage reservations.
 *
 *	- an object range populated in random order lands in one 2 MiB
 *	  frame at the pindex's offset; the "fully populated" signal comes
 *	  with the last page and goes with the first free; freeing every page
 *	  returns the whole block;
 *	- which objects get reservations (size, may grow), and none when
 *	  vm.reserv.enable=0;
 *	- partially populated reservations are broken, least recently changed
 *	  first, when memory runs short, and every page is then usable;
 *	- random allocations and frees over many objects keep the
 *	  reservations, the buddy lists and the page accounting consistent.
 */
#include "kern/sysctl.h"
#include "vm/vm_object.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_reserv.h"
#include "vm_test.h"

#include <string.h>

static const char *const rv_tun_off[] = { "vm.reserv.enable=0", NULL };

/* Shuffles idx[0..n) with the test's generator. */
static void
rv_shuffle(uint64_t *idx, uint64_t n, uint64_t *rs)
{
	uint64_t i, j, t;

	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = n; i > 1; i--) {
		j = test_rand(rs) % i;
		t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

static void
rv_populate_fn(void *arg)
{
	struct vm_object obj = { .size = 4 * VM_LEVEL_0_NPAGES, .flags = 0 };
	struct vm_page **pages;
	uint64_t rs = test_seed(), idx[VM_LEVEL_0_NPAGES], i, base, fp;
	vm_pindex_t first = 2 * VM_LEVEL_0_NPAGES, pi;

	(void)arg;
	pages = calloc(VM_LEVEL_0_NPAGES, sizeof(*pages));
	fp = vm_test_stat("vm.stats.reserv.fullpop");
	rv_shuffle(idx, VM_LEVEL_0_NPAGES, &rs);
	for (i = 0; i < VM_LEVEL_0_NPAGES; i++) {
		pi = first + idx[i];
		pages[idx[i]] = vm_page_alloc(&obj, pi, 0);
		CHECK(pages[idx[i]] != NULL);
		CHECK(pages[idx[i]]->object == &obj &&
		    pages[idx[i]]->pindex == pi);
		CHECK(vm_reserv_level_iffullpop(pages[idx[i]]) ==
		    (i == VM_LEVEL_0_NPAGES - 1 ? 0 : -1));
	}
	base = pages[0]->phys_addr;
	CHECK((base & (VM_LEVEL_0_SIZE - 1)) == 0);
	for (i = 0; i < VM_LEVEL_0_NPAGES; i++)
		CHECKF(pages[i]->phys_addr == base + ptoa(i),
		    "pindex %llu at %#llx, frame %#llx",
		    (unsigned long long)(first + i),
		    (unsigned long long)pages[i]->phys_addr,
		    (unsigned long long)base);
	CHECK(vm_test_stat("vm.stats.reserv.fullpop") == fp + 1);
	CHECK(vm_test_stat("vm.stats.reserv.fullpop_now") == 1);
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
	/* The first free ends the signal; the last returns the block. */
	for (i = 0; i < VM_LEVEL_0_NPAGES; i++) {
		vm_page_free(pages[idx[i]]);
		if (i == 0)
			CHECK(vm_reserv_level_iffullpop(pages[idx[1]]) == -1);
	}
	CHECK(vm_test_stat("vm.stats.reserv.active") == 0);
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
	(void)vm_pgcache_drain_all();
	CHECK(vm_page_free_count() == vm_page_count_total());
	vm_domain_free_lock(VM_DOMAIN(0));
	CHECK(vm_phys_free_blocks(0, VM_MAXORDER) > 0);
	vm_domain_free_unlock(VM_DOMAIN(0));
	free(pages);
}

static void
test_reserv_populate(void)
{
	test_boot(2, NULL);
	test_run(rv_populate_fn, NULL);
	test_shutdown();
}

/* Reservations only where the object's range fits, or it may grow. */
static void
rv_policy_fn(void *arg)
{
	struct vm_object small = { .size = 100, .flags = 0 };
	struct vm_object anon = { .size = 100, .flags = OBJ_ANON };
	struct vm_page *a, *b;
	bool on = *(bool *)arg;

	a = vm_page_alloc(&small, 7, 0);
	CHECK(a != NULL && vm_test_stat("vm.stats.reserv.active") == 0);
	b = vm_page_alloc(&anon, 7, 0);
	CHECK(b != NULL);
	CHECK(vm_test_stat("vm.stats.reserv.active") == (on ? 1 : 0));
	if (on && b != NULL)
		CHECK((b->phys_addr & (VM_LEVEL_0_SIZE - 1)) == ptoa(7));
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
	vm_page_free(a);
	vm_page_free(b);
	CHECK(vm_test_stat("vm.stats.reserv.active") == 0);
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
}

static void
test_reserv_policy(void)
{
	bool on = true;

	test_boot(2, NULL);
	test_run(rv_policy_fn, &on);
	test_shutdown();
	on = false;
	test_boot(2, rv_tun_off);
	test_run(rv_policy_fn, &on);
	test_shutdown();
}

/*
 * Shortage: many objects populate one page each, so partially populated
 * reservations hold nearly all memory; then single pages are allocated
 * until the floor.  Every free page must be reachable: the reservations
 * are broken, the least recently changed first.
 */
static void
rv_shortage_fn(void *arg)
{
	uint64_t nobj = vm_page_count_total() / VM_LEVEL_0_NPAGES, i, n = 0;
	struct vm_object *objs = calloc(nobj, sizeof(*objs));
	struct vm_page **held, **rvp = calloc(nobj, sizeof(*rvp)), *m;
	uint64_t broken = vm_test_stat("vm.stats.reserv.broken");

	(void)arg;
	held = calloc(vm_page_count_total(), sizeof(*held));
	for (i = 0; i < nobj; i++) {
		objs[i].flags = OBJ_ANON;
		rvp[i] = vm_page_alloc(&objs[i], 0, 0);
	}
	CHECKF(vm_test_stat("vm.stats.reserv.active") > nobj / 2,
	    "%llu reservations for %llu objects",
	    (unsigned long long)vm_test_stat("vm.stats.reserv.active"),
	    (unsigned long long)nobj);
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
	while ((m = vm_page_alloc_noobj(0)) != NULL)
		held[n++] = m;
	CHECK(n + nobj ==
	    vm_page_count_total() - VM_DOMAIN(0)->vmd_free_reserved);
	CHECK(vm_test_stat("vm.stats.reserv.broken") > broken);
	CHECK(vm_test_stat("vm.stats.reserv.free_pages") == 0);
	CHECK(vm_test_stat("vm.stats.reserv.partpop") == 0);
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
	vm_page_free_bulk(held, (int)n);
	for (i = 0; i < nobj; i++)
		if (rvp[i] != NULL)
			vm_page_free(rvp[i]);
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
	(void)vm_pgcache_drain_all();
	CHECK(vm_page_free_count() == vm_page_count_total());
	CHECK(vm_phys_check() == 0);
	free(held);
	free(rvp);
	free(objs);
}

static void
test_reserv_broken_under_shortage(void)
{
	vm_test_boot(2, 1, 64ull << 20, NULL);
	test_run(rv_shortage_fn, NULL);
	test_shutdown();
}

/* Random allocations and frees of object pages, checked as they go. */
#define RV_NOBJ 24

struct rv_obj {
	struct vm_object ro_obj;
	struct vm_page **ro_pages; /* by pindex */
};

/* While memory is plentiful, every page sits at its reservation offset. */
static void
rv_check_placement(struct rv_obj *ro)
{
	vm_pindex_t pi, first;
	struct vm_page *a, *m;

	for (pi = 0; pi < ro->ro_obj.size; pi++) {
		m = ro->ro_pages[pi];
		first = pi & ~(vm_pindex_t)(VM_LEVEL_0_NPAGES - 1);
		a = ro->ro_pages[first];
		if (m == NULL || a == NULL)
			continue;
		CHECKF(m->phys_addr - a->phys_addr == ptoa(pi - first),
		    "pindex %llu at %#llx, pindex %llu at %#llx",
		    (unsigned long long)pi, (unsigned long long)m->phys_addr,
		    (unsigned long long)first,
		    (unsigned long long)a->phys_addr);
	}
}

static void
rv_random_step(struct rv_obj *objs, uint64_t *rs)
{
	struct rv_obj *ro = &objs[test_rand(rs) % RV_NOBJ];
	vm_pindex_t pi = test_rand(rs) % ro->ro_obj.size;
	struct vm_page *m = ro->ro_pages[pi];

	if (m != NULL) {
		vm_page_free(m);
		ro->ro_pages[pi] = NULL;
	} else if ((m = vm_page_alloc(&ro->ro_obj, pi, 0)) != NULL) {
		CHECK(m->object == &ro->ro_obj && m->pindex == pi);
		ro->ro_pages[pi] = m;
	}
}

static void
rv_random_fn(void *arg)
{
	struct rv_obj objs[RV_NOBJ];
	uint64_t rs = test_seed() ^ 0x3e5e, it, n = vm_test_size(100000, 20000);
	vm_pindex_t pi;
	int i;

	(void)arg;
	for (i = 0; i < RV_NOBJ; i++) {
		objs[i].ro_obj.size =
		    (test_rand(&rs) % 3 + 1) * VM_LEVEL_0_NPAGES +
		    test_rand(&rs) % 300;
		objs[i].ro_obj.flags = i % 2 == 0 ? OBJ_ANON : 0;
		objs[i].ro_pages =
		    calloc(objs[i].ro_obj.size, sizeof(*objs[i].ro_pages));
	}
	for (it = 0; it < n; it++) {
		rv_random_step(objs, &rs);
		if (it % 5000 != 4999)
			continue;
		CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
		for (i = 0; i < RV_NOBJ; i += 2)
			rv_check_placement(&objs[i]);
	}
	for (i = 0; i < RV_NOBJ; i++) {
		for (pi = 0; pi < objs[i].ro_obj.size; pi++)
			if (objs[i].ro_pages[pi] != NULL)
				vm_page_free(objs[i].ro_pages[pi]);
		free(objs[i].ro_pages);
	}
	CHECK(vm_test_stat("vm.stats.reserv.active") == 0);
	CHECK(vm_reserv_check() == 0 && vm_page_check() == 0);
	(void)vm_pgcache_drain_all();
	CHECK(vm_page_free_count() == vm_page_count_total());
}

static void
test_reserv_random(void)
{
	test_boot(2, NULL);
	test_run(rv_random_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_reserv_populate),
	TEST_CASE(test_reserv_policy),
	TEST_CASE(test_reserv_broken_under_shortage),
	TEST_CASE(test_reserv_random),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
