/*
 * vm_kern.h: the kernel map and kernel memory (kmem).
 *
 * kmem_malloc(): `size' bytes (rounded up to pages) of wired kernel
 * memory: KVA from the kernel map, pages from the kernel object, entered
 * in the kernel pmap at once; 0 if out of KVA or pages (M_NOWAIT) .
 * kmem_free(): unmaps and frees them.  With vm.kmem.bulk_remove=1 the
 * range is removed with one pmap_remove (one shootdown) before the pages
 * are freed; with 0 each page is removed on its own (one shootdown per
 * page), as DragonFly before its commit on mass pipe closures.
 * Kernel memory is accessed through the kernel pmap (vm_uaccess.h's
 * functions accept kernel addresses) or kmem_dmap() for one page.
 */
#ifndef VMLAB_VM_KERN_H
#define VMLAB_VM_KERN_H

#include "kern/malloc.h"
#include "vm/vm_param.h"

#include <stddef.h>

struct vm_map;
extern struct vm_map *kernel_map;

vm_offset_t kmem_malloc(size_t size, int flags);
void kmem_free(vm_offset_t addr, size_t size);
/* The direct-map address of the kernel page mapped at addr, or NULL. */
void *kmem_dmap(vm_offset_t addr);

int vm_kern_tunables(void);
int vm_kern_init(void);
void vm_kern_stop(void);
void vm_kern_fini(void);

#endif /* !VMLAB_VM_KERN_H */
