/*
 * test_uma.c: the zone allocator (src/vm/uma.h).
 *
 *	- ctor/dtor/init/fini: counts and order (init before ctor, dtor
 *	  before fini; fini only when items go back to the keg);
 *	- alignment of items of several sizes, multi-page slabs among them;
 *	- M_ZERO;
 *	- alloc/free storms from a thread on every CPU, then uma_check()
 *	  and nothing used;
 *	- limits: M_NOWAIT fails, M_WAITOK sleeps until another thread
 *	  frees;
 *	- bursts of uma.grow_pages=4 and 32 pages, and the reserve rule:
 *	  only the first 4 pages of a burst go below the VM_ALLOC_NORMAL
 *	  floor (M_USE_RESERVE), none without M_USE_RESERVE;
 *	- reclaim TRIM and DRAIN, and uma_zdestroy(), give the pages back
 *	  to vm_phys;
 *	- an empty page allocator: M_NOWAIT returns NULL, nothing leaks;
 *	- debug builds: a duplicate free, a write after free and a free of
 *	  a non-item are detected (uma_dbg_hook).
 * Machines have 256 MiB, no page daemon and no per-CPU page caches, so
 * that free counts are exact.
 */
#include "kern/thread.h"
#include "md/md_atomic.h"
#include "vm/uma.h"
#include "vm_test.h"

#include <errno.h>
#include <string.h>

#define UT_MEM (256ull << 20)

static const char *const ut_tun[] = { "vm.pageout.enable=0",
	"vm.pgcache.enable=0", NULL };

static void
ut_boot(const char *const *tun)
{
	vm_test_boot(4, 1, UT_MEM, tun != NULL ? tun : ut_tun);
}

static void
ut_run(void (*fn)(void *), const char *const *tun)
{
	ut_boot(tun);
	test_run(fn, NULL);
	test_shutdown();
}

static uint64_t
ut_stat(const char *name)
{
	return (vm_test_stat(name));
}

/* ctor/dtor/init/fini. */
static uint32_t ut_nctor, ut_ndtor, ut_ninit, ut_nfini, ut_order_bad;
#define UT_MAGIC_INIT 0x1717u
#define UT_MAGIC_CTOR 0x2929u

struct ut_obj {
	uint32_t state;
	uint32_t pad[7];
};

static int
ut_init(void *mem, int size, int flags)
{
	struct ut_obj *o = mem;

	(void)flags;
	CHECK(size == sizeof(struct ut_obj));
	o->state = UT_MAGIC_INIT;
	(void)atomic_fetchadd_int(&ut_ninit, 1);
	return (0);
}

static void
ut_fini(void *mem, int size)
{
	struct ut_obj *o = mem;

	(void)size;
	if (o->state != UT_MAGIC_INIT)
		(void)atomic_fetchadd_int(&ut_order_bad, 1);
	(void)atomic_fetchadd_int(&ut_nfini, 1);
}

static int
ut_ctor(void *mem, int size, void *arg, int flags)
{
	struct ut_obj *o = mem;

	(void)size;
	(void)flags;
	if (o->state != UT_MAGIC_INIT)
		(void)atomic_fetchadd_int(&ut_order_bad, 1);
	(void)atomic_fetchadd_int(&ut_nctor, 1);
	if (arg == (void *)1)
		return (ENOMEM); /* a failing ctor leaves the item as it was */
	o->state = UT_MAGIC_CTOR;
	return (0);
}

static void
ut_dtor(void *mem, int size, void *arg)
{
	struct ut_obj *o = mem;

	(void)size;
	(void)arg;
	if (o->state != UT_MAGIC_CTOR)
		(void)atomic_fetchadd_int(&ut_order_bad, 1);
	o->state = UT_MAGIC_INIT;
	(void)atomic_fetchadd_int(&ut_ndtor, 1);
}

/* The stats of one zone, by name. */
struct ut_find {
	const char *name;
	struct uma_zone_stats st;
	bool found;
};

static void
ut_find_fn(const struct uma_zone_stats *st, void *arg)
{
	struct ut_find *f = arg;

	if (strcmp(st->name, f->name) == 0) {
		f->st = *st;
		f->found = true;
	}
}

