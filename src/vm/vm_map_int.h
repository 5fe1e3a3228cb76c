/*
 * vm_map_int.h: what vm_map.c shares with vm_mmap.c and vm_vmspace.c.
 *
 * Spare entries.  An operation that may clip (remove, protect, inherit,
 * a MAP_FIXED mmap that replaces mappings) first counts and allocates
 * every entry it will need into a struct vm_map_spare, and only then
 * changes the map, so that an allocation failure leaves the map as it
 * was.  vm_map_clip_reserve() adds to `sp' the entries that clipping at
 * `start' and `end' needs; vm_map_spare_add() adds n more (for inserts);
 * both return 0 or ENOMEM (then `sp' holds what it held before).
 * vm_map_spare_free() frees what was not used.  Map locked exclusive for
 * the reservation (its count depends on the entries).
 */
#ifndef VMLAB_VM_MAP_INT_H
#define VMLAB_VM_MAP_INT_H

#include "kern/counter.h"
#include "vm/vm_map.h"

#define VM_MAP_SPARE_MAX 4

struct vm_map_spare {
	struct vm_map_entry *sp_e[VM_MAP_SPARE_MAX];
	int sp_n;
};

#define VM_MAP_SPARE_INITIALIZER                                               \
	{                                                                      \
		.sp_n = 0                                                      \
	}

int vm_map_spare_add(struct vm_map_spare *sp, int n);
int vm_map_clip_reserve(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    struct vm_map_spare *sp);
void vm_map_spare_free(struct vm_map_spare *sp);
/*
 * Gives e an object of its own (vm_map.c): fork shares it, so it must
 * exist and be past its copy first.
 */
int vm_map_entry_own_object(struct vm_map_entry *e);

/*
 * Exclusive-locked bodies of the public calls.  vm_map_delete(): removes
 * [start, end) (page-aligned, inside the map) with entries reserved for
 * its clips in `sp' (vm_map_clip_reserve) and one pmap_remove for the
 * mapped span.
 * vm_map_insert_spare(): vm_map_insert() with the entry taken from `sp';
 * EINVAL or ENOMEM (range not free), `sp' untouched then.
 */
void vm_map_delete(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    struct vm_map_spare *sp);
int vm_map_insert_spare(struct vm_map *map, struct vm_map_spare *sp,
    struct vm_object *obj, vm_pindex_t pindex, vm_offset_t start,
    vm_offset_t end, vm_prot_t prot, vm_prot_t max, uint32_t cow);
/*
 * vm_map_entry_copy_append(): a copy of `src' (tree and list links
 * excepted, wired count zero; no object reference taken) appended after
 * the last entry of map, whose entries all end at or below src->start
 * (fork).  ENOMEM if no memory.  Map locked exclusive.
 */
int vm_map_entry_copy_append(
    struct vm_map *map, const struct vm_map_entry *src);

/* Statistics (vm.stats.map.*), allocated by vm_map_init_boot(). */
extern counter_u64_t vm_map_cnt_forks;
extern counter_u64_t vm_map_cnt_execs;

#endif /* !VMLAB_VM_MAP_INT_H */
