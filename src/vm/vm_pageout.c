/*
 * vm_pageout.c: the page daemon and the laundry thread of each domain.
 * The numbered steps of a daemon pass are in vm_pageout.h.
 */
#include "vm/vm_pageout.h"

#include "kern/counter.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "pmap/pmap.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_swap.h"

#include <errno.h>
#include <string.h>

#define VM_SCAN_BATCH 32 /* pages taken off a queue per lock hold */
#define VM_PAGEOUT_TIMEOUT_NS (100 * 1000 * 1000)
#define VM_PAGEOUT_RETRY_NS (5 * 1000 * 1000)

struct vm_pageout_domain {
	struct mtx pd_mtx;	    /* (c) */
	int pd_domain;		    /* (c) */
	bool pd_laundry_wanted;	    /* (m) */
	uint32_t pd_exit;	    /* (a) stop the threads */
	struct thread *pd_daemon;   /* (c) */
	struct thread *pd_laundry;  /* (c) */
	uint64_t pd_fruitless;	    /* (s,a) consecutive fruitless passes */
	uint64_t pd_laundered_seen; /* (d) laundered count at last pass */
	uint64_t pd_swap_used_seen; /* (d) */
	struct vm_page pd_markers[PQ_COUNT]; /* (d) the daemon's scans */
	struct vm_page pd_lmarker;	     /* (d) the laundry thread's scan */
	struct mtx pd_scan_mtx;	   /* (c) one scan of a domain at a time */
	struct mtx pd_laundry_mtx; /* (c) one laundry scan at a time */
} __aligned(MD_CACHE_LINE);

static struct vm_pageout_domain vm_pd[MD_MAXDOMAIN];
static bool vm_pageout_started;	     /* (c) */
static uint32_t vm_pageout_oom;	     /* (a) the OOM condition */
static uint32_t vm_pageout_paused;   /* (a) vm_pageout_pause() */
static uint32_t vm_pageout_draining; /* (a) step-0 drains under way */
static int vm_pageout_waiters;	     /* wait channel of vm_pageout_wait_free */

static int64_t vm_pageout_enable = 1;
static int64_t vm_pageout_oom_seq = 12;
static int64_t vm_pageout_cluster = 32;

static counter_u64_t vm_po_passes, vm_po_scanned, vm_po_freed,
    vm_po_reactivated, vm_po_deactivated, vm_po_to_laundry, vm_po_laundered,
    vm_po_launder_ios, vm_po_launder_ns, vm_po_launder_errors,
    vm_po_unswappable, vm_po_oom, vm_po_drains, vm_po_unmapped;

bool
vm_pageout_oom_declared(void)
{
	return (atomic_load_int(&vm_pageout_oom) != 0);
}

void
vm_pageout_wait_free(void)
{
	int d;

	for (d = 0; d < vm_ndomains; d++)
		vm_domain_pageout_wakeup(VM_DOMAIN(d));
	if (!vm_pageout_started) {
		/* No daemon: run a pass and the laundry here. */
		for (d = 0; d < vm_ndomains; d++) {
			(void)vm_pageout_pass(d);
			(void)vm_pageout_launder(d, UINT64_MAX);
			(void)vm_pageout_pass(d);
		}
		return;
	}
	(void)msleep(
	    &vm_pageout_waiters, NULL, 0, "pfree", VM_PAGEOUT_TIMEOUT_NS);
}

/*
 * The inactive scan (step 2).
 */
/*
 * Decides one inactive page; its object is locked, the page xbusied.
 * Returns whether it freed the page.
 */
static bool
vm_pageout_inactive_decide(struct vm_object *obj, struct vm_page *m)
{
	union vm_page_astate a = vm_page_astate_load(m);

	if (a.queue != PQ_INACTIVE || (a.flags & PGA_QUEUE_STATE_MASK) != 0)
		return (false); /* moved while we looked: not ours */
	if (atomic_load_int(&m->wire_count) != 0) {
		(void)vm_page_scan_move(m, a, PQ_NONE, 0);
		return (false);
	}
	if ((a.flags & PGA_REFERENCED) != 0 ||
	    (pmap_page_is_mapped(m) && pmap_ts_referenced(m) > 0)) {
		if (vm_page_scan_move(m, a, PQ_ACTIVE, PGA_REQUEUE))
			counter_u64_add(vm_po_reactivated, 1);
		return (false);
	}
	/*
	 * Unreferenced: take its mappings away (their dirty bits pass to
	 * the page), so no access can change it behind the decision.
	 * Faulting it back in needs the busy lock, which we hold.
	 */
	if (pmap_page_is_mapped(m)) {
		pmap_remove_all(m);
		counter_u64_add(vm_po_unmapped, 1);
	}
	if (m->dirty == 0) {
		/* Clean: its contents are with the pager, or are zeros. */
		vm_page_reclaim_obj(m);
		return (true);
	}
	if ((obj->type == OBJT_DEFAULT || obj->type == OBJT_SWAP) &&
	    vm_swap_total() == 0) {
		if (vm_page_scan_move(m, a, PQ_UNSWAPPABLE, PGA_REQUEUE))
			counter_u64_add(vm_po_unswappable, 1);
		return (false);
	}
	if (vm_page_scan_move(m, a, PQ_LAUNDRY, PGA_REQUEUE))
		counter_u64_add(vm_po_to_laundry, 1);
	return (false);
}

