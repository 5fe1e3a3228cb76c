/*
 * vm_pagequeue.c: page queues, per-CPU batch queues of queue operations,
 * and the scan primitives of the page daemon.  The protocol is in
 * vm_pagequeue.h; the numbered invariants are referred to below.
 */
#include "vm/vm_pagequeue.h"

#include "kern/counter.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_phys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vm_pagequeue vm_pagequeues[MD_MAXDOMAIN][PQ_COUNT];
static int64_t vm_bq_size_tun, vm_bq_trylock_tun; /* the tunables */
static uint32_t vm_bq_size;    /* (a) vm.batchqueue.size in force */
static uint32_t vm_bq_trylock; /* (a) vm.batchqueue.trylock in force */

static struct vm_batchqueue *vm_bq;  /* (x) [cpu][domain][queue] */
static int vm_bq_ncpus;		     /* (c) */
static counter_u64_t vm_pq_ops;	     /* page queue operations requested */
static counter_u64_t vm_pq_scan_ops; /* pages taken off or put back by scans */
static counter_u64_t vm_pq_lockacq;  /* queue-lock acquisitions, all */
static counter_u64_t vm_pq_lockacq_ops; /* ... for page operations */
static counter_u64_t vm_pq_batches;	/* batches applied */
static counter_u64_t vm_pq_deferred_frees;

static const struct counter_spec vm_pq_counters[] = {
	{ &vm_pq_ops, "vm.pagequeue.ops",
	    "page-queue operations requested (enqueue, requeue, move, "
	    "dequeue)" },
	{ &vm_pq_scan_ops, "vm.pagequeue.scan_ops",
	    "pages taken off or put back on a queue by scans" },
	{ &vm_pq_lockacq, "vm.pagequeue.lock_acq",
	    "page-queue lock acquisitions, all" },
	{ &vm_pq_lockacq_ops, "vm.pagequeue.lock_acq_ops",
	    "page-queue lock acquisitions to apply page operations" },
	{ &vm_pq_batches, "vm.pagequeue.batches",
	    "batches of queue operations applied" },
	{ &vm_pq_deferred_frees, "vm.pagequeue.deferred_frees",
	    "pages freed by the batch that dequeued them" },
};

static const char *const vm_pq_names[PQ_COUNT] = {
	[PQ_INACTIVE] = "inactive",
	[PQ_ACTIVE] = "active",
	[PQ_LAUNDRY] = "laundry",
	[PQ_UNSWAPPABLE] = "unswappable",
};

static inline struct vm_batchqueue *
vm_batchqueue_get(int cpu, int domain, int queue)
{
	return (&vm_bq[((size_t)cpu * (size_t)vm_ndomains + (size_t)domain) *
		PQ_COUNT +
	    (size_t)queue]);
}

void
vm_pagequeue_lock(struct vm_pagequeue *pq)
{
	mtx_lock(&pq->pq_mutex);
	counter_u64_add(vm_pq_lockacq, 1);
}

void
vm_pagequeue_unlock(struct vm_pagequeue *pq)
{
	mtx_unlock(&pq->pq_mutex);
}

/* The queue lock, for page operations (not scans): counted apart. */
static void
vm_pagequeue_lock_op(struct vm_pagequeue *pq)
{
	vm_pagequeue_lock(pq);
	counter_u64_add(vm_pq_lockacq_ops, 1);
}

static bool
vm_pagequeue_trylock(struct vm_pagequeue *pq)
{
	if (!mtx_trylock(&pq->pq_mutex))
		return (false);
	counter_u64_add(vm_pq_lockacq, 1);
	counter_u64_add(vm_pq_lockacq_ops, 1);
	return (true);
}

static inline void
vm_pagequeue_cnt_add(struct vm_pagequeue *pq, int64_t d)
{
	/* Written under the queue lock; atomic for lockless readers. */
	atomic_store_64(&pq->pq_cnt, pq->pq_cnt + (uint64_t)d);
}

/*
 * Applies the physical operation that m's word asks of queue pq (rule 2),
 * with pq's lock held.  Returns m if it is now to be freed (rule 3).
 */
