/*
 * test_sleepq.c: sleep queues, sleep/wakeup, timeouts and pause_ns().
 *
 * Cases:
 *  - producer/consumer through a bounded buffer with every kind of
 *    interlock; holders sometimes yield inside the critical section so
 *    that threads queue on the interlock itself (no lost wakeups: every
 *    item is consumed exactly once);
 *  - msleep() whose interlock has a sleeping waiter (deterministic, one
 *    CPU): releasing the interlock must wake that waiter;
 *  - wakeup_one() wakes exactly one thread, the oldest sleeper;
 *  - timeouts: EWOULDBLOCK after at least the timeout with the interlock
 *    held again; a wakeup first returns 0; a timeout wakes only its own
 *    thread; a disarmed timeout never ends a later sleep;
 *  - pause_ns() sleeps at least its duration;
 *  - wakeups racing timeouts never lose a thread;
 *  - wakeup() of a channel whose last sleeper, once woken, at once sleeps
 *    on a lock: the woken thread is not "woken" again off the lock.
 *
 * On the simulated machine the timing checks are exact in virtual time
 * (kern_test.h): a timeout fires at its deadline, not before, and its
 * thread runs within TEST_SIM_LATENCY_NS of it; "nothing else woke" is
 * checked at the instant by which a wrong wake-up would have shown.
 */
#include "harness.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "lock_kinds.h"
#include "md/md_atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Bounds every wait for another thread: turns a hang into a failure. */
#define WAIT_NS (60ull * 1000000000ull)

/* Waits (sleeping 50 us at a time) until *p >= v; false on deadline. */
static bool
wait_for(const uint32_t *p, uint32_t v)
{
	return (test_wait_for(p, v, WAIT_NS));
}

/* Threads asleep on sub-queue 0 of `chan'. */
static uint32_t
sleepers(const void *chan)
{
	uint32_t n;

	sleepq_lock(chan);
	n = sleepq_count(chan, 0);
	sleepq_release(chan);
	return (n);
}

/*
 * Threads asleep waiting for lock `lk' (writers' sub-queue): locks sleep
 * on their turnstile channel, or (lockmgr) on their address.
 */
static uint32_t
lock_sleepers(const void *lk)
{
	return (sleepers(lk) + sleepers(TS_WCHAN(lk)));
}

/* Waits until `n' threads sleep on `chan'. */
static bool
wait_sleepers(const void *chan, uint32_t n)
{
	uint64_t deadline = md_nanotime() + WAIT_NS;

	while (sleepers(chan) != n) {
		if (md_nanotime() > deadline)
			return (false);
		pause_ns("waitslp", 50 * US);
	}
	return (true);
}

/*
 * Producer/consumer.  Every produced value is consumed exactly once;
 * producers sleep while the ring is full, consumers while it is empty,
 * each signalled with wakeup_one() per item.
 *
 * Locking key: (l) pc_lock; (c) constant.
 */
#define PC_CAP 4

struct pc_state {
	struct tlock pc_lock;
	uint64_t pc_buf[PC_CAP]; /* (l) ring */
	uint32_t pc_head;	 /* (l) */
	uint32_t pc_count;	 /* (l) */
	uint32_t pc_taken;	 /* (l) items consumed */
	uint32_t pc_total;	 /* (c) */
	uint32_t pc_nitems;	 /* (c) per producer */
	uint8_t *pc_seen;	 /* (l) times each value was consumed */
	uint64_t pc_sum;	 /* (l) */
	int pc_notfull;		 /* channel */
	int pc_notempty;	 /* channel */
	uint32_t pc_badrv;	 /* (a) msleep() returned non-zero */
};

struct pc_arg {
	struct pc_state *pa_s;
	uint32_t pa_id;
	uint64_t pa_rng;
};

/* Sometimes yields while holding the interlock (not a spin mutex). */
static void
pc_maybe_yield(struct pc_arg *pa)
{
	if (!lk_is_spin(pa->pa_s->pc_lock.tl_kind) &&
	    test_rand(&pa->pa_rng) % 8 == 0)
		kthread_yield();
}

static void
pc_sleep(struct pc_state *s, void *chan, const char *wmesg)
{
	if (msleep(chan, tl_obj(&s->pc_lock), 0, wmesg, 0) != 0)
		atomic_fetchadd_int(&s->pc_badrv, 1);
}

