/*
 * test_vm_swap.c: the swap device (vm_swap): block allocator, page I/O,
 * error injection, per-object swap metadata, and the vm.swap.* tunables.
 *
 *	- allocator: runs of 1..32 placed one after the other (next fit),
 *	  one large free, fragmentation, exact exhaustion (ENOSPC and
 *	  vm.swap.exhausted only for want of free blocks), packing of every
 *	  run length; vm_swap_check() after each phase;
 *	- random allocations and frees against a reference bitmap that
 *	  predicts every allocation's block (next fit) and every ENOSPC, on
 *	  devices of 8191, 4096 and 16385 blocks (partial last word, one
 *	  full summary node, three summary levels);
 *	- I/O: single pages and 32-page clusters (scattered and physically
 *	  contiguous pages) read back one by one and as a cluster; the
 *	  counters; on the simulated machine, the disk's latency and
 *	  bandwidth in virtual time;
 *	- injected write errors (every 3rd) return EIO and leave the old data
 *	  on the device; injected read errors leave the page untouched; the
 *	  injection tunables;
 *	- several CPUs allocating, writing, reading and freeing at once on a
 *	  device too small for all of them;
 *	- metadata against a reference under random set / remove / lookup /
 *	  free_range on three objects, with page indices near 0, 2^40 and
 *	  2^64; foreach; then free_all returns every block; a few hundred
 *	  thousand entries set and freed;
 *	- vm.swap.path: the file is created with a labelled header page and
 *	  the right size, holds the pages written after the header, and
 *	  stays after shutdown; the default device leaves nothing in TMPDIR;
 *	  an unusable path fails vm_swap_init() cleanly (test_boot.c tests
 *	  the paths that are refused);
 *	- tunables: default size (twice memory), rounding, minimum, string
 *	  listing, and bad values rejected with EINVAL.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv, opendir */

#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_swap.h"
#include "vm_test.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SWAP_MEM (64ull << 20)

static const char *const swap_tun_4m[] = { "vm.swap.size=4m", NULL };

/* Boots a machine whose swap device has `npages' blocks. */
static void
swap_boot_pages(int ncpus, uint64_t npages)
{
	static char size[64];
	const char *tun[] = { size, NULL };

	snprintf(size, sizeof(size), "vm.swap.size=%llu",
	    (unsigned long long)ptoa(npages));
	vm_test_boot(ncpus, 1, SWAP_MEM, tun);
}

/*
 * The reference allocator: a byte per block, and the next-fit rule.
 */
struct swap_ref {
	uint8_t *sr_used;
	uint64_t sr_total;
	uint64_t sr_cursor;
	uint64_t sr_nused;
};

/* The first start >= from of a free run of n, or -1. */
static int64_t
swap_ref_find(const struct swap_ref *ref, uint64_t from, int n)
{
	uint64_t b, run = 0;

	for (b = from; b < ref->sr_total; b++) {
		run = ref->sr_used[b] ? 0 : run + 1;
		if (run == (uint64_t)n)
			return ((int64_t)(b + 1 - run));
	}
	return (-1);
}

static int64_t
swap_ref_alloc(struct swap_ref *ref, int n)
{
	int64_t blk = swap_ref_find(ref, ref->sr_cursor, n);

	if (blk < 0)
		blk = swap_ref_find(ref, 0, n);
	if (blk < 0)
		return (-1);
	memset(&ref->sr_used[blk], 1, (size_t)n);
	ref->sr_nused += (uint64_t)n;
	ref->sr_cursor = (uint64_t)blk + (uint64_t)n;
	if (ref->sr_cursor == ref->sr_total)
		ref->sr_cursor = 0;
	return (blk);
}

static void
swap_ref_free(struct swap_ref *ref, int64_t blk, int n)
{
	memset(&ref->sr_used[blk], 0, (size_t)n);
	ref->sr_nused -= (uint64_t)n;
}

/* Allocates through both and checks that they agree. */
static int64_t
swap_alloc_both(struct swap_ref *ref, int n)
{
	int64_t want = swap_ref_alloc(ref, n);
	vm_daddr_t blk = SWAPBLK_NONE;
	int rv = vm_swap_alloc(n, &blk);

	CHECKF((rv == 0) == (want >= 0) && (rv != 0 || blk == want),
	    "alloc(%d): rv %d block %lld, expected %lld", n, rv, (long long)blk,
	    (long long)want);
	CHECK(rv == 0 || rv == ENOSPC);
	return (rv == 0 ? blk : -1);
}

static void
swap_free_both(struct swap_ref *ref, int64_t blk, int n)
{
	vm_swap_free(blk, n);
	swap_ref_free(ref, blk, n);
}

static void
swap_ref_init(struct swap_ref *ref)
{
	ref->sr_total = vm_swap_total();
	ref->sr_used = calloc(ref->sr_total, 1);
	ref->sr_cursor = 0;
	ref->sr_nused = 0;
}

/* Runs of 1..32 in sequence, then one large free. */
static void
alloc_sequence(struct swap_ref *ref)
{
	int64_t blk, prev = (int64_t)ref->sr_cursor;
	int n;

	for (n = 1; n <= VM_SWAP_MAXPAGES; n++) {
		blk = swap_alloc_both(ref, n);
		CHECKF(blk == prev, "run of %d at %lld, not after the previous",
		    n, (long long)blk);
		prev = blk + n;
	}
	CHECK(vm_swap_used() == 528 && vm_swap_check() == 0);
	/* One free of 528 blocks, then the cursor continues after them. */
	swap_free_both(ref, 0, 528);
	CHECK(vm_swap_used() == 0 && vm_swap_check() == 0);
	CHECK(swap_alloc_both(ref, 4) == 528);
	swap_free_both(ref, 528, 4);
}

