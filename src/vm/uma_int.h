/*
 * uma_int.h: the zone allocator's structures (uma.h has the design).
 *
 * Where a zone's items are.  Each item of each slab is in exactly one of:
 *	1. the slab's free bitmap (us_bits bit set): free in the keg;
 *	2. a bucket: a CPU's alloc or free bucket, a full bucket of a domain
 *	   cache, or a bucket in the hands of a thread between the two;
 *	3. allocated: handed to a caller by uma_zalloc() and not freed.
 * Hence, at a quiescent point, for every zone:
 *	uz_ipers x slabs = keg free (sum of us_free) + cached + used
 * where used = sum over CPUs of (uc_allocs - uc_frees) and cached = items
 * in buckets; uma_check() verifies it, and per slab that us_free is the
 * number of set bits and that the slab is on the list its count says:
 * free (us_free == uz_ipers), full (0) or partial.
 *
 * Locking key:
 *	(c) constant after creation
 *	(x) the CPU owning the cache (its threads; its drain IPI handler
 *	    moves the two bucket pointers)
 *	(z) the zone domain lock uzd_lock ("uma zone domain")
 *	(k) the keg domain lock ukd_lock ("uma keg")
 *	(L) uma_zones_lock ("uma zones")
 *	(a) atomic
 *	(t) the thread holding the bucket (not in any cache)
 * Lock order: "uma zones" (740) -> "uma zone domain" (750) -> "uma keg"
 * (760) -> "vm domain free" (800); no uma lock is held while a ctor,
 * dtor, uminit or fini runs, nor across vm_page_alloc*() that may sleep.
 */
#ifndef VMLAB_VM_UMA_INT_H
#define VMLAB_VM_UMA_INT_H

#include "kern/mutex.h"
#include "kern/queue.h"
#include "vm/uma.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_page;

/* An array of free items; the top is ub_bucket[ub_cnt - 1]. */
struct uma_bucket {
	TAILQ_ENTRY(uma_bucket) ub_link; /* (z) domain cache list */
	uint32_t ub_cnt;		 /* (x,z,t) items held */
	uint32_t ub_entries;		 /* (c) capacity */
	void *ub_bucket[];		 /* (x,z,t) */
};
TAILQ_HEAD(uma_bucketlist, uma_bucket);

/*
 * One CPU's cache.  uc_allocs and uc_frees count that CPU's successful
 * allocations and frees (plain per-CPU stores; others read them).
 */
struct uma_cache {
	struct uma_bucket *uc_allocbucket; /* (x) */
	struct uma_bucket *uc_freebucket;  /* (x) */
	struct uma_bucket *uc_drained[2];  /* (x) detached by a drain IPI */
	uint64_t uc_allocs;		   /* (x,a) */
	uint64_t uc_frees;		   /* (x,a) */
} __aligned(MD_CACHE_LINE);

/*
 * A domain's bucket cache.  Working set: uzd_imin is the least uzd_nitems
 * since the last trim, the items nobody needed over the interval; a trim
 * frees that many items' worth of full buckets and restarts the interval.
 */
struct uma_zone_domain {
	struct mtx uzd_lock;
	struct uma_bucketlist uzd_full;	 /* (z) full buckets */
	struct uma_bucketlist uzd_empty; /* (z) empty buckets */
	uint64_t uzd_nitems;		 /* (z) items in uzd_full */
	uint64_t uzd_nbuckets;		 /* (z) buckets on uzd_full */
	uint64_t uzd_nempty;		 /* (z) buckets on uzd_empty */
	uint64_t uzd_imin;		 /* (z) least uzd_nitems, interval */
	uint64_t uzd_wss;		 /* (z) working set at the last trim */
} __aligned(MD_CACHE_LINE);

/*
 * A slab: uz_ppera pages holding uz_ipers items of uz_rsize bytes from
 * us_data.  The header is off-page (md_malloc).  us_dbg (debug builds)
 * has a bit set for every item not allocated to a caller (in the keg or
 * a bucket).
 */
struct uma_slab {
	LIST_ENTRY(uma_slab) us_link; /* (k) on a keg list */
	struct uma_zone *us_zone;     /* (c) */
	uint8_t *us_data;	      /* (c) first item (direct map) */
	struct vm_page *us_page;      /* (c) first page */
	uint32_t us_free;	      /* (k) set bits of us_bits */
	uint32_t us_domain;	      /* (c) domain of the pages */
	uint32_t *us_dbg;	      /* (a) debug bitmap, or NULL */
	uint32_t us_bits[];	      /* (k) free bitmap, 1: free */
};
LIST_HEAD(uma_slablist, uma_slab);

/* A domain's part of the keg. */
struct uma_keg_domain {
	struct mtx ukd_lock;
	struct uma_slablist ukd_part; /* (k) some items free */
	struct uma_slablist ukd_free; /* (k) every item free */
	struct uma_slablist ukd_full; /* (k) no item free */
	uint64_t ukd_nslabs;	      /* (k) */
	uint64_t ukd_nfreeslabs;      /* (k) slabs on ukd_free */
	uint64_t ukd_free_items;      /* (k) sum of us_free */
	uint64_t ukd_pages;	      /* (k,a) pages of its slabs */
	bool ukd_growing;	      /* (k) a burst is under way */
	uint32_t ukd_growwait;	      /* (k) threads waiting for it */
} __aligned(MD_CACHE_LINE);

struct uma_zone {
	TAILQ_ENTRY(uma_zone) uz_link; /* (L) the zone list */
	char uz_name[32];	       /* (c) */
	void *uz_mem;		       /* (c) md_malloc'ed block */
	uint32_t uz_size;	       /* (c) item size asked for */
	uint32_t uz_rsize;	       /* (c) item stride in a slab */
	uint32_t uz_flags;	       /* (c) UMA_ZONE_* */
	uint32_t uz_ipers;	       /* (c) items per slab */
	uint32_t uz_ppera;	       /* (c) pages per slab */
	uint32_t uz_bitwords;	       /* (c) words of a slab bitmap */
	uint32_t uz_bucket_size;       /* (c) 0: no buckets */
	bool uz_trash;		       /* (c) debug: trash-fill free items */
	uma_ctor uz_ctor;	       /* (c) */
	uma_dtor uz_dtor;	       /* (c) */
	uma_init uz_init;	       /* (c) */
	uma_fini uz_fini;	       /* (c) */
	uint64_t uz_max;	       /* (a) limit, 0: none */
	uint64_t uz_items;	       /* (a) allocated, kept while limited */
	uint32_t uz_sleepers;	       /* (a) threads waiting on the limit */
	uint64_t uz_fails;	       /* (a) */
	uint64_t uz_sleeps;	       /* (a) */
	uint64_t uz_xdomain;	       /* (a) */
	struct uma_zone_domain uz_domain[MD_MAXDOMAIN];
	struct uma_keg_domain uz_keg[MD_MAXDOMAIN];
	struct uma_cache uz_cpu[]; /* one per CPU */
};

#endif /* !VMLAB_VM_UMA_INT_H */
