/*
 * vnode_pager.c: objects backed by real files.
 *
 * A vnode object of N pages covers the first N pages of its file; page i
 * is bytes [i * PAGE_SIZE, (i + 1) * PAGE_SIZE) of the file.  Page-in reads
 * them (the part past the end of the file reads as zeros); laundering
 * writes a cluster of consecutive pages back with one write, never past
 * the end of the file (files do not grow).  The file stays open while the
 * object lives.
 *
 * The object lock is dropped during I/O; the pages are exclusive-busied
 * and the caller holds paging in progress.  The md disk primitives charge
 * each I/O's cost themselves.
 */
#include "md/md.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the file in page pindex (0 past its end). */
static uint64_t
vnode_pager_bytes(const struct vm_object *obj, vm_pindex_t pindex)
{
	uint64_t off = ptoa(pindex);

	if (off >= obj->vn_size)
		return (0);
	return (
	    obj->vn_size - off < PAGE_SIZE ? obj->vn_size - off : PAGE_SIZE);
}

int
vm_object_vnode_open(const char *path, vm_pindex_t npages,
    struct vm_object **objp, char *err, size_t errlen)
{
	struct md_disk *disk;
	struct vm_object *obj;
	uint64_t size;
	int error;

	if ((error = md_disk_open(path, false, &disk)) != 0) {
		snprintf(
		    err, errlen, "vnode object: %s: %s", path, strerror(error));
		return (error);
	}
	size = md_disk_size(disk);
	/*
	 * 0: the whole file, its last page partial (the pager zero-fills
	 * past the end); a length asked for must be there in full.
	 */
	if (npages == 0)
		npages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	else if (size < ptoa(npages)) {
		snprintf(err, errlen,
		    "vnode object: %s: the file has %llu bytes, %llu short of "
		    "the %llu pages asked for",
		    path, (unsigned long long)size,
		    (unsigned long long)(ptoa(npages) - size),
		    (unsigned long long)npages);
		md_disk_close(disk);
		return (EFBIG);
	}
	if ((obj = vm_object_allocate(OBJT_VNODE, npages)) == NULL) {
		snprintf(err, errlen, "vnode object: out of memory");
		md_disk_close(disk);
		return (ENOMEM);
	}
	obj->vn_disk = disk;
	obj->vn_size = size;
	*objp = obj;
	return (0);
}

static bool
vnode_pager_haspage(struct vm_object *obj, vm_pindex_t pindex)
{
	return (vnode_pager_bytes(obj, pindex) > 0);
}

static int
vnode_pager_getpages(struct vm_object *obj, struct vm_page **ma, int count)
{
	uint64_t len;
	int error = 0, i;

	VM_OBJECT_ASSERT_WLOCKED(obj);
	vm_object_unlock(obj);
	for (i = 0; i < count && error == 0; i++) {
		len = vnode_pager_bytes(obj, ma[i]->pindex);
		if (len > 0)
			error = md_disk_read(obj->vn_disk, vm_page_dmap(ma[i]),
			    ptoa(ma[i]->pindex), len);
		if (len < PAGE_SIZE)
			memset(vm_page_dmap(ma[i]) + len, 0, PAGE_SIZE - len);
	}
	vm_object_lock(obj);
	return (error);
}

static void
vnode_pager_putpages(
    struct vm_object *obj, struct vm_page **ma, int count, int *rtvals)
{
	uint8_t *buf;
	uint64_t len = 0, n;
	int error = 0, i;

	VM_OBJECT_ASSERT_WLOCKED(obj);
	if ((buf = md_malloc(ptoa(count))) == NULL) {
		for (i = 0; i < count; i++)
			rtvals[i] = ENOMEM;
		return;
	}
	/* Consecutive indices: one write of the part inside the file. */
	for (i = 0; i < count; i++) {
		n = vnode_pager_bytes(obj, ma[i]->pindex);
		memcpy(buf + len, vm_page_dmap(ma[i]), n);
		len += n;
		if (n < PAGE_SIZE)
			break;
	}
	vm_object_unlock(obj);
	if (len > 0)
		error =
		    md_disk_write(obj->vn_disk, buf, ptoa(ma[0]->pindex), len);
	vm_object_lock(obj);
	md_free(buf);
	for (i = 0; i < count; i++)
		rtvals[i] = error;
}

static void
vnode_pager_dealloc(struct vm_object *obj)
{
	md_disk_close(obj->vn_disk);
	obj->vn_disk = NULL;
}

const struct vm_pagerops vnode_pagerops = {
	.pgo_name = "vnode",
	.pgo_getpages = vnode_pager_getpages,
	.pgo_haspage = vnode_pager_haspage,
	.pgo_putpages = vnode_pager_putpages,
	.pgo_dealloc = vnode_pager_dealloc,
	.pgo_freespace = NULL,
};
