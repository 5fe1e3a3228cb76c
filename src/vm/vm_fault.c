/*
 * vm_fault.c: the touch path, what a memory access through a mapping does
 * when its translation is missing (the MMU issue grows it into the fault
 * handler): find the page in the object or down its shadow chain, zero-
 * fill it, page it in from the pager, or copy it up for a write.
 *
 * Steps of vm_fault_touch():
 *	1. lockless: a resident, valid page of the object itself, busied
 *	   under the epoch without the object lock (a write needs it
 *	   already dirty);
 *	2. locked: walk the chain from the object, holding each object's
 *	   lock, until a resident page or a pager's copy is found (paged
 *	   in, busied); a read uses it where it is, a write copies it up
 *	   into the first object; nowhere in the chain: a zero page in the
 *	   first object;
 *	3. a write marks the page dirty, releasing the pager's copy;
 *	4. the reference bit is set and fn runs on the busied page.
 * A failed page-in frees the new page but keeps the pager's copy (the
 * only one) and returns the error; out of pages, the toucher waits for
 * the page daemon, or gets ENOMEM once it declared out-of-memory.
 */
#include "vm/vm_fault.h"

#include "kern/counter.h"
#include "kern/epoch.h"
#include "kern/thread.h"
#include "pmap/pmap.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_radix.h"

#include <errno.h>
#include <string.h>

static counter_u64_t vm_cnt_zfod;	   /* pages zero-filled on touch */
static counter_u64_t vm_cnt_cow;	   /* pages copied up a shadow chain */
static counter_u64_t vm_cnt_pagein;	   /* touches that paged in */
static counter_u64_t vm_cnt_pagein_errors; /* page-ins that failed */
static counter_u64_t vm_cnt_lockless;	   /* touches served without the lock */
static counter_u64_t vm_cnt_faults;	   /* vm_fault() calls */
static counter_u64_t vm_cnt_fault_errors;  /* faults that failed */
static counter_u64_t vm_cnt_upgrade_fail;  /* backing-object lock upgrades
					      that failed */
static counter_u64_t vm_cnt_prefaults;	   /* pages mapped ahead */

/* The names stay in vm.stats.object: they count what touches did to it. */
static const struct counter_spec vm_fault_counters[] = {
	{ &vm_cnt_zfod, "vm.stats.object.zfod",
	    "pages zero-filled on first touch" },
	{ &vm_cnt_cow, "vm.stats.object.cow",
	    "pages copied up a shadow chain" },
	{ &vm_cnt_pagein, "vm.stats.object.pageins",
	    "touches that paged a page in" },
	{ &vm_cnt_pagein_errors, "vm.stats.object.pagein_errors",
	    "page-ins that failed (the pager's copy kept, error returned)" },
	{ &vm_cnt_lockless, "vm.stats.object.lockless",
	    "touches served by lockless lookup" },
	{ &vm_cnt_faults, "vm.stats.fault.faults",
	    "page faults (vm_fault calls)" },
	{ &vm_cnt_fault_errors, "vm.stats.fault.errors",
	    "faults that failed (EFAULT, EACCES, EIO, ENOMEM)" },
	{ &vm_cnt_upgrade_fail, "vm.stats.fault.upgrade_fail",
	    "read locks of backing objects that could not be upgraded" },
	{ &vm_cnt_prefaults, "vm.stats.fault.prefaults",
	    "resident pages mapped around a fault (read-only)" },
};

/* vm_fault_page_find(): a read lock could not be upgraded. */
#define VM_FAULT_RESTART_WLOCK (-1)

/* Drops an object lock held in either mode. */
static void
vm_fault_obj_unlock(struct vm_object *obj, bool shared)
{
	if (shared)
		vm_object_runlock(obj);
	else
		vm_object_unlock(obj);
}

static void
vm_fault_obj_lock(struct vm_object *obj, bool shared)
{
	if (shared)
		vm_object_rlock(obj);
	else
		vm_object_lock(obj);
}

