/*
 * vm_reserv.c: superpage reservations (see vm_reserv.h).
 *
 * Memory layout: one struct vm_reserv per 2 MiB frame of the arena
 * (vm_reserv_array, indexed by pa >> 21), so a page finds its reservation
 * by arithmetic; frames that do not lie inside one segment have
 * rv_pages NULL and are never used (order-9 buddy blocks never cross a
 * segment).  Per domain: the partially populated queue and counts, under
 * the domain's free lock.  A hash table of active reservations keyed by
 * (object, first pindex), whose chains are guarded by VM_RESERV_NLOCKS
 * striped spin locks.
 *
 * Allocation of (object, pindex), in steps:
 *	1. Look the reservation of (object, first) up in the hash.
 *	2. If found: under its domain's free lock, check it still serves
 *	   (object, first) (it may have been broken since step 1: then start
 *	   again), take one page of the free count and populate the page.
 *	3. If not: if the range fits the object and reservations are on,
 *	   take one page of the free count, a free order-9 block of the
 *	   domain, make it the reservation of (object, first), insert it in
 *	   the hash, and populate the page.
 * Population moves a reservation to the tail of its domain's partially
 * populated queue, or off it when it becomes full, so the head is the
 * least recently changed: the one broken first under shortage.
 */
#include "vm/vm_reserv.h"

#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/mutex.h"
#include "kern/sysctl.h"
#include "vm/vm_domain.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_phys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VM_RESERV_NLOCKS 64

LIST_HEAD(vm_reserv_hashhead, vm_reserv);

struct vm_reserv_domain {
	struct vm_reservq rd_partpop; /* (f) least recently changed first */
	uint64_t rd_active;	      /* (f) */
	uint64_t rd_partpop_cnt;      /* (f) */
	uint64_t rd_fullpop;	      /* (f) */
	uint64_t rd_free_pages;	      /* (f) unpopulated pages */
} __aligned(MD_CACHE_LINE);

struct vm_reserv_lock {
	struct mtx rl_mtx;
} __aligned(MD_CACHE_LINE);

static struct vm_reserv *vm_reserv_array; /* (c) one per 2 MiB frame */
static uint64_t vm_reserv_nframes;	  /* (c) */
static struct vm_reserv_domain vm_rvd[MD_MAXDOMAIN];
static struct vm_reserv_hashhead *vm_reserv_hash; /* (h) chains */
static uint64_t vm_reserv_hash_mask;		  /* (c) */
static struct vm_reserv_lock vm_reserv_locks[VM_RESERV_NLOCKS];
static uint32_t vm_reserv_on; /* (a) reservations are made */
static int64_t vm_reserv_enable_tun;

static counter_u64_t vm_reserv_created, vm_reserv_broken, vm_reserv_freed,
    vm_reserv_fullpop_events;

/* Set handler of vm.reserv.enable: new allocations follow the switch. */
static int
vm_reserv_enable_set(int64_t value, void *arg)
{
	(void)arg;
	atomic_store_int(&vm_reserv_on, value != 0 ? 1 : 0);
	return (0);
}

int
vm_reserv_tunables(void)
{
	int error;

	if ((error = tunable_int_register("vm.reserv.enable",
		 &vm_reserv_enable_tun, 1, 0, 1,
		 "superpage reservations for object pages (0: off)")) != 0)
		return (error);
	return (tunable_set_handler(
	    "vm.reserv.enable", vm_reserv_enable_set, NULL));
}

bool
vm_reserv_enabled(void)
{
	return (atomic_load_int(&vm_reserv_on) != 0);
}

static inline struct vm_reserv *
vm_reserv_from_page(const struct vm_page *m)
{
	return (
	    &vm_reserv_array[m->phys_addr >> (PAGE_SHIFT + VM_LEVEL_0_ORDER)]);
}

static inline uint64_t
vm_reserv_hash_index(const struct vm_object *object, vm_pindex_t first)
{
	uint64_t h = (uint64_t)(uintptr_t)object * 0x9e3779b97f4a7c15ull;

	h ^= (first >> VM_LEVEL_0_ORDER) * 0xbf58476d1ce4e5b9ull;
	return ((h ^ (h >> 29)) & vm_reserv_hash_mask);
}

