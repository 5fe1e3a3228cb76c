/*
 * pmap.c: page tables, mappings, superpages and the page-centric
 * operations of the software MMU (contract in pmap.h, shared internals in
 * pmap_int.h).
 *
 * Entries are changed only under the pmap lock, except the accessed and
 * dirty bits of leaves, which pmap_tlb_fill() sets with compare-and-swap
 * on any CPU where the pmap is loaded (as the hardware does).  So every
 * change of a leaf here is atomic too: a swap to clear it (collecting the
 * bits a fill may be setting), compare-and-swap loops to clear bits.
 *
 * Promotion (pmap_promote):
 *	1. the PT's 512 entries map 512 consecutive pages from a 2 MiB
 *	   aligned frame with equal attributes (accessed and dirty included)
 *	   and the frame's reservation is fully populated;
 *	2. the PT page is kept in pm_root (so demotion never needs a page);
 *	3. managed: the 512 pv entries become one on the frame's 2 MiB list;
 *	4. the PD entry becomes the 2 MiB leaf, then the range is invalidated;
 *	5. accessed or dirty bits that fills set on the old PTEs before the
 *	   invalidation are or'ed into the new leaf (none can come later:
 *	   no walk can be inside the detached table once it returns).
 * Demotion rebuilds the 512 PTEs from the 2 MiB leaf, so the kept table's
 * old contents never matter.
 */
#include "kern/kassert.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "pmap/pmap_int.h"
#include "vm/vm_object.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_phys.h"
#include "vm/vm_reserv.h"

#include <errno.h>
#include <string.h>

struct pmap kernel_pmap_store;

counter_u64_t pmap_cnt_shootdowns, pmap_cnt_ipis, pmap_cnt_invl_pages,
    pmap_cnt_full_flushes, pmap_cnt_promotions, pmap_cnt_demotions,
    pmap_cnt_tlb_fills, pmap_cnt_pv_entries, pmap_cnt_pv_reclaims;

static const struct counter_spec pmap_counters[] = {
	{ &pmap_cnt_shootdowns, "vm.pmap.shootdowns",
	    "invalidations that interrupted other CPUs" },
	{ &pmap_cnt_ipis, "vm.pmap.ipis", "shootdown IPIs sent" },
	{ &pmap_cnt_invl_pages, "vm.pmap.invalidated_pages",
	    "pages invalidated by ranged invalidations" },
	{ &pmap_cnt_full_flushes, "vm.pmap.full_flushes",
	    "invalidations of a whole address space" },
	{ &pmap_cnt_promotions, "vm.pmap.promotions",
	    "2 MiB mappings made by promotion" },
	{ &pmap_cnt_demotions, "vm.pmap.demotions",
	    "2 MiB mappings broken into 4 KiB ones" },
	{ &pmap_cnt_tlb_fills, "vm.pmap.tlb_fills", "software TLB misses" },
	/* A per-CPU sum: pv entries come and go under pv list locks. */
	{ &pmap_cnt_pv_entries, "vm.pmap.pv_entries", "pv entries in use" },
	{ &pmap_cnt_pv_reclaims, "vm.pmap.pv_reclaims",
	    "pv chunks of other pmaps whose mappings were taken for a page" },
};

/* Tunables (the registry's storage) and the values booted with. */
static int64_t pmap_pv_lock_tun, pmap_pv_lru_tun, pmap_invl_max_tun,
    pmap_promote_tun, pmap_pv_batch_tun;
int pmap_pv_lock_policy;
int pmap_pv_batch;
int pmap_pv_lru_policy;
uint64_t pmap_invl_max;
uint32_t pmap_promote_on;
static uint64_t pmap_next_asid; /* (a) */

static const char *const pmap_pv_lock_names[] = { "global", "hashed",
	"superpage", "page" };
static const char *const pmap_lru_names[] = { "global", "domain" };

/* Attribute bits of a leaf (all but the frame and PG_PS/PG_PROMOTED). */
#define PG_LEAF_ATTR                                                           \
	(PG_V | PG_RW | PG_U | PG_A | PG_M | PG_G | PG_W | PG_MANAGED | PG_NX)

static int
pmap_promote_set(int64_t value, void *arg)
{
	(void)arg;
	/* Relaxed: a promotion decided on the old value is still correct. */
	atomic_store_int(&pmap_promote_on, value != 0);
	return (0);
}

int
pmap_tunables(void)
{
	int error;

	/*
	 * invl_max_pages: FreeBSD amd64's PMAP_INVLPG_THRESHOLD is 4 * 1024
	 * pages ("chosen to exceed the total size of Broadwell L2 TLB"): a
	 * range of 4096 pages or more is flushed whole.
	 */
	if ((error = tunable_enum_register("vm.pmap.pv_lock", &pmap_pv_lock_tun,
		 PMAP_PVL_SUPERPAGE, pmap_pv_lock_names,
		 (int)nitems(pmap_pv_lock_names),
		 "pv list locks: one, 256 hashed, one per 2 MiB frame, or "
		 "per frame and per page")) != 0 ||
	    (error = tunable_int_register("vm.pmap.pv_batch",
		 &pmap_pv_batch_tun, 0, 0, 1,
		 "walks keep a pv list lock across mappings; pv chunks "
		 "freed in bulk")) != 0 ||
	    (error = tunable_enum_register("vm.pmap.pv_chunk_lru",
		 &pmap_pv_lru_tun, PMAP_LRU_DOMAIN, pmap_lru_names,
		 (int)nitems(pmap_lru_names),
		 "pv chunk LRU lists: one, or one per domain")) != 0 ||
	    (error = tunable_int_register("vm.pmap.invl_max_pages",
		 &pmap_invl_max_tun, 4095, 0, (int64_t)1 << 36,
		 "largest ranged invalidation; above, a full flush")) != 0 ||
	    (error = tunable_int_register("vm.pmap.promote", &pmap_promote_tun,
		 1, 0, 1, "promote full page tables to 2 MiB mappings")) != 0)
		return (error);
	return (tunable_set_handler("vm.pmap.promote", pmap_promote_set, NULL));
}

bool
pmap_page_managed(struct vm_page *m)
{
	/*
	 * VPO_UNMANAGED is set when the page is allocated to its object
	 * and stays while it is: stable for pmap_enter()'s caller, who
	 * holds the page busy (the other VPO_ bits change only under busy).
	 */
	return (vm_page_object(m) != NULL && (m->oflags & VPO_UNMANAGED) == 0);
}

bool
pmap_page_has_object(struct vm_page *m)
{
	/*
	 * The lock-free early exit of the page-level operations (the page
	 * daemon calls them on pages it does not hold): a page without an
	 * object has no mapping, and an unmanaged page no pv entry, so
	 * walking its (empty) pv lists is merely slower.
	 */
	return (vm_page_object(m) != NULL);
}

/*
 * Table pages.
 */
