/*
 * pmap_check.c: the pmap's consistency checkers (tests call them at
 * quiesce points: no operation on the pmap or page in flight).
 *
 * pmap_check(pm), with pm locked and each pv list lock taken in turn:
 *	1. every table page's count (pindex) equals its valid entries;
 *	   table pages (PML4 and kept PTs included) == pm_ptpages;
 *	2. leaves: user pmaps' carry PG_U and no PG_G, the kernel's PG_G;
 *	   resident and wired pages (2 MiB leaves count 512) == pm_stats;
 *	3. each managed leaf has exactly one pv entry (pm, va) on its list
 *	   (the page's, or the frame's 2 MiB list), an unmanaged one none;
 *	4. each pv entry of pm's chunks is on the list a managed leaf of
 *	   pm at its va leads to, and entries in use == managed leaves.
 */
#include "kern/kassert.h"
#include "pmap/pmap_int.h"

struct pmap_check_state {
	pmap_t cs_pm;
	int cs_nerr;
	uint64_t cs_resident, cs_wired, cs_ptpages, cs_managed;
};

/* The pv entries of (pm, va) on md's list (its lock held). */
static int
pmap_check_count_pv(struct md_page *md, pmap_t pm, vm_offset_t va)
{
	struct pv_entry *pv;
	int n = 0;

	TAILQ_FOREACH (pv, &md->pv_list, pv_next)
		if (pv->pv_va == va && pmap_pv_pmap(pv) == pm)
			n++;
	return (n);
}

static void
pmap_check_leaf(
    struct pmap_check_state *cs, vm_offset_t va, pt_entry_t e, bool is_2m)
{
	pmap_t pm = cs->cs_pm;
	vm_paddr_t pa = e & (is_2m ? PG_PS_FRAME : PG_FRAME);
	struct rwlock *lock = is_2m ? pmap_pv_lock(pa) : pmap_pv_lock_4k(pa);
	struct vm_page *m = PHYS_TO_VM_PAGE(pa);
	uint64_t n = is_2m ? NPTEPG : 1;
	int npv;

	cs->cs_resident += n;
	if ((e & PG_W) != 0)
		cs->cs_wired += n;
	if (pm->pm_kernel ? (e & PG_G) == 0 : (e & (PG_U | PG_G)) != PG_U)
		vm_check_fail(&cs->cs_nerr,
		    "pmap %p va %#llx: leaf %#llx has "
		    "the wrong user/global bits",
		    (void *)pm, (unsigned long long)va, (unsigned long long)e);
	if (m == NULL) {
		vm_check_fail(&cs->cs_nerr,
		    "pmap %p va %#llx: no page at %#llx", (void *)pm,
		    (unsigned long long)va, (unsigned long long)pa);
		return;
	}
	rw_rlock(lock);
	npv = pmap_check_count_pv(is_2m ? pmap_pvh(pa) : &m->md, pm, va);
	rw_runlock(lock);
	if ((e & PG_MANAGED) != 0)
		cs->cs_managed++;
	if (npv != ((e & PG_MANAGED) != 0 ? 1 : 0))
		vm_check_fail(&cs->cs_nerr,
		    "pmap %p va %#llx: %s leaf %#llx has %d pv entries",
		    (void *)pm, (unsigned long long)va,
		    (e & PG_MANAGED) != 0 ? "managed" : "unmanaged",
		    (unsigned long long)e, npv);
}

/* Steps 1-3 over the table `pt' at level `l' (0: PML4) mapping from va. */
static void
pmap_check_table(
    struct pmap_check_state *cs, struct vm_page *ptm, int l, vm_offset_t base)
{
	pt_entry_t *pt = (pt_entry_t *)vm_page_dmap(ptm), e;
	uint64_t valid = 0;
	vm_offset_t va;
	int i, shift = PML4SHIFT - 9 * l;

	cs->cs_ptpages++;
	for (i = 0; i < NPTEPG; i++) {
		e = atomic_load_64(&pt[i]);
		if ((e & PG_V) == 0)
			continue;
		valid++;
		va = base + ((vm_offset_t)i << shift);
		if (l == 0 && i >= 256)
			va |= 0xffff000000000000ull; /* canonical kernel half */
		if (l == 3 || (l == 2 && (e & PG_PS) != 0))
			pmap_check_leaf(cs, va, e, l == 2);
		else
			pmap_check_table(cs, pmap_pte_page(e), l + 1, va);
	}
	if (valid != ptm->pindex)
		vm_check_fail(&cs->cs_nerr,
		    "pmap %p: table %#llx (level %d) counts %llu, holds %llu",
		    (void *)cs->cs_pm, (unsigned long long)ptm->phys_addr, l,
		    (unsigned long long)ptm->pindex, (unsigned long long)valid);
}