static inline struct mtx *
vm_reserv_hash_lock(uint64_t bucket)
{
	return (&vm_reserv_locks[bucket % VM_RESERV_NLOCKS].rl_mtx);
}

static inline bool
vm_reserv_is_populated(const struct vm_reserv *rv, int i)
{
	return ((rv->rv_popmap[i / 64] & (1ull << (i % 64))) != 0);
}

/* The active reservation of (object, first), or NULL (step 1). */
static struct vm_reserv *
vm_reserv_lookup(struct vm_object *object, vm_pindex_t first)
{
	uint64_t b = vm_reserv_hash_index(object, first);
	struct vm_reserv *rv;

	mtx_lock_spin(vm_reserv_hash_lock(b));
	LIST_FOREACH (rv, &vm_reserv_hash[b], rv_hashq)
		if (rv->rv_object == object && rv->rv_pindex == first &&
		    rv->rv_objid == object->id)
			break;
	mtx_unlock_spin(vm_reserv_hash_lock(b));
	return (rv);
}

/* Makes rv the reservation of (object, first).  Free lock held. */
static void
vm_reserv_activate(
    struct vm_reserv *rv, struct vm_object *object, vm_pindex_t first)
{
	uint64_t b = vm_reserv_hash_index(object, first);

	VM_ASSERT(rv->rv_object == NULL && rv->rv_popcnt == 0,
	    ("%s: reservation %p busy (object %p, %u pages)", __func__,
		(void *)rv, (void *)rv->rv_object, rv->rv_popcnt));
	mtx_lock_spin(vm_reserv_hash_lock(b));
	rv->rv_object = object;
	rv->rv_objid = object->id;
	rv->rv_pindex = first;
	LIST_INSERT_HEAD(&vm_reserv_hash[b], rv, rv_hashq);
	mtx_unlock_spin(vm_reserv_hash_lock(b));
	vm_rvd[rv->rv_domain].rd_active++;
	vm_rvd[rv->rv_domain].rd_free_pages += VM_LEVEL_0_NPAGES;
	counter_u64_add(vm_reserv_created, 1);
}

/* Takes rv out of the hash; it serves nothing any more.  Free lock held. */
static void
vm_reserv_deactivate(struct vm_reserv *rv)
{
	uint64_t b = vm_reserv_hash_index(rv->rv_object, rv->rv_pindex);

	mtx_lock_spin(vm_reserv_hash_lock(b));
	LIST_REMOVE(rv, rv_hashq);
	rv->rv_object = NULL;
	rv->rv_objid = 0;
	rv->rv_pindex = 0;
	mtx_unlock_spin(vm_reserv_hash_lock(b));
	vm_rvd[rv->rv_domain].rd_active--;
}

static void
vm_reserv_partpop_touch(struct vm_reserv *rv)
{
	struct vm_reserv_domain *rd = &vm_rvd[rv->rv_domain];

	if (rv->rv_inpartpopq)
		TAILQ_REMOVE(&rd->rd_partpop, rv, rv_partpopq);
	else
		rd->rd_partpop_cnt++;
	TAILQ_INSERT_TAIL(&rd->rd_partpop, rv, rv_partpopq);
	rv->rv_inpartpopq = true;
}

static void
vm_reserv_partpop_remove(struct vm_reserv *rv)
{
	struct vm_reserv_domain *rd = &vm_rvd[rv->rv_domain];

	if (!rv->rv_inpartpopq)
		return;
	TAILQ_REMOVE(&rd->rd_partpop, rv, rv_partpopq);
	rd->rd_partpop_cnt--;
	rv->rv_inpartpopq = false;
}

