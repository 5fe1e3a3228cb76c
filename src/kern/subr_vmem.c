/*
 * subr_vmem.c: resource arenas (vmem.h).
 *
 * Memory layout.  Every range the arena knows is described by boundary
 * tags (struct vmem_btag) on one list in address order (vm_seg, a
 * circular list through a sentinel).  A span tag (BT_SPAN_STATIC: from
 * vmem_create/vmem_add; BT_SPAN: imported, given back when wholly free)
 * opens each span and is followed by the segments that tile it: free
 * (BT_FREE) or allocated (BT_BUSY).  Free segments are also on one of
 * VMEM_NFREELIST lists, list i holding the sizes [2^i, 2^(i+1)) quanta;
 * allocated ones are in a hash table keyed by address.  The tags an
 * operation may need come from a per-arena reserve refilled before the
 * search (md_malloc with the lock dropped), so nothing fails halfway.
 *
 * Invariants (vmem_check()):
 *	1. the tags are in address order; a span's segments start at its
 *	   start, each where the previous one ends, and end at its end;
 *	2. no two free segments are neighbours (a free coalesces);
 *	3. a free segment is on list fls(size / quantum) - 1, nothing else
 *	   is on a free list;
 *	4. every allocated segment is in the hash, in its bucket, and
 *	   nothing else is;
 *	5. vm_size = sum of span sizes, vm_inuse = sum of allocated sizes,
 *	   vm_nbusy = allocated segments, vm_nbtags = tags on the list.
 *
 * Quantum caches.  Size k * quantum (k = 1 .. nqcache) has per-CPU
 * magazines (a loaded and a previous one, Bonwick's design) of up to
 * VMEM_MAG_ROUNDS free addresses, which only their CPU touches (the
 * kernel is non-preemptive and IPIs arrive only at spins and switches,
 * never inside the fast path), and a depot of full and empty magazines
 * under the arena lock.  The previous magazine is always full or empty.
 * Addresses in magazines are allocated in the arena's view (vm_inuse)
 * and subtracted from vmem_size(VMEM_ALLOC):
 *	allocated to callers = vm_inuse - vm_depot_bytes - sum pc_qcached.
 *
 * Locking key: (c) constant after create (set_import: before use);
 * (v) the arena lock vm_lock; (x) the CPU's own (others read the
 * counters with atomic loads); (l) vmem_list_lock.
 */
#include "kern/kassert.h"
#include "kern/mutex.h"
#include "kern/queue.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern/vmem.h"
#include "md/md_atomic.h"

#include <errno.h>
#include <string.h>

#define VMEM_NFREELIST 64
#define VMEM_MAG_ROUNDS 15
#define VMEM_BT_MAXALLOC 4 /* span + free + two split-offs */
#define VMEM_BT_RESERVE_MAX 16
#define VMEM_HASH_MIN 16
#define VMEM_QCACHE_MAX 64

#define BT_SENTINEL 0
#define BT_SPAN_STATIC 1
#define BT_SPAN 2
#define BT_FREE 3
#define BT_BUSY 4

struct vmem_btag {
	struct vmem_btag *bt_prev, *bt_next; /* (v) address order */
	LIST_ENTRY(vmem_btag) bt_link; /* (v) free list, hash or reserve */
	vmem_addr_t bt_start;	       /* (v) */
	vmem_size_t bt_size;	       /* (v) */
	int bt_type;		       /* (v) BT_* */
};
LIST_HEAD(vmem_btlist, vmem_btag);

struct vmem_mag {
	struct vmem_mag *mg_next; /* depot or drain list */
	int mg_n;		  /* rounds held */
	vmem_addr_t mg_rounds[VMEM_MAG_ROUNDS];
};

struct vmem_qcache {
	struct vmem_mag *qc_loaded; /* (x) */
	struct vmem_mag *qc_prev;   /* (x) full or empty */
};

struct vmem_depot {
	struct vmem_mag *dp_full;  /* (v) */
	struct vmem_mag *dp_empty; /* (v) */
};

struct vmem_pcpu {
	_Alignas(MD_CACHE_LINE) uint64_t pc_qcached; /* (x) bytes cached */
	uint64_t pc_allocs;			     /* (x) served by cache */
	uint64_t pc_frees;			     /* (x) taken by cache */
	uint64_t pc_hits;			     /* (x) */
};

struct vmem {
	struct mtx vm_lock;
	char vm_name[32];	       /* (c) */
	vmem_size_t vm_quantum;	       /* (c) */
	int vm_qshift;		       /* (c) log2(quantum) */
	int vm_nqcache;		       /* (c) cached size classes */
	int vm_ncpus;		       /* (c) */
	vmem_import_t *vm_importfn;    /* (c) */
	vmem_release_t *vm_releasefn;  /* (c) */
	void *vm_arg;		       /* (c) */
	vmem_size_t vm_import_quantum; /* (c) */
	struct vmem_btag vm_seg;       /* (v) sentinel of the tag list */
	struct vmem_btlist vm_freelist[VMEM_NFREELIST]; /* (v) */
	struct vmem_btlist *vm_hash;			/* (v) */
	uint64_t vm_hashmask;				/* (v) */
	struct vmem_btlist vm_reserve;			/* (v) */
	int vm_nreserve;				/* (v) */
	vmem_size_t vm_size;				/* (v) */
	vmem_size_t vm_inuse;				/* (v) */
	uint64_t vm_nbusy;				/* (v) */
	uint64_t vm_nbtags;				/* (v) */
	uint64_t vm_allocs, vm_frees;			/* (v) */
	uint64_t vm_qmisses, vm_imports, vm_sleeps;	/* (v) */
	uint32_t vm_waiters;				/* (v) */
	vmem_size_t vm_depot_bytes;			/* (v) */
	struct vmem_depot *vm_depot;			/* (v) [nqcache] */
	struct vmem_qcache *vm_qcache; /* (x) [ncpus][nqcache] */
	struct vmem_pcpu *vm_pcpu;     /* (x) [ncpus] */
	TAILQ_ENTRY(vmem) vm_alllist;  /* (l) */
#ifdef VM_INVARIANTS
	int vm_corrupt;			 /* (v) planted bug, 0: none */
	struct vmem_btag *vm_corrupt_bt; /* (v) its tag */
#endif
};

TAILQ_HEAD(vmem_list, vmem);
static struct vmem_list vmem_list; /* (l) */
static struct mtx vmem_list_lock;

/*
 * Before the CPUs start and after they stop (boot steps and their finis:
 * kern/boot.h) one external thread runs alone and takes no sleep lock:
 * an arena made or destroyed then (the kernel arena) is used unlocked,
 * without quantum caches (there is no current CPU) and without sleeps.
 */
#define VMEM_ALONE() (curthread == NULL)
#define VMEM_LOCK(vm)                                                          \
	do {                                                                   \
		if (!VMEM_ALONE())                                             \
			mtx_lock(&(vm)->vm_lock);                              \
	} while (0)
#define VMEM_UNLOCK(vm)                                                        \
	do {                                                                   \
		if (!VMEM_ALONE())                                             \
			mtx_unlock(&(vm)->vm_lock);                            \
	} while (0)
#define VMEM_ASSERT_LOCKED(vm)                                                 \
	VM_ASSERT(VMEM_ALONE() || mtx_owned(&(vm)->vm_lock),                   \
	    ("%s: arena %s not locked", __func__, (vm)->vm_name))
#define VMEM_LIST_LOCK()                                                       \
	do {                                                                   \
		if (!VMEM_ALONE())                                             \
			mtx_lock(&vmem_list_lock);                             \
	} while (0)
#define VMEM_LIST_UNLOCK()                                                     \
	do {                                                                   \
		if (!VMEM_ALONE())                                             \
			mtx_unlock(&vmem_list_lock);                           \
	} while (0)