static struct uma_zone_stats
ut_zstats(const char *name)
{
	struct ut_find f = { .name = name };

	(void)uma_zone_foreach(ut_find_fn, &f);
	CHECKF(f.found, "no zone %s", name);
	return (f.st);
}

static void
ut_ctor_main(void *arg)
{
	struct ut_obj *o[100];
	uma_zone_t z;
	int i;

	(void)arg;
	ut_nctor = ut_ndtor = ut_ninit = ut_nfini = ut_order_bad = 0;
	z = uma_zcreate("test ctor", sizeof(struct ut_obj), ut_ctor, ut_dtor,
	    ut_init, ut_fini, UMA_ALIGN_PTR, 0);
	CHECK(z != NULL);
	for (i = 0; i < 100; i++) {
		o[i] = uma_zalloc(z, M_WAITOK);
		CHECK(o[i] != NULL && o[i]->state == UT_MAGIC_CTOR);
	}
	CHECK(ut_nctor == 100 && ut_ndtor == 0);
	CHECK(ut_ninit >= 100 && ut_nfini == 0);
	for (i = 0; i < 100; i++)
		uma_zfree(z, o[i]);
	CHECK(ut_ndtor == 100 && ut_nfini == 0);
	CHECK(uma_zone_get_cur(z) == 0);
	/* A failing ctor: NULL, no dtor, counted as a failure. */
	CHECK(uma_zalloc_arg(z, (void *)1, M_NOWAIT) == NULL);
	CHECK(ut_nctor == 101 && ut_ndtor == 100);
	CHECK(ut_zstats("test ctor").fails == 1);
	CHECK(uma_zone_get_cur(z) == 0);
	CHECK(uma_check() == 0);
	/* Everything back to the keg: one fini per init. */
	uma_zone_reclaim(z, UMA_RECLAIM_DRAIN);
	CHECKF(ut_nfini == ut_ninit, "fini %u init %u", ut_nfini, ut_ninit);
	CHECK(ut_order_bad == 0);
	CHECK(ut_zstats("test ctor").pages == 0);
	uma_zdestroy(z);
}

static void
test_ctor_dtor_init_fini(void)
{
	ut_run(ut_ctor_main, NULL);
}

/* Alignment, multi-page slabs, M_ZERO. */
static void
ut_align_main(void *arg)
{
	static const size_t sizes[] = { 1, 8, 24, 100, 1000, 3000, 5000,
		12000 };
	static const int aligns[] = { 0, UMA_ALIGN_PTR, UMA_ALIGN_CACHE };
	void *it[40];
	uma_zone_t z;
	size_t s, a;
	int i;

	(void)arg;
	for (s = 0; s < nitems(sizes); s++) {
		for (a = 0; a < nitems(aligns); a++) {
			z = uma_zcreate("test align", sizes[s], NULL, NULL,
			    NULL, NULL, aligns[a], 0);
			CHECK(z != NULL);
			for (i = 0; i < 40; i++) {
				it[i] = uma_zalloc(z, M_WAITOK | M_ZERO);
				CHECKF(((uintptr_t)it[i] &
					   (uintptr_t)aligns[a]) == 0,
				    "size %zu align %d: %p", sizes[s],
				    aligns[a], it[i]);
				for (size_t b = 0; b < sizes[s]; b++)
					if (((uint8_t *)it[i])[b] != 0) {
						CHECKF(0, "size %zu not zeroed",
						    sizes[s]);
						break;
					}
				memset(it[i], 0xa5, sizes[s]);
			}
			for (i = 0; i < 40; i++)
				uma_zfree(z, it[i]);
			/* Reused items come back zeroed too. */
			for (i = 0; i < 40; i++) {
				it[i] = uma_zalloc(z, M_WAITOK | M_ZERO);
				CHECK(((uint8_t *)it[i])[sizes[s] - 1] == 0);
			}
			for (i = 0; i < 40; i++)
				uma_zfree(z, it[i]);
			CHECK(uma_check() == 0);
			uma_zdestroy(z);
		}
	}
}

static void
test_align_zero(void)
{
	ut_run(ut_align_main, NULL);
}

/* Storms: a thread per CPU, random allocs and frees, items checked. */
#define UT_STORM_HOLD 200

