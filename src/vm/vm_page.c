/*
 * vm_page.c: page allocation, the free count and its thresholds, vm_wait,
 * and the page-accounting checker (see vm_page.h).
 *
 * Allocation of one page, in steps:
 *	1. Pop the current CPU's cache for (local domain, pool): no lock,
 *	   no atomic (the fast path; inline for pages without an object).
 *	2. For an object page, try its superpage reservation (vm_reserv).
 *	3. Under the domain's free lock: refill the empty cache with a batch
 *	   if the domain stays above free_min, and pop; otherwise take one
 *	   page of the free count (class floor) and one page of the buddy
 *	   allocator, breaking a partially populated reservation if the
 *	   buddy lists are empty.
 *	4. Steps 2-3 for each other domain in turn.
 *	5. If all failed: drain every CPU's cache and retry if that freed
 *	   anything; else fail (VM_ALLOC_NOWAIT) or vm_wait and retry.
 * Free of one page: push it on the current CPU's cache for its domain and
 * pool if it came from a cache-able path (PG_PCPU_CACHE) and the domain is
 * not short of pages; if the cache is full, drain a batch first.  Other
 * pages go back under the free lock to their reservation or the buddy
 * allocator.  A 2 MiB block (order VM_PGCACHE_BLOCK_ORDER) takes the same
 * steps with the current CPU's block cache of each domain: pop, else
 * refill a batch under the free lock, else one block of the buddy; its
 * free pushes, draining a batch first if the cache is full.
 */
#include "vm/vm_page.h"

#include "kern/boot.h"
#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_domain.h"
#include "vm/vm_object.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_phys.h"
#include "vm/vm_reserv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vm_domain vm_dom[MD_MAXDOMAIN];
int vm_ndomains;
/* Tag of uma slab pages (vm_page_set_uma_slab()); only its address counts. */
const char vm_page_uma_tag;

/*
 * Sleepers in vm_wait*() sleep on vm_wait_chan under vm_domainset_lock;
 * wakers take the lock after raising a free count across a threshold, so
 * a sleeper that saw the old count is queued before the wakeup.
 */
static struct mtx vm_domainset_lock;
static char vm_wait_chan;

static counter_u64_t vm_cnt_locked, vm_cnt_remote, vm_cnt_fail, vm_cnt_zeroed,
    vm_cnt_waits, vm_cnt_contig;

static const char *const vm_domain_stat_names[MD_MAXDOMAIN] = {
	"vm.stats.domain.0.free", "vm.stats.domain.1.free",
	"vm.stats.domain.2.free", "vm.stats.domain.3.free",
	"vm.stats.domain.4.free", "vm.stats.domain.5.free",
	"vm.stats.domain.6.free", "vm.stats.domain.7.free"
};

void
vm_check_fail(int *nerrp, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (*nerrp < 20) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		md_printf("vm check: %s\n", buf);
	}
	(*nerrp)++;
}

void
vm_domain_pageout_wakeup(struct vm_domain *vmd)
{
	/*
	 * The daemon tests the flag with the channel's sleep-queue chain
	 * locked, which wakeup() takes: a set flag is never missed.
	 */
	if (atomic_load_int(&vmd->vmd_pageout_wanted) == 0 &&
	    atomic_cmpset_int(&vmd->vmd_pageout_wanted, 0, 1))
		wakeup(&vmd->vmd_pageout_wanted);
}

/* Wakes vm_wait*() sleepers.  Kernel thread, no spin lock held. */
void
vm_domain_wakeup(struct vm_domain *vmd)
{
	(void)vmd;
	mtx_lock(&vm_domainset_lock);
	wakeup(&vm_wait_chan);
	mtx_unlock(&vm_domainset_lock);
}

static void
vm_page_zero(struct vm_page *m, uint64_t npages)
{
	md_page_zero(vm_page_dmap(m), ptoa(npages));
	counter_u64_add(vm_cnt_zeroed, (int64_t)npages);
}

static inline int
vm_curdomain(void)
{
	return (kern_pcpu[curcpu].pc_domain);
}

/*
 * Step 3 without the cache: one page of the free count and of the buddy
 * allocator.  Free lock held.
 */
static struct vm_page *
vm_page_alloc_locked(struct vm_domain *vmd, int pool, int req)
{
	struct vm_page *m;
	int domain = vmd->vmd_domain;

	if (!vm_domain_allocate_locked(vmd, req, 1))
		return (NULL);
	while ((m = vm_phys_alloc_pages(domain, pool, 0)) == NULL)
		if (!vm_reserv_reclaim_inactive(domain))
			VM_PANIC("%s: domain %d counts %llu free pages but has "
				 "none",
			    __func__, domain,
			    (unsigned long long)vm_domain_free_count(vmd));
	vmd->vmd_allocated++;
	counter_u64_add(vm_cnt_locked, 1);
	return (m);
}

/* Steps 1 and 3: a page of `pool' from one domain, or NULL. */
static struct vm_page *
vm_page_alloc_dom_pool(int domain, int pool, int req)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	struct vm_pgcache *pc = vm_pgcache_get(curcpu, domain, pool);
	struct vm_page *m;

	if ((m = vm_pgcache_pop(pc)) != NULL)
		return (m);
	/* A spin lock: the thread stays on this CPU until it unlocks. */
	vm_domain_free_lock(vmd);
	if (vm_pgcache_refill_locked(pc, domain, pool) > 0)
		m = vm_pgcache_pop(pc);
	else
		m = vm_page_alloc_locked(vmd, pool, req);
	vm_domain_free_unlock(vmd);
	vm_domain_pageout_check(vmd);
	return (m);
}