static struct vm_page *
vm_pqbatch_process_page(struct vm_pagequeue *pq, struct vm_page *m)
{
	union vm_page_astate old, new;
	bool removed = false;

	mtx_assert_owned(&pq->pq_mutex);
	old = vm_page_astate_load(m);
	do {
		if (old.queue != pq->pq_index ||
		    (old.flags & PGA_QUEUE_OP_MASK) == 0 ||
		    m->domain != pq->pq_domain) {
			VM_ASSERT(!removed,
			    ("%s: page %p word %#x changed while enqueued",
				__func__, (void *)m, old.bits));
			return (NULL);
		}
		/*
		 * Off the list before the new word is published: from then
		 * on another queue's batch may enqueue the page there, under
		 * that queue's lock, rewriting its linkage.  PGA_ENQUEUED and
		 * a.queue of an enqueued page need pq's lock (rule 1), so a
		 * page found enqueued stays so until our fcmpset.
		 */
		if (!removed && (old.flags & PGA_ENQUEUED) != 0) {
			TAILQ_REMOVE(&pq->pq_pl, m, plinks);
			vm_pagequeue_cnt_add(pq, -1);
			removed = true;
		}
		new = old;
		if ((old.flags & PGA_DEQUEUE) != 0) {
			new.queue = PQ_NONE;
			new.act_count = 0;
			new.flags &= ~(PGA_QUEUE_STATE_MASK |
			    PGA_FREE_DEFERRED | PGA_REFERENCED);
		} else {
			new.flags &= ~PGA_QUEUE_OP_MASK;
			new.flags |= PGA_ENQUEUED;
		}
		/* Only the op flags and PGA_REFERENCED change under us. */
	} while (!vm_page_astate_fcmpset(m, &old, new));

	/* Requeued: PGA_ENQUEUED on pq is set, only we touch the list. */
	if ((old.flags & PGA_DEQUEUE) != 0)
		return ((old.flags & PGA_FREE_DEFERRED) != 0 ? m : NULL);
	if ((old.flags & PGA_REQUEUE_HEAD) != 0)
		TAILQ_INSERT_HEAD(&pq->pq_pl, m, plinks);
	else
		TAILQ_INSERT_TAIL(&pq->pq_pl, m, plinks);
	vm_pagequeue_cnt_add(pq, 1);
	return (NULL);
}

/* Frees pages whose deferred dequeue completed, with no lock held. */
static void
vm_pqbatch_free(struct vm_page **ma, int n)
{
	int i;

	for (i = 0; i < n; i++)
		vm_page_free(ma[i]);
	if (n > 0)
		counter_u64_add(vm_pq_deferred_frees, n);
}

/*
 * Applies bq (and then `m', if not NULL) under pq's lock, which the caller
 * holds; the pages to free are returned in tofree[].
 */
static int
vm_pqbatch_process_locked(struct vm_pagequeue *pq, struct vm_batchqueue *bq,
    struct vm_page *m, struct vm_page **tofree)
{
	struct vm_page *f;
	uint32_t i;
	int nfree = 0;

	for (i = 0; i < bq->bq_cnt; i++)
		if ((f = vm_pqbatch_process_page(pq, bq->bq_pa[i])) != NULL)
			tofree[nfree++] = f;
	pcpu_store_32(&bq->bq_cnt, 0);
	if (m != NULL && (f = vm_pqbatch_process_page(pq, m)) != NULL)
		tofree[nfree++] = f;
	counter_u64_add(vm_pq_batches, 1);
	return (nfree);
}

/*
 * Records that m needs physical work on queue `queue' of its domain.  The
 * batch is this CPU's; the thread does not sleep between reading its
 * count and storing the entry, so no other thread of the CPU interleaves.
 */
static void
vm_pqbatch_submit_page(struct vm_page *m, int queue)
{
	struct vm_page *tofree[VM_BATCHQUEUE_MAX + 1];
	struct vm_pagequeue *pq = vm_pagequeue_get(m->domain, queue);
	struct vm_batchqueue *bq;
	uint32_t size = atomic_load_int(&vm_bq_size);
	int nfree;

	counter_u64_add(vm_pq_ops, 1);
	bq = vm_batchqueue_get(curcpu, m->domain, queue);
	if (bq->bq_cnt < size) {
		bq->bq_pa[bq->bq_cnt] = m;
		pcpu_store_32(&bq->bq_cnt, bq->bq_cnt + 1);
		if (atomic_load_int(&vm_bq_trylock) == 0 ||
		    bq->bq_cnt < size / 2 + 1 || !vm_pagequeue_trylock(pq))
			return;
		/* Half full and the lock was free: apply it now. */
		nfree = vm_pqbatch_process_locked(pq, bq, NULL, tofree);
	} else {
		/*
		 * Full (or batching off): apply the batch and m.  The lock
		 * may sleep; the thread comes back on this CPU, where others
		 * may have added entries meanwhile, all of which go too.
		 */
		vm_pagequeue_lock_op(pq);
		bq = vm_batchqueue_get(curcpu, m->domain, queue);
		nfree = vm_pqbatch_process_locked(pq, bq, m, tofree);
	}
	vm_pagequeue_unlock(pq);
	vm_pqbatch_free(tofree, nfree);
}

