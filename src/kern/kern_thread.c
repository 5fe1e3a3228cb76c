/*
 * kern_thread.c: kernel threads and the scheduler.
 *
 * See thread.h for the switch protocol.  The steps of a switch, as they
 * appear below:
 *	1. The running thread has committed its next state (RUNNABLE on a run
 *	   queue for a yield, SLEEPING on a sleep queue, DEAD) and holds no
 *	   spin lock.
 *	2. sched_switch() takes the head of this CPU's run queue, or the idle
 *	   thread when it is empty.
 *	3. The CPU notes the old thread in pc_prevthread, marks the new one
 *	   on-CPU and switches contexts.
 *	4. The new context runs sched_switch_finish(): it clears the old
 *	   thread's td_oncpu (from then on a waker may queue it anywhere),
 *	   reaps it if it died, and runs due timeouts and IPIs.
 *
 * Locking key: (f) kthread_free_mtx; (a) atomic; (c) constant.
 */
#include "kern/counter.h"
#include "kern/epoch.h"
#include "kern/sleepq.h"
#include "kern/stall.h"
#include "kern/thread.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcpu *kern_pcpu; /* (c) */
static struct mtx kthread_free_mtx;
static struct threadq kthread_freeq;	    /* (f) reaped threads */
static uint64_t kthread_nlive;		    /* (a) */
static uint64_t kthread_nsystem;	    /* (a) live KTHR_SYSTEM threads */
static uint64_t kthread_nextid;		    /* (a) */
static uint32_t kthread_rr;		    /* (a) round-robin CPU */
static struct thread **kthread_all;	    /* (f) every struct, to free */
static size_t kthread_nall, kthread_allcap; /* (f) */

static void sched_idle_loop(struct pcpu *pc);

/* Undoes the per-CPU part of sched_init() for CPUs [0, n). */
static void
sched_free_pcpu(int n)
{
	int cpu;

	for (cpu = 0; cpu < n; cpu++) {
		mtx_destroy(&kern_pcpu[cpu].pc_rqlock);
		mtx_destroy(&kern_pcpu[cpu].pc_timolock);
		md_free(kern_pcpu[cpu].pc_idlethread);
	}
	md_free(kern_pcpu);
	kern_pcpu = NULL;
}

int
sched_init(void)
{
	static const struct lock_rank ranks[] = {
		{ "kthread free", 900, 0 },
		{ "sched timeout", 940, 0 },
		{ "sched runq", 960, 0 },
	};
	struct pcpu *pc;
	int cpu, error, n = md_ncpus();

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);

	kern_pcpu =
	    md_aligned_alloc(MD_CACHE_LINE, sizeof(*kern_pcpu) * (size_t)n);
	if (kern_pcpu == NULL)
		return (ENOMEM);
	memset(kern_pcpu, 0, sizeof(*kern_pcpu) * (size_t)n);
	for (cpu = 0; cpu < n; cpu++) {
		pc = &kern_pcpu[cpu];
		pc->pc_cpuid = cpu;
		pc->pc_domain = md_cpu_domain(cpu);
		mtx_init(&pc->pc_rqlock, "sched runq", MTX_SPIN);
		mtx_init(&pc->pc_timolock, "sched timeout", MTX_SPIN);
		TAILQ_INIT(&pc->pc_runq);
		TAILQ_INIT(&pc->pc_timoq);
		pc->pc_idlethread =
		    md_aligned_alloc(MD_CACHE_LINE, sizeof(*pc->pc_idlethread));
		if (pc->pc_idlethread == NULL) {
			sched_free_pcpu(cpu + 1);
			return (ENOMEM);
		}
		memset(pc->pc_idlethread, 0, sizeof(*pc->pc_idlethread));
	}
	mtx_init(&kthread_free_mtx, "kthread free", MTX_SPIN);
	TAILQ_INIT(&kthread_freeq);
	kthread_nlive = 0;
	kthread_nsystem = 0;
	kthread_nextid = 0;
	kthread_rr = 0;
	stall_init();
	return (0);
}

