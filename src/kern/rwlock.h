/*
 * rwlock.h: reader/writer locks.
 *
 * struct rwlock: holders may not sleep; writers and readers waiting for a
 * running writer spin, otherwise they sleep.
 * struct sx: the same protocol, but holders may sleep, so waiters never
 * spin.
 *
 * Lock word: RW_READ set means read mode (unlocked when the reader count
 * is 0); clear means write-locked, the rest of the word being the owning
 * thread.  RW_RWAIT / RW_WWAIT say readers / writers may sleep on the
 * lock.  Readers give way to waiting writers (writer preference), except
 * a thread that already holds a read lock, and readers just woken by a
 * write unlock.
 *
 * Release policy: the last reader wakes one writer; a writer wakes all
 * waiting readers if any, else one writer.
 */
#ifndef VMLAB_RWLOCK_H
#define VMLAB_RWLOCK_H

#include "kern/lock.h"

#define RW_READ ((uintptr_t)0x1)
#define RW_RWAIT ((uintptr_t)0x2)
#define RW_WWAIT ((uintptr_t)0x4)
#define RW_FLAGS ((uintptr_t)0xf)
#define RW_ONE_READER ((uintptr_t)0x10)
#define RW_UNLOCKED RW_READ

struct rwlock {
	struct lock_object lock_object;
	uintptr_t rw_lock; /* (a) */
};

struct sx {
	struct lock_object lock_object;
	uintptr_t sx_lock; /* (a) same encoding as rw_lock */
};

void rw_init(struct rwlock *rw, const char *name);
void rw_destroy(struct rwlock *rw);
void rw_rlock(struct rwlock *rw);
void rw_runlock(struct rwlock *rw);
void rw_wlock(struct rwlock *rw);
void rw_wunlock(struct rwlock *rw);
bool rw_wowned(const struct rwlock *rw);
/*
 * Try-operations return whether they took the lock.  rw_try_upgrade():
 * the caller's read lock becomes a write lock if it is the only reader
 * and nobody waits; rw_downgrade(): the write lock becomes a read lock.
 * rw_locked(): held in any mode by anyone (assertions).
 */
bool rw_try_wlock(struct rwlock *rw);
bool rw_try_rlock(struct rwlock *rw);
bool rw_try_upgrade(struct rwlock *rw);
void rw_downgrade(struct rwlock *rw);
bool rw_locked(const struct rwlock *rw);

void sx_init(struct sx *sx, const char *name);
void sx_destroy(struct sx *sx);
void sx_slock(struct sx *sx);
void sx_sunlock(struct sx *sx);
void sx_xlock(struct sx *sx);
void sx_xunlock(struct sx *sx);
bool sx_xowned(const struct sx *sx);
bool sx_try_xlock(struct sx *sx);
bool sx_try_upgrade(struct sx *sx);
void sx_downgrade(struct sx *sx);

#endif /* !VMLAB_RWLOCK_H */