/*
 * Takes m off pq's list at once if it is still physically there (pq
 * locked): its word moves to `queue' with operation `op' (PQ_NONE: off
 * every queue, reference bit and act_count cleared).  Returns false,
 * changing nothing, if m is no longer on pq's list.
 */
static bool
vm_pagequeue_unlink_locked(
    struct vm_pagequeue *pq, struct vm_page *m, int queue, uint16_t op)
{
	union vm_page_astate old = vm_page_astate_load(m), new;

	mtx_assert_owned(&pq->pq_mutex);
	/* Enqueued on pq: stays so while we hold pq's lock (rule 1). */
	if (old.queue != pq->pq_index || (old.flags & PGA_ENQUEUED) == 0)
		return (false);
	/*
	 * Off the list before the word says it is not there: another queue's
	 * batch may then enqueue it, rewriting its linkage.
	 */
	TAILQ_REMOVE(&pq->pq_pl, m, plinks);
	vm_pagequeue_cnt_add(pq, -1);
	do {
		new = old;
		new.queue = (uint8_t)queue;
		new.flags &= ~(PGA_QUEUE_OP_MASK | PGA_ENQUEUED);
		if (queue == PQ_NONE) {
			new.act_count = 0;
			new.flags &= ~PGA_REFERENCED;
		} else {
			new.flags |= op;
			if (queue == PQ_ACTIVE)
				new.act_count = 5;
		}
	} while (!vm_page_astate_fcmpset(m, &old, new));
	return (true);
}

/*
 * Moves m logically to `queue' with physical operation `op' (PGA_REQUEUE
 * or PGA_REQUEUE_HEAD).  A page physically on another queue is taken off
 * it now, under that queue's lock (rule 1).  Returns without doing
 * anything if `skip_same' and the page is already logically on `queue'.
 */
static void
vm_page_mvqueue(struct vm_page *m, int queue, uint16_t op, bool skip_same)
{
	struct vm_pagequeue *pq;
	union vm_page_astate old, new;
	bool moved;

	VM_ASSERT((m->oflags & VPO_UNMANAGED) == 0 && m->object != NULL,
	    ("%s: page %p unmanaged or without object", __func__, (void *)m));
	old = vm_page_astate_load(m);
	for (;;) {
		VM_ASSERT((old.flags & PGA_FREE_DEFERRED) == 0,
		    ("%s: page %p is being freed", __func__, (void *)m));
		if (old.queue == queue && skip_same &&
		    (old.flags & PGA_DEQUEUE) == 0)
			return;
		if (old.queue != PQ_NONE && old.queue != queue &&
		    (old.flags & PGA_ENQUEUED) != 0)
			break;
		new = old;
		new.queue = (uint8_t)queue;
		new.flags &= ~PGA_QUEUE_OP_MASK;
		new.flags |= op;
		if (queue == PQ_ACTIVE && old.queue != PQ_ACTIVE)
			new.act_count = 5;
		if (vm_page_astate_fcmpset(m, &old, new)) {
			vm_pqbatch_submit_page(m, queue);
			return;
		}
	}

	/* Physically on queue old.queue: off it now, on `queue' later. */
	pq = vm_pagequeue_get(m->domain, old.queue);
	vm_pagequeue_lock_op(pq);
	counter_u64_add(vm_pq_ops, 1);
	moved = vm_pagequeue_unlink_locked(pq, m, queue, op);
	vm_pagequeue_unlock(pq);
	if (!moved) {
		/* It moved meanwhile: start over. */
		vm_page_mvqueue(m, queue, op, skip_same);
		return;
	}
	vm_pqbatch_submit_page(m, queue);
}

void
vm_page_activate(struct vm_page *m)
{
	vm_page_mvqueue(m, PQ_ACTIVE, PGA_REQUEUE, true);
}