/*
 * A scan's page function: decides one page (object locked, page xbusied)
 * and returns with the busy released or the page freed; returns what it
 * adds to the scan's count.
 */
typedef uint64_t vm_scan_page_fn(struct vm_object *obj, struct vm_page *m);

/* The inactive scan's: 1 for a page freed. */
static uint64_t
vm_pageout_inactive_page_locked(struct vm_object *obj, struct vm_page *m)
{
	if (vm_pageout_inactive_decide(obj, m))
		return (1);
	vm_page_xunbusy(m);
	return (0);
}

/*
 * Locks the object a scanned page belongs to and busies the page; NULL
 * (nothing held) if the page is no longer an object page or is busy.
 */
static struct vm_object *
vm_pageout_lock_page(struct vm_page *m, bool *busyp)
{
	struct vm_object *obj;

	*busyp = false;
	if ((obj = vm_page_object(m)) == NULL)
		return (NULL);
	/* Objects are type-stable: locking a dead one is harmless. */
	vm_object_lock(obj);
	/*
	 * Atomic: the page may have moved to another object, whose lock
	 * (not obj's) its writer held.
	 */
	if (vm_page_object(m) != obj) {
		vm_object_unlock(obj);
		return (NULL);
	}
	if (!vm_page_tryxbusy(m)) {
		*busyp = true;
		vm_object_unlock(obj);
		return (NULL);
	}
	return (obj);
}

/*
 * A scan's progress: what it has done (`done', compared with `target'),
 * and what its batch function counted on the side.
 */
struct vm_scan {
	struct vm_pageout_domain *vs_pd;
	uint64_t vs_target, vs_done;
	uint64_t vs_aux; /* inactive: none; active: aged pages */
	bool vs_shortage;
	vm_scan_page_fn *vs_page; /* pages decided under their object lock */
};

/*
 * Processes ma[0..n), pages a scan took off its queue; leaves in ma[0..
 * return value) those to put back on the queue (NULL entries skipped).
 */
typedef int vm_scan_batch_fn(struct vm_scan *vs, struct vm_page **ma, int n);

/*
 * The scan driver: takes batches of pages off `queue' of the domain after
 * `marker' (one queue-lock hold each), lets fn decide about them without
 * the lock, and puts the survivors back (one more hold), until fn has done
 * vs_target or the queue has been gone through once.  Returns the pages
 * scanned.
 */
static uint64_t
vm_pageout_scan_queue(
    struct vm_scan *vs, int queue, struct vm_page *marker, vm_scan_batch_fn *fn)
{
	struct vm_pagequeue *pq = vm_pagequeue_get(vs->vs_pd->pd_domain, queue);
	struct vm_page *ma[VM_SCAN_BATCH];
	uint64_t scanned = 0, limit;
	int n;

	vm_pagequeue_lock(pq);
	limit = pq->pq_cnt;
	TAILQ_INSERT_HEAD(&pq->pq_pl, marker, plinks);
	while (vs->vs_done < vs->vs_target && scanned < limit) {
		n = vm_pagequeue_collect_locked(pq, marker, ma, VM_SCAN_BATCH);
		if (n == 0)
			break;
		vm_pagequeue_unlock(pq);
		scanned += (uint64_t)n;
		/* Reinsertion skips pages that moved meanwhile. */
		vm_pagequeue_reinsert(pq, ma, fn(vs, ma, n));
		vm_pagequeue_lock(pq);
	}
	TAILQ_REMOVE(&pq->pq_pl, marker, plinks);
	vm_pagequeue_unlock(pq);
	counter_u64_add(vm_po_scanned, (int64_t)scanned);
	return (scanned);
}

/*
 * The batch function of the scans that decide pages under their object's
 * lock (inactive, laundry): busy pages go back on the queue, pages that
 * left their object (freed) are dropped, the others go to vs_page.
 */
