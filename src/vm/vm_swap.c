/*
 * vm_swap.c: the swap device, its block allocator, page I/O and the
 * per-object swap metadata (see vm_swap.h).
 *
 * Allocator layout.  vm_swap_bits is a bitmap of the device's blocks,
 * 1 = used, block b at bit b % 64 of word b / 64; the bits past the last
 * block (in the last word) are always 1.  A summary tree sits over it:
 * level 0 has one summary per bitmap word (64 blocks), level k + 1 one per
 * 64 summaries of level k, up to a single root.  The summary of a range of
 * blocks holds three counts of free blocks, each capped at
 * C = VM_SWAP_MAXPAGES:
 *	ss_head: the free run at the start of the range;
 *	ss_tail: the free run at its end;
 *	ss_max:  the longest free run inside it (>= ss_head, ss_tail).
 * Every range has at least 64 > C blocks, so a free run of n <= C blocks
 * lies inside one child or across the boundary between two neighbouring
 * children, whence
 *	parent.max  = max(each child's max,
 *			  min(C, a.tail + b.head) for neighbours a, b),
 *	parent.head = first child's head,  parent.tail = last child's tail,
 * where children past the end of the device count as fully used.
 * Invariants (vm_swap_check()):
 *	vm_swap_nfree = the number of 0 bits among the first vm_swap_nblocks;
 *	every summary = its recomputation from the level below.
 *
 * Allocation of a run of n blocks:
 *	1. If the root's max < n, no run exists: ENOSPC.
 *	2. Search from the cursor (next fit), then from block 0: walk the
 *	   bitmap words in order carrying `run', the free blocks just before
 *	   the current word.  At each word, skip the largest subtree starting
 *	   there in which no fitting run starts (run + head < n and max < n),
 *	   carrying its tail; otherwise search the word's bits.  Descent thus
 *	   costs at most 64 summaries per level.
 *	3. Mark the run used, recompute the summaries above the words it
 *	   touched (up to the first level where nothing changed) and move the
 *	   cursor past the run.
 * Freeing clears the bits and recomputes the summaries as in step 3.
 *
 * Metadata layout: see struct vm_swap_chunk.  A meta's chunks are found
 * through its hash table (chained; multiplicative hash of the chunk
 * number), which doubles when it holds more chunks than buckets and is
 * freed when its last chunk goes.
 *
 * Locking key:
 *	(c) constant between vm_swap_init() and vm_swap_fini()
 *	(s) vm_swap_mtx
 *	(s,a) written under vm_swap_mtx with atomic stores, read without it
 *	(a) atomic
 *	(o) the meta's owner (struct vm_swap_meta)
 */
#include "vm/vm_swap.h"

#include "kern/boot.h"
#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/mutex.h"
#include "kern/sysctl.h"
#include "md/md.h"
#include "md/md_atomic.h"
#include "vm/vm_page.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define VM_SWAP_CAP VM_SWAP_MAXPAGES
#define VM_SWAP_MAXLEVELS 8
#define VM_SWAP_MINSIZE ((uint64_t)VM_SWAP_MAXPAGES * PAGE_SIZE)
#define VM_SWAP_MAXSIZE (1ll << 40)
#define VM_SWAP_META_LGMIN 4 /* 16 buckets in a new table */

_Static_assert(VM_SWAP_CAP < 64, "a run never spans more than two words");

struct vm_swap_sum {
	uint8_t ss_head; /* (s) */
	uint8_t ss_tail; /* (s) */
	uint8_t ss_max;	 /* (s) */
};

/*
 * A metadata chunk: the blocks of the VM_SWAP_META_PAGES page indices
 * starting at sc_first (a multiple of VM_SWAP_META_PAGES), SWAPBLK_NONE
 * where there is none.  sc_count of them are set, never 0: an emptied
 * chunk is freed.  280 bytes for 32 pages.
 */
struct vm_swap_chunk {
	struct vm_swap_chunk *sc_next;	       /* (o) hash chain */
	vm_pindex_t sc_first;		       /* (o) */
	uint32_t sc_count;		       /* (o) blocks set */
	vm_daddr_t sc_blk[VM_SWAP_META_PAGES]; /* (o) */
};

/* Accumulates consecutive blocks being freed into one vm_swap_free(). */
struct vm_swap_run {
	vm_daddr_t sr_blk;
	int sr_n;
};

static struct mtx vm_swap_mtx;
static bool vm_swap_inited;				    /* (c) */
static struct md_disk *vm_swap_disk;			    /* (c) */
static uint64_t vm_swap_nblocks;			    /* (c) */
static uint64_t *vm_swap_bits;				    /* (s) 1: used */
static struct vm_swap_sum *vm_swap_sums[VM_SWAP_MAXLEVELS]; /* (s) */
static uint64_t vm_swap_nsums[VM_SWAP_MAXLEVELS];	    /* (c) per level */
static int vm_swap_nlevels;				    /* (c) */
static uint64_t vm_swap_nfree;				    /* (s,a) */
static uint64_t vm_swap_cursor;				    /* (s) next fit */
static uint64_t vm_swap_nexhausted;			    /* (s) */
static uint64_t vm_swap_wseq, vm_swap_rseq;	/* (a) I/Os counted */
static uint32_t vm_swap_wevery, vm_swap_revery; /* (a) 0: no injection */
static sysctl_set_fn vm_swap_inject_set;

static counter_u64_t vm_swap_nwrites, vm_swap_nreads, vm_swap_npages_out,
    vm_swap_npages_in, vm_swap_nwrite_errors, vm_swap_nread_errors,
    vm_swap_nexhausted_cnt;

static char vm_swap_path_tun[VM_SWAP_PATHMAX];
static int64_t vm_swap_size_tun, vm_swap_force_tun;
static int64_t vm_swap_winject_tun, vm_swap_rinject_tun;

/*
 * The label: the first bytes of the device's header page.  Only the magic
 * identifies a vmlab swap device; the rest describes it for a reader.
 */
#define VM_SWAP_MAGIC "vmlab swap dev\n"
#define VM_SWAP_VERSION 1

