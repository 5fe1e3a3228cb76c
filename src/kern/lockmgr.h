/*
 * lockmgr.h: the historical BSD lockmgr lock.
 *
 * A sleepable shared/exclusive lock whose state is kept under a spin
 * interlock.  Waiters sleep on the lock; every release that may let a
 * waiter in wakes *all* waiters, which re-check and, all but one, sleep
 * again.  With N threads queued on one lock that is O(N^2) wakeups to
 * drain the queue: the behaviour the per-CPU queued teardown mutex was
 * written to avoid, kept here so "before" can be measured.
 *
 * Locking key: (i) lk_interlock.
 */
#ifndef VMLAB_LOCKMGR_H
#define VMLAB_LOCKMGR_H

#include "kern/mutex.h"

struct lockmgr {
	struct lock_object lock_object;
	struct mtx lk_interlock;
	struct thread *lk_owner; /* (i) exclusive holder */
	uint32_t lk_sharecount;	 /* (i) shared holders */
	uint32_t lk_waiters;	 /* (i) threads asleep on the lock */
	bool lk_wakeone;	 /* (i) a release wakes one waiter */
};

void lockmgr_init(struct lockmgr *lk, const char *name);
void lockmgr_destroy(struct lockmgr *lk);
void lockmgr_xlock(struct lockmgr *lk);
void lockmgr_slock(struct lockmgr *lk);
void lockmgr_unlock(struct lockmgr *lk);
/* Never wait: true with the lock held, else false (nothing changed). */
bool lockmgr_try_xlock(struct lockmgr *lk);
bool lockmgr_try_slock(struct lockmgr *lk);
/* Exclusive to shared without letting a writer in; wakes all waiters. */
void lockmgr_downgrade(struct lockmgr *lk);
uint32_t lockmgr_waiters(struct lockmgr *lk);
bool lockmgr_xowned(struct lockmgr *lk);
/*
 * Not the historical lockmgr: every release wakes only the oldest waiter
 * (as long as `on').  For draining a lock on which a measured run has
 * piled up thousands of waiters, once the measurement is over: each
 * release still wakes someone, so no waiter is stranded.
 */
void lockmgr_set_wakeone(struct lockmgr *lk, bool on);

#endif /* !VMLAB_LOCKMGR_H */
