/*
 * thread.h: kernel threads, per-CPU data and the scheduler.
 *
 * The kernel is non-preemptive: a thread runs until it sleeps, yields or
 * exits.  Each CPU has a FIFO run queue; a thread woken up goes to the run
 * queue of the CPU it last ran on (or its bound CPU).  A CPU whose run
 * queue is empty runs its idle thread, which is the CPU's scheduler loop on
 * the host thread's own stack.
 *
 * Switch protocol.  td_oncpu is 1 from the moment a CPU starts to run a
 * thread until its context has been saved by a switch away from it; the
 * context that runs next clears it (sched_switch_finish()).  A waker that
 * makes a sleeping thread runnable first waits for td_oncpu to clear, so
 * no CPU ever resumes a context that is still being saved, and no switch
 * ever waits for another CPU.
 *
 * Thread structs are type-stable: reaped threads go to a free list and are
 * only released at shutdown, so a stale pointer (a mutex owner, say) can
 * always be read.
 *
 * Locking key:
 *	(c) constant after creation
 *	(r) run-queue lock of the CPU whose queue holds the thread
 *	(s) sleep-queue chain lock of td_wchan
 *	(T) timeout lock of CPU td_timocpu
 *	(a) atomic
 *	(t) curthread only
 *	(x) per-CPU, this CPU only
 */
#ifndef VMLAB_THREAD_H
#define VMLAB_THREAD_H

#include "kern/kassert.h"
#include "kern/mutex.h"
#include "kern/queue.h"
#include "md/md.h"

/* td_state */
#define TDS_INACTIVE 0
#define TDS_RUNNABLE 1
#define TDS_RUNNING 2
#define TDS_SLEEPING 3
#define TDS_DEAD 4

/* td_flags */
#define TDF_JOINABLE 0x01
#define TDF_IDLE 0x02
#define TDF_SYSTEM 0x04

#define TD_MAXHELD 32

struct sleepqueue;

struct vmspace;
struct proc;

struct thread {
	struct md_ctx td_ctx;		  /* (t) saved context */
	TAILQ_ENTRY(thread) td_runq;	  /* (r) */
	TAILQ_ENTRY(thread) td_slpq;	  /* (s) */
	TAILQ_ENTRY(thread) td_timoq;	  /* (T) */
	TAILQ_ENTRY(thread) td_freeq;	  /* thread cache */
	struct sleepqueue *td_sleepqueue; /* (s) spare queue, or NULL */
	uintptr_t td_wchan;		  /* (s,a) channel slept on */
	const char *td_wmesg;		  /* (s) */
	uint64_t td_slpgen;		  /* (s,a) sleeps so far */
	uint64_t td_timo;		  /* (T) deadline of timed sleep */
	uint32_t td_timocpu; /* (a) CPU + 1 whose timeout list has it */
	uint32_t td_state;   /* (a) TDS_* */
	uint32_t td_oncpu;   /* (a) context is live */
	uint32_t td_exited;  /* (s of &td_exited) */
	int td_sqqueue;	     /* (s) sleep sub-queue */
	bool td_timedout;    /* (s) */
	bool td_intrwoken;   /* (s) woken by thread_interrupt() */
	uint32_t td_intr;    /* (a) interrupt pending: PCATCH sleeps fail */
	uint32_t td_sintr;   /* (a) in an interruptible sleep (PCATCH) */
	int td_cpu;	     /* (r) last / queued CPU */
	int td_bindcpu;	     /* (c) bound CPU or -1 */
	uint32_t td_flags;   /* (c) TDF_* */
	int td_nosleep;	     /* (t) held locks that forbid sleeping */
	int td_rlocks;	     /* (t) rw/sx shared locks held */
	int td_nheld;	     /* (t) */
	struct lock_object *td_held[TD_MAXHELD]; /* (t) witness */
	void (*td_func)(void *);		 /* (c) */
	void *td_arg;				 /* (c) */
	int *td_reapnotify;			 /* (c) set when reaped */
	uint64_t td_tid;			 /* (c) */
	char td_name[24];			 /* (c) */
	/*
	 * The user address space the thread runs in (vm_map.h's
	 * vmspace_switch), opaque here; NULL for kernel-only threads.
	 * Whoever set it clears it before the thread exits.
	 */
	struct vmspace *td_vmspace; /* (t) */
	/* The process the thread runs for (src/proc), opaque here. */
	struct proc *td_proc; /* (c) set by its first instruction */
} __aligned(64);

