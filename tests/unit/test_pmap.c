/*
 * test_pmap.c: the software MMU (src/pmap), each case under all six
 * combinations of vm.pmap.pv_lock x vm.pmap.pv_chunk_lru, with the page
 * daemon off (nothing here is pageable behind the test's back) and
 * pmap_check() after every step:
 *	- enter / extract / protect / remove on a user and the kernel pmap;
 *	- remove_all of a page mapped by three pmaps;
 *	- ts_referenced / is_modified / clear_modify / remove_write driven
 *	  by pmap_tlb_fill() accesses, and user access refused without PG_U;
 *	- promotion of 512 pages of a reservation, demotion by partial
 *	  remove and protect, 2 MiB prefault by pmap_enter_object();
 *	- remove_pages (exit) keeps wired mappings;
 *	- pv chunk reclaim from another pmap when no page is left;
 *	- shootdown across CPUs (a bound watcher's TLB entry is gone when
 *	  remove returns), and with the planted no-wait bug the stale entry
 *	  is seen;
 *	- the checker catches a PTE cleared behind the pv list and a bogus
 *	  pv entry.
 */
#include "kern/thread.h"
#include "pmap/pmap.h"
#include "pmap/pmap_int.h"
#include "vm/vm_object.h"
#include "vm/vm_reserv.h"
#include "vm_test.h"

#include <stdio.h>
#include <string.h>

#define PT_MEM (64ull << 20)
#define PT_UVA ((vm_offset_t)0x40000000)
#define PT_KVA (VM_MIN_KERNEL_ADDRESS + ((vm_offset_t)1 << 32))

static const char *pt_cfg = ""; /* the combination running */

static void
pt_check(pmap_t pm, int line)
{
	int nerr = pmap_check(pm);

	CHECKF(nerr == 0, "line %d (%s): pmap_check: %d violations", line,
	    pt_cfg, nerr);
}
#define PT_CHECK(pm) pt_check((pm), __LINE__)

/*
 * Boots each combination and runs fn in a kernel thread: every pv lock
 * policy, with the global LRU unbatched and the per-domain LRU batched.
 */
static void
pt_each(void (*fn)(void *), int ncpus, uint64_t mem)
{
	static const char *const locks[] = { "global", "hashed", "superpage",
		"page" };
	static const char *const lrus[] = { "global", "domain" };
	char lk[64], lr[64], bt[64], cfg[128];
	const char *tun[6];
	int i, j;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 2; j++) {
			snprintf(
			    lk, sizeof(lk), "vm.pmap.pv_lock=%s", locks[i]);
			snprintf(
			    lr, sizeof(lr), "vm.pmap.pv_chunk_lru=%s", lrus[j]);
			snprintf(bt, sizeof(bt), "vm.pmap.pv_batch=%d", j);
			snprintf(cfg, sizeof(cfg), "pv_lock=%s lru=%s batch=%d",
			    locks[i], lrus[j], j);
			pt_cfg = cfg;
			tun[0] = lk;
			tun[1] = lr;
			tun[2] = bt;
			tun[3] = "vm.pageout.enable=0";
			tun[4] = "vm.reserv.enable=1";
			tun[5] = NULL;
			vm_test_boot(ncpus, 2, mem, tun);
			test_run(fn, NULL);
			test_shutdown();
		}
	}
}

/* n valid pages of a new object of `type', pindex 0 .. n - 1. */
static struct vm_object *
pt_obj(int type, int n, struct vm_page **pages)
{
	struct vm_object *obj = vm_object_allocate(type, (vm_pindex_t)n);
	int i, error;

	vm_object_lock(obj);
	for (i = 0; i < n; i++) {
		pages[i] = vm_page_alloc_obj(obj, (vm_pindex_t)i, &error);
		CHECKF(pages[i] != NULL, "page %d: error %d", i, error);
		pages[i]->valid = VM_PAGE_BITS_ALL;
		vm_page_xunbusy(pages[i]);
	}
	vm_object_unlock(obj);
	return (obj);
}

