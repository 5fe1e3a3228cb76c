/*
 * kern_test.h: helpers shared by the kernel-service tests.
 */
#ifndef VMLAB_KERN_TEST_H
#define VMLAB_KERN_TEST_H

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

#endif /* !VMLAB_KERN_TEST_H */
