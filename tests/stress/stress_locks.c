/*
 * stress_locks.c: every lock kind at once, at random.
 *
 * Each thread, each iteration, picks one of SL_NLOCKS locks (two of each
 * kind: mtx, spin mutex, qmtx, rw, sx, lockmgr) and a mode (shared for
 * one in three acquisitions of rw, sx and lockmgr), then inside the
 * critical section, at random: yields (any lock but a spin mutex),
 * pauses (locks whose holders may sleep), takes an inner spin mutex,
 * sleeps on the lock's channel with the lock as interlock (with a
 * timeout; other threads wake the channel at random), or spins a little.
 *
 * Checked: no exclusive holder ever meets another holder, no shared
 * holder meets an exclusive one or sees the protected counter move;
 * each lock's counter equals the increments made under it; each lock's
 * profile counts exactly the acquisitions made (msleep() reacquisitions
 * included); every thread finishes and no one is left asleep.
 *
 * Parameters (environment): VMLAB_STRESS_THREADS (default 12),
 * VMLAB_STRESS_ITERS per thread (default 2000; 1000 under sanitizers),
 * VMLAB_STRESS_CPUS (default 4), VMLAB_SEED (default: the clock).  The
 * harness prints the seed at the start and in every failed check.
 */
#include "harness.h"
#include "kern/lock.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "lock_kinds.h"
#include "md/md_atomic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SL_NLOCKS (2 * LK_NKINDS)
#define SL_MAXTHREADS 256

/*
 * One lock under test.
 *
 * Locking key: (l) the lock, held exclusively; (a) atomic.
 */
struct slock {
	struct tlock sl_lock;
	uint64_t sl_counter; /* (l) increments under the lock */
	uint32_t sl_writers; /* (a) exclusive holders inside */
	uint32_t sl_readers; /* (a) shared holders inside */
	int sl_chan;	     /* sleep channel */
	char sl_name[32];
};

struct stress_thread {
	uint64_t st_rng;
	uint64_t st_incs[SL_NLOCKS]; /* counter increments made */
	uint64_t st_acqs[SL_NLOCKS]; /* acquisitions made */
	uint64_t st_sleeps;	     /* sleeps with an interlock */
	int st_id;
};

static struct {
	struct slock s_locks[SL_NLOCKS];
	struct mtx s_inner;	/* taken inside any other lock */
	uint64_t s_inner_count; /* (s_inner) */
	uint32_t s_violations;	/* (a) */
	uint32_t s_finished;	/* (a) */
	int s_nthreads, s_iters, s_ncpus;
	struct stress_thread *s_threads;
} S;

static void
sl_init(struct slock *sl, int kind, int i)
{
	memset(sl, 0, sizeof(*sl));
	snprintf(sl->sl_name, sizeof(sl->sl_name), "stress %s %d",
	    lk_class[kind], i);
	tl_init(&sl->sl_lock, kind, sl->sl_name);
}

static void
violation(struct slock *sl, const char *what)
{
	atomic_fetchadd_int(&S.s_violations, 1);
	test_fail(__FILE__, __LINE__, "%s: %s", sl->sl_name, what);
}

/* Entering and leaving a critical section in our books. */
static void
cs_enter(struct slock *sl, bool shared)
{
	if (shared) {
		atomic_fetchadd_int(&sl->sl_readers, 1);
		if (atomic_load_acq_int(&sl->sl_writers) != 0)
			violation(sl, "reader met a writer");
	} else {
		if (atomic_fetchadd_int(&sl->sl_writers, 1) != 0)
			violation(sl, "two writers");
		if (atomic_load_acq_int(&sl->sl_readers) != 0)
			violation(sl, "writer met a reader");
	}
}

static void
cs_leave(struct slock *sl, bool shared)
{
	if (shared)
		atomic_fetchadd_int(&sl->sl_readers, (uint32_t)-1);
	else
		atomic_fetchadd_int(&sl->sl_writers, (uint32_t)-1);
}

/*
 * One random action inside the critical section of sl.  Returns true if
 * the lock was released meanwhile (msleep() with it as interlock).
 */
static bool
cs_action(struct stress_thread *st, int l, bool shared)
{
	struct slock *sl = &S.s_locks[l];
	uint64_t r = test_rand(&st->st_rng);
	int i, rv;

	switch (r % 8) {
	case 0:
		if (!lk_is_spin(sl->sl_lock.tl_kind))
			kthread_yield();
		break;
	case 1:
		if (lk_sleepable(sl->sl_lock.tl_kind))
			pause_ns("stress", 1 + (r >> 8) % (20 * US));
		break;
	case 2:
		mtx_lock_spin(&S.s_inner);
		S.s_inner_count++;
		mtx_unlock_spin(&S.s_inner);
		break;
	case 3:
		/* The lock is released while we sleep: leave, re-enter. */
		if (lk_is_spin(sl->sl_lock.tl_kind))
			break;
		cs_leave(sl, shared);
		rv = msleep(&sl->sl_chan, tl_obj(&sl->sl_lock), 0, "stresslp",
		    1 + (r >> 8) % (50 * US));
		if (rv != 0 && rv != EWOULDBLOCK)
			violation(sl, "msleep() failed");
		st->st_acqs[l]++;
		st->st_sleeps++;
		cs_enter(sl, shared);
		return (true);
	case 4:
		wakeup((r >> 8) % 2 == 0
			? &sl->sl_chan
			: &S.s_locks[(r >> 16) % SL_NLOCKS].sl_chan);
		break;
	case 5:
		wakeup_one(&sl->sl_chan);
		break;
	default:
		for (i = 0; i < (int)((r >> 8) % 64); i++)
			md_cpu_relax();
		break;
	}
	return (false);
}

