/*
 * vm_page.h: physical pages, their allocation and the free-page thresholds.
 *
 * The page array.  Every page of physical memory has one struct vm_page,
 * created at boot by vm_phys_init() and never freed while the machine
 * runs, so a stale page pointer always points at a page (batch queues and
 * lockless lookups rely on this).  The array lives in host memory, not in
 * the arena, so the dense and sparse layouts (vm.phys.sparse) leave the
 * same physical pages free.
 *
 * Where a page is.  At any moment each page is in exactly one place:
 *	1. a buddy free block (vm_phys), under its domain's free lock;
 *	2. a per-CPU page cache or block cache (vm_pgcache), owned by that
 *	   CPU;
 *	3. the free part of a superpage reservation (vm_reserv), under the
 *	   domain's free lock;
 *	4. allocated: owned by whoever allocated it.
 * vm_page_check() verifies this for every page and that the counts add
 * up: pages = buddy + cached + reservation-free + allocated.
 *
 * Do cached pages count as free?  No.  The free count (vmd_free_count)
 * is buddy + reservation-free pages.  Filling a cache takes its pages out
 * of the free count under the free lock, so the cache fast paths (alloc
 * and free of one page or one 2 MiB block) touch neither the free lock
 * nor the shared free count: no atomic instruction at all.  The price is
 * that up to (CPUs x pools x vm.pgcache.high) pages and (CPUs x
 * vm.pgcache.high_2m) 2 MiB blocks per domain look allocated while they
 * sit in caches.  Four rules keep them from being stranded: caches hold
 * together at most 1/16 of a domain's pages (block caches another 1/32);
 * a cache is refilled only while the domain stays above its free_min
 * threshold; when the free count falls below free_min, frees bypass the
 * caches; and an allocation that fails in every domain because of the
 * free count drains every CPU's caches into the buddy allocator and
 * retries, as vm_wait does before it sleeps.  A want of contiguity is no
 * reason to drain single pages, which cannot cure it, but a request for
 * more than one page also drains when 2 MiB blocks are cached.  Other
 * domains are tried before other CPUs' caches are drained (as Linux
 * falls back to other zones before draining per-CPU lists).
 *
 * Allocation classes and thresholds.  Each domain of P pages has (as in
 * FreeBSD's vm_pageout_init_domain(); MAXBSIZE 64 KiB, cluster 32 pages):
 *	interrupt_free_min = 2
 *	pageout_free_min   = 2 * 64 KiB / 4 KiB + interrupt_free_min = 34
 *	free_reserved      = 32 + pageout_free_min + P / 768
 *	free_min           = free_reserved + P / 200
 *	free_severe        = free_reserved + P / 400
 *	free_target        = free_reserved + 4 * (P / 200)
 * An allocation of n pages succeeds only if free_count - n stays at or
 * above the floor of its class: VM_ALLOC_NORMAL free_reserved,
 * VM_ALLOC_SYSTEM interrupt_free_min, VM_ALLOC_INTERRUPT 0.  The domain
 * is "min" below free_min (frees bypass caches; vm_wait sleeps until it
 * is above) and "severe" below free_severe (vm_wait_severe sleeps).
 *	pageout_wakeup     = free_target / 10 * 9
 * free_target is what the page daemon aims for (vm_pageout.h).  The
 * allocator wakes a domain's daemon (vm_domain_pageout_wakeup()) on
 * every slow path that leaves the free count below pageout_wakeup, on
 * every request that fails there, and from vm_wait before it sleeps; the
 * per-CPU cache fast paths do not move the free count and need no check.
 *
 * Locking key:
 *	(c) constant after boot
 *	(f) free lock of the page's domain, while the page is free in the
 *	    buddy allocator or a reservation
 *	(x) the CPU whose page cache holds the page, while cached
 *	(w) the page's owner, while allocated: the object lock for object
 *	    pages, otherwise the thread that allocated it
 */
#ifndef VMLAB_VM_PAGE_H
#define VMLAB_VM_PAGE_H

