/*
 * uma_core.c: the zone allocator (uma.h has the design, uma_int.h the
 * structures, their locking key and the conservation of items).
 *
 * Allocation, steps:
 *	1. the limit, if the zone has one (zone_limit_take());
 *	2. pop from the current CPU's alloc bucket (the fast path);
 *	3. else swap in the CPU's free bucket if it holds items;
 *	4. else trade the empty alloc bucket for a full one of the domain
 *	   cache (zone domain lock);
 *	5. else fill a bucket from the keg (keg lock), growing the keg by a
 *	   burst of pages when it has no free item (no lock held);
 *	6. debug checks, M_ZERO, ctor.
 * Free, steps: debug checks, dtor, trash; a cross-domain item goes
 * straight back to its keg; push on the CPU's free bucket; else swap
 * with an empty alloc bucket; else trade the full free bucket for an
 * empty one of the domain cache.  Every step that takes a lock (which
 * may switch, and on another CPU resume) first takes the bucket it works
 * on out of the cache, and after the lock re-reads curcpu and the cache:
 * the cache is never half written at a point where an IPI is polled or a
 * thread switched.
 */
#include "kern/counter.h"
#include "kern/lock.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "md/md_atomic.h"
#include "vm/uma.h"
#include "vm/uma_int.h"
#include "vm/vm_domain.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_phys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Pages at the start of a burst that may use the caller's class. */
#define UMA_BURST_CLASS_PAGES 4
/* Multi-page slabs: at most this many pages, at most 1/8 waste. */
#define UMA_SLAB_MAXPAGES 16
#define UMA_TRASH 0xd5

void (*uma_dbg_hook)(uma_zone_t zone, void *item, const char *what);

static int64_t uma_grow_pages_tun; /* registry's: uma.grow_pages */
static uint32_t uma_grow_pages;	   /* (a) its value (boot, run time) */
static struct mtx uma_zones_lock;  /* "uma zones" */
static TAILQ_HEAD(uma_zonelist, uma_zone) uma_zones; /* (L) */
static bool uma_allcpus[MD_MAXCPU];		     /* (c) IPI set */
static bool uma_started;			     /* (c) */

static counter_u64_t uma_grow_bursts, uma_grow_pagecnt, uma_grow_short,
    uma_reclaims, uma_reclaim_pages, uma_drains;

static const struct counter_spec uma_counters[] = {
	{ &uma_grow_bursts, "uma.stats.grow_bursts",
	    "keg growths (bursts of slab pages)" },
	{ &uma_grow_pagecnt, "uma.stats.grow_pages",
	    "slab pages allocated by bursts" },
	{ &uma_grow_short, "uma.stats.grow_short",
	    "bursts stopped early for want of pages" },
	{ &uma_reclaims, "uma.stats.reclaims", "uma_reclaim calls" },
	{ &uma_reclaim_pages, "uma.stats.reclaim_pages",
	    "slab pages given back by reclaims and zone destruction" },
	{ &uma_drains, "uma.stats.drains",
	    "drains of every CPU's buckets (IPI rounds)" },
};

static void keg_release(uma_zone_t zone, void **items, int n);
static inline void zone_free_nodtor(uma_zone_t zone, void *item);

/*
 * Domains.  The CPU's domain for its bucket cache and slabs.
 */
static inline int
uma_cpu_domain(int cpu)
{
	return (vm_ndomains > 1 ? md_cpu_domain(cpu) : 0);
}

/* The slab of an item: through its page (uma_int.h). */
static inline struct uma_slab *
item_slab(void *item)
{
	struct vm_page *m = vm_phys_dmap_to_vm_page(item);

	return (m == NULL ? NULL : (struct uma_slab *)vm_page_uma_slab(m));
}

/*
 * Debugging (VM_INVARIANTS): the debug bitmap and the trash pattern (see
 * uma.h).  Bits change by compare-and-swap, so two racing frees of one
 * item are caught as well.
 */
#ifdef VM_INVARIANTS
static void
uma_dbg_report(uma_zone_t zone, void *item, const char *what)
{
	if (uma_dbg_hook != NULL)
		uma_dbg_hook(zone, item, what);
	else
		VM_PANIC("uma: %s: item %p of zone \"%s\"", what, item,
		    zone->uz_name);
}

/* The slab and index of `item' in zone, or NULL if it is not an item. */
static struct uma_slab *
uma_dbg_slab(uma_zone_t zone, void *item, uint32_t *idxp)
{
	struct uma_slab *s = item_slab(item);
	uintptr_t off;

	if (s == NULL || s->us_zone != zone ||
	    (uintptr_t)item < (uintptr_t)s->us_data)
		return (NULL);
	off = (uintptr_t)item - (uintptr_t)s->us_data;
	if (off % zone->uz_rsize != 0 || off / zone->uz_rsize >= zone->uz_ipers)
		return (NULL);
	*idxp = (uint32_t)(off / zone->uz_rsize);
	return (s);
}

/* Marks item free; false (reported) if it must not be freed. */
static bool
uma_dbg_free(uma_zone_t zone, void *item)
{
	struct uma_slab *s;
	uint32_t idx, old, bit;

	if ((s = uma_dbg_slab(zone, item, &idx)) == NULL) {
		uma_dbg_report(zone, item, "not an item");
		return (false);
	}
	bit = 1u << (idx % 32);
	do {
		old = atomic_load_int(&s->us_dbg[idx / 32]);
		if ((old & bit) != 0) {
			uma_dbg_report(zone, item, "duplicate free");
			return (false);
		}
	} while (!atomic_cmpset_int(&s->us_dbg[idx / 32], old, old | bit));
	return (true);
}

/* Checks the trash and marks item allocated. */
static void
uma_dbg_alloc(uma_zone_t zone, void *item)
{
	struct uma_slab *s;
	const uint8_t *p = item;
	uint32_t idx, old, bit, i;

	if ((s = uma_dbg_slab(zone, item, &idx)) == NULL)
		VM_PANIC("uma: zone \"%s\" cached %p, not one of its items",
		    zone->uz_name, item);
	if (zone->uz_trash) {
		for (i = 0; i < zone->uz_size; i++) {
			if (p[i] != UMA_TRASH) {
				uma_dbg_report(zone, item, "use after free");
				break;
			}
		}
	}
	bit = 1u << (idx % 32);
	do {
		old = atomic_load_int(&s->us_dbg[idx / 32]);
		if ((old & bit) == 0)
			VM_PANIC("uma: zone \"%s\" handed out item %p twice",
			    zone->uz_name, item);
	} while (!atomic_cmpset_int(&s->us_dbg[idx / 32], old, old & ~bit));
}
#endif /* VM_INVARIANTS */

/*
 * Buckets: md_malloc'ed, uz_bucket_size entries.
 */
static struct uma_bucket *
bucket_alloc(uma_zone_t zone)
{
	struct uma_bucket *b;

	b = md_malloc(sizeof(*b) + zone->uz_bucket_size * sizeof(void *));
	if (b != NULL) {
		b->ub_cnt = 0;
		b->ub_entries = zone->uz_bucket_size;
	}
	return (b);
}

