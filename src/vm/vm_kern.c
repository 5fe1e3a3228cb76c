/*
 * vm_kern.c: the kernel map, the kernel's KVA and kernel memory
 * (vm_kern.h).
 *
 * KVA: kernel_arena, a vmem arena over [VM_MIN_KERNEL_ADDRESS,
 * VM_MAX_KERNEL_ADDRESS) with page quantum and quantum caches up to 16
 * pages.  The kernel map spans the same range over the kernel pmap and
 * holds only pageable kernel memory, each entry at the address the arena
 * gave.
 *
 * Wired kernel memory (kmem_malloc) has no map entry, as FreeBSD's: its
 * pages belong to one OBJT_PHYS object, the kernel object, at the index
 * of their address (pindex = atop(va - VM_MIN_KERNEL_ADDRESS)): wired and
 * unmanaged, entered in the kernel pmap when allocated, so it never
 * faults.  kmem_malloc() steps: 1. KVA from the arena (best fit above
 * the quantum caches, instant fit below); 2. pages: one at a time into
 * the kernel object (zeroed with M_ZERO); 3. mappings: pmap_enter, wired.
 * A failure undoes what was done.  kmem_free() steps: 1. unmap: one
 * ranged pmap_remove (vm.kmem.bulk_remove=1) or one pmap_remove per page
 * (0); 2. free the pages; 3. the KVA back to the arena.
 *
 * Pageable kernel memory (kmem_alloc_pageable, DragonFly's pipe
 * buffers): KVA from the arena, then a kernel map entry exactly there
 * with a new anonymous (OBJT_DEFAULT, swap-backed) object, read/write.
 * Its pages fault in on first access (uaccess of kernel addresses faults
 * through the kernel map) and are paged out like anonymous user memory.
 * kmem_free_pageable(): vm_map_remove (whose pmap_remove honours
 * vm.kmem.bulk_remove for the kernel map, see vm_map_delete), then the
 * KVA back to the arena.
 */
#include "vm/vm_kern.h"

#include "kern/counter.h"
#include "kern/sysctl.h"
#include "kern/vmem.h"
#include "pmap/pmap.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"

#include <errno.h>
#include <string.h>

static struct vm_map kernel_map_store;
struct vm_map *kernel_map;
static struct vm_object *kernel_object;
vmem_t *kernel_arena;

#define KMEM_QCACHE_PAGES 16

static int64_t vm_kmem_bulk_remove_tun; /* vm.kmem.bulk_remove's storage */
static uint32_t vm_kmem_bulk_remove;	/* (a) its value (boot, run time) */

static counter_u64_t vm_kmem_allocs, vm_kmem_frees, vm_kmem_pages;
static counter_u64_t vm_kmem_pageable_allocs, vm_kmem_pageable_frees;

static const struct counter_spec vm_kern_counters[] = {
	{ &vm_kmem_allocs, "vm.stats.kmem.allocs", "kmem_malloc calls" },
	{ &vm_kmem_frees, "vm.stats.kmem.frees", "kmem_free calls" },
	{ &vm_kmem_pages, "vm.stats.kmem.pages",
	    "kernel memory pages currently allocated" },
	{ &vm_kmem_pageable_allocs, "vm.stats.kmem.pageable_allocs",
	    "kmem_alloc_pageable calls that succeeded" },
	{ &vm_kmem_pageable_frees, "vm.stats.kmem.pageable_frees",
	    "kmem_free_pageable calls" },
};

bool
kmem_bulk_remove(void)
{
	return (atomic_load_int(&vm_kmem_bulk_remove) != 0);
}

/*
 * KVA of len bytes (page-rounded) from the kernel arena: the caller's
 * fit if any, else best fit above the quantum caches (large requests
 * keep the arena compact), instant fit below.  0 if none (M_NOWAIT).
 */
static vm_offset_t
kmem_kva_alloc(vm_offset_t len, int flags)
{
	vmem_addr_t addr;
	int vflags = (flags & M_WAITOK) != 0 ? M_WAITOK : M_NOWAIT;

	if ((flags & M_FITMASK) != 0)
		vflags |= flags & M_FITMASK;
	else
		vflags |=
		    len > ptoa(KMEM_QCACHE_PAGES) ? M_BESTFIT : M_INSTANTFIT;
	if (vmem_alloc(kernel_arena, len, vflags, &addr) != 0)
		return (0);
	return ((vm_offset_t)addr);
}

static vm_pindex_t
kmem_pindex(vm_offset_t va)
{
	return (atop(va - VM_MIN_KERNEL_ADDRESS));
}

/*
 * Frees the kernel object's pages over [addr, addr + size) that exist
 * (a partial kmem_malloc's too); their mappings must be gone.
 */
