/*
 * vm_mmap.c: the system-call layer of maps: mmap, munmap and mprotect
 * with errno results for every bad argument (vm_map.h).
 *
 * Argument errors, checked before the map is locked, in this order:
 *	flags:	an unknown bit, neither or both of MAP_SHARED and
 *		MAP_PRIVATE, MAP_ANON with an object or a non-zero offset,
 *		no object without MAP_ANON, MAP_STACK without MAP_ANON |
 *		MAP_PRIVATE					EINVAL
 *	prot:	a bit outside VM_PROT_ALL (prot or maxprot)	EINVAL
 *		prot above maxprot				EACCES
 *	range:	zero length, an unaligned address or offset	EINVAL
 *		a length that overflows when rounded to pages, or an
 *		address + length that wraps			EINVAL
 *		MAP_FIXED outside the map			EINVAL
 *		munmap or mprotect outside the map		ENOMEM
 * then the map's own: no space (ENOMEM), mprotect over a hole (ENOMEM)
 * or above an entry's maximum (EACCES), no memory (ENOMEM).  A failed
 * call leaves the map unchanged.
 */
#include "kern/kassert.h"
#include "vm/vm_map.h"
#include "vm/vm_map_int.h"
#include "vm/vm_object.h"

#include <errno.h>

#define VM_MMAP_FLAGS                                                          \
	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANON | MAP_STACK |         \
	    MAP_ALIGNED_SUPER)

/* The flags and protection checks of vm_mmap() (see above). */
static int
vm_mmap_check_args(vm_prot_t prot, vm_prot_t maxprot, int flags,
    struct vm_object *obj, uint64_t off)
{
	int kind = flags & (MAP_SHARED | MAP_PRIVATE);

	if ((flags & ~VM_MMAP_FLAGS) != 0 ||
	    (kind != MAP_SHARED && kind != MAP_PRIVATE))
		return (EINVAL);
	if ((flags & MAP_ANON) != 0 ? obj != NULL || off != 0 : obj == NULL)
		return (EINVAL);
	if ((flags & MAP_STACK) != 0 &&
	    (flags & (MAP_ANON | MAP_PRIVATE)) != (MAP_ANON | MAP_PRIVATE))
		return (EINVAL);
	if ((prot & ~VM_PROT_ALL) != 0 || (maxprot & ~VM_PROT_ALL) != 0)
		return (EINVAL);
	if ((prot & ~maxprot) != 0)
		return (EACCES);
	return (0);
}

/*
 * The range checks shared by the three calls: addr page-aligned, len
 * non-zero; *sizep gets len rounded up to pages.  EINVAL if that or
 * addr + size overflows.
 */
static int
vm_mmap_check_range(vm_offset_t addr, vm_offset_t len, vm_offset_t *sizep)
{
	vm_offset_t size = round_page(len);

	if (len == 0 || (addr & PAGE_MASK) != 0 || size < len ||
	    addr + size < addr)
		return (EINVAL);
	*sizep = size;
	return (0);
}

/*
 * The object, page index and `cow' flags of a mapping: a shared mapping
 * of obj maps it directly (a reference of the map's own), a private one
 * copy-on-write; private anonymous memory has no object until its first
 * fault, shared anonymous memory one at once (so that the halves of a
 * clipped entry and the sharers after fork see one object).  0 or ENOMEM.
 */
static int
vm_mmap_object(vm_offset_t size, int flags, struct vm_object *obj, uint64_t off,
    struct vm_object **objp, vm_pindex_t *pindexp, uint32_t *cowp)
{
	*pindexp = atop(off);
	*cowp = (flags & MAP_STACK) != 0 ? MAP_ENTRY_STACK : 0;
	if ((flags & MAP_SHARED) != 0)
		*cowp |= MAP_INHERIT_SHARE;
	else
		*cowp |= MAP_ENTRY_COW;
	if (obj != NULL) {
		vm_object_reference(obj);
		if ((flags & MAP_PRIVATE) != 0)
			*cowp |= MAP_ENTRY_NEEDS_COPY;
	} else if ((flags & MAP_SHARED) != 0 &&
	    (obj = vm_object_allocate(OBJT_DEFAULT, atop(size))) == NULL)
		return (ENOMEM);
	*objp = obj;
	return (0);
}