/* Puts a bucket in the domain cache: full list if it holds items. */
static void
zone_put_bucket_locked(struct uma_zone_domain *zd, struct uma_bucket *b)
{
	mtx_assert_owned(&zd->uzd_lock);
	if (b->ub_cnt > 0) {
		TAILQ_INSERT_HEAD(&zd->uzd_full, b, ub_link);
		zd->uzd_nitems += b->ub_cnt;
		zd->uzd_nbuckets++;
	} else {
		TAILQ_INSERT_HEAD(&zd->uzd_empty, b, ub_link);
		zd->uzd_nempty++;
	}
}

/* Takes a full (fullp) or empty bucket from the domain cache, or NULL. */
static struct uma_bucket *
zone_get_bucket_locked(struct uma_zone_domain *zd, bool full)
{
	struct uma_bucket *b;

	mtx_assert_owned(&zd->uzd_lock);
	if (full) {
		if ((b = TAILQ_FIRST(&zd->uzd_full)) == NULL)
			return (NULL);
		TAILQ_REMOVE(&zd->uzd_full, b, ub_link);
		zd->uzd_nitems -= b->ub_cnt;
		zd->uzd_nbuckets--;
		if (zd->uzd_nitems < zd->uzd_imin)
			zd->uzd_imin = zd->uzd_nitems;
	} else {
		if ((b = TAILQ_FIRST(&zd->uzd_empty)) == NULL)
			return (NULL);
		TAILQ_REMOVE(&zd->uzd_empty, b, ub_link);
		zd->uzd_nempty--;
	}
	return (b);
}

/* Puts `put' (if any) in the domain cache and takes a full/empty one. */
static struct uma_bucket *
zone_trade_bucket(
    uma_zone_t zone, int domain, struct uma_bucket *put, bool full)
{
	struct uma_zone_domain *zd = &zone->uz_domain[domain];
	struct uma_bucket *b;

	mtx_lock(&zd->uzd_lock);
	if (put != NULL)
		zone_put_bucket_locked(zd, put);
	b = zone_get_bucket_locked(zd, full);
	mtx_unlock(&zd->uzd_lock);
	return (b);
}

/*
 * The keg.
 */
static struct uma_slablist *
keg_slab_list(uma_zone_t zone, struct uma_keg_domain *ukd, struct uma_slab *s)
{
	if (s->us_free == zone->uz_ipers)
		return (&ukd->ukd_free);
	return (s->us_free == 0 ? &ukd->ukd_full : &ukd->ukd_part);
}

/* Moves s to the list of its new free count. */
static void
keg_relist_locked(uma_zone_t zone, struct uma_keg_domain *ukd,
    struct uma_slab *s, uint32_t oldfree)
{
	bool wasfree = oldfree == zone->uz_ipers, isfree;

	isfree = s->us_free == zone->uz_ipers;
	if (wasfree != isfree)
		ukd->ukd_nfreeslabs += isfree ? 1 : -1;
	if (wasfree != isfree || (oldfree == 0) != (s->us_free == 0)) {
		LIST_REMOVE(s, us_link);
		LIST_INSERT_HEAD(keg_slab_list(zone, ukd, s), s, us_link);
	}
}

/* Takes up to max items from the domain's slabs; returns how many. */
static int
keg_take_locked(
    uma_zone_t zone, struct uma_keg_domain *ukd, void **items, int max)
{
	struct uma_slab *s;
	uint32_t w, old, bit;
	int n = 0;

	mtx_assert_owned(&ukd->ukd_lock);
	while (n < max) {
		if ((s = LIST_FIRST(&ukd->ukd_part)) == NULL &&
		    (s = LIST_FIRST(&ukd->ukd_free)) == NULL)
			break;
		old = s->us_free;
		for (w = 0; w < zone->uz_bitwords && n < max; w++) {
			while (s->us_bits[w] != 0 && n < max) {
				bit = (uint32_t)__builtin_ctz(s->us_bits[w]);
				s->us_bits[w] &= ~(1u << bit);
				items[n++] = s->us_data +
				    (size_t)(w * 32 + bit) * zone->uz_rsize;
				s->us_free--;
			}
		}
		ukd->ukd_free_items -= old - s->us_free;
		keg_relist_locked(zone, ukd, s, old);
	}
	return (n);
}

/* Returns one item to its slab. */
static void
keg_put_locked(
    uma_zone_t zone, struct uma_keg_domain *ukd, struct uma_slab *s, void *item)
{
	uint32_t idx, old = s->us_free;

	mtx_assert_owned(&ukd->ukd_lock);
	idx = (uint32_t)(((uint8_t *)item - s->us_data) / zone->uz_rsize);
	VM_ASSERT(idx < zone->uz_ipers &&
		(s->us_bits[idx / 32] & (1u << (idx % 32))) == 0,
	    ("%s: zone %s item %p index %u already free in the keg", __func__,
		zone->uz_name, item, idx));
	s->us_bits[idx / 32] |= 1u << (idx % 32);
	s->us_free++;
	ukd->ukd_free_items++;
	keg_relist_locked(zone, ukd, s, old);
}

/*
 * Returns n items to their slabs, after fini: one lock round per run of
 * items of one domain.
 */
static void
keg_release(uma_zone_t zone, void **items, int n)
{
	struct uma_keg_domain *ukd = NULL;
	struct uma_slab *s;
	int i;

	if (zone->uz_fini != NULL)
		for (i = 0; i < n; i++)
			zone->uz_fini(items[i], (int)zone->uz_size);
	for (i = 0; i < n; i++) {
		s = item_slab(items[i]);
		VM_ASSERT(s != NULL && s->us_zone == zone,
		    ("%s: %p is not an item of zone %s", __func__, items[i],
			zone->uz_name));
		if (ukd != &zone->uz_keg[s->us_domain]) {
			if (ukd != NULL)
				mtx_unlock(&ukd->ukd_lock);
			ukd = &zone->uz_keg[s->us_domain];
			mtx_lock(&ukd->ukd_lock);
		}
		keg_put_locked(zone, ukd, s, items[i]);
	}
	if (ukd != NULL)
		mtx_unlock(&ukd->ukd_lock);
}

/* The pages of one slab, wired; NULL if the class floor says no. */
static struct vm_page *
slab_pages_alloc(uma_zone_t zone, int req)
{
	struct vm_page *m;
	uint32_t i;

	if (zone->uz_ppera == 1)
		m = vm_page_alloc_noobj(req);
	else
		m = vm_page_alloc_contig(
		    req, zone->uz_ppera, 0, vm_phys_end, PAGE_SIZE, 0);
	if (m != NULL)
		for (i = 0; i < zone->uz_ppera; i++)
			atomic_store_int(&m[i].wire_count, 1);
	return (m);
}

static void
slab_pages_free(uma_zone_t zone, struct vm_page *m)
{
	uint32_t i;

	for (i = 0; i < zone->uz_ppera; i++) {
		vm_page_set_uma_slab(&m[i], NULL);
		atomic_store_int(&m[i].wire_count, 0);
	}
	if (zone->uz_ppera == 1)
		vm_page_free(m);
	else
		vm_page_free_contig(m, zone->uz_ppera);
}

static void
slab_free(uma_zone_t zone, struct uma_slab *s)
{
	slab_pages_free(zone, s->us_page);
	md_free(s);
}

