/*
 * test_sim_engine.c: the simulated machine itself.
 *
 * Determinism (same seed: same trace hash; other seed: other hash),
 * virtual time, waiting without host cost, and proof that exploration
 * works: a deliberately racy check-then-act must be caught within a
 * bounded number of seeds, by virtual-time jitter and by PCT, while the
 * correct version passes every seed.
 */
#include "explore.h"
#include "harness.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "vmlab/vmlab.h"

#include <stdio.h>
#include <string.h>

#define TOY_THREADS 4

/* A workload with locks, sleeps and IPIs, to hash its schedule. */
struct busy {
	struct mtx b_mtx;
	uint64_t b_count;
	uint32_t b_done;
};

static void
busy_thread(void *arg)
{
	struct busy *b = arg;
	int i;

	for (i = 0; i < 200; i++) {
		mtx_lock(&b->b_mtx);
		b->b_count++;
		mtx_unlock(&b->b_mtx);
		if (i % 50 == 0)
			pause_ns("busy", 1000);
	}
	(void)atomic_fetchadd_int(&b->b_done, 1);
}

static void
busy_body(void *arg)
{
	struct thread *td[8];
	struct busy *b = arg;
	int i;

	mtx_init(&b->b_mtx, "busy", MTX_DEF);
	b->b_count = 0;
	b->b_done = 0;
	for (i = 0; i < 8; i++)
		CHECK(kthread_create(busy_thread, b, -1, KTHR_JOINABLE, &td[i],
			  "busy%d", i) == 0);
	for (i = 0; i < 8; i++)
		kthread_join(td[i]);
	CHECK(b->b_count == 8 * 200);
	mtx_destroy(&b->b_mtx);
}

static uint64_t
busy_hash(uint64_t seed, int ncpus)
{
	struct explore_opts o = { .eo_name = "test_determinism",
		.eo_ncpus = ncpus,
		.eo_seeds = 1,
		.eo_fixed = true,
		.eo_seed_base = seed };
	struct explore_result r;
	struct busy b;

	explore(&o, busy_body, NULL, &b, &r);
	CHECKF(r.er_runs == 1 && r.er_failed == 0, "runs %d failed %d",
	    r.er_runs, r.er_failed);
	return (r.er_hash);
}

static void
test_determinism(void)
{
	uint64_t h1, h2, h3;

	h1 = busy_hash(42, 4);
	h2 = busy_hash(42, 4);
	h3 = busy_hash(43, 4);
	CHECKF(h1 == h2, "same seed, hashes %llx and %llx",
	    (unsigned long long)h1, (unsigned long long)h2);
	CHECKF(h1 != h3, "seeds 42 and 43 both gave hash %llx",
	    (unsigned long long)h1);
	CHECK(busy_hash(7, 64) == busy_hash(7, 64));
}

/* The toy: whoever sees `flag' clear sets it and counts as a winner. */
struct toy {
	uint32_t t_pad[TOY_THREADS + 1];
	uint32_t t_flag;
	uint32_t t_winners;
	uint32_t t_go;
	bool t_correct;
};

static void
toy_thread(void *arg)
{
	struct toy *t = arg;
	int i;

	while (atomic_load_acq_int(&t->t_go) == 0)
		md_spin_wait(&t->t_go);
	if (t->t_correct) {
		if (atomic_cmpset_int(&t->t_flag, 0, 1))
			(void)atomic_fetchadd_int(&t->t_winners, 1);
		return;
	}
	/*
	 * Racy on purpose: check, then act, with a window in between (a few
	 * loads of this CPU's own word, as a caller doing some work would).
	 */
	if (atomic_load_int(&t->t_flag) == 0) {
		for (i = 0; i < 8; i++)
			(void)atomic_load_int(&t->t_pad[curcpu]);
		atomic_store_int(&t->t_flag, 1);
		(void)atomic_fetchadd_int(&t->t_winners, 1);
	}
}

static void
toy_body(void *arg)
{
	struct thread *td[TOY_THREADS];
	struct toy *t = arg;
	int i;

	t->t_flag = t->t_winners = t->t_go = 0;
	/* CPU 0 runs this thread; the toys spin on CPUs 1 and up. */
	for (i = 0; i < TOY_THREADS; i++)
		CHECK(kthread_create(toy_thread, t, 1 + i % (md_ncpus() - 1),
			  KTHR_BOUND | KTHR_JOINABLE, &td[i], "toy%d", i) == 0);
	/* Let them all reach the start line. */
	CHECK(curcpu == 0);
	pause_ns("toygo", 10000);
	atomic_store_rel_int(&t->t_go, 1);
	for (i = 0; i < TOY_THREADS; i++)
		kthread_join(td[i]);
}