/*
 * Where a mapping of `size' bytes goes: MAP_FIXED at *addr (after the
 * mappings there are removed, with `sp' holding their clips' entries);
 * otherwise the lowest free address at or above the hint (or the map's
 * bottom), 2 MiB-aligned first for MAP_ALIGNED_SUPER.  Map locked
 * exclusive.  0, or ENOMEM with nothing changed.
 */
static int
vm_mmap_place(struct vm_map *map, vm_offset_t *addr, vm_offset_t size,
    int flags, struct vm_map_spare *sp)
{
	vm_offset_t hint = *addr;
	int error;

	if ((flags & MAP_FIXED) != 0) {
		if ((error = vm_map_clip_reserve(
			 map, *addr, *addr + size, sp)) != 0)
			return (error);
		vm_map_delete(map, *addr, *addr + size, sp);
		return (0);
	}
	if (hint < map->min_offset || hint >= map->max_offset)
		hint = map->min_offset;
	error = ENOMEM;
	if ((flags & MAP_ALIGNED_SUPER) != 0 && size >= NBPDR)
		error = vm_map_findspace(map, hint, size, NBPDR, addr);
	if (error != 0)
		error = vm_map_findspace(map, hint, size, PAGE_SIZE, addr);
	return (error);
}

/* See vm_map.h and the table above.  Map unlocked. */
int
vm_mmap(struct vm_map *map, vm_offset_t *addr, vm_offset_t len, vm_prot_t prot,
    vm_prot_t maxprot, int flags, struct vm_object *obj, uint64_t off)
{
	struct vm_map_spare sp = VM_MAP_SPARE_INITIALIZER;
	struct vm_object *mobj;
	vm_offset_t size, start = *addr;
	vm_pindex_t pindex;
	uint32_t cow;
	int error;

	if ((error = vm_mmap_check_args(prot, maxprot, flags, obj, off)) != 0 ||
	    (error = vm_mmap_check_range(start, len, &size)) != 0)
		return (error);
	if ((off & PAGE_MASK) != 0)
		return (EINVAL);
	if ((flags & MAP_FIXED) != 0 &&
	    (start < map->min_offset || start + size > map->max_offset))
		return (EINVAL);
	if (size > map->max_offset - map->min_offset)
		return (ENOMEM);
	/* Everything that can fail for want of memory, before the change. */
	if ((error = vm_mmap_object(
		 size, flags, obj, off, &mobj, &pindex, &cow)) != 0)
		return (error);
	if ((error = vm_map_spare_add(&sp, 1)) != 0)
		goto fail_obj;
	vm_map_lock(map);
	if ((error = vm_mmap_place(map, &start, size, flags, &sp)) == 0) {
		error = vm_map_insert_spare(map, &sp, mobj, pindex, start,
		    start + size, prot, maxprot, cow);
		VM_ASSERT(error == 0,
		    ("%s: insert at %#llx failed: %d", __func__,
			(unsigned long long)start, error));
	}
	vm_map_unlock(map);
	vm_map_spare_free(&sp);
	if (error != 0)
		goto fail_obj;
	*addr = start;
	return (0);
fail_obj:
	if (mobj != NULL)
		vm_object_deallocate(mobj);
	return (error);
}

/* See vm_map.h and the table above.  Map unlocked. */
int
vm_munmap(struct vm_map *map, vm_offset_t addr, vm_offset_t len)
{
	vm_offset_t size;
	int error;

	if ((error = vm_mmap_check_range(addr, len, &size)) != 0)
		return (error);
	if (addr < map->min_offset || addr + size > map->max_offset)
		return (ENOMEM);
	return (vm_map_remove(map, addr, addr + size));
}

/* See vm_map.h and the table above.  Map unlocked. */
int
vm_mprotect(
    struct vm_map *map, vm_offset_t addr, vm_offset_t len, vm_prot_t prot)
{
	vm_offset_t size;
	int error;

	if ((error = vm_mmap_check_range(addr, len, &size)) != 0)
		return (error);
	if ((prot & ~VM_PROT_ALL) != 0)
		return (EINVAL);
	if (addr < map->min_offset || addr + size > map->max_offset)
		return (ENOMEM);
	return (vm_map_protect(map, addr, addr + size, prot, false));
}
