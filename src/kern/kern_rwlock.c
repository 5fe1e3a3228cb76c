/*
 * kern_rwlock.c: rw and sx locks, one implementation parameterised by
 * whether holders may sleep.  See rwlock.h for the encoding and policy.
 *
 * Sleep queue sub-queues: RWQ_WRITERS (0) and RWQ_READERS (1).  Waiter
 * bits are set and cleared only under the lock's sleep-queue chain lock,
 * together with queueing or waking, so a releaser that sees a bit under
 * the chain lock sees the sleepers it stands for.
 */
#include "kern/rwlock.h"
#include "kern/sleepq.h"
#include "kern/thread.h"

#define RWQ_WRITERS 0
#define RWQ_READERS 1

#define RW_READERS(v) ((v) >> 4)
#define RW_OWNER(v) ((struct thread *)((v) & ~RW_FLAGS))

static void lock_rw(struct lock_object *lo, uintptr_t how);
static uintptr_t unlock_rw(struct lock_object *lo);
static void lock_sx(struct lock_object *lo, uintptr_t how);
static uintptr_t unlock_sx(struct lock_object *lo);

const struct lock_class lock_class_rw = {
	.lc_name = "rw",
	.lc_flags = LC_SLEEPLOCK,
	.lc_lock = lock_rw,
	.lc_unlock = unlock_rw,
};
const struct lock_class lock_class_sx = {
	.lc_name = "sx",
	.lc_flags = LC_SLEEPLOCK | LC_SLEEPABLE,
	.lc_lock = lock_sx,
	.lc_unlock = unlock_sx,
};

static bool
rwl_sleepable(const struct lock_object *lo)
{
	return ((lo->lo_class->lc_flags & LC_SLEEPABLE) != 0);
}

static bool
rwl_owner_running(uintptr_t v)
{
	struct thread *owner;

	if ((v & RW_READ) != 0)
		return (false);
	owner = RW_OWNER(v);
	return (kthread_running(owner));
}

/* May a reader enter given word v? */
static bool
rwl_can_read(uintptr_t v, const struct thread *td, bool woken)
{
	return ((v & RW_READ) != 0 &&
	    ((v & RW_WWAIT) == 0 || RW_READERS(v) == 0 || td->td_rlocks > 0 ||
		woken));
}

static void
rwl_rlock(struct lock_object *lo, uintptr_t *word)
{
	struct thread *td = curthread;
	uint64_t start = 0;
	struct lock_delay ld;
	bool woken = false;
	uintptr_t v;

	lock_delay_init(&ld);
	for (;;) {
		v = atomic_load_ptr(word);
		if (rwl_can_read(v, td, woken)) {
			if (atomic_fcmpset_acq_ptr(word, &v, v + RW_ONE_READER))
				break;
			continue;
		}
		if (start == 0)
			start = md_nanotime();
		if (!rwl_sleepable(lo) && rwl_owner_running(v)) {
			lock_delay(&ld, word);
			continue;
		}
		sleepq_lock(TS_WCHAN(lo));
		v = atomic_load_ptr(word);
		if (rwl_can_read(v, td, woken) ||
		    ((v & RW_RWAIT) == 0 &&
			!atomic_cmpset_acq_ptr(word, v, v | RW_RWAIT))) {
			sleepq_release(TS_WCHAN(lo));
			continue;
		}
		sleepq_add(TS_WCHAN(lo), lo->lo_name, RWQ_READERS, 0);
		(void)sleepq_wait();
		woken = true;
	}
	if (start != 0)
		lock_prof_contended(lo, start, false);
	lock_prof_acquired_shared(lo);
	td->td_rlocks++;
}

