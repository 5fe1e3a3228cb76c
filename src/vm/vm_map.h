/*
 * vm_map.h: address maps, their entries, and address spaces (vmspaces).
 *
 * A map is an ordered set of disjoint entries [start, end), each mapping
 * a range of an object (or, before the first fault of anonymous memory,
 * no object yet) with current and maximum protections and an inheritance
 * for fork.  Entries are kept in a balanced binary tree augmented with
 * the largest free gap of each subtree (max_free), so finding space of a
 * given length and alignment is O(log n), plus a sorted doubly-linked
 * list for walks.  Each entry's own gap is the free space between it and
 * its predecessor (or the map's minimum).
 *
 * Copy-on-write.  A private mapping of an object (MAP_PRIVATE file data,
 * every anonymous entry after fork) has MAP_ENTRY_COW; when it also has
 * MAP_ENTRY_NEEDS_COPY its object is shared with another entry and the
 * first write fault (or vm_map_lookup for write) gives it a new shadow
 * object in front (vm_object_shadow) and clears NEEDS_COPY.  Fork of a
 * VM_INHERIT_COPY entry write-protects the parent's range in its pmap and
 * marks both entries NEEDS_COPY; VM_INHERIT_SHARE shares the object;
 * VM_INHERIT_NONE leaves a hole.
 *
 * Locking: a user map's lock is an sx named "vm map (user)"; the kernel
 * map's a lockmgr named "vm map (kernel)", whose every release wakes all
 * its waiters (the historical behaviour, the "before" of the mass pipe
 * closure experiment), and which cannot be upgraded (a fault's upgrade
 * drops and relocks).  Faults hold it shared, changes exclusive.  The
 * timestamp is
 * bumped whenever an exclusive hold ends (unlock or downgrade), so a
 * fault that dropped the lock to
 * sleep can tell whether its lookup is still good.  Lock order: map, then
 * objects, then pmap.
 *
 * Locking key: (c) constant; (m) the map lock (exclusive to write).
 */
#ifndef VMLAB_VM_MAP_H
#define VMLAB_VM_MAP_H

#include "kern/lockmgr.h"
#include "kern/rwlock.h"
#include "pmap/pmap.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_object;

/* eflags */
#define MAP_ENTRY_COW 0x0001	    /* private: writes copy */
#define MAP_ENTRY_NEEDS_COPY 0x0002 /* object shared: shadow on write */
#define MAP_ENTRY_NOFAULT 0x0004    /* no object, faults fail (guard) */
#define MAP_ENTRY_KERNEL 0x0008	    /* kmem: wired, entered at once */
#define MAP_ENTRY_STACK 0x0010	    /* a stack (exec) */
/*
 * An option of vm_map_insert()/vm_map_find()'s `cow', never stored in
 * eflags: the entry's inheritance is VM_INHERIT_SHARE (shared mappings)
 * instead of VM_INHERIT_COPY.
 */
#define MAP_INHERIT_SHARE 0x0100

struct vm_map_entry {
	struct vm_map_entry *left, *right, *parent; /* (m) tree */
	struct vm_map_entry *prev, *next;	    /* (m) sorted list */
	vm_offset_t start;			    /* (m) */
	vm_offset_t end;			    /* (m) */
	vm_offset_t max_free;	  /* (m) largest gap in the subtree */
	struct vm_object *object; /* (m) or NULL: anonymous, unfaulted */
	vm_pindex_t pindex;	  /* (m) object page of `start' */
	vm_prot_t protection;	  /* (m) current */
	vm_prot_t max_protection; /* (m) */
	vm_inherit_t inheritance; /* (m) VM_INHERIT_* */
	int8_t balance;		  /* (m) AVL: height of the subtree */
	uint32_t eflags;	  /* (m) MAP_ENTRY_* */
	uint32_t wired_count;	  /* (m) */
};

struct vm_map {
	union {
		struct sx sx;	    /* user maps: "vm map (user)" */
		struct lockmgr lk;  /* the kernel map: "vm map (kernel)" */
	} lock;			    /* by system_map */
	struct vm_map_entry *root;  /* (m) tree */
	struct vm_map_entry header; /* (m) list head: prev last, next
					   first; header.start = max,
					   header.end = min */
	vm_offset_t min_offset;	    /* (c) */
	vm_offset_t max_offset;	    /* (c) */
	uint32_t nentries;	    /* (m) */
	uint32_t timestamp;	    /* (m) bumped when an exclusive hold ends */
	uint64_t size;		    /* (m) bytes mapped */
	pmap_t pmap;		    /* (c) NULL: a map without an MMU
					   (tests of the entry tree) */
	bool system_map;	    /* (c) the kernel map */
	uint32_t remove_per_page;   /* (a) one pmap_remove per page
				     (vm.kmem.bulk_remove=0) */
};