/* A slab header for pages m, every item free; NULL on ENOMEM. */
static struct uma_slab *
slab_create(uma_zone_t zone, struct vm_page *m)
{
	struct uma_slab *s;
	size_t bytes = zone->uz_bitwords * sizeof(uint32_t);
	uint32_t i;

#ifdef VM_INVARIANTS
	s = md_malloc(sizeof(*s) + 2 * bytes);
#else
	s = md_malloc(sizeof(*s) + bytes);
#endif
	if (s == NULL)
		return (NULL);
	s->us_zone = zone;
	s->us_page = m;
	s->us_data = vm_page_dmap(m);
	s->us_domain = m->domain;
	s->us_free = zone->uz_ipers;
	memset(s->us_bits, 0, bytes);
	for (i = 0; i < zone->uz_ipers; i++)
		s->us_bits[i / 32] |= 1u << (i % 32);
	s->us_dbg = NULL;
#ifdef VM_INVARIANTS
	s->us_dbg = &s->us_bits[zone->uz_bitwords];
	memcpy(s->us_dbg, s->us_bits, bytes);
	if (zone->uz_trash)
		for (i = 0; i < zone->uz_ipers; i++)
			memset(s->us_data + (size_t)i * zone->uz_rsize,
			    UMA_TRASH, zone->uz_size);
#endif
	for (i = 0; i < zone->uz_ppera; i++)
		vm_page_set_uma_slab(&m[i], s);
	return (s);
}

/*
 * A burst (uma.h): up to uma.grow_pages pages (at least one slab) as new
 * slabs on `out'; returns the pages.  The slabs that start within the
 * first UMA_BURST_CLASS_PAGES pages use the caller's class (and only the
 * first waits, with M_WAITOK, while the page daemon can help); later ones
 * VM_ALLOC_NORMAL, and the burst stops at the first failure.  No lock.
 */
static uint32_t
keg_burst(uma_zone_t zone, int flags, struct uma_slablist *out)
{
	struct uma_slab *s;
	struct vm_page *m;
	uint32_t got = 0, want = atomic_load_int(&uma_grow_pages);
	int class, req;

	class =
	    (flags & M_USE_RESERVE) != 0 ? VM_ALLOC_SYSTEM : VM_ALLOC_NORMAL;
	if (want < zone->uz_ppera)
		want = zone->uz_ppera;
	while (got < want) {
		req = got < UMA_BURST_CLASS_PAGES ? class : VM_ALLOC_NORMAL;
		if ((m = slab_pages_alloc(zone, req)) == NULL) {
			if (got == 0 && (flags & M_WAITOK) != 0 &&
			    !vm_pageout_oom_declared()) {
				vm_pageout_wait_free();
				continue;
			}
			break;
		}
		if ((s = slab_create(zone, m)) == NULL) {
			slab_pages_free(zone, m);
			break;
		}
		LIST_INSERT_HEAD(out, s, us_link);
		got += zone->uz_ppera;
	}
	if (got > 0) {
		counter_u64_add(uma_grow_bursts, 1);
		counter_u64_add(uma_grow_pagecnt, got);
		if (got < want)
			counter_u64_add(uma_grow_short, 1);
	}
	return (got);
}

/*
 * Grows the keg of `domain' by a burst unless it has free items or
 * another burst is under way (M_WAITOK waits for that one; M_NOWAIT makes
 * its own).  Returns false if no page could be had.
 */
static bool
keg_grow(uma_zone_t zone, int domain, int flags)
{
	struct uma_keg_domain *ukd = &zone->uz_keg[domain], *sk;
	struct uma_slablist new;
	struct uma_slab *s;
	uint32_t got;
	bool owner;

	mtx_lock(&ukd->ukd_lock);
	if (ukd->ukd_free_items > 0) {
		mtx_unlock(&ukd->ukd_lock);
		return (true);
	}
	if (ukd->ukd_growing && (flags & M_WAITOK) != 0) {
		ukd->ukd_growwait++;
		(void)msleep(ukd, &ukd->ukd_lock.lock_object, 0, "umagrow", 0);
		ukd->ukd_growwait--;
		mtx_unlock(&ukd->ukd_lock);
		return (true);
	}
	owner = !ukd->ukd_growing;
	ukd->ukd_growing = true;
	mtx_unlock(&ukd->ukd_lock);

	LIST_INIT(&new);
	got = keg_burst(zone, flags, &new);
	while ((s = LIST_FIRST(&new)) != NULL) {
		LIST_REMOVE(s, us_link);
		sk = &zone->uz_keg[s->us_domain];
		mtx_lock(&sk->ukd_lock);
		LIST_INSERT_HEAD(&sk->ukd_free, s, us_link);
		sk->ukd_nslabs++;
		sk->ukd_nfreeslabs++;
		sk->ukd_free_items += zone->uz_ipers;
		atomic_store_64(&sk->ukd_pages, sk->ukd_pages + zone->uz_ppera);
		mtx_unlock(&sk->ukd_lock);
	}
	if (owner) {
		mtx_lock(&ukd->ukd_lock);
		ukd->ukd_growing = false;
		if (ukd->ukd_growwait > 0)
			wakeup(ukd);
		mtx_unlock(&ukd->ukd_lock);
	}
	return (got > 0);
}

/*
 * Up to max items out of the keg (the current CPU's domain first, then
 * the others), growing it when every domain is empty, with uminit run.
 * Returns how many (0: no page, or every uminit failed).
 */
static int
keg_fetch(uma_zone_t zone, int flags, void **items, int max)
{
	struct uma_keg_domain *ukd;
	int dom, d, i, j, n;

	for (;;) {
		dom = uma_cpu_domain(md_curcpu());
		n = 0;
		for (d = 0; d < vm_ndomains && n == 0; d++) {
			ukd = &zone->uz_keg[(dom + d) % vm_ndomains];
			mtx_lock(&ukd->ukd_lock);
			n = keg_take_locked(zone, ukd, items, max);
			mtx_unlock(&ukd->ukd_lock);
		}
		if (n > 0)
			break;
		if (!keg_grow(zone, dom, flags))
			return (0);
	}
	if (zone->uz_init == NULL)
		return (n);
	for (i = j = 0; i < n; i++) {
		if (zone->uz_init(items[i], (int)zone->uz_size, flags) == 0) {
			items[j++] = items[i];
			continue;
		}
		/* Never initialised: back without fini. */
		struct uma_slab *s = item_slab(items[i]);

		ukd = &zone->uz_keg[s->us_domain];
		mtx_lock(&ukd->ukd_lock);
		keg_put_locked(zone, ukd, s, items[i]);
		mtx_unlock(&ukd->ukd_lock);
	}
	return (j);
}

/*
 * Limits (uma.h).  A waiter registers in uz_sleepers under the interlock
 * (domain 0's zone lock) and re-checks the count; a free drops the count
 * and then reads uz_sleepers.  Both sides fence between their write and
 * their read (store-load), so at least one sees the other: the waiter
 * does not sleep, or the freer wakes it (under the interlock, which the
 * waiter holds until msleep has queued it).
 */
static void
zone_limit_drop(uma_zone_t zone)
{
	struct uma_zone_domain *zd = &zone->uz_domain[0];

	atomic_add_64(&zone->uz_items, (uint64_t)-1);
	/* Store-load: our decrement before our read of uz_sleepers. */
	atomic_thread_fence_seq_cst();
	if (atomic_load_int(&zone->uz_sleepers) != 0) {
		mtx_lock(&zd->uzd_lock);
		wakeup(&zone->uz_items);
		mtx_unlock(&zd->uzd_lock);
	}
}