static pmap_t
pt_pmap(void)
{
	pmap_t pm = md_calloc(1, sizeof(*pm));

	CHECK(pm != NULL && pmap_pinit(pm) == 0);
	return (pm);
}

static void
pt_pmap_free(pmap_t pm)
{
	pmap_remove(pm, VM_MIN_USER_ADDRESS, VM_MAX_USER_ADDRESS);
	PT_CHECK(pm);
	CHECK(pm->pm_stats.resident_count == 0 && pm->pm_ptpages == 1);
	pmap_release(pm);
	md_free(pm);
}

static pt_entry_t
pt_leaf(pmap_t pm, vm_offset_t va)
{
	pt_entry_t *p, e;

	PMAP_LOCK(pm);
	p = pmap_leaf(pm, va);
	e = p != NULL ? *p : 0;
	PMAP_UNLOCK(pm);
	return (e);
}

/* Whether this CPU's TLB holds a 4 KiB entry for va (no IPI poll). */
static bool
pt_tlb_holds(vm_offset_t va)
{
	struct pmap_tlb *t = pmap_tlb_of(md_curcpu());
	uint64_t slot =
	    va >= VM_MIN_KERNEL_ADDRESS ? PMAP_TLB_KSLOT : t->tlb_cur;

	return (t->tlb_4k[(va >> PAGE_SHIFT) & (PMAP_TLB_N4K - 1)].te_key ==
	    ((va >> PAGE_SHIFT) << PMAP_TLB_SLOTBITS | slot));
}

static void
pt_basic_fn(void *arg)
{
	struct vm_page *pages[64], *m, *km;
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, 64, pages);
	pmap_t pm = pt_pmap();
	vm_offset_t va;
	uint8_t *h;
	int i;

	(void)arg;
	for (i = 0; i < 64; i++) {
		CHECK(pmap_is_prefaultable(pm, PT_UVA + ptoa(i)));
		CHECK(pmap_enter(pm, PT_UVA + ptoa(i), pages[i], VM_PROT_RW, 0,
			  0) == 0);
		CHECK(pmap_page_is_mapped(pages[i]));
	}
	PT_CHECK(pm);
	CHECK(vm_test_stat("vm.pmap.pv_entries") == 64);
	CHECK(vm_test_stat("vm.pmap.pv_chunks") == 1);
	CHECK(pm->pm_stats.resident_count == 64);
	for (i = 0; i < 64; i++) {
		CHECK(pmap_extract(pm, PT_UVA + ptoa(i) + 5) ==
		    pages[i]->phys_addr + 5);
		CHECK(pmap_check_page(pages[i]) == 0);
	}
	m = pmap_extract_and_hold(pm, PT_UVA, VM_PROT_WRITE);
	CHECK(m == pages[0] && m->wire_count == 1);
	vm_page_unwire(m);
	/* Write through the TLB, read back through the direct map. */
	h = pmap_tlb_fill(pm, PT_UVA + 3 * PAGE_SIZE + 8, VM_PROT_WRITE);
	CHECK(h == vm_page_dmap(pages[3]) + 8);
	CHECK(pmap_tlb_lookup(PT_UVA + 3 * PAGE_SIZE + 8, VM_PROT_WRITE) == h);
	/* Read-only for the second half: writes refused, dirty moved. */
	pmap_protect(pm, PT_UVA + ptoa(32), PT_UVA + ptoa(64), VM_PROT_READ);
	PT_CHECK(pm);
	CHECK(pmap_tlb_fill(pm, PT_UVA + ptoa(40), VM_PROT_WRITE) == NULL);
	CHECK(pmap_tlb_fill(pm, PT_UVA + ptoa(40), VM_PROT_READ) != NULL);
	CHECK(pmap_extract_and_hold(pm, PT_UVA + ptoa(40), VM_PROT_WRITE) ==
	    NULL);
	pmap_remove(pm, PT_UVA, PT_UVA + ptoa(16));
	PT_CHECK(pm);
	CHECK(pmap_extract(pm, PT_UVA) == 0 && !pmap_page_is_mapped(pages[0]));
	CHECK(pages[3]->dirty == VM_PAGE_BITS_ALL);
	CHECK(pmap_tlb_lookup(PT_UVA + 3 * PAGE_SIZE, VM_PROT_READ) == NULL);
	CHECK(vm_test_stat("vm.pmap.pv_entries") == 48);
	/* The kernel pmap: unmanaged, global. */
	km = vm_page_alloc_noobj(VM_ALLOC_NORMAL);
	CHECK(km != NULL);
	CHECK(pmap_enter(kernel_pmap, PT_KVA, km, VM_PROT_RW, 0, 0) == 0);
	PT_CHECK(kernel_pmap);
	CHECK((pt_leaf(kernel_pmap, PT_KVA) & (PG_G | PG_U | PG_MANAGED)) ==
	    PG_G);
	CHECK(pmap_kextract_dmap(PT_KVA + 9) == vm_page_dmap(km) + 9);
	CHECK(pmap_tlb_fill(NULL, PT_KVA, VM_PROT_READ) == vm_page_dmap(km));
	CHECK(
	    pmap_tlb_lookup(PT_KVA + 1, VM_PROT_READ) == vm_page_dmap(km) + 1);
	pmap_remove(kernel_pmap, PT_KVA, PT_KVA + PAGE_SIZE);
	CHECK(pmap_tlb_lookup(PT_KVA, VM_PROT_READ) == NULL);
	CHECK(pmap_kextract_dmap(PT_KVA) == NULL);
	PT_CHECK(kernel_pmap);
	CHECK(kernel_pmap->pm_ptpages == 1);
	vm_page_free(km);
	va = PT_UVA + ptoa(16);
	CHECK(pmap_extract(pm, va) == pages[16]->phys_addr);
	pt_pmap_free(pm);
	CHECK(vm_test_stat("vm.pmap.pv_entries") == 0);
	CHECK(vm_test_stat("vm.pmap.pv_chunks") == 0);
	vm_object_deallocate(obj);
}

