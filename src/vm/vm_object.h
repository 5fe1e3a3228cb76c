/*
 * vm_object.h: VM objects, their pages and their pagers.
 *
 * An object is a linear space of pages: anonymous memory, a file, or
 * physical memory.  Its resident pages are in a radix trie keyed by page
 * index (vm_radix.h), its non-resident contents are with its pager: the
 * swap pager for anonymous objects that have been paged out (an
 * anonymous object becomes OBJT_SWAP the first time a page of it is
 * laundered), the vnode pager for files.  OBJT_PHYS pages are
 * unmanaged (wired, never on a page queue, never paged out).
 *
 * Shadow chains.  vm_object_shadow() puts a new anonymous object in front
 * of an object: reads find pages down the chain (front first), writes
 * copy the page into the front object (copy-on-write).  When a backing
 * object is referenced only by its one shadow, vm_object_collapse()
 * moves its pages and swap blocks up into the shadow (those the shadow
 * does not already have) and takes it out of the chain.
 *
 * Lifetime.  ref_count counts references (handles, shadows); the last
 * vm_object_deallocate() terminates the object: waits for paging in
 * progress, frees every page and the pager's resources (swap blocks, the
 * open file), and drops the reference on the backing object.  Object
 * structs are type-stable: a terminated object goes to a free list and is
 * released only at shutdown, so the page daemon may lock the object that
 * a page pointed to and then check that it still does.
 *
 * paging_in_progress counts operations that dropped the object lock with
 * pages busy (page-in, page-out, copy-on-write); termination and collapse
 * wait for it to reach zero.
 *
 * Lock order: a shadow's lock before its backing object's; object locks
 * before page-queue locks before the domain free locks.  A page's busy
 * lock is taken with its object's lock held, or with try-operations only.
 *
 * Locking key:
 *	(c) constant after creation
 *	(o) the object lock (o_lock), written
 *	(a) atomic
 *	(t) the object's list lock (vm_object_list_mtx)
 */
#ifndef VMLAB_VM_OBJECT_H
#define VMLAB_VM_OBJECT_H

#include "kern/mutex.h"
#include "kern/queue.h"
#include "kern/rwlock.h"
#include "vm/vm_param.h"
#include "vm/vm_radix.h"
#include "vm/vm_swap.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_page;
struct md_disk;

#define OBJT_DEFAULT 0 /* anonymous, no pager yet */
#define OBJT_SWAP 1    /* anonymous, swap-backed */
#define OBJT_VNODE 2   /* a file */
#define OBJT_PHYS 3    /* wired physical memory */
#define OBJT_DEAD 4

/* flags (o) */
#define OBJ_ANON 0x0001 /* anonymous memory: may grow past `size' */
#define OBJ_DEAD 0x0002 /* being terminated */
#define OBJ_COLLAPSING 0x0004

LIST_HEAD(vm_object_list, vm_object);

struct vm_object {
	struct rwlock o_lock;		   /* (c) the object lock */
	struct vm_radix rtree;		   /* (o,a) resident pages */
	vm_pindex_t size;		   /* (o) pages */
	int flags;			   /* (o) OBJ_* */
	int type;			   /* (o) OBJT_* */
	uint32_t ref_count;		   /* (o) references */
	uint32_t paging_in_progress;	   /* (a) see above */
	uint64_t resident_page_count;	   /* (o,a) */
	struct vm_object *backing_object;  /* (o) next in the chain */
	vm_pindex_t backing_offset;	   /* (o) pindex shift into it */
	struct vm_object_list shadow_head; /* (o) objects shadowing this */
	LIST_ENTRY(vm_object) shadow_list; /* (o of backing) */
	uint32_t shadow_count;		   /* (o) */
	uint32_t generation;		   /* (o) bumped on page removal */
	struct vm_swap_meta swp;	   /* (o) OBJT_SWAP: swap blocks */
	struct md_disk *vn_disk;	   /* (c) OBJT_VNODE: the file */
	uint64_t vn_size;		   /* (c) OBJT_VNODE: bytes */
	LIST_ENTRY(vm_object) object_list; /* (t) all or free objects */
};

/*
 * The object lock is a reader/writer lock named "vm object", as FreeBSD's
 * since 2013: paths that only look pages up (the fault's walk down a
 * shadow chain to a resident page) share it; everything that changes the
 * object or its trie writes it.  vm_object_lock() is the write lock.
 */
static inline void
vm_object_lock(struct vm_object *obj)
{
	rw_wlock(&obj->o_lock);
}

static inline bool
vm_object_trylock(struct vm_object *obj)
{
	return (rw_try_wlock(&obj->o_lock));
}

static inline void
vm_object_unlock(struct vm_object *obj)
{
	rw_wunlock(&obj->o_lock);
}

static inline void
vm_object_rlock(struct vm_object *obj)
{
	rw_rlock(&obj->o_lock);
}

static inline void
vm_object_runlock(struct vm_object *obj)
{
	rw_runlock(&obj->o_lock);
}

/* A read lock becomes a write lock if no one else holds or waits for it. */
static inline bool
vm_object_try_upgrade(struct vm_object *obj)
{
	return (rw_try_upgrade(&obj->o_lock));
}

