/*
 * kern_sleepq.c: sleep queues, sleep/wakeup and sleep timeouts.
 *
 * Memory layout.  sleepq_chains[SLEEPQ_CHAINS], one cache line each: a
 * spin lock and the list of sleep queues whose channel hashes there.  A
 * sleep queue in use is lent by its first sleeper; later sleepers park
 * their own queue on its sq_free list.  A woken thread leaves with one:
 * the last one out takes the queue itself.  Invariant, per queue in use:
 * (threads blocked) == 1 + (queues on sq_free).
 *
 * Timeouts.  A timed sleeper is put on its CPU's timeout list (sorted by
 * deadline) under that CPU's timeout lock.  The CPU runs expired entries at
 * its safe points (after each switch and in the idle loop): it pops the
 * entry, remembers the sleep generation, drops the timeout lock, takes the
 * chain lock and wakes the thread only if it still sleeps in that same
 * generation.  Lock order: chain -> timeout -> run queue.
 *
 * Locking key: (s) chain lock; (T) timeout lock; (c) constant.
 */
#include "kern/counter.h"
#include "kern/sleepq.h"
#include "kern/thread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLEEPQ_CHAINS 1024
/* Even channels: sleep chains; odd (TS_WCHAN): turnstile chains. */
#define SLEEPQ_HASH(wc)                                                        \
	(((((wc) >> 6) ^ ((wc) >> 16)) & (SLEEPQ_CHAINS - 1)) +                \
	    ((wc)&1) * SLEEPQ_CHAINS)

struct sleepqueue {
	struct threadq sq_blocked[SLEEPQ_NQUEUES]; /* (s) */
	uint32_t sq_count[SLEEPQ_NQUEUES];	   /* (s) */
	LIST_ENTRY(sleepqueue) sq_hash;		   /* (s) */
	LIST_HEAD(sqfree, sleepqueue) sq_free;	   /* (s) */
	LIST_ENTRY(sleepqueue) sq_freeq;	   /* (s) */
	uintptr_t sq_wchan;			   /* (s) */
};

struct sleepq_chain {
	struct mtx sc_lock;
	LIST_HEAD(sqlist, sleepqueue) sc_queues; /* (s) */
} __aligned(MD_CACHE_LINE);

static struct sleepq_chain *sleepq_chains; /* (c) */
static counter_u64_t sleepq_nwakeups;	   /* threads woken */

static struct sleepq_chain *
sleepq_chain(uintptr_t wchan)
{
	return (&sleepq_chains[SLEEPQ_HASH(wchan)]);
}

int
sleepq_init(void)
{
	static const struct lock_rank ranks[] = {
		{ "sleepq chain", 920, 0 },
		{ "turnstile chain", 930, 0 },
	};
	int error, i;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);

	sleepq_chains = md_aligned_alloc(
	    MD_CACHE_LINE, 2 * SLEEPQ_CHAINS * sizeof(*sleepq_chains));
	if (sleepq_chains == NULL)
		return (ENOMEM);
	memset(sleepq_chains, 0, 2 * SLEEPQ_CHAINS * sizeof(*sleepq_chains));
	for (i = 0; i < 2 * SLEEPQ_CHAINS; i++) {
		mtx_init(&sleepq_chains[i].sc_lock,
		    i < SLEEPQ_CHAINS ? "sleepq chain" : "turnstile chain",
		    MTX_SPIN);
		LIST_INIT(&sleepq_chains[i].sc_queues);
	}
	sleepq_nwakeups = counter_u64_alloc("kern.sched.wakeups",
	    "threads made runnable by wakeups and lock releases");
	if (sleepq_nwakeups == NULL) {
		sleepq_fini();
		return (ENOMEM);
	}
	return (0);
}

void
sleepq_fini(void)
{
	int i;

	if (sleepq_chains == NULL)
		return;
	for (i = 0; i < 2 * SLEEPQ_CHAINS; i++) {
		VM_ASSERT(LIST_EMPTY(&sleepq_chains[i].sc_queues),
		    ("sleepq_fini: chain %d has sleepers", i));
		mtx_destroy(&sleepq_chains[i].sc_lock);
	}
	md_free(sleepq_chains);
	sleepq_chains = NULL;
	if (sleepq_nwakeups != NULL)
		counter_u64_free(sleepq_nwakeups);
	sleepq_nwakeups = NULL;
}

uint64_t
sleepq_wakeups(void)
{
	return (counter_u64_fetch(sleepq_nwakeups));
}

