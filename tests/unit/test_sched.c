/*
 * test_sched.c: kernel threads and the scheduler.
 *
 * Cases:
 *  - create/exit/join with many threads, on 2 and 4 CPUs: returning and
 *    kthread_exit() both end a thread, every joinable thread is joined
 *    once, detached threads are reaped, a tree of threads joins its
 *    children, round-robin placement uses every CPU, bad arguments fail;
 *  - bound threads stay on their CPU across yields, maybe_yield(), pauses
 *    and sleeps ended by timeouts or by wakeups from other CPUs;
 *  - kthread_yield() round-robin between threads bound to one CPU;
 *  - maybe_yield() switches only when another thread is runnable;
 *  - 10,000 threads (100,000 outside sanitizer builds) asleep at once on
 *    one channel, all woken by one wakeup().
 */
#include "harness.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "md/md_atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Bounds every wait for another thread: turns a hang into a failure. */
#define WAIT_NS (120ull * 1000000000ull)

#define MAXCPU 8

/* Waits (sleeping 50 us at a time) until *p >= v; false on deadline. */
static bool
wait_for(const uint32_t *p, uint32_t v)
{
	return (test_wait_for(p, v, WAIT_NS));
}

/* Context switches CPU `cpu' has made so far. */
static uint64_t
cpu_switches(int cpu)
{
	return (pcpu_load_64(&kern_pcpu[cpu].pc_switches));
}

/*
 * Create, exit, join.
 */
struct cj_state {
	uint64_t cj_sum;	    /* (a) sum of the joined args */
	uint32_t cj_percpu[MAXCPU]; /* (a) threads started per CPU */
	uint32_t cj_tree;	    /* (a) tree nodes run */
	uint32_t cj_detached;	    /* (a) detached threads run */
	int cj_nthreads;	    /* (c) */
	int cj_depth;		    /* (c) of the tree */
};

static struct cj_state cj;

struct cj_arg {
	uint64_t ca_value;
	bool ca_exit; /* end with kthread_exit() */
};

static void
cj_child(void *arg)
{
	struct cj_arg *ca = arg;

	atomic_fetchadd_int(&cj.cj_percpu[curcpu], 1);
	atomic_fetchadd_64(&cj.cj_sum, ca->ca_value);
	if (ca->ca_exit)
		kthread_exit();
}

/* A node of the tree: makes two children one level down, joins them. */
static void
cj_node(void *arg)
{
	uintptr_t depth = (uintptr_t)arg;
	struct thread *l, *r;

	atomic_fetchadd_int(&cj.cj_tree, 1);
	if (depth == 0)
		return;
	CHECK(kthread_create(cj_node, (void *)(depth - 1), -1, KTHR_JOINABLE,
		  &l, "node%u", (unsigned)depth) == 0);
	CHECK(kthread_create(cj_node, (void *)(depth - 1), -1, KTHR_JOINABLE,
		  &r, "node%u", (unsigned)depth) == 0);
	kthread_join(r);
	kthread_join(l);
}

static void
cj_detached(void *arg)
{
	(void)arg;
	atomic_fetchadd_int(&cj.cj_detached, 1);
}