/* Steps 2 and 3 for one domain. */
static struct vm_page *
vm_page_alloc_dom(
    struct vm_object *object, vm_pindex_t pindex, int domain, int req)
{
	struct vm_page *m = NULL;

	if (object != NULL &&
	    (m = vm_reserv_alloc_page(object, pindex, domain, req)) != NULL)
		/* Reservation pages come out of the free count one by one. */
		vm_domain_pageout_check(VM_DOMAIN(m->domain));
	if (m == NULL) {
		m = vm_page_alloc_dom_pool(domain,
		    object != NULL ? VM_FREEPOOL_DEFAULT : VM_FREEPOOL_DIRECT,
		    req);
		if (m == NULL)
			return (NULL);
		VM_ASSERT((m->flags & PG_FREE) != 0 && m->object == NULL,
		    ("%s: free page %#llx has flags %#x object %p", __func__,
			(unsigned long long)m->phys_addr, m->flags,
			(void *)m->object));
		m->flags = PG_PCPU_CACHE;
		vm_page_set_identity(m, object, pindex);
	}
	if ((req & VM_ALLOC_ZERO) != 0)
		vm_page_zero(m, 1);
	return (m);
}

/*
 * Is the free count what failed a request of npages in the domain (-1:
 * in every domain), with pages of that domain in per-CPU caches?  Then
 * draining the caches can help; a block or run that failed for want of
 * contiguity cannot be helped that way.
 */
static bool
vm_page_drain_helps(int domain, int req, uint64_t npages)
{
	struct vm_domain *vmd;
	int d;

	for (d = 0; d < vm_ndomains; d++) {
		if (domain >= 0 && d != domain)
			continue;
		vmd = VM_DOMAIN(d);
		if (vm_domain_free_count(vmd) <
			vm_domain_floor(vmd, req) + npages &&
		    vm_pgcache_count(d) != 0)
			return (true);
		/* Cached 2 MiB blocks can also cure a want of contiguity. */
		if (npages > 1 && vm_pgcache_block_count(d) != 0)
			return (true);
	}
	return (false);
}

/*
 * Step 5: every domain failed a request of npages.  Drains the caches if
 * that can help, or sleeps if allowed; returns true if the caller should
 * try again.
 */
static bool
vm_page_alloc_retry(int domain, int req, uint64_t npages)
{
	int d;

	for (d = 0; d < vm_ndomains; d++)
		if (domain < 0 || d == domain)
			vm_domain_pageout_wakeup(VM_DOMAIN(d));
	if (vm_page_drain_helps(domain, req, npages) &&
	    vm_pgcache_drain_all() > 0)
		return (true);
	if ((req & VM_ALLOC_WAITOK) == 0) {
		counter_u64_add(vm_cnt_fail, 1);
		return (false);
	}
	if (domain >= 0)
		vm_wait_domain(domain);
	else
		vm_wait();
	return (true);
}

/* Step 4: each domain in turn (domain -1: all, the local one first). */
static struct vm_page *
vm_page_alloc_policy(
    struct vm_object *object, vm_pindex_t pindex, int domain, int req)
{
	struct vm_page *m;
	int i, n, first;

	for (;;) {
		first = domain >= 0 ? domain : vm_curdomain();
		n = domain >= 0 ? 1 : vm_ndomains;
		for (i = 0; i < n; i++) {
			m = vm_page_alloc_dom(
			    object, pindex, (first + i) % vm_ndomains, req);
			if (m != NULL) {
				if (i > 0)
					counter_u64_add(vm_cnt_remote, 1);
				return (m);
			}
		}
		if (!vm_page_alloc_retry(domain, req, 1))
			return (NULL);
	}
}

/* Everything but the inline fast path of vm_page_alloc_noobj(). */
struct vm_page *
vm_page_alloc_noobj_slow(int req)
{
	VM_ASSERT(curcpu >= 0, ("%s: not called from a CPU", __func__));
	return (vm_page_alloc_policy(NULL, 0, -1, req));
}

struct vm_page *
vm_page_alloc_noobj_domain(int domain, int req)
{
	return (vm_page_alloc_policy(NULL, 0, domain, req));
}

struct vm_page *
vm_page_alloc(struct vm_object *object, vm_pindex_t pindex, int req)
{
	return (vm_page_alloc_policy(object, pindex, -1, req));
}

struct vm_page *
vm_page_alloc_domain(
    struct vm_object *object, vm_pindex_t pindex, int domain, int req)
{
	return (vm_page_alloc_policy(object, pindex, domain, req));
}

/* Bulk step 3: as many pages as the class floor allows, from the buddy. */
static int
vm_page_alloc_bulk_dom(int domain, int req, struct vm_page **ma, int npages)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	uint64_t fc, floor;
	int got, i, n;

	vm_domain_free_lock(vmd);
	fc = vm_domain_free_count(vmd);
	floor = vm_domain_floor(vmd, req);
	n = fc <= floor			    ? 0
	    : fc - floor < (uint64_t)npages ? (int)(fc - floor)
					    : npages;
	got = vm_phys_alloc_npages(domain, VM_FREEPOOL_DIRECT, n, ma);
	while (got < n && vm_reserv_reclaim_inactive(domain))
		got += vm_phys_alloc_npages(
		    domain, VM_FREEPOOL_DIRECT, n - got, &ma[got]);
	vm_domain_freecnt_dec_locked(vmd, (uint64_t)got);
	vmd->vmd_allocated += got;
	vm_domain_free_unlock(vmd);
	vm_domain_pageout_check(vmd);
	for (i = 0; i < got; i++)
		ma[i]->flags = PG_PCPU_CACHE;
	counter_u64_add(vm_cnt_locked, got);
	return (got);
}