static void
pc_producer(void *arg)
{
	struct pc_arg *pa = arg;
	struct pc_state *s = pa->pa_s;
	uint32_t j;

	for (j = 0; j < s->pc_nitems; j++) {
		tl_xlock(&s->pc_lock);
		while (s->pc_count == PC_CAP)
			pc_sleep(s, &s->pc_notfull, "pcfull");
		CHECK(tl_xowned(&s->pc_lock));
		s->pc_buf[(s->pc_head + s->pc_count) % PC_CAP] =
		    (uint64_t)pa->pa_id * s->pc_nitems + j;
		s->pc_count++;
		pc_maybe_yield(pa);
		wakeup_one(&s->pc_notempty);
		tl_xunlock(&s->pc_lock);
	}
}

static void
pc_consumer(void *arg)
{
	struct pc_arg *pa = arg;
	struct pc_state *s = pa->pa_s;
	uint64_t v;

	for (;;) {
		tl_xlock(&s->pc_lock);
		while (s->pc_count == 0 && s->pc_taken < s->pc_total)
			pc_sleep(s, &s->pc_notempty, "pcempty");
		CHECK(tl_xowned(&s->pc_lock));
		if (s->pc_taken == s->pc_total) {
			tl_xunlock(&s->pc_lock);
			break;
		}
		v = s->pc_buf[s->pc_head];
		s->pc_head = (s->pc_head + 1) % PC_CAP;
		s->pc_count--;
		s->pc_taken++;
		s->pc_seen[v]++;
		s->pc_sum += v;
		/* The last item: release the consumers still waiting. */
		if (s->pc_taken == s->pc_total)
			wakeup(&s->pc_notempty);
		pc_maybe_yield(pa);
		wakeup_one(&s->pc_notfull);
		tl_xunlock(&s->pc_lock);
	}
}

#define PC_PRODUCERS 4
#define PC_CONSUMERS 4

static void
pc_main(void *arg)
{
	struct pc_state *s = arg;
	struct pc_arg args[PC_PRODUCERS + PC_CONSUMERS];
	struct thread *tds[PC_PRODUCERS + PC_CONSUMERS];
	int i, n = PC_PRODUCERS + PC_CONSUMERS;

	for (i = 0; i < n; i++) {
		args[i].pa_s = s;
		args[i].pa_id =
		    (uint32_t)(i < PC_PRODUCERS ? i : i - PC_PRODUCERS);
		args[i].pa_rng = test_seed() + (uint64_t)i;
		CHECK(
		    kthread_create(i < PC_PRODUCERS ? pc_producer : pc_consumer,
			&args[i], -1, KTHR_JOINABLE, &tds[i], "pc%d", i) == 0);
	}
	for (i = 0; i < n; i++)
		kthread_join(tds[i]);
}

static void
test_producer_consumer(void)
{
	struct pc_state *s;
	uint32_t v, bad;
	int kind;

	for (kind = 0; kind < LK_NKINDS; kind++) {
		s = calloc(1, sizeof(*s));
		s->pc_nitems = test_sanitizer() ? 150 : 1000;
		s->pc_total = PC_PRODUCERS * s->pc_nitems;
		s->pc_seen = calloc(s->pc_total, 1);
		test_boot(2, NULL);
		tl_init(&s->pc_lock, kind, "test ilock");
		test_run(pc_main, s);
		tl_destroy(&s->pc_lock);
		test_shutdown();
		CHECKF(s->pc_taken == s->pc_total, "%s: %u of %u items taken",
		    lk_class[kind], s->pc_taken, s->pc_total);
		CHECKF(s->pc_count == 0, "%s: %u items left", lk_class[kind],
		    s->pc_count);
		CHECKF(s->pc_badrv == 0, "%s: %u sleeps returned an error",
		    lk_class[kind], s->pc_badrv);
		for (v = 0, bad = 0; v < s->pc_total; v++)
			if (s->pc_seen[v] != 1)
				bad++;
		CHECKF(bad == 0, "%s: %u values not consumed exactly once",
		    lk_class[kind], bad);
		CHECKF(
		    s->pc_sum == (uint64_t)s->pc_total * (s->pc_total - 1) / 2,
		    "%s: sum %llu", lk_class[kind],
		    (unsigned long long)s->pc_sum);
		free(s->pc_seen);
		free(s);
	}
}

/*
 * msleep() with an interlock that has a sleeping waiter.  A and B are
 * bound to one CPU: A takes the lock and yields until B has run; B runs
 * until it blocks on the lock, so once A sees b_trying, B sleeps on the
 * lock (its owner A was not running).  A then sleeps with the lock as
 * interlock: the release must hand the lock to B (which takes the lock's
 * own sleep-queue chain), B sets the condition and wakes A.
 */
