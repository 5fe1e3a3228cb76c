/*
 * vm_pagequeue.h: the page queues and their per-CPU batch queues.
 *
 * Each domain has four page queues: inactive, active, laundry and
 * unswappable.  A managed page of an object is on at most one of them;
 * the page daemon (vm_pageout.c) scans them to find pages to reclaim.
 *
 * Logical and physical state.  Where a page belongs is its logical state:
 * the queue index in the page's atomic queue-state word (m->a, see
 * vm_page.h), changed by compare-and-swap without any lock.  Whether it is
 * linked on that queue's list is its physical state: PGA_ENQUEUED, set
 * and cleared only by the holder of that queue's lock, together with the
 * list linkage (m->plinks).  A queue operation (enqueue, requeue, dequeue)
 * first changes the logical state and records the physical work as a
 * flag (PGA_REQUEUE, PGA_REQUEUE_HEAD, PGA_DEQUEUE); then the page is put
 * in the current CPU's batch queue for (domain, queue).  When the batch is
 * full (vm.batchqueue.size entries), or half full and the queue lock is
 * free (vm.batchqueue.trylock=1), the CPU takes the queue lock once and
 * applies the whole batch.  vm.batchqueue.size=0 applies every operation
 * at once under the lock, as before batching.
 *
 * The protocol, as invariants:
 *	1. PGA_ENQUEUED implies the page is on the list of queue a.queue.
 *	   So a.queue may change while PGA_ENQUEUED is set only under that
 *	   queue's lock: moving a physically queued page to another queue
 *	   dequeues it at once (vm_page_mvqueue()); only enqueues, requeues
 *	   and dequeues within one queue are deferred.
 *	2. A batch entry is a hint: applying it re-reads the page's word
 *	   and does what the word asks for queue `q' only if a.queue is
 *	   still `q' and an operation flag is set.  Stale entries (the page
 *	   moved, was freed and reused) do nothing, and are harmless because
 *	   pages are never freed to the host (vm_page.h).
 *	3. A page must be logically dequeued before it is freed
 *	   (vm_page_free_prep(): queue PQ_NONE, or PGA_DEQUEUE set), and
 *	   the allocator never hands out a page that is still physically
 *	   queued: a page freed while PGA_ENQUEUED is marked
 *	   PGA_FREE_DEFERRED and the batch entry that dequeues it also
 *	   frees it, after dropping the queue lock.  Until then the page
 *	   counts as allocated (vm_page_check()).
 *	4. Logical and physical state differ only for pages that have a
 *	   batch entry pending or that a scan holds: at most
 *	   CPUs x domains x queues x vm.batchqueue.size + scan batches.
 *	   vm_pagequeue_check() verifies invariant 1 and this bound, and
 *	   that after vm_pagequeue_drain_all() the states match exactly.
 *	5. The linkage of a page that is to leave a queue's list is
 *	   unlinked before the word that lets it go is published (the
 *	   fcmpset clearing PGA_ENQUEUED or moving a.queue): from then on
 *	   another queue's batch, under that queue's lock, may link it
 *	   there.  (Found by TSan: unlinking after the publish raced with the
 *	   next queue's insert at 64 CPUs.)
 *
 * Scans.  The page daemon takes a batch of pages off a queue under one
 * lock hold (vm_pagequeue_collect()): it clears PGA_ENQUEUED and unlinks
 * them, leaving a.queue as it was, then examines each page without the
 * queue lock and puts the survivors back with vm_pagequeue_reinsert() (one
 * lock hold).  A marker page (never freed, flag PG_MARKER) keeps the scan's
 * place in the queue while the lock is dropped.
 *
 * Statistics: vm.pagequeue.ops counts page operations requested (each
 * enqueue, requeue, move or dequeue of one page: what batching defers),
 * vm.pagequeue.scan_ops the pages scans take off and put back (a batch per
 * lock hold, with or without batch queues), vm.pagequeue.lock_acq_ops the
 * queue-lock acquisitions that applied page operations and
 * vm.pagequeue.lock_acq all of them; the lock profile ("vm pagequeue")
 * has their contention and wait.
 *
 * Locking key:
 *	(c) constant after boot
 *	(q) the queue's pq_mutex
 *	(a) atomic
 *	(x) per-CPU: the owning CPU's threads, which do not sleep while
 *	    they change their batch
 */
#ifndef VMLAB_VM_PAGEQUEUE_H
#define VMLAB_VM_PAGEQUEUE_H

#include "kern/mutex.h"
#include "vm/vm_page.h"

#include <stdbool.h>
#include <stdint.h>

#define VM_BATCHQUEUE_MAX 63

struct vm_pagequeue {
	struct mtx pq_mutex; /* (c) */
	struct pglist pq_pl; /* (q) the queue */
	uint64_t pq_cnt;     /* (q,a) pages physically on pq_pl */
	const char *pq_name; /* (c) */
	int pq_domain;	     /* (c) */
	int pq_index;	     /* (c) PQ_* */
} __aligned(MD_CACHE_LINE);

struct vm_batchqueue {
	uint32_t bq_cnt; /* (x) entries; written with pcpu_store_32(), so
			    other CPUs may peek (vm_pagequeue_drain_all) */
	struct vm_page *bq_pa[VM_BATCHQUEUE_MAX]; /* (x) */
};