static void
test_pmap_basic(void)
{
	pt_each(pt_basic_fn, 2, PT_MEM);
}

static void
pt_remove_all_fn(void *arg)
{
	struct vm_page *pages[16];
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, 16, pages);
	pmap_t pm[3];
	int i, k;

	(void)arg;
	for (k = 0; k < 3; k++) {
		pm[k] = pt_pmap();
		for (i = 0; i < 16; i++)
			CHECK(pmap_enter(pm[k], PT_UVA + ptoa(i + 100 * k),
				  pages[i], k == 1 ? VM_PROT_READ : VM_PROT_RW,
				  VM_PROT_WRITE, 0) == 0);
	}
	for (i = 0; i < 16; i++) {
		CHECK(pmap_check_page(pages[i]) == 0);
		CHECK(pmap_is_modified(pages[i]));
		pmap_remove_all(pages[i]);
		CHECK(!pmap_page_is_mapped(pages[i]));
		CHECK(pages[i]->dirty == VM_PAGE_BITS_ALL);
		for (k = 0; k < 3; k++) {
			PT_CHECK(pm[k]);
			CHECK(pmap_extract(pm[k], PT_UVA + ptoa(i + 100 * k)) ==
			    0);
		}
	}
	for (k = 0; k < 3; k++) {
		CHECK(pm[k]->pm_stats.resident_count == 0);
		pt_pmap_free(pm[k]);
	}
	vm_object_deallocate(obj);
}

static void
test_pmap_remove_all(void)
{
	pt_each(pt_remove_all_fn, 2, PT_MEM);
}