#define vm_map_min(map) ((map)->min_offset)
#define vm_map_max(map) ((map)->max_offset)

void vm_map_init(struct vm_map *map, pmap_t pmap, vm_offset_t min,
    vm_offset_t max, bool kernel);
/* Removes every entry (releasing objects) and destroys the lock. */
void vm_map_destroy(struct vm_map *map);
/* Destroys the lock of a map without entries (vm_map_destroy's last step). */
void vm_map_lock_destroy(struct vm_map *map);

void vm_map_lock(struct vm_map *map);
/*
 * Never waits, so never checked for lock order: fork holds the parent's
 * map while it locks the child's, both named "vm map (user)".
 */
bool vm_map_trylock(struct vm_map *map);
void vm_map_unlock(struct vm_map *map);
void vm_map_lock_read(struct vm_map *map);
void vm_map_unlock_read(struct vm_map *map);
/*
 * A shared lock becomes exclusive if no one else holds it (a user map;
 * the kernel map's lockmgr never upgrades: false).
 */
bool vm_map_trylock_upgrade(struct vm_map *map);
void vm_map_lock_downgrade(struct vm_map *map);

/*
 * Finding space and inserting (map locked exclusive except vm_map_find).
 *
 * vm_map_findspace(): the lowest address >= start where `length' bytes
 * fit, aligned to `align' (a power of two >= PAGE_SIZE), below the map's
 * maximum; returns 0 and *addr, or ENOMEM.
 * vm_map_insert(): a new entry [start, end) for obj at pindex (obj's
 * reference passes to the map on success and stays the caller's on
 * error; NULL: anonymous memory created on first fault); 0, EINVAL
 * (range outside the map or unaligned), ENOMEM (range not free, or no
 * memory for the entry).  `cow' is MAP_ENTRY_COW etc. and
 * MAP_INHERIT_SHARE; prot must lie within max.
 * vm_map_find(): locks the map, finds space per `find_space' (VMFS_*)
 * starting at *addr and inserts; *addr gets the address.
 */
#define VMFS_NO_SPACE 0	   /* exactly at *addr */
#define VMFS_ANY_SPACE 1   /* anywhere from *addr up */
#define VMFS_SUPER_SPACE 2 /* 2 MiB aligned if length >= 2 MiB */
#define VMFS_ALIGNED_SPACE(n) (0x10 | ((n) << 8)) /* 2^n aligned */
int vm_map_findspace(struct vm_map *map, vm_offset_t start, vm_offset_t length,
    vm_offset_t align, vm_offset_t *addr);
int vm_map_insert(struct vm_map *map, struct vm_object *obj, vm_pindex_t pindex,
    vm_offset_t start, vm_offset_t end, vm_prot_t prot, vm_prot_t max,
    uint32_t cow);
int vm_map_find(struct vm_map *map, struct vm_object *obj, vm_pindex_t pindex,
    vm_offset_t *addr, vm_offset_t length, int find_space, vm_prot_t prot,
    vm_prot_t max, uint32_t cow);

/*
 * Changes (lock the map themselves).  Each either completes or changes
 * nothing: the entries that clipping needs are allocated first, so an
 * allocation failure is ENOMEM with the map as it was.
 * vm_map_remove(): unmaps [start, end) (clipping entries at the ends; one
 * pmap_remove for the range), releasing the entries' object references;
 * 0, EINVAL (unaligned or outside the map) or ENOMEM (no memory to clip).
 * vm_map_protect(): sets the current protection (or, with set_max, the
 * maximum, lowering the current to it) over [start, end); EACCES when
 * `prot' exceeds an entry's maximum, ENOMEM if part of the range is not
 * mapped (nothing changed then), EINVAL (unaligned).  vm_map_inherit():
 * sets the inheritance of the mapped parts of [start, end); 0, EINVAL
 * (unaligned, outside the map, bad `inh') or ENOMEM.
 */
int vm_map_remove(struct vm_map *map, vm_offset_t start, vm_offset_t end);
int vm_map_protect(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    vm_prot_t prot, bool set_max);
int vm_map_inherit(
    struct vm_map *map, vm_offset_t start, vm_offset_t end, vm_inherit_t inh);
/* The entry containing addr, or NULL (map locked either way). */
struct vm_map_entry *vm_map_lookup_entry(struct vm_map *map, vm_offset_t addr);