static void
kmem_free_pages(vm_offset_t addr, vm_offset_t size)
{
	struct vm_page *m;
	vm_offset_t off;
	int64_t n = 0;

	vm_object_lock(kernel_object);
	for (off = 0; off < size; off += PAGE_SIZE) {
		m = vm_page_lookup(kernel_object, kmem_pindex(addr + off));
		if (m == NULL)
			continue;
		/* Kernel pages are never busied by anyone else. */
		if (!vm_page_tryxbusy(m))
			VM_PANIC(
			    "%s: kernel page %p busy", __func__, (void *)m);
		atomic_store_int(&m->wire_count, 0);
		vm_page_free_obj(m);
		n++;
	}
	vm_object_unlock(kernel_object);
	counter_u64_add(vm_kmem_pages, -n);
}

/* Step 2 and 3 of kmem_malloc for the page at va. */
static int
kmem_back_page(vm_offset_t va, int flags)
{
	struct vm_page *m;
	int error;

	for (;;) {
		vm_object_lock(kernel_object);
		m = vm_page_alloc_obj(kernel_object, kmem_pindex(va), &error);
		vm_object_unlock(kernel_object);
		if (m != NULL)
			break;
		if ((flags & M_WAITOK) == 0 || vm_pageout_oom_declared())
			return (ENOMEM);
		vm_pageout_wait_free();
	}
	if ((flags & M_ZERO) != 0)
		md_page_zero(vm_page_dmap(m), PAGE_SIZE);
	m->valid = VM_PAGE_BITS_ALL;
	error = pmap_enter(kernel_pmap, va, m, VM_PROT_RW,
	    PMAP_ENTER_WIRED |
		((flags & M_WAITOK) == 0 ? PMAP_ENTER_NOSLEEP : 0),
	    0);
	vm_page_xunbusy(m);
	counter_u64_add(vm_kmem_pages, 1);
	return (error);
}

/*
 * The kernel object, made on first use: the first kmem_malloc callers
 * race to publish theirs, and the losers drop their copy.
 */
static bool
kmem_object_ready(void)
{
	struct vm_object *obj;

	/* Acquire: pairs with the release of the publishing cmpset. */
	if (atomic_load_acq_ptr((uintptr_t *)&kernel_object) != 0)
		return (true);
	obj = vm_object_allocate(OBJT_PHYS, kmem_pindex(VM_MAX_KERNEL_ADDRESS));
	if (obj == NULL)
		return (false);
	/* Release: the object's initialisation before its publication. */
	if (!atomic_cmpset_rel_ptr(
		(uintptr_t *)&kernel_object, 0, (uintptr_t)obj))
		vm_object_deallocate(obj);
	return (true);
}

vm_offset_t
kmem_malloc(size_t size, int flags)
{
	vm_offset_t addr, off;
	vm_offset_t len = round_page(size);

	if (size == 0 || len < size || !kmem_object_ready())
		return (0);
	if ((addr = kmem_kva_alloc(len, flags)) == 0)
		return (0);
	for (off = 0; off < len; off += PAGE_SIZE) {
		if (kmem_back_page(addr + off, flags) != 0) {
			pmap_remove(kernel_pmap, addr, addr + off + PAGE_SIZE);
			kmem_free_pages(addr, off + PAGE_SIZE);
			vmem_free(kernel_arena, addr, len);
			return (0);
		}
	}
	counter_u64_add(vm_kmem_allocs, 1);
	return (addr);
}

void
kmem_free(vm_offset_t addr, size_t size)
{
	vm_offset_t len = round_page(size), off;

	VM_ASSERT(addr >= VM_MIN_KERNEL_ADDRESS && (addr & PAGE_MASK) == 0,
	    ("%s: bad address %#lx", __func__, (unsigned long)addr));
	if (kmem_bulk_remove())
		pmap_remove(kernel_pmap, addr, addr + len);
	else
		for (off = 0; off < len; off += PAGE_SIZE)
			pmap_remove(
			    kernel_pmap, addr + off, addr + off + PAGE_SIZE);
	kmem_free_pages(addr, len);
	vmem_free(kernel_arena, addr, len);
	counter_u64_add(vm_kmem_frees, 1);
}

vm_offset_t
kmem_alloc_pageable(size_t size, int flags)
{
	struct vm_object *obj;
	vm_offset_t addr, len = round_page(size);
	int error;

	if (size == 0 || len < size)
		return (0);
	if ((addr = kmem_kva_alloc(len, flags)) == 0)
		return (0);
	if ((obj = vm_object_allocate(OBJT_DEFAULT, atop(len))) == NULL)
		goto fail_kva;
	/* The arena owns the range: the map has nothing there. */
	vm_map_lock(kernel_map);
	error = vm_map_insert(
	    kernel_map, obj, 0, addr, addr + len, VM_PROT_RW, VM_PROT_RW, 0);
	vm_map_unlock(kernel_map);
	if (error != 0) {
		VM_ASSERT(error == ENOMEM,
		    ("%s: insert at %#lx: %d", __func__, (unsigned long)addr,
			error));
		vm_object_deallocate(obj);
		goto fail_kva;
	}
	counter_u64_add(vm_kmem_pageable_allocs, 1);
	return (addr);
fail_kva:
	vmem_free(kernel_arena, addr, len);
	return (0);
}

