/*
 * test_ipi.c: inter-processor interrupts (md_ipi_send, md_ipi_send_one).
 *
 * Cases:
 *  - a waiting IPI to all CPUs (2, 4 and 8 of them) runs its handler
 *    exactly once on each, and its effects are visible when the send
 *    returns; one to a subset reaches only the subset; the delivery
 *    count grows by the remote deliveries;
 *  - a non-waiting IPI eventually runs everywhere;
 *  - IPIs reach idle CPUs (the handler runs in the idle thread; on the
 *    simulated machine a waiting send returns within TEST_SIM_LATENCY_NS
 *    of virtual time);
 *  - IPIs reach a CPU busy in a loop that calls maybe_yield() (the
 *    handler runs in that thread);
 *  - a CPU spinning for a spin mutex takes no IPI while it spins with
 *    interrupts disabled, and takes it once it has released the mutex,
 *    whether the sender waits or not (on the simulated machine exactly:
 *    not by TEST_SIM_LATENCY_NS after the send, and within it after the
 *    release);
 *  - many IPIs in a row from every CPU at once, waiting and not, to all,
 *    to one and to random subsets: every handler runs exactly as often as
 *    it was sent for, on the right CPU.
 */
#include "harness.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "md/md_atomic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds every wait for another thread: turns a hang into a failure. */
#define WAIT_NS (60ull * 1000000000ull)

#define MAXCPU 8

/*
 * Boots, refusing a machine larger than the arrays below hold (the sim
 * variants may raise the CPU count with VMLAB_TEST_CPUS).
 */
static void
ipi_boot(int ncpus, const char *const *tunables)
{
	test_boot(ncpus, tunables);
	if (md_ncpus() > MAXCPU) {
		fprintf(stderr,
		    "test_ipi: %d CPUs, but its arrays hold %d: lower "
		    "VMLAB_TEST_CPUS\n",
		    md_ncpus(), MAXCPU);
		exit(1);
	}
}

/* Waits (sleeping 50 us at a time) until *p >= v; false on deadline. */
static bool
wait_for(const uint32_t *p, uint32_t v)
{
	return (test_wait_for(p, v, WAIT_NS));
}

/* Spins, polling for IPIs, until *p >= v; false on deadline. */
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
 * Waiting IPIs to all CPUs and to subsets.
 */
struct all_state {
	uint32_t al_hits[MAXCPU]; /* (a) handler runs per CPU */
	uint32_t al_bad;	  /* (a) handler saw a bad CPU number */
};

static void
all_handler(void *arg)
{
	struct all_state *s = arg;
	int cpu = curcpu;

	if (cpu < 0 || cpu >= md_ncpus())
		atomic_fetchadd_int(&s->al_bad, 1);
	else
		atomic_fetchadd_int(&s->al_hits[cpu], 1);
}

#define ALL_ROUNDS 200

static void
all_main(void *arg)
{
	struct all_state *s = arg;
	bool set[MAXCPU];
	uint32_t expect[MAXCPU];
	uint64_t ipis0, remote = 0;
	int cpu, r, n = md_ncpus(), bad = 0;

	memset(expect, 0, sizeof(expect));
	ipis0 = md_ipi_count();
	for (r = 0; r < ALL_ROUNDS; r++) {
		/* Every other round to all CPUs, else to a subset. */
		for (cpu = 0; cpu < n; cpu++)
			set[cpu] = r % 2 == 0 || (cpu + r) % 3 == 0;
		md_ipi_send(set, all_handler, s, true);
		for (cpu = 0; cpu < n; cpu++) {
			if (set[cpu]) {
				expect[cpu]++;
				if (cpu != curcpu)
					remote++;
			}
			/* The handlers' effects are visible on return. */
			if (atomic_load_acq_int(&s->al_hits[cpu]) !=
			    expect[cpu])
				bad++;
		}
	}
	CHECKF(bad == 0, "%d times a CPU's count was off after a send", bad);
	CHECK(s->al_bad == 0);
	CHECKF(md_ipi_count() - ipis0 == remote,
	    "%llu IPIs delivered, %llu sent to other CPUs",
	    (unsigned long long)(md_ipi_count() - ipis0),
	    (unsigned long long)remote);
}

static void
test_ipi_all_wait(void)
{
	struct all_state s;
	int ncpus[] = { 2, 4, 8 };
	int k;

	for (k = 0; k < 3; k++) {
		memset(&s, 0, sizeof(s));
		ipi_boot(ncpus[k], NULL);
		test_run(all_main, &s);
		test_shutdown();
	}
}

