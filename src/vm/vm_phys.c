/*
 * vm_phys.c: the buddy allocator, segments and page lookup (see vm_phys.h).
 *
 * Allocation of a block of order o from pool p of a domain:
 *	1. For each freelist (default, then low memory), take the first block
 *	   of the smallest order >= o on pool p's lists; split it, putting
 *	   the upper halves back on the lists of the orders below.
 *	2. If pool p is empty, take the largest block of another pool,
 *	   convert all its pages to pool p, and split it as in step 1.
 * Freeing a block of order o:
 *	1. While the buddy (address xor 2^o pages) lies in the segment and is
 *	   the first page of a free block of order o, take the buddy off its
 *	   list (converting it to our pool if needed) and merge: o + 1.
 *	2. Put the merged block on its list.
 * Contiguous allocation in [low, high) with alignment and boundary:
 *	1. Look for a single free block containing a fitting run (fast).
 *	2. Otherwise map the free pages of each segment in a bitmap and scan
 *	   for a run, which may span several blocks (complete: if a fitting
 *	   run of free pages exists, it is found).
 *	3. Carve the run out; the pieces of the blocks before and after it go
 *	   back on the lists without merging (their buddies hold the run).
 */
#include "vm/vm_phys.h"

#include "kern/kassert.h"
#include "kern/sysctl.h"
#include "vm/vm_domain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct vm_phys_seg vm_phys_segs[VM_PHYSSEG_MAX];
int vm_phys_nsegs;
struct vm_page *vm_page_array;
uint64_t vm_page_array_size;
bool vm_phys_sparse;
vm_paddr_t vm_phys_end;

/*
 * Per-domain free lists and counts, one structure per domain so that two
 * domains' free locks never share the cache lines they protect.
 */
struct vm_phys_domain {
	/* (f) lists: [freelist][pool][order] */
	struct vm_freelist pd_queues[VM_NFREELIST][VM_NFREEPOOL][VM_NFREEORDER];
	uint64_t pd_nfree;  /* (f) pages in free blocks */
	uint64_t pd_npages; /* (c) pages in the domain's segments */
} __aligned(MD_CACHE_LINE);

static struct vm_phys_domain vm_phys_dom[MD_MAXDOMAIN];

static int64_t vm_phys_sparse_tun;
static int64_t vm_phys_segments_tun;
static int64_t vm_phys_lowmem_tun;

int
vm_phys_tunables(void)
{
	int error;

	if ((error = tunable_int_register("vm.phys.sparse", &vm_phys_sparse_tun,
		 0, 0, 1,
		 "page lookup: 0 one dense array over the arena, 1 sparse "
		 "(binary search of the segments)")) != 0)
		return (error);
	if ((error = tunable_int_register("vm.phys.segments",
		 &vm_phys_segments_tun, 1, 1, 16,
		 "memory segments per domain, with a hole between "
		 "consecutive ones")) != 0)
		return (error);
	return (tunable_int_register("vm.phys.lowmem", &vm_phys_lowmem_tun,
	    16ll << 20, 0, 1ll << 40,
	    "pages below this address form the low-memory free list, used "
	    "last (0: none)"));
}

/* Largest order of an aligned block starting at pa within npages. */
static int
vm_phys_max_order(vm_paddr_t pa, uint64_t npages)
{
	int order = VM_MAXORDER, o;

	if (atop(pa) != 0 && (o = __builtin_ctzll(atop(pa))) < order)
		order = o;
	o = 63 - __builtin_clzll(npages);
	return (o < order ? o : order);
}

static struct vm_phys_seg *
vm_phys_seg_of_page(const struct vm_page *m)
{
	VM_ASSERT(m->segind < vm_phys_nsegs,
	    ("%s: page %p (pa %#llx) has no segment (%u)", __func__,
		(const void *)m, (unsigned long long)m->phys_addr, m->segind));
	return (&vm_phys_segs[m->segind]);
}

static inline struct vm_freelist *
vm_phys_lists(int domain, int freelist, int pool)
{
	return (vm_phys_dom[domain].pd_queues[freelist][pool]);
}

