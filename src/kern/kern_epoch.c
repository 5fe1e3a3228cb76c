/*
 * kern_epoch.c: the epoch (SMR) implementation.
 *
 * A global write sequence epoch_wrseq only grows.  A reader publishes, in
 * its CPU's pc_epoch, the value of epoch_wrseq it saw when it entered (0
 * outside a section).  epoch_call() advances epoch_wrseq and tags the
 * deferred call with the new value, the goal.  A goal is reached when no
 * CPU has a section that entered before it, i.e. every pc_epoch is 0 or
 * at least the goal.
 *
 * Why this is safe: the writer unlinks, then advances with a seq_cst
 * read-modify-write; the poller reads every pc_epoch after a seq_cst
 * fence.  A reader stores pc_epoch, then issues a seq_cst fence before
 * its first lockless load.  If the poller reads a reader's pc_epoch as 0,
 * the reader's fence comes later in the total order, so its loads see the
 * unlink; if it reads a value below the goal, it waits.
 *
 * Deferred calls wait on per-CPU lists in goal order (goals grow).
 *
 * Locking key: (x) per-CPU list, this CPU only; (a) atomic.
 */
#include "kern/epoch.h"
#include "kern/sleepq.h"
#include "kern/thread.h"

#include <errno.h>
#include <stdlib.h>

struct epoch_item {
	struct epoch_item *ei_next;
	uint64_t ei_goal;
	void (*ei_fn)(void *);
	void *ei_arg;
};

struct epoch_list {
	struct epoch_item *el_head, *el_tail; /* (x) */
	uint64_t el_count;		      /* (x) */
};

static uint64_t epoch_wrseq;	/* (a) */
static uint64_t epoch_npending; /* (a) */

int
epoch_init(void)
{
	int cpu;

	atomic_store_64(&epoch_wrseq, 1);
	atomic_store_64(&epoch_npending, 0);
	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		kern_pcpu[cpu].pc_epoch_deferred =
		    md_calloc(1, sizeof(struct epoch_list));
		if (kern_pcpu[cpu].pc_epoch_deferred == NULL) {
			epoch_fini(); /* frees the lists made so far */
			return (ENOMEM);
		}
	}
	return (0);
}

void
epoch_fini(void)
{
	int cpu;

	epoch_drain_all();
	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		md_free(kern_pcpu[cpu].pc_epoch_deferred);
		kern_pcpu[cpu].pc_epoch_deferred = NULL;
	}
}

uint64_t
epoch_pending(void)
{
	return (atomic_load_64(&epoch_npending));
}

/*
 * The section's thread is pc_curthread of the CPU we read once: a second
 * md_curcpu() (through curthread) is a volatile read that release builds,
 * which only evaluate TD_NOSLEEP_*'s argument, would still do.
 */
void
epoch_enter(void)
{
	struct pcpu *pc = curpcpu_get();

	VM_ASSERT(atomic_load_64(&pc->pc_epoch) == 0,
	    ("epoch_enter: nested section on CPU %d", pc->pc_cpuid));
	TD_NOSLEEP_INC(pc->pc_curthread);
	atomic_store_64(&pc->pc_epoch, atomic_load_64(&epoch_wrseq));
	/* Publish pc_epoch before any lockless load (see the header). */
	atomic_thread_fence_seq_cst();
}

void
epoch_exit(void)
{
	struct pcpu *pc = curpcpu_get();

	/* Release: our lockless loads are done before we leave. */
	atomic_store_rel_64(&pc->pc_epoch, 0);
	TD_NOSLEEP_DEC(pc->pc_curthread);
}

/* Has every reader that entered before `goal' left? */
static bool
epoch_goal_reached(uint64_t goal)
{
	uint64_t e;
	int cpu;

	/* Order the caller's advance before reading the readers' state. */
	atomic_thread_fence_seq_cst();
	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		e = atomic_load_acq_64(&kern_pcpu[cpu].pc_epoch);
		if (e != 0 && e < goal)
			return (false);
	}
	return (true);
}

void
epoch_call(void (*fn)(void *), void *arg)
{
	struct epoch_list *el = curpcpu_get()->pc_epoch_deferred;
	struct epoch_item *ei;
	uint64_t goal;

	ei = md_malloc(sizeof(*ei));
	if (ei == NULL) {
		/*
		 * No memory to defer with: wait out the grace period here.
		 * The caller may hold locks (a radix removal holds its
		 * object's), so spin rather than sleep: reader sections are
		 * short and never sleep or switch, so they all end.
		 */
		goal = atomic_fetchadd_64(&epoch_wrseq, 1) + 1;
		while (!epoch_goal_reached(goal))
			md_spin_delay(1000);
		fn(arg);
		return;
	}
	ei->ei_fn = fn;
	ei->ei_arg = arg;
	ei->ei_next = NULL;
	ei->ei_goal = atomic_fetchadd_64(&epoch_wrseq, 1) + 1;
	if (el->el_tail == NULL)
		el->el_head = ei;
	else
		el->el_tail->ei_next = ei;
	el->el_tail = ei;
	el->el_count++;
	(void)atomic_fetchadd_64(&epoch_npending, 1);
	if (el->el_count >= 64)
		epoch_poll();
}

void
epoch_poll(void)
{
	struct epoch_list *el = curpcpu_get()->pc_epoch_deferred;
	struct epoch_item *ei;

	if (el == NULL)
		return;
	while ((ei = el->el_head) != NULL && epoch_goal_reached(ei->ei_goal)) {
		el->el_head = ei->ei_next;
		if (el->el_head == NULL)
			el->el_tail = NULL;
		el->el_count--;
		(void)atomic_fetchadd_64(&epoch_npending, (uint64_t)-1);
		ei->ei_fn(ei->ei_arg);
		md_free(ei);
	}
}

void
epoch_wait(void)
{
	uint64_t goal;

	witness_assert_nosleep("epoch_wait");
	goal = atomic_fetchadd_64(&epoch_wrseq, 1) + 1;
	while (!epoch_goal_reached(goal))
		pause_ns("epochwt", 10000);
}

void
epoch_drain_all(void)
{
	struct epoch_list *el;
	struct epoch_item *ei;
	int cpu;

	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		el = kern_pcpu[cpu].pc_epoch_deferred;
		if (el == NULL)
			continue;
		while ((ei = el->el_head) != NULL) {
			el->el_head = ei->ei_next;
			ei->ei_fn(ei->ei_arg);
			md_free(ei);
		}
		el->el_tail = NULL;
		el->el_count = 0;
	}
	atomic_store_64(&epoch_npending, 0);
}