/* A span to give back to the parent once the lock is dropped. */
struct vmem_release {
	vmem_addr_t rl_addr;
	vmem_size_t rl_size;
};

static int
vmem_fls(uint64_t x)
{
	return (63 - __builtin_clzll(x));
}

static vmem_addr_t
vmem_last(const struct vmem_btag *bt)
{
	return (bt->bt_start + bt->bt_size - 1);
}

/* The free list of a segment of `size' bytes (its floor class). */
static int
vmem_freelist_idx(const vmem_t *vm, vmem_size_t size)
{
	return (vmem_fls(size >> vm->vm_qshift));
}

/*
 * Per-CPU counters: only their CPU writes them (a relaxed load and
 * store, no RMW needed); readers load them atomically.
 */
static void
vmem_pcpu_add(uint64_t *p, int64_t v)
{
	atomic_store_64(p, atomic_load_64(p) + (uint64_t)v);
}

/*
 * Tags.
 */
static struct vmem_btag *
vmem_bt_get(vmem_t *vm)
{
	struct vmem_btag *bt = LIST_FIRST(&vm->vm_reserve);

	VMEM_ASSERT_LOCKED(vm);
	VM_ASSERT(
	    bt != NULL, ("%s: %s: tag reserve empty", __func__, vm->vm_name));
	LIST_REMOVE(bt, bt_link);
	vm->vm_nreserve--;
	vm->vm_nbtags++;
	return (bt);
}

static void
vmem_bt_put(vmem_t *vm, struct vmem_btag *bt)
{
	LIST_INSERT_HEAD(&vm->vm_reserve, bt, bt_link);
	vm->vm_nreserve++;
	vm->vm_nbtags--;
}

/*
 * Fills the reserve to VMEM_BT_MAXALLOC tags, dropping the lock around
 * each md_malloc (so the caller must look at the arena again after).
 * ENOMEM if md_malloc fails (the reserve keeps what it got).
 */
static int
vmem_bt_reserve(vmem_t *vm)
{
	struct vmem_btag *bt;

	VMEM_ASSERT_LOCKED(vm);
	while (vm->vm_nreserve < VMEM_BT_MAXALLOC) {
		VMEM_UNLOCK(vm);
		bt = md_malloc(sizeof(*bt));
		VMEM_LOCK(vm);
		if (bt == NULL)
			return (ENOMEM);
		LIST_INSERT_HEAD(&vm->vm_reserve, bt, bt_link);
		vm->vm_nreserve++;
	}
	return (0);
}

/*
 * Takes the reserve's excess (above VMEM_BT_RESERVE_MAX) onto `excess',
 * for the caller to md_free after unlocking.
 */
static void
vmem_bt_trim(vmem_t *vm, struct vmem_btlist *excess)
{
	struct vmem_btag *bt;

	while (vm->vm_nreserve > VMEM_BT_RESERVE_MAX) {
		bt = LIST_FIRST(&vm->vm_reserve);
		LIST_REMOVE(bt, bt_link);
		vm->vm_nreserve--;
		LIST_INSERT_HEAD(excess, bt, bt_link);
	}
}

static void
vmem_bt_free_list(struct vmem_btlist *l)
{
	struct vmem_btag *bt;

	while ((bt = LIST_FIRST(l)) != NULL) {
		LIST_REMOVE(bt, bt_link);
		md_free(bt);
	}
}

static void
vmem_seg_insert_after(struct vmem_btag *prev, struct vmem_btag *bt)
{
	bt->bt_prev = prev;
	bt->bt_next = prev->bt_next;
	prev->bt_next->bt_prev = bt;
	prev->bt_next = bt;
}

static void
vmem_seg_remove(struct vmem_btag *bt)
{
	bt->bt_prev->bt_next = bt->bt_next;
	bt->bt_next->bt_prev = bt->bt_prev;
}

static void
vmem_freelist_insert(vmem_t *vm, struct vmem_btag *bt)
{
	bt->bt_type = BT_FREE;
	LIST_INSERT_HEAD(
	    &vm->vm_freelist[vmem_freelist_idx(vm, bt->bt_size)], bt, bt_link);
}

/*
 * The hash of allocated segments.
 */
static struct vmem_btlist *
vmem_hash_bucket(vmem_t *vm, vmem_addr_t addr)
{
	uint64_t h = (addr >> vm->vm_qshift) * 0x9e3779b97f4a7c15ull;

	return (&vm->vm_hash[(h >> 29) & vm->vm_hashmask]);
}

static struct vmem_btag *
vmem_hash_lookup(vmem_t *vm, vmem_addr_t addr)
{
	struct vmem_btag *bt;

	LIST_FOREACH (bt, vmem_hash_bucket(vm, addr), bt_link)
		if (bt->bt_start == addr)
			return (bt);
	return (NULL);
}

/* True if the hash is loaded enough to grow (lock held to ask). */
static bool
vmem_hash_loaded(vmem_t *vm)
{
	return (vm->vm_nbusy > 2 * (vm->vm_hashmask + 1));
}

/*
 * Grows the hash 4x: the table is allocated with the lock dropped, and
 * installed unless another thread grew it meanwhile.  Failure to
 * allocate only leaves the chains longer.  Arena unlocked.
 */
static void
vmem_hash_grow(vmem_t *vm)
{
	struct vmem_btlist *nh, *oh;
	struct vmem_btag *bt;
	uint64_t n, i, omask;

	VMEM_LOCK(vm);
	n = (vm->vm_hashmask + 1) * 4;
	VMEM_UNLOCK(vm);
	if ((nh = md_calloc(n, sizeof(*nh))) == NULL)
		return;
	VMEM_LOCK(vm);
	if (vm->vm_hashmask + 1 >= n || !vmem_hash_loaded(vm)) {
		VMEM_UNLOCK(vm);
		md_free(nh);
		return;
	}
	oh = vm->vm_hash;
	omask = vm->vm_hashmask;
	vm->vm_hash = nh;
	vm->vm_hashmask = n - 1;
	for (i = 0; i <= omask; i++)
		while ((bt = LIST_FIRST(&oh[i])) != NULL) {
			LIST_REMOVE(bt, bt_link);
			LIST_INSERT_HEAD(
			    vmem_hash_bucket(vm, bt->bt_start), bt, bt_link);
		}
	VMEM_UNLOCK(vm);
	md_free(oh);
}

/*
 * Fitting.  vmem_fit(): the lowest address in the free segment bt for
 * the constraints, or false.  `last' bounds are inclusive, so the top of
 * the address space never overflows.
 */
struct vmem_req {
	vmem_size_t rq_size, rq_align, rq_phase, rq_nocross;
	vmem_addr_t rq_min, rq_max;
};

/* The least a >= x with a % align == phase; false on overflow. */
static bool
vmem_align_up(
    vmem_addr_t x, vmem_size_t align, vmem_size_t phase, vmem_addr_t *ap)
{
	vmem_addr_t a;

	if (x <= phase) {
		*ap = phase;
		return (true);
	}
	a = roundup2(x - phase, align) + phase;
	if (a < x)
		return (false);
	*ap = a;
	return (true);
}

