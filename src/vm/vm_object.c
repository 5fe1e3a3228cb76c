/*
 * vm_object.c: objects, their pages, shadow chains, the busy lock, and the
 * object-level workload API (vm_object_touch).  The design is in
 * vm_object.h.
 */
#include "vm/vm_object.h"

#include "kern/counter.h"
#include "kern/epoch.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct mtx vm_object_list_mtx;
static struct vm_object_list vm_object_all;  /* (t) live objects */
static struct vm_object_list vm_object_free; /* (t) type-stable spares */
static uint64_t vm_object_live;		     /* (t,a) */

static counter_u64_t vm_cnt_zfod;	   /* pages zero-filled on touch */
static counter_u64_t vm_cnt_cow;	   /* pages copied up a shadow chain */
static counter_u64_t vm_cnt_pagein;	   /* touches that paged in */
static counter_u64_t vm_cnt_pagein_errors; /* page-ins that failed */
static counter_u64_t vm_cnt_lockless;	   /* touches served without the lock */
static counter_u64_t vm_cnt_collapses;	   /* backing objects collapsed */

static const struct counter_spec vm_object_counters[] = {
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
	{ &vm_cnt_collapses, "vm.stats.object.collapses",
	    "backing objects collapsed" },
};

/*
 * The busy lock.
 */
bool
vm_page_tryxbusy(struct vm_page *m)
{
	/* Acquire: the page's contents and identity are read after. */
	return (atomic_cmpset_int(&m->busy_lock, VPB_UNBUSIED, VPB_XBUSY));
}

bool
vm_page_trysbusy(struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	for (;;) {
		if ((x & VPB_XBUSY) != 0)
			return (false);
		/* Acquire, as above; fails if a writer got in first. */
		if (atomic_fcmpset_int(&m->busy_lock, &x, x + VPB_ONE_SHARER))
			return (true);
	}
}

bool
vm_page_xbusied(const struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	return ((x & VPB_XBUSY) != 0 && x != VPB_FREED);
}

bool
vm_page_busied(const struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	return (x != VPB_UNBUSIED && x != VPB_FREED);
}

void
vm_page_busy_downgrade(struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	VM_ASSERT(vm_page_xbusied(m),
	    ("%s: page %p busy %#x", __func__, (void *)m, m->busy_lock));
	/* Keep VPB_WAITERS: sleepers are woken by the last sharer. */
	while (!atomic_fcmpset_int(
	    &m->busy_lock, &x, VPB_ONE_SHARER | (x & VPB_WAITERS)))
		;
}

void
vm_page_xunbusy(struct vm_page *m)
{
	uint32_t x;

	VM_ASSERT(vm_page_xbusied(m),
	    ("%s: page %p busy %#x", __func__, (void *)m, m->busy_lock));
	/* Release: our writes to the page precede the next owner's reads. */
	x = atomic_swap_int(&m->busy_lock, VPB_UNBUSIED);
	if ((x & VPB_WAITERS) != 0)
		wakeup(m);
}

void
vm_page_sunbusy(struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	for (;;) {
		VM_ASSERT((x & VPB_XBUSY) == 0 && VPB_SHARERS(x) > 0,
		    ("%s: page %p busy %#x", __func__, (void *)m, x));
		if (VPB_SHARERS(x) == 1 && (x & VPB_WAITERS) != 0) {
			if (atomic_fcmpset_int(
				&m->busy_lock, &x, VPB_UNBUSIED)) {
				wakeup(m);
				return;
			}
			continue;
		}
		/* Release, as in vm_page_xunbusy(). */
		if (atomic_fcmpset_int(&m->busy_lock, &x, x - VPB_ONE_SHARER))
			return;
	}
}

/*
 * Sleeps until m's busy state changes.  The waiters bit is set with the
 * page's sleep-queue chain locked, so an unbusy, which wakes the channel
 * after clearing the word, cannot slip between the test and the sleep.
 */