static int
vm_page_alloc_bulk_slow(int req, struct vm_page **ma, int npages)
{
	int got = 0, i, first;

	for (;;) {
		first = vm_curdomain();
		for (i = 0; i < vm_ndomains && got < npages; i++)
			got += vm_page_alloc_bulk_dom((first + i) % vm_ndomains,
			    req, &ma[got], npages - got);
		if (got == npages ||
		    !vm_page_alloc_retry(-1, req, (uint64_t)(npages - got)))
			return (got);
	}
}

int
vm_page_alloc_bulk(int req, struct vm_page **ma, int npages)
{
	struct vm_page **cached, *m;
	int i, n = npages;

	/* Step 1, for many pages: one pass copies them and marks them. */
	cached = vm_pgcache_pop_bulk(vm_pgcache_local[curcpu], &n);
	for (i = 0; i < n; i++) {
		m = cached[i];
		VM_ASSERT((m->flags & PG_FREE) != 0,
		    ("%s: cached page %#llx has flags %#x", __func__,
			(unsigned long long)m->phys_addr, m->flags));
		m->flags = PG_PCPU_CACHE;
		ma[i] = m;
	}
	if (__predict_false(n < npages))
		n += vm_page_alloc_bulk_slow(req, &ma[n], npages - n);
	if ((req & VM_ALLOC_ZERO) != 0)
		for (i = 0; i < n; i++)
			vm_page_zero(ma[i], 1);
	return (n);
}

/* Free to the reservation or the buddy allocator, under the free lock. */
static void
vm_page_free_toq(struct vm_page *m)
{
	struct vm_domain *vmd = VM_DOMAIN(m->domain);
	bool wake;

	/* The page's fields are written before it can be reallocated. */
	m->flags = PG_FREE;
	vm_domain_free_lock(vmd);
	if (!vm_reserv_free_page(m))
		vm_phys_free_pages(m, 0);
	vm_page_set_identity(m, NULL, m->pindex);
	wake = vm_domain_freecnt_inc_locked(vmd, 1);
	vmd->vmd_allocated--;
	vm_domain_free_unlock(vmd);
	if (wake)
		vm_domain_wakeup(vmd);
}

/*
 * The fast path failed: the cache was full, or the domain short of pages
 * (which another CPU may have changed since), or m is not cache-able.
 */
void
vm_page_free_slow(struct vm_page *m)
{
	struct vm_pgcache *pc;

	if ((m->flags & PG_PCPU_CACHE) != 0 &&
	    atomic_load_int(&vm_dom[m->domain].vmd_pgcache_bypass) == 0) {
		pc = vm_pgcache_get(curcpu, m->domain, m->pool);
		if (pc->pc_high != 0 &&
		    pcpu_load_64(&pc->pc_count) >= pc->pc_high)
			vm_pgcache_drain_batch(pc, m->domain);
		/* The drain may have slept in a wakeup: curcpu anew. */
		if (vm_page_free_cached(curcpu, m))
			return;
	}
	vm_page_free_toq(m);
}

/*
 * Pushes the run of pages ma[0..] that go to the same cache as ma[0] onto
 * the current CPU's cache, as far as there is room; returns how many.
 */
static int
vm_page_free_bulk_run(int cpu, struct vm_page **ma, int npages)
{
	struct vm_page *m = ma[0];
	struct vm_pgcache *pc;
	uint64_t count, room;
	int i, domain = m->domain, pool = m->pool;

	if ((m->flags & PG_PCPU_CACHE) == 0 ||
	    atomic_load_int(&vm_dom[domain].vmd_pgcache_bypass) != 0)
		return (0);
	pc = vm_pgcache_get(cpu, domain, pool);
	count = pcpu_load_64(&pc->pc_count);
	room = pc->pc_high > count ? pc->pc_high - count : 0;
	for (i = 0; i < npages && (uint64_t)i < room; i++) {
		m = ma[i];
		VM_ASSERT((m->flags & PG_FREE) == 0,
		    ("%s: page %#llx is already free (flags %#x)", __func__,
			(unsigned long long)m->phys_addr, m->flags));
		if (m->flags != PG_PCPU_CACHE || m->domain != domain ||
		    m->pool != pool)
			break;
		m->flags = PG_PCPU_CACHE | PG_FREE;
		if (m->object != NULL)
			vm_page_set_identity(m, NULL, m->pindex);
		pc->pc_pages[count + (uint64_t)i] = m;
	}
	pcpu_store_64(&pc->pc_count, count + (uint64_t)i);
	pcpu_add_64(&pc->pc_frees, (uint64_t)i);
	return (i);
}

void
vm_page_free_bulk(struct vm_page **ma, int npages)
{
	int cpu = curcpu, i = 0, n;

	while (i < npages) {
		n = vm_page_free_bulk_run(cpu, &ma[i], npages - i);
		if (n > 0) {
			i += n;
			continue;
		}
		vm_page_free(ma[i++]);
		/* The slow path may have slept in a wakeup. */
		cpu = curcpu;
	}
}

