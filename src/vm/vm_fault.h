/*
 * vm_fault.h: the touch path (see vm_fault.c for its steps).
 */
#ifndef VMLAB_VM_FAULT_H
#define VMLAB_VM_FAULT_H

#include "vm/vm_param.h"

#include <stdint.h>

struct vm_object;

/*
 * The workload API: touch page `pindex' of obj for read or write, as a
 * memory access through a mapping would (before the MMU exists).  Finds
 * the page (lockless for resident pages), allocating, zero-filling or
 * paging it in, copying it up the shadow chain for a write; sets its
 * reference bit (and dirty bit for writes) and calls fn(data, arg) with
 * the page's bytes while the page is busy (exclusive for writes, shared
 * for reads), so fn sees and leaves a consistent page.
 * Returns 0, EFAULT (pindex beyond a file), EIO (page-in failed) or
 * ENOMEM (no memory after the page daemon's OOM report).  Kernel thread,
 * no lock held.
 */
#define VM_TOUCH_READ 0x0
#define VM_TOUCH_WRITE 0x1
typedef void vm_touch_fn(uint8_t *data, vm_pindex_t pindex, void *arg);
int vm_fault_touch(struct vm_object *obj, vm_pindex_t pindex, int flags,
    vm_touch_fn *fn, void *arg);

/*
 * The page fault handler.  vm_fault(): resolves a fault at vaddr in map
 * for `fault_type' (VM_PROT_READ or VM_PROT_WRITE): looks the entry up
 * under the shared map lock, finds or makes the page (shadow-chain walk,
 * zero fill, page-in, copy-on-write into the front object), and enters
 * the mapping in the map's pmap (2 MiB when the reservation is fully
 * populated).  VM_FAULT_WIRE also wires the page and the mapping.
 * With m_hold non-NULL, the page is returned wired (the caller unwires).
 * Returns 0, EFAULT (no mapping: unmapped address or a guard), EACCES
 * (protection), EIO (page-in failed), ENOMEM (OOM declared).  Kernel
 * thread, no lock held.
 */
#define VM_FAULT_NORMAL 0
#define VM_FAULT_WIRE 0x1
struct vm_map;
struct vm_page;
int vm_fault(struct vm_map *map, vm_offset_t vaddr, vm_prot_t fault_type,
    int fault_flags, struct vm_page **m_hold);

/* Boot and shutdown (vm_boot.c): the touch counters. */
int vm_fault_init(void);
void vm_fault_fini(void);

#endif /* !VMLAB_VM_FAULT_H */
