/*
 * kern_mutex.c: spin and adaptive sleep mutexes, and the queued FIFO
 * mutex (qmtx).  See mutex.h for the contracts.
 *
 * Sleep mutex slow path, in steps:
 *	1. If the lock is free (MTX_CONTESTED may be set), take it, keeping
 *	   MTX_CONTESTED: other waiters may still sleep.
 *	2. If the owner is running on a CPU, spin: it will release soon
 *	   (holders of sleep mutexes never sleep).
 *	3. Otherwise take the sleep-queue chain lock of the mutex, set
 *	   MTX_CONTESTED, and sleep; the chain lock makes "set the bit, queue
 *	   ourselves" atomic with respect to the releaser.
 * Release with MTX_CONTESTED set takes the chain lock, leaves the word
 * MTX_CONTESTED (more than one sleeper) or MTX_UNOWNED, and wakes one.
 *
 * qmtx release hands over: under the chain lock, the oldest sleeper
 * becomes the owner in the lock word, then it alone is woken.
 */
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"

/* Owner recorded by spin mutexes taken outside kernel threads. */
#define MTX_EXTERNAL ((uintptr_t)16)

static void lock_mtx(struct lock_object *lo, uintptr_t how);
static uintptr_t unlock_mtx(struct lock_object *lo);
static void lock_spin(struct lock_object *lo, uintptr_t how);
static uintptr_t unlock_spin(struct lock_object *lo);
static void lock_qmtx(struct lock_object *lo, uintptr_t how);
static uintptr_t unlock_qmtx(struct lock_object *lo);

const struct lock_class lock_class_mtx_spin = {
	.lc_name = "spin",
	.lc_flags = LC_SPINLOCK,
	.lc_lock = lock_spin,
	.lc_unlock = unlock_spin,
};
const struct lock_class lock_class_mtx_sleep = {
	.lc_name = "mtx",
	.lc_flags = LC_SLEEPLOCK,
	.lc_lock = lock_mtx,
	.lc_unlock = unlock_mtx,
};
const struct lock_class lock_class_qmtx = {
	.lc_name = "qmtx",
	.lc_flags = LC_SLEEPLOCK | LC_SLEEPABLE,
	.lc_lock = lock_qmtx,
	.lc_unlock = unlock_qmtx,
};

#ifdef VM_INVARIANTS
#define WITNESS_CHECK(lo) witness_checkorder(lo)
#define WITNESS_LOCK(lo) witness_lock(lo)
#define WITNESS_UNLOCK(lo) witness_unlock(lo)
#else
#define WITNESS_CHECK(lo) ((void)0)
#define WITNESS_LOCK(lo) ((void)0)
#define WITNESS_UNLOCK(lo) ((void)0)
#endif

static inline struct thread *
mtx_owner_of(uintptr_t v)
{
	return ((struct thread *)(v & ~MTX_FLAGMASK));
}

/* Is `td' running on a CPU now?  td is type-stable; a stale answer is ok. */
static inline bool
thread_is_running(const struct thread *td)
{
	return (kthread_running(td));
}

void
mtx_init(struct mtx *m, const char *name, int opts)
{
	lock_init(&m->lock_object,
	    (opts & MTX_SPIN) != 0 ? &lock_class_mtx_spin
				   : &lock_class_mtx_sleep,
	    name, (opts & MTX_NOPROFILE) != 0 ? LO_NOPROFILE : 0);
	atomic_store_ptr(&m->mtx_lock, MTX_UNOWNED);
}

void
mtx_destroy(struct mtx *m)
{
	VM_ASSERT(atomic_load_ptr(&m->mtx_lock) == MTX_UNOWNED,
	    ("mtx_destroy: %s held (%#lx)", m->lock_object.lo_name,
		(unsigned long)m->mtx_lock));
	lock_destroy(&m->lock_object);
}

bool
mtx_owned(const struct mtx *m)
{
	struct thread *td = curthread;
	uintptr_t v = atomic_load_ptr((uintptr_t *)&m->mtx_lock);

	return (
	    (v & ~MTX_FLAGMASK) == (td != NULL ? (uintptr_t)td : MTX_EXTERNAL));
}