/* A block of 2^order pages of one domain, or NULL. */
struct vm_page *
vm_page_alloc_block_domain(int domain, int req, int order)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	struct vm_pgcache *pc = NULL;
	struct vm_page *m = NULL;
	uint64_t n = 1ull << order;
	bool wake = false;

	VM_ASSERT(order >= 0 && order < VM_NFREEORDER,
	    ("%s: order %d", __func__, order));
	if (order == VM_PGCACHE_BLOCK_ORDER) {
		/* Step 1 for blocks. */
		pc = vm_pgcache_block_get(curcpu, domain);
		if ((m = vm_pgcache_pop(pc)) != NULL)
			goto done;
	}
	/* A spin lock: the thread stays on this CPU (and pc's) until then. */
	vm_domain_free_lock(vmd);
	if (pc != NULL && vm_pgcache_block_refill_locked(pc, domain) > 0)
		m = vm_pgcache_pop(pc);
	else if (vm_domain_allocate_locked(vmd, req, n)) {
		/* Breaking a reservation cannot free a whole 2 MiB frame. */
		while ((m = vm_phys_alloc_pages(
			    domain, VM_FREEPOOL_DEFAULT, order)) == NULL &&
		    order < VM_LEVEL_0_ORDER &&
		    vm_reserv_reclaim_inactive(domain))
			;
		if (m != NULL) {
			vmd->vmd_allocated += (int64_t)n;
			atomic_store_64(
			    &vmd->vmd_nblocks, vmd->vmd_nblocks + 1);
		} else
			wake = vm_domain_freecnt_inc_locked(vmd, n);
	}
	vm_domain_free_unlock(vmd);
	if (wake)
		vm_domain_wakeup(vmd);
	vm_domain_pageout_check(vmd);
	if (m == NULL)
		return (NULL);
done:
	/* A 2 MiB block may go to a block cache when freed. */
	m->flags = pc != NULL ? PG_PCPU_CACHE : 0;
	if ((req & VM_ALLOC_ZERO) != 0)
		vm_page_zero(m, n);
	return (m);
}

struct vm_page *
vm_page_alloc_block(int req, int order)
{
	struct vm_page *m;
	int i, first;

	for (;;) {
		first = vm_curdomain();
		for (i = 0; i < vm_ndomains; i++) {
			m = vm_page_alloc_block_domain(
			    (first + i) % vm_ndomains, req, order);
			if (m != NULL)
				return (m);
		}
		if (!vm_page_alloc_retry(-1, req, 1ull << order))
			return (NULL);
	}
}

/*
 * Pushes the 2 MiB block m on the current CPU's block cache of its domain,
 * draining a batch first if the cache is full; false if the block may not
 * go there (not from vm_page_alloc_block(), the domain short of pages, or
 * no cache).
 */
static bool
vm_page_free_block_cached(struct vm_page *m)
{
	struct vm_pgcache *pc;

	if ((m->flags & PG_PCPU_CACHE) == 0 ||
	    atomic_load_int(&vm_dom[m->domain].vmd_pgcache_bypass) != 0)
		return (false);
	m->flags = PG_PCPU_CACHE | PG_FREE;
	pc = vm_pgcache_block_get(curcpu, m->domain);
	if (vm_pgcache_push(pc, m))
		return (true);
	if (pc->pc_high != 0) {
		vm_pgcache_block_drain_batch(pc, m->domain);
		/* The drain may have slept in a wakeup: curcpu anew. */
		if (vm_pgcache_push(vm_pgcache_block_get(curcpu, m->domain), m))
			return (true);
	}
	m->flags = PG_PCPU_CACHE;
	return (false);
}

void
vm_page_free_block(struct vm_page *m, int order)
{
	struct vm_domain *vmd = VM_DOMAIN(m->domain);
	uint64_t n = 1ull << order;
	bool wake;

	VM_ASSERT((m->flags & PG_FREE) == 0,
	    ("%s: block %#llx is already free (flags %#x)", __func__,
		(unsigned long long)m->phys_addr, m->flags));
	vm_page_set_identity(m, NULL, m->pindex);
	if (order == VM_PGCACHE_BLOCK_ORDER && vm_page_free_block_cached(m))
		return;
	m->flags = PG_FREE;
	vm_domain_free_lock(vmd);
	vm_phys_free_pages(m, order);
	wake = vm_domain_freecnt_inc_locked(vmd, n);
	vmd->vmd_allocated -= (int64_t)n;
	vm_domain_free_unlock(vmd);
	if (wake)
		vm_domain_wakeup(vmd);
}

struct vm_page *
vm_page_alloc_contig_domain(int domain, int req, uint64_t npages,
    vm_paddr_t low, vm_paddr_t high, uint64_t alignment, vm_paddr_t boundary)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	struct vm_page *m = NULL;
	uint64_t i;
	bool wake = false;

	vm_domain_free_lock(vmd);
	if (vm_domain_allocate_locked(vmd, req, npages)) {
		m = vm_phys_alloc_contig(
		    domain, npages, low, high, alignment, boundary);
		if (m == NULL && vm_reserv_reclaim_contig(domain, low, high))
			m = vm_phys_alloc_contig(
			    domain, npages, low, high, alignment, boundary);
		if (m != NULL)
			vmd->vmd_allocated += (int64_t)npages;
		else
			wake = vm_domain_freecnt_inc_locked(vmd, npages);
	}
	vm_domain_free_unlock(vmd);
	if (wake)
		vm_domain_wakeup(vmd);
	vm_domain_pageout_check(vmd);
	if (m == NULL)
		return (NULL);
	for (i = 0; i < npages; i++)
		m[i].flags = 0;
	if ((req & VM_ALLOC_ZERO) != 0)
		vm_page_zero(m, npages);
	counter_u64_add(vm_cnt_contig, 1);
	return (m);
}