struct vm_swap_label {
	char sl_magic[16];    /* VM_SWAP_MAGIC, NUL-padded */
	uint32_t sl_version;  /* VM_SWAP_VERSION */
	uint32_t sl_pagesize; /* PAGE_SIZE: bytes per block */
	uint64_t sl_nblocks;  /* blocks after the header page */
};

_Static_assert(sizeof(VM_SWAP_MAGIC) <= 16, "the magic fits its field");
_Static_assert(sizeof(struct vm_swap_label) <= VM_SWAP_HDRSIZE,
    "the label fits the header page");

int
vm_swap_tunables(void)
{
	int error;

	if ((error = tunable_str_register("vm.swap.path", vm_swap_path_tun,
		 sizeof(vm_swap_path_tun), "",
		 "swap device: a regular host file, created or truncated to a "
		 "header page plus vm.swap.size and left in place (empty: an "
		 "anonymous temporary file)")) != 0 ||
	    (error = tunable_int_register("vm.swap.force", &vm_swap_force_tun,
		 0, 0, 1,
		 "1: vm.swap.path may name an existing file that is not a "
		 "vmlab swap device (it is overwritten)")) != 0 ||
	    (error = tunable_int_register("vm.swap.size", &vm_swap_size_tun, 0,
		 0, VM_SWAP_MAXSIZE,
		 "bytes of swap, rounded down to pages, at least 128 KiB "
		 "(0: twice the physical memory)")) != 0 ||
	    (error = tunable_int_register("vm.swap.inject_write_errors",
		 &vm_swap_winject_tun, 0, 0, INT_MAX,
		 "every Nth swap write fails with EIO (0: none)")) != 0 ||
	    (error = tunable_set_handler("vm.swap.inject_write_errors",
		 vm_swap_inject_set, &vm_swap_wevery)) != 0 ||
	    (error = tunable_int_register("vm.swap.inject_read_errors",
		 &vm_swap_rinject_tun, 0, 0, INT_MAX,
		 "every Nth swap read fails with EIO (0: none)")) != 0)
		return (error);
	return (tunable_set_handler(
	    "vm.swap.inject_read_errors", vm_swap_inject_set, &vm_swap_revery));
}

/*
 * Summaries.
 */
static inline uint8_t
vm_swap_cap(uint64_t n)
{
	return ((uint8_t)(n < VM_SWAP_CAP ? n : VM_SWAP_CAP));
}

static inline bool
vm_swap_sum_eq(struct vm_swap_sum a, struct vm_swap_sum b)
{
	return (a.ss_head == b.ss_head && a.ss_tail == b.ss_tail &&
	    a.ss_max == b.ss_max);
}

/*
 * The longest run of 1 bits in f, capped.  While doubling, bit i of f
 * stays set iff bits i .. i + len - 1 of the original are all 1; then
 * binary refinement (each step <= len keeps that meaning).
 */
static int
vm_swap_longest(uint64_t f)
{
	uint64_t y;
	int len, step;

	if (f == 0)
		return (0);
	for (len = 1; len < VM_SWAP_CAP; len *= 2) {
		y = f & (f >> len);
		if (y == 0)
			break;
		f = y;
	}
	if (len >= VM_SWAP_CAP)
		return (VM_SWAP_CAP);
	for (step = len / 2; step > 0; step /= 2) {
		y = f & (f >> step);
		if (y != 0) {
			f = y;
			len += step;
		}
	}
	return (len);
}

/* The first bit i such that bits i .. i + n - 1 of f are all 1, or -1. */
static int
vm_swap_first_run(uint64_t f, int n)
{
	int len, d;

	for (len = 1; len < n && f != 0; len += d) {
		d = len < n - len ? len : n - len;
		f &= f >> d;
	}
	return (f == 0 ? -1 : __builtin_ctzll(f));
}

static struct vm_swap_sum
vm_swap_sum_word(uint64_t w)
{
	struct vm_swap_sum s;

	s.ss_head = vm_swap_cap(w == 0 ? 64 : (uint64_t)__builtin_ctzll(w));
	s.ss_tail = vm_swap_cap(w == 0 ? 64 : (uint64_t)__builtin_clzll(w));
	s.ss_max = (uint8_t)vm_swap_longest(~w);
	return (s);
}

/* Summary `node' of level k >= 1, from its children. */
static struct vm_swap_sum
vm_swap_sum_node(int k, uint64_t node)
{
	const struct vm_swap_sum *c = vm_swap_sums[k - 1];
	struct vm_swap_sum s;
	uint64_t i, first = node * 64, last = first + 64;
	uint8_t m;
	int prevtail = 0;

	if (last > vm_swap_nsums[k - 1])
		last = vm_swap_nsums[k - 1];
	s.ss_head = c[first].ss_head;
	s.ss_max = 0;
	for (i = first; i < last; i++) {
		m = vm_swap_cap((uint64_t)(prevtail + c[i].ss_head));
		if (m > s.ss_max)
			s.ss_max = m;
		if (c[i].ss_max > s.ss_max)
			s.ss_max = c[i].ss_max;
		prevtail = c[i].ss_tail;
	}
	/* Missing children at the device's end are used. */
	s.ss_tail = last == first + 64 ? c[last - 1].ss_tail : 0;
	return (s);
}

static struct vm_swap_sum
vm_swap_sum_compute(int k, uint64_t i)
{
	return (k == 0 ? vm_swap_sum_word(vm_swap_bits[i])
		       : vm_swap_sum_node(k, i));
}

/*
 * Step 3: recomputes the summaries over bitmap words [lo, hi], level by
 * level, stopping where nothing changed.  vm_swap_mtx held.
 */
static void
vm_swap_update(uint64_t lo, uint64_t hi)
{
	struct vm_swap_sum s;
	uint64_t i;
	bool changed;
	int k;

	for (k = 0; k < vm_swap_nlevels; k++, lo /= 64, hi /= 64) {
		changed = false;
		for (i = lo; i <= hi; i++) {
			s = vm_swap_sum_compute(k, i);
			if (!vm_swap_sum_eq(s, vm_swap_sums[k][i])) {
				vm_swap_sums[k][i] = s;
				changed = true;
			}
		}
		if (!changed)
			return;
	}
}

