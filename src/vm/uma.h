/*
 * uma.h: the zone allocator (in the manner of FreeBSD's UMA).
 *
 * A zone hands out items of one size.  Layers, from the caller down:
 *	1. per-CPU caches: each CPU has an alloc bucket and a free bucket
 *	   (arrays of item pointers, uz_bucket_size of them, 4 .. 64 by item
 *	   size).  uma_zalloc() pops from the current CPU's alloc bucket,
 *	   uma_zfree() pushes on its free bucket: no lock and no atomic
 *	   read-modify-write, because the kernel is non-preemptive and the
 *	   code never sleeps between reading curcpu and using the cache;
 *	2. per-domain bucket caches: full and empty buckets of a zone in
 *	   each memory domain, under the zone domain lock ("uma zone
 *	   domain"), with a working-set estimate that uma_reclaim(TRIM) uses
 *	   to give back the full buckets nobody needed since the last trim;
 *	3. the keg: slabs of pages with a free-item bitmap each, on partial,
 *	   full and free lists per domain under the keg lock ("uma keg").
 *	   Slabs are wired pages without object from vm_page_alloc_noobj()
 *	   (one page for items of up to PAGE_SIZE / 4 bytes) or
 *	   vm_page_alloc_contig() (a multi-page slab, sized so that at most
 *	   1/8 of it is waste), addressed through the direct map.  Slab
 *	   headers are off-page (md_malloc); every page of a slab points at
 *	   its header through vm_page_set_uma_slab(), which is how a free
 *	   finds an item's slab (vm_phys_dmap_to_vm_page() maps the item's
 *	   address back to its page).
 * A keg with no free item grows by a burst of up to uma.grow_pages pages
 * (1 .. 64, default 32) at once: the first 4 pages with the caller's
 * class (VM_ALLOC_SYSTEM for M_USE_RESERVE, else VM_ALLOC_NORMAL; the
 * first page may wait with M_WAITOK), the rest VM_ALLOC_NORMAL without
 * waiting, and the burst stops at the first page it cannot get: a burst
 * never dips into the reserve beyond its first 4 pages.  One burst per
 * keg and domain at a time; other M_WAITOK callers wait for it.
 *
 * Item life cycle.  uminit runs when an item leaves the keg for a bucket
 * or a caller (its first use since it was last in a slab), fini when it
 * goes back to the keg; ctor runs on every uma_zalloc(), dtor on every
 * uma_zfree().  None of them runs with a uma lock held.  M_ZERO zeroes the
 * item before ctor.  A failing uminit or ctor makes uma_zalloc() return
 * NULL (the item goes back, without dtor).
 *
 * Contract.  Every function runs in a kernel thread (curcpu >= 0).  The
 * zone locks rank between `vm domainset' (700) and `vm domain free'
 * (800), so uma may be called holding `vm object' or `pmap'; with
 * M_NOWAIT it never sleeps (a contested zone lock may switch, as every
 * mtx).  M_WAITOK may sleep: call it holding no non-sleepable lock.
 * uma_zalloc*() return NULL on failure: M_NOWAIT and no page, the zone's
 * limit reached with M_NOWAIT, uminit or ctor failure.  uma_zfree() never
 * sleeps; freeing NULL does nothing.
 *
 * Limits.  uma_zone_set_max(zone, n): at most n items allocated (handed
 * to callers and not freed) at once; over it M_NOWAIT fails and M_WAITOK
 * sleeps until a free (counted in `sleeps').  Cached free items do not
 * count.  A zone with a limit keeps an exact atomic count of its items.
 *
 * Accounting.  uma_zone_get_cur() sums per-CPU counts of allocations and
 * frees (each CPU counts its own, plain stores), exact when no
 * allocation or free is in flight.  `pages' are the slab pages the keg
 * holds; `free' the items in slabs and caches that are not allocated.
 *
 * Reclaim.  UMA_RECLAIM_TRIM gives back the full buckets beyond each
 * domain cache's working set, and every empty bucket, then frees empty
 * slabs.  UMA_RECLAIM_DRAIN also empties every CPU's buckets: a waited
 * IPI makes each CPU detach its own buckets (the handler touches only its
 * CPU's two bucket pointers, which the cache code never leaves half
 * written at an IPI poll point), and the caller returns them to the kegs.
 * UMA_ZONE_NOFREE zones keep their slabs.  The page daemon trims when a
 * pass starts short of pages (at most every 100 ms) and drains when the
 * shortage is severe.
 *
 * Debugging (VM_INVARIANTS).  Items in buckets count as free: every free
 * marks the item free in its slab's debug bitmap (a second free is a
 * "duplicate free"; a pointer that is not an item of this zone is "not
 * an item"), and, for zones without uminit/fini (whose items keep state
 * while free), fills it with a trash pattern after dtor.  Every
 * allocation checks and clears the bit and that the trash is intact
 * ("use after free").  A detection panics, or calls uma_dbg_hook if a
 * test set it.
 */