struct vm_page *
vm_page_alloc_contig(int req, uint64_t npages, vm_paddr_t low, vm_paddr_t high,
    uint64_t alignment, vm_paddr_t boundary)
{
	struct vm_page *m;
	int i, first;

	for (;;) {
		first = vm_curdomain();
		for (i = 0; i < vm_ndomains; i++) {
			m = vm_page_alloc_contig_domain(
			    (first + i) % vm_ndomains, req, npages, low, high,
			    alignment, boundary);
			if (m != NULL)
				return (m);
		}
		if (!vm_page_alloc_retry(-1, req, npages))
			return (NULL);
	}
}

void
vm_page_free_contig(struct vm_page *m, uint64_t npages)
{
	struct vm_domain *vmd = VM_DOMAIN(m->domain);
	uint64_t i;
	bool wake;

	for (i = 0; i < npages; i++) {
		VM_ASSERT((m[i].flags & PG_FREE) == 0,
		    ("%s: page %#llx is already free (flags %#x)", __func__,
			(unsigned long long)m[i].phys_addr, m[i].flags));
		m[i].flags = PG_FREE;
		vm_page_set_identity(&m[i], NULL, m[i].pindex);
	}
	vm_domain_free_lock(vmd);
	vm_phys_free_contig(m, npages);
	wake = vm_domain_freecnt_inc_locked(vmd, npages);
	vmd->vmd_allocated -= (int64_t)npages;
	vm_domain_free_unlock(vmd);
	if (wake)
		vm_domain_wakeup(vmd);
}

bool
vm_page_count_min_domain(int domain)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);

	return (vm_domain_free_count(vmd) < vmd->vmd_free_min);
}

bool
vm_page_count_severe_domain(int domain)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);

	return (vm_domain_free_count(vmd) < vmd->vmd_free_severe);
}

/* True when every domain is below its threshold. */
static bool
vm_page_count_all(bool (*below)(int))
{
	int d;

	for (d = 0; d < vm_ndomains; d++)
		if (!below(d))
			return (false);
	return (true);
}

bool
vm_page_count_min(void)
{
	return (vm_page_count_all(vm_page_count_min_domain));
}

bool
vm_page_count_severe(void)
{
	return (vm_page_count_all(vm_page_count_severe_domain));
}

/* Sleeps while `below' holds for the domain (or every domain: -1). */
static void
vm_wait_cond(bool (*below)(int), int domain)
{
	int d;

	witness_assert_nosleep("vm_wait");
	/* The daemons of the domains waited for: they free the pages. */
	for (d = 0; d < vm_ndomains; d++)
		if ((domain < 0 || d == domain) && below(d))
			vm_domain_pageout_wakeup(VM_DOMAIN(d));
	(void)vm_pgcache_drain_all();
	mtx_lock(&vm_domainset_lock);
	while (domain >= 0 ? below(domain) : vm_page_count_all(below)) {
		counter_u64_add(vm_cnt_waits, 1);
		(void)msleep(&vm_wait_chan, &vm_domainset_lock.lock_object, 0,
		    "vmwait", 0);
	}
	mtx_unlock(&vm_domainset_lock);
}

void
vm_wait_domain(int domain)
{
	vm_wait_cond(vm_page_count_min_domain, domain);
}

void
vm_wait(void)
{
	vm_wait_cond(vm_page_count_min_domain, -1);
}

void
vm_wait_severe(void)
{
	vm_wait_cond(vm_page_count_severe_domain, -1);
}

uint64_t
vm_page_count_total(void)
{
	uint64_t n = 0;
	int d;

	for (d = 0; d < vm_ndomains; d++)
		n += vm_dom[d].vmd_page_count;
	return (n);
}

uint64_t
vm_page_free_count(void)
{
	uint64_t n = 0;
	int d;

	for (d = 0; d < vm_ndomains; d++)
		n += vm_domain_free_count(VM_DOMAIN(d));
	return (n);
}

uint64_t
vm_page_count_allocated(void)
{
	uint64_t n = vm_page_count_total() - vm_page_free_count();
	int d;

	for (d = 0; d < vm_ndomains; d++)
		n -= vm_pgcache_count(d);
	return (n);
}

/*
 * The accounting checker.  Marks, in one bitmap over the page array,
 * every page found in a per-CPU cache, a buddy block or a reservation's
 * free part; a page marked twice is in two places.  Per domain, the pages
 * not marked are the allocated ones: their number must equal what the
 * allocation paths counted (vmd_allocated plus the caches' net
 * allocations), and the free count must equal buddy + reservation-free.
 */
struct vm_page_acct {
	uint64_t *pa_bits;
	uint64_t pa_cached[MD_MAXDOMAIN];
	uint64_t pa_found; /* pages marked in the current domain */
	int pa_domain;
	int pa_nerr;
};

static void
vm_page_acct_mark(struct vm_page_acct *pa, struct vm_page *m, const char *where)
{
	uint64_t i = (uint64_t)(m - vm_page_array);

	if (m < vm_page_array || i >= vm_page_array_size ||
	    m->segind == VM_PHYSSEG_NONE) {
		vm_check_fail(&pa->pa_nerr, "acct: %s holds %p, not a page",
		    where, (void *)m);
		return;
	}
	if ((pa->pa_bits[i / 64] & (1ull << (i % 64))) != 0)
		vm_check_fail(&pa->pa_nerr,
		    "acct: page %#llx is in two places (again in %s)",
		    (unsigned long long)m->phys_addr, where);
	pa->pa_bits[i / 64] |= 1ull << (i % 64);
}