static struct vm_page *
pmap_ptp_alloc(pmap_t pm)
{
	struct vm_page *m = vm_page_alloc_noobj(VM_ALLOC_SYSTEM);

	if (m == NULL)
		return (NULL);
	md_page_zero(vm_page_dmap(m), PAGE_SIZE);
	m->pindex = 0;
	pm->pm_ptpages++;
	return (m);
}

void
pmap_free_pages(struct pglist *free)
{
	struct vm_page *m;

	while ((m = TAILQ_FIRST(free)) != NULL) {
		TAILQ_REMOVE(free, m, listq);
		m->pindex = 0;
		vm_page_free(m);
	}
}

static int
pmap_pml4_alloc(pmap_t pm)
{
	struct vm_page *m = pmap_ptp_alloc(pm);

	if (m == NULL)
		return (ENOMEM);
	pm->pm_pml4pg = m;
	/* Release: the zeroed table before the pointer lockless walks read. */
	atomic_store_rel_ptr(
	    (uintptr_t *)&pm->pm_pml4, (uintptr_t)vm_page_dmap(m));
	return (0);
}

/*
 * The tables down to va's entry at level `shift' (PDRSHIFT: the PD entry,
 * PAGE_SHIFT: the PTE): pages in pg[0..3] (PML4 .. PT), entries leading
 * to them in e[0..2].  Returns the level reached (0 .. 3), short of the
 * goal when an entry is invalid or a 2 MiB leaf.
 */
static int
pmap_walk(pmap_t pm, vm_offset_t va, struct vm_page **pg, pt_entry_t **e)
{
	pt_entry_t *pt = pm->pm_pml4, v;
	int l, shift;

	pg[0] = pm->pm_pml4pg;
	if (pt == NULL)
		return (-1);
	for (l = 0, shift = PML4SHIFT; l < 3; l++, shift -= 9) {
		e[l] = &pt[PMAP_IDX(va, shift)];
		v = atomic_load_64(e[l]);
		if ((v & PG_V) == 0 || (v & PG_PS) != 0)
			return (l);
		pg[l + 1] = pmap_pte_page(v);
		pt = pmap_dmap_pt(v);
	}
	return (3);
}

/* The PD page on va's path (which exists). */
static struct vm_page *
pmap_walk_pd(pmap_t pm, vm_offset_t va)
{
	struct vm_page *pg[4];
	pt_entry_t *e[3];

	(void)pmap_walk(pm, va, pg, e);
	return (pg[2]);
}

pt_entry_t *
pmap_pde(pmap_t pm, vm_offset_t va)
{
	struct vm_page *pg[4];
	pt_entry_t *e[3];

	return (pmap_walk(pm, va, pg, e) >= 2 ? e[2] : NULL);
}

pt_entry_t *
pmap_leaf(pmap_t pm, vm_offset_t va)
{
	struct vm_page *pg[4];
	pt_entry_t *e[3], *pte;
	int l = pmap_walk(pm, va, pg, e);

	if (l == 2 && (atomic_load_64(e[2]) & PG_PS) != 0)
		return (e[2]);
	if (l < 3)
		return (NULL);
	pte = &pmap_dmap_pt(atomic_load_64(e[2]))[PMAP_IDX(va, PAGE_SHIFT)];
	return ((atomic_load_64(pte) & PG_V) != 0 ? pte : NULL);
}

/*
 * Drops the valid-entry count of the table at level `level' (1: PDP .. 3:
 * PT) on va's path (when `dec'), and frees it and the tables above it
 * that become empty into `free'.
 */
static void
pmap_unuse(pmap_t pm, vm_offset_t va, int level, bool dec, struct pglist *free)
{
	struct vm_page *pg[4];
	pt_entry_t *e[3];
	int l;

	l = pmap_walk(pm, va, pg, e);
	VM_ASSERT(l >= level,
	    ("%s: pmap %p va %#llx: path ends at level %d", __func__,
		(void *)pm, (unsigned long long)va, l));
	for (l = level;; l--) {
		if (dec)
			pg[l]->pindex--;
		dec = true;
		if (l == 0 || pg[l]->pindex != 0)
			break;
		atomic_store_64(e[l - 1], 0);
		pm->pm_ptpages--;
		TAILQ_INSERT_TAIL(free, pg[l], listq);
	}
}

/* The entry slot of va at `shift', allocating the tables above it. */
static pt_entry_t *
pmap_walk_alloc(pmap_t pm, vm_offset_t va, int stop)
{
	pt_entry_t *pt, *p, v;
	struct vm_page *parent, *m;
	int shift;

	if (pm->pm_pml4 == NULL && pmap_pml4_alloc(pm) != 0)
		return (NULL);
	pt = pm->pm_pml4;
	parent = pm->pm_pml4pg;
	for (shift = PML4SHIFT; shift > stop; shift -= 9) {
		p = &pt[PMAP_IDX(va, shift)];
		v = atomic_load_64(p);
		VM_ASSERT((v & PG_PS) == 0 || shift != PDRSHIFT,
		    ("%s: va %#llx under a 2 MiB mapping", __func__,
			(unsigned long long)va));
		if ((v & PG_V) == 0) {
			if ((m = pmap_ptp_alloc(pm)) == NULL)
				return (NULL);
			v = m->phys_addr | PG_V | PG_RW |
			    (pm->pm_kernel ? 0 : PG_U);
			/* Release: the zeroed table before its entry. */
			atomic_store_rel_64(p, v);
			parent->pindex++;
		}
		parent = pmap_pte_page(v);
		pt = pmap_dmap_pt(v);
	}
	return (&pt[PMAP_IDX(va, stop)]);
}

/*
 * Dirty and accessed bits of a cleared managed leaf go to its pages.  The
 * pmap never calls a pager: the VM releases the pager's copy of a page it
 * finds dirty.  m->dirty is a plain store, as FreeBSD's vm_page_dirty():
 * bits are only ever set here.
 */
static void
pmap_transfer_bits(vm_paddr_t pa, int npages, pt_entry_t old)
{
	struct vm_page *m;
	int i;

	if ((old & (PG_A | PG_M)) == 0)
		return;
	for (i = 0; i < npages; i++) {
		m = PHYS_TO_VM_PAGE(pa + ptoa(i));
		if ((old & PG_M) != 0 && (old & PG_RW) != 0)
			m->dirty = VM_PAGE_BITS_ALL;
		if ((old & PG_A) != 0)
			vm_page_reference(m);
	}
}

bool
pmap_remove_leaf(
    pmap_t pm, vm_offset_t va, pt_entry_t *pte, bool is_2m, struct pglist *free)
{
	return (
	    pmap_remove_leaf_pv(pm, va, pte, is_2m, free, NULL, NULL, NULL));
}

/*
 * After the last 4 KiB mapping of m went (m's list lock held): m is no
 * longer mapped writable unless its frame has 2 MiB mappings.  With the
 * page policy that list is under the frame's lock, which comes before
 * ours: only a try, and on failure the flag stays (a stale flag costs a
 * remove_write walk that finds nothing; a lost one would be a bug).
 */