static bool
vmem_fit(
    const struct vmem_btag *bt, const struct vmem_req *rq, vmem_addr_t *addrp)
{
	vmem_addr_t start, last, a;

	if (bt->bt_size < rq->rq_size)
		return (false);
	start = bt->bt_start > rq->rq_min ? bt->bt_start : rq->rq_min;
	last = vmem_last(bt) < rq->rq_max ? vmem_last(bt) : rq->rq_max;
	if (start > last ||
	    !vmem_align_up(start, rq->rq_align, rq->rq_phase, &a))
		return (false);
	if (rq->rq_nocross != 0 &&
	    ((a ^ (a + rq->rq_size - 1)) & ~(rq->rq_nocross - 1)) != 0) {
		if ((a | (rq->rq_nocross - 1)) == VMEM_ADDR_MAX ||
		    !vmem_align_up((a | (rq->rq_nocross - 1)) + 1, rq->rq_align,
			rq->rq_phase, &a))
			return (false);
		if (((a ^ (a + rq->rq_size - 1)) & ~(rq->rq_nocross - 1)) != 0)
			return (false);
	}
	if (a > last || last - a < rq->rq_size - 1)
		return (false);
	*addrp = a;
	return (true);
}

/* Scans free list i; best: the smallest fit, else the first. */
static struct vmem_btag *
vmem_scan_list(
    vmem_t *vm, int i, const struct vmem_req *rq, bool best, vmem_addr_t *addrp)
{
	struct vmem_btag *bt, *found = NULL;
	vmem_addr_t a;

	LIST_FOREACH (bt, &vm->vm_freelist[i], bt_link) {
		if (!vmem_fit(bt, rq, &a))
			continue;
		if (found == NULL || bt->bt_size < found->bt_size) {
			found = bt;
			*addrp = a;
			if (!best)
				break;
		}
	}
	return (found);
}

/*
 * The free segment for rq per the fit strategy in `flags', and in *addrp
 * the address within it; NULL if none fits.
 *	instant: the first fitting tag of the first list whose sizes all
 *	  exceed the request (its ceiling class), then the lists above,
 *	  then the floor class;
 *	best: from the floor class up, the smallest fit of the first list
 *	  holding any (later lists hold only larger segments);
 *	first: the lowest-addressed fit.
 */
static struct vmem_btag *
vmem_find(vmem_t *vm, const struct vmem_req *rq, int flags, vmem_addr_t *addrp)
{
	struct vmem_btag *bt;
	vmem_size_t n = rq->rq_size >> vm->vm_qshift;
	int floor = vmem_fls(n), ceil = floor + ((n & (n - 1)) != 0), i;

	switch (flags & M_FITMASK) {
	case M_FIRSTFIT:
		for (bt = vm->vm_seg.bt_next; bt != &vm->vm_seg;
		     bt = bt->bt_next)
			if (bt->bt_type == BT_FREE && vmem_fit(bt, rq, addrp))
				return (bt);
		return (NULL);
	case M_BESTFIT:
		for (i = floor; i < VMEM_NFREELIST; i++)
			if ((bt = vmem_scan_list(vm, i, rq, true, addrp)) !=
			    NULL)
				return (bt);
		return (NULL);
	default:
		for (i = ceil; i < VMEM_NFREELIST; i++)
			if ((bt = vmem_scan_list(vm, i, rq, false, addrp)) !=
			    NULL)
				return (bt);
		if (ceil != floor)
			return (vmem_scan_list(vm, floor, rq, false, addrp));
		return (NULL);
	}
}

/*
 * Allocates [a, a + size) of the free segment bt: the parts before and
 * after become free segments of their own (two reserve tags at most).
 */
static void
vmem_split(vmem_t *vm, struct vmem_btag *bt, vmem_addr_t a, vmem_size_t size)
{
	struct vmem_btag *nb;

	LIST_REMOVE(bt, bt_link);
	if (a > bt->bt_start) {
		nb = vmem_bt_get(vm);
		nb->bt_start = bt->bt_start;
		nb->bt_size = a - bt->bt_start;
		vmem_seg_insert_after(bt->bt_prev, nb);
		vmem_freelist_insert(vm, nb);
		bt->bt_start = a;
		bt->bt_size -= nb->bt_size;
	}
	if (bt->bt_size > size) {
		nb = vmem_bt_get(vm);
		nb->bt_start = a + size;
		nb->bt_size = bt->bt_size - size;
		vmem_seg_insert_after(bt, nb);
		vmem_freelist_insert(vm, nb);
		bt->bt_size = size;
	}
	bt->bt_type = BT_BUSY;
	LIST_INSERT_HEAD(vmem_hash_bucket(vm, a), bt, bt_link);
	vm->vm_inuse += size;
	vm->vm_nbusy++;
}

/*
 * Adds the span [addr, addr + size) (two reserve tags): EINVAL if it
 * overlaps a span of the arena.
 */
static int
vmem_add_locked(vmem_t *vm, vmem_addr_t addr, vmem_size_t size, int type)
{
	struct vmem_btag *bt, *prev = &vm->vm_seg, *span, *seg;
	vmem_addr_t last = addr + size - 1;

	VMEM_ASSERT_LOCKED(vm);
	/* prev: the last tag of the spans below addr. */
	for (bt = vm->vm_seg.bt_next; bt != &vm->vm_seg; bt = bt->bt_next) {
		if (bt->bt_type != BT_SPAN && bt->bt_type != BT_SPAN_STATIC)
			continue;
		if (bt->bt_start > last)
			break;
		if (vmem_last(bt) >= addr)
			return (EINVAL);
	}
	prev = bt->bt_prev;
	span = vmem_bt_get(vm);
	span->bt_start = addr;
	span->bt_size = size;
	span->bt_type = type;
	vmem_seg_insert_after(prev, span);
	seg = vmem_bt_get(vm);
	seg->bt_start = addr;
	seg->bt_size = size;
	vmem_seg_insert_after(span, seg);
	vmem_freelist_insert(vm, seg);
	vm->vm_size += size;
	if (vm->vm_waiters > 0)
		wakeup(vm);
	return (0);
}

/*
 * Frees the allocated segment at addr, coalescing it with free
 * neighbours.  Returns true with *rl set when it leaves an imported span
 * wholly free: that span is gone from the arena, and the caller gives it
 * back to the parent after unlocking.  Never needs a tag.
 */
static bool
vmem_free_locked(
    vmem_t *vm, vmem_addr_t addr, vmem_size_t size, struct vmem_release *rl)
{
	struct vmem_btag *bt, *nb;

	VMEM_ASSERT_LOCKED(vm);
	bt = vmem_hash_lookup(vm, addr);
	if (bt == NULL || bt->bt_size != size)
		VM_PANIC("vmem_free: %s: [%#llx, +%#llx) not allocated%s",
		    vm->vm_name, (unsigned long long)addr,
		    (unsigned long long)size,
		    bt != NULL ? " with that size" : "");
	LIST_REMOVE(bt, bt_link);
	vm->vm_inuse -= size;
	vm->vm_nbusy--;
	bt->bt_type = BT_FREE;
	if ((nb = bt->bt_prev)->bt_type == BT_FREE) {
		LIST_REMOVE(nb, bt_link);
		vmem_seg_remove(nb);
		bt->bt_start = nb->bt_start;
		bt->bt_size += nb->bt_size;
		vmem_bt_put(vm, nb);
	}
	if ((nb = bt->bt_next)->bt_type == BT_FREE) {
		LIST_REMOVE(nb, bt_link);
		vmem_seg_remove(nb);
		bt->bt_size += nb->bt_size;
		vmem_bt_put(vm, nb);
	}
	if (vm->vm_waiters > 0)
		wakeup(vm);
	nb = bt->bt_prev;
	if (nb->bt_type == BT_SPAN && nb->bt_start == bt->bt_start &&
	    nb->bt_size == bt->bt_size && vm->vm_releasefn != NULL) {
		vmem_seg_remove(bt);
		vmem_seg_remove(nb);
		vmem_bt_put(vm, bt);
		vmem_bt_put(vm, nb);
		vm->vm_size -= nb->bt_size;
		rl->rl_addr = nb->bt_start;
		rl->rl_size = nb->bt_size;
		return (true);
	}
	vmem_freelist_insert(vm, bt);
	return (false);
}

