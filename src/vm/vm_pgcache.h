/*
 * vm_pgcache.h: per-domain per-CPU page caches.
 *
 * Every CPU has, for every domain and pool, a small stack of free single
 * pages in front of that domain's buddy allocator.  Allocation pops, free
 * pushes; an empty cache is refilled and a full one drained by
 * vm.pgcache.batch pages at a time, under the domain's free lock.
 *
 * The fast paths use no lock and no atomic read-modify-write: the kernel
 * is non-preemptive, so a thread that reads curcpu once and does not
 * sleep is the only code touching that CPU's caches.  The one exception is
 * an IPI handler (drain, enable/disable, snapshot), which runs on the CPU
 * itself and only at a poll point (a spin loop, a switch, the idle loop);
 * the cache code has no poll point between reading and writing a cache,
 * because the free lock is a spin mutex, which holds IPIs off while it
 * spins and while it is held.  pc_count and the statistics are written
 * with relaxed atomic stores so that other CPUs may read them.
 *
 * Counting.  Allocation from a cache counts nothing (it is the hottest
 * path; a counter there cost about 1.5 ns of 8 on the development
 * machine); frees count pc_frees, and the slow paths count the pages moved
 * from and to the buddy allocator.  Pages are conserved, so the pages a
 * cache handed out are exactly pc_in + pc_frees - pc_out - pc_count.
 *
 * Sizes (computed at boot per domain; see vm_page.h for why cached pages
 * are not free pages): high = min(vm.pgcache.high, pages of the domain /
 * (16 x CPUs x pools)), batch = min(vm.pgcache.batch, high / 2); a domain
 * whose high would be below 2 has no caches.  vm.pgcache.enable=0 (or
 * sysctl_set() of it to 0 at run time) sets every high to 0.
 *
 * Block caches.  Every CPU also has, for every domain, a cache of free
 * 2 MiB blocks (order VM_PGCACHE_BLOCK_ORDER, the superpage order) in
 * front of vm_page_alloc_block() and vm_page_free_block() of that order,
 * as Linux's per-CPU lists hold its huge-page order: without it every
 * 2 MiB allocation and free takes the domain's free lock, which two CPUs
 * doing them at once serialise on.  The same struct and the same rules,
 * counted in blocks: pc_pages holds the blocks' first pages (flags
 * PG_PCPU_CACHE | PG_FREE, no object; the block's other pages are not
 * touched), and a refill or drain moves pc_batch blocks.  The pages of
 * cached blocks count in vm_pgcache_count() and vm_pgcache_net_allocs(),
 * and every drain (shortage, vm_wait, disable) empties these caches too.
 * Sizes: high = min(vm.pgcache.high_2m, 2 MiB blocks of the domain /
 * (32 x CPUs)), batch = min(vm.pgcache.batch_2m, high / 2), no cache if
 * the batch would be 0; with the single-page caches, caches hold at most
 * 3/32 of a domain.
 *
 * Locking key:
 *	(c) constant after boot
 *	(x) the owning CPU (its threads and IPI handlers)
 *	(a) atomic: written by the owning CPU, read by any
 */
#ifndef VMLAB_VM_PGCACHE_H
#define VMLAB_VM_PGCACHE_H

#include "kern/kassert.h"
#include "md/md_atomic.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_page;

struct vm_pgcache {
	uint64_t pc_count;	   /* (x,a) pages in pc_pages */
	uint32_t pc_high;	   /* (x) capacity now; 0: disabled */
	uint32_t pc_batch;	   /* (x) pages per refill or drain */
	struct vm_page **pc_pages; /* (c) stack, top at pc_count - 1 */
	uint64_t pc_frees;	   /* (x,a) pages freed into the cache */
	uint64_t pc_in;		   /* (x,a) pages from the buddy allocator */
	uint64_t pc_out;	   /* (x,a) pages back to the buddy allocator */
	uint64_t pc_refills;	   /* (x,a) batches taken from the buddy */
	uint64_t pc_drains;	   /* (x,a) batches given back */
} __aligned(MD_CACHE_LINE);
_Static_assert(
    sizeof(struct vm_pgcache) == MD_CACHE_LINE, "one cache line per cache");

extern struct vm_pgcache *vm_pgcache_array; /* (c) [cpu][domain][pool] */
extern int vm_pgcache_ndomains;		    /* (c) */
/*
 * (c) Per CPU: its caches (domain 0, pool 0 first), and its cache of its
 * own domain's direct pool (where pages without an object come from).
 * Static arrays, so the fast path reaches a cache with one dependent load
 * after reading curcpu.
 */
extern struct vm_pgcache *vm_pgcache_cpu[MD_MAXCPU];
extern struct vm_pgcache *vm_pgcache_local[MD_MAXCPU];

