/*
 * test_vm_radix.c: the page trie (vm/vm_radix.h).
 *
 *	- edge cases: the empty trie, a lone leaf at the root, keys 0 and
 *	  UINT64_MAX, keys that differ in the lowest or highest digit only,
 *	  EEXIST, replace, foreach's range and early stop;
 *	- random sequences of insert, remove, lookup, lookup_unlocked,
 *	  lookup_ge, lookup_le, replace, foreach and count against a
 *	  reference (presence flags over a sorted pool of keys), for dense,
 *	  sparse (random 64-bit keys with 0, UINT64_MAX and other edges)
 *	  and clustered keys, with node allocation failures injected (an
 *	  insert that fails with ENOMEM must change nothing), vm_radix_check()
 *	  along the way; every node is freed once everything is removed;
 *	- ENOMEM at each kind of insert that needs a node, and none for the
 *	  inserts that do not;
 *	- vm_radix_reclaim_allnodes() frees every node at once, leaves the
 *	  pages alone and leaves a usable empty trie;
 *	- lockless readers against a writer: one writer (under a mutex)
 *	  inserts, removes and replaces pages of a fixed pool while readers
 *	  look up keys in epoch sections.  A page found must be a pool page
 *	  with the key asked for, and keys kept present throughout (their
 *	  page only replaced) must always be found.  Nodes the writer
 *	  unlinks are poisoned when freed (invariant builds), so a reader
 *	  walking a freed node panics; ASan and TSan see it too.
 */
#include "harness.h"
#include "kern/epoch.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "md/md_atomic.h"
#include "vm/vm_page.h"
#include "vm/vm_radix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds every wait: turns a hang into a failure. */
#define RX_WAIT_NS (60ull * 1000000000ull)

/* Digit `lev' of a key set to x. */
static vm_pindex_t
rx_digit(vm_pindex_t x, int lev)
{
	return (x << (lev * VM_RADIX_WIDTH));
}

static struct vm_page *
rx_pages_alloc(uint64_t n)
{
	struct vm_page *pages;

	pages = aligned_alloc(MD_CACHE_LINE, n * sizeof(struct vm_page));
	if (pages == NULL)
		abort();
	memset(pages, 0, n * sizeof(struct vm_page));
	return (pages);
}

/*
 * Waits until the nodes passed to epoch_call() have been freed and the
 * live node count is `want'.  Kernel thread.
 */
static bool
rx_wait_nodes(uint64_t want)
{
	uint64_t deadline = md_nanotime() + RX_WAIT_NS;

	epoch_wait();
	while (vm_radix_nodes_allocated() != want) {
		if (md_nanotime() > deadline)
			return (false);
		epoch_poll();
		pause_ns("rxfree", 100 * US);
	}
	return (true);
}

/* foreach callback: collects pages until col_limit, then returns col_stop. */
struct rx_collect {
	struct vm_page **col_pages;
	uint64_t col_n;
	uint64_t col_limit;
	int col_stop;
};

static int
rx_collect_fn(struct vm_page *m, void *arg)
{
	struct rx_collect *col = arg;

	col->col_pages[col->col_n++] = m;
	return (col->col_n >= col->col_limit ? col->col_stop : 0);
}

/*
 * Edge cases, on a handful of pages.  rx_edges_build() makes the trie of
 * pg[0, 6) (pg[4] a twin of pg[0]) from empty, checking along the way.
 */
static void
rx_edges_build(struct vm_radix *rt, struct vm_page *pg)
{
	struct vm_page *buf[8];
	struct rx_collect col = { buf, 0, 8, 7 };

	pg[0].pindex = 5;
	pg[1].pindex = 0;
	pg[2].pindex = UINT64_MAX;
	pg[3].pindex = 4;
	pg[4].pindex = 5; /* twin of pg[0] */
	pg[5].pindex = UINT64_MAX - 15;
	vm_radix_init(rt);
	/* Empty. */
	CHECK(vm_radix_is_empty(rt));
	CHECK(vm_radix_lookup(rt, 0) == NULL);
	CHECK(vm_radix_lookup(rt, UINT64_MAX) == NULL);
	CHECK(vm_radix_lookup_ge(rt, 0) == NULL);
	CHECK(vm_radix_lookup_le(rt, UINT64_MAX) == NULL);
	CHECK(vm_radix_remove(rt, 0) == NULL);
	CHECK(vm_radix_count(rt) == 0);
	CHECK(vm_radix_check(rt) == 0);
	CHECK(vm_radix_foreach(rt, 0, UINT64_MAX, rx_collect_fn, &col) == 0 &&
	    col.col_n == 0);
	/* A lone leaf at the root needs no node. */
	CHECK(vm_radix_insert(rt, &pg[0]) == 0);
	CHECK(vm_radix_nodes_allocated() == 0);
	CHECK(!vm_radix_is_empty(rt));
	CHECK(vm_radix_insert(rt, &pg[4]) == EEXIST);
	CHECK(vm_radix_lookup(rt, 5) == &pg[0]);
	CHECK(vm_radix_lookup(rt, 4) == NULL);
	CHECK(vm_radix_lookup(rt, 5 + 16) == NULL);
	CHECK(vm_radix_lookup_ge(rt, 0) == &pg[0]);
	CHECK(vm_radix_lookup_ge(rt, 5) == &pg[0]);
	CHECK(vm_radix_lookup_ge(rt, 6) == NULL);
	CHECK(vm_radix_lookup_le(rt, 4) == NULL);
	CHECK(vm_radix_lookup_le(rt, UINT64_MAX) == &pg[0]);
	/* 0 joins 5 in a level-0 node; UINT64_MAX puts a top-level one above. */
	CHECK(vm_radix_insert(rt, &pg[1]) == 0);
	CHECK(vm_radix_insert(rt, &pg[2]) == 0);
	CHECK(vm_radix_nodes_allocated() == 2);
	CHECK(vm_radix_check(rt) == 0);
	CHECK(vm_radix_lookup(rt, 0) == &pg[1]);
	CHECK(vm_radix_lookup(rt, UINT64_MAX) == &pg[2]);
	CHECK(vm_radix_lookup_ge(rt, 6) == &pg[2]);
	CHECK(vm_radix_lookup_le(rt, UINT64_MAX - 1) == &pg[0]);
	CHECK(vm_radix_lookup_le(rt, 4) == &pg[1]);
	CHECK(vm_radix_lookup_ge(rt, 1) == &pg[0]);
	/* Keys that differ in the lowest digit only. */
	CHECK(vm_radix_insert(rt, &pg[3]) == 0);
	CHECK(vm_radix_insert(rt, &pg[5]) == 0);
	CHECK(vm_radix_check(rt) == 0);
	CHECK(vm_radix_count(rt) == 5);
	CHECK(vm_radix_lookup_le(rt, UINT64_MAX - 1) == &pg[5]);
	CHECK(vm_radix_lookup_ge(rt, UINT64_MAX - 14) == &pg[2]);
}