static bool
zone_limit_take(uma_zone_t zone, int flags)
{
	struct uma_zone_domain *zd = &zone->uz_domain[0];
	uint64_t max;

	for (;;) {
		max = atomic_load_64(&zone->uz_max);
		if (max == 0)
			return (true);
		if (atomic_fetchadd_64(&zone->uz_items, 1) < max)
			return (true);
		zone_limit_drop(zone);
		if ((flags & M_WAITOK) == 0)
			return (false);
		mtx_lock(&zd->uzd_lock);
		(void)atomic_fetchadd_int(&zone->uz_sleepers, 1);
		/* Store-load: registration before the re-check. */
		atomic_thread_fence_seq_cst();
		if (atomic_load_64(&zone->uz_items) >=
		    atomic_load_64(&zone->uz_max)) {
			atomic_add_64(&zone->uz_sleeps, 1);
			(void)msleep(&zone->uz_items, &zd->uzd_lock.lock_object,
			    0, "zonelimit", 0);
		}
		(void)atomic_fetchadd_int(&zone->uz_sleepers, (uint32_t)-1);
		mtx_unlock(&zd->uzd_lock);
	}
}

/* A new bucket filled from the keg; NULL if none could be made. */
static struct uma_bucket *
zone_bucket_fill(uma_zone_t zone, int domain, int flags, bool *emptyp)
{
	struct uma_bucket *b;

	*emptyp = false;
	if ((b = zone_trade_bucket(zone, domain, NULL, false)) == NULL &&
	    (b = bucket_alloc(zone)) == NULL)
		return (NULL);
	b->ub_cnt =
	    (uint32_t)keg_fetch(zone, flags, b->ub_bucket, (int)b->ub_entries);
	if (b->ub_cnt == 0) {
		md_free(b);
		*emptyp = true;
		return (NULL);
	}
	return (b);
}

/* One item straight from the keg (no bucket). */
static void *
zone_alloc_item(uma_zone_t zone, int flags)
{
	void *item;

	return (keg_fetch(zone, flags, &item, 1) == 1 ? item : NULL);
}

/* Steps 3-5 of an allocation; an item, or NULL. */
static void *
zone_alloc_slow(uma_zone_t zone, int flags)
{
	struct uma_cache *cache;
	struct uma_bucket *b;
	bool empty;
	int cpu;

	if (zone->uz_bucket_size == 0)
		return (zone_alloc_item(zone, flags));
	for (;;) {
		cpu = md_curcpu();
		cache = &zone->uz_cpu[cpu];
		b = cache->uc_allocbucket;
		if (b != NULL && b->ub_cnt > 0)
			return (b->ub_bucket[--b->ub_cnt]);
		if (cache->uc_freebucket != NULL &&
		    cache->uc_freebucket->ub_cnt > 0) {
			cache->uc_allocbucket = cache->uc_freebucket;
			cache->uc_freebucket = b;
			continue;
		}
		/* Out of the cache before the lock (see the top). */
		cache->uc_allocbucket = NULL;
		b = zone_trade_bucket(zone, uma_cpu_domain(cpu), b, true);
		if (b == NULL) {
			b = zone_bucket_fill(
			    zone, uma_cpu_domain(cpu), flags, &empty);
			if (b == NULL)
				return (empty ? NULL
					      : zone_alloc_item(zone, flags));
		}
		cpu = md_curcpu();
		cache = &zone->uz_cpu[cpu];
		if (cache->uc_allocbucket == NULL) {
			cache->uc_allocbucket = b;
			continue;
		}
		/* Another thread of this CPU installed one meanwhile. */
		(void)zone_trade_bucket(zone, uma_cpu_domain(cpu), b, false);
		b = NULL;
	}
}

void *
uma_zalloc_arg(uma_zone_t zone, void *arg, int flags)
{
	struct uma_cache *cache;
	struct uma_bucket *b;
	void *item;
	int cpu;

	if (__predict_false(atomic_load_64(&zone->uz_max) != 0) &&
	    !zone_limit_take(zone, flags)) {
		atomic_add_64(&zone->uz_fails, 1);
		return (NULL);
	}
	cpu = md_curcpu();
	VM_ASSERT(cpu >= 0, ("%s: not called from a CPU", __func__));
	cache = &zone->uz_cpu[cpu];
	b = cache->uc_allocbucket;
	if (__predict_true(b != NULL && b->ub_cnt > 0)) {
		item = b->ub_bucket[--b->ub_cnt];
	} else {
		item = zone_alloc_slow(zone, flags);
		if (item == NULL) {
			if (atomic_load_64(&zone->uz_max) != 0)
				zone_limit_drop(zone);
			atomic_add_64(&zone->uz_fails, 1);
			return (NULL);
		}
		cache = &zone->uz_cpu[md_curcpu()];
	}
	pcpu_add_64(&cache->uc_allocs, 1);
#ifdef VM_INVARIANTS
	uma_dbg_alloc(zone, item);
#endif
	if ((flags & M_ZERO) != 0)
		memset(item, 0, zone->uz_size);
	if (zone->uz_ctor != NULL &&
	    zone->uz_ctor(item, (int)zone->uz_size, arg, flags) != 0) {
		/* Back as a free item, without dtor. */
#ifdef VM_INVARIANTS
		(void)uma_dbg_free(zone, item);
		if (zone->uz_trash)
			memset(item, UMA_TRASH, zone->uz_size);
#endif
		zone_free_nodtor(zone, item);
		atomic_add_64(&zone->uz_fails, 1);
		return (NULL);
	}
	return (item);
}

/* The rest of a free once the bucket push missed (see the top). */
static void
zone_free_slow(uma_zone_t zone, void *item)
{
	struct uma_cache *cache;
	struct uma_bucket *b, *a;
	int cpu;

	for (;;) {
		cpu = md_curcpu();
		cache = &zone->uz_cpu[cpu];
		b = cache->uc_freebucket;
		if (b != NULL && b->ub_cnt < b->ub_entries) {
			b->ub_bucket[b->ub_cnt++] = item;
			return;
		}
		a = cache->uc_allocbucket;
		if (b != NULL && a != NULL && a->ub_cnt == 0) {
			cache->uc_allocbucket = b;
			cache->uc_freebucket = a;
			continue;
		}
		cache->uc_freebucket = NULL;
		b = zone_trade_bucket(zone, uma_cpu_domain(cpu), b, false);
		if (b == NULL && (b = bucket_alloc(zone)) == NULL) {
			keg_release(zone, &item, 1);
			return;
		}
		cache = &zone->uz_cpu[md_curcpu()];
		if (cache->uc_freebucket == NULL)
			cache->uc_freebucket = b;
		else
			md_free(b);
	}
}

/* Frees an item whose dtor (if any) ran. */
static inline void
zone_free_nodtor(uma_zone_t zone, void *item)
{
	struct uma_cache *cache;
	struct uma_bucket *b;
	struct uma_slab *s;
	int cpu;

	cpu = md_curcpu();
	VM_ASSERT(cpu >= 0, ("%s: not called from a CPU", __func__));
	cache = &zone->uz_cpu[cpu];
	pcpu_add_64(&cache->uc_frees, 1);
	if (__predict_false(atomic_load_64(&zone->uz_max) != 0))
		zone_limit_drop(zone);
	if (__predict_false(vm_ndomains > 1)) {
		s = item_slab(item);
		if (s->us_domain != (uint32_t)uma_cpu_domain(cpu)) {
			atomic_add_64(&zone->uz_xdomain, 1);
			keg_release(zone, &item, 1);
			return;
		}
	}
	b = cache->uc_freebucket;
	if (__predict_true(b != NULL && b->ub_cnt < b->ub_entries)) {
		b->ub_bucket[b->ub_cnt++] = item;
		return;
	}
	if (zone->uz_bucket_size == 0)
		keg_release(zone, &item, 1);
	else
		zone_free_slow(zone, item);
}