/* Marks [blk, blk + n) used or free.  vm_swap_mtx held. */
static void
vm_swap_mark(uint64_t blk, uint64_t n, bool used)
{
	uint64_t b, next, end = blk + n, mask, *w;

	for (b = blk; b < end; b = next) {
		next = (b | 63) + 1;
		if (next > end)
			next = end;
		mask = next - b == 64 ? ~0ull
				      : ((1ull << (next - b)) - 1) << (b % 64);
		w = &vm_swap_bits[b / 64];
		if (used) {
			VM_ASSERT((*w & mask) == 0,
			    ("%s: blocks [%llu, +%llu) not free (word %#llx)",
				__func__, (unsigned long long)blk,
				(unsigned long long)n, (unsigned long long)*w));
			*w |= mask;
		} else {
			VM_ASSERT((*w & mask) == mask,
			    ("%s: freeing free blocks in [%llu, +%llu) (word "
			     "%#llx)",
				__func__, (unsigned long long)blk,
				(unsigned long long)n, (unsigned long long)*w));
			*w &= ~mask;
		}
	}
	vm_swap_update(blk / 64, (end - 1) / 64);
	atomic_store_64(
	    &vm_swap_nfree, used ? vm_swap_nfree - n : vm_swap_nfree + n);
}

/*
 * Step 2's skip: the largest subtree starting at word *posp in which no
 * run of n starts, if any: moves past it and carries its tail (exact: a
 * tail >= n would have made max >= n).
 */
static bool
vm_swap_skip(uint64_t *posp, int *runp, int n)
{
	const struct vm_swap_sum *s;
	uint64_t pos = *posp;
	int k;

	for (k = vm_swap_nlevels - 1; k >= 0; k--) {
		if ((pos & ((1ull << (6 * k)) - 1)) != 0)
			continue;
		s = &vm_swap_sums[k][pos >> (6 * k)];
		if (*runp + s->ss_head < n && s->ss_max < n) {
			*posp = pos + (1ull << (6 * k));
			*runp = s->ss_tail;
			return (true);
		}
	}
	return (false);
}

/*
 * Step 2: the first block >= from that starts a free run of n blocks, or
 * -1.  `run' (< n) is the free blocks just before word `pos'.  vm_swap_mtx
 * held.
 */
static int64_t
vm_swap_search(uint64_t from, int n)
{
	uint64_t pos = from / 64, w;
	int run = 0, h, i;
	bool first = true;

	while (pos < vm_swap_nsums[0]) {
		if (!first && vm_swap_skip(&pos, &run, n))
			continue;
		w = vm_swap_bits[pos];
		if (first) /* No run may start before `from'. */
			w |= (1ull << (from % 64)) - 1;
		first = false;
		h = w == 0 ? 64 : __builtin_ctzll(w);
		if (run + h >= n)
			return ((int64_t)(pos * 64) - run);
		i = vm_swap_first_run(~w, n);
		if (i >= 0)
			return ((int64_t)(pos * 64) + i);
		run = __builtin_clzll(w); /* w != 0: h < n < 64 */
		pos++;
	}
	return (-1);
}

static void
vm_swap_exhausted(int npages, uint64_t nexh, uint64_t used)
{
	counter_u64_add(vm_swap_nexhausted_cnt, 1);
	if (nexh % 1000 == 1)
		md_printf("swap: out of swap space (%llu of %llu blocks used), "
			  "failure %llu (%d wanted)\n",
		    (unsigned long long)used,
		    (unsigned long long)vm_swap_nblocks,
		    (unsigned long long)nexh, npages);
}

int
vm_swap_alloc(int npages, vm_daddr_t *blkp)
{
	uint64_t nexh = 0, used = 0;
	int64_t blk;

	VM_ASSERT(npages >= 1 && npages <= VM_SWAP_MAXPAGES,
	    ("%s: %d pages", __func__, npages));
	if (vm_swap_nblocks == 0)
		return (ENOSPC);
	mtx_lock(&vm_swap_mtx);
	/* Step 1. */
	if (vm_swap_sums[vm_swap_nlevels - 1][0].ss_max < npages) {
		if (vm_swap_nfree < (uint64_t)npages) {
			nexh = ++vm_swap_nexhausted;
			used = vm_swap_nblocks - vm_swap_nfree;
		}
		mtx_unlock(&vm_swap_mtx);
		if (nexh != 0)
			vm_swap_exhausted(npages, nexh, used);
		return (ENOSPC);
	}
	/* Step 2. */
	blk = vm_swap_search(vm_swap_cursor, npages);
	if (blk < 0)
		blk = vm_swap_search(0, npages);
	VM_ASSERT(
	    blk >= 0 && (uint64_t)blk + (uint64_t)npages <= vm_swap_nblocks,
	    ("%s: the root has a run of %d but the search found %lld", __func__,
		npages, (long long)blk));
	/* Step 3. */
	vm_swap_mark((uint64_t)blk, (uint64_t)npages, true);
	vm_swap_cursor = (uint64_t)blk + (uint64_t)npages;
	if (vm_swap_cursor == vm_swap_nblocks)
		vm_swap_cursor = 0;
	mtx_unlock(&vm_swap_mtx);
	*blkp = blk;
	return (0);
}

void
vm_swap_free(vm_daddr_t blk, int npages)
{
	VM_ASSERT(blk >= 0 && npages >= 1 &&
		(uint64_t)blk + (uint64_t)npages <= vm_swap_nblocks,
	    ("%s: [%lld, +%d) outside the device of %llu blocks", __func__,
		(long long)blk, npages, (unsigned long long)vm_swap_nblocks));
	mtx_lock(&vm_swap_mtx);
	vm_swap_mark((uint64_t)blk, (uint64_t)npages, false);
	mtx_unlock(&vm_swap_mtx);
}