/*
 * (c) Per CPU: its block caches, one per domain, of blocks of order
 * VM_PGCACHE_BLOCK_ORDER.
 */
extern struct vm_pgcache *vm_pgcache_block_cpu[MD_MAXCPU];
#define VM_PGCACHE_BLOCK_ORDER VM_LEVEL_0_ORDER

/* The cache of (cpu, domain, pool); cpu must be the current CPU to use. */
static inline struct vm_pgcache *
vm_pgcache_get(int cpu, int domain, int pool)
{
	return (&vm_pgcache_cpu[cpu][domain * VM_NFREEPOOL + pool]);
}

/* The block cache of (cpu, domain); as above. */
static inline struct vm_pgcache *
vm_pgcache_block_get(int cpu, int domain)
{
	return (&vm_pgcache_block_cpu[cpu][domain]);
}

/* Pops the most recently cached page, or NULL.  Current CPU's cache. */
static inline struct vm_page *
vm_pgcache_pop(struct vm_pgcache *pc)
{
	uint64_t n = pcpu_load_64(&pc->pc_count);

	if (__builtin_expect(n == 0, 0))
		return (NULL);
	pcpu_store_64(&pc->pc_count, n - 1);
	return (pc->pc_pages[n - 1]);
}

/* Pushes m if there is room; false if full.  Current CPU's cache. */
static inline bool
vm_pgcache_push(struct vm_pgcache *pc, struct vm_page *m)
{
	uint64_t n = pcpu_load_64(&pc->pc_count);

	if (__builtin_expect(n >= pc->pc_high, 0))
		return (false);
	pc->pc_pages[n] = m;
	pcpu_store_64(&pc->pc_count, n + 1);
	pcpu_add_64(&pc->pc_frees, 1);
	return (true);
}

/*
 * Pops up to *np pages (bulk allocation): sets *np to how many and returns
 * where they are, a slice of the stack valid until the cache is next
 * used.  Current CPU's cache.
 */
static inline struct vm_page **
vm_pgcache_pop_bulk(struct vm_pgcache *pc, int *np)
{
	uint64_t count = pcpu_load_64(&pc->pc_count), k = (uint64_t)*np;

	if (k > count)
		k = count;
	pcpu_store_64(&pc->pc_count, count - k);
	*np = (int)k;
	return (&pc->pc_pages[count - k]);
}

/*
 * Refills the current CPU's empty cache (cpu, domain, pool) with a batch
 * from the buddy allocator, if the domain stays at or above free_min
 * afterwards; returns the pages added.  Free lock of the domain held.
 */
int vm_pgcache_refill_locked(struct vm_pgcache *pc, int domain, int pool);
/*
 * Gives a batch of the current CPU's full cache back to the buddy
 * allocator (takes the free lock), making room for one page.
 */
void vm_pgcache_drain_batch(struct vm_pgcache *pc, int domain);
/*
 * The same two for the current CPU's block cache (cpu, domain): a refill
 * returns the blocks added; a drain frees pc_batch blocks.
 */
int vm_pgcache_block_refill_locked(struct vm_pgcache *pc, int domain);
void vm_pgcache_block_drain_batch(struct vm_pgcache *pc, int domain);
/*
 * Drains every CPU's caches, block caches included, into the buddy
 * allocator (IPIs, waited) and returns the pages drained; does nothing if
 * no cache holds a page.  Kernel thread, no spin lock held.
 */
uint64_t vm_pgcache_drain_all(void);
/*
 * Whether the caches are on (vm.pgcache.enable; at run time sysctl_set()
 * switches them, draining them when off).
 */
bool vm_pgcache_enabled(void);

/*
 * Accounting, per domain: pages cached now (those of cached blocks
 * included), and pages the caches handed out less pages they took back
 * (since boot); blocks cached now.  Racy unless quiescent.
 */
uint64_t vm_pgcache_count(int domain);
int64_t vm_pgcache_net_allocs(int domain);
uint64_t vm_pgcache_block_count(int domain);
/*
 * Calls fn(m, order, cpu, arg) for every cached page (order 0) and block
 * (order VM_PGCACHE_BLOCK_ORDER, m its first page), on each CPU in turn
 * through a waited IPI (so fn never runs concurrently with itself).
 * Kernel thread, no spin lock held.
 */
void vm_pgcache_foreach(
    void (*fn)(struct vm_page *m, int order, int cpu, void *arg), void *arg);
/* Effective sizes of a domain's caches (pages) and block caches (blocks). */
uint32_t vm_pgcache_high(int domain);
uint32_t vm_pgcache_batch(int domain);
uint32_t vm_pgcache_block_high(int domain);
uint32_t vm_pgcache_block_batch(int domain);

int vm_pgcache_tunables(void);
int vm_pgcache_init(void);
void vm_pgcache_fini(void);

#endif /* !VMLAB_VM_PGCACHE_H */