struct ci_state {
	struct tlock ci_lock;
	uint32_t ci_btrying; /* (a) */
	uint32_t ci_waiters; /* sleepers on the lock A saw */
	int ci_cond;	     /* (l) */
	int ci_chan;	     /* channel */
	int ci_rv;
	bool ci_owned;
};

static void
ci_b(void *arg)
{
	struct ci_state *s = arg;

	atomic_store_rel_int(&s->ci_btrying, 1);
	tl_xlock(&s->ci_lock);
	s->ci_cond = 1;
	wakeup(&s->ci_chan);
	tl_xunlock(&s->ci_lock);
}

static void
ci_a(void *arg)
{
	struct ci_state *s = arg;
	struct thread *b;

	tl_xlock(&s->ci_lock);
	CHECK(kthread_create(ci_b, s, curcpu, KTHR_BOUND | KTHR_JOINABLE, &b,
		  "ci_b") == 0);
	while (atomic_load_acq_int(&s->ci_btrying) == 0)
		kthread_yield();
	s->ci_waiters = lock_sleepers(tl_obj(&s->ci_lock));
	s->ci_rv = 0;
	while (s->ci_cond == 0 && s->ci_rv == 0)
		s->ci_rv = msleep(&s->ci_chan, tl_obj(&s->ci_lock), 0, "ci", 0);
	s->ci_owned = tl_xowned(&s->ci_lock);
	tl_xunlock(&s->ci_lock);
	kthread_join(b);
}

static void
ci_main(void *arg)
{
	struct thread *a;

	CHECK(kthread_create(
		  ci_a, arg, 1, KTHR_BOUND | KTHR_JOINABLE, &a, "ci_a") == 0);
	kthread_join(a);
}

static void
test_sleep_contested_interlock(void)
{
	struct ci_state s;
	int kind;

	for (kind = 0; kind < LK_NKINDS; kind++) {
		if (lk_is_spin(kind))
			continue; /* a spin mutex holder cannot yield */
		memset(&s, 0, sizeof(s));
		test_boot(2, NULL);
		tl_init(&s.ci_lock, kind, "test ilock");
		test_run(ci_main, &s);
		tl_destroy(&s.ci_lock);
		test_shutdown();
		CHECKF(s.ci_waiters == 1, "%s: %u sleepers on the lock",
		    lk_class[kind], s.ci_waiters);
		CHECKF(s.ci_cond == 1 && s.ci_rv == 0, "%s: cond %d rv %d",
		    lk_class[kind], s.ci_cond, s.ci_rv);
		CHECKF(s.ci_owned, "%s: interlock not held after msleep()",
		    lk_class[kind]);
	}
}

/*
 * wakeup_one() wakes exactly one thread, the oldest sleeper.  Sleepers
 * note their arrival under the interlock and sleep atomically with
 * respect to it, so arrival order is sleep-queue order.
 */
#define FIFO_N 12

struct fifo_state {
	struct mtx fs_mtx;
	uint32_t fs_narrived;	     /* (m) */
	uint32_t fs_arrival[FIFO_N]; /* (m) ids in arrival order */
	uint32_t fs_nwoken;	     /* (a) */
	uint32_t fs_woken[FIFO_N];   /* ids in wake order */
	uint32_t fs_nrecorded;	     /* (a) entries of fs_woken set */
	int fs_chan;
};

struct fifo_arg {
	struct fifo_state *fa_s;
	uint32_t fa_id;
};

static void
fifo_sleeper(void *arg)
{
	struct fifo_arg *fa = arg;
	struct fifo_state *s = fa->fa_s;
	uint32_t k;

	mtx_lock(&s->fs_mtx);
	s->fs_arrival[s->fs_narrived++] = fa->fa_id;
	CHECK(
	    msleep(&s->fs_chan, &s->fs_mtx.lock_object, PDROP, "fifo", 0) == 0);
	CHECK(!mtx_owned(&s->fs_mtx));
	k = atomic_fetchadd_int(&s->fs_nwoken, 1);
	s->fs_woken[k] = fa->fa_id;
	/* Release: publish fs_woken[k]. */
	atomic_fetchadd_int(&s->fs_nrecorded, 1);
}

