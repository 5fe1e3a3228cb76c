/*
 * vm_vmspace.c: address spaces: a user map and its pmap with a reference
 * count; fork (per-entry inheritance, copy-on-write), exec (an image's
 * text, data, bss and stack) and the current thread's address space.
 *
 * Lifetime.  vm_refcnt counts the process and every thread that borrows
 * the space (vmspace_switch); the last vmspace_free() tears it down in
 * the order exit wants: (1) pmap_remove_pages drops the managed unwired
 * translations in one pass over the pv chunks with one flush, (2) the
 * entries go with their object references, after one pmap_remove over
 * the mapped span for what (1) keeps (wired and unmanaged mappings;
 * cheap otherwise: the walk skips empty tables), (3) the pmap's tables
 * are released (pmap_release also makes CPUs that still hold the pmap
 * loaded, lazily, drop it).
 */
#include "kern/kassert.h"
#include "kern/thread.h"
#include "md/md_atomic.h"
#include "vm/vm_map.h"
#include "vm/vm_map_int.h"
#include "vm/vm_object.h"

#include <errno.h>

/* Where exec puts text when the image does not say. */
#define VMSPACE_TEXT_DEFAULT ((vm_offset_t)0x400000)

/* See vm_map.h.  Any thread, no lock held (pmap_pinit may sleep). */
struct vmspace *
vmspace_alloc(void)
{
	struct vmspace *vm;

	if ((vm = md_calloc(1, sizeof(*vm))) == NULL)
		return (NULL);
	if (pmap_pinit(&vm->vm_pmap) != 0) {
		md_free(vm);
		return (NULL);
	}
	vm_map_init(&vm->vm_map, &vm->vm_pmap, VM_MIN_USER_ADDRESS,
	    VM_MAX_USER_ADDRESS, false);
	vm->vm_refcnt = 1;
	return (vm);
}

/* A new reference; the caller already holds one. */
void
vmspace_ref(struct vmspace *vm)
{
	uint32_t old = atomic_fetchadd_int(&vm->vm_refcnt, 1);

	VM_ASSERT(old > 0, ("%s: vmspace %p is dead", __func__, (void *)vm));
	(void)old;
}

/*
 * Drops a reference; the last one tears the space down (see the top).
 * The fetchadd is sequentially consistent: every earlier use of the space
 * by other holders happens before the teardown.  No lock held.
 */
void
vmspace_free(struct vmspace *vm)
{
	struct vm_map_spare sp = VM_MAP_SPARE_INITIALIZER;
	struct vm_map *map = &vm->vm_map;
	uint32_t old = atomic_fetchadd_int(&vm->vm_refcnt, (uint32_t)-1);

	VM_ASSERT(old > 0, ("%s: vmspace %p is dead", __func__, (void *)vm));
	if (old != 1)
		return;
	pmap_remove_pages(vmspace_pmap(vm));
	vm_map_lock(map);
	/* The whole map: nothing to clip, so no spare entries. */
	vm_map_delete(map, map->min_offset, map->max_offset, &sp);
	vm_map_unlock(map);
	vm_map_lock_destroy(map);
	pmap_release(vmspace_pmap(vm));
	md_free(vm);
}

/*
 * The child's copy of one parent entry, per its inheritance (vm_map.h).
 * For VM_INHERIT_COPY with an object, the parent's translations become
 * read-only (unless they already are, because the entry needs a copy) so
 * that its next write faults and copies, and both entries need a copy.
 * 0 or ENOMEM (the child then lacks this entry; the parent may have been
 * marked, which only costs a copy later).  Both maps locked exclusive.
 */
static int
vmspace_fork_entry(
    struct vm_map *map1, struct vm_map *map2, struct vm_map_entry *e)
{
	int error;

	if (e->inheritance == VM_INHERIT_NONE)
		return (0);
	if ((e->eflags & MAP_ENTRY_NOFAULT) != 0 || e->object == NULL) {
		/* Guards, and private memory nobody has touched yet. */
		if (e->inheritance == VM_INHERIT_COPY ||
		    (e->eflags & MAP_ENTRY_NOFAULT) != 0)
			return (vm_map_entry_copy_append(map2, e));
	}
	if (e->inheritance == VM_INHERIT_SHARE) {
		if ((error = vm_map_entry_own_object(e)) != 0 ||
		    (error = vm_map_entry_copy_append(map2, e)) != 0)
			return (error);
		vm_object_reference(e->object);
		return (0);
	}
	if ((e->eflags & MAP_ENTRY_NEEDS_COPY) == 0 &&
	    (e->protection & VM_PROT_WRITE) != 0 && map1->pmap != NULL)
		pmap_protect(map1->pmap, e->start, e->end,
		    e->protection & ~VM_PROT_WRITE);
	e->eflags |= MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY;
	if ((error = vm_map_entry_copy_append(map2, e)) != 0)
		return (error);
	vm_object_reference(e->object);
	return (0);
}

/*
 * See vm_map.h.  The parent's map is locked exclusive throughout (its
 * entries change); the child's is locked with a try-lock, which cannot
 * fail on a map nobody else knows and needs no order check against the
 * parent's lock of the same name.  No lock held.
 */