#include "kern/kassert.h"
#include "kern/queue.h"
#include "md/md.h"
#include "md/md_atomic.h"
#include "pmap/pmap.h"
#include "vm/vm_domain.h"
#include "vm/vm_param.h"
#include "vm/vm_pgcache.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_object;

/*
 * flags.  PG_FREE is set by every free and cleared by every allocation of
 * the page (of a block's first page only, for blocks), which catches
 * double frees.  PG_PCPU_CACHE marks a single page that may be freed into
 * a per-CPU cache, or the first page of a 2 MiB block (from
 * vm_page_alloc_block()) that may be freed into a per-CPU block cache:
 * pages from reservations, contiguous runs and blocks of other orders go
 * back through the free lock instead.
 */
#define PG_PCPU_CACHE 0x0001
#define PG_FREE 0x0002
#define PG_MARKER 0x0004 /* a scan's place holder, not a page */

/*
 * The queue-state word (a): which page queue the page logically belongs to
 * and the pending physical queue operations, changed only by
 * compare-and-swap of the whole word (vm_pagequeue.h has the protocol).
 */
#define PQ_INACTIVE 0
#define PQ_ACTIVE 1
#define PQ_LAUNDRY 2
#define PQ_UNSWAPPABLE 3
#define PQ_COUNT 4
#define PQ_NONE 255

#define PGA_ENQUEUED 0x0001	/* physically on the list of queue `queue' */
#define PGA_DEQUEUE 0x0002	/* a dequeue is pending in a batch */
#define PGA_REQUEUE 0x0004	/* move to the tail of `queue' is pending */
#define PGA_REQUEUE_HEAD 0x0008 /* move to the head of `queue' is pending */
#define PGA_REFERENCED 0x0010	/* accessed since the daemon last looked */
#define PGA_FREE_DEFERRED                                                      \
	0x0020 /* freed: the batch that dequeues it frees
				    it */
#define PGA_QUEUE_OP_MASK (PGA_DEQUEUE | PGA_REQUEUE | PGA_REQUEUE_HEAD)
#define PGA_QUEUE_STATE_MASK (PGA_ENQUEUED | PGA_QUEUE_OP_MASK)

union vm_page_astate {
	struct {
		uint16_t flags;	   /* PGA_* */
		uint8_t queue;	   /* PQ_* */
		uint8_t act_count; /* active-queue clock weight */
	};
	uint32_t bits;
};

/*
 * oflags (o): VPO_UNMANAGED pages never enter a page queue (phys objects,
 * pages without object); VPO_SWAPINPROG marks a page-in in flight.
 */
#define VPO_UNMANAGED 0x01
#define VPO_SWAPINPROG 0x02

/* valid and dirty (o, b): one bit for the whole page. */
#define VM_PAGE_BITS_ALL 0x01

/*
 * The busy lock (a): VPB_UNBUSIED, VPB_XBUSY (exclusive, one owner), or a
 * count of shared holders in units of VPB_ONE_SHARER; VPB_WAITERS is set
 * by a thread about to sleep on the page (wakeup channel: the page).
 */
#define VPB_UNBUSIED 0u
#define VPB_XBUSY 0x1u
#define VPB_WAITERS 0x2u
#define VPB_ONE_SHARER 0x4u
#define VPB_SHARERS(x) ((x) >> 2)
#define VPB_FREED (0xfffffff0u | VPB_XBUSY) /* free: no busy attempt works */

