/*
 * scen_micro.c: costs of the kernel primitives.
 *
 * Each figure is the median of 5 timed runs after one warm-up run, in
 * nanoseconds per operation (the backend's clock: real time on host,
 * virtual time on sim).  Rows:
 *	lock+unlock, uncontended, per lock type (one thread);
 *	lock+unlock, contended: two threads on CPUs 0 and 1 hammer one lock
 *	    (time per acquisition, both threads together);
 *	context switch: two threads bound to CPU 0 yield to each other;
 *	sleep/wakeup ping-pong: two threads hand a token back and forth with
 *	    msleep()/wakeup() under a mutex, on one CPU and across two CPUs
 *	    (one round trip = two wakeups and two sleeps);
 *	IPI round trip: CPU 0 sends a waited IPI to CPU 1;
 *	physical page alloc+free with per-CPU caches on and off, bulk and
 *	    2 MiB, zone alloc+free on a bucket hit and miss (scen_micro_vm.c);
 *	counter add; kthread create+exit+join.
 */
#include "kern/counter.h"
#include "kern/lockmgr.h"
#include "kern/mutex.h"
#include "kern/rwlock.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "vmlab_cli.h"

#include <stdlib.h>
#include <string.h>

#define MICRO_RUNS 5

enum micro_lock {
	ML_MTX,
	ML_SPIN,
	ML_RW_W,
	ML_RW_R,
	ML_SX_X,
	ML_SX_S,
	ML_QMTX,
	ML_LOCKMGR,
	ML_COUNT
};

static const char *const micro_lock_names[ML_COUNT] = { "mtx", "spin mtx",
	"rw write", "rw read", "sx excl", "sx shared", "qmtx", "lockmgr" };
static const char *const micro_lock_keys[ML_COUNT] = { "mtx", "spin", "rw_w",
	"rw_r", "sx_x", "sx_s", "qmtx", "lockmgr" };

struct micro_locks {
	struct mtx ml_mtx;
	struct mtx ml_spin;
	struct rwlock ml_rw;
	struct sx ml_sx;
	struct qmtx ml_qmtx;
	struct lockmgr ml_lk;
};

struct micro_arg {
	struct micro_locks *ma_locks;
	enum micro_lock ma_kind;
	uint64_t ma_iters;
	/* ping-pong */
	struct mtx *ma_pp_mtx;
	uint32_t *ma_pp_turn;
	int ma_pp_me;
	uint32_t *ma_go;
	uint64_t ma_ns;
};

static struct micro_locks micro_l;

/* Runs `iters' lock+unlock pairs of one kind; noinline keeps loops apart. */
static __attribute__((noinline)) void
micro_lock_loop(struct micro_locks *l, enum micro_lock kind, uint64_t iters)
{
	uint64_t i;

	switch (kind) {
	case ML_MTX:
		for (i = 0; i < iters; i++) {
			mtx_lock(&l->ml_mtx);
			mtx_unlock(&l->ml_mtx);
		}
		break;
	case ML_SPIN:
		for (i = 0; i < iters; i++) {
			mtx_lock_spin(&l->ml_spin);
			mtx_unlock_spin(&l->ml_spin);
		}
		break;
	case ML_RW_W:
		for (i = 0; i < iters; i++) {
			rw_wlock(&l->ml_rw);
			rw_wunlock(&l->ml_rw);
		}
		break;
	case ML_RW_R:
		for (i = 0; i < iters; i++) {
			rw_rlock(&l->ml_rw);
			rw_runlock(&l->ml_rw);
		}
		break;
	case ML_SX_X:
		for (i = 0; i < iters; i++) {
			sx_xlock(&l->ml_sx);
			sx_xunlock(&l->ml_sx);
		}
		break;
	case ML_SX_S:
		for (i = 0; i < iters; i++) {
			sx_slock(&l->ml_sx);
			sx_sunlock(&l->ml_sx);
		}
		break;
	case ML_QMTX:
		for (i = 0; i < iters; i++) {
			qmtx_lock(&l->ml_qmtx);
			qmtx_unlock(&l->ml_qmtx);
		}
		break;
	case ML_LOCKMGR:
		for (i = 0; i < iters; i++) {
			lockmgr_xlock(&l->ml_lk);
			lockmgr_unlock(&l->ml_lk);
		}
		break;
	default:
		break;
	}
}

