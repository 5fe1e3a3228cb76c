/*
 * pmap_pv.c: pv entries, their chunks, the chunk LRU lists and the pv
 * list locks (policies in pmap.h; invariants in pmap_int.h).
 *
 * Reclaim (FreeBSD's reclaim_pv_chunk(), simplified).  When no page can
 * be had for a new chunk:
 *	1. walk an LRU list from its least recently used end, skipping the
 *	   caller's own chunks and those whose pmap cannot be try-locked;
 *	2. take the chunk off the list (it is then out of reach: its pmap is
 *	   locked by us and nobody else finds it) and drop the list lock;
 *	3. remove every 4 KiB mapping of the chunk that is not wired (2 MiB
 *	   mappings and wired ones stay), flush that pmap, free its emptied
 *	   page tables;
 *	4. if the chunk is now empty, hand its page to the caller;
 *	   otherwise put it back at the most recently used end and go on.
 * The lists are tried starting with the current CPU's domain.
 *
 * Locking key: (c) constant after pmap_pv_init(); (l) the LRU list's
 * lock; (p), (v) as in pmap.h.
 */
#include "kern/kassert.h"
#include "kern/mutex.h"
#include "pmap/pmap_int.h"
#include "vm/vm_phys.h"

#include <errno.h>
#include <string.h>

#define PV_HASH_LOCKS 256

/* The superpage policy's entry: a frame's lock and 2 MiB pv list. */
struct pmap_large_md_page {
	struct rwlock pvl_lock;
	struct md_page pvl_md;
} __attribute__((aligned(MD_CACHE_LINE)));

struct pmap_pvc_lru {
	struct mtx lru_mtx;		 /* "pmap pv chunk list" */
	struct pv_chunk_list lru_chunks; /* (l) least recently used first */
} __attribute__((aligned(MD_CACHE_LINE)));

/* The page policy's pool entry: a page's lock on a line of its own. */
struct pmap_page_pvl {
	struct rwlock ppl_lock;
} __attribute__((aligned(MD_CACHE_LINE)));
#define PV_PAGE_LOCKS_MAX 65536

static struct rwlock pv_global_lock;	    /* global policy */
static struct pmap_page_pvl *pv_page_locks; /* (c) page policy */
static uint64_t pv_page_mask;		    /* (c) pool size - 1 */
static struct rwlock *pv_hash_locks;	    /* (c) hashed policy */
static struct pmap_large_md_page *pv_large; /* (c) superpage policy */
static struct md_page *pv_table;	    /* (c) other policies */
static uint64_t pv_nframes;		    /* (c) 2 MiB frames */
static struct pmap_pvc_lru *pv_lru;	    /* (c) */
static int pv_nlru;			    /* (c) */

uint64_t pmap_pv_chunks;

static const uint64_t pc_freemask[PV_NMAPW] = { ~0ull, ~0ull,
	(1ull << (PV_NPCPV - 128)) - 1 };

struct rwlock *
pmap_pv_lock(vm_paddr_t pa)
{
	switch (pmap_pv_lock_policy) {
	case PMAP_PVL_GLOBAL:
		return (&pv_global_lock);
	case PMAP_PVL_HASHED:
		return (&pv_hash_locks[(pa >> PDRSHIFT) % PV_HASH_LOCKS]);
	default:
		return (&pv_large[pa >> PDRSHIFT].pvl_lock);
	}
}

struct md_page *
pmap_pvh(vm_paddr_t pa)
{
	if (pv_large != NULL)
		return (&pv_large[pa >> PDRSHIFT].pvl_md);
	return (&pv_table[pa >> PDRSHIFT]);
}

struct rwlock *
pmap_pv_page_lock(vm_paddr_t pa)
{
	if (pv_page_locks == NULL)
		return (NULL);
	return (&pv_page_locks[(pa >> PAGE_SHIFT) & pv_page_mask].ppl_lock);
}

void
pmap_pv_page_wlock(vm_paddr_t pa)
{
	struct rwlock *pl = pmap_pv_page_lock(pa);

	rw_wlock(pmap_pv_lock(pa));
	if (pl != NULL)
		rw_wlock(pl);
}

void
pmap_pv_page_wunlock(vm_paddr_t pa)
{
	struct rwlock *pl = pmap_pv_page_lock(pa);

	if (pl != NULL)
		rw_wunlock(pl);
	rw_wunlock(pmap_pv_lock(pa));
}

