/*
 * vm_phys.h: the physical memory allocator (buddy system).
 *
 * Physical memory is the md arena [0, md_phys_size()).  At boot it is cut
 * into domains (equal shares, 2 MiB aligned when possible) and each domain
 * into vm.phys.segments segments with a hole of VM_PHYS_HOLE_PAGES pages
 * between consecutive ones; a segment that straddles vm.phys.lowmem is
 * split in two, the lower part going to VM_FREELIST_LOWMEM.  Pages in
 * holes have no memory (dense mode still gives them a struct vm_page,
 * marked VM_PHYSSEG_NONE).
 *
 * Free memory is kept in naturally aligned blocks of 2^order pages (order
 * 0 .. 12), each on the free list of its domain x freelist x pool x order.
 * The first page of a free block carries its order; every other page has
 * order VM_NFREEORDER.  Every page of a free block carries the block's
 * pool.  A block never crosses a segment boundary.
 *
 * Invariants (checked by vm_phys_check()):
 *	- a block on list (d, f, p, o) starts at a multiple of 2^o pages, lies
 *	  inside one segment of domain d and freelist f, and its first page
 *	  has order o and pool p;
 *	- complete coalescing: no free block has a free buddy of the same
 *	  order (freeing always merges), so once every page is free the lists
 *	  hold only maximal blocks;
 *	- sum over lists of fl_cnt << order == vm_phys_free_pages_count(d).
 *
 * Page lookup.  PHYS_TO_VM_PAGE(pa) is an index into one array covering
 * the whole arena in dense mode, a binary search of the segments in
 * sparse mode (vm.phys.sparse=1; the array then has no holes).  Both
 * return NULL for an address without memory.
 *
 * Locking key:
 *	(c) constant after boot
 *	(f) free lock of the domain the list or segment belongs to
 * Every function below that takes or returns free pages needs the free
 * lock of the domain concerned (the _locked contract is the rule here, as
 * in FreeBSD's vm_phys; the names stay FreeBSD's).
 */
#ifndef VMLAB_VM_PHYS_H
#define VMLAB_VM_PHYS_H

#include "vm/vm_page.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

/* An odd size, so segments after a hole start off large alignments. */
#define VM_PHYS_HOLE_PAGES 261

struct vm_freelist {
	struct pglist fl_pl; /* (f) blocks of this order */
	uint64_t fl_cnt;     /* (f) blocks on fl_pl */
};

struct vm_phys_seg {
	vm_paddr_t ps_start;	       /* (c) */
	vm_paddr_t ps_end;	       /* (c) */
	struct vm_page *ps_first_page; /* (c) page of ps_start */
	int ps_domain;		       /* (c) */
	int ps_freelist;	       /* (c) VM_FREELIST_* */
	/* (c) the lists of its domain and freelist */
	struct vm_freelist (*ps_free_queues)[VM_NFREEPOOL][VM_NFREEORDER];
};

extern struct vm_phys_seg vm_phys_segs[VM_PHYSSEG_MAX]; /* (c) by address */
extern int vm_phys_nsegs;				/* (c) */
extern struct vm_page *vm_page_array;			/* (c) */
extern uint64_t vm_page_array_size;			/* (c) */
extern bool vm_phys_sparse;				/* (c) */
extern vm_paddr_t vm_phys_end;				/* (c) arena size */

struct vm_page *vm_phys_paddr_to_vm_page_sparse(vm_paddr_t pa);

/* The page at physical address pa, or NULL if pa has no memory. */
static inline struct vm_page *
vm_phys_paddr_to_vm_page(vm_paddr_t pa)
{
	struct vm_page *m;

	if (vm_phys_sparse)
		return (vm_phys_paddr_to_vm_page_sparse(pa));
	if (pa >= vm_phys_end)
		return (NULL);
	m = &vm_page_array[atop(pa)];
	return (m->segind == VM_PHYSSEG_NONE ? NULL : m);
}
#define PHYS_TO_VM_PAGE(pa) vm_phys_paddr_to_vm_page(pa)

/*
 * The page that direct-map address va lies in (the reverse of
 * vm_page_dmap()), or NULL if va is not in the direct map of memory.
 */
static inline struct vm_page *
vm_phys_dmap_to_vm_page(const void *va)
{
	uintptr_t base = (uintptr_t)md_phys_base();

	if ((uintptr_t)va < base || (uintptr_t)va - base >= vm_phys_end)
		return (NULL);
	return (PHYS_TO_VM_PAGE((vm_paddr_t)((uintptr_t)va - base)));
}

/* Allocation and freeing of blocks (free lock of `domain' or m's). */
struct vm_page *vm_phys_alloc_pages(int domain, int pool, int order);
struct vm_page *vm_phys_alloc_freelist_pages(
    int domain, int freelist, int pool, int order);
int vm_phys_alloc_npages(int domain, int pool, int npages, struct vm_page **ma);
struct vm_page *vm_phys_alloc_contig(int domain, uint64_t npages,
    vm_paddr_t low, vm_paddr_t high, uint64_t alignment, vm_paddr_t boundary);
void vm_phys_free_pages(struct vm_page *m, int order);
void vm_phys_free_contig(struct vm_page *m, uint64_t npages);

/* Free pages in the buddy lists of a domain; blocks of one order. */
uint64_t vm_phys_free_pages_count(int domain);
uint64_t vm_phys_free_blocks(int domain, int order);
/* Calls fn for every free block of the domain (free lock held). */
void vm_phys_foreach_free(
    int domain, void (*fn)(struct vm_page *m, int order, void *arg), void *arg);

/* Segments of a domain: pages, and whether pa lies in one. */
uint64_t vm_phys_domain_pages(int domain);
int vm_phys_seg_of(vm_paddr_t pa);

/* Free-list invariants (see above); takes each free lock in turn. */
int vm_phys_check(void);

int vm_phys_tunables(void);
int vm_phys_init(void);
void vm_phys_fini(void);

#endif /* !VMLAB_VM_PHYS_H */
