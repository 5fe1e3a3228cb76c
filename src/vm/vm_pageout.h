/*
 * vm_pageout.h: the page daemon and the laundry thread.
 *
 * Each domain has a page daemon and a laundry thread, kernel threads
 * started at boot (vm.pageout.enable=1).
 *
 * The page daemon keeps the domain's free count at its free target
 * (vm_domain.h).  It sleeps on the domain's vmd_pageout_wanted until
 * the allocator wakes it (vm_domain_pageout_wakeup(): an allocation slow
 * path left the free count below vmd_pageout_wakeup_thresh, 90% of the
 * target as in FreeBSD, a request failed, or vm_wait is about to sleep),
 * or until a 100 ms timeout, and then runs a pass:
 *	0. after a fruitless pass (step 5), it first applies every CPU's
 *	   page-queue batches: pages parked in other CPUs' batch queues are
 *	   invisible to the scans (with many CPUs and little memory they
 *	   can be most of a domain); what it applies counts as progress;
 *	1. the shortage is free_target - free_count;
 *	2. the inactive scan takes batches of pages off the inactive queue
 *	   (one queue-lock hold each) and, for each, under its object's lock
 *	   with the page exclusive-busied: a wired page leaves the queues, a
 *	   referenced one goes back to the active queue, a clean one is freed
 *	   (its pager keeps its copy), a dirty one goes to the laundry queue;
 *	   until the shortage is met or the queue has been scanned once;
 *	3. the active scan (a clock) ages pages: a referenced page gains
 *	   act_count and stays, an unreferenced one loses half of it and
 *	   moves to the inactive queue at one or less, or at once while the
 *	   inactive scan left a shortage; it runs while the inactive queue is
 *	   below a third of the managed pages, or there is a shortage;
 *	4. it wakes the laundry thread if the laundry queue has pages, and
 *	   moves pages from the unswappable queue back to the laundry queue
 *	   when swap space has been freed;
 *	5. OOM: a pass with a shortage that freed nothing, moved or aged no
 *	   page, during which nothing was laundered, after which (step 0)
 *	   no batch entry was applied, and that leaves no free page in the
 *	   domain's per-CPU page caches, is fruitless (cached pages are
 *	   free: an allocation that fails drains the caches and retries
 *	   before it waits, vm_page.h); after vm.pageout.oom_seq
 *	   consecutive fruitless passes the daemon reports out-of-memory once
 *	   (vm.pageout.oom counts reports) and allocations that would wait
 *	   for memory fail with ENOMEM instead, until a pass frees pages.
 *	   (The victim policy, killing a process, arrives with processes.)
 *
 * The laundry thread writes dirty pages of the laundry queue to their
 * pager: swap for anonymous objects (which become swap objects), the file
 * for vnode objects.  Around each page it gathers a cluster of up to
 * vm.pageout.cluster dirty laundry pages of consecutive indices in the
 * same object and writes them with one I/O.  Written pages become clean
 * and go to the head of the inactive queue, to be freed by the next
 * inactive scan.  A write error leaves the page dirty, resident and in
 * the laundry queue to be retried (vm.pageout.launder_errors); a page
 * for which swap space is exhausted goes to the unswappable queue.
 *
 * Locking key:
 *	(c) constant after boot
 *	(m) pd_mtx
 *	(d) the domain's daemon or laundry thread
 *	(s) the domain's scan mutex (one pass at a time)
 *	(a) atomic
 */
#ifndef VMLAB_VM_PAGEOUT_H
#define VMLAB_VM_PAGEOUT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Waits (up to 100 ms) for the page daemon to free pages; for
 * allocations that failed.  No lock held.
 */
void vm_pageout_wait_free(void);
/* Whether the OOM condition (see above) holds now. */
bool vm_pageout_oom_declared(void);
/*
 * Low-memory handlers: a daemon pass that starts short of its free
 * target calls each (at most every 100 ms), `severe' when the domain is
 * below its severe threshold; the zone allocator gives back its caches.
 * Registered at boot, before the daemons run (again at each boot: a
 * handler is kept once); at most 4 of them, EBUSY beyond.
 */
int vm_pageout_lowmem_register(void (*fn)(bool severe));

/*
 * Runs one daemon pass on `domain' from the calling thread (tests and
 * scenarios with vm.pageout.enable=0); returns the pages freed, moved to
 * another queue or aged (0: a fruitless pass).
 */
uint64_t vm_pageout_pass(int domain);
/* Launders up to `max' pages of `domain' (as the laundry thread does). */
uint64_t vm_pageout_launder(int domain, uint64_t max);

/*
 * Pausing (checkers): after vm_pageout_pause() returns, no daemon pass,
 * step-0 drain or laundry scan is under way and none starts (a scan holds
 * pages off their queues) until vm_pageout_resume().  Kernel thread, no
 * lock held.
 */
void vm_pageout_pause(void);
void vm_pageout_resume(void);

/* Statistics for reports. */
struct vm_pageout_stats {
	uint64_t ps_passes;	    /* daemon passes */
	uint64_t ps_scanned;	    /* pages examined by scans */
	uint64_t ps_freed;	    /* pages freed by the daemon */
	uint64_t ps_reactivated;    /* referenced inactive pages */
	uint64_t ps_deactivated;    /* active pages moved to inactive */
	uint64_t ps_to_laundry;	    /* dirty pages moved to laundry */
	uint64_t ps_laundered;	    /* pages written (page-outs) */
	uint64_t ps_launder_ios;    /* write I/Os */
	uint64_t ps_launder_ns;	    /* time in laundry writes */
	uint64_t ps_launder_errors; /* pages whose write failed */
	uint64_t ps_unswappable;    /* pages parked for want of swap */
	uint64_t ps_oom;	    /* OOM reports */
};
void vm_pageout_stats(struct vm_pageout_stats *ps);

int vm_pageout_tunables(void);
int vm_pageout_init(void);
/* Starts the daemons (after the rest of the VM is up). */
int vm_pageout_start(void);
/* Stops the daemons (kernel thread; at shutdown). */
void vm_pageout_stop(void);
void vm_pageout_fini(void);

#endif /* !VMLAB_VM_PAGEOUT_H */