static void
pmap_pv_clear_writeable(struct vm_page *m, vm_paddr_t pa)
{
	struct rwlock *fl;

	if (!TAILQ_EMPTY(&m->md.pv_list))
		return;
	if (pmap_pv_page_lock(pa) == NULL) {
		if (TAILQ_EMPTY(&pmap_pvh(pa)->pv_list))
			m->md.pv_flags &= ~PV_WRITEABLE;
		return;
	}
	fl = pmap_pv_lock(pa);
	if (!rw_try_rlock(fl))
		return;
	if (TAILQ_EMPTY(&pmap_pvh(pa)->pv_list))
		m->md.pv_flags &= ~PV_WRITEABLE;
	rw_runlock(fl);
}

bool
pmap_remove_leaf_pv(pmap_t pm, vm_offset_t va, pt_entry_t *pte, bool is_2m,
    struct pglist *free, struct pv_entry *pv, struct rwlock **heldp,
    struct rwlock *next)
{
	struct rwlock *lock;
	struct md_page *md;
	struct vm_page *m, *ptm;
	pt_entry_t old;
	vm_paddr_t pa;
	int n = is_2m ? NPTEPG : 1;

	/* Swap: takes the bits a concurrent fill may be setting with it. */
	old = (pt_entry_t)atomic_swap_ptr((uintptr_t *)pte, 0);
	if ((old & PG_V) == 0)
		return (false);
	pa = old & (is_2m ? PG_PS_FRAME : PG_FRAME);
	pm->pm_stats.resident_count -= (uint64_t)n;
	if ((old & PG_W) != 0)
		pm->pm_stats.wired_count -= (uint64_t)n;
	if ((old & PG_MANAGED) != 0) {
		lock = is_2m ? pmap_pv_lock(pa) : pmap_pv_lock_4k(pa);
		if (heldp != NULL)
			pmap_pvl_switch(heldp, lock);
		else
			rw_wlock(lock);
		m = PHYS_TO_VM_PAGE(pa);
		md = is_2m ? pmap_pvh(pa) : &m->md;
		if (pv != NULL) {
			VM_ASSERT(pv->pv_va == va && pmap_pv_pmap(pv) == pm,
			    ("%s: pv %p is not (%p, %#llx)", __func__,
				(void *)pv, (void *)pm,
				(unsigned long long)va));
			TAILQ_REMOVE(&md->pv_list, pv, pv_next);
			md->pv_gen++;
		} else
			pv = pmap_pv_unlink(md, pm, va);
		VM_ASSERT(pv != NULL,
		    ("%s: no pv for pmap %p va %#llx pa %#llx", __func__,
			(void *)pm, (unsigned long long)va,
			(unsigned long long)pa));
		pmap_transfer_bits(pa, n, old);
		if (!is_2m)
			pmap_pv_clear_writeable(m, pa);
		/* A run keeps the lock only if the next leaf wants it. */
		if (heldp == NULL)
			rw_wunlock(lock);
		else if (next != lock)
			pmap_pvl_drop(heldp);
		pmap_pv_free(pm, pv);
	}
	if (is_2m && (old & PG_PROMOTED) != 0 &&
	    (ptm = vm_radix_remove(&pm->pm_root, va >> PDRSHIFT)) != NULL) {
		pm->pm_ptpages--;
		TAILQ_INSERT_TAIL(free, ptm, listq);
	}
	pmap_unuse(pm, va, is_2m ? 2 : 3, true, free);
	return (true);
}

/* Fills a table page with the 512 PTEs of the 2 MiB leaf `pde'. */
static void
pmap_fill_ptp(struct vm_page *ptm, pt_entry_t pde)
{
	pt_entry_t *pt = (pt_entry_t *)vm_page_dmap(ptm);
	pt_entry_t attr = pde & PG_LEAF_ATTR;
	int i;

	for (i = 0; i < NPTEPG; i++)
		atomic_store_64(&pt[i], (pde & PG_PS_FRAME) + ptoa(i) + attr);
	ptm->pindex = NPTEPG;
}

/*
 * Moves the 2 MiB pv entry of (pm, va) to the 512 pages (the frame's pv
 * lock held; with the page policy each page's is taken in turn).
 */
static void
pmap_pv_demote(pmap_t pm, vm_offset_t va, vm_paddr_t pa, pt_entry_t pde,
    struct pv_entry **pvs)
{
	struct pv_entry *pv;
	struct rwlock *pl;
	struct vm_page *m;
	int i;

	pv = pmap_pv_unlink(pmap_pvh(pa), pm, va);
	VM_ASSERT(pv != NULL,
	    ("%s: no 2 MiB pv for %p %#llx", __func__, (void *)pm,
		(unsigned long long)va));
	for (i = 0; i < NPTEPG; i++) {
		m = PHYS_TO_VM_PAGE(pa + ptoa(i));
		if (i > 0)
			pv = pvs[i - 1];
		pv->pv_va = va + ptoa(i);
		if ((pl = pmap_pv_page_lock(m->phys_addr)) != NULL)
			rw_wlock(pl);
		pmap_pv_link(&m->md, pv);
		if ((pde & PG_RW) != 0)
			m->md.pv_flags |= PV_WRITEABLE;
		if (pl != NULL)
			rw_wunlock(pl);
	}
}

/* Demotion's pv entries: false (none taken) if they cannot be had. */
static bool
pmap_pv_reserve(pmap_t pm, struct pv_entry **pvs)
{
	int i, j;

	for (i = 0; i < NPTEPG - 1; i++) {
		if ((pvs[i] = pmap_pv_alloc(pm, true)) == NULL) {
			for (j = 0; j < i; j++)
				pmap_pv_free(pm, pvs[j]);
			return (false);
		}
	}
	return (true);
}

/*
 * Breaks the 2 MiB leaf *pde of va into 512 PTEs (pm locked, no pv lock
 * held).  Returns false if it could not (no table page or pv entries for
 * an unwired mapping): the 2 MiB mapping is then removed instead.
 */
