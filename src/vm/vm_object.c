/*
 * vm_object.c: objects, their pages, paging in progress, shadow chains and
 * their collapse.  The design is in vm_object.h; the busy lock is the
 * page module's (vm_page.c), the touch path is vm_fault.c's.
 */
#include "vm/vm_object.h"

#include "kern/counter.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "pmap/pmap.h"
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

static counter_u64_t vm_cnt_collapses; /* backing objects collapsed */

static const struct counter_spec vm_object_counters[] = {
	{ &vm_cnt_collapses, "vm.stats.object.collapses",
	    "backing objects collapsed" },
};

/*
 * Pages of an object.
 */
int
vm_page_insert(struct vm_page *m, struct vm_object *obj, vm_pindex_t pindex)
{
	int error;

	VM_OBJECT_ASSERT_WLOCKED(obj);
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

	VM_OBJECT_ASSERT_WLOCKED(obj);
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

	/* A page freed while mapped is a page another owner will share. */
	VM_ASSERT(!pmap_page_has_pv(m),
	    ("%s: page %#llx freed with pv entries", __func__,
		(unsigned long long)m->phys_addr));

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

	VM_OBJECT_ASSERT_WLOCKED(obj);
	VM_ASSERT(vm_page_xbusied(m),
	    ("%s: page %p not exclusive-busied", __func__, (void *)m));
	VM_ASSERT(
	    m->wire_count == 0, ("%s: page %p wired", __func__, (void *)m));
	/* Termination and collapse free pages that may still be mapped. */
	if (pmap_page_is_mapped(m))
		pmap_remove_all(m);
	if ((ops = vm_pager_ops(obj)) != NULL && ops->pgo_freespace != NULL)
		ops->pgo_freespace(obj, m->pindex);
	vm_page_remove(m);
	vm_page_free_prep_and_free(m);
}

/* A clean page (reclaim) or a failed page-in: its pager copy stays. */
void
vm_page_reclaim_obj(struct vm_page *m)
{
	VM_OBJECT_ASSERT_WLOCKED(m->object);
	VM_ASSERT(!pmap_page_is_mapped(m),
	    ("%s: page %p still mapped", __func__, (void *)m));
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
	VM_OBJECT_ASSERT_WLOCKED(obj);
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
		obj = md_calloc(1, sizeof(*obj));
		if (obj == NULL)
			return (NULL);
		rw_init(&obj->o_lock, "vm object");
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
	static uint64_t next_id;

	if ((obj = vm_object_alloc_struct()) == NULL)
		return (NULL);
	vm_object_init_struct(obj, type, size);
	obj->id = atomic_fetchadd_64(&next_id, 1) + 1;
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
		/*
		 * No mapping is left: every map entry that could reach the
		 * object held a reference, and its removal unmapped it.  So
		 * the pv lists are not even looked at (as FreeBSD's
		 * vm_object_terminate_pages(), where only INVARIANTS checks):
		 * each look is a pv list lock, and an exiting build job's
		 * objects have thousands of pages.
		 */
		VM_ASSERT(!pmap_page_is_mapped(m),
		    ("%s: object %p page %llu still mapped", __func__,
			(void *)obj, (unsigned long long)m->pindex));
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
	struct vm_object *backing = m->object;
	vm_pindex_t pindex = m->pindex;

	/*
	 * A page that dies here (shadowed, or out of range) loses its
	 * mappings first, while it still has its object: the pmap's
	 * page-level calls take a page without an object for an unmapped
	 * one (pmap_page_has_object()), so a look after vm_page_remove()
	 * always said "not mapped", and mapped pages were freed.
	 */
	if (!keep) {
		pmap_remove_all(m);
		vm_page_remove(m);
		vm_page_free_prep_and_free(m);
		return;
	}
	vm_page_remove(m);
	if (vm_page_insert(m, obj, idx) != 0) {
		/* No trie node for it: it dies too, unmapped as above. */
		vm_page_set_identity(m, backing, pindex);
		pmap_remove_all(m);
		vm_page_set_identity(m, NULL, pindex);
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
		nidx = md_realloc(mv->idx, mv->cap * sizeof(*nidx));
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
	md_free(mv.idx);
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

	VM_OBJECT_ASSERT_WLOCKED(obj);
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
	/* A shadow's lock before its backing object's: one name, nested. */
	static const struct lock_rank ranks[] = {
		{ "vm object", 520, LOCK_RANK_DUPOK },
		{ "vm object list", 530, 0 },
	};
	int error;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	mtx_init(&vm_object_list_mtx, "vm object list", MTX_DEF);
	LIST_INIT(&vm_object_all);
	LIST_INIT(&vm_object_free);
	vm_object_live = 0;
	/* A failed init undoes itself (a boot step's contract, boot.h). */
	if ((error = counter_u64_alloc_table(
		 vm_object_counters, nitems(vm_object_counters))) != 0)
		vm_object_fini();
	return (error);
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
		rw_destroy(&obj->o_lock);
		md_free(obj);
	}
	mtx_destroy(&vm_object_list_mtx);
	counter_u64_free_table(vm_object_counters, nitems(vm_object_counters));
}
