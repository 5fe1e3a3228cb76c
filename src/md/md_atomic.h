/*
 * md_atomic.h: the project's atomic operations.
 *
 * Code above src/md uses these, never <stdatomic.h> or compiler builtins,
 * so that the sim backend sees every operation on shared memory (each one
 * calls md_sync()).  They are built on the GCC/Clang __atomic builtins,
 * which ThreadSanitizer understands.
 *
 * Names follow one pattern: atomic_<op>[_<order>]_<type>, where type is
 * `int' (uint32_t), `64' (uint64_t) or `ptr' (uintptr_t), and order is
 * `acq' (acquire), `rel' (release) or absent (relaxed for loads, stores and
 * plain read-modify-write; sequentially consistent for cmpset and swap).
 * cmpset returns true when *p held `old' and was replaced by `new';
 * fcmpset also writes the value it found into *oldp on failure.
 */
#ifndef VMLAB_MD_ATOMIC_H
#define VMLAB_MD_ATOMIC_H

#include "md/md.h"

#define MD_RLX __ATOMIC_RELAXED
#define MD_ACQ __ATOMIC_ACQUIRE
#define MD_REL __ATOMIC_RELEASE
#define MD_SEQ __ATOMIC_SEQ_CST

/* 32-bit. */
static inline uint32_t
atomic_load_int(const uint32_t *p)
{
	md_sync(p, MD_SYNC_LOAD);
	return (__atomic_load_n(p, MD_RLX));
}

static inline uint32_t
atomic_load_acq_int(const uint32_t *p)
{
	md_sync(p, MD_SYNC_LOAD);
	return (__atomic_load_n(p, MD_ACQ));
}

static inline void
atomic_store_int(uint32_t *p, uint32_t v)
{
	md_sync(p, MD_SYNC_STORE);
	__atomic_store_n(p, v, MD_RLX);
}

static inline void
atomic_store_rel_int(uint32_t *p, uint32_t v)
{
	md_sync(p, MD_SYNC_STORE);
	__atomic_store_n(p, v, MD_REL);
}

static inline bool
atomic_cmpset_int(uint32_t *p, uint32_t old, uint32_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, &old, new, false, MD_SEQ, MD_RLX));
}

static inline bool
atomic_fcmpset_int(uint32_t *p, uint32_t *oldp, uint32_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, oldp, new, false, MD_SEQ, MD_RLX));
}

static inline uint32_t
atomic_fetchadd_int(uint32_t *p, uint32_t v)
{
	md_sync(p, MD_SYNC_RMW);
	return (__atomic_fetch_add(p, v, MD_SEQ));
}

static inline uint32_t
atomic_swap_int(uint32_t *p, uint32_t v)
{
	md_sync(p, MD_SYNC_RMW);
	return (__atomic_exchange_n(p, v, MD_SEQ));
}

static inline void
atomic_set_int(uint32_t *p, uint32_t bits)
{
	md_sync(p, MD_SYNC_RMW);
	__atomic_fetch_or(p, bits, MD_SEQ);
}

static inline void
atomic_clear_int(uint32_t *p, uint32_t bits)
{
	md_sync(p, MD_SYNC_RMW);
	__atomic_fetch_and(p, ~bits, MD_SEQ);
}

/* 64-bit. */
static inline uint64_t
atomic_load_64(const uint64_t *p)
{
	md_sync(p, MD_SYNC_LOAD);
	return (__atomic_load_n(p, MD_RLX));
}

static inline uint64_t
atomic_load_acq_64(const uint64_t *p)
{
	md_sync(p, MD_SYNC_LOAD);
	return (__atomic_load_n(p, MD_ACQ));
}

static inline void
atomic_store_64(uint64_t *p, uint64_t v)
{
	md_sync(p, MD_SYNC_STORE);
	__atomic_store_n(p, v, MD_RLX);
}

static inline void
atomic_store_rel_64(uint64_t *p, uint64_t v)
{
	md_sync(p, MD_SYNC_STORE);
	__atomic_store_n(p, v, MD_REL);
}

static inline bool
atomic_cmpset_64(uint64_t *p, uint64_t old, uint64_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, &old, new, false, MD_SEQ, MD_RLX));
}

static inline bool
atomic_fcmpset_64(uint64_t *p, uint64_t *oldp, uint64_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, oldp, new, false, MD_SEQ, MD_RLX));
}

static inline uint64_t
atomic_fetchadd_64(uint64_t *p, uint64_t v)
{
	md_sync(p, MD_SYNC_RMW);
	return (__atomic_fetch_add(p, v, MD_SEQ));
}

static inline void
atomic_add_64(uint64_t *p, uint64_t v)
{
	md_sync(p, MD_SYNC_RMW);
	__atomic_fetch_add(p, v, MD_RLX);
}

/* Raises *p to v if v is larger (statistics maxima). */
static inline void
atomic_max_64(uint64_t *p, uint64_t v)
{
	uint64_t cur;

	md_sync(p, MD_SYNC_RMW);
	cur = __atomic_load_n(p, MD_RLX);
	while (cur < v &&
	    !__atomic_compare_exchange_n(p, &cur, v, false, MD_RLX, MD_RLX))
		;
}

/* Pointer-sized. */
static inline uintptr_t
atomic_load_ptr(const uintptr_t *p)
{
	md_sync(p, MD_SYNC_LOAD);
	return (__atomic_load_n(p, MD_RLX));
}

