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

/*
 * Virtual addresses and protections.  The software MMU translates 48-bit
 * x86-64 addresses: user space is [VM_MIN_USER_ADDRESS,
 * VM_MAX_USER_ADDRESS), the kernel's the top half's canonical range from
 * VM_MIN_KERNEL_ADDRESS.
 */
typedef uint64_t vm_offset_t;
typedef uint8_t vm_prot_t;
typedef uint8_t vm_inherit_t;

#define VM_PROT_NONE 0x0
#define VM_PROT_READ 0x1
#define VM_PROT_WRITE 0x2
#define VM_PROT_EXECUTE 0x4
#define VM_PROT_RW (VM_PROT_READ | VM_PROT_WRITE)
#define VM_PROT_ALL (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE)

#define VM_INHERIT_SHARE 0
#define VM_INHERIT_COPY 1
#define VM_INHERIT_NONE 2

#define VM_MIN_USER_ADDRESS ((vm_offset_t)0x1000)
#define VM_MAX_USER_ADDRESS ((vm_offset_t)0x00007ffffffff000)
#define VM_MIN_KERNEL_ADDRESS ((vm_offset_t)0xffff800000000000)
#define VM_MAX_KERNEL_ADDRESS ((vm_offset_t)0xfffffffffffff000)

#define trunc_page(x) ((vm_offset_t)(x) & ~PAGE_MASK)
#define round_page(x) (((vm_offset_t)(x) + PAGE_MASK) & ~PAGE_MASK)

/* Segments: at most 16 per domain plus the low-memory split. */
#define VM_PHYSSEG_MAX (16 * 8 + 8)

#endif /* !VMLAB_VM_PARAM_H */