/* Marks page i populated.  Free lock held. */
static void
vm_reserv_populate(struct vm_reserv *rv, int i)
{
	struct vm_reserv_domain *rd = &vm_rvd[rv->rv_domain];

	VM_ASSERT(!vm_reserv_is_populated(rv, i),
	    ("%s: page %d of reservation %p (object %p pindex %llu) is "
	     "already populated",
		__func__, i, (void *)rv, (void *)rv->rv_object,
		(unsigned long long)rv->rv_pindex));
	rv->rv_popmap[i / 64] |= 1ull << (i % 64);
	rv->rv_popcnt++;
	rd->rd_free_pages--;
	if (rv->rv_popcnt < VM_LEVEL_0_NPAGES) {
		vm_reserv_partpop_touch(rv);
		return;
	}
	/* Fully populated: the signal a pmap promotion waits for. */
	vm_reserv_partpop_remove(rv);
	rd->rd_fullpop++;
	counter_u64_add(vm_reserv_fullpop_events, 1);
}

/*
 * Marks page i free; returns the whole block to the buddy allocator when
 * it was the last populated page.  Free lock held.
 */
static void
vm_reserv_depopulate(struct vm_reserv *rv, int i)
{
	struct vm_reserv_domain *rd = &vm_rvd[rv->rv_domain];

	VM_ASSERT(vm_reserv_is_populated(rv, i),
	    ("%s: page %d of reservation %p is not populated", __func__, i,
		(void *)rv));
	if (rv->rv_popcnt == VM_LEVEL_0_NPAGES)
		rd->rd_fullpop--;
	rv->rv_popmap[i / 64] &= ~(1ull << (i % 64));
	rv->rv_popcnt--;
	rd->rd_free_pages++;
	if (rv->rv_popcnt > 0) {
		vm_reserv_partpop_touch(rv);
		return;
	}
	vm_reserv_partpop_remove(rv);
	vm_reserv_deactivate(rv);
	rd->rd_free_pages -= VM_LEVEL_0_NPAGES;
	vm_phys_free_pages(rv->rv_pages, VM_LEVEL_0_ORDER);
	counter_u64_add(vm_reserv_freed, 1);
}

/*
 * Breaks a partially populated reservation: its free pages go back to the
 * buddy allocator in maximal runs, its populated pages stay allocated as
 * ordinary pages.  Free lock held.
 */
static void
vm_reserv_break(struct vm_reserv *rv)
{
	struct vm_reserv_domain *rd = &vm_rvd[rv->rv_domain];
	int i, start;

	vm_reserv_partpop_remove(rv);
	vm_reserv_deactivate(rv);
	rd->rd_free_pages -= VM_LEVEL_0_NPAGES - rv->rv_popcnt;
	for (i = 0; i < VM_LEVEL_0_NPAGES;) {
		while (i < VM_LEVEL_0_NPAGES && vm_reserv_is_populated(rv, i))
			i++;
		start = i;
		while (i < VM_LEVEL_0_NPAGES && !vm_reserv_is_populated(rv, i))
			i++;
		if (i > start)
			vm_phys_free_contig(
			    &rv->rv_pages[start], (uint64_t)(i - start));
	}
	memset(rv->rv_popmap, 0, sizeof(rv->rv_popmap));
	rv->rv_popcnt = 0;
	counter_u64_add(vm_reserv_broken, 1);
}

static void
vm_reserv_page_init(
    struct vm_page *m, struct vm_object *object, vm_pindex_t pindex)
{
	m->flags = 0;
	vm_page_set_identity(m, object, pindex);
}

/*
 * Step 2: a page from the existing reservation rv.  Returns NULL with
 * *stale set if rv no longer serves (object, first).
 */
static struct vm_page *
vm_reserv_alloc_from(struct vm_reserv *rv, struct vm_object *object,
    vm_pindex_t pindex, int req, bool *stale)
{
	struct vm_domain *vmd = VM_DOMAIN(rv->rv_domain);
	vm_pindex_t first = pindex & ~(vm_pindex_t)(VM_LEVEL_0_NPAGES - 1);
	int i = (int)(pindex - first);

	vm_domain_free_lock(vmd);
	if (rv->rv_object != object || rv->rv_pindex != first ||
	    rv->rv_objid != object->id) {
		vm_domain_free_unlock(vmd);
		*stale = true;
		return (NULL);
	}
	if (!vm_domain_allocate_locked(vmd, req, 1)) {
		vm_domain_free_unlock(vmd);
		return (NULL);
	}
	vm_reserv_populate(rv, i);
	vmd->vmd_allocated++;
	vm_domain_free_unlock(vmd);
	vm_reserv_page_init(&rv->rv_pages[i], object, pindex);
	return (&rv->rv_pages[i]);
}