void
kmem_free_pageable(vm_offset_t addr, size_t size)
{
	vm_offset_t len = round_page(size);
	int error;

	VM_ASSERT(addr >= VM_MIN_KERNEL_ADDRESS && (addr & PAGE_MASK) == 0,
	    ("%s: bad address %#lx", __func__, (unsigned long)addr));
	/*
	 * The whole entry goes: no clip, so no allocation, so no failure.
	 * Its translations are gone before its object (and pages) is.
	 */
	error = vm_map_remove(kernel_map, addr, addr + len);
	VM_ASSERT(error == 0,
	    ("%s: remove of %#lx: %d", __func__, (unsigned long)addr, error));
	(void)error;
	vmem_free(kernel_arena, addr, len);
	counter_u64_add(vm_kmem_pageable_frees, 1);
}

void *
kmem_dmap(vm_offset_t addr)
{
	return (pmap_kextract_dmap(addr));
}

/* Run-time change of vm.kmem.bulk_remove: the next removal uses it. */
static int
vm_kern_set_bulk_remove(int64_t value, void *arg)
{
	(void)arg;
	atomic_store_int(&vm_kmem_bulk_remove, (uint32_t)value);
	if (kernel_map != NULL)
		atomic_store_int(&kernel_map->remove_per_page, value == 0);
	return (0);
}

int
vm_kern_tunables(void)
{
	int error;

	if ((error = tunable_int_register("vm.kmem.bulk_remove",
		 &vm_kmem_bulk_remove_tun, 1, 0, 1,
		 "kmem_free and kernel-map removal: 1 one ranged pmap_remove "
		 "(one shootdown), 0 one per page")) != 0)
		return (error);
	return (tunable_set_handler(
	    "vm.kmem.bulk_remove", vm_kern_set_bulk_remove, NULL));
}

/*
 * Boot: the counters, the kernel arena and the kernel map (no thread
 * runs yet, so the kernel object is made by the first kmem_malloc).
 * Stop (a kernel thread, before the CPUs halt): the kernel map's entries
 * go with their objects; what kmem users left is unmapped and freed with
 * the kernel object, its KVA returned; then the arena goes.  Fini: the
 * rest; after a boot that failed later, the map and the arena are still
 * empty.
 */
int
vm_kern_init(void)
{
	int error;

	if ((error = counter_u64_alloc_table(
		 vm_kern_counters, nitems(vm_kern_counters))) != 0)
		return (error);
	atomic_store_int(
	    &vm_kmem_bulk_remove, (uint32_t)vm_kmem_bulk_remove_tun);
	kernel_arena = vmem_create("kernel arena", VM_MIN_KERNEL_ADDRESS,
	    VM_MAX_KERNEL_ADDRESS - VM_MIN_KERNEL_ADDRESS, PAGE_SIZE,
	    ptoa(KMEM_QCACHE_PAGES), M_WAITOK);
	if (kernel_arena == NULL) {
		counter_u64_free_table(
		    vm_kern_counters, nitems(vm_kern_counters));
		return (ENOMEM);
	}
	vm_map_init(&kernel_map_store, kernel_pmap, VM_MIN_KERNEL_ADDRESS,
	    VM_MAX_KERNEL_ADDRESS, true);
	kernel_map = &kernel_map_store;
	atomic_store_int(&kernel_map->remove_per_page,
	    atomic_load_int(&vm_kmem_bulk_remove) == 0);
	return (0);
}

void
vm_kern_stop(void)
{
	struct vm_object *obj;

	vm_map_destroy(kernel_map);
	kernel_map = NULL;
	vmem_qcache_drain(kernel_arena);
	/* Leaked kmem: its wired mappings, before its pages go. */
	if (vmem_size(kernel_arena, VMEM_ALLOC) != 0)
		pmap_remove(
		    kernel_pmap, VM_MIN_KERNEL_ADDRESS, VM_MAX_KERNEL_ADDRESS);
	obj =
	    (struct vm_object *)atomic_swap_ptr((uintptr_t *)&kernel_object, 0);
	if (obj != NULL)
		vm_object_deallocate(obj);
	(void)vmem_free_all(kernel_arena);
	vmem_destroy(kernel_arena);
	kernel_arena = NULL;
}

void
vm_kern_fini(void)
{
	if (kernel_map != NULL) {
		vm_map_lock_destroy(kernel_map);
		kernel_map = NULL;
	}
	if (kernel_arena != NULL) {
		vmem_destroy(kernel_arena);
		kernel_arena = NULL;
	}
	counter_u64_free_table(vm_kern_counters, nitems(vm_kern_counters));
}