static void
fifo_main(void *arg)
{
	struct fifo_state *s = arg;
	struct fifo_arg args[FIFO_N];
	struct thread *tds[FIFO_N];
	uint64_t t;
	uint32_t k;
	int i;

	for (i = 0; i < FIFO_N; i++) {
		args[i].fa_s = s;
		args[i].fa_id = (uint32_t)i;
		CHECK(kthread_create(fifo_sleeper, &args[i], -1, KTHR_JOINABLE,
			  &tds[i], "fifo%d", i) == 0);
	}
	CHECK(wait_sleepers(&s->fs_chan, FIFO_N));
	for (k = 0; k < FIFO_N; k++) {
		t = md_nanotime();
		wakeup_one(&s->fs_chan);
		CHECK(wait_for(&s->fs_nrecorded, k + 1));
		/* Exactly one left the queue, and no one else wakes later. */
		CHECKF(sleepers(&s->fs_chan) == FIFO_N - k - 1,
		    "after wakeup_one %u: %u sleepers", k,
		    sleepers(&s->fs_chan));
		/*
		 * Simulated machine: a second thread woken by this call would
		 * run within TEST_SIM_LATENCY_NS of it; look at that instant.
		 * Host: wait 2 ms, which a late host thread may outlast.
		 */
		if (test_sim())
			(void)test_sleep_until(t + TEST_SIM_LATENCY_NS);
		else
			pause_ns("fifo", 2 * MS);
		CHECKF(atomic_load_acq_int(&s->fs_nwoken) == k + 1,
		    "wakeup_one %u woke %u threads", k,
		    atomic_load_acq_int(&s->fs_nwoken) - k);
		CHECKF(s->fs_woken[k] == s->fs_arrival[k],
		    "wakeup_one %u woke thread %u, oldest sleeper was %u", k,
		    s->fs_woken[k], s->fs_arrival[k]);
	}
	for (i = 0; i < FIFO_N; i++)
		kthread_join(tds[i]);
}

static void
test_wakeup_one_fifo(void)
{
	struct fifo_state s;

	memset(&s, 0, sizeof(s));
	test_boot(2, NULL);
	mtx_init(&s.fs_mtx, "test fifo", MTX_DEF);
	test_run(fifo_main, &s);
	mtx_destroy(&s.fs_mtx);
	test_shutdown();
	CHECK(s.fs_narrived == FIFO_N && s.fs_nwoken == FIFO_N);
}

/*
 * Timeouts.  Nobody wakes to_chan: every sleep must time out, no earlier
 * than its timeout, with the interlock held again.  On the simulated
 * machine also no later than TEST_SIM_LATENCY_NS after it (the sleeper
 * takes its timeout at its deadline, the interlock after it).
 */
#define TO_N 16

struct to_state {
	struct mtx ts_mtx;
	int ts_chan;
	uint64_t ts_timo[TO_N]; /* (c) */
	uint64_t ts_elapsed[TO_N];
	int ts_rv[TO_N];
	bool ts_owned[TO_N];
	bool ts_interlock[TO_N]; /* (c) sleep with ts_mtx */
};

struct to_arg {
	struct to_state *ta_s;
	int ta_i;
};

static void
to_sleeper(void *arg)
{
	struct to_arg *ta = arg;
	struct to_state *s = ta->ta_s;
	uint64_t t0;
	int i = ta->ta_i;

	if (s->ts_interlock[i]) {
		mtx_lock(&s->ts_mtx);
		t0 = md_nanotime();
		s->ts_rv[i] = msleep(&s->ts_chan, &s->ts_mtx.lock_object, 0,
		    "timo", s->ts_timo[i]);
		s->ts_elapsed[i] = md_nanotime() - t0;
		s->ts_owned[i] = mtx_owned(&s->ts_mtx);
		mtx_unlock(&s->ts_mtx);
	} else {
		t0 = md_nanotime();
		s->ts_rv[i] =
		    msleep(&s->ts_chan, NULL, 0, "timo", s->ts_timo[i]);
		s->ts_elapsed[i] = md_nanotime() - t0;
		s->ts_owned[i] = true;
	}
}

static void
to_main(void *arg)
{
	struct to_state *s = arg;
	struct to_arg args[TO_N];
	struct thread *tds[TO_N];
	int i;

	for (i = 0; i < TO_N; i++) {
		args[i].ta_s = s;
		args[i].ta_i = i;
		CHECK(kthread_create(to_sleeper, &args[i], -1, KTHR_JOINABLE,
			  &tds[i], "to%d", i) == 0);
	}
	for (i = 0; i < TO_N; i++)
		kthread_join(tds[i]);
}