/* Every block taken singly, every other one given back. */
static void
alloc_fragmented(struct swap_ref *ref, uint64_t exh0)
{
	uint64_t b;

	for (b = 0; b < ref->sr_total; b++)
		CHECK(swap_alloc_both(ref, 1) >= 0);
	CHECK(vm_swap_used() == ref->sr_total && vm_swap_check() == 0);
	CHECK(swap_alloc_both(ref, 1) < 0);
	CHECK(vm_test_stat("vm.swap.exhausted") == exh0 + 1);
	for (b = 0; b < ref->sr_total; b += 2)
		swap_free_both(ref, (int64_t)b, 1);
	/* Half the device is free, but no two blocks in a row. */
	CHECK(swap_alloc_both(ref, 2) < 0);
	CHECK(vm_test_stat("vm.swap.exhausted") == exh0 + 1);
	swap_free_both(ref, 101, 1);
	CHECK(swap_alloc_both(ref, 4) < 0);
	CHECK(swap_alloc_both(ref, 3) == 100);
	CHECK(vm_swap_check() == 0);
	for (b = 0; b < ref->sr_total; b++)
		if (ref->sr_used[b])
			swap_free_both(ref, (int64_t)b, 1);
	CHECK(vm_swap_used() == 0 && vm_swap_check() == 0);
}

/* Moves the (empty device's) cursor to 0 by allocating up to the end. */
static void
alloc_cursor_to_zero(struct swap_ref *ref)
{
	uint64_t start = ref->sr_cursor, n;

	while (ref->sr_cursor != 0) {
		n = ref->sr_total - ref->sr_cursor;
		CHECK(swap_alloc_both(ref, n < 32 ? (int)n : 32) >= 0);
	}
	if (start != 0)
		swap_free_both(
		    ref, (int64_t)start, (int)(ref->sr_total - start));
}

/* Exact exhaustion with 32-block runs, and the hole refilled. */
static void
alloc_exhaust(struct swap_ref *ref, uint64_t exh0)
{
	int64_t blk, hole = -1;
	uint64_t i, n = ref->sr_total / VM_SWAP_MAXPAGES;

	alloc_cursor_to_zero(ref);
	for (i = 0; i < n; i++) {
		blk = swap_alloc_both(ref, VM_SWAP_MAXPAGES);
		CHECK(blk >= 0);
		if (i == n / 2)
			hole = blk;
	}
	CHECK(vm_swap_used() == vm_swap_total());
	CHECK(vm_test_stat("vm.swap.used") == vm_swap_total());
	CHECK(swap_alloc_both(ref, 1) < 0);
	CHECK(swap_alloc_both(ref, 32) < 0);
	CHECK(vm_test_stat("vm.swap.exhausted") == exh0 + 3);
	swap_free_both(ref, hole, VM_SWAP_MAXPAGES);
	CHECK(swap_alloc_both(ref, VM_SWAP_MAXPAGES) == hole);
	CHECK(swap_alloc_both(ref, 1) < 0);
	CHECK(vm_test_stat("vm.swap.exhausted") == exh0 + 4);
	CHECK(vm_swap_check() == 0);
	swap_free_both(ref, 0, (int)ref->sr_total);
}

/* Runs of each length pack the device until ENOSPC. */
static void
alloc_pack(struct swap_ref *ref)
{
	int64_t blk;
	uint64_t count, b;
	int n;

	for (n = 1; n <= VM_SWAP_MAXPAGES; n++) {
		count = 0;
		while ((blk = swap_alloc_both(ref, n)) >= 0)
			count++;
		CHECKF(count + 1 >= ref->sr_total / (uint64_t)n,
		    "%llu runs of %d on %llu blocks", (unsigned long long)count,
		    n, (unsigned long long)ref->sr_total);
		CHECK(vm_swap_check() == 0);
		for (b = 0; b < ref->sr_total; b++)
			if (ref->sr_used[b])
				swap_free_both(ref, (int64_t)b, 1);
	}
}

static void
alloc_basic_fn(void *arg)
{
	struct swap_ref ref;
	uint64_t exh0 = vm_test_stat("vm.swap.exhausted");

	(void)arg;
	CHECK(vm_swap_total() == 1024 && vm_swap_used() == 0);
	CHECK(vm_test_stat("vm.swap.total") == 1024);
	swap_ref_init(&ref);
	alloc_sequence(&ref);
	alloc_fragmented(&ref, exh0);
	alloc_exhaust(&ref, exh0);
	alloc_pack(&ref);
	CHECK(vm_swap_used() == 0 && ref.sr_nused == 0);
	CHECK(vm_swap_check() == 0);
	free(ref.sr_used);
}

static void
test_swap_alloc_basic(void)
{
	vm_test_boot(2, 1, SWAP_MEM, swap_tun_4m);
	test_run(alloc_basic_fn, NULL);
	test_shutdown();
}

/*
 * Random operations against the reference.
 */
struct alloc_run {
	int64_t ar_blk;
	int ar_n;
};

struct alloc_rand {
	uint64_t ra_seed;
	uint64_t ra_ops;
};

/* Frees live[i], sometimes in two pieces. */
static void
rand_free(struct swap_ref *ref, struct alloc_run *live, int *nlive, int i,
    uint64_t *rs)
{
	struct alloc_run *r = &live[i];
	int k;

	if (r->ar_n > 1 && test_rand(rs) % 4 == 0) {
		k = 1 + (int)(test_rand(rs) % (uint64_t)(r->ar_n - 1));
		swap_free_both(ref, r->ar_blk + k, r->ar_n - k);
		swap_free_both(ref, r->ar_blk, k);
	} else
		swap_free_both(ref, r->ar_blk, r->ar_n);
	live[i] = live[--(*nlive)];
}

