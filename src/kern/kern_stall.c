/*
 * kern_stall.c: the kernel's half of stall detection (stall.h, md.h).
 *
 * The simulated machine's engine notices when it is quiet (no CPU can
 * run: only idle CPUs' timers are left) and asks stall_check() whether
 * it is stalled, that is whether nothing that can still happen will end
 * the external thread's wait.  On a stall it calls stall_report(), which
 * names every thread, what it sleeps on, and the locks it holds.
 *
 * The verdict, in steps:
 *	1. No timer is pending: nothing will ever run again.  Stalled.
 *	2. A thread that is not a daemon (KTHR_SYSTEM) sleeps with a
 *	   timeout: it will run again.  Not stalled.
 *	3. Only daemons' timers are left.  Their passes may still wake the
 *	   others (a page-daemon pass frees the memory a vm_wait() sleeper
 *	   waits for), so the machine is stalled only once no other thread
 *	   has run for STALL_GRACE_NS of virtual time: once the signature of
 *	   the other threads (a hash of each one's id, state and count of
 *	   sleeps) has stayed the same over that long.
 * A machine between runs (no external wait) is not simulated at all, and
 * halting CPUs never idle, so neither is ever looked at.
 *
 * Both hooks run on the external thread while every CPU is parked: they
 * read threads and timeout lists without locks (no CPU holds a spin lock
 * while it idles and nothing runs until the engine resumes a CPU), and
 * their atomics are not sync points.
 *
 * Locking key: (e) the external thread, while the CPUs are parked.
 */
#include "kern/lock.h"
#include "kern/stall.h"
#include "kern/thread.h"
#include "vmlab/vmlab.h"

#include <stdlib.h>

_Static_assert(MD_EXIT_STALL == VMLAB_EXIT_STALL,
    "md and the public header name the same exit status");

static bool stall_watching;  /* (e) step 3 under way */
static uint64_t stall_since; /* (e) virtual time stall_sig was taken */
static uint64_t stall_sig;   /* (e) signature of the other threads */
static bool stall_by_grace;  /* (e) step 3 found the stall */

/* Does a thread other than a daemon sleep with a timeout (step 2)? */
static bool
stall_timed_sleeper(void)
{
	struct thread *td;
	int cpu;

	for (cpu = 0; cpu < md_ncpus(); cpu++)
		TAILQ_FOREACH (td, &kern_pcpu[cpu].pc_timoq, td_timoq)
			if ((td->td_flags & TDF_SYSTEM) == 0)
				return (true);
	return (false);
}