/*
 * Imports a span for rq from the parent (lock dropped around the call):
 * enough for the request at any alignment, rounded to the import
 * quantum.  0, or ENOMEM with nothing changed.
 */
static int
vmem_import(vmem_t *vm, const struct vmem_req *rq, int flags)
{
	vmem_size_t size = rq->rq_size;
	vmem_addr_t addr;
	int error;

	if (rq->rq_align > vm->vm_quantum)
		size += rq->rq_align - vm->vm_quantum;
	size = roundup2(size, vm->vm_import_quantum);
	VMEM_UNLOCK(vm);
	error = vm->vm_importfn(vm->vm_arg, size, flags & ~M_WAITOK, &addr);
	VMEM_LOCK(vm);
	if (error != 0)
		return (ENOMEM);
	/* The reserve may have been used while the lock was dropped. */
	if (vmem_bt_reserve(vm) != 0 ||
	    vmem_add_locked(vm, addr, size, BT_SPAN) != 0) {
		VMEM_UNLOCK(vm);
		vm->vm_releasefn(vm->vm_arg, addr, size);
		VMEM_LOCK(vm);
		return (ENOMEM);
	}
	vm->vm_imports++;
	return (0);
}

static bool
vmem_depot_has_full(vmem_t *vm)
{
	int cls;

	for (cls = 0; cls < vm->vm_nqcache; cls++)
		if (vm->vm_depot[cls].dp_full != NULL)
			return (true);
	return (false);
}

static void vmem_depot_drain(vmem_t *vm);

/*
 * The allocation loop, entered and left locked (the lock is dropped to
 * refill tags, import and sleep):
 *	1. reserve the tags (ENOMEM if md_malloc fails);
 *	2. find a fit; split it: done;
 *	3. import a span, then go back to 1;
 *	4. M_NOWAIT: ENOMEM; M_WAITOK: sleep until a free, then go to 1.
 */
static int
vmem_xalloc_locked(
    vmem_t *vm, const struct vmem_req *rq, int flags, vmem_addr_t *addrp)
{
	struct vmem_btag *bt;
	vmem_addr_t a;
	int error;

	VMEM_ASSERT_LOCKED(vm);
	for (;;) {
		if ((error = vmem_bt_reserve(vm)) != 0)
			return (error);
		if ((bt = vmem_find(vm, rq, flags, &a)) != NULL) {
			vmem_split(vm, bt, a, rq->rq_size);
			vm->vm_allocs++;
			*addrp = a;
			return (0);
		}
		if (vm->vm_importfn != NULL && vmem_import(vm, rq, flags) == 0)
			continue;
		if ((flags & M_WAITOK) == 0 || VMEM_ALONE())
			return (ENOMEM);
		/*
		 * Before sleeping, the depot's full magazines go back to the
		 * arena (the per-CPU ones only their CPUs may touch).
		 */
		if (vmem_depot_has_full(vm)) {
			vmem_depot_drain(vm);
			continue;
		}
		vm->vm_sleeps++;
		vm->vm_waiters++;
		(void)msleep(vm, &vm->vm_lock.lock_object, 0, "vmem", 0);
		vm->vm_waiters--;
	}
}

/* Gives back an emptied imported span.  Arena unlocked. */
static void
vmem_release(vmem_t *vm, const struct vmem_release *rl)
{
	vm->vm_releasefn(vm->vm_arg, rl->rl_addr, rl->rl_size);
}

/*
 * Unlocks, then does what waited for the lock to be dropped: md_free of
 * the reserve's excess, a hash that needs to grow.
 */
static void
vmem_unlock_trim(vmem_t *vm)
{
	struct vmem_btlist excess;
	bool grow;

	LIST_INIT(&excess);
	vmem_bt_trim(vm, &excess);
	grow = vmem_hash_loaded(vm);
	VMEM_UNLOCK(vm);
	vmem_bt_free_list(&excess);
	if (grow)
		vmem_hash_grow(vm);
}

/*
 * Quantum caches.
 */
static struct vmem_qcache *
vmem_qc(vmem_t *vm, int cpu, int cls)
{
	return (&vm->vm_qcache[cpu * vm->vm_nqcache + cls]);
}

static bool
vmem_qc_pop(struct vmem_qcache *qc, vmem_addr_t *addrp)
{
	struct vmem_mag *mg;

	if (qc->qc_loaded == NULL)
		return (false);
	if (qc->qc_loaded->mg_n == 0) {
		if (qc->qc_prev == NULL || qc->qc_prev->mg_n == 0)
			return (false);
		mg = qc->qc_prev;
		qc->qc_prev = qc->qc_loaded;
		qc->qc_loaded = mg;
	}
	mg = qc->qc_loaded;
	*addrp = mg->mg_rounds[--mg->mg_n];
	return (true);
}

static bool
vmem_qc_push(struct vmem_qcache *qc, vmem_addr_t addr)
{
	struct vmem_mag *mg;

	if (qc->qc_loaded == NULL)
		return (false);
	if (qc->qc_loaded->mg_n == VMEM_MAG_ROUNDS) {
		if (qc->qc_prev == NULL || qc->qc_prev->mg_n != 0)
			return (false);
		mg = qc->qc_prev;
		qc->qc_prev = qc->qc_loaded;
		qc->qc_loaded = mg;
	}
	mg = qc->qc_loaded;
	mg->mg_rounds[mg->mg_n++] = addr;
	return (true);
}

/*
 * Allocation of class cls (size (cls + 1) quanta) through the caches:
 *	1. this CPU's magazines (no lock);
 *	2. under the lock (on whatever CPU the thread is now): the
 *	   magazines again, else a full magazine from the depot (the empty
 *	   previous one goes to the depot);
 *	3. else the arena itself (a miss).
 */
static int
vmem_qc_alloc(vmem_t *vm, int cls, int flags, vmem_addr_t *addrp)
{
	vmem_size_t size = (vmem_size_t)(cls + 1) << vm->vm_qshift;
	struct vmem_req rq = { size, vm->vm_quantum, 0, 0, VMEM_ADDR_MIN,
		VMEM_ADDR_MAX };
	struct vmem_depot *dp = &vm->vm_depot[cls];
	struct vmem_qcache *qc;
	struct vmem_pcpu *pc;
	struct vmem_mag *mg;
	int cpu = curcpu, error = 0;

	qc = vmem_qc(vm, cpu, cls);
	if (vmem_qc_pop(qc, addrp))
		goto hit;
	VMEM_LOCK(vm);
	/* The lock may have slept: the thread may be on another CPU. */
	cpu = curcpu;
	qc = vmem_qc(vm, cpu, cls);
	if (!vmem_qc_pop(qc, addrp)) {
		if ((mg = dp->dp_full) != NULL) {
			dp->dp_full = mg->mg_next;
			vm->vm_depot_bytes -= (vmem_size_t)mg->mg_n * size;
			if (qc->qc_prev != NULL) {
				qc->qc_prev->mg_next = dp->dp_empty;
				dp->dp_empty = qc->qc_prev;
			}
			qc->qc_prev = qc->qc_loaded;
			qc->qc_loaded = mg;
			vmem_pcpu_add(&vm->vm_pcpu[cpu].pc_qcached,
			    (int64_t)mg->mg_n * (int64_t)size);
			(void)vmem_qc_pop(qc, addrp);
		} else {
			vm->vm_qmisses++;
			error = vmem_xalloc_locked(vm, &rq, flags, addrp);
			vmem_unlock_trim(vm);
			return (error);
		}
	}
	VMEM_UNLOCK(vm);
hit:
	pc = &vm->vm_pcpu[cpu];
	vmem_pcpu_add(&pc->pc_qcached, -(int64_t)size);
	vmem_pcpu_add(&pc->pc_allocs, 1);
	vmem_pcpu_add(&pc->pc_hits, 1);
	return (0);
}