/*
 * Non-waiting IPIs run eventually.
 */
static void
nowait_main(void *arg)
{
	struct all_state *s = arg;
	bool set[MAXCPU];
	int cpu, r, n = md_ncpus();

	for (cpu = 0; cpu < n; cpu++)
		set[cpu] = true;
	for (r = 0; r < 10; r++)
		md_ipi_send(set, all_handler, s, false);
	for (cpu = 0; cpu < n; cpu++)
		CHECKF(wait_for(&s->al_hits[cpu], 10),
		    "CPU %d ran %u of 10 handlers", cpu, s->al_hits[cpu]);
}

static void
test_ipi_nowait(void)
{
	struct all_state s;

	memset(&s, 0, sizeof(s));
	ipi_boot(4, NULL);
	test_run(nowait_main, &s);
	test_shutdown();
	CHECK(s.al_bad == 0);
}

/*
 * Idle CPUs.  The sender is bound to CPU 0; nothing else runs on the
 * other CPUs, so the handler must run in their idle threads.
 */
struct idle_state {
	int id_target;
	uint32_t id_ran[MAXCPU];     /* (a) */
	uint32_t id_in_idle[MAXCPU]; /* (a) ran in the idle thread */
	uint32_t id_wrong;	     /* (a) ran on another CPU */
	uint64_t id_slowest;	     /* longest waiting send (virtual ns) */
};

static void
idle_handler(void *arg)
{
	struct idle_state *s = arg;
	int cpu = curcpu;

	if (cpu != s->id_target) {
		atomic_fetchadd_int(&s->id_wrong, 1);
		return;
	}
	atomic_fetchadd_int(&s->id_ran[cpu], 1);
	if ((curthread->td_flags & TDF_IDLE) != 0)
		atomic_fetchadd_int(&s->id_in_idle[cpu], 1);
}

/* Waits until every CPU but ours sits in its idle loop. */
static bool
others_idle(void)
{
	uint64_t deadline = md_nanotime() + WAIT_NS;
	int cpu;

	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		if (cpu == curcpu)
			continue;
		while (atomic_load_int(&kern_pcpu[cpu].pc_idle) == 0) {
			if (md_nanotime() > deadline)
				return (false);
			pause_ns("idle", 20 * US);
		}
	}
	return (true);
}

static void
idle_sender(void *arg)
{
	struct idle_state *s = arg;
	uint64_t t;
	int cpu, r;

	for (r = 0; r < 50; r++) {
		CHECK(others_idle());
		for (cpu = 1; cpu < md_ncpus(); cpu++) {
			s->id_target = cpu;
			t = md_nanotime();
			md_ipi_send_one(cpu, idle_handler, s, true);
			t = md_nanotime() - t;
			if (t > s->id_slowest)
				s->id_slowest = t;
		}
	}
}

static void
idle_main(void *arg)
{
	struct thread *td;

	CHECK(kthread_create(idle_sender, arg, 0, KTHR_BOUND | KTHR_JOINABLE,
		  &td, "idlesend") == 0);
	kthread_join(td);
}

static void
test_ipi_idle_cpus(void)
{
	struct idle_state s;
	int cpu;

	memset(&s, 0, sizeof(s));
	ipi_boot(4, NULL);
	test_run(idle_main, &s);
	test_shutdown();
	CHECK(s.id_wrong == 0);
	for (cpu = 1; cpu < 4; cpu++) {
		CHECKF(s.id_ran[cpu] == 50, "CPU %d ran %u of 50 handlers", cpu,
		    s.id_ran[cpu]);
		CHECKF(s.id_in_idle[cpu] == s.id_ran[cpu],
		    "CPU %d: %u of %u handlers ran outside the idle thread",
		    cpu, s.id_ran[cpu] - s.id_in_idle[cpu], s.id_ran[cpu]);
	}
	/* Simulated machine: wake-up, handler and answer are bounded. */
	if (test_sim())
		CHECKF(s.id_slowest <= TEST_SIM_LATENCY_NS,
		    "a waiting IPI to an idle CPU took %llu ns of virtual time",
		    (unsigned long long)s.id_slowest);
}

/*
 * A CPU busy in a loop that calls maybe_yield(): the handler interrupts
 * that very thread.
 */
struct busy_state {
	struct thread *bs_busy; /* the looping thread */
	uint32_t bs_started;	/* (a) */
	uint32_t bs_stop;	/* (a) */
	uint32_t bs_ran;	/* (a) */
	uint32_t bs_in_busy;	/* (a) ran in bs_busy */
	uint64_t bs_loops;
};