void
sched_fini(void)
{
	struct thread *td;
	size_t i;

	stall_fini();
	for (i = 0; i < kthread_nall; i++) {
		td = kthread_all[i];
		/*
		 * Threads made by a boot that failed before the CPUs started
		 * never ran: their stacks go here (reaped ones have none).
		 */
		md_ctx_destroy(&td->td_ctx);
		if (td->td_sleepqueue != NULL)
			sleepq_free(td->td_sleepqueue);
		md_free(td);
	}
	md_free(kthread_all);
	kthread_all = NULL;
	kthread_nall = kthread_allcap = 0;
	TAILQ_INIT(&kthread_freeq);
	mtx_destroy(&kthread_free_mtx);
	sched_free_pcpu(md_ncpus());
}

uint64_t
sched_switches(void)
{
	uint64_t n = 0;
	int cpu;

	for (cpu = 0; cpu < md_ncpus(); cpu++)
		n += pcpu_load_64(&kern_pcpu[cpu].pc_switches);
	return (n);
}

uint64_t
kthread_live(void)
{
	/* Acquire: pairs with the reaper's release decrement. */
	return (atomic_load_acq_64(&kthread_nlive) -
	    atomic_load_64(&kthread_nsystem));
}

/*
 * Is `td' running on a CPU now?  For adaptive spinning on a lock whose
 * word names td as its owner: td is type-stable, a stale answer is fine.
 * The word gives no ordering with td's initialisation, which precedes the
 * increment of kthread_nlive in kthread_create_va(): acquire that first.
 */
bool
kthread_running(const struct thread *td)
{
	(void)atomic_load_acq_64(&kthread_nlive);
	return (atomic_load_int(&td->td_state) == TDS_RUNNING &&
	    atomic_load_int(&td->td_oncpu) != 0);
}

/*
 * Calls fn(td, arg) for every thread created and not yet reaped (idle
 * threads excepted).  Reads the thread table without kthread_free_mtx:
 * only for code that runs while no CPU does (the stall hooks, on the
 * external thread of a parked machine).
 */
void
kthread_foreach_parked(void (*fn)(struct thread *, void *), void *arg)
{
	size_t i;

	for (i = 0; i < kthread_nall; i++)
		if (atomic_load_int(&kthread_all[i]->td_state) != TDS_INACTIVE)
			fn(kthread_all[i], arg);
}

/* A thread struct from the free list, or a new one; NULL if none. */
static struct thread *
kthread_alloc(void)
{
	struct thread *td, **all;
	size_t cap;

	mtx_lock_spin(&kthread_free_mtx);
	td = TAILQ_FIRST(&kthread_freeq);
	if (td != NULL) {
		TAILQ_REMOVE(&kthread_freeq, td, td_freeq);
		mtx_unlock_spin(&kthread_free_mtx);
		return (td);
	}
	if (kthread_nall == kthread_allcap) {
		cap = kthread_allcap == 0 ? 256 : kthread_allcap * 2;
		all = md_realloc(kthread_all, cap * sizeof(*all));
		if (all == NULL) {
			mtx_unlock_spin(&kthread_free_mtx);
			return (NULL);
		}
		kthread_all = all;
		kthread_allcap = cap;
	}
	td = md_aligned_alloc(64, sizeof(*td));
	if (td != NULL) {
		memset(td, 0, sizeof(*td));
		td->td_sleepqueue = sleepq_alloc();
		if (td->td_sleepqueue == NULL) {
			md_free(td);
			td = NULL;
		} else
			kthread_all[kthread_nall++] = td;
	}
	mtx_unlock_spin(&kthread_free_mtx);
	return (td);
}

/* Returns a dead thread's struct and stack.  Its context is saved. */
static void
kthread_reap(struct thread *td)
{
	int *notify = td->td_reapnotify;
	/* Read before the struct goes back to the free list for reuse. */
	bool system = (td->td_flags & TDF_SYSTEM) != 0;

	VM_ASSERT(atomic_load_int(&td->td_state) == TDS_DEAD &&
		atomic_load_int(&td->td_oncpu) == 0,
	    ("kthread_reap: %s state %u oncpu %u", td->td_name, td->td_state,
		td->td_oncpu));
	md_ctx_destroy(&td->td_ctx);
	atomic_store_int(&td->td_state, TDS_INACTIVE);
	mtx_lock_spin(&kthread_free_mtx);
	TAILQ_INSERT_HEAD(&kthread_freeq, td, td_freeq);
	mtx_unlock_spin(&kthread_free_mtx);
	/* System threads leave the system count first (see kthread_live). */
	if (system)
		(void)atomic_fetchadd_64(&kthread_nsystem, (uint64_t)-1);
	/* Release: the reap is complete before the count drops. */
	(void)atomic_fetchadd_64(&kthread_nlive, (uint64_t)-1);
	if (notify != NULL) {
		/* Release: the waiter may shut down once it sees the flag. */
		__atomic_store_n(notify, 1, __ATOMIC_RELEASE);
		md_external_notify();
	}
}

