/*
 * kern_lock.c: lock profiles (lockstat) and the lock-order checker.
 *
 * Profiles are kept in a small hash table keyed by (class, name); each has
 * the list of its live locks.  Contention statistics are added to the
 * profile atomically (contention is the slow path anyway); acquisition
 * counts live in the locks and are summed when a snapshot is taken.
 *
 * Locking key: (p) lock_prof_mtx; (w) witness_mtx; (a) atomic.
 */
#include "kern/lock.h"
#include "kern/mutex.h"
#include "kern/thread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_PROF_HASH 256

static int witness_rank(const char *name, uint32_t *flagsp);

struct lock_prof {
	const char *lp_name;		   /* (c) */
	const struct lock_class *lp_class; /* (c) */
	uint64_t lp_acq_dead;	 /* (p) acquisitions of destroyed locks */
	uint64_t lp_contentions; /* (a) */
	uint64_t lp_wait_total;	 /* (a) */
	uint64_t lp_wait_max;	 /* (a) */
	uint64_t lp_hold_total;	 /* (a) */
	uint64_t lp_hold_max;	 /* (a) */
	LIST_HEAD(lolist, lock_object) lp_locks; /* (p) */
	struct lock_prof *lp_next;		 /* (p) hash chain */
};

static struct mtx lock_prof_mtx = {
	.lock_object = {
	    .lo_name = "lock prof",
	    .lo_class = &lock_class_mtx_spin,
	    .lo_flags = LO_NOPROFILE | LO_INITED,
	},
};
static struct lock_prof *lock_prof_hash[LOCK_PROF_HASH]; /* (p) */
static int lock_prof_nprofs;				 /* (p) */

static unsigned
lock_prof_hashfn(const char *name, const struct lock_class *lc)
{
	unsigned h = (unsigned)(uintptr_t)lc;

	while (*name != '\0')
		h = h * 31 + (unsigned char)*name++;
	return (h % LOCK_PROF_HASH);
}

/* The profile of (lc, name), created if needed.  lock_prof_mtx held. */
static struct lock_prof *
lock_prof_lookup(const char *name, const struct lock_class *lc)
{
	unsigned h = lock_prof_hashfn(name, lc);
	struct lock_prof *lp;

	for (lp = lock_prof_hash[h]; lp != NULL; lp = lp->lp_next)
		if (lp->lp_class == lc && strcmp(lp->lp_name, name) == 0)
			return (lp);
	lp = md_calloc(1, sizeof(*lp));
	if (lp == NULL)
		return (NULL);
	lp->lp_name = name;
	lp->lp_class = lc;
	LIST_INIT(&lp->lp_locks);
	lp->lp_next = lock_prof_hash[h];
	lock_prof_hash[h] = lp;
	lock_prof_nprofs++;
	return (lp);
}

void
lock_init(struct lock_object *lo, const struct lock_class *lc, const char *name,
    uint32_t flags)
{
	lo->lo_name = name;
	lo->lo_class = lc;
	lo->lo_acq = 0;
	lo->lo_hold_start = 0;
	lo->lo_flags = flags | LO_INITED;
	lo->lo_rank =
	    (flags & LO_NOPROFILE) != 0 ? 0 : witness_rank(name, &lo->lo_flags);
	lo->lo_prof = NULL;
	if ((flags & LO_NOPROFILE) != 0)
		return;
	mtx_lock_spin(&lock_prof_mtx);
	lo->lo_prof = lock_prof_lookup(name, lc);
	if (lo->lo_prof != NULL)
		LIST_INSERT_HEAD(&lo->lo_prof->lp_locks, lo, lo_link);
	mtx_unlock_spin(&lock_prof_mtx);
}

void
lock_destroy(struct lock_object *lo)
{
	VM_ASSERT((lo->lo_flags & LO_INITED) != 0,
	    ("lock_destroy: %s not initialised", lo->lo_name));
	if (lo->lo_prof != NULL) {
		mtx_lock_spin(&lock_prof_mtx);
		lo->lo_prof->lp_acq_dead += atomic_load_64(&lo->lo_acq);
		LIST_REMOVE(lo, lo_link);
		mtx_unlock_spin(&lock_prof_mtx);
	}
	lo->lo_flags &= ~(uint32_t)LO_INITED;
}