static int
micro_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

double
micro_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), micro_cmp);
	return (v[n / 2]);
}

struct micro_cpu {
	void (*mc_fn)(void *);
	void *mc_arg;
	uint32_t *mc_go; /* (a) start flag */
	uint64_t mc_ns;
};

static void
micro_cpu_main(void *arg)
{
	struct micro_cpu *mc = arg;
	uint64_t t0;

	/* Start together: spin until the go flag. */
	while (atomic_load_acq_int(mc->mc_go) == 0)
		md_spin_wait(mc->mc_go);
	t0 = md_nanotime();
	mc->mc_fn(mc->mc_arg);
	mc->mc_ns = md_nanotime() - t0;
}

uint64_t
micro_on_cpus(void (*fn)(void *), void *const *args, int ncpus)
{
	struct micro_cpu mc[MICRO_MAXCPUS];
	struct thread *td[MICRO_MAXCPUS];
	uint32_t go = 0;
	uint64_t ns = 0;
	int i, n;

	for (n = 0; n < ncpus && n < MICRO_MAXCPUS; n++) {
		mc[n] = (struct micro_cpu) { fn, args[n], &go, 0 };
		if (kthread_create(micro_cpu_main, &mc[n], n,
			KTHR_BOUND | KTHR_JOINABLE, &td[n], "micro%d", n) != 0)
			break;
	}
	atomic_store_rel_int(&go, 1);
	for (i = 0; i < n; i++) {
		kthread_join(td[i]);
		if (mc[i].mc_ns > ns)
			ns = mc[i].mc_ns;
	}
	return (n == ncpus ? ns : 0);
}

/* Median ns per op of fn(arg) doing `ops' operations per call. */
static double
micro_measure(double (*fn)(void *), void *arg)
{
	double v[MICRO_RUNS];
	int r;

	(void)fn(arg);
	for (r = 0; r < MICRO_RUNS; r++)
		v[r] = fn(arg);
	return (micro_median(v, MICRO_RUNS));
}

static double
micro_uncontended(void *arg)
{
	struct micro_arg *ma = arg;
	uint64_t t0 = md_nanotime();

	micro_lock_loop(ma->ma_locks, ma->ma_kind, ma->ma_iters);
	return ((double)(md_nanotime() - t0) / (double)ma->ma_iters);
}

static void
micro_contender(void *arg)
{
	struct micro_arg *ma = arg;

	/* Start together: spin until the go flag. */
	while (atomic_load_acq_int(ma->ma_go) == 0)
		md_spin_wait(ma->ma_go);
	micro_lock_loop(ma->ma_locks, ma->ma_kind, ma->ma_iters);
}

static double
micro_contended(void *arg)
{
	struct micro_arg *ma = arg, sub[2];
	struct thread *td[2];
	uint32_t go = 0;
	uint64_t t0;
	int i;

	for (i = 0; i < 2; i++) {
		sub[i] = *ma;
		sub[i].ma_go = &go;
		if (kthread_create(micro_contender, &sub[i], i,
			KTHR_BOUND | KTHR_JOINABLE, &td[i], "contend%d",
			i) != 0)
			return (-1);
	}
	t0 = md_nanotime();
	atomic_store_rel_int(&go, 1);
	for (i = 0; i < 2; i++)
		kthread_join(td[i]);
	return ((double)(md_nanotime() - t0) / (double)(2 * ma->ma_iters));
}

static void
micro_yielder(void *arg)
{
	struct micro_arg *ma = arg;
	uint64_t i;

	for (i = 0; i < ma->ma_iters; i++)
		kthread_yield();
}

static double
micro_switch(void *arg)
{
	struct micro_arg *ma = arg;
	struct thread *td[2];
	uint64_t t0, s0;
	int i;

	s0 = sched_switches();
	t0 = md_nanotime();
	for (i = 0; i < 2; i++)
		if (kthread_create(micro_yielder, ma, 0,
			KTHR_BOUND | KTHR_JOINABLE, &td[i], "yield%d", i) != 0)
			return (-1);
	for (i = 0; i < 2; i++)
		kthread_join(td[i]);
	return ((double)(md_nanotime() - t0) / (double)(sched_switches() - s0));
}