static int
vm_pageout_object_batch(struct vm_scan *vs, struct vm_page **ma, int n)
{
	struct vm_object *obj;
	int i, nkeep;
	bool busy;

	for (i = nkeep = 0; i < n; i++) {
		obj = vm_pageout_lock_page(ma[i], &busy);
		if (obj == NULL) {
			ma[nkeep++] = busy ? ma[i] : NULL;
			continue;
		}
		vs->vs_done += vs->vs_page(obj, ma[i]);
		vm_object_unlock(obj);
	}
	return (nkeep);
}

static uint64_t
vm_pageout_scan_inactive(struct vm_pageout_domain *pd, uint64_t shortage)
{
	struct vm_scan vs = { .vs_pd = pd,
		.vs_target = shortage,
		.vs_page = vm_pageout_inactive_page_locked };

	(void)vm_pageout_scan_queue(&vs, PQ_INACTIVE,
	    &pd->pd_markers[PQ_INACTIVE], vm_pageout_object_batch);
	counter_u64_add(vm_po_freed, (int64_t)vs.vs_done);
	return (vs.vs_done);
}

/*
 * The active scan (step 3): no object lock, only the queue-state word.
 */
static bool
vm_pageout_active_page(
    struct vm_page *m, bool shortage, uint64_t *deactp, uint64_t *agedp)
{
	union vm_page_astate a, new;
	bool mref;

	/*
	 * Accesses through mappings count as references too; collected
	 * (and cleared) once, before the word is read.
	 */
	mref = pmap_page_is_mapped(m) && pmap_ts_referenced(m) > 0;
	a = vm_page_astate_load(m);
	for (;;) {
		if (a.queue != PQ_ACTIVE ||
		    (a.flags & PGA_QUEUE_STATE_MASK) != 0)
			return (false);
		if (atomic_load_int(&m->wire_count) != 0) {
			(void)vm_page_scan_move(m, a, PQ_NONE, 0);
			return (false);
		}
		new = a;
		if ((a.flags & PGA_REFERENCED) != 0 || mref) {
			mref = false;
			new.flags &= ~PGA_REFERENCED;
			new.act_count =
			    (uint8_t)(a.act_count + 3 > 64 ? 64
							   : a.act_count + 3);
		} else if (a.act_count > 1 && !shortage) {
			new.act_count = (uint8_t)(a.act_count / 2);
		} else {
			if (vm_page_scan_move(m, a, PQ_INACTIVE, PGA_REQUEUE)) {
				(*deactp)++;
				return (false);
			}
			/* The word changed (referenced meanwhile): again. */
			a = vm_page_astate_load(m);
			continue;
		}
		if (vm_page_astate_fcmpset(m, &a, new)) {
			(*agedp)++;
			return (true); /* stays: the caller reinserts it */
		}
	}
}

/* The active scan's batch function: keeps the pages that stay active. */
static int
vm_pageout_active_batch(struct vm_scan *vs, struct vm_page **ma, int n)
{
	int i, nkeep;

	for (i = nkeep = 0; i < n; i++)
		if (vm_pageout_active_page(
			ma[i], vs->vs_shortage, &vs->vs_done, &vs->vs_aux))
			ma[nkeep++] = ma[i];
	return (nkeep);
}

/*
 * Deactivates up to `target' pages.  Returns the pages aged (reference
 * bit or act_count consumed); under a shortage an unreferenced page is
 * deactivated whatever its act_count.
 */
static uint64_t
vm_pageout_scan_active(
    struct vm_pageout_domain *pd, uint64_t target, bool shortage)
{
	struct vm_scan vs = {
		.vs_pd = pd, .vs_target = target, .vs_shortage = shortage
	};

	(void)vm_pageout_scan_queue(&vs, PQ_ACTIVE, &pd->pd_markers[PQ_ACTIVE],
	    vm_pageout_active_batch);
	counter_u64_add(vm_po_deactivated, (int64_t)vs.vs_done);
	return (vs.vs_aux);
}

/* Step 4: pages parked for want of swap go back once swap was freed. */
static void
vm_pageout_scan_unswappable(struct vm_pageout_domain *pd)
{
	struct vm_pagequeue *pq =
	    vm_pagequeue_get(pd->pd_domain, PQ_UNSWAPPABLE);
	struct vm_page *ma[VM_SCAN_BATCH];
	union vm_page_astate a;
	uint64_t used = vm_swap_used();
	int i, n;

	if (vm_pagequeue_count(pd->pd_domain, PQ_UNSWAPPABLE) == 0 ||
	    used >= pd->pd_swap_used_seen || used >= vm_swap_total()) {
		pd->pd_swap_used_seen = used;
		return;
	}
	pd->pd_swap_used_seen = used;
	do {
		vm_pagequeue_lock(pq);
		n = vm_pagequeue_collect_locked(pq, NULL, ma, VM_SCAN_BATCH);
		vm_pagequeue_unlock(pq);
		for (i = 0; i < n; i++) {
			a = vm_page_astate_load(ma[i]);
			if (a.queue == PQ_UNSWAPPABLE &&
			    (a.flags & PGA_QUEUE_STATE_MASK) == 0)
				(void)vm_page_scan_move(
				    ma[i], a, PQ_LAUNDRY, PGA_REQUEUE);
		}
	} while (n == VM_SCAN_BATCH);
}