/*
 * Looks up (obj, pindex) in obj alone, paging it in from obj's pager if
 * the pager has it, and busies it (exclusive if `xbusy').  obj locked,
 * read-locked if *sharedp, and so is the chain's first object `first'
 * (write-locked) if it is another: a page-in needs the write lock, so it
 * tries to upgrade (clearing *sharedp), and failing that returns
 * VM_FAULT_RESTART_WLOCK (the caller starts over, write-locking backing
 * objects).  A busy page is slept on and EAGAIN returned.  Both return
 * with no object locked (a sleep must hold none).  Returns 0 with *mp
 * NULL when neither obj nor its pager has the page, ENOMEM when no page
 * could be allocated.
 */
static int
vm_fault_page_find(struct vm_object *obj, vm_pindex_t pindex, bool xbusy,
    bool *sharedp, struct vm_object *first, struct vm_page **mp)
{
	const struct vm_pagerops *ops;
	struct vm_page *m;
	int error;

	*mp = NULL;
	m = vm_page_lookup(obj, pindex);
	if (m != NULL) {
		if (!(xbusy ? vm_page_tryxbusy(m) : vm_page_trysbusy(m))) {
			/* Sleep with no object lock held: first's too. */
			if (obj != first)
				vm_object_unlock(first);
			vm_page_busy_sleep_mode(m, obj, *sharedp);
			return (EAGAIN);
		}
		*mp = m;
		return (0);
	}
	ops = vm_pager_ops(obj);
	if (ops == NULL || !ops->pgo_haspage(obj, pindex))
		return (0);
	if (*sharedp) {
		/* The page-in inserts a page: it needs the write lock. */
		if (!vm_object_try_upgrade(obj)) {
			vm_object_runlock(obj);
			vm_object_unlock(first);
			counter_u64_add(vm_cnt_upgrade_fail, 1);
			return (VM_FAULT_RESTART_WLOCK);
		}
		*sharedp = false;
	}
	if ((m = vm_page_alloc_obj(obj, pindex, &error)) == NULL)
		return (error != 0 ? error : ENOMEM);
	vm_object_pip_add(obj, 1);
	error = ops->pgo_getpages(obj, &m, 1);
	vm_object_pip_wakeup(obj);
	counter_u64_add(vm_cnt_pagein, 1);
	if (error != 0) {
		/*
		 * Not vm_page_free_obj(): that releases the pager's copy,
		 * which after a failed read is the only one.
		 */
		vm_page_reclaim_obj(m);
		counter_u64_add(vm_cnt_pagein_errors, 1);
		return (error);
	}
	m->valid = VM_PAGE_BITS_ALL;
	vm_page_activate(m);
	if (!xbusy)
		vm_page_busy_downgrade(m);
	*mp = m;
	return (0);
}

/* Drops the busy lock taken for a touch. */
static void
vm_fault_unbusy(struct vm_page *m, bool xbusy)
{
	if (xbusy)
		vm_page_xunbusy(m);
	else
		vm_page_sunbusy(m);
}

/*
 * The lockless path: a resident, valid page of obj itself, busied without
 * the object lock (under the epoch, the trie's lookup is safe and the
 * busy lock then pins the page's identity, which is checked again).  A
 * write needs the page already dirty (the first write releases the
 * pager's copy under the lock).  Returns the busied page or NULL.
 */
static struct vm_page *
vm_fault_lockless_page(struct vm_object *obj, vm_pindex_t pindex, bool write)
{
	struct vm_page *m;
	bool busied;

	epoch_enter();
	m = vm_radix_lookup_unlocked(&obj->rtree, pindex);
	busied =
	    m != NULL && (write ? vm_page_tryxbusy(m) : vm_page_trysbusy(m));
	epoch_exit();
	if (!busied)
		return (NULL);
	if (vm_page_object(m) != obj || vm_page_pindex(m) != pindex ||
	    m->valid == 0 || (write && m->dirty == 0)) {
		vm_fault_unbusy(m, write);
		return (NULL);
	}
	counter_u64_add(vm_cnt_lockless, 1);
	return (m);
}

