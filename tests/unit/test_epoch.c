/*
 * test_epoch.c: epoch-based deferred freeing (kern/epoch.h).
 *
 * Cases:
 *  - a call deferred with epoch_call() does not run while a reader that
 *    entered before the call is still inside its section, and does run
 *    once it leaves; a reader that entered after the call does not hold
 *    it back;
 *  - epoch_wait() returns only after the sections open at the call end;
 *  - on the simulated machine both are exact in virtual time: nothing
 *    runs or returns before the reader's epoch_exit(), at the instant a
 *    wrong grace period would have shown, and the deferred call runs (or
 *    epoch_wait() returns) within a bound after it;
 *  - deferred calls run (pending count falls back to 0) when nobody reads;
 *  - readers traversing a linked list that writers change, unlinking
 *    nodes and freeing them through epoch_call(), never see a freed node:
 *    the free poisons the node first, readers check every node (and the
 *    ASan build catches any use after free).
 */
#include "harness.h"
#include "kern/epoch.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "md/md_atomic.h"

#include <stdlib.h>
#include <string.h>

/* Bounds every wait for another thread: turns a hang into a failure. */
#define WAIT_NS (60ull * 1000000000ull)

/* Waits (sleeping 100 us at a time) until *p >= v; false on deadline. */
static bool
wait_for(const uint32_t *p, uint32_t v)
{
	uint64_t deadline = md_nanotime() + WAIT_NS;

	while (atomic_load_acq_int(p) < v) {
		if (md_nanotime() > deadline)
			return (false);
		pause_ns("waitfor", 100 * US);
	}
	return (true);
}

/* Spins (readers may not sleep in a section) until *p >= v. */
static bool
spin_for(const uint32_t *p, uint32_t v)
{
	uint64_t deadline = md_nanotime() + WAIT_NS;

	while (atomic_load_acq_int(p) < v) {
		if (md_nanotime() > deadline)
			return (false);
		md_spin_wait(p);
	}
	return (true);
}

/*
 * Deferred calls and a reader.
 *
 * Phase 1: reader R1 (CPU 1) enters; the writer (CPU 0) defers a call,
 * then sleeps a while (its CPU's idle loop polls the deferred calls):
 * the call must not run while R1 is inside.  R1 leaves; the call runs.
 * Phase 2: the writer defers a call, then reader R2 enters and stays
 * inside: the call must run anyway (R2 cannot have seen the object).
 *
 * On the simulated machine, exactly: CPU 0's idle loop polls the
 * deferred calls as soon as the writer sleeps, so a call let through
 * with R1 inside would have run TEST_SIM_LATENCY_NS after epoch_call():
 * the writer looks then (the host sleeps 20 ms and hopes).  Each call
 * must run at a virtual time after R1 left (dc_exit_at), and within
 * DC_POLL_NS + TEST_SIM_LATENCY_NS of the moment it could: CPU 0 polls
 * when the writer's wait_for() sleep of DC_POLL_NS ends.
 */
#define DC_POLL_NS (100 * US) /* wait_for()'s sleep */

struct dc_state {
	uint32_t dc_entered;	  /* (a) readers inside */
	uint32_t dc_release;	  /* (a) readers may leave */
	uint32_t dc_inside;	  /* (a) R1 is inside its section */
	uint32_t dc_ran;	  /* (a) deferred calls run */
	uint32_t dc_early;	  /* (a) ran while R1 was inside */
	uint32_t dc_ran_while_r1; /* dc_ran seen before releasing R1 */
	uint32_t dc_r2_saw_run;	  /* R2 saw the second call run */
	uint64_t dc_exit_at;	  /* virtual time R1 began epoch_exit() */
	uint64_t dc_call2_at;	  /* the second epoch_call() */
	uint64_t dc_ran_at[2];	  /* each call ran */
};

static struct dc_state dc;

static void
dc_call(void *arg)
{
	uint32_t n;

	(void)arg;
	if (atomic_load_acq_int(&dc.dc_inside) != 0)
		atomic_fetchadd_int(&dc.dc_early, 1);
	n = atomic_load_acq_int(&dc.dc_ran);
	if (n < 2)
		dc.dc_ran_at[n] = md_nanotime();
	/* Release: dc_ran_at[n] before the count that publishes it. */
	atomic_fetchadd_int(&dc.dc_ran, 1);
}

static void
dc_reader1(void *arg)
{
	(void)arg;
	epoch_enter();
	atomic_store_rel_int(&dc.dc_inside, 1);
	atomic_fetchadd_int(&dc.dc_entered, 1);
	CHECK(spin_for(&dc.dc_release, 1));
	atomic_store_rel_int(&dc.dc_inside, 0);
	dc.dc_exit_at = md_nanotime();
	epoch_exit();
}