static void
rwl_runlock(struct lock_object *lo, uintptr_t *word)
{
	uintptr_t v, new;
	uint32_t nw, nr;

	curthread->td_rlocks--;
	for (;;) {
		v = atomic_load_ptr(word);
		VM_ASSERT((v & RW_READ) != 0 && RW_READERS(v) > 0,
		    ("rw_runlock: %s not read-locked (%#lx)", lo->lo_name,
			(unsigned long)v));
		if (RW_READERS(v) > 1 || (v & (RW_RWAIT | RW_WWAIT)) == 0) {
			/* Release: our reads are done before we leave. */
			if (atomic_cmpset_rel_ptr(word, v, v - RW_ONE_READER))
				return;
			continue;
		}
		/* Last reader with sleepers. */
		sleepq_lock(TS_WCHAN(lo));
		nw = sleepq_count(TS_WCHAN(lo), RWQ_WRITERS);
		nr = sleepq_count(TS_WCHAN(lo), RWQ_READERS);
		new = RW_UNLOCKED;
		if (nw > 0)
			new |=
			    (nw > 1 ? RW_WWAIT : 0) | (nr > 0 ? RW_RWAIT : 0);
		if (!atomic_cmpset_rel_ptr(word, v, new)) {
			sleepq_release(TS_WCHAN(lo));
			continue;
		}
		if (nw > 0)
			(void)sleepq_signal(TS_WCHAN(lo), RWQ_WRITERS);
		else if (nr > 0)
			(void)sleepq_broadcast(TS_WCHAN(lo), RWQ_READERS);
		sleepq_release(TS_WCHAN(lo));
		return;
	}
}

static void
rwl_wlock(struct lock_object *lo, uintptr_t *word)
{
	struct thread *td = curthread;
	struct lock_delay ld;
	uint64_t start;
	uintptr_t v;

	if (atomic_cmpset_acq_ptr(word, RW_UNLOCKED, (uintptr_t)td))
		goto out;
	lock_delay_init(&ld);
	start = md_nanotime();
	for (;;) {
		v = atomic_load_ptr(word);
		if ((v & RW_READ) != 0 && RW_READERS(v) == 0) {
			if (atomic_fcmpset_acq_ptr(word, &v,
				(uintptr_t)td | (v & (RW_RWAIT | RW_WWAIT))))
				break;
			continue;
		}
		VM_ASSERT((v & RW_READ) != 0 || RW_OWNER(v) != td,
		    ("rw_wlock: recursion on %s", lo->lo_name));
		if (!rwl_sleepable(lo) && rwl_owner_running(v)) {
			lock_delay(&ld, word);
			continue;
		}
		sleepq_lock(TS_WCHAN(lo));
		v = atomic_load_ptr(word);
		if (((v & RW_READ) != 0 && RW_READERS(v) == 0) ||
		    ((v & RW_WWAIT) == 0 &&
			!atomic_cmpset_acq_ptr(word, v, v | RW_WWAIT))) {
			sleepq_release(TS_WCHAN(lo));
			continue;
		}
		sleepq_add(TS_WCHAN(lo), lo->lo_name, RWQ_WRITERS, 0);
		(void)sleepq_wait();
	}
	lock_prof_contended(lo, start, true);
out:
	lock_prof_acquired(lo);
}

static void
rwl_wunlock(struct lock_object *lo, uintptr_t *word)
{
	struct thread *td = curthread;
	uintptr_t new;
	uint32_t nw, nr;

	VM_ASSERT(RW_OWNER(atomic_load_ptr(word)) == td &&
		(atomic_load_ptr(word) & RW_READ) == 0,
	    ("rw_wunlock: %s not write-locked by %s", lo->lo_name,
		td->td_name));
	lock_prof_release(lo);
	/* Release: the critical section is done before the lock is free. */
	if (atomic_cmpset_rel_ptr(word, (uintptr_t)td, RW_UNLOCKED))
		return;
	sleepq_lock(TS_WCHAN(lo));
	nw = sleepq_count(TS_WCHAN(lo), RWQ_WRITERS);
	nr = sleepq_count(TS_WCHAN(lo), RWQ_READERS);
	if (nr > 0)
		new = RW_UNLOCKED | (nw > 0 ? RW_WWAIT : 0);
	else
		new = RW_UNLOCKED | (nw > 1 ? RW_WWAIT : 0);
	/* Only we change the word while write-locked: a plain store. */
	atomic_store_rel_ptr(word, new);
	if (nr > 0)
		(void)sleepq_broadcast(TS_WCHAN(lo), RWQ_READERS);
	else if (nw > 0)
		(void)sleepq_signal(TS_WCHAN(lo), RWQ_WRITERS);
	sleepq_release(TS_WCHAN(lo));
}