uint64_t
vm_swap_total(void)
{
	return (vm_swap_nblocks);
}

uint64_t
vm_swap_used(void)
{
	return (vm_swap_nblocks - atomic_load_64(&vm_swap_nfree));
}

/* Are the blocks [blk, blk + n) on the device and all allocated? */
static bool
vm_swap_is_allocated(vm_daddr_t blk, uint64_t n)
{
	uint64_t b;
	bool ok = true;

	if (blk < 0 || (uint64_t)blk + n > vm_swap_nblocks)
		return (false);
	mtx_lock(&vm_swap_mtx);
	for (b = (uint64_t)blk; b < (uint64_t)blk + n && ok; b++)
		ok = (vm_swap_bits[b / 64] & (1ull << (b % 64))) != 0;
	mtx_unlock(&vm_swap_mtx);
	return (ok);
}

/*
 * I/O.
 */

/* The iovecs of ma[0 .. npages), pages adjacent in memory merged. */
static int
vm_swap_iov(struct vm_page **ma, int npages, struct md_iovec *iov)
{
	uint8_t *p;
	int i, n = 0;

	for (i = 0; i < npages; i++) {
		p = vm_page_dmap(ma[i]);
		if (n > 0 &&
		    (uint8_t *)iov[n - 1].mi_base + iov[n - 1].mi_len == p) {
			iov[n - 1].mi_len += PAGE_SIZE;
			continue;
		}
		iov[n].mi_base = p;
		iov[n].mi_len = PAGE_SIZE;
		n++;
	}
	return (n);
}

/* Does this I/O fail by injection?  *seqp counts I/Os while injecting. */
static bool
vm_swap_inject(uint64_t *seqp, uint32_t *everyp)
{
	uint32_t every = atomic_load_int(everyp);

	if (every == 0)
		return (false);
	return ((atomic_fetchadd_64(seqp, 1) + 1) % every == 0);
}

static void
vm_swap_io_assert(vm_daddr_t blk, int npages, const char *fn)
{
	VM_ASSERT(vm_swap_disk != NULL && npages >= 1 &&
		npages <= VM_SWAP_MAXPAGES &&
		vm_swap_is_allocated(blk, (uint64_t)npages),
	    ("%s: blocks [%lld, +%d) are not allocated swap (%llu blocks)", fn,
		(long long)blk, npages, (unsigned long long)vm_swap_nblocks));
	(void)blk;
	(void)npages;
	(void)fn;
}

/* A disk error: the first of each kind, then every 1000th, reported. */
static void
vm_swap_io_error(const char *op, vm_daddr_t blk, int npages, int error)
{
	static uint64_t nerrors; /* (a) */
	uint64_t n = atomic_fetchadd_64(&nerrors, 1);

	if (n % 1000 == 0)
		md_printf("swap: %s of blocks [%lld, +%d) failed: %s "
			  "(error %llu)\n",
		    op, (long long)blk, npages, strerror(error),
		    (unsigned long long)n + 1);
}

int
vm_swap_write(vm_daddr_t blk, struct vm_page **ma, int npages)
{
	struct md_iovec iov[VM_SWAP_MAXPAGES];
	int error, n;

	vm_swap_io_assert(blk, npages, __func__);
	counter_u64_add(vm_swap_nwrites, 1);
	if (vm_swap_inject(&vm_swap_wseq, &vm_swap_wevery)) {
		counter_u64_add(vm_swap_nwrite_errors, 1);
		return (EIO);
	}
	n = vm_swap_iov(ma, npages, iov);
	error = md_disk_writev(vm_swap_disk, iov, n, vm_swap_offset(blk));
	if (error != 0) {
		vm_swap_io_error("write", blk, npages, error);
		counter_u64_add(vm_swap_nwrite_errors, 1);
		/*
		 * EIO whatever the disk said: to the pager ENOSPC means "no
		 * swap blocks", and a full host file system is a write error.
		 */
		return (EIO);
	}
	counter_u64_add(vm_swap_npages_out, npages);
	return (0);
}

int
vm_swap_read(vm_daddr_t blk, struct vm_page **ma, int npages)
{
	struct md_iovec iov[VM_SWAP_MAXPAGES];
	int error, n;

	vm_swap_io_assert(blk, npages, __func__);
	counter_u64_add(vm_swap_nreads, 1);
	if (vm_swap_inject(&vm_swap_rseq, &vm_swap_revery)) {
		counter_u64_add(vm_swap_nread_errors, 1);
		return (EIO);
	}
	n = vm_swap_iov(ma, npages, iov);
	error = md_disk_readv(vm_swap_disk, iov, n, vm_swap_offset(blk));
	if (error != 0) {
		vm_swap_io_error("read", blk, npages, error);
		counter_u64_add(vm_swap_nread_errors, 1);
		return (EIO);
	}
	counter_u64_add(vm_swap_npages_in, npages);
	return (0);
}

/*
 * Set handler of vm.swap.inject_{write,read}_errors (arg: the interval in
 * force): the count starts over, so the Nth I/O from now fails.
 */
static int
vm_swap_inject_set(int64_t value, void *arg)
{
	atomic_store_64(
	    arg == &vm_swap_wevery ? &vm_swap_wseq : &vm_swap_rseq, 0);
	atomic_store_int(arg, (uint32_t)value);
	return (0);
}

/*
 * Boot.
 */
static uint64_t
vm_swap_stat(void *arg)
{
	return (arg == NULL ? vm_swap_total() : vm_swap_used());
}

