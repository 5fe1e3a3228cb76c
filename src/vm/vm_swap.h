/*
 * vm_swap.h: the swap device: its block allocator, page I/O, and the
 * per-object map from page index to swap block (swap metadata).  The swap
 * pager is built on top of it.
 *
 * The device.  One regular host file (md_disk): vm.swap.path, or an
 * anonymous temporary file removed at shutdown when the path is empty.
 * It opens with a header page whose first bytes are a label (a magic
 * string, the version, the block size and count), followed by
 * vm.swap.size bytes of blocks (0: twice the physical memory).  A swap
 * block is one page of the device after the header: block b is the bytes
 * [(b + 1) * PAGE_SIZE, (b + 2) * PAGE_SIZE), so the allocator's blocks
 * are 0 .. vm_swap_total() - 1 and none of them is the label.  At boot
 * the file is emptied, sized and labelled; vm.swap.path may name a new
 * file, an empty one or a labelled one (a vmlab swap device of an earlier
 * run), but any other existing file is refused (EEXIST) unless
 * vm.swap.force=1, and anything but a regular file (a directory, a device
 * node such as /dev/null, a FIFO) always (EINVAL).
 *
 * Allocation.  vm_swap_alloc() hands out a run of exactly npages
 * (1 .. VM_SWAP_MAXPAGES) contiguous blocks, next-fit: the first free run
 * at or after the end of the previous allocation, wrapping around, so
 * that consecutive clusters land one after the other on the device.  It
 * fails (ENOSPC) only when no free run of that length exists anywhere;
 * the caller then retries with fewer pages.  Blocks are freed in runs of
 * any length.  A summary tree over the bitmap (vm_swap.c) bounds the work
 * of either to a few hundred word operations however full or fragmented
 * the device (about 100 ns; a failure with no fitting run, 20 ns).
 *
 * I/O.  vm_swap_write() and vm_swap_read() move the pages of ma[] to or
 * from the run of blocks starting at blk, as one synchronous device
 * transfer straight from or into the pages (no bounce buffer).  The caller
 * owns the blocks (allocated, not freed during the call) and the pages
 * (busy).  vm.swap.inject_write_errors / inject_read_errors = N makes every
 * Nth write / read fail with EIO without touching the device or the pages.
 *
 * Swap metadata.  A struct vm_swap_meta (one per object) maps page indices
 * to blocks.  Page indices are grouped into aligned chunks of
 * VM_SWAP_META_PAGES; a chunk holds the blocks of its pages and lives in
 * the object's hash table, which grows with the object.  No memory is used
 * until the first block is set; an empty table is freed.
 *
 * Locking key:
 *	(o) the owner of the struct vm_swap_meta (the object lock)
 * The allocator has one MTX_DEF mutex, "vm swap", a leaf: taken inside
 * the object lock, and nothing is taken while it is held.  I/O takes no
 * lock.
 */
#ifndef VMLAB_VM_SWAP_H
#define VMLAB_VM_SWAP_H

#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_page;

/*
 * A block number on the swap device (in pages).  Not to be mixed with the
 * host's vm_daddr_t: code that includes this header must not also get
 * <sys/types.h>'s BSD types (_DEFAULT_SOURCE or _GNU_SOURCE).
 */
typedef int64_t vm_daddr_t;

#define SWAPBLK_NONE ((vm_daddr_t)-1)
#define VM_SWAP_MAXPAGES 32	  /* longest run allocated, read or written */
#define VM_SWAP_META_PAGES 32	  /* page indices per metadata chunk */
#define VM_SWAP_PATHMAX 1024	  /* bytes of vm.swap.path, NUL included */
#define VM_SWAP_HDRSIZE PAGE_SIZE /* the header page before block 0 */

struct vm_swap_chunk;

struct vm_swap_meta {
	struct vm_swap_chunk **sm_hash; /* (o) buckets, or NULL: empty */
	uint64_t sm_nchunks;		/* (o) chunks in the table */
	uint64_t sm_count;		/* (o) page indices with a block */
	int sm_lg;			/* (o) log2 of the bucket count */
};

/*
 * Boot.  vm_swap_tunables() registers vm.swap.* once per process.
 * vm_swap_init() opens, sizes and labels the device and sets up the
 * allocator, from the booting thread before the CPUs start (or from a
 * kernel thread while no swap is in use); it returns 0, or an errno
 * after explaining it with boot_error() and undoing everything.
 * vm_swap_fini() closes the device (a temporary file disappears) and
 * frees everything; every block must have been freed by then or is simply
 * forgotten.  vm_swap_offset(): where block blk starts on the device.
 */