/* Step 4 for one chunk. */
static uint64_t
pmap_check_chunk(struct pmap_check_state *cs, struct pv_chunk *pc)
{
	pmap_t pm = cs->cs_pm;
	struct pv_entry *pv, *q;
	struct md_page *md;
	struct rwlock *lock;
	pt_entry_t *p, e;
	uint64_t used = 0;
	bool found;
	int i;

	if (pc->pc_pmap != pm)
		vm_check_fail(&cs->cs_nerr, "pmap %p: chunk %p owned by %p",
		    (void *)pm, (void *)pc, (void *)pc->pc_pmap);
	for (i = 0; i < PV_NPCPV; i++) {
		if ((pc->pc_map[i / 64] & (1ull << (i % 64))) != 0)
			continue;
		used++;
		pv = &pc->pc_pventry[i];
		p = pmap_leaf(pm, pv->pv_va);
		e = p != NULL ? atomic_load_64(p) : 0;
		if ((e & PG_MANAGED) == 0) {
			vm_check_fail(&cs->cs_nerr,
			    "pmap %p: pv %p for va %#llx, which has no managed "
			    "mapping (%#llx)",
			    (void *)pm, (void *)pv,
			    (unsigned long long)pv->pv_va,
			    (unsigned long long)e);
			continue;
		}
		lock = (e & PG_PS) != 0 ? pmap_pv_lock(e & PG_FRAME)
					: pmap_pv_lock_4k(e & PG_FRAME);
		md = (e & PG_PS) != 0 ? pmap_pvh(e & PG_PS_FRAME)
				      : &PHYS_TO_VM_PAGE(e & PG_FRAME)->md;
		found = false;
		rw_rlock(lock);
		TAILQ_FOREACH (q, &md->pv_list, pv_next)
			found |= q == pv;
		rw_runlock(lock);
		if (!found)
			vm_check_fail(&cs->cs_nerr,
			    "pmap %p: pv %p (va %#llx) not on its page's list",
			    (void *)pm, (void *)pv,
			    (unsigned long long)pv->pv_va);
	}
	return (used);
}

int
pmap_check(pmap_t pm)
{
	struct pmap_check_state cs = { .cs_pm = pm };
	struct pv_chunk *pc;
	uint64_t used = 0;

	PMAP_LOCK(pm);
	if (pm->pm_pml4pg != NULL)
		pmap_check_table(&cs, pm->pm_pml4pg, 0, 0);
	cs.cs_ptpages += vm_radix_count(&pm->pm_root);
	if (cs.cs_ptpages != pm->pm_ptpages)
		vm_check_fail(&cs.cs_nerr,
		    "pmap %p: %llu table pages, %llu "
		    "accounted",
		    (void *)pm, (unsigned long long)cs.cs_ptpages,
		    (unsigned long long)pm->pm_ptpages);
	if (cs.cs_resident != pm->pm_stats.resident_count ||
	    cs.cs_wired != pm->pm_stats.wired_count)
		vm_check_fail(&cs.cs_nerr,
		    "pmap %p: maps %llu pages (%llu wired), counts %llu (%llu)",
		    (void *)pm, (unsigned long long)cs.cs_resident,
		    (unsigned long long)cs.cs_wired,
		    (unsigned long long)pm->pm_stats.resident_count,
		    (unsigned long long)pm->pm_stats.wired_count);
	TAILQ_FOREACH (pc, &pm->pm_pvchunk, pc_list)
		used += pmap_check_chunk(&cs, pc);
	if (used != cs.cs_managed)
		vm_check_fail(&cs.cs_nerr,
		    "pmap %p: %llu pv entries for %llu managed mappings",
		    (void *)pm, (unsigned long long)used,
		    (unsigned long long)cs.cs_managed);
	PMAP_UNLOCK(pm);
	return (cs.cs_nerr);
}

/* One pv list of m's (lock held): each entry's leaf maps `pa'. */
static void
pmap_check_list(struct md_page *md, vm_paddr_t pa, bool is_2m, int *nerrp)
{
	struct pv_entry *pv;
	pt_entry_t *p, e;
	pmap_t pm;

	TAILQ_FOREACH (pv, &md->pv_list, pv_next) {
		pm = pmap_pv_pmap(pv);
		/* Quiesced: the pv entry keeps the tables on its path. */
		p = pmap_leaf(pm, pv->pv_va);
		e = p != NULL ? atomic_load_64(p) : 0;
		if ((e & PG_MANAGED) == 0 || ((e & PG_PS) != 0) != is_2m ||
		    (e & (is_2m ? PG_PS_FRAME : PG_FRAME)) != pa)
			vm_check_fail(nerrp,
			    "page %#llx: pv %p (pmap %p va %#llx) leads to "
			    "%#llx",
			    (unsigned long long)pa, (void *)pv, (void *)pm,
			    (unsigned long long)pv->pv_va,
			    (unsigned long long)e);
	}
}

int
pmap_check_page(struct vm_page *m)
{
	int nerr = 0;

	pmap_pv_page_rlock(m->phys_addr);
	pmap_check_list(&m->md, m->phys_addr, false, &nerr);
	if ((m->phys_addr & PDRMASK) == 0)
		pmap_check_list(
		    pmap_pvh(m->phys_addr), m->phys_addr, true, &nerr);
	if (!pmap_page_managed(m) && !TAILQ_EMPTY(&m->md.pv_list))
		vm_check_fail(&nerr, "page %#llx: unmanaged, with pv entries",
		    (unsigned long long)m->phys_addr);
	pmap_pv_page_runlock(m->phys_addr);
	return (nerr);
}

bool
pmap_page_has_pv(struct vm_page *m)
{
	bool r;

	pmap_pv_page_rlock(m->phys_addr);
	r = !TAILQ_EMPTY(&m->md.pv_list) ||
	    ((m->phys_addr & PDRMASK) == 0 &&
		!TAILQ_EMPTY(&pmap_pvh(m->phys_addr)->pv_list));
	pmap_pv_page_runlock(m->phys_addr);
	return (r);
}
