/*
 * pmap.h: the software MMU (machine-dependent layer of the VM, amd64-like).
 *
 * A pmap is one address space's page tables: 4 levels in the x86-64
 * layout (48-bit addresses, 9 bits per level: PML4, PDP, PD, PT), each
 * table one wired page from vm_phys reached through the direct map.  Leaf
 * entries map 4 KiB (PT) or 2 MiB (PD with PG_PS) frames.  The kernel
 * pmap (kernel_pmap) maps [VM_MIN_KERNEL_ADDRESS, VM_MAX_KERNEL_ADDRESS)
 * with global entries and is active on every CPU; user pmaps map
 * [VM_MIN_USER_ADDRESS, VM_MAX_USER_ADDRESS).
 *
 * The VM calls the pmap (enter/remove/protect/extract/reference and
 * modify bits); the pmap calls back into the VM only through the page
 * (struct md_page inside struct vm_page: the page's pv list) and
 * vm_phys/vm_page for its own table pages.
 *
 * Managed mappings (pages of pageable objects) have a pv entry on the
 * page's pv list, so the page daemon can find and remove every mapping of
 * a page (pmap_remove_all) and collect reference and modify bits.  Pv
 * entries live in per-pmap chunks: one page holding a header, a free
 * bitmap and as many entries as fit; chunks with free entries are on the
 * pmap's list, and every chunk is on an LRU list (vm.pmap.pv_chunk_lru:
 * one global list, or one per domain) from which a pmap short of pages
 * reclaims the least recently used chunk of another pmap.
 *
 * Locks (FreeBSD's names; ranks in docs/LOCKING.md):
 *	"pmap"			a mutex per pmap: its tables, pv chunks,
 *				statistics and pm_active bookkeeping;
 *	"pmap pv list"		the pv list locks, policy vm.pmap.pv_lock:
 *				global	 one rwlock for every page;
 *				hashed	 256 rwlocks hashed by 2 MiB frame,
 *					 two per cache line (FreeBSD before
 *					 r353149);
 *				superpage one rwlock per 2 MiB frame in a
 *					 64-byte entry together with that
 *					 frame's 2 MiB pv list (r353149);
 *	"pmap pv chunk list"	the chunk LRU list(s).
 * Order: pmap, then pv list lock.  A path that holds a pv list lock and
 * needs a pmap (remove_all, ts_referenced, clear_modify) try-locks the
 * pmap; on failure it records the page's pv generation, drops the pv lock,
 * locks the pmap then the pv lock, and starts over if the generation
 * moved.
 *
 * TLB.  Each CPU has a software TLB of 4 KiB and 2 MiB entries tagged by
 * address space (a PCID-like tag), so switching address spaces flushes
 * nothing.  A hit is an inline lookup (pmap_tlb_lookup); a miss walks the
 * tables (pmap_tlb_fill), setting the accessed bit, and for a write the
 * dirty bit, atomically as hardware does.  A pmap is active on a CPU from
 * pmap_activate() until that CPU activates another (kernel threads keep
 * the last user pmap loaded, as Linux's lazy TLB mode); the kernel pmap
 * is active everywhere.
 *
 * Shootdown.  Every operation that removes or weakens a translation
 * (remove, protect, clear_modify, ts_referenced clearing the accessed
 * bit, demotion) invalidates it in the TLBs before it returns: the local
 * CPU directly, the other CPUs where the pmap is active by IPI, waited
 * for; CPUs where it is not active are told through the pmap's
 * generation, which they compare on their next pmap_activate().  One
 * ranged invalidation per call; above vm.pmap.invl_max_pages pages it
 * becomes a full flush of that address space.
 *
 * Superpages.  When pmap_enter() fills the last of the 512 PTEs of a page
 * table whose pages are physically contiguous, 2 MiB-aligned, with equal
 * attributes and a fully populated reservation (vm_reserv_level_iffullpop),
 * the 512 PTEs become one 2 MiB entry (promotion; the table page is kept
 * for demotion).  A remove or protect of part of a 2 MiB mapping first
 * demotes it to 512 PTEs.  A managed 2 MiB mapping has one pv entry on
 * the 2 MiB pv list of its first page's frame.
 *
 * Context of every function: a kernel thread; "may sleep" ones with no
 * lock held except where noted, the others with any sleep mutex.
 */
#ifndef VMLAB_PMAP_H
#define VMLAB_PMAP_H

#include "kern/mutex.h"
#include "kern/queue.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_page;
struct vm_object;

typedef uint64_t pt_entry_t;