bool
pmap_demote(pmap_t pm, pt_entry_t *pde, vm_offset_t va, struct pglist *free)
{
	static struct pv_entry *pvs[NPTEPG - 1];
	struct pv_entry **pvp = NULL;
	struct vm_page *ptm = NULL;
	struct rwlock *lock = NULL;
	pt_entry_t old = atomic_load_64(pde);
	vm_paddr_t pa = old & PG_PS_FRAME;

	va &= ~PDRMASK;
	mtx_assert_owned(&pm->pm_mtx);
	if ((old & PG_PROMOTED) != 0)
		ptm = vm_radix_remove(&pm->pm_root, va >> PDRSHIFT);
	if (ptm == NULL && (ptm = pmap_ptp_alloc(pm)) == NULL)
		goto fail;
	/* The array is the pmap's while it is locked (one demotion each). */
	if ((old & PG_MANAGED) != 0) {
		pvp = pm->pm_kernel ? pvs : md_malloc(sizeof(pvs));
		if (pvp == NULL || !pmap_pv_reserve(pm, pvp)) {
			if (pvp != pvs)
				md_free(pvp);
			pm->pm_ptpages--;
			TAILQ_INSERT_TAIL(free, ptm, listq);
			goto fail;
		}
		lock = pmap_pv_lock(pa);
		rw_wlock(lock);
	}
	do {
		old = atomic_load_64(pde);
		pmap_fill_ptp(ptm, old);
		/* Seq_cst RMW: the filled table before the entry. */
	} while (!atomic_cmpset_64(pde, old,
	    ptm->phys_addr | PG_V | PG_RW | (pm->pm_kernel ? 0 : PG_U)));
	if (lock != NULL) {
		pmap_pv_demote(pm, va, pa, old, pvp);
		rw_wunlock(lock);
		if (pvp != pvs)
			md_free(pvp);
	}
	counter_u64_add(pmap_cnt_demotions, 1);
	pmap_invalidate(pm, va, va + NBPDR);
	return (true);
fail:
	VM_ASSERT((old & PG_W) == 0,
	    ("%s: cannot demote wired %#llx of %p", __func__,
		(unsigned long long)va, (void *)pm));
	pmap_remove_leaf(pm, va, pde, true, free);
	pmap_invalidate(pm, va, va + NBPDR);
	return (false);
}

/* Step 1 of promotion: whether the PT `pt' may become one 2 MiB leaf. */
static bool
pmap_promotable(pt_entry_t *pt)
{
	pt_entry_t first = atomic_load_64(&pt[0]);
	struct vm_page *m;
	int i;

	if ((first & PG_V) == 0 || (first & PG_FRAME & PDRMASK) != 0)
		return (false);
	for (i = 1; i < NPTEPG; i++)
		if (atomic_load_64(&pt[i]) != first + ptoa(i))
			return (false);
	m = PHYS_TO_VM_PAGE(first & PG_FRAME);
	return (m != NULL && vm_reserv_level_iffullpop(m) == 0);
}

/* Steps 2-5 of promotion (header), for the PT under *pde of va. */
static void
pmap_promote(pmap_t pm, pt_entry_t *pde, vm_offset_t va)
{
	pt_entry_t *pt = pmap_dmap_pt(atomic_load_64(pde)), first, acc, old;
	struct vm_page *ptm = pmap_pte_page(atomic_load_64(pde));
	struct pv_entry *pv, *pv0 = NULL;
	struct rwlock *lock, *pl;
	vm_paddr_t pa;
	int i;

	va &= ~PDRMASK;
	if (!pmap_promotable(pt))
		return;
	first = atomic_load_64(&pt[0]);
	pa = first & PG_FRAME;
	ptm->pindex = va >> PDRSHIFT;
	if (vm_radix_insert(&pm->pm_root, ptm) != 0) {
		ptm->pindex = NPTEPG;
		return;
	}
	if ((first & PG_MANAGED) != 0) {
		lock = pmap_pv_lock(pa);
		rw_wlock(lock);
		for (i = NPTEPG - 1; i >= 0; i--) {
			if ((pl = pmap_pv_page_lock(pa + ptoa(i))) != NULL)
				rw_wlock(pl);
			pv = pmap_pv_unlink(&PHYS_TO_VM_PAGE(pa + ptoa(i))->md,
			    pm, va + ptoa(i));
			if (pl != NULL)
				rw_wunlock(pl);
			if (i > 0)
				pmap_pv_free(pm, pv);
			else
				pv0 = pv;
		}
		pmap_pv_link(pmap_pvh(pa), pv0);
		rw_wunlock(lock);
	}
	atomic_store_rel_64(pde, first | PG_PS | PG_PROMOTED);
	pmap_invalidate(pm, va, va + NBPDR);
	for (acc = 0, i = 0; i < NPTEPG; i++)
		acc |= atomic_load_64(&pt[i]) & (PG_A | PG_M);
	old = atomic_load_64(pde);
	/* Seq_cst RMW: step 5, against fills setting bits on the leaf. */
	while ((old | acc) != old && !atomic_fcmpset_64(pde, &old, old | acc))
		;
	counter_u64_add(pmap_cnt_promotions, 1);
}

static pt_entry_t
pmap_newpte(pmap_t pm, struct vm_page *m, vm_prot_t prot, unsigned flags)
{
	pt_entry_t e = m->phys_addr | PG_V;

	if ((prot & VM_PROT_WRITE) != 0)
		e |= PG_RW;
	if ((prot & VM_PROT_EXECUTE) == 0)
		e |= PG_NX;
	e |= pm->pm_kernel ? PG_G : PG_U;
	if ((flags & PMAP_ENTER_WIRED) != 0)
		e |= PG_W;
	if (pmap_page_managed(m))
		e |= PG_MANAGED;
	if ((flags & VM_PROT_ALL) != 0)
		e |= PG_A;
	if ((flags & VM_PROT_WRITE) != 0 && (e & PG_RW) != 0)
		e |= PG_M;
	return (e);
}

/* Re-enters the page already mapped by *p with new attributes. */
static void
pmap_enter_same(pmap_t pm, vm_offset_t va, pt_entry_t *p, pt_entry_t new, int n)
{
	pt_entry_t old = atomic_load_64(p);

	/* Seq_cst RMW: keeps the accessed and dirty bits fills set. */
	while (!atomic_fcmpset_64(p, &old, new | (old & (PG_A | PG_M))))
		;
	if ((old & PG_W) != (new &PG_W))
		pm->pm_stats.wired_count +=
		    (new &PG_W) != 0 ? (uint64_t)n : (uint64_t)-n;
	if ((old & PG_RW) != 0 && (new &PG_RW) == 0) {
		if ((old & PG_MANAGED) != 0)
			pmap_transfer_bits(
			    old & (n > 1 ? PG_PS_FRAME : PG_FRAME), n,
			    old & ~PG_A);
		(void)pmap_leaf_clear(p, PG_M, n);
		pmap_invalidate(pm, va, va + ptoa(n));
	}
}

/*
 * Links a new managed mapping's pv entry: 4 KiB (md is the page's) or
 * 2 MiB (md is the frame's list).  heldp as for pmap_remove_leaf_pv();
 * NULL: no pv lock held, none left held.
 */
static void
pmap_enter_pv(struct md_page *md, vm_paddr_t pa, struct pv_entry *pv,
    vm_offset_t va, pt_entry_t e, bool is_2m, struct rwlock **heldp)
{
	struct rwlock *lock = is_2m ? pmap_pv_lock(pa) : pmap_pv_lock_4k(pa);

	pv->pv_va = va;
	if (heldp != NULL)
		pmap_pvl_switch(heldp, lock);
	else
		rw_wlock(lock);
	pmap_pv_link(md, pv);
	if ((e & PG_RW) != 0)
		md->pv_flags |= PV_WRITEABLE;
	if (heldp == NULL)
		rw_wunlock(lock);
}