struct sleepqueue *
sleepq_alloc(void)
{
	struct sleepqueue *sq;
	int i;

	sq = md_calloc(1, sizeof(*sq));
	if (sq == NULL)
		return (NULL);
	for (i = 0; i < SLEEPQ_NQUEUES; i++)
		TAILQ_INIT(&sq->sq_blocked[i]);
	LIST_INIT(&sq->sq_free);
	return (sq);
}

void
sleepq_free(struct sleepqueue *sq)
{
	md_free(sq);
}

void
sleepq_lock(const void *wchan)
{
	mtx_lock_spin(&sleepq_chain((uintptr_t)wchan)->sc_lock);
}

void
sleepq_release(const void *wchan)
{
	mtx_unlock_spin(&sleepq_chain((uintptr_t)wchan)->sc_lock);
}

/* The sleep queue of `wchan', or NULL.  Chain lock held. */
static struct sleepqueue *
sleepq_lookup(uintptr_t wchan)
{
	struct sleepq_chain *sc = sleepq_chain(wchan);
	struct sleepqueue *sq;

	LIST_FOREACH (sq, &sc->sc_queues, sq_hash)
		if (sq->sq_wchan == wchan)
			return (sq);
	return (NULL);
}

/*
 * Queues curthread on `wchan' (sub-queue `queue') and arms a timeout of
 * `timo_ns' if non-zero.  The caller holds the chain lock and calls
 * sleepq_wait() next.
 */
void
sleepq_add(const void *wchan, const char *wmesg, int queue, uint64_t timo_ns)
{
	struct thread *td = curthread;
	struct sleepq_chain *sc = sleepq_chain((uintptr_t)wchan);
	struct sleepqueue *sq;

	VM_ASSERT(queue >= 0 && queue < SLEEPQ_NQUEUES,
	    ("sleepq_add: queue %d", queue));
	VM_ASSERT(td->td_sleepqueue != NULL,
	    ("sleepq_add: thread %s has no sleep queue", td->td_name));
	VM_ASSERT((td->td_flags & TDF_IDLE) == 0,
	    ("sleepq_add: idle thread of CPU %d sleeps", curcpu));
	sq = sleepq_lookup((uintptr_t)wchan);
	if (sq == NULL) {
		sq = td->td_sleepqueue;
		sq->sq_wchan = (uintptr_t)wchan;
		LIST_INSERT_HEAD(&sc->sc_queues, sq, sq_hash);
	} else
		LIST_INSERT_HEAD(&sq->sq_free, td->td_sleepqueue, sq_freeq);
	td->td_sleepqueue = NULL;
	TAILQ_INSERT_TAIL(&sq->sq_blocked[queue], td, td_slpq);
	sq->sq_count[queue]++;
	td->td_sqqueue = queue;
	td->td_wmesg = wmesg;
	td->td_timedout = false;
	atomic_store_ptr(&td->td_wchan, (uintptr_t)wchan);
	atomic_store_64(&td->td_slpgen, atomic_load_64(&td->td_slpgen) + 1);
	if (timo_ns != 0)
		timeout_add(td, md_nanotime() + timo_ns);
}

/*
 * Blocks curthread, queued by sleepq_add(); drops the chain lock.
 * Returns 0 when woken, EWOULDBLOCK when the timeout fired.
 */
int
sleepq_wait(void)
{
	struct thread *td = curthread;
	uintptr_t wchan = atomic_load_ptr(&td->td_wchan);

	/*
	 * Blocking on a lock (a turnstile channel, TS_WCHAN) is not
	 * sleeping: a thread holding a mutex may block on another lock, as
	 * on FreeBSD's turnstiles (the order checker vets the pair, and
	 * refuses a sleepable lock under a non-sleepable one).
	 */
	if ((wchan & 1) == 0)
		witness_assert_nosleep("sleepq_wait");
	atomic_store_int(&td->td_state, TDS_SLEEPING);
	sleepq_release((const void *)wchan);
	sched_switch();
	return (td->td_timedout ? EWOULDBLOCK : 0);
}

/*
 * Takes `td' off `sq', giving it a sleep queue back, and disarms its
 * timeout.  Chain lock held.
 */
static void
sleepq_unlink(struct sleepqueue *sq, struct thread *td)
{
	int q = td->td_sqqueue;

	TAILQ_REMOVE(&sq->sq_blocked[q], td, td_slpq);
	sq->sq_count[q]--;
	if (LIST_EMPTY(&sq->sq_free)) {
		/* Last sleeper: it takes the queue itself. */
		VM_ASSERT(sq->sq_count[0] == 0 && sq->sq_count[1] == 0,
		    ("sleepq_unlink: sq %p counts %u %u", (void *)sq,
			sq->sq_count[0], sq->sq_count[1]));
		LIST_REMOVE(sq, sq_hash);
		sq->sq_wchan = 0;
		td->td_sleepqueue = sq;
	} else {
		td->td_sleepqueue = LIST_FIRST(&sq->sq_free);
		LIST_REMOVE(td->td_sleepqueue, sq_freeq);
	}
	atomic_store_ptr(&td->td_wchan, 0);
	timeout_remove(td);
}