static inline void
vm_freelist_add(struct vm_freelist *fl, struct vm_page *m, int order)
{
	m->order = (uint8_t)order;
	TAILQ_INSERT_HEAD(&fl[order].fl_pl, m, listq);
	fl[order].fl_cnt++;
	vm_phys_dom[m->domain].pd_nfree += 1ull << order;
}

static inline void
vm_freelist_rem(struct vm_freelist *fl, struct vm_page *m, int order)
{
	VM_ASSERT(m->order == order,
	    ("%s: page %#llx has order %u, not %d", __func__,
		(unsigned long long)m->phys_addr, m->order, order));
	TAILQ_REMOVE(&fl[order].fl_pl, m, listq);
	fl[order].fl_cnt--;
	m->order = VM_NFREEORDER;
	vm_phys_dom[m->domain].pd_nfree -= 1ull << order;
}

/* Gives every page of the block [m, m + 2^order) to pool `pool'. */
static void
vm_phys_set_pool(int pool, struct vm_page *m, int order)
{
	uint64_t i, n = 1ull << order;

	for (i = 0; i < n; i++)
		m[i].pool = (uint8_t)pool;
}

/* Splits the block [m, m + 2^oind) down to order `order' (step 1). */
static void
vm_phys_split_pages(
    struct vm_page *m, int oind, struct vm_freelist *fl, int order)
{
	while (oind > order) {
		oind--;
		vm_freelist_add(fl, &m[1ull << oind], oind);
	}
}

/*
 * Puts the run [m, m + npages) on the lists `fl' as maximal aligned
 * blocks, without merging: the caller knows the neighbours are not free
 * buddies (they hold pages just allocated).
 */
static void
vm_phys_enq_range(struct vm_page *m, uint64_t npages, struct vm_freelist *fl)
{
	int order;

	while (npages > 0) {
		order = vm_phys_max_order(m->phys_addr, npages);
		vm_freelist_add(fl, m, order);
		m += 1ull << order;
		npages -= 1ull << order;
	}
}

struct vm_page *
vm_phys_alloc_freelist_pages(int domain, int freelist, int pool, int order)
{
	struct vm_freelist *fl, *alt;
	struct vm_page *m;
	int oind, pind;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	VM_ASSERT(order >= 0 && order < VM_NFREEORDER && pool >= 0 &&
		pool < VM_NFREEPOOL,
	    ("%s: order %d pool %d", __func__, order, pool));
	/* Step 1. */
	fl = vm_phys_lists(domain, freelist, pool);
	for (oind = order; oind < VM_NFREEORDER; oind++) {
		m = TAILQ_FIRST(&fl[oind].fl_pl);
		if (m != NULL) {
			vm_freelist_rem(fl, m, oind);
			vm_phys_split_pages(m, oind, fl, order);
			return (m);
		}
	}
	/* Step 2. */
	for (oind = VM_MAXORDER; oind >= order; oind--) {
		for (pind = 0; pind < VM_NFREEPOOL; pind++) {
			if (pind == pool)
				continue;
			alt = vm_phys_lists(domain, freelist, pind);
			m = TAILQ_FIRST(&alt[oind].fl_pl);
			if (m == NULL)
				continue;
			vm_freelist_rem(alt, m, oind);
			vm_phys_set_pool(pool, m, oind);
			vm_phys_split_pages(m, oind, fl, order);
			return (m);
		}
	}
	return (NULL);
}

/*
 * A block of 2^order pages from pool `pool' of the domain, from the
 * default freelist first.  Returns NULL if no block is large enough.
 * Free lock of the domain held.
 */
struct vm_page *
vm_phys_alloc_pages(int domain, int pool, int order)
{
	struct vm_page *m;
	int flind;

	for (flind = 0; flind < VM_NFREELIST; flind++) {
		m = vm_phys_alloc_freelist_pages(domain, flind, pool, order);
		if (m != NULL)
			return (m);
	}
	return (NULL);
}

/* Hands out the first pages of a block taken off its list (bulk path). */
static int
vm_phys_take(struct vm_page *m, int oind, struct vm_freelist *fl,
    struct vm_page **ma, int i, int npages)
{
	uint64_t j, n = 1ull << oind, k = (uint64_t)(npages - i);

