/*
 * lock.h: what every lock has in common: its name and class, profiling
 * (lockstat) and lock-order checking (ranks, debug builds).
 *
 * Profiling.  Every lock belongs to the profile of its (class, name) pair.
 * Uncontended acquisitions are only counted, in the lock itself, while it
 * is held (so the count needs no atomic read-modify-write).  An acquisition
 * that had to wait is timed: its wait goes to the profile, and its
 * acquisition time is kept in the lock so that the release can charge the
 * hold time ("contested-only" profiling: hold times are those of contended
 * acquisitions).  A destroyed lock folds its count into its profile.
 *
 * Lock order.  Each subsystem (and each test or scenario) registers the
 * ranks of its own locks, by name, before it initialises them
 * (witness_register()); lock_init() gives a lock the rank registered for
 * its name, or none.  docs/LOCKING.md lists the library's registrations
 * (a test checks it against them).  In VM_INVARIANTS builds acquiring a
 * lock whose rank is not greater than that of a ranked lock already held
 * panics, unless both are of one LOCK_RANK_DUPOK name, as does taking a
 * sleepable lock while holding a non-sleepable one, or any sleep lock
 * while holding a spin lock.
 *
 * Locking key:
 *	(c) constant after init
 *	(l) the lock itself (held exclusively)
 *	(a) atomic
 *	(p) lock_prof_mtx (the registry)
 */
#ifndef VMLAB_LOCK_H
#define VMLAB_LOCK_H

#include "kern/queue.h"
#include "md/md_atomic.h"

#include <stdbool.h>
#include <stdint.h>

struct lock_object;
struct lock_prof;

/* lc_flags */
#define LC_SPINLOCK 0x01  /* holder may not be switched out at all */
#define LC_SLEEPLOCK 0x02 /* waiters sleep */
#define LC_SLEEPABLE 0x04 /* holder may sleep */

struct lock_class {
	const char *lc_name; /* "spin", "mtx", "rw", "sx", ... */
	unsigned lc_flags;
	/* Reacquire/release as an interlock of msleep(); `how' from unlock. */
	void (*lc_lock)(struct lock_object *lo, uintptr_t how);
	uintptr_t (*lc_unlock)(struct lock_object *lo);
};

extern const struct lock_class lock_class_mtx_spin;
extern const struct lock_class lock_class_mtx_sleep;
extern const struct lock_class lock_class_qmtx;
extern const struct lock_class lock_class_rw;
extern const struct lock_class lock_class_sx;
extern const struct lock_class lock_class_lockmgr;

/* lo_flags */
#define LO_NOPROFILE 0x01 /* not profiled (the registry's own lock) */
#define LO_INITED 0x02
#define LO_DUPOK 0x04 /* locks of its name may be held together */

struct lock_object {
	const char *lo_name;		   /* (c) */
	const struct lock_class *lo_class; /* (c) */
	struct lock_prof *lo_prof;	   /* (c) NULL: not profiled */
	uint64_t lo_acq;		   /* (l) acquisitions (a: shared) */
	uint64_t lo_hold_start; /* (l) time of a contended acquisition */
	uint32_t lo_flags;	/* (c) LO_* */
	int lo_rank;		/* (c) 0: unranked */
	LIST_ENTRY(lock_object) lo_link; /* (p) live locks of lo_prof */
};

/* One row of the lock profile. */
struct lock_prof_row {
	const char *lpr_name;
	const char *lpr_class;
	uint64_t lpr_acquisitions;
	uint64_t lpr_contentions;
	uint64_t lpr_wait_total_ns;
	uint64_t lpr_wait_max_ns;
	uint64_t lpr_hold_total_ns;
	uint64_t lpr_hold_max_ns;
};

void lock_init(struct lock_object *lo, const struct lock_class *lc,
    const char *name, uint32_t flags);
void lock_destroy(struct lock_object *lo);

/* Counts an acquisition; the caller holds `lo' exclusively. */
static inline void
lock_prof_acquired(struct lock_object *lo)
{
	/* Plain load and store: the lock itself serialises writers. */
	pcpu_add_64(&lo->lo_acq, 1);
}

/* Counts a shared acquisition (no exclusion among readers). */
static inline void
lock_prof_acquired_shared(struct lock_object *lo)
{
	atomic_add_64(&lo->lo_acq, 1);
}

/* An acquisition waited from `start' (md_nanotime()) until now. */
void lock_prof_contended(
    struct lock_object *lo, uint64_t start, bool exclusive);

void lock_prof_release_timed(struct lock_object *lo);

/* Release of an exclusive hold: charges the hold time if it was timed. */
static inline void
lock_prof_release(struct lock_object *lo)
{
	if (__builtin_expect(lo->lo_hold_start != 0, 0))
		lock_prof_release_timed(lo);
}

/*
 * Snapshot of the profile: rows sorted by total wait (descending), then
 * acquisitions.  Returns the number of rows (at most `max').
 */
int lock_prof_snapshot(struct lock_prof_row *rows, int max);
int lock_prof_count(void);
void lock_prof_reset(void);
void lock_prof_fini(void);

/*
 * Spin-loop backoff (as FreeBSD's lock_delay): the first rounds watch the
 * lock word and react to its release; later rounds back off for a delay
 * that doubles up to LOCK_DELAY_MAX_NS, so that many spinners do not all
 * rush at every release.
 */
#define LOCK_DELAY_WATCH 2
#define LOCK_DELAY_MIN_NS 40
#define LOCK_DELAY_MAX_NS 2560

struct lock_delay {
	uint32_t ld_rounds;
	uint32_t ld_ns;
};

static inline void
lock_delay_init(struct lock_delay *ld)
{
	ld->ld_rounds = 0;
	ld->ld_ns = LOCK_DELAY_MIN_NS;
}

static inline void
lock_delay(struct lock_delay *ld, const void *addr)
{
	if (ld->ld_rounds++ < LOCK_DELAY_WATCH) {
		md_spin_wait(addr);
		return;
	}
	md_spin_delay(ld->ld_ns);
	if (ld->ld_ns < LOCK_DELAY_MAX_NS)
		ld->ld_ns *= 2;
}

/*
 * Lock ranks.  witness_register() records n ranks (1 .. 9999; a greater
 * rank is acquired later) for lock names; LOCK_RANK_DUPOK lets locks of
 * one name nest (they order among themselves by a rule of their own, such
 * as a shadow object before its backing object).  Registering a name
 * again with the same rank and flags does nothing, so a subsystem may
 * register at every boot; another rank or flags for a registered name is
 * EEXIST, and a full table ENOMEM (the ranks before the bad one stay).
 * Any thread, or before boot; no lock held.  witness_rank_foreach() calls
 * fn for each registration, in rank order, until fn returns non-0.
 */
#define LOCK_RANK_DUPOK 0x1

struct lock_rank {
	const char *lr_name;
	int lr_rank;
	int lr_flags; /* LOCK_RANK_* */
};

int witness_register(const struct lock_rank *ranks, int n);
int witness_rank_foreach(
    int (*fn)(const struct lock_rank *, void *), void *arg);

/* Lock-order checking (VM_INVARIANTS builds; no-ops otherwise). */
void witness_checkorder(struct lock_object *lo);
void witness_lock(struct lock_object *lo);
void witness_unlock(struct lock_object *lo);
void witness_assert_nosleep(const char *what);

#endif /* !VMLAB_LOCK_H */