void
vm_page_busy_sleep(struct vm_page *m, struct vm_object *obj)
{
	uint32_t x;

	sleepq_lock(m);
	x = atomic_load_int(&m->busy_lock);
	for (;;) {
		if (x == VPB_UNBUSIED || x == VPB_FREED) {
			sleepq_release(m);
			vm_object_unlock(obj);
			return;
		}
		if ((x & VPB_WAITERS) != 0 ||
		    atomic_fcmpset_int(&m->busy_lock, &x, x | VPB_WAITERS))
			break;
	}
	vm_object_unlock(obj);
	sleepq_add(m, "pgbusy", 0, 0);
	(void)sleepq_wait();
}

/*
 * Wiring.
 */
void
vm_page_wire(struct vm_page *m)
{
	if (atomic_fetchadd_int(&m->wire_count, 1) == 0 &&
	    (m->oflags & VPO_UNMANAGED) == 0)
		vm_page_dequeue_deferred(m);
}

void
vm_page_unwire(struct vm_page *m)
{
	uint32_t old = atomic_fetchadd_int(&m->wire_count, (uint32_t)-1);

	VM_ASSERT(old > 0, ("%s: page %p not wired", __func__, (void *)m));
	if (old == 1 && (m->oflags & VPO_UNMANAGED) == 0)
		vm_page_activate(m);
}

/*
 * Pages of an object.
 */
int
vm_page_insert(struct vm_page *m, struct vm_object *obj, vm_pindex_t pindex)
{
	int error;

	VM_OBJECT_ASSERT_LOCKED(obj);
	vm_page_set_identity(m, obj, pindex);
	if ((error = vm_radix_insert(&obj->rtree, m)) != 0) {
		vm_page_set_identity(m, NULL, pindex);
		return (error);
	}
	atomic_store_64(
	    &obj->resident_page_count, obj->resident_page_count + 1);
	return (0);
}

void
vm_page_remove(struct vm_page *m)
{
	struct vm_object *obj = m->object;
	struct vm_page *r;

	VM_OBJECT_ASSERT_LOCKED(obj);
	r = vm_radix_remove(&obj->rtree, m->pindex);
	VM_ASSERT(r == m,
	    ("%s: page %p not in object %p at %llu (found %p)", __func__,
		(void *)m, (void *)obj, (unsigned long long)m->pindex,
		(void *)r));
	(void)r;
	vm_page_set_identity(m, NULL, m->pindex);
	atomic_store_64(
	    &obj->resident_page_count, obj->resident_page_count - 1);
	obj->generation++;
}

struct vm_page *
vm_page_lookup(struct vm_object *obj, vm_pindex_t pindex)
{
	VM_OBJECT_ASSERT_LOCKED(obj);
	return (vm_radix_lookup(&obj->rtree, pindex));
}

/* Frees an unmanaged or managed page that belongs to nobody any more. */
static void
vm_page_free_prep_and_free(struct vm_page *m)
{
	uint32_t x;

	m->valid = 0;
	m->dirty = 0;
	m->oflags &= ~VPO_SWAPINPROG;
	/* Stale busy attempts fail from here; sleepers re-look up. */
	x = atomic_swap_int(&m->busy_lock, VPB_FREED);
	if ((x & VPB_WAITERS) != 0)
		wakeup(m);
	if ((m->oflags & VPO_UNMANAGED) != 0) {
		/* Never queued; only the reference bit may be set. */
		m->oflags = 0;
		atomic_store_int(&m->a.bits, (uint32_t)PQ_NONE << 16);
		vm_page_free(m);
		return;
	}
	if (vm_page_free_dequeue(m)) {
		/* Off every queue: the word may keep only stale bits. */
		atomic_store_int(&m->a.bits, (uint32_t)PQ_NONE << 16);
		vm_page_free(m);
	}
}

void
vm_page_free_obj(struct vm_page *m)
{
	struct vm_object *obj = m->object;
	const struct vm_pagerops *ops;

	VM_OBJECT_ASSERT_LOCKED(obj);
	VM_ASSERT(vm_page_xbusied(m),
	    ("%s: page %p not exclusive-busied", __func__, (void *)m));
	VM_ASSERT(
	    m->wire_count == 0, ("%s: page %p wired", __func__, (void *)m));
	if ((ops = vm_pager_ops(obj)) != NULL && ops->pgo_freespace != NULL)
		ops->pgo_freespace(obj, m->pindex);
	vm_page_remove(m);
	vm_page_free_prep_and_free(m);
}