static void
busy_handler(void *arg)
{
	struct busy_state *s = arg;

	atomic_fetchadd_int(&s->bs_ran, 1);
	if (curthread == s->bs_busy && curcpu == 1)
		atomic_fetchadd_int(&s->bs_in_busy, 1);
}

static void
busy_loop(void *arg)
{
	struct busy_state *s = arg;

	atomic_store_rel_int(&s->bs_started, 1);
	while (atomic_load_acq_int(&s->bs_stop) == 0) {
		s->bs_loops++;
		maybe_yield();
	}
}

static void
busy_sender(void *arg)
{
	struct busy_state *s = arg;
	int r;

	CHECK(wait_for(&s->bs_started, 1));
	for (r = 0; r < 100; r++)
		md_ipi_send_one(1, busy_handler, s, true);
	atomic_store_rel_int(&s->bs_stop, 1);
}

static void
busy_main(void *arg)
{
	struct busy_state *s = arg;
	struct thread *b, *t;

	CHECK(kthread_create(busy_loop, s, 1, KTHR_BOUND | KTHR_JOINABLE,
		  &s->bs_busy, "busy") == 0);
	CHECK(kthread_create(busy_sender, s, 0, KTHR_BOUND | KTHR_JOINABLE, &t,
		  "busysend") == 0);
	b = s->bs_busy;
	kthread_join(t);
	kthread_join(b);
}

static void
test_ipi_busy_maybe_yield(void)
{
	struct busy_state s;

	static const char *const nodaemon[] = { "vm.pageout.enable=0", NULL };

	/* No page daemon on CPU 1: its wake-ups would take handlers too. */
	memset(&s, 0, sizeof(s));
	ipi_boot(2, nodaemon);
	test_run(busy_main, &s);
	test_shutdown();
	CHECK(s.bs_ran == 100);
	CHECKF(s.bs_in_busy == 100,
	    "%u of 100 handlers ran in the busy thread on CPU 1", s.bs_in_busy);
}

/*
 * A CPU spinning for a spin mutex.  Z (CPU 2) holds the mutex; Y (CPU 1)
 * spins for it; X (CPU 0) sends Y's CPU an IPI.  Y spins with interrupts
 * disabled, so the handler may only run after Y has released the mutex.
 *
 * Without waiting for the handler, X looks whether it ran early: on the
 * host after 1 ms, which a late host thread may outlast; on the simulated
 * machine exactly TEST_SIM_LATENCY_NS after the send, by when an IPI
 * delivered in spite of the disabled interrupts would have run.  There
 * the handler must also run within TEST_SIM_LATENCY_NS after Z releases
 * the mutex (Y takes it, releases it and takes the interrupt).
 */
#define SP_INIT 0
#define SP_SPINNING 1
#define SP_HOLDING 2
#define SP_RELEASED 3

struct sp_state {
	struct mtx sp_mtx;
	bool sp_wait;		/* (c) X waits for the handler */
	uint32_t sp_zheld;	/* (a) Z holds sp_mtx */
	uint32_t sp_yphase;	/* (a) SP_* */
	uint32_t sp_sending;	/* (a) X is about to send */
	uint32_t sp_release;	/* (a) Z may release */
	uint32_t sp_ran;	/* (a) */
	uint32_t sp_phase_seen; /* Y's phase when the handler ran */
	int sp_cpu_seen;
	uint32_t sp_ran_early; /* handler ran before Z released */
	uint64_t sp_ran_at;    /* virtual time the handler ran */
	uint64_t sp_zrel_at;   /* virtual time Z released the mutex */
};

static void
sp_handler(void *arg)
{
	struct sp_state *s = arg;

	s->sp_phase_seen = atomic_load_acq_int(&s->sp_yphase);
	s->sp_cpu_seen = curcpu;
	s->sp_ran_at = md_nanotime();
	/* Release: the fields above before the flag. */
	atomic_store_rel_int(&s->sp_ran, 1);
}

static void
sp_z(void *arg)
{
	struct sp_state *s = arg;
	uint64_t t;

	mtx_lock_spin(&s->sp_mtx);
	atomic_store_rel_int(&s->sp_zheld, 1);
	CHECK(spin_for(&s->sp_sending, 1));
	/* Hold on a little, so that the IPI arrives while Y spins. */
	t = md_nanotime();
	while (md_nanotime() - t < 2 * MS)
		md_spin_wait(&s->sp_release);
	CHECK(spin_for(&s->sp_release, 1));
	s->sp_zrel_at = md_nanotime();
	mtx_unlock_spin(&s->sp_mtx);
}