/* Step 3: a new reservation in `domain' for (object, first). */
static struct vm_page *
vm_reserv_alloc_new(
    struct vm_object *object, vm_pindex_t pindex, int domain, int req)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	vm_pindex_t first = pindex & ~(vm_pindex_t)(VM_LEVEL_0_NPAGES - 1);
	struct vm_reserv *rv;
	struct vm_page *m;
	bool wake;

	vm_domain_free_lock(vmd);
	if (!vm_domain_allocate_locked(vmd, req, 1)) {
		vm_domain_free_unlock(vmd);
		return (NULL);
	}
	m = vm_phys_alloc_pages(domain, VM_FREEPOOL_DEFAULT, VM_LEVEL_0_ORDER);
	if (m == NULL) {
		wake = vm_domain_freecnt_inc_locked(vmd, 1);
		vm_domain_free_unlock(vmd);
		if (wake)
			vm_domain_wakeup(vmd);
		return (NULL);
	}
	rv = vm_reserv_from_page(m);
	VM_ASSERT(rv->rv_pages == m && rv->rv_domain == domain,
	    ("%s: block %#llx is not reservation %p's frame", __func__,
		(unsigned long long)m->phys_addr, (void *)rv));
	vm_reserv_activate(rv, object, first);
	vm_reserv_populate(rv, (int)(pindex - first));
	vmd->vmd_allocated++;
	vm_domain_free_unlock(vmd);
	m = &rv->rv_pages[pindex - first];
	vm_reserv_page_init(m, object, pindex);
	return (m);
}

struct vm_page *
vm_reserv_alloc_page(
    struct vm_object *object, vm_pindex_t pindex, int domain, int req)
{
	vm_pindex_t first = pindex & ~(vm_pindex_t)(VM_LEVEL_0_NPAGES - 1);
	struct vm_reserv *rv;
	struct vm_page *m;
	bool stale;

	for (;;) {
		/* Step 1. */
		rv = vm_reserv_lookup(object, first);
		if (rv == NULL)
			break;
		/* Step 2. */
		stale = false;
		m = vm_reserv_alloc_from(rv, object, pindex, req, &stale);
		if (!stale)
			return (m);
	}
	/* Step 3. */
	if (!vm_reserv_enabled() ||
	    ((object->flags & OBJ_ANON) == 0 &&
		first + VM_LEVEL_0_NPAGES > object->size))
		return (NULL);
	return (vm_reserv_alloc_new(object, pindex, domain, req));
}

bool
vm_reserv_free_page(struct vm_page *m)
{
	struct vm_reserv *rv = vm_reserv_from_page(m);

	vm_domain_free_assert_locked(VM_DOMAIN(m->domain));
	if (rv->rv_object == NULL)
		return (false);
	vm_reserv_depopulate(rv, (int)(m - rv->rv_pages));
	return (true);
}

bool
vm_reserv_reclaim_inactive(int domain)
{
	struct vm_reserv *rv;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	rv = TAILQ_FIRST(&vm_rvd[domain].rd_partpop);
	if (rv == NULL)
		return (false);
	vm_reserv_break(rv);
	return (true);
}

bool
vm_reserv_reclaim_contig(int domain, vm_paddr_t low, vm_paddr_t high)
{
	struct vm_reserv *rv, *next;
	vm_paddr_t pa;
	bool broke = false;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	TAILQ_FOREACH_SAFE (rv, &vm_rvd[domain].rd_partpop, rv_partpopq, next) {
		pa = rv->rv_pages->phys_addr;
		if (pa + VM_LEVEL_0_SIZE <= low || pa >= high)
			continue;
		vm_reserv_break(rv);
		broke = true;
	}
	return (broke);
}