/* heldp: as for pmap_remove_leaf_pv() (a prefault run), or NULL. */
static int
pmap_enter_4k(pmap_t pm, vm_offset_t va, struct vm_page *m, pt_entry_t new,
    struct pglist *free, struct rwlock **heldp)
{
	struct pv_entry *pv = NULL;
	struct vm_page *ptm, *pg[4];
	struct pv_chunk *pc;
	pt_entry_t *pde, *pte, old, *e[3];
	bool replaced;

	/*
	 * A run holds its pv lock only over list work: not while a table
	 * page or a pv chunk page is allocated (the free lists' lock is
	 * busy under a build; waiting for it with a pv lock held makes
	 * every mapper of that frame wait too).
	 */
	if (heldp != NULL && *heldp != NULL &&
	    (pmap_walk(pm, va, pg, e) != 3 ||
		(pc = TAILQ_FIRST(&pm->pm_pvchunk)) == NULL ||
		!pmap_pvc_has_free(pc)))
		pmap_pvl_drop(heldp);
	if ((pde = pmap_walk_alloc(pm, va, PDRSHIFT)) == NULL)
		goto nomem;
	/* A failed demotion may free the PD: walk again after it. */
	if ((atomic_load_64(pde) & PG_PS) != 0) {
		/* Demotion takes the frame's lock itself. */
		if (heldp != NULL)
			pmap_pvl_drop(heldp);
		if (!pmap_demote(pm, pde, va, free) &&
		    (pde = pmap_walk_alloc(pm, va, PDRSHIFT)) == NULL)
			goto nomem;
	}
	if ((pte = pmap_walk_alloc(pm, va, PAGE_SHIFT)) == NULL)
		goto nomem;
	ptm = pmap_pte_page(atomic_load_64(pde));
	old = atomic_load_64(pte);
	if ((old & PG_V) != 0 && (old & PG_FRAME) == m->phys_addr) {
		pmap_enter_same(pm, va, pte, new, 1);
		return (0);
	}
	/*
	 * A run still holding its lock here has a chunk with a free entry
	 * (checked above): no page allocation, no reclaim of other pmaps.
	 */
	if ((new &PG_MANAGED) != 0 && (pv = pmap_pv_alloc(pm, true)) == NULL)
		goto nomem;
	if ((replaced = (old & PG_V) != 0)) {
		/* Hold the PT so that removing the old entry keeps it. */
		ptm->pindex++;
		pmap_remove_leaf_pv(pm, va, pte, false, free, NULL, heldp,
		    pmap_pv_lock_4k(m->phys_addr));
	}
	if (pv != NULL)
		pmap_enter_pv(&m->md, m->phys_addr, pv, va, new, false, heldp);
	/*
	 * Release: publishes the page's contents (zeroed, copied or read
	 * in by the fault) with the entry; the lockless walk of a TLB fill
	 * on another CPU acquires it (pmap_tlb.c).
	 */
	atomic_store_rel_64(pte, new);
	if (!replaced)
		ptm->pindex++;
	pm->pm_stats.resident_count++;
	if ((new &PG_W) != 0)
		pm->pm_stats.wired_count++;
	if (replaced)
		pmap_invalidate(pm, va, va + PAGE_SIZE);
	if (ptm->pindex == NPTEPG && atomic_load_int(&pmap_promote_on)) {
		if (heldp != NULL)
			pmap_pvl_drop(heldp);
		pmap_promote(pm, pde, va);
	}
	return (0);
nomem:
	/* Tables made for nothing go (counts 0). */
	if (pm->pm_pml4 != NULL) {
		int l = pmap_walk(pm, va, pg, e);

		if (l >= 1 && pg[l]->pindex == 0)
			pmap_unuse(pm, va, l, false, free);
	}
	return (ENOMEM);
}

/*
 * Removes whatever 4 KiB mappings the PT under *pde holds (heldp: as for
 * pmap_remove_leaf_pv()).
 */
static void
pmap_remove_ptes(pmap_t pm, pt_entry_t *pde, vm_offset_t sva, vm_offset_t eva,
    struct pglist *free, bool *any, struct rwlock **heldp)
{
	pt_entry_t *pt = pmap_dmap_pt(atomic_load_64(pde));
	vm_offset_t va;

	struct rwlock *next;

	for (va = sva; va < eva; va += PAGE_SIZE) {
		if ((atomic_load_64(&pt[PMAP_IDX(va, PAGE_SHIFT)]) & PG_V) == 0)
			continue;
		/* A run ends where the next page's lock is another. */
		next = va + PAGE_SIZE >= eva
		    ? NULL
		    : pmap_leaf_pv_lock(atomic_load_64(
			  &pt[PMAP_IDX(va + PAGE_SIZE, PAGE_SHIFT)]));
		*any |=
		    pmap_remove_leaf_pv(pm, va, &pt[PMAP_IDX(va, PAGE_SHIFT)],
			false, free, NULL, heldp, next);
	}
}

static int
pmap_enter_2m(pmap_t pm, vm_offset_t va, struct vm_page *m, pt_entry_t new,
    struct pglist *free)
{
	struct pv_entry *pv = NULL;
	struct vm_page *pdm;
	pt_entry_t *pde, old;
	bool any = false;

	VM_ASSERT(((va | m->phys_addr) & PDRMASK) == 0,
	    ("%s: va %#llx pa %#llx not 2 MiB aligned", __func__,
		(unsigned long long)va, (unsigned long long)m->phys_addr));
	if ((pde = pmap_walk_alloc(pm, va, PDRSHIFT)) == NULL)
		return (ENOMEM);
	new |= PG_PS;
	old = atomic_load_64(pde);
	if ((old & PG_PS) != 0 && (old & PG_PS_FRAME) == m->phys_addr) {
		pmap_enter_same(pm, va, pde, new | (old & PG_PROMOTED), NPTEPG);
		return (0);
	}
	if ((new &PG_MANAGED) != 0 && (pv = pmap_pv_alloc(pm, true)) == NULL)
		return (ENOMEM);
	/* Hold the PD across the removal of what va's range holds. */
	pdm = pmap_walk_pd(pm, va);
	pdm->pindex++;
	if ((old & PG_PS) != 0)
		any = pmap_remove_leaf(pm, va, pde, true, free);
	else if ((old & PG_V) != 0) {
		pmap_remove_ptes(pm, pde, va, va + NBPDR, free, &any, NULL);
		VM_ASSERT((atomic_load_64(pde) & PG_V) == 0,
		    ("%s: PT of %#llx left", __func__, (unsigned long long)va));
	}
	if (pv != NULL)
		pmap_enter_pv(pmap_pvh(m->phys_addr), m->phys_addr, pv, va, new,
		    true, NULL);
	/* Release: as for a 4 KiB entry (pmap_enter_4k). */
	atomic_store_rel_64(pde, new);
	/* The hold is the new entry's count (the old one's was dropped). */
	pm->pm_stats.resident_count += NPTEPG;
	if ((new &PG_W) != 0)
		pm->pm_stats.wired_count += NPTEPG;
	if (any)
		pmap_invalidate(pm, va, va + NBPDR);
	return (0);
}