static void
pt_refmod_fn(void *arg)
{
	struct vm_page *pages[2], *m;
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, 2, pages);
	pmap_t pm = pt_pmap();
	pt_entry_t *p;

	(void)arg;
	m = pages[0];
	CHECK(pmap_enter(pm, PT_UVA, m, VM_PROT_RW, 0, 0) == 0);
	CHECK(pmap_ts_referenced(m) == 0 && !pmap_is_modified(m));
	CHECK(pmap_tlb_fill(pm, PT_UVA, VM_PROT_READ) == vm_page_dmap(m));
	CHECK((pt_leaf(pm, PT_UVA) & (PG_A | PG_M)) == PG_A);
	/* A read fill does not allow writes: the dirty bit is not set. */
	CHECK(pmap_tlb_lookup(PT_UVA, VM_PROT_WRITE) == NULL);
	CHECK(pmap_ts_referenced(m) == 1);
	CHECK(pmap_ts_referenced(m) == 0);
	CHECK(pmap_tlb_lookup(PT_UVA, VM_PROT_READ) == NULL);
	CHECK(pmap_tlb_fill(pm, PT_UVA, VM_PROT_WRITE) == vm_page_dmap(m));
	CHECK(pmap_is_modified(m));
	CHECK(pmap_tlb_lookup(PT_UVA, VM_PROT_WRITE) == vm_page_dmap(m));
	pmap_clear_modify(m);
	CHECK(!pmap_is_modified(m) && m->dirty == 0);
	CHECK(pmap_tlb_lookup(PT_UVA, VM_PROT_WRITE) == NULL);
	CHECK(pmap_tlb_fill(pm, PT_UVA, VM_PROT_WRITE) != NULL);
	pmap_remove_write(m);
	CHECK(m->dirty == VM_PAGE_BITS_ALL && !pmap_is_modified(m));
	CHECK(pmap_tlb_fill(pm, PT_UVA, VM_PROT_WRITE) == NULL);
	CHECK(pmap_tlb_fill(pm, PT_UVA, VM_PROT_READ) != NULL);
	PT_CHECK(pm);
	/* A user access to an entry without PG_U is refused. */
	CHECK(pmap_enter(pm, PT_UVA + PAGE_SIZE, pages[1], VM_PROT_RW, 0, 0) ==
	    0);
	PMAP_LOCK(pm);
	p = pmap_leaf(pm, PT_UVA + PAGE_SIZE);
	*p &= ~PG_U;
	PMAP_UNLOCK(pm);
	CHECK(pmap_tlb_fill(pm, PT_UVA + PAGE_SIZE, VM_PROT_READ) == NULL);
	PMAP_LOCK(pm);
	*p |= PG_U;
	PMAP_UNLOCK(pm);
	CHECK(pmap_tlb_fill(pm, PT_UVA + PAGE_SIZE, VM_PROT_READ) != NULL);
	pt_pmap_free(pm);
	vm_object_deallocate(obj);
}

static void
test_pmap_refmod(void)
{
	pt_each(pt_refmod_fn, 2, PT_MEM);
}