int
vm_reserv_level_iffullpop(struct vm_page *m)
{
	struct vm_domain *vmd = VM_DOMAIN(m->domain);
	struct vm_reserv *rv = vm_reserv_from_page(m);
	int level;

	vm_domain_free_lock(vmd);
	level = rv->rv_object != NULL && rv->rv_popcnt == VM_LEVEL_0_NPAGES
	    ? 0
	    : -1;
	vm_domain_free_unlock(vmd);
	return (level);
}

void
vm_reserv_counts_locked(int domain, struct vm_reserv_counts *rc)
{
	struct vm_reserv_domain *rd = &vm_rvd[domain];

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	rc->rc_active = rd->rd_active;
	rc->rc_partpop = rd->rd_partpop_cnt;
	rc->rc_fullpop = rd->rd_fullpop;
	rc->rc_free_pages = rd->rd_free_pages;
}

void
vm_reserv_foreach_free(
    int domain, void (*fn)(struct vm_page *m, void *arg), void *arg)
{
	struct vm_reserv *rv;
	uint64_t f;
	int i;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	for (f = 0; f < vm_reserv_nframes; f++) {
		rv = &vm_reserv_array[f];
		if (rv->rv_object == NULL || rv->rv_domain != domain)
			continue;
		for (i = 0; i < VM_LEVEL_0_NPAGES; i++)
			if (!vm_reserv_is_populated(rv, i))
				fn(&rv->rv_pages[i], arg);
	}
}

/* Checks one reservation of the domain; adds to the counts. */
static void
vm_reserv_check_one(
    struct vm_reserv *rv, struct vm_reserv_counts *rc, int *nerrp)
{
	struct vm_page *m;
	uint64_t pop = 0;
	bool orphan;
	int i;

	for (i = 0; i < VM_LEVEL_0_NPAGES / 64; i++)
		pop += (uint64_t)__builtin_popcountll(rv->rv_popmap[i]);
	if (rv->rv_object == NULL) {
		if (pop != 0 || rv->rv_popcnt != 0 || rv->rv_inpartpopq)
			vm_check_fail(nerrp,
			    "reserv: inactive %p has %llu/%u pages, queued %d",
			    (void *)rv, (unsigned long long)pop, rv->rv_popcnt,
			    rv->rv_inpartpopq);
		return;
	}
	rc->rc_active++;
	rc->rc_free_pages += VM_LEVEL_0_NPAGES - pop;
	rc->rc_partpop += pop < VM_LEVEL_0_NPAGES;
	rc->rc_fullpop += pop == VM_LEVEL_0_NPAGES;
	/*
	 * A reservation of a dead incarnation (its object struct reused,
	 * batched frees of its pages pending) is no longer hashed for it.
	 */
	orphan = rv->rv_objid != rv->rv_object->id;
	if (pop != rv->rv_popcnt || pop == 0 || rv->rv_pages == NULL ||
	    rv->rv_inpartpopq != (pop < VM_LEVEL_0_NPAGES) ||
	    (!orphan && vm_reserv_lookup(rv->rv_object, rv->rv_pindex) != rv))
		vm_check_fail(nerrp,
		    "reserv: %p (object %p pindex %llu): popmap %llu, count "
		    "%u, queued %d, hashed %d",
		    (void *)rv, (void *)rv->rv_object,
		    (unsigned long long)rv->rv_pindex, (unsigned long long)pop,
		    rv->rv_popcnt, rv->rv_inpartpopq,
		    vm_reserv_lookup(rv->rv_object, rv->rv_pindex) == rv);
	for (i = 0; i < VM_LEVEL_0_NPAGES && rv->rv_pages != NULL && !orphan;
	     i++) {
		m = &rv->rv_pages[i];
		if (vm_reserv_is_populated(rv, i) &&
		    (m->object != rv->rv_object ||
			m->pindex != rv->rv_pindex + (vm_pindex_t)i ||
			(m->flags & (PG_FREE | PG_PCPU_CACHE)) != 0))
			vm_check_fail(nerrp,
			    "reserv: populated page %#llx has object %p "
			    "pindex %llu flags %#x, reservation says %p %llu",
			    (unsigned long long)m->phys_addr, (void *)m->object,
			    (unsigned long long)m->pindex, m->flags,
			    (void *)rv->rv_object,
			    (unsigned long long)(rv->rv_pindex + (uint64_t)i));
	}
}