/* A clean page (reclaim) or a failed page-in: its pager copy stays. */
void
vm_page_reclaim_obj(struct vm_page *m)
{
	VM_OBJECT_ASSERT_LOCKED(m->object);
	vm_page_remove(m);
	vm_page_free_prep_and_free(m);
}

const struct vm_pagerops *
vm_pager_ops(const struct vm_object *obj)
{
	switch (obj->type) {
	case OBJT_SWAP:
		return (&swap_pagerops);
	case OBJT_VNODE:
		return (&vnode_pagerops);
	default:
		return (NULL);
	}
}

/*
 * Paging in progress.
 */
void
vm_object_pip_add(struct vm_object *obj, uint32_t n)
{
	(void)atomic_fetchadd_int(&obj->paging_in_progress, n);
}

void
vm_object_pip_wakeup(struct vm_object *obj)
{
	/* Release: the paging work precedes a waiter's teardown. */
	if (atomic_fetchadd_int(&obj->paging_in_progress, (uint32_t)-1) == 1)
		wakeup(&obj->paging_in_progress);
}

void
vm_object_pip_wait_locked(struct vm_object *obj, const char *wmesg)
{
	VM_OBJECT_ASSERT_LOCKED(obj);
	while (atomic_load_int(&obj->paging_in_progress) != 0) {
		sleepq_lock(&obj->paging_in_progress);
		if (atomic_load_int(&obj->paging_in_progress) == 0) {
			sleepq_release(&obj->paging_in_progress);
			break;
		}
		vm_object_unlock(obj);
		sleepq_add(&obj->paging_in_progress, wmesg, 0, 0);
		(void)sleepq_wait();
		vm_object_lock(obj);
	}
}

/*
 * Creation and destruction.
 */
static struct vm_object *
vm_object_alloc_struct(void)
{
	struct vm_object *obj;

	mtx_lock(&vm_object_list_mtx);
	if ((obj = LIST_FIRST(&vm_object_free)) != NULL)
		LIST_REMOVE(obj, object_list);
	mtx_unlock(&vm_object_list_mtx);
	if (obj == NULL) {
		obj = calloc(1, sizeof(*obj));
		if (obj == NULL)
			return (NULL);
		mtx_init(&obj->o_mtx, "vm object", MTX_DEF);
	}
	return (obj);
}

static void
vm_object_init_struct(struct vm_object *obj, int type, vm_pindex_t size)
{
	vm_radix_init(&obj->rtree);
	obj->size = size;
	obj->type = type;
	obj->flags = (type == OBJT_DEFAULT || type == OBJT_SWAP) ? OBJ_ANON : 0;
	obj->ref_count = 1;
	atomic_store_int(&obj->paging_in_progress, 0);
	obj->resident_page_count = 0;
	obj->backing_object = NULL;
	obj->backing_offset = 0;
	LIST_INIT(&obj->shadow_head);
	obj->shadow_count = 0;
	obj->generation = 1;
	vm_swap_meta_init(&obj->swp);
	obj->vn_disk = NULL;
	obj->vn_size = 0;
	mtx_lock(&vm_object_list_mtx);
	LIST_INSERT_HEAD(&vm_object_all, obj, object_list);
	atomic_store_64(&vm_object_live, vm_object_live + 1);
	mtx_unlock(&vm_object_list_mtx);
}

struct vm_object *
vm_object_allocate(int type, vm_pindex_t size)
{
	struct vm_object *obj;

	VM_ASSERT(type == OBJT_DEFAULT || type == OBJT_SWAP ||
		type == OBJT_PHYS || type == OBJT_VNODE,
	    ("%s: type %d", __func__, type));
	if ((obj = vm_object_alloc_struct()) == NULL)
		return (NULL);
	vm_object_init_struct(obj, type, size);
	return (obj);
}

