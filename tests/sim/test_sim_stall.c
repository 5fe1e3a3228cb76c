/*
 * test_sim_stall.c: a lost wake-up on the simulated machine fails fast.
 *
 * A thread that sleeps on a channel nobody wakes, without a timeout,
 * stalls the run that waits for it.  The engine must end such a run at
 * once with exit status VMLAB_EXIT_STALL and a report naming the thread,
 * its wait channel (wmesg and address), the locks it holds and the seed,
 * instead of hanging until the test's time-out:
 * - with the page daemons off, no timer is left: detected at the moment
 *   the last CPU idles;
 * - with them on, their timers keep the machine ticking: detected once
 *   only they ran for STALL_GRACE_NS of virtual time;
 * - explored: a check-then-sleep race (the wake-up can come between the
 *   check and the sleep) is found as a stalled seed, that seed alone
 *   stalls again, and the correct version (check under the interlock)
 *   never stalls;
 * - legitimate waits are not stalls: a sleep with a timeout longer than
 *   the grace, and a sleeper that only a daemon wakes, after a while.
 * Each run is a forked child (explore.h) whose stderr the test reads.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "explore.h"
#include "harness.h"
#include "kern/mutex.h"
#include "kern/rwlock.h"
#include "kern/sleepq.h"
#include "kern/stall.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "vmlab/vmlab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ERRLEN 16384

static char errbuf[ERRLEN];
static const char *const nodaemons[] = { "vm.pageout.enable=0", NULL };

static double
wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* The virtual time in the report's header, or UINT64_MAX. */
static uint64_t
report_vtime(const char *report)
{
	const char *p = strstr(report, "at virtual time ");

	return (p == NULL ? UINT64_MAX
			  : strtoull(p + strlen("at virtual time "), NULL, 10));
}

/* Checks that `report' contains `what'; prints the report if not. */
#define CHECK_REPORT(report, what)                                             \
	CHECKF(strstr((report), (what)) != NULL, "the report lacks '%s':\n%s", \
	    (what), (report))

/*
 * The planted lost wake-up: "lost" takes an sx lock and sleeps on a
 * channel that nobody wakes; "blocked" waits for that sx; the run joins
 * both.
 */
struct lw {
	struct sx l_sx;
	int l_chan;	  /* never woken */
	uint32_t l_held;  /* (a) "lost" holds the sx */
	uint64_t l_woken; /* times "lost" woke: must stay 0 */
};

static void
lw_lost(void *arg)
{
	struct lw *l = arg;

	sx_xlock(&l->l_sx);
	atomic_store_rel_int(&l->l_held, 1);
	(void)msleep(&l->l_chan, NULL, 0, "lostwk", 0);
	l->l_woken++;
	sx_xunlock(&l->l_sx);
}

static void
lw_blocked(void *arg)
{
	struct lw *l = arg;

	sx_xlock(&l->l_sx);
	sx_xunlock(&l->l_sx);
}

static void
lw_body(void *arg)
{
	struct thread *lost, *blocked;
	struct lw *l = arg;

	memset(l, 0, sizeof(*l));
	sx_init(&l->l_sx, "stall sx");
	CHECK(
	    kthread_create(lw_lost, l, -1, KTHR_JOINABLE, &lost, "lost") == 0);
	CHECK(test_wait_for(&l->l_held, 1, 10 * MS));
	CHECK(kthread_create(
		  lw_blocked, l, -1, KTHR_JOINABLE, &blocked, "blocked") == 0);
	kthread_join(lost);
	kthread_join(blocked);
	sx_destroy(&l->l_sx);
}

/* Runs lw_body on one seed; returns the child's report. */
static const char *
lw_run(const char *name, const char *const *tunables, struct explore_result *r,
    struct lw *l, double *secs)
{
	struct explore_opts o = { .eo_name = name,
		.eo_ncpus = 4,
		.eo_seeds = 1,
		.eo_fixed = true,
		.eo_seed_base = test_seed(),
		.eo_quiet = true,
		.eo_tunables = tunables,
		.eo_errbuf = errbuf,
		.eo_errlen = sizeof(errbuf) };
	double t0 = wall_seconds();