static void
alloc_random_fn(void *arg)
{
	struct alloc_rand *ra = arg;
	struct swap_ref ref;
	struct alloc_run *live;
	uint64_t it, rs = ra->ra_seed, pct = 60;
	int64_t blk;
	int n, nlive = 0;

	swap_ref_init(&ref);
	live = calloc(ref.sr_total, sizeof(*live));
	for (it = 0; it < ra->ra_ops; it++) {
		/* Alternate filling phases and draining ones. */
		if (it % 2000 == 0)
			pct = pct == 85 ? 25 : 85;
		if (nlive == 0 || test_rand(&rs) % 100 < pct) {
			n = test_rand(&rs) % 3 == 0
			    ? VM_SWAP_MAXPAGES
			    : 1 + (int)(test_rand(&rs) % VM_SWAP_MAXPAGES);
			blk = swap_alloc_both(&ref, n);
			if (blk >= 0)
				live[nlive++] = (struct alloc_run) { blk, n };
		} else
			rand_free(&ref, live, &nlive,
			    (int)(test_rand(&rs) % (uint64_t)nlive), &rs);
		if (it % 500 == 0) {
			CHECK(vm_swap_check() == 0);
			CHECK(vm_swap_used() == ref.sr_nused);
		}
	}
	while (nlive > 0)
		rand_free(&ref, live, &nlive, nlive - 1, &rs);
	CHECK(vm_swap_used() == 0 && vm_swap_check() == 0);
	free(live);
	free(ref.sr_used);
}

static void
test_swap_alloc_random(void)
{
	static const uint64_t sizes[] = { 8191, 4096, 16385 };
	struct alloc_rand ra;
	size_t i;

	for (i = 0; i < nitems(sizes); i++) {
		swap_boot_pages(2, sizes[i]);
		CHECK(vm_swap_total() == sizes[i]);
		ra.ra_seed = test_seed() + i;
		ra.ra_ops = vm_test_size(20000, 5000);
		test_run(alloc_random_fn, &ra);
		test_shutdown();
	}
}

/*
 * I/O.
 */
static uint64_t
io_word(uint64_t tag, uint64_t i)
{
	return ((tag + 1) * 0x9e3779b97f4a7c15ull ^ (i * 0x100000001b3ull));
}

static void
io_fill(struct vm_page *m, uint64_t tag)
{
	uint64_t *p = (uint64_t *)vm_page_dmap(m), i;

	for (i = 0; i < PAGE_SIZE / 8; i++)
		p[i] = io_word(tag, i);
}

static bool
io_matches(struct vm_page *m, uint64_t tag)
{
	const uint64_t *p = (const uint64_t *)vm_page_dmap(m);
	uint64_t i;

	for (i = 0; i < PAGE_SIZE / 8; i++)
		if (p[i] != io_word(tag, i))
			return (false);
	return (true);
}

static void
io_single_fn(void *arg)
{
	struct vm_page *m;
	vm_daddr_t blks[64];
	uint64_t tag0 = *(uint64_t *)arg, out0, in0;
	int i;

	out0 = vm_test_stat("vm.swap.pages_out");
	in0 = vm_test_stat("vm.swap.pages_in");
	m = vm_page_alloc_noobj(0);
	for (i = 0; i < 64; i++) {
		CHECK(vm_swap_alloc(1, &blks[i]) == 0);
		io_fill(m, tag0 + (uint64_t)blks[i]);
		CHECK(vm_swap_write(blks[i], &m, 1) == 0);
		io_fill(m, ~0ull);
		CHECK(vm_swap_read(blks[i], &m, 1) == 0);
		CHECKF(io_matches(m, tag0 + (uint64_t)blks[i]),
		    "block %lld read back wrong", (long long)blks[i]);
	}
	/* Every block still holds its own page. */
	for (i = 63; i >= 0; i--) {
		CHECK(vm_swap_read(blks[i], &m, 1) == 0);
		CHECK(io_matches(m, tag0 + (uint64_t)blks[i]));
		vm_swap_free(blks[i], 1);
	}
	CHECK(vm_test_stat("vm.swap.pages_out") == out0 + 64);
	CHECK(vm_test_stat("vm.swap.pages_in") == in0 + 128);
	vm_page_free(m);
}

/* Writes ma[0..32) as a cluster, reads it back singly and as a cluster. */
static void
io_cluster(struct vm_page **ma, uint64_t tag0)
{
	struct vm_page *rd[VM_SWAP_MAXPAGES];
	vm_daddr_t blk;
	uint64_t w0 = vm_test_stat("vm.swap.writes"),
		 r0 = vm_test_stat("vm.swap.reads");
	int i;

	CHECK(vm_swap_alloc(VM_SWAP_MAXPAGES, &blk) == 0);
	for (i = 0; i < VM_SWAP_MAXPAGES; i++) {
		io_fill(ma[i], tag0 + (uint64_t)i);
		rd[i] = vm_page_alloc_noobj(0);
	}
	CHECK(vm_swap_write(blk, ma, VM_SWAP_MAXPAGES) == 0);
	for (i = 0; i < VM_SWAP_MAXPAGES; i++) {
		io_fill(rd[0], ~0ull);
		CHECK(vm_swap_read(blk + i, &rd[0], 1) == 0);
		CHECKF(io_matches(rd[0], tag0 + (uint64_t)i),
		    "page %d of the cluster read back wrong", i);
	}
	CHECK(vm_swap_read(blk, rd, VM_SWAP_MAXPAGES) == 0);
	for (i = 0; i < VM_SWAP_MAXPAGES; i++)
		CHECKF(io_matches(rd[i], tag0 + (uint64_t)i),
		    "page %d of the cluster read as a cluster wrong", i);
	CHECK(vm_test_stat("vm.swap.writes") == w0 + 1);
	CHECK(vm_test_stat("vm.swap.reads") == r0 + VM_SWAP_MAXPAGES + 1);
	vm_page_free_bulk(rd, VM_SWAP_MAXPAGES);
	vm_swap_free(blk, VM_SWAP_MAXPAGES);
}