static uint64_t
stall_mix(uint64_t z)
{
	/* splitmix64's finaliser. */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

/* Adds a thread that is not a daemon to the signature (step 3). */
static void
stall_sig_add(struct thread *td, void *arg)
{
	uint64_t *sig = arg;

	if ((td->td_flags & TDF_SYSTEM) != 0)
		return;
	/* A sum: the order of the thread table does not matter. */
	*sig += stall_mix(stall_mix(td->td_tid) ^
	    atomic_load_64(&td->td_slpgen) * 8 ^
	    atomic_load_int(&td->td_state));
}

static bool
stall_check(uint64_t now, uint64_t next)
{
	uint64_t sig = 0;

	/* Step 1. */
	if (next == 0)
		return (true);
	/* Step 2. */
	if (stall_timed_sleeper()) {
		stall_watching = false;
		return (false);
	}
	/* Step 3. */
	kthread_foreach_parked(stall_sig_add, &sig);
	if (!stall_watching || sig != stall_sig) {
		stall_watching = true;
		stall_sig = sig;
		stall_since = now;
		return (false);
	}
	stall_by_grace = now - stall_since >= STALL_GRACE_NS;
	return (stall_by_grace);
}

/*
 * The report.
 */
struct stall_threads {
	struct thread **st_td;
	int st_n, st_cap;
};

static void
stall_collect(struct thread *td, void *arg)
{
	struct stall_threads *st = arg;

	if (st->st_n < st->st_cap)
		st->st_td[st->st_n++] = td;
}

static void
stall_count(struct thread *td, void *arg)
{
	(void)td;
	(*(int *)arg)++;
}

static int
stall_cmp_tid(const void *a, const void *b)
{
	const struct thread *x = *(struct thread *const *)a;
	const struct thread *y = *(struct thread *const *)b;

	return (x->td_tid < y->td_tid ? -1 : x->td_tid > y->td_tid);
}

/* The thread of `st' holding `lo' exclusively, or NULL. */
static struct thread *
stall_lock_holder(const struct stall_threads *st, uintptr_t lo)
{
	int i, j;

	for (i = 0; i < st->st_n; i++)
		for (j = 0; j < st->st_td[i]->td_nheld; j++)
			if ((uintptr_t)st->st_td[i]->td_held[j] == lo)
				return (st->st_td[i]);
	return (NULL);
}

/* What a sleeping thread waits for, beyond its channel. */
static void
stall_report_chan(const struct stall_threads *st, uintptr_t chan)
{
	struct thread *h;
	struct lock_object *lo;
	int i;

	if ((chan & 1) != 0) {
		/* A lock's turnstile (sleepq.h): who holds the lock? */
		h = stall_lock_holder(st, chan & ~(uintptr_t)1);
		if (h == NULL)
			return;
		lo = (struct lock_object *)(chan & ~(uintptr_t)1);
		md_printf("; %s lock \"%s\" is held by tid %llu \"%s\"",
		    lo->lo_class->lc_name, lo->lo_name,
		    (unsigned long long)h->td_tid, h->td_name);
		return;
	}
	for (i = 0; i < st->st_n; i++)
		if (chan == (uintptr_t)&st->st_td[i]->td_exited)
			md_printf("; joining tid %llu \"%s\"",
			    (unsigned long long)st->st_td[i]->td_tid,
			    st->st_td[i]->td_name);
}

/* The locks `td' holds (exclusive holds: VM_INVARIANTS builds only). */
static void
stall_report_held(const struct thread *td)
{
	const struct lock_object *lo;
	int i;

	if (td->td_nheld == 0 && td->td_rlocks == 0)
		return;
	md_printf("      holds:");
	for (i = 0; i < td->td_nheld; i++) {
		lo = td->td_held[i];
		md_printf("%s %s \"%s\" (%p)", i == 0 ? "" : ",",
		    lo->lo_class->lc_name, lo->lo_name, (const void *)lo);
	}
	if (td->td_rlocks != 0)
		md_printf("%s %d shared rw/sx hold%s",
		    td->td_nheld == 0 ? "" : ",", td->td_rlocks,
		    td->td_rlocks == 1 ? "" : "s");
	md_printf("\n");
}

static void
stall_report_thread(const struct stall_threads *st, const struct thread *td)
{
	uintptr_t chan = atomic_load_ptr(&td->td_wchan);

	md_printf("  tid %llu \"%s\"%s: ", (unsigned long long)td->td_tid,
	    td->td_name, (td->td_flags & TDF_SYSTEM) != 0 ? " (daemon)" : "");
	switch (atomic_load_int(&td->td_state)) {
	case TDS_SLEEPING:
		md_printf("%s \"%s\" (channel %#llx), ",
		    (chan & 1) != 0 ? "blocked on lock" : "sleeping on",
		    td->td_wmesg != NULL ? td->td_wmesg : "?",
		    (unsigned long long)chan);
		if (atomic_load_int(&td->td_timocpu) != 0)
			md_printf("timeout at %llu ns",
			    (unsigned long long)td->td_timo);
		else
			md_printf("no timeout");
		stall_report_chan(st, chan);
		break;
	case TDS_DEAD:
		md_printf("exited, not joined yet");
		break;
	default:
		md_printf("state %u", atomic_load_int(&td->td_state));
		break;
	}
	md_printf("\n");
	stall_report_held(td);
}

static void
stall_report(void)
{
	struct stall_threads st = { NULL, 0, 0 };
	int i, pass;

	kthread_foreach_parked(stall_count, &st.st_cap);
	st.st_td = md_calloc((size_t)st.st_cap + 1, sizeof(*st.st_td));
	if (st.st_td == NULL) {
		md_printf("vmlab: stall: no memory for the thread report\n");
		return;
	}
	kthread_foreach_parked(stall_collect, &st);
	qsort(st.st_td, (size_t)st.st_n, sizeof(*st.st_td), stall_cmp_tid);
	if (stall_by_grace)
		md_printf("vmlab: stall: only daemons ran since virtual time "
			  "%llu ns (the grace is %llu ns), every other thread "
			  "sleeping without a timeout\n",
		    (unsigned long long)stall_since,
		    (unsigned long long)STALL_GRACE_NS);
	md_printf("vmlab: stall: %d thread%s (wait channel, timeout, locks "
		  "held%s):\n",
	    st.st_n, st.st_n == 1 ? "" : "s",
#ifdef VM_INVARIANTS
	    ""
#else
	    ": exclusive holds are tracked in VM_INVARIANTS builds only"
#endif
	);
	/* The threads the run waits for first, then the daemons. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < st.st_n; i++)
			if (((st.st_td[i]->td_flags & TDF_SYSTEM) != 0) == pass)
				stall_report_thread(&st, st.st_td[i]);
	md_free(st.st_td);
}

static const struct md_stall_hooks stall_hooks = {
	.ms_check = stall_check,
	.ms_report = stall_report,
};

void
stall_init(void)
{
	stall_watching = stall_by_grace = false;
	md_stall_hooks_set(&stall_hooks);
}

void
stall_fini(void)
{
	md_stall_hooks_set(NULL);
}