	explore(&o, lw_body, NULL, l, r);
	*secs = wall_seconds() - t0;
	return (errbuf);
}

/* What every report of the planted stall must say. */
static void
lw_check_report(const char *report, const struct lw *l)
{
	char want[160];

	snprintf(want, sizeof(want),
	    "\"lost\": sleeping on \"lostwk\" (channel %#llx), no timeout",
	    (unsigned long long)(uintptr_t)&l->l_chan);
	CHECK_REPORT(report, want);
	snprintf(want, sizeof(want),
	    "\"blocked\": blocked on lock \"stall sx\" (channel %#llx), no "
	    "timeout",
	    (unsigned long long)((uintptr_t)&l->l_sx | 1));
	CHECK_REPORT(report, want);
#ifdef VM_INVARIANTS
	/* Exclusive holds are the lock-order checker's (kern/lock.h). */
	snprintf(want, sizeof(want), "holds: sx \"stall sx\" (%p)",
	    (const void *)&l->l_sx);
	CHECK_REPORT(report, want);
	CHECK_REPORT(report, "; sx lock \"stall sx\" is held by tid");
#endif
	CHECK_REPORT(report, "\"run\": sleeping on \"join\"");
	CHECK_REPORT(report, "; joining tid");
	snprintf(want, sizeof(want), "reproduce with seed %llu",
	    (unsigned long long)test_seed());
	CHECK_REPORT(report, want);
}

static void
test_stall_no_timer(void)
{
	struct explore_result r;
	struct lw l;
	const char *rep;
	double secs;

	rep = lw_run("test_stall_no_timer", nodaemons, &r, &l, &secs);
	CHECKF(r.er_runs == 1 && r.er_stalled == 1 &&
		r.er_first_status == VMLAB_EXIT_STALL,
	    "runs %d stalled %d status %d", r.er_runs, r.er_stalled,
	    r.er_first_status);
	CHECK_REPORT(rep, "no timer is pending");
	lw_check_report(rep, &l);
	/* Detected as the last CPU idled: within a virtual millisecond. */
	CHECKF(report_vtime(rep) < 1 * MS, "detected at %llu ns",
	    (unsigned long long)report_vtime(rep));
	printf("  stall without timers detected at %llu virtual ns, "
	       "%.2f s host; its report:\n%s",
	    (unsigned long long)report_vtime(rep), secs, rep);
	CHECKF(secs < 30, "took %.1f s", secs);
}

static void
test_stall_with_daemons(void)
{
	struct explore_result r;
	struct lw l;
	const char *rep;
	uint64_t vt;
	double secs;

	rep = lw_run("test_stall_with_daemons", NULL, &r, &l, &secs);
	CHECKF(r.er_runs == 1 && r.er_stalled == 1 &&
		r.er_first_status == VMLAB_EXIT_STALL,
	    "runs %d stalled %d status %d", r.er_runs, r.er_stalled,
	    r.er_first_status);
	CHECK_REPORT(rep, "the pending timers cannot end the wait");
	CHECK_REPORT(rep, "only daemons ran since virtual time");
	lw_check_report(rep, &l);
	/* The daemons are listed, asleep with their timeouts. */
	CHECK_REPORT(rep, "\"pagedaemon0\" (daemon): sleeping on \"psleep\"");
	CHECK_REPORT(rep, "\"laundry0\" (daemon): sleeping on \"laundry\"");
	/* Detected after the grace, not much later. */
	vt = report_vtime(rep);
	CHECKF(vt >= STALL_GRACE_NS && vt < STALL_GRACE_NS + 1000 * MS,
	    "detected at %llu ns", (unsigned long long)vt);
	printf("  stall with daemons detected at %llu virtual ns, %.2f s "
	       "host\n",
	    (unsigned long long)vt, secs);
	CHECKF(secs < 60, "took %.1f s", secs);
}

