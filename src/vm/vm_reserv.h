/*
 * vm_reserv.h: superpage reservations.
 *
 * When an object allocates its first page in an aligned 2 MiB range of
 * page indices [first, first + 512), a reservation takes a whole free
 * 2 MiB block (order 9) for that range, and every later page of the range
 * comes from it, at the page whose offset in the block equals the
 * offset of its pindex in the range.  When all 512 pages are populated the
 * range can be mapped by one 2 MiB mapping: vm_reserv_level_iffullpop()
 * is the signal a pmap checks before promoting.
 *
 * State per reservation: the object and first pindex it serves, a
 * population bitmap and count, and its place on its domain's partially
 * populated queue (least recently changed first).  The unpopulated pages
 * of a reservation are free memory (they count in the free count) but are
 * not in the buddy lists.  When memory runs short, vm_reserv_reclaim_*()
 * break the least recently changed partially populated reservation: its
 * free pages return to the buddy allocator and its populated pages become
 * ordinary pages.  A reservation whose last page is freed returns its
 * whole block.
 *
 * Reservations of an object are found through a hash table keyed by
 * (object, first pindex), with striped spin locks.  A reservation also
 * records its object's incarnation (id): an object dies while pages of
 * it may still wait for a batched free, and the reused object struct must
 * not find that reservation (its pages are populated by the dead one).
 * Such a reservation serves nothing more and returns its block when its
 * last page is freed.
 *
 * Locking key:
 *	(c) constant after boot
 *	(f) free lock of the reservation's domain
 *	(h) the hash lock of the reservation's (object, first pindex)
 *	(f,h) both to write, either to read
 * Lock order: free lock -> hash lock.
 */
#ifndef VMLAB_VM_RESERV_H
#define VMLAB_VM_RESERV_H

#include "kern/queue.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_object;
struct vm_page;

struct vm_reserv {
	LIST_ENTRY(vm_reserv) rv_hashq;	    /* (h) hash chain */
	TAILQ_ENTRY(vm_reserv) rv_partpopq; /* (f) partially populated */
	struct vm_object *rv_object;	    /* (f,h) NULL: inactive */
	uint64_t rv_objid;		    /* (f,h) rv_object's id */
	vm_pindex_t rv_pindex;		    /* (f,h) first pindex */
	struct vm_page *rv_pages;	    /* (c) first page of the frame */
	uint32_t rv_popcnt;		    /* (f) populated pages */
	uint8_t rv_domain;		    /* (c) */
	bool rv_inpartpopq;		    /* (f) */
	uint64_t rv_popmap[VM_LEVEL_0_NPAGES / 64]; /* (f) populated pages */
};
TAILQ_HEAD(vm_reservq, vm_reserv);

/*
 * Allocation of the page (object, pindex) from a reservation: from the
 * existing one covering pindex (in whatever domain it is), else from a new
 * one in `domain' if the object's range allows one (it lies within the
 * object's size, or the object may grow) and a free 2 MiB block exists.
 * NULL if neither, or if the class floor of `req' forbids the page.  The
 * returned page has its object, pindex and flags set.  Caller holds no
 * free lock and serialises the object (o).
 */
struct vm_page *vm_reserv_alloc_page(
    struct vm_object *object, vm_pindex_t pindex, int domain, int req);
/*
 * Frees m if it belongs to an active reservation (depopulating it, and
 * freeing the whole block when it becomes empty); returns false if m is
 * an ordinary page.  Free lock of m's domain held.
 */
bool vm_reserv_free_page(struct vm_page *m);
/*
 * Breaks the domain's least recently changed partially populated
 * reservation; false if there is none.  Free lock held.
 */
bool vm_reserv_reclaim_inactive(int domain);
/* Breaks partially populated reservations intersecting [low, high). */
bool vm_reserv_reclaim_contig(int domain, vm_paddr_t low, vm_paddr_t high);
/* 0 if m's reservation is fully populated (a 2 MiB mapping may be
 * made), -1 otherwise.  Takes the free lock of m's domain. */
int vm_reserv_level_iffullpop(struct vm_page *m);

/*
 * Whether new reservations are made (vm.reserv.enable, which may change
 * at run time through sysctl_set()).
 */
bool vm_reserv_enabled(void);

/*
 * Counts, per domain (free lock held): active reservations, partially
 * populated ones, fully populated ones, and their unpopulated pages.
 */
struct vm_reserv_counts {
	uint64_t rc_active;
	uint64_t rc_partpop;
	uint64_t rc_fullpop;
	uint64_t rc_free_pages;
};
void vm_reserv_counts_locked(int domain, struct vm_reserv_counts *rc);
/* Calls fn for every unpopulated page of an active reservation. */
void vm_reserv_foreach_free(
    int domain, void (*fn)(struct vm_page *m, void *arg), void *arg);

/* Invariants of every reservation, queue and hash chain. */
int vm_reserv_check(void);

int vm_reserv_tunables(void);
int vm_reserv_init(void);
void vm_reserv_fini(void);

#endif /* !VMLAB_VM_RESERV_H */
