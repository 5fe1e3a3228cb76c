/*
 * md_sim.c: the deterministic simulated machine.
 *
 * One host thread (the external thread that waits in md_external_wait()
 * or md_join()) runs every virtual CPU.  Each CPU is a coroutine context
 * with a virtual clock.  The engine loop, on the external thread's own
 * stack, repeatedly dispatches the runnable CPU with the smallest clock
 * (ties broken by the seeded PRNG; or, with sim.sched=pct, the CPU of
 * highest priority), which runs until a sync point finds that another CPU
 * should run, or until it idles or spins.  The run is a discrete-event
 * simulation: same binary, seed and options give the same schedule.
 *
 * Sync points (md_sim_sync, every project atomic) charge the cache-line
 * cost model.  Each 64-byte line has an owner (the CPU holding it
 * modified, or -1) and a sharers bitmap: a load by a CPU holding the line
 * costs `load', a load that misses costs `transfer' and makes the line
 * shared; a store or read-modify-write costs `store' or `atomic', plus
 * `transfer' unless the writer held the line alone.
 *
 * Waiting costs no host time.  A CPU that spins (md_spin_wait) leaves the
 * run queue until another CPU writes the line it spins on (its clock then
 * jumps to the write plus a transfer) or sim.spin_max passes (doubling
 * each time it passes in vain, so a long wait costs a few dispatches); an
 * idle CPU until it is woken, an IPI arrives or its deadline passes.
 *
 * Stalls (md.h).  The machine is quiet when no CPU is runnable, spinning
 * or backing off: then only idle CPUs' timers can make one run.  A CPU
 * that finds the machine quiet as it stops hands over to the engine,
 * which checks for a stall (sim_stall_check) before it fires the next
 * timer; with no timer, or when the kernel's hook says that the timers
 * cannot end the wait, it reports the stall and ends the process.  The
 * detour through the engine dispatches nothing of its own, so the
 * schedule is the same as without it.
 *
 * Locking key: everything here belongs to the single host thread that
 * runs the simulation; nothing is shared with other host threads.
 */
#include "md/sim/md_sim.h"

#include "md/md.h"
#include "md/md_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

#define SIM_RUNNABLE 0
#define SIM_RUNNING 1
#define SIM_IDLE 2
#define SIM_SPIN 3
#define SIM_HALTED 4
#define SIM_DELAY 5 /* pct: backing off, wakes by its timer only */

static const char *const md_sim_sched_names[] = { "time", "pct", NULL };

/*
 * Defaults measured on the development machine (2-core Intel Xeon VM,
 * host backend): lock add / xchg 9.7 ns, cache-line ping-pong between the
 * two cores 28.6 ns one way, memset of 4 KiB 35 ns, memcpy of 4 KiB
 * 146 ns (tools in docs/SIM.md); context switch from `vmlab run micro'
 * (45 ns yield, so 40 ns for the switch alone).  IPI and wake-up costs are
 * those of bare-metal x86 (about 1 us for an IPI round trip, as Linux's
 * smp_call_function measurements report), not of this VM's futexes.
 */