struct ut_storm {
	uma_zone_t zones[3];
	uint64_t iters;
	uint32_t done;
};

static void
ut_storm_thread(void *arg)
{
	struct ut_storm *st = arg;
	uint64_t *held[UT_STORM_HOLD] = { 0 };
	uint8_t which[UT_STORM_HOLD];
	uint64_t rng = test_seed() + (uint64_t)curcpu * 7919, i, r;
	int k, z;

	for (i = 0; i < st->iters; i++) {
		r = test_rand(&rng);
		k = (int)(r % UT_STORM_HOLD);
		if (held[k] != NULL) {
			CHECK(*held[k] == (uint64_t)(uintptr_t)held[k]);
			uma_zfree(st->zones[which[k]], held[k]);
			held[k] = NULL;
		} else {
			z = (int)((r >> 16) % 3);
			held[k] = uma_zalloc(st->zones[z], M_WAITOK);
			CHECK(held[k] != NULL);
			*held[k] = (uint64_t)(uintptr_t)held[k];
			which[k] = (uint8_t)z;
		}
		if ((i & 1023) == 0)
			maybe_yield();
	}
	for (k = 0; k < UT_STORM_HOLD; k++)
		if (held[k] != NULL)
			uma_zfree(st->zones[which[k]], held[k]);
	(void)atomic_fetchadd_int(&st->done, 1);
}