	if (k > n)
		k = n;
	for (j = 0; j < k; j++)
		ma[i + (int)j] = &m[j];
	if (k < n)
		vm_phys_enq_range(&m[k], n - k, fl);
	return (i + (int)k);
}

/* Bulk allocation from one freelist: small blocks first, then steal. */
static int
vm_phys_alloc_npages_fl(
    int domain, int flind, int pool, int npages, struct vm_page **ma, int i)
{
	struct vm_freelist *fl, *alt;
	struct vm_page *m;
	int oind, pind;

	fl = vm_phys_lists(domain, flind, pool);
	for (oind = 0; oind < VM_NFREEORDER && i < npages; oind++)
		while (
		    i < npages && (m = TAILQ_FIRST(&fl[oind].fl_pl)) != NULL) {
			vm_freelist_rem(fl, m, oind);
			i = vm_phys_take(m, oind, fl, ma, i, npages);
		}
	for (oind = VM_MAXORDER; oind >= 0 && i < npages; oind--)
		for (pind = 0; pind < VM_NFREEPOOL && i < npages; pind++) {
			if (pind == pool)
				continue;
			alt = vm_phys_lists(domain, flind, pind);
			while (i < npages &&
			    (m = TAILQ_FIRST(&alt[oind].fl_pl)) != NULL) {
				vm_freelist_rem(alt, m, oind);
				vm_phys_set_pool(pool, m, oind);
				i = vm_phys_take(m, oind, fl, ma, i, npages);
			}
		}
	return (i);
}

/*
 * Up to npages single pages of pool `pool' into ma[], taken from the
 * smallest free blocks first so that large blocks stay whole.  Returns how
 * many.  Free lock of the domain held.
 */
int
vm_phys_alloc_npages(int domain, int pool, int npages, struct vm_page **ma)
{
	int flind, i = 0;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	for (flind = 0; flind < VM_NFREELIST && i < npages; flind++)
		i = vm_phys_alloc_npages_fl(domain, flind, pool, npages, ma, i);
	return (i);
}

/*
 * Frees the block [m, m + 2^order), merging it with free buddies.  The
 * pages must carry the pool the block should go to.  Free lock of m's
 * domain held.
 */
void
vm_phys_free_pages(struct vm_page *m, int order)
{
	struct vm_phys_seg *seg = vm_phys_seg_of_page(m);
	struct vm_page *m_buddy;
	vm_paddr_t pa, pa_buddy;

	vm_domain_free_assert_locked(VM_DOMAIN(seg->ps_domain));
	VM_ASSERT(m->order == VM_NFREEORDER,
	    ("%s: page %#llx is already free (order %u)", __func__,
		(unsigned long long)m->phys_addr, m->order));
	VM_ASSERT((m->phys_addr & ((PAGE_SIZE << order) - 1)) == 0,
	    ("%s: page %#llx misaligned for order %d", __func__,
		(unsigned long long)m->phys_addr, order));
	pa = m->phys_addr;
	/* Step 1. */
	while (order < VM_MAXORDER) {
		pa_buddy = pa ^ (PAGE_SIZE << order);
		if (pa_buddy < seg->ps_start || pa_buddy >= seg->ps_end)
			break;
		m_buddy = &seg->ps_first_page[atop(pa_buddy - seg->ps_start)];
		if (m_buddy->order != order)
			break;
		vm_freelist_rem(
		    (*seg->ps_free_queues)[m_buddy->pool], m_buddy, order);
		if (m_buddy->pool != m->pool)
			vm_phys_set_pool(m->pool, m_buddy, order);
		order++;
		pa &= ~((PAGE_SIZE << order) - 1);
		m = &seg->ps_first_page[atop(pa - seg->ps_start)];
	}
	/* Step 2. */
	vm_freelist_add((*seg->ps_free_queues)[m->pool], m, order);
}

/*
 * Frees the run [m, m + npages) of one segment as aligned blocks, each
 * merged with its buddies; each block joins the pool of its first page.
 * Free lock of m's domain held.
 */
void
vm_phys_free_contig(struct vm_page *m, uint64_t npages)
{
	int order;

	while (npages > 0) {
		order = vm_phys_max_order(m->phys_addr, npages);
		vm_phys_set_pool(m->pool, m, order);
		vm_phys_free_pages(m, order);
		m += 1ull << order;
		npages -= 1ull << order;
	}
}