/*
 * Step 0: every CPU's batch queues, unless paused.  A pause waits for
 * vm_pageout_draining to fall to 0: whichever of the two stores (ours to
 * vm_pageout_draining, the pauser's to vm_pageout_paused) comes first in
 * the order the seq_cst fences impose, the other side sees it, so either
 * we do not drain or the pauser waits for us.
 */
static uint64_t
vm_pageout_drain_batches(void)
{
	uint64_t n = 0;

	(void)atomic_fetchadd_int(&vm_pageout_draining, 1);
	atomic_thread_fence_seq_cst();
	if (atomic_load_int(&vm_pageout_paused) == 0) {
		n = vm_pagequeue_drain_all();
		counter_u64_add(vm_po_drains, 1);
	}
	/* Full barrier (fetchadd): the drain happens before a pauser sees 0. */
	(void)atomic_fetchadd_int(&vm_pageout_draining, (uint32_t)-1);
	return (n);
}

/*
 * Zone caches under a shortage: a pass that starts short of pages trims
 * the uma caches (UMA_RECLAIM_TRIM: cached buckets beyond their working
 * set, empty slabs), or drains them when the shortage is severe
 * (UMA_RECLAIM_DRAIN: every CPU's buckets too, by IPI).  At most once per
 * VM_PAGEOUT_UMA_NS over all domains: the first daemon to win the
 * compare-and-swap of the time stamp does it.  No lock held.
 */
#define VM_PAGEOUT_UMA_NS (100ull * 1000 * 1000)
static uint64_t vm_pageout_uma_last; /* (a) md_nanotime() of the last */
#define VM_PAGEOUT_NLOWMEM 4
static void (*vm_pageout_lowmem[VM_PAGEOUT_NLOWMEM])(bool); /* boot */
static int vm_pageout_nlowmem;				    /* boot */

int
vm_pageout_lowmem_register(void (*fn)(bool severe))
{
	int i;

	/* Each boot registers again: once is enough. */
	for (i = 0; i < vm_pageout_nlowmem; i++)
		if (vm_pageout_lowmem[i] == fn)
			return (0);
	if (vm_pageout_nlowmem == VM_PAGEOUT_NLOWMEM)
		return (EBUSY);
	vm_pageout_lowmem[vm_pageout_nlowmem++] = fn;
	return (0);
}

static void
vm_pageout_uma_reclaim(int domain)
{
	uint64_t now = md_nanotime(), last;
	int i;

	last = atomic_load_64(&vm_pageout_uma_last);
	if (last != 0 && now - last < VM_PAGEOUT_UMA_NS)
		return;
	if (!atomic_cmpset_64(&vm_pageout_uma_last, last, now))
		return;
	for (i = 0; i < vm_pageout_nlowmem; i++)
		vm_pageout_lowmem[i](vm_page_count_severe_domain(domain));
}

/*
 * One pass (steps 0-5).
 */