/*
 * Waiters only set bits in the word while holding the chain lock, and the
 * releaser holds it when it rewrites the word, so the store above cannot
 * lose a bit: a waiter that set a bit before is counted in nw/nr.
 */

void
rw_init(struct rwlock *rw, const char *name)
{
	lock_init(&rw->lock_object, &lock_class_rw, name, 0);
	atomic_store_ptr(&rw->rw_lock, RW_UNLOCKED);
}

void
rw_destroy(struct rwlock *rw)
{
	VM_ASSERT(atomic_load_ptr(&rw->rw_lock) == RW_UNLOCKED,
	    ("rw_destroy: %s held", rw->lock_object.lo_name));
	lock_destroy(&rw->lock_object);
}

void
rw_rlock(struct rwlock *rw)
{
	witness_checkorder(&rw->lock_object);
	rwl_rlock(&rw->lock_object, &rw->rw_lock);
	TD_NOSLEEP_INC(curthread);
}

void
rw_runlock(struct rwlock *rw)
{
	TD_NOSLEEP_DEC(curthread);
	rwl_runlock(&rw->lock_object, &rw->rw_lock);
}

void
rw_wlock(struct rwlock *rw)
{
	witness_checkorder(&rw->lock_object);
	rwl_wlock(&rw->lock_object, &rw->rw_lock);
	TD_NOSLEEP_INC(curthread);
	witness_lock(&rw->lock_object);
}

void
rw_wunlock(struct rwlock *rw)
{
	TD_NOSLEEP_DEC(curthread);
	witness_unlock(&rw->lock_object);
	rwl_wunlock(&rw->lock_object, &rw->rw_lock);
}

/* Try-operations never wait and need no order check (they cannot deadlock). */
static bool
rwl_try_wlock(struct lock_object *lo, uintptr_t *word)
{
	if (!atomic_cmpset_acq_ptr(word, RW_UNLOCKED, (uintptr_t)curthread))
		return (false);
	lock_prof_acquired(lo);
	return (true);
}

static bool
rwl_try_rlock(struct lock_object *lo, uintptr_t *word)
{
	struct thread *td = curthread;
	uintptr_t v;

	v = atomic_load_ptr(word);
	while (rwl_can_read(v, td, false)) {
		if (atomic_fcmpset_acq_ptr(word, &v, v + RW_ONE_READER)) {
			lock_prof_acquired_shared(lo);
			td->td_rlocks++;
			return (true);
		}
	}
	return (false);
}

/*
 * Upgrade succeeds only for the sole reader with no waiter bits to carry:
 * a writer already asleep would otherwise be bypassed while it waits for
 * the read lock we keep.  Downgrade keeps waiting writers asleep and wakes
 * the waiting readers, who may now share the lock with us.
 */
static bool
rwl_try_upgrade(struct lock_object *lo, uintptr_t *word)
{
	struct thread *td = curthread;

	if (!atomic_cmpset_acq_ptr(
		word, RW_READ | RW_ONE_READER, (uintptr_t)td))
		return (false);
	td->td_rlocks--;
	lock_prof_acquired(lo);
	return (true);
}

static void
rwl_downgrade(struct lock_object *lo, uintptr_t *word)
{
	struct thread *td = curthread;
	uintptr_t v, new;
	uint32_t nr;

	lock_prof_release(lo);
	td->td_rlocks++;
	if (atomic_cmpset_rel_ptr(word, (uintptr_t)td, RW_READ | RW_ONE_READER))
		return;
	/* Waiters set their bits only under the chain lock: now stable. */
	sleepq_lock(TS_WCHAN(lo));
	v = atomic_load_ptr(word);
	nr = sleepq_count(TS_WCHAN(lo), RWQ_READERS);
	new = (RW_READ | RW_ONE_READER) | (v & RW_WWAIT);
	atomic_store_rel_ptr(word, new);
	if (nr > 0)
		(void)sleepq_broadcast(TS_WCHAN(lo), RWQ_READERS);
	sleepq_release(TS_WCHAN(lo));
}

bool
rw_try_wlock(struct rwlock *rw)
{
	if (!rwl_try_wlock(&rw->lock_object, &rw->rw_lock))
		return (false);
	TD_NOSLEEP_INC(curthread);
	witness_lock(&rw->lock_object);
	return (true);
}

