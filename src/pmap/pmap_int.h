/*
 * pmap_int.h: what the pmap's files share (pmap.c: tables and mappings;
 * pmap_pv.c: pv entries, chunks and pv list locks; pmap_tlb.c: the
 * software TLB and shootdowns; pmap_check.c: the checkers).
 *
 * Table pages.  Each table page is a page without object from vm_phys;
 * its `pindex' counts the valid entries it holds (FreeBSD keeps the count
 * in ref_count), except while a page table sits in pm_root after a
 * promotion, when pindex is its key (va >> 21) and the count is 512 by
 * construction.  A PT, PD or PDP page whose count drops to 0 is unlinked
 * and freed after the invalidation that covers it (the lockless walk of
 * pmap_tlb_fill() runs only on CPUs where the pmap is active and never
 * polls for IPIs mid-walk, so once the shootdown returns no walk can be
 * inside the page).
 *
 * Pv chunks.  A chunk is one page: a header, a free bitmap and
 * PV_NPCPV entries; pv_entry -> chunk is trunc_page() of its address.
 * Invariants, under the pmap lock:
 *	free entries + pv entries in use == PV_NPCPV * chunks;
 *	each chunk is on its pmap's pm_pvchunk (with free entries first)
 *	and on one LRU list (while the pmap lock and that list's lock are
 *	held, reclaim may take it off).
 */
#ifndef VMLAB_PMAP_INT_H
#define VMLAB_PMAP_INT_H

#include "kern/counter.h"
#include "kern/rwlock.h"
#include "pmap/pmap.h"
#include "vm/vm_page.h"
#include "vm/vm_phys.h"

#define PML4SHIFT 39
#define PDPSHIFT 30
#define PDRSHIFT 21
#define PMAP_IDX(va, shift) (((va) >> (shift)) & (NPTEPG - 1))

/* The table (direct map) an entry points to. */
static inline pt_entry_t *
pmap_dmap_pt(pt_entry_t e)
{
	return ((pt_entry_t *)(md_phys_base() + (e & PG_FRAME)));
}

static inline struct vm_page *
pmap_pte_page(pt_entry_t e)
{
	return (PHYS_TO_VM_PAGE(e & PG_FRAME));
}

/* Whether mappings of m get pv entries: pages of pageable objects. */
bool pmap_page_managed(struct vm_page *m);
/* Whether m has an object (page-level operations' early exit). */
bool pmap_page_has_object(struct vm_page *m);

/* Pv chunks. */
#define PV_NPCPV 167 /* 168 fill the page; one goes to pc_reclaimed */
#define PV_NMAPW 3
struct pv_chunk {
	pmap_t pc_pmap;		       /* (p) owner */
	TAILQ_ENTRY(pv_chunk) pc_list; /* (p) pm_pvchunk */
	TAILQ_ENTRY(pv_chunk) pc_lru;  /* (p + l) an LRU list */
	bool pc_reclaimed;	   /* (p) off its LRU list, its reclaimer's */
	uint64_t pc_map[PV_NMAPW]; /* (p) 1: free entry */
	struct pv_entry pc_pventry[PV_NPCPV]; /* (p,v) */
};
_Static_assert(sizeof(struct pv_chunk) <= PAGE_SIZE, "a pv chunk is a page");
_Static_assert(PV_NMAPW * 64 >= PV_NPCPV, "the free bitmap covers it");

static inline struct pv_chunk *
pv_to_chunk(struct pv_entry *pv)
{
	return ((struct pv_chunk *)((uintptr_t)pv & ~(uintptr_t)PAGE_MASK));
}

static inline bool
pmap_pvc_has_free(const struct pv_chunk *pc)
{
	return ((pc->pc_map[0] | pc->pc_map[1] | pc->pc_map[2]) != 0);
}