/*
 * The check-then-sleep race: the waiter tests the flag, then sleeps on
 * it without an interlock; a wake-up between the two is lost.  The
 * correct waiter tests under the mutex that msleep() drops, which the
 * waker holds to set the flag and wake.
 */
struct race {
	struct mtx r_mtx;
	uint32_t r_flag; /* (a) */
	uint32_t r_go;	 /* (a) */
	uint32_t r_pad[4];
	bool r_correct;
};

static void
race_waiter(void *arg)
{
	struct race *r = arg;
	int i;

	while (atomic_load_acq_int(&r->r_go) == 0)
		md_spin_wait(&r->r_go);
	if (r->r_correct) {
		mtx_lock(&r->r_mtx);
		while (r->r_flag == 0)
			(void)msleep(
			    &r->r_flag, &r->r_mtx.lock_object, 0, "flagwt", 0);
		mtx_unlock(&r->r_mtx);
		return;
	}
	if (atomic_load_acq_int(&r->r_flag) == 0) {
		/* Some work between the check and the sleep. */
		for (i = 0; i < 32; i++)
			(void)atomic_load_int(&r->r_pad[curcpu]);
		md_cost(200);
		(void)msleep(&r->r_flag, NULL, 0, "flagwt", 0);
	}
}

static void
race_waker(void *arg)
{
	struct race *r = arg;

	while (atomic_load_acq_int(&r->r_go) == 0)
		md_spin_wait(&r->r_go);
	if (r->r_correct)
		mtx_lock(&r->r_mtx);
	atomic_store_rel_int(&r->r_flag, 1);
	wakeup(&r->r_flag);
	if (r->r_correct)
		mtx_unlock(&r->r_mtx);
}

static void
race_body(void *arg)
{
	struct thread *w, *k;
	struct race *r = arg;
	bool correct = r->r_correct;

	memset(r, 0, sizeof(*r));
	r->r_correct = correct;
	mtx_init(&r->r_mtx, "race", MTX_DEF);
	CHECK(kthread_create(race_waiter, r, 1, KTHR_BOUND | KTHR_JOINABLE, &w,
		  "waiter") == 0);
	CHECK(kthread_create(race_waker, r, 2, KTHR_BOUND | KTHR_JOINABLE, &k,
		  "waker") == 0);
	pause_ns("racego", 10 * US);
	atomic_store_rel_int(&r->r_go, 1);
	kthread_join(w);
	kthread_join(k);
	mtx_destroy(&r->r_mtx);
}

static void
race_explore(bool correct, int mode, int seeds, uint64_t base,
    struct explore_result *res)
{
	struct explore_opts o = { .eo_name = correct
		    ? "test_stall_explored"
		    : "test_stall_explored_racy",
		.eo_ncpus = 3,
		.eo_seeds = seeds,
		.eo_mode = mode,
		.eo_jitter = 20,
		.eo_pct_depth = 2,
		.eo_pct_steps = 400,
		.eo_quiet = !correct,
		.eo_stop_first = !correct,
		.eo_fixed = !correct,
		.eo_seed_base = base,
		.eo_physmem = 16 << 20,
		.eo_tunables = nodaemons,
		.eo_errbuf = errbuf,
		.eo_errlen = sizeof(errbuf) };
	struct race r = { .r_correct = correct };

	explore(&o, race_body, NULL, &r, res);
}