void
uma_zfree_arg(uma_zone_t zone, void *item, void *arg)
{
	if (item == NULL)
		return;
#ifdef VM_INVARIANTS
	if (!uma_dbg_free(zone, item))
		return;
#endif
	if (zone->uz_dtor != NULL)
		zone->uz_dtor(item, (int)zone->uz_size, arg);
#ifdef VM_INVARIANTS
	if (zone->uz_trash)
		memset(item, UMA_TRASH, zone->uz_size);
#endif
	zone_free_nodtor(zone, item);
}

/*
 * Zone creation.  Geometry: items of rsize = size rounded up to the
 * alignment; one page per slab up to PAGE_SIZE / 4 bytes, else the
 * fewest pages (up to UMA_SLAB_MAXPAGES) that waste at most 1/8, else
 * one item per slab.  Buckets: 64 entries for items of up to 64 bytes,
 * halving per factor of 4 down to 4 entries.
 */
static void
zone_geometry(uma_zone_t zone, size_t size, int align)
{
	uint64_t rsize, slab;
	uint32_t p;

	rsize = roundup2(size == 0 ? 1 : (uint64_t)size, (uint64_t)align + 1);
	zone->uz_rsize = (uint32_t)rsize;
	zone->uz_ppera = (uint32_t)howmany(rsize, PAGE_SIZE);
	if (rsize <= PAGE_SIZE / 4) {
		zone->uz_ppera = 1;
	} else {
		for (p = 1; p <= UMA_SLAB_MAXPAGES; p++) {
			slab = ptoa(p);
			if (slab >= rsize && (slab % rsize) * 8 <= slab) {
				zone->uz_ppera = p;
				break;
			}
		}
	}
	zone->uz_ipers = (uint32_t)(ptoa(zone->uz_ppera) / rsize);
	zone->uz_bitwords = howmany(zone->uz_ipers, 32);
	if ((zone->uz_flags & UMA_ZONE_NOBUCKET) != 0)
		zone->uz_bucket_size = 0;
	else if (rsize <= 64)
		zone->uz_bucket_size = 64;
	else if (rsize <= 256)
		zone->uz_bucket_size = 32;
	else if (rsize <= 1024)
		zone->uz_bucket_size = 16;
	else if (rsize <= 4096)
		zone->uz_bucket_size = 8;
	else
		zone->uz_bucket_size = 4;
}

uma_zone_t
uma_zcreate(const char *name, size_t size, uma_ctor ctor, uma_dtor dtor,
    uma_init uminit, uma_fini fini, int align, uint32_t flags)
{
	uma_zone_t zone;
	size_t bytes;
	void *mem;
	int d;

	VM_ASSERT(align >= 0 && ((uint32_t)align & ((uint32_t)align + 1)) == 0,
	    ("%s: zone %s alignment mask %#x", __func__, name, align));
	VM_ASSERT(size <= ptoa(UMA_SLAB_MAXPAGES) && size <= UINT32_MAX,
	    ("%s: zone %s item size %zu", __func__, name, size));
	if (size > ptoa(UMA_SLAB_MAXPAGES))
		return (NULL);
	bytes = sizeof(*zone) + (size_t)md_ncpus() * sizeof(struct uma_cache);
	if ((mem = md_calloc(1, bytes + MD_CACHE_LINE)) == NULL)
		return (NULL);
	zone = (uma_zone_t)roundup2((uintptr_t)mem, MD_CACHE_LINE);
	zone->uz_mem = mem;
	(void)snprintf(zone->uz_name, sizeof(zone->uz_name), "%s", name);
	zone->uz_size = (uint32_t)size;
	zone->uz_flags = flags;
	zone->uz_ctor = ctor;
	zone->uz_dtor = dtor;
	zone->uz_init = uminit;
	zone->uz_fini = fini;
	zone->uz_trash = uminit == NULL && fini == NULL;
	zone_geometry(zone, size, align);
	for (d = 0; d < MD_MAXDOMAIN; d++) {
		mtx_init(
		    &zone->uz_domain[d].uzd_lock, "uma zone domain", MTX_DEF);
		TAILQ_INIT(&zone->uz_domain[d].uzd_full);
		TAILQ_INIT(&zone->uz_domain[d].uzd_empty);
		mtx_init(&zone->uz_keg[d].ukd_lock, "uma keg", MTX_DEF);
		LIST_INIT(&zone->uz_keg[d].ukd_part);
		LIST_INIT(&zone->uz_keg[d].ukd_free);
		LIST_INIT(&zone->uz_keg[d].ukd_full);
	}
	mtx_lock(&uma_zones_lock);
	TAILQ_INSERT_TAIL(&uma_zones, zone, uz_link);
	mtx_unlock(&uma_zones_lock);
	return (zone);
}

/*
 * Draining the CPUs' buckets.  The IPI handler runs on each CPU and only
 * moves that CPU's two bucket pointers to uc_drained (the cache code
 * never leaves them half written at a poll point); the sender, after the
 * waited IPI (which orders the handlers' writes before its reads),
 * returns the buckets' items to the kegs.  The zone list is stable: the
 * sender holds uma_zones_lock throughout.
 */
static void
zone_drain_cache(uma_zone_t zone, int cpu)
{
	struct uma_cache *cache = &zone->uz_cpu[cpu];

	cache->uc_drained[0] = cache->uc_allocbucket;
	cache->uc_drained[1] = cache->uc_freebucket;
	cache->uc_allocbucket = NULL;
	cache->uc_freebucket = NULL;
}

static void
uma_drain_ipi(void *arg)
{
	uma_zone_t zone = arg, z;
	int cpu = md_curcpu();

	if (zone != NULL) {
		zone_drain_cache(zone, cpu);
		return;
	}
	TAILQ_FOREACH (z, &uma_zones, uz_link)
		zone_drain_cache(z, cpu);
}

/* Returns a bucket's items to the keg and frees it. */
static void
bucket_drain(uma_zone_t zone, struct uma_bucket *b)
{
	if (b == NULL)
		return;
	keg_release(zone, b->ub_bucket, (int)b->ub_cnt);
	md_free(b);
}

/*
 * Every CPU's buckets of `zone' (NULL: every zone) back to the kegs.
 * uma_zones_lock held; CPUs running (an IPI), or stopped (directly).
 */
static void
uma_drain_cpus(uma_zone_t zone)
{
	uma_zone_t z;
	int cpu, i;

	mtx_assert_owned(&uma_zones_lock);
	counter_u64_add(uma_drains, 1);
	md_ipi_send(uma_allcpus, uma_drain_ipi, zone, true);
	TAILQ_FOREACH (z, &uma_zones, uz_link) {
		if (zone != NULL && z != zone)
			continue;
		for (cpu = 0; cpu < md_ncpus(); cpu++)
			for (i = 0; i < 2; i++) {
				bucket_drain(z, z->uz_cpu[cpu].uc_drained[i]);
				z->uz_cpu[cpu].uc_drained[i] = NULL;
			}
	}
}