const struct md_sim_param md_sim_params[MD_SIM_NPARAMS] = {
	[MD_SIM_COST_ATOMIC] = { "cost.atomic",
	    "ns of an atomic read-modify-write on a line held", 10, 0, 1000000,
	    NULL },
	[MD_SIM_COST_LOAD] = { "cost.load", "ns of a load that hits", 1, 0,
	    1000000, NULL },
	[MD_SIM_COST_STORE] = { "cost.store", "ns of a store that hits", 1, 0,
	    1000000, NULL },
	[MD_SIM_COST_TRANSFER] = { "cost.transfer",
	    "ns to move a cache line from another CPU", 30, 0, 1000000, NULL },
	[MD_SIM_COST_FENCE] = { "cost.fence", "ns of a full fence", 10, 0,
	    1000000, NULL },
	[MD_SIM_COST_SWITCH] = { "cost.switch", "ns of a context switch", 40, 0,
	    1000000, NULL },
	[MD_SIM_COST_IPI_SEND] = { "cost.ipi_send", "ns to send one IPI", 300,
	    0, 1000000, NULL },
	[MD_SIM_COST_IPI_HANDLE] = { "cost.ipi_handle",
	    "ns to take and handle one IPI", 400, 0, 1000000, NULL },
	[MD_SIM_COST_WAKE] = { "cost.wake", "ns for an idle CPU to wake up",
	    1000, 0, 100000000, NULL },
	[MD_SIM_COST_SPIN] = { "cost.spin", "ns of one spin-loop iteration", 10,
	    0, 1000000, NULL },
	[MD_SIM_COST_PAGE_ZERO] = { "cost.page_zero", "ns to zero a 4 KiB page",
	    35, 0, 100000000, NULL },
	[MD_SIM_COST_PAGE_COPY] = { "cost.page_copy", "ns to copy a 4 KiB page",
	    146, 0, 100000000, NULL },
	[MD_SIM_COST_DISK_LATENCY] = { "cost.disk_latency",
	    "ns of disk I/O latency", 20000, 0, 1000000000, NULL },
	[MD_SIM_COST_DISK_MBPS] = { "cost.disk_mbps", "disk bandwidth in MB/s",
	    2000, 1, 1000000, NULL },
	[MD_SIM_SCHED] = { "sched",
	    "schedule: virtual time (time) or PCT priorities (pct)", 0, 0, 1,
	    md_sim_sched_names },
	[MD_SIM_JITTER] = { "jitter",
	    "random ns (0..N) added to every sync point", 0, 0, 1000000, NULL },
	[MD_SIM_PCT_DEPTH] = { "pct.depth", "PCT priority change points", 3, 0,
	    1000, NULL },
	[MD_SIM_PCT_STEPS] = { "pct.steps",
	    "sync points over which PCT change points are spread", 20000, 1,
	    1000000000, NULL },
	[MD_SIM_SPIN_MAX] = { "spin_max",
	    "ns a spinner waits for its line before it looks again", 2000, 1,
	    1000000000, NULL },
	[MD_SIM_QUANTUM] = { "quantum",
	    "ns a CPU may run ahead of the next before it gives way "
	    "(0: strict virtual-time order)",
	    0, 0, 1000000, NULL },
	[MD_SIM_COST_IPI_LATENCY] = { "cost.ipi_latency",
	    "ns from sending an IPI until the target can take it", 1000, 0,
	    1000000, NULL },
};

struct sim_cpu {
	uint64_t sc_clock;     /* virtual ns */
	uint64_t sc_deadline;  /* idle/spin: timer, or 0 */
	uint64_t sc_spinline;  /* spin: line waited on */
	uint64_t sc_prio;      /* pct: priority (higher runs) */
	struct md_ctx *sc_cur; /* context live on this CPU */
	struct md_ctx sc_boot; /* runs cpu_main() */
	int sc_state;	       /* SIM_* */
	int sc_rqidx;	       /* index in sim_rq, or -1 */
	int sc_tmidx;	       /* index in sim_tm, or -1 */
	int sc_cpu;
	int sc_spinshift; /* spin timer backoff (doublings) */
	bool sc_wake;	  /* wake token */
};

struct sim_line {
	uint64_t sl_key;     /* line + 1; 0: empty slot */
	int32_t sl_owner;    /* CPU holding it modified, or -1 */
	uint32_t sl_nspin;   /* CPUs spinning on it */
	uint32_t sl_sharers; /* index of its bitmap in sim_bits */
	uint64_t sl_busy;    /* virtual time the line is free */
};

static struct sim_cpu *sim_cpus;
static int sim_ncpu;
static int64_t sim_p[MD_SIM_NPARAMS];
static struct md_ctx sim_engine_ctx;
static void (*sim_cpu_main)(int);
static uint64_t sim_rng, sim_hash, sim_events, sim_steps, sim_now;
static uint64_t sim_dispatches;
static uint64_t sim_change[16]; /* pct change points */
static int sim_nchange;
static bool sim_notified;
/* Run queue and timer heaps (below). */
static int sim_nrq, sim_ntm;
static uint64_t sim_next; /* earliest competitor of the running CPU */
/* Cache lines. */
static struct sim_line *sim_lines;
static size_t sim_lcap, sim_lcount;
static uint64_t *sim_bits;
static size_t sim_bcap, sim_bcount;
static int sim_words;
static int *sim_spinners;
static int sim_nspinners;
static int sim_ndelay; /* CPUs in SIM_DELAY */

uint64_t
md_sim_trace_hash(void)
{
	return (sim_hash);
}

uint64_t
md_sim_events(void)
{
	return (sim_events);
}