static void
pt_promote_fn(void *arg)
{
	struct vm_page **pages = calloc(NPTEPG, sizeof(*pages));
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, NPTEPG, pages);
	pmap_t pm = pt_pmap(), pm2;
	uint64_t pro = vm_test_stat("vm.pmap.promotions");
	uint64_t dem = vm_test_stat("vm.pmap.demotions");
	int i;

	(void)arg;
	CHECK(vm_reserv_level_iffullpop(pages[0]) == 0);
	CHECK((pages[0]->phys_addr & PDRMASK) == 0);
	for (i = 0; i < NPTEPG; i++) {
		CHECK(pmap_enter(pm, PT_UVA + ptoa(i), pages[i], VM_PROT_RW, 0,
			  0) == 0);
		CHECK((pt_leaf(pm, PT_UVA) & PG_PS) ==
		    (i == NPTEPG - 1 ? PG_PS : 0));
	}
	PT_CHECK(pm);
	CHECK(vm_test_stat("vm.pmap.promotions") == pro + 1);
	CHECK(pmap_check_page(pages[0]) == 0 && pmap_page_is_mapped(pages[9]));
	CHECK(pmap_tlb_fill(pm, PT_UVA + ptoa(5), VM_PROT_WRITE) ==
	    vm_page_dmap(pages[5]));
	CHECK(pmap_tlb_lookup(PT_UVA + ptoa(7) + 3, VM_PROT_WRITE) ==
	    vm_page_dmap(pages[7]) + 3);
	/* Partial remove demotes; re-entering promotes again. */
	pmap_remove(pm, PT_UVA + ptoa(3), PT_UVA + ptoa(4));
	CHECK(vm_test_stat("vm.pmap.demotions") == dem + 1);
	PT_CHECK(pm);
	CHECK(pmap_extract(pm, PT_UVA + ptoa(3)) == 0);
	CHECK(pmap_extract(pm, PT_UVA + ptoa(4)) == pages[4]->phys_addr);
	/* The demoted PTEs carry the 2 MiB leaf's accessed and dirty bits. */
	CHECK(pmap_enter(pm, PT_UVA + ptoa(3), pages[3], VM_PROT_RW,
		  VM_PROT_WRITE, 0) == 0);
	PT_CHECK(pm);
	CHECK(vm_test_stat("vm.pmap.promotions") == pro + 2);
	pmap_protect(pm, PT_UVA + ptoa(256), PT_UVA + ptoa(300), VM_PROT_READ);
	CHECK(vm_test_stat("vm.pmap.demotions") == dem + 2);
	PT_CHECK(pm);
	CHECK(pmap_tlb_fill(pm, PT_UVA + ptoa(260), VM_PROT_WRITE) == NULL);
	CHECK(pmap_tlb_fill(pm, PT_UVA + ptoa(200), VM_PROT_WRITE) != NULL);
	pmap_remove(pm, PT_UVA, PT_UVA + NBPDR);
	PT_CHECK(pm);
	CHECK(pages[5]->dirty == VM_PAGE_BITS_ALL);
	/* Prefault: one 2 MiB mapping of the fully populated run. */
	pm2 = pt_pmap();
	vm_object_rlock(obj);
	pmap_enter_object(pm2, PT_UVA, PT_UVA + NBPDR, obj, 0, VM_PROT_READ);
	vm_object_runlock(obj);
	CHECK((pt_leaf(pm2, PT_UVA + ptoa(77)) & PG_PS) != 0);
	CHECK(pm2->pm_stats.resident_count == NPTEPG);
	PT_CHECK(pm2);
	CHECK(pmap_check_page(pages[0]) == 0);
	/* remove_write and ts_referenced of a page inside it. */
	CHECK(pmap_tlb_fill(pm2, PT_UVA + ptoa(77), VM_PROT_READ) != NULL);
	CHECK(pmap_ts_referenced(pages[77]) >= 1);
	pmap_remove_all(pages[78]);
	PT_CHECK(pm2);
	CHECK(pmap_extract(pm2, PT_UVA + ptoa(78)) == 0 &&
	    pmap_extract(pm2, PT_UVA + ptoa(79)) == pages[79]->phys_addr);
	pt_pmap_free(pm2);
	/* psind 1 directly, over a PT and over another 2 MiB mapping. */
	pm2 = pt_pmap();
	CHECK(pmap_enter(pm2, PT_UVA, pages[0], VM_PROT_RW, 0, 1) == 0);
	PT_CHECK(pm2);
	CHECK(pmap_enter(pm2, PT_UVA + ptoa(1), pages[9], VM_PROT_READ, 0, 0) ==
	    0);
	CHECK(vm_test_stat("vm.pmap.demotions") == dem + 4);
	PT_CHECK(pm2);
	CHECK(pmap_extract(pm2, PT_UVA + ptoa(1)) == pages[9]->phys_addr);
	CHECK(pmap_enter(pm2, PT_UVA, pages[0], VM_PROT_READ, 0, 1) == 0);
	PT_CHECK(pm2);
	CHECK(pmap_extract(pm2, PT_UVA + ptoa(1)) == pages[1]->phys_addr);
	CHECK(
	    pmap_enter(pm2, PT_UVA + NBPDR, pages[0], VM_PROT_READ, 0, 1) == 0);
	CHECK(pmap_enter(
		  pm2, PT_UVA, pages[0], VM_PROT_RW, PMAP_ENTER_WIRED, 1) == 0);
	CHECK(pm2->pm_stats.wired_count == NPTEPG);
	PT_CHECK(pm2);
	pmap_unwire(pm2, PT_UVA, PT_UVA + NBPDR);
	pt_pmap_free(pm2);
	pt_pmap_free(pm);
	vm_object_deallocate(obj);
	free(pages);
}