/*
 * Trims (drain: empties) the domain caches of zone, then frees its empty
 * slabs unless UMA_ZONE_NOFREE (all: even then, for uma_zdestroy).
 * Returns the pages freed.  No zone domain or keg lock held.
 */
static uint64_t
zone_reclaim(uma_zone_t zone, int req, bool all)
{
	struct uma_bucketlist list;
	struct uma_zone_domain *zd;
	struct uma_keg_domain *ukd;
	struct uma_slablist slabs;
	struct uma_bucket *b;
	struct uma_slab *s;
	uint64_t excess, pages = 0;
	int d;

	for (d = 0; d < vm_ndomains; d++) {
		zd = &zone->uz_domain[d];
		TAILQ_INIT(&list);
		mtx_lock(&zd->uzd_lock);
		excess =
		    req == UMA_RECLAIM_DRAIN ? zd->uzd_nitems : zd->uzd_imin;
		zd->uzd_wss = zd->uzd_nitems - zd->uzd_imin;
		while ((b = TAILQ_FIRST(&zd->uzd_full)) != NULL &&
		    b->ub_cnt <= excess) {
			excess -= b->ub_cnt;
			(void)zone_get_bucket_locked(zd, true);
			TAILQ_INSERT_HEAD(&list, b, ub_link);
		}
		while ((b = zone_get_bucket_locked(zd, false)) != NULL)
			TAILQ_INSERT_HEAD(&list, b, ub_link);
		zd->uzd_imin = zd->uzd_nitems;
		mtx_unlock(&zd->uzd_lock);
		while ((b = TAILQ_FIRST(&list)) != NULL) {
			TAILQ_REMOVE(&list, b, ub_link);
			bucket_drain(zone, b);
		}
	}
	if ((zone->uz_flags & UMA_ZONE_NOFREE) != 0 && !all)
		return (0);
	for (d = 0; d < vm_ndomains; d++) {
		ukd = &zone->uz_keg[d];
		LIST_INIT(&slabs);
		mtx_lock(&ukd->ukd_lock);
		while ((s = LIST_FIRST(&ukd->ukd_free)) != NULL) {
			LIST_REMOVE(s, us_link);
			LIST_INSERT_HEAD(&slabs, s, us_link);
			ukd->ukd_nslabs--;
			ukd->ukd_nfreeslabs--;
			ukd->ukd_free_items -= zone->uz_ipers;
			atomic_store_64(
			    &ukd->ukd_pages, ukd->ukd_pages - zone->uz_ppera);
			pages += zone->uz_ppera;
		}
		mtx_unlock(&ukd->ukd_lock);
		while ((s = LIST_FIRST(&slabs)) != NULL) {
			LIST_REMOVE(s, us_link);
			slab_free(zone, s);
		}
	}
	counter_u64_add(uma_reclaim_pages, (int64_t)pages);
	return (pages);
}

void
uma_zone_reclaim(uma_zone_t zone, int req)
{
	mtx_lock(&uma_zones_lock);
	counter_u64_add(uma_reclaims, 1);
	if (req == UMA_RECLAIM_DRAIN && zone->uz_bucket_size != 0)
		uma_drain_cpus(zone);
	(void)zone_reclaim(zone, req, false);
	mtx_unlock(&uma_zones_lock);
}

void
uma_reclaim(int req)
{
	uma_zone_t zone;

	mtx_lock(&uma_zones_lock);
	counter_u64_add(uma_reclaims, 1);
	if (req == UMA_RECLAIM_DRAIN && !TAILQ_EMPTY(&uma_zones))
		uma_drain_cpus(NULL);
	TAILQ_FOREACH (zone, &uma_zones, uz_link)
		(void)zone_reclaim(zone, req, false);
	mtx_unlock(&uma_zones_lock);
}

/* Items allocated now: the per-CPU counts summed (uma.h). */
static int64_t
zone_used(uma_zone_t zone)
{
	int64_t used = 0;
	int cpu;

	for (cpu = 0; cpu < md_ncpus(); cpu++)
		used += (int64_t)(pcpu_load_64(&zone->uz_cpu[cpu].uc_allocs) -
		    pcpu_load_64(&zone->uz_cpu[cpu].uc_frees));
	return (used);
}

int
uma_zone_get_cur(uma_zone_t zone)
{
	int64_t used = zone_used(zone);

	return (used < 0 ? 0 : (int)used);
}

/*
 * The count starts from the items allocated now: set a limit before the
 * zone is used or at a quiescent point.  Raising or removing a limit
 * wakes its sleepers.
 */
int
uma_zone_set_max(uma_zone_t zone, int nitems)
{
	struct uma_zone_domain *zd = &zone->uz_domain[0];

	mtx_lock(&zd->uzd_lock);
	if (nitems > 0 && atomic_load_64(&zone->uz_max) == 0)
		atomic_store_64(
		    &zone->uz_items, (uint64_t)uma_zone_get_cur(zone));
	atomic_store_64(&zone->uz_max, nitems > 0 ? (uint64_t)nitems : 0);
	wakeup(&zone->uz_items);
	mtx_unlock(&zd->uzd_lock);
	return (nitems > 0 ? nitems : 0);
}

/*
 * Destruction.  Items still allocated are a caller's bug: reported in
 * debug builds; their slabs are freed all the same.
 */
static void
zone_free_all(uma_zone_t zone)
{
	struct uma_keg_domain *ukd;
	struct uma_slab *s;
	uint64_t pages = 0;
	int d;

	for (d = 0; d < MD_MAXDOMAIN; d++) {
		ukd = &zone->uz_keg[d];
		while ((s = LIST_FIRST(&ukd->ukd_part)) != NULL ||
		    (s = LIST_FIRST(&ukd->ukd_full)) != NULL) {
			LIST_REMOVE(s, us_link);
			pages += zone->uz_ppera;
			slab_free(zone, s);
		}
		mtx_destroy(&ukd->ukd_lock);
		mtx_destroy(&zone->uz_domain[d].uzd_lock);
	}
	counter_u64_add(uma_reclaim_pages, (int64_t)pages);
	md_free(zone->uz_mem);
}

void
uma_zdestroy(uma_zone_t zone)
{
	int64_t used;

	mtx_lock(&uma_zones_lock);
	if (zone->uz_bucket_size != 0)
		uma_drain_cpus(zone);
	TAILQ_REMOVE(&uma_zones, zone, uz_link);
	mtx_unlock(&uma_zones_lock);
	(void)zone_reclaim(zone, UMA_RECLAIM_DRAIN, true);
	used = zone_used(zone);
#ifdef VM_INVARIANTS
	if (used != 0)
		md_printf("uma: zone \"%s\" destroyed with %lld items "
			  "allocated\n",
		    zone->uz_name, (long long)used);
#endif
	(void)used;
	zone_free_all(zone);
}

/*
 * Statistics.
 */
