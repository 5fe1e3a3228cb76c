/*
 * counter.h: per-CPU 64-bit counters (in the spirit of counter(9)).
 *
 * Each CPU has an array of COUNTER_SLOTS 64-bit slots (pc_counters); a
 * counter is one slot index, the same on every CPU.  counter_u64_add()
 * touches only the current CPU's slot (no atomic read-modify-write, no
 * shared cache line); counter_u64_fetch() sums all CPUs.  Adds from
 * external threads (not CPUs) go to an extra slot array with atomics.
 * Every counter is also a read-only statistic in the sysctl registry.
 */
#ifndef VMLAB_COUNTER_H
#define VMLAB_COUNTER_H

#include "kern/thread.h"

#include <stdint.h>

#define COUNTER_SLOTS 4096

struct counter {
	uint32_t c_slot;    /* (c) */
	const char *c_name; /* (c) */
};
typedef struct counter *counter_u64_t;

extern uint64_t *counter_ext_slots; /* (a) external threads' slots */

counter_u64_t counter_u64_alloc(const char *name, const char *descr);
void counter_u64_free(counter_u64_t c);

/*
 * A module's counters as a table.  counter_u64_alloc_table() allocates
 * each into *cs_counter; if one fails it frees those it allocated and
 * returns ENOMEM.  counter_u64_free_table() frees the non-NULL ones and
 * sets them NULL.
 */
struct counter_spec {
	counter_u64_t *cs_counter;
	const char *cs_name;
	const char *cs_descr;
};
int counter_u64_alloc_table(const struct counter_spec *cs, int n);
void counter_u64_free_table(const struct counter_spec *cs, int n);
uint64_t counter_u64_fetch(counter_u64_t c);
void counter_u64_zero(counter_u64_t c);
int counter_init(void);
void counter_fini(void);

static inline void
counter_u64_add(counter_u64_t c, int64_t v)
{
	int cpu = md_curcpu();

	if (__predict_true(cpu >= 0))
		pcpu_add_64(
		    &kern_pcpu[cpu].pc_counters[c->c_slot], (uint64_t)v);
	else
		atomic_add_64(&counter_ext_slots[c->c_slot], (uint64_t)v);
}

#endif /* !VMLAB_COUNTER_H */