static void
cj_main(void *arg)
{
	struct cj_arg *args;
	struct thread **tds, *td;
	uint64_t deadline;
	int i, n = cj.cj_nthreads, failed = 0;

	(void)arg;
	/* Bad arguments. */
	CHECK(kthread_create(cj_detached, NULL, md_ncpus(), 0, NULL, "bad") ==
	    EINVAL);
	CHECK(kthread_create(cj_detached, NULL, -1, KTHR_BOUND, NULL, "bad") ==
	    EINVAL);

	/* Many joinable threads, half of them ending with kthread_exit(). */
	args = calloc((size_t)n, sizeof(*args));
	tds = calloc((size_t)n, sizeof(*tds));
	for (i = 0; i < n; i++) {
		args[i].ca_value = (uint64_t)i + 1;
		args[i].ca_exit = (i % 2) == 1;
		if (kthread_create(cj_child, &args[i], -1, KTHR_JOINABLE,
			&tds[i], "cj%d", i) != 0)
			failed++;
	}
	CHECKF(failed == 0, "%d kthread_create() calls failed", failed);
	/* Join in reverse order of creation. */
	for (i = n - 1; i >= 0; i--)
		kthread_join(tds[i]);
	CHECK(cj.cj_sum == (uint64_t)n * (n + 1) / 2);
	/* Only this thread is left. */
	CHECKF(kthread_live() == 1, "%llu threads live",
	    (unsigned long long)kthread_live());
	for (i = 0; i < md_ncpus(); i++)
		CHECKF(cj.cj_percpu[i] > 0, "no thread ran on CPU %d", i);
	free(tds);
	free(args);

	/* A tree of threads, each joining its own children. */
	CHECK(kthread_create(cj_node, (void *)(uintptr_t)cj.cj_depth, -1,
		  KTHR_JOINABLE, &td, "root") == 0);
	kthread_join(td);
	CHECK(cj.cj_tree == (2u << cj.cj_depth) - 1);

	/* Detached threads are reaped by the scheduler. */
	for (i = 0; i < n; i++)
		CHECK(kthread_create(cj_detached, NULL, i % md_ncpus(),
			  i % 3 == 0 ? KTHR_BOUND : 0, NULL, "det%d", i) == 0);
	CHECK(wait_for(&cj.cj_detached, (uint32_t)n));
	deadline = md_nanotime() + WAIT_NS;
	while (kthread_live() != 1 && md_nanotime() < deadline)
		pause_ns("reap", 50 * US);
	CHECKF(kthread_live() == 1, "%llu threads live after detached exits",
	    (unsigned long long)kthread_live());
}

static void
test_create_join_many(void)
{
	int ncpus[] = { 2, 4 };
	int k;

	for (k = 0; k < 2; k++) {
		memset(&cj, 0, sizeof(cj));
		cj.cj_nthreads = test_sanitizer() ? 500 : 3000;
		cj.cj_depth = test_sanitizer() ? 6 : 9;
		test_boot(ncpus[k], NULL);
		test_run(cj_main, NULL);
		test_shutdown();
	}
}

/*
 * Bound threads stay on their CPU.
 */
#define BD_PERCPU 3

struct bd_state {
	int bd_chan;
	uint32_t bd_left;   /* (a) bound threads still running */
	uint32_t bd_bad;    /* (a) times a thread was on another CPU */
	uint32_t bd_rounds; /* (c) */
};

struct bd_arg {
	struct bd_state *ba_s;
	int ba_cpu;
	uint64_t ba_rng;
};

static void
bd_check(struct bd_arg *ba, const char *after)
{
	if (curcpu != ba->ba_cpu || curthread->td_bindcpu != ba->ba_cpu) {
		atomic_fetchadd_int(&ba->ba_s->bd_bad, 1);
		test_fail(__FILE__, __LINE__,
		    "thread bound to CPU %d runs on CPU %d after %s",
		    ba->ba_cpu, curcpu, after);
	}
}

static void
bd_thread(void *arg)
{
	struct bd_arg *ba = arg;
	struct bd_state *s = ba->ba_s;
	uint32_t r;

	bd_check(ba, "start");
	for (r = 0; r < s->bd_rounds; r++) {
		kthread_yield();
		bd_check(ba, "kthread_yield");
		maybe_yield();
		bd_check(ba, "maybe_yield");
		pause_ns("bdpause", 1 + test_rand(&ba->ba_rng) % (20 * US));
		bd_check(ba, "pause_ns");
		/* Ended by the waker (another CPU) or by the timeout. */
		(void)msleep(&s->bd_chan, NULL, 0, "bdsleep",
		    1 + test_rand(&ba->ba_rng) % (50 * US));
		bd_check(ba, "sleep");
	}
	atomic_fetchadd_int(&s->bd_left, (uint32_t)-1);
}

static void
bd_waker(void *arg)
{
	struct bd_state *s = arg;

	while (atomic_load_acq_int(&s->bd_left) != 0) {
		wakeup(&s->bd_chan);
		pause_ns("bdwaker", 10 * US);
	}
}

static void
bd_main(void *arg)
{
	struct bd_state *s = arg;
	struct bd_arg args[MAXCPU * BD_PERCPU];
	struct thread *tds[MAXCPU * BD_PERCPU + 1];
	int i, n = md_ncpus() * BD_PERCPU;

	s->bd_left = (uint32_t)n;
	for (i = 0; i < n; i++) {
		args[i].ba_s = s;
		args[i].ba_cpu = i % md_ncpus();
		args[i].ba_rng = test_seed() + (uint64_t)i;
		CHECK(kthread_create(bd_thread, &args[i], args[i].ba_cpu,
			  KTHR_BOUND | KTHR_JOINABLE, &tds[i], "bound%d",
			  i) == 0);
	}
	CHECK(kthread_create(
		  bd_waker, s, -1, KTHR_JOINABLE, &tds[n], "bdwaker") == 0);
	for (i = 0; i <= n; i++)
		kthread_join(tds[i]);
}