void
lock_prof_contended(struct lock_object *lo, uint64_t start, bool exclusive)
{
	struct lock_prof *lp = lo->lo_prof;
	uint64_t now = md_nanotime();
	uint64_t wait = now - start;

	if (exclusive)
		lo->lo_hold_start = now == 0 ? 1 : now;
	if (lp == NULL)
		return;
	atomic_add_64(&lp->lp_contentions, 1);
	atomic_add_64(&lp->lp_wait_total, wait);
	atomic_max_64(&lp->lp_wait_max, wait);
}

void
lock_prof_release_timed(struct lock_object *lo)
{
	struct lock_prof *lp = lo->lo_prof;
	uint64_t hold = md_nanotime() - lo->lo_hold_start;

	lo->lo_hold_start = 0;
	if (lp == NULL)
		return;
	atomic_add_64(&lp->lp_hold_total, hold);
	atomic_max_64(&lp->lp_hold_max, hold);
}

static int
lock_prof_cmp(const void *a, const void *b)
{
	const struct lock_prof_row *x = a, *y = b;
	int c;

	if (x->lpr_wait_total_ns != y->lpr_wait_total_ns)
		return (x->lpr_wait_total_ns < y->lpr_wait_total_ns ? 1 : -1);
	if (x->lpr_acquisitions != y->lpr_acquisitions)
		return (x->lpr_acquisitions < y->lpr_acquisitions ? 1 : -1);
	c = strcmp(x->lpr_name, y->lpr_name);
	return (c != 0 ? c : strcmp(x->lpr_class, y->lpr_class));
}

int
lock_prof_count(void)
{
	int n;

	mtx_lock_spin(&lock_prof_mtx);
	n = lock_prof_nprofs;
	mtx_unlock_spin(&lock_prof_mtx);
	return (n);
}

int
lock_prof_snapshot(struct lock_prof_row *rows, int max)
{
	struct lock_object *lo;
	struct lock_prof *lp;
	struct lock_prof_row *r;
	int h, n = 0;

	mtx_lock_spin(&lock_prof_mtx);
	for (h = 0; h < LOCK_PROF_HASH; h++) {
		for (lp = lock_prof_hash[h]; lp != NULL && n < max;
		     lp = lp->lp_next) {
			r = &rows[n++];
			r->lpr_name = lp->lp_name;
			r->lpr_class = lp->lp_class->lc_name;
			r->lpr_acquisitions = lp->lp_acq_dead;
			LIST_FOREACH (lo, &lp->lp_locks, lo_link)
				r->lpr_acquisitions +=
				    atomic_load_64(&lo->lo_acq);
			r->lpr_contentions =
			    atomic_load_64(&lp->lp_contentions);
			r->lpr_wait_total_ns =
			    atomic_load_64(&lp->lp_wait_total);
			r->lpr_wait_max_ns = atomic_load_64(&lp->lp_wait_max);
			r->lpr_hold_total_ns =
			    atomic_load_64(&lp->lp_hold_total);
			r->lpr_hold_max_ns = atomic_load_64(&lp->lp_hold_max);
		}
	}
	mtx_unlock_spin(&lock_prof_mtx);
	qsort(rows, (size_t)n, sizeof(*rows), lock_prof_cmp);
	return (n);
}