/*
 * Free of class cls through the caches:
 *	1. this CPU's magazines (no lock);
 *	2. under the lock: the magazines again, else load an empty
 *	   magazine (from the depot, else md_malloc'd with the lock
 *	   dropped, then go back to 2); the full previous one goes to the
 *	   depot;
 *	3. no magazine to be had: free to the arena.
 */
static void
vmem_qc_free(vmem_t *vm, int cls, vmem_addr_t addr)
{
	vmem_size_t size = (vmem_size_t)(cls + 1) << vm->vm_qshift;
	struct vmem_depot *dp = &vm->vm_depot[cls];
	struct vmem_release rl;
	struct vmem_qcache *qc;
	struct vmem_mag *mg = NULL;
	bool tried = false, released = false;
	int cpu = curcpu;

	qc = vmem_qc(vm, cpu, cls);
	if (vmem_qc_push(qc, addr))
		goto done;
	VMEM_LOCK(vm);
	for (;;) {
		cpu = curcpu;
		qc = vmem_qc(vm, cpu, cls);
		if (vmem_qc_push(qc, addr))
			break;
		if (mg == NULL && (mg = dp->dp_empty) != NULL)
			dp->dp_empty = mg->mg_next;
		if (mg != NULL) {
			/* Loaded is full (or none), previous full or none. */
			if (qc->qc_loaded != NULL) {
				if (qc->qc_prev != NULL) {
					qc->qc_prev->mg_next = dp->dp_full;
					dp->dp_full = qc->qc_prev;
					vm->vm_depot_bytes +=
					    (vmem_size_t)VMEM_MAG_ROUNDS * size;
					vmem_pcpu_add(
					    &vm->vm_pcpu[cpu].pc_qcached,
					    -(int64_t)VMEM_MAG_ROUNDS *
						(int64_t)size);
				}
				qc->qc_prev = qc->qc_loaded;
			}
			qc->qc_loaded = mg;
			mg = NULL;
			(void)vmem_qc_push(qc, addr);
			break;
		}
		if (tried) {
			vm->vm_frees++;
			released = vmem_free_locked(vm, addr, size, &rl);
			VMEM_UNLOCK(vm);
			if (released)
				vmem_release(vm, &rl);
			return;
		}
		VMEM_UNLOCK(vm);
		mg = md_calloc(1, sizeof(*mg));
		tried = true;
		VMEM_LOCK(vm);
	}
	if (mg != NULL) {
		mg->mg_next = dp->dp_empty;
		dp->dp_empty = mg;
	}
	VMEM_UNLOCK(vm);
done:
	vmem_pcpu_add(&vm->vm_pcpu[cpu].pc_qcached, (int64_t)size);
	vmem_pcpu_add(&vm->vm_pcpu[cpu].pc_frees, 1);
}

/*
 * Frees the rounds of the magazines on `list' (lock held; dropped to
 * give spans back) and the magazines themselves.
 */
static void
vmem_mag_free_list(vmem_t *vm, struct vmem_mag *list, vmem_size_t size)
{
	struct vmem_release rl;
	struct vmem_mag *mg;

	while ((mg = list) != NULL) {
		list = mg->mg_next;
		while (mg->mg_n > 0)
			if (vmem_free_locked(
				vm, mg->mg_rounds[--mg->mg_n], size, &rl)) {
				VMEM_UNLOCK(vm);
				vmem_release(vm, &rl);
				VMEM_LOCK(vm);
			}
		md_free(mg);
	}
}

/*
 * Detaches CPU cpu's magazines onto a list (their CPU, or a quiescent
 * arena).
 */
static struct vmem_mag *
vmem_qc_detach(vmem_t *vm, int cpu)
{
	struct vmem_mag *list = NULL, *mg;
	struct vmem_qcache *qc;
	int cls, k;

	for (cls = 0; cls < vm->vm_nqcache; cls++) {
		qc = vmem_qc(vm, cpu, cls);
		for (k = 0; k < 2; k++) {
			mg = k == 0 ? qc->qc_loaded : qc->qc_prev;
			if (mg == NULL)
				continue;
			mg->mg_next = list;
			list = mg;
		}
		qc->qc_loaded = qc->qc_prev = NULL;
	}
	atomic_store_64(&vm->vm_pcpu[cpu].pc_qcached, 0);
	return (list);
}

/*
 * Frees a detached list: each magazine's class is found from its
 * rounds' tags (all rounds of a magazine have its class's size).
 */
static void
vmem_qc_free_detached(vmem_t *vm, struct vmem_mag *list)
{
	struct vmem_btag *bt;
	struct vmem_mag *mg;

	while ((mg = list) != NULL) {
		list = mg->mg_next;
		mg->mg_next = NULL;
		if (mg->mg_n == 0) {
			md_free(mg);
			continue;
		}
		bt = vmem_hash_lookup(vm, mg->mg_rounds[0]);
		VM_ASSERT(bt != NULL,
		    ("%s: %s: cached %#llx not allocated", __func__,
			vm->vm_name, (unsigned long long)mg->mg_rounds[0]));
		vmem_mag_free_list(vm, mg, bt->bt_size);
	}
}

struct vmem_drain {
	vmem_t *dr_vm;
	struct vmem_mag **dr_lists; /* [ncpus], each written by its CPU */
};

/* IPI handler: runs on each CPU, detaches that CPU's magazines. */
static void
vmem_drain_ipi(void *arg)
{
	struct vmem_drain *dr = arg;
	int cpu = curcpu;

	dr->dr_lists[cpu] = vmem_qc_detach(dr->dr_vm, cpu);
}

/*
 * Returns the depot's magazines and their rounds.  Locked (dropped to
 * give spans back: each class's lists are detached and counted first).
 */
static void
vmem_depot_drain(vmem_t *vm)
{
	vmem_size_t size;
	struct vmem_depot *dp;
	struct vmem_mag *full, *empty, *mg;
	int cls;

	for (cls = 0; cls < vm->vm_nqcache; cls++) {
		dp = &vm->vm_depot[cls];
		size = (vmem_size_t)(cls + 1) << vm->vm_qshift;
		full = dp->dp_full;
		empty = dp->dp_empty;
		dp->dp_full = dp->dp_empty = NULL;
		for (mg = full; mg != NULL; mg = mg->mg_next)
			vm->vm_depot_bytes -= (vmem_size_t)mg->mg_n * size;
		vmem_mag_free_list(vm, empty, 0);
		vmem_mag_free_list(vm, full, size);
	}
}

void
vmem_qcache_drain(vmem_t *vm)
{
	struct vmem_drain dr;
	bool *set;
	int cpu;

	if (vm->vm_nqcache == 0)
		return;
	if (VMEM_ALONE()) {
		/* No CPU runs: every cache may be touched from here. */
		for (cpu = 0; cpu < vm->vm_ncpus; cpu++)
			vmem_qc_free_detached(vm, vmem_qc_detach(vm, cpu));
		vmem_depot_drain(vm);
		return;
	}
	dr.dr_vm = vm;
	dr.dr_lists = md_calloc((size_t)vm->vm_ncpus, sizeof(*dr.dr_lists));
	set = md_calloc((size_t)vm->vm_ncpus, sizeof(*set));
	if (dr.dr_lists == NULL || set == NULL)
		VM_PANIC("vmem_qcache_drain: %s: out of memory", vm->vm_name);
	for (cpu = 0; cpu < vm->vm_ncpus; cpu++)
		set[cpu] = true;
	/* A waited IPI: every handler's detach happens before the return. */
	md_ipi_send(set, vmem_drain_ipi, &dr, true);
	VMEM_LOCK(vm);
	for (cpu = 0; cpu < vm->vm_ncpus; cpu++)
		vmem_qc_free_detached(vm, dr.dr_lists[cpu]);
	vmem_depot_drain(vm);
	vmem_unlock_trim(vm);
	md_free(set);
	md_free(dr.dr_lists);
}

