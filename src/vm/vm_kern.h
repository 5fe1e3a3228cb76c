/*
 * vm_kern.h: the kernel map, the kernel's KVA and kernel memory (kmem).
 *
 * kernel_arena: the vmem arena of kernel virtual addresses
 * [VM_MIN_KERNEL_ADDRESS, VM_MAX_KERNEL_ADDRESS), page quantum, quantum
 * caches up to 16 pages.  Every kernel address range comes from it.
 *
 * kmem_malloc(): `size' bytes (rounded up to pages) of wired kernel
 * memory: KVA from kernel_arena (no kernel map entry), pages from the
 * kernel object, entered in the kernel pmap at once; 0 if out of KVA or
 * pages (M_NOWAIT), with nothing left behind.
 * kmem_free(): unmaps and frees them, and returns the KVA.  With
 * vm.kmem.bulk_remove=1 the range is removed with one pmap_remove (one
 * shootdown) before the pages are freed; with 0 each page is removed on
 * its own (one shootdown per page), as DragonFly before its commit on
 * mass pipe closures (5eab490e).
 *
 * kmem_alloc_pageable(): `size' bytes of pageable kernel memory (as
 * DragonFly's, for pipe buffers): KVA from kernel_arena and a kernel map
 * entry there with a new anonymous swap-backed object, read/write.  It
 * reads as zero; pages fault in on first access through the uaccess
 * functions with the kernel address and may be paged out.  0 on failure
 * (out of KVA or memory), with nothing left behind.
 * kmem_free_pageable(): removes the entry (its pmap_remove on the kernel
 * pmap honours vm.kmem.bulk_remove: one ranged removal, or one per page,
 * each page a shootdown of its own, before the object goes), frees its
 * pages and returns the KVA.  kmem_bulk_remove(): the tunable.
 *
 * Kernel memory is accessed through the kernel pmap (vm_uaccess.h's
 * functions accept kernel addresses) or kmem_dmap() for one wired page.
 * Callers: kernel threads (M_WAITOK sleeps; the kernel map's lock is a
 * lockmgr, see vm_map.h).
 */
#ifndef VMLAB_VM_KERN_H
#define VMLAB_VM_KERN_H

#include "kern/malloc.h"
#include "kern/vmem.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stddef.h>

struct vm_map;
extern struct vm_map *kernel_map;
extern vmem_t *kernel_arena;

vm_offset_t kmem_malloc(size_t size, int flags);
void kmem_free(vm_offset_t addr, size_t size);
vm_offset_t kmem_alloc_pageable(size_t size, int flags);
void kmem_free_pageable(vm_offset_t addr, size_t size);
bool kmem_bulk_remove(void);
/* The direct-map address of the kernel page mapped at addr, or NULL. */
void *kmem_dmap(vm_offset_t addr);

int vm_kern_tunables(void);
int vm_kern_init(void);
void vm_kern_stop(void);
void vm_kern_fini(void);

#endif /* !VMLAB_VM_KERN_H */
