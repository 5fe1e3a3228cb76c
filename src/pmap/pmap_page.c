/*
 * pmap_page.c: the operations on every mapping of one page (the page
 * daemon's: remove_all, remove_write, ts_referenced, is_modified,
 * clear_modify, page_is_mapped), pmap_remove_pages() and boot.
 *
 * A page-centric walk holds the pv list lock of the page's 2 MiB frame,
 * which covers both the page's pv list and the frame's 2 MiB list (with
 * the page policy the page's own lock too: pmap_pv_page_wlock()), and
 * locks each mapping's pmap as pmap_pv_lock_pmap() describes.  Work that
 * may allocate pv entries (demotion) or that removes a mapping
 * (pmap_remove_leaf) runs with the pmap locked and the pv lock dropped:
 * the pmap lock alone keeps the mapping, and so its pv entry, in place.
 */
#include "kern/kassert.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "pmap/pmap_int.h"
#include "vm/vm_pagequeue.h"

#include <errno.h>
#include <string.h>

/*
 * With m's pv lock(s) held, locks pv's pmap.  On a failed try-lock:
 * records the generations of m's list and of its frame's 2 MiB list,
 * announces itself in pm_pvwait (the pv entry keeps pm alive only while
 * the pv lock is held; pmap_release() waits for announced lockers), drops
 * the pv lock, locks the pmap then the pv lock, and returns false (pmap
 * unlocked) if a generation moved: the caller starts over.
 */
static bool
pmap_pv_lock_pmap(pmap_t pm, struct vm_page *m, struct md_page *pvh)
{
	struct md_page *md = &m->md;
	uint32_t gen, pvhgen;
	bool ok;

	if (PMAP_TRYLOCK(pm))
		return (true);
	gen = md->pv_gen;
	pvhgen = pvh->pv_gen;
	/* Seq_cst RMW, before the pv lock's release lets pm go. */
	(void)atomic_fetchadd_int(&pm->pm_pvwait, 1);
	pmap_pv_page_wunlock(m->phys_addr);
	PMAP_LOCK(pm);
	pmap_pv_page_wlock(m->phys_addr);
	ok = gen == md->pv_gen && pvhgen == pvh->pv_gen;
	if (!ok)
		PMAP_UNLOCK(pm);
	/* Release (seq_cst RMW): we are done touching pm unlocked. */
	(void)atomic_fetchadd_int(&pm->pm_pvwait, (uint32_t)-1);
	return (ok);
}

/*
 * Demotes the 2 MiB mappings of m's frame whose leaf has a bit of `mask'
 * (lock held on entry and return, possibly dropped in between).
 */
static void
pmap_pvh_demote_all(struct vm_page *m, pt_entry_t mask, struct pglist *free)
{
	struct md_page *pvh = pmap_pvh(m->phys_addr);
	struct pv_entry *pv;
	pt_entry_t *pde;
	pmap_t pm;

restart:
	TAILQ_FOREACH (pv, &pvh->pv_list, pv_next) {
		pm = pmap_pv_pmap(pv);
		if (!pmap_pv_lock_pmap(pm, m, pvh))
			goto restart;
		pde = pmap_pde(pm, pv->pv_va);
		if ((atomic_load_64(pde) & mask) == 0) {
			PMAP_UNLOCK(pm);
			continue;
		}
		pmap_pv_page_wunlock(m->phys_addr);
		(void)pmap_demote(pm, pde, pv->pv_va, free);
		PMAP_UNLOCK(pm);
		pmap_pv_page_wlock(m->phys_addr);
		goto restart;
	}
}

/* m's 4 KiB mapping by pv (pm locked): its PTE. */
static pt_entry_t *
pmap_pv_pte(pmap_t pm, struct pv_entry *pv)
{
	pt_entry_t *pte = pmap_leaf(pm, pv->pv_va);

	VM_ASSERT(pte != NULL && (atomic_load_64(pte) & PG_PS) == 0,
	    ("%s: pv %p (pmap %p va %#llx) maps nothing", __func__, (void *)pv,
		(void *)pm, (unsigned long long)pv->pv_va));
	return (pte);
}

void
pmap_remove_all(struct vm_page *m)
{
	struct pv_entry *pv;
	struct pglist free;
	vm_offset_t va;
	pmap_t pm;

	if (!pmap_page_has_object(m))
		return;
	TAILQ_INIT(&free);
	pmap_pv_page_wlock(m->phys_addr);
	pmap_pvh_demote_all(m, PG_V, &free);
	while ((pv = TAILQ_FIRST(&m->md.pv_list)) != NULL) {
		pm = pmap_pv_pmap(pv);
		if (!pmap_pv_lock_pmap(pm, m, pmap_pvh(m->phys_addr)))
			continue;
		va = pv->pv_va;
		pmap_pv_page_wunlock(m->phys_addr);
		pmap_remove_leaf(pm, va, pmap_pv_pte(pm, pv), false, &free);
		pmap_invalidate(pm, va, va + PAGE_SIZE);
		PMAP_UNLOCK(pm);
		pmap_pv_page_wlock(m->phys_addr);
	}
	m->md.pv_flags &= ~PV_WRITEABLE;
	pmap_pv_page_wunlock(m->phys_addr);
	pmap_free_pages(&free);
}