/* foreach, replace and remove on the trie rx_edges_build() made. */
static void
rx_edges_use(struct vm_radix *rt, struct vm_page *pg)
{
	struct vm_page *buf[8];
	struct rx_collect col = { buf, 0, 8, 7 };

	/* foreach: order, half-open range, early stop and its value. */
	CHECK(vm_radix_foreach(rt, 0, UINT64_MAX, rx_collect_fn, &col) == 0);
	CHECK(col.col_n == 4 && buf[0] == &pg[1] && buf[1] == &pg[3] &&
	    buf[2] == &pg[0] && buf[3] == &pg[5]);
	col.col_n = 0;
	CHECK(vm_radix_foreach(rt, 5, 5, rx_collect_fn, &col) == 0 &&
	    col.col_n == 0);
	CHECK(vm_radix_foreach(rt, 5, 6, rx_collect_fn, &col) == 0 &&
	    col.col_n == 1 && buf[0] == &pg[0]);
	col.col_n = 0;
	col.col_limit = 2;
	CHECK(vm_radix_foreach(rt, 1, UINT64_MAX, rx_collect_fn, &col) == 7);
	CHECK(col.col_n == 2 && buf[0] == &pg[3] && buf[1] == &pg[0]);
	/* Replace. */
	CHECK(vm_radix_replace(rt, &pg[4]) == &pg[0]);
	CHECK(vm_radix_lookup(rt, 5) == &pg[4]);
	CHECK(vm_radix_insert(rt, &pg[0]) == EEXIST);
	/* Remove everything; the root ends as a leaf, then empty. */
	CHECK(vm_radix_remove(rt, 6) == NULL);
	CHECK(vm_radix_remove(rt, 5) == &pg[4]);
	CHECK(vm_radix_remove(rt, 5) == NULL);
	CHECK(vm_radix_remove(rt, 4) == &pg[3]);
	CHECK(vm_radix_remove(rt, UINT64_MAX - 15) == &pg[5]);
	CHECK(vm_radix_check(rt) == 0);
	CHECK(vm_radix_remove(rt, 0) == &pg[1]);
	CHECK(vm_radix_lookup(rt, UINT64_MAX) == &pg[2]);
	CHECK(vm_radix_lookup_le(rt, 0) == NULL);
	CHECK(vm_radix_remove(rt, UINT64_MAX) == &pg[2]);
	CHECK(vm_radix_is_empty(rt));
}

static void
rx_edges_fn(void *arg)
{
	struct vm_page *pg = rx_pages_alloc(8);
	struct vm_radix rt;

	(void)arg;
	rx_edges_build(&rt, pg);
	rx_edges_use(&rt, pg);
	CHECKF(rx_wait_nodes(0), "%llu nodes left",
	    (unsigned long long)vm_radix_nodes_allocated());
	free(pg);
}

static void
test_radix_edges(void)
{
	test_boot(2, NULL);
	test_run(rx_edges_fn, NULL);
	test_shutdown();
}

/*
 * Random sequences against a reference.  The pool is a sorted array of
 * distinct keys with two pages each (rp_pages[2i] and [2i + 1], for
 * replace); rp_state[i] says which is in the trie (0: none).  The
 * operations alternate phases that fill the trie and phases that empty
 * it, so that nodes are created and unlinked at every level all along.
 */
#define RX_PHASE 20000

enum rx_dist { RX_DENSE, RX_SPARSE, RX_CLUSTERED };

struct rx_pool {
	vm_pindex_t *rp_keys;
	struct vm_page *rp_pages;
	uint8_t *rp_state;
	uint64_t rp_nkeys;
	uint64_t rp_present;
	uint64_t rp_enomem; /* inserts that failed, injected */
};

static int
rx_cmp_key(const void *a, const void *b)
{
	vm_pindex_t x = *(const vm_pindex_t *)a, y = *(const vm_pindex_t *)b;

	return (x < y ? -1 : x > y);
}

/* Sorts and removes duplicates; returns the new count. */
static uint64_t
rx_sort_keys(vm_pindex_t *keys, uint64_t n)
{
	uint64_t i, j = 0;

	qsort(keys, n, sizeof(*keys), rx_cmp_key);
	for (i = 0; i < n; i++)
		if (j == 0 || keys[i] != keys[j - 1])
			keys[j++] = keys[i];
	return (j);
}