void
vm_object_reference(struct vm_object *obj)
{
	vm_object_lock(obj);
	VM_ASSERT(obj->ref_count > 0 && (obj->flags & OBJ_DEAD) == 0,
	    ("%s: object %p refs %u flags %#x", __func__, (void *)obj,
		obj->ref_count, obj->flags));
	obj->ref_count++;
	vm_object_unlock(obj);
}

/* Frees every page of a dying object (locked); sleeps on busy pages. */
static void
vm_object_free_pages(struct vm_object *obj)
{
	struct vm_page *m;

	while ((m = vm_radix_lookup_ge(&obj->rtree, 0)) != NULL) {
		if (!vm_page_tryxbusy(m)) {
			vm_page_busy_sleep(m, obj);
			vm_object_lock(obj);
			continue;
		}
		if (obj->type == OBJT_PHYS)
			atomic_store_int(&m->wire_count, 0);
		if (m->wire_count != 0)
			VM_PANIC("%s: object %p page %llu is wired", __func__,
			    (void *)obj, (unsigned long long)m->pindex);
		vm_page_remove(m);
		vm_page_free_prep_and_free(m);
	}
}

/*
 * Terminates obj (locked, no references left) and returns its backing
 * object, whose reference the caller then drops.
 */
static struct vm_object *
vm_object_terminate(struct vm_object *obj)
{
	const struct vm_pagerops *ops;
	struct vm_object *backing;

	obj->flags |= OBJ_DEAD;
	vm_object_pip_wait_locked(obj, "objterm");
	vm_object_free_pages(obj);
	if ((ops = vm_pager_ops(obj)) != NULL && ops->pgo_dealloc != NULL)
		ops->pgo_dealloc(obj);
	backing = obj->backing_object;
	if (backing != NULL) {
		vm_object_lock(backing);
		LIST_REMOVE(obj, shadow_list);
		backing->shadow_count--;
		vm_object_unlock(backing);
		obj->backing_object = NULL;
	}
	VM_ASSERT(
	    vm_radix_is_empty(&obj->rtree) && obj->resident_page_count == 0,
	    ("%s: object %p keeps %llu pages", __func__, (void *)obj,
		(unsigned long long)obj->resident_page_count));
	vm_radix_reclaim_allnodes(&obj->rtree);
	obj->type = OBJT_DEAD;
	vm_object_unlock(obj);

	mtx_lock(&vm_object_list_mtx);
	LIST_REMOVE(obj, object_list);
	LIST_INSERT_HEAD(&vm_object_free, obj, object_list);
	atomic_store_64(&vm_object_live, vm_object_live - 1);
	mtx_unlock(&vm_object_list_mtx);
	return (backing);
}

void
vm_object_deallocate(struct vm_object *obj)
{
	struct vm_object *shadow;

	while (obj != NULL) {
		vm_object_lock(obj);
		VM_ASSERT(obj->ref_count > 0,
		    ("%s: object %p has no reference", __func__, (void *)obj));
		if (--obj->ref_count > 0) {
			/*
			 * Referenced only by its one shadow: fold it into
			 * the shadow (shadow first, by the lock order).
			 */
			shadow = obj->ref_count == 1 && obj->shadow_count == 1
			    ? LIST_FIRST(&obj->shadow_head)
			    : NULL;
			vm_object_unlock(obj);
			if (shadow != NULL) {
				vm_object_lock(shadow);
				vm_object_collapse(shadow);
				vm_object_unlock(shadow);
			}
			return;
		}
		obj = vm_object_terminate(obj);
	}
}

int
vm_object_shadow(struct vm_object **objp, vm_pindex_t offset, vm_pindex_t size)
{
	struct vm_object *src = *objp, *obj;

	if ((obj = vm_object_allocate(OBJT_DEFAULT, size)) == NULL)
		return (ENOMEM);
	vm_object_lock(obj);
	vm_object_lock(src);
	obj->backing_object = src; /* takes over the caller's reference */
	obj->backing_offset = offset;
	LIST_INSERT_HEAD(&src->shadow_head, obj, shadow_list);
	src->shadow_count++;
	vm_object_unlock(src);
	vm_object_unlock(obj);
	*objp = obj;
	return (0);
}