#ifndef VMLAB_VM_UMA_H
#define VMLAB_VM_UMA_H

#include "kern/malloc.h"
#include "md/md.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct uma_zone *uma_zone_t;
typedef int (*uma_ctor)(void *mem, int size, void *arg, int flags);
typedef void (*uma_dtor)(void *mem, int size, void *arg);
typedef int (*uma_init)(void *mem, int size, int flags);
typedef void (*uma_fini)(void *mem, int size);

/* Alignment masks for uma_zcreate(): an item starts at a multiple of +1. */
#define UMA_ALIGN_PTR (sizeof(void *) - 1)
#define UMA_ALIGN_CACHE (MD_CACHE_LINE - 1)

/* Zone flags. */
#define UMA_ZONE_NOFREE 0x0001	 /* slabs are never given back */
#define UMA_ZONE_NOBUCKET 0x0002 /* no per-CPU or domain bucket caches */

/*
 * uma_zcreate(): a zone of `size'-byte items aligned to `align' + 1 (a
 * mask: 0, UMA_ALIGN_PTR, UMA_ALIGN_CACHE or another power of two less
 * one); any of the four functions may be NULL.  NULL on ENOMEM.
 * uma_zdestroy(): every item must have been freed; drains the caches and
 * frees the slabs.
 */
uma_zone_t uma_zcreate(const char *name, size_t size, uma_ctor ctor,
    uma_dtor dtor, uma_init uminit, uma_fini fini, int align, uint32_t flags);
void uma_zdestroy(uma_zone_t zone);

void *uma_zalloc_arg(uma_zone_t zone, void *arg, int flags);
void uma_zfree_arg(uma_zone_t zone, void *item, void *arg);

static inline void *
uma_zalloc(uma_zone_t zone, int flags)
{
	return (uma_zalloc_arg(zone, NULL, flags));
}

static inline void
uma_zfree(uma_zone_t zone, void *item)
{
	uma_zfree_arg(zone, item, NULL);
}

/* Limit (0: none); returns the limit set.  Items allocated now. */
int uma_zone_set_max(uma_zone_t zone, int nitems);
int uma_zone_get_cur(uma_zone_t zone);

#define UMA_RECLAIM_TRIM 1
#define UMA_RECLAIM_DRAIN 2
void uma_reclaim(int req);
void uma_zone_reclaim(uma_zone_t zone, int req);

/* The `vmstat -z' view of one zone (a snapshot). */
struct uma_zone_stats {
	char name[32];
	uint32_t size;	   /* item size in bytes */
	uint64_t limit;	   /* 0: none */
	uint64_t used;	   /* allocated now */
	uint64_t free;	   /* in slabs and caches, not allocated */
	uint64_t requests; /* successful allocations since creation */
	uint64_t fails;	   /* failed allocations */
	uint64_t sleeps;   /* sleeps on the limit */
	uint64_t xdomain;  /* frees of items of another domain */
	uint64_t pages;	   /* slab pages held */
};
/*
 * Calls fn for every zone, in creation order, holding the zone list lock
 * (fn must not create or destroy zones).  Returns the number of zones.
 */
int uma_zone_foreach(
    void (*fn)(const struct uma_zone_stats *, void *), void *arg);

/*
 * Consistency of every zone: slab bitmaps against free counts and lists,
 * pages, cached items against used items.  Returns the number of
 * violations (vm_check_fail()).  Call at a quiescent point.
 */
int uma_check(void);

/*
 * Debug builds: a detection (see above) calls this hook, when set, instead
 * of panicking; `what' is "duplicate free", "use after free" or "not an
 * item".
 */
extern void (*uma_dbg_hook)(uma_zone_t zone, void *item, const char *what);

/*
 * Boot (vm_boot.c's step "uma"): uma_startup() before the CPUs run;
 * uma_stop() in a kernel thread before they halt destroys the zones left
 * (reported in debug builds); uma_shutdown() frees the rest.
 */
int uma_tunables(void);
int uma_startup(void);
void uma_stop(void);
void uma_shutdown(void);

#endif /* !VMLAB_VM_UMA_H */