/* The bitmap (all free) and its summary tree for nblocks blocks. */
static int
vm_swap_alloc_init(uint64_t nblocks)
{
	uint64_t n, i;
	int k;

	vm_swap_nblocks = nblocks;
	n = howmany(nblocks, 64);
	vm_swap_bits = md_calloc(n, sizeof(*vm_swap_bits));
	if (vm_swap_bits == NULL)
		return (ENOMEM);
	if (nblocks % 64 != 0)
		vm_swap_bits[n - 1] = ~0ull << (nblocks % 64);
	for (k = 0;; k++) {
		VM_ASSERT(k < VM_SWAP_MAXLEVELS,
		    ("%s: %llu blocks", __func__, (unsigned long long)nblocks));
		vm_swap_nsums[k] = n;
		vm_swap_sums[k] = md_calloc(n, sizeof(struct vm_swap_sum));
		if (vm_swap_sums[k] == NULL)
			return (ENOMEM);
		vm_swap_nlevels = k + 1;
		for (i = 0; i < n; i++)
			vm_swap_sums[k][i] = vm_swap_sum_compute(k, i);
		if (n == 1)
			break;
		n = howmany(n, 64);
	}
	vm_swap_nfree = nblocks;
	vm_swap_cursor = 0;
	vm_swap_nexhausted = 0;
	return (0);
}

static const struct counter_spec vm_swap_counters[] = {
	{ &vm_swap_nwrites, "vm.swap.writes",
	    "swap write operations (failed ones included)" },
	{ &vm_swap_nreads, "vm.swap.reads",
	    "swap read operations (failed ones included)" },
	{ &vm_swap_npages_out, "vm.swap.pages_out", "pages written to swap" },
	{ &vm_swap_npages_in, "vm.swap.pages_in", "pages read from swap" },
	{ &vm_swap_nwrite_errors, "vm.swap.write_errors",
	    "failed swap writes" },
	{ &vm_swap_nread_errors, "vm.swap.read_errors", "failed swap reads" },
	{ &vm_swap_nexhausted_cnt, "vm.swap.exhausted",
	    "swap allocations failed for want of free blocks" },
};

static int
vm_swap_init_stats(void)
{
	if (counter_u64_alloc_table(
		vm_swap_counters, nitems(vm_swap_counters)) != 0)
		return (ENOMEM);
	(void)sysctl_stat_register("vm.swap.total", vm_swap_stat, NULL,
	    "blocks (pages) on the swap device");
	(void)sysctl_stat_register("vm.swap.used", vm_swap_stat, &vm_swap_nfree,
	    "swap blocks (pages) allocated");
	return (0);
}

/* Does the disk begin with a vmlab swap label? */
static bool
vm_swap_is_labelled(struct md_disk *d)
{
	struct vm_swap_label sl;

	if (md_disk_size(d) < sizeof(sl) ||
	    md_disk_read(d, &sl, 0, sizeof(sl)) != 0)
		return (false);
	return (memcmp(sl.sl_magic, VM_SWAP_MAGIC, sizeof(VM_SWAP_MAGIC)) == 0);
}

/*
 * Opens the device: vm.swap.path (a regular file, new or empty or a vmlab
 * swap device, unless vm.swap.force) or a temporary file.  Then empties
 * it, sizes it to the header page plus `size' bytes and writes the label.
 */
static int
vm_swap_open(uint64_t size)
{
	const char *path =
	    vm_swap_path_tun[0] != '\0' ? vm_swap_path_tun : NULL;
	struct vm_swap_label sl;
	char w[SYSCTL_WORDBUF];
	int error;

	error = md_disk_open(path, true, &vm_swap_disk);
	if (error == ENODEV) {
		boot_error("vm.swap.path: %s is not a regular file",
		    sysctl_word(w, path));
		return (EINVAL);
	}
	if (error != 0) {
		boot_error("vm.swap.path: cannot open %s: %s",
		    path != NULL ? sysctl_word(w, path) : "a temporary file",
		    strerror(error));
		return (error);
	}
	if (md_disk_size(vm_swap_disk) != 0 &&
	    !vm_swap_is_labelled(vm_swap_disk) && vm_swap_force_tun == 0) {
		boot_error("vm.swap.path: %s is not a vmlab swap device "
			   "(%llu bytes; vm.swap.force=1 overwrites it)",
		    sysctl_word(w, path),
		    (unsigned long long)md_disk_size(vm_swap_disk));
		return (EEXIST);
	}
	memset(&sl, 0, sizeof(sl));
	memcpy(sl.sl_magic, VM_SWAP_MAGIC, sizeof(VM_SWAP_MAGIC));
	sl.sl_version = VM_SWAP_VERSION;
	sl.sl_pagesize = PAGE_SIZE;
	sl.sl_nblocks = atop(size);
	if ((error = md_disk_truncate(vm_swap_disk, 0)) != 0 ||
	    (error = md_disk_truncate(vm_swap_disk, VM_SWAP_HDRSIZE + size)) !=
		0 ||
	    (error = md_disk_write(vm_swap_disk, &sl, 0, sizeof(sl))) != 0) {
		boot_error("vm.swap.path: cannot size %s to %llu bytes: %s",
		    path != NULL ? sysctl_word(w, path) : "a temporary file",
		    (unsigned long long)(VM_SWAP_HDRSIZE + size),
		    strerror(error));
		return (error);
	}
	return (0);
}

int
vm_swap_init(void)
{
	/* Taken under object locks (swap metadata, block frees). */
	static const struct lock_rank ranks[] = { { "vm swap", 540, 0 } };
	uint64_t size;
	int error;

	VM_ASSERT(!vm_swap_inited, ("%s: already initialised", __func__));
	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	mtx_init(&vm_swap_mtx, "vm swap", MTX_DEF);
	vm_swap_inited = true;
	size = vm_swap_size_tun != 0 ? (uint64_t)vm_swap_size_tun
				     : 2 * md_phys_size();
	size &= ~PAGE_MASK;
	if (size < VM_SWAP_MINSIZE)
		size = VM_SWAP_MINSIZE;
	if ((error = vm_swap_open(size)) != 0)
		goto fail;
	if ((error = vm_swap_alloc_init(atop(size))) != 0 ||
	    (error = vm_swap_init_stats()) != 0) {
		boot_error("vm_swap: %s", strerror(error));
		goto fail;
	}
	(void)vm_swap_inject_set(vm_swap_winject_tun, &vm_swap_wevery);
	(void)vm_swap_inject_set(vm_swap_rinject_tun, &vm_swap_revery);
	return (0);
fail:
	vm_swap_fini();
	return (error);
}