static void
dc_reader2(void *arg)
{
	(void)arg;
	epoch_enter();
	atomic_fetchadd_int(&dc.dc_entered, 1);
	/* Stay inside until the call deferred before we entered has run. */
	if (spin_for(&dc.dc_ran, 2))
		dc.dc_r2_saw_run = 1;
	epoch_exit();
}

static void
dc_writer(void *arg)
{
	struct thread *td;
	uint64_t t;
	int i;

	(void)arg;
	/* Phase 1. */
	CHECK(kthread_create(dc_reader1, NULL, 1, KTHR_BOUND | KTHR_JOINABLE,
		  &td, "dcr1") == 0);
	CHECK(wait_for(&dc.dc_entered, 1));
	t = md_nanotime();
	epoch_call(dc_call, NULL);
	CHECK(epoch_pending() >= 1);
	if (test_sim())
		(void)test_sleep_until(t + TEST_SIM_LATENCY_NS);
	else
		for (i = 0; i < 20; i++)
			pause_ns("dcwait", 1 * MS);
	dc.dc_ran_while_r1 = atomic_load_acq_int(&dc.dc_ran);
	atomic_store_rel_int(&dc.dc_release, 1);
	CHECK(wait_for(&dc.dc_ran, 1));
	kthread_join(td);
	/* Phase 2. */
	dc.dc_call2_at = md_nanotime();
	epoch_call(dc_call, NULL);
	CHECK(kthread_create(dc_reader2, NULL, 1, KTHR_BOUND | KTHR_JOINABLE,
		  &td, "dcr2") == 0);
	CHECK(wait_for(&dc.dc_ran, 2));
	kthread_join(td);
}

static void
dc_main(void *arg)
{
	struct thread *td;

	CHECK(kthread_create(dc_writer, arg, 0, KTHR_BOUND | KTHR_JOINABLE, &td,
		  "dcw") == 0);
	kthread_join(td);
}

static void
test_epoch_call_waits_for_reader(void)
{
	memset(&dc, 0, sizeof(dc));
	test_boot(2, NULL);
	test_run(dc_main, NULL);
	test_shutdown();
	CHECKF(dc.dc_ran_while_r1 == 0 && dc.dc_early == 0,
	    "a deferred call ran while a reader from before was inside");
	CHECK(dc.dc_ran == 2);
	CHECKF(dc.dc_r2_saw_run == 1,
	    "a reader that entered after epoch_call() held the call back");
	if (!test_sim() || dc.dc_ran != 2)
		return;
	CHECK_WITHIN("the deferred call ran", dc.dc_ran_at[0], "R1 left",
	    dc.dc_exit_at, DC_POLL_NS + TEST_SIM_LATENCY_NS);
	CHECK_WITHIN("with only R2 inside, the second call ran",
	    dc.dc_ran_at[1], "epoch_call()", dc.dc_call2_at,
	    DC_POLL_NS + TEST_SIM_LATENCY_NS);
}

/*
 * epoch_wait(): waits for the sections open when it is called.
 *
 * On the simulated machine, exactly: epoch_wait() looks at the readers
 * at once and then every EW_POLL_NS, so had it not waited for the reader
 * it would have returned by EW_POLL_NS + TEST_SIM_LATENCY_NS after the
 * call: the main thread looks then (the host sleeps 20 ms and hopes).
 * It must return after the reader began epoch_exit(), and within
 * EW_POLL_NS + TEST_SIM_LATENCY_NS of it.
 */
#define EW_POLL_NS (10 * US) /* kern_epoch.c: epoch_wait()'s sleep */

struct ew_state {
	uint32_t ew_entered;  /* (a) */
	uint32_t ew_release;  /* (a) */
	uint32_t ew_started;  /* (a) the waiter called epoch_wait() */
	uint32_t ew_returned; /* (a) */
	uint32_t ew_returned_early;
	uint64_t ew_called_at;	 /* virtual time of the epoch_wait() call */
	uint64_t ew_exit_at;	 /* the reader began epoch_exit() */
	uint64_t ew_returned_at; /* epoch_wait() returned */
};

static struct ew_state ew;

static void
ew_reader(void *arg)
{
	(void)arg;
	epoch_enter();
	atomic_store_rel_int(&ew.ew_entered, 1);
	CHECK(spin_for(&ew.ew_release, 1));
	ew.ew_exit_at = md_nanotime();
	epoch_exit();
}

static void
ew_waiter(void *arg)
{
	(void)arg;
	ew.ew_called_at = md_nanotime();
	/* Release: ew_called_at before the flag. */
	atomic_store_rel_int(&ew.ew_started, 1);
	epoch_wait();
	ew.ew_returned_at = md_nanotime();
	/* Release: ew_returned_at before the flag. */
	atomic_store_rel_int(&ew.ew_returned, 1);
}