static void
kthread_start(void *arg)
{
	struct thread *td = arg;

	sched_switch_finish();
	td->td_func(td->td_arg);
	kthread_exit();
}

static int
kthread_create_va(void (*func)(void *), void *arg, int cpu, int flags,
    int *notify, struct thread **tdp, const char *fmt, va_list ap)
{
	struct thread *td;
	int error;

	if (cpu >= md_ncpus() || ((flags & KTHR_BOUND) != 0 && cpu < 0))
		return (EINVAL);
	td = kthread_alloc();
	if (td == NULL)
		return (ENOMEM);
	/*
	 * Field by field, not memset(): a stale owner pointer may be read
	 * concurrently (type stability), and td_slpgen keeps counting.
	 */
	atomic_store_ptr(&td->td_wchan, 0);
	atomic_store_int(&td->td_timocpu, 0);
	atomic_store_int(&td->td_oncpu, 0);
	td->td_wmesg = NULL;
	td->td_timo = 0;
	td->td_exited = 0;
	td->td_sqqueue = 0;
	td->td_timedout = false;
	td->td_intrwoken = false;
	atomic_store_int(&td->td_intr, 0);
	atomic_store_int(&td->td_sintr, 0);
	td->td_proc = NULL;
	td->td_nosleep = 0;
	td->td_rlocks = 0;
	td->td_nheld = 0;
	error = md_ctx_create(&td->td_ctx, 0, kthread_start, td);
	if (error != 0) {
		atomic_store_int(&td->td_state, TDS_INACTIVE);
		mtx_lock_spin(&kthread_free_mtx);
		TAILQ_INSERT_HEAD(&kthread_freeq, td, td_freeq);
		mtx_unlock_spin(&kthread_free_mtx);
		return (error);
	}
	td->td_func = func;
	td->td_arg = arg;
	td->td_reapnotify = notify;
	td->td_flags = ((flags & KTHR_JOINABLE) != 0 ? TDF_JOINABLE : 0) |
	    ((flags & KTHR_SYSTEM) != 0 ? TDF_SYSTEM : 0);
	td->td_bindcpu = (flags & KTHR_BOUND) != 0 ? cpu : -1;
	if (cpu < 0)
		cpu = (int)(atomic_fetchadd_int(&kthread_rr, 1) %
		    (uint32_t)md_ncpus());
	td->td_cpu = cpu;
	td->td_tid = atomic_fetchadd_64(&kthread_nextid, 1) + 1;
	vsnprintf(td->td_name, sizeof(td->td_name), fmt, ap);
	(void)atomic_fetchadd_64(&kthread_nlive, 1);
	if ((flags & KTHR_SYSTEM) != 0)
		(void)atomic_fetchadd_64(&kthread_nsystem, 1);
	if (tdp != NULL)
		*tdp = td;
	sched_setrunnable(td);
	return (0);
}

int
kthread_create(void (*func)(void *), void *arg, int cpu, int flags,
    struct thread **tdp, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = kthread_create_va(func, arg, cpu, flags, NULL, tdp, fmt, ap);
	va_end(ap);
	return (error);
}

static int
kthread_create_notify1(
    void (*func)(void *), void *arg, int *flag, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = kthread_create_va(func, arg, -1, 0, flag, NULL, fmt, ap);
	va_end(ap);
	return (error);
}

int
kthread_create_notify(
    void (*func)(void *), void *arg, int *flag, const char *name)
{
	return (kthread_create_notify1(func, arg, flag, "%s", name));
}