static void
sp_y(void *arg)
{
	struct sp_state *s = arg;

	CHECK(spin_for(&s->sp_zheld, 1));
	atomic_store_rel_int(&s->sp_yphase, SP_SPINNING);
	mtx_lock_spin(&s->sp_mtx);
	atomic_store_rel_int(&s->sp_yphase, SP_HOLDING);
	mtx_unlock_spin(&s->sp_mtx);
	atomic_store_rel_int(&s->sp_yphase, SP_RELEASED);
	/* Now take the interrupt. */
	CHECK(spin_for(&s->sp_ran, 1));
}

static void
sp_x(void *arg)
{
	struct sp_state *s = arg;
	uint64_t t;

	CHECK(spin_for(&s->sp_yphase, SP_SPINNING));
	atomic_store_rel_int(&s->sp_sending, 1);
	if (s->sp_wait) {
		/* Z releases on its own; we spin in the send meanwhile. */
		atomic_store_rel_int(&s->sp_release, 1);
		md_ipi_send_one(1, sp_handler, s, true);
		CHECK(atomic_load_acq_int(&s->sp_ran) == 1);
	} else {
		t = md_nanotime();
		md_ipi_send_one(1, sp_handler, s, false);
		if (test_sim())
			(void)test_sleep_until(t + TEST_SIM_LATENCY_NS);
		else
			pause_ns("spwait", 1 * MS);
		s->sp_ran_early = atomic_load_acq_int(&s->sp_ran);
		atomic_store_rel_int(&s->sp_release, 1);
		CHECK(wait_for(&s->sp_ran, 1));
	}
}

static void
sp_main(void *arg)
{
	void (*fns[3])(void *) = { sp_x, sp_y, sp_z };
	struct thread *tds[3];
	int i;

	for (i = 0; i < 3; i++)
		CHECK(kthread_create(fns[i], arg, i, KTHR_BOUND | KTHR_JOINABLE,
			  &tds[i], "sp%d", i) == 0);
	for (i = 0; i < 3; i++)
		kthread_join(tds[i]);
}

static void
test_ipi_spin_mutex(void)
{
	struct sp_state s;
	int w;

	for (w = 0; w < 2; w++) {
		memset(&s, 0, sizeof(s));
		s.sp_wait = w == 1;
		ipi_boot(4, NULL);
		mtx_init(&s.sp_mtx, "test ipi spin", MTX_SPIN);
		test_run(sp_main, &s);
		mtx_destroy(&s.sp_mtx);
		test_shutdown();
		CHECK(s.sp_ran == 1 && s.sp_cpu_seen == 1);
		CHECKF(s.sp_phase_seen == SP_RELEASED,
		    "%s IPI handled in phase %u of the spinning CPU",
		    w ? "waiting" : "non-waiting", s.sp_phase_seen);
		CHECK(s.sp_ran_early == 0);
		if (test_sim() && s.sp_ran == 1)
			CHECK_WITHIN(w ? "the waiting IPI's handler ran"
				       : "the non-waiting IPI's handler ran",
			    s.sp_ran_at, "Z released the mutex", s.sp_zrel_at,
			    TEST_SIM_LATENCY_NS);
	}
}

/*
 * IPI storm: a sender bound to every CPU sends waiting IPIs to all CPUs
 * and to random subsets, and non-waiting ones to random CPUs; each
 * handler counts (sender, target).  Senders keep their own tally of what
 * they sent.
 */
/*
 * Rounds per sender: a waiting IPI to all CPUs needs every CPU thread to
 * get a host core, so with more CPUs than host cores each one is slow.
 */
#define ST_ROUNDS(ncpus) (600 / (ncpus))

struct st_state {
	uint32_t st_got[MAXCPU][MAXCPU];  /* (a) [sender][target] */
	uint32_t st_sent[MAXCPU][MAXCPU]; /* (x) by sender */
	uint32_t st_wrong;   /* (a) handler ran on a CPU not sent to */
	uint32_t st_total;   /* (a) handlers run */
	uint32_t st_remote;  /* (a) handlers run on a CPU not the sender's */
	uint32_t st_started; /* (a) */
};

/* Handler argument: who sent it, and where to. */
struct st_msg {
	struct st_state *sm_s;
	int sm_sender;
	bool sm_set[MAXCPU];
};

static void
st_handler(void *arg)
{
	struct st_msg *m = arg;
	struct st_state *s = m->sm_s;
	int cpu = curcpu;

	if (cpu < 0 || cpu >= md_ncpus() || !m->sm_set[cpu]) {
		atomic_fetchadd_int(&s->st_wrong, 1);
		return;
	}
	atomic_fetchadd_int(&s->st_got[m->sm_sender][cpu], 1);
	if (cpu != m->sm_sender)
		atomic_fetchadd_int(&s->st_remote, 1);
	atomic_fetchadd_int(&s->st_total, 1);
}