static void
vm_page_acct_cached(struct vm_page *m, int order, int cpu, void *arg)
{
	struct vm_page_acct *pa = arg;
	uint64_t i, n = 1ull << order;

	for (i = 0; i < n; i++)
		vm_page_acct_mark(pa, &m[i], "a per-CPU cache");
	if ((m->flags & (PG_FREE | PG_PCPU_CACHE)) !=
		(PG_FREE | PG_PCPU_CACHE) ||
	    m->object != NULL || m->domain >= vm_ndomains ||
	    m->order != VM_NFREEORDER ||
	    (m->phys_addr & ((PAGE_SIZE << order) - 1)) != 0)
		vm_check_fail(&pa->pa_nerr,
		    "acct: page %#llx cached (order %d) on CPU %d has flags "
		    "%#x object %p domain %u buddy order %u",
		    (unsigned long long)m->phys_addr, order, cpu, m->flags,
		    (void *)m->object, m->domain, m->order);
	else
		pa->pa_cached[m->domain] += n;
}

static void
vm_page_acct_buddy(struct vm_page *m, int order, void *arg)
{
	struct vm_page_acct *pa = arg;
	uint64_t i;

	for (i = 0; i < (1ull << order); i++)
		vm_page_acct_mark(pa, &m[i], "a buddy block");
	pa->pa_found += 1ull << order;
}

static void
vm_page_acct_reserv(struct vm_page *m, void *arg)
{
	struct vm_page_acct *pa = arg;

	vm_page_acct_mark(pa, m, "a reservation");
	pa->pa_found++;
}

static void
vm_page_check_domain(int d, struct vm_page_acct *pa)
{
	struct vm_domain *vmd = VM_DOMAIN(d);
	struct vm_reserv_counts rc;
	uint64_t buddy, fc, total = vm_phys_domain_pages(d);
	int64_t allocated, net = vm_pgcache_net_allocs(d);

	pa->pa_domain = d;
	pa->pa_found = 0;
	vm_domain_free_lock(vmd);
	vm_phys_foreach_free(d, vm_page_acct_buddy, pa);
	buddy = pa->pa_found;
	vm_reserv_foreach_free(d, vm_page_acct_reserv, pa);
	vm_reserv_counts_locked(d, &rc);
	fc = vm_domain_free_count(vmd);
	allocated = vmd->vmd_allocated + net;
	vm_domain_free_unlock(vmd);
	if (fc != buddy + rc.rc_free_pages ||
	    rc.rc_free_pages != pa->pa_found - buddy)
		vm_check_fail(&pa->pa_nerr,
		    "acct: domain %d free count %llu != buddy %llu + "
		    "reservation-free %llu (found %llu)",
		    d, (unsigned long long)fc, (unsigned long long)buddy,
		    (unsigned long long)rc.rc_free_pages,
		    (unsigned long long)(pa->pa_found - buddy));
	if (pa->pa_cached[d] != vm_pgcache_count(d) ||
	    (int64_t)total - (int64_t)(pa->pa_found + pa->pa_cached[d]) !=
		allocated)
		vm_check_fail(&pa->pa_nerr,
		    "acct: domain %d: %llu pages = %llu free + %llu cached "
		    "(caches say %llu) + allocated, but the allocators count "
		    "%lld allocated",
		    d, (unsigned long long)total,
		    (unsigned long long)pa->pa_found,
		    (unsigned long long)pa->pa_cached[d],
		    (unsigned long long)vm_pgcache_count(d),
		    (long long)allocated);
}

int
vm_page_check(void)
{
	struct vm_page_acct pa;
	int d;

	memset(&pa, 0, sizeof(pa));
	pa.pa_bits =
	    md_calloc(howmany(vm_page_array_size, 64), sizeof(uint64_t));
	if (pa.pa_bits == NULL)
		return (1);
	vm_pgcache_foreach(vm_page_acct_cached, &pa);
	for (d = 0; d < vm_ndomains; d++)
		vm_page_check_domain(d, &pa);
	md_free(pa.pa_bits);
	return (pa.pa_nerr);
}

#define VM_INTERRUPT_FREE_MIN 2
#define VM_PAGEOUT_FREE_MIN (2 * 65536 / PAGE_SIZE + VM_INTERRUPT_FREE_MIN)

/* free_reserved and free_target of a domain of P pages (vm_page.h). */
static uint64_t
vm_page_free_reserved(uint64_t p)
{
	return (32 + VM_PAGEOUT_FREE_MIN + p / 768);
}

static uint64_t
vm_page_free_target(uint64_t p)
{
	return (vm_page_free_reserved(p) + 4 * (p / 200));
}

/*
 * The fewest pages a domain works with: as many pages above the page
 * daemon's target as below it, P >= 2 * free_target(P) (138 pages).
 * Below free_reserved no normal allocation succeeds at all, and a domain
 * near its target keeps its daemon scanning.  CPUs need no pages of their
 * own: their page caches shrink with the domain (vm_pgcache.c).
 */
uint64_t
vm_page_domain_minpages(void)
{
	uint64_t p = 1;

	while (p < 2 * vm_page_free_target(p))
		p++;
	return (p);
}