uint64_t
vm_pageout_pass(int domain)
{
	struct vm_pageout_domain *pd = &vm_pd[domain];
	struct vm_domain *vmd = VM_DOMAIN(domain);
	uint64_t free, freed = 0, shortage, act, inact, laundered, moved;
	uint64_t aged = 0, drained = 0;

	/*
	 * Step 0, outside the scan mutex: draining sleeps; the zone caches
	 * give back what they hold beyond their needs.
	 */
	if (atomic_load_64(&pd->pd_fruitless) > 0)
		drained = vm_pageout_drain_batches();
	if (vm_domain_free_count(vmd) < vmd->vmd_free_target)
		vm_pageout_uma_reclaim(domain);
	mtx_lock(&pd->pd_scan_mtx);
	if (atomic_load_int(&vm_pageout_paused) != 0) {
		mtx_unlock(&pd->pd_scan_mtx);
		return (0);
	}
	moved = counter_u64_fetch(vm_po_deactivated) +
	    counter_u64_fetch(vm_po_to_laundry) +
	    counter_u64_fetch(vm_po_unswappable);
	counter_u64_add(vm_po_passes, 1);
	vm_pagequeue_flush_local();
	free = vm_domain_free_count(vmd);
	shortage =
	    free < vmd->vmd_free_target ? vmd->vmd_free_target - free : 0;
	if (shortage > 0)
		freed = vm_pageout_scan_inactive(pd, shortage);
	act = vm_pagequeue_count(domain, PQ_ACTIVE);
	inact = vm_pagequeue_count(domain, PQ_INACTIVE);
	if (inact < (act + inact) / 3 || shortage > freed)
		aged = vm_pageout_scan_active(pd,
		    (act + inact) / 3 > inact ? (act + inact) / 3 - inact
					      : shortage - freed,
		    shortage > freed);
	vm_pageout_scan_unswappable(pd);
	if (vm_pagequeue_count(domain, PQ_LAUNDRY) > 0) {
		mtx_lock(&pd->pd_mtx);
		pd->pd_laundry_wanted = true;
		wakeup(&pd->pd_laundry_wanted);
		mtx_unlock(&pd->pd_mtx);
	}

	/* Step 5: progress is pages freed, written or moved along. */
	laundered = counter_u64_fetch(vm_po_laundered);
	moved = counter_u64_fetch(vm_po_deactivated) +
	    counter_u64_fetch(vm_po_to_laundry) +
	    counter_u64_fetch(vm_po_unswappable) - moved;
	if (shortage > 0 && freed == 0 && moved == 0 && aged == 0 &&
	    drained == 0 && laundered == pd->pd_laundered_seen &&
	    vm_pgcache_count(domain) == 0) {
		atomic_store_64(&pd->pd_fruitless, pd->pd_fruitless + 1);
		if (pd->pd_fruitless >= (uint64_t)vm_pageout_oom_seq &&
		    atomic_load_int(&vm_pageout_oom) == 0) {
			atomic_store_int(&vm_pageout_oom, 1);
			counter_u64_add(vm_po_oom, 1);
			md_printf(
			    "vm_pageout: out of memory in domain %d: %llu "
			    "passes freed nothing (free %llu, target "
			    "%llu); allocations that wait fail with "
			    "ENOMEM\n",
			    domain, (unsigned long long)pd->pd_fruitless,
			    (unsigned long long)free,
			    (unsigned long long)vmd->vmd_free_target);
		}
	} else {
		atomic_store_64(&pd->pd_fruitless, 0);
		if (freed > 0 || shortage == 0)
			atomic_store_int(&vm_pageout_oom, 0);
	}
	pd->pd_laundered_seen = laundered;
	mtx_unlock(&pd->pd_scan_mtx);
	wakeup(&vm_pageout_waiters);
	return (freed + moved + aged + drained);
}

/* Sleeps until woken, or `timo' ns; returns false when told to exit. */
static bool
vm_pageout_daemon_sleep(struct vm_pageout_domain *pd, uint64_t timo)
{
	uint32_t *wanted = &VM_DOMAIN(pd->pd_domain)->vmd_pageout_wanted;

	sleepq_lock(wanted);
	if (atomic_load_int(wanted) == 0 &&
	    atomic_load_int(&pd->pd_exit) == 0) {
		sleepq_add(wanted, "psleep", 0, timo);
		(void)sleepq_wait();
	} else
		sleepq_release(wanted);
	return (atomic_load_int(&pd->pd_exit) == 0);
}

static void
vm_pageout_daemon(void *arg)
{
	struct vm_pageout_domain *pd = arg;
	struct vm_domain *vmd = VM_DOMAIN(pd->pd_domain);
	uint64_t progress = 1;
	bool shortage;

	for (;;) {
		shortage = vm_domain_free_count(vmd) < vmd->vmd_free_target;
		/* Straight on while a shortage is being worked down. */
		if ((!shortage || progress == 0) &&
		    !vm_pageout_daemon_sleep(pd,
			shortage ? VM_PAGEOUT_RETRY_NS : VM_PAGEOUT_TIMEOUT_NS))
			break;
		if (atomic_load_int(&pd->pd_exit) != 0)
			break;
		atomic_store_int(&vmd->vmd_pageout_wanted, 0);
		progress = vm_pageout_pass(pd->pd_domain);
		maybe_yield();
	}
}

/*
 * The laundry.
 */

/*
 * Gathers the cluster around m (object locked, m xbusied): dirty pages of
 * the laundry queue at consecutive indices that can be busied.  Returns
 * the cluster size; cl[] in index order.
 */
static int
vm_pageout_cluster_pages(
    struct vm_object *obj, struct vm_page *m, struct vm_page **cl, int max)
{
	struct vm_page *p;
	vm_pindex_t idx;
	int before = 0, after = 0, i;