/*
 * The first address in [from, lim) where `size' bytes fit with the first
 * aligned to `alignment' and not crossing a multiple of `boundary' (0: no
 * boundary; else boundary >= size).  False if none.
 */
static bool
vm_phys_fit(vm_paddr_t from, vm_paddr_t lim, uint64_t size, uint64_t alignment,
    vm_paddr_t boundary, vm_paddr_t *pap)
{
	vm_paddr_t pa = roundup2(from, alignment);

	/*
	 * Crossing: move to the next boundary, which is aligned too when
	 * boundary >= alignment; when it is smaller, an aligned start is a
	 * multiple of boundary and a run of at most boundary bytes from it
	 * does not cross.
	 */
	if (boundary != 0 && ((pa ^ (pa + size - 1)) & ~(boundary - 1)) != 0)
		pa = roundup2(pa, boundary);
	if (pa < from || pa + size > lim || pa + size < pa)
		return (false);
	*pap = pa;
	return (true);
}

/* Contiguous step 1: a fitting run inside one free block. */
static struct vm_page *
vm_phys_contig_in_block(int domain, uint64_t npages, vm_paddr_t low,
    vm_paddr_t high, uint64_t alignment, vm_paddr_t boundary)
{
	struct vm_freelist *fl;
	struct vm_page *m;
	vm_paddr_t bs, be, pa;
	uint64_t prefix, n;
	int flind, oind, pind, order;

	order = npages == 1 ? 0 : 64 - __builtin_clzll(npages - 1);
	for (flind = 0; flind < VM_NFREELIST; flind++)
		for (oind = order; oind < VM_NFREEORDER; oind++)
			for (pind = 0; pind < VM_NFREEPOOL; pind++) {
				fl = vm_phys_lists(domain, flind, pind);
				TAILQ_FOREACH (m, &fl[oind].fl_pl, listq) {
					bs = m->phys_addr;
					be = bs + (PAGE_SIZE << oind);
					if (!vm_phys_fit(bs > low ? bs : low,
						be < high ? be : high,
						ptoa(npages), alignment,
						boundary, &pa))
						continue;
					/* Step 3. */
					vm_freelist_rem(fl, m, oind);
					prefix = atop(pa - bs);
					n = 1ull << oind;
					vm_phys_enq_range(m, prefix, fl);
					vm_phys_enq_range(&m[prefix + npages],
					    n - prefix - npages, fl);
					return (&m[prefix]);
				}
			}
	return (NULL);
}

/* Sets the bits of the free pages of `seg' (callback of foreach_free). */
struct vm_phys_bitmap {
	const struct vm_phys_seg *pb_seg;
	uint64_t *pb_bits;
};

static void
vm_phys_bitmap_mark(struct vm_page *m, int order, void *arg)
{
	struct vm_phys_bitmap *pb = arg;
	uint64_t i, first, n = 1ull << order;

	if (m->phys_addr < pb->pb_seg->ps_start ||
	    m->phys_addr >= pb->pb_seg->ps_end)
		return;
	first = atop(m->phys_addr - pb->pb_seg->ps_start);
	for (i = first; i < first + n; i++)
		pb->pb_bits[i / 64] |= 1ull << (i % 64);
}

/* Index of the last non-free page in [first, first + n), or -1. */
static int64_t
vm_phys_bitmap_last_busy(const uint64_t *bits, uint64_t first, uint64_t n)
{
	uint64_t i;

	for (i = first + n; i-- > first;)
		if ((bits[i / 64] & (1ull << (i % 64))) == 0)
			return ((int64_t)i);
	return (-1);
}

/* The free block containing the free page at pa, and its order. */
static struct vm_page *
vm_phys_find_block(const struct vm_phys_seg *seg, vm_paddr_t pa, int *orderp)
{
	struct vm_page *h;
	vm_paddr_t hpa;
	int k;

	for (k = 0; k < VM_NFREEORDER; k++) {
		hpa = pa & ~((PAGE_SIZE << k) - 1);
		if (hpa < seg->ps_start)
			break;
		h = &seg->ps_first_page[atop(hpa - seg->ps_start)];
		if (h->order == k) {
			*orderp = k;
			return (h);
		}
	}
	VM_PANIC("%s: page %#llx is in no free block", __func__,
	    (unsigned long long)pa);
}