static void
test_pmap_promote(void)
{
	pt_each(pt_promote_fn, 2, PT_MEM);
}

static void
pt_remove_pages_fn(void *arg)
{
	struct vm_page **pages = calloc(1000, sizeof(*pages));
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, 1000, pages);
	pmap_t pm = pt_pmap();
	uint64_t ff = vm_test_stat("vm.pmap.full_flushes");
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++)
		CHECK(pmap_enter(pm, PT_UVA + ptoa(3 * i), pages[i], VM_PROT_RW,
			  i == 500 ? PMAP_ENTER_WIRED : 0, 0) == 0);
	PT_CHECK(pm);
	CHECK(vm_test_stat("vm.pmap.pv_chunks") == howmany(1000, PV_NPCPV));
	pmap_remove_pages(pm);
	PT_CHECK(pm);
	CHECK(
	    pm->pm_stats.resident_count == 1 && pm->pm_stats.wired_count == 1);
	CHECK(vm_test_stat("vm.pmap.full_flushes") == ff + 1);
	CHECK(vm_test_stat("vm.pmap.pv_chunks") == 1);
	pmap_unwire(pm, PT_UVA, PT_UVA + ptoa(3000));
	CHECK(pm->pm_stats.wired_count == 0);
	pt_pmap_free(pm);
	vm_object_deallocate(obj);
	free(pages);
}

static void
test_pmap_remove_pages(void)
{
	pt_each(pt_remove_pages_fn, 2, PT_MEM);
}

/* Exhausts the normal class; returns the pages taken. */
static int
pt_hoard(struct vm_page **hoard, int max)
{
	int n = 0;

	while (n < max &&
	    (hoard[n] = vm_page_alloc_noobj(VM_ALLOC_NORMAL)) != NULL)
		n++;
	return (n);
}

static void
pt_reclaim_fn(void *arg)
{
	int nmax = (int)atop(PT_MEM), n, i;
	struct vm_page **hoard = calloc((size_t)nmax, sizeof(*hoard));
	struct vm_page *pages[2 * PV_NPCPV + 1];
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, 2 * PV_NPCPV + 1, pages);
	pmap_t a = pt_pmap(), b = pt_pmap();
	uint64_t chunks;

	(void)arg;
	for (i = 0; i < 2 * PV_NPCPV; i++)
		CHECK(pmap_enter(a, PT_UVA + ptoa(i), pages[i], VM_PROT_READ, 0,
			  0) == 0);
	/* B's tables now, while there are pages. */
	CHECK(pmap_enter(b, PT_UVA, pages[2 * PV_NPCPV], VM_PROT_READ,
		  PMAP_ENTER_WIRED, 0) == 0);
	pmap_remove(b, PT_UVA, PT_UVA + PAGE_SIZE);
	CHECK(pmap_enter(b, PT_UVA, pages[2 * PV_NPCPV], VM_PROT_READ, 0, 0) ==
	    0);
	chunks = vm_test_stat("vm.pmap.pv_chunks");
	n = pt_hoard(hoard, nmax);
	CHECK(n > 0);
	/* B needs a new chunk (its own is used by one entry: fill it). */
	for (i = 1; i < PV_NPCPV; i++)
		CHECK(pmap_enter(b, PT_UVA + ptoa(i), pages[i], VM_PROT_READ,
			  PMAP_ENTER_NOSLEEP, 0) == 0);
	CHECK(pmap_enter(b, PT_UVA + ptoa(PV_NPCPV), pages[PV_NPCPV],
		  VM_PROT_READ, PMAP_ENTER_NOSLEEP, 0) == 0);
	CHECKF(a->pm_stats.resident_count == PV_NPCPV, "A keeps %llu mappings",
	    (unsigned long long)a->pm_stats.resident_count);
	CHECK(vm_test_stat("vm.pmap.pv_chunks") == chunks);
	PT_CHECK(a);
	PT_CHECK(b);
	for (i = 0; i < n; i++)
		vm_page_free(hoard[i]);
	pt_pmap_free(a);
	pt_pmap_free(b);
	vm_object_deallocate(obj);
	free(hoard);
}