/* One side of the ping-pong: waits for its turn, passes it on. */
static void
micro_pinger(void *arg)
{
	struct micro_arg *ma = arg;
	uint64_t i;

	mtx_lock(ma->ma_pp_mtx);
	for (i = 0; i < ma->ma_iters; i++) {
		while (*ma->ma_pp_turn != (uint32_t)ma->ma_pp_me)
			(void)msleep(ma->ma_pp_turn,
			    &ma->ma_pp_mtx->lock_object, 0, "pingpong", 0);
		*ma->ma_pp_turn = (uint32_t)(1 - ma->ma_pp_me);
		wakeup(ma->ma_pp_turn);
	}
	mtx_unlock(ma->ma_pp_mtx);
}

static double
micro_pingpong(void *arg)
{
	struct micro_arg *ma = arg, sub[2];
	struct thread *td[2];
	struct mtx m;
	uint32_t turn = 0;
	uint64_t t0;
	int i, cross = ma->ma_kind != 0 && md_ncpus() > 1;

	mtx_init(&m, "micro pingpong", MTX_DEF);
	t0 = md_nanotime();
	for (i = 0; i < 2; i++) {
		sub[i] = *ma;
		sub[i].ma_pp_mtx = &m;
		sub[i].ma_pp_turn = &turn;
		sub[i].ma_pp_me = i;
		if (kthread_create(micro_pinger, &sub[i], cross ? i : 0,
			KTHR_BOUND | KTHR_JOINABLE, &td[i], "ping%d", i) != 0)
			return (-1);
	}
	for (i = 0; i < 2; i++)
		kthread_join(td[i]);
	mtx_destroy(&m);
	return ((double)(md_nanotime() - t0) / (double)ma->ma_iters);
}

static void
micro_ipi_noop(void *arg)
{
	(void)arg;
}

static void
micro_ipi_sender(void *arg)
{
	struct micro_arg *ma = arg;
	uint64_t i, t0 = md_nanotime();

	for (i = 0; i < ma->ma_iters; i++)
		md_ipi_send_one(1, micro_ipi_noop, NULL, true);
	ma->ma_ns = md_nanotime() - t0;
}

static double
micro_ipi(void *arg)
{
	struct micro_arg *ma = arg;
	struct thread *td;

	if (kthread_create(micro_ipi_sender, ma, 0, KTHR_BOUND | KTHR_JOINABLE,
		&td, "ipi") != 0)
		return (-1);
	kthread_join(td);
	return ((double)ma->ma_ns / (double)ma->ma_iters);
}

static counter_u64_t micro_counter;

static double
micro_counter_add(void *arg)
{
	struct micro_arg *ma = arg;
	uint64_t i, t0 = md_nanotime();

	for (i = 0; i < ma->ma_iters; i++)
		counter_u64_add(micro_counter, 1);
	return ((double)(md_nanotime() - t0) / (double)ma->ma_iters);
}

static void
micro_empty(void *arg)
{
	(void)arg;
}

static double
micro_thread(void *arg)
{
	struct micro_arg *ma = arg;
	struct thread *td;
	uint64_t i, t0 = md_nanotime();

	for (i = 0; i < ma->ma_iters; i++) {
		if (kthread_create(micro_empty, NULL, curcpu,
			KTHR_BOUND | KTHR_JOINABLE, &td, "empty") != 0)
			return (-1);
		kthread_join(td);
	}
	return ((double)(md_nanotime() - t0) / (double)ma->ma_iters);
}

static void
micro_row(struct scen_ctx *ctx, const char *label, const char *key, double ns)
{
	fprintf(ctx->sx_out, "  %-40s %10.1f\n", label, ns);
	report_result(ctx, key, ns, "ns");
}

static void
micro_locks_init(struct micro_locks *l)
{
	mtx_init(&l->ml_mtx, "micro mtx", MTX_DEF);
	mtx_init(&l->ml_spin, "micro spin", MTX_SPIN);
	rw_init(&l->ml_rw, "micro rw");
	sx_init(&l->ml_sx, "micro sx");
	qmtx_init(&l->ml_qmtx, "micro qmtx");
	lockmgr_init(&l->ml_lk, "micro lockmgr");
}

