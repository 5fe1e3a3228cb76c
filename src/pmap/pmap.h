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
 * bitmap and as many entries as fit (167); every chunk is on the pmap's
 * list (those with free entries first) and on an LRU list
 * (vm.pmap.pv_chunk_lru: one global list, or one per domain of the
 * chunk's page, ordered by creation as FreeBSD's pv_chunks, taking
 * entries does not move a chunk) from which a pmap short of pages
 * reclaims the oldest chunk of another pmap (its unwired 4 KiB mappings
 * go, and the chunk goes to the young end if it keeps some).
 * Statistics vm.pmap.pv_entries and vm.pmap.pv_chunks count them.
 *
 * Locks (FreeBSD's names; ranks in docs/LOCKING.md):
 *	"pmap"			a mutex per pmap: its tables, pv chunks,
 *				statistics and pm_active bookkeeping;
 *	"pmap pv list"		the pv list locks, policy vm.pmap.pv_lock:
 *				global	 one rwlock for every page;
 *				hashed	 256 rwlocks hashed by 2 MiB frame,
 *					 packed in one array (FreeBSD before
 *					 r353149 fits two 32-byte rwlocks
 *					 per line; ours are 72 bytes, so
 *					 neighbours share lines the same
 *					 way);
 *				superpage one rwlock per 2 MiB frame in a
 *					 64-byte aligned entry together
 *					 with that frame's 2 MiB pv list
 *					 (r353149; 128 bytes here);
 *				page	 as superpage for the 2 MiB lists,
 *					 and each 4 KiB pv list under a
 *					 lock of its own page (a pool of
 *					 rwlocks hashed by page, one per
 *					 cache line, the same name): the
 *					 step the r353149 review proposes
 *					 ("a bit-sized spinlock embedded
 *					 in pv_gen"), as a sleep lock;
 *				with vm.pmap.pv_batch walks over many
 *				mappings carry the lock from one mapping to
 *				the next and emptied pv chunks are freed in
 *				bulk per LRU list (D21832);
 *	"pmap pv chunk list"	the chunk LRU list(s).
 * Order: pmap, then pv list lock; with the page policy a page-centric
 * walk takes the frame's lock, then the page's (a mapping's own path
 * takes only the one its list needs).  A path that holds a pv list lock and
 * needs a pmap (remove_all, ts_referenced, clear_modify, remove_write)
 * try-locks the pmap; on failure it records the pv generations of the
 * page and of its 2 MiB frame, drops the pv lock, locks the pmap then the
 * pv lock(s), and starts over if either generation moved.  At most one
 * pv list lock is held at a time, except the page policy's frame-then-page
 * pair; the chunk list locks are leaves.
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
 * ranged invalidation per call; above vm.pmap.invl_max_pages pages
 * (default 4095: FreeBSD amd64 flushes whole from 4096 pages) it becomes
 * a full flush of that address space.  Counters: vm.pmap.shootdowns,
 * ipis, invalidated_pages, full_flushes, promotions, demotions,
 * tlb_fills.
 *
 * Superpages.  When pmap_enter() fills the last of the 512 PTEs of a page
 * table whose pages are physically contiguous, 2 MiB-aligned, with equal
 * attributes (accessed and dirty included) and a fully populated
 * reservation (vm_reserv_level_iffullpop), the 512 PTEs become one 2 MiB
 * entry (promotion, if vm.pmap.promote, which may change at run time; the
 * table page is kept for demotion).  A remove, protect or unwire of part
 * of a 2 MiB mapping first demotes it to 512 PTEs, as do remove_all,
 * remove_write and clear_modify of a page inside it.  A managed 2 MiB
 * mapping has one pv entry on the 2 MiB pv list of its first page's
 * frame.
 *
 * Context of every function: a kernel thread; "may sleep" ones with no
 * lock held except where noted, the others with any sleep mutex (ranked
 * below "pmap", such as the object lock).  Only pmap_enter() without
 * PMAP_ENTER_NOSLEEP sleeps (vm_wait).  Shootdowns wait for IPIs, so no
 * function may be called with a spin lock held.
 */
#ifndef VMLAB_PMAP_H
#define VMLAB_PMAP_H

#include "kern/mutex.h"
#include "kern/queue.h"
#include "md/md.h"
#include "vm/vm_param.h"
#include "vm/vm_radix.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_page;
struct vm_object;

typedef uint64_t pt_entry_t;

/* Entry bits, in the x86-64 positions. */
#define PG_V 0x001ULL	     /* valid */
#define PG_RW 0x002ULL	     /* writable */
#define PG_U 0x004ULL	     /* user */
#define PG_A 0x020ULL	     /* accessed */
#define PG_M 0x040ULL	     /* dirty (modified) */
#define PG_PS 0x080ULL	     /* 2 MiB leaf (in a PD entry) */
#define PG_G 0x100ULL	     /* global (kernel) */
#define PG_W 0x200ULL	     /* wired (software bit) */
#define PG_MANAGED 0x400ULL  /* has a pv entry (software bit) */
#define PG_PROMOTED 0x800ULL /* PD: made by promotion (software bit) */
#define PG_NX (1ULL << 63)
#define PG_FRAME 0x000ffffffffff000ULL
#define PG_PS_FRAME 0x000fffffffe00000ULL

#define NPTEPG 512
#define NBPDR ((vm_offset_t)1 << 21) /* bytes a PD entry maps */
#define PDRMASK (NBPDR - 1)

/*
 * Per-page machine-dependent state, inside struct vm_page, and the 2 MiB
 * pv list of each 2 MiB frame (pmap_pvh() in pmap_int.h).
 * Locking key: (v) the pv list lock of the page's 2 MiB frame.
 */
struct pv_entry;
TAILQ_HEAD(pv_list, pv_entry);
struct md_page {
	struct pv_list pv_list; /* (v) 4 KiB mappings of the page */
	uint32_t pv_gen;	/* (v) bumped on every pv list change */
	uint32_t pv_flags;	/* (v) PV_* */
};
#define PV_WRITEABLE 0x1 /* may have a writable mapping (PGA_WRITEABLE) */

/*
 * A pv entry: one managed mapping (pmap, va) of a page.  Its pmap is the
 * owner of the pv chunk (page) the entry lives in.
 */
struct pv_entry {
	vm_offset_t pv_va;	       /* (p) */
	TAILQ_ENTRY(pv_entry) pv_next; /* (v) the page's pv list */
};

/* Locking key of struct pmap: (p) the pmap lock; (c), (a) as STYLE.md. */
struct pmap_statistics {
	uint64_t resident_count; /* (p) pages mapped (2 MiB counts 512) */
	uint64_t wired_count;	 /* (p) wired pages mapped */
};

struct pv_chunk;
TAILQ_HEAD(pv_chunk_list, pv_chunk);

struct pmap {
	struct mtx pm_mtx;		 /* "pmap" */
	pt_entry_t *pm_pml4;		 /* (p,a) top table (direct map); the
					    kernel's is made on first use */
	struct vm_page *pm_pml4pg;	 /* (p) its page */
	uint64_t pm_asid;		 /* (c) the TLB tag, never reused */
	uint64_t pm_gen;		 /* (a) invalidations so far */
	uint64_t *pm_active;		 /* (a) CPU bitmap, md_ncpus() */
	struct pv_chunk_list pm_pvchunk; /* (p) its pv chunks, those with
					    free entries first */
	struct vm_radix pm_root;	 /* (p) page tables kept by promotion,
					    keyed by va >> 21 */
	struct pmap_statistics pm_stats; /* (p) */
	uint64_t pm_ptpages;		 /* (p) table pages (PML4 included) */
	uint32_t pm_pvwait;		 /* (a) page-centric paths about to
					    lock it (pmap_release waits) */
	struct pv_chunk_list *pm_pvc_defer; /* (p) emptied chunks go here
					    (pmap_pv_free_deferred) */
	bool pm_kernel;			    /* (c) the kernel pmap */
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
 * running in it.  CPUs that keep it loaded lazily are made to drop it
 * (an IPI to every CPU), and it waits for page-centric paths that were
 * about to lock it (pm_pvwait): after it returns the struct may be freed.
 * pmap_activate(): makes pm the current CPU's user address space (the
 * uaccess path calls it when the running thread's pmap differs from the
 * one loaded); it never sleeps.
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
 * ENOMEM.  The low bits of `flags' may carry the access that faulted
 * (VM_PROT_*, as FreeBSD's): any access presets the accessed bit, a write
 * the dirty bit.  The page is exclusive- or shared-busied by the caller, or
 * wired; a writable mapping of a page marks it PV_WRITEABLE.
 *
 * pmap_enter_quick(): a mapping of m with `prot' less write access (a
 * first write faults and sets the dirty bit, as FreeBSD's) if va has
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
/*
 * pmap_enter_quick() of n pages (a prefault run, ascending addresses).
 * With vm.pmap.pv_batch the pmap lock is taken once and the pv list lock
 * is carried from one page to the next while they share it.
 */
void pmap_enter_quick_run(pmap_t pm, const vm_offset_t *va, struct vm_page **m,
    int n, vm_prot_t prot);
void pmap_enter_object(pmap_t pm, vm_offset_t start, vm_offset_t end,
    struct vm_object *obj, vm_pindex_t pidx, vm_prot_t prot);

/*
 * pmap_remove(): removes every mapping in [sva, eva) (page-aligned), with
 * one invalidation (ranged, or a full flush above the threshold).
 * pmap_remove_all(): removes every mapping of m from every pmap (the page
 * daemon before freeing or laundering a mapped page), transferring the
 * dirty bits to the page (m->dirty).  The pmap never calls a pager: it
 * only sets m->dirty, and the VM, which asks pmap_is_modified() or
 * removes the mappings before deciding a page's fate, releases the
 * pager's copy of a page it finds dirty.  pmap_remove_pages(): removes
 * the managed unwired mappings of pm, walking its pv chunks a chunk at a
 * time (exit), with one full flush; wired and unmanaged mappings stay
 * for the map's removal (pmap_remove), which unwires through them, as in
 * FreeBSD.
 * pmap_protect(): lowers the protection of [sva, eva) to `prot' (no
 * read: remove; no write: write-protect, transferring dirty bits).
 * pmap_unwire(): clears the wired bit over [sva, eva).
 */
void pmap_remove(pmap_t pm, vm_offset_t sva, vm_offset_t eva);
void pmap_remove_all(struct vm_page *m);
void pmap_remove_pages(pmap_t pm);
void pmap_protect(pmap_t pm, vm_offset_t sva, vm_offset_t eva, vm_prot_t prot);
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
 * pmap_tlb_fill(): the miss path (pm: the thread's user pmap, activated
 * on this CPU first if it is not the loaded one; kernel addresses always
 * use the kernel pmap): walks pm's tables, sets the accessed
 * (and for a write the dirty) bit atomically, fills the TLB and returns
 * the host address; NULL when no valid translation allows `access' (the
 * caller then faults).
 */
void *pmap_tlb_fill(pmap_t pm, vm_offset_t va, vm_prot_t access);

/*
 * The TLB of one CPU (x: only that CPU touches it, IPI handlers included,
 * which run on it).  Entries are direct-mapped: 4 KiB ones by va's page
 * number, 2 MiB ones by its 2 MiB frame number.  An entry's key is the
 * page (or frame) number shifted left by PMAP_TLB_SLOTBITS, or'ed with
 * the address-space slot (PCID-like): slot 0 is the kernel's, slots 1 ..
 * PMAP_TLB_NSLOT hold user pmaps, tlb_cur the loaded one.  te_host is
 * the host address of the page or frame (direct map) or'ed with the
 * access it allows (VM_PROT_READ, and VM_PROT_WRITE once PG_M is set).
 * Key 0 is never a valid key (kernel addresses are not below 2^47).
 */
#define PMAP_TLB_N4K 256
#define PMAP_TLB_N2M 16
#define PMAP_TLB_NSLOT 4
#define PMAP_TLB_SLOTBITS 3
#define PMAP_TLB_KSLOT 0

struct pmap_tlb_entry {
	uint64_t te_key;   /* (x) page number << SLOTBITS | slot; 0: empty */
	uintptr_t te_host; /* (x) host address | allowed VM_PROT_* */
};

struct pmap_tlb_slot {
	uint64_t ts_asid; /* (x) pm_asid of the pmap it holds, 0: free */
	uint64_t ts_gen;  /* (x) pm_gen its entries are current with */
};

struct pmap_tlb {
	struct pmap_tlb_entry tlb_4k[PMAP_TLB_N4K];
	struct pmap_tlb_entry tlb_2m[PMAP_TLB_N2M];
	uint64_t tlb_cur;    /* (x) slot of the loaded user pmap, or 0 */
	pmap_t tlb_curpm;    /* (x) the loaded user pmap, or NULL */
	uint32_t tlb_victim; /* (x) round-robin slot eviction */
	struct pmap_tlb_slot tlb_slot[PMAP_TLB_NSLOT + 1];
} __attribute__((aligned(MD_CACHE_LINE)));

/*
 * The TLBs of all CPUs, PMAP_TLB_STRIDE bytes apart (a power of two, so
 * that finding the current CPU's is a shift, not a multiplication).
 */
#define PMAP_TLB_STRIDE_SHIFT 13
#define PMAP_TLB_STRIDE ((size_t)1 << PMAP_TLB_STRIDE_SHIFT)
_Static_assert(
    sizeof(struct pmap_tlb) <= PMAP_TLB_STRIDE, "a TLB fits its stride");
extern char *pmap_tlbs; /* (c) md_ncpus() TLBs */

static inline struct pmap_tlb *
pmap_tlb_of(int cpu)
{
	return ((struct pmap_tlb *)(pmap_tlbs +
	    ((size_t)cpu << PMAP_TLB_STRIDE_SHIFT)));
}

/*
 * pmap_tlb_lookup() for a caller that has read the current CPU (`cpu')
 * and its TLB `t' already (uaccess's hit path).
 */
static inline void *
pmap_tlb_lookup_on(
    int cpu, struct pmap_tlb *t, vm_offset_t va, vm_prot_t access)
{
	const struct pmap_tlb_entry *e;
	uint64_t slot, key;

	/* Run pending shootdowns before using any entry. */
	md_ipi_check(cpu);
	slot = va >= VM_MIN_KERNEL_ADDRESS ? PMAP_TLB_KSLOT : t->tlb_cur;
	key = (va >> PAGE_SHIFT) << PMAP_TLB_SLOTBITS | slot;
	e = &t->tlb_4k[(va >> PAGE_SHIFT) & (PMAP_TLB_N4K - 1)];
	if (__builtin_expect(
		e->te_key == key && (e->te_host & access) == access, 1))
		return ((char *)(e->te_host & ~(uintptr_t)PAGE_MASK) +
		    (va & PAGE_MASK));
	key = (va >> 21) << PMAP_TLB_SLOTBITS | slot;
	e = &t->tlb_2m[(va >> 21) & (PMAP_TLB_N2M - 1)];
	if (e->te_key == key && (e->te_host & access) == access)
		return ((char *)(e->te_host & ~(uintptr_t)PAGE_MASK) +
		    (va & PDRMASK));
	return (NULL);
}

static inline void *
pmap_tlb_lookup(vm_offset_t va, vm_prot_t access)
{
	int cpu = md_curcpu();

	return (pmap_tlb_lookup_on(cpu, pmap_tlb_of(cpu), va, access));
}

/*
 * Consistency (checkers, tests): every valid managed PTE of pm has
 * exactly one pv entry and every pv entry of pm a matching PTE; resident
 * and wired counts match the tables; table pages are accounted.  Locks pm.
 * Returns violations, each printed once.  pmap_check_page(): every pv
 * entry of m points at a PTE mapping m.
 */
int pmap_check(pmap_t pm);
int pmap_check_page(struct vm_page *m);
/*
 * Whether m is on any pv list, whatever its object (a checker's look:
 * a page must have none when it is freed).
 */
bool pmap_page_has_pv(struct vm_page *m);

/*
 * Tests and checkers: the leaf entry mapping va in pm (a PTE, or a PD
 * entry with PG_PS), or NULL if none is valid.  Caller holds pm's lock.
 */
pt_entry_t *pmap_leaf(pmap_t pm, vm_offset_t va);

#ifdef VM_INVARIANTS
/*
 * Planted bugs for tests (debug builds only): a test sets a PMAP_PLANT_*
 * bit while it wants the bug, and clears it.
 * PMAP_PLANT_NOWAIT: shootdown IPIs are sent without waiting for the
 * targets, so a remove may return while another CPU still holds the
 * translation (what a checker of stale TLB reads must catch).
 */
#define PMAP_PLANT_NOWAIT 0x1
extern int pmap_debug_plant;
#endif

/* Boot (vm_boot.c): after vm_reserv, before the page caches. */
int pmap_tunables(void);
int pmap_init(void);
void pmap_fini(void);

#endif /* !VMLAB_PMAP_H */