/* Marks m (exclusive-busied, obj write-locked) about to be modified. */
static void
vm_fault_dirty(struct vm_object *obj, struct vm_page *m)
{
	const struct vm_pagerops *ops;

	if (m->dirty != 0)
		return;
	m->dirty = VM_PAGE_BITS_ALL;
	/* The pager's copy is stale from now on. */
	if ((ops = vm_pager_ops(obj)) != NULL && ops->pgo_freespace != NULL)
		ops->pgo_freespace(obj, m->pindex);
}

/*
 * A new valid page of obj at pindex: a copy of src (busied in a backing
 * object: copy-on-write), or zeros when src is NULL.  obj write-locked.
 */
static int
vm_fault_page_new(struct vm_object *obj, vm_pindex_t pindex,
    struct vm_page *src, struct vm_page **mp)
{
	struct vm_page *m;
	int error;

	if ((m = vm_page_alloc_obj(obj, pindex, &error)) == NULL)
		return (error != 0 ? error : ENOMEM);
	if (src != NULL) {
		md_page_copy(vm_page_dmap(m), vm_page_dmap(src), PAGE_SIZE);
		counter_u64_add(vm_cnt_cow, 1);
	} else {
		md_page_zero(vm_page_dmap(m), PAGE_SIZE);
		counter_u64_add(vm_cnt_zfod, 1);
	}
	m->valid = VM_PAGE_BITS_ALL;
	if (obj->type != OBJT_PHYS)
		vm_page_activate(m);
	*mp = m;
	return (0);
}

/*
 * Where a chain walk stands: the object `o' it is in (locked, shared if
 * `shared'; obj itself is always write-locked) and the page index there.
 * `wlock' asks the walk to write-lock backing objects too (after a failed
 * upgrade).
 */
struct vm_fault_walk {
	struct vm_object *o;
	vm_pindex_t idx;
	bool shared;
	bool wlock;
};

/* Steps the walk from w->o to its backing object, hand over hand. */
static void
vm_fault_walk_next(struct vm_fault_walk *w, struct vm_object *obj)
{
	struct vm_object *next = w->o->backing_object;

	w->idx += w->o->backing_offset;
	vm_fault_obj_lock(next, !w->wlock);
	if (w->o != obj)
		vm_fault_obj_unlock(w->o, w->shared);
	w->o = next;
	w->shared = !w->wlock;
}

/*
 * One attempt of the locked path.  Walks the chain from obj (write-locked)
 * read-locking each backing object hand over hand until the page is
 * found (only a page-in upgrades a backing object's lock).  Returns 0
 * with the page busied in *mp (its object in *mobjp, locked together with
 * obj, shared if *msharedp), EAGAIN to start over (no lock held), or an
 * error (obj still locked).  A read uses a backing object's page where it is, a write
 * copies it up into obj; nowhere in the chain: a zero page in obj.
 */
static int
vm_fault_find(struct vm_object *obj, vm_pindex_t pindex, bool write,
    bool *wlockp, struct vm_page **mp, struct vm_object **mobjp, bool *msharedp)
{
	struct vm_fault_walk w = { obj, pindex, false, *wlockp };
	struct vm_page *m = NULL, *src;
	int error;

	for (;;) {
		error = vm_fault_page_find(
		    w.o, w.idx, w.o == obj && write, &w.shared, obj, &m);
		if (error == VM_FAULT_RESTART_WLOCK || error == EAGAIN) {
			/* Every lock is dropped already. */
			if (error == VM_FAULT_RESTART_WLOCK)
				*wlockp = true;
			*mp = NULL;
			return (EAGAIN);
		}
		if (error != 0 || m != NULL || w.o->backing_object == NULL)
			break;
		if (w.idx >= w.o->size && (w.o->flags & OBJ_ANON) == 0)
			break;
		vm_fault_walk_next(&w, obj);
	}
	if (error == 0 && m == NULL) {
		/* Nowhere in the chain: a fresh zero page in front. */
		if (w.o != obj)
			vm_fault_obj_unlock(w.o, w.shared);
		w.o = obj;
		w.shared = false;
		error = vm_fault_page_new(obj, pindex, NULL, &m);
		if (error == 0 && !write)
			vm_page_busy_downgrade(m);
	} else if (error == 0 && w.o != obj && write) {
		src = m;
		error = vm_fault_page_new(obj, pindex, src, &m);
		vm_page_sunbusy(src);
		vm_fault_obj_unlock(w.o, w.shared);
		w.o = obj;
		w.shared = false;
	}
	if (error != 0 && w.o != obj)
		vm_fault_obj_unlock(w.o, w.shared);
	*mp = m;
	*mobjp = w.o;
	*msharedp = w.shared;
	return (error);
}