static __attribute__((noinline)) void
mtx_lock_sleep(struct mtx *m, struct thread *td)
{
	uint64_t start = md_nanotime();
	struct lock_delay ld;
	uintptr_t v;

	lock_delay_init(&ld);
	for (;;) {
		/* Step 1. */
		v = atomic_load_ptr(&m->mtx_lock);
		if (mtx_owner_of(v) == NULL) {
			if (atomic_fcmpset_acq_ptr(&m->mtx_lock, &v,
				(uintptr_t)td | (v & MTX_CONTESTED)))
				break;
			continue;
		}
		VM_ASSERT(mtx_owner_of(v) != td,
		    ("mtx_lock: recursion on %s by %s", m->lock_object.lo_name,
			td->td_name));
		/* Step 2. */
		if (thread_is_running(mtx_owner_of(v))) {
			lock_delay(&ld, &m->mtx_lock);
			continue;
		}
		/* Step 3. */
		sleepq_lock(TS_WCHAN(m));
		v = atomic_load_ptr(&m->mtx_lock);
		if (mtx_owner_of(v) == NULL ||
		    ((v & MTX_CONTESTED) == 0 &&
			!atomic_cmpset_acq_ptr(
			    &m->mtx_lock, v, v | MTX_CONTESTED)) ||
		    thread_is_running(mtx_owner_of(v))) {
			sleepq_release(TS_WCHAN(m));
			continue;
		}
		sleepq_add(TS_WCHAN(m), m->lock_object.lo_name, 0, 0);
		(void)sleepq_wait();
		lock_delay_init(&ld);
	}
	lock_prof_contended(&m->lock_object, start, true);
}

void
mtx_lock(struct mtx *m)
{
	struct thread *td = curthread;

	VM_ASSERT(m->lock_object.lo_class == &lock_class_mtx_sleep,
	    ("mtx_lock: %s is a spin mutex", m->lock_object.lo_name));
	WITNESS_CHECK(&m->lock_object);
	if (!atomic_cmpset_acq_ptr(&m->mtx_lock, MTX_UNOWNED, (uintptr_t)td))
		mtx_lock_sleep(m, td);
	lock_prof_acquired(&m->lock_object);
	TD_NOSLEEP_INC(td);
	WITNESS_LOCK(&m->lock_object);
}

bool
mtx_trylock(struct mtx *m)
{
	struct thread *td = curthread;

	if (!atomic_cmpset_acq_ptr(&m->mtx_lock, MTX_UNOWNED, (uintptr_t)td))
		return (false);
	lock_prof_acquired(&m->lock_object);
	TD_NOSLEEP_INC(td);
	WITNESS_LOCK(&m->lock_object);
	return (true);
}

static __attribute__((noinline)) void
mtx_unlock_sleep(struct mtx *m)
{
	uint32_t n;

	sleepq_lock(TS_WCHAN(m));
	n = sleepq_count(TS_WCHAN(m), 0);
	/* Release: the critical section is done before the lock is free. */
	atomic_store_rel_ptr(&m->mtx_lock, n > 1 ? MTX_CONTESTED : MTX_UNOWNED);
	if (n > 0)
		(void)sleepq_signal(TS_WCHAN(m), 0);
	sleepq_release(TS_WCHAN(m));
}

void
mtx_unlock(struct mtx *m)
{
	struct thread *td = curthread;

	VM_ASSERT(mtx_owner_of(atomic_load_ptr(&m->mtx_lock)) == td,
	    ("mtx_unlock: %s not owned by %s", m->lock_object.lo_name,
		td->td_name));
	lock_prof_release(&m->lock_object);
	TD_NOSLEEP_DEC(td);
	WITNESS_UNLOCK(&m->lock_object);
	if (!atomic_cmpset_rel_ptr(&m->mtx_lock, (uintptr_t)td, MTX_UNOWNED))
		mtx_unlock_sleep(m);
}

static __attribute__((noinline)) void
mtx_lock_spin_slow(struct mtx *m, uintptr_t me)
{
	uint64_t start = md_nanotime();
	struct lock_delay ld;
	uintptr_t v;

	lock_delay_init(&ld);
	for (;;) {
		v = atomic_load_ptr(&m->mtx_lock);
		if (v == MTX_UNOWNED &&
		    atomic_cmpset_acq_ptr(&m->mtx_lock, v, me))
			break;
		lock_delay(&ld, &m->mtx_lock);
	}
	lock_prof_contended(&m->lock_object, start, true);
}

void
mtx_lock_spin(struct mtx *m)
{
	struct thread *td = curthread;
	uintptr_t me = td != NULL ? (uintptr_t)td : MTX_EXTERNAL;

	VM_ASSERT(m->lock_object.lo_class == &lock_class_mtx_spin,
	    ("mtx_lock_spin: %s is not a spin mutex", m->lock_object.lo_name));
	WITNESS_CHECK(&m->lock_object);
	md_intr_disable();
	if (!atomic_cmpset_acq_ptr(&m->mtx_lock, MTX_UNOWNED, me))
		mtx_lock_spin_slow(m, me);
	lock_prof_acquired(&m->lock_object);
	WITNESS_LOCK(&m->lock_object);
}

void
mtx_unlock_spin(struct mtx *m)
{
	lock_prof_release(&m->lock_object);
	WITNESS_UNLOCK(&m->lock_object);
	/* Release: the critical section is done before the lock is free. */
	atomic_store_rel_ptr(&m->mtx_lock, MTX_UNOWNED);
	md_intr_enable();
}