static void
vm_reserv_check_domain(int domain, int *nerrp)
{
	struct vm_reserv_counts rc, want;
	struct vm_reserv *rv;
	uint64_t f, queued = 0;

	memset(&rc, 0, sizeof(rc));
	for (f = 0; f < vm_reserv_nframes; f++)
		if (vm_reserv_array[f].rv_domain == domain)
			vm_reserv_check_one(&vm_reserv_array[f], &rc, nerrp);
	TAILQ_FOREACH (rv, &vm_rvd[domain].rd_partpop, rv_partpopq) {
		queued++;
		if (rv->rv_object == NULL || rv->rv_domain != domain ||
		    !rv->rv_inpartpopq)
			vm_check_fail(nerrp,
			    "reserv: %p misqueued in domain %d", (void *)rv,
			    domain);
	}
	vm_reserv_counts_locked(domain, &want);
	if (queued != want.rc_partpop || rc.rc_active != want.rc_active ||
	    rc.rc_partpop != want.rc_partpop ||
	    rc.rc_fullpop != want.rc_fullpop ||
	    rc.rc_free_pages != want.rc_free_pages)
		vm_check_fail(nerrp,
		    "reserv: domain %d counts active %llu/%llu partpop "
		    "%llu/%llu (queued %llu) fullpop %llu/%llu free %llu/%llu",
		    domain, (unsigned long long)rc.rc_active,
		    (unsigned long long)want.rc_active,
		    (unsigned long long)rc.rc_partpop,
		    (unsigned long long)want.rc_partpop,
		    (unsigned long long)queued,
		    (unsigned long long)rc.rc_fullpop,
		    (unsigned long long)want.rc_fullpop,
		    (unsigned long long)rc.rc_free_pages,
		    (unsigned long long)want.rc_free_pages);
}

/* Every hashed reservation is active and in its right chain. */
static void
vm_reserv_check_hash(int *nerrp)
{
	struct vm_reserv *rv;
	uint64_t b;

	for (b = 0; b <= vm_reserv_hash_mask; b++) {
		mtx_lock_spin(vm_reserv_hash_lock(b));
		LIST_FOREACH (rv, &vm_reserv_hash[b], rv_hashq)
			if (rv->rv_object == NULL ||
			    vm_reserv_hash_index(
				rv->rv_object, rv->rv_pindex) != b)
				vm_check_fail(nerrp,
				    "reserv: %p in hash chain %llu wrongly",
				    (void *)rv, (unsigned long long)b);
		mtx_unlock_spin(vm_reserv_hash_lock(b));
	}
}

int
vm_reserv_check(void)
{
	int d, nerr = 0;

	for (d = 0; d < vm_ndomains; d++) {
		vm_domain_free_lock(VM_DOMAIN(d));
		vm_reserv_check_domain(d, &nerr);
		vm_domain_free_unlock(VM_DOMAIN(d));
	}
	vm_reserv_check_hash(&nerr);
	return (nerr);
}

/* Sums one of the per-domain counts under each free lock (statistics). */
static uint64_t
vm_reserv_stat(void *arg)
{
	struct vm_reserv_counts rc;
	uintptr_t which = (uintptr_t)arg;
	uint64_t sum = 0;
	int d;

	for (d = 0; d < vm_ndomains; d++) {
		vm_domain_free_lock(VM_DOMAIN(d));
		vm_reserv_counts_locked(d, &rc);
		vm_domain_free_unlock(VM_DOMAIN(d));
		sum += which == 0 ? rc.rc_active
		    : which == 1  ? rc.rc_partpop
		    : which == 2  ? rc.rc_fullpop
				  : rc.rc_free_pages;
	}
	return (sum);
}