void
vm_page_deactivate(struct vm_page *m)
{
	vm_page_mvqueue(m, PQ_INACTIVE, PGA_REQUEUE, true);
}

void
vm_page_deactivate_noreuse(struct vm_page *m)
{
	vm_page_mvqueue(m, PQ_INACTIVE, PGA_REQUEUE_HEAD, false);
}

void
vm_page_launder(struct vm_page *m)
{
	vm_page_mvqueue(m, PQ_LAUNDRY, PGA_REQUEUE, true);
}

void
vm_page_unswappable(struct vm_page *m)
{
	vm_page_mvqueue(m, PQ_UNSWAPPABLE, PGA_REQUEUE, true);
}

void
vm_page_requeue(struct vm_page *m)
{
	union vm_page_astate a = vm_page_astate_load(m);

	if (a.queue != PQ_NONE)
		vm_page_mvqueue(m, a.queue, PGA_REQUEUE, false);
}

/*
 * Sets PGA_DEQUEUE (and `extra') on a queued page and submits it; returns
 * false if the page is on no queue, or physically on none, in which case
 * the word is reset to PQ_NONE directly (when `reset').
 */
static bool
vm_page_dequeue_mark(struct vm_page *m, uint16_t extra)
{
	union vm_page_astate old, new;

	old = vm_page_astate_load(m);
	for (;;) {
		if (old.queue == PQ_NONE)
			return (false);
		new = old;
		if ((old.flags & PGA_ENQUEUED) == 0) {
			/* Nothing physical to undo: a pending entry is stale. */
			new.queue = PQ_NONE;
			new.act_count = 0;
			new.flags &= ~(PGA_QUEUE_STATE_MASK | PGA_REFERENCED);
			if (vm_page_astate_fcmpset(m, &old, new)) {
				counter_u64_add(vm_pq_ops, 1);
				return (false);
			}
			continue;
		}
		new.flags &= ~(PGA_REQUEUE | PGA_REQUEUE_HEAD);
		new.flags |= PGA_DEQUEUE | extra;
		if (vm_page_astate_fcmpset(m, &old, new))
			break;
	}
	vm_pqbatch_submit_page(m, old.queue);
	return (true);
}

void
vm_page_dequeue_deferred(struct vm_page *m)
{
	(void)vm_page_dequeue_mark(m, 0);
}

bool
vm_page_free_dequeue(struct vm_page *m)
{
	return (!vm_page_dequeue_mark(m, PGA_FREE_DEFERRED));
}

void
vm_page_dequeue(struct vm_page *m)
{
	struct vm_pagequeue *pq;
	union vm_page_astate old;
	bool done;

	for (;;) {
		old = vm_page_astate_load(m);
		if (old.queue == PQ_NONE)
			return;
		if ((old.flags & PGA_ENQUEUED) == 0) {
			if (!vm_page_dequeue_mark(m, 0))
				return;
			continue;
		}
		pq = vm_pagequeue_get(m->domain, old.queue);
		vm_pagequeue_lock_op(pq);
		done = vm_pagequeue_unlink_locked(pq, m, PQ_NONE, 0);
		vm_pagequeue_unlock(pq);
		if (done) {
			counter_u64_add(vm_pq_ops, 1);
			return;
		}
	}
}

int
vm_pagequeue_collect_locked(struct vm_pagequeue *pq, struct vm_page *marker,
    struct vm_page **ma, int max)
{
	struct vm_page *m, *next;
	union vm_page_astate old, new;
	int n = 0;

