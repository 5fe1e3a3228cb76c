/*
 * kern_lockmgr.c: the historical lockmgr (see lockmgr.h).
 */
#include "kern/lockmgr.h"
#include "kern/sleepq.h"
#include "kern/thread.h"

static void lock_lockmgr(struct lock_object *lo, uintptr_t how);
static uintptr_t unlock_lockmgr(struct lock_object *lo);

const struct lock_class lock_class_lockmgr = {
	.lc_name = "lockmgr",
	.lc_flags = LC_SLEEPLOCK | LC_SLEEPABLE,
	.lc_lock = lock_lockmgr,
	.lc_unlock = unlock_lockmgr,
};

/*
 * Wakes the waiters after a release: all of them (the historical
 * behaviour), or the oldest one with lockmgr_set_wakeone().  Interlock
 * held.
 */
static void
lockmgr_wake(struct lockmgr *lk)
{
	if (lk->lk_wakeone)
		wakeup_one(TS_WCHAN(lk));
	else
		wakeup(TS_WCHAN(lk));
}

void
lockmgr_set_wakeone(struct lockmgr *lk, bool on)
{
	mtx_lock_spin(&lk->lk_interlock);
	lk->lk_wakeone = on;
	mtx_unlock_spin(&lk->lk_interlock);
}

void
lockmgr_init(struct lockmgr *lk, const char *name)
{
	lock_init(&lk->lock_object, &lock_class_lockmgr, name, 0);
	mtx_init(
	    &lk->lk_interlock, "lockmgr interlock", MTX_SPIN | MTX_NOPROFILE);
	lk->lk_owner = NULL;
	lk->lk_sharecount = 0;
	lk->lk_waiters = 0;
	lk->lk_wakeone = false;
}

void
lockmgr_destroy(struct lockmgr *lk)
{
	VM_ASSERT(lk->lk_owner == NULL && lk->lk_sharecount == 0 &&
		lk->lk_waiters == 0,
	    ("lockmgr_destroy: %s busy", lk->lock_object.lo_name));
	mtx_destroy(&lk->lk_interlock);
	lock_destroy(&lk->lock_object);
}

/* Sleeps until `can' holds; interlock held on entry and return. */
static void
lockmgr_wait(struct lockmgr *lk, bool exclusive)
{
	uint64_t start = 0;

	for (;;) {
		if (lk->lk_owner == NULL &&
		    (!exclusive || lk->lk_sharecount == 0))
			break;
		if (start == 0)
			start = md_nanotime();
		lk->lk_waiters++;
		(void)msleep(TS_WCHAN(lk), &lk->lk_interlock.lock_object, 0,
		    lk->lock_object.lo_name, 0);
		lk->lk_waiters--;
	}
	if (start != 0)
		lock_prof_contended(&lk->lock_object, start, exclusive);
}

void
lockmgr_xlock(struct lockmgr *lk)
{
	struct thread *td = curthread;

	witness_checkorder(&lk->lock_object);
	mtx_lock_spin(&lk->lk_interlock);
	VM_ASSERT(lk->lk_owner != td,
	    ("lockmgr_xlock: recursion on %s", lk->lock_object.lo_name));
	lockmgr_wait(lk, true);
	lk->lk_owner = td;
	lock_prof_acquired(&lk->lock_object);
	mtx_unlock_spin(&lk->lk_interlock);
	witness_lock(&lk->lock_object);
}

void
lockmgr_slock(struct lockmgr *lk)
{
	witness_checkorder(&lk->lock_object);
	mtx_lock_spin(&lk->lk_interlock);
	lockmgr_wait(lk, false);
	lk->lk_sharecount++;
	lock_prof_acquired(&lk->lock_object);
	mtx_unlock_spin(&lk->lk_interlock);
}