/* Takes the free run [pa, pa + npages) of `seg', spanning blocks. */
static struct vm_page *
vm_phys_take_run(const struct vm_phys_seg *seg, vm_paddr_t pa, uint64_t npages)
{
	struct vm_freelist *fl;
	struct vm_page *h;
	vm_paddr_t p, end = pa + ptoa(npages), bs, be;
	int order;

	for (p = pa; p < end; p = be) {
		h = vm_phys_find_block(seg, p, &order);
		fl = (*seg->ps_free_queues)[h->pool];
		vm_freelist_rem(fl, h, order);
		bs = h->phys_addr;
		be = bs + (PAGE_SIZE << order);
		if (bs < pa)
			vm_phys_enq_range(h, atop(pa - bs), fl);
		if (be > end)
			vm_phys_enq_range(
			    &h[atop(end - bs)], atop(be - end), fl);
	}
	return (&seg->ps_first_page[atop(pa - seg->ps_start)]);
}

/* Contiguous step 2: scan a bitmap of each segment's free pages. */
static struct vm_page *
vm_phys_contig_scan(int domain, uint64_t npages, vm_paddr_t low,
    vm_paddr_t high, uint64_t alignment, vm_paddr_t boundary)
{
	struct vm_phys_bitmap pb;
	struct vm_phys_seg *seg;
	struct vm_page *m = NULL;
	vm_paddr_t from, lim, pa;
	int64_t busy;
	int s;

	for (s = 0; s < vm_phys_nsegs && m == NULL; s++) {
		seg = &vm_phys_segs[s];
		from = seg->ps_start > low ? seg->ps_start : low;
		lim = seg->ps_end < high ? seg->ps_end : high;
		if (seg->ps_domain != domain || from >= lim)
			continue;
		pb.pb_seg = seg;
		pb.pb_bits = md_calloc(
		    howmany(atop(seg->ps_end - seg->ps_start), 64), 8);
		if (pb.pb_bits == NULL)
			return (NULL);
		vm_phys_foreach_free(domain, vm_phys_bitmap_mark, &pb);
		while (vm_phys_fit(
		    from, lim, ptoa(npages), alignment, boundary, &pa)) {
			busy = vm_phys_bitmap_last_busy(
			    pb.pb_bits, atop(pa - seg->ps_start), npages);
			if (busy < 0) {
				m = vm_phys_take_run(seg, pa, npages);
				break;
			}
			from = seg->ps_start + ptoa(busy + 1);
		}
		md_free(pb.pb_bits);
	}
	return (m);
}

/*
 * npages contiguous free pages of the domain in [low, high), the first
 * aligned to `alignment' (power of two >= PAGE_SIZE), not crossing a
 * multiple of `boundary' (0 or a power of two).  The pages keep their
 * pools.  NULL if there is no such run.  Free lock of the domain held.
 */
struct vm_page *
vm_phys_alloc_contig(int domain, uint64_t npages, vm_paddr_t low,
    vm_paddr_t high, uint64_t alignment, vm_paddr_t boundary)
{
	struct vm_page *m = NULL;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	VM_ASSERT(alignment >= PAGE_SIZE && (alignment & (alignment - 1)) == 0,
	    ("%s: bad alignment %#llx", __func__,
		(unsigned long long)alignment));
	VM_ASSERT((boundary & (boundary - 1)) == 0,
	    ("%s: bad boundary %#llx", __func__, (unsigned long long)boundary));
	if (npages == 0 || (boundary != 0 && boundary < ptoa(npages)))
		return (NULL);
	low = roundup2(low, PAGE_SIZE);
	if (high > vm_phys_end)
		high = vm_phys_end;
	high &= ~PAGE_MASK;
	if (low >= high || npages > atop(high - low))
		return (NULL);
	if (npages <= (1ull << VM_MAXORDER))
		m = vm_phys_contig_in_block(
		    domain, npages, low, high, alignment, boundary);
	if (m == NULL)
		m = vm_phys_contig_scan(
		    domain, npages, low, high, alignment, boundary);
	return (m);
}