/*
 * Applies `bits' clearing to each 4 KiB mapping of m (after the 2 MiB
 * ones with a bit of `mask' were demoted); counts changed leaves that had
 * a bit of `count' set before, stopping at `max'.
 */
static int
pmap_page_clear(struct vm_page *m, pt_entry_t mask, pt_entry_t bits,
    pt_entry_t count, int max)
{
	struct md_page *pvh = pmap_pvh(m->phys_addr);
	struct pv_entry *pv;
	struct pglist free;
	pt_entry_t *pte;
	pmap_t pm;
	int n;

	TAILQ_INIT(&free);
	pmap_pv_page_wlock(m->phys_addr);
	if (mask != 0)
		pmap_pvh_demote_all(m, mask, &free);
restart:
	n = 0;
	TAILQ_FOREACH (pv, &m->md.pv_list, pv_next) {
		pm = pmap_pv_pmap(pv);
		if (!pmap_pv_lock_pmap(pm, m, pvh))
			goto restart;
		pte = pmap_pv_pte(pm, pv);
		if ((atomic_load_64(pte) & count) != 0)
			n++;
		if (pmap_leaf_clear(pte, bits, 1))
			pmap_invalidate(pm, pv->pv_va, pv->pv_va + PAGE_SIZE);
		PMAP_UNLOCK(pm);
		if (n >= max)
			break;
	}
	if ((bits & PG_RW) != 0)
		m->md.pv_flags &= ~PV_WRITEABLE;
	pmap_pv_page_wunlock(m->phys_addr);
	pmap_free_pages(&free);
	return (n);
}

void
pmap_remove_write(struct vm_page *m)
{
	if (pmap_page_has_object(m))
		(void)pmap_page_clear(m, PG_RW, PG_RW | PG_M, 0, INT32_MAX);
}

void
pmap_clear_modify(struct vm_page *m)
{
	if (pmap_page_has_object(m))
		(void)pmap_page_clear(m, PG_M, PG_M, 0, INT32_MAX);
}

/*
 * The 2 MiB mappings of m's frame in ts_referenced: each with the
 * accessed bit counts; the bit is cleared (without demotion) for one page
 * in 512, chosen by a hash of the page, the mapping and the pmap as
 * FreeBSD does, so that one 2 MiB mapping does not lose its reference
 * information to every page's scan.  Lock held (may be dropped).
 */
static int
pmap_ts_referenced_2m(struct vm_page *m)
{
	struct md_page *pvh = pmap_pvh(m->phys_addr);
	struct pv_entry *pv;
	pt_entry_t *pde;
	pmap_t pm;
	int n;

restart:
	n = 0;
	TAILQ_FOREACH (pv, &pvh->pv_list, pv_next) {
		pm = pmap_pv_pmap(pv);
		if (!pmap_pv_lock_pmap(pm, m, pvh))
			goto restart;
		pde = pmap_pde(pm, pv->pv_va);
		if ((atomic_load_64(pde) & PG_A) != 0) {
			n++;
			if ((((m->phys_addr >> PAGE_SHIFT) ^
				 (pv->pv_va >> PDRSHIFT) ^ (uintptr_t)pm) &
				(NPTEPG - 1)) == 0 &&
			    pmap_leaf_clear(pde, PG_A, NPTEPG))
				pmap_invalidate(
				    pm, pv->pv_va, pv->pv_va + NBPDR);
		}
		PMAP_UNLOCK(pm);
		if (n >= PMAP_TS_REFERENCED_MAX)
			break;
	}
	return (n);
}

int
pmap_ts_referenced(struct vm_page *m)
{
	int n;

	if (!pmap_page_has_object(m))
		return (0);
	pmap_pv_page_wlock(m->phys_addr);
	n = pmap_ts_referenced_2m(m);
	pmap_pv_page_wunlock(m->phys_addr);
	if (n < PMAP_TS_REFERENCED_MAX)
		n += pmap_page_clear(
		    m, 0, PG_A, PG_A, PMAP_TS_REFERENCED_MAX - n);
	return (n);
}