/* On the simulated machine, an I/O takes the disk's time. */
static void
io_sim_cost(void)
{
	struct sysctl_info lat, mbps;
	struct vm_page *ma[VM_SWAP_MAXPAGES];
	uint64_t t0, dt, want;
	vm_daddr_t blk;
	int n;

	CHECK(sysctl_get("sim.cost.disk_latency", &lat));
	CHECK(sysctl_get("sim.cost.disk_mbps", &mbps));
	want = (uint64_t)lat.si_value +
	    ptoa(VM_SWAP_MAXPAGES) * 1000 / (uint64_t)mbps.si_value;
	n = vm_page_alloc_bulk(0, ma, VM_SWAP_MAXPAGES);
	CHECK(n == VM_SWAP_MAXPAGES);
	CHECK(vm_swap_alloc(VM_SWAP_MAXPAGES, &blk) == 0);
	t0 = md_nanotime();
	CHECK(vm_swap_write(blk, ma, VM_SWAP_MAXPAGES) == 0);
	dt = md_nanotime() - t0;
	CHECKF(dt >= want,
	    "a 128 KiB write took %llu ns of virtual time, "
	    "expected at least %llu",
	    (unsigned long long)dt, (unsigned long long)want);
	vm_swap_free(blk, VM_SWAP_MAXPAGES);
	vm_page_free_bulk(ma, n);
}

static void
io_cluster_fn(void *arg)
{
	struct vm_page *ma[VM_SWAP_MAXPAGES], *m;
	uint64_t tag0 = *(uint64_t *)arg;
	int i, n;

	/* Scattered pages (one iovec each)... */
	n = vm_page_alloc_bulk(0, ma, VM_SWAP_MAXPAGES);
	CHECK(n == VM_SWAP_MAXPAGES);
	io_cluster(ma, tag0);
	vm_page_free_bulk(ma, n);
	/* ...and contiguous ones (merged into one). */
	m = vm_page_alloc_contig(
	    0, VM_SWAP_MAXPAGES, 0, vm_phys_end, PAGE_SIZE, 0);
	CHECK(m != NULL);
	for (i = 0; i < VM_SWAP_MAXPAGES; i++)
		ma[i] = &m[i];
	io_cluster(ma, tag0 + 1000);
	vm_page_free_contig(m, VM_SWAP_MAXPAGES);
	if (test_sim())
		io_sim_cost();
	CHECK(vm_swap_used() == 0);
}

static void
test_swap_io(void)
{
	uint64_t tag = test_seed();

	vm_test_boot(2, 1, SWAP_MEM, swap_tun_4m);
	test_run(io_single_fn, &tag);
	test_run(io_cluster_fn, &tag);
	test_shutdown();
}

/*
 * Error injection.
 */
static void
inject_write_fn(void *arg)
{
	struct vm_page *m = vm_page_alloc_noobj(0);
	uint64_t e0 = vm_test_stat("vm.swap.write_errors");
	vm_daddr_t blk;
	int i, rv;

	(void)arg;
	CHECK(vm_swap_alloc(9, &blk) == 0);
	for (i = 0; i < 9; i++) {
		io_fill(m, 100 + (uint64_t)i);
		CHECK(vm_swap_write(blk + i, &m, 1) == 0);
	}
	vm_test_set("vm.swap.inject_write_errors", 3);
	vm_test_set("vm.swap.inject_read_errors", 0);
	for (i = 0; i < 9; i++) {
		io_fill(m, 200 + (uint64_t)i);
		rv = vm_swap_write(blk + i, &m, 1);
		CHECKF(
		    rv == ((i + 1) % 3 == 0 ? EIO : 0), "write %d: %d", i, rv);
	}
	vm_test_set("vm.swap.inject_write_errors", 0);
	vm_test_set("vm.swap.inject_read_errors", 0);
	CHECK(vm_test_stat("vm.swap.write_errors") == e0 + 3);
	for (i = 0; i < 9; i++) {
		CHECK(vm_swap_read(blk + i, &m, 1) == 0);
		CHECKF(
		    io_matches(m, ((i + 1) % 3 == 0 ? 100 : 200) + (uint64_t)i),
		    "block %d: the device holds the wrong data", i);
	}
	vm_swap_free(blk, 9);
	vm_page_free(m);
}

static void
inject_read_fn(void *arg)
{
	struct vm_page *m = vm_page_alloc_noobj(0);
	uint64_t e0 = vm_test_stat("vm.swap.read_errors");
	vm_daddr_t blk;
	int i, rv;

	(void)arg;
	CHECK(vm_swap_alloc(8, &blk) == 0);
	for (i = 0; i < 8; i++) {
		io_fill(m, 300 + (uint64_t)i);
		CHECK(vm_swap_write(blk + i, &m, 1) == 0);
	}
	vm_test_set("vm.swap.inject_write_errors", 0);
	vm_test_set("vm.swap.inject_read_errors", 2);
	for (i = 0; i < 8; i++) {
		io_fill(m, 999);
		rv = vm_swap_read(blk + i, &m, 1);
		CHECKF(rv == (i % 2 == 1 ? EIO : 0), "read %d: %d", i, rv);
		CHECKF(io_matches(m, rv == 0 ? 300 + (uint64_t)i : 999),
		    "read %d (rv %d): wrong page contents", i, rv);
	}
	vm_test_set("vm.swap.inject_write_errors", 0);
	vm_test_set("vm.swap.inject_read_errors", 0);
	CHECK(vm_test_stat("vm.swap.read_errors") == e0 + 4);
	vm_swap_free(blk, 8);
	vm_page_free(m);
}

/* vm.swap.inject_write_errors=2: the second write fails. */
static void
inject_tunable_fn(void *arg)
{
	struct vm_page *m = vm_page_alloc_noobj(0);
	vm_daddr_t blk;

	(void)arg;
	CHECK(vm_swap_alloc(2, &blk) == 0);
	CHECK(vm_swap_write(blk, &m, 1) == 0);
	CHECK(vm_swap_write(blk + 1, &m, 1) == EIO);
	CHECK(vm_swap_read(blk, &m, 1) == 0);
	vm_swap_free(blk, 2);
	vm_page_free(m);
}