static void
ut_storm_main(void *arg)
{
	struct ut_storm st = { .iters = vm_test_size(200000, 20000) };
	struct thread *td[MD_MAXCPU];
	uint64_t free0 = vm_page_free_count();
	int cpu, i;

	(void)arg;
	st.zones[0] = uma_zcreate(
	    "storm 16", 16, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	st.zones[1] = uma_zcreate(
	    "storm 600", 600, NULL, NULL, NULL, NULL, UMA_ALIGN_CACHE, 0);
	st.zones[2] = uma_zcreate(
	    "storm 3000", 3000, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		CHECK(kthread_create(ut_storm_thread, &st, cpu,
			  KTHR_BOUND | KTHR_JOINABLE, &td[cpu], "storm%d",
			  cpu) == 0);
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		kthread_join(td[cpu]);
	CHECK(st.done == (uint32_t)md_ncpus());
	CHECKF(uma_check() == 0, "uma_check after the storm");
	for (i = 0; i < 3; i++)
		CHECK(uma_zone_get_cur(st.zones[i]) == 0);
	uma_reclaim(UMA_RECLAIM_DRAIN);
	CHECK(uma_check() == 0);
	for (i = 0; i < 3; i++)
		uma_zdestroy(st.zones[i]);
	CHECK(vm_page_free_count() == free0);
	CHECK(vm_page_check() == 0);
}

static void
test_storm(void)
{
	ut_run(ut_storm_main, NULL);
}

/* Limits. */
struct ut_limit {
	uma_zone_t zone;
	void *item;
	uint32_t got;
};

static void
ut_limit_waiter(void *arg)
{
	struct ut_limit *ul = arg;

	ul->item = uma_zalloc(ul->zone, M_WAITOK);
	atomic_store_rel_int(&ul->got, 1);
}

static void
ut_limit_main(void *arg)
{
	struct ut_limit ul = { 0 };
	struct thread *td;
	void *it[4];
	int i;

	(void)arg;
	ul.zone = uma_zcreate(
	    "test limit", 64, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	CHECK(uma_zone_set_max(ul.zone, 4) == 4);
	for (i = 0; i < 4; i++)
		CHECK((it[i] = uma_zalloc(ul.zone, M_NOWAIT)) != NULL);
	CHECK(uma_zalloc(ul.zone, M_NOWAIT) == NULL);
	CHECK(ut_zstats("test limit").fails == 1);
	CHECK(ut_zstats("test limit").limit == 4);
	CHECK(kthread_create(ut_limit_waiter, &ul, (curcpu + 1) % md_ncpus(),
		  KTHR_BOUND | KTHR_JOINABLE, &td, "limitwait") == 0);
	/* Until the waiter sleeps on the limit. */
	while (ut_zstats("test limit").sleeps == 0)
		kthread_yield();
	CHECK(atomic_load_acq_int(&ul.got) == 0);
	uma_zfree(ul.zone, it[0]);
	kthread_join(td);
	CHECK(ul.got == 1 && ul.item != NULL);
	CHECK(uma_zone_get_cur(ul.zone) == 4);
	CHECK(uma_check() == 0);
	uma_zfree(ul.zone, ul.item);
	for (i = 1; i < 4; i++)
		uma_zfree(ul.zone, it[i]);
	CHECK(uma_zone_get_cur(ul.zone) == 0);
	CHECK(uma_check() == 0);
	uma_zdestroy(ul.zone);
}

static void
test_limit(void)
{
	ut_run(ut_limit_main, NULL);
}

/* Bursts: pages per burst follow uma.grow_pages. */
static void
ut_burst_main(void *arg)
{
	uint64_t want = (uint64_t)(uintptr_t)arg, b0, p0, free0;
	uma_zone_t z;
	void *it;

	free0 = vm_page_free_count();
	b0 = ut_stat("uma.stats.grow_bursts");
	p0 = ut_stat("uma.stats.grow_pages");
	z = uma_zcreate(
	    "test burst", 128, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	it = uma_zalloc(z, M_WAITOK);
	CHECK(ut_stat("uma.stats.grow_bursts") - b0 == 1);
	CHECKF(ut_stat("uma.stats.grow_pages") - p0 == want,
	    "burst of %llu pages, want %llu",
	    (unsigned long long)(ut_stat("uma.stats.grow_pages") - p0),
	    (unsigned long long)want);
	CHECK(ut_zstats("test burst").pages == want);
	CHECK(vm_page_free_count() == free0 - want);
	uma_zfree(z, it);
	uma_zdestroy(z);
	CHECK(vm_page_free_count() == free0);
}

static void
test_burst_size(void)
{
	static const char *const tun4[] = { "vm.pageout.enable=0",
		"vm.pgcache.enable=0", "uma.grow_pages=4", NULL };
	static const char *const tun32[] = { "vm.pageout.enable=0",
		"vm.pgcache.enable=0", "uma.grow_pages=32", NULL };

	ut_boot(tun4);
	test_run(ut_burst_main, (void *)4);
	test_shutdown();
	ut_boot(tun32);
	test_run(ut_burst_main, (void *)32);
	test_shutdown();
}

/*
 * The reserve rule.  The free count is brought to the NORMAL floor + 2;
 * a burst with M_USE_RESERVE takes its first 4 pages below it (SYSTEM
 * class) and stops; without, it takes the 2 pages down to the floor.
 */
struct ut_hog {
	struct vm_page **ma;
	uint64_t n;
};

/* Allocates pages until the free count is `target'. */
static void
ut_hog_to(struct ut_hog *h, uint64_t target)
{
	struct vm_page *m;

	while (vm_page_free_count() > target) {
		m = vm_page_alloc_noobj(VM_ALLOC_INTERRUPT);
		if (m == NULL)
			break;
		h->ma[h->n++] = m;
	}
}

static void
ut_hog_release(struct ut_hog *h)
{
	while (h->n > 0)
		vm_page_free(h->ma[--h->n]);
}

static void
ut_reserve_main(void *arg)
{
	struct vm_domain *vmd = VM_DOMAIN(0);
	uint64_t floor = vmd->vmd_free_reserved, p0, s0;
	struct ut_hog h = { 0 };
	uma_zone_t z;
	void *it;

	(void)arg;
	h.ma = md_malloc(sizeof(*h.ma) * vm_page_count_total());
	z = uma_zcreate(
	    "test reserve", 256, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	ut_hog_to(&h, floor + 2);
	CHECK(vm_page_free_count() == floor + 2);
	p0 = ut_stat("uma.stats.grow_pages");
	s0 = ut_stat("uma.stats.grow_short");
	it = uma_zalloc(z, M_NOWAIT | M_USE_RESERVE);
	CHECK(it != NULL);
	CHECKF(ut_stat("uma.stats.grow_pages") - p0 == 4,
	    "reserve burst took %llu pages",
	    (unsigned long long)(ut_stat("uma.stats.grow_pages") - p0));
	CHECK(ut_stat("uma.stats.grow_short") - s0 == 1);
	CHECKF(vm_page_free_count() == floor - 2, "free %llu floor %llu",
	    (unsigned long long)vm_page_free_count(),
	    (unsigned long long)floor);
	uma_zfree(z, it);
	uma_zone_reclaim(z, UMA_RECLAIM_DRAIN);
	CHECK(vm_page_free_count() == floor + 2);

	/* Without M_USE_RESERVE: never below the floor. */
	p0 = ut_stat("uma.stats.grow_pages");
	it = uma_zalloc(z, M_NOWAIT);
	CHECK(it != NULL);
	CHECK(ut_stat("uma.stats.grow_pages") - p0 == 2);
	CHECK(vm_page_free_count() == floor);
	/* At the floor a normal burst gets nothing once the keg is empty. */
	uma_zfree(z, it);
	uma_zone_reclaim(z, UMA_RECLAIM_DRAIN);
	ut_hog_to(&h, floor);
	CHECK(uma_zalloc(z, M_NOWAIT) == NULL);
	CHECK(vm_page_free_count() == floor);
	CHECK(uma_check() == 0);
	uma_zdestroy(z);
	ut_hog_release(&h);
	md_free(h.ma);
}

static void
test_burst_reserve(void)
{
	ut_run(ut_reserve_main, NULL);
}

/* Reclaim and destruction give the pages back. */
static void
ut_reclaim_main(void *arg)
{
	uint64_t free0 = vm_page_free_count(), r0;
	void **it;
	uma_zone_t z, nf;
	int i, n = 5000;

	(void)arg;
	it = md_malloc(sizeof(void *) * (size_t)n);
	z = uma_zcreate(
	    "test reclaim", 200, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	for (i = 0; i < n; i++)
		it[i] = uma_zalloc(z, M_WAITOK);
	CHECK(vm_page_free_count() < free0);
	CHECK(ut_zstats("test reclaim").used == (uint64_t)n);
	for (i = 0; i < n; i++)
		uma_zfree(z, it[i]);
	CHECK(ut_zstats("test reclaim").used == 0);
	CHECK(ut_zstats("test reclaim").free > 0);
	/* The first trim sees the whole cache as the working set... */
	r0 = ut_stat("uma.stats.reclaims");
	uma_reclaim(UMA_RECLAIM_TRIM);
	CHECK(ut_stat("uma.stats.reclaims") == r0 + 1);
	/* ...the second frees what nobody used in between. */
	uma_reclaim(UMA_RECLAIM_TRIM);
	CHECKF(ut_zstats("test reclaim").pages <= 4, "%llu pages after trim",
	    (unsigned long long)ut_zstats("test reclaim").pages);
	CHECK(uma_check() == 0);
	uma_reclaim(UMA_RECLAIM_DRAIN);
	CHECK(ut_zstats("test reclaim").pages == 0);
	CHECK(ut_zstats("test reclaim").free == 0);
	CHECK(vm_page_free_count() == free0);
	CHECK(uma_check() == 0);

	/* NOFREE keeps its slabs; destruction frees them. */
	nf = uma_zcreate("test nofree", 200, NULL, NULL, NULL, NULL,
	    UMA_ALIGN_PTR, UMA_ZONE_NOFREE);
	for (i = 0; i < n; i++)
		it[i] = uma_zalloc(nf, M_WAITOK);
	for (i = 0; i < n; i++)
		uma_zfree(nf, it[i]);
	uma_reclaim(UMA_RECLAIM_DRAIN);
	CHECK(ut_zstats("test nofree").pages > 0);
	CHECK(uma_check() == 0);
	uma_zdestroy(nf);
	/* Destruction with items in every cache. */
	for (i = 0; i < n; i++)
		it[i] = uma_zalloc(z, M_WAITOK);
	for (i = 0; i < n; i++)
		uma_zfree(z, it[i]);
	uma_zdestroy(z);
	CHECK(vm_page_free_count() == free0);
	CHECK(vm_page_check() == 0);
	md_free(it);
}

static void
test_reclaim_destroy(void)
{
	ut_run(ut_reclaim_main, NULL);
}

/* No page left: M_NOWAIT fails, nothing leaks. */
static void
ut_nomem_main(void *arg)
{
	uint64_t free0 = vm_page_free_count();
	struct ut_hog h = { 0 };
	uma_zone_t z, big;

	(void)arg;
	h.ma = md_malloc(sizeof(*h.ma) * vm_page_count_total());
	z = uma_zcreate(
	    "test nomem", 32, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	big = uma_zcreate(
	    "test nomem big", 5000, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	ut_hog_to(&h, 0);
	CHECK(vm_page_free_count() == 0);
	CHECK(uma_zalloc(z, M_NOWAIT) == NULL);
	CHECK(uma_zalloc(z, M_NOWAIT | M_USE_RESERVE) == NULL);
	CHECK(uma_zalloc(big, M_NOWAIT) == NULL);
	CHECK(ut_zstats("test nomem").fails == 2);
	CHECK(ut_zstats("test nomem").pages == 0);
	CHECK(ut_zstats("test nomem").used == 0);
	CHECK(uma_check() == 0);
	ut_hog_release(&h);
	uma_zdestroy(z);
	uma_zdestroy(big);
	CHECK(vm_page_free_count() == free0);
	md_free(h.ma);
}

static void
test_nomem(void)
{
	ut_run(ut_nomem_main, NULL);
}

#ifdef VM_INVARIANTS
/* Planted bugs. */
static uint32_t ut_dup, ut_uaf, ut_notitem;

static void
ut_hook(uma_zone_t zone, void *item, const char *what)
{
	(void)zone;
	(void)item;
	if (strcmp(what, "duplicate free") == 0)
		ut_dup++;
	else if (strcmp(what, "use after free") == 0)
		ut_uaf++;
	else if (strcmp(what, "not an item") == 0)
		ut_notitem++;
	else
		CHECKF(0, "unknown detection %s", what);
}

static void
ut_dbg_main(void *arg)
{
	uma_zone_t z, other;
	uint64_t local;
	uint8_t *p, *q, *o, *held[300];
	int n;

	(void)arg;
	uma_dbg_hook = ut_hook;
	z = uma_zcreate(
	    "test dbg", 48, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	other = uma_zcreate(
	    "test dbg other", 48, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	/* Duplicate free. */
	p = uma_zalloc(z, M_WAITOK);
	uma_zfree(z, p);
	uma_zfree(z, p);
	CHECK(ut_dup == 1 && ut_uaf == 0 && ut_notitem == 0);
	/* Write after free, caught by the next allocation of the item. */
	p[5] = 0x42;
	for (n = 0; n < 300; n++) {
		held[n] = q = uma_zalloc(z, M_WAITOK);
		if (q == p)
			break;
	}
	CHECK(q == p);
	CHECK(ut_uaf == 1);
	while (n-- > 0)
		uma_zfree(z, held[n]);
	/* Not an item: inside one, of another zone, not in the arena. */
	uma_zfree(z, q + 1);
	o = uma_zalloc(other, M_WAITOK);
	uma_zfree(z, o);
	uma_zfree(z, &local);
	CHECK(ut_notitem == 3);
	uma_zfree(other, o);
	uma_zfree(z, q);
	CHECK(ut_dup == 1 && ut_uaf == 1 && ut_notitem == 3);
	CHECK(uma_zone_get_cur(z) == 0 && uma_zone_get_cur(other) == 0);
	CHECK(uma_check() == 0);
	uma_dbg_hook = NULL;
	uma_zdestroy(z);
	uma_zdestroy(other);
}
#endif

static void
test_debug_detections(void)
{
#ifdef VM_INVARIANTS
	ut_run(ut_dbg_main, NULL);
#else
	printf("test_debug_detections: skipped (release build: no "
	       "VM_INVARIANTS)\n");
#endif
}

static const struct test_case cases[] = {
	TEST_CASE(test_ctor_dtor_init_fini),
	TEST_CASE(test_align_zero),
	TEST_CASE(test_storm),
	TEST_CASE(test_limit),
	TEST_CASE(test_burst_size),
	TEST_CASE(test_burst_reserve),
	TEST_CASE(test_reclaim_destroy),
	TEST_CASE(test_nomem),
	TEST_CASE(test_debug_detections),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