static uint64_t
sim_rand(void)
{
	uint64_t z = (sim_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

static void
sim_hash_add(uint64_t v)
{
	int i;

	/* FNV-1a over the 8 bytes of v. */
	for (i = 0; i < 8; i++) {
		sim_hash ^= (v >> (i * 8)) & 0xff;
		sim_hash *= 0x100000001b3ull;
	}
}

/*
 * Heaps of CPUs with their keys stored in the entries (a CPU's key does
 * not change while it is queued).  The run queue is ordered by (clock,
 * random tie) in time mode and by (priority desc, clock) in pct mode; the
 * timer heap by (deadline, cpu).  sc_rqidx / sc_tmidx track positions.
 */
struct sim_heap_ent {
	uint64_t he_k1, he_k2;
	int he_cpu;
};

static struct sim_heap_ent *sim_rq, *sim_tm;

static inline bool
sim_he_less(const struct sim_heap_ent *a, const struct sim_heap_ent *b)
{
	return (a->he_k1 < b->he_k1 ||
	    (a->he_k1 == b->he_k1 && a->he_k2 < b->he_k2));
}

static inline void
sim_heap_put(
    struct sim_heap_ent *heap, int i, const struct sim_heap_ent *e, bool rq)
{
	heap[i] = *e;
	if (rq)
		sim_cpus[e->he_cpu].sc_rqidx = i;
	else
		sim_cpus[e->he_cpu].sc_tmidx = i;
}

static void
sim_heap_up(struct sim_heap_ent *heap, int i, bool rq)
{
	struct sim_heap_ent e = heap[i];
	int p;

	while (i > 0 && sim_he_less(&e, &heap[p = (i - 1) / 2])) {
		sim_heap_put(heap, i, &heap[p], rq);
		i = p;
	}
	sim_heap_put(heap, i, &e, rq);
}

static void
sim_heap_down(struct sim_heap_ent *heap, int n, int i, bool rq)
{
	struct sim_heap_ent e = heap[i];
	int c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && sim_he_less(&heap[c + 1], &heap[c]))
			c++;
		if (!sim_he_less(&heap[c], &e))
			break;
		sim_heap_put(heap, i, &heap[c], rq);
		i = c;
	}
	sim_heap_put(heap, i, &e, rq);
}

static void
sim_heap_insert(struct sim_heap_ent *heap, int *np, uint64_t k1, uint64_t k2,
    int cpu, bool rq)
{
	struct sim_heap_ent e = { k1, k2, cpu };

	sim_heap_put(heap, *np, &e, rq);
	sim_heap_up(heap, (*np)++, rq);
}

static void
sim_heap_remove(struct sim_heap_ent *heap, int *np, int i, bool rq)
{
	struct sim_heap_ent last = heap[--*np];

	if (rq)
		sim_cpus[heap[i].he_cpu].sc_rqidx = -1;
	else
		sim_cpus[heap[i].he_cpu].sc_tmidx = -1;
	if (i == *np)
		return;
	sim_heap_put(heap, i, &last, rq);
	sim_heap_down(heap, *np, i, rq);
	sim_heap_up(heap,
	    rq ? sim_cpus[last.he_cpu].sc_rqidx
	       : sim_cpus[last.he_cpu].sc_tmidx,
	    rq);
}

static struct sim_line *sim_line_lookup(uint64_t line);

static void
sim_update_next(void)
{
	uint64_t n = UINT64_MAX;

	if (sim_nrq > 0)
		n = sim_cpus[sim_rq[0].he_cpu].sc_clock;
	if (sim_ntm > 0 && sim_tm[0].he_k1 < n)
		n = sim_tm[0].he_k1;
	sim_next = n;
}

static void
sim_make_runnable(struct sim_cpu *c, uint64_t clock)
{
	if (c->sc_tmidx >= 0)
		sim_heap_remove(sim_tm, &sim_ntm, c->sc_tmidx, false);
	if (c->sc_state == SIM_DELAY)
		sim_ndelay--;
	if (c->sc_state == SIM_SPIN) {
		sim_line_lookup(c->sc_spinline)->sl_nspin--;
		/* Leave the spinner list (order does not matter). */
		for (int i = 0; i < sim_nspinners; i++)
			if (sim_spinners[i] == c->sc_cpu) {
				sim_spinners[i] = sim_spinners[--sim_nspinners];
				break;
			}
	}
	if (clock > c->sc_clock)
		c->sc_clock = clock;
	c->sc_state = SIM_RUNNABLE;
	if (sim_p[MD_SIM_SCHED] == 1)
		sim_heap_insert(sim_rq, &sim_nrq, ~c->sc_prio, c->sc_clock,
		    c->sc_cpu, true);
	else
		sim_heap_insert(
		    sim_rq, &sim_nrq, c->sc_clock, sim_rand(), c->sc_cpu, true);
	sim_update_next();
}

/*
 * Cache lines.
 */