/*
 * The fault's lookup.  vm_map_lookup(): with the map read-locked by the
 * caller (it may upgrade and downgrade it to give a NEEDS_COPY entry its
 * shadow, or an object-less entry its anonymous object), finds the entry
 * for vaddr, checks `fault_type' against its protection, and returns the
 * first object (*objp, not referenced: valid while the map lock is held),
 * its page index (*pindexp), the protection to map with (*protp: write
 * removed while the entry still needs a copy) and whether it is wired.
 * Returns 0, EFAULT (no entry, or a MAP_ENTRY_NOFAULT guard), EACCES
 * (protection), ENOMEM; the map is read-locked on return in every case.
 * The upgrade: vm_map_trylock_upgrade() if the caller is the only
 * reader, else the read lock is dropped, the exclusive lock taken and the
 * lookup redone from the start (the map may have changed meanwhile); the
 * lock is then downgraded.  So the caller must not rely on anything it
 * found in the map before the call.
 */
int vm_map_lookup(struct vm_map *map, vm_offset_t vaddr, vm_prot_t fault_type,
    struct vm_map_entry **entryp, struct vm_object **objp, vm_pindex_t *pindexp,
    vm_prot_t *protp, bool *wiredp);

/*
 * Consistency (map locked or quiescent): entries ordered, disjoint, inside
 * [min, max), page-aligned; the tree's in-order walk equals the list;
 * balance and every max_free exact; nentries and size match.  Returns
 * violations, each printed once.
 */
int vm_map_check(struct vm_map *map);

/*
 * System-call style entry points (errno values, nothing panics on bad
 * input): page-aligned addresses, non-zero lengths that do not overflow
 * and stay inside the map, protections within VM_PROT_ALL.
 *
 * vm_mmap(): maps `len' bytes at *addr (MAP_FIXED: exactly there,
 * replacing what was mapped; otherwise a hint) of anonymous memory
 * (MAP_ANON, obj NULL) or of obj from byte `off' (obj's reference is
 * the caller's: the map takes its own); MAP_SHARED or MAP_PRIVATE.
 * Errors: EINVAL (unaligned, zero length, bad flags), ENOMEM (no space,
 * range beyond the map), EACCES (prot above what the object allows).
 */
#define MAP_SHARED 0x0001
#define MAP_PRIVATE 0x0002
#define MAP_FIXED 0x0010
#define MAP_ANON 0x1000
#define MAP_STACK 0x0400
#define MAP_ALIGNED_SUPER 0x00080000 /* 2 MiB aligned */
int vm_mmap(struct vm_map *map, vm_offset_t *addr, vm_offset_t len,
    vm_prot_t prot, vm_prot_t maxprot, int flags, struct vm_object *obj,
    uint64_t off);
int vm_munmap(struct vm_map *map, vm_offset_t addr, vm_offset_t len);
int vm_mprotect(
    struct vm_map *map, vm_offset_t addr, vm_offset_t len, vm_prot_t prot);

/*
 * Address spaces.  A vmspace is a user map and its pmap, with a reference
 * count (processes, threads borrowing it).  vmspace_alloc(): empty, one
 * reference; NULL if out of memory.  vmspace_free(): drops a reference;
 * the last one tears it down (exit: pmap_remove_pages in bulk, then the
 * entries and their objects, then the pmap).  vmspace_fork(): a copy of
 * vm1 per each entry's inheritance (copy-on-write for COPY); NULL if out
 * of memory.  vmspace_exec(): a fresh vmspace for an image (below); 0 or
 * errno.
 */
struct vmspace {
	struct vm_map vm_map; /* must be first */
	struct pmap vm_pmap;
	uint32_t vm_refcnt; /* (a) */
};

#define vmspace_pmap(vm) (&(vm)->vm_pmap)

struct vmspace *vmspace_alloc(void);
void vmspace_ref(struct vmspace *vm);
void vmspace_free(struct vmspace *vm);
struct vmspace *vmspace_fork(struct vmspace *vm1);

/*
 * An executable image: a file-backed object holding text pages then data
 * pages.  Exec maps text shared read-only/execute at text_addr, data
 * private copy-on-write after it, bss zero-fill after data, and a
 * zero-fill stack of stack_pages below VM_MAX_USER_ADDRESS (a guard page
 * under it).
 */
struct vm_image {
	struct vm_object *vi_object; /* vnode object, referenced by caller */
	vm_pindex_t vi_text_pages;
	vm_pindex_t vi_data_pages;
	vm_pindex_t vi_bss_pages;
	vm_pindex_t vi_stack_pages;
	vm_offset_t vi_text_addr; /* 0: a default */
};
int vmspace_exec(const struct vm_image *img, struct vmspace **vmp,
    vm_offset_t *entryp, vm_offset_t *stackp);

/*
 * The current thread's address space (uaccess, faults): set by
 * vmspace_switch(), which references vm (drops the previous one) and
 * makes its pmap active on the CPU.  NULL: a kernel-only thread.
 */
void vmspace_switch(struct vmspace *vm);
struct vmspace *vmspace_current(void);

/* Counters and knobs (vm_boot.c). */
int vm_map_init_boot(void);
void vm_map_fini_boot(void);

#endif /* !VMLAB_VM_MAP_H */