void
pmap_pv_page_rlock(vm_paddr_t pa)
{
	struct rwlock *pl = pmap_pv_page_lock(pa);

	rw_rlock(pmap_pv_lock(pa));
	if (pl != NULL)
		rw_rlock(pl);
}

void
pmap_pv_page_runlock(vm_paddr_t pa)
{
	struct rwlock *pl = pmap_pv_page_lock(pa);

	if (pl != NULL)
		rw_runlock(pl);
	rw_runlock(pmap_pv_lock(pa));
}

static void
pmap_md_init(struct md_page *md)
{
	TAILQ_INIT(&md->pv_list);
	md->pv_gen = 0;
	md->pv_flags = 0;
}

static struct pmap_pvc_lru *
pmap_pvc_lru_of(struct pv_chunk *pc)
{
	struct vm_page *m;

	if (pmap_pv_lru_policy == PMAP_LRU_GLOBAL)
		return (&pv_lru[0]);
	m = PHYS_TO_VM_PAGE((vm_paddr_t)((uint8_t *)pc - md_phys_base()));
	return (&pv_lru[m->domain]);
}

void
pmap_pv_link(struct md_page *md, struct pv_entry *pv)
{
	TAILQ_INSERT_TAIL(&md->pv_list, pv, pv_next);
	md->pv_gen++;
}

struct pv_entry *
pmap_pv_unlink(struct md_page *md, pmap_t pm, vm_offset_t va)
{
	struct pv_entry *pv;

	TAILQ_FOREACH (pv, &md->pv_list, pv_next) {
		if (pv->pv_va == va && pmap_pv_pmap(pv) == pm) {
			TAILQ_REMOVE(&md->pv_list, pv, pv_next);
			md->pv_gen++;
			return (pv);
		}
	}
	return (NULL);
}

/* Moves pc to the most recently used end of its LRU list. */
static void
pmap_pvc_touch(struct pv_chunk *pc, bool insert)
{
	struct pmap_pvc_lru *lru = pmap_pvc_lru_of(pc);

	mtx_lock(&lru->lru_mtx);
	if (!insert)
		TAILQ_REMOVE(&lru->lru_chunks, pc, pc_lru);
	TAILQ_INSERT_TAIL(&lru->lru_chunks, pc, pc_lru);
	mtx_unlock(&lru->lru_mtx);
}

/* Takes a free entry of pc (which has one). */
static struct pv_entry *
pmap_pvc_take(pmap_t pm, struct pv_chunk *pc)
{
	int w, bit;

	for (w = 0; w < PV_NMAPW; w++)
		if (pc->pc_map[w] != 0)
			break;
	VM_ASSERT(w < PV_NMAPW, ("%s: chunk %p full", __func__, (void *)pc));
	bit = __builtin_ctzll(pc->pc_map[w]);
	pc->pc_map[w] &= ~(1ull << bit);
	if (pc->pc_map[0] == 0 && pc->pc_map[1] == 0 && pc->pc_map[2] == 0) {
		/* Full: behind the chunks with free entries. */
		TAILQ_REMOVE(&pm->pm_pvchunk, pc, pc_list);
		TAILQ_INSERT_TAIL(&pm->pm_pvchunk, pc, pc_list);
	}
	/* Per CPU: no shared line, held pv lock or not. */
	counter_u64_add(pmap_cnt_pv_entries, 1);
	return (&pc->pc_pventry[w * 64 + bit]);
}

static bool
pmap_pvc_is_empty(const struct pv_chunk *pc)
{
	return (pc->pc_map[0] == pc_freemask[0] &&
	    pc->pc_map[1] == pc_freemask[1] && pc->pc_map[2] == pc_freemask[2]);
}

static struct vm_page *pmap_pv_reclaim(pmap_t locked);