static struct sim_line *
sim_line_lookup(uint64_t line)
{
	struct sim_line *old, *l;
	size_t i, mask, oldcap;

	if (2 * (sim_lcount + 1) > sim_lcap) {
		old = sim_lines;
		oldcap = sim_lcap;
		sim_lcap = oldcap == 0 ? 4096 : oldcap * 2;
		sim_lines = calloc(sim_lcap, sizeof(*sim_lines));
		if (sim_lines == NULL)
			md_panic("sim: out of memory for cache lines");
		for (i = 0; i < oldcap; i++) {
			if (old[i].sl_key == 0)
				continue;
			mask = sim_lcap - 1;
			for (l = &sim_lines[(old[i].sl_key *
						    0x9e3779b97f4a7c15ull >>
						20) &
				 mask];
			     l->sl_key != 0;
			     l = &sim_lines[(size_t)(l - sim_lines + 1) & mask])
				;
			*l = old[i];
		}
		free(old);
	}
	mask = sim_lcap - 1;
	for (i = ((line + 1) * 0x9e3779b97f4a7c15ull >> 20) & mask;;
	     i = (i + 1) & mask) {
		l = &sim_lines[i];
		if (l->sl_key == line + 1)
			return (l);
		if (l->sl_key == 0)
			break;
	}
	if (sim_bcount + (size_t)sim_words > sim_bcap) {
		sim_bcap =
		    sim_bcap == 0 ? 4096 * (size_t)sim_words : sim_bcap * 2;
		sim_bits = realloc(sim_bits, sim_bcap * sizeof(*sim_bits));
		if (sim_bits == NULL)
			md_panic("sim: out of memory for cache lines");
	}
	memset(&sim_bits[sim_bcount], 0, (size_t)sim_words * sizeof(*sim_bits));
	l->sl_key = line + 1;
	l->sl_owner = -1;
	l->sl_nspin = 0;
	l->sl_busy = 0;
	l->sl_sharers = (uint32_t)sim_bcount;
	sim_bcount += (size_t)sim_words;
	sim_lcount++;
	return (l);
}

/* Wakes the CPUs spinning on `line'; the write happens at `clock'. */
static void
sim_wake_spinners(struct sim_line *l, uint64_t clock)
{
	struct sim_cpu *c;
	int i;

	for (i = 0; i < sim_nspinners;) {
		c = &sim_cpus[sim_spinners[i]];
		if (c->sc_spinline + 1 != l->sl_key) {
			i++;
			continue;
		}
		/* sim_make_runnable() removes it from sim_spinners[i]. */
		c->sc_spinshift = 0;
		sim_make_runnable(
		    c, clock + (uint64_t)sim_p[MD_SIM_COST_TRANSFER]);
	}
}

/*
 * Cost of an access of `kind' by CPU `c' to addr's line.  A line is in one
 * place at a time: a write, and a load that misses, first waits until the
 * line is free (sl_busy), so writes to one line from many CPUs serialise
 * in virtual time as they do on the hardware; a write keeps the line busy
 * until it completes.
 */
static uint64_t
sim_line_access(struct sim_cpu *c, const void *addr, int kind)
{
	struct sim_line *l;
	uint64_t *bits, b, cost, wait;
	int cpu = c->sc_cpu, w = cpu / 64, i;
	bool alone;

	if (kind == MD_SYNC_FENCE || addr == NULL)
		return ((uint64_t)sim_p[MD_SIM_COST_FENCE]);
	l = sim_line_lookup((uintptr_t)addr >> 6);
	bits = &sim_bits[l->sl_sharers];
	b = 1ull << (cpu % 64);
	wait = l->sl_busy > c->sc_clock ? l->sl_busy - c->sc_clock : 0;
	if (kind == MD_SYNC_LOAD) {
		if (l->sl_owner == cpu || (bits[w] & b) != 0)
			return ((uint64_t)sim_p[MD_SIM_COST_LOAD]);
		if (l->sl_owner >= 0) {
			bits[l->sl_owner / 64] |= 1ull << (l->sl_owner % 64);
			l->sl_owner = -1;
		}
		bits[w] |= b;
		return (wait +
		    (uint64_t)(sim_p[MD_SIM_COST_LOAD] +
			sim_p[MD_SIM_COST_TRANSFER]));
	}
	cost = (uint64_t)
	    sim_p[kind == MD_SYNC_RMW ? MD_SIM_COST_ATOMIC : MD_SIM_COST_STORE];
	if (l->sl_owner != cpu) {
		alone = l->sl_owner < 0;
		for (i = 0; i < sim_words && alone; i++)
			alone = bits[i] == (i == w ? b : 0);
		if (!alone)
			cost += wait + (uint64_t)sim_p[MD_SIM_COST_TRANSFER];
		memset(bits, 0, (size_t)sim_words * sizeof(*bits));
		l->sl_owner = cpu;
	}
	l->sl_busy = c->sc_clock + cost;
	if (l->sl_nspin != 0)
		sim_wake_spinners(l, c->sc_clock + cost);
	return (cost);
}

static void sim_yield(struct sim_cpu *c);