/* Zeroes every statistic (between the phases of a scenario). */
void
lock_prof_reset(void)
{
	struct lock_object *lo;
	struct lock_prof *lp;
	int h;

	mtx_lock_spin(&lock_prof_mtx);
	for (h = 0; h < LOCK_PROF_HASH; h++) {
		for (lp = lock_prof_hash[h]; lp != NULL; lp = lp->lp_next) {
			lp->lp_acq_dead = 0;
			LIST_FOREACH (lo, &lp->lp_locks, lo_link)
				atomic_store_64(&lo->lo_acq, 0);
			atomic_store_64(&lp->lp_contentions, 0);
			atomic_store_64(&lp->lp_wait_total, 0);
			atomic_store_64(&lp->lp_wait_max, 0);
			atomic_store_64(&lp->lp_hold_total, 0);
			atomic_store_64(&lp->lp_hold_max, 0);
		}
	}
	mtx_unlock_spin(&lock_prof_mtx);
}

/* Frees every profile (shutdown; every profiled lock is destroyed). */
void
lock_prof_fini(void)
{
	struct lock_prof *lp;
	int h;

	mtx_lock_spin(&lock_prof_mtx);
	for (h = 0; h < LOCK_PROF_HASH; h++) {
		while ((lp = lock_prof_hash[h]) != NULL) {
			VM_ASSERT(LIST_EMPTY(&lp->lp_locks),
			    ("lock_prof_fini: live %s lock '%s' at shutdown",
				lp->lp_class->lc_name, lp->lp_name));
			lock_prof_hash[h] = lp->lp_next;
			md_free(lp);
		}
	}
	lock_prof_nprofs = 0;
	mtx_unlock_spin(&lock_prof_mtx);
}

/*
 * Lock ranks: a table of registrations, kept for the process (locks are
 * initialised at every boot; their names' ranks do not change).  Sorted by
 * rank for witness_rank_foreach(); looked up by name at lock_init().
 */
#define WITNESS_MAXRANKS 256

static struct mtx witness_mtx = {
	.lock_object = {
	    .lo_name = "witness",
	    .lo_class = &lock_class_mtx_spin,
	    .lo_flags = LO_NOPROFILE | LO_INITED,
	},
};
static struct lock_rank witness_ranks[WITNESS_MAXRANKS]; /* (w) */
static int witness_nranks;				 /* (w) */

/* The registration of `name', or NULL.  witness_mtx held. */
static struct lock_rank *
witness_find(const char *name)
{
	int i;

	for (i = 0; i < witness_nranks; i++)
		if (strcmp(witness_ranks[i].lr_name, name) == 0)
			return (&witness_ranks[i]);
	return (NULL);
}

/* Inserts r keeping rank order.  witness_mtx held, room checked. */
static void
witness_insert(const struct lock_rank *r)
{
	int i = witness_nranks;

	while (i > 0 && witness_ranks[i - 1].lr_rank > r->lr_rank) {
		witness_ranks[i] = witness_ranks[i - 1];
		i--;
	}
	witness_ranks[i] = *r;
	witness_nranks++;
}

int
witness_register(const struct lock_rank *ranks, int n)
{
	struct lock_rank *old;
	int error = 0, i;

	mtx_lock_spin(&witness_mtx);
	for (i = 0; i < n && error == 0; i++) {
		VM_ASSERT(ranks[i].lr_rank > 0 && ranks[i].lr_rank < 10000,
		    ("%s: lock '%s' rank %d", __func__, ranks[i].lr_name,
			ranks[i].lr_rank));
		if ((old = witness_find(ranks[i].lr_name)) != NULL)
			error = old->lr_rank == ranks[i].lr_rank &&
				old->lr_flags == ranks[i].lr_flags
			    ? 0
			    : EEXIST;
		else if (witness_nranks == WITNESS_MAXRANKS)
			error = ENOMEM;
		else
			witness_insert(&ranks[i]);
	}
	mtx_unlock_spin(&witness_mtx);
	return (error);
}

int
witness_rank_foreach(int (*fn)(const struct lock_rank *, void *), void *arg)
{
	struct lock_rank copy[WITNESS_MAXRANKS];
	int error = 0, i, n;

	/* A copy: fn may take locks (and register ranks). */
	mtx_lock_spin(&witness_mtx);
	n = witness_nranks;
	memcpy(copy, witness_ranks, (size_t)n * sizeof(copy[0]));
	mtx_unlock_spin(&witness_mtx);
	for (i = 0; i < n && error == 0; i++)
		error = fn(&copy[i], arg);
	return (error);
}