void
vm_phys_foreach_free(
    int domain, void (*fn)(struct vm_page *m, int order, void *arg), void *arg)
{
	struct vm_freelist *fl;
	struct vm_page *m;
	int flind, pind, oind;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	for (flind = 0; flind < VM_NFREELIST; flind++)
		for (pind = 0; pind < VM_NFREEPOOL; pind++) {
			fl = vm_phys_lists(domain, flind, pind);
			for (oind = 0; oind < VM_NFREEORDER; oind++)
				TAILQ_FOREACH (m, &fl[oind].fl_pl, listq)
					fn(m, oind, arg);
		}
}

uint64_t
vm_phys_free_pages_count(int domain)
{
	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	return (vm_phys_dom[domain].pd_nfree);
}

uint64_t
vm_phys_free_blocks(int domain, int order)
{
	uint64_t n = 0;
	int flind, pind;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	for (flind = 0; flind < VM_NFREELIST; flind++)
		for (pind = 0; pind < VM_NFREEPOOL; pind++)
			n += vm_phys_lists(domain, flind, pind)[order].fl_cnt;
	return (n);
}

uint64_t
vm_phys_domain_pages(int domain)
{
	return (vm_phys_dom[domain].pd_npages);
}

/* Index of the segment holding pa, or -1. */
int
vm_phys_seg_of(vm_paddr_t pa)
{
	int lo = 0, hi = vm_phys_nsegs - 1, mid;

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		if (pa < vm_phys_segs[mid].ps_start)
			hi = mid - 1;
		else if (pa >= vm_phys_segs[mid].ps_end)
			lo = mid + 1;
		else
			return (mid);
	}
	return (-1);
}

struct vm_page *
vm_phys_paddr_to_vm_page_sparse(vm_paddr_t pa)
{
	int s = vm_phys_seg_of(pa);
	struct vm_phys_seg *seg;

	if (s < 0)
		return (NULL);
	seg = &vm_phys_segs[s];
	return (&seg->ps_first_page[atop(pa - seg->ps_start)]);
}

/*
 * Checks one free block of list (domain, flind, pool, order); returns the
 * number of violations.  Free lock held.
 */
static int
vm_phys_check_block(
    struct vm_page *m, int domain, int flind, int pool, int order, int *nerrp)
{
	struct vm_phys_seg *seg;
	struct vm_page *b;
	vm_paddr_t pa = m->phys_addr, end = pa + (PAGE_SIZE << order), pab;
	uint64_t i;
	int n0 = *nerrp;

	if (m->segind >= vm_phys_nsegs) {
		vm_check_fail(nerrp, "phys: free block %#llx has no segment",
		    (unsigned long long)pa);
		return (*nerrp - n0);
	}
	seg = &vm_phys_segs[m->segind];
	if (seg->ps_domain != domain || seg->ps_freelist != flind ||
	    m->order != order || (pa & ((PAGE_SIZE << order) - 1)) != 0 ||
	    end > seg->ps_end)
		vm_check_fail(nerrp,
		    "phys: block %#llx order %u (list d%d f%d o%d) misplaced "
		    "in segment [%#llx, %#llx) d%d f%d",
		    (unsigned long long)pa, m->order, domain, flind, order,
		    (unsigned long long)seg->ps_start,
		    (unsigned long long)seg->ps_end, seg->ps_domain,
		    seg->ps_freelist);
	for (i = 0; i < (1ull << order) && *nerrp == n0; i++)
		if (m[i].pool != pool || (i > 0 && m[i].order != VM_NFREEORDER))
			vm_check_fail(nerrp,
			    "phys: page %llu of block %#llx: pool %u (list %d) "
			    "order %u",
			    (unsigned long long)i, (unsigned long long)pa,
			    m[i].pool, pool, m[i].order);
	pab = pa ^ (PAGE_SIZE << order);
	if (order < VM_MAXORDER && pab >= seg->ps_start && pab < seg->ps_end) {
		b = &seg->ps_first_page[atop(pab - seg->ps_start)];
		if (b->order == order)
			vm_check_fail(nerrp,
			    "phys: block %#llx and its buddy %#llx are both "
			    "free at order %d (not coalesced)",
			    (unsigned long long)pa, (unsigned long long)pab,
			    order);
	}
	return (*nerrp - n0);
}