int vm_swap_tunables(void);
int vm_swap_init(void);
void vm_swap_fini(void);

static inline uint64_t
vm_swap_offset(vm_daddr_t blk)
{
	return (VM_SWAP_HDRSIZE + (uint64_t)blk * PAGE_SIZE);
}

/*
 * Allocator.  vm_swap_alloc(): 0 and the first block of a run of exactly
 * npages (1 .. VM_SWAP_MAXPAGES) in *blkp, or ENOSPC if no such run is
 * free.  An ENOSPC with fewer than npages blocks free at all counts as
 * exhaustion (vm.swap.exhausted; the first and every 1,000th print a
 * message).  vm_swap_free(): frees the run [blk, blk + npages), all of
 * which must be allocated.  Both take the "vm swap" mutex, so no spin lock
 * may be held.
 */
int vm_swap_alloc(int npages, vm_daddr_t *blkp);
void vm_swap_free(vm_daddr_t blk, int npages);
uint64_t vm_swap_total(void); /* blocks on the device */
uint64_t vm_swap_used(void);  /* blocks allocated (a snapshot) */

/*
 * I/O of npages (1 .. VM_SWAP_MAXPAGES) pages at blocks [blk, blk +
 * npages): 0, or EIO for an injected error (nothing is written; the
 * pages are not touched) and for any error of the device, whatever its
 * errno (reported on the console; a failed read may have filled part of
 * the pages).  ENOSPC is never returned: to the pagers it means that no
 * swap blocks could be allocated, and a full host file system under the
 * swap file is a write error, retried like any other.  The md disk
 * primitives charge each transfer its own cost.
 * Kernel threads, no lock needed.
 */
int vm_swap_write(vm_daddr_t blk, struct vm_page **ma, int npages);
int vm_swap_read(vm_daddr_t blk, struct vm_page **ma, int npages);
/*
 * Error injection (tests): vm.swap.inject_write_errors / _read_errors = N
 * make every Nth write / read fail with EIO (0: never); sysctl_set()
 * changes them at run time, counting from the change.
 */

/*
 * Swap metadata; (o) for all.  vm_swap_meta_set() records blk (a valid
 * block) for pindex and returns the block it replaces, or SWAPBLK_NONE,
 * in *oldp (not freed: the caller decides); 0 or ENOMEM (nothing
 * changed).  vm_swap_meta_remove() forgets pindex's block and returns it
 * (not freed), or SWAPBLK_NONE.  vm_swap_meta_free_range() forgets AND
 * frees the blocks of [start, end); vm_swap_meta_free_all() those of
 * every page index, and releases the metadata's memory (the meta is empty
 * and reusable after it).  vm_swap_meta_foreach() calls fn(pindex, blk,
 * arg) for every entry, in no particular order, until fn returns non-0
 * (returned); fn must not change the meta.
 */
void vm_swap_meta_init(struct vm_swap_meta *meta);
vm_daddr_t vm_swap_meta_lookup(struct vm_swap_meta *meta, vm_pindex_t pindex);
int vm_swap_meta_set(struct vm_swap_meta *meta, vm_pindex_t pindex,
    vm_daddr_t blk, vm_daddr_t *oldp);
vm_daddr_t vm_swap_meta_remove(struct vm_swap_meta *meta, vm_pindex_t pindex);
void vm_swap_meta_free_range(
    struct vm_swap_meta *meta, vm_pindex_t start, vm_pindex_t end);
void vm_swap_meta_free_all(struct vm_swap_meta *meta);
uint64_t vm_swap_meta_count(const struct vm_swap_meta *meta);
int vm_swap_meta_foreach(struct vm_swap_meta *meta,
    int (*fn)(vm_pindex_t, vm_daddr_t, void *), void *arg);

/*
 * Validators: the number of violations, the first few described with
 * md_printf().  vm_swap_check(): the bitmap, the free count and every
 * summary agree.  vm_swap_meta_check(): chunks are aligned, in their
 * bucket, counted right, and hold only allocated blocks; (o).
 */
int vm_swap_check(void);
int vm_swap_meta_check(struct vm_swap_meta *meta);

#endif /* !VMLAB_VM_SWAP_H */