static void
test_sleep_timeout(void)
{
	struct to_state *s = calloc(1, sizeof(*s));
	uint64_t rng = test_seed();
	int i;

	for (i = 0; i < TO_N; i++) {
		/* 50 us .. 20 ms, in random order of expiry. */
		s->ts_timo[i] = 50 * US + test_rand(&rng) % (20 * MS);
		s->ts_interlock[i] = (i % 2) == 0;
	}
	test_boot(2, NULL);
	mtx_init(&s->ts_mtx, "test timo", MTX_DEF);
	test_run(to_main, s);
	mtx_destroy(&s->ts_mtx);
	test_shutdown();
	for (i = 0; i < TO_N; i++) {
		CHECKF(s->ts_rv[i] == EWOULDBLOCK, "sleeper %d: rv %d", i,
		    s->ts_rv[i]);
		CHECKF(s->ts_elapsed[i] >= s->ts_timo[i],
		    "sleeper %d: timeout %llu ns returned after %llu ns", i,
		    (unsigned long long)s->ts_timo[i],
		    (unsigned long long)s->ts_elapsed[i]);
		if (test_sim())
			CHECKF(s->ts_elapsed[i] <=
				s->ts_timo[i] + TEST_SIM_LATENCY_NS,
			    "sleeper %d: timeout %llu ns returned %llu ns "
			    "late in virtual time",
			    i, (unsigned long long)s->ts_timo[i],
			    (unsigned long long)(s->ts_elapsed[i] -
				s->ts_timo[i]));
		CHECKF(s->ts_owned[i], "sleeper %d: interlock not held", i);
	}
	free(s);
}

/*
 * A wakeup before the timeout returns 0; a timeout wakes only its own
 * thread; the disarmed timeout of a woken sleep never ends a later one.
 */
struct wt_state {
	struct mtx ws_mtx;
	int ws_chan;	  /* first sleep */
	int ws_chan2;	  /* second sleep, no timeout */
	uint64_t ws_timo; /* (c) first sleep's timeout */
	int ws_rv1, ws_rv2;
	uint64_t ws_elapsed1;
	uint32_t ws_done; /* (a) */
};

static void
wt_sleeper(void *arg)
{
	struct wt_state *s = arg;
	uint64_t t0;

	mtx_lock(&s->ws_mtx);
	t0 = md_nanotime();
	s->ws_rv1 =
	    msleep(&s->ws_chan, &s->ws_mtx.lock_object, 0, "wt1", s->ws_timo);
	s->ws_elapsed1 = md_nanotime() - t0;
	s->ws_rv2 = msleep(&s->ws_chan2, &s->ws_mtx.lock_object, 0, "wt2", 0);
	mtx_unlock(&s->ws_mtx);
	atomic_store_rel_int(&s->ws_done, 1);
}

/*
 * One round: returns the first sleep's result.  With `stale', waits past
 * the first sleep's deadline while the thread sleeps its second sleep.
 *
 * On the simulated machine exactly past it: the first sleep armed its
 * timeout before we saw it asleep, so its deadline is at most `deadline'
 * below; had the woken sleep left that timeout armed, the sleeper's CPU
 * would have fired it then and the sleeper would be off ws_chan2 within
 * TEST_SIM_LATENCY_NS.  We look at deadline + TEST_SIM_LATENCY_NS.  On
 * the host we wait twice the timeout, which a late host thread may
 * outlast.
 */
static int
wt_round(struct wt_state *s, uint64_t timo, bool stale)
{
	struct thread *td;
	uint64_t deadline;

	s->ws_timo = timo;
	s->ws_done = 0;
	CHECK(kthread_create(wt_sleeper, s, -1, KTHR_JOINABLE, &td, "wt") == 0);
	CHECK(wait_sleepers(&s->ws_chan, 1));
	deadline = md_nanotime() + timo;
	mtx_lock(&s->ws_mtx);
	wakeup(&s->ws_chan);
	mtx_unlock(&s->ws_mtx);
	CHECK(wait_sleepers(&s->ws_chan2, 1));
	if (s->ws_rv1 == 0 && stale) {
		/* Past the first deadline: the old timeout must not fire. */
		if (test_sim())
			(void)test_sleep_until(deadline + TEST_SIM_LATENCY_NS);
		else
			pause_ns("wtpast", 2 * timo);
		CHECKF(sleepers(&s->ws_chan2) == 1,
		    "a disarmed %llu ns timeout woke a later sleep",
		    (unsigned long long)timo);
		CHECK(atomic_load_acq_int(&s->ws_done) == 0);
	} else if (s->ws_rv1 != 0)
		CHECKF(s->ws_rv1 == EWOULDBLOCK && s->ws_elapsed1 >= timo,
		    "rv %d after %llu ns", s->ws_rv1,
		    (unsigned long long)s->ws_elapsed1);
	mtx_lock(&s->ws_mtx);
	wakeup(&s->ws_chan2);
	mtx_unlock(&s->ws_mtx);
	kthread_join(td);
	CHECK(s->ws_rv2 == 0 && s->ws_done == 1);
	return (s->ws_rv1);
}

