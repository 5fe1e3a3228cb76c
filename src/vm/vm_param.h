/*
 * vm_param.h: units and sizes shared by the VM modules.
 *
 * Pages are 4 KiB.  The buddy allocator keeps blocks of 2^order pages for
 * orders 0 .. VM_NFREEORDER - 1 (4 KiB .. 16 MiB).  A superpage
 * reservation ("level 0" in FreeBSD's terms) is 2^VM_LEVEL_0_ORDER pages:
 * 2 MiB, the size of an x86-64 large page.
 *
 * Free lists are indexed domain x freelist x pool x order:
 *  - freelist: a physical address class.  VM_FREELIST_LOWMEM holds the
 *    pages below vm.phys.lowmem (the ISA-DMA-like low zone) and is used
 *    by ordinary allocations only after VM_FREELIST_DEFAULT is empty.
 *  - pool: what the pages are used for, so that pages of different
 *    lifetimes do not interleave in one 2 MiB frame.  VM_FREEPOOL_DEFAULT
 *    feeds object pages and superpage reservations, VM_FREEPOOL_DIRECT
 *    pages without an object (kernel memory).  A pool that runs dry takes
 *    the largest block of another pool.
 */
#ifndef VMLAB_VM_PARAM_H
#define VMLAB_VM_PARAM_H

#include <stdint.h>

typedef uint64_t vm_paddr_t;  /* physical address: offset in the arena */
typedef uint64_t vm_pindex_t; /* page index within an object */

#define PAGE_SHIFT 12
#define PAGE_SIZE ((uint64_t)1 << PAGE_SHIFT)
#define PAGE_MASK (PAGE_SIZE - 1)
#define atop(x) ((uint64_t)(x) >> PAGE_SHIFT)
#define ptoa(x) ((vm_paddr_t)(x) << PAGE_SHIFT)

#define VM_NFREEORDER 13 /* orders 0 .. 12: 4 KiB .. 16 MiB */
#define VM_MAXORDER (VM_NFREEORDER - 1)

#define VM_FREELIST_DEFAULT 0
#define VM_FREELIST_LOWMEM 1
#define VM_NFREELIST 2

#define VM_FREEPOOL_DEFAULT 0
#define VM_FREEPOOL_DIRECT 1
#define VM_NFREEPOOL 2

#define VM_LEVEL_0_ORDER 9
#define VM_LEVEL_0_NPAGES (1 << VM_LEVEL_0_ORDER)
#define VM_LEVEL_0_SIZE (PAGE_SIZE << VM_LEVEL_0_ORDER)

/* Allocation requests (vm_page.h): a class, and options. */
#define VM_ALLOC_NORMAL 0
#define VM_ALLOC_INTERRUPT 1
#define VM_ALLOC_SYSTEM 2
#define VM_ALLOC_CLASS_MASK 3
#define VM_ALLOC_NOWAIT 0x00 /* fail rather than sleep (default) */
#define VM_ALLOC_WAITOK 0x10 /* sleep in vm_wait until pages are freed */
#define VM_ALLOC_ZERO 0x20   /* return zero-filled pages */

/* Segments: at most 16 per domain plus the low-memory split. */
#define VM_PHYSSEG_MAX (16 * 8 + 8)

#endif /* !VMLAB_VM_PARAM_H */