static void
test_pmap_reclaim(void)
{
	pt_each(pt_reclaim_fn, 2, PT_MEM);
}

/* The shootdown: a watcher bound to one CPU, the remover to another. */
struct pt_sd {
	pmap_t sd_pm;
	uint32_t sd_ready, sd_removed, sd_done;
	bool sd_polling; /* the watcher polls while it waits */
	bool sd_held;	 /* the watcher's TLB held va after the remove */
	bool sd_miss;	 /* and its lookup missed after polling */
};

static void
pt_watcher(void *arg)
{
	struct pt_sd *sd = arg;
	int i;

	CHECK(pmap_tlb_fill(sd->sd_pm, PT_UVA, VM_PROT_READ) != NULL);
	CHECK(pmap_tlb_lookup(PT_UVA, VM_PROT_READ) != NULL);
	atomic_store_rel_int(&sd->sd_ready, 1);
	if (sd->sd_polling) {
		while (atomic_load_acq_int(&sd->sd_removed) == 0)
			md_spin_wait(&sd->sd_removed);
	} else {
		/* No IPI poll: only an unwaited shootdown lets us out. */
		while (atomic_load_acq_int(&sd->sd_removed) == 0)
			md_cpu_relax();
	}
	sd->sd_held = pt_tlb_holds(PT_UVA);
	/* The IPI may still be in flight (sim): poll until it lands. */
	for (i = 0; i < 1000 && pmap_tlb_lookup(PT_UVA, VM_PROT_READ) != NULL;
	     i++)
		md_spin_delay(100);
	sd->sd_miss = pmap_tlb_lookup(PT_UVA, VM_PROT_READ) == NULL;
	atomic_store_rel_int(&sd->sd_done, 1);
}

static void
pt_remover(void *arg)
{
	struct pt_sd *sd = arg;

	while (atomic_load_acq_int(&sd->sd_ready) == 0)
		md_spin_wait(&sd->sd_ready);
	pmap_remove(sd->sd_pm, PT_UVA, PT_UVA + PAGE_SIZE);
	atomic_store_rel_int(&sd->sd_removed, 1);
}

static void
pt_shoot(struct pt_sd *sd)
{
	struct thread *w, *r;

	CHECK(kthread_create(pt_watcher, sd, 1, KTHR_BOUND | KTHR_JOINABLE, &w,
		  "pt watcher") == 0);
	CHECK(kthread_create(pt_remover, sd, 0, KTHR_BOUND | KTHR_JOINABLE, &r,
		  "pt remover") == 0);
	kthread_join(r);
	kthread_join(w);
	CHECK(sd->sd_done == 1);
}

static void
pt_shootdown_fn(void *arg)
{
	struct vm_page *pages[1];
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, 1, pages);
	struct pt_sd sd;
	uint64_t sh = vm_test_stat("vm.pmap.shootdowns");
	uint64_t ipis = vm_test_stat("vm.pmap.ipis");

	(void)arg;
	memset(&sd, 0, sizeof(sd));
	sd.sd_pm = pt_pmap();
	sd.sd_polling = true;
	CHECK(pmap_enter(sd.sd_pm, PT_UVA, pages[0], VM_PROT_READ, 0, 0) == 0);
	pt_shoot(&sd);
	CHECKF(!sd.sd_held && sd.sd_miss, "%s: watcher held %d missed %d",
	    pt_cfg, sd.sd_held, sd.sd_miss);
	CHECK(vm_test_stat("vm.pmap.shootdowns") == sh + 1);
	CHECK(vm_test_stat("vm.pmap.ipis") == ipis + 1);