static void
wt_main(void *arg)
{
	struct wt_state *s = arg;
	int i, woken_first = 0;

	/* A long timeout: the wakeup surely comes first. */
	CHECK(wt_round(s, 10000 * MS, false) == 0);
	/*
	 * Short timeouts: the wakeup usually comes first (we need one such
	 * round to check that the disarmed timeout stays quiet).
	 */
	for (i = 0; i < 20 && woken_first < 3; i++)
		if (wt_round(s, 30 * MS, true) == 0)
			woken_first++;
	CHECKF(
	    woken_first > 0, "no wakeup beat a 30 ms timeout in %d rounds", i);
}

static void
test_wakeup_before_timeout(void)
{
	struct wt_state s;

	memset(&s, 0, sizeof(s));
	test_boot(2, NULL);
	mtx_init(&s.ws_mtx, "test wt", MTX_DEF);
	test_run(wt_main, &s);
	mtx_destroy(&s.ws_mtx);
	test_shutdown();
}

/*
 * Two sleepers on one channel: the short timeout wakes only its own.  On
 * the simulated machine exactly: the short sleep ends at its deadline
 * (within TEST_SIM_LATENCY_NS), and the long sleeper is still asleep
 * TEST_SIM_LATENCY_NS after that, when a wake-up by the same timeout
 * would have shown.
 */
struct own_state {
	int os_chan;
	int os_rv[2];
	uint64_t os_end[2]; /* virtual time the sleep ended */
	uint64_t os_elapsed[2];
	uint32_t os_done[2]; /* (a) */
};

struct own_arg {
	struct own_state *oa_s;
	int oa_i;
	uint64_t oa_timo;
};

static void
own_sleeper(void *arg)
{
	struct own_arg *oa = arg;
	struct own_state *s = oa->oa_s;
	uint64_t t0 = md_nanotime();

	s->os_rv[oa->oa_i] = msleep(&s->os_chan, NULL, 0, "own", oa->oa_timo);
	s->os_end[oa->oa_i] = md_nanotime();
	s->os_elapsed[oa->oa_i] = s->os_end[oa->oa_i] - t0;
	/* Release: publish the fields above. */
	atomic_store_rel_int(&s->os_done[oa->oa_i], 1);
}

static void
own_main(void *arg)
{
	struct own_state *s = arg;
	struct own_arg args[2] = { { s, 0, 10000 * MS }, { s, 1, 1 * MS } };
	struct thread *tds[2];
	int i;

	/* The long sleep first: it must be asleep when the short one ends. */
	for (i = 0; i < 2; i++) {
		CHECK(
		    kthread_create(own_sleeper, &args[i], i,
			KTHR_BOUND | KTHR_JOINABLE, &tds[i], "own%d", i) == 0);
		CHECK(wait_sleepers(&s->os_chan, 1));
	}
	CHECK(wait_for(&s->os_done[1], 1));
	CHECK(s->os_rv[1] == EWOULDBLOCK);
	CHECKF(s->os_elapsed[1] >= args[1].oa_timo,
	    "a %llu ns timeout ended the sleep after %llu ns",
	    (unsigned long long)args[1].oa_timo,
	    (unsigned long long)s->os_elapsed[1]);
	if (test_sim()) {
		CHECKF(
		    s->os_elapsed[1] <= args[1].oa_timo + TEST_SIM_LATENCY_NS,
		    "a %llu ns timeout ended the sleep %llu ns late",
		    (unsigned long long)args[1].oa_timo,
		    (unsigned long long)(s->os_elapsed[1] - args[1].oa_timo));
		(void)test_sleep_until(s->os_end[1] + TEST_SIM_LATENCY_NS);
	}
	CHECKF(sleepers(&s->os_chan) == 1, "a timeout woke %u other sleepers",
	    1 - sleepers(&s->os_chan));
	CHECK(atomic_load_acq_int(&s->os_done[0]) == 0);
	wakeup(&s->os_chan);
	for (i = 0; i < 2; i++)
		kthread_join(tds[i]);
	CHECK(s->os_rv[0] == 0);
}

static void
test_timeout_wakes_own_thread(void)
{
	struct own_state s;

	memset(&s, 0, sizeof(s));
	test_boot(2, NULL);
	test_run(own_main, &s);
	test_shutdown();
}

/*
 * pause_ns() sleeps at least its duration, alone or with others; on the
 * simulated machine at most TEST_SIM_LATENCY_NS more.
 */
#define PAUSE_N 6