/* Thresholds of a domain of P pages (formulas in vm_page.h). */
static void
vm_page_init_thresholds(struct vm_domain *vmd, uint64_t p)
{
	vmd->vmd_page_count = p;
	vmd->vmd_interrupt_free_min = VM_INTERRUPT_FREE_MIN;
	vmd->vmd_pageout_free_min = VM_PAGEOUT_FREE_MIN;
	vmd->vmd_free_reserved = vm_page_free_reserved(p);
	vmd->vmd_free_min = vmd->vmd_free_reserved + p / 200;
	vmd->vmd_free_severe = vmd->vmd_free_reserved + p / 400;
	vmd->vmd_free_target = vm_page_free_target(p);
	vmd->vmd_pageout_wakeup_thresh = vmd->vmd_free_target / 10 * 9;
	atomic_store_int(&vmd->vmd_pageout_wanted, 0);
	atomic_store_64(&vmd->vmd_free_count, p);
	atomic_store_int(&vmd->vmd_pgcache_bypass, 0);
}

/* Statistics: a sum over domains of the field at offset arg. */
static uint64_t
vm_page_stat_sum(void *arg)
{
	size_t off = (size_t)(uintptr_t)arg;
	uint64_t n = 0;
	int d;

	for (d = 0; d < vm_ndomains; d++)
		n += atomic_load_64((uint64_t *)((char *)VM_DOMAIN(d) + off));
	return (n);
}

static uint64_t
vm_page_stat_domain_free(void *arg)
{
	return (vm_domain_free_count(VM_DOMAIN((int)(uintptr_t)arg)));
}

static const struct counter_spec vm_page_counters[] = {
	{ &vm_cnt_locked, "vm.stats.page.alloc_locked",
	    "pages allocated under a domain free lock (cache misses, "
	    "reservations, bulk)" },
	{ &vm_cnt_remote, "vm.stats.page.alloc_remote",
	    "pages from a non-local domain" },
	{ &vm_cnt_fail, "vm.stats.page.alloc_fail", "allocations that failed" },
	{ &vm_cnt_zeroed, "vm.stats.page.zeroed", "pages zero-filled" },
	{ &vm_cnt_waits, "vm.stats.page.waits", "sleeps in vm_wait" },
	{ &vm_cnt_contig, "vm.stats.page.contig", "contiguous runs allocated" },
};

static int
vm_page_init_stats(void)
{
	static const struct {
		const char *name, *descr;
		size_t off;
	} sums[] = {
		{ "vm.stats.page.count", "pages of memory",
		    offsetof(struct vm_domain, vmd_page_count) },
		{ "vm.stats.page.free", "free pages (buddy + reservations)",
		    offsetof(struct vm_domain, vmd_free_count) },
		{ "vm.stats.page.free_reserved", "floor of normal allocations",
		    offsetof(struct vm_domain, vmd_free_reserved) },
		{ "vm.stats.page.free_min", "vm_wait threshold",
		    offsetof(struct vm_domain, vmd_free_min) },
		{ "vm.stats.page.free_severe", "vm_wait_severe threshold",
		    offsetof(struct vm_domain, vmd_free_severe) },
		{ "vm.stats.page.free_target", "page daemon target",
		    offsetof(struct vm_domain, vmd_free_target) },
		{ "vm.stats.page.blocks",
		    "blocks allocated by vm_page_alloc_block from the buddy "
		    "allocator (not from a per-CPU block cache)",
		    offsetof(struct vm_domain, vmd_nblocks) },
	};
	size_t i;
	int d;

	for (i = 0; i < nitems(sums); i++)
		(void)sysctl_stat_register(sums[i].name, vm_page_stat_sum,
		    (void *)sums[i].off, sums[i].descr);
	for (d = 0; d < vm_ndomains; d++)
		(void)sysctl_stat_register(vm_domain_stat_names[d],
		    vm_page_stat_domain_free, (void *)(uintptr_t)d,
		    "free pages of the domain");
	return (counter_u64_alloc_table(
	    vm_page_counters, nitems(vm_page_counters)));
}

/*
 * Is the memory enough for its domains?  Checked before anything is made:
 * a domain of fewer than vm_page_domain_minpages() pages would panic in
 * vm_phys or leave no page to allocate.
 */
static int
vm_page_check_physmem(void)
{
	uint64_t min = vm_page_domain_minpages(), size = md_phys_size();
	char a[32], b[32];
	int nd = md_ndomains();

	/* Every domain gets at least the page-rounded even share. */
	if (atop(size) / (uint64_t)nd >= min)
		return (0);
	boot_error("physmem: %s is too small for %d domain%s (at least %s: "
		   "%llu pages each, twice a domain's free-page target)",
	    sysctl_fmt_size(a, sizeof(a), size), nd, nd == 1 ? "" : "s",
	    sysctl_fmt_size(b, sizeof(b), ptoa(min * (uint64_t)nd)),
	    (unsigned long long)min);
	return (EINVAL);
}

/*
 * Boot: domains and their free locks, the physical allocator and page
 * array, thresholds and statistics.  From the booting thread before the
 * CPUs start, so only spin locks are taken.
 */
