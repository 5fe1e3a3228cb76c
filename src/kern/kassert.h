/*
 * kassert.h: assertions.
 *
 * VM_ASSERT(e, (fmt, ...)) checks `e' in invariant builds (VM_INVARIANTS,
 * on in debug and test builds) and panics with the formatted message,
 * which should name the function and the offending values.  VM_PANIC
 * always panics.  KASSERT is a synonym of VM_ASSERT for kern code.
 */
#ifndef VMLAB_KASSERT_H
#define VMLAB_KASSERT_H

#include "md/md.h"

#define VM_PANIC(...) md_panic(__VA_ARGS__)

#ifdef VM_INVARIANTS
#define VM_ASSERT(e, msg)                                                      \
	do {                                                                   \
		if (__builtin_expect(!(e), 0))                                 \
			VM_PANIC msg;                                          \
	} while (0)
#else
/* sizeof: the expression counts as used but is never evaluated. */
#define VM_ASSERT(e, msg)                                                      \
	do {                                                                   \
		(void)sizeof(e);                                               \
	} while (0)
#endif
#define KASSERT(e, msg) VM_ASSERT(e, msg)

#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#define roundup2(x, y) (((x) + ((y)-1)) & ~((__typeof__(x))(y)-1))
#define howmany(x, y) (((x) + ((y)-1)) / (y))
#define __predict_true(e) __builtin_expect(!!(e), 1)
#define __predict_false(e) __builtin_expect(!!(e), 0)
#define __aligned(n) __attribute__((aligned(n)))
#define __unused __attribute__((unused))

#endif /* !VMLAB_KASSERT_H */