	mtx_assert_owned(&pq->pq_mutex);
	m = marker != NULL ? TAILQ_NEXT(marker, plinks)
			   : TAILQ_FIRST(&pq->pq_pl);
	for (; m != NULL && n < max; m = next) {
		next = TAILQ_NEXT(m, plinks);
		if ((m->flags & PG_MARKER) != 0)
			continue;
		old = vm_page_astate_load(m);
		/* A page with a pending operation is left to its batch. */
		if ((old.flags & PGA_QUEUE_OP_MASK) != 0)
			continue;
		/*
		 * Off the list before PGA_ENQUEUED is cleared: a page held by
		 * a scan may be moved to another queue, whose batch rewrites
		 * its linkage.  Put back where it was if an operation came.
		 */
		TAILQ_REMOVE(&pq->pq_pl, m, plinks);
		do {
			if ((old.flags & PGA_QUEUE_OP_MASK) != 0)
				break;
			new = old;
			new.flags &= ~PGA_ENQUEUED;
		} while (!vm_page_astate_fcmpset(m, &old, new));
		if ((old.flags & PGA_QUEUE_OP_MASK) != 0) {
			if (next != NULL)
				TAILQ_INSERT_BEFORE(next, m, plinks);
			else
				TAILQ_INSERT_TAIL(&pq->pq_pl, m, plinks);
			continue;
		}
		vm_pagequeue_cnt_add(pq, -1);
		ma[n++] = m;
	}
	if (marker != NULL) {
		TAILQ_REMOVE(&pq->pq_pl, marker, plinks);
		if (m != NULL)
			TAILQ_INSERT_BEFORE(m, marker, plinks);
		else
			TAILQ_INSERT_TAIL(&pq->pq_pl, marker, plinks);
	}
	counter_u64_add(vm_pq_scan_ops, n);
	return (n);
}

void
vm_pagequeue_reinsert(struct vm_pagequeue *pq, struct vm_page **ma, int n)
{
	union vm_page_astate old, new;
	int i, done = 0;

	vm_pagequeue_lock(pq);
	for (i = 0; i < n; i++) {
		if (ma[i] == NULL)
			continue;
		old = vm_page_astate_load(ma[i]);
		do {
			if (old.queue != pq->pq_index ||
			    (old.flags & PGA_QUEUE_STATE_MASK) != 0)
				break;
			new = old;
			new.flags |= PGA_ENQUEUED;
		} while (!vm_page_astate_fcmpset(ma[i], &old, new));
		if (old.queue != pq->pq_index ||
		    (old.flags & PGA_QUEUE_STATE_MASK) != 0)
			continue;
		TAILQ_INSERT_TAIL(&pq->pq_pl, ma[i], plinks);
		vm_pagequeue_cnt_add(pq, 1);
		done++;
	}
	vm_pagequeue_unlock(pq);
	counter_u64_add(vm_pq_scan_ops, done);
}

bool
vm_page_scan_move(
    struct vm_page *m, union vm_page_astate old, int queue, uint16_t op)
{
	union vm_page_astate new;

	VM_ASSERT((old.flags & PGA_QUEUE_STATE_MASK) == 0,
	    ("%s: page %p word %#x not held by a scan", __func__, (void *)m,
		old.bits));
	/* The scan consumed the reference bit. */
	new = old;
	new.flags &= ~PGA_REFERENCED;
	if (queue == PQ_NONE) {
		new.queue = PQ_NONE;
		new.act_count = 0;
	} else {
		new.queue = (uint8_t)queue;
		new.flags |= op;
		if (queue == PQ_ACTIVE && old.queue != PQ_ACTIVE)
			new.act_count = 5;
	}
	if (!vm_page_astate_fcmpset(m, &old, new))
		return (false);
	if (queue != PQ_NONE)
		vm_pqbatch_submit_page(m, queue);
	else
		counter_u64_add(vm_pq_scan_ops, 1);
	return (true);
}

void
vm_page_init_marker(struct vm_page *marker, int queue)
{
	memset(marker, 0, sizeof(*marker));
	marker->flags = PG_MARKER;
	marker->segind = VM_PHYSSEG_NONE;
	marker->a.queue = (uint8_t)queue;
	marker->a.flags = PGA_ENQUEUED;
}

uint64_t
vm_pagequeue_flush_local(void)
{
	struct vm_page *tofree[VM_BATCHQUEUE_MAX + 1];
	struct vm_pagequeue *pq;
	struct vm_batchqueue *bq;
	uint64_t n = 0;
	int d, q, nfree;

	for (d = 0; d < vm_ndomains; d++)
		for (q = 0; q < PQ_COUNT; q++) {
			bq = vm_batchqueue_get(curcpu, d, q);
			if (bq->bq_cnt == 0)
				continue;
			pq = vm_pagequeue_get(d, q);
			vm_pagequeue_lock_op(pq);
			bq = vm_batchqueue_get(curcpu, d, q);
			n += bq->bq_cnt;
			nfree = vm_pqbatch_process_locked(pq, bq, NULL, tofree);
			vm_pagequeue_unlock(pq);
			vm_pqbatch_free(tofree, nfree);
		}
	return (n);
}