static int
vm_phys_check_domain(int domain)
{
	struct vm_freelist *fl;
	struct vm_page *m;
	uint64_t nblocks, npages = 0;
	int flind, pind, oind, nerr = 0;

	vm_domain_free_assert_locked(VM_DOMAIN(domain));
	for (flind = 0; flind < VM_NFREELIST; flind++)
		for (pind = 0; pind < VM_NFREEPOOL; pind++) {
			fl = vm_phys_lists(domain, flind, pind);
			for (oind = 0; oind < VM_NFREEORDER; oind++) {
				nblocks = 0;
				TAILQ_FOREACH (m, &fl[oind].fl_pl, listq) {
					(void)vm_phys_check_block(m, domain,
					    flind, pind, oind, &nerr);
					nblocks++;
				}
				if (nblocks != fl[oind].fl_cnt)
					vm_check_fail(&nerr,
					    "phys: list d%d f%d p%d o%d has "
					    "%llu "
					    "blocks, count says %llu",
					    domain, flind, pind, oind,
					    (unsigned long long)nblocks,
					    (unsigned long long)fl[oind]
						.fl_cnt);
				npages += nblocks << oind;
			}
		}
	if (npages != vm_phys_dom[domain].pd_nfree)
		vm_check_fail(&nerr,
		    "phys: domain %d lists hold %llu pages, "
		    "count says %llu",
		    domain, (unsigned long long)npages,
		    (unsigned long long)vm_phys_dom[domain].pd_nfree);
	return (nerr);
}

int
vm_phys_check(void)
{
	int d, nerr = 0;

	for (d = 0; d < vm_ndomains; d++) {
		vm_domain_free_lock(VM_DOMAIN(d));
		nerr += vm_phys_check_domain(d);
		vm_domain_free_unlock(VM_DOMAIN(d));
	}
	return (nerr);
}

/* Adds segment [start, end) of `domain', split at the low-memory mark. */
static int
vm_phys_add_seg(vm_paddr_t start, vm_paddr_t end, int domain)
{
	vm_paddr_t lowmem = (vm_paddr_t)vm_phys_lowmem_tun & ~PAGE_MASK;
	struct vm_phys_seg *seg;

	if (start >= end)
		return (0);
	if (start < lowmem && lowmem < end) {
		if (vm_phys_add_seg(start, lowmem, domain) != 0)
			return (EINVAL);
		start = lowmem;
	}
	if (vm_phys_nsegs == VM_PHYSSEG_MAX)
		return (EINVAL);
	seg = &vm_phys_segs[vm_phys_nsegs++];
	seg->ps_start = start;
	seg->ps_end = end;
	seg->ps_domain = domain;
	seg->ps_freelist =
	    end <= lowmem ? VM_FREELIST_LOWMEM : VM_FREELIST_DEFAULT;
	seg->ps_free_queues = &vm_phys_dom[domain].pd_queues[seg->ps_freelist];
	vm_phys_dom[domain].pd_npages += atop(end - start);
	return (0);
}

/* Cuts the arena into domains and segments (see vm_phys.h). */
static int
vm_phys_create_segs(void)
{
	vm_paddr_t share, ds, de, chunk, s, e;
	vm_paddr_t hole = ptoa(VM_PHYS_HOLE_PAGES);
	int d, i, nseg, nd = md_ndomains();

	share = (vm_phys_end / (uint64_t)nd) & ~PAGE_MASK;
	if (share >= VM_LEVEL_0_SIZE)
		share &= ~(VM_LEVEL_0_SIZE - 1);
	if (share < ptoa(4))
		return (EINVAL);
	for (d = 0; d < nd; d++) {
		ds = share * (uint64_t)d;
		de = d == nd - 1 ? vm_phys_end : ds + share;
		nseg = (int)vm_phys_segments_tun;
		chunk = ((de - ds) / (uint64_t)nseg) & ~PAGE_MASK;
		if (chunk < 4 * hole)
			nseg = 1;
		for (i = 0; i < nseg; i++) {
			s = ds + chunk * (uint64_t)i;
			e = i == nseg - 1 ? de : s + chunk - hole;
			if (vm_phys_add_seg(s, e, d) != 0)
				return (EINVAL);
		}
	}
	return (0);
}