static void
test_stall_explored(void)
{
	struct explore_result r, again;
	char want[64];
	int mode;

	for (mode = EXPLORE_TIME; mode <= EXPLORE_PCT; mode++) {
		race_explore(false, mode, 300, test_seed(), &r);
		CHECKF(r.er_failed > 0 && r.er_stalled == r.er_failed &&
			r.er_first_status == VMLAB_EXIT_STALL,
		    "mode %d: %d runs, %d failed, %d stalled, status %d", mode,
		    r.er_runs, r.er_failed, r.er_stalled, r.er_first_status);
		if (r.er_failed == 0)
			continue;
		printf("  lost wake-up stalled %s at run %d (seed %llu)\n",
		    mode == EXPLORE_TIME ? "jitter" : "PCT", r.er_runs,
		    (unsigned long long)r.er_first_failed);
		CHECK_REPORT(errbuf, "\"waiter\": sleeping on \"flagwt\"");
		snprintf(want, sizeof(want), "reproduce with seed %llu",
		    (unsigned long long)r.er_first_failed);
		CHECK_REPORT(errbuf, want);
		/* The stalled seed alone stalls again. */
		race_explore(false, mode, 1, r.er_first_failed, &again);
		CHECKF(again.er_stalled == 1, "seed %llu: rerun stalled %d",
		    (unsigned long long)r.er_first_failed, again.er_stalled);
	}
	race_explore(true, EXPLORE_TIME, 300, test_seed(), &r);
	CHECKF(r.er_failed == 0, "correct: %d of %d seeds failed (first %llu)",
	    r.er_failed, r.er_runs, (unsigned long long)r.er_first_failed);
	race_explore(true, EXPLORE_PCT, 300, test_seed(), &r);
	CHECKF(r.er_failed == 0,
	    "correct, pct: %d of %d seeds failed (first %llu)", r.er_failed,
	    r.er_runs, (unsigned long long)r.er_first_failed);
}

/*
 * Legitimate waits.  The run sleeps without a timeout until a daemon
 * wakes it after 5 virtual seconds of timed naps (half the grace), then
 * sleeps 1.5 graces with a timeout; daemons stay on.
 */
struct legit {
	int g_chan;
	uint32_t g_ready; /* (a) the run is about to sleep */
	uint32_t g_done;  /* (a) woken */
	uint64_t g_woke_at;
};

static void
legit_daemon(void *arg)
{
	struct legit *g = arg;
	uint64_t t0;

	while (atomic_load_acq_int(&g->g_ready) == 0)
		pause_ns("lgready", 100 * MS);
	t0 = md_nanotime();
	while (md_nanotime() - t0 < STALL_GRACE_NS / 2)
		pause_ns("lgnap", 100 * MS);
	sleepq_lock(&g->g_chan);
	atomic_store_rel_int(&g->g_done, 1);
	(void)sleepq_broadcast(&g->g_chan, 0);
	sleepq_release(&g->g_chan);
}

static void
legit_body(void *arg)
{
	struct legit *g = arg;
	uint64_t t0;

	memset(g, 0, sizeof(*g));
	CHECK(kthread_create(
		  legit_daemon, g, -1, KTHR_SYSTEM, NULL, "legitd") == 0);
	t0 = md_nanotime();
	sleepq_lock(&g->g_chan);
	atomic_store_rel_int(&g->g_ready, 1);
	while (atomic_load_acq_int(&g->g_done) == 0) {
		sleepq_add(&g->g_chan, "lgwait", 0, 0);
		(void)sleepq_wait();
		sleepq_lock(&g->g_chan);
	}
	sleepq_release(&g->g_chan);
	g->g_woke_at = md_nanotime() - t0;
	CHECKF(g->g_woke_at >= STALL_GRACE_NS / 2, "woken after %llu ns",
	    (unsigned long long)g->g_woke_at);
	pause_ns("lglong", STALL_GRACE_NS * 3 / 2);
}

static void
test_no_stall_when_waiting(void)
{
	struct explore_opts o = { .eo_name = "test_no_stall_when_waiting",
		.eo_ncpus = 2,
		.eo_seeds = 2,
		.eo_fixed = true,
		.eo_seed_base = test_seed() };
	struct explore_result r;
	struct legit g;

	explore(&o, legit_body, NULL, &g, &r);
	CHECKF(r.er_runs == 2 && r.er_failed == 0,
	    "%d runs, %d failed (%d stalled)", r.er_runs, r.er_failed,
	    r.er_stalled);
}

static const struct test_case cases[] = {
	TEST_CASE(test_stall_no_timer),
	TEST_CASE(test_stall_with_daemons),
	TEST_CASE(test_stall_explored),
	TEST_CASE(test_no_stall_when_waiting),
};

int
main(int argc, char **argv)
{
	vmlab_sim_exec_norandom(argv);
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