int
vm_object_chain_length(struct vm_object *obj)
{
	struct vm_object *o, *next;
	int n = 0;

	vm_object_lock(obj);
	for (o = obj; o != NULL; o = next) {
		n++;
		next = o->backing_object;
		if (next != NULL)
			vm_object_lock(next);
		if (o != obj)
			vm_object_unlock(o);
	}
	vm_object_unlock(obj);
	return (n);
}

/*
 * Moves backing's page m up into obj at `idx' (both locked, m
 * exclusive-busied), or frees it when obj has its own copy.
 */
static void
vm_object_collapse_page(
    struct vm_object *obj, struct vm_page *m, bool keep, vm_pindex_t idx)
{
	vm_page_remove(m);
	if (!keep || vm_page_insert(m, obj, idx) != 0) {
		vm_page_free_prep_and_free(m);
		return;
	}
	/* Its swap copy, if any, stays with backing and dies with it. */
	m->dirty = VM_PAGE_BITS_ALL;
	vm_page_xunbusy(m);
}

struct vm_object_swap_moves {
	struct vm_object *obj, *backing;
	vm_pindex_t *idx; /* backing pindices to move up */
	size_t n, cap;
	bool nomem;
};

static int
vm_object_collapse_swap_cb(vm_pindex_t pindex, vm_daddr_t blk, void *arg)
{
	struct vm_object_swap_moves *mv = arg;
	struct vm_object *obj = mv->obj;
	vm_pindex_t *nidx, idx;

	(void)blk;
	if (pindex < obj->backing_offset ||
	    (idx = pindex - obj->backing_offset) >= obj->size ||
	    vm_radix_lookup(&obj->rtree, idx) != NULL ||
	    vm_swap_meta_lookup(&obj->swp, idx) != SWAPBLK_NONE)
		return (0);
	if (mv->n == mv->cap) {
		mv->cap = mv->cap == 0 ? 64 : mv->cap * 2;
		nidx = realloc(mv->idx, mv->cap * sizeof(*nidx));
		if (nidx == NULL) {
			mv->nomem = true;
			return (ENOMEM);
		}
		mv->idx = nidx;
	}
	mv->idx[mv->n++] = pindex;
	return (0);
}

/*
 * Moves the swap blocks of backing that obj lacks up into obj, then frees
 * the rest (shadowed by obj's own pages or blocks).  Both locked.
 */
static void
vm_object_collapse_swap(struct vm_object *obj, struct vm_object *backing)
{
	struct vm_object_swap_moves mv = { .obj = obj, .backing = backing };
	vm_daddr_t blk, old;
	size_t i;

	(void)vm_swap_meta_foreach(
	    &backing->swp, vm_object_collapse_swap_cb, &mv);
	for (i = 0; i < mv.n; i++) {
		blk = vm_swap_meta_remove(&backing->swp, mv.idx[i]);
		if (vm_swap_meta_set(&obj->swp, mv.idx[i] - obj->backing_offset,
			blk, &old) != 0)
			vm_swap_free(blk, 1); /* the page's copy is lost */
	}
	free(mv.idx);
	if (vm_swap_meta_count(&obj->swp) > 0)
		obj->type = OBJT_SWAP;
	vm_swap_meta_free_all(&backing->swp);
}

static int
vm_object_page_busy_cb(struct vm_page *m, void *arg)
{
	(void)arg;
	return (vm_page_busied(m) || m->wire_count != 0);
}

/*
 * Folds backing objects referenced only by obj into obj (obj locked):
 * pages and swap blocks that obj lacks move up, the others are freed, and
 * the backing object leaves the chain.  Stops at a backing object that is
 * shared, busy with paging, or has busy pages.
 */