int
vm_page_startup(void)
{
	struct vm_domain *vmd;
	static const struct lock_rank ranks[] = {
		{ "vm domainset", 700, 0 },
		{ "vm domain free", 800, 0 },
	};
	int d, error;

	if ((error = witness_register(ranks, nitems(ranks))) != 0 ||
	    (error = vm_page_check_physmem()) != 0)
		return (error);
	vm_ndomains = md_ndomains();
	mtx_init(&vm_domainset_lock, "vm domainset", MTX_DEF);
	for (d = 0; d < vm_ndomains; d++) {
		vmd = VM_DOMAIN(d);
		memset(vmd, 0, sizeof(*vmd));
		vmd->vmd_domain = d;
		mtx_init(&vmd->vmd_free_mtx, "vm domain free", MTX_SPIN);
	}
	if ((error = vm_phys_init()) != 0)
		goto fail;
	for (d = 0; d < vm_ndomains; d++)
		vm_page_init_thresholds(VM_DOMAIN(d), vm_phys_domain_pages(d));
	if ((error = vm_page_init_stats()) != 0) {
		vm_phys_fini();
		goto fail;
	}
	return (0);
fail:
	for (d = 0; d < vm_ndomains; d++)
		mtx_destroy(&VM_DOMAIN(d)->vmd_free_mtx);
	mtx_destroy(&vm_domainset_lock);
	return (error);
}

void
vm_page_shutdown(void)
{
	int d;

	counter_u64_free_table(vm_page_counters, nitems(vm_page_counters));
	vm_phys_fini();
	for (d = 0; d < vm_ndomains; d++)
		mtx_destroy(&VM_DOMAIN(d)->vmd_free_mtx);
	mtx_destroy(&vm_domainset_lock);
}

/*
 * The busy lock.
 */
bool
vm_page_tryxbusy(struct vm_page *m)
{
	/* Acquire: the page's contents and identity are read after. */
	return (atomic_cmpset_int(&m->busy_lock, VPB_UNBUSIED, VPB_XBUSY));
}

bool
vm_page_trysbusy(struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	for (;;) {
		if ((x & VPB_XBUSY) != 0)
			return (false);
		/* Acquire, as above; fails if a writer got in first. */
		if (atomic_fcmpset_int(&m->busy_lock, &x, x + VPB_ONE_SHARER))
			return (true);
	}
}

bool
vm_page_xbusied(const struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	return ((x & VPB_XBUSY) != 0 && x != VPB_FREED);
}

bool
vm_page_busied(const struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	return (x != VPB_UNBUSIED && x != VPB_FREED);
}

void
vm_page_busy_downgrade(struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	VM_ASSERT(vm_page_xbusied(m),
	    ("%s: page %p busy %#x", __func__, (void *)m, m->busy_lock));
	/* Keep VPB_WAITERS: sleepers are woken by the last sharer. */
	while (!atomic_fcmpset_int(
	    &m->busy_lock, &x, VPB_ONE_SHARER | (x & VPB_WAITERS)))
		;
}

void
vm_page_xunbusy(struct vm_page *m)
{
	uint32_t x;

	VM_ASSERT(vm_page_xbusied(m),
	    ("%s: page %p busy %#x", __func__, (void *)m, m->busy_lock));
	/* Release: our writes to the page precede the next owner's reads. */
	x = atomic_swap_int(&m->busy_lock, VPB_UNBUSIED);
	if ((x & VPB_WAITERS) != 0)
		wakeup(m);
}

void
vm_page_sunbusy(struct vm_page *m)
{
	uint32_t x = atomic_load_int(&m->busy_lock);

	for (;;) {
		VM_ASSERT((x & VPB_XBUSY) == 0 && VPB_SHARERS(x) > 0,
		    ("%s: page %p busy %#x", __func__, (void *)m, x));
		if (VPB_SHARERS(x) == 1 && (x & VPB_WAITERS) != 0) {
			if (atomic_fcmpset_int(
				&m->busy_lock, &x, VPB_UNBUSIED)) {
				wakeup(m);
				return;
			}
			continue;
		}
		/* Release, as in vm_page_xunbusy(). */
		if (atomic_fcmpset_int(&m->busy_lock, &x, x - VPB_ONE_SHARER))
			return;
	}
}

/*
 * Sleeps until m's busy state changes.  The waiters bit is set with the
 * page's sleep-queue chain locked, so an unbusy, which wakes the channel
 * after clearing the word, cannot slip between the test and the sleep.
 */
void
vm_page_busy_sleep(struct vm_page *m, struct vm_object *obj)
{
	vm_page_busy_sleep_mode(m, obj, false);
}

/* The same with obj read-locked (`shared') or write-locked. */
void
vm_page_busy_sleep_mode(struct vm_page *m, struct vm_object *obj, bool shared)
{
	uint32_t x;

	sleepq_lock(m);
	x = atomic_load_int(&m->busy_lock);
	for (;;) {
		if (x == VPB_UNBUSIED || x == VPB_FREED) {
			sleepq_release(m);
			if (shared)
				vm_object_runlock(obj);
			else
				vm_object_unlock(obj);
			return;
		}
		if ((x & VPB_WAITERS) != 0 ||
		    atomic_fcmpset_int(&m->busy_lock, &x, x | VPB_WAITERS))
			break;
	}
	if (shared)
		vm_object_runlock(obj);
	else
		vm_object_unlock(obj);
	sleepq_add(m, "pgbusy", 0, 0);
	(void)sleepq_wait();
}

/*
 * Wiring.
 */
void
vm_page_wire(struct vm_page *m)
{
	if (atomic_fetchadd_int(&m->wire_count, 1) == 0 &&
	    (m->oflags & VPO_UNMANAGED) == 0)
		vm_page_dequeue_deferred(m);
}

void
vm_page_unwire(struct vm_page *m)
{
	uint32_t old = atomic_fetchadd_int(&m->wire_count, (uint32_t)-1);

	VM_ASSERT(old > 0, ("%s: page %p not wired", __func__, (void *)m));
	if (old == 1 && (m->oflags & VPO_UNMANAGED) == 0)
		vm_page_activate(m);
}