static void
zone_stats(uma_zone_t zone, struct uma_zone_stats *st)
{
	struct uma_keg_domain *ukd;
	uint64_t slabs = 0, pages = 0, reqs = 0;
	int64_t used = zone_used(zone);
	int cpu, d;

	memset(st, 0, sizeof(*st));
	memcpy(st->name, zone->uz_name, sizeof(st->name));
	st->size = zone->uz_size;
	for (d = 0; d < vm_ndomains; d++) {
		ukd = &zone->uz_keg[d];
		mtx_lock(&ukd->ukd_lock);
		slabs += ukd->ukd_nslabs;
		pages += ukd->ukd_pages;
		mtx_unlock(&ukd->ukd_lock);
	}
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		reqs += pcpu_load_64(&zone->uz_cpu[cpu].uc_allocs);
	st->limit = atomic_load_64(&zone->uz_max);
	st->used = used < 0 ? 0 : (uint64_t)used;
	st->free = slabs * zone->uz_ipers > st->used
	    ? slabs * zone->uz_ipers - st->used
	    : 0;
	st->requests = reqs;
	st->fails = atomic_load_64(&zone->uz_fails);
	st->sleeps = atomic_load_64(&zone->uz_sleeps);
	st->xdomain = atomic_load_64(&zone->uz_xdomain);
	st->pages = pages;
}

int
uma_zone_foreach(void (*fn)(const struct uma_zone_stats *, void *), void *arg)
{
	struct uma_zone_stats st;
	uma_zone_t zone;
	int n = 0;

	if (!uma_started)
		return (0);
	mtx_lock(&uma_zones_lock);
	TAILQ_FOREACH (zone, &uma_zones, uz_link) {
		zone_stats(zone, &st);
		fn(&st, arg);
		n++;
	}
	mtx_unlock(&uma_zones_lock);
	return (n);
}

/*
 * The checker (uma_int.h's conservation).  Each CPU counts the items of
 * its own buckets in an IPI handler (read only) and checks that they are
 * items of the zone, free in the debug bitmap.
 */
struct uma_check_req {
	uma_zone_t cr_zone;
	uint64_t cr_cached[MD_MAXCPU];
	uint64_t cr_bad[MD_MAXCPU];
};

/* Whether item is an item of zone that counts as free (debug bit). */
static bool
uma_check_cached_item(uma_zone_t zone, void *item)
{
	struct uma_slab *s = item_slab(item);
	uint32_t idx;

	if (s == NULL || s->us_zone != zone)
		return (false);
	idx = (uint32_t)(((uint8_t *)item - s->us_data) / zone->uz_rsize);
	if (s->us_dbg != NULL &&
	    (atomic_load_int(&s->us_dbg[idx / 32]) & (1u << (idx % 32))) == 0)
		return (false);
	return (true);
}

static void
uma_check_bucket(
    uma_zone_t zone, struct uma_bucket *b, uint64_t *cached, uint64_t *bad)
{
	uint32_t i;

	if (b == NULL)
		return;
	if (b->ub_cnt > b->ub_entries)
		(*bad)++;
	for (i = 0; i < b->ub_cnt && i < b->ub_entries; i++)
		if (!uma_check_cached_item(zone, b->ub_bucket[i]))
			(*bad)++;
	*cached += b->ub_cnt;
}

static void
uma_check_ipi(void *arg)
{
	struct uma_check_req *cr = arg;
	struct uma_cache *cache;
	int cpu = md_curcpu();

	cache = &cr->cr_zone->uz_cpu[cpu];
	cr->cr_cached[cpu] = cr->cr_bad[cpu] = 0;
	uma_check_bucket(cr->cr_zone, cache->uc_allocbucket,
	    &cr->cr_cached[cpu], &cr->cr_bad[cpu]);
	uma_check_bucket(cr->cr_zone, cache->uc_freebucket, &cr->cr_cached[cpu],
	    &cr->cr_bad[cpu]);
}

/* One domain of the keg; adds its slabs, free items and debug-free. */
static void
uma_check_keg(int *nerrp, uma_zone_t zone, int d, uint64_t *slabsp,
    uint64_t *freep, uint64_t *dbgfreep)
{
	struct uma_keg_domain *ukd = &zone->uz_keg[d];
	struct uma_slablist *lists[3] = { &ukd->ukd_part, &ukd->ukd_free,
		&ukd->ukd_full };
	struct uma_slab *s;
	uint64_t nslabs = 0, nfree = 0, nfreeslabs = 0;
	uint32_t w, bits, i;
	int l;

	mtx_lock(&ukd->ukd_lock);
	for (l = 0; l < 3; l++) {
		LIST_FOREACH (s, lists[l], us_link) {
			for (w = 0, bits = 0; w < zone->uz_bitwords; w++)
				bits +=
				    (uint32_t)__builtin_popcount(s->us_bits[w]);
			if (bits != s->us_free ||
			    keg_slab_list(zone, ukd, s) != lists[l] ||
			    s->us_domain != (uint32_t)d)
				vm_check_fail(nerrp,
				    "uma: zone %s slab %p: %u bits set, "
				    "us_free %u, list %d, domain %u (keg %d)",
				    zone->uz_name, (void *)s, bits, s->us_free,
				    l, s->us_domain, d);
			for (i = 0; i < zone->uz_ppera; i++)
				if (vm_page_uma_slab(&s->us_page[i]) != s)
					vm_check_fail(nerrp,
					    "uma: zone %s slab %p: page %u "
					    "does not point at it",
					    zone->uz_name, (void *)s, i);
			for (w = 0; s->us_dbg != NULL && w < zone->uz_bitwords;
			     w++) {
				if ((s->us_bits[w] & ~s->us_dbg[w]) != 0)
					vm_check_fail(nerrp,
					    "uma: zone %s slab %p: items free "
					    "in the keg but allocated in the "
					    "debug bitmap (word %u)",
					    zone->uz_name, (void *)s, w);
				*dbgfreep +=
				    (uint32_t)__builtin_popcount(s->us_dbg[w]);
			}
			nslabs++;
			nfree += s->us_free;
			nfreeslabs += l == 1;
		}
	}
	if (nslabs != ukd->ukd_nslabs || nfree != ukd->ukd_free_items ||
	    nfreeslabs != ukd->ukd_nfreeslabs ||
	    ukd->ukd_pages != nslabs * zone->uz_ppera)
		vm_check_fail(nerrp,
		    "uma: zone %s domain %d: %llu slabs (%llu counted), %llu "
		    "free items (%llu), %llu free slabs (%llu), %llu pages",
		    zone->uz_name, d, (unsigned long long)nslabs,
		    (unsigned long long)ukd->ukd_nslabs,
		    (unsigned long long)nfree,
		    (unsigned long long)ukd->ukd_free_items,
		    (unsigned long long)nfreeslabs,
		    (unsigned long long)ukd->ukd_nfreeslabs,
		    (unsigned long long)ukd->ukd_pages);
	mtx_unlock(&ukd->ukd_lock);
	*slabsp += nslabs;
	*freep += nfree;
}

/* The domain caches; returns the items they hold. */
static uint64_t
uma_check_zone_domain(int *nerrp, uma_zone_t zone, int d)
{
	struct uma_zone_domain *zd = &zone->uz_domain[d];
	struct uma_bucket *b;
	uint64_t items = 0, bad = 0, n = 0, nb = 0;

	mtx_lock(&zd->uzd_lock);
	TAILQ_FOREACH (b, &zd->uzd_full, ub_link) {
		if (b->ub_cnt == 0)
			bad++;
		uma_check_bucket(zone, b, &items, &bad);
		nb++;
	}
	TAILQ_FOREACH (b, &zd->uzd_empty, ub_link) {
		if (b->ub_cnt != 0)
			bad++;
		n++;
	}
	if (bad != 0 || items != zd->uzd_nitems || nb != zd->uzd_nbuckets ||
	    n != zd->uzd_nempty || zd->uzd_imin > zd->uzd_nitems)
		vm_check_fail(nerrp,
		    "uma: zone %s domain cache %d: %llu bad items, %llu items "
		    "(%llu counted), %llu full and %llu empty buckets",
		    zone->uz_name, d, (unsigned long long)bad,
		    (unsigned long long)items,
		    (unsigned long long)zd->uzd_nitems, (unsigned long long)nb,
		    (unsigned long long)n);
	mtx_unlock(&zd->uzd_lock);
	return (items);
}