int
pmap_enter(pmap_t pm, vm_offset_t va, struct vm_page *m, vm_prot_t prot,
    unsigned flags, int psind)
{
	struct pglist free;
	pt_entry_t new = pmap_newpte(pm, m, prot, flags);
	int error;

	va = trunc_page(va);
	VM_ASSERT(pm->pm_kernel ? va >= VM_MIN_KERNEL_ADDRESS
				: va < VM_MAX_USER_ADDRESS,
	    ("%s: va %#llx outside pmap %p", __func__, (unsigned long long)va,
		(void *)pm));
	TAILQ_INIT(&free);
	for (;;) {
		PMAP_LOCK(pm);
		error = psind == 1 ? pmap_enter_2m(pm, va, m, new, &free)
				   : pmap_enter_4k(pm, va, m, new, &free, NULL);
		PMAP_UNLOCK(pm);
		pmap_free_pages(&free);
		if (error == 0 || (flags & PMAP_ENTER_NOSLEEP) != 0)
			return (error);
		vm_wait();
	}
}

void
pmap_enter_quick(pmap_t pm, vm_offset_t va, struct vm_page *m, vm_prot_t prot)
{
	struct pglist free;

	TAILQ_INIT(&free);
	PMAP_LOCK(pm);
	if (pmap_leaf(pm, va) == NULL)
		(void)pmap_enter_4k(pm, va, m,
		    pmap_newpte(pm, m, prot & ~VM_PROT_WRITE, 0), &free, NULL);
	PMAP_UNLOCK(pm);
	pmap_free_pages(&free);
}

void
pmap_enter_quick_run(
    pmap_t pm, const vm_offset_t *va, struct vm_page **m, int n, vm_prot_t prot)
{
	struct rwlock *held = NULL;
	struct pglist free;
	int i;

	if (!pmap_pv_batch) {
		for (i = 0; i < n; i++)
			pmap_enter_quick(pm, va[i], m[i], prot);
		return;
	}
	TAILQ_INIT(&free);
	PMAP_LOCK(pm);
	for (i = 0; i < n; i++) {
		if (pmap_leaf(pm, va[i]) == NULL)
			(void)pmap_enter_4k(pm, va[i], m[i],
			    pmap_newpte(pm, m[i], prot & ~VM_PROT_WRITE, 0),
			    &free, &held);
		/* Held only over a run of pages under one lock. */
		if (held != NULL &&
		    (i + 1 == n ||
			pmap_pv_lock_4k(m[i + 1]->phys_addr) != held))
			pmap_pvl_drop(&held);
	}
	PMAP_UNLOCK(pm);
	pmap_free_pages(&free);
}

/* Whether the 512 pages from m are obj's resident valid run. */
static bool
pmap_object_run_2m(struct vm_object *obj, struct vm_page *m)
{
	struct vm_page *p;
	int i;

	if ((m->phys_addr & PDRMASK) != 0 || (m->pindex & (NPTEPG - 1)) != 0 ||
	    vm_reserv_level_iffullpop(m) != 0)
		return (false);
	for (i = 0; i < NPTEPG; i++) {
		p = PHYS_TO_VM_PAGE(m->phys_addr + ptoa(i));
		if (p == NULL || p->object != obj ||
		    p->pindex != m->pindex + i || p->valid == 0)
			return (false);
	}
	return (true);
}

/* Whether va's 2 MiB range maps nothing (prefault never replaces). */
static bool
pmap_range_unmapped(pmap_t pm, vm_offset_t va)
{
	pt_entry_t *pde;
	bool r;

	PMAP_LOCK(pm);
	pde = pmap_pde(pm, va);
	r = pde == NULL || (atomic_load_64(pde) & PG_V) == 0;
	PMAP_UNLOCK(pm);
	return (r);
}

void
pmap_enter_object(pmap_t pm, vm_offset_t start, vm_offset_t end,
    struct vm_object *obj, vm_pindex_t pidx, vm_prot_t prot)
{
	struct vm_page *m;
	vm_offset_t va;
	vm_pindex_t n = atop(end - start);

	m = vm_radix_lookup_ge(&obj->rtree, pidx);
	while (m != NULL && m->pindex - pidx < n) {
		va = start + ptoa(m->pindex - pidx);
		if (m->valid != 0 && (va & PDRMASK) == 0 && va + NBPDR <= end &&
		    atomic_load_int(&pmap_promote_on) &&
		    pmap_range_unmapped(pm, va) && pmap_object_run_2m(obj, m) &&
		    pmap_enter(pm, va, m, prot & ~VM_PROT_WRITE,
			PMAP_ENTER_NOSLEEP, 1) == 0) {
			m = vm_radix_lookup_ge(&obj->rtree, m->pindex + NPTEPG);
			continue;
		}
		if (m->valid != 0)
			pmap_enter_quick(pm, va, m, prot);
		m = vm_radix_lookup_ge(&obj->rtree, m->pindex + 1);
	}
}

/*
 * The walk of a range: calls fn on each PD entry's part of [sva, eva)
 * whose PD entry is valid (pm locked); skips missing tables whole.
 */
typedef void pmap_range_fn(
    pmap_t pm, pt_entry_t *pde, vm_offset_t sva, vm_offset_t eva, void *arg);

static void
pmap_range(
    pmap_t pm, vm_offset_t sva, vm_offset_t eva, pmap_range_fn *fn, void *arg)
{
	struct vm_page *pg[4];
	pt_entry_t *e[3];
	vm_offset_t va, next;
	int l;

	for (va = sva; va < eva && va >= sva; va = next) {
		l = pmap_walk(pm, va, pg, e);
		if (l < 0)
			return;
		/* The span of the entry the walk stopped at. */
		next =
		    (va |
			(((vm_offset_t)1 << (PML4SHIFT - 9 * (l < 2 ? l : 2))) -
			    1)) +
		    1;
		if (l < 2)
			continue;
		if ((atomic_load_64(e[2]) & PG_V) != 0)
			fn(pm, e[2], va, next < eva && next > va ? next : eva,
			    arg);
	}
}

struct pmap_remove_arg {
	struct pglist *ra_free;
	bool ra_any;
	struct rwlock *ra_held; /* with pv_batch: the pv lock carried */
};

static void
pmap_remove_fn(
    pmap_t pm, pt_entry_t *pde, vm_offset_t sva, vm_offset_t eva, void *arg)
{
	struct pmap_remove_arg *ra = arg;
	struct rwlock **heldp = pmap_pv_batch ? &ra->ra_held : NULL;

	if ((atomic_load_64(pde) & PG_PS) != 0) {
		if ((sva & PDRMASK) == 0 && eva - sva == NBPDR) {
			ra->ra_any |= pmap_remove_leaf_pv(
			    pm, sva, pde, true, ra->ra_free, NULL, heldp, NULL);
			return;
		}
		/* Demotion takes the frame's lock itself. */
		pmap_pvl_drop(&ra->ra_held);
		if (!pmap_demote(pm, pde, sva, ra->ra_free))
			return;
	}
	pmap_remove_ptes(pm, pde, sva, eva, ra->ra_free, &ra->ra_any, heldp);
}