/* Should the running CPU give way?  Yields if so. */
static void
sim_maybe_preempt(struct sim_cpu *c)
{
	bool yield = sim_notified;

	if (sim_p[MD_SIM_SCHED] == 1) {
		sim_steps++;
		while (
		    sim_nchange > 0 && sim_steps >= sim_change[sim_nchange - 1])
			c->sc_prio = (uint64_t)sim_nchange--;
		if (sim_nrq > 0 &&
		    sim_cpus[sim_rq[0].he_cpu].sc_prio > c->sc_prio)
			yield = true;
		if (sim_ntm > 0 && sim_tm[0].he_k1 < c->sc_clock)
			yield = true;
	} else if (c->sc_clock > sim_next + (uint64_t)sim_p[MD_SIM_QUANTUM] ||
	    (c->sc_clock == sim_next && (sim_rand() & 1) != 0))
		yield = true;
	if (yield) {
		c->sc_state = SIM_RUNNABLE;
		sim_yield(c);
	}
}

static void
md_sim_sync(const void *addr, int kind)
{
	struct sim_cpu *c;

	if (md_sim_curcpu < 0)
		return;
	c = &sim_cpus[md_sim_curcpu];
	sim_events++;
	/*
	 * Decide first, then charge: the operation itself runs right after
	 * we return, with no switch between its accounting (which may wake
	 * spinners) and its effect.
	 */
	if (kind == MD_SYNC_LOCAL) {
		/* This CPU's own data: a cost, never a switch. */
		c->sc_clock += (uint64_t)sim_p[MD_SIM_COST_STORE];
		return;
	}
	sim_maybe_preempt(c);
	c->sc_clock += sim_line_access(c, addr, kind);
	if (sim_p[MD_SIM_JITTER] != 0)
		c->sc_clock +=
		    sim_rand() % (uint64_t)(sim_p[MD_SIM_JITTER] + 1);
}

static uint64_t
md_sim_nanotime(void)
{
	return (
	    md_sim_curcpu >= 0 ? sim_cpus[md_sim_curcpu].sc_clock : sim_now);
}

static void
md_sim_cost(uint64_t ns)
{
	if (md_sim_curcpu >= 0)
		sim_cpus[md_sim_curcpu].sc_clock += ns;
}

static void
md_sim_ipi_cost(bool send)
{
	md_sim_cost((uint64_t)
		sim_p[send ? MD_SIM_COST_IPI_SEND : MD_SIM_COST_IPI_HANDLE]);
}

/* When an IPI sent now reaches its target (md_ipi_poll() takes it then). */
static uint64_t
md_sim_ipi_due(void)
{
	return (md_sim_nanotime() + (uint64_t)sim_p[MD_SIM_COST_IPI_LATENCY]);
}

static void
sim_timer_arm(struct sim_cpu *c, uint64_t deadline)
{
	c->sc_deadline = deadline;
	if (deadline == 0)
		return;
	sim_heap_insert(
	    sim_tm, &sim_ntm, deadline, (uint64_t)c->sc_cpu, c->sc_cpu, false);
}

static void
md_sim_cpu_idle(uint64_t deadline)
{
	struct sim_cpu *c = &sim_cpus[md_sim_curcpu];
	uint64_t due;
	bool go_on;

	/*
	 * md_halting() is a sync point where another CPU may run and wake
	 * us: evaluate it before the wake token, with no sync point between
	 * the token check and parking.
	 */
	go_on = md_halting() || md_ipi_ready(c->sc_cpu, c->sc_clock);
	if (go_on || c->sc_wake) {
		c->sc_wake = false;
		return;
	}
	/* An IPI still in flight wakes the CPU when it lands. */
	due = md_ipi_next_due(c->sc_cpu);
	if (due != 0 && (deadline == 0 || due < deadline))
		deadline = due;
	if (deadline != 0 && deadline <= c->sc_clock)
		return;
	c->sc_state = SIM_IDLE;
	sim_timer_arm(c, deadline);
	sim_yield(c);
	c->sc_wake = false;
}

static void
md_sim_cpu_wake(int cpu)
{
	struct sim_cpu *t = &sim_cpus[cpu];
	uint64_t now = md_sim_nanotime();

	if (t->sc_state == SIM_IDLE || t->sc_state == SIM_SPIN)
		sim_make_runnable(t, now + (uint64_t)sim_p[MD_SIM_COST_WAKE]);
	else
		t->sc_wake = true;
}