/*
 * Finds or makes the page for (obj, pindex), busied (exclusive for a
 * write, which also makes it obj's own and dirty), waiting for memory
 * (or failing with ENOMEM once the page daemon declared OOM).  Returns 0
 * with the page in *mp and whether it is obj's own (*frontp), EFAULT past
 * the end of a file, or the page-in's error.  Takes and drops the object
 * locks; the caller holds none.
 */
static int
vm_fault_getpage(struct vm_object *obj, vm_pindex_t pindex, bool write,
    struct vm_page **mp, bool *frontp)
{
	struct vm_object *mobj;
	struct vm_page *m;
	bool wlock = false, mshared;
	int error;

	for (;;) {
		vm_object_lock(obj);
		if (pindex >= obj->size && (obj->flags & OBJ_ANON) == 0) {
			vm_object_unlock(obj);
			return (EFAULT);
		}
		error = vm_fault_find(
		    obj, pindex, write, &wlock, &m, &mobj, &mshared);
		if (error == 0)
			break;
		if (error == EAGAIN)
			continue;
		vm_object_unlock(obj);
		if (error != ENOMEM)
			return (error);
		/* Out of pages: wait for the daemon, or give up on OOM. */
		if (vm_pageout_oom_declared())
			return (ENOMEM);
		vm_pageout_wait_free();
	}
	if (write)
		vm_fault_dirty(obj, m);
	if (mobj != obj)
		vm_fault_obj_unlock(mobj, mshared);
	vm_object_unlock(obj);
	*mp = m;
	*frontp = mobj == obj;
	return (0);
}

int
vm_fault_touch(struct vm_object *obj, vm_pindex_t pindex, int flags,
    vm_touch_fn *fn, void *arg)
{
	struct vm_page *m;
	bool write = (flags & VM_TOUCH_WRITE) != 0, front;
	int error;

	if ((m = vm_fault_lockless_page(obj, pindex, write)) == NULL) {
		error = vm_fault_getpage(obj, pindex, write, &m, &front);
		if (error != 0)
			return (error);
	}
	vm_page_reference(m);
	fn(vm_page_dmap(m), pindex, arg);
	vm_fault_unbusy(m, write);
	return (0);
}

/*
 * Prefault (FreeBSD's vm_fault_prefault, for file objects only, as
 * Linux's fault-around: anonymous memory is mostly touched once, where
 * the lookups would only slow the zero fill): maps, read-only and only
 * where nothing is mapped yet, the resident valid pages of the first
 * object at
 * up to VM_FAULT_PFBAK pages behind and VM_FAULT_PFFOR ahead of the
 * fault, inside its entry, so that a sequential reader (text, a file)
 * takes one fault per cluster.  The object's read lock keeps the pages
 * from being freed; busy pages are skipped.  Map read-locked.
 */
#define VM_FAULT_PFBAK 4
#define VM_FAULT_PFFOR 4

static void
vm_fault_prefault(struct vm_map *map, struct vm_map_entry *entry,
    struct vm_object *obj, vm_pindex_t pindex, vm_offset_t vaddr,
    vm_prot_t prot)
{
	struct vm_page *m, *run[VM_FAULT_PFBAK + VM_FAULT_PFFOR];
	vm_offset_t va, runva[VM_FAULT_PFBAK + VM_FAULT_PFFOR];
	int i, n = 0;

	vm_object_rlock(obj);
	for (i = -VM_FAULT_PFBAK; i <= VM_FAULT_PFFOR; i++) {
		va = vaddr + (vm_offset_t)(int64_t)i * PAGE_SIZE;
		if (i == 0 || va < entry->start || va >= entry->end ||
		    (i < 0 && pindex < (vm_pindex_t)-i))
			continue;
		m = vm_page_lookup(obj, pindex + (vm_pindex_t)(int64_t)i);
		if (m == NULL || m->valid == 0 || vm_page_busied(m))
			continue;
		runva[n] = va;
		run[n++] = m;
	}
	/* One run: with vm.pmap.pv_batch, one pmap and pv lock hold. */
	if (n > 0)
		pmap_enter_quick_run(map->pmap, runva, run, n, prot);
	vm_object_runlock(obj);
	counter_u64_add(vm_cnt_prefaults, n);
}