void
vm_swap_fini(void)
{
	int k;

	if (!vm_swap_inited)
		return;
	sysctl_stat_unregister("vm.swap.total", NULL);
	sysctl_stat_unregister("vm.swap.used", &vm_swap_nfree);
	counter_u64_free_table(vm_swap_counters, nitems(vm_swap_counters));
	if (vm_swap_disk != NULL)
		md_disk_close(vm_swap_disk);
	vm_swap_disk = NULL;
	for (k = 0; k < VM_SWAP_MAXLEVELS; k++) {
		md_free(vm_swap_sums[k]);
		vm_swap_sums[k] = NULL;
		vm_swap_nsums[k] = 0;
	}
	md_free(vm_swap_bits);
	vm_swap_bits = NULL;
	vm_swap_nblocks = vm_swap_nfree = 0;
	vm_swap_nlevels = 0;
	(void)vm_swap_inject_set(0, &vm_swap_wevery);
	(void)vm_swap_inject_set(0, &vm_swap_revery);
	mtx_destroy(&vm_swap_mtx);
	vm_swap_inited = false;
}

/*
 * Allocator validator.
 */
static void
vm_swap_check_bits(int *nerrp)
{
	uint64_t i, nw = vm_swap_nsums[0], nfree = 0, pad;

	for (i = 0; i < nw; i++)
		nfree += 64 - (uint64_t)__builtin_popcountll(vm_swap_bits[i]);
	pad = vm_swap_nblocks % 64 == 0 ? 0 : ~0ull << (vm_swap_nblocks % 64);
	if ((vm_swap_bits[nw - 1] & pad) != pad)
		vm_check_fail(nerrp,
		    "swap: padding bits of word %llu clear: %#llx",
		    (unsigned long long)(nw - 1),
		    (unsigned long long)vm_swap_bits[nw - 1]);
	if (nfree != vm_swap_nfree)
		vm_check_fail(nerrp, "swap: %llu blocks free, counted %llu",
		    (unsigned long long)nfree,
		    (unsigned long long)vm_swap_nfree);
	if (vm_swap_cursor >= vm_swap_nblocks)
		vm_check_fail(nerrp, "swap: cursor %llu past %llu blocks",
		    (unsigned long long)vm_swap_cursor,
		    (unsigned long long)vm_swap_nblocks);
}

int
vm_swap_check(void)
{
	struct vm_swap_sum s, *have;
	uint64_t i;
	int k, nerr = 0;

	if (vm_swap_nblocks == 0)
		return (0);
	mtx_lock(&vm_swap_mtx);
	vm_swap_check_bits(&nerr);
	for (k = 0; k < vm_swap_nlevels; k++)
		for (i = 0; i < vm_swap_nsums[k]; i++) {
			s = vm_swap_sum_compute(k, i);
			have = &vm_swap_sums[k][i];
			if (!vm_swap_sum_eq(s, *have))
				vm_check_fail(&nerr,
				    "swap: summary %d/%llu is %u/%u/%u, "
				    "should be %u/%u/%u (head/tail/max)",
				    k, (unsigned long long)i, have->ss_head,
				    have->ss_tail, have->ss_max, s.ss_head,
				    s.ss_tail, s.ss_max);
		}
	if (vm_swap_nsums[vm_swap_nlevels - 1] != 1)
		vm_check_fail(&nerr, "swap: %llu roots",
		    (unsigned long long)vm_swap_nsums[vm_swap_nlevels - 1]);
	mtx_unlock(&vm_swap_mtx);
	return (nerr);
}

/*
 * Swap metadata.
 */
static inline uint64_t
vm_swap_meta_hash(const struct vm_swap_meta *meta, vm_pindex_t first)
{
	return (((first / VM_SWAP_META_PAGES) * 0x9e3779b97f4a7c15ull) >>
	    (64 - meta->sm_lg));
}

/* The link that points at chunk `first', or at the NULL ending its chain. */
static struct vm_swap_chunk **
vm_swap_meta_link(struct vm_swap_meta *meta, vm_pindex_t first)
{
	struct vm_swap_chunk **scp;

	scp = &meta->sm_hash[vm_swap_meta_hash(meta, first)];
	while (*scp != NULL && (*scp)->sc_first != first)
		scp = &(*scp)->sc_next;
	return (scp);
}

/* Creates or doubles the table; false (table unchanged) without memory. */
static bool
vm_swap_meta_grow(struct vm_swap_meta *meta)
{
	struct vm_swap_chunk **old = meta->sm_hash, *sc, *next;
	uint64_t i, n = old == NULL ? 0 : 1ull << meta->sm_lg, h;
	int lg = old == NULL ? VM_SWAP_META_LGMIN : meta->sm_lg + 1;

	meta->sm_hash = md_calloc(1ull << lg, sizeof(*meta->sm_hash));
	if (meta->sm_hash == NULL) {
		meta->sm_hash = old;
		return (false);
	}
	meta->sm_lg = lg;
	for (i = 0; i < n; i++)
		for (sc = old[i]; sc != NULL; sc = next) {
			next = sc->sc_next;
			h = vm_swap_meta_hash(meta, sc->sc_first);
			sc->sc_next = meta->sm_hash[h];
			meta->sm_hash[h] = sc;
		}
	md_free(old);
	return (true);
}

/* Frees the table if no chunk is left. */
static void
vm_swap_meta_release(struct vm_swap_meta *meta)
{
	if (meta->sm_nchunks != 0)
		return;
	md_free(meta->sm_hash);
	meta->sm_hash = NULL;
	meta->sm_lg = 0;
}

/* Unlinks and frees the (empty) chunk *scp; the table stays. */
static void
vm_swap_meta_unlink(struct vm_swap_meta *meta, struct vm_swap_chunk **scp)
{
	struct vm_swap_chunk *sc = *scp;

	VM_ASSERT(sc->sc_count == 0,
	    ("%s: chunk %llu has %u blocks", __func__,
		(unsigned long long)sc->sc_first, sc->sc_count));
	*scp = sc->sc_next;
	md_free(sc);
	meta->sm_nchunks--;
}

