/*
 * vm_kern.c: the kernel map and kernel memory (vm_kern.h).
 *
 * The kernel map spans [VM_MIN_KERNEL_ADDRESS, VM_MAX_KERNEL_ADDRESS)
 * over the kernel pmap.  Its KVA is found with the map's own gap search
 * (the pipes issue replaces it with vmem arenas).  Kernel memory pages
 * belong to one OBJT_PHYS object, the kernel object, at the index of
 * their address (pindex = atop(va - VM_MIN_KERNEL_ADDRESS)): wired and
 * unmanaged, entered in the kernel pmap when allocated, so kernel memory
 * never faults.  The map entries (MAP_ENTRY_KERNEL) carry no object.
 *
 * kmem_malloc() steps: 1. KVA: a kernel map entry; 2. pages: one at a time into the kernel object (zeroed with
 * M_ZERO); 3. mappings: pmap_enter, wired.  A failure undoes what was
 * done.  kmem_free() steps: 1. unmap: one ranged pmap_remove
 * (vm.kmem.bulk_remove=1) or one pmap_remove per page (0); 2. free the
 * pages; 3. remove the map entry (its pmap_remove finds nothing left).
 */
#include "vm/vm_kern.h"

#include "kern/counter.h"
#include "kern/sysctl.h"
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

static int64_t vm_kmem_bulk_remove; /* (c) vm.kmem.bulk_remove */

static counter_u64_t vm_kmem_allocs, vm_kmem_frees, vm_kmem_pages;

static const struct counter_spec vm_kern_counters[] = {
	{ &vm_kmem_allocs, "vm.stats.kmem.allocs", "kmem_malloc calls" },
	{ &vm_kmem_frees, "vm.stats.kmem.frees", "kmem_free calls" },
	{ &vm_kmem_pages, "vm.stats.kmem.pages",
	    "kernel memory pages currently allocated" },
};

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
	vm_offset_t addr = VM_MIN_KERNEL_ADDRESS, off;
	vm_offset_t len = round_page(size);

	if (size == 0 || len < size || !kmem_object_ready())
		return (0);
	/*
	 * The entry has no object: kmem keeps its pages in the kernel
	 * object itself, and kernel entries are never faulted on.
	 */
	if (vm_map_find(kernel_map, NULL, 0, &addr, len, VMFS_ANY_SPACE,
		VM_PROT_RW, VM_PROT_RW, MAP_ENTRY_KERNEL) != 0)
		return (0);
	for (off = 0; off < len; off += PAGE_SIZE) {
		if (kmem_back_page(addr + off, flags) != 0) {
			pmap_remove(kernel_pmap, addr, addr + off + PAGE_SIZE);
			kmem_free_pages(addr, off + PAGE_SIZE);
			(void)vm_map_remove(kernel_map, addr, addr + len);
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
	if (vm_kmem_bulk_remove)
		pmap_remove(kernel_pmap, addr, addr + len);
	else
		for (off = 0; off < len; off += PAGE_SIZE)
			pmap_remove(
			    kernel_pmap, addr + off, addr + off + PAGE_SIZE);
	kmem_free_pages(addr, len);
	(void)vm_map_remove(kernel_map, addr, addr + len);
	counter_u64_add(vm_kmem_frees, 1);
}

void *
kmem_dmap(vm_offset_t addr)
{
	return (pmap_kextract_dmap(addr));
}

int
vm_kern_tunables(void)
{
	return (tunable_int_register("vm.kmem.bulk_remove",
	    &vm_kmem_bulk_remove, 1, 0, 1,
	    "kmem_free: 1 one ranged pmap_remove (one shootdown), 0 one per "
	    "page"));
}

/*
 * Boot: the counters and the kernel map (no thread runs yet, so the
 * kernel object is made by the first kmem_malloc).  Stop (a kernel
 * thread, before the CPUs halt): what kmem users left is unmapped and
 * freed with the map and the object.  Fini: the rest; after a boot that
 * failed later, the map is still empty and only its lock goes.
 */
int
vm_kern_init(void)
{
	int error;

	if ((error = counter_u64_alloc_table(
		 vm_kern_counters, nitems(vm_kern_counters))) != 0)
		return (error);
	vm_map_init(&kernel_map_store, kernel_pmap, VM_MIN_KERNEL_ADDRESS,
	    VM_MAX_KERNEL_ADDRESS, true);
	kernel_map = &kernel_map_store;
	return (0);
}

void
vm_kern_stop(void)
{
	struct vm_object *obj;

	vm_map_destroy(kernel_map);
	kernel_map = NULL;
	obj =
	    (struct vm_object *)atomic_swap_ptr((uintptr_t *)&kernel_object, 0);
	if (obj != NULL)
		vm_object_deallocate(obj);
}

void
vm_kern_fini(void)
{
	if (kernel_map != NULL) {
		sx_destroy(&kernel_map->lock);
		kernel_map = NULL;
	}
	counter_u64_free_table(vm_kern_counters, nitems(vm_kern_counters));
}