static void
toy_check(void *arg)
{
	struct toy *t = arg;

	CHECKF(t->t_winners == 1, "%u winners", t->t_winners);
}

static void
toy_explore(int mode, bool correct, int seeds, struct explore_result *r)
{
	struct explore_opts o = { .eo_name = correct ? "test_toy_correct"
						     : "test_toy_racy",
		.eo_ncpus = TOY_THREADS + 1,
		.eo_seeds = seeds,
		.eo_mode = mode,
		.eo_jitter = 20,
		.eo_pct_depth = 2,
		.eo_pct_steps = 450,
		.eo_quiet = !correct,
		.eo_stop_first = !correct,
		/* The bound on seeds is the claim: never scale it down. */
		.eo_fixed = !correct,
		.eo_seed_base = test_seed() };
	struct toy t = { .t_correct = correct };

	explore(&o, toy_body, toy_check, &t, r);
}

static void
test_toy_racy(void)
{
	struct explore_result r;

	toy_explore(EXPLORE_TIME, false, 200, &r);
	CHECKF(r.er_failed > 0 && r.er_first_status == 1,
	    "the race was not caught in %d seeds (virtual time + jitter)",
	    r.er_runs);
	printf("  racy toy caught by jitter at run %d (seed %llu)\n", r.er_runs,
	    (unsigned long long)r.er_first_failed);
	toy_explore(EXPLORE_PCT, false, 200, &r);
	CHECKF(r.er_failed > 0 && r.er_first_status == 1,
	    "the race was not caught in %d seeds (PCT)", r.er_runs);
	printf("  racy toy caught by PCT at run %d (seed %llu)\n", r.er_runs,
	    (unsigned long long)r.er_first_failed);
}

static void
test_toy_correct(void)
{
	struct explore_result r;

	toy_explore(EXPLORE_TIME, true, 1000, &r);
	CHECKF(r.er_failed == 0, "%d of %d seeds failed (first %llu)",
	    r.er_failed, r.er_runs, (unsigned long long)r.er_first_failed);
	toy_explore(EXPLORE_PCT, true, 1000, &r);
	CHECKF(r.er_failed == 0, "pct: %d of %d seeds failed (first %llu)",
	    r.er_failed, r.er_runs, (unsigned long long)r.er_first_failed);
}

/* Virtual time: md_cost() moves the clock; a spinner jumps to the write. */
struct vt {
	uint32_t v_word;
	uint64_t v_written_at;
	uint64_t v_seen_at;
	uint64_t v_events;
};

static void
vt_writer(void *arg)
{
	struct vt *v = arg;

	md_cost(1000000000ull); /* one virtual second */
	v->v_written_at = md_nanotime();
	atomic_store_rel_int(&v->v_word, 1);
}

static void
vt_waiter(void *arg)
{
	struct vt *v = arg;
	uint64_t e0 = vmlab_sim_events();

	while (atomic_load_acq_int(&v->v_word) == 0)
		md_spin_wait(&v->v_word);
	v->v_seen_at = md_nanotime();
	v->v_events = vmlab_sim_events() - e0;
}

static void
vt_body(void *arg)
{
	struct thread *a, *b;
	struct vt *v = arg;
	uint64_t t0 = md_nanotime();

	memset(v, 0, sizeof(*v));
	CHECK(kthread_create(vt_waiter, v, 1, KTHR_BOUND | KTHR_JOINABLE, &b,
		  "waiter") == 0);
	CHECK(kthread_create(vt_writer, v, 0, KTHR_BOUND | KTHR_JOINABLE, &a,
		  "writer") == 0);
	kthread_join(a);
	kthread_join(b);
	CHECKF(v->v_written_at >= t0 + 1000000000ull, "written at %llu",
	    (unsigned long long)v->v_written_at);
	CHECKF(v->v_seen_at >= v->v_written_at, "seen %llu before written %llu",
	    (unsigned long long)v->v_seen_at,
	    (unsigned long long)v->v_written_at);
	/* A second of waiting took a few dozen sync events, not millions. */
	CHECKF(v->v_events < 1000, "%llu sync events while waiting",
	    (unsigned long long)v->v_events);
}

static void
test_virtual_time(void)
{
	struct explore_opts o = {
		.eo_name = "test_virtual_time", .eo_ncpus = 2, .eo_seeds = 3
	};
	struct explore_result r;
	struct vt v;

	explore(&o, vt_body, NULL, &v, &r);
	CHECKF(r.er_failed == 0, "%d failed", r.er_failed);
}

static const struct test_case cases[] = {
	TEST_CASE(test_determinism),
	TEST_CASE(test_toy_racy),
	TEST_CASE(test_toy_correct),
	TEST_CASE(test_virtual_time),
};

int
main(int argc, char **argv)
{
	vmlab_sim_exec_norandom(argv);
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