void
lockmgr_unlock(struct lockmgr *lk)
{
	struct thread *td = curthread;

	mtx_lock_spin(&lk->lk_interlock);
	if (lk->lk_owner != NULL) {
		VM_ASSERT(lk->lk_owner == td,
		    ("lockmgr_unlock: %s held by %s, not %s",
			lk->lock_object.lo_name, lk->lk_owner->td_name,
			td->td_name));
		lock_prof_release(&lk->lock_object);
		lk->lk_owner = NULL;
		witness_unlock(&lk->lock_object);
	} else {
		VM_ASSERT(lk->lk_sharecount > 0,
		    ("lockmgr_unlock: %s not held", lk->lock_object.lo_name));
		lk->lk_sharecount--;
	}
	/* The historical behaviour: wake every waiter. */
	if (lk->lk_waiters > 0 && lk->lk_sharecount == 0)
		lockmgr_wake(lk);
	mtx_unlock_spin(&lk->lk_interlock);
}

/*
 * The try variants never wait, so they are not checked for lock order
 * (as the other try-locks).  A failed try counts nothing.
 */
bool
lockmgr_try_xlock(struct lockmgr *lk)
{
	struct thread *td = curthread;
	bool got;

	mtx_lock_spin(&lk->lk_interlock);
	got = lk->lk_owner == NULL && lk->lk_sharecount == 0;
	if (got) {
		lk->lk_owner = td;
		lock_prof_acquired(&lk->lock_object);
	}
	mtx_unlock_spin(&lk->lk_interlock);
	if (got)
		witness_lock(&lk->lock_object);
	return (got);
}

bool
lockmgr_try_slock(struct lockmgr *lk)
{
	bool got;

	mtx_lock_spin(&lk->lk_interlock);
	got = lk->lk_owner == NULL;
	if (got) {
		lk->lk_sharecount++;
		lock_prof_acquired(&lk->lock_object);
	}
	mtx_unlock_spin(&lk->lk_interlock);
	return (got);
}

/*
 * The exclusive hold becomes a shared one: the exclusive hold ends (its
 * hold time is profiled) and, as every release, wakes all waiters (the
 * shared ones can now come in; the exclusive ones sleep again).
 */
void
lockmgr_downgrade(struct lockmgr *lk)
{
	struct thread *td = curthread;

	mtx_lock_spin(&lk->lk_interlock);
	VM_ASSERT(lk->lk_owner == td,
	    ("lockmgr_downgrade: %s not held exclusive by %s",
		lk->lock_object.lo_name, td->td_name));
	lock_prof_release(&lk->lock_object);
	lk->lk_owner = NULL;
	lk->lk_sharecount = 1;
	witness_unlock(&lk->lock_object);
	if (lk->lk_waiters > 0)
		lockmgr_wake(lk);
	mtx_unlock_spin(&lk->lk_interlock);
}

uint32_t
lockmgr_waiters(struct lockmgr *lk)
{
	uint32_t n;

	mtx_lock_spin(&lk->lk_interlock);
	n = lk->lk_waiters;
	mtx_unlock_spin(&lk->lk_interlock);
	return (n);
}

bool
lockmgr_xowned(struct lockmgr *lk)
{
	bool owned;

	mtx_lock_spin(&lk->lk_interlock);
	owned = lk->lk_owner == curthread;
	mtx_unlock_spin(&lk->lk_interlock);
	return (owned);
}

static void
lock_lockmgr(struct lock_object *lo, uintptr_t how)
{
	if (how != 0)
		lockmgr_slock((struct lockmgr *)lo);
	else
		lockmgr_xlock((struct lockmgr *)lo);
}

static uintptr_t
unlock_lockmgr(struct lock_object *lo)
{
	struct lockmgr *lk = (struct lockmgr *)lo;
	uintptr_t how;

	mtx_lock_spin(&lk->lk_interlock);
	how = lk->lk_owner == NULL ? 1 : 0;
	mtx_unlock_spin(&lk->lk_interlock);
	lockmgr_unlock(lk);
	return (how);
}