void
vm_swap_meta_init(struct vm_swap_meta *meta)
{
	meta->sm_hash = NULL;
	meta->sm_nchunks = 0;
	meta->sm_count = 0;
	meta->sm_lg = 0;
}

vm_daddr_t
vm_swap_meta_lookup(struct vm_swap_meta *meta, vm_pindex_t pindex)
{
	struct vm_swap_chunk *sc;

	if (meta->sm_hash == NULL)
		return (SWAPBLK_NONE);
	sc = *vm_swap_meta_link(meta, pindex - pindex % VM_SWAP_META_PAGES);
	return (sc == NULL ? SWAPBLK_NONE
			   : sc->sc_blk[pindex % VM_SWAP_META_PAGES]);
}

/* A new, empty chunk for `first' at link *scp, or NULL. */
static struct vm_swap_chunk *
vm_swap_meta_new_chunk(
    struct vm_swap_meta *meta, struct vm_swap_chunk **scp, vm_pindex_t first)
{
	struct vm_swap_chunk *sc;
	int i;

	sc = md_malloc(sizeof(*sc));
	if (sc == NULL)
		return (NULL);
	sc->sc_next = NULL;
	sc->sc_first = first;
	sc->sc_count = 0;
	for (i = 0; i < VM_SWAP_META_PAGES; i++)
		sc->sc_blk[i] = SWAPBLK_NONE;
	*scp = sc;
	/* Chunks never move: growing keeps sc valid (and may fail). */
	if (++meta->sm_nchunks > 1ull << meta->sm_lg)
		(void)vm_swap_meta_grow(meta);
	return (sc);
}

int
vm_swap_meta_set(struct vm_swap_meta *meta, vm_pindex_t pindex, vm_daddr_t blk,
    vm_daddr_t *oldp)
{
	struct vm_swap_chunk **scp, *sc;
	vm_pindex_t first = pindex - pindex % VM_SWAP_META_PAGES;
	int i = (int)(pindex % VM_SWAP_META_PAGES);

	VM_ASSERT(blk >= 0 && (uint64_t)blk < vm_swap_nblocks,
	    ("%s: block %lld of %llu", __func__, (long long)blk,
		(unsigned long long)vm_swap_nblocks));
	if (meta->sm_hash == NULL && !vm_swap_meta_grow(meta))
		return (ENOMEM);
	scp = vm_swap_meta_link(meta, first);
	sc = *scp;
	if (sc == NULL &&
	    (sc = vm_swap_meta_new_chunk(meta, scp, first)) == NULL) {
		vm_swap_meta_release(meta);
		return (ENOMEM);
	}
	*oldp = sc->sc_blk[i];
	if (*oldp == SWAPBLK_NONE) {
		sc->sc_count++;
		meta->sm_count++;
	}
	sc->sc_blk[i] = blk;
	return (0);
}

vm_daddr_t
vm_swap_meta_remove(struct vm_swap_meta *meta, vm_pindex_t pindex)
{
	struct vm_swap_chunk **scp, *sc;
	vm_daddr_t blk;
	int i = (int)(pindex % VM_SWAP_META_PAGES);

	if (meta->sm_hash == NULL)
		return (SWAPBLK_NONE);
	scp = vm_swap_meta_link(meta, pindex - (vm_pindex_t)i);
	sc = *scp;
	if (sc == NULL || (blk = sc->sc_blk[i]) == SWAPBLK_NONE)
		return (SWAPBLK_NONE);
	sc->sc_blk[i] = SWAPBLK_NONE;
	meta->sm_count--;
	if (--sc->sc_count == 0) {
		vm_swap_meta_unlink(meta, scp);
		vm_swap_meta_release(meta);
	}
	return (blk);
}

static void
vm_swap_run_flush(struct vm_swap_run *r)
{
	if (r->sr_n > 0)
		vm_swap_free(r->sr_blk, r->sr_n);
	r->sr_n = 0;
}

static void
vm_swap_run_add(struct vm_swap_run *r, vm_daddr_t blk)
{
	if (r->sr_n > 0 && r->sr_blk + r->sr_n == blk && r->sr_n < INT_MAX) {
		r->sr_n++;
		return;
	}
	vm_swap_run_flush(r);
	r->sr_blk = blk;
	r->sr_n = 1;
}

/*
 * Forgets and frees (through r) the blocks of chunk *scp for page indices
 * in [start, end), which overlaps the chunk; unlinks an emptied chunk.
 * Returns true if it did.
 */
static bool
vm_swap_meta_clear(struct vm_swap_meta *meta, struct vm_swap_chunk **scp,
    vm_pindex_t start, vm_pindex_t end, struct vm_swap_run *r)
{
	struct vm_swap_chunk *sc = *scp;
	vm_pindex_t lo, hi, i;

	lo = start > sc->sc_first ? start - sc->sc_first : 0;
	hi = end - sc->sc_first < VM_SWAP_META_PAGES ? end - sc->sc_first
						     : VM_SWAP_META_PAGES;
	for (i = lo; i < hi; i++) {
		if (sc->sc_blk[i] == SWAPBLK_NONE)
			continue;
		vm_swap_run_add(r, sc->sc_blk[i]);
		sc->sc_blk[i] = SWAPBLK_NONE;
		sc->sc_count--;
		meta->sm_count--;
	}
	if (sc->sc_count != 0)
		return (false);
	vm_swap_meta_unlink(meta, scp);
	return (true);
}

/* Does chunk `first' overlap [start, end)?  (No overflow at the top.) */
static inline bool
vm_swap_meta_overlaps(vm_pindex_t first, vm_pindex_t start, vm_pindex_t end)
{
	return (first < end &&
	    (first >= start || start - first < VM_SWAP_META_PAGES));
}