/* The pv list lock of the 2 MiB frame of pa; the frame's 2 MiB list. */
struct rwlock *pmap_pv_lock(vm_paddr_t pa);
struct md_page *pmap_pvh(vm_paddr_t pa);
/*
 * The lock of the 4 KiB pv list of the page at pa: with the page policy
 * one of a pool hashed by page (also named "pmap pv list"), otherwise the
 * frame's.  pmap_pv_page_lock(): the pool's lock, NULL for the other
 * policies (the frame's lock covers the page).
 */
struct rwlock *pmap_pv_page_lock(vm_paddr_t pa);
static inline struct rwlock *
pmap_pv_lock_4k(vm_paddr_t pa)
{
	struct rwlock *l = pmap_pv_page_lock(pa);

	return (l != NULL ? l : pmap_pv_lock(pa));
}
/*
 * Both lists of the page at pa (its own and its frame's 2 MiB list), as
 * the page-centric walks need them: the frame's lock, then the page's.
 */
void pmap_pv_page_wlock(vm_paddr_t pa);
void pmap_pv_page_wunlock(vm_paddr_t pa);
void pmap_pv_page_rlock(vm_paddr_t pa);
void pmap_pv_page_runlock(vm_paddr_t pa);

/*
 * A walk over many mappings (teardown, a prefault run) that carries the
 * pv list lock it holds from one mapping to the next, handing it off only
 * when the next mapping needs another (vm.pmap.pv_batch; FreeBSD's
 * CHANGE_PV_LIST_LOCK).  *heldp: the lock held, or NULL.
 */
static inline void
pmap_pvl_switch(struct rwlock **heldp, struct rwlock *want)
{
	if (*heldp == want)
		return;
	if (*heldp != NULL)
		rw_wunlock(*heldp);
	rw_wlock(want);
	*heldp = want;
}

/*
 * The pv list lock a managed leaf e's removal takes (NULL: unmanaged or
 * invalid); a walk drops the lock it carries when the next leaf's is
 * another, so that it holds a lock only over a run.
 */
static inline struct rwlock *
pmap_leaf_pv_lock(pt_entry_t e)
{
	if ((e & (PG_V | PG_MANAGED)) != (PG_V | PG_MANAGED))
		return (NULL);
	if ((e & PG_PS) != 0)
		return (pmap_pv_lock(e & PG_PS_FRAME));
	return (pmap_pv_lock_4k(e & PG_FRAME));
}

static inline void
pmap_pvl_drop(struct rwlock **heldp)
{
	if (*heldp != NULL) {
		rw_wunlock(*heldp);
		*heldp = NULL;
	}
}
/*
 * A free pv entry of pm (pm locked, no pv list lock held), taking a chunk
 * page or, failing that and `reclaim' set, reclaiming another pmap's
 * least recently used chunk; NULL if none could be had.
 */
struct pv_entry *pmap_pv_alloc(pmap_t pm, bool reclaim);
void pmap_pv_free(pmap_t pm, struct pv_entry *pv);
/*
 * With batching, the chunks that pmap_pv_free() empties while
 * pm->pm_pvc_defer is set go there (off pm's list) instead of to their
 * page; pmap_pv_free_deferred() frees them, taking each LRU list's lock
 * once for all of that list's chunks (FreeBSD's free_pv_chunk_batch);
 * pm still locked (the chunks are still on their LRU lists, where a
 * reclaimer that could lock pm would find them).
 */
void pmap_pv_free_deferred(struct pv_chunk_list *chunks);
/* pv lock held: adds / finds and unlinks (pm, va) on md's list. */
void pmap_pv_link(struct md_page *md, struct pv_entry *pv);
struct pv_entry *pmap_pv_unlink(struct md_page *md, pmap_t pm, vm_offset_t va);
static inline pmap_t
pmap_pv_pmap(struct pv_entry *pv)
{
	return (pv_to_chunk(pv)->pc_pmap);
}
int pmap_pv_init(void);
void pmap_pv_fini(void);
/* Frees every chunk of pm (all entries free); pm locked. */
void pmap_pv_release(pmap_t pm);