struct vm_page {
	/* Line 0: allocator and owner state. */
	TAILQ_ENTRY(vm_page) listq; /* (f) buddy free list */
	struct vm_object *object;   /* (w) owner object, or NULL */
	vm_pindex_t pindex;	    /* (w) index in the object */
	vm_paddr_t phys_addr;	    /* (c) */
	uint16_t flags;		    /* (f,x,w) PG_* */
	uint8_t order;		    /* (f) order of a free block's first
				       page, else VM_NFREEORDER */
	uint8_t pool;		    /* (f) VM_FREEPOOL_* of its free block */
	uint8_t segind;		    /* (c) segment, VM_PHYSSEG_NONE: hole */
	uint8_t domain;		    /* (c) memory domain */
	uint8_t oflags;		    /* (w) VPO_* */
	uint8_t valid;		    /* (w,b) VM_PAGE_BITS_ALL: contents valid */
	uint32_t busy_lock;	    /* (a) VPB_* */
	uint32_t wire_count;	    /* (a) wirings: a wired page is not
				       reclaimed */
	union vm_page_astate a;	    /* (a) queue state */
	/* Line 1: the page queue linkage, written under the queue lock. */
	TAILQ_ENTRY(vm_page) plinks; /* (q) page queue */
	struct md_page md;	     /* (p) the pmap's: pv list (pmap.h) */
	uint8_t dirty;		     /* (w,b) VM_PAGE_BITS_ALL: modified
					since last written to its pager */
	uint8_t pad[MD_CACHE_LINE - 17 - sizeof(struct md_page)];
} __aligned(MD_CACHE_LINE);
TAILQ_HEAD(pglist, vm_page);

/*
 * Two cache lines per page.  The first holds what the allocator and the
 * object layer touch on every allocation and free (pages handed to
 * different CPUs must not share a line that both write); the second, the
 * page-queue linkage that only the queue lock's holder writes.  FreeBSD's
 * struct vm_page is 104 bytes for the same reasons (plinks and listq are
 * separate so that a page may sit on a free list while a batched dequeue
 * of it is pending; here a page with a pending dequeue is freed by the
 * batch instead, see vm_pagequeue.h).
 */
_Static_assert(sizeof(struct vm_page) == 2 * MD_CACHE_LINE,
    "struct vm_page is two cache lines");
_Static_assert(offsetof(struct vm_page, plinks) == MD_CACHE_LINE,
    "plinks opens the second line");

#define VM_PHYSSEG_NONE 0xff
#define VM_PAGE_TO_PHYS(m) ((m)->phys_addr)

/*
 * The page's identity (object, pindex) is written with atomic stores and
 * read with atomic loads by those who do not own the page (the page
 * daemon, lockless lookups), who then verify it under the object lock or
 * the busy lock.
 */
static inline void
vm_page_set_identity(
    struct vm_page *m, struct vm_object *obj, vm_pindex_t pindex)
{
	atomic_store_ptr((uintptr_t *)&m->object, (uintptr_t)obj);
	atomic_store_64(&m->pindex, pindex);
}

static inline struct vm_object *
vm_page_object(const struct vm_page *m)
{
	return (
	    (struct vm_object *)atomic_load_ptr((const uintptr_t *)&m->object));
}

static inline vm_pindex_t
vm_page_pindex(const struct vm_page *m)
{
	return (atomic_load_64(&m->pindex));
}

/*
 * Pages of a uma slab (wired, without object, never on a page queue) keep
 * their slab's header in the otherwise unused page-queue linkage, as
 * FreeBSD's plinks.uma: tqe_next holds a tag that no queue link can
 * equal (the address of vm_page_uma_tag), tqe_prevp the header.  Owner of
 * the page (w).
 */
extern const char vm_page_uma_tag;

static inline void
vm_page_set_uma_slab(struct vm_page *m, void *slab)
{
	if (slab == NULL) {
		m->plinks.tqe_next = NULL;
		m->plinks.tqe_prevp = NULL;
		return;
	}
	m->plinks.tqe_next = (struct vm_page *)(uintptr_t)&vm_page_uma_tag;
	m->plinks.tqe_prevp = (struct vm_page **)slab;
}

/* The slab header of a uma slab page, or NULL for any other page. */
static inline void *
vm_page_uma_slab(const struct vm_page *m)
{
	if ((uintptr_t)m->plinks.tqe_next != (uintptr_t)&vm_page_uma_tag)
		return (NULL);
	return ((void *)m->plinks.tqe_prevp);
}

/* The page's bytes through the direct map. */
static inline uint8_t *
vm_page_dmap(const struct vm_page *m)
{
	return (md_phys_base() + m->phys_addr);
}

