/*
 * mutex.h: mutual-exclusion locks.
 *
 * struct mtx, two kinds chosen at init:
 *  - MTX_DEF: adaptive sleep mutex.  A waiter spins while the owner is
 *    running on a CPU and sleeps otherwise; release wakes one waiter, which
 *    competes again (barging is allowed).  The holder may not sleep.
 *  - MTX_SPIN: spin mutex.  Disables IPI delivery on the CPU while held;
 *    the holder may not switch out at all.
 *
 * struct qmtx: queued FIFO mutex.  Waiters never spin; release hands the
 * lock directly to the oldest waiter and wakes exactly that one.  The
 * holder may sleep (it is a sleepable lock), like the per-CPU teardown
 * lock it models.
 *
 * The lock word (mtx_lock) holds the owner's struct thread pointer, or
 * MTX_UNOWNED, with MTX_CONTESTED set while a thread sleeps on the lock.
 * Thread structs are at least 16-byte aligned, so the low bits are free.
 *
 * Locking key: (a) atomic; (l) the lock itself; (c) constant.
 */
#ifndef VMLAB_MUTEX_H
#define VMLAB_MUTEX_H

#include "kern/lock.h"

#define MTX_DEF 0x0
#define MTX_SPIN 0x1
#define MTX_NOPROFILE 0x2

#define MTX_UNOWNED ((uintptr_t)0)
#define MTX_CONTESTED ((uintptr_t)1)
#define MTX_FLAGMASK ((uintptr_t)15)

struct mtx {
	struct lock_object lock_object;
	uintptr_t mtx_lock; /* (a) owner | flags */
};

struct qmtx {
	struct lock_object lock_object;
	uintptr_t qm_lock; /* (a) owner | MTX_CONTESTED */
};

void mtx_init(struct mtx *m, const char *name, int opts);
void mtx_destroy(struct mtx *m);
void mtx_lock(struct mtx *m);
bool mtx_trylock(struct mtx *m);
void mtx_unlock(struct mtx *m);
void mtx_lock_spin(struct mtx *m);
void mtx_unlock_spin(struct mtx *m);
bool mtx_owned(const struct mtx *m);
#define mtx_assert_owned(m)                                                    \
	KASSERT(mtx_owned(m),                                                  \
	    ("%s: %s not owned", __func__, (m)->lock_object.lo_name))

void qmtx_init(struct qmtx *q, const char *name);
void qmtx_destroy(struct qmtx *q);
void qmtx_lock(struct qmtx *q);
void qmtx_unlock(struct qmtx *q);
bool qmtx_owned(const struct qmtx *q);

#endif /* !VMLAB_MUTEX_H */