/*
 * The public calls.
 */
static int
vmem_flags_ok(int flags)
{
	int fit = flags & M_FITMASK;

	return ((flags & (M_NOWAIT | M_WAITOK)) != (M_NOWAIT | M_WAITOK) &&
	    (fit == 0 || fit == M_BESTFIT || fit == M_INSTANTFIT ||
		fit == M_FIRSTFIT));
}

int
vmem_alloc(vmem_t *vm, vmem_size_t size, int flags, vmem_addr_t *addrp)
{
	struct vmem_req rq = { 0, vm->vm_quantum, 0, 0, VMEM_ADDR_MIN,
		VMEM_ADDR_MAX };
	int error;

	VM_ASSERT(size > 0 && vmem_flags_ok(flags),
	    ("%s: %s: size %#llx flags %#x", __func__, vm->vm_name,
		(unsigned long long)size, flags));
	rq.rq_size = roundup2(size, vm->vm_quantum);
	if (rq.rq_size < size)
		return (ENOMEM);
	if ((rq.rq_size >> vm->vm_qshift) <= (vmem_size_t)vm->vm_nqcache &&
	    !VMEM_ALONE())
		return (vmem_qc_alloc(
		    vm, (int)(rq.rq_size >> vm->vm_qshift) - 1, flags, addrp));
	VMEM_LOCK(vm);
	error = vmem_xalloc_locked(vm, &rq, flags, addrp);
	vmem_unlock_trim(vm);
	return (error);
}

void
vmem_free(vmem_t *vm, vmem_addr_t addr, vmem_size_t size)
{
	size = roundup2(size, vm->vm_quantum);
	if ((size >> vm->vm_qshift) <= (vmem_size_t)vm->vm_nqcache &&
	    !VMEM_ALONE()) {
		vmem_qc_free(vm, (int)(size >> vm->vm_qshift) - 1, addr);
		return;
	}
	vmem_xfree(vm, addr, size);
}

int
vmem_xalloc(vmem_t *vm, vmem_size_t size, vmem_size_t align, vmem_size_t phase,
    vmem_size_t nocross, vmem_addr_t minaddr, vmem_addr_t maxaddr, int flags,
    vmem_addr_t *addrp)
{
	struct vmem_req rq;
	int error;

	rq.rq_size = roundup2(size, vm->vm_quantum);
	rq.rq_align = align == 0 ? vm->vm_quantum : align;
	rq.rq_phase = phase;
	rq.rq_nocross = nocross;
	rq.rq_min = minaddr;
	rq.rq_max = maxaddr;
	VM_ASSERT(size > 0 && rq.rq_size >= size && vmem_flags_ok(flags) &&
		(rq.rq_align & (rq.rq_align - 1)) == 0 &&
		rq.rq_align >= vm->vm_quantum && phase < rq.rq_align &&
		(phase & (vm->vm_quantum - 1)) == 0 &&
		(nocross == 0 ||
		    ((nocross & (nocross - 1)) == 0 &&
			nocross >= rq.rq_size + phase)),
	    ("%s: %s: size %#llx align %#llx phase %#llx nocross %#llx",
		__func__, vm->vm_name, (unsigned long long)size,
		(unsigned long long)align, (unsigned long long)phase,
		(unsigned long long)nocross));
	if (rq.rq_size < size || minaddr > maxaddr)
		return (ENOMEM);
	VMEM_LOCK(vm);
	error = vmem_xalloc_locked(vm, &rq, flags, addrp);
	vmem_unlock_trim(vm);
	return (error);
}

void
vmem_xfree(vmem_t *vm, vmem_addr_t addr, vmem_size_t size)
{
	struct vmem_release rl;
	bool released;

	size = roundup2(size, vm->vm_quantum);
	VMEM_LOCK(vm);
	vm->vm_frees++;
	released = vmem_free_locked(vm, addr, size, &rl);
	vmem_unlock_trim(vm);
	if (released)
		vmem_release(vm, &rl);
}

int
vmem_add(vmem_t *vm, vmem_addr_t addr, vmem_size_t size, int flags)
{
	int error;

	(void)flags;
	if (size == 0 || ((addr | size) & (vm->vm_quantum - 1)) != 0 ||
	    addr + (size - 1) < addr)
		return (EINVAL);
	VMEM_LOCK(vm);
	if ((error = vmem_bt_reserve(vm)) == 0)
		error = vmem_add_locked(vm, addr, size, BT_SPAN_STATIC);
	vmem_unlock_trim(vm);
	return (error);
}

void
vmem_set_import(vmem_t *vm, vmem_import_t *importfn, vmem_release_t *releasefn,
    void *arg, vmem_size_t import_quantum)
{
	VMEM_LOCK(vm);
	vm->vm_importfn = importfn;
	vm->vm_releasefn = releasefn;
	vm->vm_arg = arg;
	vm->vm_import_quantum =
	    import_quantum < vm->vm_quantum ? vm->vm_quantum : import_quantum;
	VMEM_UNLOCK(vm);
}

/* Frees what vmem_create() allocated, but the tags. */
static void
vmem_free_struct(vmem_t *vm)
{
	md_free(vm->vm_hash);
	md_free(vm->vm_depot);
	md_free(vm->vm_qcache);
	md_free(vm->vm_pcpu);
	md_free(vm);
}

vmem_t *
vmem_create(const char *name, vmem_addr_t base, vmem_size_t size,
    vmem_size_t quantum, vmem_size_t qcache_max, int flags)
{
	vmem_t *vm;
	int ncpus = md_ncpus(), i;

	VM_ASSERT(quantum > 0 && (quantum & (quantum - 1)) == 0,
	    ("%s: %s: quantum %#llx", __func__, name,
		(unsigned long long)quantum));
	if ((vm = md_calloc(1, sizeof(*vm))) == NULL)
		return (NULL);
	(void)strncpy(vm->vm_name, name, sizeof(vm->vm_name) - 1);
	vm->vm_quantum = quantum;
	vm->vm_qshift = vmem_fls(quantum);
	vm->vm_import_quantum = quantum;
	vm->vm_nqcache = (int)((qcache_max >> vm->vm_qshift) < VMEM_QCACHE_MAX
		? qcache_max >> vm->vm_qshift
		: VMEM_QCACHE_MAX);
	vm->vm_ncpus = ncpus;
	vm->vm_seg.bt_next = vm->vm_seg.bt_prev = &vm->vm_seg;
	vm->vm_seg.bt_type = BT_SENTINEL;
	for (i = 0; i < VMEM_NFREELIST; i++)
		LIST_INIT(&vm->vm_freelist[i]);
	LIST_INIT(&vm->vm_reserve);
	vm->vm_hashmask = VMEM_HASH_MIN - 1;
	vm->vm_hash = md_calloc(VMEM_HASH_MIN, sizeof(*vm->vm_hash));
	vm->vm_pcpu = md_aligned_alloc(
	    MD_CACHE_LINE, (size_t)ncpus * sizeof(*vm->vm_pcpu));
	if (vm->vm_nqcache > 0) {
		vm->vm_depot =
		    md_calloc((size_t)vm->vm_nqcache, sizeof(*vm->vm_depot));
		vm->vm_qcache =
		    md_calloc((size_t)ncpus * (size_t)vm->vm_nqcache,
			sizeof(*vm->vm_qcache));
	}
	if (vm->vm_hash == NULL || vm->vm_pcpu == NULL ||
	    (vm->vm_nqcache > 0 &&
		(vm->vm_depot == NULL || vm->vm_qcache == NULL))) {
		vmem_free_struct(vm);
		return (NULL);
	}
	memset(vm->vm_pcpu, 0, (size_t)ncpus * sizeof(*vm->vm_pcpu));
	mtx_init(&vm->vm_lock, "vmem", MTX_DEF);
	if (size > 0 && vmem_add(vm, base, size, flags) != 0) {
		/* Nothing was added: only the reserve holds tags. */
		vmem_bt_free_list(&vm->vm_reserve);
		mtx_destroy(&vm->vm_lock);
		vmem_free_struct(vm);
		return (NULL);
	}
	VMEM_LIST_LOCK();
	TAILQ_INSERT_TAIL(&vmem_list, vm, vm_alllist);
	VMEM_LIST_UNLOCK();
	return (vm);
}