static void
uma_check_zone(int *nerrp, uma_zone_t zone, struct uma_check_req *cr)
{
	uint64_t slabs = 0, kfree = 0, dbgfree = 0, cached = 0, bad = 0;
	int64_t used;
	int cpu, d;

	cr->cr_zone = zone;
	md_ipi_send(uma_allcpus, uma_check_ipi, cr, true);
	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		cached += cr->cr_cached[cpu];
		bad += cr->cr_bad[cpu];
	}
	if (bad != 0)
		vm_check_fail(nerrp,
		    "uma: zone %s: %llu bad items in per-CPU buckets",
		    zone->uz_name, (unsigned long long)bad);
	for (d = 0; d < vm_ndomains; d++) {
		cached += uma_check_zone_domain(nerrp, zone, d);
		uma_check_keg(nerrp, zone, d, &slabs, &kfree, &dbgfree);
	}
	used = zone_used(zone);
	if (used < 0 ||
	    slabs * zone->uz_ipers != kfree + cached + (uint64_t)used)
		vm_check_fail(nerrp,
		    "uma: zone %s: %llu slabs of %u items != %llu free in "
		    "slabs + %llu cached + %lld used",
		    zone->uz_name, (unsigned long long)slabs, zone->uz_ipers,
		    (unsigned long long)kfree, (unsigned long long)cached,
		    (long long)used);
#ifdef VM_INVARIANTS
	if (dbgfree != kfree + cached)
		vm_check_fail(nerrp,
		    "uma: zone %s: %llu items free in the debug bitmaps, "
		    "%llu in slabs and buckets",
		    zone->uz_name, (unsigned long long)dbgfree,
		    (unsigned long long)(kfree + cached));
#endif
	if (atomic_load_64(&zone->uz_max) != 0 &&
	    atomic_load_64(&zone->uz_items) != (uint64_t)used)
		vm_check_fail(nerrp,
		    "uma: zone %s: limit count %llu, used %lld", zone->uz_name,
		    (unsigned long long)atomic_load_64(&zone->uz_items),
		    (long long)used);
}

int
uma_check(void)
{
	struct uma_check_req *cr;
	uma_zone_t zone;
	int nerr = 0;

	if (!uma_started)
		return (0);
	if ((cr = md_malloc(sizeof(*cr))) == NULL) {
		vm_check_fail(&nerr, "uma_check: no memory");
		return (nerr);
	}
	mtx_lock(&uma_zones_lock);
	TAILQ_FOREACH (zone, &uma_zones, uz_link)
		uma_check_zone(&nerr, zone, cr);
	mtx_unlock(&uma_zones_lock);
	md_free(cr);
	return (nerr);
}

/*
 * Boot.  uma_startup() (before the CPUs run): lock ranks, counters, the
 * zone list.  uma_shutdown() (stop step, a kernel thread before the CPUs
 * halt): destroys the zones left, reporting them in debug builds.
 * uma_fini() frees what remains after a boot that failed later.
 */
/* Run-time change of uma.grow_pages: the next burst uses it. */
static int
uma_set_grow_pages(int64_t value, void *arg)
{
	(void)arg;
	atomic_store_int(&uma_grow_pages, (uint32_t)value);
	return (0);
}

int
uma_tunables(void)
{
	int error;

	if ((error = tunable_int_register("uma.grow_pages", &uma_grow_pages_tun,
		 32, 1, 64,
		 "pages a keg grows by at once (a burst); the first 4 may use "
		 "the caller's reserve class")) != 0)
		return (error);
	return (
	    tunable_set_handler("uma.grow_pages", uma_set_grow_pages, NULL));
}

/* The page daemon's low-memory call (vm_pageout_lowmem_register()). */
static void
uma_lowmem(bool severe)
{
	uma_reclaim(severe ? UMA_RECLAIM_DRAIN : UMA_RECLAIM_TRIM);
}

int
uma_startup(void)
{
	static const struct lock_rank ranks[] = {
		{ "uma zones", 740, 0 },
		{ "uma zone domain", 750, 0 },
		{ "uma keg", 760, 0 },
	};
	int cpu, error;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	if ((error = counter_u64_alloc_table(
		 uma_counters, nitems(uma_counters))) != 0)
		return (error);
	atomic_store_int(&uma_grow_pages, (uint32_t)uma_grow_pages_tun);
	mtx_init(&uma_zones_lock, "uma zones", MTX_DEF);
	TAILQ_INIT(&uma_zones);
	for (cpu = 0; cpu < MD_MAXCPU; cpu++)
		uma_allcpus[cpu] = cpu < md_ncpus();
	if ((error = vm_pageout_lowmem_register(uma_lowmem)) != 0)
		return (error);
	uma_started = true;
	return (0);
}

void
uma_stop(void)
{
	uma_zone_t zone;

	while ((zone = TAILQ_FIRST(&uma_zones)) != NULL) {
#ifdef VM_INVARIANTS
		md_printf("uma: zone \"%s\" left at shutdown (%d items "
			  "allocated)\n",
		    zone->uz_name, uma_zone_get_cur(zone));
#endif
		uma_zdestroy(zone);
	}
}

void
uma_shutdown(void)
{
	uma_zone_t zone;
	struct uma_keg_domain *ukd;
	struct uma_bucket *b;
	struct uma_slab *s;
	int cpu, d;

	/* Only after a failed boot: the pages go with the page array. */
	while ((zone = TAILQ_FIRST(&uma_zones)) != NULL) {
		TAILQ_REMOVE(&uma_zones, zone, uz_link);
		for (cpu = 0; cpu < md_ncpus(); cpu++) {
			md_free(zone->uz_cpu[cpu].uc_allocbucket);
			md_free(zone->uz_cpu[cpu].uc_freebucket);
		}
		for (d = 0; d < MD_MAXDOMAIN; d++) {
			while ((b = TAILQ_FIRST(
				    &zone->uz_domain[d].uzd_full)) != NULL) {
				TAILQ_REMOVE(
				    &zone->uz_domain[d].uzd_full, b, ub_link);
				md_free(b);
			}
			while ((b = TAILQ_FIRST(
				    &zone->uz_domain[d].uzd_empty)) != NULL) {
				TAILQ_REMOVE(
				    &zone->uz_domain[d].uzd_empty, b, ub_link);
				md_free(b);
			}
			ukd = &zone->uz_keg[d];
			while ((s = LIST_FIRST(&ukd->ukd_part)) != NULL ||
			    (s = LIST_FIRST(&ukd->ukd_full)) != NULL ||
			    (s = LIST_FIRST(&ukd->ukd_free)) != NULL) {
				LIST_REMOVE(s, us_link);
				md_free(s);
			}
			mtx_destroy(&ukd->ukd_lock);
			mtx_destroy(&zone->uz_domain[d].uzd_lock);
		}
		md_free(zone->uz_mem);
	}
	if (uma_started) {
		mtx_destroy(&uma_zones_lock);
		counter_u64_free_table(uma_counters, nitems(uma_counters));
		uma_started = false;
	}
}