struct vmspace *
vmspace_fork(struct vmspace *vm1)
{
	struct vm_map *map1 = &vm1->vm_map, *map2;
	struct vm_map_entry *e;
	struct vmspace *vm2;
	int error = 0;
	bool locked;

	if ((vm2 = vmspace_alloc()) == NULL)
		return (NULL);
	map2 = &vm2->vm_map;
	vm_map_lock(map1);
	locked = vm_map_trylock(map2);
	VM_ASSERT(locked, ("%s: new map %p is locked", __func__, (void *)map2));
	(void)locked;
	for (e = map1->header.next; e != &map1->header && error == 0;
	     e = e->next)
		error = vmspace_fork_entry(map1, map2, e);
	vm_map_unlock(map2);
	vm_map_unlock(map1);
	if (error != 0) {
		vmspace_free(vm2);
		return (NULL);
	}
	counter_u64_add(vm_map_cnt_forks, 1);
	return (vm2);
}

/*
 * Maps an image into the empty map of a new vmspace: text shared
 * read/execute (its maximum without write) at `text', data private
 * copy-on-write from the object's page text_pages, bss zero-fill, the
 * stack zero-fill below VM_MAX_USER_ADDRESS with a guard page (an entry
 * that every fault fails) under it.  0 or errno.
 */
static int
vmspace_exec_map(
    struct vm_map *map, const struct vm_image *img, vm_offset_t text)
{
	vm_offset_t a, data = text + ptoa(img->vi_text_pages);
	vm_offset_t bss = data + ptoa(img->vi_data_pages);
	vm_offset_t stack = VM_MAX_USER_ADDRESS - ptoa(img->vi_stack_pages);
	int error;

	if (stack - PAGE_SIZE < bss + ptoa(img->vi_bss_pages))
		return (ENOMEM);
	a = text;
	if ((error = vm_mmap(map, &a, ptoa(img->vi_text_pages),
		 VM_PROT_READ | VM_PROT_EXECUTE, VM_PROT_READ | VM_PROT_EXECUTE,
		 MAP_SHARED | MAP_FIXED, img->vi_object, 0)) != 0)
		return (error);
	a = data;
	if (img->vi_data_pages != 0 &&
	    (error = vm_mmap(map, &a, ptoa(img->vi_data_pages), VM_PROT_RW,
		 VM_PROT_ALL, MAP_PRIVATE | MAP_FIXED, img->vi_object,
		 ptoa(img->vi_text_pages))) != 0)
		return (error);
	a = bss;
	if (img->vi_bss_pages != 0 &&
	    (error = vm_mmap(map, &a, ptoa(img->vi_bss_pages), VM_PROT_RW,
		 VM_PROT_ALL, MAP_PRIVATE | MAP_FIXED | MAP_ANON, NULL, 0)) !=
		0)
		return (error);
	a = stack;
	if ((error = vm_mmap(map, &a, ptoa(img->vi_stack_pages), VM_PROT_RW,
		 VM_PROT_ALL, MAP_PRIVATE | MAP_FIXED | MAP_ANON | MAP_STACK,
		 NULL, 0)) != 0)
		return (error);
	a = stack - PAGE_SIZE;
	return (vm_map_find(map, NULL, 0, &a, PAGE_SIZE, VMFS_NO_SPACE,
	    VM_PROT_NONE, VM_PROT_NONE, MAP_ENTRY_NOFAULT));
}

/*
 * See vm_map.h.  EINVAL for an image without an object, text or stack,
 * or with an unaligned text address; ENOMEM when it does not fit below
 * VM_MAX_USER_ADDRESS or memory runs out.  *entryp is the start of text,
 * *stackp the top of the stack.  No lock held.
 */
int
vmspace_exec(const struct vm_image *img, struct vmspace **vmp,
    vm_offset_t *entryp, vm_offset_t *stackp)
{
	const vm_pindex_t limit = atop(VM_MAX_USER_ADDRESS);
	vm_offset_t text =
	    img->vi_text_addr != 0 ? img->vi_text_addr : VMSPACE_TEXT_DEFAULT;
	struct vmspace *vm;
	int error;

	if (img->vi_object == NULL || img->vi_text_pages == 0 ||
	    img->vi_stack_pages == 0 || (text & PAGE_MASK) != 0 ||
	    text < VM_MIN_USER_ADDRESS)
		return (EINVAL);
	/* Page counts each below the space's size: their sums cannot wrap. */
	if (img->vi_text_pages >= limit || img->vi_data_pages >= limit ||
	    img->vi_bss_pages >= limit || img->vi_stack_pages >= limit ||
	    text >= VM_MAX_USER_ADDRESS)
		return (ENOMEM);
	if ((vm = vmspace_alloc()) == NULL)
		return (ENOMEM);
	if ((error = vmspace_exec_map(&vm->vm_map, img, text)) != 0) {
		vmspace_free(vm);
		return (error);
	}
	counter_u64_add(vm_map_cnt_execs, 1);
	*vmp = vm;
	*entryp = text;
	*stackp = VM_MAX_USER_ADDRESS;
	return (0);
}

/*
 * See vm_map.h.  The new space is referenced and its pmap activated
 * before the old one's reference is dropped, so the CPU never runs in a
 * space that is being torn down.  A kernel thread.
 */
void
vmspace_switch(struct vmspace *vm)
{
	struct thread *td = curthread;
	struct vmspace *old;

	VM_ASSERT(td != NULL, ("%s: not a kernel thread", __func__));
	if ((old = td->td_vmspace) == vm)
		return;
	if (vm != NULL) {
		vmspace_ref(vm);
		pmap_activate(vmspace_pmap(vm));
	}
	td->td_vmspace = vm;
	/* The running thread's copy for the hit path (kern/thread.h). */
	curpcpu_get()->pc_vmspace = vm;
	if (old != NULL)
		vmspace_free(old);
}

/* The current thread's space, or NULL (kernel-only or external thread). */
struct vmspace *
vmspace_current(void)
{
	struct thread *td = curthread;

	return (td == NULL ? NULL : td->td_vmspace);
}