bool
pmap_is_modified(struct vm_page *m)
{
	struct md_page *pvh;
	struct pv_entry *pv;
	pt_entry_t *p, e;
	pmap_t pm;
	bool dirty = false;
	int pass;

	if (!pmap_page_has_object(m))
		return (false);
	pvh = pmap_pvh(m->phys_addr);
	pmap_pv_page_wlock(m->phys_addr);
restart:
	for (pass = 0; pass < 2 && !dirty; pass++) {
		TAILQ_FOREACH (
		    pv, pass == 0 ? &pvh->pv_list : &m->md.pv_list, pv_next) {
			pm = pmap_pv_pmap(pv);
			if (!pmap_pv_lock_pmap(pm, m, pvh))
				goto restart;
			p = pass == 0 ? pmap_pde(pm, pv->pv_va)
				      : pmap_pv_pte(pm, pv);
			e = atomic_load_64(p);
			dirty = (e & (PG_M | PG_RW)) == (PG_M | PG_RW);
			PMAP_UNLOCK(pm);
			if (dirty)
				break;
		}
	}
	pmap_pv_page_wunlock(m->phys_addr);
	return (dirty);
}

bool
pmap_page_is_mapped(struct vm_page *m)
{
	bool r;

	if (!pmap_page_has_object(m))
		return (false);
	pmap_pv_page_rlock(m->phys_addr);
	r = !TAILQ_EMPTY(&m->md.pv_list) ||
	    !TAILQ_EMPTY(&pmap_pvh(m->phys_addr)->pv_list);
	pmap_pv_page_runlock(m->phys_addr);
	return (r);
}

/*
 * remove_pages on one chunk: its unwired mappings (pm locked).  The pv
 * entry is in hand, so none is searched for on its page's list (FreeBSD's
 * pmap_remove_pages() too); heldp: as for pmap_remove_leaf_pv().
 */
static int
pmap_pvc_next_used(const struct pv_chunk *pc, int i)
{
	for (i++; i < PV_NPCPV; i++)
		if ((pc->pc_map[i / 64] & (1ull << (i % 64))) == 0)
			return (i);
	return (PV_NPCPV);
}

static bool
pmap_remove_chunk(
    pmap_t pm, struct pv_chunk *pc, struct pglist *free, struct rwlock **heldp)
{
	pt_entry_t *p, *np;
	vm_offset_t va;
	bool any = false;
	int i, nx;

	i = pmap_pvc_next_used(pc, -1);
	p = i < PV_NPCPV ? pmap_leaf(pm, pc->pc_pventry[i].pv_va) : NULL;
	while (i < PV_NPCPV) {
		/*
		 * The next entry first: removing the last one may free the
		 * chunk (without batching), and its leaf tells whether the
		 * lock we carry is wanted next.
		 */
		nx = pmap_pvc_next_used(pc, i);
		np = nx < PV_NPCPV ? pmap_leaf(pm, pc->pc_pventry[nx].pv_va)
				   : NULL;
		va = pc->pc_pventry[i].pv_va;
		VM_ASSERT(p != NULL,
		    ("%s: pv of %#llx maps nothing", __func__,
			(unsigned long long)va));
		if ((atomic_load_64(p) & PG_W) == 0) {
			any |= pmap_remove_leaf_pv(pm, va, p,
			    (atomic_load_64(p) & PG_PS) != 0, free,
			    &pc->pc_pventry[i], heldp,
			    np == NULL ? NULL
				       : pmap_leaf_pv_lock(atomic_load_64(np)));
		}
		i = nx;
		p = np;
	}
	return (any);
}

/*
 * With vm.pmap.pv_batch the walk carries the pv list lock from entry to
 * entry (handing it off only when the next entry's list needs another)
 * and the chunks it empties are freed together after it, each LRU list
 * locked once.
 */
void
pmap_remove_pages(pmap_t pm)
{
	struct pv_chunk_list todo, emptied;
	struct rwlock *held = NULL;
	struct pv_chunk *pc;
	struct pglist free;
	bool any = false, batch = pmap_pv_batch != 0;

	TAILQ_INIT(&free);
	TAILQ_INIT(&todo);
	TAILQ_INIT(&emptied);
	PMAP_LOCK(pm);
	if (batch)
		pm->pm_pvc_defer = &emptied;
	/* One chunk at a time, each back on the pmap's list first. */
	TAILQ_CONCAT(&todo, &pm->pm_pvchunk, pc_list);
	while ((pc = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, pc, pc_list);
		TAILQ_INSERT_TAIL(&pm->pm_pvchunk, pc, pc_list);
		any |= pmap_remove_chunk(pm, pc, &free, batch ? &held : NULL);
	}
	pmap_pvl_drop(&held);
	pm->pm_pvc_defer = NULL;
	/*
	 * Before the pmap lock goes: the emptied chunks are still on their
	 * LRU lists, and a reclaimer that could lock the pmap would take one
	 * for itself.
	 */
	pmap_pv_free_deferred(&emptied);
	if (any)
		pmap_invalidate(pm, PMAP_INVL_ALL, PMAP_INVL_ALL);
	PMAP_UNLOCK(pm);
	pmap_free_pages(&free);
}