static void
lock_mtx(struct lock_object *lo, uintptr_t how)
{
	(void)how;
	mtx_lock((struct mtx *)lo);
}

static uintptr_t
unlock_mtx(struct lock_object *lo)
{
	mtx_unlock((struct mtx *)lo);
	return (0);
}

static void
lock_spin(struct lock_object *lo, uintptr_t how)
{
	(void)how;
	mtx_lock_spin((struct mtx *)lo);
}

static uintptr_t
unlock_spin(struct lock_object *lo)
{
	mtx_unlock_spin((struct mtx *)lo);
	return (0);
}

/*
 * Queued FIFO mutex.
 */
void
qmtx_init(struct qmtx *q, const char *name)
{
	lock_init(&q->lock_object, &lock_class_qmtx, name, 0);
	atomic_store_ptr(&q->qm_lock, MTX_UNOWNED);
}

void
qmtx_destroy(struct qmtx *q)
{
	VM_ASSERT(atomic_load_ptr(&q->qm_lock) == MTX_UNOWNED,
	    ("qmtx_destroy: %s held", q->lock_object.lo_name));
	lock_destroy(&q->lock_object);
}

bool
qmtx_owned(const struct qmtx *q)
{
	return (mtx_owner_of(atomic_load_ptr((uintptr_t *)&q->qm_lock)) ==
	    curthread);
}

static __attribute__((noinline)) void
qmtx_lock_slow(struct qmtx *q, struct thread *td)
{
	uint64_t start = md_nanotime();
	uintptr_t v;

	for (;;) {
		sleepq_lock(TS_WCHAN(q));
		v = atomic_load_ptr(&q->qm_lock);
		if (v == MTX_UNOWNED) {
			if (atomic_cmpset_acq_ptr(
				&q->qm_lock, v, (uintptr_t)td)) {
				sleepq_release(TS_WCHAN(q));
				break;
			}
			sleepq_release(TS_WCHAN(q));
			continue;
		}
		VM_ASSERT(mtx_owner_of(v) != td,
		    ("qmtx_lock: recursion on %s", q->lock_object.lo_name));
		if ((v & MTX_CONTESTED) == 0 &&
		    !atomic_cmpset_acq_ptr(&q->qm_lock, v, v | MTX_CONTESTED)) {
			sleepq_release(TS_WCHAN(q));
			continue;
		}
		sleepq_add(TS_WCHAN(q), q->lock_object.lo_name, 0, 0);
		(void)sleepq_wait();
		/* Acquire: the releaser handed us the lock before waking us. */
		v = atomic_load_acq_ptr(&q->qm_lock);
		VM_ASSERT(mtx_owner_of(v) == td,
		    ("qmtx_lock: %s woken without the lock (%#lx)", td->td_name,
			(unsigned long)v));
		break;
	}
	lock_prof_contended(&q->lock_object, start, true);
}

void
qmtx_lock(struct qmtx *q)
{
	struct thread *td = curthread;

	WITNESS_CHECK(&q->lock_object);
	if (!atomic_cmpset_acq_ptr(&q->qm_lock, MTX_UNOWNED, (uintptr_t)td))
		qmtx_lock_slow(q, td);
	lock_prof_acquired(&q->lock_object);
	WITNESS_LOCK(&q->lock_object);
}

void
qmtx_unlock(struct qmtx *q)
{
	struct thread *td = curthread, *next;
	uint32_t n;

	VM_ASSERT(qmtx_owned(q),
	    ("qmtx_unlock: %s not owned by %s", q->lock_object.lo_name,
		td->td_name));
	lock_prof_release(&q->lock_object);
	WITNESS_UNLOCK(&q->lock_object);
	if (atomic_cmpset_rel_ptr(&q->qm_lock, (uintptr_t)td, MTX_UNOWNED))
		return;
	sleepq_lock(TS_WCHAN(q));
	n = sleepq_count(TS_WCHAN(q), 0);
	next = sleepq_first(TS_WCHAN(q), 0);
	/* Release: hand over; the new owner reads the word with acquire. */
	atomic_store_rel_ptr(&q->qm_lock,
	    next == NULL ? MTX_UNOWNED
			 : (uintptr_t)next | (n > 1 ? MTX_CONTESTED : 0));
	if (next != NULL)
		(void)sleepq_signal(TS_WCHAN(q), 0);
	sleepq_release(TS_WCHAN(q));
}

static void
lock_qmtx(struct lock_object *lo, uintptr_t how)
{
	(void)how;
	qmtx_lock((struct qmtx *)lo);
}

static uintptr_t
unlock_qmtx(struct lock_object *lo)
{
	qmtx_unlock((struct qmtx *)lo);
	return (0);
}