struct pv_entry *
pmap_pv_alloc(pmap_t pm, bool reclaim)
{
	struct pv_chunk *pc;
	struct vm_page *m;

	mtx_assert_owned(&pm->pm_mtx);
	/*
	 * An entry of a chunk the pmap has leaves the LRU list alone: the
	 * list orders chunks by creation (and by reclaim's requeue), as
	 * FreeBSD's pv_chunks, and its lock is taken per chunk, not per
	 * mapping.
	 */
	pc = TAILQ_FIRST(&pm->pm_pvchunk);
	if (pc != NULL && pmap_pvc_has_free(pc))
		return (pmap_pvc_take(pm, pc));
	m = vm_page_alloc_noobj(VM_ALLOC_NORMAL);
	if (m == NULL && reclaim)
		m = pmap_pv_reclaim(pm);
	if (m == NULL)
		return (NULL);
	pc = (struct pv_chunk *)vm_page_dmap(m);
	pc->pc_pmap = pm;
	pc->pc_reclaimed = false;
	memcpy(pc->pc_map, pc_freemask, sizeof(pc->pc_map));
	TAILQ_INSERT_HEAD(&pm->pm_pvchunk, pc, pc_list);
	pmap_pvc_touch(pc, true);
	atomic_add_64(&pmap_pv_chunks, 1);
	return (pmap_pvc_take(pm, pc));
}

/* Takes pc off its lists and frees its page. */
static void
pmap_pvc_free(pmap_t pm, struct pv_chunk *pc)
{
	struct pmap_pvc_lru *lru = pmap_pvc_lru_of(pc);
	struct vm_page *m;

	TAILQ_REMOVE(&pm->pm_pvchunk, pc, pc_list);
	mtx_lock(&lru->lru_mtx);
	TAILQ_REMOVE(&lru->lru_chunks, pc, pc_lru);
	mtx_unlock(&lru->lru_mtx);
	atomic_add_64(&pmap_pv_chunks, (uint64_t)-1);
	m = PHYS_TO_VM_PAGE((vm_paddr_t)((uint8_t *)pc - md_phys_base()));
	vm_page_free(m);
}

void
pmap_pv_free(pmap_t pm, struct pv_entry *pv)
{
	struct pv_chunk *pc = pv_to_chunk(pv);
	int idx = (int)(pv - pc->pc_pventry);
	bool was_full;

	mtx_assert_owned(&pm->pm_mtx);
	VM_ASSERT(pc->pc_pmap == pm &&
		(pc->pc_map[idx / 64] & (1ull << (idx % 64))) == 0,
	    ("%s: pv %p of chunk %p (pmap %p) is not pmap %p's or is free",
		__func__, (void *)pv, (void *)pc, (void *)pc->pc_pmap,
		(void *)pm));
	was_full = !pmap_pvc_has_free(pc);
	pc->pc_map[idx / 64] |= 1ull << (idx % 64);
	counter_u64_add(pmap_cnt_pv_entries, -1);
	/*
	 * A chunk being reclaimed (off its LRU list) is the reclaimer's.
	 * The flag, not the list linkage: other pmaps' LRU moves write our
	 * linkage under the LRU lock, which we do not hold.
	 */
	if (pc->pc_reclaimed)
		return;
	if (pmap_pvc_is_empty(pc)) {
		if (pm->pm_pvc_defer != NULL) {
			TAILQ_REMOVE(&pm->pm_pvchunk, pc, pc_list);
			TAILQ_INSERT_TAIL(pm->pm_pvc_defer, pc, pc_list);
			return;
		}
		pmap_pvc_free(pm, pc);
		return;
	}
	if (was_full) {
		TAILQ_REMOVE(&pm->pm_pvchunk, pc, pc_list);
		TAILQ_INSERT_HEAD(&pm->pm_pvchunk, pc, pc_list);
	}
}

void
pmap_pv_free_deferred(struct pv_chunk_list *chunks)
{
	struct pmap_pvc_lru *lru;
	struct pv_chunk *pc, *next;
	struct pv_chunk_list same;
	struct vm_page *m;

	while ((pc = TAILQ_FIRST(chunks)) != NULL) {
		/* Every chunk of pc's LRU list, off it under one hold. */
		lru = pmap_pvc_lru_of(pc);
		TAILQ_INIT(&same);
		mtx_lock(&lru->lru_mtx);
		for (; pc != NULL; pc = next) {
			next = TAILQ_NEXT(pc, pc_list);
			if (pmap_pvc_lru_of(pc) != lru)
				continue;
			TAILQ_REMOVE(chunks, pc, pc_list);
			TAILQ_REMOVE(&lru->lru_chunks, pc, pc_lru);
			TAILQ_INSERT_TAIL(&same, pc, pc_list);
		}
		mtx_unlock(&lru->lru_mtx);
		while ((pc = TAILQ_FIRST(&same)) != NULL) {
			TAILQ_REMOVE(&same, pc, pc_list);
			atomic_add_64(&pmap_pv_chunks, (uint64_t)-1);
			m = PHYS_TO_VM_PAGE(
			    (vm_paddr_t)((uint8_t *)pc - md_phys_base()));
			vm_page_free(m);
		}
	}
}