static const uint64_t pause_durations[PAUSE_N] = { 0, 1, 10 * US, 100 * US,
	1 * MS, 5 * MS };

struct pause_arg {
	uint64_t pa_ns;
	uint64_t pa_elapsed;
};

static void
pause_check(uint64_t ns, uint64_t elapsed)
{
	CHECKF(elapsed >= ns, "pause_ns(%llu) returned after %llu ns",
	    (unsigned long long)ns, (unsigned long long)elapsed);
	if (test_sim())
		CHECKF(elapsed <= ns + TEST_SIM_LATENCY_NS,
		    "pause_ns(%llu) returned after %llu ns of virtual time",
		    (unsigned long long)ns, (unsigned long long)elapsed);
}

static void
pause_thread(void *arg)
{
	struct pause_arg *pa = arg;
	uint64_t t0 = md_nanotime();

	pause_ns("ptest", pa->pa_ns);
	pa->pa_elapsed = md_nanotime() - t0;
}

static void
pause_main(void *arg)
{
	struct pause_arg *pa = arg;
	struct thread *tds[PAUSE_N];
	uint64_t t0;
	int i;

	/* One at a time in this thread. */
	for (i = 0; i < PAUSE_N; i++) {
		t0 = md_nanotime();
		pause_ns("pmain", pause_durations[i]);
		pause_check(pause_durations[i], md_nanotime() - t0);
	}
	/* Concurrently, all on one CPU (one timeout list). */
	for (i = 0; i < PAUSE_N; i++) {
		pa[i].pa_ns = pause_durations[PAUSE_N - 1 - i];
		CHECK(kthread_create(pause_thread, &pa[i], 1,
			  KTHR_BOUND | KTHR_JOINABLE, &tds[i], "pause%d",
			  i) == 0);
	}
	for (i = 0; i < PAUSE_N; i++)
		kthread_join(tds[i]);
}

static void
test_pause(void)
{
	struct pause_arg pa[PAUSE_N];
	int i;

	memset(pa, 0, sizeof(pa));
	test_boot(2, NULL);
	test_run(pause_main, pa);
	test_shutdown();
	for (i = 0; i < PAUSE_N; i++)
		pause_check(pa[i].pa_ns, pa[i].pa_elapsed);
}

/*
 * Wakeups racing timeouts: sleepers with tiny timeouts, a waker calling
 * wakeup() and wakeup_one() at random.  Every sleep returns 0 or
 * EWOULDBLOCK, every thread finishes and no sleeper is left behind.
 */
#define RACE_N 8

struct race_state {
	struct mtx rs_mtx;
	int rs_chan;
	uint32_t rs_rounds;   /* (c) per sleeper */
	uint32_t rs_left;     /* (a) sleepers not finished */
	uint32_t rs_bad;      /* (a) */
	uint32_t rs_timedout; /* (a) */
	uint32_t rs_woken;    /* (a) */
};

struct race_arg {
	struct race_state *ra_s;
	uint64_t ra_rng;
};

static void
race_sleeper(void *arg)
{
	struct race_arg *ra = arg;
	struct race_state *s = ra->ra_s;
	uint32_t r;
	int rv;

	for (r = 0; r < s->rs_rounds; r++) {
		mtx_lock(&s->rs_mtx);
		rv = msleep(&s->rs_chan, &s->rs_mtx.lock_object, 0, "race",
		    1 + test_rand(&ra->ra_rng) % (50 * US));
		if (!mtx_owned(&s->rs_mtx))
			atomic_fetchadd_int(&s->rs_bad, 1);
		mtx_unlock(&s->rs_mtx);
		if (rv == 0)
			atomic_fetchadd_int(&s->rs_woken, 1);
		else if (rv == EWOULDBLOCK)
			atomic_fetchadd_int(&s->rs_timedout, 1);
		else
			atomic_fetchadd_int(&s->rs_bad, 1);
	}
	atomic_fetchadd_int(&s->rs_left, (uint32_t)-1);
}

static void
race_waker(void *arg)
{
	struct race_arg *ra = arg;
	struct race_state *s = ra->ra_s;
	uint64_t r;

	while (atomic_load_acq_int(&s->rs_left) != 0) {
		r = test_rand(&ra->ra_rng);
		mtx_lock(&s->rs_mtx);
		if (r % 2 == 0)
			wakeup(&s->rs_chan);
		else
			wakeup_one(&s->rs_chan);
		mtx_unlock(&s->rs_mtx);
		if ((r >> 8) % 4 == 0)
			pause_ns("rwaker", 1 + (r >> 16) % (30 * US));
		else
			kthread_yield();
	}
}