/* Takes `td' off `sq' and makes it runnable.  Chain lock held. */
static void
sleepq_resume_thread(struct sleepqueue *sq, struct thread *td)
{
	sleepq_unlink(sq, td);
	counter_u64_add(sleepq_nwakeups, 1);
	sched_setrunnable(td);
}

/* Wakes the oldest sleeper of sub-queue `queue'.  Chain lock held. */
int
sleepq_signal(const void *wchan, int queue)
{
	struct sleepqueue *sq = sleepq_lookup((uintptr_t)wchan);
	struct thread *td;

	if (sq == NULL || (td = TAILQ_FIRST(&sq->sq_blocked[queue])) == NULL)
		return (0);
	sleepq_resume_thread(sq, td);
	return (1);
}

/* Wakes every sleeper of sub-queue `queue'.  Chain lock held. */
int
sleepq_broadcast(const void *wchan, int queue)
{
	struct sleepqueue *sq = sleepq_lookup((uintptr_t)wchan);
	struct thread *td;
	int i, n;

	if (sq == NULL)
		return (0);
	/*
	 * The last thread woken may take sq itself and, runnable at once,
	 * lend it to another channel under another chain lock: count the
	 * sleepers first and never touch sq after the last wakeup.
	 */
	n = (int)sq->sq_count[queue];
	for (i = 0; i < n; i++) {
		td = TAILQ_FIRST(&sq->sq_blocked[queue]);
		sleepq_resume_thread(sq, td);
	}
	return (n);
}

uint32_t
sleepq_count(const void *wchan, int queue)
{
	struct sleepqueue *sq = sleepq_lookup((uintptr_t)wchan);

	return (sq == NULL ? 0 : sq->sq_count[queue]);
}

/* The oldest sleeper of sub-queue `queue', or NULL.  Chain lock held. */
struct thread *
sleepq_first(const void *wchan, int queue)
{
	struct sleepqueue *sq = sleepq_lookup((uintptr_t)wchan);

	return (sq == NULL ? NULL : TAILQ_FIRST(&sq->sq_blocked[queue]));
}

int
msleep(const void *chan, struct lock_object *interlock, int flags,
    const char *wmesg, uint64_t timo_ns)
{
	struct thread *td = curthread;
	uintptr_t how = 0;
	int rv;

	sleepq_lock(chan);
	if (interlock != NULL)
		how = interlock->lo_class->lc_unlock(interlock);
	sleepq_add(chan, wmesg, 0, timo_ns);
	if ((flags & PCATCH) != 0) {
		atomic_store_int(&td->td_sintr, 1);
		td->td_intrwoken = false;
		/* The sleeper's half of the pairing (thread_interrupt()). */
		atomic_thread_fence_seq_cst();
		if (atomic_load_int(&td->td_intr) != 0) {
			/* Queued but not asleep: just leave again. */
			sleepq_unlink(sleepq_lookup((uintptr_t)chan), td);
			sleepq_release(chan);
			rv = EINTR;
			goto out;
		}
	}
	rv = sleepq_wait();
	if ((flags & PCATCH) != 0 && td->td_intrwoken)
		rv = EINTR;
out:
	atomic_store_int(&td->td_sintr, 0);
	if (interlock != NULL && (flags & PDROP) == 0)
		interlock->lo_class->lc_lock(interlock, how);
	return (rv);
}

void
thread_interrupt(struct thread *td)
{
	struct sleepqueue *sq;
	uintptr_t wchan;

	atomic_store_int(&td->td_intr, 1);
	/* The interrupter's half: td_intr before td_wchan. */
	atomic_thread_fence_seq_cst();
	wchan = atomic_load_ptr(&td->td_wchan);
	if (wchan == 0 || (wchan & 1) != 0)
		return;
	sleepq_lock((const void *)wchan);
	/*
	 * The sleeper released the chain lock in sleepq_wait() (or has not
	 * queued yet, or left): it is asleep on wchan now only if its
	 * channel still is wchan and its sleep is interruptible.
	 */
	if (atomic_load_ptr(&td->td_wchan) == wchan &&
	    atomic_load_int(&td->td_sintr) != 0 &&
	    (sq = sleepq_lookup(wchan)) != NULL) {
		td->td_intrwoken = true;
		sleepq_resume_thread(sq, td);
	}
	sleepq_release((const void *)wchan);
}

