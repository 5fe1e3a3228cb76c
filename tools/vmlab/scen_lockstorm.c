/*
 * scen_lockstorm.c: N threads queue on one lock and are released at once.
 *
 * Steps of one run:
 *	1. The driver thread takes the lock and creates N threads; each one
 *	   announces itself and blocks on the lock.
 *	2. The driver waits until all N sleep on the lock.
 *	3. It notes the wakeup counter and the clock and releases the lock.
 *	4. Each thread takes the lock, counts itself, releases it and exits;
 *	   the last one wakes the driver.
 *	5. Completion time and wakeups are reported.
 * With lockmgr every release wakes all remaining waiters, so draining the
 * queue costs about N^2/2 wakeups; with the queued mutex each release
 * hands the lock to one waiter: N wakeups.
 *
 * On a terminal a progress line (scen_progress()) counts the threads
 * created in step 1 and queued in step 2 (the driver's polls) and the
 * threads through the lock in step 4.  There the holder of the storm
 * lock reports, at every hundredth thread, because the driver sleeps
 * until the last one wakes it (waking it more often would add to the
 * wakeups measured).  Calls under the lock never overlap, and they make
 * no sync point: on the simulated machine they cost no virtual time.
 *
 * -o kern.storm.lock=lockmgr|qmtx|both selects the lock (default both);
 * --threads takes a list of N, each at most the threads whose kernel
 * stacks fill half of the host's RAM (storm_check()).
 */
#include "kern/lockmgr.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vmlab/vmlab.h"
#include "vmlab_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORM_LOCKMGR 0
#define STORM_QMTX 1
#define STORM_BOTH 2

static const char *const storm_lock_names[] = { "lockmgr", "qmtx", "both" };
static int64_t storm_lock_kind;

struct storm {
	struct scen_ctx *st_ctx;
	char st_what[64]; /* progress: "lockmgr storm" */
	uint32_t st_step; /* progress every st_step threads through */
	int st_kind;
	struct lockmgr st_lk;
	struct qmtx st_qm;
	uint32_t st_arrived; /* (a) threads about to block */
	uint32_t st_done;    /* (a) threads through the lock */
	uint32_t st_n;
	uint32_t st_yields;  /* yields inside the critical section */
	uint64_t st_counter; /* protected by the storm lock */
};

static void
storm_lock(struct storm *st)
{
	if (st->st_kind == STORM_LOCKMGR)
		lockmgr_xlock(&st->st_lk);
	else
		qmtx_lock(&st->st_qm);
}

static void
storm_unlock(struct storm *st)
{
	if (st->st_kind == STORM_LOCKMGR)
		lockmgr_unlock(&st->st_lk);
	else
		qmtx_unlock(&st->st_qm);
}

static uint32_t
storm_sleepers(struct storm *st)
{
	uint32_t n;

	if (st->st_kind == STORM_LOCKMGR)
		return (lockmgr_waiters(&st->st_lk));
	/* A lock's sleepers wait on its turnstile channel. */
	sleepq_lock(TS_WCHAN(&st->st_qm));
	n = sleepq_count(TS_WCHAN(&st->st_qm), 0);
	sleepq_release(TS_WCHAN(&st->st_qm));
	return (n);
}

static void
storm_thread(void *arg)
{
	struct storm *st = arg;
	uint32_t i;

	(void)atomic_fetchadd_int(&st->st_arrived, 1);
	storm_lock(st);
	st->st_counter++;
	if (st->st_counter % st->st_step == 0)
		scen_progress(st->st_ctx, st->st_what, st->st_counter, st->st_n,
		    "threads through the lock");
	/*
	 * The holder blocks briefly, as a teardown that waits for a busy
	 * page does: whoever else is runnable runs and finds the lock held.
	 */
	for (i = 0; i < st->st_yields; i++)
		kthread_yield();
	storm_unlock(st);
	if (atomic_fetchadd_int(&st->st_done, 1) + 1 == st->st_n)
		wakeup(&st->st_done);
}

