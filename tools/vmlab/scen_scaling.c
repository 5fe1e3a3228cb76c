/*
 * scen_scaling.c: shared versus per-CPU state as CPUs are added.
 *
 * One thread per CPU does --ops operations on each of:
 *	global spin:  a counter behind one spin mutex (every CPU takes it);
 *	global atomic: one shared atomic counter;
 *	per-CPU:      a per-CPU counter (counter(9)).
 * Reported as total throughput (operations per microsecond of elapsed
 * time).  Run with a CPU list to see the shared lock collapse while
 * per-CPU state scales:
 *	vmlab run scaling --backend sim --cpus 1,2,4,8,16,32,64,128
 */
#include "kern/counter.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "vmlab_cli.h"

#include <stdlib.h>

#define SC_GLOBAL_SPIN 0
#define SC_GLOBAL_ATOMIC 1
#define SC_PERCPU 2

static const char *const sc_keys[] = { "global_spin_ops_per_us",
	"global_atomic_ops_per_us", "percpu_ops_per_us" };
static const char *const sc_labels[] = { "global spin lock", "global atomic",
	"per-CPU counter" };

struct sc_shared {
	struct mtx ss_spin;
	uint64_t ss_count;  /* protected by ss_spin */
	uint64_t ss_atomic; /* (a) */
	counter_u64_t ss_pcpu;
	uint32_t ss_go; /* (a) */
	uint64_t ss_ops;
	int ss_kind;
};

static void
sc_thread(void *arg)
{
	struct sc_shared *s = arg;
	uint64_t i;

	/* Sleep, not spin: the starter may share our CPU. */
	sleepq_lock(&s->ss_go);
	while (atomic_load_int(&s->ss_go) == 0) {
		sleepq_add(&s->ss_go, "scalego", 0, 0);
		(void)sleepq_wait();
		sleepq_lock(&s->ss_go);
	}
	sleepq_release(&s->ss_go);
	for (i = 0; i < s->ss_ops; i++) {
		switch (s->ss_kind) {
		case SC_GLOBAL_SPIN:
			mtx_lock_spin(&s->ss_spin);
			s->ss_count++;
			mtx_unlock_spin(&s->ss_spin);
			break;
		case SC_GLOBAL_ATOMIC:
			atomic_add_64(&s->ss_atomic, 1);
			break;
		default:
			counter_u64_add(s->ss_pcpu, 1);
			break;
		}
	}
}

/* One phase: every CPU runs `ops' operations of `kind'; ops per us. */
static double
sc_phase(struct sc_shared *s, int kind)
{
	struct thread **td;
	uint64_t t0, t1;
	int cpu, n = md_ncpus();

	td = calloc((size_t)n, sizeof(*td));
	if (td == NULL)
		return (-1);
	s->ss_kind = kind;
	atomic_store_int(&s->ss_go, 0);
	for (cpu = 0; cpu < n; cpu++)
		if (kthread_create(sc_thread, s, cpu,
			KTHR_BOUND | KTHR_JOINABLE, &td[cpu], "scale%d",
			cpu) != 0)
			VM_PANIC("scaling: cannot create thread %d", cpu);
	/* Let every thread reach the start line (they sleep on ss_go). */
	pause_ns("scalego", 100000);
	t0 = md_nanotime();
	sleepq_lock(&s->ss_go);
	atomic_store_int(&s->ss_go, 1);
	(void)sleepq_broadcast(&s->ss_go, 0);
	sleepq_release(&s->ss_go);
	for (cpu = 0; cpu < n; cpu++)
		kthread_join(td[cpu]);
	t1 = md_nanotime();
	free(td);
	return ((double)s->ss_ops * n * 1000.0 / (double)(t1 - t0));
}

static void
sc_run(struct scen_ctx *ctx)
{
	struct sc_shared *s;
	double v;
	int k;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return;
	s->ss_ops = (uint64_t)scen_opt(ctx, "ops", 0);
	mtx_init(&s->ss_spin, "scaling global", MTX_SPIN);
	s->ss_pcpu = counter_u64_alloc(NULL, NULL);
	fprintf(ctx->sx_out, "\n  %-24s %16s\n", "state", "ops/us (total)");
	for (k = 0; k < 3; k++) {
		v = sc_phase(s, k);
		fprintf(ctx->sx_out, "  %-24s %16.1f\n", sc_labels[k], v);
		report_result(ctx, sc_keys[k], v, "ops/us");
	}
	if (s->ss_count != s->ss_ops * (uint64_t)md_ncpus() ||
	    s->ss_atomic != s->ss_count ||
	    counter_u64_fetch(s->ss_pcpu) != s->ss_count) {
		fprintf(stderr, "scaling: lost updates (%llu %llu %llu)\n",
		    (unsigned long long)s->ss_count,
		    (unsigned long long)s->ss_atomic,
		    (unsigned long long)counter_u64_fetch(s->ss_pcpu));
		ctx->sx_failed = 1;
	}
	counter_u64_free(s->ss_pcpu);
	mtx_destroy(&s->ss_spin);
	free(s);
}

const struct scenario scen_scaling = {
	.sc_name = "scaling",
	.sc_descr = "one global spin lock and one atomic versus per-CPU "
		    "counters, as CPUs are added",
	.sc_opts = {
	    { "ops", "operations per CPU and phase", "20000", 1,
		100000000, false, NULL },
	},
	.sc_nopts = 1,
	.sc_tunables = NULL,
	.sc_run = sc_run,
};