static struct st_msg st_nowait_msgs[MAXCPU][MAXCPU]; /* (c) per target */

static void
st_sender(void *arg)
{
	struct st_msg *all = arg, m;
	struct st_state *s = all->sm_s;
	uint64_t rng = test_seed() * 131 + (uint64_t)all->sm_sender, r;
	int me = all->sm_sender, n = md_ncpus(), i, cpu;

	atomic_fetchadd_int(&s->st_started, 1);
	CHECK(spin_for(&s->st_started, (uint32_t)n));
	m.sm_s = s;
	m.sm_sender = me;
	for (i = 0; i < ST_ROUNDS(n); i++) {
		r = test_rand(&rng);
		switch (r % 3) {
		case 0:
			md_ipi_send(all->sm_set, st_handler, all, true);
			for (cpu = 0; cpu < n; cpu++)
				s->st_sent[me][cpu]++;
			break;
		case 1:
			for (cpu = 0; cpu < n; cpu++)
				m.sm_set[cpu] = ((r >> (8 + cpu)) & 1) != 0;
			md_ipi_send(m.sm_set, st_handler, &m, true);
			for (cpu = 0; cpu < n; cpu++)
				s->st_sent[me][cpu] += m.sm_set[cpu] ? 1 : 0;
			break;
		default:
			cpu = (int)((r >> 8) % (uint64_t)n);
			md_ipi_send_one(
			    cpu, st_handler, &st_nowait_msgs[me][cpu], false);
			s->st_sent[me][cpu]++;
			break;
		}
		if ((r >> 32) % 4 == 0)
			maybe_yield();
	}
}

static void
st_main(void *arg)
{
	struct st_state *s = arg;
	struct st_msg msgs[MAXCPU];
	struct thread *tds[MAXCPU];
	uint32_t sent = 0;
	int i, j, n = md_ncpus();

	for (i = 0; i < n; i++) {
		msgs[i].sm_s = s;
		msgs[i].sm_sender = i;
		for (j = 0; j < n; j++) {
			msgs[i].sm_set[j] = true;
			st_nowait_msgs[i][j].sm_s = s;
			st_nowait_msgs[i][j].sm_sender = i;
			memset(st_nowait_msgs[i][j].sm_set, 0,
			    sizeof(st_nowait_msgs[i][j].sm_set));
			st_nowait_msgs[i][j].sm_set[j] = true;
		}
	}
	for (i = 0; i < n; i++)
		CHECK(kthread_create(st_sender, &msgs[i], i,
			  KTHR_BOUND | KTHR_JOINABLE, &tds[i], "storm%d",
			  i) == 0);
	for (i = 0; i < n; i++)
		kthread_join(tds[i]);
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			sent += s->st_sent[i][j];
	/* The non-waiting ones may still be on their way. */
	CHECKF(wait_for(&s->st_total, sent), "%u of %u handlers ran",
	    s->st_total, sent);
}

static void
test_ipi_storm(void)
{
	struct st_state *s;
	uint64_t ipis0;
	int ncpus[] = { 2, 4, 8 };
	int i, j, k, bad;

	for (k = 0; k < 3; k++) {
		s = calloc(1, sizeof(*s));
		ipi_boot(ncpus[k], NULL);
		ipis0 = md_ipi_count();
		test_run(st_main, s);
		CHECKF(md_ipi_count() - ipis0 == s->st_remote,
		    "%d CPUs: %llu IPIs delivered, %u handlers ran remotely",
		    ncpus[k], (unsigned long long)(md_ipi_count() - ipis0),
		    s->st_remote);
		test_shutdown();
		CHECK(s->st_wrong == 0);
		for (i = 0, bad = 0; i < ncpus[k]; i++)
			for (j = 0; j < ncpus[k]; j++)
				if (s->st_got[i][j] != s->st_sent[i][j])
					bad++;
		CHECKF(bad == 0, "%d CPUs: %d (sender, target) counts differ",
		    ncpus[k], bad);
		free(s);
	}
}

static const struct test_case cases[] = {
	TEST_CASE(test_ipi_all_wait),
	TEST_CASE(test_ipi_nowait),
	TEST_CASE(test_ipi_idle_cpus),
	TEST_CASE(test_ipi_busy_maybe_yield),
	TEST_CASE(test_ipi_spin_mutex),
	TEST_CASE(test_ipi_storm),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