/* Entry bits, in the x86-64 positions. */
#define PG_V 0x001ULL	    /* valid */
#define PG_RW 0x002ULL	    /* writable */
#define PG_U 0x004ULL	    /* user */
#define PG_A 0x020ULL	    /* accessed */
#define PG_M 0x040ULL	    /* dirty (modified) */
#define PG_PS 0x080ULL	    /* 2 MiB leaf (in a PD entry) */
#define PG_G 0x100ULL	    /* global (kernel) */
#define PG_W 0x200ULL	    /* wired (software bit) */
#define PG_MANAGED 0x400ULL /* has a pv entry (software bit) */
#define PG_PROMOTED 0x800ULL /* PD: made by promotion (software bit) */
#define PG_NX (1ULL << 63)
#define PG_FRAME 0x000ffffffffff000ULL
#define PG_PS_FRAME 0x000fffffffe00000ULL

#define NPTEPG 512
#define NBPDR ((vm_offset_t)1 << 21) /* bytes a PD entry maps */
#define PDRMASK (NBPDR - 1)

/* Per-page machine-dependent state, inside struct vm_page. */
struct pv_entry;
TAILQ_HEAD(pv_list, pv_entry);
struct md_page {
	struct pv_list pv_list; /* (p) 4 KiB mappings of the page */
	uint32_t pv_gen;	/* (p) bumped on every pv list change */
	uint32_t pv_flags;	/* (p) PV_* */
};
#define PV_WRITEABLE 0x1 /* may have a writable mapping (PGA_WRITEABLE) */

/* A pv entry: one managed mapping (pmap, va) of a page. */
struct pv_entry {
	vm_offset_t pv_va;		 /* (p) */
	TAILQ_ENTRY(pv_entry) pv_next; /* (p) */
};

struct pmap_statistics {
	uint64_t resident_count; /* (m) pages mapped (2 MiB counts 512) */
	uint64_t wired_count;	 /* (m) wired pages mapped */
};

struct pv_chunk;
TAILQ_HEAD(pv_chunk_list, pv_chunk);

struct pmap {
	struct mtx pm_mtx;		       /* "pmap" */
	pt_entry_t *pm_pml4;		       /* (c) top table (direct map) */
	struct vm_page *pm_pml4pg;	       /* (c) its page */
	uint64_t pm_asid;		       /* (c) the TLB tag */
	uint64_t pm_gen;		       /* (a) invalidations so far */
	uint64_t *pm_active;		       /* (a) CPU bitmap, md_ncpus() */
	struct pv_chunk_list pm_pvchunk;       /* (m) chunks with free pvs */
	struct pmap_statistics pm_stats;       /* (m) */
	uint64_t pm_ptpages;		       /* (m) table pages */
	bool pm_kernel;			       /* (c) the kernel pmap */
};
typedef struct pmap *pmap_t;

extern struct pmap kernel_pmap_store;
#define kernel_pmap (&kernel_pmap_store)

#define PMAP_LOCK(pm) mtx_lock(&(pm)->pm_mtx)
#define PMAP_UNLOCK(pm) mtx_unlock(&(pm)->pm_mtx)
#define PMAP_TRYLOCK(pm) mtx_trylock(&(pm)->pm_mtx)

/*
 * Address spaces.  pmap_pinit(): a new empty user pmap (its PML4 page
 * from vm_phys); 0 or ENOMEM.  pmap_release(): frees it; every mapping
 * must be gone (pmap_remove_pages or pmap_remove) and no CPU may be
 * running in it.  pmap_activate(): makes pm the current CPU's user
 * address space (the uaccess path calls it when the running thread's
 * pmap differs from the one loaded).
 */
int pmap_pinit(pmap_t pm);
void pmap_release(pmap_t pm);
void pmap_activate(pmap_t pm);
/* The user pmap loaded on the current CPU, or NULL. */
pmap_t pmap_curpmap(void);

/*
 * Mappings.
 *
 * pmap_enter(): maps m at va with `prot' (VM_PROT_*), wired if
 * PMAP_ENTER_WIRED; replaces an existing mapping of va.  `psind' 1 asks
 * for a 2 MiB mapping of the 512 pages from m (m 2 MiB-aligned
 * physically, va 2 MiB-aligned).  The page is managed unless it belongs
 * to no object or to an OBJT_PHYS object.  PMAP_ENTER_NOSLEEP: return
 * ENOMEM instead of waiting for a table or pv page; otherwise may sleep
 * (no lock held but the page's busy lock and the map lock).  Returns 0 or
 * ENOMEM.  The page is exclusive- or shared-busied by the caller, or
 * wired; a writable mapping of a page marks it PV_WRITEABLE.
 *
 * pmap_enter_quick(): a read-only (or `prot') mapping of m if va has
 * none, never sleeping, never replacing; for prefaulting.
 * pmap_enter_object(): prefaults the resident valid pages of obj (read-
 * locked by the caller) from pindex `pidx' over [start, end), using 2 MiB
 * mappings where a fully populated reservation allows.
 */
