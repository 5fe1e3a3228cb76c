/*
 * vm_test.h: helpers shared by the VM unit tests (test_vm_*.c).
 *
 * vm_test_stat(): a statistic's value.  vm_test_boot(): boots a machine
 * with a given number of CPUs, domains, bytes of memory and tunables
 * (NULL-terminated), for tests that need more than test_boot() offers.  vm_test_sizes(): smaller sizes under the
 * sanitizers.  A page set is a bitmap over the page array, used to check
 * that what a test holds never overlaps.
 */
#ifndef VMLAB_VM_TEST_H
#define VMLAB_VM_TEST_H

#include "harness.h"
#include "kern/kassert.h"
#include "kern/sysctl.h"
#include "vm/vm_domain.h"
#include "vm/vm_page.h"
#include "vm/vm_phys.h"
#include "vmlab/vmlab.h"

#include <stdio.h>
#include <stdlib.h>

static inline void
vm_test_boot(
    int ncpus, int ndomains, uint64_t physmem, const char *const *tunables)
{
	test_boot_mem(ncpus, ndomains, physmem, tunables);
}

/* A statistic's value; a check fails if there is none of that name. */
static inline uint64_t
vm_test_stat(const char *name)
{
	struct sysctl_info si;

	if (!sysctl_get(name, &si)) {
		CHECKF(0, "no statistic %s", name);
		return (0);
	}
	return ((uint64_t)si.si_value);
}

/* Changes a tunable of the running machine (its set handler). */
static inline void
vm_test_set(const char *name, int64_t value)
{
	char err[256];

	CHECKF(sysctl_set(name, value, err, sizeof(err)) == 0, "%s", err);
}

/* `full' normally, `small' under the sanitizers. */
static inline uint64_t
vm_test_size(uint64_t full, uint64_t small)
{
	return (test_sanitizer() ? small : full);
}

struct vm_test_pageset {
	uint64_t *ps_bits;
	uint64_t ps_count;
};

static inline void
vm_test_pageset_init(struct vm_test_pageset *ps)
{
	ps->ps_bits = calloc(howmany(vm_page_array_size, 64), 8);
	ps->ps_count = 0;
}

static inline void
vm_test_pageset_fini(struct vm_test_pageset *ps)
{
	free(ps->ps_bits);
}

static inline bool
vm_test_pageset_has(const struct vm_test_pageset *ps, const struct vm_page *m)
{
	uint64_t i = (uint64_t)(m - vm_page_array);

	return ((ps->ps_bits[i / 64] & (1ull << (i % 64))) != 0);
}

/* Adds the run [m, m + n); false (and nothing added) on overlap. */
static inline bool
vm_test_pageset_add(struct vm_test_pageset *ps, struct vm_page *m, uint64_t n)
{
	uint64_t i, k;

	for (k = 0; k < n; k++)
		if (vm_test_pageset_has(ps, &m[k]))
			return (false);
	for (k = 0; k < n; k++) {
		i = (uint64_t)(&m[k] - vm_page_array);
		ps->ps_bits[i / 64] |= 1ull << (i % 64);
	}
	ps->ps_count += n;
	return (true);
}

static inline void
vm_test_pageset_del(struct vm_test_pageset *ps, struct vm_page *m, uint64_t n)
{
	uint64_t i, k;

	for (k = 0; k < n; k++) {
		i = (uint64_t)(&m[k] - vm_page_array);
		ps->ps_bits[i / 64] &= ~(1ull << (i % 64));
	}
	ps->ps_count -= n;
}

#endif /* !VMLAB_VM_TEST_H */