void
vm_object_collapse(struct vm_object *obj)
{
	struct vm_object *backing;
	struct vm_page *m, *next;
	vm_pindex_t idx;
	bool keep;

	VM_OBJECT_ASSERT_LOCKED(obj);
	if ((obj->flags & OBJ_DEAD) != 0)
		return;
	while ((backing = obj->backing_object) != NULL) {
		vm_object_lock(backing);
		if (backing->ref_count != 1 || backing->shadow_count != 1 ||
		    (backing->type != OBJT_DEFAULT &&
			backing->type != OBJT_SWAP) ||
		    atomic_load_int(&backing->paging_in_progress) != 0 ||
		    atomic_load_int(&obj->paging_in_progress) != 0) {
			vm_object_unlock(backing);
			return;
		}
		/* Every page first, so a busy one aborts cleanly. */
		if (vm_radix_foreach(&backing->rtree, 0, UINT64_MAX,
			vm_object_page_busy_cb, NULL) != 0) {
			vm_object_unlock(backing);
			return;
		}
		for (m = vm_radix_lookup_ge(&backing->rtree, 0); m != NULL;
		     m = next) {
			/* The last possible index has no successor. */
			next = m->pindex == UINT64_MAX
			    ? NULL
			    : vm_radix_lookup_ge(
				  &backing->rtree, m->pindex + 1);
			(void)vm_page_tryxbusy(m);
			idx = m->pindex - obj->backing_offset;
			keep = m->pindex >= obj->backing_offset &&
			    idx < obj->size &&
			    vm_radix_lookup(&obj->rtree, idx) == NULL &&
			    vm_swap_meta_lookup(&obj->swp, idx) == SWAPBLK_NONE;
			vm_object_collapse_page(obj, m, keep, idx);
		}
		if (backing->type == OBJT_SWAP)
			vm_object_collapse_swap(obj, backing);
		/* Unlink backing; obj inherits its backing reference. */
		LIST_REMOVE(obj, shadow_list);
		obj->backing_object = backing->backing_object;
		obj->backing_offset += backing->backing_offset;
		if (obj->backing_object != NULL) {
			vm_object_lock(obj->backing_object);
			LIST_REMOVE(backing, shadow_list);
			LIST_INSERT_HEAD(&obj->backing_object->shadow_head, obj,
			    shadow_list);
			vm_object_unlock(obj->backing_object);
		}
		backing->backing_object = NULL;
		backing->shadow_count = 0;
		backing->ref_count = 0;
		counter_u64_add(vm_cnt_collapses, 1);
		(void)vm_object_terminate(backing);
	}
}

/*
 * The workload API.
 */

struct vm_page *
vm_page_alloc_obj(struct vm_object *obj, vm_pindex_t pindex, int *errorp)
{
	struct vm_page *m;

	*errorp = 0;
	m = vm_page_alloc(obj, pindex, VM_ALLOC_NORMAL);
	vm_pageout_alloc_hook(m == NULL);
	if (m == NULL)
		return (NULL);
	atomic_store_rel_int(&m->busy_lock, VPB_XBUSY);
	m->oflags = obj->type == OBJT_PHYS ? VPO_UNMANAGED : 0;
	m->valid = 0;
	m->dirty = 0;
	if ((*errorp = vm_page_insert(m, obj, pindex)) != 0) {
		vm_page_free_prep_and_free(m);
		return (NULL);
	}
	if (obj->type == OBJT_PHYS)
		atomic_store_int(&m->wire_count, 1);
	return (m);
}

/*
 * Looks up (obj, pindex) in obj alone, paging it in from obj's pager if
 * the pager has it, and busies it (exclusive if `xbusy').  obj locked; may
 * drop and retake the lock (then *mp may be NULL with EAGAIN: the caller
 * starts over).  Returns 0 with *mp NULL when neither obj nor its pager
 * has the page, ENOMEM when no page could be allocated.
 */
static int
vm_object_page_find(
    struct vm_object *obj, vm_pindex_t pindex, bool xbusy, struct vm_page **mp)
{
	const struct vm_pagerops *ops;
	struct vm_page *m;
	int error;

