/*
 * swap_pager.c: the pager of anonymous memory, on top of the swap device
 * (vm_swap.h).  An OBJT_SWAP object's swap metadata maps page indices to
 * swap blocks.
 *
 * Page-out writes a cluster of pages of consecutive indices to one run of
 * consecutive blocks (a shorter run, or several, when no run of the whole
 * length is free); page-in reads the requested page and, as read-ahead,
 * up to SWAP_READAHEAD following pages whose blocks follow its block and
 * that are not resident, with one read.  A page keeps its block after a
 * page-in while it stays clean, so the page daemon may free it without
 * writing it again; the first write to it releases the block (freespace).
 * Blocks are also released when their page is freed by its owner and when
 * the object dies.
 *
 * The object lock is dropped during I/O; the pages are exclusive-busied
 * and the caller holds paging in progress.
 */
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_swap.h"

#include <errno.h>

#define SWAP_READAHEAD 7

static bool
swap_pager_haspage(struct vm_object *obj, vm_pindex_t pindex)
{
	return (vm_swap_meta_lookup(&obj->swp, pindex) != SWAPBLK_NONE);
}

/* Read-ahead pages after ma[0]: allocated, busied, inserted. */
static int
swap_pager_readahead(struct vm_object *obj, vm_daddr_t blk, struct vm_page **ma)
{
	vm_pindex_t pindex = ma[0]->pindex;
	int n, error;

	for (n = 1; n <= SWAP_READAHEAD; n++) {
		if (vm_swap_meta_lookup(&obj->swp, pindex + (vm_pindex_t)n) !=
			blk + n ||
		    vm_page_lookup(obj, pindex + (vm_pindex_t)n) != NULL)
			break;
		ma[n] = vm_page_alloc_obj(obj, pindex + (vm_pindex_t)n, &error);
		if (ma[n] == NULL)
			break;
	}
	return (n);
}

static int
swap_pager_getpages(struct vm_object *obj, struct vm_page **req, int count)
{
	struct vm_page *ma[SWAP_READAHEAD + 1];
	vm_daddr_t blk;
	int error, i, n;

	VM_OBJECT_ASSERT_WLOCKED(obj);
	VM_ASSERT(count == 1, ("%s: count %d", __func__, count));
	(void)count;
	ma[0] = req[0];
	blk = vm_swap_meta_lookup(&obj->swp, ma[0]->pindex);
	if (blk == SWAPBLK_NONE)
		return (EIO);
	n = swap_pager_readahead(obj, blk, ma);
	for (i = 0; i < n; i++)
		ma[i]->oflags |= VPO_SWAPINPROG;
	vm_object_unlock(obj);
	error = vm_swap_read(blk, ma, n);
	vm_object_lock(obj);
	for (i = 0; i < n; i++)
		ma[i]->oflags &= ~VPO_SWAPINPROG;
	for (i = 1; i < n; i++) {
		if (error != 0) {
			/* Their blocks stay: a later touch reads them again. */
			vm_page_reclaim_obj(ma[i]);
			continue;
		}
		/* Read-ahead: clean, valid, first to go if unused. */
		ma[i]->valid = VM_PAGE_BITS_ALL;
		vm_page_deactivate(ma[i]);
		vm_page_xunbusy(ma[i]);
	}
	return (error);
}

/* Writes ma[0..n) to a fresh run of n blocks; 0 or an errno. */
static int
swap_pager_write_run(
    struct vm_object *obj, struct vm_page **ma, int n, vm_daddr_t blk)
{
	vm_daddr_t old;
	int error, i;

	vm_object_unlock(obj);
	error = vm_swap_write(blk, ma, n);
	vm_object_lock(obj);
	if (error != 0) {
		vm_swap_free(blk, n);
		return (error);
	}
	for (i = 0; i < n; i++) {
		if (vm_swap_meta_set(&obj->swp, ma[i]->pindex, blk + i, &old) !=
		    0) {
			/* No memory for metadata: the page stays dirty. */
			vm_swap_free(blk + i, 1);
			return (ENOMEM);
		}
		if (old != SWAPBLK_NONE)
			vm_swap_free(old, 1);
	}
	return (0);
}

static void
swap_pager_putpages(
    struct vm_object *obj, struct vm_page **ma, int count, int *rtvals)
{
	vm_daddr_t blk;
	int i = 0, j, n, error;

	VM_OBJECT_ASSERT_WLOCKED(obj);
	while (i < count) {
		/* The longest run we can get, halving down to one block. */
		for (n = count - i; n > 0; n /= 2)
			if (vm_swap_alloc(n, &blk) == 0)
				break;
		if (n == 0) {
			for (; i < count; i++)
				rtvals[i] = ENOSPC;
			return;
		}
		error = swap_pager_write_run(obj, ma + i, n, blk);
		for (j = 0; j < n; j++)
			rtvals[i + j] = error;
		i += n;
	}
}

static void
swap_pager_dealloc(struct vm_object *obj)
{
	vm_swap_meta_free_all(&obj->swp);
}

static void
swap_pager_freespace(struct vm_object *obj, vm_pindex_t pindex)
{
	vm_daddr_t blk;

	if ((blk = vm_swap_meta_remove(&obj->swp, pindex)) != SWAPBLK_NONE)
		vm_swap_free(blk, 1);
}

const struct vm_pagerops swap_pagerops = {
	.pgo_name = "swap",
	.pgo_getpages = swap_pager_getpages,
	.pgo_haspage = swap_pager_haspage,
	.pgo_putpages = swap_pager_putpages,
	.pgo_dealloc = swap_pager_dealloc,
	.pgo_freespace = swap_pager_freespace,
};