/*
 * Step 3 of the reclaim: removes pc's unwired 4 KiB mappings; true if
 * the chunk is empty after it (then it is off pm's list too).
 */
static bool
pmap_pv_reclaim_chunk(pmap_t pm, struct pv_chunk *pc)
{
	struct pglist free;
	pt_entry_t *pde, *pte;
	vm_offset_t va;
	int i;
	bool removed = false;

	TAILQ_INIT(&free);
	for (i = 0; i < PV_NPCPV; i++) {
		if ((pc->pc_map[i / 64] & (1ull << (i % 64))) != 0)
			continue;
		va = pc->pc_pventry[i].pv_va;
		pde = pmap_pde(pm, va);
		if (pde == NULL || (*pde & PG_PS) != 0)
			continue;
		pte = &pmap_dmap_pt(*pde)[PMAP_IDX(va, PAGE_SHIFT)];
		if ((atomic_load_64(pte) & PG_W) != 0)
			continue;
		removed |= pmap_remove_leaf(pm, va, pte, false, &free);
	}
	if (removed)
		pmap_invalidate(pm, PMAP_INVL_ALL, PMAP_INVL_ALL);
	pmap_free_pages(&free);
	if (!pmap_pvc_is_empty(pc))
		return (false);
	TAILQ_REMOVE(&pm->pm_pvchunk, pc, pc_list);
	atomic_add_64(&pmap_pv_chunks, (uint64_t)-1);
	return (true);
}

/* Steps 1-4 on one LRU list; the emptied chunk's page, or NULL. */
static struct vm_page *
pmap_pv_reclaim_list(struct pmap_pvc_lru *lru, pmap_t locked)
{
	struct pv_chunk *pc;
	pmap_t pm;
	int tries;
	bool empty;

	mtx_lock(&lru->lru_mtx);
	pc = TAILQ_FIRST(&lru->lru_chunks);
	for (tries = 0; pc != NULL && tries < 64; tries++) {
		pm = pc->pc_pmap;
		/* Try-lock: another pmap's lock may not be waited for. */
		if (pm == locked || !PMAP_TRYLOCK(pm)) {
			pc = TAILQ_NEXT(pc, pc_lru);
			continue;
		}
		TAILQ_REMOVE(&lru->lru_chunks, pc, pc_lru);
		pc->pc_reclaimed = true;
		mtx_unlock(&lru->lru_mtx);
		counter_u64_add(pmap_cnt_pv_reclaims, 1);
		empty = pmap_pv_reclaim_chunk(pm, pc);
		if (!empty) {
			pc->pc_reclaimed = false;
			pmap_pvc_touch(pc, true);
		}
		PMAP_UNLOCK(pm);
		if (empty)
			return (PHYS_TO_VM_PAGE(
			    (vm_paddr_t)((uint8_t *)pc - md_phys_base())));
		mtx_lock(&lru->lru_mtx);
		/* The list moved while it was unlocked: start over. */
		pc = TAILQ_FIRST(&lru->lru_chunks);
	}
	mtx_unlock(&lru->lru_mtx);
	return (NULL);
}

static struct vm_page *
pmap_pv_reclaim(pmap_t locked)
{
	struct vm_page *m;
	int first, i, cpu = md_curcpu();

	first = pv_nlru == 1 || cpu < 0 ? 0 : md_cpu_domain(cpu) % pv_nlru;
	for (i = 0; i < pv_nlru; i++) {
		m = pmap_pv_reclaim_list(
		    &pv_lru[(first + i) % pv_nlru], locked);
		if (m != NULL)
			return (m);
	}
	return (NULL);
}

void
pmap_pv_release(pmap_t pm)
{
	struct pv_chunk *pc;

	while ((pc = TAILQ_FIRST(&pm->pm_pvchunk)) != NULL) {
		VM_ASSERT(pmap_pvc_is_empty(pc),
		    ("%s: pmap %p chunk %p has pv entries in use", __func__,
			(void *)pm, (void *)pc));
		pmap_pvc_free(pm, pc);
	}
}