/*
 * The page fault handler (vm_fault.h).  Steps:
 *	1. look the entry up under the shared map lock (vm_map_lookup gives
 *	   a copy-on-write entry its shadow before a write, an anonymous
 *	   one its object);
 *	2. get the page: lockless from the first object if resident, valid
 *	   (and dirty for a write); else the locked chain walk;
 *	3. decide the protection: a page of a backing object is mapped
 *	   read-only (the first write copies it up), and so is a clean
 *	   page of the first object on a read fault (the first write then
 *	   faults, marking it dirty and releasing the pager's copy);
 *	4. enter the mapping (the pmap promotes a fully populated
 *	   reservation to a 2 MiB mapping), wire if asked, unbusy;
 *	5. prefault the resident neighbours (read-only).
 */
int
vm_fault(struct vm_map *map, vm_offset_t vaddr, vm_prot_t fault_type,
    int fault_flags, struct vm_page **m_hold)
{
	struct vm_map_entry *entry;
	struct vm_object *obj;
	struct vm_page *m;
	vm_pindex_t pindex;
	vm_prot_t prot;
	bool write = (fault_type & VM_PROT_WRITE) != 0, wired, front = true;
	int error;

	vaddr = trunc_page(vaddr);
	counter_u64_add(vm_cnt_faults, 1);
	vm_map_lock_read(map);
	error = vm_map_lookup(
	    map, vaddr, fault_type, &entry, &obj, &pindex, &prot, &wired);
	if (error != 0) {
		vm_map_unlock_read(map);
		counter_u64_add(vm_cnt_fault_errors, 1);
		return (error);
	}
	wired = wired || (fault_flags & VM_FAULT_WIRE) != 0;
	if ((m = vm_fault_lockless_page(obj, pindex, write)) == NULL) {
		error = vm_fault_getpage(obj, pindex, write, &m, &front);
		if (error != 0) {
			vm_map_unlock_read(map);
			counter_u64_add(vm_cnt_fault_errors, 1);
			return (error);
		}
	}
	if (!front || (!write && m->dirty == 0))
		prot &= (vm_prot_t)~VM_PROT_WRITE;
	/* A wired mapping holds one wiring, the caller's hold another. */
	if (wired)
		vm_page_wire(m);
	if (m_hold != NULL)
		vm_page_wire(m);
	/*
	 * The access in the flags presets the accessed (and for a write
	 * the dirty) bit, as the access about to be retried would set it:
	 * the 512 entries of a filled reservation then agree, which
	 * promotion needs.
	 */
	(void)pmap_enter(map->pmap, vaddr, m, prot,
	    (fault_type & prot) | (wired ? PMAP_ENTER_WIRED : 0), 0);
	vm_page_reference(m);
	vm_fault_unbusy(m, write);
	/* Files only, as Linux's fault-around (atomic: see vm_pageout). */
	if (!wired && m_hold == NULL &&
	    (int)atomic_load_int((uint32_t *)&obj->type) == OBJT_VNODE)
		vm_fault_prefault(map, entry, obj, pindex, vaddr, prot);
	vm_map_unlock_read(map);
	if (m_hold != NULL)
		*m_hold = m;
	return (0);
}

int
vm_fault_init(void)
{
	return (counter_u64_alloc_table(
	    vm_fault_counters, nitems(vm_fault_counters)));
}

void
vm_fault_fini(void)
{
	counter_u64_free_table(vm_fault_counters, nitems(vm_fault_counters));
}