static void
test_bound_threads(void)
{
	struct bd_state s;

	memset(&s, 0, sizeof(s));
	s.bd_rounds = test_sanitizer() ? 100 : 500;
	test_boot(4, NULL);
	test_run(bd_main, &s);
	test_shutdown();
	CHECK(s.bd_left == 0 && s.bd_bad == 0);
}

/*
 * kthread_yield() round-robin.  K threads bound to CPU 1 wait for each
 * other, then log their id and yield RR_N times.  The run queue is FIFO,
 * so the log repeats with period K, each period naming every thread (for
 * two threads: they alternate).
 */
#define RR_MAXK 3
#define RR_N 500

struct rr_state {
	uint32_t rr_k;	     /* (c) threads */
	uint32_t rr_started; /* (a) */
	uint32_t rr_nlog;    /* (a) */
	uint32_t rr_log[RR_MAXK * RR_N];
};

struct rr_arg {
	struct rr_state *ra_s;
	uint32_t ra_id;
};

static void
rr_thread(void *arg)
{
	struct rr_arg *ra = arg;
	struct rr_state *s = ra->ra_s;
	int i;

	atomic_fetchadd_int(&s->rr_started, 1);
	while (atomic_load_acq_int(&s->rr_started) != s->rr_k)
		kthread_yield();
	for (i = 0; i < RR_N; i++) {
		s->rr_log[atomic_fetchadd_int(&s->rr_nlog, 1)] = ra->ra_id;
		kthread_yield();
	}
}

static void
rr_main(void *arg)
{
	struct rr_state *s = arg;
	struct rr_arg args[RR_MAXK];
	struct thread *tds[RR_MAXK];
	uint32_t i, j, k = s->rr_k, bad = 0;

	for (i = 0; i < k; i++) {
		args[i].ra_s = s;
		args[i].ra_id = i;
		CHECK(kthread_create(rr_thread, &args[i], 1,
			  KTHR_BOUND | KTHR_JOINABLE, &tds[i], "rr%u", i) == 0);
	}
	for (i = 0; i < k; i++)
		kthread_join(tds[i]);
	CHECK(s->rr_nlog == k * RR_N);
	/* The first period names every thread... */
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++)
			CHECKF(s->rr_log[i] != s->rr_log[j],
			    "thread %u ran twice in the first round",
			    s->rr_log[i]);
	/* ...and every later entry repeats the one a period before. */
	for (i = k; i < k * RR_N; i++)
		if (s->rr_log[i] != s->rr_log[i - k])
			bad++;
	CHECKF(bad == 0,
	    "%u threads: %u log entries break the round-robin order", k, bad);
}

static void
test_yield_round_robin(void)
{
	struct rr_state *s;
	uint32_t k;

	for (k = 2; k <= RR_MAXK; k++) {
		s = calloc(1, sizeof(*s));
		s->rr_k = k;
		test_boot(2, NULL);
		test_run(rr_main, s);
		test_shutdown();
		free(s);
	}
}

/*
 * maybe_yield(): no switch while nothing else is runnable on this CPU;
 * a switch at the first call once another thread is.
 */
struct my_state {
	uint32_t my_ran; /* (a) */
	uint64_t my_idle_switches;
	uint32_t my_ran_after_one;
};

static void
my_other(void *arg)
{
	struct my_state *s = arg;

	atomic_store_rel_int(&s->my_ran, 1);
}

static void
my_thread(void *arg)
{
	struct my_state *s = arg;
	struct thread *td;
	uint64_t sw;
	int i;

	/* Alone on CPU 1 (our creator sleeps in kthread_join()). */
	sw = cpu_switches(curcpu);
	for (i = 0; i < 1000; i++)
		maybe_yield();
	s->my_idle_switches = cpu_switches(curcpu) - sw;
	/* A thread made runnable here runs at our next maybe_yield(). */
	CHECK(kthread_create(my_other, s, curcpu, KTHR_BOUND | KTHR_JOINABLE,
		  &td, "myother") == 0);
	CHECK(atomic_load_acq_int(&s->my_ran) == 0);
	maybe_yield();
	s->my_ran_after_one = atomic_load_acq_int(&s->my_ran);
	kthread_join(td);
}