static void
micro_locks_destroy(struct micro_locks *l)
{
	mtx_destroy(&l->ml_mtx);
	mtx_destroy(&l->ml_spin);
	rw_destroy(&l->ml_rw);
	sx_destroy(&l->ml_sx);
	qmtx_destroy(&l->ml_qmtx);
	lockmgr_destroy(&l->ml_lk);
}

static void
micro_run(struct scen_ctx *ctx)
{
	struct micro_arg ma;
	uint64_t iters = (uint64_t)scen_opt(ctx, "iters", 0);
	char label[64], key[64];
	int k;

	memset(&ma, 0, sizeof(ma));
	ma.ma_locks = &micro_l;
	micro_locks_init(&micro_l);
	micro_counter = counter_u64_alloc(NULL, NULL);
	fprintf(ctx->sx_out, "\n  %-40s %10s\n", "operation", "ns/op");
	for (k = 0; k < ML_COUNT; k++) {
		ma.ma_kind = (enum micro_lock)k;
		ma.ma_iters = iters;
		snprintf(label, sizeof(label), "%s lock+unlock, uncontended",
		    micro_lock_names[k]);
		snprintf(
		    key, sizeof(key), "%s_uncontended", micro_lock_keys[k]);
		micro_row(
		    ctx, label, key, micro_measure(micro_uncontended, &ma));
	}
	if (md_ncpus() >= 2) {
		for (k = 0; k < ML_COUNT; k++) {
			if (k == ML_RW_R || k == ML_SX_S)
				continue;
			ma.ma_kind = (enum micro_lock)k;
			ma.ma_iters = iters / 10;
			snprintf(label, sizeof(label),
			    "%s lock+unlock, 2 CPUs contending",
			    micro_lock_names[k]);
			snprintf(key, sizeof(key), "%s_contended",
			    micro_lock_keys[k]);
			micro_row(ctx, label, key,
			    micro_measure(micro_contended, &ma));
		}
	}
	ma.ma_iters = iters / 10;
	micro_row(ctx, "context switch (yield, same CPU)", "context_switch",
	    micro_measure(micro_switch, &ma));
	ma.ma_kind = 0;
	micro_row(ctx, "sleep/wakeup ping-pong, same CPU", "pingpong_same_cpu",
	    micro_measure(micro_pingpong, &ma));
	if (md_ncpus() >= 2) {
		ma.ma_kind = 1;
		ma.ma_iters = iters / 50;
		micro_row(ctx, "sleep/wakeup ping-pong, 2 CPUs",
		    "pingpong_cross_cpu", micro_measure(micro_pingpong, &ma));
		micro_row(ctx, "IPI round trip (CPU 0 -> 1, waited)",
		    "ipi_roundtrip", micro_measure(micro_ipi, &ma));
	}
	micro_vm_rows(ctx, iters);
	micro_pq_rows(ctx, iters);
	micro_proc_rows(ctx, iters);
	ma.ma_iters = iters;
	micro_row(ctx, "counter add", "counter_add",
	    micro_measure(micro_counter_add, &ma));
	ma.ma_iters = iters / 100;
	micro_row(ctx, "kthread create+exit+join", "kthread_create_join",
	    micro_measure(micro_thread, &ma));
	counter_u64_free(micro_counter);
	micro_locks_destroy(&micro_l);
}

const struct scenario scen_micro = {
	.sc_name = "micro",
	.sc_descr = "costs of the primitives: locks, switches, sleep/wakeup, "
		    "IPIs, counters",
	.sc_opts = {
	    { "iters", "operations per timed run of the cheap primitives",
		"1000000", 1000, 1000000000, false, NULL },
	},
	.sc_nopts = 1,
	.sc_tunables = NULL,
	.sc_run = micro_run,
	.sc_knobs = { { "vm.batchqueue.size", NULL },
	    { "vm.batchqueue.trylock", NULL }, { "vm.pgcache.enable", NULL } },
};