/* lock_init(): the rank and LO_DUPOK of a lock named `name'. */
static int
witness_rank(const char *name, uint32_t *flagsp)
{
	struct lock_rank *r;
	int rank = 0;

	mtx_lock_spin(&witness_mtx);
	if ((r = witness_find(name)) != NULL) {
		rank = r->lr_rank;
		if ((r->lr_flags & LOCK_RANK_DUPOK) != 0)
			*flagsp |= LO_DUPOK;
	}
	mtx_unlock_spin(&witness_mtx);
	return (rank);
}

void
witness_checkorder(struct lock_object *lo)
{
#ifdef VM_INVARIANTS
	struct thread *td = curthread;
	struct lock_object *h;
	int i;

	if (td == NULL)
		return;
	for (i = 0; i < td->td_nheld; i++) {
		h = td->td_held[i];
		if ((h->lo_class->lc_flags & LC_SPINLOCK) != 0 &&
		    (lo->lo_class->lc_flags & LC_SPINLOCK) == 0)
			VM_PANIC("witness: %s lock '%s' acquired while holding "
				 "spin lock '%s'",
			    lo->lo_class->lc_name, lo->lo_name, h->lo_name);
		if ((h->lo_class->lc_flags & LC_SLEEPABLE) == 0 &&
		    (lo->lo_class->lc_flags & LC_SLEEPABLE) != 0)
			VM_PANIC("witness: sleepable %s lock '%s' acquired "
				 "while holding non-sleepable %s lock '%s'",
			    lo->lo_class->lc_name, lo->lo_name,
			    h->lo_class->lc_name, h->lo_name);
		if (h->lo_rank != 0 && lo->lo_rank != 0 &&
		    h->lo_rank >= lo->lo_rank && h != lo &&
		    !((lo->lo_flags & LO_DUPOK) != 0 &&
			strcmp(h->lo_name, lo->lo_name) == 0))
			VM_PANIC("witness: lock order reversal: '%s' (rank %d) "
				 "acquired while holding '%s' (rank %d)",
			    lo->lo_name, lo->lo_rank, h->lo_name, h->lo_rank);
		if (h == lo && (lo->lo_class->lc_flags & LC_SLEEPLOCK) == 0)
			VM_PANIC("witness: recursion on spin lock '%s'",
			    lo->lo_name);
	}
#else
	(void)lo;
#endif
}

void
witness_lock(struct lock_object *lo)
{
#ifdef VM_INVARIANTS
	struct thread *td = curthread;

	if (td == NULL)
		return;
	if (td->td_nheld == TD_MAXHELD)
		VM_PANIC("witness: %s holds more than %d locks", td->td_name,
		    TD_MAXHELD);
	td->td_held[td->td_nheld++] = lo;
#else
	(void)lo;
#endif
}

void
witness_unlock(struct lock_object *lo)
{
#ifdef VM_INVARIANTS
	struct thread *td = curthread;
	int i;

	if (td == NULL)
		return;
	for (i = td->td_nheld - 1; i >= 0; i--) {
		if (td->td_held[i] == lo) {
			td->td_held[i] = td->td_held[--td->td_nheld];
			return;
		}
	}
	/* Shared locks may be released by a thread that did not take them
	 * in our books (lockmgr shared holds); only sleep locks may be. */
	if ((lo->lo_class->lc_flags & LC_SPINLOCK) != 0)
		VM_PANIC("witness: %s releases spin lock '%s' it does not hold",
		    td->td_name, lo->lo_name);
#else
	(void)lo;
#endif
}

void
witness_assert_nosleep(const char *what)
{
	struct thread *td = curthread;

	if (td == NULL)
		VM_PANIC("%s: called from outside a kernel thread", what);
	VM_ASSERT(td->td_nosleep == 0,
	    ("%s: %s may not sleep here (%d non-sleepable locks held)", what,
		td->td_name, td->td_nosleep));
}