static void
md_sim_spin_wait(const void *addr)
{
	struct sim_cpu *c;
	struct sim_line *l;

	if (md_sim_curcpu < 0)
		return;
	c = &sim_cpus[md_sim_curcpu];
	c->sc_clock += (uint64_t)sim_p[MD_SIM_COST_SPIN];
	md_ipi_poll();
	if (md_ipi_pending(c->sc_cpu) && md_intr_nesting() == 0)
		return;
	l = sim_line_lookup((uintptr_t)addr >> 6);
	l->sl_nspin++;
	c->sc_spinline = (uintptr_t)addr >> 6;
	c->sc_state = SIM_SPIN;
	sim_spinners[sim_nspinners++] = c->sc_cpu;
	sim_timer_arm(c,
	    c->sc_clock +
		((uint64_t)sim_p[MD_SIM_SPIN_MAX] << c->sc_spinshift));
	sim_yield(c);
}

static void
md_sim_spin_delay(uint64_t ns)
{
	struct sim_cpu *c;

	if (md_sim_curcpu < 0)
		return;
	c = &sim_cpus[md_sim_curcpu];
	md_ipi_poll();
	if (sim_p[MD_SIM_SCHED] == 1) {
		/*
		 * PCT runs the highest priority until it blocks: a CPU that
		 * backs off must let lower ones run, so it parks on a timer.
		 */
		c->sc_state = SIM_DELAY;
		sim_ndelay++;
		sim_timer_arm(c, c->sc_clock + ns);
		sim_yield(c);
		return;
	}
	/* Busy, but watching nothing: run on once the clock got there. */
	c->sc_clock += ns;
	if (c->sc_clock > sim_next) {
		c->sc_state = SIM_RUNNABLE;
		sim_yield(c);
	}
}

static void
md_sim_ctx_switched(struct md_ctx *to)
{
	struct sim_cpu *c = &sim_cpus[md_sim_curcpu];

	c->sc_cur = to;
	c->sc_clock += (uint64_t)sim_p[MD_SIM_COST_SWITCH];
}

static void
md_sim_ctx_self(struct md_ctx *ctx)
{
	*ctx = sim_cpus[md_sim_curcpu].sc_boot;
	ctx->ctx_self = true;
}

static void
sim_cpu_entry(void *arg)
{
	struct sim_cpu *c = arg;

	sim_cpu_main(c->sc_cpu);
	/* The kernel freed the idle thread's context; park on ours. */
	c->sc_cur = &c->sc_boot;
	c->sc_state = SIM_HALTED;
	sim_yield(c);
	md_panic("sim: halted CPU %d resumed", c->sc_cpu);
}

static int
sim_cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y ? -1 : x < y);
}

static int
md_sim_init(const struct md_config *cfg)
{
	int i, n = cfg->mc_ncpus;

	/* No parameters given: the defaults. */
	for (i = 0; i < MD_SIM_NPARAMS; i++)
		sim_p[i] = cfg->mc_sim != NULL ? cfg->mc_sim[i]
					       : md_sim_params[i].sp_default;
	sim_ncpu = n;
	sim_words = (n + 63) / 64;
	sim_cpus = calloc((size_t)n, sizeof(*sim_cpus));
	sim_rq = calloc((size_t)n, sizeof(*sim_rq));
	sim_tm = calloc((size_t)n, sizeof(*sim_tm));
	sim_spinners = calloc((size_t)n, sizeof(int));
	if (sim_cpus == NULL || sim_rq == NULL || sim_tm == NULL ||
	    sim_spinners == NULL)
		return (ENOMEM);
	sim_rng = cfg->mc_seed * 0x2545f4914f6cdd1dull + 1;
	sim_hash = 0xcbf29ce484222325ull;
	sim_events = sim_steps = sim_now = 0;
	sim_nrq = sim_ntm = sim_nspinners = sim_ndelay = 0;
	sim_notified = false;
	sim_nchange = 0;
	for (i = 0; i < n; i++) {
		sim_cpus[i].sc_cpu = i;
		sim_cpus[i].sc_rqidx = sim_cpus[i].sc_tmidx = -1;
		/* pct: distinct initial priorities above the change points. */
		sim_cpus[i].sc_prio = (uint64_t)sim_p[MD_SIM_PCT_DEPTH] + 1 +
		    (sim_rand() % 1000000) * (uint64_t)n + (uint64_t)i;
	}
	if (sim_p[MD_SIM_SCHED] == 1) {
		sim_nchange =
		    (int)(sim_p[MD_SIM_PCT_DEPTH] < 16 ? sim_p[MD_SIM_PCT_DEPTH]
						       : 16);
		/* Change point k (at index k - 1) gives priority k. */
		for (i = 0; i < sim_nchange; i++)
			sim_change[i] =
			    1 + sim_rand() % (uint64_t)sim_p[MD_SIM_PCT_STEPS];
		/* Descending: the next change point is the last one. */
		qsort(sim_change, (size_t)sim_nchange, sizeof(sim_change[0]),
		    sim_cmp_desc);
	}
	md_sim_enabled = true;
	md_sim_curcpu = -1;
	return (0);
}