static void
vm_pagequeue_drain_thread(void *arg)
{
	uint64_t *np = arg;

	*np = vm_pagequeue_flush_local();
}

/* Does `cpu' hold batch entries?  A peek: entries may come any time. */
static bool
vm_batchqueue_cpu_pending(int cpu)
{
	int d, q;

	for (d = 0; d < vm_ndomains; d++)
		for (q = 0; q < PQ_COUNT; q++)
			if (pcpu_load_32(
				&vm_batchqueue_get(cpu, d, q)->bq_cnt) != 0)
				return (true);
	return (false);
}

uint64_t
vm_pagequeue_drain_all(void)
{
	struct thread *td;
	uint64_t n = 0, done;
	int cpu;

	for (cpu = 0; cpu < vm_bq_ncpus; cpu++) {
		if (cpu == curcpu) {
			n += vm_pagequeue_flush_local();
			continue;
		}
		/* A thread for every CPU would cost far more than a look. */
		if (!vm_batchqueue_cpu_pending(cpu))
			continue;
		/*
		 * KTHR_SYSTEM: the page daemon drains too, and its threads
		 * must not count as work left running at shutdown (it
		 * joins them before it stops).
		 */
		done = 0;
		if (kthread_create(vm_pagequeue_drain_thread, &done, cpu,
			KTHR_BOUND | KTHR_JOINABLE | KTHR_SYSTEM, &td,
			"pqdrain%d", cpu) != 0)
			continue;
		/* The join orders the thread's store of `done' before us. */
		kthread_join(td);
		n += done;
	}
	return (n);
}

/*
 * Set handlers of vm.batchqueue.size (arg: &vm_bq_size) and .trylock:
 * every batch is applied first, so no CPU holds more entries than the
 * new size.  Submitters read the word on every operation; entries a CPU
 * adds between the drain and the store are applied by its next flush.
 */
static int
vm_pagequeue_batch_set(int64_t value, void *arg)
{
	(void)vm_pagequeue_drain_all();
	atomic_store_int(arg, (uint32_t)value);
	return (0);
}

uint64_t
vm_pagequeue_ops(void)
{
	return (counter_u64_fetch(vm_pq_ops));
}

uint64_t
vm_pagequeue_lock_acq(void)
{
	return (counter_u64_fetch(vm_pq_lockacq));
}

uint64_t
vm_pagequeue_scan_ops(void)
{
	return (counter_u64_fetch(vm_pq_scan_ops));
}

uint64_t
vm_pagequeue_lock_acq_ops(void)
{
	return (counter_u64_fetch(vm_pq_lockacq_ops));
}

/* Invariant 1 for one queue: every listed page says it is there. */
static void
vm_pagequeue_check_queue(struct vm_pagequeue *pq, int *nerrp)
{
	struct vm_page *m;
	union vm_page_astate a;
	uint64_t n = 0;

	vm_pagequeue_lock(pq);
	TAILQ_FOREACH (m, &pq->pq_pl, plinks) {
		if ((m->flags & PG_MARKER) != 0)
			continue;
		n++;
		a = vm_page_astate_load(m);
		if (a.queue != pq->pq_index || (a.flags & PGA_ENQUEUED) == 0 ||
		    m->domain != pq->pq_domain)
			vm_check_fail(nerrp,
			    "pagequeue: page %#llx on %s queue of domain %d "
			    "has queue %d flags %#x domain %d",
			    (unsigned long long)m->phys_addr, pq->pq_name,
			    pq->pq_domain, a.queue, a.flags, m->domain);
	}
	if (n != pq->pq_cnt)
		vm_check_fail(nerrp,
		    "pagequeue: %s queue of domain %d counts %llu, lists %llu",
		    pq->pq_name, pq->pq_domain, (unsigned long long)pq->pq_cnt,
		    (unsigned long long)n);
	vm_pagequeue_unlock(pq);
}