/*
 * Table pages freed by a call, freed once its invalidation is done
 * (linked through listq).
 */
void pmap_free_pages(struct pglist *free);

/*
 * Removal of one leaf (pm locked, no pv list lock held by the caller):
 * clears the PTE or 2 MiB PDE `pte' mapping va, moves its dirty and
 * accessed bits to the page(s), frees the pv entry and, for a PTE, drops
 * the PT page's count (freeing tables into `free').  Returns whether the
 * entry was valid.  Used by the reclaim of pv chunks too.
 */
bool pmap_remove_leaf(pmap_t pm, vm_offset_t va, pt_entry_t *pte, bool is_2m,
    struct pglist *free);
/*
 * The same within a walk: `pv', if not NULL, is the leaf's pv entry (the
 * chunk walk of pmap_remove_pages() knows it: no search of the page's
 * list), and with heldp not NULL the pv list lock is taken through
 * pmap_pvl_switch() and left held if `next' (the lock the walk's next
 * leaf takes; NULL: none or unknown) is the same, else released as soon
 * as the list work is done.
 */
bool pmap_remove_leaf_pv(pmap_t pm, vm_offset_t va, pt_entry_t *pte, bool is_2m,
    struct pglist *free, struct pv_entry *pv, struct rwlock **heldp,
    struct rwlock *next);
/* The PD entry (pm locked) of va, or NULL. */
pt_entry_t *pmap_pde(pmap_t pm, vm_offset_t va);
/*
 * Breaks the 2 MiB leaf *pde of va into 512 PTEs (pm locked, no pv lock
 * held); false if it could not, having removed the mapping instead.
 */
bool pmap_demote(
    pmap_t pm, pt_entry_t *pde, vm_offset_t va, struct pglist *free);
/*
 * Clears `bits' of a leaf (of npages pages) with compare-and-swap; when
 * PG_RW goes, a dirty bit cleared with it goes to the pages.  Returns
 * whether the leaf changed.
 */
bool pmap_leaf_clear(pt_entry_t *p, pt_entry_t bits, int npages);

/* TLB and shootdowns (pmap_tlb.c). */
#define PMAP_INVL_ALL ((vm_offset_t)0)
/*
 * Invalidates [sva, eva) of pm everywhere (eva == sva: a full flush of
 * pm), after the caller changed the entries; pm locked.
 */
void pmap_invalidate(pmap_t pm, vm_offset_t sva, vm_offset_t eva);
int pmap_tlb_init(void);
void pmap_tlb_fini(void);
/* A pmap leaving: no CPU may load it again; forget its slots. */
void pmap_tlb_forget(pmap_t pm);

/* Counters and knobs. */
extern counter_u64_t pmap_cnt_shootdowns, pmap_cnt_ipis, pmap_cnt_invl_pages,
    pmap_cnt_full_flushes, pmap_cnt_promotions, pmap_cnt_demotions,
    pmap_cnt_tlb_fills, pmap_cnt_pv_entries, pmap_cnt_pv_reclaims;
extern uint64_t pmap_pv_chunks;	 /* (a) chunks allocated */
extern int pmap_pv_lock_policy;	 /* (c) PMAP_PVL_* */
extern int pmap_pv_lru_policy;	 /* (c) PMAP_LRU_* */
extern int pmap_pv_batch;	 /* (c) vm.pmap.pv_batch */
extern uint64_t pmap_invl_max;	 /* (c) vm.pmap.invl_max_pages */
extern uint32_t pmap_promote_on; /* (a) vm.pmap.promote */
#define PMAP_PVL_GLOBAL 0
#define PMAP_PVL_HASHED 1
#define PMAP_PVL_SUPERPAGE 2
#define PMAP_PVL_PAGE 3
#define PMAP_LRU_GLOBAL 0
#define PMAP_LRU_DOMAIN 1

#endif /* !VMLAB_PMAP_INT_H */