/*
 * Allocation.  Every function prefers the current CPU's domain and falls
 * back to the others in order; the _domain variants use one domain.
 * They return NULL (or fewer pages) when the class floor would be crossed
 * in every domain, unless VM_ALLOC_WAITOK is given: then they sleep in
 * vm_wait until they succeed.  They run in kernel threads, with no spin
 * lock held (they may drain other CPUs' caches through IPIs).
 *
 * vm_page_alloc(): a page for (object, pindex), from the superpage
 *	reservation covering pindex when vm.reserv.enable is on.  The caller
 *	serialises allocations and frees of one object's pages.
 * vm_page_alloc_noobj(): a page without an object (kernel memory).
 * vm_page_alloc_bulk(): up to npages pages without object into ma[];
 *	returns how many.
 * vm_page_alloc_block(): a naturally aligned block of 2^order pages as one
 *	unit: only the first page is set up; free it with
 *	vm_page_free_block() (a 2 MiB superpage is order 9).
 * vm_page_alloc_contig(): npages contiguous pages in [low, high), the
 *	first aligned to `alignment' (a power of two, at least PAGE_SIZE),
 *	the run not crossing a multiple of `boundary' (0: none).  Every page
 *	is set up, so pages may also be freed one by one.
 */
struct vm_page *vm_page_alloc(
    struct vm_object *object, vm_pindex_t pindex, int req);
struct vm_page *vm_page_alloc_domain(
    struct vm_object *object, vm_pindex_t pindex, int domain, int req);
static inline struct vm_page *vm_page_alloc_noobj(int req);
struct vm_page *vm_page_alloc_noobj_domain(int domain, int req);
int vm_page_alloc_bulk(int req, struct vm_page **ma, int npages);
struct vm_page *vm_page_alloc_block(int req, int order);
struct vm_page *vm_page_alloc_block_domain(int domain, int req, int order);
struct vm_page *vm_page_alloc_contig(int req, uint64_t npages, vm_paddr_t low,
    vm_paddr_t high, uint64_t alignment, vm_paddr_t boundary);
struct vm_page *vm_page_alloc_contig_domain(int domain, int req,
    uint64_t npages, vm_paddr_t low, vm_paddr_t high, uint64_t alignment,
    vm_paddr_t boundary);

/* Frees; same context rules as allocation, and never sleep. */
static inline void vm_page_free(struct vm_page *m);
void vm_page_free_bulk(struct vm_page **ma, int npages);
void vm_page_free_block(struct vm_page *m, int order);
void vm_page_free_contig(struct vm_page *m, uint64_t npages);

/*
 * Waiting for free pages (kernel threads, no lock held).  vm_wait_domain()
 * sleeps until the domain is at or above free_min; vm_wait() until some
 * domain is; vm_wait_severe() until some domain is at or above
 * free_severe.  Each drains the per-CPU caches before sleeping.
 */
void vm_wait_domain(int domain);
void vm_wait(void);
void vm_wait_severe(void);
bool vm_page_count_min_domain(int domain);
bool vm_page_count_severe_domain(int domain);
bool vm_page_count_min(void);
bool vm_page_count_severe(void);

/* Totals (any context; a snapshot). */
uint64_t vm_page_count_total(void);
uint64_t vm_page_free_count(void);
/* Pages owned by someone: neither free nor in a per-CPU cache (racy). */
uint64_t vm_page_count_allocated(void);

/*
 * Page accounting: every page is in exactly one place and the counts add
 * up (see the header comment), checked per domain under its free lock.
 * Returns the number of violations, describing the first few with
 * md_printf().  Call from a kernel thread with no allocation or free in
 * flight anywhere (it snapshots the per-CPU caches through IPIs).
 */
int vm_page_check(void);

/* Checkers: counts a violation and describes the first few. */
void vm_check_fail(int *nerrp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The fast paths, inline: one page without object from the current CPU's
 * cache of its domain's direct pool; one cache-able page back into the
 * current CPU's cache.  No lock, no atomic read-modify-write (see
 * vm_pgcache.h); the _slow functions do everything else.
 */
struct vm_page *vm_page_alloc_noobj_slow(int req);
void vm_page_free_slow(struct vm_page *m);

