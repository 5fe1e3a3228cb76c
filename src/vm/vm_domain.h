/*
 * vm_domain.h: per-domain page-allocation state.
 *
 * A domain is a NUMA node: some CPUs and the physical memory near them.
 * Each domain has one free lock, a spin mutex that protects its buddy free
 * lists (vm_phys), its reservations' state (vm_reserv) and its free count.
 * It is a spin mutex rather than an adaptive one because its holders never
 * block and hold it briefly (one block split or merge, one cache batch),
 * and because a spin mutex's release is a plain store: the uncontended
 * lock+unlock pair costs one atomic instruction, not two.  No other lock
 * but the reservation hash locks may be taken while it is held, and no
 * waited IPI may be sent (the IPI handlers that drain per-CPU caches take
 * it).
 *
 * The free count is written only under the free lock (so the free-count
 * reservation of vm_domain_allocate_locked() needs no compare-and-swap),
 * with atomic stores, and read anywhere with atomic loads.
 *
 * Locking key:
 *	(c) constant after boot
 *	(f) vmd_free_mtx
 *	(a) atomic
 */
#ifndef VMLAB_VM_DOMAIN_H
#define VMLAB_VM_DOMAIN_H

#include "kern/kassert.h"
#include "kern/mutex.h"
#include "md/md.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_domain {
	/* Read-mostly: read by every CPU, written on threshold changes. */
	uint32_t vmd_pgcache_bypass;	 /* (a) below free_min: frees skip the
					per-CPU caches */
	int vmd_domain;			 /* (c) */
	uint64_t vmd_page_count;	 /* (c) pages in the domain */
	uint64_t vmd_interrupt_free_min; /* (c) floor of VM_ALLOC_SYSTEM */
	uint64_t vmd_pageout_free_min;	 /* (c) */
	uint64_t vmd_free_reserved;	 /* (c) floor of VM_ALLOC_NORMAL */
	uint64_t vmd_free_min;		 /* (c) */
	uint64_t vmd_free_severe;	 /* (c) */
	uint64_t vmd_free_target;	 /* (c) */
	uint64_t vmd_pageout_wakeup_thresh; /* (c) 90% of free_target */
	uint32_t vmd_pageout_wanted;	    /* (a) the page daemon is wanted:
					       set by allocators, cleared by
					       the daemon before a pass */

	/* The free lock and what it alone protects: another line. */
	struct mtx vmd_free_mtx __aligned(MD_CACHE_LINE);
	uint64_t vmd_free_count; /* (f,a) buddy + reservation-free pages */
	int64_t vmd_allocated;	 /* (f) pages allocated through the free
				    lock, less pages freed through it */
	uint64_t vmd_nblocks;	 /* (f,a) blocks allocated */
} __aligned(MD_CACHE_LINE);

extern struct vm_domain vm_dom[MD_MAXDOMAIN];
extern int vm_ndomains; /* (c) */

#define VM_DOMAIN(d) (&vm_dom[(d)])

/*
 * Wakes the domain's page daemon (vm_pageout.c sleeps on
 * &vmd_pageout_wanted).  One plain load when a wake-up is already
 * pending, so allocators below the threshold may call it for every
 * request.  Kernel thread, no spin lock held.
 */
void vm_domain_pageout_wakeup(struct vm_domain *vmd);

static inline void
vm_domain_free_lock(struct vm_domain *vmd)
{
	mtx_lock_spin(&vmd->vmd_free_mtx);
}

static inline void
vm_domain_free_unlock(struct vm_domain *vmd)
{
	mtx_unlock_spin(&vmd->vmd_free_mtx);
}

#define vm_domain_free_assert_locked(vmd) mtx_assert_owned(&(vmd)->vmd_free_mtx)

static inline uint64_t
vm_domain_free_count(const struct vm_domain *vmd)
{
	return (atomic_load_64(&vmd->vmd_free_count));
}

/* After an allocation slow path took pages: wakes the daemon if needed. */
static inline void
vm_domain_pageout_check(struct vm_domain *vmd)
{
	if (vm_domain_free_count(vmd) < vmd->vmd_pageout_wakeup_thresh)
		vm_domain_pageout_wakeup(vmd);
}

/*
 * Free-count reservation.  vm_domain_allocate_locked() takes npages out of
 * the free count if that leaves it at or above the floor of the request's
 * class, and returns whether it did.  vm_domain_freecnt_inc_locked() puts
 * npages back and returns true when a threshold that sleepers wait for was
 * crossed upwards: the caller then calls vm_domain_wakeup() after
 * dropping the free lock.  vm_domain_freecnt_dec_locked() takes npages
 * unconditionally (cache refills).  All with the free lock held; inline,
 * as they sit on the 2 MiB block path.
 */
void vm_domain_wakeup(struct vm_domain *vmd);

/* The floor of the request's class; constant. */
static inline uint64_t
vm_domain_floor(const struct vm_domain *vmd, int req)
{
	switch (req & VM_ALLOC_CLASS_MASK) {
	case VM_ALLOC_INTERRUPT:
		return (0);
	case VM_ALLOC_SYSTEM:
		return (vmd->vmd_interrupt_free_min);
	default:
		return (vmd->vmd_free_reserved);
	}
}

static inline void
vm_domain_freecnt_dec_locked(struct vm_domain *vmd, uint64_t npages)
{
	uint64_t old = atomic_load_64(&vmd->vmd_free_count);

	vm_domain_free_assert_locked(vmd);
	VM_ASSERT(old >= npages,
	    ("%s: domain %d free count %llu < %llu", __func__, vmd->vmd_domain,
		(unsigned long long)old, (unsigned long long)npages));
	atomic_store_64(&vmd->vmd_free_count, old - npages);
	/* Entering shortage: frees now bypass the per-CPU caches. */
	if (old >= vmd->vmd_free_min && old - npages < vmd->vmd_free_min)
		atomic_store_int(&vmd->vmd_pgcache_bypass, 1);
}

static inline bool
vm_domain_allocate_locked(struct vm_domain *vmd, int req, uint64_t npages)
{
	vm_domain_free_assert_locked(vmd);
	if (atomic_load_64(&vmd->vmd_free_count) <
	    vm_domain_floor(vmd, req) + npages)
		return (false);
	vm_domain_freecnt_dec_locked(vmd, npages);
	return (true);
}

static inline bool
vm_domain_freecnt_inc_locked(struct vm_domain *vmd, uint64_t npages)
{
	uint64_t old = atomic_load_64(&vmd->vmd_free_count);
	uint64_t new = old + npages;

	vm_domain_free_assert_locked(vmd);
	atomic_store_64(&vmd->vmd_free_count, new);
	if (old >= vmd->vmd_free_min)
		return (false);
	if (new >= vmd->vmd_free_min)
		atomic_store_int(&vmd->vmd_pgcache_bypass, 0);
	return (new >= vmd->vmd_free_severe);
}

#endif /* !VMLAB_VM_DOMAIN_H */