static void
ew_main(void *arg)
{
	struct thread *r, *w;
	int i;

	(void)arg;
	/* With no reader inside, it returns. */
	epoch_wait();
	CHECK(kthread_create(ew_reader, NULL, 1, KTHR_BOUND | KTHR_JOINABLE, &r,
		  "ewr") == 0);
	CHECK(wait_for(&ew.ew_entered, 1));
	CHECK(kthread_create(ew_waiter, NULL, 0, KTHR_BOUND | KTHR_JOINABLE, &w,
		  "eww") == 0);
	CHECK(wait_for(&ew.ew_started, 1));
	if (test_sim())
		(void)test_sleep_until(
		    ew.ew_called_at + EW_POLL_NS + TEST_SIM_LATENCY_NS);
	else
		for (i = 0; i < 20; i++)
			pause_ns("ewwait", 1 * MS);
	ew.ew_returned_early = atomic_load_acq_int(&ew.ew_returned);
	atomic_store_rel_int(&ew.ew_release, 1);
	kthread_join(w);
	kthread_join(r);
	CHECK(ew.ew_returned == 1);
}

static void
test_epoch_wait(void)
{
	memset(&ew, 0, sizeof(ew));
	test_boot(2, NULL);
	test_run(ew_main, NULL);
	test_shutdown();
	CHECKF(ew.ew_returned_early == 0,
	    "epoch_wait() returned while a reader was inside");
	if (!test_sim() || ew.ew_returned != 1)
		return;
	CHECK_WITHIN("epoch_wait() returned", ew.ew_returned_at,
	    "the reader left", ew.ew_exit_at, EW_POLL_NS + TEST_SIM_LATENCY_NS);
}

/*
 * With nobody reading, deferred calls run: when a CPU's list reaches 64
 * entries, and from the idle loop.
 */
#define PD_CALLS 1000

static uint32_t pd_ran;

static void
pd_call(void *arg)
{
	free(arg);
	atomic_fetchadd_int(&pd_ran, 1);
}

static void
pd_main(void *arg)
{
	uint64_t deadline;
	int i;

	(void)arg;
	for (i = 0; i < PD_CALLS; i++)
		epoch_call(pd_call, malloc(64));
	/* The 64-entry threshold keeps the list short while we call. */
	CHECKF(epoch_pending() < 64, "%llu calls pending",
	    (unsigned long long)epoch_pending());
	deadline = md_nanotime() + WAIT_NS;
	while (epoch_pending() != 0 && md_nanotime() < deadline)
		pause_ns("pdwait", 100 * US);
	CHECK(epoch_pending() == 0);
	CHECK(atomic_load_acq_int(&pd_ran) == PD_CALLS);
}

static void
test_epoch_pending_drains(void)
{
	pd_ran = 0;
	test_boot(2, NULL);
	test_run(pd_main, NULL);
	test_shutdown();
}

/*
 * Readers and writers on a linked list.
 *
 * Writers hold el_mtx to change the list and publish with release
 * stores; they unlink a node, then pass it to epoch_call(), which
 * poisons and frees it.  Readers walk the list inside a section.
 *
 * Locking key: (w) el_mtx; (a) atomic; (c) constant.
 */
#define NODE_LIVE 0x4c495645a11ce5e5ull
#define NODE_DEAD 0xdeadbeefdeadbeefull
#define EL_MAXLEN 48

struct el_node {
	uintptr_t en_next; /* (w,a) struct el_node * */
	uint64_t en_magic; /* NODE_LIVE until the deferred free */
	uint64_t en_key;
};

struct el_state {
	struct mtx el_mtx;
	uintptr_t el_head;	  /* (w,a) first node */
	uint32_t el_len;	  /* (w,a) nodes on the list */
	uint32_t el_writers_left; /* (a) */
	uint64_t el_inserted;	  /* (a) */
	uint64_t el_removed;	  /* (a) passed to epoch_call() */
	uint64_t el_freed;	  /* (a) freed by the deferred call */
	uint64_t el_bad;	  /* (a) readers saw a poisoned node */
	uint64_t el_visits;	  /* (a) nodes readers visited */
	uint32_t el_iters;	  /* (c) per writer */
};

static struct el_state el;

static void
el_free(void *arg)
{
	struct el_node *n = arg;

	n->en_magic = NODE_DEAD;
	atomic_fetchadd_64(&el.el_freed, 1);
	free(n);
}