void
kthread_exit(void)
{
	struct thread *td = curthread;

	VM_ASSERT(td->td_nheld == 0,
	    ("kthread_exit: %s exits holding %d locks (%s first)", td->td_name,
		td->td_nheld,
		td->td_nheld > 0 ? td->td_held[0]->lo_name : "none"));
	if ((td->td_flags & TDF_JOINABLE) != 0) {
		/* The joiner sleeps on td_exited under the chain lock. */
		sleepq_lock(&td->td_exited);
		td->td_exited = 1;
		atomic_store_int(&td->td_state, TDS_DEAD);
		(void)sleepq_broadcast(&td->td_exited, 0);
		sleepq_release(&td->td_exited);
	} else
		atomic_store_int(&td->td_state, TDS_DEAD);
	sched_switch();
	VM_PANIC("kthread_exit: dead thread %s resumed", td->td_name);
}

void
kthread_join(struct thread *td)
{
	VM_ASSERT((td->td_flags & TDF_JOINABLE) != 0,
	    ("kthread_join: %s is not joinable", td->td_name));
	sleepq_lock(&td->td_exited);
	while (td->td_exited == 0) {
		sleepq_add(&td->td_exited, "join", 0, 0);
		(void)sleepq_wait();
		sleepq_lock(&td->td_exited);
	}
	sleepq_release(&td->td_exited);
	/* Acquire: wait until its last switch has saved its context. */
	while (atomic_load_acq_int(&td->td_oncpu) != 0)
		md_spin_wait(&td->td_oncpu);
	kthread_reap(td);
}

/*
 * Makes `td' runnable on its CPU.  td is not on any run queue; it may
 * still be switching out on some CPU, in which case we wait for its
 * context to be saved (a bounded wait: the switch never blocks).
 */
void
sched_setrunnable(struct thread *td)
{
	struct pcpu *pc;
	int cpu;

	/* Acquire: pairs with the release in sched_switch_finish(). */
	while (atomic_load_acq_int(&td->td_oncpu) != 0)
		md_spin_wait(&td->td_oncpu);
	cpu = td->td_bindcpu >= 0 ? td->td_bindcpu : td->td_cpu;
	pc = &kern_pcpu[cpu];
	mtx_lock_spin(&pc->pc_rqlock);
	td->td_cpu = cpu;
	atomic_store_int(&td->td_state, TDS_RUNNABLE);
	TAILQ_INSERT_TAIL(&pc->pc_runq, td, td_runq);
	atomic_store_int(&pc->pc_runqlen, pc->pc_runqlen + 1);
	mtx_unlock_spin(&pc->pc_rqlock);
	if (cpu != curcpu) {
		/*
		 * Order the enqueue before reading pc_idle; the idle loop
		 * sets pc_idle and then re-reads pc_runqlen (seq_cst both).
		 */
		atomic_thread_fence_seq_cst();
		if (atomic_load_int(&pc->pc_idle) != 0)
			md_cpu_wake(cpu);
	}
}

/* Head of pc's run queue, or NULL. */
static struct thread *
sched_choose(struct pcpu *pc)
{
	struct thread *td;

	if (atomic_load_int(&pc->pc_runqlen) == 0)
		return (NULL);
	mtx_lock_spin(&pc->pc_rqlock);
	td = TAILQ_FIRST(&pc->pc_runq);
	if (td != NULL) {
		TAILQ_REMOVE(&pc->pc_runq, td, td_runq);
		atomic_store_int(&pc->pc_runqlen, pc->pc_runqlen - 1);
	}
	mtx_unlock_spin(&pc->pc_rqlock);
	return (td);
}

/* Step 3: switch from `old' (curthread) to `new'. */
static void
sched_switch_to(struct pcpu *pc, struct thread *old, struct thread *new)
{
	pc->pc_prevthread = old;
	atomic_store_int(&new->td_oncpu, 1);
	atomic_store_int(&new->td_state, TDS_RUNNING);
	pc->pc_curthread = new;
	pc->pc_vmspace = new->td_vmspace;
	pcpu_add_64(&pc->pc_switches, 1);
	md_ctx_switch(&old->td_ctx, &new->td_ctx,
	    atomic_load_int(&old->td_state) == TDS_DEAD);
}

/*
 * Steps 2 and 3.  Called by curthread after it committed its next state.
 * Returns when the thread runs again (possibly on another CPU).
 */