	*mp = NULL;
	m = vm_page_lookup(obj, pindex);
	if (m != NULL) {
		if (!(xbusy ? vm_page_tryxbusy(m) : vm_page_trysbusy(m))) {
			vm_page_busy_sleep(m, obj);
			vm_object_lock(obj);
			return (EAGAIN);
		}
		*mp = m;
		return (0);
	}
	ops = vm_pager_ops(obj);
	if (ops == NULL || !ops->pgo_haspage(obj, pindex))
		return (0);
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
vm_object_touch_unbusy(struct vm_page *m, bool xbusy)
{
	if (xbusy)
		vm_page_xunbusy(m);
	else
		vm_page_sunbusy(m);
}

/*
 * The lockless path: a resident, valid page of obj itself, busied without
 * the object lock.  A write needs the page already dirty (the first
 * write releases the pager's copy under the lock).
 */
static bool
vm_object_touch_lockless(struct vm_object *obj, vm_pindex_t pindex, bool write,
    vm_touch_fn *fn, void *arg)
{
	struct vm_page *m;
	bool busied;

	epoch_enter();
	m = vm_radix_lookup_unlocked(&obj->rtree, pindex);
	busied =
	    m != NULL && (write ? vm_page_tryxbusy(m) : vm_page_trysbusy(m));
	epoch_exit();
	if (!busied)
		return (false);
	/* Busy held: the identity cannot change under us now. */
	if (vm_page_object(m) != obj || vm_page_pindex(m) != pindex ||
	    m->valid == 0 || (write && m->dirty == 0)) {
		vm_object_touch_unbusy(m, write);
		return (false);
	}
	vm_page_reference(m);
	fn(vm_page_dmap(m), pindex, arg);
	vm_object_touch_unbusy(m, write);
	counter_u64_add(vm_cnt_lockless, 1);
	return (true);
}

/* Marks m (exclusive-busied, obj locked) about to be modified. */
static void
vm_object_page_dirty(struct vm_object *obj, struct vm_page *m)
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
 * object: copy-on-write), or zeros when src is NULL.  obj locked.
 */
static int
vm_object_page_new(struct vm_object *obj, vm_pindex_t pindex,
    struct vm_page *src, struct vm_page **mp)
{
	struct vm_page *m;
	int error;

	if ((m = vm_page_alloc_obj(obj, pindex, &error)) == NULL)
		return (error != 0 ? error : ENOMEM);
	if (src != NULL) {
		memcpy(vm_page_dmap(m), vm_page_dmap(src), PAGE_SIZE);
		md_cost_param(MD_SIM_COST_PAGE_COPY);
		counter_u64_add(vm_cnt_cow, 1);
	} else {
		memset(vm_page_dmap(m), 0, PAGE_SIZE);
		md_cost_param(MD_SIM_COST_PAGE_ZERO);
		counter_u64_add(vm_cnt_zfod, 1);
	}
	m->valid = VM_PAGE_BITS_ALL;
	if (obj->type != OBJT_PHYS)
		vm_page_activate(m);
	*mp = m;
	return (0);
}

/*
 * One attempt of the locked path.  Walks the chain from obj (locked)
 * holding each object's lock until the page is found.  Returns 0 with the
 * page busied in *mp (its object in *mobjp, locked together with obj),
 * EAGAIN to start over, or an error.
 */
static int
vm_object_touch_find(struct vm_object *obj, vm_pindex_t pindex, bool write,
    struct vm_page **mp, struct vm_object **mobjp)
{
	struct vm_object *o = obj, *next;
	struct vm_page *m = NULL, *src;
	vm_pindex_t idx = pindex;
	int error;

	for (;;) {
		error = vm_object_page_find(o, idx, o == obj && write, &m);
		if (error != 0 || m != NULL || o->backing_object == NULL)
			break;
		if (idx >= o->size && (o->flags & OBJ_ANON) == 0)
			break;
		next = o->backing_object;
		idx += o->backing_offset;
		vm_object_lock(next);
		if (o != obj)
			vm_object_unlock(o);
		o = next;
	}
	if (error == 0 && m == NULL) {
		/* Nowhere in the chain: a fresh zero page in front. */
		if (o != obj)
			vm_object_unlock(o);
		o = obj;
		error = vm_object_page_new(obj, pindex, NULL, &m);
		if (error == 0 && !write)
			vm_page_busy_downgrade(m);
	} else if (error == 0 && o != obj && write) {
		src = m;
		error = vm_object_page_new(obj, pindex, src, &m);
		vm_page_sunbusy(src);
		vm_object_unlock(o);
		o = obj;
	}
	if (error != 0 && o != obj)
		vm_object_unlock(o);
	*mp = m;
	*mobjp = o;
	return (error);
}