static void
test_swap_inject(void)
{
	static const char *const tun[] = { "vm.swap.size=4m",
		"vm.swap.inject_write_errors=2", NULL };

	vm_test_boot(2, 1, SWAP_MEM, swap_tun_4m);
	test_run(inject_write_fn, NULL);
	test_run(inject_read_fn, NULL);
	test_shutdown();
	vm_test_boot(2, 1, SWAP_MEM, tun);
	test_run(inject_tunable_fn, NULL);
	test_shutdown();
}

/*
 * Several CPUs at once on a device of 64 blocks: allocations fail and
 * are retried with fewer pages; every page read back is the one written.
 */
struct conc_arg {
	uint64_t ca_seed;
	uint64_t ca_iters;
	uint64_t ca_nospc; /* allocations that found no run at all */
};

static void
conc_thread(void *arg)
{
	struct conc_arg *ca = arg;
	struct vm_page *wr[VM_SWAP_MAXPAGES], *rd[VM_SWAP_MAXPAGES];
	uint64_t it, rs = ca->ca_seed, tag;
	vm_daddr_t blk;
	int i, n, rv;

	CHECK(vm_page_alloc_bulk(0, wr, VM_SWAP_MAXPAGES) == VM_SWAP_MAXPAGES);
	CHECK(vm_page_alloc_bulk(0, rd, VM_SWAP_MAXPAGES) == VM_SWAP_MAXPAGES);
	for (it = 0; it < ca->ca_iters; it++) {
		n = 1 + (int)(test_rand(&rs) % VM_SWAP_MAXPAGES);
		while ((rv = vm_swap_alloc(n, &blk)) == ENOSPC && n > 1)
			n /= 2;
		if (rv != 0) {
			ca->ca_nospc++;
			kthread_yield();
			continue;
		}
		tag = test_rand(&rs);
		for (i = 0; i < n; i++)
			io_fill(wr[i], tag + (uint64_t)i);
		CHECK(vm_swap_write(blk, wr, n) == 0);
		kthread_yield();
		CHECK(vm_swap_read(blk, rd, n) == 0);
		for (i = 0; i < n; i++)
			CHECKF(io_matches(rd[i], tag + (uint64_t)i),
			    "block %lld: another thread's data",
			    (long long)blk + i);
		vm_swap_free(blk, n);
	}
	vm_page_free_bulk(wr, VM_SWAP_MAXPAGES);
	vm_page_free_bulk(rd, VM_SWAP_MAXPAGES);
}

static void
conc_fn(void *arg)
{
	struct conc_arg ca[4];
	struct thread *td[4];
	int i;

	(void)arg;
	for (i = 0; i < 4; i++) {
		ca[i].ca_seed = test_seed() * 4 + (uint64_t)i;
		ca[i].ca_iters = vm_test_size(2000, 300);
		ca[i].ca_nospc = 0;
		CHECK(
		    kthread_create(conc_thread, &ca[i], i % md_ncpus(),
			KTHR_BOUND | KTHR_JOINABLE, &td[i], "swap%d", i) == 0);
	}
	for (i = 0; i < 4; i++)
		kthread_join(td[i]);
	CHECK(vm_swap_used() == 0 && vm_swap_check() == 0);
}

static void
test_swap_concurrent(void)
{
	static const char *const tun[] = { "vm.swap.size=256k", NULL };

	vm_test_boot(4, 1, SWAP_MEM, tun);
	CHECK(vm_swap_total() == 64);
	test_run(conc_fn, NULL);
	test_shutdown();
}

/*
 * Metadata against a reference: three objects, each with three regions
 * of META_SPAN page indices, at 0, 2^40 and the top of the index space.
 */
#define META_NOBJ 3
#define META_NREG 3
#define META_SPAN 4096

static const vm_pindex_t meta_base[META_NREG] = { 0, 1ull << 40,
	UINT64_MAX - META_SPAN };

struct meta_state {
	struct vm_swap_meta ms_meta[META_NOBJ];
	vm_daddr_t *ms_ref[META_NOBJ]; /* [region * META_SPAN + offset] */
	uint64_t ms_count[META_NOBJ];
	uint64_t ms_rs;
};

/* The reference slot of pindex, or NULL if outside every region. */
static vm_daddr_t *
meta_ref(struct meta_state *ms, int o, vm_pindex_t pindex)
{
	int r;

	for (r = 0; r < META_NREG; r++)
		if (pindex >= meta_base[r] && pindex - meta_base[r] < META_SPAN)
			return (&ms->ms_ref[o][r * META_SPAN +
			    (pindex - meta_base[r])]);
	return (NULL);
}

/* Sets pindex's block through both; frees the block replaced. */
static void
meta_set_both(struct meta_state *ms, int o, vm_pindex_t pindex, vm_daddr_t blk)
{
	vm_daddr_t *ref = meta_ref(ms, o, pindex), old = 12345;

	CHECK(vm_swap_meta_set(&ms->ms_meta[o], pindex, blk, &old) == 0);
	CHECKF(old == *ref, "set %llu: replaced %lld, expected %lld",
	    (unsigned long long)pindex, (long long)old, (long long)*ref);
	if (old != SWAPBLK_NONE)
		vm_swap_free(old, 1);
	else
		ms->ms_count[o]++;
	*ref = blk;
}

/* A run of up to 32 pages at consecutive indices and blocks. */
static void
meta_op_set(struct meta_state *ms, int o, int r, uint64_t off)
{
	vm_pindex_t p = meta_base[r] + off;
	int n = test_rand(&ms->ms_rs) % 2 == 0
	    ? 1
	    : 1 + (int)(test_rand(&ms->ms_rs) % VM_SWAP_MAXPAGES);
	vm_daddr_t blk;
	int i;

	if ((uint64_t)n > META_SPAN - off)
		n = (int)(META_SPAN - off);
	if (vm_swap_alloc(n, &blk) != 0)
		return;
	for (i = 0; i < n; i++)
		meta_set_both(ms, o, p + (vm_pindex_t)i, blk + i);
}