vmem_size_t
vmem_free_all(vmem_t *vm)
{
	struct vmem_release rl;
	struct vmem_btag *bt;
	vmem_size_t n = 0;
	uint64_t i;

	vmem_qcache_drain(vm);
	VMEM_LOCK(vm);
	for (i = 0; i <= vm->vm_hashmask; i++)
		while ((bt = LIST_FIRST(&vm->vm_hash[i])) != NULL) {
			n += bt->bt_size;
			vm->vm_frees++;
			if (vmem_free_locked(
				vm, bt->bt_start, bt->bt_size, &rl)) {
				VMEM_UNLOCK(vm);
				vmem_release(vm, &rl);
				VMEM_LOCK(vm);
			}
		}
	vmem_unlock_trim(vm);
	return (n);
}

/*
 * Steps: 1. off the list of arenas; 2. the caches of every CPU (no one
 * uses the arena any more) and the depot back to the arena; 3. check
 * nothing is allocated; 4. give imported spans back; 5. free the tags
 * and the arena.
 */
void
vmem_destroy(vmem_t *vm)
{
	struct vmem_btag *bt, *next;
	int cpu;

	VMEM_LIST_LOCK();
	TAILQ_REMOVE(&vmem_list, vm, vm_alllist);
	VMEM_LIST_UNLOCK();
	VMEM_LOCK(vm);
	for (cpu = 0; cpu < vm->vm_ncpus && vm->vm_nqcache > 0; cpu++)
		vmem_qc_free_detached(vm, vmem_qc_detach(vm, cpu));
	if (vm->vm_nqcache > 0)
		vmem_depot_drain(vm);
	VM_ASSERT(vm->vm_inuse == 0 && vm->vm_waiters == 0,
	    ("vmem_destroy: %s: %llu bytes still allocated", vm->vm_name,
		(unsigned long long)vm->vm_inuse));
	VMEM_UNLOCK(vm);
	for (bt = vm->vm_seg.bt_next; bt != &vm->vm_seg; bt = next) {
		next = bt->bt_next;
		if (bt->bt_type == BT_SPAN && vm->vm_releasefn != NULL)
			vm->vm_releasefn(vm->vm_arg, bt->bt_start, bt->bt_size);
		md_free(bt);
	}
	vmem_bt_free_list(&vm->vm_reserve);
	mtx_destroy(&vm->vm_lock);
	vmem_free_struct(vm);
}

/* Bytes sitting free in quantum caches.  Locked (the depot). */
static vmem_size_t
vmem_qcached(vmem_t *vm)
{
	vmem_size_t n = vm->vm_depot_bytes;
	int cpu;

	for (cpu = 0; cpu < vm->vm_ncpus; cpu++)
		n += atomic_load_64(&vm->vm_pcpu[cpu].pc_qcached);
	return (n);
}

vmem_size_t
vmem_size(vmem_t *vm, int typemask)
{
	vmem_size_t size, inuse;

	VMEM_LOCK(vm);
	size = vm->vm_size;
	inuse = vm->vm_inuse - vmem_qcached(vm);
	VMEM_UNLOCK(vm);
	switch (typemask & (VMEM_ALLOC | VMEM_FREE)) {
	case VMEM_ALLOC:
		return (inuse);
	case VMEM_FREE:
		return (size - inuse);
	case VMEM_ALLOC | VMEM_FREE:
		return (size);
	default:
		return (0);
	}
}

void
vmem_stats(vmem_t *vm, struct vmem_stats *st)
{
	struct vmem_pcpu *pc;
	int cpu;

	memset(st, 0, sizeof(*st));
	st->name = vm->vm_name;
	VMEM_LOCK(vm);
	st->size = vm->vm_size;
	st->qcached = vmem_qcached(vm);
	st->inuse = vm->vm_inuse - st->qcached;
	st->free = st->size - st->inuse;
	st->allocs = vm->vm_allocs;
	st->frees = vm->vm_frees;
	st->qcache_misses = vm->vm_qmisses;
	st->imports = vm->vm_imports;
	st->btags = vm->vm_nbtags;
	st->sleeps = vm->vm_sleeps;
	VMEM_UNLOCK(vm);
	for (cpu = 0; cpu < vm->vm_ncpus; cpu++) {
		pc = &vm->vm_pcpu[cpu];
		st->allocs += atomic_load_64(&pc->pc_allocs);
		st->frees += atomic_load_64(&pc->pc_frees);
		st->qcache_hits += atomic_load_64(&pc->pc_hits);
	}
}

int
vmem_foreach(void (*fn)(vmem_t *, void *), void *arg)
{
	vmem_t *vm;
	int n = 0;

	VMEM_LIST_LOCK();
	TAILQ_FOREACH (vm, &vmem_list, vm_alllist) {
		fn(vm, arg);
		n++;
	}
	VMEM_LIST_UNLOCK();
	return (n);
}

/*
 * The checker (invariants 1-5 of the opening comment).
 */
#define VMEM_BAD(...)                                                          \
	do {                                                                   \
		md_printf("vmem_check: %s: ", vm->vm_name);                    \
		md_printf(__VA_ARGS__);                                        \
		md_printf("\n");                                               \
		bad++;                                                         \
	} while (0)

