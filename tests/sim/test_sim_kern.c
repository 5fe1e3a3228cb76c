/*
 * test_sim_kern.c: the kernel services explored under many schedules.
 *
 * Each body runs on a fresh simulated machine per seed (explore.h) and
 * checks its invariants: mutual exclusion and exact counts for every lock
 * class, no lost wakeups in a bounded buffer, no reader ever seeing a node
 * that an epoch-deferred free has poisoned, IPIs reaching every CPU.
 * Seeds: 1,000 in virtual-time order with jitter on 4 CPUs, PCT on 4
 * CPUs, and fewer on 64 CPUs (VMLAB_EXPLORE_SEEDS scales the first).
 */
#include "explore.h"
#include "harness.h"
#include "kern/epoch.h"
#include "kern/lockmgr.h"
#include "kern/mutex.h"
#include "kern/rwlock.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "vmlab/vmlab.h"

#include <stdlib.h>
#include <string.h>

#define LK_THREADS 6
#define LK_ITERS 12

struct lk {
	struct mtx l_mtx, l_spin;
	struct rwlock l_rw;
	struct sx l_sx;
	struct qmtx l_qm;
	struct lockmgr l_lk;
	uint32_t l_inside[6]; /* (a) holders now, per lock */
	uint64_t l_count[6];  /* protected by lock i */
	uint32_t l_readers;   /* (a) */
};

static void
lk_enter(struct lk *l, int i)
{
	CHECKF(atomic_fetchadd_int(&l->l_inside[i], 1) == 0,
	    "two holders of lock %d", i);
	l->l_count[i]++;
	if (i >= 3) /* sleepable: may block inside */
		maybe_yield();
	(void)atomic_fetchadd_int(&l->l_inside[i], (uint32_t)-1);
}

static void
lk_thread(void *arg)
{
	struct lk *l = arg;
	int n;

	for (n = 0; n < LK_ITERS; n++) {
		mtx_lock(&l->l_mtx);
		lk_enter(l, 0);
		mtx_unlock(&l->l_mtx);
		mtx_lock_spin(&l->l_spin);
		lk_enter(l, 1);
		mtx_unlock_spin(&l->l_spin);
		rw_wlock(&l->l_rw);
		lk_enter(l, 2);
		rw_wunlock(&l->l_rw);
		sx_xlock(&l->l_sx);
		lk_enter(l, 3);
		sx_xunlock(&l->l_sx);
		qmtx_lock(&l->l_qm);
		lk_enter(l, 4);
		qmtx_unlock(&l->l_qm);
		lockmgr_xlock(&l->l_lk);
		lk_enter(l, 5);
		lockmgr_unlock(&l->l_lk);
		/* Readers exclude the writer but not each other. */
		rw_rlock(&l->l_rw);
		CHECK(atomic_load_int(&l->l_inside[2]) == 0);
		rw_runlock(&l->l_rw);
		sx_slock(&l->l_sx);
		CHECK(atomic_load_int(&l->l_inside[3]) == 0);
		sx_sunlock(&l->l_sx);
	}
}

static void
lk_body(void *arg)
{
	struct thread *td[LK_THREADS];
	struct lk *l = arg;
	int i;

	memset(l, 0, sizeof(*l));
	mtx_init(&l->l_mtx, "x mtx", MTX_DEF);
	mtx_init(&l->l_spin, "x spin", MTX_SPIN);
	rw_init(&l->l_rw, "x rw");
	sx_init(&l->l_sx, "x sx");
	qmtx_init(&l->l_qm, "x qmtx");
	lockmgr_init(&l->l_lk, "x lockmgr");
	for (i = 0; i < LK_THREADS; i++)
		CHECK(kthread_create(lk_thread, l, -1, KTHR_JOINABLE, &td[i],
			  "lk%d", i) == 0);
	for (i = 0; i < LK_THREADS; i++)
		kthread_join(td[i]);
	mtx_destroy(&l->l_mtx);
	mtx_destroy(&l->l_spin);
	rw_destroy(&l->l_rw);
	sx_destroy(&l->l_sx);
	qmtx_destroy(&l->l_qm);
	lockmgr_destroy(&l->l_lk);
}

static void
lk_check(void *arg)
{
	struct lk *l = arg;
	int i;

	for (i = 0; i < 6; i++)
		CHECKF(l->l_count[i] == LK_THREADS * LK_ITERS,
		    "lock %d count %llu", i, (unsigned long long)l->l_count[i]);
}

/* Bounded buffer with sleep/wakeup: no item lost, no wakeup lost. */
#define BB_SIZE 3
#define BB_ITEMS 40
#define BB_PRODUCERS 3

