/*
 * vmem.h: resource arenas (KVA and other integer ranges), in the manner of
 * FreeBSD's vmem(9) and Bonwick and Adams' 2001 paper.
 *
 * An arena manages integers in units of its quantum (a power of two).
 * It starts with [base, base + size) (size 0: empty) and grows by
 * vmem_add() or by importing spans from a parent through `importfn' (set
 * by vmem_set_import()), which is called with the arena's lock dropped;
 * an imported span whose whole range is free again is given back with
 * `releasefn'.
 *
 * Contract:
 *	- vmem_alloc(size, flags): [*addrp, *addrp + size), size rounded up
 *	  to the quantum, quantum-aligned; 0 or ENOMEM.  Exactly one of
 *	  M_NOWAIT (fail at once) or M_WAITOK (sleep until a free makes
 *	  room; never fails) and at most one fit of M_BESTFIT,
 *	  M_INSTANTFIT (the default), M_FIRSTFIT (lowest address).
 *	- vmem_xalloc(): the same with constraints: *addrp % align == phase
 *	  (align 0: the quantum; a power of two, phase < align), the range
 *	  crosses no multiple of nocross (0: any; else a power of two >=
 *	  size), *addrp >= minaddr and *addrp + size - 1 <= maxaddr
 *	  (VMEM_ADDR_MIN / VMEM_ADDR_MAX: no bound).  vmem_xfree() frees it.
 *	  xalloc never uses the quantum caches.
 *	- vmem_free(addr, size) frees what vmem_alloc() gave with that size.
 *	- A failed call changes nothing (the arena's segments, sizes and
 *	  parent are as before).  The boundary tags an operation may need
 *	  are reserved before it starts (md_malloc, arena lock dropped): a
 *	  failed reservation is ENOMEM, even with M_WAITOK.
 *	- Sizes up to qcache_max (a multiple of the quantum; 0: none) are
 *	  served by per-CPU magazines of quantum caches; vmem_qcache_drain()
 *	  returns what they hold to the arena (IPIs to every CPU: call it
 *	  from a kernel thread while the CPUs run).
 *	- vmem_size(VMEM_ALLOC) counts what callers hold (addresses
 *	  sitting free in quantum caches are not held); VMEM_FREE the rest;
 *	  both: the arena's size.
 *	- vmem_destroy(): no thread may use the arena any more; drains its
 *	  caches directly, gives imported spans back, and asserts (debug)
 *	  that nothing is allocated.  vmem_free_all() first frees whatever
 *	  callers still hold (shutdown of an arena whose users may leak).
 *	- vmem_check() (debug walker): the number of violations, each
 *	  printed once.  Arena quiescent or not: it takes the lock.
 *
 * Locking: one mutex "vmem" per arena (rank 650), a leaf: no call out of
 * vmem (import, release, md_malloc) is made with it held, and no two
 * arenas' locks are ever held together.  The list of arenas is under the
 * mutex "vmem list" (rank 640), taken before any arena's.
 * Call from kernel threads (M_WAITOK sleeps), or before the CPUs start.
 */
#ifndef VMLAB_KERN_VMEM_H
#define VMLAB_KERN_VMEM_H

#include "kern/malloc.h"

#include <stdint.h>

typedef uint64_t vmem_addr_t;
typedef uint64_t vmem_size_t;
typedef struct vmem vmem_t;

typedef int vmem_import_t(
    void *arg, vmem_size_t size, int flags, vmem_addr_t *addrp);
typedef void vmem_release_t(void *arg, vmem_addr_t addr, vmem_size_t size);

#define VMEM_ALLOC 0x1
#define VMEM_FREE 0x2

#define VMEM_ADDR_MIN ((vmem_addr_t)0)
#define VMEM_ADDR_MAX (~(vmem_addr_t)0)

vmem_t *vmem_create(const char *name, vmem_addr_t base, vmem_size_t size,
    vmem_size_t quantum, vmem_size_t qcache_max, int flags);
void vmem_set_import(vmem_t *vm, vmem_import_t *importfn,
    vmem_release_t *releasefn, void *arg, vmem_size_t import_quantum);
int vmem_add(vmem_t *vm, vmem_addr_t addr, vmem_size_t size, int flags);
int vmem_alloc(vmem_t *vm, vmem_size_t size, int flags, vmem_addr_t *addrp);
void vmem_free(vmem_t *vm, vmem_addr_t addr, vmem_size_t size);
int vmem_xalloc(vmem_t *vm, vmem_size_t size, vmem_size_t align,
    vmem_size_t phase, vmem_size_t nocross, vmem_addr_t minaddr,
    vmem_addr_t maxaddr, int flags, vmem_addr_t *addrp);
void vmem_xfree(vmem_t *vm, vmem_addr_t addr, vmem_size_t size);
void vmem_qcache_drain(vmem_t *vm);
vmem_size_t vmem_free_all(vmem_t *vm);
void vmem_destroy(vmem_t *vm);
vmem_size_t vmem_size(vmem_t *vm, int typemask);
int vmem_check(vmem_t *vm);

struct vmem_stats {
	const char *name;
	vmem_size_t size;    /* the arena's spans */
	vmem_size_t inuse;   /* held by callers (qcached excluded) */
	vmem_size_t free;    /* size - inuse */
	vmem_size_t qcached; /* free in quantum caches */
	uint64_t allocs, frees;
	uint64_t qcache_hits, qcache_misses;
	uint64_t imports; /* spans imported */
	uint64_t btags;	  /* boundary tags in use (reserve excluded) */
	uint64_t sleeps;  /* M_WAITOK sleeps */
};
void vmem_stats(vmem_t *vm, struct vmem_stats *st);
/* fn(vm, arg) for every live arena, in creation order; returns the count. */
int vmem_foreach(void (*fn)(vmem_t *, void *), void *arg);

#ifdef VM_INVARIANTS
/* Planted bugs for the tests of vmem_check(). */
#define VMEM_CORRUPT_OVERLAP 1	/* a tag grows over its neighbour */
#define VMEM_CORRUPT_FREELIST 2 /* a free tag on the wrong list */
#define VMEM_CORRUPT_HASH 3	/* an allocated tag leaves the hash */
int vmem_debug_corrupt(vmem_t *vm, int kind);
#endif

/* Boot (kern_boot.c): the rank and the list of arenas. */
int vmem_init(void);
void vmem_fini(void);

#endif /* !VMLAB_KERN_VMEM_H */