void
thread_interrupt_clear(void)
{
	atomic_store_int(&curthread->td_intr, 0);
}

void
wakeup(const void *chan)
{
	sleepq_lock(chan);
	(void)sleepq_broadcast(chan, 0);
	sleepq_release(chan);
}

void
wakeup_one(const void *chan)
{
	sleepq_lock(chan);
	(void)sleepq_signal(chan, 0);
	sleepq_release(chan);
}

void
pause_ns(const char *wmesg, uint64_t ns)
{
	struct thread *td = curthread;

	/* Nobody wakes this channel: only the timeout ends the sleep. */
	(void)msleep(&td->td_timo, NULL, 0, wmesg, ns == 0 ? 1 : ns);
}

/*
 * Timeouts.
 */
static void
timeout_update_next(struct pcpu *pc)
{
	struct thread *first = TAILQ_FIRST(&pc->pc_timoq);

	atomic_store_64(&pc->pc_timonext, first == NULL ? 0 : first->td_timo);
}

/* Arms curthread's timeout on this CPU.  Chain lock held. */
void
timeout_add(struct thread *td, uint64_t deadline)
{
	struct pcpu *pc = curpcpu_get();
	struct thread *t;

	mtx_lock_spin(&pc->pc_timolock);
	td->td_timo = deadline;
	TAILQ_FOREACH (t, &pc->pc_timoq, td_timoq)
		if (t->td_timo > deadline)
			break;
	if (t == NULL)
		TAILQ_INSERT_TAIL(&pc->pc_timoq, td, td_timoq);
	else {
		/* Insert before t: after its predecessor, or at the head. */
		if (t == TAILQ_FIRST(&pc->pc_timoq))
			TAILQ_INSERT_HEAD(&pc->pc_timoq, td, td_timoq);
		else {
			td->td_timoq.tqe_next = t;
			td->td_timoq.tqe_prevp = t->td_timoq.tqe_prevp;
			*t->td_timoq.tqe_prevp = td;
			t->td_timoq.tqe_prevp = &td->td_timoq.tqe_next;
		}
	}
	atomic_store_int(&td->td_timocpu, (uint32_t)pc->pc_cpuid + 1);
	timeout_update_next(pc);
	mtx_unlock_spin(&pc->pc_timolock);
}

/* Disarms td's timeout, if armed.  Chain lock of td's channel held. */
void
timeout_remove(struct thread *td)
{
	uint32_t c = atomic_load_int(&td->td_timocpu);
	struct pcpu *pc;

	if (c == 0)
		return;
	pc = &kern_pcpu[c - 1];
	mtx_lock_spin(&pc->pc_timolock);
	if (atomic_load_int(&td->td_timocpu) == c) {
		TAILQ_REMOVE(&pc->pc_timoq, td, td_timoq);
		atomic_store_int(&td->td_timocpu, 0);
		timeout_update_next(pc);
	}
	mtx_unlock_spin(&pc->pc_timolock);
}

/* Fires the expired timeouts of `pc'.  No locks held; pc is curpcpu. */
void
timeout_run(struct pcpu *pc)
{
	struct thread *td;
	struct sleepqueue *sq;
	uintptr_t wchan;
	uint64_t gen, now, next;

	next = atomic_load_64(&pc->pc_timonext);
	if (next == 0 || next > (now = md_nanotime()))
		return;
	for (;;) {
		mtx_lock_spin(&pc->pc_timolock);
		td = TAILQ_FIRST(&pc->pc_timoq);
		if (td == NULL || td->td_timo > now) {
			mtx_unlock_spin(&pc->pc_timolock);
			return;
		}
		TAILQ_REMOVE(&pc->pc_timoq, td, td_timoq);
		atomic_store_int(&td->td_timocpu, 0);
		gen = atomic_load_64(&td->td_slpgen);
		wchan = atomic_load_ptr(&td->td_wchan);
		timeout_update_next(pc);
		mtx_unlock_spin(&pc->pc_timolock);

		/* Wake it only if it still sleeps the sleep we timed. */
		sleepq_lock((const void *)wchan);
		if (wchan != 0 && atomic_load_ptr(&td->td_wchan) == wchan &&
		    atomic_load_64(&td->td_slpgen) == gen &&
		    atomic_load_int(&td->td_state) == TDS_SLEEPING) {
			sq = sleepq_lookup(wchan);
			VM_ASSERT(sq != NULL,
			    ("timeout_run: %s sleeps on %#lx without a queue",
				td->td_name, (unsigned long)wchan));
			td->td_timedout = true;
			sleepq_resume_thread(sq, td);
		}
		sleepq_release((const void *)wchan);
	}
}