int
vm_pagequeue_check(bool quiesced)
{
	struct vm_page *m;
	union vm_page_astate a;
	uint64_t i, pending = 0, bound, enq = 0, listed = 0;
	int d, q, nerr = 0;

	for (d = 0; d < vm_ndomains; d++)
		for (q = 0; q < PQ_COUNT; q++) {
			vm_pagequeue_check_queue(vm_pagequeue_get(d, q), &nerr);
			listed += vm_pagequeue_count(d, q);
		}
	for (i = 0; i < vm_page_array_size; i++) {
		m = &vm_page_array[i];
		if (m->segind == VM_PHYSSEG_NONE)
			continue;
		a = vm_page_astate_load(m);
		if ((a.flags & PGA_ENQUEUED) != 0)
			enq++;
		if (a.queue == PQ_NONE && (a.flags & PGA_QUEUE_STATE_MASK) != 0)
			vm_check_fail(&nerr,
			    "pagequeue: page %#llx on no queue has flags %#x",
			    (unsigned long long)m->phys_addr, a.flags);
		if (a.queue != PQ_NONE && a.queue >= PQ_COUNT)
			vm_check_fail(&nerr, "pagequeue: page %#llx queue %d",
			    (unsigned long long)m->phys_addr, a.queue);
		/* Logical and physical state differ (invariant 4). */
		if ((a.flags & PGA_QUEUE_OP_MASK) != 0 ||
		    (a.queue != PQ_NONE && (a.flags & PGA_ENQUEUED) == 0))
			pending++;
	}
	/* The walk and the counts are one snapshot only when quiesced. */
	if (quiesced && enq != listed)
		vm_check_fail(&nerr,
		    "pagequeue: %llu pages say enqueued, queues list %llu",
		    (unsigned long long)enq, (unsigned long long)listed);
	bound = quiesced ? 0
			 : (uint64_t)vm_bq_ncpus * (uint64_t)vm_ndomains *
		    PQ_COUNT * (uint64_t)VM_BATCHQUEUE_MAX +
		(uint64_t)vm_ndomains * 2 * 256;
	if (pending > bound)
		vm_check_fail(&nerr,
		    "pagequeue: %llu pages with logical != physical state, "
		    "bound %llu",
		    (unsigned long long)pending, (unsigned long long)bound);
	return (nerr);
}

int
vm_pagequeue_tunables(void)
{
	int error;

	if ((error = tunable_int_register("vm.batchqueue.size", &vm_bq_size_tun,
		 31, 0, VM_BATCHQUEUE_MAX,
		 "per-CPU batch of page-queue operations (0: none, every "
		 "operation takes the queue lock at once; 7, 31, 63)")) != 0 ||
	    (error = tunable_set_handler("vm.batchqueue.size",
		 vm_pagequeue_batch_set, &vm_bq_size)) != 0 ||
	    (error = tunable_int_register("vm.batchqueue.trylock",
		 &vm_bq_trylock_tun, 0, 0, 1,
		 "apply a half-full batch when the queue lock is free")) != 0)
		return (error);
	return (tunable_set_handler(
	    "vm.batchqueue.trylock", vm_pagequeue_batch_set, &vm_bq_trylock));
}

int
vm_pagequeue_init(void)
{
	static const struct lock_rank ranks[] = { { "vm pagequeue", 600, 0 } };
	struct vm_pagequeue *pq;
	int d, error, q;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	atomic_store_int(&vm_bq_size, (uint32_t)vm_bq_size_tun);
	atomic_store_int(&vm_bq_trylock, (uint32_t)vm_bq_trylock_tun);
	vm_bq_ncpus = md_ncpus();
	vm_bq = md_calloc((size_t)vm_bq_ncpus * (size_t)vm_ndomains * PQ_COUNT,
	    sizeof(*vm_bq));
	if (vm_bq == NULL)
		return (ENOMEM);
	for (d = 0; d < vm_ndomains; d++)
		for (q = 0; q < PQ_COUNT; q++) {
			pq = vm_pagequeue_get(d, q);
			mtx_init(&pq->pq_mutex, "vm pagequeue", MTX_DEF);
			TAILQ_INIT(&pq->pq_pl);
			pq->pq_cnt = 0;
			pq->pq_name = vm_pq_names[q];
			pq->pq_domain = d;
			pq->pq_index = q;
		}
	if (counter_u64_alloc_table(vm_pq_counters, nitems(vm_pq_counters)) !=
	    0) {
		vm_pagequeue_fini();
		return (ENOMEM);
	}
	return (0);
}

void
vm_pagequeue_fini(void)
{
	int d, q;

	for (d = 0; d < vm_ndomains; d++)
		for (q = 0; q < PQ_COUNT; q++)
			mtx_destroy(&vm_pagequeue_get(d, q)->pq_mutex);
	counter_u64_free_table(vm_pq_counters, nitems(vm_pq_counters));
	md_free(vm_bq);
	vm_bq = NULL;
}