void
vm_swap_meta_free_range(
    struct vm_swap_meta *meta, vm_pindex_t start, vm_pindex_t end)
{
	struct vm_swap_chunk **scp;
	struct vm_swap_run r = { SWAPBLK_NONE, 0 };
	vm_pindex_t first, last;
	uint64_t b;

	if (meta->sm_hash == NULL || start >= end)
		return;
	first = start - start % VM_SWAP_META_PAGES;
	last = (end - 1) - (end - 1) % VM_SWAP_META_PAGES;
	if ((last - first) / VM_SWAP_META_PAGES < meta->sm_nchunks) {
		/* A short range: look its chunks up. */
		for (;; first += VM_SWAP_META_PAGES) {
			scp = vm_swap_meta_link(meta, first);
			if (*scp != NULL)
				(void)vm_swap_meta_clear(
				    meta, scp, start, end, &r);
			if (first == last)
				break;
		}
	} else {
		/* A long one: walk every chunk. */
		for (b = 0; b < 1ull << meta->sm_lg; b++)
			for (scp = &meta->sm_hash[b]; *scp != NULL;) {
				if (vm_swap_meta_overlaps(
					(*scp)->sc_first, start, end) &&
				    vm_swap_meta_clear(
					meta, scp, start, end, &r))
					continue;
				scp = &(*scp)->sc_next;
			}
	}
	vm_swap_run_flush(&r);
	vm_swap_meta_release(meta);
}

void
vm_swap_meta_free_all(struct vm_swap_meta *meta)
{
	struct vm_swap_chunk *sc, *next;
	struct vm_swap_run r = { SWAPBLK_NONE, 0 };
	uint64_t b;
	int i;

	if (meta->sm_hash == NULL)
		return;
	for (b = 0; b < 1ull << meta->sm_lg; b++)
		for (sc = meta->sm_hash[b]; sc != NULL; sc = next) {
			next = sc->sc_next;
			for (i = 0; i < VM_SWAP_META_PAGES; i++)
				if (sc->sc_blk[i] != SWAPBLK_NONE)
					vm_swap_run_add(&r, sc->sc_blk[i]);
			md_free(sc);
		}
	vm_swap_run_flush(&r);
	md_free(meta->sm_hash);
	vm_swap_meta_init(meta);
}

uint64_t
vm_swap_meta_count(const struct vm_swap_meta *meta)
{
	return (meta->sm_count);
}

int
vm_swap_meta_foreach(struct vm_swap_meta *meta,
    int (*fn)(vm_pindex_t, vm_daddr_t, void *), void *arg)
{
	struct vm_swap_chunk *sc;
	uint64_t b;
	int i, rv;

	if (meta->sm_hash == NULL)
		return (0);
	for (b = 0; b < 1ull << meta->sm_lg; b++)
		for (sc = meta->sm_hash[b]; sc != NULL; sc = sc->sc_next)
			for (i = 0; i < VM_SWAP_META_PAGES; i++)
				if (sc->sc_blk[i] != SWAPBLK_NONE &&
				    (rv = fn(sc->sc_first + (vm_pindex_t)i,
					 sc->sc_blk[i], arg)) != 0)
					return (rv);
	return (0);
}

/* One chunk of vm_swap_meta_check() in bucket b; returns its count. */
static uint32_t
vm_swap_meta_check_chunk(
    struct vm_swap_meta *meta, struct vm_swap_chunk *sc, uint64_t b, int *nerrp)
{
	uint32_t n = 0;
	int i;

	if (sc->sc_first % VM_SWAP_META_PAGES != 0 ||
	    vm_swap_meta_hash(meta, sc->sc_first) != b ||
	    *vm_swap_meta_link(meta, sc->sc_first) != sc)
		vm_check_fail(nerrp,
		    "swap meta %p: chunk %llu misplaced (bucket %llu)",
		    (void *)meta, (unsigned long long)sc->sc_first,
		    (unsigned long long)b);
	for (i = 0; i < VM_SWAP_META_PAGES; i++) {
		if (sc->sc_blk[i] == SWAPBLK_NONE)
			continue;
		n++;
		if (!vm_swap_is_allocated(sc->sc_blk[i], 1))
			vm_check_fail(nerrp,
			    "swap meta %p: pindex %llu has block %lld, not "
			    "allocated",
			    (void *)meta,
			    (unsigned long long)(sc->sc_first + (uint64_t)i),
			    (long long)sc->sc_blk[i]);
	}
	if (n != sc->sc_count || n == 0)
		vm_check_fail(nerrp,
		    "swap meta %p: chunk %llu has %u blocks, counted %u",
		    (void *)meta, (unsigned long long)sc->sc_first, n,
		    sc->sc_count);
	return (n);
}

int
vm_swap_meta_check(struct vm_swap_meta *meta)
{
	struct vm_swap_chunk *sc;
	uint64_t b, nchunks = 0, count = 0;
	int nerr = 0;

	if ((meta->sm_hash == NULL) != (meta->sm_nchunks == 0))
		vm_check_fail(&nerr, "swap meta %p: table %p with %llu chunks",
		    (void *)meta, (void *)meta->sm_hash,
		    (unsigned long long)meta->sm_nchunks);
	if (meta->sm_hash == NULL) {
		if (meta->sm_count != 0)
			vm_check_fail(&nerr,
			    "swap meta %p: empty with %llu blocks",
			    (void *)meta, (unsigned long long)meta->sm_count);
		return (nerr);
	}
	for (b = 0; b < 1ull << meta->sm_lg; b++)
		for (sc = meta->sm_hash[b]; sc != NULL; sc = sc->sc_next) {
			count += vm_swap_meta_check_chunk(meta, sc, b, &nerr);
			nchunks++;
		}
	if (nchunks != meta->sm_nchunks || count != meta->sm_count)
		vm_check_fail(&nerr,
		    "swap meta %p: %llu chunks and %llu blocks, counted %llu "
		    "and %llu",
		    (void *)meta, (unsigned long long)nchunks,
		    (unsigned long long)count,
		    (unsigned long long)meta->sm_nchunks,
		    (unsigned long long)meta->sm_count);
	return (nerr);
}