static void
vm_phys_init_page(struct vm_page *m, vm_paddr_t pa, int segind, int domain)
{
	m->phys_addr = pa;
	vm_page_set_identity(m, NULL, 0);
	m->flags = PG_FREE;
	m->order = VM_NFREEORDER;
	m->pool = VM_FREEPOOL_DEFAULT;
	m->segind = (uint8_t)segind;
	m->domain = (uint8_t)domain;
	m->oflags = 0;
	m->valid = 0;
	m->dirty = 0;
	m->busy_lock = VPB_FREED;
	m->wire_count = 0;
	m->a.bits = 0;
	m->a.queue = PQ_NONE;
}

/* Allocates the page array (dense or sparse) and sets every page up. */
static int
vm_phys_init_pages(void)
{
	struct vm_phys_seg *seg;
	uint64_t i, n = 0, next = 0;
	int s;

	for (s = 0; s < vm_phys_nsegs; s++)
		n += atop(vm_phys_segs[s].ps_end - vm_phys_segs[s].ps_start);
	vm_page_array_size = vm_phys_sparse ? n : atop(vm_phys_end);
	/* Cache-line aligned, like the struct (see vm_page.h). */
	vm_page_array = md_aligned_alloc(
	    MD_CACHE_LINE, vm_page_array_size * sizeof(struct vm_page));
	if (vm_page_array == NULL)
		return (ENOMEM);
	memset(vm_page_array, 0, vm_page_array_size * sizeof(struct vm_page));
	for (i = 0; !vm_phys_sparse && i < vm_page_array_size; i++)
		vm_phys_init_page(
		    &vm_page_array[i], ptoa(i), VM_PHYSSEG_NONE, 0);
	for (s = 0; s < vm_phys_nsegs; s++) {
		seg = &vm_phys_segs[s];
		n = atop(seg->ps_end - seg->ps_start);
		seg->ps_first_page = vm_phys_sparse
		    ? &vm_page_array[next]
		    : &vm_page_array[atop(seg->ps_start)];
		next += n;
		for (i = 0; i < n; i++)
			vm_phys_init_page(&seg->ps_first_page[i],
			    seg->ps_start + ptoa(i), s, seg->ps_domain);
	}
	return (0);
}

/*
 * Builds segments and the page array, and puts every page on the free
 * lists.  Runs at boot before the CPUs start, after the domains' free
 * locks exist.
 */
int
vm_phys_init(void)
{
	struct vm_phys_seg *seg;
	int d, f, p, o, s, error;

	memset(vm_phys_dom, 0, sizeof(vm_phys_dom));
	for (d = 0; d < MD_MAXDOMAIN; d++)
		for (f = 0; f < VM_NFREELIST; f++)
			for (p = 0; p < VM_NFREEPOOL; p++)
				for (o = 0; o < VM_NFREEORDER; o++)
					TAILQ_INIT(&vm_phys_dom[d]
							.pd_queues[f][p][o]
							.fl_pl);
	vm_phys_nsegs = 0;
	vm_phys_sparse = vm_phys_sparse_tun != 0;
	vm_phys_end = md_phys_size() & ~PAGE_MASK;
	if ((error = vm_phys_create_segs()) != 0 ||
	    (error = vm_phys_init_pages()) != 0)
		return (error);
	for (s = 0; s < vm_phys_nsegs; s++) {
		seg = &vm_phys_segs[s];
		vm_domain_free_lock(VM_DOMAIN(seg->ps_domain));
		vm_phys_free_contig(
		    seg->ps_first_page, atop(seg->ps_end - seg->ps_start));
		vm_domain_free_unlock(VM_DOMAIN(seg->ps_domain));
	}
	return (0);
}

void
vm_phys_fini(void)
{
	md_free(vm_page_array);
	vm_page_array = NULL;
	vm_page_array_size = 0;
	vm_phys_nsegs = 0;
}