static void
el_insert(uint64_t key)
{
	struct el_node *n = malloc(sizeof(*n));

	n->en_magic = NODE_LIVE;
	n->en_key = key;
	mtx_lock(&el.el_mtx);
	n->en_next = atomic_load_ptr(&el.el_head);
	/* Release: the node's fields before the pointer to it. */
	atomic_store_rel_ptr(&el.el_head, (uintptr_t)n);
	atomic_store_int(&el.el_len, el.el_len + 1);
	mtx_unlock(&el.el_mtx);
	atomic_fetchadd_64(&el.el_inserted, 1);
}

/* Unlinks the k-th node (k < length) and defers its free. */
static void
el_remove(uint32_t k)
{
	struct el_node *n;
	uintptr_t *prevp;

	mtx_lock(&el.el_mtx);
	if (el.el_len == 0) {
		mtx_unlock(&el.el_mtx);
		return;
	}
	k %= el.el_len;
	prevp = &el.el_head;
	n = (struct el_node *)atomic_load_ptr(prevp);
	while (k-- > 0) {
		prevp = &n->en_next;
		n = (struct el_node *)atomic_load_ptr(prevp);
	}
	/* Release: readers that find the successor see it whole. */
	atomic_store_rel_ptr(prevp, atomic_load_ptr(&n->en_next));
	atomic_store_int(&el.el_len, el.el_len - 1);
	mtx_unlock(&el.el_mtx);
	atomic_fetchadd_64(&el.el_removed, 1);
	epoch_call(el_free, n);
}

static void
el_writer(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg, r;
	uint32_t i;

	for (i = 0; i < el.el_iters; i++) {
		r = test_rand(&rng);
		if (r % 2 == 0 && atomic_load_int(&el.el_len) < EL_MAXLEN)
			el_insert((r >> 32) & 0xffff);
		else
			el_remove((uint32_t)(r >> 8));
		if (r % 8 == 0)
			maybe_yield();
	}
	atomic_fetchadd_int(&el.el_writers_left, (uint32_t)-1);
}

static void
el_reader(void *arg)
{
	struct el_node *n;
	uint64_t visits = 0, bad = 0;

	(void)arg;
	while (atomic_load_acq_int(&el.el_writers_left) != 0) {
		epoch_enter();
		/* Acquire: see each node's fields as published. */
		for (n = (struct el_node *)atomic_load_acq_ptr(&el.el_head);
		     n != NULL;
		     n = (struct el_node *)atomic_load_acq_ptr(&n->en_next)) {
			if (n->en_magic != NODE_LIVE || n->en_key == NODE_DEAD)
				bad++;
			visits++;
		}
		epoch_exit();
		maybe_yield();
	}
	atomic_fetchadd_64(&el.el_visits, visits);
	atomic_fetchadd_64(&el.el_bad, bad);
}

#define EL_WRITERS 2
#define EL_READERS 4

static void
el_main(void *arg)
{
	struct thread *tds[EL_WRITERS + EL_READERS];
	int i;

	(void)arg;
	el.el_writers_left = EL_WRITERS;
	for (i = 0; i < EL_WRITERS + EL_READERS; i++)
		CHECK(kthread_create(i < EL_WRITERS ? el_writer : el_reader,
			  (void *)(uintptr_t)(test_seed() + (uint64_t)i), -1,
			  KTHR_JOINABLE, &tds[i], "el%d", i) == 0);
	for (i = 0; i < EL_WRITERS + EL_READERS; i++)
		kthread_join(tds[i]);
}

static void
test_epoch_list(void)
{
	struct el_node *n, *next;

	memset(&el, 0, sizeof(el));
	el.el_iters = test_sanitizer() ? 5000 : 50000;
	test_boot(4, NULL);
	mtx_init(&el.el_mtx, "test epoch list", MTX_DEF);
	test_run(el_main, NULL);
	mtx_destroy(&el.el_mtx);
	/* Shutdown runs the deferred calls still pending. */
	test_shutdown();
	CHECKF(el.el_bad == 0, "readers saw %llu freed nodes",
	    (unsigned long long)el.el_bad);
	CHECKF(el.el_freed == el.el_removed, "%llu removed, %llu freed",
	    (unsigned long long)el.el_removed, (unsigned long long)el.el_freed);
	CHECK(el.el_inserted - el.el_removed == el.el_len);
	CHECK(el.el_visits > 0);
	for (n = (struct el_node *)el.el_head; n != NULL; n = next) {
		next = (struct el_node *)n->en_next;
		free(n);
	}
}

static const struct test_case cases[] = {
	TEST_CASE(test_epoch_call_waits_for_reader),
	TEST_CASE(test_epoch_wait),
	TEST_CASE(test_epoch_pending_drains),
	TEST_CASE(test_epoch_list),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