/* Up to `max' keys of the distribution. */
static uint64_t
rx_gen_keys(enum rx_dist dist, vm_pindex_t *keys, uint64_t max, uint64_t *rs)
{
	static const vm_pindex_t edges[] = { 0, 1, 15, 16, 17, 255, 256,
		0xffffffffull, 0x100000000ull, (1ull << 63) - 1, 1ull << 63,
		UINT64_MAX - 16, UINT64_MAX - 1, UINT64_MAX };
	vm_pindex_t base, stride;
	uint64_t n = 0, run, k;

	switch (dist) {
	case RX_DENSE:
		for (n = 0; n < max; n++)
			keys[n] = n;
		break;
	case RX_SPARSE:
		for (k = 0; k < nitems(edges); k++)
			keys[n++] = edges[k];
		while (n < max)
			keys[n++] = test_rand(rs);
		break;
	case RX_CLUSTERED:
		/* Runs of 1 to 300 keys, one at 0 and one ending at the top. */
		while (n < max) {
			run = 1 + test_rand(rs) % 300;
			if (run > max - n)
				run = max - n;
			stride = test_rand(rs) % 4 == 0
			    ? rx_digit(1, (int)(test_rand(rs) % 3))
			    : 1;
			base = n == 0 ? 0 : test_rand(rs);
			if (n + run == max || base > UINT64_MAX - run * stride)
				base = UINT64_MAX - (run - 1) * stride;
			for (k = 0; k < run; k++)
				keys[n++] = base + k * stride;
		}
		break;
	}
	return (rx_sort_keys(keys, n));
}

static void
rx_pool_init(struct rx_pool *rp, enum rx_dist dist, uint64_t max, uint64_t *rs)
{
	uint64_t i;

	memset(rp, 0, sizeof(*rp));
	rp->rp_keys = calloc(max, sizeof(*rp->rp_keys));
	rp->rp_nkeys = rx_gen_keys(dist, rp->rp_keys, max, rs);
	rp->rp_pages = rx_pages_alloc(2 * rp->rp_nkeys);
	rp->rp_state = calloc(rp->rp_nkeys, 1);
	for (i = 0; i < 2 * rp->rp_nkeys; i++)
		rp->rp_pages[i].pindex = rp->rp_keys[i / 2];
}

static void
rx_pool_fini(struct rx_pool *rp)
{
	free(rp->rp_keys);
	free(rp->rp_pages);
	free(rp->rp_state);
}

/* The page the reference has at pool index i, or NULL. */
static struct vm_page *
rx_ref_page(const struct rx_pool *rp, uint64_t i)
{
	return (rp->rp_state[i] == 0
		? NULL
		: &rp->rp_pages[2 * i + rp->rp_state[i] - 1]);
}