/* Invariants 1, 2 and the sums of 5 over the tag list. */
static int
vmem_check_seglist(vmem_t *vm, uint64_t *nfreep, uint64_t *nbusyp)
{
	struct vmem_btag *bt, *span = NULL;
	vmem_addr_t expect = 0;
	vmem_size_t size = 0, inuse = 0;
	uint64_t ntags = 0;
	int bad = 0;

	for (bt = vm->vm_seg.bt_next;
	     bt != &vm->vm_seg && ntags <= vm->vm_nbtags;
	     bt = bt->bt_next, ntags++) {
		if (bt->bt_next->bt_prev != bt)
			VMEM_BAD("tag %p: broken links", (void *)bt);
		if (bt->bt_size == 0 || (bt->bt_start & (vm->vm_quantum - 1)) ||
		    (bt->bt_size & (vm->vm_quantum - 1)))
			VMEM_BAD("tag %p: bad range %#llx +%#llx", (void *)bt,
			    (unsigned long long)bt->bt_start,
			    (unsigned long long)bt->bt_size);
		if (bt->bt_type == BT_SPAN || bt->bt_type == BT_SPAN_STATIC) {
			if (span != NULL && expect != vmem_last(span) + 1)
				VMEM_BAD("span %#llx: segments end at %#llx",
				    (unsigned long long)span->bt_start,
				    (unsigned long long)expect);
			if (span != NULL && bt->bt_start <= vmem_last(span))
				VMEM_BAD("span %#llx overlaps span %#llx",
				    (unsigned long long)bt->bt_start,
				    (unsigned long long)span->bt_start);
			span = bt;
			expect = bt->bt_start;
			size += bt->bt_size;
			continue;
		}
		if (span == NULL || bt->bt_start != expect ||
		    vmem_last(bt) > vmem_last(span))
			VMEM_BAD(
			    "segment [%#llx, +%#llx) not contiguous in its "
			    "span (expected at %#llx)",
			    (unsigned long long)bt->bt_start,
			    (unsigned long long)bt->bt_size,
			    (unsigned long long)expect);
		expect = bt->bt_start + bt->bt_size;
		if (bt->bt_type == BT_FREE) {
			(*nfreep)++;
			if (bt->bt_prev->bt_type == BT_FREE)
				VMEM_BAD("free segments %#llx and %#llx not "
					 "coalesced",
				    (unsigned long long)bt->bt_prev->bt_start,
				    (unsigned long long)bt->bt_start);
		} else if (bt->bt_type == BT_BUSY) {
			(*nbusyp)++;
			inuse += bt->bt_size;
			if (vmem_hash_lookup(vm, bt->bt_start) != bt)
				VMEM_BAD("allocated segment %#llx not in the "
					 "hash",
				    (unsigned long long)bt->bt_start);
		} else
			VMEM_BAD("tag %p: type %d", (void *)bt, bt->bt_type);
	}
	if (span != NULL && expect != vmem_last(span) + 1)
		VMEM_BAD("span %#llx: segments end at %#llx",
		    (unsigned long long)span->bt_start,
		    (unsigned long long)expect);
	if (ntags != vm->vm_nbtags)
		VMEM_BAD("%llu tags on the list, %llu counted",
		    (unsigned long long)ntags,
		    (unsigned long long)vm->vm_nbtags);
	if (size != vm->vm_size || inuse != vm->vm_inuse)
		VMEM_BAD("walked size %#llx inuse %#llx, recorded %#llx %#llx",
		    (unsigned long long)size, (unsigned long long)inuse,
		    (unsigned long long)vm->vm_size,
		    (unsigned long long)vm->vm_inuse);
	return (bad);
}

/* Invariants 3 and 4 from the lists' side. */
static int
vmem_check_lists(vmem_t *vm, uint64_t nfree, uint64_t nbusy)
{
	struct vmem_btag *bt;
	uint64_t n = 0, i;
	int bad = 0, k;

	for (k = 0; k < VMEM_NFREELIST; k++)
		LIST_FOREACH (bt, &vm->vm_freelist[k], bt_link) {
			if (bt->bt_type != BT_FREE ||
			    vmem_freelist_idx(vm, bt->bt_size) != k)
				VMEM_BAD("segment [%#llx, +%#llx) type %d on "
					 "free list %d",
				    (unsigned long long)bt->bt_start,
				    (unsigned long long)bt->bt_size,
				    bt->bt_type, k);
			if (++n > nfree)
				break;
		}
	if (n != nfree)
		VMEM_BAD("%llu tags on free lists, %llu free segments",
		    (unsigned long long)n, (unsigned long long)nfree);
	n = 0;
	for (i = 0; i <= vm->vm_hashmask; i++)
		LIST_FOREACH (bt, &vm->vm_hash[i], bt_link) {
			if (bt->bt_type != BT_BUSY ||
			    vmem_hash_bucket(vm, bt->bt_start) !=
				&vm->vm_hash[i])
				VMEM_BAD("tag %#llx type %d in hash bucket "
					 "%llu",
				    (unsigned long long)bt->bt_start,
				    bt->bt_type, (unsigned long long)i);
			if (++n > nbusy)
				break;
		}
	if (n != nbusy || n != vm->vm_nbusy)
		VMEM_BAD("%llu tags in the hash, %llu allocated, %llu counted",
		    (unsigned long long)n, (unsigned long long)nbusy,
		    (unsigned long long)vm->vm_nbusy);
	return (bad);
}
#undef VMEM_BAD

int
vmem_check(vmem_t *vm)
{
	uint64_t nfree = 0, nbusy = 0;
	int bad;

	VMEM_LOCK(vm);
	bad = vmem_check_seglist(vm, &nfree, &nbusy);
	bad += vmem_check_lists(vm, nfree, nbusy);
	VMEM_UNLOCK(vm);
	return (bad);
}

#ifdef VM_INVARIANTS
/* The first segment of type `type' (with a following segment: want_next). */
static struct vmem_btag *
vmem_debug_find(vmem_t *vm, int type, bool want_next)
{
	struct vmem_btag *bt;

	for (bt = vm->vm_seg.bt_next; bt != &vm->vm_seg; bt = bt->bt_next)
		if (bt->bt_type == type &&
		    (!want_next || bt->bt_next->bt_type == BT_FREE ||
			bt->bt_next->bt_type == BT_BUSY))
			return (bt);
	return (NULL);
}

/*
 * Plants bug `kind' (VMEM_CORRUPT_*), or with kind 0 repairs the one
 * planted.  0, or EINVAL when the arena has no tag to corrupt that way
 * (overlap: a segment followed by another; freelist: a free segment;
 * hash: an allocated one) or a bug is planted already.
 */
int
vmem_debug_corrupt(vmem_t *vm, int kind)
{
	struct vmem_btag *bt = NULL;
	int error = 0, k;

	VMEM_LOCK(vm);
	if (kind == 0) {
		bt = vm->vm_corrupt_bt;
		switch (vm->vm_corrupt) {
		case VMEM_CORRUPT_OVERLAP:
			bt->bt_size -= vm->vm_quantum;
			break;
		case VMEM_CORRUPT_FREELIST:
			LIST_REMOVE(bt, bt_link);
			vmem_freelist_insert(vm, bt);
			break;
		case VMEM_CORRUPT_HASH:
			LIST_INSERT_HEAD(
			    vmem_hash_bucket(vm, bt->bt_start), bt, bt_link);
			break;
		}
		vm->vm_corrupt = 0;
		vm->vm_corrupt_bt = NULL;
		VMEM_UNLOCK(vm);
		return (0);
	}
	if (vm->vm_corrupt != 0)
		error = EINVAL;
	else if (kind == VMEM_CORRUPT_OVERLAP &&
	    ((bt = vmem_debug_find(vm, BT_BUSY, true)) != NULL ||
		(bt = vmem_debug_find(vm, BT_FREE, true)) != NULL))
		bt->bt_size += vm->vm_quantum;
	else if (kind == VMEM_CORRUPT_FREELIST &&
	    (bt = vmem_debug_find(vm, BT_FREE, false)) != NULL) {
		k = (vmem_freelist_idx(vm, bt->bt_size) + 1) % VMEM_NFREELIST;
		LIST_REMOVE(bt, bt_link);
		LIST_INSERT_HEAD(&vm->vm_freelist[k], bt, bt_link);
	} else if (kind == VMEM_CORRUPT_HASH &&
	    (bt = vmem_debug_find(vm, BT_BUSY, false)) != NULL)
		LIST_REMOVE(bt, bt_link);
	else
		error = EINVAL;
	if (error == 0) {
		vm->vm_corrupt = kind;
		vm->vm_corrupt_bt = bt;
	}
	VMEM_UNLOCK(vm);
	return (error);
}
#endif /* VM_INVARIANTS */

/*
 * Boot: the ranks of the arenas' locks and the list of arenas.  Every
 * arena must be destroyed before fini.
 */
int
vmem_init(void)
{
	static const struct lock_rank ranks[] = {
		{ "vmem list", 640, 0 },
		{ "vmem", 650, 0 },
	};
	int error;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	mtx_init(&vmem_list_lock, "vmem list", MTX_DEF);
	TAILQ_INIT(&vmem_list);
	return (0);
}

void
vmem_fini(void)
{
	VM_ASSERT(TAILQ_EMPTY(&vmem_list),
	    ("vmem_fini: arena %s still exists",
		TAILQ_FIRST(&vmem_list)->vm_name));
	mtx_destroy(&vmem_list_lock);
}