bool
rw_try_rlock(struct rwlock *rw)
{
	if (!rwl_try_rlock(&rw->lock_object, &rw->rw_lock))
		return (false);
	TD_NOSLEEP_INC(curthread);
	return (true);
}

bool
rw_try_upgrade(struct rwlock *rw)
{
	if (!rwl_try_upgrade(&rw->lock_object, &rw->rw_lock))
		return (false);
	witness_lock(&rw->lock_object);
	return (true);
}

void
rw_downgrade(struct rwlock *rw)
{
	witness_unlock(&rw->lock_object);
	rwl_downgrade(&rw->lock_object, &rw->rw_lock);
}

bool
rw_locked(const struct rwlock *rw)
{
	return (atomic_load_ptr((uintptr_t *)&rw->rw_lock) != RW_UNLOCKED);
}

bool
rw_wowned(const struct rwlock *rw)
{
	uintptr_t v = atomic_load_ptr((uintptr_t *)&rw->rw_lock);

	return ((v & RW_READ) == 0 && RW_OWNER(v) == curthread);
}

void
sx_init(struct sx *sx, const char *name)
{
	lock_init(&sx->lock_object, &lock_class_sx, name, 0);
	atomic_store_ptr(&sx->sx_lock, RW_UNLOCKED);
}

void
sx_destroy(struct sx *sx)
{
	VM_ASSERT(atomic_load_ptr(&sx->sx_lock) == RW_UNLOCKED,
	    ("sx_destroy: %s held", sx->lock_object.lo_name));
	lock_destroy(&sx->lock_object);
}

void
sx_slock(struct sx *sx)
{
	witness_checkorder(&sx->lock_object);
	rwl_rlock(&sx->lock_object, &sx->sx_lock);
}

void
sx_sunlock(struct sx *sx)
{
	rwl_runlock(&sx->lock_object, &sx->sx_lock);
}

void
sx_xlock(struct sx *sx)
{
	witness_checkorder(&sx->lock_object);
	rwl_wlock(&sx->lock_object, &sx->sx_lock);
	witness_lock(&sx->lock_object);
}

void
sx_xunlock(struct sx *sx)
{
	witness_unlock(&sx->lock_object);
	rwl_wunlock(&sx->lock_object, &sx->sx_lock);
}

bool
sx_try_xlock(struct sx *sx)
{
	if (!rwl_try_wlock(&sx->lock_object, &sx->sx_lock))
		return (false);
	witness_lock(&sx->lock_object);
	return (true);
}

bool
sx_try_upgrade(struct sx *sx)
{
	if (!rwl_try_upgrade(&sx->lock_object, &sx->sx_lock))
		return (false);
	witness_lock(&sx->lock_object);
	return (true);
}

void
sx_downgrade(struct sx *sx)
{
	witness_unlock(&sx->lock_object);
	rwl_downgrade(&sx->lock_object, &sx->sx_lock);
}

bool
sx_xowned(const struct sx *sx)
{
	uintptr_t v = atomic_load_ptr((uintptr_t *)&sx->sx_lock);

	return ((v & RW_READ) == 0 && RW_OWNER(v) == curthread);
}

static void
lock_rw(struct lock_object *lo, uintptr_t how)
{
	if (how != 0)
		rw_rlock((struct rwlock *)lo);
	else
		rw_wlock((struct rwlock *)lo);
}

static uintptr_t
unlock_rw(struct lock_object *lo)
{
	struct rwlock *rw = (struct rwlock *)lo;

	if ((atomic_load_ptr(&rw->rw_lock) & RW_READ) != 0) {
		rw_runlock(rw);
		return (1);
	}
	rw_wunlock(rw);
	return (0);
}

static void
lock_sx(struct lock_object *lo, uintptr_t how)
{
	if (how != 0)
		sx_slock((struct sx *)lo);
	else
		sx_xlock((struct sx *)lo);
}

static uintptr_t
unlock_sx(struct lock_object *lo)
{
	struct sx *sx = (struct sx *)lo;

	if ((atomic_load_ptr(&sx->sx_lock) & RW_READ) != 0) {
		sx_sunlock(sx);
		return (1);
	}
	sx_xunlock(sx);
	return (0);
}
