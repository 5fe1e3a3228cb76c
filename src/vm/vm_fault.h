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

/* Boot and shutdown (vm_boot.c): the touch counters. */
int vm_fault_init(void);
void vm_fault_fini(void);

#endif /* !VMLAB_VM_FAULT_H */