static int
pmap_pv_locks_init(void)
{
	uint64_t i, n;

	switch (pmap_pv_lock_policy) {
	case PMAP_PVL_GLOBAL:
		rw_init(&pv_global_lock, "pmap pv list");
		break;
	case PMAP_PVL_HASHED:
		pv_hash_locks =
		    md_calloc(PV_HASH_LOCKS, sizeof(*pv_hash_locks));
		if (pv_hash_locks == NULL)
			return (ENOMEM);
		for (i = 0; i < PV_HASH_LOCKS; i++)
			rw_init(&pv_hash_locks[i], "pmap pv list");
		break;
	default:
		pv_large = md_aligned_alloc(
		    MD_CACHE_LINE, pv_nframes * sizeof(*pv_large));
		if (pv_large == NULL)
			return (ENOMEM);
		for (i = 0; i < pv_nframes; i++) {
			rw_init(&pv_large[i].pvl_lock, "pmap pv list");
			pmap_md_init(&pv_large[i].pvl_md);
		}
		break;
	}
	if (pmap_pv_lock_policy != PMAP_PVL_PAGE)
		return (0);
	/* A power of two covering every page, up to the cap. */
	for (n = 1; n < vm_page_array_size && n < PV_PAGE_LOCKS_MAX; n <<= 1)
		;
	pv_page_locks =
	    md_aligned_alloc(MD_CACHE_LINE, n * sizeof(*pv_page_locks));
	if (pv_page_locks == NULL)
		return (ENOMEM);
	pv_page_mask = n - 1;
	for (i = 0; i < n; i++)
		rw_init(&pv_page_locks[i].ppl_lock, "pmap pv list");
	return (0);
}

int
pmap_pv_init(void)
{
	uint64_t i;
	int error;

	pv_nframes = howmany(vm_phys_end, NBPDR);
	atomic_store_64(&pmap_pv_chunks, 0);
	for (i = 0; i < vm_page_array_size; i++)
		pmap_md_init(&vm_page_array[i].md);
	if (pmap_pv_lock_policy < PMAP_PVL_SUPERPAGE) {
		pv_table = md_calloc(pv_nframes, sizeof(*pv_table));
		if (pv_table == NULL)
			return (ENOMEM);
		for (i = 0; i < pv_nframes; i++)
			pmap_md_init(&pv_table[i]);
	}
	pv_nlru = pmap_pv_lru_policy == PMAP_LRU_GLOBAL ? 1 : md_ndomains();
	pv_lru =
	    md_aligned_alloc(MD_CACHE_LINE, (size_t)pv_nlru * sizeof(*pv_lru));
	if (pv_lru != NULL)
		memset(pv_lru, 0, (size_t)pv_nlru * sizeof(*pv_lru));
	if (pv_lru == NULL || (error = pmap_pv_locks_init()) != 0) {
		pmap_pv_fini();
		return (ENOMEM);
	}
	for (i = 0; i < (uint64_t)pv_nlru; i++) {
		mtx_init(&pv_lru[i].lru_mtx, "pmap pv chunk list", MTX_DEF);
		TAILQ_INIT(&pv_lru[i].lru_chunks);
	}
	return (0);
}

void
pmap_pv_fini(void)
{
	uint64_t i;

	if (pv_lru != NULL && pv_lru[0].lru_mtx.lock_object.lo_name != NULL)
		for (i = 0; i < (uint64_t)pv_nlru; i++)
			mtx_destroy(&pv_lru[i].lru_mtx);
	md_free(pv_lru);
	pv_lru = NULL;
	if (pv_global_lock.lock_object.lo_name != NULL)
		rw_destroy(&pv_global_lock);
	memset(&pv_global_lock, 0, sizeof(pv_global_lock));
	if (pv_hash_locks != NULL)
		for (i = 0; i < PV_HASH_LOCKS; i++)
			rw_destroy(&pv_hash_locks[i]);
	md_free(pv_hash_locks);
	pv_hash_locks = NULL;
	if (pv_page_locks != NULL)
		for (i = 0; i <= pv_page_mask; i++)
			rw_destroy(&pv_page_locks[i].ppl_lock);
	md_free(pv_page_locks);
	pv_page_locks = NULL;
	if (pv_large != NULL)
		for (i = 0; i < pv_nframes; i++)
			rw_destroy(&pv_large[i].pvl_lock);
	md_free(pv_large);
	pv_large = NULL;
	md_free(pv_table);
	pv_table = NULL;
}