extern struct vm_pagequeue vm_pagequeues[MD_MAXDOMAIN][PQ_COUNT];

static inline struct vm_pagequeue *
vm_pagequeue_get(int domain, int queue)
{
	return (&vm_pagequeues[domain][queue]);
}

static inline uint64_t
vm_pagequeue_count(int domain, int queue)
{
	return (atomic_load_64(&vm_pagequeues[domain][queue].pq_cnt));
}

void vm_pagequeue_lock(struct vm_pagequeue *pq);
void vm_pagequeue_unlock(struct vm_pagequeue *pq);

/*
 * Queue operations on managed pages.  The caller owns the page's identity
 * (object lock or busy); the operations themselves take no lock unless a
 * batch fills up.  Any kernel thread, no spin lock held.
 *
 * vm_page_activate(): onto the active queue (no-op if already there).
 * vm_page_deactivate(): onto the inactive queue's tail; _noreuse: its
 *	head, for pages to be reclaimed first.
 * vm_page_launder(): onto the laundry queue.
 * vm_page_unswappable(): onto the unswappable queue (dirty pages with no
 *	swap space to go to).
 * vm_page_requeue(): to the tail of the page's current queue.
 * vm_page_dequeue_deferred(): logically off its queue now, physically
 *	at the next batch.
 * vm_page_dequeue(): off its queue, physically, before returning.
 */
void vm_page_activate(struct vm_page *m);
void vm_page_deactivate(struct vm_page *m);
void vm_page_deactivate_noreuse(struct vm_page *m);
void vm_page_launder(struct vm_page *m);
void vm_page_unswappable(struct vm_page *m);
void vm_page_requeue(struct vm_page *m);
void vm_page_dequeue_deferred(struct vm_page *m);
void vm_page_dequeue(struct vm_page *m);

/*
 * The free side of rule 3: logically dequeues m; returns true if the
 * caller frees m now, false if a batch entry will free it.
 */
bool vm_page_free_dequeue(struct vm_page *m);

/* The access bit, set by workloads: one plain load when already set. */
static inline void
vm_page_reference(struct vm_page *m)
{
	if ((atomic_load_int(&m->a.bits) & PGA_REFERENCED) == 0)
		atomic_set_int(&m->a.bits, PGA_REFERENCED);
}

/* Compare-and-swap of the queue-state word (full barrier). */
static inline bool
vm_page_astate_fcmpset(
    struct vm_page *m, union vm_page_astate *old, union vm_page_astate new)
{
	return (atomic_fcmpset_int(&m->a.bits, &old->bits, new.bits));
}

static inline union vm_page_astate
vm_page_astate_load(const struct vm_page *m)
{
	union vm_page_astate a;

	a.bits = atomic_load_int(&m->a.bits);
	return (a);
}

/*
 * Scans (the page daemon).  vm_pagequeue_collect(): with the queue lock
 * held, takes up to `max' physically queued pages without a pending
 * operation from after `marker' (or the head when marker is NULL) off the
 * list into ma[], leaving the marker after the last one examined; returns
 * how many.  vm_pagequeue_reinsert(): puts back those of ma[] (NULL
 * entries skipped) whose word is still what the scan left (queue
 * unchanged, not enqueued, no operation), at the tail, under one lock
 * hold.
 */
int vm_pagequeue_collect_locked(struct vm_pagequeue *pq, struct vm_page *marker,
    struct vm_page **ma, int max);
void vm_pagequeue_reinsert(struct vm_pagequeue *pq, struct vm_page **ma, int n);
/*
 * Logical move of a page that a scan took off its queue (not enqueued):
 * to `queue' with the given operation, if the word is still `old'.
 */
bool vm_page_scan_move(
    struct vm_page *m, union vm_page_astate old, int queue, uint16_t op);

/* A marker page for a scan (PG_MARKER, never on a free list). */
void vm_page_init_marker(struct vm_page *marker, int queue);

/*
 * Applies the current CPU's batches (all domains and queues); returns the
 * entries applied.
 */
uint64_t vm_pagequeue_flush_local(void);
/*
 * Applies every CPU's batches (runs a thread on each CPU; may sleep, so
 * no lock held); returns the entries applied.  A CPU for which no thread
 * can be created (no memory) keeps its batches until its next flush.
 */
uint64_t vm_pagequeue_drain_all(void);

/*
 * vm.batchqueue.size and .trylock may change at run time (sysctl_set():
 * scenarios compare them on one machine); the handler applies every
 * batch, then switches.
 */

/*
 * Totals for reports: page operations requested (enqueue, requeue, move,
 * dequeue: what the batches defer), pages moved by scans, queue-lock
 * acquisitions in all and those that applied page operations.
 */
uint64_t vm_pagequeue_ops(void);
uint64_t vm_pagequeue_scan_ops(void);
uint64_t vm_pagequeue_lock_acq(void);
uint64_t vm_pagequeue_lock_acq_ops(void);

/*
 * Invariants 1 and 4 (and exact agreement when `quiesced', after
 * vm_pagequeue_drain_all() with no queue operation in flight).  Walks
 * every queue and the page array; returns the number of violations.
 */
int vm_pagequeue_check(bool quiesced);

int vm_pagequeue_tunables(void);
int vm_pagequeue_init(void);
void vm_pagequeue_fini(void);

#endif /* !VMLAB_VM_PAGEQUEUE_H */