struct bb {
	struct mtx b_mtx;
	int b_buf[BB_SIZE];
	int b_n, b_in, b_out;
	uint64_t b_sum;
	int b_consumed;
};

static void
bb_producer(void *arg)
{
	struct bb *b = arg;
	int i;

	mtx_lock(&b->b_mtx);
	for (i = 1; i <= BB_ITEMS; i++) {
		while (b->b_n == BB_SIZE)
			(void)msleep(
			    &b->b_in, &b->b_mtx.lock_object, 0, "bbfull", 0);
		b->b_buf[b->b_in] = i;
		b->b_in = (b->b_in + 1) % BB_SIZE;
		b->b_n++;
		wakeup_one(&b->b_out);
	}
	mtx_unlock(&b->b_mtx);
}

static void
bb_consumer(void *arg)
{
	struct bb *b = arg;
	int total = BB_ITEMS * BB_PRODUCERS / 2;
	int i;

	mtx_lock(&b->b_mtx);
	for (i = 0; i < total; i++) {
		while (b->b_n == 0)
			(void)msleep(
			    &b->b_out, &b->b_mtx.lock_object, 0, "bbempty", 0);
		b->b_sum += (uint64_t)b->b_buf[b->b_out];
		b->b_out = (b->b_out + 1) % BB_SIZE;
		b->b_n--;
		b->b_consumed++;
		wakeup_one(&b->b_in);
	}
	mtx_unlock(&b->b_mtx);
}

static void
bb_body(void *arg)
{
	struct thread *td[BB_PRODUCERS + 2];
	struct bb *b = arg;
	int i;

	memset(b, 0, sizeof(*b));
	mtx_init(&b->b_mtx, "x bb", MTX_DEF);
	for (i = 0; i < BB_PRODUCERS; i++)
		CHECK(kthread_create(bb_producer, b, -1, KTHR_JOINABLE, &td[i],
			  "prod%d", i) == 0);
	for (i = 0; i < 2; i++)
		CHECK(kthread_create(bb_consumer, b, -1, KTHR_JOINABLE,
			  &td[BB_PRODUCERS + i], "cons%d", i) == 0);
	for (i = 0; i < BB_PRODUCERS + 2; i++)
		kthread_join(td[i]);
	mtx_destroy(&b->b_mtx);
}

static void
bb_check(void *arg)
{
	struct bb *b = arg;

	CHECKF(b->b_consumed == BB_ITEMS * BB_PRODUCERS, "consumed %d",
	    b->b_consumed);
	CHECKF(
	    b->b_sum == (uint64_t)BB_PRODUCERS * BB_ITEMS * (BB_ITEMS + 1) / 2,
	    "sum %llu", (unsigned long long)b->b_sum);
}

/* Epoch: readers walk a list that writers replace and free late. */
#define EP_MAGIC 0x600dcafeu
#define EP_DEAD 0xdeadbeefu

struct ep_node {
	uint32_t n_magic;
	uintptr_t n_next;
};

struct ep {
	uintptr_t e_head; /* (a) */
	struct mtx e_wlock;
	uint32_t e_stop; /* (a) */
	uint64_t e_reads;
};

static void
ep_free(void *arg)
{
	struct ep_node *n = arg;

	n->n_magic = EP_DEAD;
	free(n);
}

static void
ep_reader(void *arg)
{
	struct ep *e = arg;
	struct ep_node *n;
	int k;

	/* Bounded: under PCT a busy loop would starve the writers. */
	for (k = 0; k < 60 && atomic_load_acq_int(&e->e_stop) == 0; k++) {
		epoch_enter();
		for (n = (struct ep_node *)atomic_load_acq_ptr(&e->e_head);
		     n != NULL;
		     n = (struct ep_node *)atomic_load_acq_ptr(&n->n_next))
			CHECKF(n->n_magic == EP_MAGIC, "node %p magic %#x",
			    (void *)n, n->n_magic);
		epoch_exit();
		e->e_reads++;
		maybe_yield();
	}
}

static void
ep_writer(void *arg)
{
	struct ep *e = arg;
	struct ep_node *n, *old;
	int i;

	for (i = 0; i < 30; i++) {
		n = malloc(sizeof(*n));
		n->n_magic = EP_MAGIC;
		mtx_lock(&e->e_wlock);
		old = (struct ep_node *)atomic_load_ptr(&e->e_head);
		n->n_next = 0;
		/* Release: the node is initialised before it is published. */
		atomic_store_rel_ptr(&e->e_head, (uintptr_t)n);
		mtx_unlock(&e->e_wlock);
		if (old != NULL)
			epoch_call(ep_free, old);
		maybe_yield();
	}
}