#ifdef VM_INVARIANTS
	/* The planted bug: remove returns while the watcher holds va. */
	memset(&sd.sd_ready, 0, 3 * sizeof(uint32_t));
	sd.sd_polling = false;
	CHECK(pmap_enter(sd.sd_pm, PT_UVA, pages[0], VM_PROT_READ, 0, 0) == 0);
	atomic_store_int((uint32_t *)&pmap_debug_plant, PMAP_PLANT_NOWAIT);
	pt_shoot(&sd);
	atomic_store_int((uint32_t *)&pmap_debug_plant, 0);
	CHECKF(sd.sd_held && sd.sd_miss,
	    "%s: planted no-wait: watcher held %d (stale expected), missed %d",
	    pt_cfg, sd.sd_held, sd.sd_miss);
#endif
	pt_pmap_free(sd.sd_pm);
	vm_object_deallocate(obj);
}

static void
test_pmap_shootdown(void)
{
	pt_each(pt_shootdown_fn, 2, PT_MEM);
}

static void
pt_corrupt_fn(void *arg)
{
	struct vm_page *pages[4], *um;
	struct vm_object *obj = pt_obj(OBJT_DEFAULT, 4, pages);
	pmap_t pm = pt_pmap();
	struct pv_entry *pv;
	struct rwlock *lock;
	pt_entry_t *p, saved;
	int i;

	(void)arg;
	for (i = 0; i < 4; i++)
		CHECK(pmap_enter(pm, PT_UVA + ptoa(i), pages[i], VM_PROT_RW, 0,
			  0) == 0);
	PT_CHECK(pm);
	/* A managed PTE cleared behind the pv list's back. */
	PMAP_LOCK(pm);
	p = pmap_leaf(pm, PT_UVA + ptoa(2));
	saved = *p;
	*p = 0;
	PMAP_UNLOCK(pm);
	CHECK(pmap_check(pm) >= 1);
	CHECK(pmap_check_page(pages[2]) >= 1);
	PMAP_LOCK(pm);
	*p = saved;
	PMAP_UNLOCK(pm);
	PT_CHECK(pm);
	CHECK(pmap_check_page(pages[2]) == 0);
	/* A bogus pv entry on a page pm does not map there. */
	um = pages[3];
	PMAP_LOCK(pm);
	pv = pmap_pv_alloc(pm, false);
	CHECK(pv != NULL);
	pv->pv_va = PT_UVA + ptoa(50);
	lock = pmap_pv_lock(um->phys_addr);
	rw_wlock(lock);
	pmap_pv_link(&um->md, pv);
	rw_wunlock(lock);
	PMAP_UNLOCK(pm);
	CHECK(pmap_check(pm) >= 1);
	CHECK(pmap_check_page(um) >= 1);
	PMAP_LOCK(pm);
	rw_wlock(lock);
	CHECK(pmap_pv_unlink(&um->md, pm, PT_UVA + ptoa(50)) == pv);
	rw_wunlock(lock);
	pmap_pv_free(pm, pv);
	PMAP_UNLOCK(pm);
	PT_CHECK(pm);
	CHECK(pmap_check_page(um) == 0);
	pt_pmap_free(pm);
	vm_object_deallocate(obj);
}

static void
test_pmap_checker(void)
{
	pt_each(pt_corrupt_fn, 2, PT_MEM);
}

static const struct test_case cases[] = {
	TEST_CASE(test_pmap_basic),
	TEST_CASE(test_pmap_remove_all),
	TEST_CASE(test_pmap_refmod),
	TEST_CASE(test_pmap_promote),
	TEST_CASE(test_pmap_remove_pages),
	TEST_CASE(test_pmap_reclaim),
	TEST_CASE(test_pmap_shootdown),
	TEST_CASE(test_pmap_checker),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