static const struct counter_spec vm_reserv_counters[] = {
	{ &vm_reserv_created, "vm.stats.reserv.created", "reservations made" },
	{ &vm_reserv_broken, "vm.stats.reserv.broken",
	    "partially populated reservations broken under shortage" },
	{ &vm_reserv_freed, "vm.stats.reserv.freed",
	    "reservations whose last page was freed" },
	{ &vm_reserv_fullpop_events, "vm.stats.reserv.fullpop",
	    "times a reservation became fully populated (promotable)" },
};

static int
vm_reserv_init_stats(void)
{
	int error;

	if ((error = counter_u64_alloc_table(
		 vm_reserv_counters, nitems(vm_reserv_counters))) != 0)
		return (error);
	(void)sysctl_stat_register("vm.stats.reserv.active", vm_reserv_stat,
	    (void *)0, "active reservations");
	(void)sysctl_stat_register("vm.stats.reserv.partpop", vm_reserv_stat,
	    (void *)1, "partially populated reservations");
	(void)sysctl_stat_register("vm.stats.reserv.fullpop_now",
	    vm_reserv_stat, (void *)2, "fully populated reservations");
	(void)sysctl_stat_register("vm.stats.reserv.free_pages", vm_reserv_stat,
	    (void *)3, "unpopulated pages held by reservations");
	return (0);
}

/* Runs at boot after vm_phys_init(), before the CPUs start. */
int
vm_reserv_init(void)
{
	struct vm_reserv *rv;
	vm_paddr_t pa;
	/* Taken under the domain free lock, never the other way round. */
	static const struct lock_rank ranks[] = { { "vm reserv hash", 810,
	    0 } };
	uint64_t f, nb;
	int error, s, i;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	vm_reserv_nframes = vm_phys_end >> (PAGE_SHIFT + VM_LEVEL_0_ORDER);
	vm_reserv_array = md_calloc(
	    vm_reserv_nframes > 0 ? vm_reserv_nframes : 1, sizeof(*rv));
	for (nb = 64; nb < vm_reserv_nframes; nb <<= 1)
		;
	vm_reserv_hash = md_calloc(nb, sizeof(*vm_reserv_hash));
	if (vm_reserv_array == NULL || vm_reserv_hash == NULL) {
		md_free(vm_reserv_array);
		md_free(vm_reserv_hash);
		vm_reserv_array = NULL;
		vm_reserv_hash = NULL;
		return (ENOMEM);
	}
	vm_reserv_hash_mask = nb - 1;
	for (f = 0; f < vm_reserv_nframes; f++) {
		rv = &vm_reserv_array[f];
		pa = f * VM_LEVEL_0_SIZE;
		s = vm_phys_seg_of(pa);
		rv->rv_domain =
		    (uint8_t)(s >= 0 ? vm_phys_segs[s].ps_domain : 0);
		if (s >= 0 && vm_phys_seg_of(pa + VM_LEVEL_0_SIZE - 1) == s)
			rv->rv_pages = PHYS_TO_VM_PAGE(pa);
	}
	for (i = 0; i < MD_MAXDOMAIN; i++) {
		memset(&vm_rvd[i], 0, sizeof(vm_rvd[i]));
		TAILQ_INIT(&vm_rvd[i].rd_partpop);
	}
	for (i = 0; i < VM_RESERV_NLOCKS; i++)
		mtx_init(
		    &vm_reserv_locks[i].rl_mtx, "vm reserv hash", MTX_SPIN);
	atomic_store_int(&vm_reserv_on, vm_reserv_enable_tun != 0 ? 1 : 0);
	if ((error = vm_reserv_init_stats()) != 0) {
		vm_reserv_fini();
		return (error);
	}
	return (0);
}

void
vm_reserv_fini(void)
{
	int i;

	for (i = 0; i < VM_RESERV_NLOCKS; i++)
		mtx_destroy(&vm_reserv_locks[i].rl_mtx);
	counter_u64_free_table(vm_reserv_counters, nitems(vm_reserv_counters));
	md_free(vm_reserv_array);
	md_free(vm_reserv_hash);
	vm_reserv_array = NULL;
	vm_reserv_hash = NULL;
	vm_reserv_nframes = 0;
}