static inline struct vm_page *
vm_page_alloc_noobj(int req)
{
	struct vm_page *m;
	int cpu = md_curcpu();

	VM_ASSERT(cpu >= 0, ("%s: not called from a CPU", __func__));
	if (__predict_true((req & VM_ALLOC_ZERO) == 0)) {
		m = vm_pgcache_pop(vm_pgcache_local[cpu]);
		if (__predict_true(m != NULL)) {
			VM_ASSERT((m->flags & PG_FREE) != 0,
			    ("%s: cached page %#llx has flags %#x", __func__,
				(unsigned long long)m->phys_addr, m->flags));
			m->flags = PG_PCPU_CACHE;
			return (m);
		}
	}
	return (vm_page_alloc_noobj_slow(req));
}

/* Pushes m on `cpu''s cache if m may go there and there is room. */
static inline bool
vm_page_free_cached(int cpu, struct vm_page *m)
{
	if ((m->flags & PG_PCPU_CACHE) == 0 ||
	    atomic_load_int(&vm_dom[m->domain].vmd_pgcache_bypass) != 0)
		return (false);
	m->flags = PG_PCPU_CACHE | PG_FREE;
	atomic_store_ptr((uintptr_t *)&m->object, 0);
	return (vm_pgcache_push(vm_pgcache_get(cpu, m->domain, m->pool), m));
}

static inline void
vm_page_free(struct vm_page *m)
{
	VM_ASSERT((m->flags & PG_FREE) == 0,
	    ("%s: page %#llx is already free (flags %#x)", __func__,
		(unsigned long long)m->phys_addr, m->flags));
	/* Atomic loads: a scan may still try (and fail) to requeue m. */
	VM_ASSERT(atomic_load_int(&m->a.bits) == (uint32_t)PQ_NONE << 16 &&
		(atomic_load_int(&m->busy_lock) == VPB_UNBUSIED ||
		    atomic_load_int(&m->busy_lock) == VPB_XBUSY ||
		    atomic_load_int(&m->busy_lock) == VPB_FREED) &&
		atomic_load_int(&m->wire_count) == 0,
	    ("%s: page %#llx freed with queue state %#x busy %#x wire %u",
		__func__, (unsigned long long)m->phys_addr,
		atomic_load_int(&m->a.bits), atomic_load_int(&m->busy_lock),
		atomic_load_int(&m->wire_count)));
	/* Busy attempts through stale pointers fail from here on. */
	atomic_store_rel_int(&m->busy_lock, VPB_FREED);
	if (__predict_false(!vm_page_free_cached(md_curcpu(), m)))
		vm_page_free_slow(m);
}

/*
 * The busy lock.  _try* never block; vm_page_busy_sleep() drops the
 * object lock and sleeps until the page's busy state may have changed
 * (the caller re-looks the page up after relocking).  Releasing wakes
 * every sleeper.
 */
bool vm_page_tryxbusy(struct vm_page *m);
bool vm_page_trysbusy(struct vm_page *m);
void vm_page_xunbusy(struct vm_page *m);
/* Exclusive to shared (one holder), waking nobody. */
void vm_page_busy_downgrade(struct vm_page *m);
void vm_page_sunbusy(struct vm_page *m);
void vm_page_busy_sleep(struct vm_page *m, struct vm_object *obj);
void vm_page_busy_sleep_mode(
    struct vm_page *m, struct vm_object *obj, bool shared);
bool vm_page_xbusied(const struct vm_page *m);
bool vm_page_busied(const struct vm_page *m);

/* Wiring: a wired page is never reclaimed; unwiring requeues it. */
void vm_page_wire(struct vm_page *m);
void vm_page_unwire(struct vm_page *m);

/*
 * Boot and shutdown (vm_boot.c).  vm_page_startup() refuses (EINVAL, with
 * a boot error) memory that leaves a domain fewer than
 * vm_page_domain_minpages() pages: twice its free_target.
 */
int vm_page_startup(void);
void vm_page_shutdown(void);
uint64_t vm_page_domain_minpages(void);

#endif /* !VMLAB_VM_PAGE_H */
