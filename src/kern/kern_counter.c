/*
 * kern_counter.c: allocation of per-CPU counter slots.
 *
 * Slots are handed out from a bitmap; a freed slot is zeroed on every CPU
 * before reuse.  Slot arrays are allocated lazily by md_calloc(), so unused
 * slots cost no memory even with 1024 CPUs.
 *
 * Locking key: (k) counter_mtx.
 */
#include "kern/counter.h"
#include "kern/sysctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t *counter_ext_slots; /* (a) */
static struct mtx counter_mtx;
static uint64_t counter_used[COUNTER_SLOTS / 64];  /* (k) bitmap */
static struct counter *counter_all[COUNTER_SLOTS]; /* (k) */

int
counter_init(void)
{
	static const struct lock_rank ranks[] = { { "counter", 900, 0 } };
	int cpu, error;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	mtx_init(&counter_mtx, "counter", MTX_SPIN);
	memset(counter_used, 0, sizeof(counter_used));
	memset(counter_all, 0, sizeof(counter_all));
	counter_ext_slots = md_calloc(COUNTER_SLOTS, sizeof(uint64_t));
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		kern_pcpu[cpu].pc_counters =
		    md_calloc(COUNTER_SLOTS, sizeof(uint64_t));
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		if (counter_ext_slots == NULL ||
		    kern_pcpu[cpu].pc_counters == NULL) {
			counter_fini(); /* frees what was allocated */
			return (ENOMEM);
		}
	return (0);
}

void
counter_fini(void)
{
	int cpu, i;

	for (i = 0; i < COUNTER_SLOTS; i++)
		md_free(counter_all[i]);
	memset(counter_all, 0, sizeof(counter_all));
	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		md_free(kern_pcpu[cpu].pc_counters);
		kern_pcpu[cpu].pc_counters = NULL;
	}
	md_free(counter_ext_slots);
	counter_ext_slots = NULL;
	mtx_destroy(&counter_mtx);
}

static uint64_t
counter_sysctl(void *arg)
{
	return (counter_u64_fetch(arg));
}

/*
 * Allocates a counter, registered as statistic `name' (if not NULL).
 * Returns NULL when all COUNTER_SLOTS slots are in use.
 */
counter_u64_t
counter_u64_alloc(const char *name, const char *descr)
{
	struct counter *c;
	int i, bit;

	c = md_malloc(sizeof(*c));
	if (c == NULL)
		return (NULL);
	c->c_name = name;
	mtx_lock_spin(&counter_mtx);
	for (i = 0; i < COUNTER_SLOTS / 64; i++)
		if (~counter_used[i] != 0)
			break;
	if (i == COUNTER_SLOTS / 64) {
		mtx_unlock_spin(&counter_mtx);
		md_free(c);
		return (NULL);
	}
	bit = __builtin_ctzll(~counter_used[i]);
	counter_used[i] |= 1ull << bit;
	c->c_slot = (uint32_t)(i * 64 + bit);
	counter_all[c->c_slot] = c;
	mtx_unlock_spin(&counter_mtx);
	counter_u64_zero(c);
	if (name != NULL)
		(void)sysctl_stat_register(name, counter_sysctl, c, descr);
	return (c);
}

void
counter_u64_free(counter_u64_t c)
{
	/* Its statistic would read freed memory. */
	if (c->c_name != NULL)
		sysctl_stat_unregister(c->c_name, c);
	mtx_lock_spin(&counter_mtx);
	counter_used[c->c_slot / 64] &= ~(1ull << (c->c_slot % 64));
	counter_all[c->c_slot] = NULL;
	mtx_unlock_spin(&counter_mtx);
	md_free(c);
}

int
counter_u64_alloc_table(const struct counter_spec *cs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		*cs[i].cs_counter =
		    counter_u64_alloc(cs[i].cs_name, cs[i].cs_descr);
		if (*cs[i].cs_counter == NULL) {
			counter_u64_free_table(cs, i);
			return (ENOMEM);
		}
	}
	return (0);
}

void
counter_u64_free_table(const struct counter_spec *cs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (*cs[i].cs_counter != NULL) {
			counter_u64_free(*cs[i].cs_counter);
			*cs[i].cs_counter = NULL;
		}
}

uint64_t
counter_u64_fetch(counter_u64_t c)
{
	uint64_t sum;
	int cpu;

	sum = atomic_load_64(&counter_ext_slots[c->c_slot]);
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		sum += pcpu_load_64(&kern_pcpu[cpu].pc_counters[c->c_slot]);
	return (sum);
}

/* Zeroes every CPU's slot.  Racy against concurrent adds, by design. */
void
counter_u64_zero(counter_u64_t c)
{
	int cpu;

	atomic_store_64(&counter_ext_slots[c->c_slot], 0);
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		pcpu_store_64(&kern_pcpu[cpu].pc_counters[c->c_slot], 0);
}