/* The pool index of the first key >= k (rp_nkeys if none). */
static uint64_t
rx_lower_bound(const struct rx_pool *rp, vm_pindex_t k)
{
	uint64_t lo = 0, hi = rp->rp_nkeys, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (rp->rp_keys[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Reference lookups. */
static struct vm_page *
rx_ref_lookup(const struct rx_pool *rp, vm_pindex_t k)
{
	uint64_t i = rx_lower_bound(rp, k);

	return (i < rp->rp_nkeys && rp->rp_keys[i] == k ? rx_ref_page(rp, i)
							: NULL);
}

static struct vm_page *
rx_ref_ge(const struct rx_pool *rp, vm_pindex_t k)
{
	uint64_t i;

	for (i = rx_lower_bound(rp, k); i < rp->rp_nkeys; i++)
		if (rp->rp_state[i] != 0)
			return (rx_ref_page(rp, i));
	return (NULL);
}

static struct vm_page *
rx_ref_le(const struct rx_pool *rp, vm_pindex_t k)
{
	uint64_t i = rx_lower_bound(rp, k);

	if (i < rp->rp_nkeys && rp->rp_keys[i] == k && rp->rp_state[i] != 0)
		return (rx_ref_page(rp, i));
	while (i-- > 0)
		if (rp->rp_state[i] != 0)
			return (rx_ref_page(rp, i));
	return (NULL);
}

/* A key to query: a pool key, a neighbour of one, an edge or random. */
static vm_pindex_t
rx_query_key(const struct rx_pool *rp, uint64_t *rs)
{
	vm_pindex_t k = rp->rp_keys[test_rand(rs) % rp->rp_nkeys];

	switch (test_rand(rs) % 8) {
	case 0:
		return (k + 1);
	case 1:
		return (k - 1);
	case 2:
		return (test_rand(rs));
	case 3:
		return (test_rand(rs) % 2 == 0 ? 0 : UINT64_MAX);
	default:
		return (k);
	}
}

static void
rx_op_insert(struct vm_radix *rt, struct rx_pool *rp, uint64_t i, uint64_t *rs)
{
	uint64_t nodes = vm_radix_nodes_allocated();
	int c = (int)(test_rand(rs) % 2), error;
	bool inject = test_rand(rs) % 4 == 0;

	if (inject)
		vm_radix_fail_alloc_after = 0;
	error = vm_radix_insert(rt, &rp->rp_pages[2 * i + (uint64_t)c]);
	vm_radix_fail_alloc_after = -1;
	if (rp->rp_state[i] != 0) {
		CHECKF(error == EEXIST, "insert %#llx present: error %d",
		    (unsigned long long)rp->rp_keys[i], error);
	} else if (error == ENOMEM) {
		CHECKF(inject, "insert %#llx: ENOMEM without injection",
		    (unsigned long long)rp->rp_keys[i]);
		CHECK(vm_radix_nodes_allocated() == nodes);
		CHECK(vm_radix_lookup(rt, rp->rp_keys[i]) == NULL);
		rp->rp_enomem++;
	} else {
		CHECKF(error == 0, "insert %#llx: error %d",
		    (unsigned long long)rp->rp_keys[i], error);
		rp->rp_state[i] = (uint8_t)(c + 1);
		rp->rp_present++;
	}
}

static void
rx_op_foreach(struct vm_radix *rt, struct rx_pool *rp, uint64_t *rs)
{
	struct vm_page **buf;
	struct rx_collect col;
	vm_pindex_t start = rx_query_key(rp, rs), end = rx_query_key(rp, rs), t;
	uint64_t i, n = 0;
	int ret;
	bool ok = true;

	if (start > end) {
		t = start;
		start = end;
		end = t;
	}
	buf = calloc(rp->rp_nkeys + 1, sizeof(*buf));
	col.col_pages = buf;
	col.col_n = 0;
	col.col_limit =
	    test_rand(rs) % 2 == 0 ? 1 + test_rand(rs) % 64 : UINT64_MAX;
	col.col_stop = 1 + (int)(test_rand(rs) % 100);
	ret = vm_radix_foreach(rt, start, end, rx_collect_fn, &col);
	for (i = rx_lower_bound(rp, start);
	     i < rp->rp_nkeys && rp->rp_keys[i] < end && n < col.col_limit; i++)
		if (rp->rp_state[i] != 0)
			ok &= n < col.col_n && buf[n++] == rx_ref_page(rp, i);
	CHECKF(ok && n == col.col_n &&
		ret == (n == col.col_limit ? col.col_stop : 0),
	    "foreach [%#llx, %#llx) limit %llu: %llu pages (want %llu), "
	    "returned %d",
	    (unsigned long long)start, (unsigned long long)end,
	    (unsigned long long)col.col_limit, (unsigned long long)col.col_n,
	    (unsigned long long)n, ret);
	free(buf);
}

/* Compares the whole trie with the reference. */
static void
rx_compare(struct vm_radix *rt, struct rx_pool *rp)
{
	uint64_t i, bad = 0;

	CHECK(vm_radix_check(rt) == 0);
	CHECKF(vm_radix_count(rt) == rp->rp_present, "count %llu, want %llu",
	    (unsigned long long)vm_radix_count(rt),
	    (unsigned long long)rp->rp_present);
	for (i = 0; i < rp->rp_nkeys; i++)
		if (vm_radix_lookup(rt, rp->rp_keys[i]) != rx_ref_page(rp, i))
			bad++;
	CHECKF(bad == 0, "%llu keys differ from the reference",
	    (unsigned long long)bad);
}

/*
 * One random operation, checked against the reference.  Inserts are 53%
 * of the operations and removes 2% while growing (the trie fills to about
 * 96% of the pool), the other way round while shrinking (about 4%).
 */
static void
rx_op(struct vm_radix *rt, struct rx_pool *rp, bool grow, uint64_t *rs)
{
	struct vm_page *m, *want;
	uint64_t i = test_rand(rs) % rp->rp_nkeys, r = test_rand(rs) % 100;
	vm_pindex_t k;

	if (r < (grow ? 53 : 2)) {
		rx_op_insert(rt, rp, i, rs);
	} else if (r < 55) {
		m = vm_radix_remove(rt, rp->rp_keys[i]);
		CHECK(m == rx_ref_page(rp, i));
		if (rp->rp_state[i] != 0)
			rp->rp_present--;
		rp->rp_state[i] = 0;
	} else if (r < 70) {
		k = rx_query_key(rp, rs);
		if (r < 65) {
			m = vm_radix_lookup(rt, k);
		} else {
			epoch_enter();
			m = vm_radix_lookup_unlocked(rt, k);
			epoch_exit();
		}
		CHECKF(m == rx_ref_lookup(rp, k), "lookup %#llx: %p",
		    (unsigned long long)k, (void *)m);
	} else if (r < 85) {
		k = rx_query_key(rp, rs);
		m = r < 78 ? vm_radix_lookup_ge(rt, k)
			   : vm_radix_lookup_le(rt, k);
		want = r < 78 ? rx_ref_ge(rp, k) : rx_ref_le(rp, k);
		CHECKF(m == want, "lookup_%s %#llx: key %#llx, want %#llx",
		    r < 78 ? "ge" : "le", (unsigned long long)k,
		    m == NULL ? 0ull : (unsigned long long)m->pindex,
		    want == NULL ? 0ull : (unsigned long long)want->pindex);
	} else if (r < 93) {
		if (rp->rp_state[i] == 0)
			return;
		want = rx_ref_page(rp, i);
		rp->rp_state[i] = (uint8_t)(3 - rp->rp_state[i]);
		CHECK(vm_radix_replace(rt, rx_ref_page(rp, i)) == want);
	} else {
		rx_op_foreach(rt, rp, rs);
	}
}

struct rx_random_arg {
	enum rx_dist ra_dist;
	uint64_t ra_keys;
	uint64_t ra_ops;
};

static void
rx_random_fn(void *arg)
{
	struct rx_random_arg *ra = arg;
	struct rx_pool rp;
	struct vm_radix rt;
	uint64_t rs = test_seed() * 3 + (uint64_t)ra->ra_dist, op, i;
	uint64_t maxpresent = 0;

	rx_pool_init(&rp, ra->ra_dist, ra->ra_keys, &rs);
	vm_radix_init(&rt);
	for (op = 0; op < ra->ra_ops && test_failures() == 0; op++) {
		/* Phases of RX_PHASE operations that grow or shrink the trie. */
		rx_op(&rt, &rp, op / RX_PHASE % 2 == 0, &rs);
		if (rp.rp_present > maxpresent)
			maxpresent = rp.rp_present;
		if (op % 1000 == 999)
			CHECK(vm_radix_check(&rt) == 0);
		if (op % 10000 == 9999)
			rx_compare(&rt, &rp);
	}
	rx_compare(&rt, &rp);
	printf("     %llu keys, %llu ops, at most %llu present, %llu ENOMEM\n",
	    (unsigned long long)rp.rp_nkeys, (unsigned long long)ra->ra_ops,
	    (unsigned long long)maxpresent, (unsigned long long)rp.rp_enomem);
	CHECKF(rp.rp_enomem > 0 && maxpresent > rp.rp_nkeys / 4,
	    "dist %d: %llu ENOMEMs, at most %llu of %llu keys present",
	    ra->ra_dist, (unsigned long long)rp.rp_enomem,
	    (unsigned long long)maxpresent, (unsigned long long)rp.rp_nkeys);
	/* Remove everything, in a random order. */
	for (i = 0; i < rp.rp_nkeys; i++) {
		op = (i * 0x9e3779b97f4a7c15ull + rs) % rp.rp_nkeys;
		CHECK(vm_radix_remove(&rt, rp.rp_keys[op]) ==
		    rx_ref_page(&rp, op));
		rp.rp_state[op] = 0;
	}
	for (i = 0; i < rp.rp_nkeys; i++)
		if (rp.rp_state[i] != 0)
			CHECK(vm_radix_remove(&rt, rp.rp_keys[i]) ==
			    rx_ref_page(&rp, i));
	CHECK(vm_radix_is_empty(&rt));
	CHECK(vm_radix_check(&rt) == 0);
	CHECKF(rx_wait_nodes(0), "%llu nodes left",
	    (unsigned long long)vm_radix_nodes_allocated());
	rx_pool_fini(&rp);
}

static void
rx_random(enum rx_dist dist)
{
	struct rx_random_arg ra = { dist, 2048,
		test_sanitizer() ? 40000 : 200000 };

	if (test_sim())
		ra.ra_ops /= 2;
	test_boot(2, NULL);
	test_run(rx_random_fn, &ra);
	test_shutdown();
	CHECK(vm_radix_nodes_allocated() == 0);
}

static void
test_radix_random_dense(void)
{
	rx_random(RX_DENSE);
}

static void
test_radix_random_sparse(void)
{
	rx_random(RX_SPARSE);
}

static void
test_radix_random_clustered(void)
{
	rx_random(RX_CLUSTERED);
}

/*
 * ENOMEM for each kind of insert that needs a node: splitting the leaf
 * at the root, splitting a leaf in a node, a key outside the root node's
 * prefix, a key outside an inner node's prefix.  An insert into an empty
 * slot needs none and succeeds.  Then a countdown: N allocations
 * succeed, the next fails.
 */
static int
rx_sum_fn(struct vm_page *m, void *arg)
{
	*(uint64_t *)arg = *(uint64_t *)arg * 31 + m->pindex;
	return (0);
}

static uint64_t
rx_digest(struct vm_radix *rt)
{
	uint64_t sum = 0;

	(void)vm_radix_foreach(rt, 0, UINT64_MAX, rx_sum_fn, &sum);
	return (sum * 31 + vm_radix_count(rt));
}

/* Insert of m must fail with ENOMEM and change nothing. */
static void
rx_expect_enomem(struct vm_radix *rt, struct vm_page *m)
{
	uint64_t digest = rx_digest(rt), nodes = vm_radix_nodes_allocated();
	uintptr_t root = rt->rt_root;
	int error;

	vm_radix_fail_alloc_after = 0;
	error = vm_radix_insert(rt, m);
	vm_radix_fail_alloc_after = -1;
	CHECKF(error == ENOMEM, "insert %#llx: error %d, want ENOMEM",
	    (unsigned long long)m->pindex, error);
	CHECK(rt->rt_root == root && rx_digest(rt) == digest);
	CHECK(vm_radix_nodes_allocated() == nodes);
	CHECK(vm_radix_lookup(rt, m->pindex) == NULL);
	CHECK(vm_radix_check(rt) == 0);
}

static void
rx_enomem_fn(void *arg)
{
	struct vm_page *pg = rx_pages_alloc(16);
	struct vm_radix rt;
	vm_pindex_t b = rx_digit(1, 2);
	int i, error;

	(void)arg;
	pg[0].pindex = b;
	pg[1].pindex = b + 1; /* splits the leaf at the root */
	pg[2].pindex = b + 2; /* an empty slot of the level-0 node */
	/* Outside the root node's prefix: a level-1 root. */
	pg[3].pindex = b + rx_digit(1, 1) + 1;
	/* Outside the new root's prefix: a level-3 root. */
	pg[4].pindex = rx_digit(5, 3);
	/* Outside an inner node's prefix (the level-1 node). */
	pg[5].pindex = rx_digit(2, 2);
	/* Splits the leaf pg[3] in an inner node. */
	pg[6].pindex = b + rx_digit(1, 1) + 2;
	/* Outside the root's prefix, at the top. */
	pg[7].pindex = UINT64_MAX;
	/* An empty slot of an inner node (the level-1 node). */
	pg[8].pindex = b + rx_digit(2, 1);
	vm_radix_init(&rt);
	CHECK(vm_radix_insert(&rt, &pg[0]) == 0);
	rx_expect_enomem(&rt, &pg[1]);
	CHECK(vm_radix_insert(&rt, &pg[1]) == 0);
	vm_radix_fail_alloc_after = 0;
	CHECK(vm_radix_insert(&rt, &pg[2]) == 0);
	vm_radix_fail_alloc_after = -1;
	rx_expect_enomem(&rt, &pg[3]);
	CHECK(vm_radix_insert(&rt, &pg[3]) == 0);
	rx_expect_enomem(&rt, &pg[4]);
	CHECK(vm_radix_insert(&rt, &pg[4]) == 0);
	rx_expect_enomem(&rt, &pg[5]);
	rx_expect_enomem(&rt, &pg[6]);
	rx_expect_enomem(&rt, &pg[7]);
	vm_radix_fail_alloc_after = 0;
	CHECK(vm_radix_insert(&rt, &pg[8]) == 0);
	vm_radix_fail_alloc_after = -1;
	CHECK(vm_radix_count(&rt) == 6 && vm_radix_check(&rt) == 0);
	CHECK(vm_radix_nodes_allocated() == 3);
	/* A countdown of 2: two inserts that need a node pass, not a third. */
	vm_radix_fail_alloc_after = 2;
	CHECK(vm_radix_insert(&rt, &pg[5]) == 0);
	CHECK(vm_radix_insert(&rt, &pg[6]) == 0);
	error = vm_radix_insert(&rt, &pg[7]);
	vm_radix_fail_alloc_after = -1;
	CHECKF(error == ENOMEM, "third insert: error %d", error);
	CHECK(vm_radix_count(&rt) == 8 && vm_radix_check(&rt) == 0);
	CHECK(vm_radix_nodes_allocated() == 5);
	for (i = 0; i < 9; i++)
		if (i != 7)
			CHECK(vm_radix_remove(&rt, pg[i].pindex) == &pg[i]);
	CHECK(vm_radix_is_empty(&rt));
	CHECK(rx_wait_nodes(0));
	free(pg);
}

static void
test_radix_enomem(void)
{
	test_boot(2, NULL);
	test_run(rx_enomem_fn, NULL);
	test_shutdown();
}

/*
 * reclaim_allnodes: every node freed at once (no epoch), pages intact,
 * the trie empty and usable.
 */
static void
rx_reclaim_fn(void *arg)
{
	uint64_t n = test_sanitizer() ? 20000 : 200000, i, rs = test_seed();
	struct vm_page *pg = rx_pages_alloc(n);
	struct vm_radix rt;
	bool intact = true;

	(void)arg;
	vm_radix_init(&rt);
	vm_radix_reclaim_allnodes(&rt);
	CHECK(vm_radix_is_empty(&rt));
	for (i = 0; i < n; i++) {
		/* Half dense, half sparse. */
		pg[i].pindex = i % 2 == 0 ? i : test_rand(&rs) | 1;
		CHECK(vm_radix_insert(&rt, &pg[i]) == 0);
	}
	CHECK(vm_radix_check(&rt) == 0);
	CHECK(vm_radix_count(&rt) == n);
	CHECK(vm_radix_nodes_allocated() > n / 16);
	vm_radix_reclaim_allnodes(&rt);
	CHECK(vm_radix_nodes_allocated() == 0);
	CHECK(vm_radix_is_empty(&rt) && vm_radix_count(&rt) == 0);
	CHECK(vm_radix_lookup(&rt, 0) == NULL);
	rs = test_seed();
	for (i = 0; i < n; i++)
		intact &= pg[i].pindex == (i % 2 == 0 ? i : test_rand(&rs) | 1);
	CHECK(intact);
	/* Reusable. */
	CHECK(vm_radix_insert(&rt, &pg[2]) == 0);
	CHECK(vm_radix_insert(&rt, &pg[4]) == 0);
	CHECK(vm_radix_lookup(&rt, 4) == &pg[4]);
	vm_radix_reclaim_allnodes(&rt);
	CHECK(vm_radix_nodes_allocated() == 0);
	free(pg);
}

static void
test_radix_reclaim(void)
{
	test_boot(2, NULL);
	test_run(rx_reclaim_fn, NULL);
	test_shutdown();
}

/*
 * Lockless readers against a writer.
 *
 * The pool: RC_NKEYS keys, two pages each.  Some keys are pinned:
 * inserted before the readers start and never removed, only replaced by
 * their twin.  Each pinned key has unpinned neighbours that share all
 * but one of its digits, so toggling a neighbour makes the writer build
 * a node above the pinned leaf (moving the leaf down into it) or unlink
 * one (moving it up): the moves a reader must never lose a key in.
 *	- low keys: in each of the first RC_NRANGES level-0 ranges (of
 *	  1 << VM_RADIX_WIDTH keys), a pinned key and 3 unpinned ones;
 *	- RC_NGROUPS groups at random 64-bit keys: a pinned key and
 *	  RC_GROUP - 1 neighbours differing in one digit (low digits more
 *	  often).
 * The writer toggles random unpinned keys and replaces pinned ones;
 * readers look up pinned keys (half the time), other pool keys and keys
 * not in the pool, RC_BATCH per epoch section.
 *
 * Locking key: (w) rc_mtx; (a) atomic; (c) constant while threads run.
 */
#define RC_NRANGES 128
#define RC_NDENSE (4 * RC_NRANGES)
#define RC_NGROUPS 96
#define RC_GROUP 8
#define RC_NKEYS (RC_NDENSE + RC_NGROUPS * RC_GROUP)
#define RC_BATCH 32
#define RC_MAXREADERS 64

struct rc_state {
	struct mtx rc_mtx;
	struct vm_radix rc_rt;	       /* (w) writes; readers lockless */
	vm_pindex_t rc_keys[RC_NKEYS]; /* (c) sorted */
	bool rc_pinned[RC_NKEYS];      /* (c) */
	uint64_t rc_pinidx[RC_NKEYS];  /* (c) indexes of pinned keys */
	uint64_t rc_npinned;	       /* (c) */
	uint64_t rc_nkeys;	       /* (c) */
	struct vm_page *rc_pages;      /* (c) 2 per key */
	uint8_t rc_state[RC_NKEYS];    /* (w) 0 absent, 1 + twin present */
	uint64_t rc_present;	       /* (w) */
	uint64_t rc_iters;	       /* (c) writer operations */
	uint32_t rc_done;	       /* (a) the writer has finished */
	uint64_t rc_lookups;	       /* (a) totals of the readers */
	uint64_t rc_found;	       /* (a) */
	uint64_t rc_bad;	       /* (a) wrong page returned */
	uint64_t rc_missed;	       /* (a) pinned key not found */
};

static struct rc_state *rc;

static void
rc_writer_op(uint64_t i, uint64_t *rs)
{
	struct vm_page *m = &rc->rc_pages[2 * i + test_rand(rs) % 2];
	int error;

	mtx_lock(&rc->rc_mtx);
	if (rc->rc_pinned[i]) {
		m = &rc->rc_pages[2 * i + 2 - rc->rc_state[i]];
		CHECK(vm_radix_replace(&rc->rc_rt, m) ==
		    &rc->rc_pages[2 * i + rc->rc_state[i] - 1]);
		rc->rc_state[i] = (uint8_t)(3 - rc->rc_state[i]);
	} else if (rc->rc_state[i] != 0) {
		CHECK(vm_radix_remove(&rc->rc_rt, rc->rc_keys[i]) ==
		    &rc->rc_pages[2 * i + rc->rc_state[i] - 1]);
		rc->rc_state[i] = 0;
		rc->rc_present--;
	} else {
		error = vm_radix_insert(&rc->rc_rt, m);
		CHECKF(error == 0, "insert: error %d", error);
		rc->rc_state[i] = (uint8_t)(1 + (m - rc->rc_pages) % 2);
		rc->rc_present++;
	}
	mtx_unlock(&rc->rc_mtx);
}

static void
rc_writer(void *arg)
{
	uint64_t rs = test_seed() ^ 0x5752495445ull, it;

	(void)arg;
	for (it = 0; it < rc->rc_iters && test_failures() == 0; it++) {
		rc_writer_op(test_rand(&rs) % rc->rc_nkeys, &rs);
		if (it % 4096 == 4095) {
			mtx_lock(&rc->rc_mtx);
			CHECK(vm_radix_check(&rc->rc_rt) == 0);
			mtx_unlock(&rc->rc_mtx);
		}
	}
	atomic_store_rel_int(&rc->rc_done, 1);
}

/* Checks one lockless lookup of key k, which must be found if pinned. */
static void
rc_reader_check(vm_pindex_t k, bool pinned, uint64_t *found, uint64_t *bad,
    uint64_t *missed)
{
	struct vm_page *m = vm_radix_lookup_unlocked(&rc->rc_rt, k);
	uint64_t off;

	if (m == NULL) {
		if (pinned)
			(*missed)++;
		return;
	}
	(*found)++;
	off = (uint64_t)((uintptr_t)m - (uintptr_t)rc->rc_pages);
	if (off >= 2 * rc->rc_nkeys * sizeof(struct vm_page) ||
	    off % sizeof(struct vm_page) != 0 || m->pindex != k)
		(*bad)++;
}

static void
rc_reader(void *arg)
{
	uint64_t rs = test_seed() + (uint64_t)(uintptr_t)arg, i, r;
	uint64_t lookups = 0, found = 0, bad = 0, missed = 0;
	vm_pindex_t k;
	int j;

	while (atomic_load_acq_int(&rc->rc_done) == 0) {
		epoch_enter();
		for (j = 0; j < RC_BATCH; j++) {
			r = test_rand(&rs);
			if (r % 2 == 0)
				i = rc->rc_pinidx[(r >> 8) % rc->rc_npinned];
			else
				i = (r >> 8) % rc->rc_nkeys;
			k = rc->rc_keys[i];
			/* Now and then a key that may not be in the pool. */
			if (r % 16 == 1)
				k ^= (vm_pindex_t)1 << (r >> 58);
			rc_reader_check(k,
			    k == rc->rc_keys[i] && rc->rc_pinned[i], &found,
			    &bad, &missed);
		}
		epoch_exit();
		lookups += RC_BATCH;
	}
	atomic_fetchadd_64(&rc->rc_lookups, lookups);
	atomic_fetchadd_64(&rc->rc_found, found);
	atomic_fetchadd_64(&rc->rc_bad, bad);
	atomic_fetchadd_64(&rc->rc_missed, missed);
}

/* The pool (see above), sorted, with its pinned keys marked. */
static void
rc_make_keys(uint64_t *rs)
{
	vm_pindex_t pins[RC_NRANGES + RC_NGROUPS], p;
	uint64_t g, j, n = 0, npins = 0;
	int rx_levels = (64 + VM_RADIX_WIDTH - 1) / VM_RADIX_WIDTH, d;

	for (j = 0; j < RC_NRANGES; j++) {
		p = pins[npins++] = rc->rc_keys[n++] = rx_digit(j, 1) + 7;
		rc->rc_keys[n++] = p + 1;
		rc->rc_keys[n++] = p + 2;
		rc->rc_keys[n++] = rx_digit(j + 1, 1) - 1;
	}
	for (g = 0; g < RC_NGROUPS; g++) {
		p = pins[npins++] = rc->rc_keys[n++] = test_rand(rs);
		for (j = 1; j < RC_GROUP; j++) {
			/* 4 bits of a digit: the top one has only 4. */
			d = (int)(test_rand(rs) % 2 == 0
				? test_rand(rs) % 3
				: test_rand(rs) % (uint64_t)rx_levels);
			rc->rc_keys[n++] =
			    p ^ rx_digit(1 + test_rand(rs) % 15, d);
		}
	}
	rc->rc_nkeys = rx_sort_keys(rc->rc_keys, n);
	for (j = 0; j < npins; j++) {
		for (g = 0; rc->rc_keys[g] != pins[j]; g++)
			;
		if (!rc->rc_pinned[g]) {
			rc->rc_pinned[g] = true;
			rc->rc_pinidx[rc->rc_npinned++] = g;
		}
	}
}

static void
rc_setup(uint64_t *rs)
{
	uint64_t i;

	rc_make_keys(rs);
	rc->rc_pages = rx_pages_alloc(2 * rc->rc_nkeys);
	for (i = 0; i < 2 * rc->rc_nkeys; i++)
		rc->rc_pages[i].pindex = rc->rc_keys[i / 2];
	vm_radix_init(&rc->rc_rt);
	for (i = 0; i < rc->rc_nkeys; i++)
		if (rc->rc_pinned[i] || test_rand(rs) % 2 == 0) {
			CHECK(vm_radix_insert(
				  &rc->rc_rt, &rc->rc_pages[2 * i]) == 0);
			rc->rc_state[i] = 1;
			rc->rc_present++;
		}
}

static void
rc_main(void *arg)
{
	struct thread *td[RC_MAXREADERS + 1];
	uint64_t rs = test_seed() ^ 0x5345545550ull, i;
	int n, t;

	(void)arg;
	mtx_lock(&rc->rc_mtx);
	rc_setup(&rs);
	mtx_unlock(&rc->rc_mtx);
	n = md_ncpus() < RC_MAXREADERS + 1 ? md_ncpus() : RC_MAXREADERS + 1;
	/* The writer on CPU 0, a reader on each other CPU. */
	for (t = 0; t < n; t++)
		CHECK(kthread_create(t == 0 ? rc_writer : rc_reader,
			  (void *)(uintptr_t)t, t, KTHR_BOUND | KTHR_JOINABLE,
			  &td[t], "rc%d", t) == 0);
	for (t = 0; t < n; t++)
		kthread_join(td[t]);
	mtx_lock(&rc->rc_mtx);
	CHECK(vm_radix_check(&rc->rc_rt) == 0);
	CHECK(vm_radix_count(&rc->rc_rt) == rc->rc_present);
	for (i = 0; i < rc->rc_nkeys; i++)
		CHECK(vm_radix_lookup(&rc->rc_rt, rc->rc_keys[i]) ==
		    (rc->rc_state[i] == 0
			    ? NULL
			    : &rc->rc_pages[2 * i + rc->rc_state[i] - 1]));
	for (i = 0; i < rc->rc_nkeys; i++)
		(void)vm_radix_remove(&rc->rc_rt, rc->rc_keys[i]);
	CHECK(vm_radix_is_empty(&rc->rc_rt));
	mtx_unlock(&rc->rc_mtx);
}

static void
test_radix_concurrent(void)
{
	rc = calloc(1, sizeof(*rc));
	/* The simulated machine under TSan takes 12 s for 50,000: fewer. */
	if (test_sim())
		rc->rc_iters = test_sanitizer() ? 10000 : 200000;
	else
		rc->rc_iters = test_sanitizer() ? 50000 : 500000;
	/* A writer and two readers (more CPUs, more readers, in the sim). */
	test_boot(3, NULL);
	mtx_init(&rc->rc_mtx, "test radix", MTX_DEF);
	test_run(rc_main, NULL);
	mtx_destroy(&rc->rc_mtx);
	/* Shutdown runs the frees still pending. */
	test_shutdown();
	CHECKF(vm_radix_nodes_allocated() == 0, "%llu nodes left",
	    (unsigned long long)vm_radix_nodes_allocated());
	CHECKF(rc->rc_bad == 0, "readers got %llu wrong pages",
	    (unsigned long long)rc->rc_bad);
	CHECKF(rc->rc_missed == 0, "readers missed %llu present pages",
	    (unsigned long long)rc->rc_missed);
	CHECKF(rc->rc_lookups > 1000 && rc->rc_found > rc->rc_lookups / 4,
	    "%llu lookups, %llu found", (unsigned long long)rc->rc_lookups,
	    (unsigned long long)rc->rc_found);
	printf("     concurrent: %llu keys (%llu pinned), %llu writer ops, "
	       "%llu lookups (%llu found)\n",
	    (unsigned long long)rc->rc_nkeys,
	    (unsigned long long)rc->rc_npinned,
	    (unsigned long long)rc->rc_iters,
	    (unsigned long long)rc->rc_lookups,
	    (unsigned long long)rc->rc_found);
	free(rc->rc_pages);
	free(rc);
}

static const struct test_case cases[] = {
	TEST_CASE(test_radix_edges),
	TEST_CASE(test_radix_random_dense),
	TEST_CASE(test_radix_random_sparse),
	TEST_CASE(test_radix_random_clustered),
	TEST_CASE(test_radix_enomem),
	TEST_CASE(test_radix_reclaim),
	TEST_CASE(test_radix_concurrent),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