static void
my_main(void *arg)
{
	struct thread *td;

	CHECK(kthread_create(my_thread, arg, 1, KTHR_BOUND | KTHR_JOINABLE, &td,
		  "maybe") == 0);
	kthread_join(td);
}

static void
test_maybe_yield(void)
{
	struct my_state s;

	memset(&s, 0, sizeof(s));
	test_boot(2, NULL);
	test_run(my_main, &s);
	test_shutdown();
	CHECKF(s.my_idle_switches == 0,
	    "maybe_yield() switched %llu times with nothing else to run",
	    (unsigned long long)s.my_idle_switches);
	CHECK(s.my_ran_after_one == 1);
}

/*
 * Many sleeping threads.  Each counts itself and sleeps on one channel
 * with the interlock (so a count of n means n threads queued), then one
 * wakeup() releases them all.
 */
struct ms_state {
	struct mtx ms_mtx;
	uint32_t ms_asleep; /* (a) written under ms_mtx */
	uint32_t ms_woken;  /* (a) */
	uint32_t ms_bad;    /* (a) msleep() failed */
	uint32_t ms_queued; /* sleepers counted on the queue */
	uint32_t ms_early;  /* woken before the wakeup() */
	int ms_chan;
	int ms_n; /* (c) */
};

static void
ms_thread(void *arg)
{
	struct ms_state *s = arg;

	mtx_lock(&s->ms_mtx);
	atomic_fetchadd_int(&s->ms_asleep, 1);
	if (msleep(&s->ms_chan, &s->ms_mtx.lock_object, PDROP, "many", 0) != 0)
		atomic_fetchadd_int(&s->ms_bad, 1);
	atomic_fetchadd_int(&s->ms_woken, 1);
}

static void
ms_main(void *arg)
{
	struct ms_state *s = arg;
	struct thread **tds;
	int i, failed = 0;

	tds = calloc((size_t)s->ms_n, sizeof(*tds));
	for (i = 0; i < s->ms_n; i++)
		if (kthread_create(ms_thread, s, -1, KTHR_JOINABLE, &tds[i],
			"many%d", i) != 0)
			failed++;
	CHECKF(failed == 0, "%d kthread_create() calls failed", failed);
	CHECK(wait_for(&s->ms_asleep, (uint32_t)(s->ms_n - failed)));
	mtx_lock(&s->ms_mtx);
	sleepq_lock(&s->ms_chan);
	s->ms_queued = sleepq_count(&s->ms_chan, 0);
	sleepq_release(&s->ms_chan);
	s->ms_early = atomic_load_acq_int(&s->ms_woken);
	wakeup(&s->ms_chan);
	mtx_unlock(&s->ms_mtx);
	for (i = 0; i < s->ms_n; i++)
		if (tds[i] != NULL)
			kthread_join(tds[i]);
	free(tds);
}

static void
many_sleepers(int ncpus, int n)
{
	struct ms_state *s = calloc(1, sizeof(*s));

	s->ms_n = n;
	test_boot(ncpus, NULL);
	mtx_init(&s->ms_mtx, "test many", MTX_DEF);
	test_run(ms_main, s);
	mtx_destroy(&s->ms_mtx);
	test_shutdown();
	CHECKF(s->ms_queued == (uint32_t)n, "%u of %d threads asleep",
	    s->ms_queued, n);
	CHECKF(s->ms_early == 0, "%u threads woke before the wakeup()",
	    s->ms_early);
	CHECKF(s->ms_woken == (uint32_t)n && s->ms_bad == 0,
	    "%u of %d threads woken, %u bad sleeps", s->ms_woken, n, s->ms_bad);
	free(s);
}

static void
test_10k_sleepers(void)
{
	many_sleepers(2, test_sanitizer() ? 2000 : 10000);
}

static void
test_100k_sleepers(void)
{
	/* Sanitizer stacks and shadow memory make this too big there. */
	if (!test_sanitizer())
		many_sleepers(2, 100000);
}

static const struct test_case cases[] = {
	TEST_CASE(test_create_join_many),
	TEST_CASE(test_bound_threads),
	TEST_CASE(test_yield_round_robin),
	TEST_CASE(test_maybe_yield),
	TEST_CASE(test_10k_sleepers),
	TEST_CASE(test_100k_sleepers),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