	cl[max] =
	    m; /* centre slot; the window is [max - before, max + after] */
	for (idx = m->pindex; before + after + 1 < max && idx > 0; before++) {
		p = vm_page_lookup(obj, --idx);
		if (p == NULL || p->dirty == 0 ||
		    vm_page_astate_load(p).queue != PQ_LAUNDRY ||
		    !vm_page_tryxbusy(p))
			break;
		cl[max - before - 1] = p;
	}
	for (idx = m->pindex; before + after + 1 < max; after++) {
		p = vm_page_lookup(obj, ++idx);
		if (p == NULL || p->dirty == 0 ||
		    vm_page_astate_load(p).queue != PQ_LAUNDRY ||
		    !vm_page_tryxbusy(p))
			break;
		cl[max + after + 1] = p;
	}
	for (i = 0; i < before + after + 1; i++)
		cl[i] = cl[max - before + i];
	return (before + after + 1);
}

/* After the write: each page clean and inactive, or dirty and retried. */
static void
vm_pageout_launder_done(struct vm_page *m, bool held, int rtval)
{
	union vm_page_astate a = vm_page_astate_load(m);
	bool scan = held && a.queue == PQ_LAUNDRY &&
	    (a.flags & PGA_QUEUE_STATE_MASK) == 0;

	if (rtval == 0) {
		m->dirty = 0;
		if (scan)
			(void)vm_page_scan_move(
			    m, a, PQ_INACTIVE, PGA_REQUEUE_HEAD);
		else
			vm_page_deactivate_noreuse(m);
	} else if (rtval == ENOSPC) {
		counter_u64_add(vm_po_unswappable, 1);
		if (scan)
			(void)vm_page_scan_move(
			    m, a, PQ_UNSWAPPABLE, PGA_REQUEUE);
		else
			vm_page_unswappable(m);
	} else {
		/* Stays dirty and resident; back in the laundry, retried. */
		counter_u64_add(vm_po_launder_errors, 1);
		if (scan)
			(void)vm_page_scan_move(m, a, PQ_LAUNDRY, PGA_REQUEUE);
	}
	vm_page_xunbusy(m);
}

/* Launders m (object locked, m xbusied, m held by the scan). */
static uint64_t
vm_pageout_launder_page(struct vm_object *obj, struct vm_page *m)
{
	struct vm_page *cl[2 * 32 + 1];
	int rtvals[2 * 32 + 1];
	const struct vm_pagerops *ops;
	uint64_t t0, ok = 0;
	int i, n;

	/* The first page-out of anonymous memory; atomic for the pmap. */
	if (obj->type == OBJT_DEFAULT)
		atomic_store_int((uint32_t *)&obj->type, OBJT_SWAP);
	ops = vm_pager_ops(obj);
	VM_ASSERT(ops != NULL,
	    ("%s: object %p type %d has no pager", __func__, (void *)obj,
		obj->type));
	n = vm_pageout_cluster_pages(obj, m, cl, (int)vm_pageout_cluster);
	/*
	 * No write may land between the copy and the clean mark: remove
	 * write access (a write faults and waits for the busy lock).
	 */
	for (i = 0; i < n; i++)
		pmap_remove_write(cl[i]);
	vm_object_pip_add(obj, 1);
	t0 = md_nanotime();
	ops->pgo_putpages(obj, cl, n, rtvals);
	counter_u64_add(vm_po_launder_ns, (int64_t)(md_nanotime() - t0));
	counter_u64_add(vm_po_launder_ios, 1);
	for (i = 0; i < n; i++) {
		if (rtvals[i] == 0)
			ok++;
		vm_pageout_launder_done(cl[i], cl[i] == m, rtvals[i]);
	}
	vm_object_pip_wakeup(obj);
	counter_u64_add(vm_po_laundered, (int64_t)ok);
	return (ok);
}

/* The laundry scan's page function: the pages written. */
static uint64_t
vm_pageout_laundry_page_locked(struct vm_object *obj, struct vm_page *m)
{
	union vm_page_astate a = vm_page_astate_load(m);

	if (a.queue != PQ_LAUNDRY || (a.flags & PGA_QUEUE_STATE_MASK) != 0) {
		vm_page_xunbusy(m);
		return (0);
	}
	if ((a.flags & PGA_REFERENCED) != 0 || m->dirty == 0 ||
	    atomic_load_int(&m->wire_count) != 0) {
		(void)vm_page_scan_move(m, a,
		    m->wire_count != 0			  ? PQ_NONE
			: (a.flags & PGA_REFERENCED) != 0 ? PQ_ACTIVE
							  : PQ_INACTIVE,
		    PGA_REQUEUE);
		vm_page_xunbusy(m);
		return (0);
	}
	return (vm_pageout_launder_page(obj, m));
}