static void
meta_op_remove(struct meta_state *ms, int o, vm_pindex_t p)
{
	vm_daddr_t *ref = meta_ref(ms, o, p);
	vm_daddr_t blk = vm_swap_meta_remove(&ms->ms_meta[o], p);

	CHECKF(blk == *ref, "remove %llu: %lld, expected %lld",
	    (unsigned long long)p, (long long)blk, (long long)*ref);
	if (blk != SWAPBLK_NONE) {
		vm_swap_free(blk, 1);
		ms->ms_count[o]--;
	}
	*ref = SWAPBLK_NONE;
}

/* free_range over [start, end): the blocks freed are those expected. */
static void
meta_op_free_range(
    struct meta_state *ms, int o, vm_pindex_t start, vm_pindex_t end)
{
	uint64_t used0 = vm_swap_used(), n = 0;
	vm_daddr_t *ref;
	int r, i;

	for (r = 0; r < META_NREG; r++)
		for (i = 0; i < META_SPAN; i++) {
			ref = &ms->ms_ref[o][r * META_SPAN + i];
			if (meta_base[r] + (vm_pindex_t)i < start ||
			    meta_base[r] + (vm_pindex_t)i >= end ||
			    *ref == SWAPBLK_NONE)
				continue;
			*ref = SWAPBLK_NONE;
			n++;
		}
	vm_swap_meta_free_range(&ms->ms_meta[o], start, end);
	ms->ms_count[o] -= n;
	CHECKF(used0 - vm_swap_used() == n,
	    "free_range [%llu, %llu): %llu blocks freed, expected %llu",
	    (unsigned long long)start, (unsigned long long)end,
	    (unsigned long long)(used0 - vm_swap_used()),
	    (unsigned long long)n);
}

struct meta_walk {
	struct meta_state *mw_ms;
	int mw_obj;
	uint64_t mw_n;
	uint64_t mw_stop; /* return 9 at this entry (0: never) */
};

static int
meta_walk_fn(vm_pindex_t pindex, vm_daddr_t blk, void *arg)
{
	struct meta_walk *mw = arg;
	vm_daddr_t *ref = meta_ref(mw->mw_ms, mw->mw_obj, pindex);

	CHECKF(ref != NULL && *ref == blk,
	    "foreach: pindex %llu has block %lld, expected %lld",
	    (unsigned long long)pindex, (long long)blk,
	    ref != NULL ? (long long)*ref : -2ll);
	return (++mw->mw_n == mw->mw_stop ? 9 : 0);
}

static void
meta_verify(struct meta_state *ms, int o)
{
	struct vm_swap_meta *meta = &ms->ms_meta[o];
	struct meta_walk mw = { ms, o, 0, 0 };
	uint64_t i;
	int r;

	CHECK(vm_swap_meta_check(meta) == 0);
	CHECKF(vm_swap_meta_count(meta) == ms->ms_count[o],
	    "object %d: %llu entries, expected %llu", o,
	    (unsigned long long)vm_swap_meta_count(meta),
	    (unsigned long long)ms->ms_count[o]);
	CHECK(vm_swap_meta_foreach(meta, meta_walk_fn, &mw) == 0);
	CHECK(mw.mw_n == ms->ms_count[o]);
	if (ms->ms_count[o] > 2) {
		mw.mw_n = 0;
		mw.mw_stop = 2;
		CHECK(vm_swap_meta_foreach(meta, meta_walk_fn, &mw) == 9);
		CHECK(mw.mw_n == 2);
	}
	for (r = 0; r < META_NREG; r++)
		for (i = 0; i < META_SPAN; i += 7)
			CHECK(vm_swap_meta_lookup(meta, meta_base[r] + i) ==
			    ms->ms_ref[o][r * META_SPAN + i]);
}

/* A random range at p in region r: short, the region, or everything. */
static void
meta_random_range(struct meta_state *ms, int r, vm_pindex_t p, vm_pindex_t *sp,
    vm_pindex_t *ep)
{
	uint64_t k = test_rand(&ms->ms_rs) % 100;

	if (k < 2) {
		*sp = 0;
		*ep = UINT64_MAX;
	} else if (k < 10) {
		*sp = meta_base[r];
		*ep = meta_base[r] + META_SPAN;
	} else {
		k = 1 + test_rand(&ms->ms_rs) % 100;
		*sp = p;
		*ep = UINT64_MAX - p < k ? UINT64_MAX : p + k;
	}
}

static void
meta_random_op(struct meta_state *ms)
{
	int o = (int)(test_rand(&ms->ms_rs) % META_NOBJ), op;
	int r = (int)(test_rand(&ms->ms_rs) % META_NREG);
	uint64_t off = test_rand(&ms->ms_rs) % META_SPAN;
	vm_pindex_t p = meta_base[r] + off, s, e;

	op = (int)(test_rand(&ms->ms_rs) % 100);
	if (op < 45)
		meta_op_set(ms, o, r, off);
	else if (op < 70)
		meta_op_remove(ms, o, p);
	else if (op < 95)
		CHECK(vm_swap_meta_lookup(&ms->ms_meta[o], p) ==
		    *meta_ref(ms, o, p));
	else {
		meta_random_range(ms, r, p, &s, &e);
		meta_op_free_range(ms, o, s, e);
	}
}