static inline uintptr_t
atomic_load_acq_ptr(const uintptr_t *p)
{
	md_sync(p, MD_SYNC_LOAD);
	return (__atomic_load_n(p, MD_ACQ));
}

static inline void
atomic_store_ptr(uintptr_t *p, uintptr_t v)
{
	md_sync(p, MD_SYNC_STORE);
	__atomic_store_n(p, v, MD_RLX);
}

static inline void
atomic_store_rel_ptr(uintptr_t *p, uintptr_t v)
{
	md_sync(p, MD_SYNC_STORE);
	__atomic_store_n(p, v, MD_REL);
}

static inline bool
atomic_cmpset_acq_ptr(uintptr_t *p, uintptr_t old, uintptr_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, &old, new, false, MD_ACQ, MD_RLX));
}

static inline bool
atomic_cmpset_rel_ptr(uintptr_t *p, uintptr_t old, uintptr_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, &old, new, false, MD_REL, MD_RLX));
}

static inline bool
atomic_fcmpset_acq_ptr(uintptr_t *p, uintptr_t *oldp, uintptr_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, oldp, new, false, MD_ACQ, MD_RLX));
}

static inline bool
atomic_fcmpset_rel_ptr(uintptr_t *p, uintptr_t *oldp, uintptr_t new)
{
	md_sync(p, MD_SYNC_RMW);
	return (
	    __atomic_compare_exchange_n(p, oldp, new, false, MD_REL, MD_RLX));
}

static inline uintptr_t
atomic_swap_ptr(uintptr_t *p, uintptr_t v)
{
	md_sync(p, MD_SYNC_RMW);
	return (__atomic_exchange_n(p, v, MD_SEQ));
}

/*
 * Loads in a given sync mode, for hot walks of dependent loads.  Each
 * atomic above tests the machine's sync mode; in a walk whose loads
 * mostly miss the caches, those tests (and the registers a possible call
 * ties up) lengthen every step, so the core holds fewer of the next
 * walks' loads in flight: a lockless trie lookup at random keys ran about
 * 1.4x slower than the same walk with plain loads (bench/radix.c), and so
 * did the plain walk padded with as many ALU instructions as the tests.
 * Such a walk tests the mode once and passes it to these loads, in a
 * static inline body called with each constant mode:
 *	if (md_sync_mode() == MD_SYNC_MODE_CALL)
 *		return (walk(..., MD_SYNC_MODE_CALL));
 *	return (walk(..., MD_SYNC_MODE_NONE));
 * A constant mode folds the test: the host's walk is its plain loads
 * (acquire is a plain load on x86), and the sim's calls the backend
 * before each load, as the loads above do.  Correctness is only provided
 * if the mode passed is md_sync_mode()'s (invariant builds check it).
 */
static inline uintptr_t
atomic_load_acq_ptr_m(const uintptr_t *p, enum md_sync_mode mode)
{
	md_sync_m(p, MD_SYNC_LOAD, mode);
	return (__atomic_load_n(p, MD_ACQ));
}

static inline uint64_t
atomic_load_64_m(const uint64_t *p, enum md_sync_mode mode)
{
	md_sync_m(p, MD_SYNC_LOAD, mode);
	return (__atomic_load_n(p, MD_RLX));
}

/*
 * Fences.  ThreadSanitizer does not model fences (gcc rejects them under
 * -fsanitize=thread), so TSan builds use a sequentially consistent
 * read-modify-write of a global word instead: as strong on the hardware,
 * and understood by TSan as synchronisation.
 */
#ifdef VMLAB_TSAN
extern uint64_t md_fence_word;
#define MD_FENCE(order) ((void)__atomic_fetch_add(&md_fence_word, 0, MD_SEQ))
#else
#define MD_FENCE(order) __atomic_thread_fence(order)
#endif

static inline void
atomic_thread_fence_acq(void)
{
	md_sync(NULL, MD_SYNC_FENCE);
	MD_FENCE(MD_ACQ);
}

static inline void
atomic_thread_fence_rel(void)
{
	md_sync(NULL, MD_SYNC_FENCE);
	MD_FENCE(MD_REL);
}

static inline void
atomic_thread_fence_seq_cst(void)
{
	md_sync(NULL, MD_SYNC_FENCE);
	MD_FENCE(MD_SEQ);
}

/*
 * Per-CPU data: plain relaxed accesses to words that only their own CPU
 * writes and other CPUs may read (counters, statistics).  They never move
 * a cache line between CPUs on the write side, so the sim charges the
 * update (MD_SYNC_LOCAL) but never switches CPUs there; loads are free.
 */
static inline uint32_t
pcpu_load_32(const uint32_t *p)
{
	return (__atomic_load_n(p, MD_RLX));
}

static inline void
pcpu_store_32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, MD_RLX);
}

static inline uint64_t
pcpu_load_64(const uint64_t *p)
{
	return (__atomic_load_n(p, MD_RLX));
}

static inline void
pcpu_store_64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, MD_RLX);
}

static inline void
pcpu_add_64(uint64_t *p, uint64_t v)
{
	/*
	 * Load and store, not an atomic add: only this CPU writes *p and a
	 * kernel thread is not preempted between the two.
	 */
	md_sync(p, MD_SYNC_LOCAL);
	__atomic_store_n(p, __atomic_load_n(p, MD_RLX) + v, MD_RLX);
}

#endif /* !VMLAB_MD_ATOMIC_H */