static int
md_sim_start(void (*cpu_main)(int))
{
	struct sim_cpu *c;
	int i, error;

	sim_cpu_main = cpu_main;
	md_ctx_self_host(&sim_engine_ctx);
	for (i = 0; i < sim_ncpu; i++) {
		c = &sim_cpus[i];
		error = md_ctx_create(&c->sc_boot, 0, sim_cpu_entry, c);
		if (error != 0)
			md_panic("sim: cannot create CPU %d: %d", i, error);
		c->sc_cur = &c->sc_boot;
		c->sc_state = SIM_IDLE;
		sim_make_runnable(c, 0);
	}
	return (0);
}

/*
 * Picks the next CPU to run, steps 1 and 2 of a dispatch: fire the timers
 * that are due (a timer is due when no runnable CPU is earlier), then take
 * the first runnable CPU off the run queue.  NULL when nothing can run.
 */
static struct sim_cpu *
sim_pick(void)
{
	struct sim_cpu *c;

	while (sim_ntm > 0 &&
	    (sim_nrq == 0 ||
		sim_tm[0].he_k1 <= sim_cpus[sim_rq[0].he_cpu].sc_clock)) {
		c = &sim_cpus[sim_tm[0].he_cpu];
		/* A spinner that timed out looks again less often. */
		if (c->sc_state == SIM_SPIN && c->sc_spinshift < 20)
			c->sc_spinshift++;
		sim_make_runnable(c, c->sc_deadline);
	}
	if (sim_nrq == 0)
		return (NULL);
	c = &sim_cpus[sim_rq[0].he_cpu];
	sim_heap_remove(sim_rq, &sim_nrq, 0, true);
	sim_update_next();
	if (c->sc_clock > sim_now)
		sim_now = c->sc_clock;
	sim_hash_add((uint64_t)c->sc_cpu << 48 ^ c->sc_clock);
	sim_dispatches++;
	c->sc_state = SIM_RUNNING;
	return (c);
}

/*
 * Is the machine quiet: no CPU runnable, spinning or backing off?  Only
 * idle CPUs' timers (or none) are left.  No CPU may be running.
 */
static bool
sim_quiet(void)
{
	return (sim_nrq == 0 && sim_nspinners == 0 && sim_ndelay == 0);
}

/*
 * The running CPU `c' stops (its state says why: runnable, idle, spinning
 * or halted).  Step 3 files it; then the next CPU is dispatched directly,
 * CPU to CPU, or the engine is resumed when it must look (a notification
 * for the external thread, a quiet machine, a halted CPU).
 */
static void
sim_yield(struct sim_cpu *c)
{
	struct sim_cpu *n;

	if (c->sc_state == SIM_RUNNABLE)
		sim_make_runnable(c, c->sc_clock);
	if (sim_notified || c->sc_state == SIM_HALTED || sim_quiet() ||
	    (n = sim_pick()) == NULL) {
		md_ctx_swap_raw(c->sc_cur, &sim_engine_ctx, false);
		return;
	}
	if (n == c)
		return;
	md_sim_curcpu = n->sc_cpu;
	md_ctx_swap_raw(c->sc_cur, n->sc_cur, false);
	/* Someone dispatched us again; md_sim_curcpu is ours. */
}

/*
 * Ends the run of a stalled machine (md.h): the header, the kernel's
 * report, how to reproduce, and exit status MD_EXIT_STALL.  `next' is
 * the earliest timer, or 0.  On the external thread.
 */
static void sim_stall(uint64_t next) __attribute__((noreturn));

static void
sim_stall(uint64_t next)
{
	const struct md_sim_param *sp;
	int i, nidle = 0;

	fflush(stdout);
	for (i = 0; i < sim_ncpu; i++)
		nidle += sim_cpus[i].sc_state == SIM_IDLE;
	fprintf(stderr,
	    "vmlab: stall: no CPU can run (%d idle, %d halted) and %s, at "
	    "virtual time %llu ns (seed %llu)\n",
	    nidle, sim_ncpu - nidle,
	    next == 0 ? "no timer is pending"
		      : "the pending timers cannot end the wait",
	    (unsigned long long)sim_now, (unsigned long long)md_cfg.mc_seed);
	if (md_stall_hooks != NULL)
		md_stall_hooks->ms_report();
	fprintf(stderr, "vmlab: stall: reproduce with seed %llu",
	    (unsigned long long)md_cfg.mc_seed);
	for (i = 0; i < MD_SIM_NPARAMS; i++) {
		sp = &md_sim_params[i];
		if (sim_p[i] == sp->sp_default)
			continue;
		if (sp->sp_enum != NULL)
			fprintf(stderr, " -o sim.%s=%s", sp->sp_name,
			    sp->sp_enum[sim_p[i]]);
		else
			fprintf(stderr, " -o sim.%s=%lld", sp->sp_name,
			    (long long)sim_p[i]);
	}
	fprintf(stderr, "; exit status %d\n", MD_EXIT_STALL);
	fflush(NULL);
	/* _exit: the machine is stuck, so no atexit work (leak checks). */
	_exit(MD_EXIT_STALL);
}