void
pmap_remove(pmap_t pm, vm_offset_t sva, vm_offset_t eva)
{
	struct pglist free;
	struct pmap_remove_arg ra = { &free, false, NULL };
	struct pv_chunk_list emptied;

	TAILQ_INIT(&free);
	TAILQ_INIT(&emptied);
	PMAP_LOCK(pm);
	/* Batched: no chunk page is freed with a pv lock held. */
	if (pmap_pv_batch)
		pm->pm_pvc_defer = &emptied;
	pmap_range(pm, trunc_page(sva), round_page(eva), pmap_remove_fn, &ra);
	pmap_pvl_drop(&ra.ra_held);
	pm->pm_pvc_defer = NULL;
	/* Under the pmap lock: see pmap_remove_pages(). */
	pmap_pv_free_deferred(&emptied);
	if (ra.ra_any)
		pmap_invalidate(pm, trunc_page(sva), round_page(eva));
	PMAP_UNLOCK(pm);
	pmap_free_pages(&free);
}

/*
 * Clears `bits' of the leaf *p (compare-and-swap against fills); moves a
 * dirty bit cleared with write access to the pages.  Returns whether the
 * leaf changed.
 */
bool
pmap_leaf_clear(pt_entry_t *p, pt_entry_t bits, int npages)
{
	pt_entry_t old = atomic_load_64(p);

	do {
		if ((old & PG_V) == 0 || (old & bits) == 0)
			return (false);
		/* Seq_cst RMW: against fills setting accessed/dirty. */
	} while (!atomic_fcmpset_64(p, &old, old & ~bits));
	/* Write-protection moves the dirty bit; clear_modify drops it. */
	if ((bits & PG_RW) != 0 && (old & PG_MANAGED) != 0 &&
	    (old & (PG_M | PG_RW)) == (PG_M | PG_RW))
		pmap_transfer_bits(old & (npages > 1 ? PG_PS_FRAME : PG_FRAME),
		    npages, old & ~PG_A);
	return (true);
}

static void
pmap_protect_fn(
    pmap_t pm, pt_entry_t *pde, vm_offset_t sva, vm_offset_t eva, void *arg)
{
	struct pmap_remove_arg *ra = arg;
	pt_entry_t *pt;
	vm_offset_t va;

	if ((atomic_load_64(pde) & PG_PS) != 0) {
		if ((sva & PDRMASK) == 0 && eva - sva == NBPDR) {
			ra->ra_any |=
			    pmap_leaf_clear(pde, PG_RW | PG_M, NPTEPG);
			return;
		}
		if (!pmap_demote(pm, pde, sva, ra->ra_free))
			return;
	}
	pt = pmap_dmap_pt(atomic_load_64(pde));
	for (va = sva; va < eva; va += PAGE_SIZE)
		ra->ra_any |= pmap_leaf_clear(
		    &pt[PMAP_IDX(va, PAGE_SHIFT)], PG_RW | PG_M, 1);
}

void
pmap_protect(pmap_t pm, vm_offset_t sva, vm_offset_t eva, vm_prot_t prot)
{
	struct pglist free;
	struct pmap_remove_arg ra = { &free, false, NULL };

	if ((prot & VM_PROT_READ) == 0) {
		pmap_remove(pm, sva, eva);
		return;
	}
	if ((prot & VM_PROT_WRITE) != 0)
		return;
	TAILQ_INIT(&free);
	PMAP_LOCK(pm);
	pmap_range(pm, trunc_page(sva), round_page(eva), pmap_protect_fn, &ra);
	if (ra.ra_any)
		pmap_invalidate(pm, trunc_page(sva), round_page(eva));
	PMAP_UNLOCK(pm);
	pmap_free_pages(&free);
}

static void
pmap_unwire_fn(
    pmap_t pm, pt_entry_t *pde, vm_offset_t sva, vm_offset_t eva, void *arg)
{
	struct pmap_remove_arg *ra = arg;
	pt_entry_t *pt;
	vm_offset_t va;

	if ((atomic_load_64(pde) & PG_PS) != 0) {
		if ((sva & PDRMASK) == 0 && eva - sva == NBPDR) {
			if (pmap_leaf_clear(pde, PG_W, NPTEPG))
				pm->pm_stats.wired_count -= NPTEPG;
			return;
		}
		(void)pmap_demote(pm, pde, sva, ra->ra_free);
	}
	pt = pmap_dmap_pt(atomic_load_64(pde));
	for (va = sva; va < eva; va += PAGE_SIZE)
		if (pmap_leaf_clear(&pt[PMAP_IDX(va, PAGE_SHIFT)], PG_W, 1))
			pm->pm_stats.wired_count--;
}

void
pmap_unwire(pmap_t pm, vm_offset_t sva, vm_offset_t eva)
{
	struct pglist free;
	struct pmap_remove_arg ra = { &free, false, NULL };

	TAILQ_INIT(&free);
	PMAP_LOCK(pm);
	pmap_range(pm, trunc_page(sva), round_page(eva), pmap_unwire_fn, &ra);
	PMAP_UNLOCK(pm);
	pmap_free_pages(&free);
}

/*
 * Queries.
 */
static vm_paddr_t
pmap_leaf_pa(pt_entry_t e, vm_offset_t va)
{
	if ((e & PG_PS) != 0)
		return ((e & PG_PS_FRAME) | (va & PDRMASK));
	return ((e & PG_FRAME) | (va & PAGE_MASK));
}

vm_paddr_t
pmap_extract(pmap_t pm, vm_offset_t va)
{
	pt_entry_t *p;
	vm_paddr_t pa = 0;

	PMAP_LOCK(pm);
	if ((p = pmap_leaf(pm, va)) != NULL)
		pa = pmap_leaf_pa(atomic_load_64(p), va);
	PMAP_UNLOCK(pm);
	return (pa);
}

struct vm_page *
pmap_extract_and_hold(pmap_t pm, vm_offset_t va, vm_prot_t prot)
{
	struct vm_page *m = NULL;
	pt_entry_t *p, e;

	PMAP_LOCK(pm);
	if ((p = pmap_leaf(pm, va)) != NULL) {
		e = atomic_load_64(p);
		if ((prot & VM_PROT_WRITE) == 0 || (e & PG_RW) != 0) {
			m = PHYS_TO_VM_PAGE(trunc_page(pmap_leaf_pa(e, va)));
			vm_page_wire(m);
		}
	}
	PMAP_UNLOCK(pm);
	return (m);
}

void *
pmap_kextract_dmap(vm_offset_t va)
{
	pt_entry_t *p;
	void *host = NULL;

	PMAP_LOCK(kernel_pmap);
	if ((p = pmap_leaf(kernel_pmap, va)) != NULL)
		host = md_phys_base() + pmap_leaf_pa(atomic_load_64(p), va);
	PMAP_UNLOCK(kernel_pmap);
	return (host);
}