void
sched_switch(void)
{
	struct thread *td = curthread, *new;
	struct pcpu *pc = curpcpu_get();

	VM_ASSERT(md_intr_nesting() == 0,
	    ("sched_switch: %s switches with %d spin locks", td->td_name,
		md_intr_nesting()));
	new = sched_choose(pc);
	if (new == td) {
		/* A yield with nothing else to run. */
		atomic_store_int(&td->td_state, TDS_RUNNING);
		return;
	}
	if (new == NULL)
		new = pc->pc_idlethread;
	sched_switch_to(pc, td, new);
	sched_switch_finish();
}

/* Step 4, run by every context that a switch resumes. */
void
sched_switch_finish(void)
{
	struct pcpu *pc = curpcpu_get();
	struct thread *prev = pc->pc_prevthread;
	bool reap;

	pc->pc_prevthread = NULL;
	if (prev != NULL) {
		/*
		 * Decide before the release: once td_oncpu is 0 a waker may
		 * run prev elsewhere (it may even exit and be reaped there),
		 * or a joiner may reap it and kthread_create() reuse it.
		 */
		reap = (prev->td_flags & TDF_JOINABLE) == 0 &&
		    atomic_load_int(&prev->td_state) == TDS_DEAD;
		/* Release: prev's context is saved; it may run elsewhere. */
		atomic_store_rel_int(&prev->td_oncpu, 0);
		if (reap)
			kthread_reap(prev);
	}
	timeout_run(pc);
	md_ipi_poll();
}

void
kthread_yield(void)
{
	struct thread *td = curthread, *new;
	struct pcpu *pc = curpcpu_get();

	if (atomic_load_int(&pc->pc_runqlen) == 0) {
		timeout_run(pc);
		md_ipi_poll();
		if (atomic_load_int(&pc->pc_runqlen) == 0)
			return;
	}
	/*
	 * Queue ourselves and take the head in one hold of the run-queue
	 * lock (a locked instruction costs ~10 ns on the development VM:
	 * a second hold would be a quarter of the switch).
	 */
	mtx_lock_spin(&pc->pc_rqlock);
	new = TAILQ_FIRST(&pc->pc_runq);
	if (new == NULL) {
		mtx_unlock_spin(&pc->pc_rqlock);
		return;
	}
	TAILQ_REMOVE(&pc->pc_runq, new, td_runq);
	atomic_store_int(&td->td_state, TDS_RUNNABLE);
	TAILQ_INSERT_TAIL(&pc->pc_runq, td, td_runq);
	mtx_unlock_spin(&pc->pc_rqlock);
	sched_switch_to(pc, td, new);
	sched_switch_finish();
}

void
maybe_yield(void)
{
	struct pcpu *pc = curpcpu_get();

	md_ipi_poll();
	timeout_run(pc);
	if (atomic_load_int(&pc->pc_runqlen) != 0)
		kthread_yield();
}

/* Entry of every CPU: becomes the CPU's idle thread. */
void
sched_cpu_main(int cpu)
{
	struct pcpu *pc = &kern_pcpu[cpu];
	/* Allocated by sched_init(), where a failure can be reported. */
	struct thread *idle = pc->pc_idlethread;

	md_ctx_self(&idle->td_ctx);
	idle->td_flags = TDF_IDLE;
	idle->td_bindcpu = cpu;
	idle->td_cpu = cpu;
	idle->td_oncpu = 1;
	idle->td_state = TDS_RUNNING;
	snprintf(idle->td_name, sizeof(idle->td_name), "idle%d", cpu);
	pc->pc_curthread = idle;
	pc->pc_vmspace = NULL;
	sched_idle_loop(pc);
	pc->pc_curthread = NULL;
}

static void
sched_idle_loop(struct pcpu *pc)
{
	struct thread *idle = pc->pc_idlethread, *td;

	for (;;) {
		md_ipi_poll();
		timeout_run(pc);
		epoch_poll();
		td = sched_choose(pc);
		if (td != NULL) {
			sched_switch_to(pc, idle, td);
			sched_switch_finish();
			continue;
		}
		if (md_halting() && kthread_live() == 0)
			break;
		atomic_store_int(&pc->pc_idle, 1);
		/* Pairs with the fence in sched_setrunnable(). */
		atomic_thread_fence_seq_cst();
		if (atomic_load_int(&pc->pc_runqlen) == 0 && !md_halting())
			md_cpu_idle(atomic_load_64(&pc->pc_timonext));
		atomic_store_int(&pc->pc_idle, 0);
	}
}
