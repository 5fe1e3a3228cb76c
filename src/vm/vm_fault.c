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
};

/*
 * Looks up (obj, pindex) in obj alone, paging it in from obj's pager if
 * the pager has it, and busies it (exclusive if `xbusy').  obj locked; may
 * drop and retake the lock (then *mp may be NULL with EAGAIN: the caller
 * starts over).  Returns 0 with *mp NULL when neither obj nor its pager
 * has the page, ENOMEM when no page could be allocated.
 */
static int
vm_fault_page_find(
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
vm_fault_unbusy(struct vm_page *m, bool xbusy)
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
vm_fault_lockless(struct vm_object *obj, vm_pindex_t pindex, bool write,
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
		vm_fault_unbusy(m, write);
		return (false);
	}
	vm_page_reference(m);
	fn(vm_page_dmap(m), pindex, arg);
	vm_fault_unbusy(m, write);
	counter_u64_add(vm_cnt_lockless, 1);
	return (true);
}

/* Marks m (exclusive-busied, obj locked) about to be modified. */
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
 * object: copy-on-write), or zeros when src is NULL.  obj locked.
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
 * One attempt of the locked path.  Walks the chain from obj (locked)
 * holding each object's lock until the page is found.  Returns 0 with the
 * page busied in *mp (its object in *mobjp, locked together with obj),
 * EAGAIN to start over, or an error.
 */
static int
vm_fault_find(struct vm_object *obj, vm_pindex_t pindex, bool write,
    struct vm_page **mp, struct vm_object **mobjp)
{
	struct vm_object *o = obj, *next;
	struct vm_page *m = NULL, *src;
	vm_pindex_t idx = pindex;
	int error;

	for (;;) {
		error = vm_fault_page_find(o, idx, o == obj && write, &m);
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
		error = vm_fault_page_new(obj, pindex, NULL, &m);
		if (error == 0 && !write)
			vm_page_busy_downgrade(m);
	} else if (error == 0 && o != obj && write) {
		src = m;
		error = vm_fault_page_new(obj, pindex, src, &m);
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
vm_fault_touch(struct vm_object *obj, vm_pindex_t pindex, int flags,
    vm_touch_fn *fn, void *arg)
{
	struct vm_object *mobj;
	struct vm_page *m;
	bool write = (flags & VM_TOUCH_WRITE) != 0;
	int error;

	if (vm_fault_lockless(obj, pindex, write, fn, arg))
		return (0);
	for (;;) {
		vm_object_lock(obj);
		if (pindex >= obj->size && (obj->flags & OBJ_ANON) == 0) {
			vm_object_unlock(obj);
			return (EFAULT);
		}
		error = vm_fault_find(obj, pindex, write, &m, &mobj);
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
		vm_fault_dirty(obj, m);
	if (mobj != obj)
		vm_object_unlock(mobj);
	vm_object_unlock(obj);
	vm_page_reference(m);
	fn(vm_page_dmap(m), pindex, arg);
	vm_fault_unbusy(m, write);
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