int
vm_object_touch(struct vm_object *obj, vm_pindex_t pindex, int flags,
    vm_touch_fn *fn, void *arg)
{
	struct vm_object *mobj;
	struct vm_page *m;
	bool write = (flags & VM_TOUCH_WRITE) != 0;
	int error;

	if (vm_object_touch_lockless(obj, pindex, write, fn, arg))
		return (0);
	for (;;) {
		vm_object_lock(obj);
		if (pindex >= obj->size && (obj->flags & OBJ_ANON) == 0) {
			vm_object_unlock(obj);
			return (EFAULT);
		}
		error = vm_object_touch_find(obj, pindex, write, &m, &mobj);
		if (error == 0)
			break;
		vm_object_unlock(obj);
		if (error == EAGAIN)
			continue;
		if (error != ENOMEM)
			return (error);
		/* Out of pages: wait for the daemon, or give up on OOM. */
		if (vm_pageout_oom_declared())
			return (ENOMEM);
		vm_pageout_wait_free();
	}
	if (write)
		vm_object_page_dirty(obj, m);
	if (mobj != obj)
		vm_object_unlock(mobj);
	vm_object_unlock(obj);
	vm_page_reference(m);
	fn(vm_page_dmap(m), pindex, arg);
	vm_object_touch_unbusy(m, write);
	return (0);
}

/*
 * Reports and checks.
 */
uint64_t
vm_object_count(void)
{
	return (atomic_load_64(&vm_object_live));
}

struct vm_object_check_arg {
	struct vm_object *obj;
	uint64_t n;
	int nerr;
};

static int
vm_object_check_page(struct vm_page *m, void *arg)
{
	struct vm_object_check_arg *ca = arg;

	ca->n++;
	if (m->object != ca->obj)
		vm_check_fail(&ca->nerr,
		    "object %p: page %#llx at %llu names object %p",
		    (void *)ca->obj, (unsigned long long)m->phys_addr,
		    (unsigned long long)m->pindex, (void *)m->object);
	if ((m->flags & PG_FREE) != 0)
		vm_check_fail(&ca->nerr, "object %p: page %#llx is free",
		    (void *)ca->obj, (unsigned long long)m->phys_addr);
	return (0);
}

int
vm_object_check(struct vm_object *obj)
{
	struct vm_object_check_arg ca = { .obj = obj };

	vm_object_lock(obj);
	ca.nerr += vm_radix_check(&obj->rtree);
	(void)vm_radix_foreach(
	    &obj->rtree, 0, UINT64_MAX, vm_object_check_page, &ca);
	if (ca.n != obj->resident_page_count)
		vm_check_fail(&ca.nerr,
		    "object %p: %llu pages in the trie, resident count %llu",
		    (void *)obj, (unsigned long long)ca.n,
		    (unsigned long long)obj->resident_page_count);
	if (obj->type == OBJT_SWAP)
		ca.nerr += vm_swap_meta_check(&obj->swp);
	vm_object_unlock(obj);
	return (ca.nerr);
}

int
vm_object_init(void)
{
	mtx_init(&vm_object_list_mtx, "vm object list", MTX_DEF);
	LIST_INIT(&vm_object_all);
	LIST_INIT(&vm_object_free);
	vm_object_live = 0;
	return (counter_u64_alloc_table(
	    vm_object_counters, nitems(vm_object_counters)));
}

void
vm_object_fini(void)
{
	struct vm_object *obj;

	/* The CPUs have halted: no lock (nor thread to take one). */
	if (!LIST_EMPTY(&vm_object_all))
		md_printf("vm_object: %llu objects alive at shutdown\n",
		    (unsigned long long)vm_object_live);
	while ((obj = LIST_FIRST(&vm_object_free)) != NULL) {
		LIST_REMOVE(obj, object_list);
		mtx_destroy(&obj->o_mtx);
		free(obj);
	}
	mtx_destroy(&vm_object_list_mtx);
	counter_u64_free_table(vm_object_counters, nitems(vm_object_counters));
}