struct pcpu {
	struct thread *pc_curthread;  /* (x) */
	struct vmspace *pc_vmspace;   /* (x) pc_curthread's td_vmspace, copied
				       at each switch (uaccess's hit path) */
	struct thread *pc_idlethread; /* (c) */
	struct thread *pc_prevthread; /* (x) switch in progress */
	int pc_cpuid;		      /* (c) */
	int pc_domain;		      /* (c) */
	uint32_t pc_idle;	      /* (a) in the idle loop */
	uint32_t pc_runqlen;	      /* (r,a) */
	struct mtx pc_rqlock;	      /* run-queue lock */
	TAILQ_HEAD(threadq, thread) pc_runq; /* (r) */
	struct mtx pc_timolock;		     /* timeout lock */
	struct threadq pc_timoq;	     /* (T) sorted by td_timo */
	uint64_t pc_timonext;		     /* (T,a) first deadline or 0 */
	uint64_t *pc_counters;		     /* (x) counter slots */
	uint64_t pc_epoch;		     /* (a) SMR read section */
	void *pc_epoch_deferred;	     /* (x) deferred frees */
	uint64_t pc_switches;		     /* (x) */
} __aligned(MD_CACHE_LINE);

extern struct pcpu *kern_pcpu; /* (c) array of md_ncpus() */

static inline struct pcpu *
curpcpu_get(void)
{
	return (&kern_pcpu[md_curcpu()]);
}

static inline struct thread *
curthread_get(void)
{
	int cpu = md_curcpu();

	return (cpu < 0 ? NULL : kern_pcpu[cpu].pc_curthread);
}
#define curthread (curthread_get())

/* Non-sleepable locks held: kept for assertions in invariant builds. */
#ifdef VM_INVARIANTS
#define TD_NOSLEEP_INC(td) ((td)->td_nosleep++)
#define TD_NOSLEEP_DEC(td) ((td)->td_nosleep--)
#else
#define TD_NOSLEEP_INC(td) ((void)(td))
#define TD_NOSLEEP_DEC(td) ((void)(td))
#endif
#define curcpu (md_curcpu())

/*
 * Kernel threads.  kthread_create() starts func(arg) on `cpu' (bound to it
 * when KTHR_BOUND is given; -1 picks CPUs round-robin).  A thread ends by
 * returning from func or calling kthread_exit().  A KTHR_JOINABLE thread
 * must be reaped by exactly one kthread_join().  Returns 0 or ENOMEM.
 */
#define KTHR_BOUND 0x1
#define KTHR_JOINABLE 0x2
#define KTHR_SYSTEM                                                            \
	0x4 /* a daemon: not counted by kthread_live(); the
			   subsystem that started it stops it at shutdown */
int kthread_create(void (*func)(void *), void *arg, int cpu, int flags,
    struct thread **tdp, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Like kthread_create(); sets *flag (release) and calls
 * md_external_notify() once the thread is reaped.  Used by vmlab_run(). */
int kthread_create_notify(
    void (*func)(void *), void *arg, int *flag, const char *name);
void kthread_exit(void) __attribute__((noreturn));
void kthread_join(struct thread *td);
uint64_t kthread_live(void);
bool kthread_running(const struct thread *td);
void kthread_foreach_parked(void (*fn)(struct thread *, void *), void *arg);

/* Scheduler. */
void sched_switch(void);
void sched_switch_finish(void);
void sched_setrunnable(struct thread *td);
void kthread_yield(void);
void maybe_yield(void);
void sched_cpu_main(int cpu);
int sched_init(void);
void sched_fini(void);
uint64_t sched_switches(void);

/* Timeouts of timed sleeps (kern_sleepq.c). */
void timeout_add(struct thread *td, uint64_t deadline);
void timeout_remove(struct thread *td);
void timeout_run(struct pcpu *pc);

#endif /* !VMLAB_THREAD_H */