#define PMAP_ENTER_WIRED 0x100
#define PMAP_ENTER_NOSLEEP 0x200
int pmap_enter(pmap_t pm, vm_offset_t va, struct vm_page *m, vm_prot_t prot,
    unsigned flags, int psind);
void pmap_enter_quick(
    pmap_t pm, vm_offset_t va, struct vm_page *m, vm_prot_t prot);
void pmap_enter_object(pmap_t pm, vm_offset_t start, vm_offset_t end,
    struct vm_object *obj, vm_pindex_t pidx, vm_prot_t prot);

/*
 * pmap_remove(): removes every mapping in [sva, eva) (page-aligned), with
 * one invalidation (ranged, or a full flush above the threshold).
 * pmap_remove_all(): removes every mapping of m from every pmap (the page
 * daemon before freeing or laundering a mapped page), transferring the
 * dirty bits to the page (m->dirty).  pmap_remove_pages(): removes every
 * user mapping of pm, walking its pv chunks a chunk at a time (exit);
 * one full flush.
 * pmap_protect(): lowers the protection of [sva, eva) to `prot' (no
 * read: remove; no write: write-protect, transferring dirty bits).
 * pmap_unwire(): clears the wired bit over [sva, eva).
 */
void pmap_remove(pmap_t pm, vm_offset_t sva, vm_offset_t eva);
void pmap_remove_all(struct vm_page *m);
void pmap_remove_pages(pmap_t pm);
void pmap_protect(
    pmap_t pm, vm_offset_t sva, vm_offset_t eva, vm_prot_t prot);
void pmap_unwire(pmap_t pm, vm_offset_t sva, vm_offset_t eva);
/* Write-protects every mapping of m (before a page is laundered). */
void pmap_remove_write(struct vm_page *m);

/*
 * Queries.  pmap_extract(): the physical address va maps to, 0 if none.
 * pmap_extract_and_hold(): the page va maps with at least `prot', wired
 * for the caller (vm_page_unwire when done), or NULL.
 * pmap_is_modified(): whether any mapping of m has the dirty bit.
 * pmap_clear_modify(): clears the dirty bits of m's mappings.
 * pmap_ts_referenced(): counts the accessed bits of m's mappings and
 * clears them (the page daemon's reference test); at most PMAP_TS_REFERENCED_MAX.
 * pmap_page_is_mapped(): m has a managed mapping.
 * pmap_is_prefaultable(): va has no mapping yet.
 */
vm_paddr_t pmap_extract(pmap_t pm, vm_offset_t va);
struct vm_page *pmap_extract_and_hold(
    pmap_t pm, vm_offset_t va, vm_prot_t prot);
bool pmap_is_modified(struct vm_page *m);
void pmap_clear_modify(struct vm_page *m);
#define PMAP_TS_REFERENCED_MAX 5
int pmap_ts_referenced(struct vm_page *m);
bool pmap_page_is_mapped(struct vm_page *m);
bool pmap_is_prefaultable(pmap_t pm, vm_offset_t va);
/* The kernel pmap's mapping of va as a direct-map address, or NULL. */
void *pmap_kextract_dmap(vm_offset_t va);

/*
 * The software TLB (the hit path is inline for uaccess).
 *
 * pmap_tlb_lookup(): the host address of va in the current CPU's loaded
 * address space (or the kernel's, for kernel addresses) if the TLB holds
 * a translation allowing `access' (VM_PROT_READ or VM_PROT_WRITE; a write
 * hit needs the dirty bit already set); NULL on a miss.  Polls for IPIs
 * first, so the translation used is current as of the poll and an access
 * made right after it happens before any later shootdown completes.
 * pmap_tlb_fill(): the miss path: walks pm's tables, sets the accessed
 * (and for a write the dirty) bit atomically, fills the TLB and returns
 * the host address; NULL when no valid translation allows `access' (the
 * caller then faults).
 */
void *pmap_tlb_lookup(vm_offset_t va, vm_prot_t access);
void *pmap_tlb_fill(pmap_t pm, vm_offset_t va, vm_prot_t access);

/*
 * Consistency (checkers, tests): every valid managed PTE of pm has
 * exactly one pv entry and every pv entry of pm a matching PTE; resident
 * and wired counts match the tables; table pages are accounted.  Locks pm.
 * Returns violations, each printed once.  pmap_check_page(): every pv
 * entry of m points at a PTE mapping m.
 */
int pmap_check(pmap_t pm);
int pmap_check_page(struct vm_page *m);

/* Boot (vm_boot.c): after vm_page, before the objects. */
int pmap_tunables(void);
int pmap_init(void);
void pmap_fini(void);

#endif /* !VMLAB_PMAP_H */