/*
 * Assertions: _WLOCKED, write-locked by the caller; _LOCKED, held in some
 * mode (readers are not recorded, so a read lock cannot be told from
 * another thread's).
 */
#define VM_OBJECT_ASSERT_WLOCKED(obj)                                          \
	VM_ASSERT(rw_wowned(&(obj)->o_lock),                                   \
	    ("object %p not write-locked", (void *)(obj)))
#define VM_OBJECT_ASSERT_LOCKED(obj)                                           \
	VM_ASSERT(rw_locked(&(obj)->o_lock),                                   \
	    ("object %p not locked", (void *)(obj)))

/*
 * Creation and references.  vm_object_allocate(): an object of `type'
 * (OBJT_DEFAULT, OBJT_SWAP or OBJT_PHYS) of `size' pages, one reference;
 * NULL if out of memory.  vm_object_vnode_open(): an object for the file
 * at `path', at least `npages' long (0: the file's length); returns 0,
 * ENOENT (missing), EFBIG (shorter than npages pages; the message says
 * by how much) or another errno, with a one-line message in `err'.
 */
struct vm_object *vm_object_allocate(int type, vm_pindex_t size);
int vm_object_vnode_open(const char *path, vm_pindex_t npages,
    struct vm_object **objp, char *err, size_t errlen);
void vm_object_reference(struct vm_object *obj);
void vm_object_deallocate(struct vm_object *obj);

/*
 * vm_object_shadow(): replaces *objp (whose reference the caller gives
 * up) by a new anonymous object of `size' pages backed by it at
 * `offset'.  Returns 0 or ENOMEM (then *objp is unchanged).
 */
int vm_object_shadow(
    struct vm_object **objp, vm_pindex_t offset, vm_pindex_t size);
/* Collapses obj's chain as far as possible (object lock held). */
void vm_object_collapse(struct vm_object *obj);
/* The length of obj's shadow chain, counting obj (any context). */
int vm_object_chain_length(struct vm_object *obj);

/* Paging in progress (see above). */
void vm_object_pip_add(struct vm_object *obj, uint32_t n);
void vm_object_pip_wakeup(struct vm_object *obj);
void vm_object_pip_wait_locked(struct vm_object *obj, const char *wmesg);

/*
 * Pages of an object (object lock held).  vm_page_insert(): 0 or ENOMEM
 * (trie node); vm_page_remove(): out of the object (the page stays
 * allocated, busy as it was); vm_page_lookup(): the resident page or
 * NULL.  vm_page_free_obj(): removes m (exclusive-busied by the caller)
 * from its object, releases its swap copy, logically dequeues it and frees
 * it.
 */
int vm_page_insert(
    struct vm_page *m, struct vm_object *obj, vm_pindex_t pindex);
void vm_page_remove(struct vm_page *m);
struct vm_page *vm_page_lookup(struct vm_object *obj, vm_pindex_t pindex);
void vm_page_free_obj(struct vm_page *m);
/*
 * A new page for (obj, pindex), exclusive-busied, inserted, not valid;
 * NULL (and *errorp ENOMEM or 0) if no page is free now.  Object locked.
 */
struct vm_page *vm_page_alloc_obj(
    struct vm_object *obj, vm_pindex_t pindex, int *errorp);
/*
 * Removes m from its object and frees it while the pager keeps its copy:
 * the page daemon's reclaim of a clean page, and a page whose page-in
 * failed (the pager's copy is then the only one and must survive, so a
 * later touch can read it again).  Object locked.
 */
void vm_page_reclaim_obj(struct vm_page *m);

/*
 * Pagers (object lock held on entry and return; they drop it during I/O,
 * with the pages exclusive-busied and paging in progress held).
 * getpages: reads ma[0..count) (consecutive indices) in, marks them valid;
 * haspage: whether the pager has a copy of pindex; putpages: writes
 * ma[0..count) out, sets rtvals[i] to 0 or an errno for each; dealloc:
 * releases the object's pager resources; freespace: forgets the copy of
 * pindex (it is about to be modified).
 */
struct vm_pagerops {
	const char *pgo_name;
	int (*pgo_getpages)(struct vm_object *, struct vm_page **, int);
	bool (*pgo_haspage)(struct vm_object *, vm_pindex_t);
	void (*pgo_putpages)(struct vm_object *, struct vm_page **, int, int *);
	void (*pgo_dealloc)(struct vm_object *);
	void (*pgo_freespace)(struct vm_object *, vm_pindex_t);
};
extern const struct vm_pagerops swap_pagerops;
extern const struct vm_pagerops vnode_pagerops;
const struct vm_pagerops *vm_pager_ops(const struct vm_object *obj);

/* Objects that exist (for reports and checks). */
uint64_t vm_object_count(void);
/*
 * Consistency of one object (locked by the function): trie, resident
 * count, page ownership, swap metadata.  Returns violations.
 */
int vm_object_check(struct vm_object *obj);

int vm_object_init(void);
void vm_object_fini(void);

#endif /* !VMLAB_VM_OBJECT_H */