/*
 * The machine is quiet (sim_quiet): is it stalled?  With no timer,
 * certainly; otherwise the kernel's hook decides whether the timers can
 * still end the wait.  Returns only if the run goes on.
 */
static void
sim_stall_check(void)
{
	uint64_t next = sim_ntm > 0 ? sim_tm[0].he_k1 : 0;

	if (next == 0 ||
	    (md_stall_hooks != NULL && md_stall_hooks->ms_check(sim_now, next)))
		sim_stall(next);
}

/* The engine, on the external thread: runs CPUs until done(arg). */
static void
sim_run(bool (*done)(const void *), const void *arg)
{
	struct sim_cpu *c;

	for (;;) {
		sim_notified = false;
		if (done(arg))
			return;
		if (sim_quiet())
			sim_stall_check();
		c = sim_pick();
		if (c == NULL)
			md_panic("sim: nothing to run after the stall check");
		md_sim_curcpu = c->sc_cpu;
		md_ctx_swap_raw(&sim_engine_ctx, c->sc_cur, false);
		md_sim_curcpu = -1;
	}
}

static bool
sim_flag_set(const void *flag)
{
	return (*(const int *)flag != 0);
}

static bool
sim_all_halted(const void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < sim_ncpu; i++)
		if (sim_cpus[i].sc_state != SIM_HALTED)
			return (false);
	return (true);
}

static void
md_sim_external_wait(const int *flag)
{
	sim_run(sim_flag_set, flag);
}

static void
md_sim_external_notify(void)
{
	sim_notified = true;
}

static void
md_sim_halt(void)
{
	int i;

	for (i = 0; i < sim_ncpu; i++)
		md_sim_cpu_wake(i);
}

static void
md_sim_join(void)
{
	sim_run(sim_all_halted, NULL);
}

static void
md_sim_shutdown(void)
{
	int i;

	if (getenv("VMLAB_SIM_STATS") != NULL)
		fprintf(stderr, "sim: %llu events, %llu dispatches\n",
		    (unsigned long long)sim_events,
		    (unsigned long long)sim_dispatches);
	for (i = 0; i < sim_ncpu; i++)
		md_ctx_destroy(&sim_cpus[i].sc_boot);
	free(sim_cpus);
	free(sim_rq);
	free(sim_tm);
	free(sim_spinners);
	free(sim_lines);
	free(sim_bits);
	sim_cpus = NULL;
	sim_rq = sim_tm = NULL;
	sim_spinners = NULL;
	sim_lines = NULL;
	sim_bits = NULL;
	sim_lcap = sim_lcount = sim_bcap = sim_bcount = 0;
	md_sim_enabled = false;
	md_sim_curcpu = -1;
}

void
md_sim_exec_norandom(char **argv)
{
	int p = personality(0xffffffff);

	if (p == -1 || (p & ADDR_NO_RANDOMIZE) != 0)
		return;
	if (personality((unsigned long)p | ADDR_NO_RANDOMIZE) == -1)
		return;
	fflush(NULL);
	execv("/proc/self/exe", argv);
	/* Could not re-execute: run on with randomised addresses. */
	(void)personality((unsigned long)p);
}

const struct md_backend md_sim_backend = {
	.mb_name = "sim",
	.mb_init = md_sim_init,
	.mb_start = md_sim_start,
	.mb_halt = md_sim_halt,
	.mb_join = md_sim_join,
	.mb_shutdown = md_sim_shutdown,
	.mb_external_wait = md_sim_external_wait,
	.mb_external_notify = md_sim_external_notify,
	.mb_nanotime = md_sim_nanotime,
	.mb_cost = md_sim_cost,
	.mb_sync = md_sim_sync,
	.mb_cpu_idle = md_sim_cpu_idle,
	.mb_cpu_wake = md_sim_cpu_wake,
	.mb_spin_wait = md_sim_spin_wait,
	.mb_spin_delay = md_sim_spin_delay,
	.mb_ctx_switched = md_sim_ctx_switched,
	.mb_ctx_self = md_sim_ctx_self,
	.mb_ipi_cost = md_sim_ipi_cost,
	.mb_ipi_due = md_sim_ipi_due,
};