static void
race_main(void *arg)
{
	struct race_state *s = arg;
	struct race_arg args[RACE_N + 2];
	struct thread *tds[RACE_N + 2];
	int i;

	s->rs_left = RACE_N;
	for (i = 0; i < RACE_N + 2; i++) {
		args[i].ra_s = s;
		args[i].ra_rng = test_seed() * 31 + (uint64_t)i;
		CHECK(kthread_create(i < RACE_N ? race_sleeper : race_waker,
			  &args[i], -1, KTHR_JOINABLE, &tds[i], "race%d",
			  i) == 0);
	}
	for (i = 0; i < RACE_N + 2; i++)
		kthread_join(tds[i]);
	CHECK(sleepers(&s->rs_chan) == 0);
}

static void
test_wakeup_timeout_race(void)
{
	struct race_state s;

	memset(&s, 0, sizeof(s));
	s.rs_rounds = test_sanitizer() ? 150 : 1000;
	test_boot(2, NULL);
	mtx_init(&s.rs_mtx, "test race", MTX_DEF);
	test_run(race_main, &s);
	mtx_destroy(&s.rs_mtx);
	test_shutdown();
	CHECK(s.rs_left == 0);
	CHECKF(s.rs_bad == 0, "%u bad sleeps", s.rs_bad);
	CHECKF(s.rs_woken + s.rs_timedout == RACE_N * s.rs_rounds,
	    "%u woken + %u timed out != %u", s.rs_woken, s.rs_timedout,
	    RACE_N * s.rs_rounds);
}

/*
 * wakeup() of a channel whose only sleeper, once woken, at once blocks
 * on a qmtx the waker holds.  The woken thread takes the channel's sleep
 * queue with it and lends it to the qmtx: the wakeup must not look at
 * that queue again (it would "wake" the thread off the qmtx, without
 * the lock).  The sleeper's CPU is idle, so it runs while the waker is
 * still inside wakeup(), waking that CPU.
 */
struct hq_state {
	struct qmtx hs_q;
	int hs_chan;
	uint32_t hs_round;  /* (a) rounds the sleeper has entered */
	uint32_t hs_rounds; /* (c) */
};

static void
hq_sleeper(void *arg)
{
	struct hq_state *s = arg;
	uint32_t r;

	for (r = 0; r < s->hs_rounds; r++) {
		sleepq_lock(&s->hs_chan);
		atomic_store_rel_int(&s->hs_round, r + 1);
		sleepq_add(&s->hs_chan, "hqchan", 0, 0);
		(void)sleepq_wait();
		qmtx_lock(&s->hs_q);
		CHECK(qmtx_owned(&s->hs_q));
		qmtx_unlock(&s->hs_q);
	}
}

static void
hq_waker(void *arg)
{
	struct hq_state *s = arg;
	uint32_t r;

	for (r = 0; r < s->hs_rounds; r++) {
		CHECK(wait_sleepers(&s->hs_chan, 1));
		qmtx_lock(&s->hs_q);
		wakeup(&s->hs_chan);
		/* Hold the qmtx until the sleeper queues on it. */
		while (lock_sleepers(&s->hs_q) == 0)
			pause_ns("hqwait", 1 * US);
		qmtx_unlock(&s->hs_q);
	}
}

static void
hq_main(void *arg)
{
	struct thread *tds[2];

	CHECK(kthread_create(hq_sleeper, arg, 1, KTHR_BOUND | KTHR_JOINABLE,
		  &tds[0], "hqsleeper") == 0);
	CHECK(kthread_create(hq_waker, arg, 0, KTHR_BOUND | KTHR_JOINABLE,
		  &tds[1], "hqwaker") == 0);
	kthread_join(tds[0]);
	kthread_join(tds[1]);
}

static void
test_wakeup_handoff_race(void)
{
	struct hq_state s;

	memset(&s, 0, sizeof(s));
	s.hs_rounds = test_sanitizer() ? 300 : 3000;
	test_boot(2, NULL);
	qmtx_init(&s.hs_q, "test handoff");
	test_run(hq_main, &s);
	qmtx_destroy(&s.hs_q);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_sleep_contested_interlock),
	TEST_CASE(test_producer_consumer),
	TEST_CASE(test_wakeup_one_fifo),
	TEST_CASE(test_sleep_timeout),
	TEST_CASE(test_wakeup_before_timeout),
	TEST_CASE(test_timeout_wakes_own_thread),
	TEST_CASE(test_pause),
	TEST_CASE(test_wakeup_timeout_race),
	TEST_CASE(test_wakeup_handoff_race),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