uint64_t
vm_pageout_launder(int domain, uint64_t max)
{
	struct vm_pageout_domain *pd = &vm_pd[domain];
	struct vm_scan vs = { .vs_pd = pd,
		.vs_target = max,
		.vs_page = vm_pageout_laundry_page_locked };

	mtx_lock(&pd->pd_laundry_mtx);
	if (atomic_load_int(&vm_pageout_paused) == 0)
		(void)vm_pageout_scan_queue(
		    &vs, PQ_LAUNDRY, &pd->pd_lmarker, vm_pageout_object_batch);
	mtx_unlock(&pd->pd_laundry_mtx);
	return (vs.vs_done);
}

void
vm_pageout_pause(void)
{
	int d;

	/* Passes that start from now on see the flag under their mutex... */
	atomic_store_int(&vm_pageout_paused, 1);
	atomic_thread_fence_seq_cst();
	/* ...and those under way have ended once we get the mutexes. */
	for (d = 0; d < vm_ndomains; d++) {
		mtx_lock(&vm_pd[d].pd_scan_mtx);
		mtx_unlock(&vm_pd[d].pd_scan_mtx);
		mtx_lock(&vm_pd[d].pd_laundry_mtx);
		mtx_unlock(&vm_pd[d].pd_laundry_mtx);
	}
	/* Step-0 drains that saw no pause (vm_pageout_drain_batches()). */
	while (atomic_load_int(&vm_pageout_draining) != 0)
		pause_ns("pdrain", 10 * 1000);
}

void
vm_pageout_resume(void)
{
	int d;

	atomic_store_int(&vm_pageout_paused, 0);
	for (d = 0; d < vm_ndomains; d++)
		vm_domain_pageout_wakeup(VM_DOMAIN(d));
}

static void
vm_pageout_laundry_thread(void *arg)
{
	struct vm_pageout_domain *pd = arg;
	uint64_t done;

	for (;;) {
		mtx_lock(&pd->pd_mtx);
		while (atomic_load_int(&pd->pd_exit) == 0 &&
		    !pd->pd_laundry_wanted)
			(void)msleep(&pd->pd_laundry_wanted,
			    &pd->pd_mtx.lock_object, 0, "laundry",
			    VM_PAGEOUT_TIMEOUT_NS);
		if (atomic_load_int(&pd->pd_exit) != 0) {
			mtx_unlock(&pd->pd_mtx);
			break;
		}
		pd->pd_laundry_wanted = false;
		mtx_unlock(&pd->pd_mtx);
		done = vm_pageout_launder(pd->pd_domain, UINT64_MAX);
		if (done > 0)
			vm_domain_pageout_wakeup(VM_DOMAIN(pd->pd_domain));
		maybe_yield();
	}
}

void
vm_pageout_stats(struct vm_pageout_stats *ps)
{
	ps->ps_passes = counter_u64_fetch(vm_po_passes);
	ps->ps_scanned = counter_u64_fetch(vm_po_scanned);
	ps->ps_freed = counter_u64_fetch(vm_po_freed);
	ps->ps_reactivated = counter_u64_fetch(vm_po_reactivated);
	ps->ps_deactivated = counter_u64_fetch(vm_po_deactivated);
	ps->ps_to_laundry = counter_u64_fetch(vm_po_to_laundry);
	ps->ps_laundered = counter_u64_fetch(vm_po_laundered);
	ps->ps_launder_ios = counter_u64_fetch(vm_po_launder_ios);
	ps->ps_launder_ns = counter_u64_fetch(vm_po_launder_ns);
	ps->ps_launder_errors = counter_u64_fetch(vm_po_launder_errors);
	ps->ps_unswappable = counter_u64_fetch(vm_po_unswappable);
	ps->ps_oom = counter_u64_fetch(vm_po_oom);
}

int
vm_pageout_tunables(void)
{
	int error;

	if ((error = tunable_int_register("vm.pageout.enable",
		 &vm_pageout_enable, 1, 0, 1,
		 "run a page daemon and a laundry thread per domain")) != 0 ||
	    (error = tunable_int_register("vm.pageout.oom_seq",
		 &vm_pageout_oom_seq, 12, 1, 1000000,
		 "fruitless daemon passes before out-of-memory")) != 0 ||
	    (error = tunable_int_register("vm.pageout.cluster",
		 &vm_pageout_cluster, 32, 1, VM_SWAP_MAXPAGES,
		 "pages per laundry write")) != 0)
		return (error);
	return (0);
}

