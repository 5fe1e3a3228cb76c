/*
 * lock_kinds.h: the kernel's lock kinds behind one interface, for the
 * tests that run the same checks on every kind (test_locks, test_sleepq,
 * stress_locks).
 *
 * A struct tlock holds one lock of kind LK_*: a sleep mutex, a spin
 * mutex, a queued mutex, an rw lock, an sx lock or a lockmgr lock.
 * tl_xlock() takes it exclusively (the only mode of the mutexes),
 * tl_slock() shared (rw, sx and lockmgr: lk_has_shared()).  The lock
 * keeps the name given to tl_init(), so the lock profile reports it as
 * (name, lk_class[kind]).
 *
 * The kernel has no try operation for most kinds (only MTX_DEF mutexes
 * have mtx_trylock()), so none is offered here.
 *
 * Locking key: a struct tlock is the lock itself; tl_kind (c) constant
 * after tl_init().
 */
#ifndef VMLAB_TEST_LOCK_KINDS_H
#define VMLAB_TEST_LOCK_KINDS_H

#include "kern/lock.h"
#include "kern/lockmgr.h"
#include "kern/mutex.h"
#include "kern/rwlock.h"

#include <stdbool.h>

#define LK_MTX 0
#define LK_SPIN 1
#define LK_QMTX 2
#define LK_RW 3
#define LK_SX 4
#define LK_LOCKMGR 5
#define LK_NKINDS 6

/* Class names, as the lock profile reports them ("mtx", "spin", ...). */
extern const char *const lk_class[LK_NKINDS];

/* Can the lock be held shared (rw, sx, lockmgr)? */
bool lk_has_shared(int kind);
/* May the holder sleep (qmtx, sx, lockmgr)? */
bool lk_sleepable(int kind);
/* Is it a spin mutex, whose holder may not switch out at all? */
bool lk_is_spin(int kind);

struct tlock {
	int tl_kind; /* (c) LK_* */
	union {
		struct mtx m; /* LK_MTX, LK_SPIN */
		struct qmtx q;
		struct rwlock rw;
		struct sx sx;
		struct lockmgr lk;
	} tl_u;
};

void tl_init(struct tlock *tl, int kind, const char *name);
void tl_destroy(struct tlock *tl);
/* The lock as a lock_object (an interlock for msleep()). */
struct lock_object *tl_obj(struct tlock *tl);
void tl_xlock(struct tlock *tl);
void tl_xunlock(struct tlock *tl);
/* Shared acquisition: lk_has_shared() kinds only (a test failure else). */
void tl_slock(struct tlock *tl);
void tl_sunlock(struct tlock *tl);
/* tl_slock() if `shared', else tl_xlock(); and the matching release. */
void tl_lock(struct tlock *tl, bool shared);
void tl_unlock(struct tlock *tl, bool shared);
/* Does the current thread hold it exclusively? */
bool tl_xowned(struct tlock *tl);

#endif /* !VMLAB_TEST_LOCK_KINDS_H */