static void
stress_thread(void *arg)
{
	struct stress_thread *st = arg;
	struct slock *sl;
	uint64_t r, v;
	bool shared, released;
	int i, l, n;

	for (i = 0; i < S.s_iters; i++) {
		r = test_rand(&st->st_rng);
		l = (int)(r % SL_NLOCKS);
		sl = &S.s_locks[l];
		shared =
		    lk_has_shared(sl->sl_lock.tl_kind) && (r >> 8) % 3 == 0;
		tl_lock(&sl->sl_lock, shared);
		st->st_acqs[l]++;
		cs_enter(sl, shared);
		v = sl->sl_counter;
		released = false;
		for (n = (int)((r >> 16) % 3); n >= 0; n--)
			released |= cs_action(st, l, shared);
		/* Nobody else writes while we hold the lock. */
		if (!released && sl->sl_counter != v)
			violation(sl, "counter moved under a holder");
		if (!shared) {
			sl->sl_counter++;
			st->st_incs[l]++;
		}
		cs_leave(sl, shared);
		tl_unlock(&sl->sl_lock, shared);
		if ((r >> 24) % 16 == 0)
			maybe_yield();
	}
	atomic_fetchadd_int(&S.s_finished, 1);
}

static void
stress_main(void *arg)
{
	struct thread **tds;
	int i;

	(void)arg;
	tds = calloc((size_t)S.s_nthreads, sizeof(*tds));
	for (i = 0; i < S.s_nthreads; i++)
		CHECK(kthread_create(stress_thread, &S.s_threads[i], -1,
			  KTHR_JOINABLE, &tds[i], "stress%d", i) == 0);
	for (i = 0; i < S.s_nthreads; i++)
		kthread_join(tds[i]);
	free(tds);
}

/* An integer parameter from the environment, or `def'. */
static int
env_int(const char *name, int def, int min, int max)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return (def);
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max) {
		fprintf(stderr, "%s=%s: expected an integer from %d to %d\n",
		    name, s, min, max);
		exit(2);
	}
	return ((int)v);
}

/* Profile acquisitions of (name, class), or -1 if there is no row. */
static int64_t
prof_acquisitions(const char *name, const char *class)
{
	struct lock_prof_row *rows = calloc(1024, sizeof(*rows));
	int64_t acq = -1;
	int i, n;

	n = lock_prof_snapshot(rows, 1024);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].lpr_name, name) == 0 &&
		    strcmp(rows[i].lpr_class, class) == 0)
			acq = (int64_t)rows[i].lpr_acquisitions;
	free(rows);
	return (acq);
}

static void
test_stress_locks(void)
{
	uint64_t incs, acqs, sleeps = 0;
	int64_t prof;
	int i, l;

	S.s_nthreads = env_int("VMLAB_STRESS_THREADS", 12, 1, SL_MAXTHREADS);
	S.s_iters = env_int(
	    "VMLAB_STRESS_ITERS", test_sanitizer() ? 1000 : 2000, 1, 100000000);
	S.s_ncpus = env_int("VMLAB_STRESS_CPUS", 4, 1, 64);
	printf("stress_locks: %d threads, %d iterations, %d CPUs, seed %llu\n",
	    S.s_nthreads, S.s_iters, S.s_ncpus,
	    (unsigned long long)test_seed());
	S.s_threads = calloc((size_t)S.s_nthreads, sizeof(*S.s_threads));
	for (i = 0; i < S.s_nthreads; i++) {
		S.s_threads[i].st_id = i;
		S.s_threads[i].st_rng = test_seed() ^ ((uint64_t)i << 48);
	}
	test_boot(S.s_ncpus, NULL);
	for (l = 0; l < SL_NLOCKS; l++)
		sl_init(&S.s_locks[l], l % LK_NKINDS, l / LK_NKINDS);
	mtx_init(&S.s_inner, "stress inner", MTX_SPIN);
	test_run(stress_main, NULL);

	CHECKF(S.s_finished == (uint32_t)S.s_nthreads,
	    "%u of %d threads finished", S.s_finished, S.s_nthreads);
	CHECKF(S.s_violations == 0, "%u exclusion violations", S.s_violations);
	for (l = 0; l < SL_NLOCKS; l++) {
		for (i = 0, incs = 0, acqs = 0; i < S.s_nthreads; i++) {
			incs += S.s_threads[i].st_incs[l];
			acqs += S.s_threads[i].st_acqs[l];
		}
		CHECKF(S.s_locks[l].sl_counter == incs,
		    "%s: counter %llu, %llu increments", S.s_locks[l].sl_name,
		    (unsigned long long)S.s_locks[l].sl_counter,
		    (unsigned long long)incs);
		prof = prof_acquisitions(S.s_locks[l].sl_name,
		    lk_class[S.s_locks[l].sl_lock.tl_kind]);
		CHECKF(prof == (int64_t)acqs,
		    "%s: profile has %lld acquisitions, we made %llu",
		    S.s_locks[l].sl_name, (long long)prof,
		    (unsigned long long)acqs);
		sleepq_lock(&S.s_locks[l].sl_chan);
		CHECK(sleepq_count(&S.s_locks[l].sl_chan, 0) == 0);
		sleepq_release(&S.s_locks[l].sl_chan);
		tl_destroy(&S.s_locks[l].sl_lock);
	}
	for (i = 0; i < S.s_nthreads; i++)
		sleeps += S.s_threads[i].st_sleeps;
	printf("stress_locks: %llu sleeps with an interlock, %llu inner "
	       "spin acquisitions\n",
	    (unsigned long long)sleeps, (unsigned long long)S.s_inner_count);
	mtx_destroy(&S.s_inner);
	test_shutdown();
	free(S.s_threads);
}

static const struct test_case cases[] = {
	TEST_CASE(test_stress_locks),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
