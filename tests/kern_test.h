/*
 * kern_test.h: helpers shared by the kernel-service tests.
 */
#ifndef VMLAB_KERN_TEST_H
#define VMLAB_KERN_TEST_H

#include "harness.h"
#include "kern/sleepq.h"
#include "md/md.h"
#include "md/md_atomic.h"

#include <stdbool.h>
#include <stdint.h>

#define US (1000ull)
#define MS (1000000ull)

/*
 * Waits (sleeping in steps of 50 us) until *p reaches v, at most
 * `limit_ns': bounds every wait for another thread, so that a hang
 * becomes a failure.  Returns false on time-out.  Kernel threads only.
 */
static inline bool
test_wait_for(const uint32_t *p, uint32_t v, uint64_t limit_ns)
{
	uint64_t deadline = md_nanotime() + limit_ns;

	while (atomic_load_acq_int(p) < v) {
		if (md_nanotime() > deadline)
			return (false);
		pause_ns("waitfor", 50 * US);
	}
	return (true);
}

/*
 * Exact checks on the simulated machine.
 *
 * Under VMLAB_TEST_BACKEND=sim (test_sim()) md_nanotime() is the current
 * CPU's virtual clock and the engine always runs the CPU whose clock is
 * the smallest (docs/SIM.md): a thread that runs at virtual time T has
 * seen every event of every CPU before T.  So a check that the host can
 * only make by waiting a while and hoping ("sleep, then assert that
 * nothing happened") is exact there: wait until the instant by which the
 * unwanted event would have had its effect, and look; and a wanted event
 * can be required at its instant, within a bound.
 *
 * TEST_SIM_LATENCY_NS bounds the virtual time from an event that makes a
 * thread runnable (its timeout due, a wakeup(), an IPI, a lock released)
 * to that thread running on a CPU with nothing else to do: the cost
 * table's idle wake-up (sim.cost.wake, 1 us), a spin back-off of at most
 * LOCK_DELAY_MAX_NS (2.56 us), a context switch and a few dozen locked
 * instructions and cache-line transfers (10-30 ns each).  Seen in the
 * tests that use it: timeouts 0.2-1 us late, lock hand-offs and vm_wait
 * wake-ups 1-2 us, IPIs 2-3 us.
 */
#define TEST_SIM_LATENCY_NS (10 * US)

/*
 * Sleeps until md_nanotime() >= t (at once if it is); returns
 * md_nanotime() then.  On the simulated machine that is t plus the
 * wake-up's few hundred ns.  Kernel threads only.
 */
static inline uint64_t
test_sleep_until(uint64_t t)
{
	uint64_t now;

	while ((now = md_nanotime()) < t)
		pause_ns("until", t - now);
	return (now);
}

/*
 * Simulated machine: checks that `what' happened at virtual time `at' no
 * earlier than `since' happened (at `from') and at most `bound' ns after.
 */
#define CHECK_WITHIN(what, at, since, from, bound)                             \
	test_check_within(__FILE__, __LINE__, what, at, since, from, bound)

static inline void
test_check_within(const char *file, int line, const char *what, uint64_t at,
    const char *since, uint64_t from, uint64_t bound)
{
	if (at < from)
		test_fail(file, line,
		    "%s at %llu ns of virtual time, before %s (%llu ns)", what,
		    (unsigned long long)at, since, (unsigned long long)from);
	else if (at - from > bound)
		test_fail(file, line, "%s %llu ns after %s, more than %llu ns",
		    what, (unsigned long long)(at - from), since,
		    (unsigned long long)bound);
}

#endif /* !VMLAB_KERN_TEST_H */