bool
pmap_is_prefaultable(pmap_t pm, vm_offset_t va)
{
	bool r;

	PMAP_LOCK(pm);
	r = pmap_leaf(pm, va) == NULL;
	PMAP_UNLOCK(pm);
	return (r);
}

/*
 * Address spaces.
 */
int
pmap_pinit(pmap_t pm)
{
	memset(pm, 0, sizeof(*pm));
	pm->pm_active = md_calloc(howmany(md_ncpus(), 64), sizeof(uint64_t));
	if (pm->pm_active == NULL)
		return (ENOMEM);
	pm->pm_asid = atomic_fetchadd_64(&pmap_next_asid, 1) + 1;
	TAILQ_INIT(&pm->pm_pvchunk);
	vm_radix_init(&pm->pm_root);
	mtx_init(&pm->pm_mtx, "pmap", MTX_DEF);
	PMAP_LOCK(pm);
	if (pmap_pml4_alloc(pm) != 0) {
		PMAP_UNLOCK(pm);
		mtx_destroy(&pm->pm_mtx);
		md_free(pm->pm_active);
		return (ENOMEM);
	}
	PMAP_UNLOCK(pm);
	return (0);
}

void
pmap_release(pmap_t pm)
{
	VM_ASSERT(pm->pm_stats.resident_count == 0 &&
		pm->pm_pml4pg->pindex == 0 && pm->pm_ptpages == 1,
	    ("%s: pmap %p still maps %llu pages with %llu tables", __func__,
		(void *)pm, (unsigned long long)pm->pm_stats.resident_count,
		(unsigned long long)pm->pm_ptpages));
	pmap_tlb_forget(pm);
	/* Acquire: page-centric paths about to lock pm are done with it. */
	while (atomic_load_acq_int(&pm->pm_pvwait) != 0)
		kthread_yield();
	PMAP_LOCK(pm);
	pmap_pv_release(pm);
	vm_radix_reclaim_allnodes(&pm->pm_root);
	pm->pm_pml4pg->pindex = 0;
	vm_page_free(pm->pm_pml4pg);
	PMAP_UNLOCK(pm);
	mtx_destroy(&pm->pm_mtx);
	md_free(pm->pm_active);
	pm->pm_active = NULL;
}

/*
 * Boot.
 */
static uint64_t
pmap_stat_read(void *arg)
{
	return (atomic_load_64((uint64_t *)arg));
}

static void
pmap_kernel_init(uint64_t *active)
{
	pmap_t pm = kernel_pmap;
	int i, ncpus = md_ncpus();

	memset(pm, 0, sizeof(*pm));
	pm->pm_kernel = true;
	pm->pm_active = active;
	for (i = 0; i < ncpus; i++)
		pm->pm_active[i / 64] |= 1ull << (i % 64);
	TAILQ_INIT(&pm->pm_pvchunk);
	vm_radix_init(&pm->pm_root);
	mtx_init(&pm->pm_mtx, "pmap", MTX_DEF);
}

int
pmap_init(void)
{
	static const struct lock_rank ranks[] = {
		{ "pmap", 550, 0 },
		/* DUPOK: the page policy holds a frame's, then a page's. */
		{ "pmap pv list", 560, LOCK_RANK_DUPOK },
		{ "pmap pv chunk list", 570, 0 },
	};
	uint64_t *active;
	int error;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	pmap_pv_lock_policy = (int)pmap_pv_lock_tun;
	pmap_pv_lru_policy = (int)pmap_pv_lru_tun;
	pmap_pv_batch = (int)pmap_pv_batch_tun;
	pmap_invl_max = (uint64_t)pmap_invl_max_tun;
	atomic_store_int(&pmap_promote_on, pmap_promote_tun != 0);
	atomic_store_64(&pmap_next_asid, 0);
	active = md_calloc(howmany(md_ncpus(), 64), sizeof(uint64_t));
	if (active == NULL)
		return (ENOMEM);
	if ((error = pmap_pv_init()) != 0)
		goto fail_pv;
	if ((error = pmap_tlb_init()) != 0)
		goto fail_tlb;
	if ((error = counter_u64_alloc_table(
		 pmap_counters, nitems(pmap_counters))) != 0)
		goto fail_counters;
	if ((error = sysctl_stat_register("vm.pmap.pv_chunks", pmap_stat_read,
		 &pmap_pv_chunks, "pv chunks (pages) allocated")) != 0)
		goto fail_stats;
	pmap_kernel_init(active);
	return (0);
fail_stats:
	counter_u64_free_table(pmap_counters, nitems(pmap_counters));
fail_counters:
	pmap_tlb_fini();
fail_tlb:
	pmap_pv_fini();
fail_pv:
	md_free(active);
	return (error);
}

/*
 * Frees a table page from the booting thread after the CPUs stopped: not
 * through a per-CPU cache (there is no current CPU), so straight to the
 * buddy allocator.
 */
static void
pmap_fini_free_page(struct vm_page *m)
{
	m->pindex = 0;
	m->flags &= ~PG_PCPU_CACHE;
	vm_page_free(m);
}

/* Frees the tables under `ptm' at level l (0: PML4) and ptm itself. */
static void
pmap_fini_tables(struct vm_page *ptm, int l)
{
	pt_entry_t *pt = (pt_entry_t *)vm_page_dmap(ptm), e;
	int i;

	for (i = 0; i < NPTEPG && l < 3; i++) {
		e = pt[i];
		if ((e & PG_V) != 0 && (e & PG_PS) == 0)
			pmap_fini_tables(pmap_pte_page(e), l + 1);
	}
	pmap_fini_free_page(ptm);
}

static int
pmap_fini_saved(struct vm_page *m, void *arg)
{
	(void)arg;
	pmap_fini_free_page(m);
	return (0);
}

void
pmap_fini(void)
{
	pmap_t pm = kernel_pmap;
	struct pv_chunk *pc;

	/* What the kernel pmap still maps goes with the machine. */
	if (pm->pm_pml4pg != NULL)
		pmap_fini_tables(pm->pm_pml4pg, 0);
	(void)vm_radix_foreach(
	    &pm->pm_root, 0, UINT64_MAX, pmap_fini_saved, NULL);
	vm_radix_reclaim_allnodes(&pm->pm_root);
	while ((pc = TAILQ_FIRST(&pm->pm_pvchunk)) != NULL) {
		TAILQ_REMOVE(&pm->pm_pvchunk, pc, pc_list);
		pmap_fini_free_page(PHYS_TO_VM_PAGE(
		    (vm_paddr_t)((uint8_t *)pc - md_phys_base())));
	}
	mtx_destroy(&pm->pm_mtx);
	md_free(pm->pm_active);
	memset(pm, 0, sizeof(*pm));
	sysctl_stat_unregister("vm.pmap.pv_chunks", &pmap_pv_chunks);
	counter_u64_free_table(pmap_counters, nitems(pmap_counters));
	pmap_tlb_fini();
	pmap_pv_fini();
}