/* Runs one storm; returns 0 or an errno. */
static int
storm_run_one(struct scen_ctx *ctx, int kind, uint32_t n)
{
	struct storm *st;
	uint64_t w0, s0, t0, t1, wakeups;
	uint32_t i, arrived;
	int error = 0;
	char key[64];

	/* The storm's lock is the outermost: taken with nothing held. */
	static const struct lock_rank ranks[] = { { "kern.storm", 100, 0 } };

	if ((error = witness_register(ranks, 1)) != 0)
		return (error);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return (ENOMEM);
	st->st_ctx = ctx;
	st->st_step = n / 100 > 0 ? n / 100 : 1;
	snprintf(st->st_what, sizeof(st->st_what), "%s storm",
	    storm_lock_names[kind]);
	st->st_kind = kind;
	st->st_n = n;
	st->st_yields = (uint32_t)scen_opt(ctx, "hold-yields", 0);
	if (kind == STORM_LOCKMGR)
		lockmgr_init(&st->st_lk, "kern.storm");
	else
		qmtx_init(&st->st_qm, "kern.storm");
	/* Step 1. */
	storm_lock(st);
	for (i = 0; i < n; i++) {
		scen_progress(ctx, st->st_what, i, n, "threads created");
		error =
		    kthread_create(storm_thread, st, -1, 0, NULL, "storm%u", i);
		if (error != 0)
			VM_PANIC(
			    "lock-storm: cannot create thread %u of %u: %d", i,
			    n, error);
	}
	/* Step 2. */
	while ((arrived = atomic_load_int(&st->st_arrived)) < n ||
	    storm_sleepers(st) < n) {
		scen_progress(ctx, st->st_what, arrived, n, "threads queued");
		pause_ns("stormwt", 100000);
	}
	/* Step 3. */
	w0 = sleepq_wakeups();
	s0 = sched_switches();
	t0 = md_nanotime();
	storm_unlock(st);
	/* Step 4. */
	sleepq_lock(&st->st_done);
	while (atomic_load_int(&st->st_done) < n) {
		sleepq_add(&st->st_done, "stormdn", 0, 0);
		(void)sleepq_wait();
		sleepq_lock(&st->st_done);
	}
	sleepq_release(&st->st_done);
	t1 = md_nanotime();
	scen_progress_end(ctx);
	/* Step 5. */
	wakeups = sleepq_wakeups() - w0 - 1; /* less the driver's own */
	if (st->st_counter != n) {
		fprintf(stderr, "lock-storm: counter %llu != %u threads\n",
		    (unsigned long long)st->st_counter, n);
		ctx->sx_failed = 1;
	}
	fprintf(ctx->sx_out, "  %-8s %9u %12.2f %14llu %12.2f %12llu\n",
	    storm_lock_names[kind], n, (t1 - t0) / 1e6,
	    (unsigned long long)wakeups, (double)wakeups / n,
	    (unsigned long long)(sched_switches() - s0));
	snprintf(key, sizeof(key), "%s_%u_ms", storm_lock_names[kind], n);
	report_result(ctx, key, (t1 - t0) / 1e6, "ms");
	snprintf(key, sizeof(key), "%s_%u_wakeups", storm_lock_names[kind], n);
	report_result(ctx, key, (double)wakeups, "wakeups");
	snprintf(key, sizeof(key), "%s_%u_wakeups_per_acq",
	    storm_lock_names[kind], n);
	report_result(ctx, key, (double)wakeups / n, "wakeups");
	/* The storm threads exit right after counting; wait for that. */
	while (kthread_live() > 1)
		pause_ns("stormex", 100000);
	if (kind == STORM_LOCKMGR)
		lockmgr_destroy(&st->st_lk);
	else
		qmtx_destroy(&st->st_qm);
	free(st);
	return (error);
}

static void
storm_run(struct scen_ctx *ctx)
{
	int i, k, nthreads = scen_opt_count(ctx, "threads");

	fprintf(ctx->sx_out, "\n  %-8s %9s %12s %14s %12s %12s\n", "lock",
	    "threads", "time_ms", "wakeups", "wakeups/acq", "switches");
	for (k = 0; k < 2; k++) {
		if (storm_lock_kind != STORM_BOTH && storm_lock_kind != k)
			continue;
		for (i = 0; i < nthreads; i++)
			(void)storm_run_one(
			    ctx, k, (uint32_t)scen_opt(ctx, "threads", i));
	}
}

/*
 * The most threads a storm may have.  A thread costs a kernel stack of
 * md_ctx_default_stacksize() bytes (32 KiB, more under sanitizers; a
 * blocked storm thread touches about 9 KiB of it); the stacks of all the
 * threads may take at most half of the host's RAM.
 */
static int
storm_check(const struct scen_ctx *ctx, char *err, size_t errlen)
{
	uint64_t stack = md_ctx_default_stacksize();
	uint64_t max = vmlab_host_physmem() / 2 / stack;
	char ram[32];
	int i;

	if (max == 0) /* unknown RAM */
		return (0);
	for (i = 0; i < scen_opt_count(ctx, "threads"); i++)
		if ((uint64_t)scen_opt(ctx, "threads", i) > max) {
			snprintf(err, errlen,
			    "--threads: %lld is more than %llu, the threads "
			    "whose %llu KiB kernel stacks fill half of the "
			    "host's %s of RAM",
			    (long long)scen_opt(ctx, "threads", i),
			    (unsigned long long)max,
			    (unsigned long long)(stack >> 10),
			    sysctl_fmt_size(
				ram, sizeof(ram), vmlab_host_physmem()));
			return (EINVAL);
		}
	return (0);
}

static void
storm_tunables(void)
{
	(void)vmlab_tunable_register_enum("kern.storm.lock", &storm_lock_kind,
	    STORM_BOTH, storm_lock_names, 3,
	    "lock-storm: the lock threads queue on (lockmgr, qmtx or both)");
}

const struct scenario scen_lockstorm = {
	.sc_name = "lock-storm",
	.sc_descr = "N threads block on one lock and are released together",
	.sc_opts = {
	    { "threads", "threads queued on the lock (a list runs each)",
		"1000,10000", 1, 10000000, true, NULL },
	    { "hold-yields", "times a holder yields the CPU inside the lock",
		"1", 0, 1000, false, NULL },
	},
	.sc_nopts = 2,
	.sc_tunables = storm_tunables,
	.sc_check = storm_check,
	.sc_run = storm_run,
};