static void
meta_random_fn(void *arg)
{
	struct meta_state *ms = calloc(1, sizeof(*ms));
	uint64_t it, n = vm_test_size(60000, 15000);
	int o, i;

	ms->ms_rs = *(uint64_t *)arg;
	for (o = 0; o < META_NOBJ; o++) {
		vm_swap_meta_init(&ms->ms_meta[o]);
		ms->ms_ref[o] =
		    malloc(META_NREG * META_SPAN * sizeof(*ms->ms_ref[o]));
		for (i = 0; i < META_NREG * META_SPAN; i++)
			ms->ms_ref[o][i] = SWAPBLK_NONE;
	}
	for (it = 0; it < n; it++) {
		meta_random_op(ms);
		if (it % 5000 == 4999) {
			for (o = 0; o < META_NOBJ; o++)
				meta_verify(ms, o);
			CHECK(vm_swap_check() == 0);
		}
	}
	for (o = 0; o < META_NOBJ; o++) {
		meta_verify(ms, o);
		vm_swap_meta_free_all(&ms->ms_meta[o]);
		CHECK(vm_swap_meta_count(&ms->ms_meta[o]) == 0);
		CHECK(vm_swap_meta_check(&ms->ms_meta[o]) == 0);
		CHECK(vm_swap_meta_lookup(&ms->ms_meta[o], 5) == SWAPBLK_NONE);
		free(ms->ms_ref[o]);
	}
	CHECKF(vm_swap_used() == 0, "%llu blocks left after free_all",
	    (unsigned long long)vm_swap_used());
	CHECK(vm_swap_check() == 0);
	free(ms);
}

static void
test_swap_meta_random(void)
{
	static const char *const tun[] = { "vm.swap.size=256m", NULL };
	uint64_t seed = test_seed();

	vm_test_boot(2, 1, SWAP_MEM, tun);
	test_run(meta_random_fn, &seed);
	test_shutdown();
}

/*
 * Many entries: objects filled by 32-page clusters at scattered places,
 * then freed by free_all, which returns every block.
 */
static void
meta_many_fn(void *arg)
{
	struct vm_swap_meta meta[4];
	uint64_t n = *(uint64_t *)arg, i, k, total = 0;
	vm_pindex_t p;
	vm_daddr_t blk, old;
	int o;

	for (o = 0; o < 4; o++)
		vm_swap_meta_init(&meta[o]);
	for (i = 0; i < n / VM_SWAP_MAXPAGES; i++) {
		o = (int)(i % 4);
		/* Every third cluster starts a new, distant, extent. */
		p = (i / 4) * VM_SWAP_MAXPAGES * (i % 3 == 0 ? 1000 : 1);
		CHECK(vm_swap_alloc(VM_SWAP_MAXPAGES, &blk) == 0);
		for (k = 0; k < VM_SWAP_MAXPAGES; k++) {
			CHECK(vm_swap_meta_set(&meta[o], p + k,
				  blk + (vm_daddr_t)k, &old) == 0);
			if (old != SWAPBLK_NONE)
				vm_swap_free(old, 1);
		}
	}
	for (o = 0; o < 4; o++) {
		CHECK(vm_swap_meta_check(&meta[o]) == 0);
		total += vm_swap_meta_count(&meta[o]);
	}
	CHECK(total == vm_swap_used());
	for (o = 0; o < 4; o++)
		vm_swap_meta_free_all(&meta[o]);
	CHECK(vm_swap_used() == 0 && vm_swap_check() == 0);
}

static void
test_swap_meta_many(void)
{
	static const char *const tun[] = { "vm.swap.size=2g", NULL };
	uint64_t n = vm_test_size(300000, 30000);

	vm_test_boot(2, 1, SWAP_MEM, tun);
	test_run(meta_many_fn, &n);
	test_shutdown();
}

/*
 * The device file.
 */

/* A new directory under TMPDIR (or /tmp) in dir[len]. */
static bool
swap_mkdtemp(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(
	    dir, len, "%s/vmlab-test-swap-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		CHECKF(0, "mkdtemp %s: %s", dir, strerror(errno));
		return (false);
	}
	return (true);
}

static int
swap_dir_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return (n);
}

static void
path_write_fn(void *arg)
{
	struct vm_page *m = vm_page_alloc_noobj(0);
	vm_daddr_t *blkp = arg, skip;

	CHECK(vm_swap_alloc(8, &skip) == 0 && vm_swap_alloc(1, blkp) == 0);
	CHECK(*blkp == 8);
	io_fill(m, 4242);
	CHECK(vm_swap_write(*blkp, &m, 1) == 0);
	vm_page_free(m);
}

/* The page at block blk of the file is io_fill(tag). */
static bool
path_file_has(const char *path, vm_daddr_t blk, uint64_t tag)
{
	uint64_t buf[PAGE_SIZE / 8], i;
	FILE *f = fopen(path, "rb");
	bool ok;

	if (f == NULL)
		return (false);
	ok = fseek(f, (long)vm_swap_offset(blk), SEEK_SET) == 0 &&
	    fread(buf, PAGE_SIZE, 1, f) == 1;
	fclose(f);
	for (i = 0; ok && i < PAGE_SIZE / 8; i++)
		ok = buf[i] == io_word(tag, i);
	return (ok);
}

/* Does the file begin with the swap label's magic? */
static bool
path_file_labelled(const char *path)
{
	static const char magic[] = "vmlab swap dev\n";
	char buf[sizeof(magic)];
	FILE *f = fopen(path, "rb");
	bool ok;

	if (f == NULL)
		return (false);
	ok = fread(buf, sizeof(buf), 1, f) == 1 &&
	    memcmp(buf, magic, sizeof(magic)) == 0;
	fclose(f);
	return (ok);
}