static const struct counter_spec vm_po_counters[] = {
	{ &vm_po_passes, "vm.pageout.passes", "daemon passes" },
	{ &vm_po_scanned, "vm.pageout.scanned",
	    "pages examined by queue scans" },
	{ &vm_po_freed, "vm.pageout.freed", "pages freed by the page daemon" },
	{ &vm_po_reactivated, "vm.pageout.reactivated",
	    "referenced inactive pages reactivated" },
	{ &vm_po_deactivated, "vm.pageout.deactivated",
	    "active pages moved to inactive" },
	{ &vm_po_unmapped, "vm.pageout.unmapped",
	    "inactive pages whose mappings the scan removed" },
	{ &vm_po_to_laundry, "vm.pageout.to_laundry",
	    "dirty pages moved to the laundry" },
	{ &vm_po_laundered, "vm.pageout.laundered",
	    "pages written to their pager" },
	{ &vm_po_launder_ios, "vm.pageout.launder_ios",
	    "laundry write operations" },
	{ &vm_po_launder_ns, "vm.pageout.launder_ns",
	    "nanoseconds in laundry writes" },
	{ &vm_po_launder_errors, "vm.pageout.launder_errors",
	    "pages whose laundry write failed (kept dirty, retried)" },
	{ &vm_po_unswappable, "vm.pageout.unswappable",
	    "dirty pages parked for want of swap space" },
	{ &vm_po_oom, "vm.pageout.oom", "out-of-memory reports" },
	{ &vm_po_drains, "vm.pageout.percpu_drains",
	    "every CPU's page-queue batches applied after a fruitless "
	    "pass" },
};

int
vm_pageout_init(void)
{
	/* A pass holds its scan mutex and takes objects and queues. */
	static const struct lock_rank ranks[] = {
		{ "vm laundry scan", 490, 0 },
		{ "vm pageout scan", 500, 0 },
		{ "vm pageout", 610, 0 },
	};
	struct vm_pageout_domain *pd;
	int d, error, q;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	vm_pageout_started = false;
	atomic_store_64(&vm_pageout_uma_last, 0);
	atomic_store_int(&vm_pageout_oom, 0);
	atomic_store_int(&vm_pageout_paused, 0);
	for (d = 0; d < vm_ndomains; d++) {
		pd = &vm_pd[d];
		memset(pd, 0, sizeof(*pd));
		mtx_init(&pd->pd_mtx, "vm pageout", MTX_DEF);
		mtx_init(&pd->pd_scan_mtx, "vm pageout scan", MTX_DEF);
		mtx_init(&pd->pd_laundry_mtx, "vm laundry scan", MTX_DEF);
		pd->pd_domain = d;
		for (q = 0; q < PQ_COUNT; q++)
			vm_page_init_marker(&pd->pd_markers[q], q);
		vm_page_init_marker(&pd->pd_lmarker, PQ_LAUNDRY);
	}
	/* A failed init undoes itself (a boot step's contract, boot.h). */
	if ((error = counter_u64_alloc_table(
		 vm_po_counters, nitems(vm_po_counters))) != 0)
		vm_pageout_fini();
	return (error);
}

int
vm_pageout_start(void)
{
	struct vm_pageout_domain *pd;
	int d, error, cpu;

	if (vm_pageout_enable == 0)
		return (0);
	for (d = 0; d < vm_ndomains; d++) {
		pd = &vm_pd[d];
		/* The domain's last CPU: CPU 0 usually runs the workload. */
		cpu = md_ncpus() - 1 - d % md_ncpus();
		if ((error = kthread_create(vm_pageout_daemon, pd, cpu,
			 KTHR_SYSTEM | KTHR_JOINABLE, &pd->pd_daemon,
			 "pagedaemon%d", d)) != 0 ||
		    (error = kthread_create(vm_pageout_laundry_thread, pd, cpu,
			 KTHR_SYSTEM | KTHR_JOINABLE, &pd->pd_laundry,
			 "laundry%d", d)) != 0)
			return (error);
	}
	vm_pageout_started = true;
	return (0);
}

void
vm_pageout_stop(void)
{
	struct vm_pageout_domain *pd;
	int d;

	if (!vm_pageout_started)
		return;
	for (d = 0; d < vm_ndomains; d++) {
		pd = &vm_pd[d];
		mtx_lock(&pd->pd_mtx);
		atomic_store_int(&pd->pd_exit, 1);
		wakeup(&pd->pd_laundry_wanted);
		mtx_unlock(&pd->pd_mtx);
		wakeup(&VM_DOMAIN(d)->vmd_pageout_wanted);
		kthread_join(pd->pd_daemon);
		kthread_join(pd->pd_laundry);
	}
	vm_pageout_started = false;
}

void
vm_pageout_fini(void)
{
	int d;

	for (d = 0; d < vm_ndomains; d++) {
		mtx_destroy(&vm_pd[d].pd_mtx);
		mtx_destroy(&vm_pd[d].pd_scan_mtx);
		mtx_destroy(&vm_pd[d].pd_laundry_mtx);
	}
	counter_u64_free_table(vm_po_counters, nitems(vm_po_counters));
}