static void
ep_body(void *arg)
{
	struct thread *r[3], *w[2];
	struct ep *e = arg;
	struct ep_node *n;
	int i;

	memset(e, 0, sizeof(*e));
	mtx_init(&e->e_wlock, "x epoch", MTX_DEF);
	for (i = 0; i < 3; i++)
		CHECK(kthread_create(ep_reader, e, -1, KTHR_JOINABLE, &r[i],
			  "reader%d", i) == 0);
	for (i = 0; i < 2; i++)
		CHECK(kthread_create(ep_writer, e, -1, KTHR_JOINABLE, &w[i],
			  "writer%d", i) == 0);
	for (i = 0; i < 2; i++)
		kthread_join(w[i]);
	atomic_store_rel_int(&e->e_stop, 1);
	for (i = 0; i < 3; i++)
		kthread_join(r[i]);
	epoch_wait();
	n = (struct ep_node *)e->e_head;
	if (n != NULL)
		epoch_call(ep_free, n);
	mtx_destroy(&e->e_wlock);
}

/* IPIs: a waited broadcast runs on every CPU once. */
struct ipi {
	uint32_t i_hits[64];
};

static void
ipi_handler(void *arg)
{
	struct ipi *p = arg;

	(void)atomic_fetchadd_int(&p->i_hits[curcpu], 1);
}

static void
ipi_sender(void *arg)
{
	struct ipi *p = arg;
	bool *set = calloc((size_t)md_ncpus(), sizeof(bool));
	int i;

	for (i = 0; i < md_ncpus(); i++)
		set[i] = true;
	md_ipi_send(set, ipi_handler, p, true);
	free(set);
}

static void
ipi_body(void *arg)
{
	struct ipi *p = arg;
	struct thread *td[3];
	int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < 3; i++)
		CHECK(kthread_create(ipi_sender, p, -1, KTHR_JOINABLE, &td[i],
			  "ipi%d", i) == 0);
	for (i = 0; i < 3; i++)
		kthread_join(td[i]);
	for (i = 0; i < md_ncpus() && i < 64; i++)
		CHECKF(p->i_hits[i] == 3, "cpu %d handled %u", i, p->i_hits[i]);
}

/* Explores one configuration; a failed or stalled seed fails the test. */
static void
run_one(struct explore_opts *o, const char *what, void (*body)(void *),
    void (*check)(void *), void *arg)
{
	struct explore_result r;

	explore(o, body, check, arg, &r);
	CHECKF(r.er_failed == 0,
	    "%s: %s: %d of %d seeds failed, %d of them stalled (first: "
	    "seed %llu)",
	    o->eo_name, what, r.er_failed, r.er_runs, r.er_stalled,
	    (unsigned long long)r.er_first_failed);
}

static void
run_all(
    const char *name, void (*body)(void *), void (*check)(void *), void *arg)
{
	struct explore_opts o = { .eo_name = name,
		.eo_jitter = 15,
		.eo_pct_depth = 3,
		.eo_pct_steps = 5000 };

	o.eo_ncpus = 4;
	o.eo_seeds = 1000;
	o.eo_mode = EXPLORE_TIME;
	run_one(&o, "4 CPUs", body, check, arg);
	o.eo_seeds = 300;
	o.eo_mode = EXPLORE_PCT;
	run_one(&o, "4 CPUs, pct", body, check, arg);
	o.eo_ncpus = 64;
	o.eo_seeds = 50;
	o.eo_mode = EXPLORE_TIME;
	run_one(&o, "64 CPUs", body, check, arg);
}

static void
test_locks_explored(void)
{
	struct lk l;

	run_all("test_locks_explored", lk_body, lk_check, &l);
}

static void
test_sleep_wakeup_explored(void)
{
	struct bb b;

	run_all("test_sleep_wakeup_explored", bb_body, bb_check, &b);
}

static void
test_epoch_explored(void)
{
	struct ep e;

	run_all("test_epoch_explored", ep_body, NULL, &e);
}

static void
test_ipi_explored(void)
{
	struct ipi p;

	run_all("test_ipi_explored", ipi_body, NULL, &p);
}

static const struct test_case cases[] = {
	TEST_CASE(test_locks_explored),
	TEST_CASE(test_sleep_wakeup_explored),
	TEST_CASE(test_epoch_explored),
	TEST_CASE(test_ipi_explored),
};

int
main(int argc, char **argv)
{
	vmlab_sim_exec_norandom(argv);
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