static void
test_swap_path(void)
{
	static char path[512], assign[600];
	const char *tun[] = { assign, "vm.swap.size=3m", NULL };
	struct sysctl_info si;
	struct stat st;
	char dir[400];
	vm_daddr_t blk = SWAPBLK_NONE;

	if (!swap_mkdtemp(dir, sizeof(dir)))
		return;
	snprintf(path, sizeof(path), "%s/swapfile", dir);
	snprintf(assign, sizeof(assign), "vm.swap.path=%s", path);
	vm_test_boot(2, 1, SWAP_MEM, tun);
	CHECK(sysctl_get("vm.swap.path", &si));
	CHECK(si.si_kind == SYSCTL_TUNABLE_STR && si.si_str != NULL &&
	    strcmp(si.si_str, path) == 0);
	CHECK(stat(path, &st) == 0 &&
	    st.st_size == (3 << 20) + (off_t)VM_SWAP_HDRSIZE);
	CHECK(path_file_labelled(path));
	CHECK(vm_swap_total() == 768);
	test_run(path_write_fn, &blk);
	test_shutdown();
	/* The file stays, holding the page after the header. */
	CHECK(stat(path, &st) == 0 &&
	    st.st_size == (3 << 20) + (off_t)VM_SWAP_HDRSIZE);
	CHECK(path_file_has(path, blk, 4242));
	CHECK(path_file_labelled(path));
	/* A new boot truncates it; the next default boot forgets the path. */
	vm_test_boot(2, 1, SWAP_MEM, tun);
	test_shutdown();
	CHECK(!path_file_has(path, blk, 4242));
	vm_test_boot(2, 1, SWAP_MEM, swap_tun_4m);
	CHECK(sysctl_get("vm.swap.path", &si) && si.si_str[0] == '\0');
	test_shutdown();
	CHECK(remove(path) == 0);
	CHECK(rmdir(dir) == 0);
}

/* The default device is a temporary file: nothing shows in TMPDIR. */
static void
test_swap_tmpfile(void)
{
	char dir[400], *old = getenv("TMPDIR");
	char *saved = old != NULL ? strdup(old) : NULL;

	if (!swap_mkdtemp(dir, sizeof(dir)))
		return;
	setenv("TMPDIR", dir, 1);
	vm_test_boot(2, 1, SWAP_MEM, swap_tun_4m);
	CHECK(vm_swap_total() == 1024);
	CHECK(swap_dir_entries(dir) == 0);
	test_shutdown();
	CHECK(swap_dir_entries(dir) == 0);
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	CHECK(rmdir(dir) == 0);
}

/* An unusable path: vm_swap_init() fails cleanly and can be retried. */
static void
init_error_fn(void *arg)
{
	char err[256];
	vm_daddr_t blk;

	(void)arg;
	vm_swap_fini();
	CHECK(tunable_set("vm.swap.path", "/nonexistent-vmlab-dir/swap", false,
		  err, sizeof(err)) == 0);
	CHECK(vm_swap_init() == ENOENT);
	CHECK(vm_swap_total() == 0);
	CHECK(vm_swap_alloc(1, &blk) == ENOSPC);
	CHECK(tunable_set("vm.swap.path", "", false, err, sizeof(err)) == 0);
	CHECK(vm_swap_init() == 0);
	CHECK(vm_swap_total() == 1024 && vm_swap_check() == 0);
	CHECK(vm_swap_alloc(1, &blk) == 0);
	vm_swap_free(blk, 1);
}

static void
test_swap_init_error(void)
{
	vm_test_boot(2, 1, SWAP_MEM, swap_tun_4m);
	test_run(init_error_fn, NULL);
	test_shutdown();
}

/*
 * Tunables.
 */
static void
tunable_bad(const char *name, const char *value, const char *word)
{
	char err[256];
	int rv;

	err[0] = '\0';
	rv = tunable_set(name, value, true, err, sizeof(err));
	CHECKF(rv == EINVAL, "%s=%.40s: %d, expected EINVAL", name, value, rv);
	CHECKF(strstr(err, name) != NULL && strstr(err, word) != NULL,
	    "%s: message \"%s\" lacks \"%s\"", name, err, word);
}

static void
test_swap_tunables(void)
{
	static const char *const round[] = { "vm.swap.size=1000000", NULL };
	static const char *const tiny[] = { "vm.swap.size=4096", NULL };
	const char *bad[] = { "vm.swap.size=abc" };
	struct vmlab_config cfg;
	char longpath[VM_SWAP_PATHMAX + 10], err[256];

	(void)vmlab_tunables_init();
	/* Default: twice the physical memory. */
	vm_test_boot(2, 1, 32ull << 20, NULL);
	CHECK(vm_swap_total() == 2 * atop(32ull << 20));
	CHECK(vm_test_stat("vm.swap.total") == vm_swap_total());
	CHECK(vm_test_stat("vm.swap.used") == 0);
	test_shutdown();
	/* Rounded down to pages; at least 32 of them. */
	vm_test_boot(2, 1, SWAP_MEM, round);
	CHECK(vm_swap_total() == 1000000 / PAGE_SIZE);
	test_shutdown();
	vm_test_boot(2, 1, SWAP_MEM, tiny);
	CHECK(vm_swap_total() == VM_SWAP_MAXPAGES);
	test_shutdown();
	/* Bad values. */
	tunable_bad("vm.swap.size", "abc", "'abc'");
	tunable_bad("vm.swap.size", "-1", "'-1'");
	tunable_bad("vm.swap.size", "2t", "'2t'");
	tunable_bad("vm.swap.inject_read_errors", "-3", "'-3'");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	tunable_bad("vm.swap.path", longpath, "too long");
	longpath[VM_SWAP_PATHMAX - 1] = '\0';
	CHECK(
	    tunable_set("vm.swap.path", longpath, true, err, sizeof(err)) == 0);
	/* A bad assignment fails the boot. */
	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.tunables = bad;
	cfg.ntunables = 1;
	CHECK(vmlab_boot(&cfg, err, sizeof(err)) == EINVAL);
	CHECK(!vmlab_booted() && strstr(err, "abc") != NULL);
}

static const struct test_case cases[] = {
	TEST_CASE(test_swap_alloc_basic),
	TEST_CASE(test_swap_alloc_random),
	TEST_CASE(test_swap_io),
	TEST_CASE(test_swap_inject),
	TEST_CASE(test_swap_concurrent),
	TEST_CASE(test_swap_meta_random),
	TEST_CASE(test_swap_meta_many),
	TEST_CASE(test_swap_path),
	TEST_CASE(test_swap_tmpfile),
	TEST_CASE(test_swap_init_error),
	TEST_CASE(test_swap_tunables),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
